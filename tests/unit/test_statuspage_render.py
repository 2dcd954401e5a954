"""Rendering a status page snapshot: Statuspage v2 JSON shapes, the roll-up, safe HTML, feeds.

Pure: the snapshots are built in memory, no database."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import feedparser
import pytest

from tocsin.statuspage import render, uptime
from tocsin.statuspage.views import Affected, Component, Incident, PageInfo, PageSnapshot, Update

NOW = datetime(2026, 11, 27, 21, 30, 15, 123456, tzinfo=UTC)
PAGE = PageInfo("p1", "acme", "Acme", "All about Acme", "https://cdn.example/logo.png",
                "https://status.example.com/status/acme", "America/Tijuana", NOW - timedelta(days=1))


def comp(cid: str, status: str = "operational", *, group: str | None = None, is_group: bool = False,
         children: tuple[str, ...] = (), position: int = 1, only_if_degraded: bool = False) -> Component:
    bars = None if is_group else uptime.compute(statuses=[uptime.Interval(NOW - timedelta(days=90), NOW, status)],
                                                now=NOW, zone=uptime.ZoneInfo("America/Tijuana"))
    return Component(cid, f"Component {cid}", "", status, position, group, is_group, only_if_degraded,
                     NOW - timedelta(days=400), NOW - timedelta(hours=1), children, bars)


def upd(uid: str, status: str, body: str, minutes_ago: int, affected: tuple[Affected, ...] | None = None) -> Update:
    at = NOW - timedelta(minutes=minutes_ago)
    return Update(uid, status, body, affected, True, at, at)


def inc(iid: str, status: str = "investigating", impact: str = "minor", *, kind: str = "incident",
        updates: tuple[Update, ...] = (), components: tuple[str, ...] = (), hours_ago: float = 1,
        scheduled: tuple[datetime, datetime] | None = None) -> Incident:
    start = NOW - timedelta(hours=hours_ago)
    return Incident(iid, kind, f"Incident {iid}", status, impact, start, start, NOW - timedelta(minutes=1),
                    None, start + timedelta(minutes=30) if status in ("resolved", "completed") else None,
                    scheduled[0] if scheduled else None, scheduled[1] if scheduled else None, updates, components)


def snap(components: tuple[Component, ...] = (), incidents: tuple[Incident, ...] = (),
         maintenances: tuple[Incident, ...] = (), page: PageInfo = PAGE) -> PageSnapshot:
    return PageSnapshot(page, components, incidents, maintenances, NOW)


def loads(site: dict, path: str) -> dict:
    return json.loads(site[path].body)


# --- roll-up -------------------------------------------------------------------------------------

ROLLUP = [
    ("no components", [], [], [], ("none", "All Systems Operational")),
    ("all operational", ["operational", "operational"], [], [], ("none", "All Systems Operational")),
    ("all major", ["major_outage", "major_outage"], [], [], ("critical", "Major System Outage")),
    ("one of two major", ["major_outage", "operational"], [], [], ("major", "Partial System Outage")),
    ("partial outage", ["partial_outage", "degraded_performance"], [], [], ("minor", "Minor Service Outage")),
    ("all degraded", ["degraded_performance"] * 2, [], [], ("minor", "Degraded System Service")),
    ("some degraded", ["degraded_performance", "operational"], [], [], ("minor", "Partially Degraded Service")),
    ("maintenance", ["under_maintenance", "operational"], [], [], ("maintenance", "Service Under Maintenance")),
    ("critical incident on a green page", ["operational"], [("identified", "critical")], [],
     ("critical", "Major System Outage")),
    ("major incident", ["degraded_performance"], [("monitoring", "major")], [], ("major", "Partial System Outage")),
    ("resolved incidents do not count", ["operational"], [("resolved", "critical")], [],
     ("none", "All Systems Operational")),
    ("weaker incident keeps the component roll-up", ["major_outage"], [("investigating", "minor")], [],
     ("critical", "Major System Outage")),
    ("maintenance in progress only", ["operational"], [], ["in_progress"], ("maintenance", "Service Under Maintenance")),
    ("scheduled maintenance does not count", ["operational"], [], ["scheduled"], ("none", "All Systems Operational")),
]


@pytest.mark.parametrize("name,statuses,incidents,maint,want", ROLLUP, ids=[r[0] for r in ROLLUP])
def test_rollup(name: str, statuses: list[str], incidents: list[tuple[str, str]], maint: list[str],
                want: tuple[str, str]) -> None:
    s = snap(tuple(comp(str(n), st) for n, st in enumerate(statuses)),
             tuple(inc(f"i{n}", st, im) for n, (st, im) in enumerate(incidents)),
             tuple(inc(f"m{n}", st, "maintenance", kind="maintenance") for n, st in enumerate(maint)))
    assert render.rollup(s) == want
    assert loads(render.site(s), "api/v2/status.json")["status"] == {"indicator": want[0], "description": want[1]}


def test_groups_do_not_count_in_the_rollup() -> None:
    s = snap((comp("g", "major_outage", is_group=True, children=("a",)), comp("a", "degraded_performance", group="g"),
              comp("b")))
    assert render.rollup(s) == ("minor", "Partially Degraded Service")


# --- JSON shapes ---------------------------------------------------------------------------------

def test_timestamps_have_milliseconds_in_the_page_offset() -> None:
    zone = uptime.ZoneInfo("America/Tijuana")
    assert render.iso(NOW, zone) == "2026-11-27T13:30:15.123-08:00"
    assert render.iso(datetime(2026, 7, 1, 12, tzinfo=UTC), zone) == "2026-07-01T05:00:00.000-07:00"
    assert render.iso(NOW, uptime.ZoneInfo("UTC")) == "2026-11-27T21:30:15.123Z"
    assert render.iso(None, zone) is None


def test_summary_and_component_shapes_in_statuspage_order() -> None:
    s = snap((comp("g", is_group=True, children=("a", "b"), position=1), comp("a", "partial_outage", group="g"),
              comp("b", group="g", position=2), comp("c", position=2)),
             (inc("i1", "identified", "major", components=("a",),
                  updates=(upd("u2", "identified", "Found", 5), upd("u1", "investigating", "Looking", 30,
                                                                    (Affected("a", "Component a", "operational",
                                                                              "partial_outage"),)))),
              inc("i0", "resolved", "minor", hours_ago=30)),
             (inc("m1", "scheduled", "maintenance", kind="maintenance",
                  scheduled=(NOW + timedelta(days=1), NOW + timedelta(days=1, hours=2))),))
    site = render.site(s)
    summary = loads(site, "api/v2/summary.json")
    assert list(summary) == ["page", "components", "incidents", "scheduled_maintenances", "status"]
    assert summary["page"] == {"id": "p1", "name": "Acme", "url": "https://status.example.com/status/acme",
                               "time_zone": "America/Tijuana", "updated_at": "2026-11-27T13:29:15.123-08:00"}
    group, child = summary["components"][0], summary["components"][1]
    assert list(child) == ["id", "name", "status", "created_at", "updated_at", "position", "description", "showcase",
                           "start_date", "group_id", "page_id", "group", "only_show_if_degraded"]
    assert group["group"] is True and group["components"] == ["a", "b"] and group["showcase"] is False
    assert child["group_id"] == "g" and child["page_id"] == "p1" and child["description"] is None
    assert [i["id"] for i in summary["incidents"]] == ["i1"]  # unresolved only
    incident = summary["incidents"][0]
    assert list(incident) == ["id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at",
                              "impact", "shortlink", "started_at", "page_id", "incident_updates", "components"]
    assert incident["shortlink"] == "https://status.example.com/status/acme/incidents/i1"
    assert [u["id"] for u in incident["incident_updates"]] == ["u2", "u1"]  # newest first
    first = incident["incident_updates"][1]
    assert list(first) == ["id", "status", "body", "incident_id", "created_at", "updated_at", "display_at",
                           "affected_components", "deliver_notifications", "custom_tweet", "tweet_id"]
    assert first["affected_components"] == [{"code": "a", "name": "Component a", "old_status": "operational",
                                             "new_status": "partial_outage"}]
    assert incident["incident_updates"][0]["affected_components"] is None
    assert [c["id"] for c in incident["components"]] == ["a"]
    maint = summary["scheduled_maintenances"][0]
    assert list(maint)[-2:] == ["scheduled_for", "scheduled_until"]
    assert maint["scheduled_for"] == render.iso(NOW + timedelta(days=1), s.zone)
    assert [i["id"] for i in loads(site, "api/v2/incidents.json")["incidents"]] == ["i1", "i0"]
    assert loads(site, "api/v2/scheduled-maintenances/upcoming.json")["scheduled_maintenances"][0]["id"] == "m1"
    assert loads(site, "api/v2/scheduled-maintenances/active.json")["scheduled_maintenances"] == []
    assert list(loads(site, "api/v2/components.json")) == ["page", "components"]


def test_incidents_json_holds_the_fifty_most_recent() -> None:
    many = tuple(inc(f"i{n:02d}", "resolved", hours_ago=n + 1) for n in range(60))
    site = render.site(snap(incidents=many))
    got = [i["id"] for i in loads(site, "api/v2/incidents.json")["incidents"]]
    assert got == [f"i{n:02d}" for n in range(50)]


# --- HTML ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("body,present,absent", [
    ("[click](javascript:alert(1))", ["[click](javascript:alert(1))"], ["href=\"javascript"]),
    ("[x](JaVaScRiPt:alert(1))", [], ["href=\"JaVaScRiPt", "href=\"javascript"]),
    ("[x](data:text/html;base64,PHNjcmlwdD4=)", [], ["href=\"data:"]),
    ("[x](vbscript:msgbox)", [], ["href=\"vbscript"]),
    ("<script>alert(1)</script>", ["&lt;script&gt;"], ["<script>"]),
    ("<img src=x onerror=alert(1)>", ["&lt;img"], ["<img src=x"]),
    ("![pixel](https://evil.example/p.png)", [], ["<img"]),
    ("[docs](https://example.com/a?b=\"c\")", ['href="https://example.com/a?b=%22c%22"', 'rel="nofollow noopener'],
     []),
    ("[mail](mailto:help@example.com)", ['href="mailto:help@example.com"'], []),
    ("**bold** and `code`", ["<strong>bold</strong>", "<code>code</code>"], []),
])
def test_update_bodies_are_safe_markdown(body: str, present: list[str], absent: list[str]) -> None:
    html = str(render.markdown(body))
    for text in present:
        assert text in html
    for text in absent:
        assert text not in html


@pytest.mark.parametrize("url,ok", [
    ("https://cdn.example/logo.png", True), ("data:image/png;base64,iVBORw0KGgo=", True),
    ("http://cdn.example/logo.png", False), ("javascript:alert(1)", False),
    ("data:text/html;base64,PHNjcmlwdD4=", False), ("https://x/\"onerror=\"alert(1)", False), (None, False),
])
def test_logo_only_https_or_data_image(url: str | None, ok: bool) -> None:
    assert (render.safe_logo(url) is not None) is ok
    page = replace(PAGE, logo_url=url)
    index = render.site(snap(page=page))[""].body.decode()
    assert ('class="logo"' in index) is ok


def test_index_shows_status_components_uptime_and_hides_only_if_degraded() -> None:
    s = snap((comp("a", "major_outage"), comp("b", only_if_degraded=True), comp("c", "degraded_performance",
                                                                               only_if_degraded=True)),
             (inc("i1", "investigating", "critical", updates=(upd("u1", "investigating", "We are on it", 3),)),))
    index = render.site(s)[""].body.decode()
    assert "Partial System Outage" in index or "Major System Outage" in index
    assert "Component a" in index and "Component c" in index and "Component b" not in index
    assert "We are on it" in index
    # two components shown, each a single run of 90 days with the same figure
    assert index.count('class="bar ') == 2 and index.count(" w90\"") == 2
    assert "0.00 % uptime" in index and "100.00 % uptime" in index  # the text alternative, per component
    assert 'action="/status/acme/subscribe"' in index and 'name="email"' in index
    assert "/status/acme/history.atom" in index and "/status/acme/api/v2/summary.json" in index
    assert "style=" not in index and "<script" not in index  # the CSP forbids inline styles and scripts


def test_incident_pages_for_every_incident_and_maintenance() -> None:
    s = snap(incidents=(inc("i1", "resolved"),), maintenances=(inc("m1", "completed", "maintenance",
                                                                    kind="maintenance"),))
    site = render.site(s)
    assert {"incidents/i1", "incidents/m1"} <= set(site)
    assert "Incident i1" in site["incidents/i1"].body.decode()


# --- feeds ---------------------------------------------------------------------------------------

def test_feeds_parse_with_titles_links_and_dates() -> None:
    s = snap(incidents=(inc("i1", "resolved", updates=(upd("u1", "resolved", "Fixed <b>it</b> \x00\x0b", 3),),
                            hours_ago=2),
                        inc("i2", "investigating", hours_ago=1)),
             maintenances=(inc("m1", "scheduled", "maintenance", kind="maintenance",
                               scheduled=(NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1))),))
    site = render.site(s)
    for path in ("history.atom", "history.rss"):
        feed = feedparser.parse(site[path].body)
        assert feed.bozo == 0, (path, feed.get("bozo_exception"))
        assert feed.feed.title == "Acme status history"
        titles = {e.title for e in feed.entries}
        assert titles == {"Incident i1", "Incident i2", "Incident m1"}
        links = {e.title: e.link for e in feed.entries}
        assert links["Incident i1"] == "https://status.example.com/status/acme/incidents/i1"
        first = next(e for e in feed.entries if e.title == "Incident i1")
        assert first.published_parsed[:5] == (NOW - timedelta(hours=2)).timetuple()[:5]
        assert "Fixed" in first.summary and "<b>" not in first.summary



def test_uptime_bars_are_runs_of_days_with_a_text_alternative() -> None:
    zone = uptime.ZoneInfo("America/Tijuana")
    start = uptime.window_start(NOW, zone)
    outage_day = uptime.day_bounds((NOW - timedelta(days=10)).astimezone(zone).date(), zone)[0]
    intervals = uptime.status_intervals([(outage_day + timedelta(hours=1), "major_outage"),
                                         (outage_day + timedelta(hours=7), "operational")],
                                        initial="operational", since=start, until=NOW)
    bars = uptime.compute(statuses=intervals, now=NOW, zone=zone)
    c = replace(comp("a"), uptime=bars)
    runs = render.bar_runs(c, zone)
    assert [(r["cls"], r["days"]) for r in runs] == [("u-ok", 79), ("u-major", 1), ("u-ok", 10)]
    assert runs[1]["title"].endswith(": 75.00 %")
    index = render.site(snap((c,)))[""].body.decode()
    assert 'class="bar u-major w1"' in index
    assert f"{bars.percent:.2f} % uptime" in index
    assert 'aria-label="Component a: ' in index


def test_a_day_entirely_under_maintenance_shows_as_maintenance_not_no_data() -> None:
    zone = uptime.ZoneInfo("America/Tijuana")
    start = uptime.window_start(NOW, zone)
    day = (NOW - timedelta(days=5)).astimezone(zone).date()
    lo, hi = uptime.day_bounds(day, zone)
    intervals = uptime.status_intervals([(lo, "under_maintenance"), (hi, "operational")],
                                        initial="operational", since=start, until=NOW)
    created = NOW - timedelta(days=100)
    bars = uptime.compute(statuses=intervals, now=NOW, zone=zone, since=created)
    c = replace(comp("a"), uptime=bars)
    runs = render.bar_runs(c, zone)
    assert [(r["cls"], r["days"]) for r in runs] == [("u-ok", 84), ("u-maint-day", 1), ("u-ok", 5)]
    assert runs[1]["title"] == f"{day.isoformat()}: under maintenance (not counted)"
    index = render.site(snap((c,)))[""].body.decode()
    assert 'class="bar u-maint-day w1"' in index and "u-none" not in index
    assert "1 day entirely under maintenance (not counted)" in index
    assert b".u-maint-day" in render.STYLESHEET
    # a component younger than the window still has days with no data, and they say so
    young = replace(comp("b"), uptime=uptime.compute(statuses=intervals, now=NOW, zone=zone,
                                                     since=NOW - timedelta(days=30)))
    young_runs = render.bar_runs(young, zone)
    assert young_runs[0]["cls"] == "u-none" and young_runs[0]["title"].endswith(": no data")
    assert "entirely under maintenance" not in render.site(snap((comp("c"),)))[""].body.decode()
