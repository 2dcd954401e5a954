"""The engine jobs for action items: remind owners (`action_reminders`) and send changes to the
outside tracker (`action_sync`).

`action_reminders` locks a bounded batch of items that are due a reminder (SKIP LOCKED on
PostgreSQL, so a second engine takes other items, never the same) and writes the reminders into
the notifications outbox in the same transaction as the bookkeeping; the `deliver` module, which
runs right after, sends them.

`action_sync` works like `deliver`: claim due rows in a short transaction (status `sending`,
a claim that expires), POST them outside any transaction, then record the result only if the
claim is still ours. Only the oldest unsent row of an item is claimed, so a tracker sees an
item's changes in the order they were made even when one of them needs retries. Retryable
failures back off (30 s doubling, capped at 15 min) up to MAX_ATTEMPTS, then the row is
`failed` with the reason and the item's later changes go on. It POSTs through the engine's one
guarded HTTP client (the `deliver` module's dispatcher's, under the egress policy).
"""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from tocsin.actions import reminders, sync
from tocsin.actions.models import ActionItem, ActionSync
from tocsin.incidents.models import Incident
from tocsin.jobs import JobContext, backoff, dispatcher

log = logging.getLogger("tocsin.actions.jobs")

SYNC_BATCH = 50
CLAIM = timedelta(seconds=60)  # longer than one POST may take (the client times out at 10 s)
MAX_ATTEMPTS = 8
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
    for _ in range(ROUNDS):
        done, settled = _sync_round(ec)
        handled += done
        if not settled:
            break
    return handled


def _sync_round(ec: JobContext) -> tuple[int, bool]:
    now = ec.now
    settings = ec.settings
    url = settings.action_sync_url
    older = aliased(ActionSync)
    with ec.db.unit_of_work() as s:
        rows = list(s.execute(
            sa.select(ActionSync).where(
                ActionSync.status.in_(("queued", "sending")), ActionSync.send_after <= now,
                ~sa.exists().where(older.action_item_id == ActionSync.action_item_id,
                                   older.status.in_(("queued", "sending")), older.id < ActionSync.id))
            .order_by(ActionSync.send_after, ActionSync.id).limit(SYNC_BATCH)
            .with_for_update(skip_locked=True, of=ActionSync)).scalars())
        if not rows:
            return 0, False
        if not url:  # syncing was switched off after these were queued
            for r in rows:
                r.status, r.last_error = "failed", "not sent: action_sync_url is no longer set"
            return len(rows), False
        # Restricted since the change was queued: the delivery is neutral now too (sync.redacted).
        restricted = set(s.execute(sa.select(ActionItem.id).join(Incident, Incident.id == ActionItem.incident_id)
                                   .where(ActionItem.id.in_({r.action_item_id for r in rows}),
                                          Incident.restricted.is_(True))).scalars())
        claims = []
        for r in rows:
            r.status, r.attempts, r.send_after = "sending", r.attempts + 1, now + CLAIM
            if r.action_item_id in restricted and not r.payload.get("incident_restricted"):
                r.payload = sync.redacted(dict(r.payload))
            claims.append((r.id, r.attempts, r.event, dict(r.payload)))
    secret = sync.signing_secret(settings.resolved_secret_key())
    client = dispatcher(ec).client()  # the engine's one guarded client (egress policy), shared with `deliver`
    results = []
    for row_id, attempts, event, item in claims:
        try:
            outcome = sync.post(client, url, secret=secret, row_id=row_id, event=event, item=item,
                                sent_at=ec.clock.now())
        except Exception as exc:  # never let one delivery stop the rest; it is retried
            log.exception("action sync %s failed", row_id)
            outcome = sync.Outcome(False, True, f"{type(exc).__name__}: {exc}")
        results.append((row_id, attempts, outcome))
    done_at = ec.clock.now()
    settled = 0  # rows that left the queue (sent or failed): their item's next change may go now
    with ec.db.unit_of_work() as s:
        found = {r.id: r for r in s.execute(sa.select(ActionSync).where(
            ActionSync.id.in_([r[0] for r in results])).order_by(ActionSync.id).with_for_update()).scalars()}
        for row_id, attempts, outcome in results:
            row = found.get(row_id)
            if row is None or row.status != "sending" or row.attempts != attempts:
                continue  # the claim expired and another tick took it over
            if outcome.ok:
                row.status, row.sent_at, row.last_error = "sent", done_at, None
                settled += 1
            elif outcome.retryable and row.attempts < MAX_ATTEMPTS:
                row.status, row.send_after, row.last_error = "queued", done_at + backoff(row.attempts), outcome.detail
            else:
                row.status = "failed"
                settled += 1
                row.last_error = outcome.detail if not outcome.retryable else \
                    f"gave up after {row.attempts} attempts: {outcome.detail}"
    return len(claims), settled > 0
