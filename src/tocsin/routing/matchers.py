"""Label matchers (`=`, `!=`, `=~`, `!~`), shared by routing rules, silences and auto-incident rules.

Semantics follow Prometheus Alertmanager, so rules people already write carry over: regular
expressions are anchored at both ends, and a label that is absent matches as the empty string
(`team!=""` means "has a team label").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

MAX_MATCHERS = 32
MAX_PATTERN = 1024
_TEXT_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$", re.DOTALL)


class Op(StrEnum):
    eq = "="
    ne = "!="
    re = "=~"
    nre = "!~"


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    op: Op
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op is Op.eq:
            return actual == self.value
        if self.op is Op.ne:
            return actual != self.value
        hit = _compiled(self.value).fullmatch(actual) is not None
        return hit if self.op is Op.re else not hit

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "op": self.op.value, "value": self.value}

    def __str__(self) -> str:
        return f'{self.name}{self.op.value}"{self.value}"'


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def parse_matcher(spec: Any) -> Matcher:
    """Return a Matcher from `'name=~"re"'` text or a `{"name", "op", "value"}` object; raise ValueError."""
    if isinstance(spec, str):
        m = _TEXT_RE.match(spec)
        if not m:
            raise ValueError(f"matcher {spec!r} is not of the form name=value, name!=value, name=~re or name!~re")
        name, op, value = m.group(1), m.group(2), m.group(3)
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
    elif isinstance(spec, Mapping):
        name, op, value = spec.get("name"), spec.get("op", "="), spec.get("value", "")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", name):
            raise ValueError(f"matcher name {name!r} must be a label name ([A-Za-z_][A-Za-z0-9_.-]*)")
        if not isinstance(value, str):
            raise ValueError(f"matcher value for {name!r} must be a string")
    else:
        raise ValueError("a matcher is a string like 'severity=critical' or an object {name, op, value}")
    try:
        parsed_op = Op(op)
    except ValueError:
        raise ValueError(f"matcher operator {op!r} must be one of =, !=, =~, !~") from None
    if len(value) > MAX_PATTERN:
        raise ValueError(f"matcher value for {name!r} is longer than {MAX_PATTERN} characters")
    if "\x00" in value:
        raise ValueError("matcher values must not contain NUL characters")
    if parsed_op in (Op.re, Op.nre):
        try:
            _compiled(value)
        except (re.error, OverflowError, RecursionError) as exc:  # a{99999999999}: OverflowError
            raise ValueError(f"matcher {name}{op}{value!r}: invalid regular expression ({exc})") from None
    return Matcher(name, parsed_op, value)



def load(stored: Iterable[Mapping[str, str]]) -> tuple[Matcher, ...]:
    """Rebuild matchers stored by `to_dict` (already validated when written)."""
    return tuple(Matcher(d["name"], Op(d["op"]), d["value"]) for d in stored)


def match_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches (an empty list matches everything)."""
    return all(m.matches(labels) for m in matchers)


def describe(matchers: Iterable[Matcher]) -> str:
    return "{" + ", ".join(str(m) for m in matchers) + "}"


_OP_WORDS = {Op.eq: "is", Op.ne: "is not", Op.re: "matches", Op.nre: "does not match"}


def in_words(matchers: Iterable[Matcher]) -> str:
    """The matchers as a phrase a person reads: 'service is "checkout" and severity matches /critical|error/'.

    An empty value reads as absence ('team is empty'), since an absent label matches as ""."""
    parts = []
    for m in matchers:
        if m.op in (Op.eq, Op.ne) and m.value == "":
            parts.append(f"{m.name} {'is empty' if m.op is Op.eq else 'is set'}")
        elif m.op in (Op.re, Op.nre):
            parts.append(f"{m.name} {_OP_WORDS[m.op]} /{m.value}/")
        else:
            parts.append(f'{m.name} {_OP_WORDS[m.op]} "{m.value}"')
    return " and ".join(parts) if parts else "every alert"


def lines(stored: Iterable[Mapping[str, str]]) -> str:
    """Stored matchers as the text a form shows, one matcher per line (what `parse_matcher` reads back)."""
    return "\n".join(str(m) for m in load(stored))

