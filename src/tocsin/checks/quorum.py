"""The quorum decision of a check run from several locations: a pure function of the locations'
verdicts (no database, no clock).

Each location keeps its own verdict with the check's streak rules (`failures_to_alert` failures in
a row make it "down", `successes_to_resolve` successes make it "up"). The check is down when at
least `quorum` locations are down, and up again when fewer are, as long as one reporting location
sees it pass. A location whose reports stopped (its agent is offline, see `OFFLINE_AFTER_INTERVALS`)
is "offline": it never counts as failing to open an alert, and it is no evidence of recovery either,
so a location that goes silent while down keeps holding the check's alert (even while other
locations pass) instead of the alert resolving on no data (Grafana
synthetic monitoring and Checkly treat a probe that stopped reporting the same way: no data, no
verdict).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

# A location with no result for this many check intervals is offline.
OFFLINE_AFTER_INTERVALS = 3
LOCATION_STATES = ("unknown", "up", "down", "offline")


def default_quorum(locations: int) -> int:
    """A majority: 1 of 1, 2 of 2, 2 of 3, 3 of 4, 3 of 5."""
    return locations // 2 + 1


def effective_quorum(quorum: int | None, locations: int) -> int:
    return default_quorum(locations) if quorum is None else quorum


@dataclass(frozen=True)
class Verdict:
    state: str  # the check's new state: unknown | up | down
    failing: tuple[str, ...]  # the locations that are down (and reporting), sorted
    reporting: int  # locations not offline
    quorum: int

    @property
    def quorum_reachable(self) -> bool:
        """False when fewer locations report than the quorum needs: the check cannot alert."""
        return self.reporting >= self.quorum


def decide(locations: Mapping[str, str], *, quorum: int, current: str, silent_down: Collection[str] = ()
           ) -> Verdict:
    """Return the check's state from each location's state (unknown | up | down | offline).

    down: at least `quorum` reporting locations are down; or the check is down already and at
    least `quorum` locations are down or fell silent while down (`silent_down`: offline locations
    whose last verdict was down). Silence is no recovery: an attacker who cuts a failing agent off
    must not resolve the alert that agent's failures opened.
    up: fewer are, and at least one reporting location is up (evidence the check passes).
    otherwise: `current` stays (no location has said anything new).
    """
    if quorum < 1:
        raise ValueError("quorum must be at least 1")
    failing = tuple(sorted(name for name, state in locations.items() if state == "down"))
    reporting = sum(1 for state in locations.values() if state != "offline")
    held = {*failing, *(name for name in silent_down if locations.get(name) == "offline")}
    if len(failing) >= quorum or (current == "down" and len(held) >= quorum):
        state = "down"
    elif any(state == "up" for state in locations.values()):
        state = "up"
    else:
        state = current
    return Verdict(state=state, failing=failing, reporting=reporting, quorum=quorum)
