"""Translate an Opsgenie account (read by opsgenie_api.fetch_account) into an ImportPlan.

What maps to what (docs/migrating.md says the same for users):

* user → user (username = email; Owner/Admin → admin, Stakeholder/Observer → viewer, else
  responder) with its email/SMS/voice contacts (unverified); a user with none is an invite.
* team → team with its members.
* rotation → a tocsin schedule of its own. Opsgenie puts every rotation of a schedule on call
  at once (the union); a tocsin schedule has one person at a time (later layers win), so one
  Opsgenie schedule becomes one tocsin schedule per rotation, and an escalation rule that
  targets the schedule targets all of them (ImportPlan.schedules lists them).
  daily/weekly rotations of length n → daily/weekly layers with each participant repeated n
  times (hand-overs stay at local wall time across DST); hourly → custom layers of n hours.
  Time restrictions → layer restrictions in the schedule's time zone (a weekday window longer
  than a day is cut into day pieces).
* override → overrides: one bound to rotations replaces each of their participants for its
  span (so it applies where the rotation has someone); one for the whole schedule also covers
  the gaps (the first rotation's schedule takes it without `replaces`).
* escalation → escalation policy: rules are grouped by delay into levels; `repeat.count` →
  `repeat`. Rules tocsin cannot express are reported (notifyType next/previous/random/admins
  /users, condition if-not-closed, a first delay above 0).
* service → service, owned by its team, escalated by its team's first escalation (routing
  rules are not imported: reported). Integrations go to their team's first service as tocsin
  `opsgenie` integrations (the same API: the sender changes its URL and key).
* maintenance → maintenance windows on the services of the integrations it silences.
* heartbeats, routing rules, policies and forwarding are reported, not imported.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tocsin.importers.common import ImportPlan, TimelineEntry, Unmapped
from tocsin.integrations.service import IntegrationType
from tocsin.slugs import slugify

SOURCE = "opsgenie"
DAYS = {"monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6, "sunday": 7}
_ROLES = {"owner": "admin", "admin": "admin", "stakeholder": "viewer", "observer": "viewer", "user": "responder"}
_CONTACTS = {"email": "email", "sms": "sms", "voice": "voice"}
_UNITS = {"minutes": 1, "hours": 60, "days": 1440}
MAX_REPEAT = 9
MAX_MEMBERS = 500  # a rotation of n people of length m is n*m layer members
# Without tocsin's Opsgenie-compatible endpoint (type `opsgenie`), the senders that have a tocsin
# endpoint of their own keep working through it; the others cannot be moved by a URL change.
_FALLBACK_TYPES = {"prometheus": "alertmanager", "alertmanager": "alertmanager", "grafana": "grafana"}


def has_opsgenie_endpoint() -> bool:
    return "opsgenie" in IntegrationType.__members__


def sid(kind: str, source_id: str) -> str:
    return f"{SOURCE}:{kind}:{source_id}"


def parse_time(value: Any) -> datetime | None:
    """An Opsgenie date (ISO 8601, `Z` or offset) as aware UTC, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class _Slugs:
    """Unique slugs per kind, from names."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def take(self, name: str) -> str:
        base = slugify(name)[:60].strip("-") or "x"
        slug, n = base, 2
        while slug in self._used:
            slug, n = f"{base}-{n}", n + 1
        self._used.add(slug)
        return slug


def restrictions(tr: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """An Opsgenie timeRestriction as tocsin layer restrictions (local wall times, ISO weekdays).

    `time-of-day` is one window every day; each `weekday-and-time-of-day` window runs from
    (startDay, start) to (endDay, end), possibly several days or across the week's end, and is
    cut at local midnights (a tocsin window lasts at most a day). Raise ValueError on a bad one.
    """
    if not tr:
        return []
    kind = tr.get("type")
    if kind == "time-of-day":
        r = tr.get("restriction") or {}
        start, end = _minute(r, "start"), _minute(r, "end")
        return [{"days": [1, 2, 3, 4, 5, 6, 7], "start": _hhmm(start), "end": _hhmm(end)}]
    if kind != "weekday-and-time-of-day":
        raise ValueError(f"unknown time restriction type {kind!r}")
    pieces: dict[tuple[str, str], set[int]] = defaultdict(set)
    for r in tr.get("restrictions") or []:
        try:
            start = (DAYS[str(r["startDay"]).lower()] - 1) * 1440 + _minute(r, "start")
            end = (DAYS[str(r["endDay"]).lower()] - 1) * 1440 + _minute(r, "end")
        except KeyError as exc:
            raise ValueError(f"a weekday restriction without a valid {exc.args[0]}") from exc
        if end <= start:
            end += 7 * 1440  # across the end of the week (or the whole week)
        t = start
        while t < end:
            day = t // 1440
            stop = min(end, (day + 1) * 1440)
            pieces[(_hhmm(t % 1440), _hhmm((stop - day * 1440) % 1440))].add(day % 7 + 1)
            t = stop
    return [{"days": sorted(days), "start": s, "end": e} for (s, e), days in sorted(pieces.items())]


def _minute(r: Mapping[str, Any], which: str) -> int:
    hour, minute = r.get(f"{which}Hour"), r.get(f"{which}Min", 0)
    if not isinstance(hour, int) or not isinstance(minute, int) or not (0 <= hour <= 24 and 0 <= minute < 60):
        raise ValueError(f"a restriction with a bad {which} time")
    return min(hour * 60 + minute, 1440) % 1440


class _Translator:
    def __init__(self, raw: Mapping[str, Any], now: datetime, opsgenie_endpoint: bool) -> None:
        self.raw = raw
        self.opsgenie_endpoint = opsgenie_endpoint
        self.now = now
        self.plan = ImportPlan(document={"version": 1})
        self.emails: dict[str, str] = {}  # user id and username -> email
        self.team_slugs: dict[str, str] = {}
        self.service_of_team: dict[str, str] = {}  # team id -> service slug
        self.service_of_integration: dict[str, str] = {}
        self.rotation_participants: dict[str, list[str]] = {}  # rotation id -> emails
        self.rotation_slug: dict[str, str] = {}
        self._escalation_slug: dict[str, str] = {}

    def unmapped(self, kind: str, name: str, reason: str) -> None:
        self.plan.unmapped.append(Unmapped(kind, name, reason))

    def email(self, ref: Mapping[str, Any] | None) -> str | None:
        if not ref:
            return None
        for key in ("id", "username", "name"):
            value = ref.get(key)
            if value and str(value) in self.emails:
                return self.emails[str(value)]
        return None

    # -- people ---------------------------------------------------------------------------------

    def users(self) -> list[dict[str, Any]]:
        out = []
        for u in self.raw.get("users", []):
            email = str(u.get("username") or "").strip().lower()
            if "@" not in email:
                self.unmapped("user", str(u.get("fullName") or u.get("id")), "no email address as username")
                continue
            self.emails[str(u["id"])] = email
            self.emails[str(u.get("username"))] = email
            role_name = str((u.get("role") or {}).get("name") or "User")
            role = _ROLES.get(role_name.lower(), "responder")
            if role_name.lower() not in _ROLES:
                self.unmapped("user role", f"{email}: {role_name}",
                              "a custom Opsgenie role; imported as responder (tocsin roles: admin, responder, viewer)")
            contacts = []
            for c in u.get("userContacts", []):
                method, to = str(c.get("contactMethod") or c.get("method") or ""), str(c.get("to") or "")
                if method in ("sms", "voice"):
                    to = "+" + to.lstrip("+").replace("-", "").replace(" ", "")
                if method in _CONTACTS and to and c.get("enabled", True):
                    contacts.append({"type": _CONTACTS[method], "address": to})
                elif method == "mobile":
                    self.unmapped("contact method", f"{email}: mobile app",
                                  "tocsin has no Opsgenie app push; the person adds a contact method in tocsin")
            entry: dict[str, Any] = {"email": email, "name": str(u.get("fullName") or email), "role": role,
                                     "source_id": sid("user", str(u["id"]))}
            if u.get("timeZone"):
                entry["time_zone"] = u["timeZone"]
            if contacts:
                entry["contact_methods"] = contacts
            else:
                self.plan.invites.append(email)
            out.append(entry)
        return out

    def teams(self, slugs: _Slugs) -> list[dict[str, Any]]:
        out = []
        for t in self.raw.get("teams", []):
            slug = slugs.take(str(t.get("name") or t["id"]))
            self.team_slugs[str(t["id"])] = slug
            members = []
            for m in t.get("members") or []:
                email = self.email(m.get("user"))
                if email and email not in members:
                    members.append(email)
            out.append({"slug": slug, "name": str(t.get("name") or slug), "description": str(t.get("description") or ""),
                        "security": False, "members": members, "source_id": sid("team", str(t["id"]))})
        return out

    # -- schedules ------------------------------------------------------------------------------

    def schedules(self, slugs: _Slugs) -> list[dict[str, Any]]:
        out = []
        for s in self.raw.get("schedules", []):
            name = str(s.get("name") or s["id"])
            if s.get("enabled") is False:
                self.unmapped("schedule", name, "disabled in Opsgenie (nobody is on call); not imported")
                continue
            tz = str(s.get("timezone") or "UTC")
            team = self.team_slugs.get(str((s.get("ownerTeam") or {}).get("id")))
            rotations = [r for r in s.get("rotations") or [] if self._rotation_live(name, r)]
            made: list[dict[str, Any]] = []
            if not rotations:
                entry: dict[str, Any] = {"slug": slugs.take(name), "name": name, "time_zone": tz, "layers": [],
                         "source_id": sid("schedule", str(s["id"]))}
                made.append(entry)
            for r in rotations:
                rname = str(r.get("name") or r.get("id"))
                label = name if len(rotations) == 1 else f"{name} {rname}"
                entry = {"slug": slugs.take(label), "name": label[:200], "time_zone": tz,
                         "layers": self._layer(name, tz, r), "source_id": sid("rotation", str(r["id"]))}
                self.rotation_slug[str(r["id"])] = entry["slug"]
                made.append(entry)
            for entry in made:
                if team:
                    entry["team"] = team
                entry["overrides"] = []
            self.plan.schedules[str(s["id"])] = [e["slug"] for e in made]
            self._overrides(s, made)
            out += made
        return out

    def _rotation_live(self, schedule: str, r: Mapping[str, Any]) -> bool:
        end = parse_time(r.get("endDate"))
        rname = f"{schedule} / {r.get('name') or r.get('id')}"
        if end is not None and end <= self.now:
            self.unmapped("rotation", rname, "ended before the import; not imported")
            return False
        if end is not None:
            self.unmapped("rotation", rname, f"ends {_iso(end)} in Opsgenie; tocsin layers do not end: "
                          "remove the layer then")
        return True

    def _layer(self, schedule: str, tz: str, r: Mapping[str, Any]) -> list[dict[str, Any]]:
        rname = f"{schedule} / {r.get('name') or r.get('id')}"
        people = []
        for p in r.get("participants") or []:
            email = self.email(p) if p.get("type") == "user" else None
            if email is None:
                self.unmapped("rotation participant", f"{rname}: {p.get('type')} {p.get('name') or p.get('id') or ''}",
                              "tocsin rotations take people only (a team, escalation or empty slot is dropped, "
                              "so the turns that follow move up)")
                continue
            people.append(email)
        self.rotation_participants[str(r["id"])] = people
        start = parse_time(r.get("startDate"))
        kind, length = str(r.get("type") or ""), r.get("length") or 1
        if start is None or kind not in ("daily", "weekly", "hourly") or not isinstance(length, int) or length < 1:
            self.unmapped("rotation", rname, "no usable start, type or length; imported without a rotation")
            return []
        layer: dict[str, Any] = {"name": str(r.get("name") or "rotation")[:200], "time_zone": tz, "start": _iso(start)}
        if kind == "hourly":
            layer |= {"rotation": "custom", "shift_hours": length, "members": people}
        elif length * len(people) > MAX_MEMBERS:
            layer |= {"rotation": "custom", "shift_hours": length * (24 if kind == "daily" else 168), "members": people}
            self.unmapped("rotation", rname, f"a {length}-{kind[:-2]} turn of {len(people)} people is imported as a "
                          "fixed-hours rotation: hand-overs move by an hour across daylight-saving changes")
        else:
            # each turn lasts `length` days (weeks): the person holds that many consecutive shifts
            layer |= {"rotation": kind, "members": [p for p in people for _ in range(length)]}
        try:
            layer["restrictions"] = restrictions(r.get("timeRestriction"))
        except ValueError as exc:
            self.unmapped("time restriction", rname, f"{exc}; the rotation is imported without it")
            layer["restrictions"] = []
        return [layer]

    def _overrides(self, s: Mapping[str, Any], made: list[dict[str, Any]]) -> None:
        for o in self.raw.get("overrides", {}).get(str(s["id"]), []):
            start, end = parse_time(o.get("startDate")), parse_time(o.get("endDate"))
            who = self.email(o.get("user"))
            label = f"{s.get('name')}: {o.get('alias') or ''}"
            if start is None or end is None or end <= start:
                self.unmapped("override", label, "no usable start and end")
                continue
            if end <= self.now:
                continue  # over: history, not configuration
            if who is None:
                self.unmapped("override", label, "its user is not an imported person")
                continue
            rotations = [str(r.get("id")) for r in o.get("rotations") or [] if r.get("id")]
            whole = not rotations
            targets = rotations or [str(r["id"]) for r in s.get("rotations") or [] if str(r["id"]) in self.rotation_slug]
            span = {"start": _iso(start), "end": _iso(end)}
            by_slug = {e["slug"]: e for e in made}
            for i, rid in enumerate(targets):
                entry = by_slug.get(self.rotation_slug.get(rid, ""))
                if entry is None:
                    continue
                if whole and i == 0:
                    # the whole schedule: the person is on call for the span, gaps included
                    entry["overrides"].append({"user": who, **span})
                    continue
                for person in dict.fromkeys(self.rotation_participants.get(rid, [])):
                    if person == who:
                        continue  # their own turns stay theirs
                    entry["overrides"].append({"user": who, "replaces": person, **span})
            if whole and not targets and made:
                made[0]["overrides"].append({"user": who, **span})

    # -- escalations ----------------------------------------------------------------------------

    def escalations(self, slugs: _Slugs) -> list[dict[str, Any]]:
        out = []
        for esc in self.raw.get("escalations", []):
            name = str(esc.get("name") or esc["id"])
            levels: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for i, rule in enumerate(esc.get("rules") or []):
                delay = rule.get("delay") or {}
                minutes = int(delay.get("timeAmount") or 0) * _UNITS.get(str(delay.get("timeUnit") or "minutes"), 1)
                targets = self._targets(f"{name} rule {i + 1}", rule)
                for t in targets:
                    if t not in levels[minutes]:
                        levels[minutes].append(t)
            delays = sorted(d for d in levels if levels[d])
            repeat = esc.get("repeat") or {}
            wait = int(repeat.get("waitInterval") or 0)
            if delays and delays[0] > 0:
                self.unmapped("escalation rule", name, f"the first rule waits {delays[0]} min in Opsgenie; tocsin "
                              "notifies the first level at once")
            out_levels = []
            for j, d in enumerate(delays):
                nxt = delays[j + 1] - d if j + 1 < len(delays) else max(wait, 1)
                out_levels.append({"delay_minutes": max(1, min(nxt, 1440)), "targets": levels[d]})
            count = int(repeat.get("count") or 0)
            if count > MAX_REPEAT:
                self.unmapped("escalation repeat", name, f"repeats {count} times in Opsgenie; tocsin repeats at most "
                              f"{MAX_REPEAT}")
            if repeat.get("closeAlertAfterAll"):
                self.unmapped("escalation repeat", name, "Opsgenie closes the alert after the last repeat; tocsin "
                              "leaves it open")
            if not out_levels:
                self.unmapped("escalation", name, "no rule reaches anyone tocsin knows; not imported")
                continue
            entry: dict[str, Any] = {"slug": slugs.take(name), "name": name, "repeat": min(count, MAX_REPEAT),
                                     "levels": out_levels,
                     "source_id": sid("escalation", str(esc["id"]))}
            out.append(entry)
            self._escalation_slug[str(esc["id"])] = entry["slug"]
        return out

    def _targets(self, label: str, rule: Mapping[str, Any]) -> list[dict[str, Any]]:
        rec = rule.get("recipient") or {}
        kind, notify = rec.get("type"), str(rule.get("notifyType") or "default")
        if rule.get("condition") == "if-not-closed":
            self.unmapped("escalation rule", label, "condition if-not-closed: tocsin stops escalating at the first "
                          "acknowledgement")
        if kind == "user":
            email = self.email(rec)
            if email:
                return [{"user": email}]
            self.unmapped("escalation rule", label, "its user is not an imported person")
        elif kind == "schedule":
            slugs = self.plan.schedules.get(str(rec.get("id") or ""))
            if slugs is None:
                slugs = next((v for k, v in self.plan.schedules.items()
                              if self._schedule_name(k) == rec.get("name")), None)
            if notify != "default":
                self.unmapped("escalation rule", label, f"notifyType {notify} (the {notify} on-call person of a "
                              "schedule) has no tocsin equivalent; not imported")
                return []
            if slugs:
                return [{"schedule": slug} for slug in slugs]
            self.unmapped("escalation rule", label, "its schedule was not imported")
        elif kind == "team":
            team = self.team_slugs.get(str(rec.get("id") or "")) or next(
                (v for k, v in self.team_slugs.items() if self._team_name(k) == rec.get("name")), None)
            if notify not in ("default", "all"):
                self.unmapped("escalation rule", label, f"notifyType {notify} on a team (admins, random or chosen "
                              "members) has no tocsin equivalent; not imported")
                return []
            if notify == "default":
                self.unmapped("escalation rule", label, "a team recipient in Opsgenie follows the team's routing "
                              "rules; tocsin pages the team's members")
            if team:
                return [{"team": team}]
            self.unmapped("escalation rule", label, "its team was not imported")
        else:
            self.unmapped("escalation rule", label, f"recipient type {kind!r} has no tocsin equivalent")
        return []

    def _schedule_name(self, schedule_id: str) -> str | None:
        return next((s.get("name") for s in self.raw.get("schedules", []) if str(s.get("id")) == schedule_id), None)

    def _team_name(self, team_id: str) -> str | None:
        return next((t.get("name") for t in self.raw.get("teams", []) if str(t.get("id")) == team_id), None)

    # -- services, integrations, maintenance ----------------------------------------------------

    def services(self, slugs: _Slugs) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        first_escalation: dict[str, str] = {}
        for esc in sorted(self.raw.get("escalations", []), key=lambda e: str(e.get("name"))):
            team_id = str((esc.get("ownerTeam") or {}).get("id") or "")
            if team_id and team_id not in first_escalation and str(esc["id"]) in self._escalation_slug:
                first_escalation[team_id] = self._escalation_slug[str(esc["id"])]
        for svc in sorted(self.raw.get("services", []), key=lambda s: str(s.get("name"))):
            name = str(svc.get("name") or svc["id"])
            team_id = str(svc.get("teamId") or "")
            entry: dict[str, Any] = {"slug": slugs.take(name), "name": name,
                                     "description": str(svc.get("description") or ""), "tier": 2,
                                     "integrations": [], "source_id": sid("service", str(svc["id"]))}
            if team_id in self.team_slugs:
                entry["team"] = self.team_slugs[team_id]
            if team_id in first_escalation:
                entry["escalation_policy"] = first_escalation[team_id]
                self.unmapped("routing", name, "Opsgenie picks the escalation by the team's routing rules; tocsin "
                              f"escalates this service's alerts with {first_escalation[team_id]!r} (the team's first)")
            else:
                self.unmapped("service", name, "its team has no escalation imported: the service has no policy")
            self.service_of_team.setdefault(team_id, entry["slug"])
            out.append(entry)
        by_slug = {e["slug"]: e for e in out}
        for integ in sorted(self.raw.get("integrations", []), key=lambda i: str(i.get("name"))):
            name = str(integ.get("name") or integ["id"])
            kind = str(integ.get("type") or "")
            team_id = str(integ.get("teamId") or (integ.get("ownerTeam") or {}).get("id") or "")
            service = self.service_of_team.get(team_id)
            if kind.lower() in ("email", "emailbased"):
                self.unmapped("integration", name, "an email integration: set up an email-to-alert integration in "
                              "tocsin and point the sender at its address")
                continue
            if service is None:
                self.unmapped("integration", name, "its team has no service to attach it to; not imported")
                continue
            tocsin_type = "opsgenie" if self.opsgenie_endpoint else _FALLBACK_TYPES.get(kind.lower())
            if tocsin_type is None:
                self.unmapped("integration", name, f"the {kind} integration needs tocsin's Opsgenie-compatible "
                              "endpoint, which this tocsin does not have; not imported")
                continue
            by_slug[service]["integrations"].append({"name": name[:200], "type": tocsin_type,
                                                     "source_id": sid("integration", str(integ["id"]))})
            self.service_of_integration[str(integ["id"])] = service
        return out

    def maintenance(self) -> list[dict[str, Any]]:
        out = []
        for m in self.raw.get("maintenance", []):
            label = str(m.get("description") or m["id"])
            if m.get("status") in ("past", "cancelled"):
                continue
            time = m.get("time") or {}
            start, end = parse_time(time.get("startDate")), parse_time(time.get("endDate"))
            if end is None or start is None:
                self.unmapped("maintenance", label, f"{time.get('type') or 'no'} time: tocsin windows need an end")
                continue
            services = []
            for rule in m.get("rules") or []:
                entity = rule.get("entity") or {}
                service = self.service_of_integration.get(str(entity.get("id")))
                if entity.get("type") == "integration" and service and rule.get("state", "enabled") != "disabled":
                    services.append(service)
                elif entity.get("type") != "integration":
                    self.unmapped("maintenance", label, f"a rule on a {entity.get('type')}: tocsin windows cover "
                                  "services")
            for service in dict.fromkeys(services):
                out.append({"service": service, "name": label[:200], "start": _iso(start), "end": _iso(end),
                            "recurrence": "none", "time_zone": "UTC", "reason": "imported from Opsgenie",
                            "source_id": sid("maintenance", f"{m['id']}:{service}")})
        return out

    def heartbeats(self) -> None:
        for hb in self.raw.get("heartbeats", []):
            self.unmapped("heartbeat", str(hb.get("name")), "not imported: create a tocsin heartbeat and point the "
                          "pinger at its URL")

    def translate(self) -> ImportPlan:
        doc = self.plan.document
        doc["users"] = self.users()
        doc["teams"] = self.teams(_Slugs())
        doc["schedules"] = self.schedules(_Slugs())
        doc["escalation_policies"] = self.escalations(_Slugs())
        doc["services"] = self.services(_Slugs())
        doc["maintenance_windows"] = self.maintenance()
        self.heartbeats()
        return self.plan


def translate(raw: Mapping[str, Any], *, now: datetime, opsgenie_endpoint: bool | None = None) -> ImportPlan:
    """The ImportPlan for an account read by `opsgenie_api.fetch_account` (pure: no I/O).
    Integrations become tocsin `opsgenie` integrations when tocsin has that endpoint (the default:
    whether it has)."""
    endpoint = has_opsgenie_endpoint() if opsgenie_endpoint is None else opsgenie_endpoint
    return _Translator(raw, now, endpoint).translate()


def timelines(raw: Mapping[str, Any]) -> dict[str, list[TimelineEntry]]:
    """Each schedule's final timeline (every rotation's periods: the union is on call), by schedule id."""
    emails: dict[str, str] = {}
    for u in raw.get("users", []):
        address = str(u.get("username") or "").lower()
        emails[str(u.get("id"))] = emails[str(u.get("username"))] = address
    out: dict[str, list[TimelineEntry]] = {}
    for schedule_id, body in raw.get("timelines", {}).items():
        entries = []
        for rot in ((body or {}).get("finalTimeline") or {}).get("rotations") or []:
            for p in rot.get("periods") or []:
                rec = p.get("recipient") or {}
                start, end = parse_time(p.get("startDate")), parse_time(p.get("endDate"))
                email = (emails.get(str(rec.get("id"))) or emails.get(str(rec.get("name")))
                         or emails.get(str(rec.get("username"))))
                if rec.get("type", "user") == "user" and email and start and end:
                    entries.append(TimelineEntry(email, start, end))
        out[str(schedule_id)] = entries
    return out
