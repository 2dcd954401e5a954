"""The guardrails, pure: which of the seed's classic incident mistakes an incident is making now.

Each rule is a function of the incident's `Facts` (gathered by service.py), the `Thresholds` (from
settings) and `now`, and returns why it trips (a short detail, no user text) or None. No database,
clock or settings here.

The rules (key: what trips it; it clears as soon as the function returns None again):

1. `no_commander`: an active incident without an Incident Commander for N minutes (default 5) since
   it was declared or its last commander stepped down.
2. `no_containment`: an active SEV1/SEV2 neither mitigated (status) nor with a done containment
   step N minutes (default 30) after declaration, while notes pile up (at least 5).
3. `severity_mismatch`: an active incident whose severity differs from the one its impact
   assessment suggests, unchanged for N minutes (default 15).
4. `sprawl`: more active responders than the limit (default 8): move people to observers.
5. `no_scribe`: an active SEV1/SEV2 without a scribe N minutes (default 10) after declaration;
   `quiet_timeline`: no timeline entry by a person for N minutes (default 30) while active.
6. `blameful_postmortem`: the postmortem's text has sentences the blameless check flags.
7. `overdue_actions`: action items of the incident past their due date;
   `unpublished_postmortem`: a postmortem that is required and not published (nor waived) N days
   (default 5) after resolution.
8. `evidence_unpreserved`: a target investigated before it was preserved (the forensics-first
   warning) and still not preserved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

MAJOR = frozenset({"SEV1", "SEV2"})


class Rule(StrEnum):
    no_commander = "no_commander"
    no_containment = "no_containment"
    severity_mismatch = "severity_mismatch"
    sprawl = "sprawl"
    no_scribe = "no_scribe"
    quiet_timeline = "quiet_timeline"
    blameful_postmortem = "blameful_postmortem"
    overdue_actions = "overdue_actions"
    unpublished_postmortem = "unpublished_postmortem"
    evidence_unpreserved = "evidence_unpreserved"


@dataclass(frozen=True)
class About:
    label: str  # what went wrong, as a heading
    advice: str  # what to do about it


ABOUT: dict[Rule, About] = {
    Rule.no_commander: About("No Incident Commander",
                             "Someone takes the Incident Commander role now: they coordinate, they do not fix."),
    Rule.no_containment: About("Investigating without containment",
                               "Stop the bleeding first: mitigate (roll back, fail over, shed load) and set the "
                               "status to mitigated, then find the cause."),
    Rule.severity_mismatch: About("Severity does not match the impact",
                                  "Set the severity the impact assessment suggests, or correct the assessment."),
    Rule.sprawl: About("War-room sprawl",
                       "The IC keeps the people who are working on it as responders and moves the others to "
                       "observers."),
    Rule.no_scribe: About("No scribe", "Assign a Scribe so that the IC is not the one writing things down."),
    Rule.quiet_timeline: About("The timeline has gone quiet",
                               "Write what is happening now: what was tried, what is next (the scribe's job)."),
    Rule.blameful_postmortem: About("Blameful language in the postmortem",
                                    "Describe what the system allowed, not who failed: see the language findings "
                                    "in the postmortem editor."),
    Rule.overdue_actions: About("Action items past due",
                                "Finish them, move their due date, or mark them won't do with the reason."),
    Rule.unpublished_postmortem: About("Postmortem not published",
                                       "Write and publish the postmortem while memories are fresh (or waive it "
                                       "with a reason)."),
    Rule.evidence_unpreserved: About("Evidence touched before preservation",
                                     "Preserve it now (snapshot, copy its logs) and mark the preserve step done "
                                     "before anyone looks further."),
}


@dataclass(frozen=True)
class Thresholds:
    no_commander: timedelta = timedelta(minutes=5)
    containment: timedelta = timedelta(minutes=30)
    containment_notes: int = 5
    severity_mismatch: timedelta = timedelta(minutes=15)
    responder_limit: int = 8
    scribe: timedelta = timedelta(minutes=10)
    quiet: timedelta = timedelta(minutes=30)
    postmortem: timedelta = timedelta(days=5)
    off: frozenset[str] = frozenset()  # rules turned off


@dataclass(frozen=True)
class Facts:
    """What the rules know of one incident at `now` (service.py reads it from the rows)."""

    severity: str
    active: bool  # triage .. monitoring: people are responding
    declared_at: datetime
    commander: bool = False
    commander_missing_since: datetime | None = None  # declared_at, or when the last commander stepped down
    scribe: bool = False
    mitigated: bool = False  # mitigated_at set, or a containment step of kind `contain` done
    notes: int = 0
    suggested_severity: str | None = None
    severity_settled_at: datetime | None = None  # the last change of the severity or the impact
    responders: int = 0
    last_activity_at: datetime | None = None  # the newest timeline entry a person wrote
    blameful: int = 0  # blameless-check findings in the postmortem's text
    overdue_actions: int = 0
    resolved_at: datetime | None = None
    postmortem_required: bool = False
    postmortem_done: bool = False  # published, or waived with a reason
    unpreserved: tuple[str, ...] = field(default=())  # targets investigated before preservation, still not kept


def _minutes(d: timedelta) -> str:
    m = int(d.total_seconds() // 60)
    return f"{m} min" if m < 120 else f"{m // 60} h"


def no_commander(f: Facts, t: Thresholds, now: datetime) -> str | None:
    since = f.commander_missing_since or f.declared_at
    if not f.active or f.commander or now - since < t.no_commander:
        return None
    return f"no Incident Commander for {_minutes(now - since)}"


def no_containment(f: Facts, t: Thresholds, now: datetime) -> str | None:
    if (not f.active or f.severity not in MAJOR or f.mitigated or now - f.declared_at < t.containment
            or f.notes < t.containment_notes):
        return None
    return (f"{f.severity} not mitigated {_minutes(now - f.declared_at)} after it was declared, "
            f"with {f.notes} notes")


def severity_mismatch(f: Facts, t: Thresholds, now: datetime) -> str | None:
    since = f.severity_settled_at or f.declared_at
    if not f.active or not f.suggested_severity or f.suggested_severity == f.severity \
            or now - since < t.severity_mismatch:
        return None
    return f"{f.severity} while the impact suggests {f.suggested_severity}, for {_minutes(now - since)}"


def sprawl(f: Facts, t: Thresholds, now: datetime) -> str | None:
    if not f.active or f.responders <= t.responder_limit:
        return None
    return f"{f.responders} active responders (limit {t.responder_limit})"


def no_scribe(f: Facts, t: Thresholds, now: datetime) -> str | None:
    if not f.active or f.severity not in MAJOR or f.scribe or now - f.declared_at < t.scribe:
        return None
    return f"no scribe on this {f.severity} {_minutes(now - f.declared_at)} after it was declared"


def quiet_timeline(f: Facts, t: Thresholds, now: datetime) -> str | None:
    since = f.last_activity_at or f.declared_at
    if not f.active or now - since < t.quiet:
        return None
    return f"no timeline entry by a person for {_minutes(now - since)}"


def blameful_postmortem(f: Facts, t: Thresholds, now: datetime) -> str | None:
    if f.blameful <= 0:
        return None
    return f"{f.blameful} sentence{'s' if f.blameful != 1 else ''} of the postmortem blame people"


def overdue_actions(f: Facts, t: Thresholds, now: datetime) -> str | None:
    if f.overdue_actions <= 0:
        return None
    return f"{f.overdue_actions} action item{'s' if f.overdue_actions != 1 else ''} past due"


def unpublished_postmortem(f: Facts, t: Thresholds, now: datetime) -> str | None:
    if f.active or f.resolved_at is None or not f.postmortem_required or f.postmortem_done \
            or now - f.resolved_at < t.postmortem:
        return None
    return f"postmortem not published {(now - f.resolved_at).days} days after resolution"


def evidence_unpreserved(f: Facts, t: Thresholds, now: datetime) -> str | None:
    if not f.unpreserved:
        return None
    return "investigated before it was preserved: " + ", ".join(f.unpreserved)


CHECKS: dict[Rule, Callable[[Facts, Thresholds, datetime], str | None]] = {
    Rule.no_commander: no_commander,
    Rule.no_containment: no_containment,
    Rule.severity_mismatch: severity_mismatch,
    Rule.sprawl: sprawl,
    Rule.no_scribe: no_scribe,
    Rule.quiet_timeline: quiet_timeline,
    Rule.blameful_postmortem: blameful_postmortem,
    Rule.overdue_actions: overdue_actions,
    Rule.unpublished_postmortem: unpublished_postmortem,
    Rule.evidence_unpreserved: evidence_unpreserved,
}


def decide(f: Facts, t: Thresholds, now: datetime) -> dict[Rule, str]:
    """The rules (turned on) that trip for `f` at `now`, each with why."""
    out: dict[Rule, str] = {}
    for rule, check in CHECKS.items():
        if rule.value in t.off:
            continue
        detail = check(f, t, now)
        if detail is not None:
            out[rule] = detail
    return out
