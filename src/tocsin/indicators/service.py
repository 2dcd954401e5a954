"""Indicators and affected assets of an incident: record, change, list, and find the same indicator
in other incidents. Services never commit.

Need-to-know: every function takes an incident the caller already got through
`incidents.access.require_incident`, and the search across incidents joins `visibility_clause`, so
a restricted incident's indicators are invisible to anyone outside its circle, and so is the fact
that the incident exists. Changing needs the responder role; viewers read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from tocsin.audit.service import record
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.ids import incident_ref
from tocsin.incidents import timeline
from tocsin.incidents.access import visibility_clause
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Kind, TimelineKind
from tocsin.indicators.models import AffectedAsset, Indicator
from tocsin.indicators.types import KIND_LABELS, TLP_LABELS, AssetKind, ContainmentState, IndicatorType, Tlp
from tocsin.indicators.values import candidates, normalise
from tocsin.principal import OrgRole, Principal

MAX_NAME = 300


@dataclass
class IndicatorSpec:
    type: IndicatorType
    value: str
    tlp: Tlp = Tlp.amber
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    source: str = ""
    evidence_id: uuid.UUID | None = None
    notes: str = ""


@dataclass
class AssetSpec:
    kind: AssetKind
    name: str
    state: ContainmentState = ContainmentState.suspected
    tlp: Tlp = Tlp.amber
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    source: str = ""
    evidence_id: uuid.UUID | None = None
    notes: str = ""


def _may_change(actor: Principal, incident: Incident) -> None:
    actor.require(OrgRole.responder, "recording indicators and affected assets")
    if incident.kind != Kind.security.value:
        raise Conflict(f"{incident_ref(incident.number)} is not a security incident: indicators and affected "
                       "assets are kept on security incidents", details={"incident": incident_ref(incident.number)})


def _check_seen(first: datetime | None, last: datetime | None, now: datetime) -> None:
    for name, when in (("first_seen", first), ("last_seen", last)):
        if when is not None and when > now:
            raise InvalidInput(f"{name.replace('_', ' ')} cannot be in the future", details={"field": name})
    if first is not None and last is not None and last < first:
        raise InvalidInput("last seen cannot be before first seen", details={"field": "last_seen"})


def _source(text: str) -> str:
    value = text.strip()
    if len(value) > 200:
        raise InvalidInput("source may have at most 200 characters", details={"field": "source"})
    return value


# --- indicators ------------------------------------------------------------------------------------

def list_indicators(session: Session, incident: Incident) -> list[Indicator]:
    return list(session.execute(sa.select(Indicator).where(Indicator.incident_id == incident.id)
                                .order_by(Indicator.type, Indicator.value)).scalars())


def require_indicator(session: Session, incident: Incident, indicator_id: uuid.UUID) -> Indicator:
    """The incident's indicator; NotFound for another incident's (the caller checked the incident)."""
    found = session.get(Indicator, indicator_id)
    if found is None or found.incident_id != incident.id:
        raise NotFound(f"no indicator {indicator_id} on {incident_ref(incident.number)}",
                       details={"indicator": str(indicator_id)})
    return found


def add_indicator(session: Session, *, incident: Incident, actor: Principal, now: datetime,
                  spec: IndicatorSpec) -> Indicator:
    """Record an indicator (value normalised for its type); Conflict if the incident has it already."""
    _may_change(actor, incident)
    value = normalise(spec.type, spec.value)
    _check_seen(spec.first_seen, spec.last_seen, now)
    exists = session.execute(sa.select(Indicator.id).where(
        Indicator.incident_id == incident.id, Indicator.type == spec.type.value, Indicator.value == value)).first()
    if exists is not None:
        raise Conflict(f"{incident_ref(incident.number)} already has the {spec.type.value} indicator {value}",
                       details={"field": "value", "indicator": str(exists[0])})
    row = Indicator(incident_id=incident.id, type=spec.type.value, value=value, tlp=spec.tlp.value,
                    first_seen=spec.first_seen, last_seen=spec.last_seen, source=_source(spec.source),
                    evidence_id=spec.evidence_id, notes=spec.notes, created_by_id=actor.user_id, created_at=now,
                    updated_at=now)
    session.add(row)
    session.flush()
    timeline.append(session, incident=incident, kind=TimelineKind.indicator, actor=actor, now=now,
                    text=f"Indicator recorded: {spec.type.value} {value} ({TLP_LABELS[spec.tlp]})",
                    data={"indicator_id": str(row.id), "type": spec.type.value, "value": value, "tlp": spec.tlp.value})
    record(session, actor=actor, action="indicator.create", target_type="incident", target_id=incident.id, now=now,
           details={"indicator_id": str(row.id), "type": spec.type.value, "value": value, "tlp": spec.tlp.value})
    return row


_EDITABLE = ("tlp", "first_seen", "last_seen", "source", "evidence_id", "notes")


def _apply(row: Indicator | AffectedAsset, changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Apply the common fields of a patch; return what changed (old and new, as text) for the audit log."""
    first = changes.get("first_seen", row.first_seen)
    last = changes.get("last_seen", row.last_seen)
    _check_seen(first, last, now)
    changed: dict[str, Any] = {}
    for name in _EDITABLE:
        if name not in changes:
            continue
        new = changes[name]
        if name == "source":
            new = _source(new)
        elif name == "tlp":
            new = Tlp(new).value
        old = getattr(row, name)
        if old != new:
            setattr(row, name, new)
            changed[name] = {"from": None if old is None else str(old), "to": None if new is None else str(new)}
    return changed


def update_indicator(session: Session, *, incident: Incident, indicator: Indicator, actor: Principal,
                     now: datetime, changes: dict[str, Any]) -> Indicator:
    """Change TLP, seen times, source, evidence or notes (not the type or value)."""
    _may_change(actor, incident)
    changed = _apply(indicator, changes, now)
    if changed:
        indicator.updated_at = now
        session.flush()
        record(session, actor=actor, action="indicator.update", target_type="incident", target_id=incident.id,
               now=now, details={"indicator_id": str(indicator.id), "changes": changed})
    return indicator


def delete_indicator(session: Session, *, incident: Incident, indicator: Indicator, actor: Principal,
                     now: datetime) -> None:
    _may_change(actor, incident)
    details = {"indicator_id": str(indicator.id), "type": indicator.type, "value": indicator.value}
    session.delete(indicator)
    session.flush()
    timeline.append(session, incident=incident, kind=TimelineKind.indicator, actor=actor, now=now,
                    text=f"Indicator removed: {details['type']} {details['value']}", data=details)
    record(session, actor=actor, action="indicator.delete", target_type="incident", target_id=incident.id, now=now,
           details=details)


def also_seen_in(session: Session, principal: Principal, incident: Incident) -> dict[uuid.UUID, list[int]]:
    """For each indicator of `incident`, the numbers of the other incidents `principal` may see that
    have the same (type, value), oldest first. Indicators seen nowhere else are left out."""
    mine, other = aliased(Indicator), aliased(Indicator)
    rows = session.execute(
        sa.select(mine.id, Incident.number)
        .join(other, sa.and_(other.type == mine.type, other.value == mine.value, other.incident_id != mine.incident_id))
        .join(Incident, Incident.id == other.incident_id)
        .where(mine.incident_id == incident.id, visibility_clause(principal))
        .order_by(Incident.number)
    ).all()
    found: dict[uuid.UUID, list[int]] = {}
    for indicator_id, number in rows:
        found.setdefault(indicator_id, []).append(number)
    return found


def search(session: Session, principal: Principal, *, value: str, kind: IndicatorType | None = None,
           before: uuid.UUID | None = None, limit: int = 50) -> list[tuple[Indicator, Incident]]:
    """The indicators with this exact value (normalised for `kind`, or for every type it is valid
    as), newest first, each with its incident, among the incidents `principal` may see. InvalidInput
    when the value is valid as no type (or not as `kind`)."""
    if kind is not None:
        wanted = {kind: normalise(kind, value)}
    else:
        wanted = candidates(value)
        if not wanted:
            raise InvalidInput(f"{value.strip()[:200]!r} is not a valid value of any indicator type",
                               details={"field": "value"})
    match = sa.or_(*(sa.and_(Indicator.type == t.value, Indicator.value == v) for t, v in wanted.items()))
    stmt = (sa.select(Indicator, Incident).join(Incident, Incident.id == Indicator.incident_id)
            .where(match, visibility_clause(principal)).order_by(Indicator.id.desc()).limit(limit))
    if before is not None:
        stmt = stmt.where(Indicator.id < before)
    return [(i, inc) for i, inc in session.execute(stmt).all()]


# --- affected assets -------------------------------------------------------------------------------

def list_assets(session: Session, incident: Incident) -> list[AffectedAsset]:
    return list(session.execute(sa.select(AffectedAsset).where(AffectedAsset.incident_id == incident.id)
                                .order_by(AffectedAsset.kind, AffectedAsset.name)).scalars())


def require_asset(session: Session, incident: Incident, asset_id: uuid.UUID, *, for_update: bool = False
                  ) -> AffectedAsset:
    stmt = sa.select(AffectedAsset).where(AffectedAsset.id == asset_id, AffectedAsset.incident_id == incident.id)
    if for_update:
        stmt = stmt.with_for_update()
    found = session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no affected asset {asset_id} on {incident_ref(incident.number)}",
                       details={"asset": str(asset_id)})
    return found


def _asset_name(text: str) -> str:
    name = " ".join(text.split())
    if not name:
        raise InvalidInput("give the asset's name", details={"field": "name"})
    if len(name) > MAX_NAME:
        raise InvalidInput(f"an asset name may have at most {MAX_NAME} characters", details={"field": "name"})
    return name


def add_asset(session: Session, *, incident: Incident, actor: Principal, now: datetime,
              spec: AssetSpec) -> AffectedAsset:
    """Record an affected asset in its first containment state; Conflict if it is recorded already."""
    _may_change(actor, incident)
    name = _asset_name(spec.name)
    _check_seen(spec.first_seen, spec.last_seen, now)
    exists = session.execute(sa.select(AffectedAsset.id).where(
        AffectedAsset.incident_id == incident.id, AffectedAsset.kind == spec.kind.value,
        sa.func.lower(AffectedAsset.name) == name.lower())).first()
    if exists is not None:
        raise Conflict(f"{incident_ref(incident.number)} already has the {spec.kind.value} {name}",
                       details={"field": "name", "asset": str(exists[0])})
    row = AffectedAsset(incident_id=incident.id, kind=spec.kind.value, name=name, state=spec.state.value,
                        tlp=spec.tlp.value, first_seen=spec.first_seen, last_seen=spec.last_seen,
                        source=_source(spec.source), evidence_id=spec.evidence_id, notes=spec.notes,
                        created_by_id=actor.user_id, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    label = KIND_LABELS[spec.kind].lower()
    timeline.append(session, incident=incident, kind=TimelineKind.asset, actor=actor, now=now,
                    text=f"Affected {label} recorded: {name} ({spec.state.value})",
                    data={"asset_id": str(row.id), "kind": spec.kind.value, "name": name, "state": spec.state.value})
    record(session, actor=actor, action="asset.create", target_type="incident", target_id=incident.id, now=now,
           details={"asset_id": str(row.id), "kind": spec.kind.value, "name": name, "state": spec.state.value})
    return row


def update_asset(session: Session, *, incident: Incident, asset: AffectedAsset, actor: Principal, now: datetime,
                 changes: dict[str, Any]) -> AffectedAsset:
    """Change the containment state (on the timeline) and the other fields (in the audit log)."""
    _may_change(actor, incident)
    changed = _apply(asset, changes, now)
    state = changes.get("state")
    if state is not None and ContainmentState(state).value != asset.state:
        old, new = asset.state, ContainmentState(state).value
        asset.state = new
        changed["state"] = {"from": old, "to": new}
        timeline.append(session, incident=incident, kind=TimelineKind.asset, actor=actor, now=now,
                        text=f"{asset.name} ({KIND_LABELS[AssetKind(asset.kind)].lower()}): {old} \u2192 {new}",
                        data={"asset_id": str(asset.id), "from": old, "to": new})
    if changed:
        asset.updated_at = now
        session.flush()
        record(session, actor=actor, action="asset.update", target_type="incident", target_id=incident.id, now=now,
               details={"asset_id": str(asset.id), "name": asset.name, "changes": changed})
    return asset
