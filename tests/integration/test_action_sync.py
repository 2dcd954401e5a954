"""Tracker sync against a real local HTTP receiver: every change of an action item is POSTed,
signed, in the order it was made; a tracker that is down is retried with backoff without
reordering an item's changes; a refused delivery fails with the reason and the next goes on.

Runs on SQLite and PostgreSQL; the receiver is http.server in a thread on 127.0.0.1.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tocsin.actions import service as svc
from tocsin.actions.jobs import MAX_ATTEMPTS, action_sync
from tocsin.actions.models import ActionSync
from tocsin.actions.sync import EVENT_HEADER, SyncConfig, signing_secret
from tocsin.config import Settings
from tocsin.engine.runner import Engine
from tocsin.incidents import service as incidents
from tocsin.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_webhook
from tocsin.severities import Severity

SYNC = SyncConfig(enabled=True, public_url="https://tocsin.example.test")


@pytest.fixture
def engine(db, clock, receiver):
    eng = Engine(db, clock, settings=Settings(secret_key="k", action_sync_url=receiver.url()),
                 modules=[("action_sync", action_sync)])
    yield eng
    eng.close()


@pytest.fixture
def owner(make_person):
    return make_person("responder", name="Alice")


def as_principal(db, person):
    from tocsin.users.service import principal_for, require_user

    with db.unit_of_work() as s:
        return principal_for(s, require_user(s, person.id))


def create(db, clock, actor, **fields):
    fields.setdefault("type", "prevent")
    with db.unit_of_work() as s:
        return svc.ref(svc.create_item(s, actor=actor, now=clock.now(), spec=svc.ActionSpec(**fields),
                                       sync_config=SYNC))


def update(db, clock, actor, ref, **changes):
    with db.unit_of_work() as s:
        item = svc.require_item(s, actor, ref, for_update=True)
        svc.update_item(s, actor=actor, now=clock.now(), item=item, changes=changes, sync_config=SYNC)


def rows(db):
    with db.unit_of_work() as s:
        return [(r.event, r.status, r.attempts) for r in
                s.execute(sa.select(ActionSync).order_by(ActionSync.id)).scalars()]


def bodies(receiver):
    return [json.loads(p.body) for p in receiver.posts]


def test_each_change_is_posted_signed_in_order(db, clock, engine, receiver, owner):
    alice = as_principal(db, owner)
    ref = create(db, clock, alice, title="Add a retry budget", owner=owner.email, due_at=clock.now() + timedelta(days=3),
                 external_id="OPS-7")
    clock.advance(minutes=5)
    update(db, clock, alice, ref, status="done")
    engine.tick()

    assert [(b["event"], b["action_item"]["status"]) for b in bodies(receiver)] == [
        ("action_item.created", "open"), ("action_item.updated", "done")]
    first, second = receiver.posts
    item = json.loads(first.body)["action_item"]
    assert item["ref"] == ref and item["owner"] == {"email": owner.email, "name": "Alice"}
    assert item["url"] == f"https://tocsin.example.test/api/v1/action-items/{ref}"
    assert item["external_id"] == "OPS-7" and item["incident"] is None and item["completed_at"] is None
    assert json.loads(second.body)["action_item"]["completed_at"] == clock.now().isoformat()
    for post in receiver.posts:
        headers = {k.lower(): v for k, v in post.headers.items()}
        assert verify_webhook(signing_secret("k"), post.body, headers[TIMESTAMP_HEADER.lower()],
                              headers[SIGNATURE_HEADER.lower()], now=clock.now())
        assert headers["idempotency-key"] == json.loads(post.body)["id"]
        assert headers[EVENT_HEADER.lower()] == json.loads(post.body)["event"]
        assert headers[TIMESTAMP_HEADER.lower()] == str(int(clock.now().timestamp())), "the engine's clock"
    assert not verify_webhook("wrong", first.body, first.headers[TIMESTAMP_HEADER],
                              first.headers[SIGNATURE_HEADER], now=clock.now())
    assert rows(db) == [("action_item.created", "sent", 1), ("action_item.updated", "sent", 1)]
    engine.tick()
    assert len(receiver.posts) == 2, "sent once"


def test_a_tracker_outage_is_retried_with_backoff_without_reordering(db, clock, engine, receiver, owner):
    alice = as_principal(db, owner)
    receiver.status = 503
    ref = create(db, clock, alice, title="Canary deploys")
    engine.tick()
    assert rows(db) == [("action_item.created", "queued", 1)]
    with db.unit_of_work() as s:
        assert "503" in s.execute(sa.select(ActionSync.last_error)).scalar_one()

    update(db, clock, alice, ref, priority="high")
    receiver.status = 200
    engine.tick()
    assert len(receiver.posts) == 1, "neither is sent before the backoff has passed"
    clock.advance(seconds=31)
    engine.tick()
    assert [(b["event"], b["action_item"]["priority"]) for b in bodies(receiver)[1:]] == [
        ("action_item.created", "medium"), ("action_item.updated", "high")]
    assert rows(db) == [("action_item.created", "sent", 2), ("action_item.updated", "sent", 1)]


def test_a_refused_delivery_fails_with_the_reason_and_the_next_goes_on(db, clock, engine, receiver, owner):
    alice = as_principal(db, owner)
    receiver.status, receiver.reply_body = 400, b"unknown project"
    ref = create(db, clock, alice, title="Fix alerts")
    engine.tick()
    receiver.status = 200
    update(db, clock, alice, ref, title="Fix the alerts")
    engine.tick()
    assert rows(db) == [("action_item.created", "failed", 1), ("action_item.updated", "sent", 1)]
    with db.unit_of_work() as s:
        assert s.execute(sa.select(ActionSync.last_error).where(ActionSync.status == "failed")).scalar_one() == \
            "HTTP 400 Bad Request"  # the reason in tocsin's words; the tracker's reply is not kept


def test_it_gives_up_after_max_attempts(db, clock, engine, receiver, owner):
    receiver.status = 500
    create(db, clock, as_principal(db, owner), title="Flaky tracker")
    for _ in range(MAX_ATTEMPTS):
        engine.tick()
        clock.advance(minutes=16)
    assert len(receiver.posts) == MAX_ATTEMPTS
    assert rows(db) == [("action_item.created", "failed", MAX_ATTEMPTS)]
    with db.unit_of_work() as s:
        assert s.execute(sa.select(ActionSync.last_error)).scalar_one().startswith(f"gave up after {MAX_ATTEMPTS}")


def test_a_restricted_incidents_item_is_synced_under_a_neutral_title(db, clock, engine, receiver, owner):
    # The item's own words usually tell what happened, so the tracker gets neither them nor the incident's.
    alice = as_principal(db, owner)
    with db.unit_of_work() as s:
        inc = incidents.declare(s, actor=alice, now=clock.now(), spec=incidents.Declaration(
            title="Signing key leaked via build logs", severity=Severity.SEV1, restricted=True))
        inc_ref = incidents.ref(inc)
    due = clock.now() + timedelta(days=2)
    ref = create(db, clock, alice, title="Scrub the leaked key from build logs", incident=inc_ref,
                 description="Rotate the release signing key too", owner=owner.email, due_at=due, priority="high")
    create(db, clock, alice, title="Add a retry budget", description="Cap retries at 10%")
    engine.tick()
    # the two items are sent in the same tick, in either order
    by_ref = {json.loads(p.body)["action_item"]["ref"]: p.body for p in receiver.posts}
    restricted = json.loads(by_ref.pop(ref))["action_item"]
    (plain_body,) = by_ref.values()
    plain = json.loads(plain_body)["action_item"]
    assert all(word not in p.body for p in receiver.posts for word in (b"leaked", b"signing key"))
    assert (restricted["title"], restricted["description"]) == (f"Restricted action item {ref}", "")
    assert (restricted["ref"], restricted["status"], restricted["priority"], restricted["type"],
            restricted["owner"]["email"], restricted["due_at"], restricted["incident"],
            restricted["incident_restricted"]) == \
        (ref, "open", "high", "prevent", owner.email, due.isoformat(), inc_ref, True)
    assert (plain["title"], plain["description"], plain["incident_restricted"]) == \
        ("Add a retry budget", "Cap retries at 10%", False)


def test_an_engine_signs_with_the_key_of_the_settings_it_is_given_not_the_environment(db, clock, receiver, owner,
                                                                                      monkeypatch):
    # Settings are required and typed: the engine never builds its own from the environment.
    monkeypatch.setenv("TOCSIN_SECRET_KEY", "from-the-environment")
    create(db, clock, as_principal(db, owner), title="x")
    engine = Engine(db, clock, settings=Settings(secret_key="given", action_sync_url=receiver.url()),
                    modules=[("action_sync", action_sync)])
    engine.tick()
    engine.close()
    (post,) = receiver.posts
    stamp, signature = post.headers[TIMESTAMP_HEADER], post.headers[SIGNATURE_HEADER]
    assert verify_webhook(signing_secret("given"), post.body, stamp, signature, now=clock.now())
    assert not verify_webhook(signing_secret("from-the-environment"), post.body, stamp, signature, now=clock.now())
    assert rows(db) == [("action_item.created", "sent", 1)]


def test_the_egress_guard_refuses_a_metadata_address(db, clock, owner):
    engine = Engine(db, clock, settings=Settings(secret_key="k", action_sync_url="http://169.254.169.254/latest"),
                    modules=[("action_sync", action_sync)])
    create(db, clock, as_principal(db, owner), title="x")
    engine.tick()
    engine.close()
    assert rows(db) == [("action_item.created", "failed", 1)]
    with db.unit_of_work() as s:
        assert "blocked" in s.execute(sa.select(ActionSync.last_error)).scalar_one()


def test_switching_sync_off_fails_what_was_queued_with_the_reason(db, clock, owner):
    create(db, clock, as_principal(db, owner), title="x")
    Engine(db, clock, settings=Settings(secret_key="k"), modules=[("action_sync", action_sync)]).tick()
    assert rows(db) == [("action_item.created", "failed", 0)]
