"""Escalation policies (validate, store, audit), a service's policy, reading an alert's
escalation, stopping escalations when their alerts are acknowledged or resolved, and a
responder's manual re-escalation and reassignment of an alert.

The engine (`engine/escalations.py`) moves escalations; this module is how people change
policies and what the alert paths call to stop paging at once. Services never commit.

A policy level's targets are users, schedules (whoever is on call at each step) and teams
(every active member at each step).

Roles: admins change policies and attach them to services; responders re-escalate and
reassign alerts; anyone authenticated reads.
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
from tocsin.db.session import rowcount
from tocsin.errors import Conflict, IllegalTransition, InvalidInput
from tocsin.escalation import drill, plan, trail
from tocsin.escalation.models import (
    Escalation,
    EscalationLevel,
    EscalationPolicy,
    Notification,
)
from tocsin.escalation.plan import Level, Target
from tocsin.ids import new_id
from tocsin.oncall.models import Schedule
from tocsin.oncall.service import get_schedule
from tocsin.principal import OrgRole, Principal
from tocsin.services.models import Service
from tocsin.slugs import check_slug, slugify
from tocsin.teams.models import Team
from tocsin.teams.service import get_team
from tocsin.users.models import User
from tocsin.users.service import get_user_by_email

MAX_LEVELS = 20
MAX_TARGETS = 20
TARGET_TYPES = ("user", "schedule", "team")
REASSIGN_DELAY_MINUTES = 15  # the wait of the one-level policy a reassignment to people builds
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
            if pid is not None:
                out[pid].append(slug)
    return out


def target_names(session: Session, levels: Iterable[EscalationLevel | Level]) -> dict[str, str]:
    """Display names for the targets of these levels, by target id: a user's email, a schedule's
    or team's slug. Targets deleted since are left out."""
    ids: dict[str, set[uuid.UUID]] = {"user": set(), "schedule": set(), "team": set()}
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
    if ids["team"]:
        names |= {str(i): s for i, s in session.execute(sa.select(Team.id, Team.slug).where(Team.id.in_(ids["team"])))}
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


def _target(session: Session, spec: Mapping[str, Any], field: str) -> Target:
    """A target named in a request (`type` and one of `id`, `email`, `slug`) in stored form; unknown is 422."""
    kind = spec.get("type")
    if kind not in TARGET_TYPES:
        raise InvalidInput(f"{field}.type must be user, schedule or team, got {kind!r}",
                           details={"field": f"{field}.type"})
    given = {k: spec[k] for k in ("id", "email", "slug") if spec.get(k) is not None}
    if len(given) != 1:
        raise InvalidInput(f"{field}: give exactly one of id, email (users) or slug (schedules, teams)",
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
        raise InvalidInput(f"{field}: a {kind} is named by id or slug", details={"field": field})
    if kind == "team":
        team = get_team(session, key)
        if team is None:
            raise InvalidInput(f"{field}: no team {key!r}", details={"field": field, "team": key})
        return {"type": "team", "id": str(team.id)}
    schedule = get_schedule(session, key)
    if schedule is None:
        raise InvalidInput(f"{field}: no schedule {key!r}", details={"field": field, "schedule": key})
    return {"type": "schedule", "id": str(schedule.id)}


def _levels(session: Session, specs: Sequence[Mapping[str, Any]]) -> list[Level]:
    """Validated levels in stored form: [{"delay_minutes", "targets": [{"type", "id"}]}]."""
    if not specs:
        raise InvalidInput("levels: a policy needs at least one level", details={"field": "levels"})
    if len(specs) > MAX_LEVELS:
        raise InvalidInput(f"levels: at most {MAX_LEVELS}", details={"field": "levels"})
    out: list[Level] = []
    for i, spec in enumerate(specs):
        delay = spec.get("delay_minutes")
        if not isinstance(delay, int) or isinstance(delay, bool) or not 1 <= delay <= 1440:
            raise InvalidInput(f"levels[{i}].delay_minutes must be between 1 and 1440",
                               details={"field": f"levels[{i}].delay_minutes"})
        targets = spec.get("targets") or []
        if not targets or len(targets) > MAX_TARGETS:
            raise InvalidInput(f"levels[{i}].targets: between 1 and {MAX_TARGETS} targets",
                               details={"field": f"levels[{i}].targets"})
        out.append({"delay_minutes": delay, "targets": _targets(session, targets, f"levels[{i}].targets")})
    return out


def _targets(session: Session, specs: Sequence[Mapping[str, Any]], field: str) -> list[Target]:
    """Validated targets in stored form, each at most once."""
    stored = [_target(session, t, f"{field}[{j}]") for j, t in enumerate(specs)]
    if len({(t["type"], t["id"]) for t in stored}) != len(stored):
        raise InvalidInput(f"{field}: a target is listed twice", details={"field": field})
    return stored


def _set_levels(session: Session, policy: EscalationPolicy, levels: list[Level]) -> None:
    session.execute(sa.delete(EscalationLevel).where(EscalationLevel.policy_id == policy.id))
    session.add_all(EscalationLevel(policy_id=policy.id, position=i, delay_minutes=lv["delay_minutes"],
                                    targets=lv["targets"]) for i, lv in enumerate(levels))
    session.flush()


def _audit_levels(levels: list[Level]) -> list[dict[str, Any]]:
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
    """Delete a policy that no service pages with; running escalations keep their snapshot.

    Raises Forbidden, or Conflict naming the services that use it: deleting it would leave them
    paging nobody, so they must move to another policy first (as PagerDuty requires)."""
    actor.require(OrgRole.admin, "changing escalation policies")
    users = services_using(session, [policy.id])[policy.id]
    if users:
        raise Conflict(f"services page with this policy: {', '.join(users)}; give them another policy first",
                       details={"services": users})
    record(session, actor=actor, action="escalation_policy.delete", target_type="escalation_policy",
           target_id=policy.id, now=now, details={"slug": policy.slug, "name": policy.name})
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


def notifications_to(session: Session, user_id: uuid.UUID, *, limit: int = 100,
                     before: tuple[datetime, uuid.UUID] | None = None) -> list[Notification]:
    """The notifications written for one person (pages, reminders, hand-off notices ...), newest first;
    `before`: only those older than this (created_at, id), for the next page."""
    query = sa.select(Notification).where(Notification.user_id == user_id)
    if before is not None:
        query = query.where(sa.or_(Notification.created_at < before[0],
                                   sa.and_(Notification.created_at == before[0], Notification.id < before[1])))
    return list(session.execute(query.order_by(Notification.created_at.desc(), Notification.id.desc())
                                .limit(limit)).scalars())


def stop_for_alerts(session: Session, alert_ids: Iterable[uuid.UUID], reason: str | None, now: datetime) -> int:
    """Stop the active escalations of these alerts at once (bumping the fence epoch, so a step an
    engine already selected cannot fire) and put the reason on each alert's decisions; return how many.

    `reason` None: say what the alert's status now is (the pipeline stops acks and resolves together).
    """
    ids = set(alert_ids)
    if not ids:
        return 0
    stopped = _stop_for_groups(session, ids, reason, now)
    # Only alerts with an active escalation of their own; most acks and resolves have none to stop.
    active = session.execute(sa.select(Escalation.id, Escalation.alert_id).where(
        Escalation.alert_id.in_(ids), Escalation.group_id.is_(None), Escalation.status == "active")).all()
    if not active:
        return stopped
    status = dict(session.execute(sa.select(Alert.id, Alert.status).where(
        Alert.id.in_({a for _e, a in active}))).all())
    for esc_id, alert_id in active:
        if alert_id is None:  # not selected: the query asks for these alerts' escalations
            continue
        why = reason or f"the alert was {status.get(alert_id, 'closed')}"
        done = rowcount(session, (
            sa.update(Escalation).where(Escalation.id == esc_id, Escalation.status == "active")
            .values(status="stopped", stop_reason=why, next_at=None, epoch=Escalation.epoch + 1, updated_at=now)
            .execution_options(synchronize_session=False)))
        if done:
            stopped += 1
            session.add(AlertDecision(id=new_id(), alert_id=alert_id, at=now, kind="escalation_stopped",
                                      reason=f"escalation stopped: {why}", data={"escalation_id": str(esc_id)}))
    session.flush()
    return stopped


def _stop_for_groups(session: Session, alert_ids: set[uuid.UUID], reason: str | None, now: datetime) -> int:
    """Stop the active group escalations (a service paging per alert group) of these alerts' groups in
    which no alert is triggered any more: the last open alert was acknowledged or resolved. A group
    with an alert still triggered keeps paging. Return how many stopped.

    Two transactions acknowledging a group's last two alerts at once may each still see the other
    one triggered; the escalation's next step then finds nothing triggered and stops itself, and
    delivery cancels what it queued, so nothing is sent either way."""
    groups = select_in_chunks(session, sa.select(Alert.group_id).distinct(), Alert.id, alert_ids)
    groups.discard(None)
    if not groups:
        return 0
    triggered = sa.select(Alert.id).where(Alert.group_id == Escalation.group_id, Alert.status == "triggered").exists()
    done = list(session.execute(
        sa.update(Escalation).where(Escalation.group_id.in_(groups), Escalation.status == "active", ~triggered)
        .values(status="stopped", stop_reason=(reason and f"{reason}: no alert of the group is triggered any more")
                or "no alert of the group is triggered any more", next_at=None, epoch=Escalation.epoch + 1,
                updated_at=now)
        .returning(Escalation.id, Escalation.alert_id, Escalation.stop_reason)
        .execution_options(synchronize_session=False)).all())
    for esc_id, lead, why in done:
        if lead is not None:
            session.add(AlertDecision(id=new_id(), alert_id=lead, at=now, kind="escalation_stopped",
                                      reason=f"escalation of the alert group stopped: {why}",
                                      data={"escalation_id": str(esc_id)}))
    return len(done)


def select_in_chunks(session: Session, stmt: sa.Select[Any], column: Any, values: Iterable[Any],
                     size: int = 500) -> set[Any]:
    """The first column of `stmt` for rows whose `column` is in `values`, asked in chunks (a storm's
    acknowledgement can carry thousands of ids, more than one IN list should)."""
    items = list(values)
    out: set[Any] = set()
    for start in range(0, len(items), size):
        out.update(session.execute(stmt.where(column.in_(items[start:start + size]))).scalars())
    return out


# --- manual re-escalation and reassignment -----------------------------------------------------
#
# Both page the alert again at once: they make its escalation active and due now, and bump the
# fence epoch, so a step an engine selected before the change cannot fire on the old plan. An
# acknowledged alert is triggered again (the engine pages only triggered alerts); a resolved one
# is refused. The alert row is locked before the escalation row, the order the engine's step takes.

def _lock(session: Session, alert: Alert) -> tuple[Alert, Escalation | None]:
    alert = session.execute(sa.select(Alert).where(Alert.id == alert.id).with_for_update()
                            .execution_options(populate_existing=True)).scalar_one()
    row = session.execute(sa.select(Escalation).where(Escalation.alert_id == alert.id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    return alert, row


def _not_resolved(alert: Alert, doing: str) -> None:
    if alert.status == "resolved":
        raise IllegalTransition(f"the alert is resolved; only a triggered or acknowledged alert can be {doing}",
                                details={"status": alert.status, "allowed": ["triggered", "acknowledged"]})


def _unacknowledge(session: Session, alert: Alert, actor: Principal, now: datetime, doing: str) -> bool:
    """Trigger an acknowledged alert again; return whether it was acknowledged."""
    if alert.status != "acknowledged":
        return False
    alert.status, alert.acknowledged_at = "triggered", None
    session.add(AlertDecision(id=new_id(), alert_id=alert.id, at=now, kind="unacknowledged",
                              reason=f"unacknowledged: {doing} by {actor.label}", data={"by": actor.label}))
    return True


def _rearm(row: Escalation, now: datetime, *, level: int, loop: int) -> None:
    row.status, row.stop_reason, row.level, row.loop, row.next_at = "active", None, level, loop, now
    row.epoch += 1
    row.updated_at = now


def reescalate(session: Session, *, actor: Principal, now: datetime, alert: Alert,
               level: int | None = None) -> Escalation:
    """Notify a level of the alert's escalation again, now, and carry on from there: `level`
    (1-based) or, when None, the level the escalation stands at (the last one once it is
    exhausted, starting the policy's runs over). An acknowledged alert is triggered again.

    Return the escalation; raise Forbidden, IllegalTransition (the alert is resolved), Conflict
    (the alert has no escalation: its service had no policy when it fired; reassign it instead)
    or InvalidInput (no such level in the escalation's snapshot).
    """
    actor.require(OrgRole.responder, "re-escalating alerts")
    alert, row = _lock(session, alert)
    _not_resolved(alert, "re-escalated")
    if row is None:
        raise Conflict("the alert has no escalation to re-escalate (its service had no escalation policy when "
                       "it fired); reassign it to people or a policy instead", details={"alert_id": str(alert.id)})
    n = len(row.policy_snapshot.get("levels") or [])
    if level is not None and not 1 <= level <= n:
        raise InvalidInput(f"level must be between 1 and {n}, the levels of the alert's escalation",
                           details={"field": "level", "levels": n})
    if n == 0:
        raise Conflict("the alert's escalation has no levels to notify; reassign it to people or a policy instead",
                       details={"alert_id": str(alert.id)})
    index = level - 1 if level is not None else min(row.level, n - 1)
    was = row.status
    unacked = _unacknowledge(session, alert, actor, now, "re-escalated")
    _rearm(row, now, level=index, loop=0 if was == "exhausted" else row.loop)
    # The engine's next step says why it runs (not "nobody acknowledged in time"), then drops this.
    row.policy_snapshot = plan.marked(row.policy_snapshot, f"re-escalated to level {index + 1} by {actor.label}")
    session.flush()
    trail.note(session, now=now, kind="reescalated", reason=f"re-escalated to level {index + 1} by {actor.label}",
               alert=alert, escalation_id=str(row.id), level=index + 1, by=actor.label)
    record(session, actor=actor, action="alert.reescalate", target_type="alert", target_id=alert.id, now=now,
           details={"escalation_id": str(row.id), "level": index + 1, "previous_status": was,
                    "unacknowledged": unacked})
    session.flush()
    return row


def _describe(target: Target, names: Mapping[str, str]) -> str:
    name = names.get(target["id"], target["id"])
    return name if target["type"] == "user" else f"{target['type']} '{name}'"


def reassign(session: Session, *, actor: Principal, now: datetime, alert: Alert,
             targets: Sequence[Mapping[str, Any]] | None = None, policy: str | None = None) -> Escalation:
    """Page the alert from now on with other targets or another policy (exactly one of them):
    its escalation's snapshot is replaced and starts over at level 1, now. `targets` (named as in
    a policy level) become a one-level policy waiting REASSIGN_DELAY_MINUTES, without repeats;
    `policy` (slug or id) is snapshotted as it is now. An alert without an escalation gets one;
    an acknowledged alert is triggered again.

    Return the escalation; raise Forbidden, IllegalTransition (the alert is resolved) or
    InvalidInput (both or neither given, an unknown target or policy).
    """
    actor.require(OrgRole.responder, "reassigning alerts")
    if (targets is None) == (policy is None):
        raise InvalidInput("give exactly one of targets or policy", details={"field": "targets"})
    alert, row = _lock(session, alert)
    _not_resolved(alert, "reassigned")
    if policy is not None:
        found = get_policy(session, policy)
        if found is None:
            raise InvalidInput(f"policy: no escalation policy {policy!r}", details={"field": "policy"})
        levels = list_levels(session, [found.id])[found.id]
        if not levels:
            raise InvalidInput(f"policy: escalation policy {found.slug} has no levels", details={"field": "policy"})
        what = f"escalation policy '{found.name}' ({found.slug})"
        snap = plan.snapshot(levels, found.repeat, policy_id=found.id, slug=found.slug, name=found.name,
                             reassigned_by=actor.label)
        details: dict[str, Any] = {"policy": found.slug}
    else:
        assert targets is not None
        if not targets or len(targets) > MAX_TARGETS:
            raise InvalidInput(f"targets: between 1 and {MAX_TARGETS} targets", details={"field": "targets"})
        stored = _targets(session, targets, "targets")
        names = target_names(session, [Level(delay_minutes=REASSIGN_DELAY_MINUTES, targets=stored)])
        what = ", ".join(_describe(t, names) for t in stored)
        snap = plan.snapshot([Level(delay_minutes=REASSIGN_DELAY_MINUTES, targets=stored)], 0,
                             reassigned_to=what, reassigned_by=actor.label)
        details = {"targets": [f"{t['type']}:{t['id']}" for t in stored]}
    drill.require_alert_participants(session, alert, [t for lvl in snap.get("levels") or [] for t in lvl["targets"]])
    snap = plan.marked(snap, f"reassigned to {what} by {actor.label}")
    unacked = _unacknowledge(session, alert, actor, now, "reassigned")
    if row is None:
        row = Escalation(alert_id=alert.id, service_id=alert.service_id, policy_snapshot=snap, level=0, loop=0,
                         status="active", next_at=now, epoch=0, started_at=now, updated_at=now)
        session.add(row)
        previous = None
    else:
        old = row.policy_snapshot or {}
        previous = old.get("slug") or old.get("reassigned_to")
        row.policy_snapshot = snap
        _rearm(row, now, level=0, loop=0)
    session.flush()
    trail.note(session, now=now, kind="reassigned", reason=f"reassigned to {what} by {actor.label}", alert=alert,
               escalation_id=str(row.id), by=actor.label, **details)
    record(session, actor=actor, action="alert.reassign", target_type="alert", target_id=alert.id, now=now,
           details={**details, "to": what, "escalation_id": str(row.id), "previous": previous,
                    "unacknowledged": unacked})
    session.flush()
    return row
