"""Forensics first, as a nudge (pure): is someone investigating a host or system before its
evidence was preserved?

The seed's contaminated-evidence mistake is logging into a compromised host (or running tools
on it) before a snapshot or log copy was taken. tocsin does not stop anyone; it says so on the
timeline and in the room. Two things count as investigating a target:

- an `investigate` checklist step for that target is marked done;
- a note (room or API) whose sentence names the target and an investigate verb (investigate,
  inspect, examine, analyse/analyze, log into/on, ssh, look into, dig into, run forensics), matched
  case-insensitively; the target must stand as a whole name (`web-7` does not match `web-70`).

A target is preserved when a `preserve` step for it is done, or when an evidence item of the
incident was collected from it: `collected` holds each item's name and location, and an item counts
for a target that it names as a whole name (`web-7 memory image`, `web-7.img`,
`s3://forensics/web-7/disk.raw`; not `web-70.img`). A target the checklist names with no preserve
step and no evidence is not preserved. Targets compare case-insensitively. `known` holds other
names a note may investigate beside the step targets: the edges pass the incident's affected hosts
(indicators package), so a note investigating an affected host before its preservation warns even
when no checklist names it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from tocsin.containment.types import StepKind

VERBS = re.compile(
    r"\b(?:investigat\w*|inspect\w*|examin\w*|analy[sz]\w*|ssh\w*|forensics?\b"
    r"|log(?:s|ged|ging)?\s+(?:in|on)(?:\s*to)?\b|login\s+(?:to|on)\b|look(?:s|ed|ing)?\s+into"
    r"|dig(?:s|ging)?\s+into|dug\s+into)",
    re.IGNORECASE,
)
# Sentences end at . ! ? ; followed by a space or the end, or at a line break; a dot inside a
# host name (web-7.prod) does not end one.
_SENTENCE = re.compile(r"[.!?;](?:\s+|$)|\n+")


@dataclass(frozen=True)
class StepState:
    kind: str
    target: str | None
    done: bool


@dataclass(frozen=True)
class Nudge:
    target: str
    source: str  # "step" or "note"

    @property
    def message(self) -> str:
        return f"investigating {self.target} before it was preserved"


def _key(name: str) -> str:
    return name.strip().casefold()


def preserved(steps: Iterable[StepState]) -> set[str]:
    """The (case-folded) targets whose preserve step is done."""
    return {_key(s.target) for s in steps if s.kind == StepKind.preserve.value and s.done and s.target}


def targets(steps: Iterable[StepState]) -> list[str]:
    """Every distinct target the checklist names, as first written."""
    seen: dict[str, str] = {}
    for s in steps:
        if s.target and s.target.strip():
            seen.setdefault(_key(s.target), s.target.strip())
    return list(seen.values())


def _names(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-]|\.\w)", text, re.IGNORECASE) is not None


def _in_evidence(text: str, name: str) -> bool:
    """Does an evidence item's name or location name `name`? A file extension may follow (web-7.img)."""
    return re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE) is not None


def _kept(name: str, done: set[str], collected: list[str]) -> bool:
    return _key(name) in done or any(_in_evidence(text, name.strip()) for text in collected)


def for_step(kind: str, target: str | None, steps: Iterable[StepState], collected: Iterable[str] = ()
             ) -> Nudge | None:
    """The nudge for marking a step of `kind` on `target` done, or None (not an investigation, no
    target, or the target is preserved: by a done preserve step or by evidence collected from it)."""
    if kind != StepKind.investigate.value or not target or not target.strip():
        return None
    if _kept(target, preserved(steps), list(collected)):
        return None
    return Nudge(target.strip(), "step")


def for_note(text: str, steps: Iterable[StepState], known: Iterable[str] = (), collected: Iterable[str] = ()
             ) -> list[Nudge]:
    """The nudges for a note: one per target (step targets and `known` names) that a sentence of
    the note investigates while the target is not preserved, in the order the names were given."""
    steps, collected = list(steps), list(collected)
    done = preserved(steps)
    names: dict[str, str] = {}
    for name in [*targets(steps), *known]:
        if name and name.strip():
            names.setdefault(_key(name), name.strip())
    sentences = [part for part in _SENTENCE.split(text) if VERBS.search(part)]
    out = []
    for name in names.values():
        if _kept(name, done, collected):
            continue
        if any(_names(sentence, name) for sentence in sentences):
            out.append(Nudge(name, "note"))
    return out
