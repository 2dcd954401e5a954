"""Routing rules, silences, maintenance windows, auto-incident and inhibition rules: validate, store, audit.

The pipeline (`alerts/context.py`) reads these tables on every batch; this module is how
people change them. Every change is audited in the caller's transaction. Silences are never
deleted, only expired, so "why was I not paged?" can still be answered a year later.

Roles: admins change routing, auto-incident and inhibition rules; responders (and admins) create and
expire silences and manage maintenance windows; anyone authenticated reads everything.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.db.lookup import require_row
from tocsin.errors import Conflict, InvalidInput
from tocsin.incidents.types import Kind
from tocsin.principal import OrgRole, Principal
from tocsin.routing.matchers import MAX_MATCHERS, describe, load, parse_matcher
from tocsin.routing.models import (
    AutoIncidentRule,
    InhibitionRule,
    MaintenanceWindow,
    RoutingRule,
    Silence,
)
from tocsin.schemas import check_strings
from tocsin.services.models import Service
from tocsin.services.service import get_service
from tocsin.severities import Severity, parse_severity
from tocsin.windows import (
    RECURRENCE_KINDS,
    Recurrence,
    next_boundary,
    occurrence_at,
    recurrence_kind,
    validate_window,
)

URGENCIES = ("high", "low")
RECURRENCES = RECURRENCE_KINDS
SILENCE_MAX_AHEAD = timedelta(days=365)
# Windows are bounded in time so that occurrence arithmetic can never leave datetime's range,
# and because a window planned a decade out is a typo more often than a plan.
WINDOW_MAX_SPAN = timedelta(days=3653)
# Every batch of the pipeline loads all rules; a bound keeps that cheap.
MAX_RULES = 1000
_MATCHER_KEYS = frozenset({"name", "op", "value"})
_UNSET: Any = object()

SilenceState = Literal["active", "pending", "expired"]


# --- shared helpers ----------------------------------------------------------------------------

def parse_matcher_specs(specs: Sequence[Any], *, field: str = "matchers") -> list[dict[str, str]]:
    """Return matchers in stored form (`Matcher.to_dict()`); raise InvalidInput naming the bad one."""
    if not isinstance(specs, list | tuple) or not specs:
        raise InvalidInput(f"{field}: at least one matcher is required (none would match every alert)",
                           details={"field": field})
    if len(specs) > MAX_MATCHERS:
        raise InvalidInput(f"{field}: at most {MAX_MATCHERS} matchers", details={"field": field})
    out = []
    for i, spec in enumerate(specs):
        try:
            if isinstance(spec, Mapping):
                unknown = sorted(str(k) for k in spec.keys() - _MATCHER_KEYS)
                if unknown:
                    raise ValueError(f"unknown field(s) {', '.join(unknown)}; a matcher object has name, op, value")
                for part in spec.values():
                    check_strings(part)
            else:
                check_strings(spec)
            out.append(parse_matcher(spec).to_dict())
        except ValueError as exc:
            raise InvalidInput(f"{field}[{i}]: {exc}", details={"field": f"{field}[{i}]"}) from None
    return out


def matchers_text(stored: Iterable[Mapping[str, str]]) -> str:
    return describe(load(stored))


def _service_ref(session: Session, key: str, field: str = "service") -> Service:
    """A service named in a request body: unknown is bad input (422), not a missing resource."""
    svc = get_service(session, key)
    if svc is None:
        raise InvalidInput(f"{field}: no service {key!r}", details={"field": field, "service": key})
    return svc


def service_slugs(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(sa.select(Service.id, Service.slug).where(Service.id.in_(wanted))).all())


def _name(name: str) -> str:
    if not name.strip():
        raise InvalidInput("name must not be empty", details={"field": "name"})
    return name.strip()


def _room_for(session: Session, model: type[RoutingRule | AutoIncidentRule | InhibitionRule], what: str) -> None:
    if session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one() >= MAX_RULES:
        raise Conflict(f"there are already {MAX_RULES} {what}; delete some first", details={"limit": MAX_RULES})


# --- routing rules -----------------------------------------------------------------------------

def list_routing_rules(session: Session) -> list[RoutingRule]:
    """Return every rule in the order they are tried (ties, from concurrent creates, by id)."""
    return list(session.execute(sa.select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id)).scalars())


def require_routing_rule(session: Session, rule_id: uuid.UUID) -> RoutingRule:
    return require_row(session, RoutingRule, rule_id, "routing rule")


def _check_target(service_id: uuid.UUID | None, urgency: str | None) -> None:
    if service_id is None and urgency is None:
        raise InvalidInput("a routing rule needs a service to route to, an urgency, or both",
                           details={"field": "service"})
    if urgency is not None and urgency not in URGENCIES:
        raise InvalidInput(f"urgency must be high or low, got {urgency!r}", details={"field": "urgency"})


def create_routing_rule(session: Session, *, actor: Principal, now: datetime, name: str, matchers: Sequence[Any],
                        service: str | None = None, urgency: str | None = None) -> RoutingRule:
    """Add a rule after all existing ones and return it; raise Forbidden, InvalidInput or Conflict."""
    actor.require(OrgRole.admin, "changing routing rules")
    name = _name(name)
    stored = parse_matcher_specs(matchers)
    target = _service_ref(session, service) if service else None
    _check_target(target.id if target else None, urgency)
    _room_for(session, RoutingRule, "routing rules")
    last = session.execute(sa.select(sa.func.max(RoutingRule.position))).scalar_one()
    rule = RoutingRule(position=0 if last is None else last + 1, name=name, matchers=stored,
                       service_id=target.id if target else None, urgency=urgency, created_at=now)
    session.add(rule)
    session.flush()
    record(session, actor=actor, action="routing_rule.create", target_type="routing_rule", target_id=rule.id,
           now=now, details={"name": name, "matchers": matchers_text(stored), "position": rule.position,
                             "service": target.slug if target else None, "urgency": urgency})
    return rule


def update_routing_rule(session: Session, *, actor: Principal, now: datetime, rule: RoutingRule,
                        name: str | None = None, matchers: Sequence[Any] | None = None,
                        service: Any = _UNSET, urgency: Any = _UNSET) -> RoutingRule:
    """Change a rule; `service` and `urgency` accept None to clear them (one must remain)."""
    actor.require(OrgRole.admin, "changing routing rules")
    changes: dict[str, Any] = {}
    if name is not None:
        rule.name = changes["name"] = _name(name)
    if matchers is not None:
        rule.matchers = parse_matcher_specs(matchers)
        changes["matchers"] = matchers_text(rule.matchers)
    if service is not _UNSET:
        target = _service_ref(session, service) if service else None
        rule.service_id = target.id if target else None
        changes["service"] = target.slug if target else None
    if urgency is not _UNSET:
        rule.urgency = changes["urgency"] = urgency
    _check_target(rule.service_id, rule.urgency)
    if changes:
        session.flush()
        record(session, actor=actor, action="routing_rule.update", target_type="routing_rule", target_id=rule.id,
               now=now, details=changes)
    return rule


def delete_routing_rule(session: Session, *, actor: Principal, now: datetime, rule: RoutingRule) -> None:
    actor.require(OrgRole.admin, "changing routing rules")
    details = {"name": rule.name, "matchers": matchers_text(rule.matchers), "position": rule.position,
               "service_id": str(rule.service_id) if rule.service_id else None, "urgency": rule.urgency}
    session.delete(rule)
    session.flush()
    record(session, actor=actor, action="routing_rule.delete", target_type="routing_rule", target_id=rule.id,
           now=now, details=details)


def reorder_routing_rules(session: Session, *, actor: Principal, now: datetime,
                          ids: Sequence[uuid.UUID]) -> list[RoutingRule]:
    """Give the rules positions 0..n-1 in the order of `ids`, which must name every rule exactly once.

    Raises InvalidInput for duplicates and Conflict when `ids` is not the current set of rules
    (typically because someone added or deleted a rule meanwhile: reload and try again).
    """
    actor.require(OrgRole.admin, "changing routing rules")
    dupes = sorted(str(i) for i, n in Counter(ids).items() if n > 1)
    if dupes:
        raise InvalidInput(f"ids: each rule may appear only once; repeated: {', '.join(dupes)}",
                           details={"field": "ids", "repeated": dupes})
    rules = {r.id: r for r in list_routing_rules(session)}
    missing = sorted(str(i) for i in rules.keys() - set(ids))
    unknown = sorted(str(i) for i in set(ids) - rules.keys())
    if missing or unknown:
        raise Conflict("ids must list every routing rule exactly once (reload the rules and try again)",
                       details={"missing": missing, "unknown": unknown})
    before = [str(r.id) for r in rules.values()]
    for position, rule_id in enumerate(ids):
        rules[rule_id].position = position
    session.flush()
    after = [str(i) for i in ids]
    if after != before:
        record(session, actor=actor, action="routing_rule.reorder", target_type="routing_rule", target_id=None,
               now=now, details={"before": before, "after": after})
    return [rules[i] for i in ids]


# --- silences ----------------------------------------------------------------------------------

def silence_state(silence: Silence, now: datetime) -> SilenceState:
    if silence.ends_at <= now:
        return "expired"
    return "pending" if silence.starts_at > now else "active"


def require_silence(session: Session, silence_id: uuid.UUID) -> Silence:
    return require_row(session, Silence, silence_id, "silence")


def list_silences(session: Session, *, now: datetime, state: SilenceState | None = None,
                  before: uuid.UUID | None = None, limit: int = 50) -> list[Silence]:
    """Return silences newest first, optionally only those `state` at `now`."""
    stmt = sa.select(Silence).order_by(Silence.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(Silence.id < before)
    if state == "active":
        stmt = stmt.where(Silence.starts_at <= now, Silence.ends_at > now)
    elif state == "pending":
        stmt = stmt.where(Silence.starts_at > now, Silence.ends_at > now)
    elif state == "expired":
        stmt = stmt.where(Silence.ends_at <= now)
    return list(session.execute(stmt).scalars())


def create_silence(session: Session, *, actor: Principal, now: datetime, matchers: Sequence[Any], ends_at: datetime,
                   reason: str, starts_at: datetime | None = None) -> Silence:
    """Create a silence and return it; raise Forbidden or InvalidInput.

    A start in the past is taken as now (as Alertmanager does): a silence cannot have held
    back alerts before it existed, and the history of past decisions must stay true.
    """
    actor.require(OrgRole.responder, "creating silences")
    stored = parse_matcher_specs(matchers)
    if not reason.strip():
        raise InvalidInput("reason must not be empty: say why these alerts should not page",
                           details={"field": "reason"})
    start = now if starts_at is None or starts_at < now else starts_at
    if ends_at <= start:
        raise InvalidInput(f"ends_at ({ends_at.isoformat()}) must be after the silence starts ({start.isoformat()})",
                           details={"field": "ends_at"})
    if ends_at > now + SILENCE_MAX_AHEAD:
        raise InvalidInput("ends_at must be at most one year ahead; use a maintenance window or a routing rule "
                           "for longer", details={"field": "ends_at"})
    silence = Silence(matchers=stored, starts_at=start, ends_at=ends_at, author_id=actor.user_id,
                      author=actor.label, reason=reason.strip(), created_at=now)
    session.add(silence)
    session.flush()
    record(session, actor=actor, action="silence.create", target_type="silence", target_id=silence.id, now=now,
           details={"matchers": matchers_text(stored), "starts_at": start.isoformat(),
                    "ends_at": ends_at.isoformat(), "reason": silence.reason})
    return silence


def expire_silence(session: Session, *, actor: Principal, now: datetime, silence: Silence) -> Silence:
    """End a silence now (any responder may end anyone's) and return it; an expired one is returned as is.

    A pending silence gets both ends set to now, so it reads as never having been in force.
    The engine pages for alerts it held back that still fire (`alerts/unsuppress.py`).
    """
    actor.require(OrgRole.responder, "expiring silences")
    if silence.ends_at <= now:
        return silence
    details = {"was_state": silence_state(silence, now), "starts_at": silence.starts_at.isoformat(),
               "ends_at": silence.ends_at.isoformat(), "author": silence.author}
    silence.starts_at = min(silence.starts_at, now)
    silence.ends_at = now
    session.flush()
    record(session, actor=actor, action="silence.expire", target_type="silence", target_id=silence.id, now=now,
           details=details)
    return silence


def update_silence(session: Session, *, actor: Principal, now: datetime, silence: Silence,
                   matchers: Sequence[Any] | None = None, ends_at: datetime | None = None,
                   reason: str | None = None) -> Silence:
    """Change a silence that has not ended and return the silence now in force; raise Forbidden,
    InvalidInput or Conflict (an ended one: create a new silence instead).

    The end and the reason change in place. New matchers would rewrite what the silence held
    back so far, so, as Alertmanager does, the silence is expired and a new one with the new
    matchers (and the new end and reason) is created and returned: the history stays true.
    """
    actor.require(OrgRole.responder, "changing silences")
    if silence.ends_at <= now:
        raise Conflict("this silence has ended; create a new one instead", details={"state": "expired"})
    stored = parse_matcher_specs(matchers) if matchers is not None else silence.matchers
    new_reason = reason.strip() if reason is not None else silence.reason
    new_end = ends_at if ends_at is not None else silence.ends_at
    if stored != silence.matchers:
        pending = silence.starts_at > now
        start = silence.starts_at if pending else now
        expire_silence(session, actor=actor, now=now, silence=silence)
        replacement = create_silence(session, actor=actor, now=now, matchers=stored, ends_at=new_end,
                                     reason=new_reason, starts_at=start)
        record(session, actor=actor, action="silence.replace", target_type="silence", target_id=replacement.id,
               now=now, details={"replaces": str(silence.id), "matchers": matchers_text(stored)})
        return replacement
    if not new_reason:
        raise InvalidInput("reason must not be empty: say why these alerts should not page",
                           details={"field": "reason"})
    if new_end <= max(now, silence.starts_at):
        raise InvalidInput("ends_at must be after the silence starts and in the future; to end it now, expire it",
                           details={"field": "ends_at"})
    if new_end > now + SILENCE_MAX_AHEAD:
        raise InvalidInput("ends_at must be at most one year ahead; use a maintenance window or a routing rule "
                           "for longer", details={"field": "ends_at"})
    changes: dict[str, Any] = {}
    if new_end != silence.ends_at:
        changes["ends_at"] = [silence.ends_at.isoformat(), new_end.isoformat()]
        silence.ends_at = new_end
    if new_reason != silence.reason:
        changes["reason"] = [silence.reason, new_reason]
        silence.reason = new_reason
    if changes:
        session.flush()
        record(session, actor=actor, action="silence.update", target_type="silence", target_id=silence.id,
               now=now, details=changes)
    return silence


# --- maintenance windows -----------------------------------------------------------------------

def recurrence_of(window: MaintenanceWindow) -> Recurrence:
    return Recurrence(kind=recurrence_kind(window.recurrence), timezone=window.timezone, until=window.until)


def window_status(window: MaintenanceWindow, now: datetime) -> tuple[bool, datetime | None]:
    """Return (active at `now`, the next instant that changes)."""
    rec = recurrence_of(window)
    active = occurrence_at(window.starts_at, window.ends_at, rec, now) is not None
    return active, next_boundary(window.starts_at, window.ends_at, rec, now)


def require_window(session: Session, window_id: uuid.UUID) -> MaintenanceWindow:
    return require_row(session, MaintenanceWindow, window_id, "maintenance window")


def list_windows(session: Session, *, now: datetime, service_id: uuid.UUID | None = None,
                 active: bool | None = None, before: uuid.UUID | None = None,
                 limit: int = 50) -> list[MaintenanceWindow]:
    """Return windows newest first, optionally for one service and only those (in)active at `now`.

    Whether a recurring window is active is computed, not stored, so the `active` filter is
    applied here in chunks; for `active=true` SQL first drops windows that cannot be active.
    """
    stmt = sa.select(MaintenanceWindow).order_by(MaintenanceWindow.id.desc())
    if service_id is not None:
        stmt = stmt.where(MaintenanceWindow.service_id == service_id)
    if active:
        # An occurrence lasts at most 7 days of wall-clock time (8 covers a DST shift).
        stmt = stmt.where(MaintenanceWindow.starts_at <= now,
                          sa.or_(MaintenanceWindow.recurrence != "none", MaintenanceWindow.ends_at > now),
                          sa.or_(MaintenanceWindow.until.is_(None),
                                 MaintenanceWindow.until > now - timedelta(days=8)))
    if active is None:
        if before is not None:
            stmt = stmt.where(MaintenanceWindow.id < before)
        return list(session.execute(stmt.limit(limit)).scalars())
    out: list[MaintenanceWindow] = []
    cursor = before
    chunk = max(limit, 100)
    while len(out) < limit:
        q = stmt.limit(chunk) if cursor is None else stmt.where(MaintenanceWindow.id < cursor).limit(chunk)
        rows = list(session.execute(q).scalars())
        for row in rows:
            if window_status(row, now)[0] == active:
                out.append(row)
                if len(out) == limit:
                    break
        if len(rows) < chunk:
            break
        cursor = rows[-1].id
    return out


def _check_window(*, now: datetime, starts_at: datetime, ends_at: datetime, rec: Recurrence,
                  times_changed: bool) -> None:
    for field, value in (("starts_at", starts_at), ("ends_at", ends_at), ("until", rec.until)):
        if value is not None and not now - WINDOW_MAX_SPAN <= value <= now + WINDOW_MAX_SPAN:
            raise InvalidInput(f"{field} must be within 10 years of now", details={"field": field})
    if rec.kind == "none" and rec.until is not None:
        raise InvalidInput("until applies only to daily or weekly windows; leave it out (or null) for a one-off",
                           details={"field": "until"})
    try:
        validate_window(starts_at, ends_at, rec)
    except ValueError as exc:
        field = "timezone" if "time zone" in str(exc) else "until" if "until" in str(exc) else "ends_at"
        raise InvalidInput(str(exc), details={"field": field}) from None
    if not times_changed:
        return
    if rec.kind == "none" and ends_at <= now:
        raise InvalidInput(f"the window would already have ended ({ends_at.isoformat()})",
                           details={"field": "ends_at"})
    if rec.kind != "none" and rec.until is not None and rec.until <= now:
        raise InvalidInput(f"until ({rec.until.isoformat()}) is in the past: no occurrence would start",
                           details={"field": "until"})


def _window_details(w: MaintenanceWindow, slug: str | None = None) -> dict[str, Any]:
    return {"service": slug or str(w.service_id), "name": w.name, "starts_at": w.starts_at.isoformat(),
            "ends_at": w.ends_at.isoformat(), "recurrence": w.recurrence, "timezone": w.timezone,
            "until": w.until.isoformat() if w.until else None, "reason": w.reason}


def create_window(session: Session, *, actor: Principal, now: datetime, service: str, name: str,
                  starts_at: datetime, ends_at: datetime, recurrence: str = "none", timezone: str = "UTC",
                  until: datetime | None = None, reason: str = "") -> MaintenanceWindow:
    """Create a maintenance window and return it; raise Forbidden or InvalidInput."""
    actor.require(OrgRole.responder, "managing maintenance windows")
    name = _name(name)
    target = _service_ref(session, service)
    if recurrence not in RECURRENCES:
        raise InvalidInput(f"recurrence must be none, daily or weekly, got {recurrence!r}",
                           details={"field": "recurrence"})
    rec = Recurrence(kind=recurrence_kind(recurrence), timezone=timezone, until=until)
    _check_window(now=now, starts_at=starts_at, ends_at=ends_at, rec=rec, times_changed=True)
    window = MaintenanceWindow(service_id=target.id, name=name, starts_at=starts_at, ends_at=ends_at,
                               recurrence=recurrence, timezone=timezone, until=until, author_id=actor.user_id,
                               author=actor.label, reason=reason.strip(), created_at=now)
    session.add(window)
    session.flush()
    record(session, actor=actor, action="maintenance_window.create", target_type="maintenance_window",
           target_id=window.id, now=now, details=_window_details(window, target.slug))
    return window


def update_window(session: Session, *, actor: Principal, now: datetime, window: MaintenanceWindow,
                  name: str | None = None, starts_at: datetime | None = None, ends_at: datetime | None = None,
                  recurrence: str | None = None, timezone: str | None = None, until: Any = _UNSET,
                  reason: str | None = None) -> MaintenanceWindow:
    """Change a window (not its service: delete and create for that); `until` accepts None to clear it."""
    actor.require(OrgRole.responder, "managing maintenance windows")
    if recurrence is not None and recurrence not in RECURRENCES:
        raise InvalidInput(f"recurrence must be none, daily or weekly, got {recurrence!r}",
                           details={"field": "recurrence"})
    new: dict[str, Any] = {
        "name": _name(name) if name is not None else window.name,
        "starts_at": starts_at if starts_at is not None else window.starts_at,
        "ends_at": ends_at if ends_at is not None else window.ends_at,
        "recurrence": recurrence if recurrence is not None else window.recurrence,
        "timezone": timezone if timezone is not None else window.timezone,
        "until": window.until if until is _UNSET else until,
        "reason": reason.strip() if reason is not None else window.reason,
    }
    changes = {k: v for k, v in new.items() if v != getattr(window, k)}
    if not changes:
        return window
    rec = Recurrence(kind=new["recurrence"], timezone=new["timezone"], until=new["until"])
    times = {"starts_at", "ends_at", "recurrence", "timezone", "until"}
    _check_window(now=now, starts_at=new["starts_at"], ends_at=new["ends_at"], rec=rec,
                  times_changed=bool(times & changes.keys()))
    before = _window_details(window)
    for key, value in changes.items():
        setattr(window, key, value)
    session.flush()
    record(session, actor=actor, action="maintenance_window.update", target_type="maintenance_window",
           target_id=window.id, now=now,
           details={"changed": {k: [before[k], _window_details(window)[k]] for k in sorted(changes)}})
    return window


def delete_window(session: Session, *, actor: Principal, now: datetime, window: MaintenanceWindow) -> None:
    """Delete a window; the audit entry keeps what it was. Alerts it held back page if still firing."""
    actor.require(OrgRole.responder, "managing maintenance windows")
    details = _window_details(window)
    session.delete(window)
    session.flush()
    record(session, actor=actor, action="maintenance_window.delete", target_type="maintenance_window",
           target_id=window.id, now=now, details=details)


# --- auto-incident rules -----------------------------------------------------------------------

def list_auto_rules(session: Session) -> list[AutoIncidentRule]:
    """Return the rules in the order the pipeline tries them (the first match declares)."""
    return list(session.execute(
        sa.select(AutoIncidentRule).order_by(AutoIncidentRule.created_at, AutoIncidentRule.id)).scalars())


def require_auto_rule(session: Session, rule_id: uuid.UUID) -> AutoIncidentRule:
    return require_row(session, AutoIncidentRule, rule_id, "auto-incident rule")


def create_auto_rule(session: Session, *, actor: Principal, now: datetime, name: str, matchers: Sequence[Any],
                     incident_severity: Severity | str, incident_kind: Kind | str = Kind.operational
                     ) -> AutoIncidentRule:
    """Create an auto-incident rule and return it; raise Forbidden, InvalidInput or Conflict."""
    actor.require(OrgRole.admin, "changing auto-incident rules")
    name = _name(name)
    stored = parse_matcher_specs(matchers)
    try:
        severity = parse_severity(str(incident_severity))
    except ValueError as exc:
        raise InvalidInput(str(exc), details={"field": "incident_severity"}) from None
    try:
        kind = Kind(incident_kind)
    except ValueError:
        raise InvalidInput(f"incident_kind must be operational or security, got {incident_kind!r}",
                           details={"field": "incident_kind"}) from None
    _room_for(session, AutoIncidentRule, "auto-incident rules")
    rule = AutoIncidentRule(name=name, matchers=stored, incident_severity=severity.value,
                            incident_kind=kind.value, created_at=now)
    session.add(rule)
    session.flush()
    record(session, actor=actor, action="auto_incident_rule.create", target_type="auto_incident_rule",
           target_id=rule.id, now=now, details={"name": name, "matchers": matchers_text(stored),
                                                "incident_severity": severity.value, "incident_kind": kind.value})
    return rule


def update_auto_rule(session: Session, *, actor: Principal, now: datetime, rule: AutoIncidentRule,
                     name: str | None = None, matchers: Sequence[Any] | None = None,
                     incident_severity: Severity | str | None = None,
                     incident_kind: Kind | str | None = None) -> AutoIncidentRule:
    """Change the given fields of a rule and return it; raise Forbidden or InvalidInput. Incidents
    it declared keep what they were declared with."""
    actor.require(OrgRole.admin, "changing auto-incident rules")
    changes: dict[str, Any] = {}
    if name is not None:
        rule.name = changes["name"] = _name(name)
    if matchers is not None:
        rule.matchers = parse_matcher_specs(matchers)
        changes["matchers"] = matchers_text(rule.matchers)
    if incident_severity is not None:
        try:
            rule.incident_severity = changes["incident_severity"] = parse_severity(str(incident_severity)).value
        except ValueError as exc:
            raise InvalidInput(str(exc), details={"field": "incident_severity"}) from None
    if incident_kind is not None:
        try:
            rule.incident_kind = changes["incident_kind"] = Kind(incident_kind).value
        except ValueError:
            raise InvalidInput(f"incident_kind must be operational or security, got {incident_kind!r}",
                               details={"field": "incident_kind"}) from None
    if changes:
        session.flush()
        record(session, actor=actor, action="auto_incident_rule.update", target_type="auto_incident_rule",
               target_id=rule.id, now=now, details=changes)
    return rule


def delete_auto_rule(session: Session, *, actor: Principal, now: datetime, rule: AutoIncidentRule) -> None:
    actor.require(OrgRole.admin, "changing auto-incident rules")
    details = {"name": rule.name, "matchers": matchers_text(rule.matchers),
               "incident_severity": rule.incident_severity, "incident_kind": rule.incident_kind}
    session.delete(rule)
    session.flush()
    record(session, actor=actor, action="auto_incident_rule.delete", target_type="auto_incident_rule",
           target_id=rule.id, now=now, details=details)


# --- inhibition rules --------------------------------------------------------------------------

MAX_EQUAL = 32
_LABEL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")


def list_inhibition_rules(session: Session, *, service_id: uuid.UUID | None = None) -> list[InhibitionRule]:
    """Return the rules in the order the pipeline tries them (oldest first)."""
    stmt = sa.select(InhibitionRule).order_by(InhibitionRule.created_at, InhibitionRule.id)
    if service_id is not None:
        stmt = stmt.where(InhibitionRule.service_id == service_id)
    return list(session.execute(stmt).scalars())


def require_inhibition_rule(session: Session, rule_id: uuid.UUID) -> InhibitionRule:
    return require_row(session, InhibitionRule, rule_id, "inhibition rule")


def _equal_labels(names: Sequence[Any]) -> list[str]:
    if not isinstance(names, list | tuple):
        raise InvalidInput("equal: a list of label names", details={"field": "equal"})
    if len(names) > MAX_EQUAL:
        raise InvalidInput(f"equal: at most {MAX_EQUAL} label names", details={"field": "equal"})
    out: list[str] = []
    for i, name in enumerate(names):
        if not isinstance(name, str) or not _LABEL_NAME.fullmatch(name):
            raise InvalidInput(f"equal[{i}]: {name!r} is not a label name ([A-Za-z_][A-Za-z0-9_.-]*)",
                               details={"field": f"equal[{i}]"})
        if name in out:
            raise InvalidInput(f"equal[{i}]: {name!r} is listed twice", details={"field": f"equal[{i}]"})
        out.append(name)
    return out


def _inhibition_details(rule: InhibitionRule, service: str | None) -> dict[str, Any]:
    return {"name": rule.name, "service": service, "source": matchers_text(rule.source_matchers),
            "target": matchers_text(rule.target_matchers), "equal": list(rule.equal)}


def create_inhibition_rule(session: Session, *, actor: Principal, now: datetime, name: str,
                           source_matchers: Sequence[Any], target_matchers: Sequence[Any],
                           equal: Sequence[Any] = (), service: str | None = None) -> InhibitionRule:
    """Create an inhibition rule (global, or for one service's alerts) and return it; raise
    Forbidden, InvalidInput or Conflict."""
    actor.require(OrgRole.admin, "changing inhibition rules")
    name = _name(name)
    source = parse_matcher_specs(source_matchers, field="source_matchers")
    target = parse_matcher_specs(target_matchers, field="target_matchers")
    labels = _equal_labels(equal)
    scope = _service_ref(session, service) if service else None
    _room_for(session, InhibitionRule, "inhibition rules")
    rule = InhibitionRule(name=name, service_id=scope.id if scope else None, source_matchers=source,
                          target_matchers=target, equal=labels, created_at=now)
    session.add(rule)
    session.flush()
    record(session, actor=actor, action="inhibition_rule.create", target_type="inhibition_rule", target_id=rule.id,
           now=now, details=_inhibition_details(rule, scope.slug if scope else None))
    return rule


def update_inhibition_rule(session: Session, *, actor: Principal, now: datetime, rule: InhibitionRule,
                           name: str | None = None, source_matchers: Sequence[Any] | None = None,
                           target_matchers: Sequence[Any] | None = None, equal: Sequence[Any] | None = None,
                           service: Any = _UNSET) -> InhibitionRule:
    """Change a rule; `service` accepts None to make it global. Alerts it holds are re-checked by the engine."""
    actor.require(OrgRole.admin, "changing inhibition rules")
    changes: dict[str, Any] = {}
    if name is not None:
        rule.name = changes["name"] = _name(name)
    if source_matchers is not None:
        rule.source_matchers = parse_matcher_specs(source_matchers, field="source_matchers")
        changes["source"] = matchers_text(rule.source_matchers)
    if target_matchers is not None:
        rule.target_matchers = parse_matcher_specs(target_matchers, field="target_matchers")
        changes["target"] = matchers_text(rule.target_matchers)
    if equal is not None:
        rule.equal = changes["equal"] = _equal_labels(equal)
    if service is not _UNSET:
        scope = _service_ref(session, service) if service else None
        rule.service_id = scope.id if scope else None
        changes["service"] = scope.slug if scope else None
    if changes:
        session.flush()
        record(session, actor=actor, action="inhibition_rule.update", target_type="inhibition_rule",
               target_id=rule.id, now=now, details=changes)
    return rule


def delete_inhibition_rule(session: Session, *, actor: Principal, now: datetime, rule: InhibitionRule) -> None:
    """Delete a rule; the audit entry keeps what it was. Alerts it held page if still firing."""
    actor.require(OrgRole.admin, "changing inhibition rules")
    details = _inhibition_details(rule, service_slugs(session, [rule.service_id]).get(rule.service_id)
                                  if rule.service_id else None)
    session.delete(rule)
    session.flush()
    record(session, actor=actor, action="inhibition_rule.delete", target_type="inhibition_rule", target_id=rule.id,
           now=now, details=details)
