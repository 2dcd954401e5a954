"""/api/v1/comms/templates (communication templates), /api/v1/stakeholders (subscriptions) and
POST /api/v1/incidents/{key}/updates (an update to responders or stakeholders).

Need-to-know first (`require_incident`), then the comms service's rules: admins edit templates
(a template that fails on a sample incident is a 422), responders post updates, anyone but a guest
subscribes themselves; a team is subscribed by its members and admins.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.comms import service as comms
from tocsin.comms import stakeholders
from tocsin.comms import templates as tpl
from tocsin.comms.schemas import (
    CommsTemplateIn,
    CommsTemplateOut,
    RenderedOut,
    StakeholderIn,
    StakeholderOut,
    UpdateIn,
    UpdateOut,
)
from tocsin.comms.types import Channel
from tocsin.config import Settings
from tocsin.errors import InvalidInput
from tocsin.incidents.access import require_incident
from tocsin.principal import OrgRole
from tocsin.schemas import Page

router = APIRouter(prefix="/api/v1", tags=["comms"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _input(body: CommsTemplateIn) -> tpl.TemplateInput:
    return tpl.TemplateInput(slug=body.slug, name=body.name, channel=body.channel.value, severities=body.severities,
                             kind=body.kind.value, subject=body.subject, body=body.body)


@router.get("/comms/templates", response_model=Page[CommsTemplateOut], summary="Communication templates")
def list_templates(ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, _me):
        return {"items": tpl.list_templates(s, ctx.now), "next_cursor": None}


@router.post("/comms/templates", status_code=201, response_model=CommsTemplateOut,
             summary="Create a template (admins; it must render on a sample incident: 422 otherwise)")
def create_template(body: CommsTemplateIn, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        return tpl.create(s, _input(body), actor=me, now=ctx.now)


@router.get("/comms/templates/{template_id}", response_model=CommsTemplateOut, summary="One template")
def get_template(template_id: uuid.UUID, ctx: CtxDep) -> Any:
    with ctx.work() as (s, _me):
        return tpl.get(s, template_id, ctx.now)


@router.put("/comms/templates/{template_id}", response_model=CommsTemplateOut, summary="Replace a template (admins)")
def put_template(template_id: uuid.UUID, body: CommsTemplateIn, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        return tpl.update(s, tpl.get(s, template_id, ctx.now), _input(body), actor=me, now=ctx.now)


@router.delete("/comms/templates/{template_id}", status_code=204, response_class=Response,
               summary="Delete a template (admins)")
def delete_template(template_id: uuid.UUID, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        tpl.delete(s, tpl.get(s, template_id, ctx.now), actor=me, now=ctx.now)
    return Response(status_code=204)


@router.get("/incidents/{key}/comms/{slug}", response_model=RenderedOut,
            summary="A template filled from the incident (status page and customer templates: post the result "
                    "as a status page update)")
def render_for(key: str, slug: str, ctx: CtxDep, request: Request) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        row = tpl.get(s, slug, ctx.now)
        filled = comms.fill(s, incident, slug, now=ctx.now, settings=_settings(request))
        return {"template": row.slug, "channel": row.channel, "subject": filled.subject, "body": filled.body}


@router.post("/incidents/{key}/updates", status_code=201, response_model=UpdateOut,
             summary="Post an update (text, or an internal template) to the responders or also the stakeholders")
def post_update(key: str, body: UpdateIn, ctx: CtxDep, request: Request) -> dict[str, Any]:
    settings = _settings(request)
    with ctx.work() as (s, me):
        me.require(OrgRole.responder, "posting incident updates")
        incident = require_incident(s, me, key, for_update=True)
        subject = None
        if body.text and body.text.strip():
            text = body.text
        elif body.template:
            filled = comms.fill(s, incident, body.template, now=ctx.now, settings=settings,
                                channel=Channel.internal.value)
            text, subject = filled.body, filled.subject
        else:
            raise InvalidInput("give the update's text or an internal template", details={"field": "text"})
        posted = comms.post_update(s, incident=incident, actor=me, now=ctx.now, text=text,
                                   audience=body.audience.value, settings=settings, subject=subject)
        due = comms.values_for(s, incident, ctx.now, settings)["next_update_due"]
        return {"entry_id": posted.entry.id, "text": text, "audience": body.audience, "sent": posted.sent,
                "drill_spared": posted.spared, "next_update_due": due}


@router.get("/stakeholders", response_model=Page[StakeholderOut],
            summary="Stakeholder subscriptions: yours and your teams' (admins: all)")
def list_subscriptions(ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return {"items": stakeholders.list_for(s, me), "next_cursor": None}


@router.post("/stakeholders", status_code=201, response_model=StakeholderOut,
             summary="Subscribe yourself (or a team you are in) to the updates of a service's or a severity's incidents")
def subscribe(body: StakeholderIn, ctx: CtxDep) -> Any:
    with ctx.work() as (s, me):
        row = stakeholders.subscribe(s, actor=me, now=ctx.now, team=body.team, service=body.service,
                                     min_severity=body.min_severity, user_id=body.user_id)
        return next(v for v in stakeholders.list_for(s, me) if v.id == row.id)


@router.delete("/stakeholders/{sub_id}", status_code=204, response_class=Response,
               summary="Unsubscribe (yours, your team's; admins: any)")
def unsubscribe(sub_id: uuid.UUID, ctx: CtxDep) -> Response:
    with ctx.work() as (s, me):
        stakeholders.unsubscribe(s, sub_id, actor=me, now=ctx.now)
    return Response(status_code=204)
