"""The room's "Indicators and assets" panel: the incident's indicators (each with the other
incidents the viewer may see that have it), its affected assets, and the choices of the forms.

Shown on security incidents, and on any incident that has indicators or assets recorded (one whose
kind was changed keeps showing what it has)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from tocsin.ids import incident_ref
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Kind
from tocsin.indicators import service as svc
from tocsin.indicators.types import (
    KIND_LABELS,
    TLP_LABELS,
    TYPE_LABELS,
    AssetKind,
    ContainmentState,
    IndicatorType,
    Tlp,
)
from tocsin.principal import Principal


@dataclass(frozen=True)
class IndicatorView:
    id: str
    type: str
    type_label: str
    value: str
    tlp: str
    tlp_label: str
    seen: str
    source: str
    notes: str
    also_seen_in: list[str]


@dataclass(frozen=True)
class AssetView:
    id: str
    kind_label: str
    name: str
    state: str
    tlp: str
    tlp_label: str
    seen: str
    source: str


def _seen(first: datetime | None, last: datetime | None, tz: ZoneInfo) -> str:
    fmt = "%Y-%m-%d %H:%M"
    if first is None and last is None:
        return ""
    if last is None or first == last:
        return (first or last).astimezone(tz).strftime(fmt)  # type: ignore[union-attr]
    if first is None:
        return "until " + last.astimezone(tz).strftime(fmt)
    return f"{first.astimezone(tz).strftime(fmt)} \u2013 {last.astimezone(tz).strftime(fmt)}"


def panel(s: Session, me: Principal, incident: Incident, tz: ZoneInfo) -> dict[str, Any] | None:
    """The panel's rows and choices, or None when the room should not show it."""
    indicators = svc.list_indicators(s, incident)
    assets = svc.list_assets(s, incident)
    if incident.kind != Kind.security.value and not indicators and not assets:
        return None
    seen = svc.also_seen_in(s, me, incident)
    return {
        "indicators": [IndicatorView(
            id=str(i.id), type=i.type, type_label=TYPE_LABELS[IndicatorType(i.type)], value=i.value, tlp=i.tlp,
            tlp_label=TLP_LABELS[Tlp(i.tlp)], seen=_seen(i.first_seen, i.last_seen, tz), source=i.source,
            notes=i.notes, also_seen_in=[incident_ref(n) for n in seen.get(i.id, [])]) for i in indicators],
        "assets": [AssetView(
            id=str(a.id), kind_label=KIND_LABELS[AssetKind(a.kind)], name=a.name, state=a.state, tlp=a.tlp,
            tlp_label=TLP_LABELS[Tlp(a.tlp)], seen=_seen(a.first_seen, a.last_seen, tz), source=a.source)
            for a in assets],
        "editable": incident.kind == Kind.security.value,
        "exports": not me.is_guest,  # an outside responder reads the panel; the exports are not theirs (guest_gate)
        "types": [(t.value, TYPE_LABELS[t]) for t in IndicatorType],
        "kinds": [(k.value, KIND_LABELS[k]) for k in AssetKind],
        "states": [c.value for c in ContainmentState],
        "tlps": [(t.value, TLP_LABELS[t]) for t in Tlp],
        "tz_name": tz.key,
    }
