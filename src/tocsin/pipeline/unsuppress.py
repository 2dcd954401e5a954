"""Page for alerts that are still firing when what held them back ends.

An alert held by inhibition (a service it depends on fires, or an inhibition rule matches) has no
end time: when the alert that inhibits it resolves, `alerts.service.end_inhibitions` makes it due
now, and the next tick releases it, or holds it again if another cause still fires.

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
from tocsin.pipeline.inhibit import INHIBITED
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
    inhibitor = batch.inhibitor
    inhibitor.read_all()
    for a in rows:  # a held alert inhibits nothing until it is released (then it joins, below)
        inhibitor.gone(a.id)
    changed = 0
    # Upstream services first, so that when a database alert resolves, the api alert released by it
    # goes on holding back the web alert behind it (web depends on api, which depends on the database).
    for a in sorted(rows, key=lambda r: (len(batch.ctx.upstream.get(r.service_id, ())), r.id)):
        svc = batch.ctx.services.get(a.service_id)
        if svc is None:
            continue
        labels = batch.ctx.match_labels(a.labels or {}, service_id=a.service_id, severity=a.severity, source=a.source)
        view = OpenAlert(id=a.id, service_id=a.service_id, integration_id=a.integration_id, dedup_key=a.dedup_key,
                         status=a.status, occurrences=a.occurrences, group_id=a.group_id, paged_at=a.paged_at,
                         incident_id=a.incident_id, summary=a.summary, dedup_scope=a.dedup_scope)
        held = inhibitor.check(a.id, a.service_id, labels)
        if held is not None:
            if a.suppressed_by == INHIBITED and held.source_id == a.inhibited_by:
                if a.held_until is not None:
                    batch.touch(view, held_until=None)
                continue
            if a.suppressed_by != INHIBITED:
                changed += 1
            batch.touch(view, suppressed_by=INHIBITED, held_until=None, inhibited_by=held.source_id)
            batch.note(a.id, INHIBITED, held.reason, ref=held.ref, source_alert_id=str(held.source_id))
            continue
        hold = decide.suppression(now=now, service_id=a.service_id, labels=labels, windows=batch.ctx.windows,
                                  silences=batch.ctx.silences,
                                  last_paged_at=paged.get((a.service_id, a.dedup_scope, a.dedup_key)),
                                  flap_window_seconds=svc.settings.flap_window_seconds)
        inhibitor.firing_now(a.id, a.service_id, a.summary, labels)  # not inhibited: it can inhibit others now
        if hold is not None and hold.kind == a.suppressed_by:
            if hold.until != a.held_until:  # e.g. the silence was extended: due again when it ends
                batch.touch(view, held_until=hold.until)
            continue
        changed += 1
        if a.inhibited_by is not None:
            batch.touch(view, inhibited_by=None)
        if hold is not None:
            batch.touch(view, suppressed_by=hold.kind, held_until=hold.until)
            batch.note(a.id, hold.kind, hold.reason, ref=hold.ref, until=hold.until.isoformat() if hold.until else None)
            continue
        why = "its cause resolved" if a.suppressed_by == INHIBITED else f"{a.suppressed_by} ended"
        batch.note(a.id, "released", f"no longer held back ({why}) and still firing")
        batch.request_page(view, a.urgency, svc)
    batch.flush()
    return changed


def _last_pages(session: Session, alerts: list[Alert]) -> dict[tuple[uuid.UUID, str, str], datetime]:
    """When each flapping alert's key last paged (by any earlier alert of its dedup scope)."""
    if not alerts:
        return {}
    stmt = (sa.select(Alert.service_id, Alert.dedup_scope, Alert.dedup_key, sa.func.max(Alert.paged_at))
            .where(Alert.dedup_key.in_({a.dedup_key for a in alerts}),
                   Alert.service_id.in_({a.service_id for a in alerts}), Alert.paged_at.is_not(None))
            .group_by(Alert.service_id, Alert.dedup_scope, Alert.dedup_key))
    return {(sid, scope, key): at for sid, scope, key, at in session.execute(stmt) if at is not None}
