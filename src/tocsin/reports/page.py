"""The reports page: one self-contained HTML document (summary table, inline SVG charts).

Rendered with jinja2 and autoescaping on, so every name a user chose (teams, services) is
escaped; the charts are matplotlib SVG whose text is escaped by matplotlib's XML writer and
is the only markup passed through unescaped. The page loads nothing (no script, no style
sheet, no image URL), which lets the route send a strict Content-Security-Policy.
"""

from __future__ import annotations

import base64
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
    ("time_to_contain", "Time to contain", "security incidents: declared → containment done (eradication began)"),
    ("time_to_eradicate", "Time to eradicate", "security incidents: declared → eradication done (recovery began)"),
]

_ENV.filters.update(dur=duration, pct=percent, money=money)


def action_chart(teams: list[dict[str, Any]]) -> m.Trend:
    return m.Trend("Action items done on time, by team", "% of items due", [t["team"] for t in teams],
                   [m.Series("done on time", [t["completion_rate_percent"] for t in teams])], "bar")


def chart_value(value: float | None, unit_label: str, currency: str = "") -> str:
    """One chart value as its data table prints it: the number the chart plots, in its unit."""
    if value is None:
        return "–"
    if unit_label == "minutes":
        return f"{value:.1f}"
    if unit_label == "cost":
        return money(value, currency)
    if unit_label.startswith("%"):
        return percent(value)
    return f"{value:g}"


def chart_table(trend: m.Trend, currency: str = "") -> dict[str, Any]:
    """The chart's own numbers as a table (one row per bucket, one column per series), printed
    beside the chart: what is drawn and what is read are the same values."""
    return {"caption": f"{trend.title} ({trend.unit_label})", "columns": [s.label for s in trend.series],
            "rows": [(key, [chart_value(s.values[i], trend.unit_label, currency) for s in trend.series])
                     for i, key in enumerate(trend.buckets)]}


def chart_data_uri(trend: m.Trend) -> str:
    """The chart as a data: URI for an <img> (the console's CSP allows data: images, not inline SVG styles)."""
    return "data:image/svg+xml;base64," + base64.b64encode(charts.render(trend)).decode("ascii")


def render_page(*, report: dict[str, Any], action_items: dict[str, Any], trends: list[m.Trend],
                generated_at: datetime, currency: str = "", back: str | None = None) -> str:
    """Return the HTML page for an incident report, its action items and its trend charts (and the
    action items chart), each chart followed by a table of its values."""
    flt = report["filters"]
    filters = [(k, ", ".join(v) if isinstance(v, list) else v) for k, v in flt.items() if v]
    figures = [(charts.inline_svg(t), chart_table(t, currency))
               for t in [*trends, action_chart(action_items["teams"])]]
    return _ENV.get_template("report.html").render(
        period=report["period"], filters=filters, o=report["overall"], durations=DURATIONS, charts=figures,
        group_by=report["group_by"], groups=report["groups"], action_teams=action_items["teams"],
        guardrails=report.get("guardrails", []), slos=report.get("slos") or {"services": []},
        generated_at=generated_at.isoformat(timespec="seconds"), currency=currency, back=back,
        drills=report.get("drills_left_out", 0))
