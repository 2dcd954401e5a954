"""What the forensics-first nudge needs from the packages beside containment, read for both edges.

containment, evidence and indicators sit on one layer and may not import each other, so the API
and the console gather here what containment/nudge.py matches a note or an investigate step
against: the incident's affected hosts (a note that investigates one warns, checklist or not) and
its evidence items' names and locations (a host an item was collected from counts as preserved).
Operational incidents get nothing (the nudge is for security incidents only): no query is made.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tocsin.evidence import service as evidence
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Kind
from tocsin.indicators import service as indicators
from tocsin.indicators.types import AssetKind


@dataclass(frozen=True)
class Leads:
    known: list[str]  # the affected hosts' names
    collected: list[str]  # one text per evidence item: its name and location


def leads(session: Session, incident: Incident, *, nudge_on: bool) -> Leads:
    if not nudge_on or incident.kind != Kind.security.value:
        return Leads([], [])
    hosts = [a.name for a in indicators.list_assets(session, incident) if a.kind == AssetKind.host.value]
    items = [f"{i.name}\n{i.location}" for i in evidence.list_items(session, incident)]
    return Leads(hosts, items)
