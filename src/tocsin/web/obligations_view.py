"""What the console shows of regulatory obligations: the room's Obligations panel, the dashboard's
open obligations and the report for counsel, read through the obligations service (need-to-know
applies: callers pass an incident from `require_incident`, or a principal to `across`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.config import Settings
from tocsin.evidence.models import EvidenceItem
from tocsin.evidence.service import label
from tocsin.incidents.models import Incident
from tocsin.incidents.service import ref
from tocsin.incidents.types import Kind
from tocsin.obligations import service as svc
from tocsin.obligations.catalog import CLOCKS, DATA_CATEGORIES, Catalog
from tocsin.principal import Principal

CLOCK_WORDS = {"aware_at": "Aware", "discovered_at": "Discovered", "classified_at": "Classified (major)",
               "materiality_determined_at": "Materiality determined", "ransom_paid_at": "Ransom paid"}
STATE_WORDS = {"waiting": "waiting for its clock", "open": "open", "due_soon": "due soon", "overdue": "overdue",
               "filed": "filed", "filed_late": "filed late", "not_applicable": "not applicable"}


def catalog_or_error(settings: Settings) -> tuple[Catalog | None, str | None]:
    cat = svc.catalog_or_none(settings)
    return (cat, None) if cat is not None else (None, svc.UNUSABLE[0].upper() + svc.UNUSABLE[1:])


def panel(s: Session, incident: Incident, settings: Settings, now: datetime) -> dict[str, Any] | None:
    """The room's Obligations panel (security incidents only)."""
    if incident.kind != Kind.security.value:
        return None
    cat, error = catalog_or_error(settings)
    found = svc.clocks(s, incident)
    exp = svc.exposure(s, incident)
    chosen = []
    for row in svc.chosen(s, incident):
        spec = cat.get(row.regime) if cat else None
        chosen.append({"id": row.regime, "name": spec.name if spec else row.regime,
                       "source": spec.source if spec else "", "note": spec.note if spec else "", "reason": row.reason})
    return {
        "error": error,
        "clocks": [{"id": c, "label": CLOCK_WORDS[c], "at": found[c].at if c in found else None,
                    "reason": found[c].reason if c in found else ""} for c in CLOCKS],
        "clock_words": CLOCK_WORDS,
        "categories": DATA_CATEGORIES,
        "exposure": {"data": set(exp.data_categories) if exp else set(), "regions": ", ".join(exp.regions) if exp else "",
                     "affected": exp.affected_count if exp else None},
        "chosen": chosen,
        "suggested": svc.suggestions(s, incident, cat) if cat else [],
        "regimes": [(r.id, r.name) for r in cat.enabled()] if cat else [],
        "items": [svc.view(o, cat, now) for o in svc.obligations(s, incident)],
        "states": STATE_WORDS,
    }


def open_rows(s: Session, principal: Principal, settings: Settings, now: datetime, limit: int = 20) -> list[Any]:
    """The dashboard's open obligations of the incidents the viewer may see, soonest first."""
    cat, _ = catalog_or_error(settings)
    return [{"ref": ref(i), "v": svc.view(o, cat, now)} for i, o in svc.across(s, principal, open_only=True,
                                                                               limit=limit)]


def report(s: Session, principal: Principal, settings: Settings, now: datetime,
           incident: Incident | None = None) -> list[dict[str, Any]]:
    """The report for counsel: per incident (that the viewer may see), every obligation and its state."""
    cat, _ = catalog_or_error(settings)
    groups: dict[Any, dict[str, Any]] = {}
    rows = svc.across(s, principal, open_only=False, limit=5000,
                      incident_ids=[incident.id] if incident is not None else None)
    for i, o in rows:
        group = groups.setdefault(i.id, {"ref": ref(i), "title": i.title, "clocks": svc.clocks(s, i), "items": []})
        group["items"].append(svc.view(o, cat, now))
    cited = {e for g in groups.values() for o in g["items"] for e in o.evidence_ids}
    names = _evidence_names(s, cited)
    for g in groups.values():
        g["evidence"] = names
    return sorted(groups.values(), key=lambda g: g["ref"])


def _evidence_names(s: Session, ids: set[str]) -> dict[str, str]:
    """"E-1 GitHub audit log export" for each cited evidence id, so counsel can match a filing to the
    custody report (a filing cites only its own incident's evidence: flows/evidence_refs.py)."""
    if not ids:
        return {}
    items = s.execute(sa.select(EvidenceItem).where(EvidenceItem.id.in_([uuid.UUID(i) for i in ids]))).scalars()
    return {str(item.id): f"{label(item)} {item.name}" for item in items}
