"""Regulatory clocks and obligations of a security incident: set clocks and the exposure, choose
regimes, file an obligation or mark it not applicable; list them with their state.

The callers have already passed the incident through `incidents.access.require_incident`
(need-to-know). Every change is on the incident's timeline and in the audit chain, in the
caller's transaction; every change recomputes the incident's due times (`refresh`), so the
engine's reminder query and the countdowns read stored due times.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.config import Settings
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.incidents import timeline
from tocsin.incidents.access import visible
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Kind, Role, TimelineKind
from tocsin.obligations import deadlines
from tocsin.obligations.catalog import CLOCKS, DATA_CATEGORIES, REGION, Catalog, CatalogError, RegimeSpec, load
from tocsin.obligations.deadlines import CLOSED_STATES, State
from tocsin.obligations.models import IncidentRegime, Obligation, RegulatoryClock, SecurityExposure
from tocsin.obligations.suggest import Exposure, Suggestion, suggest
from tocsin.principal import OrgRole, Principal

MAX_TEXT = 2000
MAX_EVIDENCE = 50
SOON = timedelta(hours=24)
THRESHOLD = "below threshold: "  # prefix of a not-applicable reason set by `refresh` from the affected count
_FILERS = (Role.legal.value, Role.privacy_officer.value, Role.incident_commander.value)

log = logging.getLogger("tocsin.obligations")


def catalog_of(settings: Settings) -> Catalog:
    """The catalogue in force (CatalogError, a ValueError, when an operator's file is bad)."""
    return load(settings.regimes_file, settings.holidays_file)


# What users are told about a bad operator file: its path and contents are the server's business
# (the log and `tocsin regimes check` have them), not every responder's.
UNUSABLE = "the regimes configuration cannot be used: an administrator can run `tocsin regimes check` to see why"


def catalog_or_none(settings: Settings) -> Catalog | None:
    """The catalogue in force, or None (the reason logged) when an operator's file is bad."""
    try:
        return catalog_of(settings)
    except CatalogError as exc:
        log.warning("%s", exc)
        return None


def _security(incident: Incident) -> None:
    if incident.kind != Kind.security.value:
        raise InvalidInput("regulatory clocks and obligations exist only on security incidents",
                           details={"kind": incident.kind})


def _text(value: str | None, name: str, *, required: bool = True, max_len: int = MAX_TEXT) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"{name} is required", details={"field": name})
    if len(text) > max_len:
        raise InvalidInput(f"{name} may have at most {max_len} characters", details={"field": name})
    return text


def _utc(at: datetime, name: str, now: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(f"{name} needs a time zone (e.g. 2026-05-01T09:00:00Z)", details={"field": name})
    at = at.astimezone(UTC)
    if at > now + timedelta(minutes=5):
        raise InvalidInput(f"{name} cannot be in the future", details={"field": name})
    if at.year < 1970:
        raise InvalidInput(f"{name} is before 1970", details={"field": name})
    return at


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- reading -----------------------------------------------------------------------------------------

def clocks(session: Session, incident: Incident) -> dict[str, RegulatoryClock]:
    rows = session.execute(sa.select(RegulatoryClock).where(RegulatoryClock.incident_id == incident.id)).scalars()
    return {r.clock: r for r in rows}


def exposure(session: Session, incident: Incident) -> SecurityExposure | None:
    return session.get(SecurityExposure, incident.id)


def chosen(session: Session, incident: Incident) -> list[IncidentRegime]:
    return list(session.execute(sa.select(IncidentRegime).where(IncidentRegime.incident_id == incident.id)
                                .order_by(IncidentRegime.chosen_at, IncidentRegime.regime)).scalars())


def suggestions(session: Session, incident: Incident, cat: Catalog) -> list[Suggestion]:
    exp = exposure(session, incident)
    facts = Exposure(data=frozenset(exp.data_categories), regions=frozenset(exp.regions),
                     affected=exp.affected_count) if exp else Exposure()
    return suggest(cat.regimes.values(), facts, chosen=[r.regime for r in chosen(session, incident)])


@dataclass
class ObligationView:
    id: uuid.UUID
    incident_id: uuid.UUID
    regime: str
    regime_name: str
    obligation: str
    name: str
    notify: str
    due_at: datetime | None
    due_reason: str
    state: State
    state_reason: str
    filed_at: datetime | None
    filed_reference: str | None
    evidence_ids: list[str]
    late_reason: str | None
    not_applicable: str | None
    source: str
    note: str
    countdown: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def view(row: Obligation, cat: Catalog | None, now: datetime) -> ObligationView:
    regime = cat.get(row.regime) if cat else None
    spec = cat.obligation(row.regime, row.obligation) if cat else None
    st = deadlines.standing(due_at=row.due_at, started=row.started, now=now, filed_at=row.filed_at,
                            late_reason=row.late_reason, not_applicable=row.not_applicable, soon=SOON)
    return ObligationView(
        id=row.id, incident_id=row.incident_id, regime=row.regime, regime_name=regime.name if regime else row.regime,
        obligation=row.obligation, name=row.name, notify=row.notify, due_at=row.due_at, due_reason=row.due_reason,
        state=st.state, state_reason=st.reason, filed_at=row.filed_at, filed_reference=row.filed_reference,
        evidence_ids=[str(e) for e in row.evidence_ids or []], late_reason=row.late_reason,
        not_applicable=row.not_applicable, source=regime.source if regime else "(no longer in the catalogue)",
        note=" ".join(x for x in ((regime.note if regime else ""), (spec.note if spec else "")) if x),
        countdown=deadlines.countdown(row.due_at, now) if row.due_at and st.state not in CLOSED_STATES else None)


def _order() -> tuple[Any, ...]:
    """Soonest due first; those without a due time last."""
    return (Obligation.due_at.is_(None), Obligation.due_at, Obligation.regime, Obligation.name, Obligation.id)


def obligations(session: Session, incident: Incident) -> list[Obligation]:
    return list(session.execute(sa.select(Obligation).where(Obligation.incident_id == incident.id)
                                .order_by(*_order())).scalars())


def require_obligation(session: Session, incident: Incident, obligation_id: uuid.UUID | str) -> Obligation:
    try:
        oid = obligation_id if isinstance(obligation_id, uuid.UUID) else uuid.UUID(str(obligation_id))
    except ValueError:
        oid = None
    row = session.get(Obligation, oid) if oid else None
    if row is None or row.incident_id != incident.id:
        raise NotFound(f"no obligation {str(obligation_id)[:80]} on this incident",
                       details={"obligation": str(obligation_id)[:80]})
    return row


def _open_clause() -> sa.ColumnElement[bool]:
    return sa.and_(Obligation.filed_at.is_(None), Obligation.not_applicable.is_(None), Obligation.started.is_(True))


def next_due(session: Session, incident: Incident, now: datetime) -> dict[str, str] | None:
    """The next open obligation with a due time, for the room header: {name, countdown, due_iso, overdue}."""
    row = session.execute(sa.select(Obligation).where(Obligation.incident_id == incident.id, _open_clause(),
                                                      Obligation.due_at.is_not(None))
                          .order_by(Obligation.due_at).limit(1)).scalar_one_or_none()
    if row is None or row.due_at is None:
        return None
    return {"name": row.name, "countdown": deadlines.countdown(row.due_at, now), "due_iso": row.due_at.isoformat(),
            "overdue": "1" if row.due_at <= now else ""}


def across(session: Session, principal: Principal, *, open_only: bool, limit: int = 500, offset: int = 0,
           incident_ids: Sequence[uuid.UUID] | None = None) -> list[tuple[Incident, Obligation]]:
    """Obligations of the incidents `principal` may see (need-to-know), soonest due first (the id breaks
    ties, so pages taken at `offset` neither repeat nor skip a row while nothing changes)."""
    seen = visible(principal).subquery()
    stmt = (sa.select(Incident, Obligation).join(seen, seen.c.id == Obligation.incident_id)
            .join(Incident, Incident.id == Obligation.incident_id).order_by(*_order()))
    if open_only:
        stmt = stmt.where(_open_clause())
    if incident_ids is not None:
        stmt = stmt.where(Obligation.incident_id.in_(list(incident_ids)))
    return [(row[0], row[1]) for row in session.execute(stmt.offset(offset).limit(limit)).all()]


# --- recomputing --------------------------------------------------------------------------------------

def refresh(session: Session, incident: Incident, cat: Catalog, now: datetime) -> None:
    """Create the obligations of the chosen regimes and recompute every due time from the clocks,
    the filings (chains) and the catalogue; mark obligations below their threshold not applicable."""
    starts: dict[str, datetime | None] = {name: row.at for name, row in clocks(session, incident).items()}
    rows = {(o.regime, o.obligation): o for o in obligations(session, incident)}
    exp = exposure(session, incident)
    affected = exp.affected_count if exp else None
    for choice in chosen(session, incident):
        regime = cat.get(choice.regime)
        if regime is None:
            continue  # an operator removed it from the catalogue: its rows keep their last due time
        filed = {f"filed:{o.obligation}": o.filed_at for (r, _), o in rows.items() if r == regime.id}
        for spec in regime.obligations:
            row = rows.get((regime.id, spec.id))
            if row is None:
                row = Obligation(incident_id=incident.id, regime=regime.id, obligation=spec.id, name=spec.name,
                                 notify=spec.notify, evidence_ids=[], started=False, due_reason="", updated_at=now)
                session.add(row)
                rows[(regime.id, spec.id)] = row
            row.name, row.notify = spec.name, spec.notify
            try:
                due = deadlines.due([t.term() for t in spec.due], {**starts, **filed}, calendars=cat.calendars,
                                    calendar=spec.calendar)
            except (ValueError, OverflowError) as exc:  # a rule the calendar cannot satisfy: shown, not a 500
                due = deadlines.Due(None, f"cannot compute the deadline: {exc}")
            if due.at != row.due_at:
                row.reminded_lead = None  # a new due time gets its own reminders
            row.due_at, row.due_reason = due.at, due.reason
            row.started = due.at is not None or due.undue_delay
            below = spec.min_affected is not None and affected is not None and affected < spec.min_affected
            if below and row.not_applicable is None and row.filed_at is None:
                row.not_applicable = f"{THRESHOLD}{affected} people affected, the threshold is {spec.min_affected}"
            elif not below and (row.not_applicable or "").startswith(THRESHOLD):
                row.not_applicable = None
            row.updated_at = now
    session.flush()


# --- changing -----------------------------------------------------------------------------------------

def set_clock(session: Session, *, incident: Incident, clock: str, at: datetime, reason: str, actor: Principal,
              now: datetime, cat: Catalog) -> RegulatoryClock:
    """Set (or change) one clock, with why; recompute the due times."""
    actor.require(OrgRole.responder, "setting regulatory clocks")
    _security(incident)
    if clock not in CLOCKS:
        raise InvalidInput(f"unknown clock {clock[:40]!r}: use one of {', '.join(CLOCKS)}", details={"field": "clock"})
    at = _utc(at, clock, now)
    why = _text(reason, "reason")
    row = session.get(RegulatoryClock, (incident.id, clock))
    previous = row.at if row else None
    if row is None:
        row = RegulatoryClock(incident_id=incident.id, clock=clock, at=at, reason=why, set_by_id=actor.user_id,
                              set_at=now)
        session.add(row)
    else:
        row.at, row.reason, row.set_by_id, row.set_at = at, why, actor.user_id, now
    session.flush()
    text = f"{clock} set to {_stamp(at)}" + (f" (was {_stamp(previous)})" if previous else "") + f": {why}"
    timeline.append(session, incident=incident, kind=TimelineKind.clock_set, actor=actor, now=now, text=text,
                    data={"clock": clock, "at": at.isoformat(), "previous": previous.isoformat() if previous else None},
                    key_event=clock == "aware_at")
    record(session, actor=actor, action="obligations.clock", target_type="incident", target_id=incident.id, now=now,
           details={"clock": clock, "at": at.isoformat(), "previous": previous.isoformat() if previous else None,
                    "reason": why})
    refresh(session, incident, cat, now)
    return row


def set_exposure(session: Session, *, incident: Incident, data_categories: Sequence[str], regions: Sequence[str],
                 affected_count: int | None, actor: Principal, now: datetime, cat: Catalog) -> SecurityExposure:
    """Record what the incident exposes (the facts regimes are suggested from)."""
    actor.require(OrgRole.responder, "recording what a security incident exposes")
    _security(incident)
    data = sorted({d.strip().lower() for d in data_categories if d.strip()})
    for d in data:
        if d not in DATA_CATEGORIES:
            raise InvalidInput(f"data category {d[:40]!r} is not one of {', '.join(DATA_CATEGORIES)}",
                               details={"field": "data_categories"})
    places = sorted({r.strip().upper() for r in regions if r.strip()})
    for r in places:
        if not REGION.match(r):
            raise InvalidInput(f"region {r[:40]!r}: use EU, a country code (DE) or a subdivision (US-NY)",
                               details={"field": "regions"})
    if len(places) > 100:
        raise InvalidInput("at most 100 regions", details={"field": "regions"})
    if affected_count is not None and not 0 <= affected_count <= 10_000_000_000:
        raise InvalidInput("affected count must be between 0 and 10 billion", details={"field": "affected_count"})
    row = session.get(SecurityExposure, incident.id)
    if row is None:
        row = SecurityExposure(incident_id=incident.id, updated_at=now)
        session.add(row)
    row.data_categories, row.regions, row.affected_count = data, places, affected_count
    row.updated_by_id, row.updated_at = actor.user_id, now
    session.flush()
    words = (f"Exposure recorded: data {', '.join(data) or 'none named'}; regions {', '.join(places) or 'none named'}; "
             f"{affected_count if affected_count is not None else 'unknown number of'} people affected")
    timeline.append(session, incident=incident, kind=TimelineKind.obligation, actor=actor, now=now, text=words,
                    data={"data_categories": data, "regions": places, "affected_count": affected_count})
    record(session, actor=actor, action="obligations.exposure", target_type="incident", target_id=incident.id,
           now=now, details={"data_categories": data, "regions": places, "affected_count": affected_count})
    refresh(session, incident, cat, now)
    return row


def choose_regime(session: Session, *, incident: Incident, regime_id: str, reason: str, actor: Principal,
                  now: datetime, cat: Catalog) -> IncidentRegime:
    """Choose a regime for the incident (idempotent) and create its obligations."""
    actor.require(OrgRole.responder, "choosing notification regimes")
    _security(incident)
    regime = _regime(cat, regime_id)
    existing = session.get(IncidentRegime, (incident.id, regime.id))
    if existing is not None:
        return existing
    why = _text(reason, "reason", required=False) or "chosen"
    row = IncidentRegime(incident_id=incident.id, regime=regime.id, reason=why, chosen_by_id=actor.user_id,
                         chosen_at=now)
    session.add(row)
    session.flush()
    timeline.append(session, incident=incident, kind=TimelineKind.obligation, actor=actor, now=now,
                    text=f"Regime {regime.name} applies: {why} ({regime.source}; verify with counsel)",
                    data={"regime": regime.id, "reason": why})
    record(session, actor=actor, action="obligations.regime_choose", target_type="incident", target_id=incident.id,
           now=now, details={"regime": regime.id, "reason": why})
    refresh(session, incident, cat, now)
    return row


def _regime(cat: Catalog, regime_id: str) -> RegimeSpec:
    regime = cat.get(regime_id.strip()[:40])
    if regime is None:
        raise InvalidInput(f"no regime {regime_id[:40]!r} in the catalogue", details={"field": "regime"})
    if not regime.enabled:
        raise InvalidInput(f"regime {regime.id} is disabled here ({regime.note}); an operator enables it in "
                           "TOCSIN_REGIMES_FILE", details={"field": "regime"})
    return regime


def drop_regime(session: Session, *, incident: Incident, regime_id: str, reason: str, actor: Principal,
                now: datetime) -> None:
    """Remove a regime chosen by mistake, with its obligations; refused once one of them is filed."""
    actor.require(OrgRole.responder, "choosing notification regimes")
    _security(incident)
    row = session.get(IncidentRegime, (incident.id, regime_id[:40]))
    if row is None:
        raise NotFound(f"regime {regime_id[:40]!r} is not chosen for this incident", details={"regime": regime_id[:40]})
    why = _text(reason, "reason")
    rows = [o for o in obligations(session, incident) if o.regime == row.regime]
    if any(o.filed_at for o in rows):
        raise Conflict(f"an obligation of {row.regime} is already filed; mark the others not applicable instead",
                       details={"regime": row.regime})
    for o in rows:
        session.delete(o)
    session.delete(row)
    session.flush()
    timeline.append(session, incident=incident, kind=TimelineKind.obligation, actor=actor, now=now,
                    text=f"Regime {row.regime} removed: {why}", data={"regime": row.regime, "reason": why})
    record(session, actor=actor, action="obligations.regime_drop", target_type="incident", target_id=incident.id,
           now=now, details={"regime": row.regime, "reason": why})


def _require_filer(session: Session, incident: Incident, actor: Principal) -> None:
    actor.require(OrgRole.responder, "filing regulatory obligations")
    if not (actor.is_admin or timeline.holds_role(session, incident.id, actor.user_id, _FILERS)):
        raise Forbidden("only the incident's Legal, Privacy Officer, Incident Commander or an admin may record filings")


def file_obligation(session: Session, *, incident: Incident, obligation: Obligation, reference: str,
                    filed_at: datetime | None, evidence_ids: Sequence[uuid.UUID], late_reason: str | None,
                    actor: Principal, now: datetime, cat: Catalog) -> Obligation:
    """Record that the obligation was filed (when, the regulator's reference, evidence ids); a filing
    after the due time needs the reason. Later reports in its chain start counting from `filed_at`."""
    _require_filer(session, incident, actor)
    if obligation.filed_at is not None:
        raise Conflict(f"{obligation.name} is already filed ({obligation.filed_reference})",
                       details={"obligation": str(obligation.id)})
    if obligation.not_applicable is not None:
        raise Conflict(f"{obligation.name} is marked not applicable", details={"obligation": str(obligation.id)})
    ref = _text(reference, "reference", max_len=300)
    when = _utc(filed_at, "filed_at", now) if filed_at is not None else now
    if len(evidence_ids) > MAX_EVIDENCE:
        raise InvalidInput(f"at most {MAX_EVIDENCE} evidence ids", details={"field": "evidence_ids"})
    late = _text(late_reason, "late_reason", required=False)
    if obligation.due_at is not None and when > obligation.due_at and not late:
        raise InvalidInput(f"{obligation.name} was due {_stamp(obligation.due_at)}: a late filing needs the reason "
                           "(late_reason)", details={"field": "late_reason"})
    obligation.filed_at, obligation.filed_reference, obligation.filed_by_id = when, ref, actor.user_id
    obligation.evidence_ids = [str(e) for e in dict.fromkeys(evidence_ids)]
    obligation.late_reason = late or None
    obligation.updated_at = now
    session.flush()
    is_late = obligation.due_at is not None and when > obligation.due_at
    text = f"{obligation.name} filed {_stamp(when)}, reference {ref}" + (f" (late: {late})" if is_late else "")
    timeline.append(session, incident=incident, kind=TimelineKind.obligation, actor=actor, now=now, text=text,
                    data={"obligation": str(obligation.id), "regime": obligation.regime, "filed_at": when.isoformat(),
                          "reference": ref, "late": is_late}, key_event=True)
    record(session, actor=actor, action="obligations.file", target_type="incident", target_id=incident.id, now=now,
           details={"obligation": str(obligation.id), "regime": obligation.regime, "name": obligation.name,
                    "filed_at": when.isoformat(), "reference": ref, "evidence_ids": obligation.evidence_ids,
                    "late_reason": late or None})
    refresh(session, incident, cat, now)
    return obligation


def mark_not_applicable(session: Session, *, incident: Incident, obligation: Obligation, reason: str,
                        actor: Principal, now: datetime) -> Obligation:
    """Record why the obligation is not owed (e.g. the data was encrypted); no reminders follow."""
    _require_filer(session, incident, actor)
    if obligation.filed_at is not None:
        raise Conflict(f"{obligation.name} is already filed", details={"obligation": str(obligation.id)})
    why = _text(reason, "reason")
    obligation.not_applicable, obligation.updated_at = why, now
    session.flush()
    timeline.append(session, incident=incident, kind=TimelineKind.obligation, actor=actor, now=now,
                    text=f"{obligation.name} not applicable: {why}",
                    data={"obligation": str(obligation.id), "regime": obligation.regime, "reason": why})
    record(session, actor=actor, action="obligations.not_applicable", target_type="incident", target_id=incident.id,
           now=now, details={"obligation": str(obligation.id), "name": obligation.name, "reason": why})
    return obligation
