"""A stand-in Opsgenie REST API on 127.0.0.1 for `tocsin import opsgenie`, speaking Opsgenie's JSON.

Shapes follow opsgenie-go-sdk-v2's result structs and the public API docs (reference:
/work/shared/reference/integrations-wire-formats.md §4, §5.3, §5.4): every answer is
`{"data": ..., "took": <s>, "requestId": <uuid>}`, lists paged by `offset`/`limit` carry a
`paging` object (`next` only when more follow), auth is `Authorization: GenieKey <key>` (401 with
Opsgenie's `{"message": "Could not authenticate", ...}` otherwise).

Served: /v2/account, /v2/users[/{id}?expand=contact], /v2/teams[/{id}], /v2/schedules?expand=rotation,
/v2/schedules/{id}/overrides, /v2/schedules/{id}/timeline, /v2/escalations, /v1/services,
/v2/integrations, /v1/maintenance[/{id}], /v2/heartbeats.

The timeline is computed here, by this file's own small model of Opsgenie's rotation rules (it
imports nothing from tocsin), so an import that maps a rotation wrongly disagrees with it:

* a rotation's turn k starts at the local wall time of `startDate` plus k*length days/weeks in
  the schedule's time zone (hourly: k*length real hours); participant k mod n holds it; nobody
  before `startDate` or after `endDate`; a `none` participant is an empty turn;
* a time restriction keeps the turn only inside its local windows (time-of-day every day;
  weekday-and-time-of-day from startDay/time to endDay/time, possibly across the week's end);
* an override bound to rotations replaces whoever those rotations have on call during its span;
  one without rotations puts its user on call for the whole span and nobody else;
* every rotation is on call at once (the final timeline lists each rotation's periods).
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

STEP = timedelta(minutes=15)  # every time in the seed is on this grid, so the timeline is exact
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.lru_cache(maxsize=4096)
def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


# ---- the stand-in's own model of Opsgenie on-call -------------------------------------------------

def _in_restriction(tr: dict[str, Any] | None, local: datetime) -> bool:
    if not tr:
        return True
    minute_of_day = local.hour * 60 + local.minute
    if tr["type"] == "time-of-day":
        r = tr["restriction"]
        s, e = r["startHour"] * 60 + r["startMin"], r["endHour"] * 60 + r["endMin"]
        return s <= minute_of_day < e if s < e else (minute_of_day >= s or minute_of_day < e)
    week_minute = local.weekday() * 1440 + minute_of_day
    for r in tr["restrictions"]:
        s = _DAYS.index(r["startDay"]) * 1440 + r["startHour"] * 60 + r["startMin"]
        e = _DAYS.index(r["endDay"]) * 1440 + r["endHour"] * 60 + r["endMin"]
        if (s <= week_minute < e) if s < e else (week_minute >= s or week_minute < e):
            return True
    return False


def rotation_holder(rotation: dict[str, Any], tz: ZoneInfo, at: datetime) -> str | None:
    """The user id the rotation (without overrides) has on call at `at`, or None."""
    start = _parse(rotation["startDate"])
    if at < start or (rotation.get("endDate") and at >= _parse(rotation["endDate"])):
        return None
    people = rotation["participants"]
    if rotation["type"] == "hourly":
        turn = (at - start) // timedelta(hours=rotation["length"])
    else:
        period = timedelta(days=rotation["length"] * (7 if rotation["type"] == "weekly" else 1))
        wall_now = at.astimezone(tz).replace(tzinfo=None)
        wall_start = start.astimezone(tz).replace(tzinfo=None)
        turn = (wall_now - wall_start) // period
    if not _in_restriction(rotation.get("timeRestriction"), at.astimezone(tz)):
        return None
    p = people[turn % len(people)]
    return p.get("id") if p["type"] == "user" else None


def on_call(schedule: dict[str, Any], overrides: list[dict[str, Any]], at: datetime) -> dict[str, tuple[str, str]]:
    """Rotation id -> (user id, period type) at `at`, overrides applied."""
    tz = ZoneInfo(schedule["timezone"])
    out: dict[str, tuple[str, str]] = {}
    for rot in schedule["rotations"]:
        who = rotation_holder(rot, tz, at)
        if who is not None:
            out[rot["id"]] = (who, "default")
    for o in overrides:
        if not _parse(o["startDate"]) <= at < _parse(o["endDate"]):
            continue
        bound = [r["id"] for r in o.get("rotations") or []]
        if not bound:  # the whole schedule: only the override's user
            return {schedule["rotations"][0]["id"]: (o["user"]["id"], "override")}
        for rid in bound:
            if rid in out:
                out[rid] = (o["user"]["id"], "override")
    return out


def timeline(schedule: dict[str, Any], overrides: list[dict[str, Any]], users: dict[str, dict[str, Any]],
             start: datetime, end: datetime, *, with_overrides: bool = True) -> dict[str, Any]:
    runs: dict[str, list[list[Any]]] = {r["id"]: [] for r in schedule["rotations"]}  # [start, end, user, type]
    t = start
    while t < end:
        for rid, (uid, kind) in on_call(schedule, overrides if with_overrides else [], t).items():
            last = runs[rid][-1] if runs[rid] else None
            if last and last[1] == t and last[2] == uid and last[3] == kind:
                last[1] = t + STEP
            else:
                runs[rid].append([t, t + STEP, uid, kind])
        t += STEP
    return {"rotations": [
        {"id": r["id"], "name": r["name"], "order": i + 1,
         "periods": [{"startDate": iso(a), "endDate": iso(b), "type": kind,
                      "recipient": {"id": uid, "type": "user", "name": users[uid]["username"]}}
                     for a, b, uid, kind in runs[r["id"]]]}
        for i, r in enumerate(schedule["rotations"])]}


# ---- the seeded organisation -----------------------------------------------------------------

def _id() -> str:
    return str(uuid.uuid4())


@dataclass
class Org:
    users: list[dict[str, Any]] = field(default_factory=list)
    teams: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    overrides: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    integrations: list[dict[str, Any]] = field(default_factory=list)
    maintenance: list[dict[str, Any]] = field(default_factory=list)
    heartbeats: list[dict[str, Any]] = field(default_factory=list)

    def user(self, username: str) -> dict[str, Any]:
        return next(u for u in self.users if u["username"] == username)

    def ref(self, username: str) -> dict[str, Any]:
        u = self.user(username)
        return {"type": "user", "id": u["id"], "username": u["username"]}


def _monday_before(now: datetime, tz: str, hour: int, weeks: int) -> str:
    local = now.astimezone(ZoneInfo(tz))
    day = local.date() - timedelta(days=local.weekday() + 7 * weeks)
    return iso(datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(tz)))


def seed(now: datetime) -> Org:
    """Four people, two teams, two schedules (weekly, daily of length 2 with a weekday window, nightly
    time-of-day, hourly), overrides, two escalations, two services, three integrations, a maintenance."""
    org = Org()
    people = [("alice@example.com", "Alice Doe", "Owner", "Europe/Berlin",
               [{"contactMethod": "email", "to": "alice@example.com"}, {"contactMethod": "sms", "to": "49-15112345678"}]),
              ("bob@example.com", "Bob Roe", "User", "Europe/Berlin", [{"contactMethod": "voice", "to": "1-2125550100"}]),
              ("carol@example.com", "Carol Poe", "User", "America/New_York", []),
              ("dave@example.com", "Dave Moe", "Admin", "America/New_York",
               [{"contactMethod": "mobile", "to": "Pixel 9"}])]
    for email, name, role, tz, contacts in people:
        org.users.append({"id": _id(), "username": email, "fullName": name, "role": {"id": role, "name": role},
                          "blocked": False, "verified": True, "timeZone": tz, "locale": "en_US",
                          "createdAt": "2021-04-01T09:00:00.000Z", "tags": [], "details": {},
                          "userAddress": {"country": "", "state": "", "city": "", "line": "", "zipCode": ""},
                          "userContacts": [{"id": _id(), "enabled": True, **c} for c in contacts]})
    payments = {"id": _id(), "name": "Payments", "description": "Money in, money out",
                "members": [{"user": {"id": org.user(e)["id"], "username": e}, "role": r}
                            for e, r in (("alice@example.com", "admin"), ("bob@example.com", "user"),
                                         ("carol@example.com", "user"))]}
    platform = {"id": _id(), "name": "Platform", "description": "",
                "members": [{"user": {"id": org.user(e)["id"], "username": e}, "role": "user"}
                            for e in ("carol@example.com", "dave@example.com", "alice@example.com")]}
    org.teams = [payments, platform]
    weekly = {"id": _id(), "name": "Weekly", "type": "weekly", "length": 1,
              "startDate": _monday_before(now, "Europe/Berlin", 9, 3),
              "participants": [org.ref("alice@example.com"), org.ref("bob@example.com")]}
    business = {"id": _id(), "name": "Business hours", "type": "daily", "length": 2,
                "startDate": _monday_before(now, "Europe/Berlin", 9, 2),
                "participants": [org.ref("carol@example.com"), org.ref("dave@example.com")],
                "timeRestriction": {"type": "weekday-and-time-of-day", "restrictions": [
                    {"startDay": "monday", "startHour": 9, "startMin": 0, "endDay": "friday", "endHour": 17,
                     "endMin": 30},
                    {"startDay": "saturday", "startHour": 10, "startMin": 0, "endDay": "saturday", "endHour": 14,
                     "endMin": 0}]}}
    nights = {"id": _id(), "name": "Nights", "type": "daily", "length": 1,
              "startDate": _monday_before(now, "America/New_York", 18, 1),
              "participants": [org.ref("dave@example.com"), org.ref("carol@example.com"), org.ref("alice@example.com")],
              "timeRestriction": {"type": "time-of-day",
                                  "restriction": {"startHour": 18, "startMin": 0, "endHour": 8, "endMin": 0}}}
    follow = {"id": _id(), "name": "Follow the sun", "type": "hourly", "length": 12,
              "startDate": _monday_before(now, "America/New_York", 6, 1),
              "participants": [org.ref("bob@example.com"), org.ref("alice@example.com")]}
    pay_sched = {"id": _id(), "name": "Payments_schedule", "description": "", "timezone": "Europe/Berlin",
                 "enabled": True, "ownerTeam": {"id": payments["id"], "name": "Payments"},
                 "rotations": [weekly, business]}
    plat_sched = {"id": _id(), "name": "Platform_schedule", "description": "", "timezone": "America/New_York",
                  "enabled": True, "ownerTeam": {"id": platform["id"], "name": "Platform"},
                  "rotations": [nights, follow]}
    org.schedules = [pay_sched, plat_sched]
    day = now.replace(minute=0, second=0, microsecond=0)
    org.overrides = {
        pay_sched["id"]: [{"_parent": {"id": pay_sched["id"], "name": pay_sched["name"], "enabled": True},
                           "alias": "carol-covers-weekly", "user": org.ref("carol@example.com"),
                           "startDate": iso(day + timedelta(days=3, hours=2)),
                           "endDate": iso(day + timedelta(days=5, hours=6)),
                           "rotations": [{"id": weekly["id"], "name": weekly["name"]}]}],
        plat_sched["id"]: [{"_parent": {"id": plat_sched["id"], "name": plat_sched["name"], "enabled": True},
                            "alias": "bob-holds-platform", "user": org.ref("bob@example.com"),
                            "startDate": iso(day + timedelta(days=9)), "endDate": iso(day + timedelta(days=10, hours=3)),
                            "rotations": []}],
    }
    org.escalations = [
        {"id": _id(), "name": "Payments_escalation", "description": "", "ownerTeam": {"id": payments["id"],
                                                                                      "name": "Payments"},
         "rules": [{"condition": "if-not-acked", "notifyType": "default", "delay": {"timeAmount": 0,
                                                                                   "timeUnit": "minutes"},
                    "recipient": {"type": "schedule", "id": pay_sched["id"], "name": pay_sched["name"]}},
                   {"condition": "if-not-acked", "notifyType": "default", "delay": {"timeAmount": 10,
                                                                                   "timeUnit": "minutes"},
                    "recipient": org.ref("alice@example.com")},
                   {"condition": "if-not-acked", "notifyType": "next", "delay": {"timeAmount": 20,
                                                                                "timeUnit": "minutes"},
                    "recipient": {"type": "schedule", "id": pay_sched["id"], "name": pay_sched["name"]}}],
         "repeat": {"waitInterval": 15, "count": 2, "resetRecipientStates": False, "closeAlertAfterAll": False}},
        {"id": _id(), "name": "Platform_escalation", "description": "", "ownerTeam": {"id": platform["id"],
                                                                                      "name": "Platform"},
         "rules": [{"condition": "if-not-acked", "notifyType": "default", "delay": {"timeAmount": 0,
                                                                                   "timeUnit": "minutes"},
                    "recipient": {"type": "schedule", "id": plat_sched["id"], "name": plat_sched["name"]}},
                   {"condition": "if-not-acked", "notifyType": "all", "delay": {"timeAmount": 1, "timeUnit": "hours"},
                    "recipient": {"type": "team", "id": platform["id"], "name": "Platform"}}]},
    ]
    org.services = [{"id": _id(), "name": "Payments API", "description": "Card payments", "teamId": payments["id"],
                     "visibility": "TEAM_MEMBERS", "tags": ["tier1"], "isExternal": False},
                    {"id": _id(), "name": "Platform Core", "description": "", "teamId": platform["id"],
                     "visibility": "OPSGENIE_USERS", "tags": [], "isExternal": False}]
    prometheus = {"id": _id(), "name": "Payments Prometheus", "type": "Prometheus", "enabled": True,
                  "teamId": payments["id"], "version": "v2"}
    org.integrations = [prometheus,
                        {"id": _id(), "name": "Payments API key", "type": "API", "enabled": True,
                         "teamId": payments["id"], "version": "v2"},
                        {"id": _id(), "name": "Platform Email", "type": "Email", "enabled": True,
                         "teamId": platform["id"], "version": "v1"}]
    org.maintenance = [{"id": _id(), "status": "planned", "description": "DB upgrade",
                        "time": {"type": "schedule", "startDate": iso(day + timedelta(days=5)),
                                 "endDate": iso(day + timedelta(days=5, hours=2))},
                        "rules": [{"state": "enabled", "entity": {"id": prometheus["id"], "type": "integration"}}]}]
    org.heartbeats = [{"name": "nightly-backup", "description": "", "interval": 1, "intervalUnit": "days",
                       "enabled": True, "expired": False, "lastPingTime": "2026-01-01T00:00:00Z",
                       "ownerTeam": {"id": platform["id"], "name": "Platform"}}]
    return org


# ---- HTTP ------------------------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    server: OpsgenieStandin

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        body = {**body, "took": 0.004, "requestId": str(uuid.uuid4())}
        raw = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _paged(self, path: str, items: list[dict[str, Any]], query: dict[str, str]) -> None:
        offset, limit = int(query.get("offset", 0)), min(int(query.get("limit", 20)), 100)
        page = items[offset:offset + limit]
        base = f"http://{self.headers['Host']}{path}"
        paging = {"first": f"{base}?limit={limit}&offset=0",
                  "last": f"{base}?limit={limit}&offset={max(0, (len(items) - 1) // limit * limit)}"}
        if offset + limit < len(items):
            paging["next"] = f"{base}?limit={limit}&offset={offset + limit}"
        headers = {f"X-Paging-{k.title()}": v for k, v in paging.items()}
        self._send(200, {"data": page, "paging": paging, "totalCount": len(items)}, headers)

    def do_GET(self) -> None:  # noqa: C901 - one dispatch table
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        self.server.requests.append((url.path, query))
        if self.headers.get("Authorization") != f"GenieKey {self.server.key}":
            self._send(401, {"message": "Could not authenticate"})
            return
        org, parts = self.server.org, url.path.strip("/").split("/")
        with self.server.lock:
            found = self._route(org, parts, query, url.path)
        if found is None:
            self._send(404, {"message": "Not found"})

    def _route(self, org: Org, parts: list[str], query: dict[str, str], path: str) -> bool | None:
        match parts:
            case ["v2", "account"]:
                self._send(200, {"data": {"name": "acme", "userCount": len(org.users),
                                          "plan": {"maxUserCount": 100, "name": "Enterprise", "isYearly": True}}})
            case ["v2", "users"]:
                self._paged(path, [{k: v for k, v in u.items() if k != "userContacts"} for u in org.users], query)
            case ["v2", "users", uid]:
                u = next((u for u in org.users if uid in (u["id"], u["username"])), None)
                if u is None:
                    return None
                shown = dict(u) if query.get("expand") == "contact" else {k: v for k, v in u.items()
                                                                          if k != "userContacts"}
                self._send(200, {"data": shown})
            case ["v2", "teams"]:
                self._send(200, {"data": [{k: t[k] for k in ("id", "name", "description")} for t in org.teams]})
            case ["v2", "teams", tid]:
                t = next((t for t in org.teams if tid in (t["id"], t["name"])), None)
                if t is None:
                    return None
                self._send(200, {"data": t})
            case ["v2", "schedules"]:
                expand = query.get("expand") == "rotation"
                self._send(200, {"data": [s if expand else {k: v for k, v in s.items() if k != "rotations"}
                                          for s in org.schedules], "expandable": ["rotation"]})
            case ["v2", "schedules", sid, "overrides"]:
                if not any(s["id"] == sid for s in org.schedules):
                    return None
                self._send(200, {"data": org.overrides.get(sid, [])})
            case ["v2", "schedules", sid, "timeline"]:
                s = next((s for s in org.schedules if s["id"] == sid), None)
                if s is None:
                    return None
                self._send(200, {"data": self._timeline(org, s, query)})
            case ["v2", "escalations"]:
                self._send(200, {"data": org.escalations})
            case ["v1", "services"]:
                self._paged(path, org.services, query)
            case ["v2", "integrations"]:
                self._send(200, {"data": org.integrations})
            case ["v1", "maintenance"]:
                self._send(200, {"data": [{k: v for k, v in m.items() if k != "rules"} for m in org.maintenance]})
            case ["v1", "maintenance", mid]:
                m = next((m for m in org.maintenance if m["id"] == mid), None)
                if m is None:
                    return None
                self._send(200, {"data": m})
            case ["v2", "heartbeats"]:
                self._send(200, {"data": {"heartbeats": org.heartbeats}})
            case _:
                return None
        return True

    def _timeline(self, org: Org, s: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        unit = {"days": 1, "weeks": 7, "months": 30}[query.get("intervalUnit", "weeks")]
        start = _parse(query["date"]) if "date" in query else datetime.now(UTC)
        start = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0)
        end = start + timedelta(days=unit * int(query.get("interval", 1)))
        users = {u["id"]: u for u in org.users}
        overrides = org.overrides.get(s["id"], [])
        expand = set(query.get("expand", "").split(","))
        body: dict[str, Any] = {"_parent": {"id": s["id"], "name": s["name"], "enabled": s["enabled"]},
                                "startDate": iso(start), "endDate": iso(end),
                                "finalTimeline": timeline(s, overrides, users, start, end)}
        if "base" in expand:
            body["baseTimeline"] = timeline(s, overrides, users, start, end, with_overrides=False)
        if "override" in expand:
            body["overrideTimeline"] = {"rotations": []}
        if "forwarding" in expand:
            body["forwardingTimeline"] = {"rotations": []}
        return body


class OpsgenieStandin(http.server.ThreadingHTTPServer):
    """`with OpsgenieStandin(org, key) as og:` serves on og.url until the block ends."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, org: Org, key: str = "og-test-key") -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.org, self.key = org, key
        self.lock = threading.Lock()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def account(org: Org, now: datetime, days: int = 35) -> dict[str, Any]:
    """What `fetch_account` reads from this org, without HTTP (for translation tests)."""
    users = {u["id"]: u for u in org.users}
    start = (now - timedelta(days=1)).replace(second=0, microsecond=0)
    start = start.replace(minute=start.minute - start.minute % 15)
    return {
        "users": org.users, "teams": org.teams, "schedules": org.schedules, "overrides": org.overrides,
        "timelines": {s["id"]: {"finalTimeline": timeline(s, org.overrides.get(s["id"], []), users, start,
                                                          start + timedelta(days=days))} for s in org.schedules},
        "escalations": org.escalations, "services": org.services, "integrations": org.integrations,
        "maintenance": org.maintenance, "heartbeats": org.heartbeats,
    }
