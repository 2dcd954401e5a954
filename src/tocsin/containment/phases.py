"""The security incident phases as one table (pure): their order, what each maps to in CSF 2.0,
which moves are allowed, and when containment and eradication were done.

NIST SP 800-61 Rev. 2 names four phases (preparation; detection and analysis; containment,
eradication and recovery; post-incident activity); tocsin tracks the response part of them,
splitting the third into its three steps, because "time to contain" and "time to eradicate"
need their own moments. Rev. 3 (April 2025) drops its own life cycle for the CSF 2.0
functions; the mapping below says which function (and CSF 2.0 categories) each phase serves:

    detection_analysis -> Detect   (DE.AE adverse event analysis) and Respond (RS.AN incident analysis)
    containment        -> Respond  (RS.MI incident mitigation: contain)
    eradication        -> Respond  (RS.MI incident mitigation: eradicate)
    recovery           -> Recover  (RC.RP incident recovery plan execution)
    post_incident      -> Identify (ID.IM improvement: lessons learned)

Phases only move forward. Moving to the same or an earlier phase is refused (Conflict, 409):
the phase history is a record of when each phase began, used for time-to-contain, and a
"back" move would rewrite it. Skipping ahead is allowed (containment that was immediate):
the phases skipped have no entry of their own and count as done when a later one begins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from tocsin.containment.types import Phase
from tocsin.errors import Conflict

ORDER: tuple[Phase, ...] = tuple(Phase)
FIRST = Phase.detection_analysis

LABELS: dict[Phase, str] = {
    Phase.detection_analysis: "Detection & analysis",
    Phase.containment: "Containment",
    Phase.eradication: "Eradication",
    Phase.recovery: "Recovery",
    Phase.post_incident: "Post-incident activity",
}


@dataclass(frozen=True)
class Csf:
    functions: tuple[str, ...]  # CSF 2.0 functions, lower case as the API shows them
    categories: tuple[str, ...]  # CSF 2.0 category identifiers


CSF: dict[Phase, Csf] = {
    Phase.detection_analysis: Csf(("detect", "respond"), ("DE.AE", "RS.AN")),
    Phase.containment: Csf(("respond",), ("RS.MI",)),
    Phase.eradication: Csf(("respond",), ("RS.MI",)),
    Phase.recovery: Csf(("recover",), ("RC.RP",)),
    Phase.post_incident: Csf(("identify",), ("ID.IM",)),
}


def rank(phase: Phase) -> int:
    return ORDER.index(phase)


def next_phase(current: Phase) -> Phase | None:
    """The phase after `current`, None after the last."""
    i = rank(current)
    return ORDER[i + 1] if i + 1 < len(ORDER) else None


def check_move(current: Phase, target: Phase) -> None:
    """Raise Conflict unless `target` is later than `current`."""
    if target == current:
        raise Conflict(f"the incident is already in {LABELS[target].lower()}",
                       details={"phase": current.value, "requested": target.value})
    if rank(target) < rank(current):
        raise Conflict(f"phases only move forward: {LABELS[current].lower()} cannot go back to "
                       f"{LABELS[target].lower()}", details={"phase": current.value, "requested": target.value})


def first_entered_from(history: Iterable[tuple[Phase, datetime]], phase: Phase) -> datetime | None:
    """When the incident first reached `phase` or any later one (None if it has not)."""
    times = [at for p, at in history if rank(p) >= rank(phase)]
    return min(times) if times else None


def contained_at(history: Iterable[tuple[Phase, datetime]]) -> datetime | None:
    """Containment is done when eradication (or a later phase) begins."""
    return first_entered_from(history, Phase.eradication)


def eradicated_at(history: Iterable[tuple[Phase, datetime]]) -> datetime | None:
    """Eradication is done when recovery (or a later phase) begins."""
    return first_entered_from(history, Phase.recovery)
