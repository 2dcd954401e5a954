"""The ingest journal: what senders were answered for, applied right behind the answer.

The ingest writer validates a request, gives each of its events an id (and an Events v2 event
without a dedup key its key), and appends one `ingest_journal` row per request in its own short
transaction; the 2xx goes out after that commit. `apply_journal` then takes the oldest rows in
batches and, in one transaction, stores their events as `alert_events` (with the ids given at
accept time), runs the pipeline on them and deletes the rows. Applying and deleting commit
together, so a row is applied exactly once: a crash before the commit leaves the row for the next
applier, a crash after it leaves nothing. On PostgreSQL the rows are claimed `FOR UPDATE SKIP
LOCKED`, so the appliers of several processes share the journal; on SQLite writers take turns.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import AlertEvent, IngestJournal
from tocsin.db.base import table_of
from tocsin.db.bulk import insert_rows
from tocsin.ids import new_id, uuid_from_hex
from tocsin.integrations.models import Integration
from tocsin.pipeline.ingest import Incoming, event_body, event_from, ingest
from tocsin.services.models import Service

J = table_of(IngestJournal)
E = table_of(AlertEvent)
S = table_of(Service)
I = table_of(Integration)  # noqa: E741

MAX_APPLY_EVENTS = 2000  # events per apply transaction: large enough to amortise, short enough to keep lag low
MAX_APPLY_ROWS = 500
APPLY_LOCK = 0x746F6373696E4A  # the PostgreSQL advisory lock that makes appliers take turns ("tocsinJ")


def entry(items: Sequence[Incoming]) -> list[list[object]]:
    """One request's validated events as a journal row stores them."""
    return [[i.event_id.hex, i.service_id.hex, i.integration_id.hex if i.integration_id else None, i.source,
             i.event.action.value, i.event.dedup_key, event_body(i.event)] for i in items]


def append(session: Session, requests: Sequence[Sequence[Incoming]], *, now: datetime) -> int:
    """Journal each request's events as one row (requests without events need none); return the rows."""
    rows = [{"id": new_id(), "accepted_at": now, "events": entry(items)} for items in requests if items]
    insert_rows(session, J, rows)
    return len(rows)


def _items(events: list[list[object]], accepted_at: datetime, ids: dict[str, uuid.UUID]) -> list[Incoming]:
    """The journaled events as the pipeline takes them. `ids` caches the parsed service and
    integration ids across a batch (a storm repeats a few of them thousands of times); the stored
    body is kept, so that storing the event does not build it again."""
    out = []
    for event_id, service_id, integration_id, source, action, dedup_key, body in events:
        service = ids.get(service_id)  # type: ignore[call-overload]
        if service is None:
            service = ids[service_id] = uuid_from_hex(str(service_id))  # type: ignore[index]
        integration = None
        if integration_id:
            integration = ids.get(integration_id)  # type: ignore[call-overload]
            if integration is None:
                integration = ids[integration_id] = uuid_from_hex(str(integration_id))  # type: ignore[index]
        out.append(Incoming(event_from(str(action), str(dedup_key), body),  # type: ignore[arg-type]
                            service, integration, str(source), uuid_from_hex(str(event_id)), accepted_at,
                            body))  # type: ignore[arg-type]
    return out


def apply_journal(session: Session, *, now: datetime, max_events: int = MAX_APPLY_EVENTS) -> tuple[int, bool]:
    """Apply the oldest journal rows (up to about `max_events` events) and delete them, in the
    caller's transaction; return (events applied, whether rows may remain)."""
    if session.get_bind().dialect.name == "postgresql":
        # One applier at a time, in journal order: with two taking disjoint rows at once (SKIP LOCKED),
        # a later resolve could be applied before the trigger it resolves. SQLite's one writer already
        # serialises this. Waits for the other applier's transaction, then reads what it left.
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPLY_LOCK})
    rows = session.execute(sa.select(J.c.id, J.c.accepted_at, J.c.events).order_by(J.c.id)
                           .limit(MAX_APPLY_ROWS).with_for_update()).all()
    if not rows:
        return 0, False
    taken: list[uuid.UUID] = []
    requests: list[list[Incoming]] = []
    size = 0
    ids: dict[str, uuid.UUID] = {}
    for row_id, accepted_at, events in rows:
        if taken and size + len(events) > max_events:
            break
        taken.append(row_id)
        requests.append(_items(events, accepted_at, ids))
        size += len(events)
    # Belt and braces: a row whose events are already stored is not applied again. Applying
    # deletes the row in the same transaction, so this finds nothing unless that promise broke.
    # A row's events are stored together, so its first event stands for all of them.
    done = set(session.execute(sa.select(E.c.id).where(E.c.id.in_([r[0].event_id for r in requests]))).scalars())
    items = _still_addressable(session, [i for r in requests if r[0].event_id not in done for i in r])
    ingest(session, items, now=now)
    session.execute(sa.delete(J).where(J.c.id.in_(taken)))
    return len(items), len(taken) < len(rows) or len(rows) == MAX_APPLY_ROWS


def _still_addressable(session: Session, items: list[Incoming]) -> list[Incoming]:
    """Drop events of services deleted since they were accepted (their alerts and events are deleted
    with them), and forget integrations deleted since (as their stored events do), so that one
    deletion cannot make the journal unappliable."""
    services = {i.service_id for i in items}
    integrations = {i.integration_id for i in items if i.integration_id is not None}
    live_services = set(session.execute(sa.select(S.c.id).where(S.c.id.in_(services))).scalars()) if services \
        else set()
    live_integrations = set(session.execute(sa.select(I.c.id).where(I.c.id.in_(integrations))).scalars()) \
        if integrations else set()
    out = []
    for i in items:
        if i.service_id not in live_services:
            continue
        if i.integration_id is not None and i.integration_id not in live_integrations:
            i.integration_id = None
        out.append(i)
    return out


def backlog(session: Session) -> tuple[int, datetime | None]:
    """Journal rows not yet applied, and the oldest one's accept time (for /metrics and health)."""
    count, oldest = session.execute(sa.select(sa.func.count(), sa.func.min(J.c.accepted_at))).one()
    return int(count), oldest
