"""A PagerDuty REST API v2 stand-in: the documented JSON (PagerDuty's OpenAPI schema, go-pagerduty's
structs; /work/shared/reference/integrations-wire-formats.md §5.1, §5.4), `Authorization: Token token=`
auth, classic offset/limit/more paging, error bodies `{"error": {...}}`, seeded with a small realistic
org. `GET /schedules/{id}?since=&until=` renders `final_schedule.rendered_schedule_entries` with this
file's own small implementation of PagerDuty's layer semantics (not tocsin code):

turn k of a layer starts at `rotation_virtual_start` plus k turns, counted on the local wall clock of the
schedule's time zone for whole-day turns and in real time for shorter ones; the layer is active from its
`start` to its `end`; inside its restrictions only (each a local window starting on its day, lasting
`duration_seconds`); the last layer in the list with someone on wins; overrides beat every layer.
"""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.interop.standin_http import JsonStandIn

TZ = "America/New_York"


def _z(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ref(kind: str, ident: str, summary: str = "") -> dict[str, Any]:
    return {"id": ident, "type": f"{kind}_reference", "summary": summary,
            "self": f"https://api.pagerduty.com/{kind}s/{ident}", "html_url": f"https://acme.pagerduty.com/{kind}s/{ident}"}


def seed(now: datetime) -> dict[str, Any]:
    names = ["alice", "bob", "carol", "dave", "erin"]
    users = [{"id": f"P{n.upper()}", "type": "user", "name": n.title(), "email": f"{n}@example.com",
              "time_zone": TZ, "role": "admin" if n == "alice" else "user", "job_title": "SRE",
              "teams": [_ref("team", "PTEAM", "Platform")], "contact_methods": [], "notification_rules": []}
             for n in names]
    contact_methods = {
        u["id"]: ([{"id": f"C{u['id']}E", "type": "email_contact_method", "label": "Work", "address": u["email"]}]
                  + ([] if u["id"] == "PERIN" else
                     [{"id": f"C{u['id']}S", "type": "sms_contact_method", "label": "Mobile", "country_code": 1,
                       "address": f"55501{i:05d}", "enabled": True, "blacklisted": False}]))
        for i, u in enumerate(users)}
    weekdays = [{"type": "weekly_restriction", "start_time_of_day": "09:00:00", "duration_seconds": 28800,
                 "start_day_of_week": d} for d in range(1, 6)]
    schedule = {
        "id": "PSCHED1", "type": "schedule", "name": "Platform primary", "time_zone": TZ, "description": "",
        "teams": [_ref("team", "PTEAM", "Platform")],
        "schedule_layers": [
            {"id": "PLAYER1", "name": "Weekly", "start": "2026-11-02T09:00:00-05:00", "end": None,
             "rotation_virtual_start": "2026-11-02T09:00:00-05:00", "rotation_turn_length_seconds": 604800,
             "users": [{"user": _ref("user", u)} for u in ("PALICE", "PBOB", "PCAROL")], "restrictions": []},
            {"id": "PLAYER2", "name": "Weekday daytime", "start": "2026-11-02T09:00:00-05:00", "end": None,
             "rotation_virtual_start": "2026-11-02T09:00:00-05:00", "rotation_turn_length_seconds": 86400,
             "users": [{"user": _ref("user", u)} for u in ("PDAVE", "PERIN")], "restrictions": weekdays},
            {"id": "PLAYER0", "name": "Old layer", "start": "2026-01-05T09:00:00-05:00",
             "end": "2026-06-01T09:00:00-04:00", "rotation_virtual_start": "2026-01-05T09:00:00-05:00",
             "rotation_turn_length_seconds": 86400, "users": [{"user": _ref("user", "PBOB")}], "restrictions": []},
        ],
    }
    wednesday = (now.astimezone(ZoneInfo(TZ)) + timedelta(days=8)).date()
    wednesday += timedelta(days=(2 - wednesday.weekday()) % 7)
    o_start = datetime.combine(wednesday, time(18), tzinfo=ZoneInfo(TZ))
    overrides = {"PSCHED1": [{"id": "POVR1", "start": o_start.isoformat(), "end": (o_start + timedelta(hours=20)).isoformat(),
                              "user": _ref("user", "PERIN", "Erin")}]}
    policy = {"id": "PPOL1", "type": "escalation_policy", "name": "Platform", "description": "", "num_loops": 2,
              "on_call_handoff_notifications": "if_has_services",
              "escalation_rules": [
                  {"id": "PR1", "escalation_delay_in_minutes": 15, "targets": [_ref("schedule", "PSCHED1")]},
                  {"id": "PR2", "escalation_delay_in_minutes": 30,
                   "targets": [_ref("user", "PALICE"), _ref("user", "PERIN")]}],
              "services": [_ref("service", "PSVC1")], "teams": [_ref("team", "PTEAM")]}
    integ = [
        {"id": "PINT1", "type": "events_api_v2_inbound_integration", "name": "Prometheus",
         "integration_key": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "service": _ref("service", "PSVC1")},
        {"id": "PINT2", "type": "events_api_v2_inbound_integration", "name": "Datadog",
         "integration_key": "0f9e8d7c6b5a49382716a5b4c3d2e1f0", "service": _ref("service", "PSVC1")},
        {"id": "PINT3", "type": "generic_email_inbound_integration", "name": "Vendor mail",
         "integration_email": "checkout@acme.pagerduty.com", "service": _ref("service", "PSVC1")},
    ]
    services = [{"id": "PSVC1", "type": "service", "name": "Checkout API", "description": "Payments checkout",
                 "status": "active", "escalation_policy": _ref("escalation_policy", "PPOL1"),
                 "auto_resolve_timeout": 14400, "acknowledgement_timeout": 1800, "teams": [_ref("team", "PTEAM")],
                 "integrations": integ}]
    mw_start = (now + timedelta(days=10)).replace(hour=2, minute=0, second=0, microsecond=0)
    windows = [{"id": "PMW1", "type": "maintenance_window", "description": "Database upgrade",
                "start_time": _z(mw_start), "end_time": _z(mw_start + timedelta(hours=2)),
                "services": [_ref("service", "PSVC1")], "teams": []}]
    members = {"PTEAM": [{"user": _ref("user", str(u["id"])), "role": "responder"} for u in users]}
    return {"users": users, "contact_methods": contact_methods, "teams": [{"id": "PTEAM", "type": "team",
            "name": "Platform", "description": "The platform team"}], "members": members, "schedules": [schedule],
            "overrides": overrides, "escalation_policies": [policy], "services": services,
            "maintenance_windows": windows}


# --- PagerDuty's final schedule, implemented independently -------------------------------------

def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _layer_user(layer: dict[str, Any], zone: ZoneInfo, at: datetime) -> str | None:
    if at < _parse(layer["start"]) or (layer.get("end") and at >= _parse(layer["end"])):
        return None
    turn = layer["rotation_turn_length_seconds"]
    anchor = _parse(layer["rotation_virtual_start"]).astimezone(zone)
    # a first guess from real time, then walk the turns on the wall clock (DST moves them by an hour)
    k = max(0, int((at - anchor).total_seconds() // turn) - 2)
    while True:
        if turn % 86400 == 0:
            nxt = (anchor.replace(tzinfo=None) + timedelta(seconds=turn * (k + 1))).replace(tzinfo=zone)
        else:
            nxt = anchor.astimezone(UTC) + timedelta(seconds=turn * (k + 1))
        if nxt.astimezone(UTC) > at:
            break
        k += 1
    if at < anchor:
        return None
    restrictions = layer.get("restrictions") or []
    if restrictions:
        local = at.astimezone(zone)
        inside = False
        for back in range(0, 8):
            day = local.date() - timedelta(days=back)
            for r in restrictions:
                if r["type"] == "weekly_restriction" and day.isoweekday() != r["start_day_of_week"]:
                    continue
                begin = datetime.combine(day, time.fromisoformat(r["start_time_of_day"]), tzinfo=zone)
                if begin.astimezone(UTC) <= at < (begin + timedelta(seconds=r["duration_seconds"])).astimezone(UTC):
                    inside = True
        if not inside:
            return None
    users = layer["users"]
    return str(users[k % len(users)]["user"]["id"])


def _points(schedule: dict[str, Any], overrides: list[dict[str, Any]], since: datetime,
            until: datetime) -> list[datetime]:
    """Every instant in [since, until) where who is on call may change: hand-overs, window edges,
    layer and override bounds."""
    zone = ZoneInfo(schedule["time_zone"])
    found = {since}
    for layer in schedule["schedule_layers"]:
        found |= {_parse(layer["start"])} | ({_parse(layer["end"])} if layer.get("end") else set())
        turn = layer["rotation_turn_length_seconds"]
        anchor = _parse(layer["rotation_virtual_start"]).astimezone(zone)
        k = max(0, int((since - anchor).total_seconds() // turn) - 2)
        while True:
            if turn % 86400 == 0:
                t = (anchor.replace(tzinfo=None) + timedelta(seconds=turn * k)).replace(tzinfo=zone)
            else:
                t = anchor.astimezone(UTC) + timedelta(seconds=turn * k)
            if t.astimezone(UTC) >= until:
                break
            found.add(t.astimezone(UTC))
            k += 1
        day = since.astimezone(zone).date() - timedelta(days=8)
        while day <= until.astimezone(zone).date():
            for r in layer.get("restrictions") or []:
                begin = datetime.combine(day, time.fromisoformat(r["start_time_of_day"]), tzinfo=zone)
                found |= {begin.astimezone(UTC), (begin + timedelta(seconds=r["duration_seconds"])).astimezone(UTC)}
            day += timedelta(days=1)
    for o in overrides:
        found |= {_parse(o["start"]), _parse(o["end"])}
    return sorted(t.astimezone(UTC) for t in found if since <= t < until)


def final_entries(schedule: dict[str, Any], overrides: list[dict[str, Any]], since: datetime,
                  until: datetime) -> list[dict[str, Any]]:
    """Who is on call at each point where it may change, merged into entries."""
    zone = ZoneInfo(schedule["time_zone"])
    out: list[dict[str, Any]] = []
    current: tuple[str, datetime] | None = None
    for at in _points(schedule, overrides, since, until):
        who = None
        for layer in schedule["schedule_layers"]:
            who = _layer_user(layer, zone, at) or who
        for o in overrides:
            if _parse(o["start"]) <= at < _parse(o["end"]):
                who = o["user"]["id"]
        if current and current[0] != who:
            out.append({"start": _z(current[1]), "end": _z(at), "user": _ref("user", current[0])})
            current = None
        if who and current is None:
            current = (who, at)
    if current:
        out.append({"start": _z(current[1]), "end": _z(until), "user": _ref("user", current[0])})
    return out


# --- the HTTP API ------------------------------------------------------------------------------

class PagerDutyStandIn(JsonStandIn):
    def __init__(self, *, now: datetime, token: str = "pd-test-token", max_limit: int = 2,
                 tls: ssl.SSLContext | None = None, highest_first: bool = False) -> None:
        super().__init__(tls)
        self.token = token
        # GET answers layers lowest-first (as POST takes them); older PagerDuty answered highest-first
        self.highest_first = highest_first
        self.max_limit = max_limit  # small, so that every list really pages
        self.data = seed(now)

    def _page(self, key: str, items: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
        limit = min(self.max_limit, int(query.get("limit", ["25"])[0]))
        offset = int(query.get("offset", ["0"])[0])
        chunk = items[offset: offset + limit]
        return {key: chunk, "limit": limit, "offset": offset, "more": offset + limit < len(items), "total": None}

    def answer(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        if headers.get("Authorization") != f"Token token={self.token}":
            return 401, {"error": {"message": "Unauthorized", "code": 2006, "errors": ["internal-secret-detail"]}}
        parts = [p for p in path.split("/") if p]
        d = self.data
        if parts == ["users"]:
            return 200, self._page("users", d["users"], query)
        if len(parts) == 3 and parts[0] == "users" and parts[2] == "contact_methods":
            return 200, {"contact_methods": d["contact_methods"].get(parts[1], [])}
        if parts == ["teams"]:
            return 200, self._page("teams", d["teams"], query)
        if len(parts) == 3 and parts[0] == "teams" and parts[2] == "members":
            return 200, self._page("members", d["members"].get(parts[1], []), query)
        if parts == ["schedules"]:
            listed = [{k: v for k, v in s.items() if k != "schedule_layers"} for s in d["schedules"]]
            return 200, self._page("schedules", listed, query)
        if len(parts) >= 2 and parts[0] == "schedules":
            schedule = next((s for s in d["schedules"] if s["id"] == parts[1]), None)
            if schedule is None:
                return 404, {"error": {"message": "Not Found", "code": 2100}}
            overrides = d["overrides"].get(parts[1], [])
            if len(parts) == 3 and parts[2] == "overrides":
                if "since" not in query or "until" not in query:
                    return 400, {"error": {"message": "Invalid Input Provided", "code": 2001,
                                           "errors": ["since and until are required"]}}
                return 200, {"overrides": overrides}
            body = dict(schedule)
            if self.highest_first:
                body["schedule_layers"] = schedule["schedule_layers"][::-1]
            if "since" in query and "until" in query:
                since, until = _parse(query["since"][0]), _parse(query["until"][0])
                body["final_schedule"] = {"name": "Final Schedule", "rendered_coverage_percentage": None,
                                          "rendered_schedule_entries": final_entries(schedule, overrides, since, until)}
            return 200, {"schedule": body}
        if parts == ["escalation_policies"]:
            return 200, self._page("escalation_policies", d["escalation_policies"], query)
        if parts == ["services"]:
            include = query.get("include[]", [])
            listed = [s if "integrations" in include else
                      {**s, "integrations": [{"id": i["id"], "type": i["type"] + "_reference"} for i in s["integrations"]]}
                      for s in d["services"]]
            return 200, self._page("services", listed, query)
        if parts == ["maintenance_windows"]:
            return 200, self._page("maintenance_windows", d["maintenance_windows"], query)
        return 404, {"error": {"message": "Not Found", "code": 2100}}
