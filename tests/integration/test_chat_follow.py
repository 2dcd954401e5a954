"""The chat follower and the chat outbox (chatops/follow.py, chatops/deliver.py), run as the engine runs
them with the injectable clock, against the fake Slack through the real SlackApp (slack_sdk): a channel
per incident with its name, topic, bookmarks and invites; the timeline posted there, a burst as one
message; need-to-know (private channels, muted public ones); Slack's 429 and 500 losing nothing and
keeping the order; closing archives; the update-cadence reminder once per due time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from tests.harness.backends import only
from tests.harness.chat_jobs import Chat
from tests.harness.slack import TOKEN, FakeSlack
from tocsin.chatops import deliver, receipts
from tocsin.chatops.accounts import ChatIdentity, link
from tocsin.chatops.models import ChatChannel, ChatOutbox
from tocsin.config import Settings
from tocsin.engine import retention
from tocsin.incidents import roles, timeline
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Kind, ParticipantKind
from tocsin.services.models import Service
from tocsin.severities import Severity
from tocsin.users.models import User

PUBLIC = "https://tocsin.example"


@pytest.fixture
def chat(db, clock, slack: FakeSlack) -> Iterator[Chat]:
    settings = Settings(secret_key="test", public_url=PUBLIC, slack_signing_secret="signing", slack_bot_token=TOKEN,
                        slack_base_url=slack.api_url, chat_channel_severities="SEV1,SEV2,SEV3")
    c = Chat(db, clock, settings)
    c.follow()  # the install: incidents from now on get channels
    yield c
    c.close()


def _declare(db, clock, actor, title: str, severity: Severity = Severity.SEV2, **kw: Any) -> tuple[uuid.UUID, str]:
    with db.unit_of_work() as s:
        incident = incidents.declare(s, actor=actor, now=clock.now(), spec=incidents.Declaration(
            title=title, severity=severity, **kw))
        return incident.id, incidents.ref(incident)


def _linked(db, clock, slack: FakeSlack, person) -> str:
    chat_id = slack.add_user(person.email, person.name)
    with db.unit_of_work() as s:
        link(s, ChatIdentity("slack", "T0FAKE", chat_id), user=s.get(User, person.id), via="email", now=clock.now())
    return chat_id


def _update(db, clock, incident_id, actor, **changes: Any) -> None:
    with db.unit_of_work() as s:
        incidents.update_incident(s, incident=s.get(Incident, incident_id), actor=actor, now=clock.now(),
                                  changes=changes, postmortem_required=())


def _note(db, clock, incident_id, actor, text: str, key_event: bool = True) -> None:
    with db.unit_of_work() as s:
        timeline.add_note(s, incident=s.get(Incident, incident_id), actor=actor, now=clock.now(), text=text,
                          key_event=key_event)


def _channel_id(db, incident_id) -> str:
    with db.read() as s:
        row = s.execute(sa.select(ChatChannel).where(ChatChannel.incident_id == incident_id,
                                                     ChatChannel.platform == "slack")).scalar_one()
        assert row.channel_id, row.detail
        return row.channel_id


def test_a_channel_per_incident_with_its_name_topic_bookmarks_and_people(chat, db, clock, system, slack,
                                                                         make_person, make_service):
    alice, bob = make_person(name="Alice"), make_person(name="Bob")
    alice_chat = _linked(db, clock, slack, alice)
    bob_chat = slack.add_user(bob.email, "Bob")  # not linked: found by email when invited
    make_service("checkout")
    with db.unit_of_work() as s:
        s.execute(sa.update(Service).where(Service.slug == "checkout").values(runbook_url="https://wiki.example/rb"))
    incident_id, ref = _declare(db, clock, system, "Checkout 5xx errors!", services=["checkout"],
                                incident_commander=str(alice.id))
    with db.unit_of_work() as s:
        roles.set_participant(s, incident=s.get(Incident, incident_id), user=s.get(User, bob.id),
                              kind=ParticipantKind.responder, actor=system, now=clock.now())
    chat.drain()

    number = ref.split("-")[1]
    channel = slack.channel(f"#inc-{number}-checkout-5xx-errors")
    assert not channel.is_private
    assert channel.topic == f"SEV2 · Investigating · IC: Alice · {PUBLIC}/incidents/{ref}"
    assert [(b.title, b.link) for b in channel.bookmarks] == [
        (f"Incident room {ref}", f"{PUBLIC}/incidents/{ref}"), ("Runbook", "https://wiki.example/rb")]
    assert {alice_chat, bob_chat} <= set(channel.members)
    assert channel.texts[0].startswith(f"🚨 {ref} · SEV2: Checkout 5xx errors!")
    assert _channel_id(db, incident_id) == channel.id

    # Alice hands over to Bob: the topic follows, once
    with db.unit_of_work() as s:
        roles.assign_role(s, incident=s.get(Incident, incident_id), role=roles.Role.incident_commander,
                          user=s.get(User, bob.id), actor=system, now=clock.now())
    chat.drain()
    assert channel.topic.startswith("SEV2 · Investigating · IC: Bob · ")
    assert sum("setTopic" in line for line in slack.transcript()) == 2
    assert sum("conversations.create" in line for line in slack.transcript()) == 1


def test_timeline_events_are_posted_and_a_burst_is_one_message(chat, db, clock, system, slack):
    incident_id, ref = _declare(db, clock, system, "Search is slow")
    chat.drain()
    channel = slack.channel(_channel_id(db, incident_id))
    before = len(channel.texts)

    clock.advance(minutes=1)
    for n in range(9):
        _note(db, clock, incident_id, system, f"update number {n}")
    _note(db, clock, incident_id, system, "a working note, not an update", key_event=False)
    _update(db, clock, incident_id, system, status="identified")
    chat.drain()
    new = channel.texts[before:]
    assert len(new) == 1, new
    lines = new[0].splitlines()
    assert len(lines) == 10
    assert [line.split("Update: ")[1] for line in lines[:9]] == [f"update number {n}" for n in range(9)]
    assert "investigating → identified" in lines[9]
    assert "working note" not in new[0]

    # while a post waits (Slack said 429), what comes next joins it: still one message
    clock.advance(minutes=1)
    slack.ratelimit_next(1, retry_after=10)
    _note(db, clock, incident_id, system, "first")
    chat.settle()
    chat.follow(), chat.deliver()
    _note(db, clock, incident_id, system, "second")
    chat.drain()
    assert len(channel.texts) == before + 2
    assert channel.texts[-1].endswith("Update: first\n" + channel.texts[-1].splitlines()[1]) and \
        "Update: second" in channel.texts[-1]


def test_a_restricted_incident_gets_a_private_channel_and_no_public_channel_hears_of_it(chat, db, clock, system,
                                                                                         slack, make_person):
    secret = "Payroll export leaked"
    restricted_id, ref = _declare(db, clock, system, secret, kind=Kind.security, severity=Severity.SEV1)
    public_id, public_ref = _declare(db, clock, system, "Login page errors")
    chat.drain()
    private = slack.channel(_channel_id(db, restricted_id))
    assert private.is_private and private.name == f"inc-{ref.split('-')[1]}"
    assert any(secret in text for text in private.texts), "the circle's private channel has it all"

    # the public incident is found to be part of the breach: restricted, retitled
    _update(db, clock, public_id, system, restricted=True, title=f"{secret} (login vector)")
    _note(db, clock, public_id, system, f"{secret}: attacker used the login page")
    _update(db, clock, public_id, system, status="identified")
    clock.advance(hours=2)  # an update is overdue: no reminder goes to the public channel either
    chat.drain()
    public = slack.channel(_channel_id(db, public_id))
    assert not public.is_private
    with db.read() as s:
        assert s.execute(sa.select(ChatChannel.muted).where(ChatChannel.incident_id == public_id)).scalar_one()
    seen = [public.name, public.topic, *public.texts, *(b.title for b in public.bookmarks)]
    for channel in slack.workspace.channels.values():
        if not channel.is_private:
            seen += [channel.name, channel.topic, *channel.texts]
    assert not [text for text in seen if "Payroll" in text or "payroll" in text]
    assert not [t for t in public.texts if "attacker" in t or "⏰" in t]


def test_slack_429_then_500_loses_nothing_and_keeps_the_order(chat, db, clock, system, slack):
    incident_id, _ref = _declare(db, clock, system, "Queue backlog")
    chat.drain()
    channel = slack.channel(_channel_id(db, incident_id))
    before = len(channel.texts)

    clock.advance(minutes=1)
    slack.ratelimit_next(2, retry_after=20)
    _note(db, clock, incident_id, system, "one")
    chat.settle()
    chat.follow(), chat.deliver()  # 429: the post waits 20 s and keeps its place
    [row] = chat.waiting()
    assert row.kind == "post" and row.attempts == 0 and row.due_at == clock.now() + timedelta(seconds=20)
    _update(db, clock, incident_id, system, severity="SEV1")  # a line for the post, and a topic change behind it
    clock.advance(seconds=5)  # settled
    chat.follow(), chat.deliver()
    assert [r.kind for r in chat.waiting()] == ["post", "topic"], "nothing overtakes the waiting post"
    assert len(channel.texts) == before
    clock.advance(seconds=20)
    chat.deliver()  # the second 429
    slack.fail_for(3, 500)
    for _ in range(3):  # 500s: the machinery's backoff
        with db.read() as s:
            clock.set(deliver.Chats(chat.settings, clock).next_due(s))
        chat.deliver()
        assert len(channel.texts) == before
    chat.drain()
    assert len(channel.texts) == before + 1
    assert "Update: one" in channel.texts[-1] and "SEV1" in channel.texts[-1]
    assert channel.topic.startswith("SEV1 · ")
    posted = [i for i, line in enumerate(slack.transcript()) if "chat.postMessage" in line]
    topic = [i for i, line in enumerate(slack.transcript()) if "setTopic" in line]
    assert posted[-1] < topic[-1], "the post went before the topic written after it"
    with db.read() as s:
        assert set(s.execute(sa.select(ChatOutbox.status)).scalars()) == {"sent"}


def test_closing_posts_the_last_lines_and_archives(chat, db, clock, system, slack):
    incident_id, _ref = _declare(db, clock, system, "Disk full", severity=Severity.SEV3)
    chat.drain()
    channel = slack.channel(_channel_id(db, incident_id))
    _update(db, clock, incident_id, system, status="resolved")
    chat.drain()
    assert not channel.archived, "resolved: the channel stays for the follow-up"
    _update(db, clock, incident_id, system, status="closed")
    chat.drain()
    assert channel.archived and "→ closed" in channel.texts[-1]
    with db.read() as s:
        row = s.execute(sa.select(ChatChannel).where(ChatChannel.incident_id == incident_id)).scalar_one()
        assert row.state == "archived" and row.archived_at is not None
    transcript = slack.transcript()
    assert "conversations.archive" in transcript[-1]
    chat.drain()
    assert slack.transcript() == transcript, "nothing more once archived"


def test_an_overdue_update_is_reminded_once_per_due_time(chat, db, clock, system, slack, make_person):
    alice = make_person(name="Alice")
    alice_chat = _linked(db, clock, slack, alice)
    incident_id, ref = _declare(db, clock, system, "Payments declined", incident_commander=str(alice.id))
    chat.drain()
    channel = slack.channel(_channel_id(db, incident_id))

    def reminders() -> list[str]:
        return [line for t in channel.texts for line in t.splitlines() if line.startswith("⏰")]

    clock.advance(minutes=59)
    chat.drain()
    assert reminders() == []
    clock.advance(minutes=2)  # a SEV2 is updated every 60 min (TOCSIN_UPDATE_CADENCE's default)
    chat.drain()
    assert len(reminders()) == 1 and ref in reminders()[0]
    assert [e.user for e in channel.ephemerals] == [alice_chat]
    clock.advance(minutes=20)
    chat.drain()
    assert len(reminders()) == 1, "once per due time"
    _note(db, clock, incident_id, system, "rolled back the deploy")
    clock.advance(minutes=61)
    chat.drain()
    assert len(reminders()) == 2 and len(channel.ephemerals) == 2


def test_a_refused_create_marks_the_channel_failed_and_sent_calls_are_pruned(chat, db, clock, system, slack):
    slack.refuse_next("conversations.create", "restricted_action")
    failed_id, _ = _declare(db, clock, system, "Cache stampede")
    chat.drain()
    with db.read() as s:
        row = s.execute(sa.select(ChatChannel).where(ChatChannel.incident_id == failed_id)).scalar_one()
        assert row.state == "failed" and row.channel_id is None
        assert "a workspace setting stops the bot" in (row.detail or "")
    _note(db, clock, failed_id, system, "nothing to post it to")
    chat.drain()
    assert not [c for c in slack.workspace.channels.values() if c.name.startswith("inc-")]

    kept_id, _ = _declare(db, clock, system, "DNS flapping")
    chat.drain()
    with db.read() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(ChatOutbox)).scalar_one() > 2
    clock.advance(days=chat.settings.retention_delivery_days + 1)
    _note(db, clock, kept_id, system, "still going")
    chat.settle()
    chat.follow()  # a post waits: retention leaves it
    assert retention.retention(chat.ctx()) > 0
    with db.read() as s:
        assert [(r.kind, r.status) for r in s.execute(sa.select(ChatOutbox)).scalars()] == [("post", "waiting")]


def test_a_channel_archived_by_hand_is_left_alone(chat, db, clock, system, slack):
    incident_id, _ref = _declare(db, clock, system, "Mail queue stuck")
    chat.drain()
    channel = slack.channel(_channel_id(db, incident_id))
    channel.archived = True  # someone archived it in Slack
    _note(db, clock, incident_id, system, "retrying the relay")
    chat.drain()
    with db.read() as s:
        row = s.execute(sa.select(ChatChannel).where(ChatChannel.incident_id == incident_id)).scalar_one()
        assert row.state == "archived" and "outside tocsin" in (row.detail or "")
    calls = len(slack.transcript())
    _note(db, clock, incident_id, system, "relay back")
    _update(db, clock, incident_id, system, status="resolved")
    chat.drain()
    assert len(slack.transcript()) == calls, "nothing more is tried"


def test_what_was_said_in_the_channel_is_not_posted_back(chat, db, clock, system, slack):
    incident_id, _ref = _declare(db, clock, system, "Billing lag")
    chat.drain()
    channel = slack.channel(_channel_id(db, incident_id))
    before = len(channel.texts)
    with db.unit_of_work() as s:  # a command typed in the channel noted the entry it made
        entry = timeline.add_note(s, incident=s.get(Incident, incident_id), actor=system, now=clock.now(),
                                  text="typed in Slack", key_event=True)
        receipts.first_time(s, platform="slack", key="command:trigger-1", now=clock.now(), incident_id=incident_id)
        receipts.note_entry(s, platform="slack", key="command:trigger-1", entry_id=entry.id)
    _note(db, clock, incident_id, system, "written in the room")
    chat.drain()
    assert channel.texts[before:] == [channel.texts[-1]] and "written in the room" in channel.texts[-1]
    assert not [t for t in channel.texts if "typed in Slack" in t]


def test_an_idle_follower_opens_no_transaction(chat, db, clock, system, slack):
    """The probe (a read) finds work only when there is some: on SQLite every unit of work waits for the
    write lock a busy ingest holds, so a channel in step with its open incident must cost no write."""
    from tocsin.chatops import follow

    def probe() -> bool:
        with db.read() as s:
            return follow.has_work(s, chat.ctx())

    incident_id, _ = _declare(db, clock, system, "Checkout is failing")
    assert probe()  # the incident has no channel yet
    chat.drain()
    assert not probe()  # in step: nothing to do although the incident is open
    _note(db, clock, incident_id, system, "rolled back 4.2.1")
    assert not probe()  # the entry is read once settled
    chat.settle()
    assert probe()
    chat.drain()
    assert not probe()
    clock.advance(follow.REMIND_EVERY)
    assert probe()  # the periodic look for overdue updates


@only("postgresql")
def test_two_engines_opening_one_incidents_channel_make_one_channel(chat, db, clock, system):
    """Two engines on PostgreSQL find the same incident without a channel at once: the second insert waits
    for the first transaction, loses on the unique constraint, and goes on without an error."""
    import threading

    from tocsin.chatops import follow

    incident_id, _ = _declare(db, clock, system, "Checkout is failing")
    installed = {"slack": clock.now() - timedelta(minutes=1)}
    first_inserted, second_done, errors = threading.Event(), threading.Event(), []

    def second() -> None:
        try:
            first_inserted.wait(10)
            with db.unit_of_work() as s:
                follow.open_channels(s, chat.settings, "slack", installed["slack"], clock.now())
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)
        finally:
            second_done.set()

    other = threading.Thread(target=second)
    other.start()
    with db.unit_of_work() as s:
        assert follow.open_channels(s, chat.settings, "slack", installed["slack"], clock.now()) == 1
        first_inserted.set()
        assert not second_done.wait(0.5)  # the second engine waits on the row this transaction wrote
    other.join(10)
    assert errors == []
    with db.read() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(ChatChannel)
                         .where(ChatChannel.incident_id == incident_id)).scalar() == 1
        assert s.execute(sa.select(sa.func.count()).select_from(ChatOutbox)
                         .where(ChatOutbox.kind == "create")).scalar() == 1
