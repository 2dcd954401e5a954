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
from typing import Any

SNAPSHOT_VERSION = 1
BY_HAND = "by_hand"  # snapshot key set by a manual re-escalation or reassignment: why the next step runs


def _get(level: Any, name: str) -> Any:
    return level[name] if isinstance(level, Mapping) else getattr(level, name)


def snapshot(policy_levels: Sequence[Any], repeat: int, **about: Any) -> dict[str, Any]:
    """Return the JSON-ready snapshot of a policy: its levels (in order; mappings or rows with
    `delay_minutes` and `targets`), its repeat count, and `about` (e.g. the policy's id, slug, name)."""
    levels = [{"delay_minutes": int(_get(lv, "delay_minutes")),
               "targets": [{"type": str(t["type"]), "id": str(t["id"])} for t in _get(lv, "targets")]}
              for lv in policy_levels]
    return {"version": SNAPSHOT_VERSION, "repeat": int(repeat), "levels": levels,
            **{k: (str(v) if v is not None else None) for k, v in about.items()}}


@dataclass(frozen=True)
class Step:
    """What to do now: notify `targets`; then move to (`next_level`, `next_loop`) at `next_at`,
    or, when `next_at` is None, the escalation is exhausted. `reason` says why this step runs,
    `then` what happens next and why."""

    targets: tuple[dict[str, str], ...]
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


def step(snap: Mapping[str, Any], level: int, loop: int, now: datetime) -> Step:
    """Return the step of the escalation at (`level`, `loop`) taken at `now`.

    `level == len(levels)` is the end of the last run: exhausted, notifying nobody (as is a
    policy without levels).
    """
    levels = list(snap.get("levels") or [])
    repeat = int(snap.get("repeat") or 0)
    n = len(levels)
    done = f"the policy ran {loop + 1} time{'s' if loop else ''} (repeat {repeat})"
    if not levels:
        return Step((), level, loop, None, "the policy has no levels", f"exhausted: {done}")
    if level >= n:  # the wait after the last level of the last run is over
        last = int(levels[-1]["delay_minutes"])
        return Step((), level, loop, None, f"nobody acknowledged within {_mins(last)} of level {n}, the last level",
                    f"exhausted: {done}")
    current = levels[level]
    targets = tuple({"type": t["type"], "id": t["id"]} for t in current["targets"])
    delay = int(current["delay_minutes"])
    runs = f", run {loop + 1} of {repeat + 1}" if repeat else ""
    if level > 0:
        prev = int(levels[level - 1]["delay_minutes"])
        reason = f"level {level + 1} of {n}{runs}: nobody acknowledged within {_mins(prev)} of level {level}"
    elif loop > 0:
        last = int(levels[-1]["delay_minutes"])
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
