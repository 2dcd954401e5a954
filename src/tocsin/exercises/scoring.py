"""An exercise's score from plain facts (pure: no database or clock).

Each expectation is worth its weight: met by its deadline, all of it; met late, half; not met, none.
expectations = 100 x points / total weight; each guardrail tripped takes 10 off (at most 30);
score = max(0, round(expectations - penalty)); passed = score >= the scenario's pass_score."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tocsin.exercises.scenario import Expectation, Scenario

LATE_FACTOR = 0.5
GUARDRAIL_PENALTY = 10
MAX_GUARDRAIL_PENALTY = 30


@dataclass(frozen=True)
class Facts:
    """What happened during a run, as times (aware UTC)."""

    started_at: datetime
    fired: dict[int, datetime] = field(default_factory=dict)  # inject n -> when it was fired
    acknowledged_at: datetime | None = None
    commanders: tuple[datetime, ...] = ()  # each Incident Commander assignment
    first_update_at: datetime | None = None
    mitigated_at: datetime | None = None
    severities: tuple[tuple[datetime, str], ...] = ()  # (since, severity), oldest first
    steps: tuple[tuple[datetime, str], ...] = ()  # (done at, text) of checklist and runbook steps
    guardrails: tuple[str, ...] = ()  # the rules tripped


@dataclass(frozen=True)
class Result:
    n: int
    description: str
    deadline: datetime | None  # None: its inject was never fired
    met_at: datetime | None
    status: str  # met | late | missed | pending
    points: float
    weight: int


@dataclass(frozen=True)
class Score:
    total: int
    passed: bool
    pass_score: int
    expectations: float
    penalty: int
    results: tuple[Result, ...]
    times: dict[str, float | None]  # seconds from the start: acknowledge, commander, first_update, mitigated
    guardrails: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {"total": self.total, "passed": self.passed, "pass_score": self.pass_score,
                "expectations": round(self.expectations, 1), "guardrail_penalty": self.penalty,
                "times": self.times, "guardrails": list(self.guardrails),
                "results": [{"n": r.n, "description": r.description, "status": r.status, "points": r.points,
                             "weight": r.weight, "deadline": r.deadline.isoformat() if r.deadline else None,
                             "met_at": r.met_at.isoformat() if r.met_at else None} for r in self.results]}


def _first_after(times: list[datetime], since: datetime) -> datetime | None:
    return min((t for t in times if t >= since), default=None)


def met_at(e: Expectation, facts: Facts, since: datetime) -> datetime | None:
    """When the expectation was first met, counting from `since`."""
    match e.type:
        case "acknowledged":
            return facts.acknowledged_at
        case "incident_commander":
            return min(facts.commanders, default=None)
        case "new_commander":
            return _first_after(list(facts.commanders), since)
        case "first_update":
            return facts.first_update_at
        case "mitigated":
            return facts.mitigated_at
        case "severity":
            return next((at for at, sev in facts.severities if sev == e.severity), None)
        case "step":
            needle = (e.step or "").lower()
            return min((at for at, text in facts.steps if needle in text.lower()), default=None)
    return None


def score(scenario: Scenario, facts: Facts, *, now: datetime, final: bool, speed: float = 1.0) -> Score:
    """Score the run as of `now`; before the end (`final` False) an unmet expectation whose deadline
    has not passed is pending (no points yet). A run at `speed` N (a compressed demo or test) has its
    deadlines N times sooner; its reported times are in scenario time (real seconds x N)."""
    results = []
    for e in scenario.expect:
        if e.after_inject is not None:
            since = facts.fired.get(e.after_inject)
        else:
            since = facts.started_at
        if since is None:
            results.append(Result(e.n, e.describe(), None, None, "missed" if final else "pending", 0, e.weight))
            continue
        deadline = since + e.within / speed
        at = met_at(e, facts, since)
        if at is not None and at <= deadline:
            status, points = "met", float(e.weight)
        elif at is not None:
            status, points = "late", e.weight * LATE_FACTOR
        elif final or now > deadline:
            status, points = "missed", 0.0
        else:
            status, points = "pending", 0.0
        results.append(Result(e.n, e.describe(), deadline, at, status, points, e.weight))
    weights = sum(r.weight for r in results) or 1
    expectations = 100 * sum(r.points for r in results) / weights
    penalty = min(MAX_GUARDRAIL_PENALTY, GUARDRAIL_PENALTY * len(facts.guardrails))
    total = max(0, round(expectations - penalty))

    def since_start(t: datetime | None) -> float | None:
        return round((t - facts.started_at).total_seconds() * speed, 1) if t else None

    times = {"acknowledge": since_start(facts.acknowledged_at), "commander": since_start(min(facts.commanders, default=None)),
             "first_update": since_start(facts.first_update_at), "mitigated": since_start(facts.mitigated_at)}
    return Score(total=total, passed=total >= scenario.pass_score, pass_score=scenario.pass_score,
                 expectations=expectations, penalty=penalty, results=tuple(results), times=times,
                 guardrails=facts.guardrails)


def all_settled(s: Score) -> bool:
    """Nothing left to wait for: every expectation met (on time or late) or missed."""
    return all(r.status != "pending" for r in s.results)


def seconds(value: float | None) -> str:
    return "-" if value is None else _fmt(timedelta(seconds=value))


def _fmt(d: timedelta) -> str:
    m, s = divmod(int(d.total_seconds()), 60)
    return f"{m}m{s:02d}s"
