"""Action items: create, find, list, change and close them, with need-to-know, audit, the
incident timeline and the tracker-sync outbox. Services never commit.

Need-to-know: an item linked to an incident is visible exactly when that incident is (an item
made from a postmortem is always linked to the postmortem's incident), so every query goes
through `visibility_clause` and every lookup through `require_item`, which answers NotFound.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.actions import sync
from tocsin.actions.models import ActionItem
from tocsin.actions.types import (
    ACTIVE,
    FINISHED,
    ActionPriority,
    ActionStatus,
    ActionType,
    action_ref,
    parse_action_ref,
)
from tocsin.audit.service import record
from tocsin.db.counters import next_value
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.ids import incident_ref, parse_uuid
from tocsin.incidents import timeline
from tocsin.incidents.access import get_incident, visibility_clause
from tocsin.incidents.models import Incident
from tocsin.incidents.types import TimelineKind
from tocsin.localtime import resolve_wall, zone
from tocsin.postmortems.draft import ActionLine
from tocsin.postmortems.models import Postmortem
from tocsin.principal import OrgRole, Principal
from tocsin.problems.models import Problem
from tocsin.problems.service import get_problem
from tocsin.teams.models import Team, TeamMember
from tocsin.teams.service import get_team
from tocsin.users.models import User
from tocsin.users.service import get_user, get_user_by_email, principal_for

END_OF_DAY = time(23, 59, 59)


# --- lookups ---------------------------------------------------------------------------------------

def ref(item: ActionItem) -> str:
    return action_ref(item.number)


def item_visibility(principal: Principal) -> sa.ColumnElement[bool]:
    """Items not linked to an incident, or linked to one the principal may see. The one rule for
    every query of items (problems and reports use it too). An item's postmortem needs no check of
    its own: create_item always links the postmortem's incident, neither link changes afterwards,
    and deleting an incident deletes its postmortem."""
    if principal.sees_all_restricted:
        return sa.true()
    seen = sa.select(Incident.id).where(visibility_clause(principal))
    return sa.or_(ActionItem.incident_id.is_(None), ActionItem.incident_id.in_(seen))


def get_item(session: Session, principal: Principal, key: str | uuid.UUID, *,
             for_update: bool = False) -> ActionItem | None:
    """The item with this id or ref (ACT-12) if the principal may see it, else None."""
    stmt = sa.select(ActionItem).where(item_visibility(principal))
    if isinstance(key, uuid.UUID):
        stmt = stmt.where(ActionItem.id == key)
    elif (number := parse_action_ref(key)) is not None:
        stmt = stmt.where(ActionItem.number == number)
    elif (as_uuid := parse_uuid(key)) is not None:
        stmt = stmt.where(ActionItem.id == as_uuid)
    else:
        return None
    if for_update:
        stmt = stmt.with_for_update(of=ActionItem)
    return session.execute(stmt).scalar_one_or_none()


def require_item(session: Session, principal: Principal, key: str | uuid.UUID, *,
                 for_update: bool = False) -> ActionItem:
    """The visible item; raise NotFound (also for one the principal may not see)."""
    item = get_item(session, principal, key, for_update=for_update)
    if item is None:
        raise NotFound(f"no action item {key}", details={"action_item": str(key)})
    return item


def resolve_user(session: Session, principal: Principal, key: str, field: str) -> User:
    """The user named by id, email or "me"; InvalidInput naming `field` when there is none."""
    if key == "me":
        if principal.user_id is None:
            raise InvalidInput("'me' names a user; the operator at the CLI has none", details={"field": field})
        user = get_user(session, principal.user_id)
    else:
        as_uuid = parse_uuid(key)
        user = get_user(session, as_uuid) if as_uuid else get_user_by_email(session, key)
    if user is None:
        raise InvalidInput(f"{field}: no user {key}", details={"field": field})
    return user


def resolve_team(session: Session, key: str, field: str = "team") -> Team:
    team = get_team(session, key)
    if team is None:
        raise InvalidInput(f"{field}: no team {key}", details={"field": field})
    return team


def resolve_incident(session: Session, principal: Principal, key: str, field: str = "incident") -> Incident:
    """The incident the principal may see; an invisible one is reported like a missing one."""
    incident = get_incident(session, principal, key)
    if incident is None:
        raise InvalidInput(f"{field}: no incident {key}", details={"field": field})
    return incident


def resolve_postmortem(session: Session, principal: Principal, key: str) -> tuple[Postmortem, Incident]:
    as_uuid = parse_uuid(key)
    pm = session.get(Postmortem, as_uuid) if as_uuid else None
    incident = get_incident(session, principal, pm.incident_id) if pm else None
    if pm is None or incident is None:
        raise InvalidInput(f"postmortem: no postmortem {key}", details={"field": "postmortem"})
    return pm, incident


def resolve_problem(session: Session, key: str, field: str = "problem") -> Problem:
    """The problem a request body names; InvalidInput (not NotFound) since it is a field's value."""
    problem = get_problem(session, key)
    if problem is None:
        raise InvalidInput(f"{field}: no problem {key}", details={"field": field})
    return problem


def due_from_date(day: date, owner: User | None) -> datetime:
    """The end of `day` (23:59:59) in the owner's time zone (UTC without an owner), as UTC."""
    try:
        tz = zone(owner.time_zone if owner and owner.time_zone else "UTC")
    except ValueError:
        tz = zone("UTC")
    try:
        return resolve_wall(datetime.combine(day, END_OF_DAY), tz)
    except OverflowError:
        raise InvalidInput("due_on is out of range", details={"field": "due_on"}) from None


def _only_team(session: Session, user: User) -> uuid.UUID | None:
    teams = list(session.execute(sa.select(TeamMember.team_id).where(TeamMember.user_id == user.id).limit(2))
                 .scalars())
    return teams[0] if len(teams) == 1 else None


def _check_owner(user: User) -> User:
    if not user.is_active:
        raise InvalidInput(f"owner: {user.email} is deactivated", details={"field": "owner"})
    return user


def _check_owner_sees(session: Session, owner: User, incident: Incident) -> None:
    """Refuse an owner who may not see the item's (restricted) incident: their reminders would
    name a restricted item and link to a page that answers 404."""
    if get_incident(session, principal_for(session, owner), incident.id) is None:
        raise InvalidInput(f"owner: {owner.email} may not see {incident_ref(incident.number)}; add them to the "
                           "incident first", details={"field": "owner"})


# --- create ----------------------------------------------------------------------------------------

@dataclass
class ActionSpec:
    title: str
    description: str = ""
    type: ActionType = ActionType.prevent
    priority: ActionPriority = ActionPriority.medium
    owner: str | None = None  # id, email or "me"
    team: str | None = None  # slug or id; default: the owner's only team
    due_at: datetime | None = None
    due_on: date | None = None
    incident: str | None = None  # ref or id
    postmortem: str | None = None  # id
    problem: str | None = None  # id or PRB-3
    external_id: str | None = None
    external_url: str | None = None


def create_item(session: Session, *, actor: Principal, now: datetime, spec: ActionSpec,
                sync_config: sync.SyncConfig | None = None) -> ActionItem:
    """Create an open item; raise Forbidden below responder, InvalidInput for a bad link or date."""
    actor.require(OrgRole.responder, "creating an action item")
    if spec.due_at is not None and spec.due_on is not None:
        raise InvalidInput("give due_at or due_on, not both", details={"field": "due_on"})
    owner = _check_owner(resolve_user(session, actor, spec.owner, "owner")) if spec.owner else None
    incident = resolve_incident(session, actor, spec.incident) if spec.incident else None
    postmortem = None
    if spec.postmortem:
        postmortem, pm_incident = resolve_postmortem(session, actor, spec.postmortem)
        if incident is not None and incident.id != pm_incident.id:
            raise InvalidInput("the postmortem belongs to another incident", details={"field": "postmortem"})
        incident = pm_incident
    if owner is not None and incident is not None:
        _check_owner_sees(session, owner, incident)
    problem = resolve_problem(session, spec.problem) if spec.problem else None
    if spec.team:
        team_id: uuid.UUID | None = resolve_team(session, spec.team).id
    else:
        team_id = _only_team(session, owner) if owner else None
    due_at = due_from_date(spec.due_on, owner) if spec.due_on else spec.due_at
    item = ActionItem(
        number=next_value(session, "action_item"), title=spec.title.strip(), description=spec.description,
        type=ActionType(spec.type).value, priority=ActionPriority(spec.priority).value,
        status=ActionStatus.open.value, owner_id=owner.id if owner else None, team_id=team_id,
        incident_id=incident.id if incident else None, postmortem_id=postmortem.id if postmortem else None,
        problem_id=problem.id if problem else None, due_at=due_at, created_by_id=actor.user_id, created_at=now,
        updated_at=now, external_id=spec.external_id or None, external_url=spec.external_url or None,
        overdue_reminders=0)
    if not item.title:
        raise InvalidInput("title must not be blank", details={"field": "title"})
    session.add(item)
    session.flush()
    if incident is not None:
        who = f", owner {owner.name}" if owner else ""
        timeline.append(session, incident=incident, kind=TimelineKind.action_item, actor=actor, now=now,
                        text=f"Action item {ref(item)} created: {item.title}{who}",
                        data={"action_item_id": str(item.id), "ref": ref(item), "event": "created",
                              "status": item.status})
    record(session, actor=actor, action="action_item.create", target_type="action_item", target_id=item.id, now=now,
           details={"ref": ref(item), "incident_id": str(item.incident_id) if item.incident_id else None,
                    "owner_id": str(item.owner_id) if item.owner_id else None, "type": item.type,
                    "priority": item.priority})
    sync.enqueue(session, item=item, event=sync.CREATED, now=now, config=sync_config)
    return item


# --- list ------------------------------------------------------------------------------------------

@dataclass
class ActionFilter:
    status: list[ActionStatus] | None = None
    owner_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None
    incident_id: uuid.UUID | None = None
    postmortem_id: uuid.UUID | None = None
    problem_id: uuid.UUID | None = None
    overdue: bool = False
    team_ids: frozenset[uuid.UUID] | None = None  # any of these teams ("my teams'"); empty matches none


def _filtered(principal: Principal, flt: ActionFilter, now: datetime) -> sa.Select[ActionItem]:
    stmt = sa.select(ActionItem).where(item_visibility(principal))
    if flt.status:
        stmt = stmt.where(ActionItem.status.in_([s.value for s in flt.status]))
    for column, value in ((ActionItem.owner_id, flt.owner_id), (ActionItem.team_id, flt.team_id),
                          (ActionItem.incident_id, flt.incident_id), (ActionItem.postmortem_id, flt.postmortem_id),
                          (ActionItem.problem_id, flt.problem_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if flt.team_ids is not None:
        stmt = stmt.where(ActionItem.team_id.in_(list(flt.team_ids)) if flt.team_ids else sa.false())
    if flt.overdue:
        stmt = stmt.where(ActionItem.status.in_(ACTIVE), ActionItem.due_at < now)
    return stmt


def list_items(session: Session, *, principal: Principal, flt: ActionFilter, now: datetime,
               before: uuid.UUID | None = None, limit: int = 50) -> list[ActionItem]:
    """Visible items matching `flt`, newest first, after the cursor `before`."""
    stmt = _filtered(principal, flt, now)
    if before is not None:
        stmt = stmt.where(ActionItem.id < before)
    return list(session.execute(stmt.order_by(ActionItem.id.desc()).limit(limit)).scalars())


def list_overdue(session: Session, *, principal: Principal, team: Team, now: datetime,
                 after: tuple[datetime, uuid.UUID] | None = None, limit: int = 50) -> list[ActionItem]:
    """The team's visible open or in-progress items past their due time, longest overdue first."""
    stmt = _filtered(principal, ActionFilter(team_id=team.id, overdue=True), now)
    if after is not None:
        at, last = after
        stmt = stmt.where(sa.or_(ActionItem.due_at > at, sa.and_(ActionItem.due_at == at, ActionItem.id > last)))
    return list(session.execute(stmt.order_by(ActionItem.due_at, ActionItem.id).limit(limit)).scalars())


# --- change ----------------------------------------------------------------------------------------

def _set_status(session: Session, *, item: ActionItem, status: ActionStatus, actor: Principal, now: datetime,
                source: str) -> bool:
    """Move the item to `status`; stamp (or clear, on re-open) completed_at; note a finish on the
    incident's timeline. Return whether the status changed."""
    old = item.status
    if old == status.value:
        return False
    item.status = status.value
    if status.value in FINISHED and old not in FINISHED:
        item.completed_at = now
    elif status.value not in FINISHED:
        item.completed_at = None
    if item.incident_id is not None and (status.value in FINISHED or old in FINISHED):
        incident = session.get(Incident, item.incident_id)
        if incident is not None:
            words = {"done": "done", "wont_do": "closed as won't do"}.get(status.value, f"reopened ({status.value})")
            via = " (from the tracker)" if source == "tracker" else ""
            timeline.append(session, incident=incident, kind=TimelineKind.action_item, actor=actor, now=now,
                            text=f"Action item {ref(item)} {words}{via}: {item.title}",
                            data={"action_item_id": str(item.id), "ref": ref(item), "event": "status",
                                  "from": old, "status": status.value, "source": source})
    return True


def update_item(session: Session, *, actor: Principal, now: datetime, item: ActionItem, changes: dict[str, Any],
                sync_config: sync.SyncConfig | None = None) -> ActionItem:
    """Apply the fields in `changes` (as sent: absent means unchanged, None clears owner, team,
    due date, problem and external link). Moving the due date or the owner restarts reminders."""
    actor.require(OrgRole.responder, "changing an action item")
    if changes.get("due_at") is not None and changes.get("due_on") is not None:
        raise InvalidInput("give due_at or due_on, not both", details={"field": "due_on"})
    for name in ("title", "type", "priority", "status", "description"):
        if name in changes and changes[name] is None:
            raise InvalidInput(f"{name} must not be null", details={"field": name})
    changed: dict[str, Any] = {}

    def put(name: str, value: Any) -> None:
        if getattr(item, name) != value:
            setattr(item, name, value)
            changed[name] = str(value) if value is not None else None

    if "title" in changes:
        title = changes["title"].strip()
        if not title:
            raise InvalidInput("title must not be blank", details={"field": "title"})
        put("title", title)
    if "description" in changes:
        put("description", changes["description"])
    if "type" in changes:
        put("type", ActionType(changes["type"]).value)
    if "priority" in changes:
        put("priority", ActionPriority(changes["priority"]).value)
    if "owner" in changes:
        owner = _check_owner(resolve_user(session, actor, changes["owner"], "owner")) if changes["owner"] else None
        if owner is not None and item.incident_id is not None and owner.id != item.owner_id:
            incident = session.get(Incident, item.incident_id)
            if incident is not None:
                _check_owner_sees(session, owner, incident)
        put("owner_id", owner.id if owner else None)
    if "team" in changes:
        put("team_id", resolve_team(session, changes["team"]).id if changes["team"] else None)
    if "problem" in changes:
        put("problem_id", resolve_problem(session, changes["problem"]).id if changes["problem"] else None)
    if "external_id" in changes:
        put("external_id", changes["external_id"] or None)
    if "external_url" in changes:
        put("external_url", changes["external_url"] or None)
    if changes.get("due_on") is not None:
        owner = session.get(User, item.owner_id) if item.owner_id else None
        put("due_at", due_from_date(changes["due_on"], owner))
    elif "due_at" in changes:
        put("due_at", changes["due_at"])
    if "due_at" in changed or "owner_id" in changed:
        item.reminded_before_at, item.last_reminded_at, item.overdue_reminders = None, None, 0
    if "status" in changes:
        old = item.status
        if _set_status(session, item=item, status=ActionStatus(changes["status"]), actor=actor, now=now,
                       source="api"):
            changed["status"] = f"{old} -> {item.status}"
    if not changed:
        return item
    item.updated_at = now
    session.flush()
    record(session, actor=actor, action="action_item.update", target_type="action_item", target_id=item.id, now=now,
           details={"ref": ref(item), "changes": changed})
    sync.enqueue(session, item=item, event=sync.UPDATED, now=now, config=sync_config)
    return item


def find_for_tracker(session: Session, *, principal: Principal, key: str | None,
                     external_id: str | None) -> ActionItem:
    """The item a tracker's update names: by id or ref when given, else by external id (which
    must name exactly one visible item)."""
    if key:
        return require_item(session, principal, key, for_update=True)
    if not external_id:
        raise InvalidInput("name the item by id, ref or external_id", details={"field": "external_id"})
    rows = list(session.execute(sa.select(ActionItem).where(item_visibility(principal),
                                                            ActionItem.external_id == external_id)
                                .order_by(ActionItem.id).limit(2).with_for_update(of=ActionItem)).scalars())
    if not rows:
        raise NotFound(f"no action item with external_id {external_id}", details={"external_id": external_id})
    if len(rows) > 1:
        raise Conflict(f"several action items have external_id {external_id}: name one by id or ref",
                       details={"external_id": external_id})
    return rows[0]


def apply_tracker_update(session: Session, *, actor: Principal, now: datetime, item: ActionItem, status: str,
                         external_id: str | None = None, external_url: str | None = None) -> tuple[ActionItem, bool]:
    """Take the tracker's status (our words, or closed/resolved → done, reopened → open, ...) and
    link fields. No sync is queued for it: the change came from the tracker. Return the item and
    whether anything changed."""
    actor.require(OrgRole.responder, "syncing an action item from a tracker")
    mapped = sync.map_status(status)
    if mapped is None:
        raise InvalidInput(f"unknown status {status!r}: use open, in_progress, done, wont_do, closed, resolved "
                           "or reopened", details={"field": "status"})
    old = {"status": item.status, "external_id": item.external_id, "external_url": item.external_url}
    moved = _set_status(session, item=item, status=mapped, actor=actor, now=now, source="tracker")
    if external_id:
        item.external_id = external_id
    if external_url:
        item.external_url = external_url
    new = {"status": item.status, "external_id": item.external_id, "external_url": item.external_url}
    if not moved and new == old:
        return item, False
    item.updated_at = now
    session.flush()
    record(session, actor=actor, action="action_item.sync_in", target_type="action_item", target_id=item.id,
           now=now, details={"ref": ref(item), "tracker_status": status, "from": old, "to": new})
    return item, True


def items_of_problem(session: Session, principal: Principal, problem_id: uuid.UUID) -> list[ActionItem]:
    """The action items linked to the problem that the principal may see, oldest first."""
    return list(session.execute(
        sa.select(ActionItem).where(ActionItem.problem_id == problem_id, item_visibility(principal))
        .order_by(ActionItem.number)).scalars())


def items_of_incident(session: Session, principal: Principal, incident_id: uuid.UUID) -> list[ActionItem]:
    """The action items of the incident (directly or through its postmortem, which is always linked
    to the incident too) that the principal may see, oldest first."""
    return list(session.execute(
        sa.select(ActionItem).where(ActionItem.incident_id == incident_id, item_visibility(principal))
        .order_by(ActionItem.number)).scalars())


def postmortem_lines(session: Session, principal: Principal, incident_id: uuid.UUID) -> list[ActionLine]:
    """The incident's action items as the postmortem draft and export list them."""
    items = items_of_incident(session, principal, incident_id)
    owners = {i.owner_id for i in items if i.owner_id is not None}
    names = dict(session.execute(sa.select(User.id, User.name).where(User.id.in_(owners))).all()) if owners else {}
    return [ActionLine(ref=ref(i), title=i.title, status=i.status, priority=i.priority,
                       owner=names.get(i.owner_id) if i.owner_id else None, due_at=i.due_at) for i in items]
