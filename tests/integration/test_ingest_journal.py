"""The ingest journal is applied exactly once, whoever applies it and however many at a time.

Journal rows are what senders got a 2xx for; `apply_journal` stores their events and deletes the
rows in one transaction (on PostgreSQL claiming them `FOR UPDATE SKIP LOCKED`). Two appliers on
their own connections drain one journal at once: every event is stored once, with the id it was
given when accepted, and every alert counts each of its trigger events once.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import sqlalchemy as sa

from tocsin.alerts.models import Alert, AlertEvent, IngestJournal
from tocsin.inbound.types import Action, Event
from tocsin.pipeline.ingest import Incoming
from tocsin.pipeline.journal import append, apply_journal

KEYS = 40
REQUESTS = 120


def _journal(db, clock, service_id) -> list[Incoming]:
    """REQUESTS requests of 1-5 trigger events over KEYS dedup keys (so most are repeats), journaled."""
    requests = [[Incoming(Event(action=Action.trigger, dedup_key=f"k{(r * 7 + n) % KEYS}", summary=f"r{r}"),
                          service_id, None, "events_v2") for n in range(1 + r % 5)] for r in range(REQUESTS)]
    with db.unit_of_work() as s:
        assert append(s, requests, now=clock.now()) == REQUESTS
    return [i for r in requests for i in r]


def test_two_appliers_apply_every_journaled_event_exactly_once(db, clock, make_service):
    service_id = make_service("api")
    items = _journal(db, clock, service_id)
    accepted = clock.now()
    clock.advance(timedelta(seconds=2))
    applied: list[int] = []
    errors: list[BaseException] = []

    def applier() -> None:
        try:
            while True:
                with db.unit_of_work() as s:
                    n, more = apply_journal(s, now=clock.now(), max_events=25)
                applied.append(n)
                if not more and n == 0:
                    return
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=applier) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors

    with db.unit_of_work() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(IngestJournal)).scalar_one() == 0
        events = s.execute(sa.select(AlertEvent.id, AlertEvent.dedup_key, AlertEvent.outcome,
                                     AlertEvent.received_at, AlertEvent.applied_at)).all()
        alerts = dict(s.execute(sa.select(Alert.dedup_key, Alert.occurrences)).all())
    # Each accepted event stored once, under the id it was given at accept time ...
    assert sorted(e.id for e in events) == sorted(i.event_id for i in items)
    assert sum(applied) == len(items)
    # ... with its accept and apply times (the apply lag) ...
    assert {(e.received_at, e.applied_at) for e in events} == {(accepted, accepted + timedelta(seconds=2))}
    # ... and applied once: one alert per key, counting each of its events once.
    per_key = Counter(i.event.dedup_key for i in items)
    assert alerts == dict(per_key)
    assert Counter(e.outcome for e in events) == Counter({"created": KEYS, "deduplicated": len(items) - KEYS})


def test_a_row_whose_events_are_already_stored_is_deleted_not_applied_again(db, clock, make_service):
    service_id = make_service("api")
    items = _journal(db, clock, service_id)
    with db.unit_of_work() as s:
        while apply_journal(s, now=clock.now())[0]:
            pass
    # The same rows again (as if a delete had been lost): nothing is applied twice.
    with db.unit_of_work() as s:
        s.execute(sa.delete(IngestJournal))
    requests: dict[str, list[Incoming]] = {}
    for i in items:
        requests.setdefault(i.event.summary, []).append(i)
    with db.unit_of_work() as s:
        append(s, list(requests.values()), now=clock.now())
    with db.unit_of_work() as s:
        assert apply_journal(s, now=clock.now()) == (0, False)
    with db.unit_of_work() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(IngestJournal)).scalar_one() == 0
        assert s.execute(sa.select(sa.func.count()).select_from(AlertEvent)).scalar_one() == len(items)
        assert sum(s.execute(sa.select(Alert.occurrences)).scalars()) == len(items)


def test_a_service_or_integration_deleted_after_the_accept_does_not_block_the_journal(db, clock, make_service, system):
    # Accepted for two services through an integration each; then one integration and the other
    # service are deleted before the applier runs. The journal still drains: the event of the
    # deleted service goes with its service, the other is stored without its deleted integration.
    from tocsin.integrations.models import Integration
    from tocsin.integrations.service import IntegrationType, create_integration
    from tocsin.services.models import Service

    kept, gone = make_service("kept"), make_service("gone")
    with db.unit_of_work() as s:
        via_kept = create_integration(s, actor=system, now=clock.now(), service="kept", kind=IntegrationType.events_v2,
                                      name="pd")[0].id
        via_gone = create_integration(s, actor=system, now=clock.now(), service="gone", kind=IntegrationType.events_v2,
                                      name="pd")[0].id
        append(s, [[Incoming(Event(action=Action.trigger, dedup_key="a"), kept, via_kept, "events_v2")],
                   [Incoming(Event(action=Action.trigger, dedup_key="b"), gone, via_gone, "events_v2")]],
               now=clock.now())
    with db.unit_of_work() as s:
        s.execute(sa.delete(Integration).where(Integration.id == via_kept))
        s.execute(sa.delete(Integration).where(Integration.id == via_gone))
        s.execute(sa.delete(Service).where(Service.id == gone))
    with db.unit_of_work() as s:
        assert apply_journal(s, now=clock.now()) == (1, False)
    with db.unit_of_work() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(IngestJournal)).scalar_one() == 0
        assert s.execute(sa.select(AlertEvent.dedup_key, AlertEvent.service_id, AlertEvent.integration_id)).all() == [
            ("a", kept, None)]
        assert s.execute(sa.select(Alert.dedup_key)).scalars().all() == ["a"]
