"""The engine jobs for action items: remind owners (`action_reminders`) and send changes to the
outside tracker (`action_sync`).

`action_reminders` locks a bounded batch of items that are due a reminder (SKIP LOCKED on
PostgreSQL, so a second engine takes other items, never the same) and writes the reminders into
the notifications outbox in the same transaction as the bookkeeping; the `deliver` module, which
runs right after, sends them.

`action_sync` runs on the one delivery machinery (`tocsin/delivery.py`), like pages: claim due
rows in a short transaction (status `sending`, a lease that expires), POST them outside any
transaction, then record the result only if the claim is still ours. Only the oldest unsent row
of an item is claimed, so a tracker sees an item's changes in the order they were made even when
one of them needs retries. Retryable failures back off (`jobs.backoff`) up to MAX_ATTEMPTS, then
the row is `failed` with the reason and the item's later changes go on. It POSTs through the
engine's one guarded HTTP client (the dispatcher's, under the egress policy).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from tocsin.actions import reminders, sync
from tocsin.actions.models import ActionItem, ActionSync
from tocsin.delivery import MAX_ATTEMPTS as MAX_ATTEMPTS  # the tests' limit, the machinery's
from tocsin.delivery import Claim, Outbox, run
from tocsin.incidents.models import Incident
from tocsin.jobs import JobContext, dispatcher
from tocsin.notify.types import Outcome, Result

SYNC_BATCH = 50
LEASE = timedelta(seconds=60)  # longer than one POST may take (the client times out at 10 s)
ROUNDS = 5  # per tick: an item's later changes follow its earlier ones in the same tick


def action_reminders(ec: JobContext) -> int:
    """Write the reminders due at this tick; return how many items were reminded."""
    schedule = reminders.Schedule.from_settings(ec.settings)
    with ec.db.unit_of_work() as s:
        items = list(s.execute(
            sa.select(ActionItem).where(reminders.due_clause(ec.now, schedule))
            .order_by(ActionItem.due_at, ActionItem.id).limit(reminders.BATCH)
            .with_for_update(skip_locked=True)).scalars())
        return reminders.remind(s, items, now=ec.now, schedule=schedule,
                                public_url=ec.settings.resolved_public_url())


def action_sync(ec: JobContext) -> int:
    """Send the due tracker deliveries; return how many rows were handled. An item's next change
    becomes eligible once the one before it has left the queue, so rounds repeat while they settle rows."""
    handled = 0
    outbox = TrackerSync(ec.settings.action_sync_url)
    for _ in range(ROUNDS):
        done = run(ec, outbox)
        handled += done.claimed
        if not done.settled:
            break
    return handled


@dataclass(frozen=True, slots=True)
class TrackerSend:
    """One change to POST: the row (its id is the delivery's id and idempotency key), the event and
    the `action_item` JSON document (neutral when its incident is restricted)."""

    row_id: uuid.UUID
    event: str
    item: dict[str, Any]


class TrackerSync(Outbox[ActionSync, TrackerSend]):
    """The `action_syncs` outbox: an item's changes, oldest first, one at a time per item."""

    name = "tracker sync"
    lease = LEASE

    def __init__(self, url: str | None) -> None:
        self.url = url

    def due(self, s: Session, now: datetime) -> list[ActionSync]:
        older = aliased(ActionSync)
        return list(s.execute(
            sa.select(ActionSync).where(
                ActionSync.status.in_(("queued", "sending")), ActionSync.send_after <= now,
                ~sa.exists().where(older.action_item_id == ActionSync.action_item_id,
                                   older.status.in_(("queued", "sending")), older.id < ActionSync.id))
            .order_by(ActionSync.send_after, ActionSync.id).limit(SYNC_BATCH)
            .with_for_update(skip_locked=True, of=ActionSync)).scalars())

    def row_id(self, row: ActionSync) -> uuid.UUID:
        return row.id

    def attempts(self, row: ActionSync) -> int:
        return row.attempts

    def claimed(self, row: ActionSync) -> bool:
        return row.status == "sending"

    def lease_row(self, row: ActionSync, until: datetime) -> None:
        row.status, row.attempts, row.send_after = "sending", row.attempts + 1, until

    def shape(self, s: Session, rows: list[ActionSync], now: datetime) -> list[tuple[ActionSync, TrackerSend]]:
        if not self.url:  # syncing was switched off after these were queued
            for r in rows:
                self.failed(s, r, "not sent: action_sync_url is no longer set", now)
            return []
        # Restricted since the change was queued: the delivery is neutral now too (sync.redacted).
        restricted = set(s.execute(sa.select(ActionItem.id).join(Incident, Incident.id == ActionItem.incident_id)
                                   .where(ActionItem.id.in_({r.action_item_id for r in rows}),
                                          Incident.restricted.is_(True))).scalars())
        out = []
        for r in rows:
            if r.action_item_id in restricted and not r.payload.get("incident_restricted"):
                r.payload = sync.redacted(dict(r.payload))
            out.append((r, TrackerSend(r.id, r.event, dict(r.payload))))
        return out

    def sender(self, ec: JobContext) -> Callable[[TrackerSend], Result]:
        url = self.url or ""
        secret = sync.signing_secret(ec.settings.resolved_secret_key())
        client = dispatcher(ec).client()  # the engine's one guarded client (egress policy)
        clock = ec.clock

        def send(item: TrackerSend) -> Result:
            outcome = sync.post(client, url, secret=secret, row_id=item.row_id, event=item.event, item=item.item,
                                sent_at=clock.now())
            kind = Outcome.delivered if outcome.ok else Outcome.retryable if outcome.retryable else Outcome.permanent
            return Result(kind, outcome.detail)

        return send

    def lock(self, s: Session, claims: Sequence[Claim[TrackerSend]]) -> dict[uuid.UUID, ActionSync]:
        return {r.id: r for r in s.execute(sa.select(ActionSync).where(
            ActionSync.id.in_([c.id for c in claims])).order_by(ActionSync.id).with_for_update()).scalars()}

    def sent(self, s: Session, row: ActionSync, claim: Claim[TrackerSend], result: Result, now: datetime) -> None:
        row.status, row.sent_at, row.last_error = "sent", now, None

    def retry(self, s: Session, row: ActionSync, claim: Claim[TrackerSend], detail: str, at: datetime) -> None:
        row.status, row.send_after, row.last_error = "queued", at, detail

    def failed(self, s: Session, row: ActionSync, why: str, now: datetime) -> None:
        row.status, row.last_error = "failed", why

    def next_due(self, s: Session) -> datetime | None:
        return s.execute(sa.select(sa.func.min(ActionSync.send_after))
                         .where(ActionSync.status == "queued")).scalar()
