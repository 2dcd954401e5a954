"""/api/v1/reports: incident response metrics as JSON, trend charts (SVG, PNG) and an HTML page.

Every route needs an API token; a viewer may read reports. Need-to-know holds: incidents the
caller may not see, and the action items hanging off them, are left out of every figure.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from tocsin.api.context import Ctx, context
from tocsin.api.errors import ERROR_RESPONSES
from tocsin.errors import InvalidInput
from tocsin.incidents.types import Kind
from tocsin.reports import charts, oncall_load, page
from tocsin.reports import incident_metrics as m
from tocsin.reports import service as svc
from tocsin.reports.period import Period, parse_period
from tocsin.reports.schemas import ActionItemReportOut, IncidentReportOut
from tocsin.severities import Severity, parse_severity

router = APIRouter(prefix="/api/v1", tags=["reports"], responses=ERROR_RESPONSES)
CtxDep = Annotated[Ctx, Depends(context)]

Since = Annotated[str | None, Query(max_length=64, description="Start: a duration back from now (90d, 12w, 24h, "
                                                                 "30m) or an ISO 8601 datetime with offset; "
                                                                 "default 90d")]
Until = Annotated[str | None, Query(max_length=64, description="End (exclusive), same forms; default now")]
TeamQ = Annotated[str | None, Query(max_length=64, description="Team slug or id: incidents on services it owns")]


class ReportQuery:
    """The period and filters every incident report route takes, parsed inside the unit of work
    (so a request without a valid token is a 401 whatever its query)."""

    def __init__(
        self,
        since: Since = None,
        until: Until = None,
        team: TeamQ = None,
        service: Annotated[str | None, Query(max_length=64, description="Service slug or id")] = None,
        severity: Annotated[list[str] | None, Query(description="SEV1..SEV4 or P0..P3; repeatable")] = None,
        kind: Kind | None = None,
    ) -> None:
        self.since, self.until, self.team, self.service, self.severity, self.kind = (
            since, until, team, service, severity, kind)

    def period(self, ctx: Ctx) -> Period:
        return parse_period(self.since, self.until, now=ctx.now)

    def filter(self) -> svc.ReportFilter:
        sevs: list[Severity] = []
        for s in self.severity or []:
            try:
                sevs.append(parse_severity(s))
            except ValueError as exc:
                raise InvalidInput(str(exc), details={"field": "severity"}) from None
        return svc.ReportFilter(team=self.team, service=self.service, severity=sevs, kind=self.kind)


QueryDep = Annotated[ReportQuery, Depends()]
Unit = Annotated[m.Bucket, Query(description="Bucket of the trend: week or month")]
Metric = Annotated[m.TrendMetric, Query(description="What to chart over time")]


def _metric_kwargs(request: Request, ctx: Ctx) -> dict[str, Any]:
    settings = request.app.state.settings
    return {"now": ctx.now, "required_severities": svc.required_severities(settings),
            "hourly_rate": svc.hourly_rate(settings)}


@router.get("/reports/incidents", response_model=IncidentReportOut,
            summary="Incident metrics for a period: counts, MTTD/MTTA/MTTM/MTTR, postmortems, cost, by group")
def incidents_report(request: Request, ctx: CtxDep, q: QueryDep,
                     group_by: Annotated[m.GroupBy, Query(description="Split the metrics into groups")]
                     = m.GroupBy.none) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return svc.incident_report(s, principal=me, now=ctx.now, period=q.period(ctx), flt=q.filter(),
                                   group_by=group_by, settings=request.app.state.settings)


@router.get("/reports/action-items", response_model=ActionItemReportOut,
            summary="Action item completion (on time, late, overdue) for a period, overall and by team")
def action_items_report(ctx: CtxDep, since: Since = None, until: Until = None, team: TeamQ = None) -> dict[str, Any]:
    with ctx.work() as (s, me):
        return svc.action_item_report(s, principal=me, now=ctx.now, period=parse_period(since, until, now=ctx.now),
                                      team=team)


def _chart(request: Request, ctx: Ctx, q: ReportQuery, metric: m.TrendMetric, by: m.Bucket,
           fmt: charts.ImageFormat) -> Response:
    with ctx.work() as (s, me):
        period = q.period(ctx)
        rows = svc.load_incident_rows(s, principal=me, period=period, flt=q.filter())
    trend = m.trend(rows, metric=metric, unit=by, since=period.since, until=period.until,
                    **_metric_kwargs(request, ctx))
    return Response(charts.render(trend, fmt), media_type=charts.MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'inline; filename="incidents-{metric.value}.{fmt.value}"'})


@router.get("/reports/incidents/chart.svg", response_class=Response, summary="Trend chart of a metric (SVG)",
            responses={200: {"content": {"image/svg+xml": {}}}})
def chart_svg(request: Request, ctx: CtxDep, q: QueryDep, metric: Metric = m.TrendMetric.incidents,
              by: Unit = m.Bucket.week) -> Response:
    return _chart(request, ctx, q, metric, by, charts.ImageFormat.svg)


@router.get("/reports/incidents/chart.png", response_class=Response, summary="Trend chart of a metric (PNG)",
            responses={200: {"content": {"image/png": {}}}})
def chart_png(request: Request, ctx: CtxDep, q: QueryDep, metric: Metric = m.TrendMetric.incidents,
              by: Unit = m.Bucket.week) -> Response:
    return _chart(request, ctx, q, metric, by, charts.ImageFormat.png)


@router.get("/reports/page", response_class=Response, responses={200: {"content": {"text/html": {}}}},
            summary="The reports page: summary table and charts as one HTML document")
def report_page(request: Request, ctx: CtxDep, q: QueryDep,
                group_by: Annotated[m.GroupBy, Query(description="Split the table into groups")] = m.GroupBy.team,
                by: Unit = m.Bucket.week) -> HTMLResponse:
    with ctx.work() as (s, me):
        html = svc.page_html(s, principal=me, now=ctx.now, period=q.period(ctx), flt=q.filter(), group_by=group_by,
                             unit=by, settings=request.app.state.settings)
    return HTMLResponse(html, headers={"Content-Security-Policy": page.CSP, "X-Content-Type-Options": "nosniff",
                                       "Referrer-Policy": "no-referrer"})


# on-call load (oncall_load.py)

@router.get("/reports/oncall", response_model=oncall_load.OnCallReportOut,
            summary="On-call load and fairness: hours on call, pages, off-hours pages and nights interrupted "
                    "per person; the spread of hours and pages in each schedule")
def oncall_report(
    ctx: CtxDep,
    since: Annotated[str | None, Query(max_length=64, description="Start: a duration back from now (90d, 12w, 24h) "
                                                                   "or an ISO 8601 datetime with offset; default 90d")]
    = None,
    until: Annotated[str | None, Query(max_length=64, description="End (exclusive), same forms; default now")] = None,
    schedule: Annotated[str | None, Query(max_length=64, description="Only this schedule (slug or id)")] = None,
    team: Annotated[str | None, Query(max_length=64, description="Only the schedules of this team (slug or id), "
                                                                 "and its members")] = None,
) -> dict[str, Any]:
    with ctx.work() as (s, me):
        start, end = oncall_load.period(since=since, until=until, now=ctx.now)
        load = oncall_load.oncall_load(s, principal=me, since=start, until=end, schedule=schedule, team=team)
        return oncall_load.as_output(load)
