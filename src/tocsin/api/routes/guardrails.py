"""/api/v1/incidents/{key}/guardrails: the guardrails tripped on an incident, oldest first, cleared
ones too (docs/guardrails.md). Need-to-know applies (`require_incident`: a restricted incident outside
the caller's circle is a 404)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.guardrails import service as svc
from tocsin.guardrails.rules import ABOUT, Rule
from tocsin.guardrails.schemas import TripOut
from tocsin.incidents.access import require_incident
from tocsin.schemas import Page

router = APIRouter(prefix="/api/v1", tags=["incidents"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]


@router.get("/incidents/{key}/guardrails", response_model=Page[TripOut],
            summary="The guardrails tripped on an incident (cleared ones too), oldest first")
def list_trips(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        trips = svc.tripped(s, incident.id)
    return {"items": [{"rule": t.rule, "label": ABOUT[Rule(t.rule)].label if t.rule in Rule.__members__ else t.rule,
                       "detail": t.detail, "tripped_at": t.tripped_at, "cleared_at": t.cleared_at} for t in trips],
            "next_cursor": None}
