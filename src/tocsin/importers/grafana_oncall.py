"""Import from Grafana OnCall (public API v1, `Authorization: <API key>`): users, teams, schedules and
their shifts, escalation chains, integrations, and the final schedule the import is verified against.

`fetch` reads the API into `OnCallData`; `translate` (pure) turns it into an ImportPlan whose document
follows docs/config-as-code.md, every object carrying `source_id` "grafana-oncall:<kind>:<id>";
`final_timelines` reads `/api/v1/schedules/{id}/final_shifts` for the on-call comparison.

Semantics kept (and where they cannot be, the unmapped report says so):

* A schedule's shifts become layers ordered by priority `level` (a later tocsin layer wins, as a
  higher OnCall level does). A `rolling_users` shift's groups take turns each `frequency` period
  (a week starts on `week_start`); a `recurrent_event` is one group. Each event lasts `duration`
  from the local `start` time on its days (`by_day`, or the start's weekday / every day) and becomes
  a restriction window; OnCall times are wall times in the shift's `time_zone` (else the schedule's).
* OnCall can put a whole group on call at once; a tocsin schedule has one person at a time. A schedule
  whose largest group has N people becomes N tocsin schedules (`slug`, `slug-2`, ...): the k-th person
  of every group is on the k-th; ImportPlan.schedules lists them and escalations target all of them.
* `override` shifts become overrides of the first tocsin schedule (OnCall's override replaces everyone;
  where another of the N schedules still has someone on during it, the report says so).
* Monthly, interval > 1, by_month / by_monthday, hourly events not one hour long, iCal-fed schedules,
  and escalation steps tocsin has no counterpart for (Slack user groups, webhooks, time-of-day
  conditions, ...) are reported as unmapped with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from tocsin.errors import ProviderError
from tocsin.importers.common import ImportPlan, TimelineEntry, Unmapped
from tocsin.importers.remote import check_base_url, get_json, seg
from tocsin.importers.weekly import DAY, WEEK, Slugs, anyone_on, seconds_into_week, weekly_restrictions

SOURCE = "Grafana OnCall"
PREFIX = "grafana-oncall"
MAX_PAGES = 200  # 20,000 objects per kind at 100 a page: far beyond any real org, and a loop guard

_ICAL_DAYS = {"MO": 1, "TU": 2, "WE": 3, "TH": 4, "FR": 5, "SA": 6, "SU": 7}
_ROLES = {"admin": "admin", "user": "responder", "editor": "responder", "observer": "viewer", "viewer": "viewer"}
_INTEGRATION_TYPES = {"alertmanager": "alertmanager", "grafana_alerting": "grafana", "grafana": "grafana",
                      "webhook": "generic", "formatted_webhook": "generic"}
# OnCall's formatted webhook fields (alert_uid, title, message, state alerting|ok); a plain webhook's JSON
# falls back to its whole body as the summary
_WEBHOOK_MAPPING = {"engine": "jmespath", "summary": "title || message || to_string(@)", "dedup_key": "alert_uid",
                    "status": "state"}
# OnCall's "repeat escalation from the beginning" repeats at most five times
_ONCALL_REPEATS = 5
_LAST_LEVEL_DELAY = 5


def sid(kind: str, ident: str) -> str:
    return f"{PREFIX}:{kind}:{ident}"


@dataclass
class OnCallData:
    """What the import reads, as the API returned it (lists of JSON objects)."""

    users: list[dict[str, Any]] = field(default_factory=list)
    teams: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    shifts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # schedule id -> its shifts
    chains: list[dict[str, Any]] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)  # escalation steps of every chain
    integrations: list[dict[str, Any]] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)


# --- reading the API ---------------------------------------------------------------------------

class OnCallApi:
    def __init__(self, client: httpx.Client, url: str, token: str) -> None:
        self.client = client
        self.base = check_base_url(url, SOURCE)
        self.headers = {"Authorization": token, "Accept": "application/json"}

    def get(self, path: str, **params: Any) -> Any:
        return get_json(self.client, self.base + path, source=SOURCE, path=path, headers=self.headers,
                        params=params or None)

    def list(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every object of a page-number-paged list (`page`, `perpage`; stops when `next` is null)."""
        out: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            body = self.get(path, page=page, perpage=100, **params)
            if not isinstance(body, dict) or not isinstance(body.get("results"), list):
                raise ProviderError(f"{SOURCE} answered {path} with an unexpected shape", retryable=False)
            out += [r for r in body["results"] if isinstance(r, dict)]
            if not body.get("next"):
                return out
        return out


def fetch(client: httpx.Client, url: str, token: str) -> OnCallData:
    """Read everything the import needs. Raise tocsin.errors.ProviderError (bad token, refused or
    unreachable URL, error answers); the remote's body is never repeated."""
    api = OnCallApi(client, url, token)
    data = OnCallData(users=api.list("/api/v1/users/"), teams=api.list("/api/v1/teams/"),
                      schedules=api.list("/api/v1/schedules/"),
                      chains=api.list("/api/v1/escalation_chains/"),
                      policies=api.list("/api/v1/escalation_policies/"),
                      integrations=api.list("/api/v1/integrations/"), routes=api.list("/api/v1/routes/"))
    for schedule in data.schedules:
        if schedule.get("type") == "ical":
            continue
        shifts = {s["id"]: s for s in api.list("/api/v1/on_call_shifts/", schedule_id=schedule["id"])}
        for shift_id in schedule.get("shifts") or ():  # calendar schedules list their shifts by id
            if shift_id not in shifts:
                shifts[shift_id] = api.get(f"/api/v1/on_call_shifts/{seg(shift_id)}/")
        data.shifts[schedule["id"]] = list(shifts.values())
    return data


def final_timelines(client: httpx.Client, url: str, token: str, plan: ImportPlan, *, start: datetime,
                    end: datetime) -> dict[str, list[TimelineEntry]]:
    """OnCall's own final schedule (`final_shifts`) of every imported schedule over [start, end],
    keyed like ImportPlan.schedules."""
    api = OnCallApi(client, url, token)
    out: dict[str, list[TimelineEntry]] = {}
    for source_id in plan.schedules:
        ident = source_id.rsplit(":", 1)[1]
        rows = api.list(f"/api/v1/schedules/{seg(ident)}/final_shifts",
                        start_date=(start - timedelta(days=1)).date().isoformat(),
                        end_date=(end + timedelta(days=1)).date().isoformat())
        out[source_id] = [TimelineEntry(str(r["user_email"]), _instant(r["shift_start"]), _instant(r["shift_end"]))
                          for r in rows if r.get("user_email")]
    return out


def _instant(value: str) -> datetime:
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


# --- translation (pure) ------------------------------------------------------------------------

@dataclass
class _Ctx:
    now: datetime
    emails: dict[str, str]  # user id -> email
    plan: ImportPlan
    slugs: Slugs = field(default_factory=Slugs)
    team_slugs: dict[str, str] = field(default_factory=dict)
    policy_slugs: dict[str, str] = field(default_factory=dict)

    def skip(self, kind: str, name: str, reason: str) -> None:
        self.plan.unmapped.append(Unmapped(kind, name, reason))


def translate(data: OnCallData, *, now: datetime) -> ImportPlan:
    """The ImportPlan for `data`; `now` (aware) decides which shifts have ended and which overrides count."""
    plan = ImportPlan(document={"version": 1})
    ctx = _Ctx(now=now, plan=plan, emails={u["id"]: u["email"].lower() for u in data.users if u.get("email")})
    doc = plan.document
    doc["users"] = [_user(u, ctx) for u in data.users if u.get("email")]
    doc["teams"] = [_team(t, data.users, ctx) for t in data.teams]
    doc["schedules"] = []
    for schedule in data.schedules:
        doc["schedules"] += _schedules(schedule, data.shifts.get(schedule["id"], []), ctx)
    doc["escalation_policies"] = [p for chain in data.chains if (p := _policy(chain, data.policies, ctx))]
    doc["services"] = [s for i in data.integrations if (s := _service(i, data.routes, ctx))]
    return plan


def _user(u: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    email = u["email"].lower()
    # The public API exposes no phone numbers: each person adds and verifies theirs (an invite).
    ctx.plan.invites.append(email)
    return {"email": email, "name": u.get("name") or u.get("username") or email,
            "role": _ROLES.get(str(u.get("role")), "responder"), "time_zone": _zone_name(u.get("timezone")),
            "contact_methods": [{"type": "email", "address": email}], "source_id": sid("user", u["id"])}


def _team(t: dict[str, Any], users: Sequence[dict[str, Any]], ctx: _Ctx) -> dict[str, Any]:
    slug = ctx.slugs.make("team", t.get("name") or t["id"])
    ctx.team_slugs[t["id"]] = slug
    members = sorted(u["email"].lower() for u in users if u.get("email") and t["id"] in (u.get("teams") or ()))
    return {"slug": slug, "name": t.get("name") or slug, "description": "", "security": False,
            "members": members, "source_id": sid("team", t["id"])}


def _zone_name(value: Any, fallback: str = "UTC") -> str:
    if isinstance(value, str) and value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            return fallback
        return value
    return fallback


# schedules

@dataclass
class _Layer:
    level: int
    order: int
    groups: list[list[str]]  # emails per group
    layer: dict[str, Any]    # the document layer without members


def _schedules(s: dict[str, Any], shifts: Sequence[dict[str, Any]], ctx: _Ctx) -> list[dict[str, Any]]:
    name = s.get("name") or s["id"]
    if s.get("type") == "ical":
        ctx.skip("schedule", name, "an iCal-fed schedule has no rotations in the API; recreate it as layers, "
                 "or subscribe to its calendar elsewhere")
        return []
    tz = _zone_name(s.get("time_zone"))
    layers: list[_Layer] = []
    overrides: list[dict[str, Any]] = []
    for order, shift in enumerate(shifts):
        if shift.get("type") == "override":
            overrides.append(shift)
            continue
        layer = _layer(shift, tz, order, name, ctx)
        if layer is not None:
            layers.append(layer)
    layers.sort(key=lambda la: (la.level, la.order))
    width = max((len(g) for la in layers for g in la.groups), default=1)
    slug = ctx.slugs.make("schedule", name)
    slugs = [slug] + [f"{slug[:60]}-{k + 1}" for k in range(1, width)]
    source = sid("schedule", s["id"])
    ctx.plan.schedules[source] = slugs
    out = []
    for k, each in enumerate(slugs):
        doc_layers = []
        for la in layers:
            members = [g[k] for g in la.groups if k < len(g)]
            if not members:
                continue
            if len(members) < len(la.groups):
                ctx.skip("rotation", f"{name} / {la.layer['name']}",
                         f"its groups differ in size: tocsin schedule {each} rotates only {len(members)} of "
                         f"{len(la.groups)} turns (the others leave it empty there)")
            doc_layers.append({**la.layer, "members": members})
        item: dict[str, Any] = {"slug": each, "name": name if k == 0 else f"{name} ({k + 1})", "time_zone": tz,
                                "layers": doc_layers,
                                "source_id": source if k == 0 else f"{source}#{k + 1}"}
        if s.get("team_id") in ctx.team_slugs:
            item["team"] = ctx.team_slugs[s["team_id"]]
        out.append(item)
    out[0]["overrides"] = _overrides(overrides, tz, name, out, ctx)
    return out


def _local_start(shift: dict[str, Any], tz: str) -> tuple[datetime, ZoneInfo] | None:
    try:
        zone = ZoneInfo(_zone_name(shift.get("time_zone"), tz))
        start = datetime.fromisoformat(str(shift["start"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    if start.tzinfo is not None:
        start = start.astimezone(zone).replace(tzinfo=None)
    return start, zone


def _groups(shift: dict[str, Any], ctx: _Ctx) -> list[list[str]]:
    if shift.get("type") in ("rolling_users", "override") and shift.get("rolling_users"):
        raw = [list(g.values()) if isinstance(g, dict) else list(g) for g in shift.get("rolling_users") or ()]
    else:
        raw = [list(shift.get("users") or ())]
    groups = [[ctx.emails[u] for u in g if u in ctx.emails] for g in raw]
    groups = [g for g in groups if g]
    first = shift.get("start_rotation_from_user_index") or 0
    if groups and isinstance(first, int) and 0 < first < len(groups):
        groups = groups[first:] + groups[:first]
    return groups


def _layer(shift: dict[str, Any], tz: str, order: int, schedule: str, ctx: _Ctx) -> _Layer | None:
    label = f"{schedule} / {shift.get('name') or shift['id']}"
    kind, freq = shift.get("type"), shift.get("frequency")
    interval = shift.get("interval") or 1
    duration = int(shift.get("duration") or 0)
    local = _local_start(shift, tz)
    if local is None or duration <= 0:
        ctx.skip("shift", label, "it has no usable start or duration")
        return None
    start, zone = local
    until = shift.get("until")
    if until:
        until_at = datetime.fromisoformat(str(until).replace("Z", "")).replace(tzinfo=zone)
        if until_at <= ctx.now:
            return None  # ended: nothing to import
        ctx.skip("shift", label, f"it ends at {until} and tocsin layers do not end: it was imported without the end; "
                 "remove the layer then")
    if kind == "single_event":
        if start.replace(tzinfo=zone) + timedelta(seconds=duration) > ctx.now:
            ctx.skip("shift", label, "a one-off shift is not a rotation: add it in tocsin as an override")
        return None
    groups = _groups(shift, ctx)
    if not groups:
        ctx.skip("shift", label, "nobody is on it (its users are not in the import)")
        return None
    if freq == "monthly" or shift.get("by_month") or shift.get("by_monthday"):
        ctx.skip("shift", label, "monthly recurrences (and by_month / by_monthday) have no tocsin rotation; "
                 "rebuild it as a weekly or custom layer")
        return None
    if interval != 1:
        ctx.skip("shift", label, f"it repeats every {interval} {freq} periods; tocsin rotations hand over every "
                 "day, week or N hours: rebuild it as a custom layer")
        return None
    days = [_ICAL_DAYS[d] for d in shift.get("by_day") or () if d in _ICAL_DAYS]
    first = seconds_into_week(start)
    time_of_day = first % DAY
    layer: dict[str, Any] = {"name": shift.get("name") or shift["id"], "time_zone": zone.key, "shadow": False}
    if freq == "hourly":
        if duration != 3600 or days:
            ctx.skip("shift", label, "hourly events that are not one hour long, or only on some days, have no "
                     "tocsin rotation")
            return None
        layer |= {"rotation": "custom", "shift_hours": 1, "start": start.replace(tzinfo=zone).isoformat(),
                  "restrictions": []}
        return _Layer(int(shift.get("level") or 0), order, groups, layer)
    if freq == "daily":
        if days and len(groups) > 1:
            ctx.skip("shift", label, "a daily rotation on some weekdays only hands over per working day; tocsin's "
                     "daily rotation hands over every calendar day")
            return None
        if duration > DAY and len(groups) > 1:
            ctx.skip("shift", label, "its daily events are longer than a day, so turns overlap")
            return None
        windows = [((d - 1) * DAY + time_of_day, duration) for d in (days or range(1, 8))]
        rotation, anchor = "daily", start
    elif freq == "weekly":
        if duration > WEEK:
            ctx.skip("shift", label, "its weekly events are longer than a week, so turns overlap")
            return None
        windows = [((d - 1) * DAY + time_of_day, duration) for d in (days or [start.isoweekday()])]
        # groups hand over at the first event of each week (weeks start on week_start)
        week_start = _ICAL_DAYS.get(str(shift.get("week_start") or "SU"), 7)
        back = (start.isoweekday() - week_start) % 7
        rotation, anchor = "weekly", start - timedelta(days=back)
    else:
        ctx.skip("shift", label, f"frequency {freq!r} is not one tocsin knows")
        return None
    restrictions = weekly_restrictions(windows)
    if restrictions is None:
        ctx.skip("shift", label, "its times are not on whole minutes")
        return None
    layer |= {"rotation": rotation, "start": anchor.replace(tzinfo=zone).isoformat(), "restrictions": restrictions}
    return _Layer(int(shift.get("level") or 0), order, groups, layer)


def _overrides(shifts: Sequence[dict[str, Any]], tz: str, schedule: str, schedules: Sequence[dict[str, Any]],
               ctx: _Ctx) -> list[dict[str, Any]]:
    out = []
    for shift in shifts:
        local = _local_start(shift, tz)
        if local is None:
            continue
        begin = local[0].replace(tzinfo=local[1]).astimezone(UTC)
        end = begin + timedelta(seconds=int(shift.get("duration") or 0))
        if end <= ctx.now or end <= begin:
            continue
        people = [e for g in _groups(shift, ctx) for e in g]
        if not people:
            continue
        out.append({"user": people[0], "start": _z(begin), "end": _z(end)})
        for k, other in enumerate(schedules[1:], start=1):
            if k < len(people):
                other.setdefault("overrides", []).append({"user": people[k], "start": _z(begin), "end": _z(end)})
            elif anyone_on(other["layers"], begin, end):
                ctx.skip("override", f"{schedule} / {shift.get('name') or shift['id']}",
                         f"it replaces everyone, but tocsin schedule {other['slug']} still has someone on call "
                         "during it; cover that schedule with an override too")
    return out


def _z(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


# escalation

def _policy(chain: dict[str, Any], steps: Sequence[dict[str, Any]], ctx: _Ctx) -> dict[str, Any] | None:
    name = chain.get("name") or chain["id"]
    mine = sorted((s for s in steps if s.get("escalation_chain_id") == chain["id"]),
                  key=lambda s: int(s.get("position") or 0))
    levels: list[dict[str, Any]] = []
    targets: list[dict[str, str]] = []
    repeat = 0

    def close(delay_seconds: int) -> None:
        nonlocal targets
        if targets:
            minutes = min(1440, max(1, math.ceil(delay_seconds / 60))) if delay_seconds else _LAST_LEVEL_DELAY
            levels.append({"delay_minutes": minutes, "targets": targets})
            targets = []

    for step in mine:
        kind = step.get("type")
        label = f"{name} / step {int(step.get('position') or 0) + 1} ({kind})"
        if kind == "wait":
            if not targets and not levels:
                ctx.skip("escalation step", label, "tocsin pages the first level at once; the initial wait was dropped")
                continue
            if not targets:  # two waits in a row: the previous level waits longer
                levels[-1]["delay_minutes"] = min(1440, levels[-1]["delay_minutes"]
                                                  + math.ceil(int(step.get("duration") or 0) / 60))
                continue
            close(int(step.get("duration") or 60))
        elif kind in ("notify_persons", "notify_person_next_each_time"):
            people = step.get("persons_to_notify") or step.get("persons_to_notify_next_each_time") or []
            targets += [{"user": ctx.emails[p]} for p in people if p in ctx.emails]
            if kind == "notify_person_next_each_time":
                ctx.skip("escalation step", label, "round robin (next person each time) is not a tocsin target: "
                         "tocsin notifies all of them at this level")
        elif kind == "notify_on_call_from_schedule":
            slugs = ctx.plan.schedules.get(sid("schedule", str(step.get("notify_on_call_from_schedule"))))
            if slugs:
                targets += [{"schedule": s} for s in slugs]
            else:
                ctx.skip("escalation step", label, "its schedule was not imported")
        elif kind == "notify_team_members":
            team = ctx.team_slugs.get(str(step.get("team_to_notify")))
            if team:
                targets.append({"team": team})
            else:
                ctx.skip("escalation step", label, "its team was not imported")
        elif kind == "repeat_escalation":
            repeat = _ONCALL_REPEATS
            break  # the steps after it are never reached
        else:
            ctx.skip("escalation step", label, _STEP_REASONS.get(str(kind), "tocsin has no such escalation step"))
    close(0)
    if not levels:
        ctx.skip("escalation chain", name, "no step notifies anyone tocsin can page; services using it get no policy")
        return None
    slug = ctx.slugs.make("policy", name)
    ctx.policy_slugs[chain["id"]] = slug
    item: dict[str, Any] = {"slug": slug, "name": name, "repeat": repeat, "levels": levels,
                            "source_id": sid("escalation_chain", chain["id"])}
    return item


_STEP_REASONS = {
    "notify_user_group": "Slack user groups are not tocsin targets: make a tocsin team and target it",
    "trigger_webhook": "outgoing webhooks are tocsin workflows, not escalation steps",
    "resolve": "tocsin policies do not resolve alerts; use auto-resolve on the service",
    "notify_whole_channel": "chat channels are not paged by tocsin policies",
    "notify_if_time_from_to": "time-of-day conditions in a policy have no tocsin counterpart: use schedule "
                              "restrictions",
    "notify_if_num_alerts_in_window": "alert-count conditions in a policy have no tocsin counterpart",
    "declare_incident": "use a tocsin auto-incident rule instead",
}


# integrations

def _service(i: dict[str, Any], routes: Sequence[dict[str, Any]], ctx: _Ctx) -> dict[str, Any] | None:
    name = i.get("name") or i["id"]
    kind = _INTEGRATION_TYPES.get(str(i.get("type")))
    if kind is None:
        ctx.skip("integration", name, f"OnCall integration type {i.get('type')!r} has no tocsin counterpart; "
                 "add a generic integration to the service by hand")
        return None
    slug = ctx.slugs.make("service", name)
    item: dict[str, Any] = {"slug": slug, "name": name, "description": "", "tier": 2,
                            "integrations": [{"name": kind, "type": kind,
                                              "source_id": sid("integration", i["id"]),
                                              **({"config": {"mapping": dict(_WEBHOOK_MAPPING)}}
                                                 if kind == "generic" else {})}],
                            "source_id": sid("integration-service", i["id"])}
    chain = ((i.get("default_route") or {}).get("escalation_chain_id"))
    if chain in ctx.policy_slugs:
        item["escalation_policy"] = ctx.policy_slugs[chain]
    elif chain:
        ctx.skip("integration", name, "its default route's escalation chain was not imported: the service has no "
                 "policy")
    if i.get("team_id") in ctx.team_slugs:
        item["team"] = ctx.team_slugs[i["team_id"]]
    for route in routes:
        if (route.get("integration_id") != i["id"] or route.get("is_the_last_route")
                or route.get("escalation_chain_id") in (None, chain)):
            continue
        ctx.skip("route", f"{name} / {route.get('routing_regex') or route['id']}",
                 "routes that send matching alerts to another escalation chain become tocsin routing rules; "
                 "add one per route")
    return item


def read(client: httpx.Client, url: str, token: str, *, now: datetime, days: int = 31
         ) -> tuple[OnCallData, ImportPlan, Mapping[str, list[TimelineEntry]]]:
    """fetch, translate and read the final timelines for the next `days` days."""
    data = fetch(client, url, token)
    plan = translate(data, now=now)
    return data, plan, final_timelines(client, url, token, plan, start=now, end=now + timedelta(days=days))
