"""Pure decisions about one alert: where it routes, which group it joins, what keeps it from
paging, and when it may page. Each returns the decision *and the reason*, which is stored.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
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
          slugs: Mapping[uuid.UUID, str]) -> Route:
    """Return where the alert goes: the first matching rule decides; otherwise the integration's service."""
    for rule in rules:
        if match_all(rule.matchers, labels):
            target = rule.service_id or service_id
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
