"""Pure decisions about one alert: where it routes, which group it joins, what keeps it from
paging, and when it may page. Each returns the decision *and the reason*, which is stored.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import orjson

from tocsin.routing.matchers import Matcher, describe, match_all
from tocsin.services.alert_settings import AlertSettings
from tocsin.windows import (
    Recurrence,
    SupportHours,
    in_range,
    next_support_start,
    occurrence_at,
)


@dataclass(frozen=True, slots=True)
class RuleView:
    id: uuid.UUID
    name: str
    matchers: tuple[Matcher, ...]
    service_id: uuid.UUID | None
    urgency: str | None


@dataclass(frozen=True, slots=True)
class Route:
    service_id: uuid.UUID
    urgency: str
    reason: str
    rule_id: uuid.UUID | None


def default_urgency(severity: str) -> str:
    """critical and error page now (high); warning and info wait (low), as PagerDuty's defaults."""
    return "high" if severity in ("critical", "error") else "low"


def route(*, labels: Mapping[str, str], service_id: uuid.UUID, severity: str, rules: Sequence[RuleView],
          slugs: Mapping[uuid.UUID, str], drills: Collection[uuid.UUID] = frozenset()) -> Route:
    """Return where the alert goes: the first matching rule decides; otherwise the integration's service.
    A rule never moves an alert across the drill line (`drills`: the drill services, issue 19): a drill
    alert stays with the exercise, a real one never joins it; such a rule is passed over."""
    for rule in rules:
        if match_all(rule.matchers, labels):
            target = rule.service_id or service_id
            if (target in drills) != (service_id in drills):
                continue
            urgency = rule.urgency or default_urgency(severity)
            how = f"urgency {urgency} set by the rule" if rule.urgency else f"urgency {urgency} from severity {severity}"
            return Route(target, urgency, f"routed to {slugs.get(target, target)} by rule '{rule.name}' "
                                          f"{describe(rule.matchers)}; {how}", rule.id)
    urgency = default_urgency(severity)
    return Route(service_id, urgency, f"routed to {slugs.get(service_id, service_id)}, the integration's service "
                                      f"(no routing rule matched); urgency {urgency} from severity {severity}", None)


def group_key(settings: AlertSettings, labels: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """Return the versioned group key and the labels it is made of.

    With no `group_by` labels, all of a service's alerts in one window form one group.
    """
    picked = {k: labels.get(k, "") for k in settings.group_by}
    return _group_key(tuple(sorted(picked.items()))), picked


@lru_cache(maxsize=4096)
def _group_key(items: tuple[tuple[str, str], ...]) -> str:
    return "g:1:" + hashlib.sha256(orjson.dumps(items)).hexdigest()[:32]


def group_open_for(created_at: datetime, settings: AlertSettings, now: datetime) -> bool:
    """True while a group still takes new alerts: within its window from when it opened."""
    return now < created_at + timedelta(seconds=settings.group_window_seconds)


@dataclass(frozen=True, slots=True)
class WindowView:
    id: uuid.UUID
    service_id: uuid.UUID
    name: str
    starts_at: datetime
    ends_at: datetime
    recurrence: Recurrence
    reason: str


@dataclass(frozen=True, slots=True)
class SilenceView:
    id: uuid.UUID
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    author: str
    reason: str


@dataclass(frozen=True, slots=True)
class Suppression:
    kind: str  # maintenance | silence | flapping
    reason: str
    ref: str | None
    until: datetime | None


def suppression(*, now: datetime, service_id: uuid.UUID, labels: Mapping[str, str],
                windows: Sequence[WindowView], silences: Sequence[SilenceView],
                last_paged_at: datetime | None, flap_window_seconds: int) -> Suppression | None:
    """Return what keeps this alert from paging now (maintenance, then silence, then flapping), or None."""
    for w in windows:
        if w.service_id != service_id:
            continue
        occ = occurrence_at(w.starts_at, w.ends_at, w.recurrence, now)
        if occ is not None:
            why = f": {w.reason}" if w.reason else ""
            return Suppression("maintenance", f"service in maintenance window '{w.name}' until "
                                              f"{occ[1].isoformat()}{why}", str(w.id), occ[1])
    for s in silences:
        if in_range(s.starts_at, s.ends_at, now) and match_all(s.matchers, labels):
            return Suppression("silence", f"silenced by {s.author} until {s.ends_at.isoformat()} "
                                          f"{describe(s.matchers)}: {s.reason}", str(s.id), s.ends_at)
    if last_paged_at is not None and flap_window_seconds > 0:
        until = last_paged_at + timedelta(seconds=flap_window_seconds)
        if now < until:
            return Suppression("flapping", f"flapping: the same alert already paged at {last_paged_at.isoformat()}, "
                                           f"within the {flap_window_seconds} s flap window; pages once",
                               None, until)
    return None


def page_time(*, urgency: str, now: datetime, support_hours: SupportHours | None) -> tuple[datetime, str]:
    """Return when the page may go out and why: high urgency now; low urgency waits for support hours."""
    if urgency == "high":
        return now, "high urgency: page now"
    if support_hours is None:
        return now, "low urgency: page now (the service sets no support hours)"
    start = next_support_start(support_hours, now)
    if start <= now:
        return now, "low urgency inside support hours: page now"
    return start, f"low urgency outside support hours: page at {start.isoformat()}"


# --- inhibition: a firing cause holds back its consequences ---------------------------------------

@dataclass(frozen=True, slots=True)
class InhibitRuleView:
    id: uuid.UUID
    name: str
    service_id: uuid.UUID | None  # None: every service's alerts; else that service's alerts only
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SourceAlert:
    """A firing alert that can inhibit others: triggered or acknowledged, not itself inhibited."""

    id: uuid.UUID
    service_id: uuid.UUID
    summary: str
    labels: Mapping[str, str]  # as matchers see them (Context.match_labels)


@dataclass(frozen=True, slots=True)
class Inhibition:
    source_id: uuid.UUID
    reason: str
    ref: str  # "dependency", or the inhibition rule's id


class Firing:
    """The firing alerts that can inhibit others, in memory for one batch, indexed for the checks:
    by service (for dependencies) and per rule by the values of its `equal` labels (for rules).

    `upstream` maps a service to every service it depends on, directly or through others, nearest
    first; `depended_on` is every service something depends on (only their alerts are kept by service).
    """

    def __init__(self, *, upstream: Mapping[uuid.UUID, tuple[uuid.UUID, ...]], depended_on: frozenset[uuid.UUID],
                 rules: Sequence[InhibitRuleView]) -> None:
        self.upstream, self.depended_on, self.rules = upstream, depended_on, rules
        self.by_service: dict[uuid.UUID, dict[uuid.UUID, SourceAlert]] = {}
        self.by_rule: dict[uuid.UUID, dict[tuple[str, ...], dict[uuid.UUID, SourceAlert]]] = {r.id: {} for r in rules}
        self._where: dict[uuid.UUID, list[dict[uuid.UUID, SourceAlert]]] = {}  # alert -> the dicts holding it
        self.gone: set[uuid.UUID] = set()  # resolved (or held) since: a load does not add them back

    @property
    def active(self) -> bool:
        """Whether anything can be inhibited at all (no dependencies and no rules: nothing to do)."""
        return bool(self.depended_on or self.rules)

    def add(self, src: SourceAlert, *, loaded: bool = False) -> None:
        """Add a firing alert: one decided now, or one `loaded` from the database (which may be stale:
        an alert resolved or held since then is not added back)."""
        if loaded and src.id in self.gone:
            return
        self.gone.discard(src.id)
        if src.id in self._where:
            return
        places: list[dict[uuid.UUID, SourceAlert]] = []
        if src.service_id in self.depended_on:
            places.append(self.by_service.setdefault(src.service_id, {}))
        for rule in self.rules:
            if (rule.service_id is None or rule.service_id == src.service_id) and match_all(rule.source, src.labels):
                key = tuple(src.labels.get(name, "") for name in rule.equal)
                places.append(self.by_rule[rule.id].setdefault(key, {}))
        for place in places:
            place[src.id] = src
        self._where[src.id] = places

    def remove(self, alert_id: uuid.UUID) -> None:
        self.gone.add(alert_id)
        for place in self._where.pop(alert_id, ()):
            place.pop(alert_id, None)

    def needs_sources(self, service_id: uuid.UUID, labels: Mapping[str, str]) -> tuple[bool, bool]:
        """Whether deciding about this alert needs the firing alerts of its upstream services, and
        those matching some rule's source matchers (so a batch loads each only when needed)."""
        deps = bool(self.upstream.get(service_id))
        rules = any((r.service_id is None or r.service_id == service_id) and match_all(r.target, labels)
                    for r in self.rules)
        return deps, rules


def inhibition(*, alert_id: uuid.UUID, service_id: uuid.UUID, labels: Mapping[str, str], firing: Firing,
               slugs: Mapping[uuid.UUID, str], drills: Collection[uuid.UUID] = frozenset()) -> Inhibition | None:
    """Return what inhibits this alert, or None.

    First its dependencies: a firing alert of a service it depends on, directly or transitively (the
    nearest such service, its oldest firing alert). Then the inhibition rules in their order: the
    alert matches the target matchers and a firing alert (not itself) matches the source matchers
    with the same values of the `equal` labels (absent counts as empty, as in Alertmanager). A drill
    service's alert (`drills`, issue 19) never holds back a real one: an exercise must not mute real pages."""
    real = service_id not in drills
    for dep in firing.upstream.get(service_id, ()):
        for src in firing.by_service.get(dep, {}).values():
            if src.id != alert_id and not (real and src.service_id in drills):
                return Inhibition(src.id, f"inhibited by {slugs.get(dep, dep)}: {src.summary} (a service it "
                                          f"depends on is firing; released when that alert resolves)", "dependency")
    for rule in firing.rules:
        if rule.service_id is not None and rule.service_id != service_id:
            continue
        if not match_all(rule.target, labels):
            continue
        key = tuple(labels.get(name, "") for name in rule.equal)
        for src in firing.by_rule[rule.id].get(key, {}).values():
            if src.id != alert_id and not (real and src.service_id in drills):
                same = f" with the same {', '.join(rule.equal)}" if rule.equal else ""
                return Inhibition(src.id, f"inhibited by {slugs.get(src.service_id, src.service_id)}: {src.summary} "
                                          f"(inhibition rule '{rule.name}': {describe(rule.source)} mutes "
                                          f"{describe(rule.target)}{same})", str(rule.id))
    return None
