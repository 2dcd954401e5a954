"""Render a status page snapshot into every file the public sees: a pure function.

`site(snapshot)` returns {path relative to the page root: Rendered}. The cache serves these
bytes from memory at `/status/<slug>/<path>` and the export writes the same bytes to disk,
so a page served by tocsin and the same page served by nginx from an export are identical.

JSON follows the Statuspage v2 public API (shapes and key order of `/api/v2/*.json`;
timestamps with milliseconds in the page's own UTC offset). HTML comes from Jinja2 templates
with autoescape on; update bodies are Markdown rendered without raw HTML and with links
limited to http, https and mailto. Only public fields exist in the snapshot, so nothing
internal can be rendered by mistake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup

from tocsin.statuspage import feeds
from tocsin.statuspage.types import MAINTENANCE_ACTIVE, UNRESOLVED, MaintenanceStatus
from tocsin.statuspage.views import (
    HISTORY_DAYS,
    RECENT,
    Component,
    Incident,
    PageSnapshot,
    Update,
)

# The Content-Security-Policy of every public page, served by tocsin (cache.py) or by nginx (export.py).
CSP = (b"default-src 'none'; img-src https: data:; style-src 'self'; form-action 'self'; "
       b"frame-ancestors 'none'; base-uri 'none'")

HERE = Path(__file__).parent
JSON = "application/json"
HTML = "text/html; charset=utf-8"
CSS = "text/css; charset=utf-8"
STYLESHEET = (HERE / "static" / "status.css").read_bytes()


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str


# --- time ----------------------------------------------------------------------------------------

def iso(value: datetime | None, zone: ZoneInfo) -> str | None:
    """`2022-02-15T13:37:37.407-08:00`: milliseconds, in the page's offset (Z for UTC)."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# --- roll-up -------------------------------------------------------------------------------------

_INDICATOR_RANK = {"none": 0, "maintenance": 1, "minor": 2, "major": 3, "critical": 4}
_IMPACT_DESCRIPTION = {"critical": "Major System Outage", "major": "Partial System Outage",
                       "minor": "Minor Service Outage"}


def rollup(snap: PageSnapshot) -> tuple[str, str]:
    """(indicator, description) of the page, as Statuspage computes its top-level status
    (status.json); see `rollup_of`."""
    return rollup_of([c.status for c in snap.components if not c.is_group],
                     [i.impact for i in snap.incidents if i.status in UNRESOLVED],
                     any(m.status in MAINTENANCE_ACTIVE for m in snap.maintenances))


def rollup_of(leaves: list[str], open_impacts: list[str], maintenance_active: bool) -> tuple[str, str]:
    """The page roll-up from its leaf component statuses (groups just hold them), the impacts
    of its unresolved incidents and whether a maintenance is in progress. The one definition:
    status.json and the webhook payloads (deliver.py) both use it, so they never disagree.

    From the components: all in major outage → critical "Major System Outage"; some → major
    "Partial System Outage"; any partial outage → minor "Minor Service Outage"; all degraded →
    minor "Degraded System Service"; some → minor "Partially Degraded Service"; any under
    maintenance → maintenance "Service Under Maintenance". An unresolved incident's impact
    raises it (critical/major/minor), and a maintenance in progress makes an otherwise
    operational page `maintenance`."""
    if leaves and all(s == "major_outage" for s in leaves):
        found = ("critical", "Major System Outage")
    elif "major_outage" in leaves:
        found = ("major", "Partial System Outage")
    elif "partial_outage" in leaves:
        found = ("minor", "Minor Service Outage")
    elif leaves and all(s == "degraded_performance" for s in leaves):
        found = ("minor", "Degraded System Service")
    elif "degraded_performance" in leaves:
        found = ("minor", "Partially Degraded Service")
    elif "under_maintenance" in leaves:
        found = ("maintenance", "Service Under Maintenance")
    else:
        found = ("none", "All Systems Operational")
    for impact in open_impacts:
        if impact in _IMPACT_DESCRIPTION and _INDICATOR_RANK[impact] > _INDICATOR_RANK[found[0]]:
            found = (impact, _IMPACT_DESCRIPTION[impact])
    if found[0] == "none" and maintenance_active:
        found = ("maintenance", "Service Under Maintenance")
    return found


# --- JSON ----------------------------------------------------------------------------------------

def page_json(snap: PageSnapshot) -> dict[str, Any]:
    p = snap.page
    return {"id": p.id, "name": p.name, "url": p.url, "time_zone": p.time_zone,
            "updated_at": iso(_updated_at(snap), snap.zone)}


def _updated_at(snap: PageSnapshot) -> datetime:
    """The last change anywhere on the page (Statuspage's page.updated_at moves with incidents)."""
    times = [snap.page.updated_at] + [c.updated_at for c in snap.components] \
        + [i.updated_at for i in snap.incidents] + [m.updated_at for m in snap.maintenances]
    return max(times)


def component_json(c: Component, snap: PageSnapshot) -> dict[str, Any]:
    zone = snap.zone
    out: dict[str, Any] = {
        "id": c.id, "name": c.name, "status": c.status, "created_at": iso(c.created_at, zone),
        "updated_at": iso(c.updated_at, zone), "position": c.position, "description": c.description or None,
        "showcase": not c.is_group, "start_date": c.created_at.astimezone(zone).date().isoformat(),
        "group_id": c.group_id, "page_id": snap.page.id, "group": c.is_group,
        "only_show_if_degraded": c.only_show_if_degraded}
    if c.is_group:
        out["components"] = list(c.children)
    return out


def shortlink(snap: PageSnapshot, incident_id: str) -> str:
    return f"{snap.page.url.rstrip('/')}/incidents/{incident_id}"


def update_json(u: Update, inc: Incident, zone: ZoneInfo) -> dict[str, Any]:
    affected = None if u.affected_components is None else [
        {"code": a.code, "name": a.name, "old_status": a.old_status, "new_status": a.new_status}
        for a in u.affected_components]
    return {"id": u.id, "status": u.status, "body": u.body, "incident_id": inc.id,
            "created_at": iso(u.created_at, zone), "updated_at": iso(u.created_at, zone),
            "display_at": iso(u.display_at, zone), "affected_components": affected,
            "deliver_notifications": u.deliver_notifications, "custom_tweet": None, "tweet_id": None}


def incident_json(inc: Incident, snap: PageSnapshot) -> dict[str, Any]:
    zone = snap.zone
    out: dict[str, Any] = {
        "id": inc.id, "name": inc.name, "status": inc.status, "created_at": iso(inc.created_at, zone),
        "updated_at": iso(inc.updated_at, zone), "monitoring_at": iso(inc.monitoring_at, zone),
        "resolved_at": iso(inc.resolved_at, zone), "impact": inc.impact, "shortlink": shortlink(snap, inc.id),
        "started_at": iso(inc.started_at, zone), "page_id": snap.page.id,
        "incident_updates": [update_json(u, inc, zone) for u in inc.updates],
        "components": [component_json(c, snap) for cid in inc.component_ids if (c := snap.component(cid))]}
    if inc.kind == "maintenance":
        out["scheduled_for"] = iso(inc.scheduled_for, zone)
        out["scheduled_until"] = iso(inc.scheduled_until, zone)
    return out


def _dump(value: Any) -> Rendered:
    return Rendered(orjson.dumps(value), JSON)


def api(snap: PageSnapshot) -> dict[str, Rendered]:
    """The eight Statuspage v2 endpoints."""
    page = page_json(snap)
    indicator, description = rollup(snap)
    status = {"indicator": indicator, "description": description}
    components = [component_json(c, snap) for c in snap.components]
    recent = [incident_json(i, snap) for i in snap.incidents[:RECENT]]
    unresolved = [incident_json(i, snap) for i in snap.incidents if i.status in UNRESOLVED]
    maint = [incident_json(m, snap) for m in snap.maintenances[:RECENT]]
    upcoming = [incident_json(m, snap) for m in snap.maintenances if m.status == MaintenanceStatus.scheduled.value]
    active = [incident_json(m, snap) for m in snap.maintenances if m.status in MAINTENANCE_ACTIVE]
    return {
        "api/v2/summary.json": _dump({"page": page, "components": components, "incidents": unresolved,
                                      "scheduled_maintenances": active + upcoming, "status": status}),
        "api/v2/status.json": _dump({"page": page, "status": status}),
        "api/v2/components.json": _dump({"page": page, "components": components}),
        "api/v2/incidents.json": _dump({"page": page, "incidents": recent}),
        "api/v2/incidents/unresolved.json": _dump({"page": page, "incidents": unresolved}),
        "api/v2/scheduled-maintenances.json": _dump({"page": page, "scheduled_maintenances": maint}),
        "api/v2/scheduled-maintenances/upcoming.json": _dump({"page": page, "scheduled_maintenances": upcoming}),
        "api/v2/scheduled-maintenances/active.json": _dump({"page": page, "scheduled_maintenances": active}),
    }


# --- HTML ----------------------------------------------------------------------------------------

_SAFE_LINK = ("http://", "https://", "mailto:")
PAST_SHOWN = 10  # past incidents on the index; the rest are in the feeds and incidents.json
_LOGO = re.compile(r"^(https://|data:image/(png|gif|jpeg|webp|avif|svg\+xml);base64,)", re.IGNORECASE)


class _SafeLinks(MarkdownIt):
    """Links only to http, https and mailto addresses."""

    def validateLink(self, url: str) -> bool:
        return url.strip().lower().startswith(_SAFE_LINK)


def _markdown() -> MarkdownIt:
    md = _SafeLinks("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")  # no third-party pixels in customer-facing updates

    def link_open(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


MD = _markdown()


def markdown(text: str) -> Markup:
    """An update body as HTML: Markdown without raw HTML or images, links only http/https/mailto."""
    return Markup(MD.render(feeds.clean(text)))


def safe_logo(url: str | None) -> str | None:
    """The logo address if it is https: or a data: image, else None (no <img> at all)."""
    if url and _LOGO.match(url.strip()) and not any(ch in url for ch in "\"'<>\\\n\r\t "):
        return url.strip()
    return None


STATUS_LABEL = {"operational": "Operational", "degraded_performance": "Degraded performance",
                "partial_outage": "Partial outage", "major_outage": "Major outage",
                "under_maintenance": "Under maintenance", "investigating": "Investigating",
                "identified": "Identified", "monitoring": "Monitoring", "resolved": "Resolved",
                "postmortem": "Postmortem", "scheduled": "Scheduled", "in_progress": "In progress",
                "verifying": "Verifying", "completed": "Completed"}


def _label(value: str) -> str:
    return STATUS_LABEL.get(value, value.replace("_", " ").capitalize())


def _all_maintenance(day: Any) -> bool:
    """Nothing counted because the whole (existing) day was under maintenance, as opposed to a
    day with no data at all (before the component existed)."""
    return day.up is None and day.worst == "under_maintenance"


def _bar_class(day: Any) -> str:
    up = day.up
    if _all_maintenance(day):
        return "u-maint-day"
    if up is None:
        return "u-none"
    if up >= 1.0:
        return "u-maint" if day.worst == "under_maintenance" else "u-ok"
    if up >= 0.99:
        return "u-minor"
    if up >= 0.95:
        return "u-partial"
    return "u-major"


MAINTENANCE_FIGURE = "under maintenance (not counted)"


def maintenance_days(c: Component) -> int:
    """Days in the 90-day bar that were entirely under maintenance (for the text alternative)."""
    return sum(1 for day in (c.uptime.days if c.uptime else ()) if _all_maintenance(day))


def bar_runs(c: Component, zone: ZoneInfo) -> list[dict[str, Any]]:
    """The 90 day bars as runs of days with the same colour and figure: one element per run
    (class `w<days>` sets its width) keeps a page of many components small."""
    runs: list[dict[str, Any]] = []
    for day in c.uptime.days if c.uptime else ():
        cls = _bar_class(day)
        figure = MAINTENANCE_FIGURE if _all_maintenance(day) else \
            "no data" if day.up is None else _percent(day.up * 100)
        if runs and runs[-1]["cls"] == cls and runs[-1]["figure"] == figure:
            runs[-1]["last"] = day.day
            runs[-1]["days"] += 1
        else:
            runs.append({"cls": cls, "figure": figure, "first": day.day, "last": day.day, "days": 1})
    for run in runs:
        span = run["first"].isoformat() if run["days"] == 1 else f"{run['first']:%Y-%m-%d} to {run['last']:%Y-%m-%d}"
        run["title"] = f"{span}: {run['figure']}"
    return runs


def _percent(value: float | None) -> str:
    if value is None:
        return "no data"
    text = f"{value:.2f}"
    return f"{text} %"


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["markdown"] = markdown
    env.filters["label"] = _label
    env.filters["bar_class"] = _bar_class
    env.filters["percent"] = _percent
    env.filters["clean"] = feeds.clean
    env.globals["bar_runs"] = bar_runs
    env.globals["maintenance_days"] = maintenance_days
    return env


ENV = _env()


def _when(zone: ZoneInfo):  # noqa: ANN202 (a Jinja filter closure)
    def when(value: datetime | None) -> str:
        if value is None:
            return ""
        local = value.astimezone(zone)
        return f"{local:%b} {local.day}, {local:%Y %H:%M} {local.tzname() or ''}".strip()
    return when


def _visible(snap: PageSnapshot) -> list[dict[str, Any]]:
    """The component list for the page: top-level entries with a group's visible children."""
    out: list[dict[str, Any]] = []
    by_id = {c.id: c for c in snap.components}
    for c in snap.components:
        if c.group_id is not None and c.group_id in by_id:
            continue
        if c.is_group:
            kids = [by_id[k] for k in c.children if k in by_id and _shown(by_id[k])]
            if kids:
                worst = max((k.status for k in kids), key=_STATUS_RANK.__getitem__)
                out.append({"c": c, "status": worst, "children": kids})
        elif _shown(c):
            out.append({"c": c, "status": c.status, "children": []})
    return out


_STATUS_RANK = {"operational": 0, "under_maintenance": 1, "degraded_performance": 2, "partial_outage": 3,
                "major_outage": 4}


def _shown(c: Component) -> bool:
    return not (c.only_show_if_degraded and c.status == "operational")


def html(snap: PageSnapshot) -> dict[str, Rendered]:
    zone = snap.zone
    indicator, description = rollup(snap)
    root = f"/status/{snap.page.slug}"
    common = {"page": snap.page, "root": root, "logo": safe_logo(snap.page.logo_url), "when": _when(zone),
              "indicator": indicator, "description": description, "now": snap.now, "snap": snap}
    since = snap.now - timedelta(days=HISTORY_DAYS)
    active = [i for i in snap.incidents if i.status in UNRESOLVED]
    past = [i for i in snap.incidents if i.status not in UNRESOLVED
            and (i.resolved_at or i.started_at) >= since][:PAST_SHOWN]
    upcoming = [m for m in snap.maintenances if m.status == MaintenanceStatus.scheduled.value]
    upcoming.sort(key=lambda m: m.scheduled_for or m.started_at)
    ongoing = [m for m in snap.maintenances if m.status in MAINTENANCE_ACTIVE]
    names = {c.id: c.name for c in snap.components}
    out = {"": Rendered(ENV.get_template("index.html").render(
        **common, groups=_visible(snap), active=active, ongoing=ongoing, upcoming=upcoming, past=past,
        names=names, history_days=HISTORY_DAYS, zone=zone).encode(), HTML)}
    for inc in (*snap.incidents, *snap.maintenances):
        out[f"incidents/{inc.id}"] = Rendered(ENV.get_template("incident.html").render(
            **common, incident=inc, names=names).encode(), HTML)
    return out


def not_found() -> Rendered:
    return Rendered(ENV.get_template("not_found.html").render().encode(), HTML)


# --- everything ----------------------------------------------------------------------------------

def site(snap: PageSnapshot) -> dict[str, Rendered]:
    """Every public file of the page, keyed by path relative to the page root ("" is the index)."""
    out = html(snap)
    out.update(api(snap))
    out["history.atom"] = Rendered(feeds.atom(snap, when=iso, body=markdown), feeds.ATOM)
    out["history.rss"] = Rendered(feeds.rss(snap, body=markdown), feeds.RSS)
    out["status.css"] = Rendered(STYLESHEET, CSS)
    return out
