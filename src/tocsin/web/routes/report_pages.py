"""The reports inside the console: `/reports` shows the incident and action item report (the
same figures as `/api/v1/reports/incidents` and the API's report page) with its filters, dates in
the viewer's time zone, and each trend chart beside a table of the very numbers it draws.

The charts are matplotlib SVG shown as `<img src="data:...">`: the console's CSP allows data:
images but no inline styles, which an inline `<svg>` from matplotlib carries. `/reports/view` is
the same report as one self-contained, printable document (the API's page) with its own strict
CSP and a link back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from tocsin.errors import InvalidInput
from tocsin.localtime import resolve_wall, zone
from tocsin.reports import incident_metrics as m
from tocsin.reports import page as report_page
from tocsin.reports import service as svc
from tocsin.reports.period import Period, parse_period
from tocsin.services.service import list_services
from tocsin.severities import Severity
from tocsin.teams.service import list_teams
from tocsin.web.auth import CtxDep
from tocsin.web.render import render

router = APIRouter(include_in_schema=False)
GROUPS = [g.value for g in m.GroupBy]
UNITS = [u.value for u in m.Bucket]
RANGES = [("7d", "Last 7 days"), ("30d", "Last 30 days"), ("90d", "Last 90 days"), ("180d", "Last 180 days"),
          ("365d", "Last 365 days")]
SEVERITY_VALUES = [s.value for s in Severity]
Multi = Annotated[list[str], Query()]


def _choice(value: str, allowed: list[str], default: str, name: str) -> str:
    if not value:
        return default
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}", details={"field": name})
    return value


def _day(text: str, name: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise InvalidInput(f"{name}: {text[:20]!r} is not a date such as 2026-03-01", details={"field": name}) from None


@dataclass
class ReportQuery:
    """The report form's values, checked: a preset range or days from/to in the viewer's zone."""

    range: str
    start: date | None
    end: date | None
    team: str
    service: str
    severity: list[str]
    group_by: str
    by: str

    @classmethod
    def parse(cls, range: str, start: str, end: str, team: str, service: str, severity: list[str], group_by: str,
              by: str) -> ReportQuery:
        bad = [s for s in severity if s not in SEVERITY_VALUES]
        if bad:
            raise InvalidInput(f"severity must be among {', '.join(SEVERITY_VALUES)}", details={"field": "severity"})
        return cls(range=_choice(range, [r for r, _ in RANGES], "90d", "range"), start=_day(start, "from"),
                   end=_day(end, "to"), team=team.strip()[:64], service=service.strip()[:64],
                   severity=list(dict.fromkeys(severity)), group_by=_choice(group_by, GROUPS, "team", "group_by"),
                   by=_choice(by, UNITS, "week", "by"))

    def period(self, now: datetime, time_zone: str) -> Period:
        """The preset range back from now; or from the start of `start` to the end of `end` (or now)
        in the viewer's time zone."""
        if self.start is None and self.end is None:
            return parse_period(self.range, None, now=now)
        try:
            tz = zone(time_zone or "UTC")
        except ValueError:
            tz = zone("UTC")

        def midnight(day: date) -> str:
            return resolve_wall(datetime.combine(day, time(0, 0)), tz).isoformat()

        since = midnight(self.start) if self.start else self.range
        until = midnight(self.end + timedelta(days=1)) if self.end else None
        if until is not None and datetime.fromisoformat(until) > now:
            until = None  # a period ending today ends now
        return parse_period(since, until, now=now)

    def filter(self) -> svc.ReportFilter:
        return svc.ReportFilter(team=self.team or None, service=self.service or None,
                                severity=[Severity(s) for s in self.severity])

    def query_string(self) -> str:
        pairs = [("range", self.range), ("from", self.start.isoformat() if self.start else ""),
                 ("to", self.end.isoformat() if self.end else ""), ("team", self.team), ("service", self.service),
                 *(("severity", s) for s in self.severity), ("group_by", self.group_by), ("by", self.by)]
        return urlencode([(k, v) for k, v in pairs if v])


def _query(range: str, start: str, end: str, team: str, service: str, severity: list[str], group_by: str,
           by: str) -> ReportQuery:
    return ReportQuery.parse(range[:16], start[:32], end[:32], team, service, [s[:8] for s in severity[:8]],
                             group_by[:16], by[:16])


@router.get("/reports")
def reports(request: Request, ctx: CtxDep, range: str = "", start: Annotated[str, Query(alias="from")] = "",
            end: Annotated[str, Query(alias="to")] = "", team: str = "", service: str = "",
            severity: Multi = [], group_by: str = "", by: str = "") -> Response:  # noqa: B006 (FastAPI copies it)
    q = _query(range, start, end, team, service, severity, group_by, by)
    with ctx.work() as (s, me):
        teams = sorted(t.slug for t in list_teams(s, limit=500))
        services = sorted(x.slug for x in list_services(s, limit=500))
        period = q.period(ctx.now, ctx.user.time_zone)
        data = svc.page_data(s, principal=me, now=ctx.now, period=period, flt=q.filter(),
                             group_by=m.GroupBy(q.group_by), unit=m.Bucket(q.by), settings=ctx.settings)
    currency = ctx.settings.cost_currency
    charts = [{"title": t.title, "src": report_page.chart_data_uri(t), "table": report_page.chart_table(t, currency)}
              for t in [*data.trends, report_page.action_chart(data.action_items["teams"])]]
    return render(request, ctx, "reports.html", q=q, period=period, ranges=RANGES, teams=teams, services=services,
                  severities=SEVERITY_VALUES, groups=GROUPS, units=UNITS, o=data.report["overall"],
                  groups_rows=data.report["groups"], action_teams=data.action_items["teams"], charts=charts,
                  durations=report_page.DURATIONS, currency=currency, query=q.query_string())


@router.get("/reports/view")
def report_view(request: Request, ctx: CtxDep, range: str = "", start: Annotated[str, Query(alias="from")] = "",
                end: Annotated[str, Query(alias="to")] = "", team: str = "", service: str = "",
                severity: Multi = [], group_by: str = "", by: str = "",  # noqa: B006
                since: str = "", until: str = "") -> Response:
    q = _query(range, start, end, team, service, severity, group_by, by)
    with ctx.work() as (s, me):
        # `since`/`until` (90d, or ISO with offset) as the API takes them; else the console's range and days
        period = (parse_period(since[:64], until[:64] or None, now=ctx.now) if since
                  else q.period(ctx.now, ctx.user.time_zone))
        html = svc.page_html(s, principal=me, now=ctx.now, period=period, flt=q.filter(),
                             group_by=m.GroupBy(q.group_by), unit=m.Bucket(q.by), settings=ctx.settings,
                             back="/reports?" + q.query_string())
    return HTMLResponse(html, headers={"Content-Security-Policy": report_page.CSP + "; frame-ancestors 'none'",
                                       "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
                                       "Cache-Control": "no-store"})
