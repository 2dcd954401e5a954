"""Incident response metrics, computed from plain rows (no database, no clock).

`reports/service.py` loads one `IncidentRow` per incident and one `ActionRow` per action item;
everything here is a pure function of those rows, `now` and the settings passed in, so every
figure can be checked against a hand computation (tests/unit/test_incident_metrics.py).

Definitions (docs/reports.md says the same in prose):

- MTTD  impact_started_at → detected_at, over incidents with impact_started_at.
- MTTA  first alert → first acknowledgement by a person. The first alert is the earliest
        `first_seen_at` of the alerts attached to the incident, or declared_at when none is
        attached; the first acknowledgement is the earlier of `first_alert_ack_at` (a person
        acknowledged an attached alert or its page) and `acknowledged_at` (a person acknowledged
        the incident: declared it active, moved it out of triage, took command after the
        declaration). The loader fills both from who-did-what records (reports/service.py), never
        from tocsin's own stamps. Incidents nobody acknowledged are left out.
- MTTM  detected_at → mitigated_at; MTTR detected_at → resolved_at (incidents having them).
- Each is reported as count, mean, median and p90 in seconds. p90 interpolates linearly
  between the closest ranks (numpy's default, `statistics.quantiles(method="inclusive")`).
  A negative span (a back-dated field later than the one it is measured to) counts as 0.
- IC within 5 min: incidents whose first incident_commander assignment came at most
  5 minutes after declared_at, over all incidents (none assigned counts as not within).
- Postmortems: required = resolved incidents (a postmortem follows resolution) whose severity is
  in the required set, or that have a postmortem; completion = published / required; time to
  publish = resolved_at → published_at of published ones.
- Recurrence: incidents linked to a problem with `recurrence` true.
- Time to contain / time to eradicate (security incidents; containment/phases.py): declared_at →
        containment done (the first time the incident entered eradication or a later phase) /
        eradication done (the first time it entered recovery or later), over the security
        incidents that got that far.
- Time to first status-page update: detected_at → the first public update posted from the
  incident (StatusUpdate of a StatusIncident linked by incident_id), median over incidents that
  had one; `value` is null when none had.
- Cost: responder hours = Σ over responder participants of (resolved_at or now) − joined_at,
  at least 0, times the hourly rate; plus revenue_at_risk_per_hour × impact hours, where
  impact runs from impact_started_at (or detected_at) to mitigated_at (or resolved_at, or now).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypedDict

IC_TARGET = timedelta(minutes=5)
NO_GROUP = "(none)"
STATUS_PAGE_NOTE = "median seconds from detection to the first public status-page update, over {n} incidents"
STATUS_PAGE_NONE = "no incident in this set had a public status-page update"


class GroupBy(StrEnum):
    none = "none"
    team = "team"
    service = "service"
    severity = "severity"
    kind = "kind"
    month = "month"
    week = "week"


@dataclass(frozen=True)
class IncidentRow:
    """What the metrics need to know about one incident."""

    ref: str
    kind: str
    severity: str
    declared_at: datetime
    detected_at: datetime
    impact_started_at: datetime | None = None
    acknowledged_at: datetime | None = None  # first acknowledgement of the incident by a person
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    revenue_at_risk_per_hour: float | None = None
    first_alert_at: datetime | None = None  # earliest first_seen_at of the attached alerts
    first_alert_ack_at: datetime | None = None  # first acknowledgement of an attached alert by a person
    first_ic_at: datetime | None = None  # first incident_commander assignment
    responders_joined: tuple[datetime, ...] = ()  # joined_at of each responder participant
    services: tuple[str, ...] = ()  # slugs
    teams: tuple[str, ...] = ()  # slugs of the services' owner teams
    postmortem_status: str | None = None
    postmortem_published_at: datetime | None = None
    recurrence: bool = False
    first_status_update_at: datetime | None = None  # first public status-page update posted from it
    contained_at: datetime | None = None  # security: entered eradication or later (containment done)
    eradicated_at: datetime | None = None  # security: entered recovery or later (eradication done)


@dataclass(frozen=True)
class ActionRow:
    status: str  # open | in_progress | done | wont_do
    due_at: datetime | None
    completed_at: datetime | None = None
    team: str | None = None  # slug


@dataclass(frozen=True)
class Stats:
    count: int
    mean_seconds: float | None
    median_seconds: float | None
    p90_seconds: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "mean_seconds": self.mean_seconds, "median_seconds": self.median_seconds,
                "p90_seconds": self.p90_seconds}


def duration_stats(values: Iterable[float]) -> Stats:
    """Return count, mean, median and p90 of `values` (seconds); None for each when empty."""
    data = sorted(values)
    if not data:
        return Stats(0, None, None, None)
    p90 = data[0] if len(data) == 1 else statistics.quantiles(data, n=10, method="inclusive")[8]
    return Stats(len(data), statistics.fmean(data), statistics.median(data), p90)


def _span(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def _percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else 100.0 * part / whole


def first_alert(row: IncidentRow) -> datetime:
    return row.first_alert_at or row.declared_at


def first_ack(row: IncidentRow) -> datetime | None:
    acks = [t for t in (row.first_alert_ack_at, row.acknowledged_at) if t is not None]
    return min(acks) if acks else None


def impact_end(row: IncidentRow, now: datetime) -> datetime:
    return row.mitigated_at or row.resolved_at or now


def responder_hours(row: IncidentRow, now: datetime) -> float:
    end = row.resolved_at or now
    return sum(max(0.0, (end - joined).total_seconds()) for joined in row.responders_joined) / 3600


def impact_hours(row: IncidentRow, now: datetime) -> float:
    return (_span(row.impact_started_at or row.detected_at, impact_end(row, now)) or 0.0) / 3600


@dataclass
class Costs:
    responder_hours: float = 0.0
    responder_cost: float = 0.0
    revenue_at_risk: float = 0.0

    def as_dict(self, hourly_rate: float) -> dict[str, Any]:
        return {"responder_hours": self.responder_hours, "hourly_rate": hourly_rate,
                "responder_cost": self.responder_cost, "revenue_at_risk": self.revenue_at_risk,
                "total": self.responder_cost + self.revenue_at_risk}


def incident_cost(row: IncidentRow, *, now: datetime, hourly_rate: float) -> Costs:
    hours = responder_hours(row, now)
    revenue = (row.revenue_at_risk_per_hour or 0.0) * impact_hours(row, now)
    return Costs(hours, hours * hourly_rate, revenue)


class MetricSettings(TypedDict):
    """The keyword arguments of `incident_metrics` besides the rows: the same for every group of a report."""

    now: datetime
    required_severities: frozenset[str]
    hourly_rate: float


def incident_metrics(rows: Sequence[IncidentRow], *, now: datetime, required_severities: frozenset[str],
                     hourly_rate: float) -> dict[str, Any]:
    """Return every incident metric over `rows` as a JSON-ready dict (durations in seconds)."""
    ic_in_time = sum(1 for r in rows if r.first_ic_at is not None and r.first_ic_at - r.declared_at <= IC_TARGET)
    needs_pm = [r for r in rows if r.postmortem_status is not None
                or (r.resolved_at is not None and r.severity in required_severities)]
    published = [r for r in needs_pm if r.postmortem_status == "published"]
    recurrences = sum(1 for r in rows if r.recurrence)
    costs = Costs()
    for r in rows:
        c = incident_cost(r, now=now, hourly_rate=hourly_rate)
        costs.responder_hours += c.responder_hours
        costs.responder_cost += c.responder_cost
        costs.revenue_at_risk += c.revenue_at_risk

    def stats(pairs: Callable[[IncidentRow], tuple[datetime | None, datetime | None]]) -> dict[str, Any]:
        spans = (_span(*pairs(r)) for r in rows)
        return duration_stats(s for s in spans if s is not None).as_dict()

    return {
        "incidents": len(rows),
        "mttd": stats(lambda r: (r.impact_started_at, r.detected_at)),
        "mtta": stats(lambda r: (first_alert(r), first_ack(r))),
        "mttm": stats(lambda r: (r.detected_at, r.mitigated_at)),
        "mttr": stats(lambda r: (r.detected_at, r.resolved_at)),
        "time_to_contain": stats(lambda r: (r.declared_at, r.contained_at)),
        "time_to_eradicate": stats(lambda r: (r.declared_at, r.eradicated_at)),
        "time_to_first_status_update": first_status_update(rows),
        "ic_within_5_min": {"count": ic_in_time, "of": len(rows), "percent": _percent(ic_in_time, len(rows))},
        "postmortems": {
            "required": len(needs_pm), "published": len(published),
            "completion_percent": _percent(len(published), len(needs_pm)),
            "time_to_publish": duration_stats(
                s for s in (_span(r.resolved_at, r.postmortem_published_at) for r in published) if s is not None
            ).as_dict(),
        },
        "recurrence": {"count": recurrences, "percent": _percent(recurrences, len(rows))},
        "cost": costs.as_dict(hourly_rate),
    }


def first_status_update(rows: Sequence[IncidentRow]) -> dict[str, Any]:
    """Median detected_at → first public status-page update, over incidents that had one (null
    when none had); the note says over how many."""
    spans = [s for s in (_span(r.detected_at, r.first_status_update_at) for r in rows) if s is not None]
    if not spans:
        return {"value": None, "note": STATUS_PAGE_NONE}
    return {"value": statistics.median(spans), "note": STATUS_PAGE_NOTE.format(n=len(spans))}


# --- grouping ----------------------------------------------------------------------------------

def week_start(when: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week holding `when`."""
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def month_start(when: datetime) -> datetime:
    return when.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def bucket_key(when: datetime, unit: GroupBy) -> str:
    """The label of the week (its Monday, 2026-03-02) or month (2026-03) holding `when`."""
    if unit == GroupBy.week:
        return week_start(when).date().isoformat()
    return month_start(when).strftime("%Y-%m")


def buckets(since: datetime, until: datetime, unit: GroupBy) -> list[str]:
    """Every week or month label from the one holding `since` to the one before `until`, in order,
    so that charts show empty weeks as zero instead of skipping them."""
    keys: list[str] = []
    cur = week_start(since) if unit == GroupBy.week else month_start(since)
    while cur < until:
        keys.append(bucket_key(cur, unit))
        if unit == GroupBy.week:
            cur += timedelta(days=7)
        else:
            cur = (cur.replace(day=28) + timedelta(days=4)).replace(day=1)
    return keys


def group_keys(row: IncidentRow, group_by: GroupBy) -> tuple[str, ...]:
    """The groups an incident counts in; one with several services counts in each of theirs."""
    match group_by:
        case GroupBy.none:
            return ("all",)
        case GroupBy.team:
            return tuple(sorted(set(row.teams))) or (NO_GROUP,)
        case GroupBy.service:
            return tuple(sorted(set(row.services))) or (NO_GROUP,)
        case GroupBy.severity:
            return (row.severity,)
        case GroupBy.kind:
            return (row.kind,)
        case _:
            return (bucket_key(row.declared_at, group_by),)


def group_rows(rows: Iterable[IncidentRow], group_by: GroupBy) -> dict[str, list[IncidentRow]]:
    """Rows by group key, keys sorted (weeks and months sort by time as their labels do)."""
    out: dict[str, list[IncidentRow]] = defaultdict(list)
    for r in rows:
        for key in group_keys(r, group_by):
            out[key].append(r)
    return dict(sorted(out.items()))


# --- action items ------------------------------------------------------------------------------

ACTION_OUTCOMES = ("done_on_time", "done_late", "open_overdue", "open_not_due", "wont_do")


def action_outcome(row: ActionRow, now: datetime) -> str | None:
    """Which column an item counts in, or None when it has no due date (it cannot be late)."""
    if row.due_at is None:
        return None
    if row.status == "wont_do":
        return "wont_do"
    if row.status == "done":
        return "done_on_time" if row.completed_at is not None and row.completed_at <= row.due_at else "done_late"
    return "open_overdue" if row.due_at < now else "open_not_due"


def in_action_period(row: ActionRow, *, since: datetime, until: datetime, now: datetime) -> bool:
    """Due in [since, until), or open and overdue now whenever it was due."""
    if row.due_at is None:
        return False
    return since <= row.due_at < until or (row.status in ("open", "in_progress") and row.due_at < now)


def action_item_metrics(rows: Iterable[ActionRow], *, now: datetime) -> dict[str, Any]:
    """Counts per outcome and rate = done_on_time / (done_on_time + done_late + open_overdue)."""
    counts = dict.fromkeys(ACTION_OUTCOMES, 0)
    for r in rows:
        outcome = action_outcome(r, now)
        if outcome is not None:
            counts[outcome] += 1
    judged = counts["done_on_time"] + counts["done_late"] + counts["open_overdue"]
    return {**counts, "total": sum(counts.values()),
            "completion_rate_percent": _percent(counts["done_on_time"], judged)}


def action_items_by_team(rows: Iterable[ActionRow], *, now: datetime) -> list[dict[str, Any]]:
    by_team: dict[str, list[ActionRow]] = defaultdict(list)
    for r in rows:
        by_team[r.team or NO_GROUP].append(r)
    return [{"team": team, **action_item_metrics(items, now=now)} for team, items in sorted(by_team.items())]


@dataclass
class Series:
    """One chart series: a label and a value per bucket (None where there is nothing to show)."""

    label: str
    values: list[float | None] = field(default_factory=list)


# --- trends for charts -------------------------------------------------------------------------

class Bucket(StrEnum):
    week = "week"
    month = "month"


class TrendMetric(StrEnum):
    # Not named `count`: a member of that name would hide str.count on every member.
    incidents = "count"
    mttd = "mttd"
    mtta = "mtta"
    mttm = "mttm"
    mttr = "mttr"
    ic_within_5_min = "ic_within_5_min"
    recurrence = "recurrence"
    postmortem_completion = "postmortem_completion"
    cost = "cost"


_DURATIONS = {TrendMetric.mttd: "MTTD", TrendMetric.mtta: "MTTA", TrendMetric.mttm: "MTTM", TrendMetric.mttr: "MTTR"}


@dataclass
class Trend:
    """What a chart shows: one value per bucket for each series, and how to draw it."""

    title: str
    unit_label: str  # the y axis
    buckets: list[str]
    series: list[Series]
    style: str  # "stacked" bars, "bar" or "line"


def trend(rows: Sequence[IncidentRow], *, metric: TrendMetric, unit: Bucket, since: datetime, until: datetime,
          now: datetime, required_severities: frozenset[str], hourly_rate: float) -> Trend:
    """The metric per week or month of the period (by declared_at), empty buckets included."""
    group_by = GroupBy(unit.value)
    keys = buckets(since, until, group_by)
    grouped = group_rows(rows, group_by)
    per = [grouped.get(k, []) for k in keys]
    word = unit.value
    if metric == TrendMetric.incidents:
        severities = sorted({r.severity for r in rows})
        series = [Series(sev, [float(sum(1 for r in items if r.severity == sev)) for items in per])
                  for sev in severities]
        return Trend(f"Incidents per {word} by severity", "incidents", keys, series, "stacked")
    kwargs = MetricSettings(now=now, required_severities=required_severities, hourly_rate=hourly_rate)
    metrics = [incident_metrics(items, **kwargs) for items in per]
    if metric in _DURATIONS:
        name = _DURATIONS[metric]

        def minutes(v: float | None) -> float | None:
            return None if v is None else v / 60

        series = [Series(f"{name} median", [minutes(x[metric.value]["median_seconds"]) for x in metrics]),
                  Series(f"{name} mean", [minutes(x[metric.value]["mean_seconds"]) for x in metrics])]
        return Trend(f"{name} per {word}", "minutes", keys, series, "line")
    if metric == TrendMetric.cost:
        return Trend(f"Incident cost per {word}", "cost", keys,
                     [Series("cost", [x["cost"]["total"] for x in metrics])], "bar")
    pick = {TrendMetric.ic_within_5_min: ("IC assigned within 5 min", lambda x: x["ic_within_5_min"]["percent"]),
            TrendMetric.recurrence: ("Recurrences", lambda x: x["recurrence"]["percent"]),
            TrendMetric.postmortem_completion: ("Postmortems published",
                                                lambda x: x["postmortems"]["completion_percent"])}[metric]
    return Trend(f"{pick[0]} per {word}", "% of incidents", keys, [Series(pick[0], [pick[1](x) for x in metrics])],
                 "line")
