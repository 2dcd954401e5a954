"""The reports page: one self-contained HTML document (summary table, inline SVG charts).

Rendered with jinja2 and autoescaping on, so every name a user chose (teams, services) is
escaped; the charts are matplotlib SVG whose text is escaped by matplotlib's XML writer and
is the only markup passed through unescaped. The page loads nothing (no script, no style
sheet, no image URL), which lets the route send a strict Content-Security-Policy.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from tocsin.reports import charts
from tocsin.reports import incident_metrics as m
from tocsin.reports.display import duration, money, percent

_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                          autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

DURATIONS = [
    ("mttd", "Time to detect (MTTD)", "impact start → detected"),
    ("mtta", "Time to acknowledge (MTTA)", "first alert → first acknowledgement"),
    ("mttm", "Time to mitigate (MTTM)", "detected → mitigated"),
    ("mttr", "Time to resolve (MTTR)", "detected → resolved"),
]

_ENV.filters.update(dur=duration, pct=percent, money=money)


def action_chart(teams: list[dict[str, Any]]) -> m.Trend:
    return m.Trend("Action items done on time, by team", "% of items due", [t["team"] for t in teams],
                   [m.Series("done on time", [t["completion_rate_percent"] for t in teams])], "bar")


def render_page(*, report: dict[str, Any], action_items: dict[str, Any], trends: list[m.Trend],
                generated_at: datetime) -> str:
    """Return the HTML page for an incident report, its action items and its trend charts."""
    flt = report["filters"]
    filters = [(k, ", ".join(v) if isinstance(v, list) else v) for k, v in flt.items() if v]
    svgs = [charts.inline_svg(t) for t in [*trends, action_chart(action_items["teams"])]]
    return _ENV.get_template("report.html").render(
        period=report["period"], filters=filters, o=report["overall"], durations=DURATIONS, charts=svgs,
        group_by=report["group_by"], groups=report["groups"], action_teams=action_items["teams"],
        generated_at=generated_at.isoformat(timespec="seconds"))
