"""/api/v1/handbooks (role handbooks: everyone reads, admins edit or reset) and /api/v1/ic-bench
(who is trained for a role and the exercises they passed: everyone reads, admins mark)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.handbooks import bench
from tocsin.handbooks import service as handbooks
from tocsin.handbooks.schemas import BenchOut, HandbookIn, HandbookOut, TrainedIn
from tocsin.incidents.types import Role
from tocsin.principal import OrgRole
from tocsin.users.service import require_user

router = APIRouter(prefix="/api/v1", tags=["roles"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]


def _out(h: handbooks.Handbook) -> dict[str, Any]:
    return {"role": h.role, "label": h.label, "body_md": h.body_md, "html": str(h.html), "edited": h.edited,
            "updated_at": h.updated_at, "updated_by": h.updated_by}


@router.get("/handbooks", response_model=list[HandbookOut], summary="Every role's handbook")
def list_handbooks(ctx: CtxDep) -> list[dict[str, Any]]:
    with ctx.work() as (s, _me):
        return [_out(h) for h in handbooks.list_all(s)]


@router.get("/handbooks/{role}", response_model=HandbookOut, summary="A role's handbook")
def get_handbook(role: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return _out(handbooks.get(s, handbooks.role_of(role)))


@router.put("/handbooks/{role}", response_model=HandbookOut, summary="Replace a role's handbook (admin)")
def put_handbook(role: str, body: HandbookIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return _out(handbooks.put(s, role=handbooks.role_of(role), body_md=body.body_md, actor=me, now=ctx.now))


@router.delete("/handbooks/{role}", response_model=HandbookOut,
               summary="Go back to the shipped handbook (admin); returns it")
def reset_handbook(role: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return _out(handbooks.reset(s, role=handbooks.role_of(role), actor=me, now=ctx.now))


def _bench_out(row: bench.BenchRow, role: Role) -> dict[str, Any]:
    u = row.user
    return {"user": {"id": u.id, "name": u.name, "email": u.email}, "role": role, "trained": row.trained,
            "trained_at": row.trained_at,
            "exercises_passed": [{"exercise_id": c.exercise_id, "name": c.name, "score": c.score, "at": c.at}
                                 for c in row.passed]}


def _row_of(s: Session, role: Role, user_id: Any) -> bench.BenchRow:
    found = next((r for r in bench.bench(s, role) if r.user.id == user_id), None)
    if found is None:
        user = require_user(s, user_id)
        return bench.BenchRow(user, False, None)
    return found


@router.get("/ic-bench", response_model=list[BenchOut],
            summary="People trained for a role (default Incident Commander) or who passed an exercise in it")
def get_bench(ctx: CtxDep, role: Annotated[Role, Query()] = Role.incident_commander) -> list[dict[str, Any]]:
    with ctx.work() as (s, _me):
        return [_bench_out(r, role) for r in bench.bench(s, role)]


@router.put("/ic-bench/{user}", response_model=BenchOut, summary="Mark a person trained (or not) for a role (admin)")
def put_bench(user: str, body: TrainedIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "marking people trained")  # before the lookup: a 404 would say who exists
        person = require_user(s, user)
        bench.set_trained(s, user=person, role=body.role, trained=body.trained, actor=me, now=ctx.now)
        return _bench_out(_row_of(s, body.role, person.id), body.role)
