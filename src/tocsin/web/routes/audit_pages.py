"""The audit log viewer (admins only, as the API): entries newest first, filtered by who, what and
when, a page at a time, and "Verify chain", which walks the whole hash chain (audit.verify, as
GET /api/v1/audit/verify does) and says OK or which entry is the first broken one."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.audit import service as audit
from tocsin.errors import InvalidInput
from tocsin.principal import OrgRole
from tocsin.web.auth import CtxDep, WebCtx
from tocsin.web.render import render
from tocsin.web.routes.common import parse_local

router = APIRouter(include_in_schema=False)
PAGE = 50
_DETAIL_CHARS = 300


def _filters(ctx: WebCtx, actor: str, action: str, since: str, until: str) -> audit.AuditFilter:
    tz = ctx.user.time_zone
    return audit.AuditFilter(actor=actor.strip()[:320], action=action.strip()[:64],
                             since=parse_local(since, tz, "since") if since.strip() else None,
                             until=parse_local(until, tz, "until") if until.strip() else None)


def _before(value: str) -> int | None:
    if not value.strip():
        return None
    try:
        seq = int(value)
    except ValueError:
        raise InvalidInput("before must be an entry number", details={"field": "before"}) from None
    if not 0 < seq <= 2**62:
        raise InvalidInput("before must be an entry number", details={"field": "before"})
    return seq


def _details(details: dict[str, Any]) -> str:
    text = ", ".join(f"{k}: {v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)}"
                     for k, v in sorted(details.items()))
    return text if len(text) <= _DETAIL_CHARS else text[:_DETAIL_CHARS] + "…"


def _view(request: Request, ctx: WebCtx, *, actor: str, action: str, since: str, until: str, before: str,
          verify: bool) -> Response:
    filters = _filters(ctx, actor, action, since, until)
    before_seq = _before(before)
    verification: audit.VerifyResult | None = None
    with ctx.work() as (s, me):
        me.require(OrgRole.admin, "reading the audit log")
        rows = audit.search_entries(s, actor=me, filters=filters, before_seq=before_seq, limit=PAGE + 1)
        actions = audit.action_names(s)
        if verify:
            verification = audit.verify(s)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    entries = [{"seq": e.seq, "at": e.at, "actor": e.actor_label, "action": e.action,
                "target": f"{e.target_type} {e.target_id}" if e.target_id else e.target_type,
                "details": _details(e.details or {})} for e in rows]
    query = {"actor": actor, "action": action, "since": since, "until": until}
    return render(request, ctx, "audit.html", entries=entries, actions=actions, query=query,
                  older=rows[-1].seq if more and rows else None, paged=before_seq is not None,
                  filtered=any(v.strip() for v in query.values()), verification=verification,
                  checked_at=ctx.now if verify else None)


@router.get("/audit")
def audit_page(request: Request, ctx: CtxDep, actor: str = "", action: str = "", since: str = "",
               until: str = "", before: str = "") -> Response:
    return _view(request, ctx, actor=actor, action=action, since=since, until=until, before=before, verify=False)


@router.get("/audit/verify")
def audit_verify_page(request: Request, ctx: CtxDep) -> Response:
    return _view(request, ctx, actor="", action="", since="", until="", before="", verify=True)

