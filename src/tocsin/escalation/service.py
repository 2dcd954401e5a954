"""Escalation policies (validate, store, audit), a service's policy, reading an alert's
escalation, and stopping escalations when their alerts are acknowledged or resolved.

The engine (`engine/escalations.py`) moves escalations; this module is how people change
policies and what the alert paths call to stop paging at once. Services never commit.

Roles: admins change policies and attach them to services; anyone authenticated reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert, AlertDecision
from tocsin.audit.service import record
from tocsin.db.lookup import get_by_key, require_by_key
from tocsin.errors import Conflict, InvalidInput
from tocsin.escalation.models import (
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    Notification,
)
from tocsin.ids import new_id
from tocsin.oncall.models import Schedule
from tocsin.oncall.service import get_schedule
from tocsin.principal import Principal
from tocsin.services.models import Service
from tocsin.slugs import check_slug, slugify
from tocsin.users.models import OrgRole, User
from tocsin.users.service import get_user_by_email

MAX_LEVELS = 20
MAX_TARGETS = 20
TARGET_TYPES = ("user", "schedule")
_UNSET: Any = object()


# --- lookups -----------------------------------------------------------------------------------

def get_policy(session: Session, key: str | uuid.UUID) -> EscalationPolicy | None:
    """Return the policy with this id or slug, or None."""
    return get_by_key(session, EscalationPolicy, key)


def require_policy(session: Session, key: str | uuid.UUID) -> EscalationPolicy:
    return require_by_key(session, EscalationPolicy, key, "escalation policy")


def list_policies(session: Session) -> list[EscalationPolicy]:
    return list(session.execute(sa.select(EscalationPolicy).order_by(EscalationPolicy.slug)).scalars())


def list_levels(session: Session, policy_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[EscalationLevel]]:
    ids = set(policy_ids)
    out: dict[uuid.UUID, list[EscalationLevel]] = {i: [] for i in ids}
    if ids:
        for lv in session.execute(sa.select(EscalationLevel).where(EscalationLevel.policy_id.in_(ids))
                                  .order_by(EscalationLevel.position)).scalars():
            out[lv.policy_id].append(lv)
    return out


def services_using(session: Session, policy_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    ids = set(policy_ids)
    out: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    if ids:
        for pid, slug in session.execute(sa.select(Service.escalation_policy_id, Service.slug)
                                         .where(Service.escalation_policy_id.in_(ids)).order_by(Service.slug)):
            out[pid].append(slug)
    return out


def target_names(session: Session, levels: Iterable[EscalationLevel | Mapping[str, Any]]) -> dict[str, str]:
    """Display names for the targets of these levels, by target id: a user's email, a schedule's slug."""
    ids: dict[str, set[uuid.UUID]] = {"user": set(), "schedule": set()}
    for lv in levels:
        for t in (lv["targets"] if isinstance(lv, Mapping) else lv.targets):
            try:
                ids.setdefault(t["type"], set()).add(uuid.UUID(t["id"]))
            except (KeyError, ValueError):
                continue
    names: dict[str, str] = {}
    if ids["user"]:
        names |= {str(i): e for i, e in session.execute(sa.select(User.id, User.email).where(User.id.in_(ids["user"])))}
    if ids["schedule"]:
        names |= {str(i): s for i, s in session.execute(sa.select(Schedule.id, Schedule.slug)
                                                         .where(Schedule.id.in_(ids["schedule"])))}
    return names


# --- validation --------------------------------------------------------------------------------

def _name(name: str) -> str:
    if not name.strip():
        raise InvalidInput("name must not be empty", details={"field": "name"})
    return name.strip()


def _repeat(repeat: int) -> int:
    if not 0 <= repeat <= 9:
        raise InvalidInput("repeat must be between 0 and 9", details={"field": "repeat"})
    return repeat


def _target(session: Session, spec: Mapping[str, Any], field: str) -> dict[str, str]:
    """A target named in a request (`type` and one of `id`, `email`, `slug`) in stored form; unknown is 422."""
    kind = spec.get("type")
    if kind not in TARGET_TYPES:
        raise InvalidInput(f"{field}.type must be user or schedule, got {kind!r}", details={"field": f"{field}.type"})
    given = {k: spec[k] for k in ("id", "email", "slug") if spec.get(k) is not None}
    if len(given) != 1:
        raise InvalidInput(f"{field}: give exactly one of id, email (users) or slug (schedules)",
                           details={"field": field})
    (how, key), = given.items()
    key = str(key)
    if kind == "user":
        if how == "slug":
            raise InvalidInput(f"{field}: a user is named by id or email", details={"field": field})
        user = None
        try:
            user = session.get(User, uuid.UUID(key))
        except ValueError:
            user = get_user_by_email(session, key)
        if user is None:
            raise InvalidInput(f"{field}: no user {key!r}", details={"field": field, "user": key})
        if not user.is_active:
            raise InvalidInput(f"{field}: {user.email} is deactivated", details={"field": field, "user": key})
        return {"type": "user", "id": str(user.id)}
    if how == "email":
        raise InvalidInput(f"{field}: a schedule is named by id or slug", details={"field": field})
    schedule = get_schedule(session, key)
    if schedule is None:
        raise InvalidInput(f"{field}: no schedule {key!r}", details={"field": field, "schedule": key})
    return {"type": "schedule", "id": str(schedule.id)}


def _levels(session: Session, specs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validated levels in stored form: [{"delay_minutes", "targets": [{"type", "id"}]}]."""
    if not specs:
        raise InvalidInput("levels: a policy needs at least one level", details={"field": "levels"})
    if len(specs) > MAX_LEVELS:
        raise InvalidInput(f"levels: at most {MAX_LEVELS}", details={"field": "levels"})
    out = []
    for i, spec in enumerate(specs):
        delay = spec.get("delay_minutes")
        if not isinstance(delay, int) or isinstance(delay, bool) or not 1 <= delay <= 1440:
            raise InvalidInput(f"levels[{i}].delay_minutes must be between 1 and 1440",
                               details={"field": f"levels[{i}].delay_minutes"})
        targets = spec.get("targets") or []
        if not targets or len(targets) > MAX_TARGETS:
            raise InvalidInput(f"levels[{i}].targets: between 1 and {MAX_TARGETS} targets",
                               details={"field": f"levels[{i}].targets"})
        stored = [_target(session, t, f"levels[{i}].targets[{j}]") for j, t in enumerate(targets)]
        if len({(t["type"], t["id"]) for t in stored}) != len(stored):
            raise InvalidInput(f"levels[{i}].targets: a target is listed twice", details={"field": f"levels[{i}].targets"})
        out.append({"delay_minutes": delay, "targets": stored})
    return out


def _set_levels(session: Session, policy: EscalationPolicy, levels: list[dict[str, Any]]) -> None:
    session.execute(sa.delete(EscalationLevel).where(EscalationLevel.policy_id == policy.id))
    session.add_all(EscalationLevel(policy_id=policy.id, position=i, delay_minutes=lv["delay_minutes"],
                                    targets=lv["targets"]) for i, lv in enumerate(levels))
    session.flush()


def _audit_levels(levels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"delay_minutes": lv["delay_minutes"], "targets": [f"{t['type']}:{t['id']}" for t in lv["targets"]]}
            for lv in levels]


# --- policies ----------------------------------------------------------------------------------

def create_policy(session: Session, *, actor: Principal, now: datetime, name: str, levels: Sequence[Mapping[str, Any]],
                  slug: str | None = None, description: str = "", repeat: int = 0) -> EscalationPolicy:
    """Create a policy with its levels and return it; raise Forbidden, InvalidInput or Conflict."""
    actor.require(OrgRole.admin, "changing escalation policies")
    name = _name(name)
    slug = check_slug(slug) if slug else slugify(name)
    if get_policy(session, slug) is not None:
        raise Conflict(f"an escalation policy with slug {slug} already exists", details={"slug": slug})
    stored = _levels(session, levels)
    policy = EscalationPolicy(name=name, slug=slug, description=description, repeat=_repeat(repeat),
                              created_at=now, updated_at=now)
    session.add(policy)
    session.flush()
    _set_levels(session, policy, stored)
    record(session, actor=actor, action="escalation_policy.create", target_type="escalation_policy",
           target_id=policy.id, now=now, details={"name": name, "slug": slug, "repeat": policy.repeat,
                                                  "levels": _audit_levels(stored)})
    return policy


def update_policy(session: Session, *, actor: Principal, now: datetime, policy: EscalationPolicy,
                  name: str = _UNSET, slug: str = _UNSET, description: str = _UNSET, repeat: int = _UNSET,
                  levels: Sequence[Mapping[str, Any]] = _UNSET) -> EscalationPolicy:
    """Change the given fields (levels as a whole list); running escalations keep their snapshot."""
    actor.require(OrgRole.admin, "changing escalation policies")
    changes: dict[str, Any] = {}
    if name is not _UNSET:
        changes["name"] = policy.name = _name(name)
    if slug is not _UNSET and slug != policy.slug:
        check_slug(slug)
        if get_policy(session, slug) is not None:
            raise Conflict(f"an escalation policy with slug {slug} already exists", details={"slug": slug})
        changes["slug"] = policy.slug = slug
    if description is not _UNSET:
        changes["description"] = policy.description = description
    if repeat is not _UNSET:
        changes["repeat"] = policy.repeat = _repeat(repeat)
    if levels is not _UNSET:
        stored = _levels(session, levels)
        _set_levels(session, policy, stored)
        changes["levels"] = _audit_levels(stored)
    policy.updated_at = now
    session.flush()
    record(session, actor=actor, action="escalation_policy.update", target_type="escalation_policy",
           target_id=policy.id, now=now, details=changes)
    return policy


def delete_policy(session: Session, *, actor: Principal, now: datetime, policy: EscalationPolicy) -> None:
    """Delete a policy; services using it page nobody (and say so); running escalations keep their snapshot."""
    actor.require(OrgRole.admin, "changing escalation policies")
    users = services_using(session, [policy.id])[policy.id]
    session.execute(sa.update(Service).where(Service.escalation_policy_id == policy.id)
                    .values(escalation_policy_id=None).execution_options(synchronize_session="fetch"))
    record(session, actor=actor, action="escalation_policy.delete", target_type="escalation_policy",
           target_id=policy.id, now=now, details={"slug": policy.slug, "services": users})
    session.delete(policy)
    session.flush()


def set_service_policy(session: Session, *, actor: Principal, now: datetime, service: Service,
                       policy: str | None) -> EscalationPolicy | None:
    """Attach the policy (id or slug) to the service, or detach with None; return the policy."""
    actor.require(OrgRole.admin, "changing a service's escalation policy")
    found = None
    if policy is not None:
        found = get_policy(session, policy)
        if found is None:
            raise InvalidInput(f"policy: no escalation policy {policy!r}", details={"field": "policy"})
    before = service.escalation_policy_id
    service.escalation_policy_id = found.id if found else None
    service.updated_at = now
    session.flush()
    record(session, actor=actor, action="service.escalation_policy", target_type="service", target_id=service.id,
           now=now, details={"service": service.slug, "policy": found.slug if found else None,
                             "previous_policy_id": str(before) if before else None})
    return found


# --- escalations -------------------------------------------------------------------------------

def get_escalation(session: Session, alert_id: uuid.UUID) -> Escalation | None:
    return session.execute(sa.select(Escalation).where(Escalation.alert_id == alert_id)).scalar_one_or_none()


def notifications_for(session: Session, escalation_id: uuid.UUID) -> list[Notification]:
    return list(session.execute(sa.select(Notification).where(Notification.escalation_id == escalation_id)
                                .order_by(Notification.created_at, Notification.id)).scalars())


def stop_for_alerts(session: Session, alert_ids: Iterable[uuid.UUID], reason: str | None, now: datetime) -> int:
    """Stop the active escalations of these alerts at once (bumping the fence epoch, so a step an
    engine already selected cannot fire) and put the reason on each alert's decisions; return how many.

    `reason` None: say what the alert's status now is (the pipeline stops acks and resolves together).
    """
    ids = set(alert_ids)
    if not ids:
        return 0
    # Only alerts with an active escalation; most acks and resolves have none to stop.
    active = session.execute(sa.select(Escalation.id, Escalation.alert_id).where(
        Escalation.alert_id.in_(ids), Escalation.status == "active")).all()
    if not active:
        return 0
    status = dict(session.execute(sa.select(Alert.id, Alert.status).where(
        Alert.id.in_({a for _e, a in active}))).all())
    stopped = 0
    for esc_id, alert_id in active:
        why = reason or f"the alert was {status.get(alert_id, 'closed')}"
        done = session.execute(sa.update(Escalation).where(Escalation.id == esc_id, Escalation.status == "active")
                               .values(status="stopped", stop_reason=why, next_at=None, epoch=Escalation.epoch + 1,
                                       updated_at=now).execution_options(synchronize_session=False)).rowcount
        if done:
            stopped += 1
            session.add(AlertDecision(id=new_id(), alert_id=alert_id, at=now, kind="escalation_stopped",
                                      reason=f"escalation stopped: {why}", data={"escalation_id": str(esc_id)}))
    session.flush()
    return stopped
