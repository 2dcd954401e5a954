"""Page for alerts that are still firing when what held them back ends.

A silence or maintenance window that ends while its alerts still fire must page then, not
stay quiet until the alert fires anew (Alertmanager #3367). The same holds for the flap
window. Alerts whose hold changed (a silence ended inside a maintenance window) record the
new reason instead.

Each held alert stores when its hold ends (`held_until`), so a tick re-checks only the holds
that are due, through an index: thousands of alerts parked behind a long silence cost nothing
until it ends. A change to what decides holds (silences, maintenance windows, rules, services:
the `alert_config` version) can end or change a hold early, so after one the engine re-checks
every held alert once (`everything=True`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.pipeline import decide
from tocsin.pipeline.context import load_context
from tocsin.pipeline.ingest import Batch
from tocsin.pipeline.rows import OpenAlert

BATCH = 500


class Rechecked(NamedTuple):
    checked: int  # held alerts evaluated
    changed: int  # of those, released (paged) or held for another reason


def release(session: Session, *, now: datetime, everything: bool = False) -> Rechecked:
    """Re-check the suppressed, still-triggered alerts whose hold is due (`held_until` passed), or with
    `everything` all of them (after silences, windows or rules changed); page those no longer held.

    All that are due, in chunks: re-checking only the oldest N would starve newer alerts whose silence
    ended while N older ones stay held."""
    checked = changed = 0
    after = None
    while True:
        stmt = (sa.select(Alert).where(Alert.suppressed_by.is_not(None), Alert.status == "triggered")
                .order_by(Alert.id).limit(BATCH).with_for_update(skip_locked=True))  # one engine per alert
        if not everything:
            stmt = stmt.where(Alert.held_until <= now)
        if after is not None:
            stmt = stmt.where(Alert.id > after)
        rows = session.execute(stmt).scalars().all()
        if rows:
            checked += len(rows)
            changed += _release_chunk(session, rows, now)
            after = rows[-1].id
        if len(rows) < BATCH:
            return Rechecked(checked, changed)


def _release_chunk(session: Session, rows: Sequence[Alert], now: datetime) -> int:
    batch = Batch(session, now, load_context(session, now=now, service_ids={a.service_id for a in rows}))
    flapping = [a for a in rows if a.suppressed_by == "flapping"]
    paged = _last_pages(session, flapping)
    changed = 0
    for a in rows:
        svc = batch.ctx.services.get(a.service_id)
        if svc is None:
            continue
        labels = batch.ctx.match_labels(a.labels or {}, service_id=a.service_id, severity=a.severity, source=a.source)
        hold = decide.suppression(now=now, service_id=a.service_id, labels=labels, windows=batch.ctx.windows,
                                  silences=batch.ctx.silences,
                                  last_paged_at=paged.get((a.service_id, a.dedup_key)),
                                  flap_window_seconds=svc.settings.flap_window_seconds)
        view = OpenAlert(id=a.id, service_id=a.service_id, integration_id=a.integration_id, dedup_key=a.dedup_key,
                         status=a.status, occurrences=a.occurrences, group_id=a.group_id, paged_at=a.paged_at,
                         incident_id=a.incident_id, summary=a.summary)
        if hold is not None and hold.kind == a.suppressed_by:
            if hold.until != a.held_until:  # e.g. the silence was extended: due again when it ends
                batch.touch(view, held_until=hold.until)
            continue
        changed += 1
        if hold is not None:
            batch.touch(view, suppressed_by=hold.kind, held_until=hold.until)
            batch.note(a.id, hold.kind, hold.reason, ref=hold.ref, until=hold.until.isoformat() if hold.until else None)
            continue
        batch.note(a.id, "released", f"no longer held back ({a.suppressed_by} ended) and still firing")
        batch.request_page(view, a.urgency, svc)
    batch.flush()
    return changed


def _last_pages(session: Session, alerts: list[Alert]) -> dict[tuple[uuid.UUID, str], datetime]:
    """When each flapping alert's key last paged (by any earlier alert)."""
    if not alerts:
        return {}
    stmt = (sa.select(Alert.service_id, Alert.dedup_key, sa.func.max(Alert.paged_at))
            .where(Alert.dedup_key.in_({a.dedup_key for a in alerts}),
                   Alert.service_id.in_({a.service_id for a in alerts}), Alert.paged_at.is_not(None))
            .group_by(Alert.service_id, Alert.dedup_key))
    return {(sid, key): at for sid, key, at in session.execute(stmt) if at is not None}
