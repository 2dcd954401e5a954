"""The chat follower on Mattermost (a channel per incident through the REST API, through the real
MattermostClient against FakeMattermost) and Microsoft Teams (incident updates as cards to the
Workflows webhook; nothing of a restricted incident)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from tests.harness.chat_jobs import Chat
from tests.harness.mattermost import TEAM_ID, TOKEN, FakeMattermost
from tests.harness.teams import texts, trust_dispatchers, workflows_hook
from tocsin.chatops.models import ChatChannel
from tocsin.config import Settings
from tocsin.incidents import service as incidents
from tocsin.incidents import timeline
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Kind
from tocsin.severities import Severity

PUBLIC = "https://tocsin.example"


def _declare(db, clock, actor, title: str, **kw: Any) -> tuple[Any, str]:
    with db.unit_of_work() as s:
        incident = incidents.declare(s, actor=actor, now=clock.now(), spec=incidents.Declaration(
            title=title, severity=kw.pop("severity", Severity.SEV2), **kw))
        return incident.id, incidents.ref(incident)


def _update(db, clock, incident_id, actor, **changes: Any) -> None:
    with db.unit_of_work() as s:
        incidents.update_incident(s, incident=s.get(Incident, incident_id), actor=actor, now=clock.now(),
                                  changes=changes, postmortem_required=())


def test_a_mattermost_channel_per_incident_a_taken_name_gets_a_suffix(db, clock, system,
                                                                      mattermost: FakeMattermost):
    settings = Settings(secret_key="test", public_url=PUBLIC, mattermost_url=mattermost.url,
                        mattermost_bot_token=TOKEN, mattermost_team_id=TEAM_ID)
    chat = Chat(db, clock, settings)
    try:
        chat.follow()
        with db.read() as s:
            number = (s.execute(sa.select(sa.func.max(Incident.number))).scalar() or 0) + 1
        mattermost.add_channel(f"inc-{number}-database-failover")  # someone made it by hand
        incident_id, ref = _declare(db, clock, system, "Database failover")
        chat.drain()
        channel = mattermost.channel_named(f"inc-{number}-database-failover-2")
        assert channel.type == "O"
        assert channel.header == f"SEV2 · Investigating · IC: none yet · {PUBLIC}/incidents/{ref}"
        posts = [p.message for p in sorted(mattermost.posts_in(channel.id), key=lambda p: p.create_at)]
        assert any("Incident room" in m and p.is_pinned for m, p in
                   zip(posts, sorted(mattermost.posts_in(channel.id), key=lambda p: p.create_at), strict=True))
        assert any(m.startswith(f"🚨 {ref} · SEV2: Database failover") for m in posts)
        _update(db, clock, incident_id, system, status="resolved")
        _update(db, clock, incident_id, system, status="closed")
        chat.drain()
        last = sorted(mattermost.posts_in(channel.id), key=lambda p: p.create_at)[-1].message
        assert "→ resolved" in last and "→ closed" in last, "one message for the burst"
        assert channel.delete_at, "archived"
    finally:
        chat.close()


def test_teams_gets_a_card_per_burst_and_nothing_of_a_restricted_incident(db, clock, system, tmp_path,
                                                                          monkeypatch):
    with workflows_hook(tmp_path) as (hook, trust):
        trust_dispatchers(monkeypatch, trust)
        settings = Settings(secret_key="test", public_url=PUBLIC, teams_webhook_url=hook.url("localhost"))
        chat = Chat(db, clock, settings)
        try:
            chat.follow()
            incident_id, ref = _declare(db, clock, system, "Checkout errors")
            secret_id, _ = _declare(db, clock, system, "Payroll export leaked", kind=Kind.security)
            chat.drain()
            clock.advance(minutes=1)
            with db.unit_of_work() as s:
                for text in ("rolled back", "errors falling"):
                    timeline.add_note(s, incident=s.get(Incident, incident_id), actor=system, now=clock.now(),
                                      text=text, key_event=True)
                timeline.add_note(s, incident=s.get(Incident, secret_id), actor=system, now=clock.now(),
                                  text="Payroll: forensics started", key_event=True)
            _update(db, clock, incident_id, system, status="mitigated")
            chat.drain()
            documents = [json.loads(p.body) for p in list(hook.posts)]
            assert len(documents) == 2, "the declaration, then one card for the burst"
            first, burst = (texts(d) for d in documents)
            assert first[0] == f"{ref} · SEV2: Checkout errors" and "declared" in first[-1]
            assert "rolled back" in burst[-1] and "errors falling" in burst[-1] and "→ mitigated" in burst[-1]
            assert "Status: Mitigated" in burst
            assert not [p for p in hook.posts if b"Payroll" in p.body]
            with db.read() as s:
                assert s.execute(sa.select(ChatChannel.muted).where(ChatChannel.incident_id == secret_id)).scalar_one()
        finally:
            chat.close()


def test_teams_gets_nothing_of_a_drill(db, clock, system, tmp_path, monkeypatch):
    """The Teams webhook posts to a shared channel, not to an exercise's participants: a drill
    (issue 19) never reaches it, not even unmarked as a real SEV1 would."""
    with workflows_hook(tmp_path) as (hook, trust):
        trust_dispatchers(monkeypatch, trust)
        settings = Settings(secret_key="test", public_url=PUBLIC, teams_webhook_url=hook.url("localhost"))
        chat = Chat(db, clock, settings)
        try:
            chat.follow()
            drill_id, _ = _declare(db, clock, system, "Database cluster down", severity=Severity.SEV1, drill=True)
            _declare(db, clock, system, "Checkout errors")
            chat.drain()
            clock.advance(minutes=1)
            _update(db, clock, drill_id, system, status="mitigated")
            chat.drain()
            assert [p for p in hook.posts if b"Checkout errors" in p.body]
            assert not [p for p in hook.posts if b"Database cluster down" in p.body]
        finally:
            chat.close()
