"""A Grafana OnCall stand-in: the public API v1 (docs/sources/oncall-api-reference in grafana/oncall)
seeded with a small realistic org, page-number paging, `Authorization: <token>` auth, and a
`final_shifts` export computed by this file's own small implementation of OnCall's shift semantics
(not tocsin code), so that the import's on-call comparison can really fail.

The semantics implemented here, from the OnCall docs and custom_on_call_shift.py: an event starts at the
shift's local `start` time on each of its days (`by_day`, else every day for daily and the start's
weekday for weekly) and a recurring event lasts `duration` seconds of local wall time (a one-off event or
override lasts `duration` of real time); `rolling_users` groups take turns,
the next group starting with the first event of the next period (a week starts on `week_start`); the
highest `level` among the events going on wins and everyone in its groups is on call; an `override`
beats everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.interop.standin_http import JsonStandIn

DAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
TZ = "Europe/Berlin"


def seed(now: datetime) -> dict[str, Any]:
    """The org: 7 people in a team, one calendar schedule with a weekly 24x7 rotation (level 0), a
    weekday daytime rotation of pairs (level 1) and a weekend override, two escalation chains, four
    integrations and a second route."""
    people = ["alice", "bob", "carol", "dave", "erin", "frank", "grace"]
    users = [{"id": f"U{p.upper()}", "grafana_id": i + 1, "email": f"{p}@example.com", "slack": [],
              "username": p, "role": "admin" if p == "alice" else ("observer" if p == "grace" else "user"),
              "timezone": TZ if i % 2 else "America/New_York", "teams": ["TPAY"]}
             for i, p in enumerate(people)]
    # a Saturday 10:00 local a week or so after `now`: the override is inside the compared month
    local = now.astimezone(ZoneInfo(TZ)).date() + timedelta(days=7)
    saturday = local + timedelta(days=(5 - local.weekday()) % 7)
    shifts = [
        {"id": "OWEEKLY", "name": "Weekly 24x7", "type": "rolling_users", "team_id": "TPAY", "time_zone": TZ,
         "level": 0, "start": "2026-11-02T09:00:00", "rotation_start": "2026-11-02T09:00:00", "duration": 604800,
         "frequency": "weekly", "interval": 1, "until": None, "week_start": "MO", "by_day": None, "by_month": None,
         "by_monthday": None, "rolling_users": [["UALICE"], ["UBOB"], ["UCAROL"]],
         "start_rotation_from_user_index": 0},
        {"id": "ODAYTIME", "name": "Weekday daytime", "type": "rolling_users", "team_id": "TPAY", "time_zone": TZ,
         "level": 1, "start": "2026-11-02T09:00:00", "rotation_start": "2026-11-02T09:00:00", "duration": 28800,
         "frequency": "weekly", "interval": 1, "until": None, "week_start": "MO",
         "by_day": ["MO", "TU", "WE", "TH", "FR"], "by_month": None, "by_monthday": None,
         "rolling_users": [["UDAVE", "UERIN"], ["UFRANK", "UGRACE"]], "start_rotation_from_user_index": 0},
        {"id": "OOVERRIDE", "name": "Cover for the weekend", "type": "override", "team_id": "TPAY",
         "time_zone": TZ, "level": 99, "start": f"{saturday.isoformat()}T10:00:00", "duration": 86400,
         "rolling_users": [["UERIN"]]},
        {"id": "OOLDSTINT", "name": "Old stint", "type": "single_event", "team_id": "TPAY", "time_zone": TZ,
         "level": 2, "start": "2026-01-05T09:00:00", "duration": 3600, "users": ["UBOB"]},
    ]
    schedules = [
        {"id": "SPAYMENTS", "name": "Payments primary", "type": "calendar", "team_id": "TPAY", "time_zone": TZ,
         "on_call_now": [], "shifts": ["OWEEKLY", "ODAYTIME", "OOVERRIDE", "OOLDSTINT"], "ical_url_overrides": None,
         "slack": {"channel_id": None, "user_group_id": None}},
        {"id": "SICAL", "name": "Holidays (iCal)", "type": "ical", "team_id": None,
         "ical_url_primary": "https://calendar.example/holidays.ics", "ical_url_overrides": None, "on_call_now": [],
         "slack": {"channel_id": None, "user_group_id": None}},
    ]
    chains = [{"id": "FPAY", "name": "Payments", "team_id": "TPAY"},
              {"id": "FLOW", "name": "Low urgency", "team_id": "TPAY"}]
    steps = [
        {"id": "E1", "escalation_chain_id": "FPAY", "position": 0, "type": "notify_on_call_from_schedule",
         "important": False, "notify_on_call_from_schedule": "SPAYMENTS"},
        {"id": "E2", "escalation_chain_id": "FPAY", "position": 1, "type": "wait", "duration": 300},
        {"id": "E3", "escalation_chain_id": "FPAY", "position": 2, "type": "notify_persons", "important": True,
         "persons_to_notify": ["UALICE", "UBOB"]},
        {"id": "E4", "escalation_chain_id": "FPAY", "position": 3, "type": "notify_user_group",
         "group_to_notify": "SSLACKGRP"},
        {"id": "E5", "escalation_chain_id": "FPAY", "position": 4, "type": "wait", "duration": 900},
        {"id": "E6", "escalation_chain_id": "FPAY", "position": 5, "type": "notify_team_members",
         "team_to_notify": "TPAY"},
        {"id": "E7", "escalation_chain_id": "FPAY", "position": 6, "type": "repeat_escalation"},
        {"id": "E8", "escalation_chain_id": "FLOW", "position": 0, "type": "notify_persons",
         "persons_to_notify": ["UCAROL"]},
    ]
    def integration(ident: str, name: str, kind: str) -> dict[str, Any]:
        return {"id": ident, "name": name, "team_id": "TPAY", "type": kind,
                "link": f"https://oncall.example/integrations/v1/{kind}/{ident.lower()}secret/",
                "inbound_email": None, "maintenance_mode": None,
                "default_route": {"id": f"R{ident}", "escalation_chain_id": "FPAY", "slack": {"channel_id": None}},
                "templates": {}}
    integrations = [integration("CPROM", "Prometheus", "alertmanager"),
                    integration("CGRAF", "Grafana alerts", "grafana_alerting"),
                    integration("CHOOK", "Uptime checks", "webhook"),
                    integration("CMAIL", "Vendor mail", "inbound_email")]
    routes = [{"id": f"R{i['id']}", "integration_id": i["id"], "escalation_chain_id": "FPAY",
               "routing_type": "jinja2", "routing_regex": "True", "position": 0, "is_the_last_route": True,
               "slack": {"channel_id": None}} for i in integrations]
    routes.append({"id": "RLOW", "integration_id": "CPROM", "escalation_chain_id": "FLOW", "routing_type": "regex",
                   "routing_regex": "severity=warning", "position": 0, "is_the_last_route": False})
    return {"users": users, "teams": [{"id": "TPAY", "name": "Payments", "email": "", "avatar_url": ""}],
            "schedules": schedules, "on_call_shifts": shifts, "escalation_chains": chains,
            "escalation_policies": steps, "integrations": integrations, "routes": routes}


# --- OnCall's final schedule, implemented independently ----------------------------------------

@dataclass(frozen=True)
class Event:
    level: int
    users: tuple[str, ...]
    start: datetime
    end: datetime


def _events(shift: dict[str, Any], lo: date, hi: date) -> list[Event]:
    zone = ZoneInfo(shift.get("time_zone") or "UTC")
    first = datetime.fromisoformat(shift["start"])
    duration = timedelta(seconds=shift["duration"])
    level = int(shift.get("level") or 0)
    if shift["type"] == "override":
        users = tuple(u for g in shift.get("rolling_users") or [shift.get("users") or []] for u in g)
        # a one-off event lasts `duration` of real time (OnCall adds it to the UTC start)
        return [Event(10**6, users, first.replace(tzinfo=zone), first.replace(tzinfo=zone) + duration)]
    if shift["type"] == "single_event":
        return [Event(level, tuple(shift["users"]), first.replace(tzinfo=zone), first.replace(tzinfo=zone) + duration)]
    groups = shift.get("rolling_users") or [shift.get("users")]
    week_start = DAYS[shift.get("week_start") or "SU"]
    if shift["frequency"] == "weekly":
        days = {DAYS[d] for d in shift.get("by_day") or []} or {first.weekday()}
    else:
        days = {DAYS[d] for d in shift.get("by_day") or []} or set(range(7))

    def period(d: date) -> int:
        if shift["frequency"] == "weekly":
            def monday(x: date) -> date:  # the first day of x's week, weeks starting on week_start
                return x - timedelta(days=(x.weekday() - week_start) % 7)
            return (monday(d) - monday(first.date())).days // 7
        return (d - first.date()).days

    out = []
    d = max(first.date(), lo - timedelta(days=8))
    while d <= hi:
        if d.weekday() in days:
            wall = datetime.combine(d, first.time())
            if wall >= first:
                group = groups[period(d) % len(groups)]
                out.append(Event(level, tuple(group), wall.replace(tzinfo=zone), (wall + duration).replace(tzinfo=zone)))
        d += timedelta(days=1)
    return out


def final_shifts(shifts: list[dict[str, Any]], emails: dict[str, str], lo: date, hi: date) -> list[dict[str, Any]]:
    begin = datetime.combine(lo, time(), tzinfo=UTC)
    finish = datetime.combine(hi + timedelta(days=1), time(), tzinfo=UTC)
    events = [e for s in shifts for e in _events(s, lo, hi)]
    points = sorted({begin, finish} | {t.astimezone(UTC) for e in events for t in (e.start, e.end)
                                       if begin < t.astimezone(UTC) < finish})
    rows: list[dict[str, Any]] = []
    open_rows: dict[str, dict[str, Any]] = {}
    for a, b in zip(points, points[1:], strict=False):
        going = [e for e in events if e.start.astimezone(UTC) <= a < e.end.astimezone(UTC)]
        top = max((e.level for e in going), default=None)
        who = {u for e in going if e.level == top for u in e.users}
        for user in list(open_rows):
            if user not in who:
                rows.append(open_rows.pop(user))
        for user in who:
            row = open_rows.setdefault(user, {"user_pk": user, "user_email": emails[user],
                                              "user_username": emails[user].split("@")[0],
                                              "shift_start": a, "shift_end": b})
            row["shift_end"] = b
    rows += open_rows.values()
    rows.sort(key=lambda r: (r["shift_start"], r["user_pk"]))
    return [{**r, "shift_start": r["shift_start"].strftime("%Y-%m-%dT%H:%M:%SZ"),
             "shift_end": r["shift_end"].strftime("%Y-%m-%dT%H:%M:%SZ")} for r in rows]


# --- the HTTP API ------------------------------------------------------------------------------

class OnCallStandIn(JsonStandIn):
    def __init__(self, *, now: datetime, token: str = "oncall-test-token", max_page: int = 3) -> None:
        super().__init__()
        self.token = token
        self.max_page = max_page  # small, so that every list really pages
        self.data = seed(now)

    def _page(self, path: str, items: list[dict[str, Any]], query: dict[str, list[str]],
              max_page: int | None = None) -> dict[str, Any]:
        page = int(query.get("page", ["1"])[0])
        size = min(max_page or self.max_page, int(query.get("perpage", ["50"])[0]))
        total = max(1, -(-len(items) // size))
        chunk = items[(page - 1) * size: page * size]
        link = f"{self.url}{path}?page={{}}&perpage={size}"
        return {"count": len(items), "next": link.format(page + 1) if page < total else None,
                "previous": link.format(page - 1) if page > 1 else None, "results": chunk,
                "page_size": size, "current_page_number": page, "total_pages": total}

    def answer(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        if headers.get("Authorization") != self.token:
            return 401, {"detail": "Invalid token. secret-internal-detail"}
        parts = [p for p in path.split("/") if p]
        if parts[:2] != ["api", "v1"] or len(parts) < 3:
            return 404, {"detail": "Not found."}
        kind = parts[2]
        if kind == "schedules" and len(parts) == 5 and parts[4] == "final_shifts":
            shifts = [s for s in self.data["on_call_shifts"]
                      if s["id"] in next(x for x in self.data["schedules"] if x["id"] == parts[3]).get("shifts", [])]
            emails = {u["id"]: u["email"] for u in self.data["users"]}
            rows = final_shifts(shifts, emails, date.fromisoformat(query["start_date"][0]),
                                date.fromisoformat(query["end_date"][0]))
            return 200, self._page(path, rows, query, max_page=50)  # OnCall's own page size for this export
        if kind not in self.data:
            return 404, {"detail": "Not found."}
        items = self.data[kind]
        if len(parts) == 4:
            found = [i for i in items if i["id"] == parts[3]]
            return (200, found[0]) if found else (404, {"detail": "Not found."})
        if kind == "on_call_shifts" and "schedule_id" in query:
            schedule = next((s for s in self.data["schedules"] if s["id"] == query["schedule_id"][0]), None)
            items = [s for s in items if schedule and s["id"] in schedule.get("shifts", [])]
        return 200, self._page(path, items, query)
