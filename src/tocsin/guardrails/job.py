"""The engine job `guardrails`: evaluate every watched incident at most every EVERY of the engine's
clock (the rules count minutes; a tick every second need not re-read them), and only while an
incident is watched (the probe)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.guardrails import service
from tocsin.jobs import JobContext

NEXT = "guardrails.next"  # in ec.shared: when this engine next evaluates
EVERY = timedelta(seconds=30)


def has_work(s: Session, ec: JobContext) -> bool:
    due_at = ec.shared.get(NEXT)
    if isinstance(due_at, datetime) and ec.now < due_at:
        return False
    return service.has_work(s)


def guardrails(ec: JobContext) -> int:
    """Trip and clear guardrails (timeline entries, nudges to the IC); return how many changed."""
    with ec.db.unit_of_work() as s:
        changed = service.evaluate(s, ec.now, ec.settings)
    ec.shared[NEXT] = ec.now + EVERY
    return changed
