"""Health checks (no auth) and the audit log (admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tocsin.api import pagination
from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.audit import service as audit
from tocsin.errors import InvalidInput
from tocsin.principal import OrgRole
from tocsin.schemas import Page, UTCInput

router = APIRouter()
CtxDep = Annotated[Ctx, Depends(context)]


class AuditEntryOut(BaseModel):
    seq: int
    at: Any
    actor_label: str
    action: str
    target_type: str
    target_id: str | None
    details: dict[str, Any]
    hash: str


class AuditVerifyOut(BaseModel):
    ok: bool
    entries: int
    head_seq: int = Field(description="The newest entry's sequence number")
    head_hash: str
    keyed_from: int = Field(description="Entries up to this one predate the keyed chain (plain SHA-256); "
                                        "every later one is an HMAC under the audit key")
    problems: list[str]


@router.get("/healthz", tags=["health"], summary="The process is up (no database check, no auth)")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["health"], summary="The database answers (no auth)",
            responses={503: {"description": "database unreachable"}})
def readyz(request: Request) -> Any:
    if request.app.state.db.ping():
        return {"status": "ready"}
    return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, status_code=503)


@router.get("/api/v1/audit", response_model=Page[AuditEntryOut], tags=["audit"], responses=ERROR_RESPONSES,
            summary="Audit log entries after a sequence number (admin)")
def list_audit(ctx: CtxDep, after: Annotated[int, Query(ge=0, le=2**62)] = 0,
               limit: Annotated[int, Query(ge=1, le=500)] = 100,
               cursor: Annotated[str | None, Query(max_length=100, description="next_cursor of a previous page "
                                                   "(instead of `after`)")] = None,
               actor: Annotated[str, Query(max_length=320, description="Part of the actor's email or label")] = "",
               action: Annotated[str, Query(max_length=64, description="An action, or its prefix (`silence`)")] = "",
               since: Annotated[UTCInput | None, Query(description="Entries at or after this time")] = None,
               until: Annotated[UTCInput | None, Query(description="Entries before this time")] = None) -> Any:
    if cursor is not None:
        (text,) = pagination.decode(cursor, 1)
        if not (text.isascii() and text.isdigit() and len(text) < 19):
            raise InvalidInput("invalid cursor", details={"field": "cursor"})
        after = int(text)
    filters = audit.AuditFilter(actor=actor.strip(), action=action.strip(), since=since, until=until)
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "reading the audit log")
        rows, more = pagination.split_page(audit.list_entries(s, after_seq=after, limit=limit + 1, filters=filters),
                                           limit)
        return {"items": [AuditEntryOut.model_validate(e, from_attributes=True) for e in rows],
                "next_cursor": pagination.encode(str(rows[-1].seq)) if more else None}


@router.get("/api/v1/audit/verify", response_model=AuditVerifyOut, tags=["audit"], responses=ERROR_RESPONSES,
            summary="Check the audit hash chain (admin)")
def verify_audit(ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "verifying the audit log")
        r = audit.verify(s)
        return {"ok": r.ok, "entries": r.entries, "head_seq": r.head_seq, "head_hash": r.head_hash,
                "keyed_from": r.keyed_from, "problems": r.problems}
