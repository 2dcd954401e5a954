"""/api/v1/exercises: scored exercises and game days (issue 19).

Admins start and finish runs (they create a drill service, policy, key and auto-incident rule) and
fire injects, as may the person who started a run; responders read runs and scores. Start and
finish are audited. Alerts of a live run go through the real ingest endpoint with the key returned
at start (`POST /v2/enqueue`); every other inject through `POST /exercises/{id}/injects/{n}`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.errors import InvalidInput
from tocsin.exercises import scenario as scenarios
from tocsin.exercises import service as svc
from tocsin.exercises import views
from tocsin.exercises.scenario import Participant
from tocsin.net.policy import user_policy
from tocsin.principal import OrgRole
from tocsin.schemas import StrictIn

router = APIRouter(prefix="/api/v1", tags=["exercises"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]


class ParticipantIn(StrictIn):
    email: str = Field(max_length=320)
    role: str = Field(default="responder", max_length=32)


class StartIn(StrictIn):
    scenario: str | None = Field(default=None, max_length=scenarios.MAX_TEXT, description="the scenario's YAML")
    shipped: str | None = Field(default=None, max_length=64, description="or the name of a shipped scenario")
    mode: str | None = Field(default=None, pattern="^(live|tabletop)$", description="override the scenario's mode")
    participants: list[ParticipantIn] | None = Field(default=None, max_length=50,
                                                     description="override the scenario's participants")
    speed: float = Field(default=1.0, ge=1, le=3600, description="compress time N-fold (demos, tests)")


class InjectIn(StrictIn):
    delivered: bool = Field(default=False, description="the caller sent this alert through the ingest endpoint itself")
    status_code: int | None = Field(default=None, ge=100, le=599, description="what the ingest endpoint answered")


def _text(body: StartIn) -> str:
    if (body.scenario is None) == (body.shipped is None):
        raise InvalidInput("give either scenario (YAML) or shipped (a shipped scenario's name)",
                           details={"field": "scenario"})
    return body.scenario if body.scenario is not None else scenarios.shipped(body.shipped or "")


@router.get("/exercises/schema", summary="The JSON Schema of exercise scenarios")
def schema(ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (_s, me):
        me.require(OrgRole.viewer, "reading the scenario schema")
        return scenarios.schema()


@router.get("/exercises/scenarios", summary="The shipped scenarios (name and YAML)")
def shipped(ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (_s, me):
        me.require(OrgRole.responder, "reading exercises")
        return {"items": [{"name": n, "scenario": scenarios.shipped(n)} for n in scenarios.SHIPPED]}


@router.get("/exercises", summary="Exercise runs, newest first")
def list_(ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        me.require(OrgRole.responder, "reading exercises")
        return {"items": [views.summary(s, me, r, ctx.now) for r in svc.list_exercises(s)], "next_cursor": None}


@router.post("/exercises", status_code=201, summary="Start an exercise (admin); the drill key is shown once")
def start(body: StartIn, ctx: CtxDep, request: Request) -> dict[str, Any]:
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "starting exercises")
        people = [Participant(p.email.lower(), p.role) for p in body.participants] if body.participants else None
        started = svc.start(s, actor=me, now=ctx.now, text=_text(body), mode=body.mode, participants=people,
                            speed=body.speed, policy=user_policy(request.app.state.settings))
        return {**views.detail(s, me, started.exercise, ctx.now), "integration_key": started.key,
                "ingest_path": "/v2/enqueue" if started.key else None}


@router.get("/exercises/{exercise_id}", summary="A run: injects, participants, events, score so far")
def get(exercise_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        me.require(OrgRole.responder, "reading exercises")
        return views.detail(s, me, svc.require_exercise(s, exercise_id), ctx.now)


@router.get("/exercises/{exercise_id}/score", summary="A run's score (final once finished)")
def score(exercise_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        me.require(OrgRole.responder, "reading exercises")
        run = svc.require_exercise(s, exercise_id)
        return {"id": run.id, "name": run.name, "status": run.status,
                **(run.score or svc.current_score(s, run, ctx.now).as_dict())}


@router.post("/exercises/{exercise_id}/injects/{n}", summary="Fire inject n (counted from 0), once")
def inject(exercise_id: uuid.UUID, n: int, ctx: CtxDep, request: Request, body: InjectIn | None = None) -> dict[str, Any]:
    body = body or InjectIn()
    with ctx.work() as (s, me):
        run = svc.require_exercise(s, exercise_id, for_update=True)
        row = svc.fire(s, actor=me, now=ctx.now, run=run, n=n, delivered=body.delivered, status_code=body.status_code,
                       policy=user_policy(request.app.state.settings))
        return {"n": row.n, "at": row.at, "text": row.text, "data": row.data,
                "progress": views.summary(s, me, run, ctx.now)["progress"]}


@router.post("/exercises/{exercise_id}/advance", summary="Tabletop: fire the next inject by hand")
def advance(exercise_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        run = svc.require_exercise(s, exercise_id, for_update=True)
        row = svc.advance_tabletop(s, actor=me, now=ctx.now, run=run)
        return {"n": row.n, "at": row.at, "text": row.text, "data": row.data}


@router.post("/exercises/{exercise_id}/finish", summary="Finish and score a run (admin or its starter)")
def finish(exercise_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        run = svc.require_exercise(s, exercise_id, for_update=True)
        svc.finish(s, actor=me, now=ctx.now, run=run)
        return views.detail(s, me, run, ctx.now)
