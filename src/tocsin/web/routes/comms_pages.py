"""Console: the room's Communication panel (POST /incidents/{ref}/comms/compose and /update), the
template editor (/configure/comms, admins edit, with a preview on a sample incident) and the
stakeholder subscriptions page (/stakeholders: yourself or your teams).

Need-to-know first (`require_incident`), then the comms service's rules. A refused update shows the
room again with the text kept and the reason; a template that does not render is refused with 422.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.comms import service as comms
from tocsin.comms import stakeholders
from tocsin.comms import templates as tpl
from tocsin.comms.render import RenderError, render, sample
from tocsin.comms.types import CHANNEL_LABELS, Audience, Channel, TemplateKind
from tocsin.errors import InvalidInput, TocsinError
from tocsin.http.errors import status_for
from tocsin.incidents.access import require_incident
from tocsin.incidents.service import ref as incident_ref
from tocsin.principal import OrgRole
from tocsin.services.models import Service
from tocsin.severities import Severity
from tocsin.teams.models import Team, TeamMember
from tocsin.web import room_page
from tocsin.web.auth import CsrfForm, CtxDep
from tocsin.web.render import render as render_page
from tocsin.web.routes.common import field, parse_uuid, redirect

router = APIRouter(include_in_schema=False)


# --- the room's panel --------------------------------------------------------------------------

@router.post("/incidents/{ref}/comms/compose")
def compose(request: Request, ref: str, ctx: CtxDep, form: CsrfForm) -> Response:
    """Fill a template: an internal one into the panel's update box, a status page or customer one into
    the room's public-update form (posted from there, through the status page service)."""
    ctx.principal.require(OrgRole.responder, "writing incident updates")
    slug = field(form, "template", max_len=64)
    with ctx.work() as (s, me):
        incident = require_incident(s, me, ref[:64])
        row = tpl.get(s, slug, ctx.now)
        filled = comms.fill(s, incident, slug, now=ctx.now, settings=ctx.settings)
        key = incident_ref(incident)
    if row.channel == Channel.internal.value:
        return room_page.render_room(request, ctx, key, flash=f"Filled in from “{row.name}”: check it, then post.",
                                     form={"text": filled.body, "subject": filled.subject, "template": slug},
                                     action="comms")
    return room_page.render_room(request, ctx, key, flash=f"Filled in from “{row.name}”: check it, then post it "
                                                          "as a public update.",
                                 form={"title": filled.subject, "body": filled.body}, action="public")


@router.post("/incidents/{ref}/comms/update")
def post_update(request: Request, ref: str, ctx: CtxDep, form: CsrfForm) -> Response:
    ctx.principal.require(OrgRole.responder, "posting incident updates")
    try:
        text = form.get("text", "")
        if len(text) > 20_000:
            raise InvalidInput("an update may have at most 20000 characters", details={"field": "text"})
        audience = form.get("audience", Audience.responders.value)
        with ctx.work() as (s, me):
            incident = require_incident(s, me, ref[:64], for_update=True)
            posted = comms.post_update(s, incident=incident, actor=me, now=ctx.now, text=text, audience=audience,
                                       settings=ctx.settings, subject=field(form, "subject", required=False,
                                                                            max_len=300) or None)
            key = incident_ref(incident)
    except TocsinError as exc:
        if exc.code == "not_found" and "incident" in exc.details:
            raise
        return room_page.render_room(request, ctx, ref[:64], error=exc.message, status_code=status_for(exc),
                                     form=dict(form), action="comms")
    if posted.spared:
        flash = f"Update posted (a drill: not sent to {posted.spared} stakeholders)."
    elif audience == Audience.stakeholders.value:
        flash = f"Update posted and sent to {posted.sent} stakeholder{'s' if posted.sent != 1 else ''}."
    else:
        flash = "Update posted."
    return redirect(f"/incidents/{key}#comms", flash)


# --- templates (/configure/comms) --------------------------------------------------------------

def _input(form: dict[str, str]) -> tpl.TemplateInput:
    return tpl.TemplateInput(slug=field(form, "slug", max_len=64), name=field(form, "name", max_len=120),
                             channel=field(form, "channel", max_len=20),
                             severities=[x for x in form.get("severities", "").replace(" ", ",").split(",") if x],
                             kind=field(form, "kind", max_len=20), subject=field(form, "subject", max_len=300),
                             body=field(form, "body", max_len=20_000))


def _preview(subject: str, body: str) -> dict[str, str]:
    try:
        out = render(subject, body, sample())
        return {"subject": out.subject, "body": out.body}
    except RenderError as exc:
        return {"error": str(exc)}


def _templates_page(request: Request, ctx: Any, *, form: dict[str, str] | None = None, preview: Any = None,
                    editing: str | None = None, status_code: int = 200, error: str | None = None) -> Response:
    with ctx.work() as (s, _me):
        rows = [{"id": str(t.id), "slug": t.slug, "name": t.name, "channel": t.channel,
                 "channel_label": CHANNEL_LABELS[Channel(t.channel)], "severities": ", ".join(t.severities),
                 "kind": t.kind, "subject": t.subject, "body": t.body, "preview": _preview(t.subject, t.body)}
                for t in tpl.list_templates(s, ctx.now)]
    return render_page(request, ctx, "comms_templates.html", status_code=status_code, error=error, templates=rows,
                       can_edit=ctx.principal.is_admin, channels=[(c.value, CHANNEL_LABELS[c]) for c in Channel],
                       kinds=[k.value for k in TemplateKind], form=form or {}, preview=preview, editing=editing)


@router.get("/configure/comms")
def templates_page(request: Request, ctx: CtxDep) -> Response:
    return _templates_page(request, ctx)


@router.post("/configure/comms")
def create_template(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    """Create, or with `preview=1` show the filled sample without saving."""
    ctx.principal.require(OrgRole.admin, "editing communication templates")
    if form.get("preview") == "1":
        return _templates_page(request, ctx, form=dict(form), editing="new",
                               preview=_preview(form.get("subject", ""), form.get("body", "")))
    try:
        with ctx.work() as (s, me):
            tpl.create(s, _input(form), actor=me, now=ctx.now)
    except (InvalidInput, TocsinError) as exc:
        return _templates_page(request, ctx, form=dict(form), editing="new", error=exc.message,
                               status_code=status_for(exc))
    return redirect("/configure/comms", "Template created.")


@router.post("/configure/comms/{template_id}")
def update_template(request: Request, template_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    """Save, preview (`preview=1`) or delete (`delete=1`) a template."""
    ctx.principal.require(OrgRole.admin, "editing communication templates")
    tid = parse_uuid(template_id, "communication template")
    if form.get("preview") == "1":
        return _templates_page(request, ctx, form=dict(form), editing=str(tid),
                               preview=_preview(form.get("subject", ""), form.get("body", "")))
    try:
        with ctx.work() as (s, me):
            row = tpl.get(s, tid, ctx.now)
            if form.get("delete") == "1":
                tpl.delete(s, row, actor=me, now=ctx.now)
                return redirect("/configure/comms", "Template deleted.")
            tpl.update(s, row, _input(form), actor=me, now=ctx.now)
    except InvalidInput as exc:
        return _templates_page(request, ctx, form=dict(form), editing=str(tid), error=exc.message,
                               status_code=status_for(exc))
    return redirect("/configure/comms", "Template saved.")


# --- stakeholder subscriptions (/stakeholders) ---------------------------------------------------

@router.get("/stakeholders")
def stakeholders_page(request: Request, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        subs = stakeholders.list_for(s, me)
        services = [(x.slug, x.name) for x in s.execute(sa.select(Service).order_by(Service.name)).scalars()]
        teams_q = sa.select(Team).order_by(Team.name)
        if not me.is_admin:
            teams_q = teams_q.where(Team.id.in_(sa.select(TeamMember.team_id).where(TeamMember.user_id == me.user_id)))
        teams = [(t.slug, t.name) for t in s.execute(teams_q).scalars()]
    return render_page(request, ctx, "stakeholders.html", subs=subs, services=services, teams=teams,
                       severities=[x.value for x in Severity])


@router.post("/stakeholders")
def subscribe(ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        stakeholders.subscribe(s, actor=me, now=ctx.now, team=field(form, "team", required=False, max_len=64) or None,
                               service=field(form, "service", required=False, max_len=64) or None,
                               min_severity=field(form, "min_severity", required=False, max_len=8) or None)
    return redirect("/stakeholders", "Subscribed.")


@router.post("/stakeholders/{sub_id}/delete")
def unsubscribe(sub_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    with ctx.work() as (s, me):
        stakeholders.unsubscribe(s, parse_uuid(sub_id, "subscription"), actor=me, now=ctx.now)
    return redirect("/stakeholders", "Unsubscribed.")
