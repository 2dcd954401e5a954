"""`tocsin report`: incident response metrics through the API (TOCSIN_URL, TOCSIN_TOKEN).

A table in the terminal by default; CSV or JSON for scripts and spreadsheets; the reports
page (HTML) or a trend chart (SVG, PNG) to a file. The numbers come from GET
/api/v1/reports/incidents, so the command shows exactly what the API and page show.
"""

from __future__ import annotations

import csv
import io
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from tocsin.cli.api import DEFAULT_URL, Token, Url, call, request
from tocsin.cli.common import console, fail, print_json
from tocsin.csvsafe import writerow
from tocsin.reports.display import duration, money, percent


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    html = "html"
    svg = "svg"
    png = "png"


# Flat CSV columns: (header, path into a group's metrics). Durations stay in seconds for spreadsheets.
CSV_COLUMNS: list[tuple[str, tuple[str, ...]]] = [("incidents", ("incidents",))]
for _name in ("mttd", "mtta", "mttm", "mttr"):
    CSV_COLUMNS += [(f"{_name}_count", (_name, "count"))] + [
        (f"{_name}_{stat}_seconds", (_name, f"{stat}_seconds")) for stat in ("mean", "median", "p90")]
CSV_COLUMNS += [
    ("ic_within_5_min_percent", ("ic_within_5_min", "percent")),
    ("postmortems_required", ("postmortems", "required")),
    ("postmortems_published", ("postmortems", "published")),
    ("postmortem_completion_percent", ("postmortems", "completion_percent")),
    ("time_to_publish_median_seconds", ("postmortems", "time_to_publish", "median_seconds")),
    ("recurrence_count", ("recurrence", "count")),
    ("recurrence_percent", ("recurrence", "percent")),
    ("responder_hours", ("cost", "responder_hours")),
    ("responder_cost", ("cost", "responder_cost")),
    ("revenue_at_risk", ("cost", "revenue_at_risk")),
    ("cost_total", ("cost", "total")),
]
# security incidents (containment/): appended, so existing columns keep their places
for _name in ("time_to_contain", "time_to_eradicate"):
    CSV_COLUMNS += [(f"{_name}_count", (_name, "count")), (f"{_name}_median_seconds", (_name, "median_seconds"))]


def _pick(metrics: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = metrics
    for key in path:
        value = value[key]
    return value


def to_csv(report: dict[str, Any]) -> str:
    """One row for the whole period (group "all"), then one per group."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["group", *(name for name, _ in CSV_COLUMNS)])
    rows = [("all", report["overall"])] + [(g["key"], g["metrics"]) for g in report["groups"]]
    for key, metrics in rows:
        writerow(writer, [key, *("" if (v := _pick(metrics, path)) is None else v for _, path in CSV_COLUMNS)])
    return buf.getvalue()


def _stats(s: dict[str, Any]) -> str:
    return f"{duration(s['median_seconds'])} median · {duration(s['mean_seconds'])} mean · " \
           f"{duration(s['p90_seconds'])} p90 ({s['count']})"


def _summary_table(report: dict[str, Any]) -> Table:
    o = report["overall"]
    period = report["period"]
    table = Table(title=f"Incidents {period['since'][:16]} → {period['until'][:16]} UTC", title_justify="left",
                  show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    pm, ai, cost = o["postmortems"], o["action_items"], o["cost"]
    rows = [
        ("incidents", str(o["incidents"])),
        ("MTTD", _stats(o["mttd"])), ("MTTA", _stats(o["mtta"])), ("MTTM", _stats(o["mttm"])),
        ("MTTR", _stats(o["mttr"])),
        ("time to contain", _stats(o["time_to_contain"])), ("time to eradicate", _stats(o["time_to_eradicate"])),
        ("IC within 5 min", f"{percent(o['ic_within_5_min']['percent'])} "
                            f"({o['ic_within_5_min']['count']} of {o['ic_within_5_min']['of']})"),
        ("postmortems", f"{percent(pm['completion_percent'])} published ({pm['published']} of {pm['required']}), "
                        f"{duration(pm['time_to_publish']['median_seconds'])} median to publish"),
        ("action items", f"{percent(ai['completion_rate_percent'])} on time ({ai['done_on_time']} on time, "
                         f"{ai['done_late']} late, {ai['open_overdue']} overdue, {ai['open_not_due']} not due)"),
        ("recurrence", f"{percent(o['recurrence']['percent'])} ({o['recurrence']['count']})"),
        ("cost", f"{money(cost['total'])} ({cost['responder_hours']:.1f} responder h, "
                 f"{money(cost['revenue_at_risk'])} revenue at risk)"),
        ("status page", f"{duration(o['time_to_first_status_update']['value'])} median to the first public update"),
    ]
    for k, v in rows:
        table.add_row(k, v)
    return table


def _group_table(report: dict[str, Any]) -> Table:
    table = Table(title=f"By {report['group_by']}", title_justify="left")
    for col in (report["group_by"], "incidents", "MTTA med", "MTTR med", "IC ≤5m", "PM done", "recur", "cost"):
        table.add_column(col, overflow="fold", justify="left" if col == report["group_by"] else "right")
    for g in report["groups"]:
        x = g["metrics"]
        table.add_row(g["key"], str(x["incidents"]), duration(x["mtta"]["median_seconds"]),
                      duration(x["mttr"]["median_seconds"]), percent(x["ic_within_5_min"]["percent"]),
                      percent(x["postmortems"]["completion_percent"]), percent(x["recurrence"]["percent"]),
                      money(x["cost"]["total"]))
    return table


def _raw(url: str, token: str | None, path: str, params: list[tuple[str, Any]]) -> bytes:
    """GET a non-JSON answer (page or chart); exit 1 with the server's message on error."""
    return request(url, token, "GET", path, params=params, timeout=60).content


def report(
    since: Annotated[str, typer.Option("--since", help="Start: 90d, 12w, 24h or an ISO datetime with offset")] = "90d",
    until: Annotated[str | None, typer.Option("--until", help="End (exclusive), same forms; default now")] = None,
    group_by: Annotated[str, typer.Option("--group-by", help="none, team, service, severity, kind, month or "
                                                              "week")] = "none",
    team: Annotated[str | None, typer.Option("--team", help="Only incidents on services this team owns")] = None,
    service: Annotated[str | None, typer.Option("--service", help="Only incidents on this service")] = None,
    severity: Annotated[list[str] | None, typer.Option("--sev", "--severity", help="Only this severity "
                                                                                  "(repeatable)")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="operational or security")] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="table, csv, json, html (the reports page), svg or "
                                                              "png (a trend chart)")] = Format.table,
    metric: Annotated[str, typer.Option("--metric", help="For svg/png: count, mttd, mtta, mttm, mttr, "
                                                         "ic_within_5_min, recurrence, postmortem_completion, "
                                                         "cost")] = "count",
    by: Annotated[str, typer.Option("--by", help="For svg/png/html: week or month buckets")] = "week",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout")] = None,
    url: Url = DEFAULT_URL, token: Token = None,
) -> None:
    """Incident response metrics for a period: MTTA, MTTR, postmortems, action items, cost."""
    params: list[tuple[str, Any]] = [("since", since)] + ([("until", until)] if until else [])
    params += [(k, v) for k, v in (("team", team), ("service", service), ("kind", kind)) if v]
    params += [("severity", s) for s in severity or []]

    if fmt in (Format.svg, Format.png, Format.html):
        if fmt == Format.png and output is None and sys.stdout.isatty():
            fail("PNG is binary: give --output FILE (or redirect stdout)")
        if fmt == Format.html:
            path, params = "/api/v1/reports/page", params + [("by", by)] + (
                [("group_by", group_by)] if group_by != "none" else [])
        else:
            path, params = f"/api/v1/reports/incidents/chart.{fmt.value}", params + [("metric", metric), ("by", by)]
        _emit(_raw(url, token, path, params), output)
        return

    data = call(url, token, "GET", "/api/v1/reports/incidents", params=params + [("group_by", group_by)])
    if fmt == Format.json:
        if output:
            _emit(_json_bytes(data), output)
        else:
            print_json(data)
    elif fmt == Format.csv:
        _emit(to_csv(data).encode(), output)
    else:
        if output:
            fail("--output is for csv, json, html, svg and png; a table goes to the terminal")
        console.print(_summary_table(data))
        if data["groups"]:
            console.print(_group_table(data))


def _json_bytes(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"


def _emit(content: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(content)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    console.print(f"wrote {output} ({len(content):,} bytes)", highlight=False)
