"""SLO arithmetic, pure: the SLI, the error budget, burn rates and the multi-window burn-rate rules.

Everything here is a function of counts and a target; no database, clock or settings. A target is
a percentage (99.9). "Bad" events are `total - good`.

The alert rules are the Google SRE workbook's multiwindow, multi-burn-rate alerts (chapter 5,
"Alerting on SLOs", recommendation 6): a rule fires when the burn rate over its long window AND its
short window both exceed its threshold (the long window makes it significant, the short one makes
it current), and a firing rule resolves once the short window's burn rate is no longer above the
threshold, so an alert ends soon after the bleeding stops instead of an hour later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from tocsin.checks.soft import is_soft_failure

KINDS = ("availability", "latency")
WINDOW_DAYS = (7, 28, 30)


@dataclass(frozen=True, slots=True)
class Counts:
    good: float = 0.0
    total: float = 0.0

    @property
    def bad(self) -> float:
        return max(self.total - self.good, 0.0)


@dataclass(frozen=True, slots=True)
class Rule:
    """A burn-rate alert rule: fires when both windows burn faster than `threshold`."""

    name: str
    long: timedelta
    short: timedelta
    threshold: float
    severity: str  # the alert severity: critical pages, warning is a ticket
    budget_note: str  # what the threshold means for a 30-day budget, for the alert text


# The workbook's table: 2 % of a 30-day budget in 1 h, 5 % in 6 h (pages), 10 % in 3 days (ticket).
RULES: tuple[Rule, ...] = (
    Rule("page_1h", timedelta(hours=1), timedelta(minutes=5), 14.4, "critical", "2% of a 30-day budget in 1 h"),
    Rule("page_6h", timedelta(hours=6), timedelta(minutes=30), 6.0, "critical", "5% of a 30-day budget in 6 h"),
    Rule("ticket_3d", timedelta(days=3), timedelta(hours=6), 1.0, "warning", "10% of a 30-day budget in 3 days"),
)
RULE_NAMES = tuple(r.name for r in RULES)


def burn_windows() -> list[timedelta]:
    """Every window the rules read, longest first, without repeats."""
    seen = {w for r in RULES for w in (r.long, r.short)}
    return sorted(seen, reverse=True)


def check_target(target: float) -> float:
    """Return `target` if it is a usable percentage (strictly between 0 and 100); raise ValueError."""
    if not 0.0 < target < 100.0 or target != target:  # NaN fails both
        raise ValueError("target must be a percentage above 0 and below 100, e.g. 99.9")
    return target


def sli(counts: Counts) -> float | None:
    """The share of good events (0..1), or None when there were no events."""
    if counts.total <= 0:
        return None
    return min(max(counts.good / counts.total, 0.0), 1.0)


def burn_rate(counts: Counts, target: float) -> float | None:
    """How fast the budget burns: the observed error rate over the allowed one (1.0 spends exactly
    the budget over the SLO window). None when there were no events (nothing burns)."""
    if counts.total <= 0:
        return None
    return (counts.bad / counts.total) / (1.0 - check_target(target) / 100.0)


@dataclass(frozen=True, slots=True)
class Budget:
    sli: float | None  # 0..1, None without events
    target: float  # percent
    window_days: int
    good: float
    total: float
    bad: float
    allowed_bad: float  # events the budget allows for the traffic seen
    consumed_fraction: float  # of the budget: 0 nothing spent, 1 all, above 1 overspent
    remaining_fraction: float  # 1 - consumed; negative when overspent
    remaining_events: float  # allowed_bad - bad (negative when overspent)
    budget_minutes: float  # the window's budget as time: (1 - target) of the window
    remaining_minutes: float  # budget_minutes x remaining_fraction


def budget(counts: Counts, target: float, window_days: int) -> Budget:
    """The error budget over an SLO window from its counts.

    No events (or a total of 0) consumes nothing: the whole budget remains. When the traffic seen
    allows no bad event at all but some were bad (impossible with a target below 100), consumed is 1.
    """
    t = check_target(target)
    allowed_ratio = 1.0 - t / 100.0
    bad = counts.bad if counts.total > 0 else 0.0
    allowed_bad = allowed_ratio * max(counts.total, 0.0)
    if allowed_bad > 0:
        consumed = bad / allowed_bad
    else:
        consumed = 1.0 if bad > 0 else 0.0
    minutes = allowed_ratio * window_days * 24 * 60
    return Budget(sli=sli(counts), target=t, window_days=window_days, good=counts.good, total=counts.total,
                  bad=bad, allowed_bad=allowed_bad, consumed_fraction=consumed, remaining_fraction=1.0 - consumed,
                  remaining_events=allowed_bad - bad, budget_minutes=minutes, remaining_minutes=minutes * (1.0 - consumed))


@dataclass(frozen=True, slots=True)
class Verdict:
    rule: Rule
    firing: bool  # after this evaluation
    changed: bool  # it started or stopped firing now
    long_rate: float | None
    short_rate: float | None
    reason: str


def _fmt(rate: float | None) -> str:
    return "no events" if rate is None else f"{rate:.2f}"


def evaluate(rule: Rule, *, long_rate: float | None, short_rate: float | None, was_firing: bool) -> Verdict:
    """Decide one rule from the burn rates over its two windows and whether it was firing.

    Not firing -> fires when both rates exceed the threshold. Firing -> stays firing while the short
    window's rate still exceeds it, resolves once it does not (no events in the short window count
    as not burning)."""
    short_hot = short_rate is not None and short_rate > rule.threshold
    long_hot = long_rate is not None and long_rate > rule.threshold
    windows = (f"burn rate {_fmt(long_rate)} over {span(rule.long)} and {_fmt(short_rate)} over "
               f"{span(rule.short)}, threshold {rule.threshold:g}")
    if was_firing:
        if short_hot:
            return Verdict(rule, True, False, long_rate, short_rate, f"still burning: {windows}")
        return Verdict(rule, False, True, long_rate, short_rate, f"recovered: {windows}")
    if short_hot and long_hot:
        return Verdict(rule, True, True, long_rate, short_rate, f"burning: {windows}")
    return Verdict(rule, False, False, long_rate, short_rate, f"not burning: {windows}")


def span(d: timedelta) -> str:
    """A window as people write it: 5m, 1h, 3d."""
    seconds = int(d.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m"


def is_good_probe(*, ok: bool, error: str | None, latency_ms: float | None, kind: str,
                  threshold_ms: int | None) -> bool:
    """Whether one synthetic check result is a good event for an SLO of `kind`.

    Availability: the probe passed, or failed only as a warning (slow, or a certificate expiring
    soon: the service answered correctly, as checks/monitor.py rates it). Latency: it answered
    correctly and within `threshold_ms`."""
    answered = ok or is_soft_failure(error)
    if kind == "availability":
        return answered
    return answered and latency_ms is not None and threshold_ms is not None and latency_ms <= threshold_ms
