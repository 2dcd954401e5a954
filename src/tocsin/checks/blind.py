"""A check that cannot reach its quorum says so.

A check run from several places alerts when `quorum` of its locations fail, and a location whose
agent stopped reporting is offline: it never counts as failing (an agent's own outage must not page
for a healthy service). The other side of that rule: with too few locations reporting, the check
cannot alert at all, whatever happens to the service, and until this job nothing said so but a line
on the check's page. Every half minute it raises one warning alert per such check (dedup key
`check:1:<id>:blind`, on the check's service) naming the silent locations, and resolves it once
enough report again, or the check is paused, deleted from the quorum path or removed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.checks.locations import is_multi, location_state, verdict
from tocsin.checks.models import Check, CheckLocation
from tocsin.checks.service import check_alert_key
from tocsin.inbound.types import Action, AlertSeverity, Event, Source
from tocsin.jobs import JobContext
from tocsin.pipeline.ingest import Incoming, ingest

EVERY = timedelta(seconds=30)
NEXT_RUN = "checks.blind.next_run"


def blind_key(check_id: uuid.UUID) -> str:
    return f"{check_alert_key(check_id)}:blind"


def has_work(s: Session, ec: JobContext) -> bool:
    due_at = ec.shared.get(NEXT_RUN)
    if isinstance(due_at, datetime) and ec.now < due_at:
        return False
    return bool(s.execute(sa.select(sa.select(Check.id).exists())).scalar())


def _open(s: Session, check: Check) -> bool:
    return s.execute(sa.select(Alert.id).where(
        Alert.service_id == check.service_id, Alert.dedup_scope == "", Alert.dedup_key == blind_key(check.id),
        Alert.status != "resolved").limit(1)).first() is not None


def _event(s: Session, check: Check, now: datetime, reachable: bool) -> Event:
    labels = {"check": check.name}
    if reachable:
        return Event(action=Action.resolve, dedup_key=blind_key(check.id), source="tocsin check", labels=labels,
                     summary=f"Check '{check.name}' can alert again: enough of its locations report")
    rows = {r.location: r for r in s.execute(sa.select(CheckLocation).where(CheckLocation.check_id == check.id))
            .scalars()}
    silent = [loc for loc in check.locations if location_state(check, rows.get(loc), now) == "offline"]
    v = verdict(s, check, now)
    return Event(
        action=Action.trigger, dedup_key=blind_key(check.id), severity=AlertSeverity.warning,
        source="tocsin check", labels=labels,
        summary=(f"Check '{check.name}' cannot alert: {v.reporting} of {len(check.locations)} locations report, "
                 f"it needs {v.quorum} (silent: {', '.join(silent) or '-'})"),
        details={"check_id": str(check.id), "locations": list(check.locations), "silent": silent,
                 "reporting": v.reporting, "quorum": v.quorum})


def _changes(s: Session, now: datetime, only: set[uuid.UUID] | None = None) -> list[tuple[Check, bool]]:
    """(check, blind now) for every check whose warning is not what it should be."""
    query = sa.select(Check).order_by(Check.id)
    if only is not None:
        query = query.where(Check.id.in_(only))
    out = []
    for check in s.execute(query).scalars().all():
        blind = check.enabled and is_multi(check) and not verdict(s, check, now).quorum_reachable
        if blind != _open(s, check):
            out.append((check, blind))
    return out


def check_quorum(ec: JobContext) -> int:
    """Raise or resolve the 'cannot alert' warning of every check; return how many changed. It reads
    first and writes only when a warning is to change (an idle tick takes no write lock)."""
    ec.shared[NEXT_RUN] = ec.now + EVERY
    with ec.db.read() as s:
        due = {check.id for check, _ in _changes(s, ec.now)}
    if not due:
        return 0
    changed = 0
    with ec.db.unit_of_work() as s:
        for check, blind in _changes(s, ec.now, due):  # again under the write lock: another engine may have done it
            event = _event(s, check, ec.now, reachable=not blind)
            ingest(s, [Incoming(event, check.service_id, None, Source.check.value)], now=ec.now)
            changed += 1
    return changed
