"""/api/v1/incidents/{key}/responders: page people, teams or schedules' on-call into a running
incident ("add responders") and read who was asked and what they answered."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy.orm import Session

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.escalation import responders
from tocsin.flows import incidents as flows
from tocsin.http.present import users_by_id
from tocsin.incidents.access import require_incident
from tocsin.schemas import Out, StrictIn
from tocsin.users.schemas import UserRef
from tocsin.wake import ring

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]


class TargetIn(StrictIn):
    kind: Literal["user", "team", "schedule"]
    key: str = Field(min_length=1, max_length=320, description="User id or email; team or schedule id or slug")


class RespondersIn(StrictIn):
    targets: list[TargetIn] = Field(min_length=1, max_length=responders.MAX_TARGETS)
    message: str = Field("", max_length=responders.MAX_MESSAGE, description="Why they are needed (in the page)")


class ResponderRequestOut(Out):
    id: uuid.UUID
    user: UserRef
    via: str
    message: str
    requested_by: UserRef | None
    requested_at: datetime
    status: Literal["pending", "acknowledged", "declined"]
    answered_at: datetime | None


class RespondersOut(Out):
    items: list[ResponderRequestOut]
    next_cursor: str | None = Field(None, description="Always null: every request is listed")
    skipped: list[str] = Field(default_factory=list, description="People left out, and why")


def requests_out(s: Session, incident_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = responders.requests_of(s, incident_id)
    users = users_by_id(s, [r.user_id for r in rows] + [r.requested_by_id for r in rows])
    return [{"id": r.id, "user": users[r.user_id], "via": r.via, "message": r.message,
             "requested_by": users.get(r.requested_by_id) if r.requested_by_id else None,
             "requested_at": r.requested_at, "status": r.status, "answered_at": r.answered_at}
            for r in rows if r.user_id in users]


@router.post("/{key}/responders", status_code=201, response_model=RespondersOut,
             summary="Add responders: page a person, a team or a schedule's on-call into a running incident")
def add_responders(key: str, body: RespondersIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        outcome = flows.add_responders(s, incident=incident, actor=me, now=ctx.now, message=body.message,
                                       targets=[responders.Target(t.kind, t.key) for t in body.targets])
        out = {"items": requests_out(s, incident.id), "skipped": outcome.skipped}
    ring()  # the engine in this process sends the pages now
    return out


@router.get("/{key}/responders", response_model=RespondersOut,
            summary="Who was asked to respond, and their replies (pending, acknowledged, declined)")
def list_responders(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return {"items": requests_out(s, require_incident(s, me, key).id), "skipped": []}
