"""/api/v1 routes for postmortems: start from an incident, read, edit, review, comment, approve,
export; and the templates new postmortems are drafted from."""

from __future__ import annotations

import dataclasses
import uuid
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.actions.service import postmortem_lines
from tocsin.api import pagination
from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.errors import Conflict, NotFound
from tocsin.flows import postmortems as pm_flows
from tocsin.http.present import users_by_id
from tocsin.incidents.access import require_incident
from tocsin.incidents.models import Incident
from tocsin.incidents.service import ref
from tocsin.postmortems import blameless, draft, export, templates
from tocsin.postmortems import service as svc
from tocsin.postmortems.models import Postmortem
from tocsin.postmortems.schemas import (
    CommentIn,
    CommentOut,
    PostmortemOut,
    PostmortemPatch,
    PostmortemRevisionOut,
    PostmortemStart,
    PostmortemSummaryOut,
    ReviewerOut,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
)
from tocsin.reports.page import CSP
from tocsin.schemas import Page

router = APIRouter(prefix="/api/v1", tags=["postmortems"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]


def _brief(incident: Incident) -> dict[str, Any]:
    return {"id": incident.id, "ref": ref(incident), "title": incident.title, "severity": incident.severity,
            "status": incident.status}


def _summary(pm: Postmortem, incident: Incident) -> dict[str, Any]:
    return {"id": pm.id, "incident": _brief(incident), "title": pm.title, "status": pm.status,
            "revision": pm.revision, "created_at": pm.created_at, "updated_at": pm.updated_at,
            "published_at": pm.published_at}


def _findings(text: str, names: list[str]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(f) for f in blameless.check(text, names)]


def _out(s: Session, pm: Postmortem, incident: Incident) -> dict[str, Any]:
    revs = svc.reviewers(s, [pm.id])[pm.id]
    users = users_by_id(s, [pm.created_by_id, pm.published_by_id, *(r.user_id for r in revs)])
    names = draft.people_on(s, incident)
    return {
        **_summary(pm, incident), "template_id": pm.template_id, "body": pm.body, "public_text": pm.public_text,
        "review_meeting_at": pm.review_meeting_at,
        "reviewers": [{"user": users[r.user_id], "added_at": r.added_at, "approved_at": r.approved_at} for r in revs],
        "created_by": users.get(pm.created_by_id) if pm.created_by_id else None, "in_review_at": pm.in_review_at,
        "published_by": users.get(pm.published_by_id) if pm.published_by_id else None,
        "language_findings": _findings(pm.body, names),
        "public_language_findings": _findings(pm.public_text, names),
    }


@router.post("/incidents/{key}/postmortem", status_code=201, response_model=PostmortemOut,
             summary="Start the incident's postmortem (a resolved incident moves to postmortem); returns the draft")
def start(key: str, ctx: CtxDep, body: PostmortemStart | None = None) -> dict[str, Any]:
    body = body or PostmortemStart()
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        pm = pm_flows.start(s, incident=incident, actor=me, now=ctx.now, template_id=body.template_id,
                            title=body.title)
        return _out(s, pm, incident)


@router.get("/incidents/{key}/postmortem", response_model=PostmortemOut, summary="The incident's postmortem")
def get_for_incident(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        pm = svc.get_for_incident(s, incident)
        if pm is None:
            raise NotFound(f"{ref(incident)} has no postmortem yet", details={"incident": ref(incident)})
        return _out(s, pm, incident)


@router.get("/postmortems", response_model=Page[PostmortemSummaryOut],
            summary="Postmortems of the incidents you may see, newest first")
def list_postmortems(ctx: CtxDep,
                     status: Annotated[list[svc.Status] | None, Query(description="Repeat to match any")] = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 50,
                     cursor: Annotated[str | None, Query(max_length=200)] = None) -> dict[str, Any]:
    before = pagination.decode_id(cursor)
    with ctx.work() as (s, me):
        rows = svc.list_postmortems(s, principal=me, flt=svc.PostmortemFilter(status=status), before=before,
                                    limit=limit + 1)
        page, more = pagination.split_page(rows, limit)
        return {"items": [_summary(pm, inc) for pm, inc in page],
                "next_cursor": pagination.encode(str(page[-1][0].id)) if more else None}


@router.get("/postmortems/{postmortem_id}", response_model=PostmortemOut, summary="One postmortem")
def get_postmortem(postmortem_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        pm, incident = svc.require_postmortem(s, me, postmortem_id)
        return _out(s, pm, incident)


@router.patch("/postmortems/{postmortem_id}", response_model=PostmortemOut,
              summary="Edit title, body, public text, reviewers, review meeting or status")
def patch_postmortem(postmortem_id: uuid.UUID, body: PostmortemPatch, ctx: CtxDep) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    base = changes.pop("base_revision", None)
    with ctx.work() as (s, me):
        pm, incident = svc.require_postmortem(s, me, postmortem_id, for_update=True)
        svc.update(s, pm=pm, incident=incident, actor=me, now=ctx.now, changes=changes, base_revision=base)
        return _out(s, pm, incident)


@router.get("/postmortems/{postmortem_id}/revisions", response_model=Page[PostmortemRevisionOut],
            summary="Every body the postmortem has had, oldest first")
def get_revisions(postmortem_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        pm, _incident = svc.require_postmortem(s, me, postmortem_id)
        rows = svc.revisions(s, pm)
        users = users_by_id(s, [r.edited_by_id for r in rows])
        return {"items": [{"revision": r.revision, "body": r.body, "edited_at": r.edited_at,
                 "edited_by": users.get(r.edited_by_id) if r.edited_by_id else None} for r in rows]}


def _comments_out(s: Session, rows: list[Any]) -> list[dict[str, Any]]:
    users = users_by_id(s, [c.author_id for c in rows])
    return [{"id": c.id, "author": users.get(c.author_id) if c.author_id else None, "section": c.section,
             "text": c.text, "created_at": c.created_at} for c in rows]


@router.get("/postmortems/{postmortem_id}/comments", response_model=Page[CommentOut], summary="Review comments")
def get_comments(postmortem_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        pm, _incident = svc.require_postmortem(s, me, postmortem_id)
        return {"items": _comments_out(s, svc.comments(s, pm))}


@router.post("/postmortems/{postmortem_id}/comments", status_code=201, response_model=CommentOut,
             summary="Comment on the postmortem or one of its sections")
def add_comment(postmortem_id: uuid.UUID, body: CommentIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        pm, incident = svc.require_postmortem(s, me, postmortem_id)
        comment = svc.add_comment(s, pm=pm, incident=incident, actor=me, now=ctx.now, text=body.text,
                                  section=body.section)
        return _comments_out(s, [comment])[0]


@router.post("/postmortems/{postmortem_id}/approve", response_model=ReviewerOut,
             summary="Approve as one of its reviewers (recorded; publishing does not wait for it)")
def approve(postmortem_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        pm, incident = svc.require_postmortem(s, me, postmortem_id, for_update=True)
        row = svc.approve(s, pm=pm, incident=incident, actor=me, now=ctx.now)
        return {"user": users_by_id(s, [row.user_id])[row.user_id], "added_at": row.added_at,
                "approved_at": row.approved_at}


class ExportFormat(StrEnum):
    markdown = "markdown"
    html = "html"


class ExportVersion(StrEnum):
    internal = "internal"
    public = "public"


@router.get("/postmortems/{postmortem_id}/export", response_class=Response,
            summary="Export as Markdown or as PDF-ready HTML; version=public exports the public text only",
            responses={200: {"content": {"text/markdown": {}, "text/html": {}}}})
def export_postmortem(postmortem_id: uuid.UUID, ctx: CtxDep, format: ExportFormat = ExportFormat.markdown,
                      version: ExportVersion = ExportVersion.internal) -> Response:
    with ctx.work() as (s, me):
        pm, incident = svc.require_postmortem(s, me, postmortem_id)
        public = version == ExportVersion.public
        if public and not pm.public_text.strip():
            raise Conflict("this postmortem has no public text yet: set public_text first",
                           details={"field": "public_text"})
        if public:  # customer-facing: nothing internal, not even the postmortem's or the incident's title
            title, text = export.public_heading(pm.public_text, incident.impact_started_at or incident.detected_at)
            doc = export.ExportDoc(title=title, incident_ref=ref(incident), incident_title="", status=pm.status,
                                   revision=pm.revision, published_at=pm.published_at, text=text, public=True)
        else:
            doc = export.ExportDoc(title=pm.title, incident_ref=ref(incident), incident_title=incident.title,
                                   status=pm.status, revision=pm.revision, published_at=pm.published_at,
                                   text=pm.body, public=False,
                                   action_items=tuple(postmortem_lines(s, me, incident.id)))
    name = f"{doc.incident_ref}-postmortem{'-public' if public else ''}"
    if format == ExportFormat.html:
        # Served inline from the API origin: the CSP keeps the browser from loading anything the
        # Markdown points at (an image URL would otherwise be fetched by whoever opens the page).
        return Response(export.to_html(doc), media_type="text/html; charset=utf-8",
                        headers={"Content-Disposition": f'inline; filename="{name}.html"',
                                 "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                                 "Referrer-Policy": "no-referrer"})
    return Response(export.to_markdown(doc), media_type="text/markdown; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.md"'})


# --- templates -----------------------------------------------------------------------------------

@router.get("/postmortem-templates", response_model=Page[TemplateOut], summary="Postmortem templates")
def list_templates(ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return {"items": list(templates.list_templates(s, now=ctx.now))}


@router.post("/postmortem-templates", status_code=201, response_model=TemplateOut,
             summary="Create a template (admins)")
def create_template(body: TemplateIn, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        return templates.create_template(s, actor=me, now=ctx.now, name=body.name,
                                         sections=[x.model_dump() for x in body.sections],
                                         is_default=body.is_default)


@router.get("/postmortem-templates/{template_id}", response_model=TemplateOut, summary="One template")
def get_template(template_id: uuid.UUID, ctx: CtxDep) -> Any:
    with ctx.work() as (s, _me):
        return templates.require_template(s, template_id)


@router.patch("/postmortem-templates/{template_id}", response_model=TemplateOut,
              summary="Change a template's name, sections or make it the default (admins)")
def patch_template(template_id: uuid.UUID, body: TemplatePatch, ctx: CtxDep) -> Any:
    changes = body.model_dump(exclude_unset=True)
    with ctx.work() as (s, me):
        template = templates.require_template(s, template_id)
        return templates.update_template(s, actor=me, now=ctx.now, template=template, changes=changes)
