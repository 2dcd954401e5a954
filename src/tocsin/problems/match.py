"""The recurrence matcher (pure): does a new incident or alert look like a known problem, and why?

A problem matches a candidate when any of these rules holds; every rule that holds adds a reason:

1. Same service and signal: one of the candidate's alerts is on the problem's service and has one
   of the problem's dedup keys, or carries every one of the problem's labels with an equal value.
   Keys and labels are compared per alert, because a dedup key only means something on its own
   service. A problem without a service, or without dedup keys and labels, never matches this way.
2. Terms: every one of the problem's terms appears in the candidate's text (incident title, alert
   summary), case-insensitively, as whole words ("db" does not match "dba"). A term may be a
   phrase ("connection pool").
3. Similar title, only for a problem without terms: the candidate's significant words (below)
   share at least MIN_SHARED_WORDS words with the problem's title or with one of its linked
   incidents' titles, and the Jaccard index of the two word sets (shared / all) is at least
   MIN_JACCARD.

Significant words: the text lower-cased, split into runs of letters and digits, leaving out
words shorter than three characters, numbers, and STOP_WORDS (common English words plus words
that every incident title has, such as "error" or "outage"). No stemming: "timeout" and
"timeouts" are different words.

Resolved problems never match; open and known_error problems do.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MIN_SHARED_WORDS = 2
MIN_JACCARD = 0.5
MATCHING_STATUSES = frozenset({"open", "known_error"})

STOP_WORDS = frozenset("""
    the and for with from into onto over under after before during while when where what which who
    are was were been being has have had not but all any some this that these those there their
    our your its via per than then too very can could should would will may might must
    error errors issue issues incident incidents problem problems outage outages failure failures
    failed failing fail down degraded degradation high low slow unavailable broken alert alerts
""".split())

_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class AlertSignal:
    """What one alert says about where it comes from."""

    service_id: uuid.UUID
    dedup_key: str
    labels: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    """A new incident (its title, services and attached alerts) or an alert (its summary, one signal)."""

    text: str
    alerts: tuple[AlertSignal, ...] = ()


@dataclass(frozen=True)
class ProblemSpec:
    """What a recurrence of a problem looks like. `known_titles` are the titles of its linked
    incidents (only those the asking principal may see, so no reason quotes a hidden title)."""

    title: str
    status: str
    service_id: uuid.UUID | None = None
    service_name: str = ""
    dedup_keys: tuple[str, ...] = ()
    labels: Mapping[str, Any] = field(default_factory=dict)
    terms: tuple[str, ...] = ()
    known_titles: tuple[str, ...] = ()


def significant_words(text: str) -> frozenset[str]:
    """The words of `text` that say something about it (see the module docstring)."""
    return frozenset(w for w in (m.group(0).lower() for m in _WORD.finditer(text))
                     if len(w) >= 3 and not w.isdigit() and w not in STOP_WORDS)


def has_term(text: str, term: str) -> bool:
    """True when `term` occurs in `text` as whole words, ignoring case and runs of whitespace."""
    words = term.split()
    if not words:
        return False
    pattern = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)"
    return re.search(pattern, text, re.IGNORECASE) is not None


def _label_value(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _signal_reasons(spec: ProblemSpec, alerts: Iterable[AlertSignal]) -> list[str]:
    if spec.service_id is None or not (spec.dedup_keys or spec.labels):
        return []
    keys = set(spec.dedup_keys)
    wanted = {k: _label_value(v) for k, v in spec.labels.items()}
    reasons: list[str] = []
    for alert in alerts:
        if alert.service_id != spec.service_id:
            continue
        if alert.dedup_key in keys:
            reason = f"same service {spec.service_name} and dedup key {alert.dedup_key}"
        elif wanted and all(k in alert.labels and _label_value(alert.labels[k]) == v for k, v in wanted.items()):
            shown = ", ".join(f"{k}={v}" for k, v in sorted(wanted.items()))
            reason = f"same service {spec.service_name} and labels {shown}"
        else:
            continue
        if reason not in reasons:
            reasons.append(reason)
    return reasons


def _title_reason(spec: ProblemSpec, text: str) -> str | None:
    mine = significant_words(text)
    if len(mine) < MIN_SHARED_WORDS:
        return None
    best: tuple[float, int, str, frozenset[str]] | None = None
    for i, other in enumerate((spec.title, *spec.known_titles)):
        theirs = significant_words(other)
        shared = mine & theirs
        if len(shared) < MIN_SHARED_WORDS:
            continue
        jaccard = len(shared) / len(mine | theirs)
        if jaccard >= MIN_JACCARD and (best is None or jaccard > best[0]):
            best = (jaccard, i, other, shared)
    if best is None:
        return None
    jaccard, i, other, shared = best
    where = "the problem title" if i == 0 else f"the title of linked incident \"{other}\""
    return (f"title shares {', '.join(sorted(shared))} with {where} "
            f"(similarity {jaccard:.2f} >= {MIN_JACCARD})")


def match(spec: ProblemSpec, candidate: Candidate) -> list[str]:
    """Return why `candidate` looks like a recurrence of the problem: one reason per rule that
    holds, empty when it does not match (always empty for a resolved problem)."""
    if spec.status not in MATCHING_STATUSES:
        return []
    reasons = _signal_reasons(spec, candidate.alerts)
    terms = [t for t in spec.terms if t.strip()]
    if terms:
        if all(has_term(candidate.text, t) for t in terms):
            reasons.append("text contains the terms " + ", ".join(f'"{t}"' for t in terms))
    elif (reason := _title_reason(spec, candidate.text)) is not None:
        reasons.append(reason)
    return reasons
