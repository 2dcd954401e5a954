"""What every importer shares: the plan an importer builds (a configcode document plus what could not
be mapped), the 50 sample instants, and the check that the source and tocsin agree on who is on call.

An importer (opsgenie.py, grafana_oncall.py, pagerduty.py) reads the source's API, builds an
`ImportPlan` whose `document` is a configcode document (docs/config-as-code.md) in which every object
carries a `source_id`, and hands it to configcode's apply. Re-running it updates, never duplicates.
Then `compare_on_call` asks the source's own final schedule (its API's rendered timeline) and tocsin
who is on call at `sample_instants(...)`: an import is verified when they agree at every instant.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from tocsin.errors import ProviderError
from tocsin.oncall import service as oncall


@contextmanager
def source_shape(source: str) -> Iterator[None]:
    """Reading and translating a source's answers: an answer of a shape the importer does not expect
    (an object without its id, a number where a list belongs) is a ProviderError naming the source,
    not a traceback. Nothing has been written yet at this stage. The remote's values are not echoed."""
    try:
        yield
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        raise ProviderError(f"{source} answered with data of a shape the import does not know "
                            f"({type(exc).__name__}); nothing was imported", retryable=False) from exc


@dataclass(frozen=True)
class Unmapped:
    """A source object (or part of one) that tocsin did not import, and why, for the report."""

    kind: str      # "schedule", "rotation", "escalation rule", "integration", ...
    name: str      # the source's name for it
    reason: str    # one sentence a person can act on


@dataclass(frozen=True)
class TimelineEntry:
    """One stretch of the source's final schedule: `email` is on call from `start` to `end` (aware UTC)."""

    email: str
    start: datetime
    end: datetime


@dataclass
class ImportPlan:
    document: dict[str, Any]
    unmapped: list[Unmapped] = field(default_factory=list)
    # users tocsin had to create without a contact method the source exposed: they must be invited
    invites: list[str] = field(default_factory=list)
    # source schedule id -> the tocsin schedule slugs that together hold its on-call (one source
    # schedule may become several tocsin schedules where the source puts several people on call at once)
    schedules: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Mismatch:
    source_schedule: str
    at: datetime
    source: frozenset[str]
    tocsin: frozenset[str]


def sample_instants(now: datetime, *, n: int = 50, days: int = 30) -> list[datetime]:
    """`n` instants spread over the next `days` days, at uneven minutes so that they fall on
    hand-over edges, nights and weekends rather than on one time of day (deterministic for `now`)."""
    span = timedelta(days=days).total_seconds()
    step = span / n
    # a prime number of minutes shifts each sample's time of day
    return [now + timedelta(seconds=int(i * step) + (i * 137 % 1440) * 60 % int(step)) for i in range(n)]


def on_call_in_timeline(entries: Iterable[TimelineEntry], at: datetime) -> frozenset[str]:
    """Who the source's final timeline puts on call at `at` (lower-cased emails)."""
    return frozenset(e.email.lower() for e in entries if e.start <= at < e.end)


def tocsin_timeline(session: Session, slugs: Sequence[str], start: datetime, end: datetime,
                    now: datetime) -> list[TimelineEntry]:
    """tocsin's final shifts from `start` to `end` across the schedules `slugs`, as timeline entries
    (each schedule resolved once for the whole range, not once per instant)."""
    out: list[TimelineEntry] = []
    for slug in slugs:
        schedule = oncall.require_schedule(session, slug)
        found = oncall.shifts(session, schedule=schedule, start=start, end=end, now=now)
        users = oncall.users_by_id(session, [uuid.UUID(x.user) for x in found])
        out += [TimelineEntry(users[uuid.UUID(x.user)].email, x.start, x.end) for x in found
                if uuid.UUID(x.user) in users]
    return out


def compare_on_call(session: Session, *, plan: ImportPlan,
                    timelines: Mapping[str, Sequence[TimelineEntry]], instants: Sequence[datetime],
                    now: datetime) -> tuple[int, list[Mismatch]]:
    """Compare the source's final timeline of every imported schedule with tocsin at `instants`;
    return (comparisons made, mismatches)."""
    made, bad = 0, list[Mismatch]()
    if not instants:
        return made, bad
    start, end = min(instants), max(instants) + timedelta(seconds=1)
    for source_id, slugs in plan.schedules.items():
        entries = timelines.get(source_id, ())
        ours = tocsin_timeline(session, slugs, start, end, now)
        for at in instants:
            made += 1
            want, got = on_call_in_timeline(entries, at), on_call_in_timeline(ours, at)
            if want != got:
                bad.append(Mismatch(source_id, at, want, got))
    return made, bad
