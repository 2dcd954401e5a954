"""The exercises report: each finished run's score over time, and each person's (a chart's Trend)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.exercises.models import Exercise, ExerciseParticipant
from tocsin.reports.incident_metrics import Series, Trend
from tocsin.users.models import User

MAX_RUNS = 30
MAX_PEOPLE = 8


@dataclass(frozen=True)
class PersonRow:
    name: str
    runs: int
    passed: int
    average: float


def finished(s: Session) -> list[Exercise]:
    rows = s.execute(sa.select(Exercise).where(Exercise.status == "finished", Exercise.score.is_not(None))
                     .order_by(Exercise.ended_at.desc(), Exercise.id.desc()).limit(MAX_RUNS)).scalars()
    return list(reversed(list(rows)))


def _taken(s: Session, runs: list[Exercise]) -> dict[str, set[int]]:
    """Each person's name -> the indexes of the runs they took part in."""
    index = {r.id: i for i, r in enumerate(runs)}
    rows = s.execute(sa.select(ExerciseParticipant.exercise_id, User.name).join(
        User, User.id == ExerciseParticipant.user_id).where(ExerciseParticipant.exercise_id.in_(list(index)))).all()
    out: dict[str, set[int]] = {}
    for exercise_id, name in rows:
        out.setdefault(name, set()).add(index[exercise_id])
    return out


def _total(run: Exercise) -> float:
    return float((run.score or {}).get("total", 0))


def trend(s: Session) -> tuple[Trend, list[PersonRow]]:
    """Score over time: one point per finished run, a line for all runs and one per person."""
    runs = finished(s)
    taken = _taken(s, runs)
    people = sorted(taken, key=lambda n: (-len(taken[n]), n))
    series = [Series("all runs", [_total(r) for r in runs])]
    for name in people[:MAX_PEOPLE]:
        series.append(Series(name, [_total(r) if i in taken[name] else None for i, r in enumerate(runs)]))
    buckets = [f"{r.ended_at:%m-%d} {r.name[:18]}" if r.ended_at else r.name[:24] for r in runs]
    rows = [PersonRow(name, len(taken[name]), sum(bool((runs[i].score or {}).get("passed")) for i in taken[name]),
                      round(sum(_total(runs[i]) for i in taken[name]) / len(taken[name]), 1)) for name in people]
    return Trend("Exercise scores", "score (0-100)", buckets, series, "line"), rows
