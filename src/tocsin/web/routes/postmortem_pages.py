"""Console pages for postmortems, through the postmortem and status page services: start one from
the incident room, list them, and edit, review, comment on, publish and post one to a status page.

Every POST is CSRF-checked (`CsrfForm`) and a plain `def`, so its database work runs in the
threadpool. A refused action re-renders the postmortem page with the message and a 4xx status,
keeping what the user typed: a stale edit (someone saved a newer revision) answers 409 with
their text still in the editor and the current saved text beside it, so nothing is lost.
A postmortem is as visible as its incident: one the viewer may not see is a 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from tocsin.actions.service import postmortem_lines
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound, TocsinError
from tocsin.flows import postmortems as pm_flows
from tocsin.http.errors import status_for
from tocsin.http.present import users_by_id
from tocsin.incidents.access import require_incident
from tocsin.incidents.models import Incident
from tocsin.incidents.service import ref
from tocsin.incidents.types import Status as IncidentStatus
from tocsin.legal import service as legal
from tocsin.postmortems import blameless, draft, export
from tocsin.postmortems import service as svc
from tocsin.postmortems.models import Postmortem
from tocsin.principal import OrgRole, Principal
from tocsin.statuspage import service as sp
from tocsin.web import room_page
from tocsin.web.auth import CsrfForm, CtxDep, WebCtx
from tocsin.web.render import render
from tocsin.web.routes.common import field, parse_uuid, redirect

router = APIRouter(include_in_schema=False)

MOVE_LABELS = {"in_review": "Send for review", "published": "Publish", "draft": "Return to draft"}
MAX_TEXT = 200_000
_STARTABLE = (IncidentStatus.resolved.value, IncidentStatus.postmortem.value)


class _Hidden(Exception):
    """The postmortem (or its incident) does not exist for this viewer: answered as a 404 page."""


def _require_responder(ctx: WebCtx, what: str) -> None:
    if not ctx.principal.at_least(OrgRole.responder):
        raise Forbidden(f"{what} needs the responder role; viewers can only read postmortems")


def _preview(text: str) -> Markup:
    # markdown-it with raw HTML off (export's renderer): HTML in the text is escaped, `javascript:`
    # links are refused, so the result is safe to insert as markup.
    return export.render_markdown(text)


# --- starting from the room ------------------------------------------------------------------------

@router.post("/incidents/{key}/postmortem")
def start(request: Request, key: str, ctx: CtxDep, form: CsrfForm) -> Response:
    """Start the incident's postmortem; a refusal (not resolved yet, one exists) shows the room with why."""
    _require_responder(ctx, "starting a postmortem")
    try:
        with ctx.work() as (s, me):
            try:
                incident = require_incident(s, me, key[:64], for_update=True)
            except NotFound as exc:
                raise _Hidden(exc.message) from None
            pm = pm_flows.start(s, incident=incident, actor=me, now=ctx.now,
                                title=form.get("title", "")[:300] or None)
            pm_id = pm.id
    except _Hidden as exc:
        raise NotFound(str(exc)) from None
    except TocsinError as exc:
        return room_page.render_room(request, ctx, key[:64], error=exc.message, status_code=status_for(exc),
                                     form=form, action="postmortem")
    return redirect(f"/postmortems/{pm_id}", "Postmortem started: a draft was written from the incident record")


@router.get("/incidents/{key}/postmortem")
def for_incident(request: Request, key: str, ctx: CtxDep) -> Response:
    """The room's "Postmortem" link: to the postmortem if there is one, else a page offering to start it."""
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key[:64])
        pm = svc.get_for_incident(s, incident)
        if pm is not None:
            return redirect(f"/postmortems/{pm.id}")
        values: dict[str, Any] = {"ref": ref(incident), "title": incident.title, "status": incident.status,
                  "startable": incident.status in _STARTABLE and me.at_least(OrgRole.responder)}
    return render(request, ctx, "postmortem_none.html", **values)


# --- list and detail ------------------------------------------------------------------------------

@router.get("/postmortems")
def list_page(request: Request, ctx: CtxDep,
              status: Annotated[str, Query(max_length=20)] = "") -> Response:
    statuses = [x.value for x in svc.Status]
    if status and status not in statuses:
        status = ""
    flt = svc.PostmortemFilter(status=[svc.Status(status)] if status else None)
    with ctx.work() as (s, me):
        rows = [{"id": pm.id, "title": pm.title, "status": pm.status, "ref": ref(inc), "severity": inc.severity,
                 "updated_at": pm.updated_at, "published_at": pm.published_at}
                for pm, inc in svc.list_postmortems(s, principal=me, flt=flt, limit=200)]
    return render(request, ctx, "postmortems.html", rows=rows, status=status, statuses=statuses)


def _view(s: Session, me: Principal, pm: Postmortem, incident: Incident, body: str, public_text: str
          ) -> dict[str, Any]:
    """Everything the postmortem page shows; `body`/`public_text` are what the editors hold (the
    user's own text after a refused edit), and the findings and preview are of that text."""
    revs = svc.reviewers(s, [pm.id])[pm.id]
    comments = svc.comments(s, pm)
    users = users_by_id(s, [pm.created_by_id, pm.published_by_id, *(r.user_id for r in revs),
                            *(c.author_id for c in comments)])
    names = draft.people_on(s, incident)
    pages = []
    if pm.status == svc.Status.published.value and pm.public_text.strip():
        pages = [p for p in sp.list_pages(s) if sp.public_incident_for(s, page=p, incident=incident) is not None]

    def who(uid: uuid.UUID | None) -> str:
        return users[uid]["name"] if uid in users else "someone"

    return {
        "pm": pm, "incident": {"ref": ref(incident), "title": incident.title, "severity": incident.severity,
                               "status": incident.status},
        "body": body, "public_text": public_text,
        "findings": blameless.check(body, names), "public_findings": blameless.check(public_text, names),
        "preview": _preview(body),
        "reviewers": [{"name": who(r.user_id), "email": users.get(r.user_id, {}).get("email", ""),
                       "approved_at": r.approved_at, "me": r.user_id == me.user_id} for r in revs],
        "comments": [{"author": who(c.author_id), "section": c.section, "text": c.text, "at": c.created_at}
                     for c in comments],
        "moves": [(t.value, MOVE_LABELS[t.value]) for t in svc.Status if t in svc.TRANSITIONS[svc.Status(pm.status)]],
        "created_by": who(pm.created_by_id) if pm.created_by_id else None,
        "published_by": who(pm.published_by_id) if pm.published_by_id else None,
        "pages": [(p.slug, p.name) for p in pages],
        "can_act": me.at_least(OrgRole.responder),
        "action_items": postmortem_lines(s, me, incident.id),
    }


def _page(request: Request, ctx: WebCtx, pm_id: uuid.UUID, *, status_code: int = 200, error: str | None = None,
          form: dict[str, str] | None = None, failed: str | None = None, stale: bool = False) -> Response:
    """The postmortem page; after a refused action, with the error and the user's text kept."""
    form = form or {}
    with ctx.work() as (s, me):
        pm, incident = svc.require_postmortem(s, me, pm_id)
        body = form.get("body", pm.body) if failed == "edit" else pm.body
        public_text = form.get("public_text", pm.public_text) if failed == "public" else pm.public_text
        values = _view(s, me, pm, incident, body, public_text)
        saved = pm.body
    return render(request, ctx, "postmortem.html", status_code=status_code, error=error, form=form,
                  failed_action=failed, stale=stale, saved_body=saved, **values)


@router.get("/postmortems/{postmortem_id}")
def detail(request: Request, postmortem_id: str, ctx: CtxDep) -> Response:
    return _page(request, ctx, parse_uuid(postmortem_id, "postmortem"))


# --- actions --------------------------------------------------------------------------------------

Action = Callable[[Session, Principal, Postmortem, Incident, dict[str, str], WebCtx], str]


def _act(request: Request, ctx: WebCtx, postmortem_id: str, form: dict[str, str], name: str,
         action: Action) -> Response:
    """Run one action in one unit of work: 303 back with a flash, or the page again with the error."""
    pm_id = parse_uuid(postmortem_id, "postmortem")
    _require_responder(ctx, "changing a postmortem")
    try:
        with ctx.work() as (s, me):
            try:
                pm, incident = svc.require_postmortem(s, me, pm_id, for_update=True)
            except NotFound as exc:
                raise _Hidden(exc.message) from None
            flash = action(s, me, pm, incident, form, ctx)
    except _Hidden as exc:
        raise NotFound(str(exc)) from None
    except TocsinError as exc:
        stale = name == "edit" and isinstance(exc, Conflict)  # someone saved a newer revision meanwhile
        return _page(request, ctx, pm_id, status_code=status_for(exc), error=exc.message, form=form, failed=name,
                     stale=stale)
    return redirect(f"/postmortems/{pm_id}", flash)


def _text(form: dict[str, str], name: str, limit: int = MAX_TEXT) -> str:
    """A multi-line field as typed (browsers send CRLF line ends; the stored Markdown uses LF)."""
    value = form.get(name, "").replace("\r\n", "\n")
    if len(value) > limit:
        raise InvalidInput(f"{name.replace('_', ' ')} must have at most {limit} characters",
                           details={"field": name})
    return value


def _edit(s: Session, me: Principal, pm: Postmortem, incident: Incident, form: dict[str, str], ctx: WebCtx) -> str:
    raw = form.get("base_revision", "").strip()
    try:
        base = int(raw) if raw else None
    except ValueError:
        raise InvalidInput("base revision must be a number", details={"field": "base_revision"}) from None
    changes = {"body": _text(form, "body")}
    if "title" in form:
        changes["title"] = field(form, "title", max_len=300)
    svc.update(s, pm=pm, incident=incident, actor=me, now=ctx.now, changes=changes, base_revision=base)
    return f"Saved (revision {pm.revision})"


def _public(s: Session, me: Principal, pm: Postmortem, incident: Incident, form: dict[str, str],
            ctx: WebCtx) -> str:
    svc.update(s, pm=pm, incident=incident, actor=me, now=ctx.now, changes={"public_text": _text(form, "public_text")})
    return "Public text saved"


def _status(s: Session, me: Principal, pm: Postmortem, incident: Incident, form: dict[str, str],
            ctx: WebCtx) -> str:
    target = form.get("status", "").strip()
    if target not in {x.value for x in svc.Status}:
        raise InvalidInput("choose draft, in_review or published", details={"field": "status"})
    svc.update(s, pm=pm, incident=incident, actor=me, now=ctx.now, changes={"status": target})
    return {"in_review": "Sent for review", "published": "Published", "draft": "Returned to draft"}[target]


def _comment(s: Session, me: Principal, pm: Postmortem, incident: Incident, form: dict[str, str],
             ctx: WebCtx) -> str:
    svc.add_comment(s, pm=pm, incident=incident, actor=me, now=ctx.now, text=_text(form, "text", 20_000),
                    section=form.get("section", "").strip()[:64] or None)
    return "Comment added"


def _reviewers(s: Session, me: Principal, pm: Postmortem, incident: Incident, form: dict[str, str],
               ctx: WebCtx) -> str:
    keys = [k.strip() for k in form.get("reviewers", "")[:5000].replace("\n", ",").split(",") if k.strip()]
    svc.update(s, pm=pm, incident=incident, actor=me, now=ctx.now, changes={"reviewers": keys})
    return "Reviewers saved"


def _approve(s: Session, me: Principal, pm: Postmortem, incident: Incident, form: dict[str, str],
             ctx: WebCtx) -> str:
    svc.approve(s, pm=pm, incident=incident, actor=me, now=ctx.now)
    return "Approved"


def _publish_public(s: Session, me: Principal, pm: Postmortem, incident: Incident, form: dict[str, str],
                    ctx: WebCtx) -> str:
    if pm.status != svc.Status.published.value:
        raise Conflict("publish the postmortem before posting it to a status page", details={"status": pm.status})
    page = sp.require_page(s, field(form, "page", max_len=100))
    outcome = legal.publish_postmortem(s, actor=me, now=ctx.now, severities=ctx.settings.legal_gate(), postmortem=pm,
                                       page=page)
    if outcome.draft is not None:
        return f"Held for Legal: posted to {page.name} once the incident's Legal role holder approves it"
    return f"Posted to the status page {page.name}"


_ACTIONS: dict[str, Action] = {"edit": _edit, "public": _public, "status": _status, "comments": _comment,
                               "reviewers": _reviewers, "approve": _approve, "publish-public": _publish_public}


@router.post("/postmortems/{postmortem_id}/{action}")
def act(request: Request, postmortem_id: str, action: str, ctx: CtxDep, form: CsrfForm) -> Response:
    handler = _ACTIONS.get(action)
    if handler is None:
        raise NotFound(f"no such action {action[:40]!r}")
    return _act(request, ctx, postmortem_id, form, action, handler)
