"""Console pages for action items, through the actions service (as /api/v1/action-items does):
the list with its filters (mine, my teams', overdue, by incident, by status), creating an item,
and an item's page to assign it, move its due date, complete or re-open it.

Need-to-know: every list and lookup goes through the principal-aware service functions, so an
item of a restricted incident does not exist (404) for someone who may not see the incident.
A due date picked in the form is the end of that day in the viewer's time zone (the API's
`due_on` uses the owner's), since that is the calendar the person picking it looks at.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.actions import service as svc
from tocsin.actions import sync
from tocsin.actions.models import ActionItem
from tocsin.actions.types import ACTIVE, ActionPriority, ActionStatus, ActionType
from tocsin.errors import InvalidInput
from tocsin.ids import incident_ref
from tocsin.incidents.models import Incident
from tocsin.localtime import resolve_wall, zone
from tocsin.principal import OrgRole
from tocsin.problems.models import Problem
from tocsin.problems.service import problem_ref
from tocsin.teams.models import Team
from tocsin.teams.service import list_teams
from tocsin.users.models import User
from tocsin.users.service import list_users
from tocsin.web.auth import CsrfForm, CtxDep, WebCtx, safe_next
from tocsin.web.render import render
from tocsin.web.routes.common import field, redirect

router = APIRouter(include_in_schema=False)
PAGE = 100
STATUS_CHOICES = [("active", "Open or in progress"), ("open", "Open"), ("in_progress", "In progress"),
                  ("done", "Done"), ("wont_do", "Won't do"), ("all", "Any status")]
STATUS_WORDS = {"open": "open", "in_progress": "in progress", "done": "done", "wont_do": "won't do"}


def _end_of_day(text: str, time_zone: str, name: str = "due") -> datetime | None:
    """A `date` input (2026-03-01) as the end of that day in the viewer's zone, in UTC; None when empty."""
    if not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{name}: {text[:20]!r} is not a date such as 2026-03-01", details={"field": name}) from None
    if not 1970 <= day.year <= 2200:
        raise InvalidInput(f"{name}: the year must be between 1970 and 2200", details={"field": name})
    try:
        tz = zone(time_zone or "UTC")
    except ValueError:
        tz = zone("UTC")
    return resolve_wall(datetime.combine(day, time(23, 59, 59)), tz)


def _local_day(value: datetime | None, time_zone: str) -> str:
    if value is None:
        return ""
    try:
        tz = zone(time_zone or "UTC")
    except ValueError:
        tz = zone("UTC")
    return value.astimezone(tz).date().isoformat()


def _choice(value: str, allowed: list[str], name: str) -> str:
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}", details={"field": name})
    return value


def _rows(s: Session, items: list[ActionItem], now: datetime) -> list[dict[str, Any]]:
    """Display rows, with owners, teams, incidents and problems fetched in one query each."""
    def fetch(model: Any, ids: set[Any]) -> dict[Any, Any]:
        ids.discard(None)
        return {r.id: r for r in s.execute(sa.select(model).where(model.id.in_(ids))).scalars()} if ids else {}

    users = fetch(User, {i.owner_id for i in items})
    teams = fetch(Team, {i.team_id for i in items})
    incidents = fetch(Incident, {i.incident_id for i in items})  # visible: the item list checked them
    problems = fetch(Problem, {i.problem_id for i in items})
    out = []
    for i in items:
        inc, prb = incidents.get(i.incident_id), problems.get(i.problem_id)
        out.append({
            "item": i, "ref": svc.ref(i), "owner": users.get(i.owner_id), "team": teams.get(i.team_id),
            "incident": incident_ref(inc.number) if inc else None, "incident_title": inc.title if inc else "",
            "problem": problem_ref(prb) if prb else None, "problem_title": prb.title if prb else "",
            "status": STATUS_WORDS.get(i.status, i.status), "finished": i.status not in ACTIVE,
            "overdue": i.status in ACTIVE and i.due_at is not None and i.due_at < now,
        })
    return out


def _choices(s: Session) -> dict[str, Any]:
    """Who may own an item and which teams exist, for the forms' selects."""
    people = sorted((u for u in list_users(s, limit=1000) if u.is_active), key=lambda u: u.name.lower())
    return {"people": people, "teams": sorted(list_teams(s, limit=500), key=lambda t: t.slug)}


@router.get("/action-items")
def list_page(request: Request, ctx: CtxDep, owner: str = "", team: str = "", incident: str = "",
              status: str = "active", overdue: str = "", before: str = "") -> Response:
    status = _choice(status or "active", [v for v, _ in STATUS_CHOICES], "status")
    owner, team, incident = owner.strip()[:320], team.strip()[:64], incident.strip()[:64]
    cursor = None
    if before:
        try:
            cursor = uuid.UUID(before)
        except ValueError:
            raise InvalidInput("before must be an item id", details={"field": "before"}) from None
    with ctx.work() as (s, me):
        statuses = {"active": list(ACTIVE), "all": []}.get(status, [status])
        flt = svc.ActionFilter(
            status=[ActionStatus(x) for x in statuses] or None,
            owner_id=svc.resolve_user(s, me, owner, "owner").id if owner else None,
            team_id=svc.resolve_team(s, team).id if team and team != "mine" else None,
            team_ids=me.team_ids if team == "mine" else None,
            incident_id=svc.resolve_incident(s, me, incident).id if incident else None,
            overdue=bool(overdue))
        found = svc.list_items(s, principal=me, flt=flt, now=ctx.now, before=cursor, limit=PAGE + 1)
        rows = _rows(s, found[:PAGE], ctx.now)
        choices = _choices(s) if me.at_least(OrgRole.responder) else {"people": [], "teams": []}
    more = len(found) > PAGE
    here = {"owner": owner, "team": team, "incident": incident, "status": status, "overdue": "1" if overdue else ""}
    older = {**{k: v for k, v in here.items() if v}, "before": str(found[PAGE - 1].id)} if more else None
    return render(request, ctx, "action_items.html", rows=rows, f=here, statuses=STATUS_CHOICES, older=older,
                  types=[t.value for t in ActionType], priorities=[p.value for p in ActionPriority],
                  tz_name=ctx.user.time_zone or "UTC", next_path=request.url.path + (
                      "?" + request.url.query if request.url.query else ""), **choices)


def _spec(form: dict[str, str], ctx: WebCtx) -> svc.ActionSpec:
    return svc.ActionSpec(
        title=field(form, "title", max_len=300), description=field(form, "description", required=False,
                                                                    max_len=20_000),
        type=ActionType(_choice(form.get("type", "prevent"), [t.value for t in ActionType], "type")),
        priority=ActionPriority(_choice(form.get("priority", "medium"), [p.value for p in ActionPriority],
                                        "priority")),
        owner=field(form, "owner", required=False, max_len=320) or None,
        team=field(form, "team", required=False, max_len=64) or None,
        due_at=_end_of_day(form.get("due", ""), ctx.user.time_zone),
        incident=field(form, "incident", required=False, max_len=64) or None)


@router.post("/action-items")
def create(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    spec = _spec(form, ctx)
    with ctx.work() as (s, me):
        item = svc.create_item(s, actor=me, now=ctx.now, spec=spec,
                               sync_config=sync.SyncConfig.from_settings(ctx.settings))
        key = svc.ref(item)
    return redirect(f"/action-items/{key}", f"{key} created")


@router.get("/action-items/{item_id}")
def item_page(request: Request, item_id: str, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        item = svc.require_item(s, me, item_id[:64])
        (row,) = _rows(s, [item], ctx.now)
        creator = s.get(User, item.created_by_id) if item.created_by_id else None
        choices = _choices(s) if me.at_least(OrgRole.responder) else {"people": [], "teams": []}
    return render(request, ctx, "action_item.html", r=row, i=item, creator=creator,
                  types=[t.value for t in ActionType], priorities=[p.value for p in ActionPriority],
                  due_day=_local_day(item.due_at, ctx.user.time_zone), tz_name=ctx.user.time_zone or "UTC",
                  status_words=STATUS_WORDS, **choices)


@router.post("/action-items/{item_id}/edit")
def edit(request: Request, item_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    """Save the item's form: only the fields that differ from the item are sent to the service (an
    unchanged due date must not restart the reminders)."""
    with ctx.work() as (s, me):
        item = svc.require_item(s, me, item_id[:64], for_update=True)
        changes: dict[str, Any] = {}
        title = field(form, "title", max_len=300)
        if title != item.title:
            changes["title"] = title
        description = field(form, "description", required=False, max_len=20_000)
        if description != item.description.strip():
            changes["description"] = description
        for name, allowed in (("type", [t.value for t in ActionType]), ("priority", [p.value for p in ActionPriority]),
                              ("status", [st.value for st in ActionStatus])):
            value = _choice(form.get(name, getattr(item, name)), allowed, name)
            if value != getattr(item, name):
                changes[name] = value
        owner = field(form, "owner", required=False, max_len=320)
        if owner != (str(item.owner_id) if item.owner_id else ""):
            changes["owner"] = owner or None
        team = field(form, "team", required=False, max_len=64)
        current_team = s.get(Team, item.team_id) if item.team_id else None
        if team != (current_team.slug if current_team else ""):
            changes["team"] = team or None
        due = form.get("due", "").strip()
        if due != _local_day(item.due_at, ctx.user.time_zone):
            changes["due_at"] = _end_of_day(due, ctx.user.time_zone)
        svc.update_item(s, actor=me, now=ctx.now, item=item, changes=changes,
                        sync_config=sync.SyncConfig.from_settings(ctx.settings))
        ref = svc.ref(item)
    return redirect(f"/action-items/{ref}", f"{ref} saved" if changes else "Nothing changed")


@router.post("/action-items/{item_id}/status")
def set_status(request: Request, item_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    """The one-click buttons: done, won't do, re-open; back to the page the button was on."""
    status = _choice(form.get("status", ""), [st.value for st in ActionStatus], "status")
    with ctx.work() as (s, me):
        item = svc.require_item(s, me, item_id[:64], for_update=True)
        svc.update_item(s, actor=me, now=ctx.now, item=item, changes={"status": status},
                        sync_config=sync.SyncConfig.from_settings(ctx.settings))
        ref = svc.ref(item)
    words = {"done": "done", "wont_do": "closed as won't do"}.get(status, f"re-opened ({STATUS_WORDS[status]})")
    back = safe_next(form.get("next"))
    return redirect(back if back != "/" else f"/action-items/{ref}", f"{ref} {words}")
