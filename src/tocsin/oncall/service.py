"""On-call schedules, their layers and overrides: validate, store, audit; and who is on call.

The rotation arithmetic is pure and lives in `oncall/resolve.py`; this module turns rows into
its values (`Rotation`, `Layer`, `Override`) and its `Shift`s back into users. A layer is
validated by the same functions the resolver trusts (`validate_rotation`, `validate_restriction`)
before it is stored, so a stored schedule always resolves.

Roles: admins change schedules and layers and make iCalendar feed tokens; responders create
overrides for themselves (admins for anyone) and delete their own; anyone authenticated reads.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.db.lookup import get_by_key, require_by_key, require_row
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.keys import key_hash, new_key
from tocsin.oncall import resolve
from tocsin.oncall.models import (
    Schedule,
    ScheduleLayer,
    ScheduleLayerMember,
    ScheduleOverride,
)
from tocsin.principal import OrgRole, Principal
from tocsin.slugs import check_slug, slugify
from tocsin.teams.models import Team
from tocsin.teams.service import get_team
from tocsin.users.models import User
from tocsin.users.service import check_time_zone, get_user_by_email

DEFAULT_RANGE = timedelta(days=7)
MAX_RANGE = timedelta(days=90)  # shifts are computed, not stored: one request computes at most this much
# Rotation starts, overrides and queried instants stay near the present, so shift arithmetic never
# leaves datetime's range and no request walks through centuries of handoffs.
MAX_SPAN = timedelta(days=3653)
OVERRIDE_MAX_AHEAD = timedelta(days=366)
MAX_LAYERS = 20
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_UNSET: Any = object()


# --- lookups -----------------------------------------------------------------------------------

def get_schedule(session: Session, key: str | uuid.UUID) -> Schedule | None:
    """Return the schedule with this id or slug, or None."""
    return get_by_key(session, Schedule, key)


def require_schedule(session: Session, key: str | uuid.UUID) -> Schedule:
    return require_by_key(session, Schedule, key, "schedule")


def list_schedules(session: Session) -> list[Schedule]:
    return list(session.execute(sa.select(Schedule).order_by(Schedule.slug)).scalars())


def list_layers(session: Session, schedule_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[ScheduleLayer]]:
    """Each schedule's layers, lowest position (weakest) first."""
    ids = list(schedule_ids)
    out: dict[uuid.UUID, list[ScheduleLayer]] = {i: [] for i in ids}
    if ids:
        rows = session.execute(sa.select(ScheduleLayer).where(ScheduleLayer.schedule_id.in_(ids))
                               .order_by(ScheduleLayer.position, ScheduleLayer.id)).scalars()
        for row in rows:
            out[row.schedule_id].append(row)
    return out


def layer_members(session: Session, layer_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each layer's members' user ids, in rotation order."""
    ids = list(layer_ids)
    out: dict[uuid.UUID, list[uuid.UUID]] = {i: [] for i in ids}
    if ids:
        rows = session.execute(sa.select(ScheduleLayerMember.layer_id, ScheduleLayerMember.user_id)
                               .where(ScheduleLayerMember.layer_id.in_(ids))
                               .order_by(ScheduleLayerMember.layer_id, ScheduleLayerMember.position)).all()
        for layer_id, user_id in rows:
            out[layer_id].append(user_id)
    return out


def users_by_id(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in session.execute(sa.select(User).where(User.id.in_(wanted))).scalars()}


def team_slugs(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(sa.select(Team.id, Team.slug).where(Team.id.in_(wanted))).all())


def require_layer(session: Session, schedule: Schedule, layer_id: uuid.UUID) -> ScheduleLayer:
    layer = session.get(ScheduleLayer, layer_id)
    if layer is None or layer.schedule_id != schedule.id:
        raise NotFound(f"no layer {layer_id} in schedule {schedule.slug}", details={"layer_id": str(layer_id)})
    return layer


def require_override(session: Session, schedule: Schedule, override_id: uuid.UUID) -> ScheduleOverride:
    row = require_row(session, ScheduleOverride, override_id, "override")
    if row.schedule_id != schedule.id:
        raise NotFound(f"no override {override_id}", details={"override": str(override_id)})
    return row


# --- input checks ------------------------------------------------------------------------------

def _name(name: str, field: str = "name") -> str:
    if not name.strip():
        raise InvalidInput(f"{field} must not be empty", details={"field": field})
    return name.strip()


def _time_zone(name: str, field: str = "timezone") -> str:
    try:
        return check_time_zone(name)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, details={"field": field}) from None


def _near(value: datetime, now: datetime, field: str) -> datetime:
    if not now - MAX_SPAN <= value <= now + MAX_SPAN:
        raise InvalidInput(f"{field} must be within 10 years of now", details={"field": field})
    return value


def _user_ref(session: Session, key: str | uuid.UUID, field: str, *, on_call: bool = True) -> User:
    """A user named in a request body (email or id): unknown or deactivated is bad input (422); so is
    an outside responder (guest) put on call (`on_call`: a layer's member, shadow layers included, or an
    override's taker): guests are never paged."""
    user = None
    try:
        user = session.get(User, key if isinstance(key, uuid.UUID) else uuid.UUID(key))
    except ValueError:
        user = get_user_by_email(session, str(key))
    if user is None:
        raise InvalidInput(f"{field}: no user {key!r}", details={"field": field, "user": str(key)})
    if not user.is_active:
        raise InvalidInput(f"{field}: {user.email} is deactivated", details={"field": field, "user": str(key)})
    if on_call and user.org_role == OrgRole.guest.value:
        raise InvalidInput(f"{field}: {user.email} is an outside responder (a guest), never on call or paged",
                           details={"field": field, "user": str(key)})
    return user


def _team_ref(session: Session, key: str) -> Team:
    team = get_team(session, key)
    if team is None:
        raise InvalidInput(f"team: no team {key!r}", details={"field": "team", "team": key})
    return team


def _clock_time(text: str, field: str) -> time:
    m = _HHMM.match(text)
    if not m:
        raise InvalidInput(f"{field}: {text!r} is not a time of day; use HH:MM from 00:00 to 23:59",
                           details={"field": field})
    return time(int(m.group(1)), int(m.group(2)))


def _restrictions(specs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return restrictions in stored form ({days, start, end}); raise InvalidInput naming the bad one."""
    out = []
    for i, spec in enumerate(specs):
        field = f"restrictions[{i}]"
        days = sorted(set(spec["days"]))
        if not days or any(not 1 <= d <= 7 for d in days):
            raise InvalidInput(f"{field}.days: ISO weekdays from 1 (Monday) to 7 (Sunday), at least one",
                               details={"field": f"{field}.days"})
        restriction = resolve.Restriction(days=frozenset(days), start=_clock_time(spec["start"], f"{field}.start"),
                                          end=_clock_time(spec["end"], f"{field}.end"))
        try:
            resolve.validate_restriction(restriction)
        except ValueError as exc:
            raise InvalidInput(f"{field}: {exc}", details={"field": field}) from None
        out.append({"days": days, "start": spec["start"], "end": spec["end"]})
    return out


def _rotation(*, kind: str, timezone: str, start: datetime, shift_hours: int,
              members: Sequence[uuid.UUID]) -> resolve.Rotation:
    try:
        rot = resolve.Rotation(kind=resolve.rotation_kind(kind), timezone=timezone, start=start,
                               participants=tuple(str(m) for m in members), shift_hours=shift_hours)
        resolve.validate_rotation(rot)
    except ValueError as exc:
        text = str(exc)
        field = "timezone" if "zone" in text else "shift_hours" if "shift" in text or "hour" in text else \
            "members" if "participant" in text else "kind" if "kind" in text else "start"
        raise InvalidInput(text, details={"field": field}) from None
    return rot


# --- rows -> resolver values -------------------------------------------------------------------

def to_layer(row: ScheduleLayer, members: Sequence[uuid.UUID]) -> resolve.Layer:
    rot = resolve.Rotation(kind=resolve.rotation_kind(row.rotation_kind), timezone=row.rotation_timezone,
                           start=row.rotation_start, participants=tuple(str(m) for m in members),
                           shift_hours=row.shift_hours)
    restrictions = tuple(resolve.Restriction(days=frozenset(r["days"]), start=time.fromisoformat(r["start"]),
                                             end=time.fromisoformat(r["end"])) for r in row.restrictions)
    return resolve.Layer(name=row.name, rotation=rot, restrictions=restrictions)


def to_override(row: ScheduleOverride) -> resolve.Override:
    return resolve.Override(user=str(row.user_id), start=row.starts_at, end=row.ends_at,
                            replaces=str(row.replaces_user_id) if row.replaces_user_id else None)


def _resolver_inputs(session: Session, schedule: Schedule, start: datetime,
                     end: datetime) -> tuple[list[resolve.Layer], list[resolve.Override]]:
    rows = list_layers(session, [schedule.id])[schedule.id]
    members = layer_members(session, [r.id for r in rows])
    layers = [to_layer(r, members[r.id]) for r in rows if members[r.id] and not r.shadow]  # shadows are not on call
    overrides = session.execute(sa.select(ScheduleOverride).where(
        ScheduleOverride.schedule_id == schedule.id, ScheduleOverride.ends_at > start,
        ScheduleOverride.starts_at < end).order_by(ScheduleOverride.created_at, ScheduleOverride.id)).scalars()
    return layers, [to_override(o) for o in overrides]


# --- who is on call ----------------------------------------------------------------------------

def shifts(session: Session, *, schedule: Schedule, start: datetime, end: datetime | None = None,
           now: datetime) -> list[resolve.Shift]:
    """Return the final shifts (layers, restrictions and overrides applied) from start to end (default: 7 days).

    Raise InvalidInput unless start < end, the range is at most 90 days and within 10 years of now.
    """
    _near(start, now, "start")
    end = _near(end, now, "end") if end is not None else start + DEFAULT_RANGE
    if end <= start:
        raise InvalidInput("end must be after start", details={"field": "end"})
    if end - start > MAX_RANGE:
        raise InvalidInput("the range may span at most 90 days; ask for several ranges", details={"field": "end"})
    layers, overrides = _resolver_inputs(session, schedule, start, end)
    return resolve.final_shifts(layers, overrides, start, end)


def on_call(session: Session, *, schedule: Schedule, at: datetime, now: datetime) -> resolve.Shift | None:
    """Return the shift of whoever is on call at `at` (None: nobody); raise InvalidInput for a far-off `at`."""
    _near(at, now, "at")
    rows = list_layers(session, [schedule.id])[schedule.id]
    # The shift's bounds come from the rotation shifts and overrides containing `at`; overrides
    # inside those spans change them, so load every override that reaches into them.
    reach = max([timedelta(days=8)] + [timedelta(hours=r.shift_hours + 24) for r in rows])
    lo, hi = at - reach, at + reach
    for start, end in session.execute(sa.select(ScheduleOverride.starts_at, ScheduleOverride.ends_at).where(
            ScheduleOverride.schedule_id == schedule.id, ScheduleOverride.starts_at <= at,
            ScheduleOverride.ends_at > at)).all():
        lo, hi = min(lo, start), max(hi, end)
    layers, overrides = _resolver_inputs(session, schedule, lo, hi)
    return resolve.on_call_at(layers, overrides, at)


def shadows_at(session: Session, *, schedule: Schedule, at: datetime) -> list[uuid.UUID]:
    """Who is on a shadow layer of the schedule at `at` (each layer on its own; overrides apply to
    the responders, not to shadows): they get the same pages, marked shadow, without being on call."""
    rows = [r for r in list_layers(session, [schedule.id])[schedule.id] if r.shadow]
    if not rows:
        return []
    members = layer_members(session, [r.id for r in rows])
    found: list[uuid.UUID] = []
    for r in rows:
        shift = resolve.on_call_at([to_layer(r, members[r.id])], [], at) if members[r.id] else None
        if shift is not None and uuid.UUID(shift.user) not in found:
            found.append(uuid.UUID(shift.user))
    return found


# --- schedules ---------------------------------------------------------------------------------

def _schedule_details(s: Schedule, team: str | None) -> dict[str, Any]:
    return {"name": s.name, "slug": s.slug, "description": s.description, "timezone": s.timezone, "team": team}


def create_schedule(session: Session, *, actor: Principal, now: datetime, name: str, slug: str | None = None,
                    description: str = "", timezone: str = "UTC", team: str | None = None) -> Schedule:
    """Create an empty schedule and return it; raise Forbidden, InvalidInput or Conflict (slug taken)."""
    actor.require(OrgRole.admin, "creating schedules")
    name = _name(name)
    slug = check_slug(slug) if slug else slugify(name)
    if get_schedule(session, slug):
        raise Conflict(f"a schedule with slug {slug} already exists", details={"slug": slug})
    owner = _team_ref(session, team) if team else None
    schedule = Schedule(name=name, slug=slug, description=description, timezone=_time_zone(timezone),
                        team_id=owner.id if owner else None, created_at=now, updated_at=now)
    session.add(schedule)
    session.flush()
    record(session, actor=actor, action="schedule.create", target_type="schedule", target_id=schedule.id, now=now,
           details=_schedule_details(schedule, owner.slug if owner else None))
    return schedule


def update_schedule(session: Session, *, actor: Principal, now: datetime, schedule: Schedule,
                    name: str | None = None, description: str | None = None, timezone: str | None = None,
                    team: Any = _UNSET) -> Schedule:
    """Change a schedule (not its slug); `team` accepts None to clear it."""
    actor.require(OrgRole.admin, "changing schedules")
    changes: dict[str, Any] = {}
    if name is not None and _name(name) != schedule.name:
        changes["name"] = [schedule.name, _name(name)]
        schedule.name = _name(name)
    if description is not None and description != schedule.description:
        changes["description"] = [schedule.description, description]
        schedule.description = description
    if timezone is not None and timezone != schedule.timezone:
        changes["timezone"] = [schedule.timezone, _time_zone(timezone)]
        schedule.timezone = timezone
    if team is not _UNSET:
        owner = _team_ref(session, team) if team else None
        if (owner.id if owner else None) != schedule.team_id:
            old = team_slugs(session, [schedule.team_id]).get(schedule.team_id) if schedule.team_id else None
            changes["team"] = [old, owner.slug if owner else None]
            schedule.team_id = owner.id if owner else None
    if changes:
        schedule.updated_at = now
        session.flush()
        record(session, actor=actor, action="schedule.update", target_type="schedule", target_id=schedule.id,
               now=now, details={"changed": changes})
    return schedule


def delete_schedule(session: Session, *, actor: Principal, now: datetime, schedule: Schedule) -> None:
    """Delete a schedule with its layers and overrides; the audit entry keeps what it was."""
    actor.require(OrgRole.admin, "deleting schedules")
    details = _schedule_details(schedule, team_slugs(session, [schedule.team_id]).get(schedule.team_id)
                                if schedule.team_id else None)
    details["layers"] = [layer.name for layer in list_layers(session, [schedule.id])[schedule.id]]
    session.delete(schedule)
    session.flush()
    record(session, actor=actor, action="schedule.delete", target_type="schedule", target_id=schedule.id, now=now,
           details=details)


def rotate_ical_token(session: Session, *, actor: Principal, now: datetime, schedule: Schedule) -> str:
    """Make a new iCalendar feed token (the old one stops working) and return it; it is never shown again."""
    actor.require(OrgRole.admin, "making iCalendar feed tokens")
    token = new_key()
    had = schedule.ical_token_hash is not None
    schedule.ical_token_hash = key_hash(token)
    schedule.updated_at = now
    session.flush()
    record(session, actor=actor, action="schedule.ical_token_rotate", target_type="schedule",
           target_id=schedule.id, now=now, details={"slug": schedule.slug, "replaced_previous": had})
    return token


def schedule_by_ical_token(session: Session, token: str) -> Schedule | None:
    return session.execute(sa.select(Schedule).where(Schedule.ical_token_hash == key_hash(token))
                           ).scalar_one_or_none()


# --- layers ------------------------------------------------------------------------------------

def _layer_details(layer: ScheduleLayer, members: Sequence[User]) -> dict[str, Any]:
    return {"name": layer.name, "position": layer.position, "kind": layer.rotation_kind,
            "timezone": layer.rotation_timezone, "start": layer.rotation_start.isoformat(),
            "shift_hours": layer.shift_hours, "members": [u.email for u in members],
            "restrictions": layer.restrictions, "shadow": bool(layer.shadow)}


def _members(session: Session, keys: Sequence[str | uuid.UUID]) -> list[User]:
    if not keys:
        raise InvalidInput("members: a layer needs at least one member", details={"field": "members"})
    return [_user_ref(session, key, f"members[{i}]") for i, key in enumerate(keys)]


def _member_users(session: Session, layer: ScheduleLayer) -> list[User]:
    ids = layer_members(session, [layer.id])[layer.id]
    known = users_by_id(session, ids)
    return [known[i] for i in ids if i in known]


def _set_members(session: Session, layer: ScheduleLayer, users: Sequence[User]) -> None:
    session.execute(sa.delete(ScheduleLayerMember).where(ScheduleLayerMember.layer_id == layer.id))
    for i, user in enumerate(users):
        session.add(ScheduleLayerMember(layer_id=layer.id, position=i, user_id=user.id))
    session.flush()


def create_layer(session: Session, *, actor: Principal, now: datetime, schedule: Schedule, name: str, kind: str,
                 timezone: str, start: datetime, members: Sequence[str | uuid.UUID], shift_hours: int = 24,
                 restrictions: Sequence[Mapping[str, Any]] = (), shadow: bool = False) -> ScheduleLayer:
    """Add a layer above the existing ones (it wins where they overlap) and return it.

    Raise Forbidden, InvalidInput (bad rotation, restriction or member) or Conflict (too many layers).
    """
    actor.require(OrgRole.admin, "changing schedules")
    name = _name(name)
    users = _members(session, members)
    _rotation(kind=kind, timezone=_time_zone(timezone), start=_near(start, now, "start"), shift_hours=shift_hours,
              members=[u.id for u in users])
    stored = _restrictions(restrictions)
    existing = list_layers(session, [schedule.id])[schedule.id]
    if len(existing) >= MAX_LAYERS:
        raise Conflict(f"a schedule has at most {MAX_LAYERS} layers", details={"limit": MAX_LAYERS})
    layer = ScheduleLayer(schedule_id=schedule.id, position=max((r.position for r in existing), default=-1) + 1,
                          name=name, rotation_kind=kind, rotation_timezone=timezone, rotation_start=start,
                          shift_hours=shift_hours, restrictions=stored, shadow=shadow, created_at=now)
    session.add(layer)
    session.flush()
    _set_members(session, layer, users)
    schedule.updated_at = now
    record(session, actor=actor, action="schedule_layer.create", target_type="schedule", target_id=schedule.id,
           now=now, details={"layer_id": str(layer.id), **_layer_details(layer, users)})
    return layer


def update_layer(session: Session, *, actor: Principal, now: datetime, schedule: Schedule, layer: ScheduleLayer,
                 name: str | None = None, kind: str | None = None, timezone: str | None = None,
                 start: datetime | None = None, shift_hours: int | None = None,
                 members: Sequence[str | uuid.UUID] | None = None,
                 restrictions: Sequence[Mapping[str, Any]] | None = None,
                 shadow: bool | None = None) -> ScheduleLayer:
    """Change a layer; the result is validated as a whole. Members, when given, replace the old list."""
    actor.require(OrgRole.admin, "changing schedules")
    old_users = _member_users(session, layer)
    users = _members(session, members) if members is not None else old_users
    new_name = _name(name) if name is not None else layer.name
    new_kind = kind or layer.rotation_kind
    new_zone = _time_zone(timezone) if timezone is not None else layer.rotation_timezone
    new_start = _near(start, now, "start") if start is not None else layer.rotation_start
    new_shift = shift_hours if shift_hours is not None else layer.shift_hours
    new_restrictions = _restrictions(restrictions) if restrictions is not None else layer.restrictions
    _rotation(kind=new_kind, timezone=new_zone, start=new_start, shift_hours=new_shift, members=[u.id for u in users])
    new = {"name": new_name, "rotation_kind": new_kind, "rotation_timezone": new_zone, "rotation_start": new_start,
           "shift_hours": new_shift, "restrictions": new_restrictions,
           "shadow": layer.shadow if shadow is None else shadow}
    before = _layer_details(layer, old_users)
    for key, value in new.items():
        setattr(layer, key, value)
    if [u.id for u in users] != [u.id for u in old_users]:
        _set_members(session, layer, users)
    after = _layer_details(layer, users)
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changed:
        schedule.updated_at = now
        session.flush()
        record(session, actor=actor, action="schedule_layer.update", target_type="schedule", target_id=schedule.id,
               now=now, details={"layer_id": str(layer.id), "changed": changed})
    return layer


def delete_layer(session: Session, *, actor: Principal, now: datetime, schedule: Schedule,
                 layer: ScheduleLayer) -> None:
    actor.require(OrgRole.admin, "changing schedules")
    details = {"layer_id": str(layer.id), **_layer_details(layer, _member_users(session, layer))}
    session.delete(layer)
    schedule.updated_at = now
    session.flush()
    record(session, actor=actor, action="schedule_layer.delete", target_type="schedule", target_id=schedule.id,
           now=now, details=details)


# --- overrides ---------------------------------------------------------------------------------

def list_overrides(session: Session, *, schedule: Schedule, now: datetime, include_past: bool = False,
                   limit: int = 500) -> list[ScheduleOverride]:
    """Return the schedule's overrides by start time; only those not yet ended unless `include_past`."""
    stmt = sa.select(ScheduleOverride).where(ScheduleOverride.schedule_id == schedule.id)
    if not include_past:
        stmt = stmt.where(ScheduleOverride.ends_at > now)
    return list(session.execute(stmt.order_by(ScheduleOverride.starts_at, ScheduleOverride.id).limit(limit))
                .scalars())


def _override_details(o: ScheduleOverride, users: dict[uuid.UUID, User]) -> dict[str, Any]:
    def email(uid: uuid.UUID | None) -> str | None:
        return users[uid].email if uid in users else (str(uid) if uid else None)
    return {"user": email(o.user_id), "replaces": email(o.replaces_user_id), "starts_at": o.starts_at.isoformat(),
            "ends_at": o.ends_at.isoformat()}


def create_override(session: Session, *, actor: Principal, now: datetime, schedule: Schedule, starts_at: datetime,
                    ends_at: datetime, user: str | uuid.UUID | None = None,
                    replaces: str | uuid.UUID | None = None) -> ScheduleOverride:
    """Put `user` (default: the actor) on call from starts_at to ends_at and return the override.

    Raise Forbidden (a viewer; a responder overriding for someone else) or InvalidInput.
    """
    actor.require(OrgRole.responder, "overriding on-call shifts")
    if user is None:
        if actor.user_id is None:
            raise InvalidInput("user: say who takes the shift", details={"field": "user"})
        user = actor.user_id
    taker = _user_ref(session, user, "user")
    if taker.id != actor.user_id and not actor.is_admin:
        raise Forbidden("responders may only put themselves on call; an admin may override for anyone",
                        details={"required_role": OrgRole.admin.value})
    replaced = _user_ref(session, replaces, "replaces", on_call=False) if replaces is not None else None
    return store_override(session, actor=actor, now=now, schedule=schedule, taker=taker, replaced=replaced,
                          starts_at=starts_at, ends_at=ends_at)


def store_override(session: Session, *, actor: Principal, now: datetime, schedule: Schedule, taker: User,
                   replaced: User | None, starts_at: datetime, ends_at: datetime) -> ScheduleOverride:
    """Validate the time range, store and audit an override and return it. The caller has decided that
    `actor` may put `taker` on call (create_override; an accepted shift swap); raise InvalidInput."""
    if replaced is not None and replaced.id == taker.id:
        raise InvalidInput("replaces: a person cannot take their own shift", details={"field": "replaces"})
    _near(starts_at, now, "starts_at")
    if ends_at <= starts_at:
        raise InvalidInput("ends_at must be after starts_at", details={"field": "ends_at"})
    if ends_at <= now:
        raise InvalidInput(f"the override would already have ended ({ends_at.isoformat()})",
                           details={"field": "ends_at"})
    if ends_at > now + OVERRIDE_MAX_AHEAD:
        raise InvalidInput("ends_at must be at most one year ahead; change the rotation for longer",
                           details={"field": "ends_at"})
    row = ScheduleOverride(schedule_id=schedule.id, user_id=taker.id,
                           replaces_user_id=replaced.id if replaced else None, starts_at=starts_at, ends_at=ends_at,
                           created_by_id=actor.user_id, created_at=now)
    session.add(row)
    session.flush()
    record(session, actor=actor, action="schedule_override.create", target_type="schedule", target_id=schedule.id,
           now=now, details={"override_id": str(row.id), **_override_details(row, {taker.id: taker, **(
               {replaced.id: replaced} if replaced else {})})})
    return row


def delete_override(session: Session, *, actor: Principal, now: datetime, schedule: Schedule,
                    override: ScheduleOverride) -> None:
    """Delete an override (admins: any; responders: their own, or one they made); raise Forbidden."""
    actor.require(OrgRole.responder, "deleting overrides")
    if not actor.is_admin and actor.user_id not in (override.user_id, override.created_by_id):
        raise Forbidden("responders may only delete their own overrides", details={"required_role": "admin"})
    details = {"override_id": str(override.id), **_override_details(
        override, users_by_id(session, [override.user_id, override.replaces_user_id]))}
    session.delete(override)
    session.flush()
    record(session, actor=actor, action="schedule_override.delete", target_type="schedule", target_id=schedule.id,
           now=now, details=details)


# --- preview (nothing written) -----------------------------------------------------------------

def draft_layer(session: Session, *, now: datetime, name: str, kind: str, timezone: str, start: datetime,
                members: Sequence[str | uuid.UUID], shift_hours: int = 24,
                restrictions: Sequence[Mapping[str, Any]] = (), shadow: bool = False) -> resolve.Layer:
    """A layer as `create_layer` would store it, checked the same way, for a preview; raise InvalidInput.
    (`shadow` is accepted as create_layer takes it; a shadow layer is not on call, so callers leave it
    out of a preview.)"""
    users = _members(session, members)
    rot = _rotation(kind=kind, timezone=_time_zone(timezone), start=_near(start, now, "start"),
                    shift_hours=shift_hours, members=[u.id for u in users])
    stored = _restrictions(restrictions)
    return to_layer(ScheduleLayer(name=_name(name), rotation_kind=rot.kind, rotation_timezone=rot.timezone,
                                  rotation_start=start, shift_hours=shift_hours, restrictions=stored),
                    [u.id for u in users])


def preview_shifts(session: Session, *, schedule: Schedule | None, layers: Sequence[resolve.Layer],
                   start: datetime, end: datetime) -> list[resolve.Shift]:
    """The final schedule from start to end if the schedule had exactly `layers` (lowest first), with
    its stored overrides (none for a schedule not yet made). Writes nothing."""
    overrides: list[resolve.Override] = []
    if schedule is not None:
        _stored, overrides = _resolver_inputs(session, schedule, start, end)
    return resolve.final_shifts([x for x in layers if x.rotation.participants], overrides, start, end)


def stored_layers(session: Session, schedule: Schedule) -> list[tuple[ScheduleLayer, resolve.Layer]]:
    """The schedule's layers, lowest first, each with its resolver value."""
    rows = list_layers(session, [schedule.id])[schedule.id]
    members = layer_members(session, [r.id for r in rows])
    return [(r, to_layer(r, members[r.id])) for r in rows]
