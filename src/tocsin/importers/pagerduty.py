"""Import from PagerDuty (REST API v2, `Authorization: Token token=<key>`): users and their contact
methods, teams, schedules (layers, restrictions, overrides), escalation policies, services with their
Events API v2 integrations (tocsin makes new keys; the old ones are shown beside them), maintenance windows, and the final schedule the import is
verified against.

`fetch` reads the API into `PagerDutyData` (classic offset/limit/more paging); `translate` (pure) builds
the ImportPlan whose document follows docs/config-as-code.md, every object carrying `source_id`
"pagerduty:<kind>:<id>"; `final_timelines` reads `GET /schedules/{id}?since=&until=`'s
`final_schedule.rendered_schedule_entries`.

Semantics kept: a layer's turns start at `rotation_virtual_start` and last `rotation_turn_length_seconds`;
turns of whole days or weeks hand over at the same local time in the schedule's time zone (DST-safe, a
tocsin daily/weekly rotation), shorter whole-hour turns every N real hours (a custom rotation).
Restrictions (`daily_restriction`, `weekly_restriction`) are local windows in the schedule's time zone.
A later layer wins where both have someone; overrides beat layers. Which end of `schedule_layers` is the
top differs with the API's age (GET answered highest-first while POST/PUT take lowest-first,
PagerDuty/public-support-scripts#60, until a later fix, terraform-provider-pagerduty#610), so after reading
the final schedule `settle_layer_order` keeps the list order or reverses it, whichever agrees with
PagerDuty's own rendering at more instants.
What cannot be kept (other turn lengths, layers that start later or end, Events API v1 and email
integrations, round-robin rules...) goes to the unmapped report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from tocsin.errors import ProviderError
from tocsin.importers.common import ImportPlan, TimelineEntry, Unmapped, sample_instants
from tocsin.importers.remote import check_base_url, get_json, seg
from tocsin.importers.weekly import DAY, WEEK, Slugs, agreement, weekly_restrictions

SOURCE = "PagerDuty"
PREFIX = "pagerduty"
DEFAULT_URL = "https://api.pagerduty.com"
MAX_OFFSET = 10_000  # PagerDuty caps offset + limit at 10,000

_ROLES = {"owner": "admin", "admin": "admin", "user": "responder", "limited_user": "responder",
          "observer": "viewer", "read_only_user": "viewer", "read_only_limited_user": "viewer",
          "restricted_access": "viewer"}
_CONTACTS = {"email_contact_method": "email", "sms_contact_method": "sms", "phone_contact_method": "voice"}
_MAX_REPEAT = 9


def sid(kind: str, ident: str) -> str:
    return f"{PREFIX}:{kind}:{ident}"


@dataclass
class PagerDutyData:
    users: list[dict[str, Any]] = field(default_factory=list)
    contact_methods: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # user id ->
    teams: list[dict[str, Any]] = field(default_factory=list)
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # team id -> members
    schedules: list[dict[str, Any]] = field(default_factory=list)  # full objects with schedule_layers
    overrides: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # schedule id ->
    escalation_policies: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)  # with integrations included
    maintenance_windows: list[dict[str, Any]] = field(default_factory=list)


class PagerDutyApi:
    def __init__(self, client: httpx.Client, url: str | None, token: str) -> None:
        self.client = client
        self.base = check_base_url(url or DEFAULT_URL, SOURCE)
        self.headers = {"Authorization": f"Token token={token}",
                        "Accept": "application/vnd.pagerduty+json;version=2"}

    def get(self, path: str, params: list[tuple[str, Any]] | None = None) -> dict[str, Any]:
        body = get_json(self.client, self.base + path, source=SOURCE, path=path, headers=self.headers,
                        params=params)
        if not isinstance(body, dict):
            raise ProviderError(f"{SOURCE} answered {path} with an unexpected shape", retryable=False)
        return body

    def list(self, path: str, key: str, params: list[tuple[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Every object of an offset-paged list (`limit`, `offset`; stops when `more` is false)."""
        out: list[dict[str, Any]] = []
        offset = 0
        while offset < MAX_OFFSET:
            body = self.get(path, [*(params or []), ("limit", 100), ("offset", offset)])
            page = body.get(key)
            if not isinstance(page, list):
                raise ProviderError(f"{SOURCE} answered {path} with an unexpected shape", retryable=False)
            out += [o for o in page if isinstance(o, dict)]
            if not body.get("more") or not page:
                return out
            offset += len(page)
        return out


def fetch(client: httpx.Client, url: str | None, token: str, *, now: datetime) -> PagerDutyData:
    """Read everything the import needs; raise ProviderError (the remote's body is never repeated)."""
    api = PagerDutyApi(client, url, token)
    since, until = _z(now), _z(now + timedelta(days=400))
    data = PagerDutyData(users=api.list("/users", "users"), teams=api.list("/teams", "teams"),
                         escalation_policies=api.list("/escalation_policies", "escalation_policies"),
                         services=api.list("/services", "services", [("include[]", "integrations")]),
                         maintenance_windows=api.list("/maintenance_windows", "maintenance_windows",
                                                      [("filter", "open")]))
    for user in data.users:
        data.contact_methods[user["id"]] = api.get(f"/users/{seg(user['id'])}/contact_methods").get("contact_methods") or []
    for team in data.teams:
        data.members[team["id"]] = api.list(f"/teams/{seg(team['id'])}/members", "members")
    for listed in api.list("/schedules", "schedules"):
        full = api.get(f"/schedules/{seg(listed['id'])}").get("schedule")
        if isinstance(full, dict):
            data.schedules.append(full)
            data.overrides[full["id"]] = api.get(f"/schedules/{seg(full['id'])}/overrides",
                                                 [("since", since), ("until", until)]).get("overrides") or []
    return data


def final_timelines(client: httpx.Client, url: str | None, token: str, plan: ImportPlan, *, start: datetime,
                    end: datetime, emails: Mapping[str, str]) -> dict[str, list[TimelineEntry]]:
    """PagerDuty's final schedule (`final_schedule.rendered_schedule_entries`) of every imported schedule."""
    api = PagerDutyApi(client, url, token)
    out: dict[str, list[TimelineEntry]] = {}
    for source_id in plan.schedules:
        ident = source_id.rsplit(":", 1)[1]
        body = api.get(f"/schedules/{seg(ident)}", [("since", _z(start)), ("until", _z(end))])
        entries = (((body.get("schedule") or {}).get("final_schedule") or {}).get("rendered_schedule_entries")) or []
        out[source_id] = [TimelineEntry(emails[e["user"]["id"]], _instant(e["start"]), _instant(e["end"]))
                          for e in entries if (e.get("user") or {}).get("id") in emails]
    return out


def emails_of(data: PagerDutyData) -> dict[str, str]:
    return {u["id"]: u["email"].lower() for u in data.users if u.get("email")}


def _instant(value: str) -> datetime:
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


def _z(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- translation (pure) ------------------------------------------------------------------------

@dataclass
class _Ctx:
    now: datetime
    emails: dict[str, str]
    plan: ImportPlan
    slugs: Slugs = field(default_factory=Slugs)
    teams: dict[str, str] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)
    services: dict[str, str] = field(default_factory=dict)

    def skip(self, kind: str, name: str, reason: str) -> None:
        self.plan.unmapped.append(Unmapped(kind, name, reason))


def translate(data: PagerDutyData, *, now: datetime) -> ImportPlan:
    """The ImportPlan for `data`; `now` (aware) decides what has ended."""
    plan = ImportPlan(document={"version": 1})
    ctx = _Ctx(now=now, emails=emails_of(data), plan=plan)
    doc = plan.document
    doc["users"] = [_user(u, data.contact_methods.get(u["id"], []), ctx) for u in data.users if u.get("email")]
    doc["teams"] = [_team(t, data.members.get(t["id"], []), ctx) for t in data.teams]
    doc["schedules"] = [_schedule(s, data.overrides.get(s["id"], []), ctx) for s in data.schedules]
    doc["escalation_policies"] = [p for e in data.escalation_policies if (p := _policy(e, ctx))]
    doc["services"] = [_service(s, ctx) for s in data.services]
    doc["maintenance_windows"] = [w for m in data.maintenance_windows for w in _windows(m, ctx)]
    return plan


def _zone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return str(value)


def _user(u: dict[str, Any], methods: Sequence[dict[str, Any]], ctx: _Ctx) -> dict[str, Any]:
    email = u["email"].lower()
    contacts = []
    for m in methods:
        kind = _CONTACTS.get(str(m.get("type")))
        if kind is None or not m.get("address"):
            continue
        address = str(m["address"])
        if kind in ("sms", "voice"):
            address = f"+{m.get('country_code') or 1}{address.lstrip('+')}" if not address.startswith("+") else address
        contact = {"type": kind, "address": address}
        if m.get("label"):
            contact["label"] = str(m["label"])
        if contact not in contacts:
            contacts.append(contact)
    if not any(c["type"] in ("sms", "voice") for c in contacts):
        ctx.plan.invites.append(email)
    if not any(c["type"] == "email" for c in contacts):
        contacts.append({"type": "email", "address": email})
    return {"email": email, "name": u.get("name") or email, "role": _ROLES.get(str(u.get("role")), "responder"),
            "time_zone": _zone(u.get("time_zone")), "contact_methods": contacts, "source_id": sid("user", u["id"])}


def _team(t: dict[str, Any], members: Sequence[dict[str, Any]], ctx: _Ctx) -> dict[str, Any]:
    slug = ctx.slugs.make("team", t.get("name") or t["id"])
    ctx.teams[t["id"]] = slug
    people = sorted({ctx.emails[m["user"]["id"]] for m in members if (m.get("user") or {}).get("id") in ctx.emails})
    return {"slug": slug, "name": t.get("name") or slug, "description": t.get("description") or "",
            "security": False, "members": people, "source_id": sid("team", t["id"])}


def _schedule(s: dict[str, Any], overrides: Sequence[dict[str, Any]], ctx: _Ctx) -> dict[str, Any]:
    name = s.get("name") or s["id"]
    tz = _zone(s.get("time_zone"))
    slug = ctx.slugs.make("schedule", name)
    ctx.plan.schedules[sid("schedule", s["id"])] = [slug]
    layers = [la for layer in s.get("schedule_layers") or () if (la := _layer(layer, tz, name, ctx))]
    item: dict[str, Any] = {"slug": slug, "name": name, "time_zone": tz, "layers": layers,
                            "overrides": [], "source_id": sid("schedule", s["id"])}
    teams = [ctx.teams[t["id"]] for t in s.get("teams") or () if t.get("id") in ctx.teams]
    if teams:
        item["team"] = teams[0]
    for o in sorted(overrides, key=lambda o: str(o.get("start"))):
        user = (o.get("user") or {}).get("id")
        if user not in ctx.emails or not o.get("start") or not o.get("end"):
            continue
        start, end = _instant(o["start"]), _instant(o["end"])
        if end > ctx.now and end > start:
            item["overrides"].append({"user": ctx.emails[user], "start": _z(start), "end": _z(end)})
    return item


def _layer(layer: dict[str, Any], tz: str, schedule: str, ctx: _Ctx) -> dict[str, Any] | None:
    label = f"{schedule} / {layer.get('name') or layer.get('id')}"
    if layer.get("end") and _instant(layer["end"]) <= ctx.now:
        return None  # ended
    if layer.get("end"):
        ctx.skip("layer", label, f"it ends at {layer['end']} and tocsin layers do not end: imported without the end")
    if layer.get("start") and _instant(layer["start"]) > ctx.now:
        ctx.skip("layer", label, f"it begins at {layer['start']}; tocsin applies it from its rotation start")
    members = [ctx.emails[u["user"]["id"]] for u in layer.get("users") or ()
               if (u.get("user") or {}).get("id") in ctx.emails]
    if not members:
        ctx.skip("layer", label, "nobody on it is in the import")
        return None
    turn = int(layer.get("rotation_turn_length_seconds") or 0)
    anchor = datetime.fromisoformat(str(layer["rotation_virtual_start"]).replace("Z", "+00:00"))
    if anchor.tzinfo is None:
        anchor = anchor.replace(tzinfo=ZoneInfo(tz))
    item: dict[str, Any] = {"name": layer.get("name") or "Layer", "time_zone": tz,
                            "start": anchor.astimezone(ZoneInfo(tz)).isoformat(), "members": members,
                            "shadow": False}
    if turn == DAY:
        item["rotation"] = "daily"
    elif turn == WEEK:
        item["rotation"] = "weekly"
    elif 0 < turn < DAY and turn % 3600 == 0:
        item |= {"rotation": "custom", "shift_hours": turn // 3600}
    else:
        ctx.skip("layer", label, f"turns of {turn} seconds are neither a day, a week nor whole hours under a day; "
                 "rebuild it as a custom layer")
        return None
    windows = []
    for r in layer.get("restrictions") or ():
        at = time.fromisoformat(str(r.get("start_time_of_day") or "00:00:00"))
        tod = at.hour * 3600 + at.minute * 60 + at.second
        length = int(r.get("duration_seconds") or 0)
        if r.get("type") == "weekly_restriction":
            windows.append(((int(r.get("start_day_of_week") or 1) - 1) * DAY + tod, length))
        else:
            windows += [(d * DAY + tod, length) for d in range(7)]
    restrictions = weekly_restrictions(windows) if windows else []
    if restrictions is None:
        ctx.skip("layer", label, "its restrictions are not on whole minutes")
        return None
    item["restrictions"] = restrictions
    return item


def _policy(e: dict[str, Any], ctx: _Ctx) -> dict[str, Any] | None:
    name = e.get("name") or e["id"]
    levels = []
    for n, rule in enumerate(e.get("escalation_rules") or (), start=1):
        targets = []
        for t in rule.get("targets") or ():
            kind = str(t.get("type"))
            if kind in ("user", "user_reference") and t.get("id") in ctx.emails:
                targets.append({"user": ctx.emails[t["id"]]})
            elif kind in ("schedule", "schedule_reference") and sid("schedule", str(t.get("id"))) in ctx.plan.schedules:
                targets += [{"schedule": s} for s in ctx.plan.schedules[sid("schedule", str(t["id"]))]]
            else:
                ctx.skip("escalation target", f"{name} / rule {n}", f"target {kind} {t.get('id')} was not imported")
        if rule.get("escalation_rule_assignment_strategy") == "round_robin":
            ctx.skip("escalation rule", f"{name} / rule {n}", "round robin is not a tocsin target: tocsin notifies "
                     "all of this rule's targets")
        if targets:
            delay = min(1440, max(1, int(rule.get("escalation_delay_in_minutes") or 30)))
            levels.append({"delay_minutes": delay, "targets": targets})
    if not levels:
        ctx.skip("escalation policy", name, "no rule targets anyone imported; services using it get no policy")
        return None
    slug = ctx.slugs.make("policy", name)
    ctx.policies[e["id"]] = slug
    loops = int(e.get("num_loops") or 0)
    if loops > _MAX_REPEAT:
        ctx.skip("escalation policy", name, f"it repeats {loops} times; tocsin repeats a policy at most {_MAX_REPEAT}")
    return {"slug": slug, "name": name, "repeat": min(loops, _MAX_REPEAT), "levels": levels,
            "source_id": sid("escalation_policy", e["id"])}


def _service(s: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    name = s.get("name") or s["id"]
    slug = ctx.slugs.make("service", name)
    ctx.services[s["id"]] = slug
    integrations = []
    names: set[str] = set()
    for i in s.get("integrations") or ():
        label = f"{name} / {i.get('name') or i.get('id')}"
        if i.get("type") != "events_api_v2_inbound_integration":
            ctx.skip("integration", label, f"{i.get('type')} is not the Events API v2: point its sender at the "
                     "service's events_v2 integration (Events API v2) instead")
            continue
        base = (i.get("name") or "events-v2").strip() or "events-v2"
        each, k = base, 1
        while each in names:
            k += 1
            each = f"{base} {k}"
        names.add(each)
        integrations.append({"name": each, "type": "events_v2", "source_id": sid("integration", i["id"])})
    item: dict[str, Any] = {"slug": slug, "name": name, "description": s.get("description") or "", "tier": 2,
                            "integrations": integrations, "source_id": sid("service", s["id"])}
    policy = (s.get("escalation_policy") or {}).get("id")
    if policy in ctx.policies:
        item["escalation_policy"] = ctx.policies[policy]
    teams = [ctx.teams[t["id"]] for t in s.get("teams") or () if t.get("id") in ctx.teams]
    if teams:
        item["team"] = teams[0]
    return item


def _windows(m: dict[str, Any], ctx: _Ctx) -> list[dict[str, Any]]:
    start, end = _instant(m["start_time"]), _instant(m["end_time"])
    if end <= ctx.now:
        return []
    out = []
    for s in m.get("services") or ():
        if s.get("id") not in ctx.services:
            continue
        out.append({"service": ctx.services[s["id"]], "name": m.get("description") or m["id"], "start": _z(start),
                    "end": _z(end), "recurrence": "none", "time_zone": "UTC", "reason": m.get("description") or "",
                    "source_id": sid("maintenance_window", f"{m['id']}/{s['id']}")})
    return out


def integration_keys(data: PagerDutyData, plan: ImportPlan) -> dict[str, str]:
    """source_id of each imported integration -> its PagerDuty integration key (the senders' routing key)."""
    wanted = {i.get("source_id") for s in plan.document.get("services", []) for i in s.get("integrations", [])}
    return {sid("integration", i["id"]): str(i.get("integration_key") or "")
            for s in data.services for i in s.get("integrations") or () if sid("integration", i["id"]) in wanted}


def settle_layer_order(plan: ImportPlan, timelines: Mapping[str, Sequence[TimelineEntry]], *, now: datetime) -> None:
    """Reverse a schedule's layers when that order agrees with PagerDuty's final schedule at more of 200
    instants over the next 30 days than the API's list order does (see the module's docstring)."""
    docs = {s["slug"]: s for s in plan.document.get("schedules", [])}
    instants = sample_instants(now, n=200, days=30)
    for source_id, slugs in plan.schedules.items():
        schedule = docs[slugs[0]]
        if len(schedule["layers"]) < 2:
            continue
        entries = timelines.get(source_id, ())
        flipped = {**schedule, "layers": schedule["layers"][::-1]}
        if agreement(flipped, entries, instants) > agreement(schedule, entries, instants):
            schedule["layers"].reverse()


def read(client: httpx.Client, url: str | None, token: str, *, now: datetime, days: int = 31
         ) -> tuple[PagerDutyData, ImportPlan, Mapping[str, list[TimelineEntry]]]:
    data = fetch(client, url, token, now=now)
    plan = translate(data, now=now)
    timelines = final_timelines(client, url, token, plan, start=now, end=now + timedelta(days=days),
                                emails=emails_of(data))
    settle_layer_order(plan, timelines, now=now)
    return data, plan, timelines
