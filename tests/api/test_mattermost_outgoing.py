"""Mattermost's outgoing webhook: `#timeline <text>` captures onto the timeline of the channel's
incident, `#incident <command>` runs the slash command's executor.

The hook's requests are built as Mattermost sends them (tests/harness/mattermost.py, JSON with the
post's time in milliseconds or a form with it in seconds), and tocsin reads the poster's email from
the fake Mattermost through the real client."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from tests.harness import mattermost as mm
from tests.harness.incidents import declare
from tests.harness.ingest import AppliedClient
from tocsin.chatops import accounts
from tocsin.chatops.models import ChatChannel
from tocsin.incidents.models import Incident, TimelineEntry

pytestmark = pytest.mark.both_backends  # claims (receipts) run in savepoints: both databases

PATH = "/integrations/mattermost/outgoing"
NOT_FOUND = "Not found: there is no incident here that you can see."


@dataclass
class World:
    http: Any
    db: Any
    fake: mm.FakeMattermost
    incident: dict[str, Any]
    channel: str
    alice: str  # Mattermost users: Alice and Bob (tocsin responders, matched by email), Carol (not in tocsin)
    bob: str
    carol: str
    people: dict[str, Any]

    def post(self, text: str, user: str, post_id: str, *, channel: str | None = None, **kwargs: Any) -> Any:
        body, headers = mm.outgoing_webhook(text, post_id=post_id, user_id=user, channel_id=channel or self.channel,
                                            **kwargs)
        return self.http.post(PATH, content=body, headers=headers)

    def said(self, text: str, user: str, post_id: str, **kwargs: Any) -> str:
        r = self.post(text, user, post_id, **kwargs)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["response_type"] == "comment", answer
        return str(answer["text"])

    def notes(self, incident_id: str | None = None) -> list[TimelineEntry]:
        with self.db.unit_of_work() as s:
            return list(s.execute(sa.select(TimelineEntry).where(
                TimelineEntry.incident_id == uuid.UUID(incident_id or self.incident["id"]),
                TimelineEntry.kind == "note")).scalars())


def _channel_of(db: Any, clock: Any, incident: dict[str, Any], channel_id: str, *, private: bool = False) -> None:
    with db.unit_of_work() as s:
        s.add(ChatChannel(incident_id=uuid.UUID(incident["id"]), platform="mattermost", channel_id=channel_id,
                          name=f"inc-{incident['number']}", private=private, state="ready", created_at=clock.now()))


def _app(db: Any, clock: Any, **settings: Any) -> Any:
    from tocsin.app import create_app
    from tocsin.config import Settings

    return create_app(settings=Settings(max_body_bytes=64 * 1024, secret_key="test-secret",
                                        public_url="https://tocsin.example.test", **settings), db=db, clock=clock)


@pytest.fixture
def world(db, clock, make_person, mattermost) -> Any:
    alice, bob = make_person("responder", name="Alice"), make_person("responder", name="Bob")
    ua, ub = mattermost.add_user("alice", alice.email), mattermost.add_user("bob", bob.email)
    uc = mattermost.add_user("carol", "carol@elsewhere.test")
    app = _app(db, clock, mattermost_outgoing_token=mm.OUTGOING_TOKEN, mattermost_url=mattermost.url,
               mattermost_bot_token=mm.TOKEN, mattermost_team_id=mm.TEAM_ID,
               mattermost_email_linking=True)  # the operator vouches that Mattermost verifies emails
    try:
        with AppliedClient(app, raise_server_exceptions=False) as http:
            incident = declare(http, alice, title="Checkout errors")
            channel = mattermost.add_channel("inc-1-checkout-errors", members=(ua, ub, uc))
            _channel_of(db, clock, incident, channel)
            yield World(http, db, mattermost, incident, channel, ua, ub, uc, {"Alice": alice, "Bob": bob})
    finally:
        app.state.ingest.close()


def test_timeline_captures_the_message_once_with_its_author_time_and_link(world: World, db) -> None:
    w = world
    at_ms = mm.FIRST_MS + 123_456
    text = "#timeline rolled back checkout to v41, errors dropping"
    assert w.said(text, w.bob, "p1", user_name="bob", create_at_ms=at_ms) == "Added to the timeline of INC-1."
    (note,) = w.notes()
    assert note.text == (f"Bob said:\nrolled back checkout to v41, errors dropping\n\n"
                         f"{w.fake.url}/{mm.TEAM_DOMAIN}/pl/p1")
    assert note.occurred_at.replace(tzinfo=None) == datetime.fromtimestamp(at_ms / 1000, UTC).replace(tzinfo=None)
    assert note.actor_id == w.people["Bob"].id
    assert note.data["captured"]["platform"] == "mattermost" and note.data["captured"]["author_id"] == w.bob
    with db.unit_of_work() as s:  # Bob's Mattermost account was linked by the email Mattermost shows the bot
        me = accounts.find_user(s, accounts.ChatIdentity("mattermost", mm.TEAM_ID, w.bob))
        assert me is not None and me.id == w.people["Bob"].id
    # Mattermost delivering the same post again makes no second note
    assert w.said(text, w.bob, "p1", user_name="bob", create_at_ms=at_ms) == (
        "This message is on the incident's timeline already.")
    assert len(w.notes()) == 1


def test_a_form_encoded_hook_carries_the_time_in_seconds(world: World) -> None:
    w = world
    at_ms = mm.FIRST_MS + 42_000
    assert w.said("#TIMELINE  paged the DBA on call ", w.alice, "p2", as_json=False,
                  create_at_ms=at_ms) == "Added to the timeline of INC-1."
    (note,) = w.notes()
    assert note.text.startswith("Alice said:\npaged the DBA on call\n\n")
    assert note.occurred_at.replace(tzinfo=None) == datetime.fromtimestamp(at_ms // 1000, UTC).replace(tzinfo=None)
    assert note.actor_id == w.people["Alice"].id


def test_someone_outside_a_restricted_incidents_circle_gets_not_found(world: World, db, clock) -> None:
    w = world
    secret = declare(w.http, w.people["Alice"], title="Credential stuffing", restricted=True)
    hidden = w.fake.add_channel("inc-2-private", private=True, members=(w.alice, w.bob))
    _channel_of(db, clock, secret, hidden, private=True)
    told = w.said("#timeline attacker IPs are in the sheet", w.bob, "p3", channel=hidden)
    assert told == NOT_FOUND
    assert w.said("#incident status identified", w.bob, "p4", channel=hidden) == NOT_FOUND
    assert w.notes(secret["id"]) == []
    with db.unit_of_work() as s:
        assert s.get(Incident, uuid.UUID(secret["id"])).status != "identified"
    # Alice, in the circle, captures it; the thread is not told the title
    told = w.said("#timeline attacker IPs are in the sheet", w.alice, "p5", channel=hidden)
    assert told == "Added to the timeline of the incident." and len(w.notes(secret["id"])) == 1


def test_an_unlinked_poster_gets_the_link_alone_and_nothing_is_captured(world: World) -> None:
    w = world
    told = w.said("#timeline something odd", w.carol, "p6", user_name="carol")
    assert "not linked" in told and "/chat/link" not in told  # the thread is everyone's: no link in it
    (private,) = [e for e in w.fake.ephemerals if e["user_id"] == w.carol]
    assert private["channel_id"] == w.channel and "https://tocsin.example.test/chat/link?t=" in private["message"]
    told = w.said("#incident link", w.carol, "p7")
    assert "/incident link" in told and "/chat/link" not in told
    assert w.notes() == []


def test_an_unlinked_poster_without_the_bot_is_told_to_use_the_slash_command(db, clock) -> None:
    app = _app(db, clock, mattermost_outgoing_token=mm.OUTGOING_TOKEN)
    try:
        with AppliedClient(app, raise_server_exceptions=False) as http:
            body, headers = mm.outgoing_webhook("#incident status identified", post_id="p8", user_id="ustranger")
            r = http.post(PATH, content=body, headers=headers)
            assert r.status_code == 200
            assert "Type `/incident link`" in r.json()["text"] and "/chat/link" not in r.json()["text"]
    finally:
        app.state.ingest.close()


def test_a_command_runs_through_the_slash_commands_executor(world: World, db) -> None:
    w = world
    assert w.said("#incident status identified", w.alice, "p9") == "Alice set status to identified"
    with db.unit_of_work() as s:
        assert s.get(Incident, uuid.UUID(w.incident["id"])).status == "identified"
    assert w.said("#incident status identified", w.alice, "p9") == "That command was already received."
    assert w.said("#incident note @channel look at the dashboard", w.alice, "p10") == (
        "Alice added a note: @\u200bchannel look at the dashboard")
    assert w.said("#incident help", w.alice, "p11").splitlines()[1].startswith("`#incident declare")
    # a message that starts with neither trigger word gets no answer (Mattermost then posts nothing)
    r = w.post("lunch? #timeline later", w.alice, "p12")
    assert r.status_code == 200 and r.json() == {}
    assert w.said("#timeline", w.alice, "p13").startswith("Write what to add after #timeline")
    elsewhere = w.fake.add_channel("random", members=(w.alice,))
    assert w.said("#timeline hello", w.alice, "p14", channel=elsewhere).startswith("This is not an incident channel")
    assert len(w.notes()) == 1  # the note command's


def test_the_token_is_required_and_bad_requests_are_refused(world: World) -> None:
    w = world
    assert w.post("#timeline x", w.alice, "q1", token="wrong").status_code == 401
    assert w.post("#timeline x", w.alice, "q2", token="").status_code == 401
    body, _ = mm.outgoing_webhook("#timeline x", post_id="q3", user_id=w.alice, channel_id=w.channel, token="")
    r = w.http.post(PATH, content=body, headers={"Content-Type": "application/json",
                                                 "Authorization": f"Token {mm.OUTGOING_TOKEN}"})
    assert r.status_code == 200  # the header will do too
    for garbage, kind in ((b"\xff\xfe garbage", "application/x-www-form-urlencoded"), (b"[1, 2]", "application/json"),
                          (b"{not json", "application/json"), (b'{"token": 5}', "application/json"),
                          (b'{"timestamp": "soon"}', "application/json"), (b'{"timestamp": 1%s}' % (b"0" * 400),
                                                                             "application/json")):
        assert w.http.post(PATH, content=garbage, headers={"Content-Type": kind}).status_code == 400, garbage
    assert w.post("#timeline nul\x00here", w.alice, "q4").status_code == 400  # PostgreSQL stores no NUL
    assert w.post("#timeline x", w.alice, "").status_code == 400  # no post id
    assert w.post("#timeline x", w.alice, "q5", create_at_ms=-5).status_code == 400
    assert w.post("#timeline x", w.alice, "q6", create_at_ms=float("nan")).status_code == 400
    assert len(w.notes()) == 1


def test_not_configured_is_404(db, clock) -> None:
    app = _app(db, clock)
    try:
        with AppliedClient(app, raise_server_exceptions=False) as http:
            body, headers = mm.outgoing_webhook("#timeline x", post_id="p1", user_id="u1")
            assert http.post(PATH, content=body, headers=headers).status_code == 404
    finally:
        app.state.ingest.close()


def test_without_email_linking_a_self_set_email_is_nobody(db, clock, make_person, mattermost) -> None:
    """By default Mattermost's profile email links no one (a user can type an admin's address there):
    Mallory, showing Ada's email, captures nothing and runs nothing as Ada."""
    ada = make_person("admin", name="Ada")
    mallory = mattermost.add_user("mallory", ada.email)
    app = _app(db, clock, mattermost_outgoing_token=mm.OUTGOING_TOKEN, mattermost_url=mattermost.url,
               mattermost_bot_token=mm.TOKEN, mattermost_team_id=mm.TEAM_ID)
    try:
        with AppliedClient(app, raise_server_exceptions=False) as http:
            incident = declare(http, ada, title="Checkout errors")
            channel = mattermost.add_channel("inc-1-checkout-errors", members=(mallory,))
            _channel_of(db, clock, incident, channel)
            w = World(http, db, mattermost, incident, channel, mallory, mallory, mallory, {"Ada": ada})
            assert "not linked" in w.said("#timeline all good, nothing to see", mallory, "p1")
            assert "not linked" in w.said("#incident resolve", mallory, "p2")
            assert w.notes() == []
    finally:
        app.state.ingest.close()
    with db.unit_of_work() as s:
        assert s.execute(sa.select(accounts.ChatAccount)).first() is None
        assert s.execute(sa.select(Incident)).scalar_one().status != "resolved"
