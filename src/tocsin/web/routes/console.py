"""Console pages: the dashboard, alerts and services.

Pages read through the domain services with the logged-in user's principal, so need-to-know
(restricted incidents) and role checks are the same as in the API. Commands are plain POST
forms that redirect back (POST-redirect-GET).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from tocsin.actions import service as actions
from tocsin.actions.types import ActionStatus
from tocsin.alerts import service as alerts
from tocsin.escalation import service as esc
from tocsin.flows import alerts as alert_flows
from tocsin.http.present import alerts_out, decisions_out, users_by_id
from tocsin.incidents import service as incidents
from tocsin.incidents.types import Role
from tocsin.oncall import service as oncall
from tocsin.principal import Principal
from tocsin.routing import service as rules
from tocsin.runbooks.present import links as runbook_links
from tocsin.runbooks.service import for_alert as runbooks_for_alert
from tocsin.services import service as services
from tocsin.teams import service as teams
from tocsin.web import obligations_view
from tocsin.web.auth import CsrfForm, CtxDep, WebCtx, web_ctx
from tocsin.web.reachable import paging_gap
from tocsin.web.render import SEVERITIES, render
from tocsin.web.routes import slo_pages
from tocsin.web.routes.common import field, parse_uuid, redirect

router = APIRouter(include_in_schema=False)
FIRING = ["triggered", "acknowledged"]
_COUNT_CAP = 1000


def open_incidents(s: Session, me: Principal, *, service: str | None = None) -> list[dict[str, Any]]:
    """Open incidents the user may see, most severe first, with their incident commander."""
    rows = incidents.list_incidents(s, principal=me, flt=incidents.IncidentFilter(open_only=True, service=service),
                                    limit=200)
    roles = incidents.roles_of(s, [i.id for i in rows])
    users = users_by_id(s, [a.user_id for v in roles.values() for a in v])
    out = []
    for i in rows:
        ic = next((users.get(a.user_id) for a in roles[i.id] if a.role == Role.incident_commander.value), None)
        out.append({"ref": incidents.ref(i), "title": i.title, "severity": i.severity, "status": i.status,
                    "declared_at": i.declared_at, "commander": ic["name"] if ic else None})
    out.sort(key=lambda x: (x["severity"], x["declared_at"]))
    return out


def on_call_now(s: Session, now: Any) -> list[dict[str, Any]]:
    """Each schedule with whoever is on call at `now` (None: nobody)."""
    out = []
    shifts = [(sch, oncall.on_call(s, schedule=sch, at=now, now=now)) for sch in oncall.list_schedules(s)]
    people = oncall.users_by_id(s, [parse_uuid(sh.user, "user") for _, sh in shifts if sh])
    for sch, shift in shifts:
        person = people.get(parse_uuid(shift.user, "user")) if shift else None
        out.append({"slug": sch.slug, "name": sch.name, "person": person.name if person else None,
                    "until": shift.end if shift else None, "override": bool(shift and shift.source == "override")})
    return out


@router.get("/")
def dashboard(request: Request, ctx: WebCtx = Depends(web_ctx)) -> Response:
    with ctx.work() as (s, me):
        open_rows = open_incidents(s, me)
        by_sev: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in open_rows:
            by_sev[row["severity"]].append(row)
        firing_flt = alerts.AlertFilter(status=FIRING)
        firing = alerts.count_alerts(s, flt=firing_flt)
        latest = alerts_out(s, me, alerts.list_alerts(s, flt=firing_flt, limit=10))
        schedules = on_call_now(s, ctx.now)
        mine = actions.list_items(s, principal=me, now=ctx.now, limit=50, flt=actions.ActionFilter(
            status=[ActionStatus.open, ActionStatus.in_progress], owner_id=me.user_id))
        my_items = [{"ref": actions.ref(a), "title": a.title, "status": a.status, "due_at": a.due_at,
                     "overdue": bool(a.due_at and a.due_at < ctx.now)} for a in mine]
        gap = paging_gap(s, ctx.user, ctx.settings)
        obligations = obligations_view.open_rows(s, me, ctx.settings, ctx.now)
    return render(request, ctx, "dashboard.html", by_severity=[(sev, by_sev.get(sev, [])) for sev in SEVERITIES],
                  open_count=len(open_rows), firing_count=min(firing, _COUNT_CAP),
                  firing_more=firing > _COUNT_CAP, latest_alerts=latest, schedules=schedules, my_items=my_items,
                  paging_gap=gap, obligations=obligations)


# --- alerts ------------------------------------------------------------------------------------

@router.get("/alerts")
def alerts_page(request: Request, status: str = "", service: str = "", ctx: WebCtx = Depends(web_ctx)) -> Response:
    status = status if status in alerts.STATUSES else ""
    service = service.strip()[:64]
    with ctx.work() as (s, me):
        known = sorted(svc.slug for svc in services.list_services(s, limit=500))
        if service and service not in known:
            service = ""
        flt = alerts.AlertFilter(status=[status] if status else None, service=service or None)
        rows = alerts_out(s, me, alerts.list_alerts(s, flt=flt, limit=200))
    return render(request, ctx, "alerts.html", alerts=rows, status=status, service=service, services=known,
                  statuses=alerts.STATUSES)


@router.get("/alerts/{alert_id}")
def alert_page(request: Request, alert_id: str, ctx: WebCtx = Depends(web_ctx)) -> Response:
    with ctx.work() as (s, me):
        alert = alerts.require_alert(s, parse_uuid(alert_id, "alert"))
        h = alerts.history(s, alert, occurrences=20)
        row = alerts_out(s, me, [alert])[0]
        decisions = decisions_out(s, me, h["decisions"])
        open_refs = [i["ref"] for i in open_incidents(s, me)]
        books = runbook_links(runbooks_for_alert(s, alert), "")
    return render(request, ctx, "alert.html", alert=row, decisions=decisions, occurrences=h["occurrences"],
                  group=h["group"], open_refs=open_refs, runbooks=books)


def _alert_command(ctx: WebCtx, form: dict[str, str], alert_id: str, verb: str) -> Response:
    aid = parse_uuid(alert_id, "alert")
    with ctx.work() as (s, me):
        alert = alerts.require_alert(s, aid)
        if verb == "acknowledge":
            alert_flows.acknowledge(s, alert=alert, actor=me, now=ctx.now)
        elif verb == "resolve":
            alert_flows.resolve(s, alert=alert, actor=me, now=ctx.now)
        else:
            alerts.attach(s, alert=alert, incident_key=field(form, "incident", max_len=64), actor=me, now=ctx.now)
    done = {"acknowledge": "Alert acknowledged", "resolve": "Alert resolved", "attach": "Alert attached"}[verb]
    return redirect(f"/alerts/{aid}", done)


# Plain `def` handlers: FastAPI runs them in the threadpool, off the event loop.
@router.post("/alerts/{alert_id}/acknowledge")
def alert_ack(alert_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    return _alert_command(ctx, form, alert_id, "acknowledge")


@router.post("/alerts/{alert_id}/resolve")
def alert_resolve(alert_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    return _alert_command(ctx, form, alert_id, "resolve")


@router.post("/alerts/{alert_id}/attach")
def alert_attach(alert_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    return _alert_command(ctx, form, alert_id, "attach")


# --- services ----------------------------------------------------------------------------------

@router.get("/services")
def services_page(request: Request, ctx: WebCtx = Depends(web_ctx)) -> Response:
    with ctx.work() as (s, _me):
        rows = sorted(services.list_services(s, limit=500), key=lambda x: x.slug)
        team_slugs = oncall.team_slugs(s, [r.owner_team_id for r in rows])
    return render(request, ctx, "services.html", services=rows, team_slugs=team_slugs)


@router.get("/services/{key}")
def service_page(request: Request, key: str, ctx: WebCtx = Depends(web_ctx)) -> Response:
    with ctx.work() as (s, me):
        svc = services.require_service(s, key[:100])
        team = teams.get_team(s, svc.owner_team_id) if svc.owner_team_id else None
        policy = esc.get_policy(s, svc.escalation_policy_id) if svc.escalation_policy_id else None
        open_rows = open_incidents(s, me, service=svc.slug)
        firing = alerts_out(s, me, alerts.list_alerts(s, flt=alerts.AlertFilter(status=FIRING, service=svc.slug),
                                                       limit=50))
        windows = [(w, *rules.window_status(w, ctx.now))
                   for w in rules.list_windows(s, now=ctx.now, service_id=svc.id, limit=50)]
        depends_on = services.dependency_slugs(s, svc.id)
        slo_panel = slo_pages.panel(s, svc.id, ctx.now)
    return render(request, ctx, "service.html", service=svc, team=team, policy=policy, incidents=open_rows,
                  alerts=firing, windows=windows, depends_on=depends_on, **slo_panel)
