"""Console: exercises and game days (/exercises): the shipped scenarios and a start form (admins),
the runs with their progress, a run's page (injects, events, score; the facilitator fires the next
inject by hand and finishes the run) and the report with its chart (/exercises/report)."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.errors import InvalidInput
from tocsin.exercises import report, views
from tocsin.exercises import scenario as scenarios
from tocsin.exercises import service as svc
from tocsin.exercises.scenario import Participant
from tocsin.net.policy import user_policy
from tocsin.principal import OrgRole
from tocsin.reports.charts import render as render_chart
from tocsin.web.auth import CsrfForm, CtxDep
from tocsin.web.render import render
from tocsin.web.routes.common import field, parse_uuid, redirect

router = APIRouter(include_in_schema=False)


def parse_participants(text: str) -> list[Participant]:
    """One a line: `email [role]`; blank lines skipped."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) > 2:
            raise InvalidInput(f"participants line {number}: write an email and, optionally, a role",
                               details={"field": "participants"})
        out.append(Participant(parts[0].lower(), parts[1] if len(parts) == 2 else "responder"))
    return out


@router.get("/exercises")
def exercises_page(request: Request, ctx: CtxDep) -> Response:
    ctx.principal.require(OrgRole.responder, "reading exercises")
    with ctx.work() as (s, me):
        runs = [views.summary(s, me, r, ctx.now) for r in svc.list_exercises(s)]
        email = ctx.user.email
    shipped = [{"name": n, "title": scenarios.parse(scenarios.shipped(n)).name,
                "description": scenarios.parse(scenarios.shipped(n)).description} for n in scenarios.SHIPPED]
    return render(request, ctx, "exercises.html", runs=runs, shipped=shipped, can_start=ctx.principal.is_admin,
                  me_email=email)


@router.post("/exercises")
def start(ctx: CtxDep, form: CsrfForm) -> Response:
    ctx.principal.require(OrgRole.admin, "starting exercises")
    name = field(form, "shipped", required=False, max_len=64)
    own = field(form, "scenario", required=False, max_len=scenarios.MAX_TEXT)
    if bool(name) == bool(own):
        raise InvalidInput("choose a shipped scenario or paste one", details={"field": "scenario"})
    mode = field(form, "mode", max_len=16)
    people = parse_participants(field(form, "participants", required=False, max_len=20_000)) or None
    with ctx.work() as (s, me):
        started = svc.start(s, actor=me, now=ctx.now, text=own or scenarios.shipped(name), mode=mode,
                            participants=people, policy=user_policy(ctx.settings))
        rid = started.exercise.id
    return redirect(f"/exercises/{rid}", "Exercise started.")


@router.get("/exercises/report")
def report_page(request: Request, ctx: CtxDep) -> Response:
    ctx.principal.require(OrgRole.responder, "reading exercises")
    with ctx.work() as (s, _me):
        chart, people = report.trend(s)
    src = "data:image/svg+xml;base64," + base64.b64encode(render_chart(chart)).decode()
    return render(request, ctx, "exercise_report.html", chart_src=src, chart=chart, people=people)


@router.get("/exercises/{exercise_id}")
def run_page(exercise_id: str, request: Request, ctx: CtxDep) -> Response:
    ctx.principal.require(OrgRole.responder, "reading exercises")
    rid = parse_uuid(exercise_id, "exercise")
    with ctx.work() as (s, me):
        run = svc.require_exercise(s, rid)
        data = views.detail(s, me, run, ctx.now)
        can_drive = me.is_admin or (run.started_by_id is not None and me.user_id == run.started_by_id)
    pending = [i for i in data["injects"] if not i["fired_at"]]
    return render(request, ctx, "exercise.html", run=data, next_inject=pending[0] if pending else None,
                  can_drive=can_drive and data["status"] == "running")


@router.post("/exercises/{exercise_id}/next")
def fire_next(exercise_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    """Fire the next inject now: recorded only in a tabletop, through the pipeline in a live run."""
    rid = parse_uuid(exercise_id, "exercise")
    with ctx.work() as (s, me):
        run = svc.require_exercise(s, rid, for_update=True)
        done = svc.fired(s, run)
        pending = [i.n for i in svc.scenario_of(run).injects if i.n not in done]
        if not pending:
            raise InvalidInput("every inject was already fired")
        row = svc.fire(s, actor=me, now=ctx.now, run=run, n=pending[0], policy=user_policy(ctx.settings))
        text = row.text
    return redirect(f"/exercises/{rid}", text)


@router.post("/exercises/{exercise_id}/finish")
def finish(exercise_id: str, ctx: CtxDep, form: CsrfForm) -> Response:
    rid = parse_uuid(exercise_id, "exercise")
    with ctx.work() as (s, me):
        run = svc.require_exercise(s, rid, for_update=True)
        result = svc.finish(s, actor=me, now=ctx.now, run=run)
    return redirect(f"/exercises/{rid}#score", f"Scored {result.total}/100.")
