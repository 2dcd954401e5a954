"""The reports page inside the console: the same HTML report as `/api/v1/reports/page`, with the
console session instead of an API token.

The report is a self-contained document with inline styles and SVG, so it is served on its own
address (`/reports/view`) with the report's own strict CSP; `/reports` is a console page with
the period and grouping form that opens it (the console CSP allows no frames).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from tocsin.errors import InvalidInput
from tocsin.reports import incident_metrics as m
from tocsin.reports import page as report_page
from tocsin.reports import service as svc
from tocsin.reports.period import parse_period
from tocsin.web.auth import WebCtx, web_ctx
from tocsin.web.render import render

router = APIRouter(include_in_schema=False)
GROUPS = [g.value for g in m.GroupBy]
UNITS = [u.value for u in m.Bucket]


def _choice(value: str, allowed: list[str], default: str, name: str) -> str:
    if not value:
        return default
    if value not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}", details={"field": name})
    return value


@router.get("/reports")
def reports(request: Request, ctx: WebCtx = Depends(web_ctx)) -> Response:
    return render(request, ctx, "reports.html", groups=GROUPS, units=UNITS)


@router.get("/reports/view")
def report_view(request: Request, since: str = "", until: str = "", group_by: str = "", by: str = "",
                ctx: WebCtx = Depends(web_ctx)) -> Response:
    group = m.GroupBy(_choice(group_by, GROUPS, m.GroupBy.team.value, "group_by"))
    unit = m.Bucket(_choice(by, UNITS, m.Bucket.week.value, "by"))
    with ctx.work() as (s, me):
        period = parse_period(since[:64] or None, until[:64] or None, now=ctx.now)
        flt = svc.ReportFilter(team=None, service=None, severity=[], kind=None)
        html = svc.page_html(s, principal=me, now=ctx.now, period=period, flt=flt, group_by=group, unit=unit,
                             settings=ctx.settings)
    return HTMLResponse(html, headers={"Content-Security-Policy": report_page.CSP + "; frame-ancestors 'none'",
                                       "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
                                       "Cache-Control": "no-store"})
