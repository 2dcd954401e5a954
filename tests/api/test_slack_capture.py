"""Chat messages captured onto an incident's timeline from Slack: a reaction with the capture emoji,
the "Add to timeline" message shortcut, a pin; and people joining the incident's channel.

Everything arrives as Slack sends it (signed events and interactivity payloads) at the Slack routes,
and tocsin reads the message and the users from the fake Slack through the real client."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from tests.harness.incidents import declare
from tests.harness.slack_inbound import (
    event_callback,
    member_joined_channel,
    message_action,
    pin_added,
    reaction_added,
    retry_headers,
    signed,
)
from tocsin.api.chat.capture import slack_time
from tocsin.audit.models import AuditEntry
from tocsin.chatops import accounts
from tocsin.chatops.models import ChatChannel
from tocsin.incidents.models import Participant

pytestmark = pytest.mark.both_backends  # claims (receipts) run in savepoints: both databases

SECRET = "capture-tests-signing-secret"
EVENTS, INTERACTIVE = "/integrations/slack/events", "/integrations/slack/interactive"


@dataclass
class World:
    rb: Any
    incident: dict[str, Any]
    channel: str
    alice: str  # Slack users: Alice (a responder), Bob (the author, linked), Carol (not in tocsin)
    bob: str
    carol: str
    said: str  # Bob's message's ts

    @property
    def incident_id(self) -> uuid.UUID:
        return uuid.UUID(self.incident["id"])

    def send(self, path: str, body: bytes, **headers: str) -> Any:
        stamp = int(self.rb.now.timestamp())
        r = self.rb.http.post(path, content=body, headers={**signed(SECRET, body, stamp), **headers})
        assert r.status_code == 200, r.text
        return r

    def event(self, event: dict[str, Any], event_id: str, **headers: str) -> None:
        self.send(EVENTS, event_callback(event, event_id=event_id), **headers)

    def notes(self) -> list[Any]:
        return self.rb.timeline(self.incident_id, "note")

    def ephemerals(self, user: str) -> list[str]:
        return [e.text for e in self.rb.slack.channel(self.channel).ephemerals if e.user == user]


def _channel_of(rb: Any, incident: dict[str, Any], channel_id: str, name: str) -> None:
    with rb.db.unit_of_work() as s:
        s.add(ChatChannel(incident_id=uuid.UUID(incident["id"]), platform="slack", channel_id=channel_id, name=name,
                          private=False, state="ready", created_at=rb.now))


@pytest.fixture
def world(runbook: Any) -> World:
    rb = runbook
    rb.configure(slack_signing_secret=SECRET)
    alice, bob = rb.person("Alice"), rb.person("Bob")
    slack = rb.slack
    ua, ub = slack.add_user(alice.email, "alice"), slack.add_user(bob.email, "bob")
    uc = slack.add_user("carol@elsewhere.test", "carol")
    incident = declare(rb.http, alice, title="Checkout errors")
    channel = slack.add_channel("inc-1-checkout-errors", members=(ua, ub, uc))
    _channel_of(rb, incident, channel, "inc-1-checkout-errors")
    with rb.db.unit_of_work() as s:  # Bob linked his Slack account earlier
        from tocsin.users.models import User

        accounts.link(s, accounts.ChatIdentity("slack", "T0FAKE001", ub), user=s.get(User, bob.id), via="link",
                      now=rb.now)
    said = slack.add_message(channel, "rolled back checkout to v41, errors dropping", user=ub)
    return World(rb, incident, channel, ua, ub, uc, said)


def test_a_reaction_captures_the_message_with_its_author_time_and_link(world: World) -> None:
    w = world
    w.event(reaction_added("memo", ts=w.said, channel=w.channel, user=w.alice, item_user=w.bob), "Ev1")
    (note,) = w.notes()
    assert note.text.startswith("Bob said:\nrolled back checkout to v41, errors dropping")
    link = f"https://slack.com/archives/{w.channel}/p{w.said.replace('.', '')}"
    assert link in note.text
    assert note.occurred_at.replace(tzinfo=None) == slack_time(w.said).replace(tzinfo=None)  # the message's own time
    assert note.actor_id == w.rb.people["Alice"].id  # appended by the responder who captured it
    assert note.data["captured"]["via"] == "reaction" and note.data["captured"]["author_id"] == w.bob
    assert w.ephemerals(w.alice) == []  # the reaction says it already

    # Alice's Slack account was linked by her verified email on the way
    with w.rb.db.unit_of_work() as s:
        me = accounts.find_user(s, accounts.ChatIdentity("slack", "T0FAKE001", w.alice))
        assert me is not None and me.id == w.rb.people["Alice"].id

    # a second reaction, a retried delivery, a pin and the shortcut on the same message: still one note
    w.event(reaction_added("memo", ts=w.said, channel=w.channel, user=w.bob, item_user=w.bob), "Ev2")
    w.event(reaction_added("memo", ts=w.said, channel=w.channel, user=w.alice, item_user=w.bob), "Ev1",
            **retry_headers(1))
    w.event(pin_added(ts=w.said, text="rolled back", channel=w.channel, user=w.alice, message_user=w.bob), "Ev3")
    url = w.rb.slack.response_url("actions")
    w.send(INTERACTIVE, message_action("tocsin_capture", message_ts=w.said, message_text="rolled back",
                                       message_user=w.bob, user=w.alice, channel=w.channel, response_url=url))
    assert len(w.notes()) == 1
    (answer,) = [r.payload for r in w.rb.slack.responses]
    assert answer["text"] == "This message is on the incident's timeline already."
    assert [a.action for a in w.rb.rows(AuditEntry)].count("incident.capture") == 1


def test_the_shortcut_captures_and_answers_privately(world: World) -> None:
    w = world
    url = w.rb.slack.response_url("actions")
    w.send(INTERACTIVE, message_action("tocsin_capture", message_ts=w.said,
                                       message_text="rolled back checkout to v41, errors dropping",
                                       message_user=w.bob, user=w.alice, channel=w.channel, response_url=url))
    (note,) = w.notes()
    assert note.text.startswith("Bob said:\nrolled back checkout to v41")
    assert note.data["captured"]["via"] == "shortcut"
    assert f"https://tocsin-test.slack.com/archives/{w.channel}/p" in note.text  # the workspace's domain
    (answer,) = w.rb.slack.responses
    assert answer.payload["response_type"] == "ephemeral"
    assert answer.payload["text"] == f"Added to the timeline of INC-{w.incident['number']}."


def test_a_pin_captures_the_pinned_message(world: World) -> None:
    w = world
    unlinked = w.rb.slack.add_message(w.channel, "is the CDN involved?", user=w.carol)
    w.event(pin_added(ts=unlinked, text="is the CDN involved?", channel=w.channel, user=w.alice,
                      message_user=w.carol), "Ev9")
    (note,) = w.notes()
    # an author who is no tocsin user goes by their Slack name, marked as one (anyone may call themselves anything)
    assert note.text.startswith("carol (on Slack) said:\nis the CDN involved?")
    assert note.data["captured"]["via"] == "pin"

    # an author in tocsin who has not linked their Slack account is named by their verified email
    dave = w.rb.person("Dave")
    ud = w.rb.slack.add_user(dave.email, "dave")
    theirs = w.rb.slack.add_message(w.channel, "CDN is fine", user=ud)
    w.event(pin_added(ts=theirs, text="CDN is fine", channel=w.channel, user=w.alice, message_user=ud), "Ev12")
    assert w.notes()[-1].text.startswith("Dave said:\nCDN is fine")
    with w.rb.db.unit_of_work() as s:  # and is not linked by being quoted
        assert accounts.find_user(s, accounts.ChatIdentity("slack", "T0FAKE001", ud)) is None


def test_an_unlinked_user_captures_nothing_and_is_told_how_to_link(world: World) -> None:
    w = world
    w.event(reaction_added("memo", ts=w.said, channel=w.channel, user=w.carol), "Ev4")
    assert w.notes() == []
    (told,) = w.ephemerals(w.carol)
    assert "not linked" in told and "http://tocsin.test/chat/link?t=" in told


def test_someone_outside_a_restricted_incidents_circle_captures_nothing(world: World) -> None:
    w = world
    rb = w.rb
    dave = rb.person("Dave")
    ud = rb.slack.add_user(dave.email, "dave")
    secret = declare(rb.http, rb.people["Alice"], title="Credential stuffing", restricted=True)
    hidden = rb.slack.add_channel("inc-2-private", private=True, members=(w.alice, ud))
    _channel_of(rb, secret, hidden, "inc-2-private")
    said = rb.slack.add_message(hidden, "attacker IPs are in the sheet", user=w.alice)
    w.event(reaction_added("memo", ts=said, channel=hidden, user=ud), "Ev5")
    assert rb.timeline(uuid.UUID(secret["id"]), "note") == []
    told = [e.text for e in rb.slack.channel(hidden).ephemerals if e.user == ud]
    assert told == ["This channel's incident is not one you can see in tocsin, so nothing was added to its "
                    "timeline."]
    assert "Credential" not in told[0]

    # Alice, in the circle, captures it
    w.event(reaction_added("memo", ts=said, channel=hidden, user=w.alice), "Ev6")
    assert len(rb.timeline(uuid.UUID(secret["id"]), "note")) == 1


def test_other_emoji_and_channels_that_are_no_incidents_capture_nothing(world: World) -> None:
    w = world
    w.event(reaction_added("eyes", ts=w.said, channel=w.channel, user=w.alice), "Ev7")
    elsewhere = w.rb.slack.add_channel("random", members=(w.alice, w.carol))
    chatter = w.rb.slack.add_message(elsewhere, "lunch?", user=w.carol)
    w.event(reaction_added("memo", ts=chatter, channel=elsewhere, user=w.carol), "Ev8")
    assert w.notes() == []
    assert w.ephemerals(w.alice) == [] and w.rb.slack.channel(elsewhere).ephemerals == []


def test_joining_the_channel_makes_a_linked_user_a_participant(world: World) -> None:
    w = world
    rb = w.rb
    w.event(member_joined_channel(user=w.bob, channel=w.channel), "Ev10")
    w.event(member_joined_channel(user=w.carol, channel=w.channel), "Ev11")  # not linked: nobody joins
    people = {p.user_id: p.kind for p in rb.rows(Participant, Participant.incident_id == w.incident_id)}
    assert people[rb.people["Bob"].id] == "responder"
    assert len(people) == 2  # Alice (who declared) and Bob


def test_a_viewer_may_not_capture(world: World) -> None:
    w = world
    vic = w.rb.person("Vic", role="viewer")
    uv = w.rb.slack.add_user(vic.email, "vic")
    w.rb.slack.channel(w.channel).members.append(uv)
    w.event(reaction_added("memo", ts=w.said, channel=w.channel, user=uv), "Ev13")
    assert w.notes() == []
    assert w.ephemerals(uv) == ["Nothing was added to the timeline: capturing chat messages needs the responder "
                                "role or higher"]
