"""The legal gate through the API: an incident's drafts held for Legal, approving and rejecting them.

A gated post (status page update or postmortem publication about a security incident) answers
202 with the draft from its own route (`routes/statuspages.py`); these routes are where the
Legal role holder decides. Need-to-know applies through the incident (404 outside its circle)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.incidents.access import require_incident
from tocsin.legal import service as legal
from tocsin.legal.schemas import ApproveIn, DraftOut, RejectIn
from tocsin.schemas import Page

router = APIRouter(prefix="/api/v1", tags=["incidents"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]
DRAFTS = "/incidents/{key}/legal-drafts"


@router.get(DRAFTS, response_model=Page[DraftOut], summary="Communications held for Legal, newest first")
def list_drafts(key: str, ctx: CtxDep,
                state: Annotated[str | None, Query(max_length=16, description="pending, published or rejected")]
                = None) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        return {"items": legal.draft_out(s, legal.list_drafts(s, incident, state=state)), "next_cursor": None}


@router.post(DRAFTS + "/{draft_id}/approve", response_model=DraftOut,
             summary="Approve a held communication and publish it as approved (the incident's Legal role holder)")
def approve(key: str, draft_id: uuid.UUID, body: ApproveIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        draft = legal.require_draft(s, incident, draft_id, for_update=True)
        legal.approve(s, actor=me, now=ctx.now, incident=incident, draft=draft, body=body.body)
        return legal.draft_out(s, [draft])[0]


@router.post(DRAFTS + "/{draft_id}/reject", response_model=DraftOut,
             summary="Reject a held communication with a reason (the incident's Legal role holder)")
def reject(key: str, draft_id: uuid.UUID, body: RejectIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        draft = legal.require_draft(s, incident, draft_id, for_update=True)
        legal.reject(s, actor=me, now=ctx.now, incident=incident, draft=draft, reason=body.reason)
        return legal.draft_out(s, [draft])[0]
