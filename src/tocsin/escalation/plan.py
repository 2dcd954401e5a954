"""Escalation planning, pure: the policy snapshot an escalation keeps, and what one step does.

An escalation walks the snapshot's levels in order. At each step it notifies the level's
targets at once and waits the level's `delay_minutes` before the next level; after the last
level it starts over (`loop + 1`) while `loop < repeat`; when the last level of the last run
has waited its delay too, it is exhausted. Every decision carries the reason a person reads on the alert's timeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, NotRequired, Protocol, TypedDict

SNAPSHOT_VERSION = 1
BY_HAND: Final = "by_hand"  # snapshot key set by a manual re-escalation or reassignment: why the next step runs


class Target(TypedDict):
    """Whom a level notifies: a user, a schedule (whoever is on call then) or a team (every member)."""

    type: str  # user | schedule | team
    id: str


class Level(TypedDict):
    delay_minutes: int
    targets: list[Target]


class Snapshot(TypedDict):
    """The policy an escalation keeps from when it started (JSON in `escalations.policy_snapshot`)."""

    version: int
    repeat: int
    levels: list[Level]
    policy_id: NotRequired[str | None]
    slug: NotRequired[str | None]
    name: NotRequired[str | None]
    reassigned_to: NotRequired[str | None]  # a reassignment to people: who
    reassigned_by: NotRequired[str | None]
    by_hand: NotRequired[str]  # BY_HAND: why the next step runs, set by a re-escalation or reassignment


class LevelRow(Protocol):
    """A stored policy level (`escalation_levels` row)."""

    @property
    def delay_minutes(self) -> int: ...

    @property
    def targets(self) -> list[Target]: ...


def _level(lv: LevelRow | Level) -> Level:
    delay, targets = (lv["delay_minutes"], lv["targets"]) if isinstance(lv, Mapping) else (lv.delay_minutes,
                                                                                            lv.targets)
    return {"delay_minutes": int(delay), "targets": [{"type": str(t["type"]), "id": str(t["id"])} for t in targets]}


def snapshot(policy_levels: Sequence[LevelRow | Level], repeat: int, *, policy_id: object = None,
             slug: str | None = None, name: str | None = None, reassigned_to: str | None = None,
             reassigned_by: str | None = None) -> Snapshot:
    """Return the JSON-ready snapshot of a policy: its levels (in order; stored rows or mappings with
    `delay_minutes` and `targets`), its repeat count, and what it was (the policy's id, slug and name,
    or whom it was reassigned to and by whom). Absent facts are left out."""
    snap: Snapshot = {"version": SNAPSHOT_VERSION, "repeat": int(repeat), "levels": [_level(lv) for lv in policy_levels]}
    if policy_id is not None:
        snap["policy_id"] = str(policy_id)
    if slug is not None:
        snap["slug"] = slug
    if name is not None:
        snap["name"] = name
    if reassigned_to is not None:
        snap["reassigned_to"] = reassigned_to
    if reassigned_by is not None:
        snap["reassigned_by"] = reassigned_by
    return snap


def marked(snap: Snapshot, why: str) -> Snapshot:
    """The snapshot with why its next step runs (a re-escalation or reassignment by hand), for that step to say."""
    out = snap.copy()
    out[BY_HAND] = why
    return out


def unmarked(snap: Snapshot) -> Snapshot:
    """The snapshot without the reason `marked` gave (once the step that says it has run)."""
    out = snap.copy()
    out.pop(BY_HAND, None)
    return out


@dataclass(frozen=True)
class Step:
    """What to do now: notify `targets`; then move to (`next_level`, `next_loop`) at `next_at`,
    or, when `next_at` is None, the escalation is exhausted. `reason` says why this step runs,
    `then` what happens next and why."""

    targets: tuple[Target, ...]
    next_level: int
    next_loop: int
    next_at: datetime | None
    reason: str
    then: str

    @property
    def exhausted(self) -> bool:
        return self.next_at is None


def _mins(n: int) -> str:
    return f"{n} min"


def step(snap: Snapshot, level: int, loop: int, now: datetime) -> Step:
    """Return the step of the escalation at (`level`, `loop`) taken at `now`.

    `level == len(levels)` is the end of the last run: exhausted, notifying nobody (as is a
    policy without levels).
    """
    levels = snap["levels"]
    repeat = snap["repeat"]
    n = len(levels)
    done = f"the policy ran {loop + 1} time{'s' if loop else ''} (repeat {repeat})"
    if not levels:
        return Step((), level, loop, None, "the policy has no levels", f"exhausted: {done}")
    if level >= n:  # the wait after the last level of the last run is over
        last = levels[-1]["delay_minutes"]
        return Step((), level, loop, None, f"nobody acknowledged within {_mins(last)} of level {n}, the last level",
                    f"exhausted: {done}")
    current = levels[level]
    targets = tuple(Target(type=t["type"], id=t["id"]) for t in current["targets"])
    delay = current["delay_minutes"]
    runs = f", run {loop + 1} of {repeat + 1}" if repeat else ""
    if level > 0:
        prev = levels[level - 1]["delay_minutes"]
        reason = f"level {level + 1} of {n}{runs}: nobody acknowledged within {_mins(prev)} of level {level}"
    elif loop > 0:
        last = levels[-1]["delay_minutes"]
        reason = (f"level 1 of {n}{runs}: nobody acknowledged within {_mins(last)} of level {n}; "
                  f"the policy starts over (repeat {loop} of {repeat})")
    else:
        reason = f"level 1 of {n}{runs}: the alert needs paging"
    at = now + timedelta(minutes=delay)
    if level + 1 < n:
        return Step(targets, level + 1, loop, at, reason,
                    f"level {level + 2} in {_mins(delay)} unless someone acknowledges")
    if loop < repeat:
        return Step(targets, 0, loop + 1, at, reason,
                    f"the policy starts over in {_mins(delay)} unless someone acknowledges "
                    f"(repeat {loop + 1} of {repeat})")
    # The last level of the last run: wait its delay too, so an ack in that time still stops
    # the escalation, and "exhausted" means nobody acknowledged.
    return Step(targets, n, loop, at, reason, f"exhausted in {_mins(delay)} unless someone acknowledges")
