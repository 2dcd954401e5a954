"""The room's "Waiting for Legal" forms: the incident's Legal role holder approves a held
communication (optionally editing its text; it is then published as approved) or rejects it with a
reason. A refused form re-renders the room with the message and a 4xx status, as the room's own
actions do; an incident outside the viewer's circle is a 404 (need-to-know)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.errors import NotFound, TocsinError
from tocsin.http.errors import status_for
from tocsin.ids import parse_uuid
from tocsin.incidents import service as incidents
from tocsin.incidents.access import require_incident
from tocsin.incidents.models import Incident
from tocsin.legal import service as legal
from tocsin.legal.models import LegalDraft
from tocsin.principal import Principal
from tocsin.web import room_page
from tocsin.web.auth import CsrfForm, CtxDep, WebCtx
from tocsin.web.routes.common import redirect

router = APIRouter(include_in_schema=False)
Decide = Callable[[Session, Principal, WebCtx, Incident, LegalDraft, dict[str, str]], str]


def _approve(s: Session, me: Principal, ctx: WebCtx, incident: Incident, draft: LegalDraft,
             form: dict[str, str]) -> str:
    legal.approve(s, actor=me, now=ctx.now, incident=incident, draft=draft, body=form.get("body"))
    return "Approved and published to the status page."


def _reject(s: Session, me: Principal, ctx: WebCtx, incident: Incident, draft: LegalDraft,
            form: dict[str, str]) -> str:
    legal.reject(s, actor=me, now=ctx.now, incident=incident, draft=draft, reason=form.get("reason", ""))
    return "Rejected: nothing was published."


_DECISIONS: dict[str, Decide] = {"approve": _approve, "reject": _reject}


@router.post("/incidents/{ref}/legal/{draft_id}/{decision}")
def decide(request: Request, ref: str, draft_id: str, decision: str, ctx: CtxDep, form: CsrfForm) -> Response:
    handler = _DECISIONS.get(decision)
    if handler is None:
        raise NotFound(f"no such decision {decision[:40]!r}")
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref, for_update=True)  # NotFound: the 404 page (need-to-know)
        room_ref = incidents.ref(incident)
    try:
        with ctx.work() as (s, me):
            incident = require_incident(s, me, ref, for_update=True)
            draft = legal.require_draft(s, incident, parse_uuid(draft_id[:64]), for_update=True)
            flash = handler(s, me, ctx, incident, draft, form)
    except TocsinError as exc:
        return room_page.render_room(request, ctx, ref, error=exc.message, status_code=status_for(exc), form=form,
                                     action="legal")
    return redirect(f"/incidents/{room_ref}", flash)
