"""/api/v1/action-items: create, list, read and change action items; an incident's items, a
team's overdue items, and the tracker's incoming status updates."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from tocsin.actions import service as svc
from tocsin.actions import sync
from tocsin.actions.models import ActionItem
from tocsin.actions.schemas import (
    ActionItemIn,
    ActionItemOut,
    ActionItemPatch,
    SyncSecretOut,
    TrackerUpdateIn,
    TrackerUpdateOut,
)
from tocsin.actions.types import ACTIVE, ActionStatus
from tocsin.api import pagination
from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.audit.service import record
from tocsin.errors import Forbidden, InvalidInput
from tocsin.http.present import users_by_id
from tocsin.ids import incident_ref, parse_uuid
from tocsin.incidents.access import require_incident
from tocsin.incidents.models import Incident
from tocsin.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER
from tocsin.principal import Principal
from tocsin.problems.models import Problem
from tocsin.problems.service import problem_ref
from tocsin.schemas import Page
from tocsin.teams.models import Team
from tocsin.teams.service import require_team

router = APIRouter(prefix="/api/v1", tags=["action items"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]
ITEMS = "/action-items"
LimitQ = Annotated[int, Query(ge=1, le=500)]
CursorQ = Annotated[str | None, Query(max_length=200)]


def items_out(session: Session, items: list[ActionItem], ctx: Ctx) -> list[dict[str, Any]]:
    """Output shapes, with owners, teams, incidents and problems fetched in batches."""
    users = users_by_id(session, [i.owner_id for i in items] + [i.created_by_id for i in items])

    def fetch(model: Any, ids: set[Any]) -> dict[Any, Any]:
        ids.discard(None)
        return {r.id: r for r in session.execute(sa.select(model).where(model.id.in_(ids))).scalars()} if ids else {}

    teams = fetch(Team, {i.team_id for i in items})
    incidents = fetch(Incident, {i.incident_id for i in items})
    problems = fetch(Problem, {i.problem_id for i in items})
    out = []
    for i in items:
        team, inc, prb = teams.get(i.team_id), incidents.get(i.incident_id), problems.get(i.problem_id)
        out.append({
            "id": i.id, "ref": svc.ref(i), "number": i.number, "title": i.title, "description": i.description,
            "type": i.type, "priority": i.priority, "status": i.status,
            "owner": users.get(i.owner_id) if i.owner_id else None,
            "team": {"id": team.id, "slug": team.slug, "name": team.name} if team else None,
            "incident": {"id": inc.id, "ref": incident_ref(inc.number), "title": inc.title} if inc else None,
            "postmortem_id": i.postmortem_id,
            "problem": {"id": prb.id, "ref": problem_ref(prb), "title": prb.title} if prb else None,
            "due_at": i.due_at,
            "overdue": i.status in ACTIVE and i.due_at is not None and i.due_at < ctx.now,
            "completed_at": i.completed_at, "created_by": users.get(i.created_by_id) if i.created_by_id else None,
            "created_at": i.created_at, "updated_at": i.updated_at, "external_id": i.external_id,
            "external_url": i.external_url, "reminded_before_at": i.reminded_before_at,
            "last_reminded_at": i.last_reminded_at, "overdue_reminders": i.overdue_reminders,
        })
    return out


def _sync_config(request: Request) -> sync.SyncConfig:
    return sync.SyncConfig.from_settings(request.app.state.settings)


def _uuid(value: str, field: str) -> uuid.UUID:
    parsed = parse_uuid(value)
    if parsed is None:
        raise InvalidInput(f"{field} must be an id", details={"field": field})
    return parsed


class Filters:
    def __init__(
        self,
        status: Annotated[list[ActionStatus] | None, Query(description="Repeat to match any of several")] = None,
        owner: Annotated[str | None, Query(max_length=320, description="User id, email or \"me\"")] = None,
        team: Annotated[str | None, Query(max_length=64, description="Team slug or id")] = None,
        incident: Annotated[str | None, Query(max_length=64, description="Incident ref (INC-42) or id")] = None,
        postmortem: Annotated[str | None, Query(max_length=64, description="Postmortem id")] = None,
        problem: Annotated[str | None, Query(max_length=64, description="Problem ref (PRB-3) or id")] = None,
        overdue: Annotated[bool, Query(description="Only open or in-progress items past their due time")] = False,
    ) -> None:
        self.value = (status, owner, team, incident, postmortem, problem, overdue)

    def build(self, session: Session, me: Principal) -> svc.ActionFilter:
        status, owner, team, incident, postmortem, problem, overdue = self.value
        return svc.ActionFilter(
            status=status or None,
            owner_id=svc.resolve_user(session, me, owner, "owner").id if owner else None,
            team_id=svc.resolve_team(session, team).id if team else None,
            incident_id=svc.resolve_incident(session, me, incident).id if incident else None,
            postmortem_id=_uuid(postmortem, "postmortem") if postmortem else None,
            problem_id=svc.resolve_problem(session, problem).id if problem else None,
            overdue=overdue)


@router.post(ITEMS, status_code=201, response_model=ActionItemOut, summary="Create an action item")
def create(body: ActionItemIn, ctx: CtxDep, request: Request) -> dict[str, Any]:
    spec = svc.ActionSpec(**body.model_dump())
    with ctx.work() as (s, me):
        item = svc.create_item(s, actor=me, now=ctx.now, spec=spec, sync_config=_sync_config(request))
        return items_out(s, [item], ctx)[0]


@router.get(ITEMS, response_model=Page[ActionItemOut], summary="List action items, newest first")
def list_items(ctx: CtxDep, filters: Annotated[Filters, Depends()], limit: LimitQ = 50,
               cursor: CursorQ = None) -> dict[str, Any]:
    before = pagination.decode_id(cursor)
    with ctx.work() as (s, me):
        rows = svc.list_items(s, principal=me, flt=filters.build(s, me), now=ctx.now, before=before,
                              limit=limit + 1)
        page, more = pagination.split_page(rows, limit)
        return {"items": items_out(s, page, ctx),
                "next_cursor": pagination.encode(str(page[-1].id)) if more else None}


@router.post(f"{ITEMS}/sync", response_model=TrackerUpdateOut,
             summary="Take a status update from the outside tracker (incoming sync)")
def tracker_update(body: TrackerUpdateIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        item = svc.find_for_tracker(s, principal=me, key=body.id or body.ref, external_id=body.external_id)
        item, changed = svc.apply_tracker_update(s, actor=me, now=ctx.now, item=item, status=body.status,
                                                 external_id=body.external_id, external_url=body.external_url)
        return {"changed": changed, "action_item": items_out(s, [item], ctx)[0]}


@router.get(f"{ITEMS}/sync-secret", response_model=SyncSecretOut,
            summary="The tracker webhook's address and signing secret (admin)")
def sync_secret(ctx: CtxDep, request: Request) -> dict[str, Any]:
    st = request.app.state.settings
    with ctx.work() as (s, me):
        if not me.is_admin:
            raise Forbidden("reading the tracker signing secret needs the admin role",
                            details={"required_role": "admin"})
        # who was handed the secret, and when: it lets them forge tracker-bound deliveries
        record(s, actor=me, action="action_item.sync_secret_read", target_type="action_sync", target_id=None,
               now=ctx.now, details={"url": st.action_sync_url})
        return {"url": st.action_sync_url, "secret": sync.signing_secret(st.resolved_secret_key()),
                "signature_header": SIGNATURE_HEADER, "timestamp_header": TIMESTAMP_HEADER}


@router.get(f"{ITEMS}/{{item_id}}", response_model=ActionItemOut,
            summary="Get one action item by id or ref (ACT-12)")
def get_item(item_id: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return items_out(s, [svc.require_item(s, me, item_id)], ctx)[0]


@router.patch(f"{ITEMS}/{{item_id}}", response_model=ActionItemOut,
              summary="Change an action item (status, owner, due date, ...)")
def patch_item(item_id: str, body: ActionItemPatch, ctx: CtxDep, request: Request) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    with ctx.work() as (s, me):
        item = svc.require_item(s, me, item_id, for_update=True)
        item = svc.update_item(s, actor=me, now=ctx.now, item=item, changes=changes,
                               sync_config=_sync_config(request))
        return items_out(s, [item], ctx)[0]


@router.get("/incidents/{key}/action-items", response_model=Page[ActionItemOut], tags=["incidents"],
            summary="The incident's action items, newest first")
def incident_items(key: str, ctx: CtxDep, limit: LimitQ = 50, cursor: CursorQ = None) -> dict[str, Any]:
    before = pagination.decode_id(cursor)
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        rows = svc.list_items(s, principal=me, flt=svc.ActionFilter(incident_id=incident.id), now=ctx.now,
                              before=before, limit=limit + 1)
        page, more = pagination.split_page(rows, limit)
        return {"items": items_out(s, page, ctx),
                "next_cursor": pagination.encode(str(page[-1].id)) if more else None}


@router.get("/teams/{key}/action-items/overdue", response_model=Page[ActionItemOut], tags=["teams"],
            summary="The team's overdue action items, longest overdue first")
def team_overdue(key: str, ctx: CtxDep, limit: LimitQ = 50, cursor: CursorQ = None) -> dict[str, Any]:
    after = pagination.decode_time_id(cursor)
    with ctx.work() as (s, me):
        team = require_team(s, key)
        rows = svc.list_overdue(s, principal=me, team=team, now=ctx.now, after=after, limit=limit + 1)
        page, more = pagination.split_page(rows, limit)
        last = page[-1] if more else None
        # every overdue item has a due date (list_overdue selects due_at < now)
        return {"items": items_out(s, page, ctx),
                "next_cursor": pagination.encode(last.due_at.isoformat(), str(last.id))
                if last and last.due_at else None}
