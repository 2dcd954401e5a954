"""The incident room's action forms: POST /incidents/{ref}/{action}.

Each action reads its url-encoded form (after the CSRF check), calls one domain service in one
unit of work, and answers the way the form was sent: a plain form gets a 303 back to the room
with a flash message; a fetch() (`Accept: application/json`) gets `{"ok": true}`. A refused
action (a domain error) re-renders the room with the message beside the form and a 4xx status,
or answers `{"error": {...}}` to fetch. Viewers see no forms and get 403 here.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tocsin.alerts import service as alerts
from tocsin.comms import service as comms
from tocsin.containment import service as containment
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound, TocsinError
from tocsin.escalation import responders
from tocsin.flows import incidents as flows
from tocsin.http import forensics
from tocsin.http.errors import error_response, status_for
from tocsin.ids import parse_uuid
from tocsin.incidents import roles as roles_svc
from tocsin.incidents import service as incidents
from tocsin.incidents import timeline
from tocsin.incidents.access import require_incident
from tocsin.incidents.models import Incident
from tocsin.incidents.types import DataSensitivity, ParticipantKind, Role, Status
from tocsin.legal import service as legal
from tocsin.principal import OrgRole, Principal
from tocsin.problems import service as problems
from tocsin.severities import Severity
from tocsin.statuspage import service as statuspages
from tocsin.statuspage.types import UNRESOLVED, IncidentStatus
from tocsin.users.service import require_user
from tocsin.wake import ring
from tocsin.web import room_page
from tocsin.web.auth import WebCtx, check_csrf, web_ctx
from tocsin.web.render import FLASH_COOKIE, secure

router = APIRouter(include_in_schema=False)
CtxDep = Annotated[WebCtx, Depends(web_ctx)]

FLASH = {
    "ack": "Acknowledged.", "status": "Status changed.", "severity": "Severity and impact saved.",
    "role": "Roles updated. What each role does: its handbook, in the Roles panel.", "join": "You have joined the incident.", "note": "Note added.",
    "link": "Linked.", "public": "Public update posted.", "update": "Update posted.",
    "link-problem": "Problem linked; its workaround is on the timeline.",
    "responders": "Responders paged; their replies show here.", "conference": "Conference link saved.",
    "resolved-public": "Resolved, and the resolved update is on the status page.",
    "held": "Held for Legal: the update is published once the incident's Legal role holder approves it.",
    "resolved-held": "Resolved; the resolved update for the status page is held for Legal's approval.",
}


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def json_error(exc: TocsinError) -> JSONResponse:
    return error_response(status_for(exc), exc.code, exc.message, exc.details, {"Cache-Control": "no-store"})


class _Fields:
    """Reading checked text fields from a url-encoded form."""

    def __init__(self, form: dict[str, str]) -> None:
        self.form = form

    def field(self, name: str, *, required: bool = False, limit: int = 20_000) -> str:
        value = self.form.get(name, "").strip()
        if required and not value:
            raise InvalidInput(f"{name.replace('_', ' ')} is required", details={"field": name})
        if len(value) > limit:
            raise InvalidInput(f"{name.replace('_', ' ')} may have at most {limit} characters", details={"field": name})
        return value


class Act(_Fields):
    """What one action handler gets: the unit of work's session and principal, the incident
    (locked for update), the form, the clock reading and the app's settings."""

    def __init__(self, s: Session, me: Principal, incident: Incident, form: dict[str, str], ctx: WebCtx) -> None:
        self.s, self.me, self.incident, self.form, self.now, self.ctx = s, me, incident, form, ctx.now, ctx
        self.done: str | None = None  # the flash to show when it differs from the action's name

    def update(self, changes: dict[str, Any]) -> None:
        flows.update(self.s, incident=self.incident, actor=self.me, now=self.now, changes=changes,
                                  postmortem_required=self.ctx.settings.postmortem_severities())


def _choice(name: str, value: str, allowed: Any) -> Any:
    try:
        return allowed(value)
    except ValueError:
        raise InvalidInput(f"choose a valid {name.replace('_', ' ')}", details={"field": name}) from None


def ack(a: Act) -> None:
    """Acknowledge: a triaged incident moves to investigating (stamping acknowledged_at), and an
    incident without an Incident Commander gets the acknowledger as IC (which stops paging for one),
    as acknowledging an incident page does."""
    did = False
    if a.incident.status == Status.triage.value:
        a.update({"status": Status.investigating.value})
        did = True
    holders = roles_svc.current_assignments(a.s, [a.incident.id])
    if not any(h.role == Role.incident_commander.value for h in holders) and a.me.user_id:
        flows.assign_role(a.s, incident=a.incident, role=Role.incident_commander,
                              user=require_user(a.s, a.me.user_id), actor=a.me, now=a.now)
        did = True
    if not did:
        raise Conflict(f"{incidents.ref(a.incident)} is already acknowledged and has an Incident Commander")


def change_status(a: Act) -> None:
    """Move the incident; resolving with "post_public" ticked also posts the resolved update to each
    status page whose public incident (posted from this one) is still open, in the same transaction."""
    changes: dict[str, Any] = {"status": _choice("status", a.field("status", required=True), Status).value}
    waiver = a.field("postmortem_waived_reason", limit=2000)
    if waiver:
        changes["postmortem_waived_reason"] = waiver
    post_public = a.field("post_public", limit=8)
    if post_public not in ("", "1"):
        raise InvalidInput("the status page box is either ticked or not", details={"field": "post_public"})
    body = a.field("public_body", limit=2000) or "This incident has been resolved."
    a.update(changes)
    if changes["status"] == Status.resolved.value and post_public:
        posted: str | None = None
        for page in statuspages.list_pages(a.s):
            si = statuspages.public_incident_for(a.s, page=page, incident=a.incident)
            if si is not None and si.status in UNRESOLVED:
                outcome = legal.post_update(a.s, actor=a.me, now=a.now, severities=a.ctx.settings.legal_gate(),
                                            page=page, incident=a.incident, status=IncidentStatus.resolved.value,
                                            body=body)
                posted = "resolved-held" if outcome.draft is not None else posted or "resolved-public"
        if posted:
            a.done = posted


def set_conference(a: Act) -> None:
    """The conference bridge or chat link (validated by the incidents service: http or https)."""
    a.update({"conference_url": a.field("conference_url", limit=2000) or None})


def add_responders(a: Act) -> None:
    """Page a person, a team or a schedule's current on-call into the incident, with a message."""
    kind, _, key = a.field("target", required=True, limit=120).partition(":")
    if kind not in responders.TARGET_KINDS or not key:
        raise InvalidInput("choose a person, a team or a schedule to page", details={"field": "target"})
    flows.add_responders(a.s, incident=a.incident, actor=a.me, now=a.now, message=a.field("message", limit=2000),
                         targets=[responders.Target(kind, key)])


def _count(a: _Fields, name: str, cast: Callable[[str], Any], top: float) -> Any:
    raw = a.field(name, limit=40).replace(",", "")
    if not raw:
        return None
    try:
        value = cast(raw)
    except ValueError:
        raise InvalidInput(f"{name.replace('_', ' ')} must be a number", details={"field": name}) from None
    if isinstance(value, float) and not math.isfinite(value) or value < 0 or value > top:
        raise InvalidInput(f"{name.replace('_', ' ')} must be between 0 and {top:,.0f}", details={"field": name})
    return value


def impact_from(form: dict[str, str]) -> dict[str, Any]:
    """The impact fields of a form (the room's severity form, or the suggestion's query), checked."""
    a = _Fields(form)
    facing = a.field("customer_facing", limit=8)
    sensitivity = a.field("data_sensitivity", limit=20)
    impact = {
        "customers_affected": _count(a, "customers_affected", int, 2**31 - 1),
        "revenue_at_risk_per_hour": _count(a, "revenue_at_risk_per_hour", float, 1e15),
        "data_sensitivity": _choice("data_sensitivity", sensitivity, DataSensitivity).value if sensitivity else None,
        "customer_facing": {"": None, "yes": True, "no": False}.get(facing, "bad"),
    }
    if impact["customer_facing"] == "bad":
        raise InvalidInput("customer facing must be yes, no or unknown", details={"field": "customer_facing"})
    return impact


def change_severity(a: Act) -> None:
    """Severity with the impact assessment; the service stores the suggestion and demands a reason
    when the chosen severity departs from it."""
    impact = impact_from(a.form)
    changes: dict[str, Any] = {"severity": _choice("severity", a.field("severity", required=True), Severity).value,
                               "impact": impact}
    reason = a.field("severity_reason", limit=2000)
    if reason:
        changes["severity_reason"] = reason
    a.update(changes)


def set_role(a: Act) -> None:
    """Assign a role, or hand it over (assigning a single-holder role to someone else ends the
    previous holder's term); no person vacates it."""
    role = _choice("role", a.field("role", required=True), Role)
    who = a.field("user", limit=320)
    if not who:
        if not roles_svc.unassign_role(a.s, incident=a.incident, role=role, actor=a.me, now=a.now):
            raise Conflict(f"nobody holds {roles_svc.ROLE_LABELS[role]}", details={"role": role.value})
        return
    flows.assign_role(a.s, incident=a.incident, role=role, user=require_user(a.s, who), actor=a.me, now=a.now)


def join(a: Act) -> None:
    kind = _choice("kind", a.field("kind") or "responder", ParticipantKind)
    if a.me.user_id is None:
        raise Forbidden("only people can join incidents")
    roles_svc.set_participant(a.s, incident=a.incident, user=require_user(a.s, a.me.user_id), kind=kind,
                              actor=a.me, now=a.now)


def note(a: Act) -> None:
    """A note; with the "update" box ticked it is an incident update for stakeholders (a key
    event), which the header's last-update clock counts (see room_view)."""
    text = a.form.get("text", "")
    if len(text) > timeline.MAX_NOTE:
        raise InvalidInput(f"a note may have at most {timeline.MAX_NOTE} characters", details={"field": "text"})
    update = a.field("update", limit=8)
    if update not in ("", "1"):
        raise InvalidInput("the update box is either ticked or not", details={"field": "update"})
    if update:  # an update goes to the incident's stakeholders too (comms/; none for a drill)
        entry = comms.post_update(a.s, incident=a.incident, actor=a.me, now=a.now, text=text, audience="stakeholders",
                                  settings=a.ctx.settings).entry
    else:
        entry = timeline.add_note(a.s, incident=a.incident, actor=a.me, now=a.now, text=text)
    nudge_on = a.ctx.settings.forensics_nudge
    found = forensics.leads(a.s, a.incident, nudge_on=nudge_on)
    containment.note_added(a.s, incident=a.incident, entry=entry, now=a.now, nudge_on=nudge_on, known=found.known,
                           collected=found.collected)
    a.done = "update" if update else "note"


def link_problem(a: Act) -> None:
    """Link a suggested (or any) known problem, by ref or id; the problems service notes it, with
    the workaround, on the timeline."""
    key = a.field("problem", required=True, limit=64)
    problem = problems.get_problem(a.s, key, for_update=True)
    if problem is None:
        raise InvalidInput(f"no problem {key!r}", details={"field": "problem"})
    problems.link_incident(a.s, problem=problem, incident=a.incident, actor=a.me, now=a.now)


def link(a: Act) -> None:
    """Attach an alert (by id) or add an affected service (by key)."""
    alert_key, service = a.field("alert", limit=64), a.field("service", limit=64)
    if not alert_key and not service:
        raise InvalidInput("give an alert id or choose a service", details={"field": "alert"})
    if alert_key:
        alert_id = parse_uuid(alert_key)
        if alert_id is None:
            raise InvalidInput(f"{alert_key!r} is not an alert id", details={"field": "alert"})
        alerts.attach(a.s, alert=alerts.require_alert(a.s, alert_id), incident_key=str(a.incident.id), actor=a.me,
                      now=a.now)
    if service:
        current = [x.slug for x in incidents.services_of(a.s, [a.incident.id])[a.incident.id]]
        a.update({"services": current + [service]})


def public_update(a: Act) -> None:
    """Post to a status page through the status page service (which also notes it on the timeline), or,
    for a security incident under the legal gate, hold it as a draft for Legal (legal/service.py)."""
    page = statuspages.require_page(a.s, a.field("page", required=True, limit=64))
    components: dict[uuid.UUID, str] = {}
    for key, value in a.form.items():
        if key.startswith("component:") and value:
            cid = parse_uuid(key.removeprefix("component:"))
            if cid is None:
                raise InvalidInput("unknown component", details={"field": key})
            components[cid] = value
    outcome = legal.post_update(a.s, actor=a.me, now=a.now, severities=a.ctx.settings.legal_gate(), page=page,
                                incident=a.incident, name=a.field("title", limit=300) or None,
                                status=a.field("status", required=True, limit=20),
                                body=a.field("body", required=True), component_statuses=components or None)
    if outcome.draft is not None:
        a.done = "held"


ACTIONS: dict[str, Callable[[Act], None]] = {
    "ack": ack, "status": change_status, "severity": change_severity, "role": set_role, "join": join,
    "note": note, "link": link, "public": public_update, "link-problem": link_problem,
    "responders": add_responders, "conference": set_conference,
}


@router.post("/incidents/{ref}/{action}")
async def act(request: Request, ref: str, action: str, ctx: CtxDep) -> Response:
    form = await check_csrf(request, ctx)
    handler = ACTIONS.get(action)
    if handler is None:
        raise NotFound(f"no such action {action!r}")
    try:
        if not ctx.principal.at_least(OrgRole.responder):
            raise Forbidden("changing incidents needs the responder role; viewers can only watch")
        room_ref, done = await run_in_threadpool(_run, ctx, ref, form, handler)
    except _Hidden as exc:
        raise NotFound(exc.message) from None  # the console's 404 page: need-to-know hides the incident
    except TocsinError as exc:
        if wants_json(request):
            return json_error(exc)
        if isinstance(exc, Forbidden) and not ctx.principal.at_least(OrgRole.responder):
            raise
        message, status = exc.message, status_for(exc)
        return await run_in_threadpool(lambda: room_page.render_room(
            request, ctx, ref, error=message, status_code=status, form=form, action=action))
    done = done or action
    if action == "responders":
        ring()  # the engine in this process sends the pages now
    if wants_json(request):
        return JSONResponse({"ok": True, "message": FLASH[done]}, headers={"Cache-Control": "no-store"})
    # The flash rides in a one-time cookie, not the URL: a reload or going back never shows it again.
    response = secure(RedirectResponse(f"/incidents/{room_ref}", status_code=303))
    response.set_cookie(FLASH_COOKIE, quote(FLASH[done]), max_age=120, path="/", httponly=True, samesite="lax")
    return response


class _Hidden(Exception):
    """The incident itself is not found (or not visible), as opposed to something the form named."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _run(ctx: WebCtx, ref: str, form: dict[str, str], handler: Callable[[Act], None]) -> tuple[str, str | None]:
    with ctx.work() as (s, me):
        try:
            incident = require_incident(s, me, ref, for_update=True)
        except NotFound as exc:
            raise _Hidden(exc.message) from None
        act = Act(s, me, incident, form, ctx)
        handler(act)
        return incidents.ref(incident), act.done
