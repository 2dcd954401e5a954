"""The reports' SLO section: each service's SLOs with the error budget their events consumed in the
report's period (the counts of the period against the budget the same traffic allows).

Counts are kept 32 days (`slo/store.py`), so a longer period counts its last 32 days only; the
section says which span it covers. SLOs have no need-to-know of their own: services are visible
to every signed-in user, and so are their objectives.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.reports.period import Period
from tocsin.services.models import Service
from tocsin.services.service import get_service
from tocsin.slo import store
from tocsin.slo.budget import budget
from tocsin.slo.models import Slo
from tocsin.teams.service import require_team


def slo_section(session: Session, *, period: Period, service: str | None, team: str | None) -> dict[str, Any]:
    """{"counted_since", "services": [{"service", "name", "slos": [...]}]} for the period's filters."""
    stmt = sa.select(Slo, Service).join(Service, Service.id == Slo.service_id).order_by(Service.slug, Slo.name)
    if service:
        svc = get_service(session, service)
        stmt = stmt.where(Service.id == (svc.id if svc else None))
    if team:
        stmt = stmt.where(Service.owner_team_id == require_team(session, team).id)
    rows = session.execute(stmt).all()
    since = max(period.since, period.until - store.RETENTION)
    counts = store.between(session, [slo.id for slo, _ in rows], since, period.until)
    out: dict[str, dict[str, Any]] = {}
    for slo, svc in rows:
        c = counts.get(slo.id)
        b = budget(c, slo.target, slo.window_days) if c else None
        entry = out.setdefault(svc.slug, {"service": svc.slug, "name": svc.name, "slos": []})
        entry["slos"].append({
            "id": slo.id, "name": slo.name, "kind": slo.kind, "target": slo.target, "window_days": slo.window_days,
            "good": c.good if c else 0.0, "total": c.total if c else 0.0,
            "sli": b.sli if b else None, "budget_consumed": b.consumed_fraction if b else 0.0,
        })
    return {"counted_since": since, "services": list(out.values())}
