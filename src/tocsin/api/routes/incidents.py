"""/api/v1/incidents: declare, list, count, export, read and change incidents; timeline, notes, roles, participants."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from tocsin.api import pagination
from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.containment import service as containment
from tocsin.csvsafe import writerow
from tocsin.errors import InvalidInput
from tocsin.flows import incidents as flows
from tocsin.http import forensics
from tocsin.http.present import incident_out, incidents_out, timeline_out, users_by_id
from tocsin.incidents import roles as roles_svc
from tocsin.incidents import service as svc
from tocsin.incidents import timeline
from tocsin.incidents.access import require_incident
from tocsin.incidents.schemas import (
    CountsOut,
    IncidentIn,
    IncidentOut,
    IncidentPatch,
    NoteIn,
    NotePatch,
    ParticipantIn,
    ParticipantOut,
    RevisionOut,
    RoleIn,
    RolesOut,
    TimelineEntryOut,
)
from tocsin.incidents.types import Kind, ParticipantKind, Status
from tocsin.schemas import Page
from tocsin.severities import Severity, parse_severity
from tocsin.users.service import require_user
from tocsin.workflows import types_service as incident_types

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]
Key = Annotated[str, "incident id or ref such as INC-42"]


def _filter(status: list[Status] | None, severity: list[str] | None, kind: Kind | None, service: str | None,
            q: str | None, open_only: bool, drill: bool | None = None) -> svc.IncidentFilter:
    sevs: list[Severity] = []
    for s in severity or []:
        try:
            sevs.append(parse_severity(s))
        except ValueError as exc:
            raise InvalidInput(str(exc), details={"field": "severity"}) from None
    return svc.IncidentFilter(status=status or [], severity=sevs, kind=kind, service=service, q=q, open_only=open_only,
                             drill=drill)


class Filters:
    def __init__(
        self,
        status: Annotated[list[Status] | None, Query(description="Repeat to match any of several")] = None,
        severity: Annotated[list[str] | None, Query(description="SEV1..SEV4 or P0..P3; repeatable")] = None,
        kind: Kind | None = None,
        service: Annotated[str | None, Query(max_length=64, description="Service slug or id")] = None,
        q: Annotated[str | None, Query(max_length=200, description="Text to find in title or summary")] = None,
        open: Annotated[bool, Query(description="Only incidents still being worked on")] = False,
        drill: Annotated[bool | None, Query(description="true: only drills (exercises); false: only real "
                                                        "incidents; default both")] = None,
    ) -> None:
        self.value = (status, severity, kind, service, q, open, drill)

    def build(self) -> svc.IncidentFilter:
        return _filter(*self.value)


@router.post("", status_code=201, response_model=IncidentOut, summary="Declare an incident")
def declare(body: IncidentIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident_type, custom_fields, kind = incident_types.for_declaration(
            s, incident_type=body.incident_type, custom_fields=body.custom_fields,
            kind=body.kind if "kind" in body.model_fields_set else None, now=ctx.now)
        spec = svc.Declaration(
            title=body.title, severity=body.severity, kind=kind or body.kind, summary=body.summary,
            status=body.status, services=body.services,
            impact=body.impact.model_dump(exclude_unset=True) if body.impact else {},
            severity_reason=body.severity_reason, restricted=body.restricted,
            incident_commander=body.incident_commander, detected_at=body.detected_at,
            impact_started_at=body.impact_started_at, incident_type=incident_type, custom_fields=custom_fields,
            drill=body.drill,
        )
        return incident_out(s, flows.declare(s, actor=me, now=ctx.now, spec=spec))


@router.get("", response_model=Page[IncidentOut], summary="List incidents, newest first")
def list_incidents(ctx: CtxDep, filters: Annotated[Filters, Depends()],
                   limit: Annotated[int, Query(ge=1, le=500)] = 50,
                   cursor: Annotated[str | None, Query(max_length=200)] = None) -> dict[str, Any]:
    before = pagination.decode_id(cursor)
    with ctx.work() as (s, me):
        rows = svc.list_incidents(s, principal=me, flt=filters.build(), before=before, limit=limit + 1)
        page, more = pagination.split_page(rows, limit)
        return {"items": incidents_out(s, page), "next_cursor": pagination.encode(str(page[-1].id)) if more else None}


@router.get("/counts", response_model=CountsOut, summary="Count incidents by status and severity")
def counts(ctx: CtxDep, filters: Annotated[Filters, Depends()]) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return svc.count_incidents(s, principal=me, flt=filters.build())


EXPORT_COLUMNS = ("ref", "title", "kind", "severity", "status", "restricted", "drill", "services", "declared_at",
                  "acknowledged_at", "mitigated_at", "resolved_at", "closed_at")


@router.get("/export", summary="Export incidents as CSV", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def export(ctx: CtxDep, filters: Annotated[Filters, Depends()]) -> Response:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_COLUMNS)
    with ctx.work() as (s, me):
        before = None
        while True:
            rows = svc.list_incidents(s, principal=me, flt=filters.build(), before=before, limit=500)
            if not rows:
                break
            for item in incidents_out(s, rows):
                item["services"] = " ".join(x["slug"] for x in item["services"])
                writerow(writer, ["" if item[c] is None else (item[c].isoformat() if hasattr(item[c], "isoformat")
                                  else item[c]) for c in EXPORT_COLUMNS])
            before = rows[-1].id
    return Response(buf.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="incidents.csv"'})


@router.get("/{key}", response_model=IncidentOut, summary="Get one incident by id or ref (INC-42)")
def get_incident(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return incident_out(s, require_incident(s, me, key))


@router.patch("/{key}", response_model=IncidentOut,
              summary="Change status, severity, title, summary, impact, services, kind or restriction")
def patch_incident(key: str, body: IncidentPatch, ctx: CtxDep, request: Request) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if body.impact is not None:
        changes["impact"] = body.impact.model_dump(exclude_unset=True)
    required = postmortem_required(request)
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        return incident_out(s, flows.update(s, incident=incident, actor=me, now=ctx.now, changes=changes,
                                                   postmortem_required=required))


def postmortem_required(request: Request) -> frozenset[str]:
    """The configured severities whose incidents close only with a published postmortem or a waiver."""
    return request.app.state.settings.postmortem_severities()


@router.get("/{key}/timeline", response_model=Page[TimelineEntryOut], summary="The incident timeline in time order")
def get_timeline(key: str, ctx: CtxDep, limit: Annotated[int, Query(ge=1, le=500)] = 500,
                 cursor: Annotated[str | None, Query(max_length=300)] = None) -> dict[str, Any]:
    after = pagination.decode_time_id(cursor)
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        rows = timeline.list_entries(s, incident=incident, after=after, limit=limit + 1)
        page, more = pagination.split_page(rows, limit)
        nxt = pagination.encode(page[-1].occurred_at.isoformat(), str(page[-1].id)) if more else None
        return {"items": timeline_out(s, page), "next_cursor": nxt}


@router.post("/{key}/notes", status_code=201, response_model=TimelineEntryOut, summary="Add a note to the timeline")
def add_note(key: str, body: NoteIn, ctx: CtxDep, request: Request) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        entry = timeline.add_note(s, incident=incident, actor=me, now=ctx.now, text=body.text,
                                  occurred_at=body.occurred_at, key_event=body.key_event)
        nudge_on = request.app.state.settings.forensics_nudge
        found = forensics.leads(s, incident, nudge_on=nudge_on)
        containment.note_added(s, incident=incident, entry=entry, now=ctx.now, nudge_on=nudge_on, known=found.known,
                               collected=found.collected)
        return timeline_out(s, [entry])[0]


@router.patch("/{key}/notes/{entry_id}", response_model=TimelineEntryOut,
              summary="Edit a note (earlier texts are kept as revisions)")
def edit_note(key: str, entry_id: uuid.UUID, body: NotePatch, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        entry = timeline.require_entry(s, incident, entry_id)
        entry = timeline.edit_note(s, incident=incident, entry=entry, actor=me, now=ctx.now, text=body.text,
                                   key_event=body.key_event)
        return timeline_out(s, [entry])[0]


@router.get("/{key}/notes/{entry_id}/revisions", response_model=Page[RevisionOut], summary="Every text a note has had")
def note_revisions(key: str, entry_id: uuid.UUID, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key)
        entry = timeline.require_entry(s, incident, entry_id)
        return {"items": list(timeline.revisions(s, entry.id))}


def _roles_out(s: Any, incident_id: uuid.UUID) -> dict[str, Any]:
    history = roles_svc.role_history(s, incident_id)
    users = users_by_id(s, [a.user_id for a in history])
    return {
        "current": [{"role": a.role, "user": users[a.user_id], "assigned_at": a.assigned_at}
                    for a in history if a.ended_at is None],
        "history": [{"role": a.role, "user": users[a.user_id], "assigned_at": a.assigned_at, "ended_at": a.ended_at,
                     "assigned_by_id": a.assigned_by_id} for a in history],
    }


@router.get("/{key}/roles", response_model=RolesOut, summary="Current role holders and who held each role when")
def get_roles(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return _roles_out(s, require_incident(s, me, key).id)


@router.post("/{key}/roles", response_model=RolesOut,
             summary="Assign or hand over a role (user null vacates it)")
def set_role(key: str, body: RoleIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        if body.user is None:
            roles_svc.unassign_role(s, incident=incident, role=body.role, actor=me, now=ctx.now)
        else:
            user = require_user(s, body.user)
            flows.assign_role(s, incident=incident, role=body.role, user=user, actor=me, now=ctx.now)
        return _roles_out(s, incident.id)


def _participants_out(s: Any, incident_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = roles_svc.participants(s, incident_id)
    users = users_by_id(s, [p.user_id for p in rows])
    return [{"user": users[p.user_id], "kind": p.kind, "joined_at": p.joined_at} for p in rows]


@router.get("/{key}/participants", response_model=Page[ParticipantOut], summary="Responders and observers")
def get_participants(key: str, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return {"items": _participants_out(s, require_incident(s, me, key).id)}


@router.post("/{key}/participants", response_model=Page[ParticipantOut],
             summary="Join (or add someone) as a responder or observer")
def add_participant(key: str, body: ParticipantIn, ctx: CtxDep) -> dict[str, Any]:
    with ctx.work() as (s, me):
        incident = require_incident(s, me, key, for_update=True)
        user = require_user(s, body.user if body.user is not None else me.require_user_id())
        roles_svc.set_participant(s, incident=incident, user=user, kind=ParticipantKind(body.kind), actor=me,
                                  now=ctx.now)
        return {"items": _participants_out(s, incident.id)}
