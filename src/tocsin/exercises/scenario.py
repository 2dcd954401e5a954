"""Exercise scenarios: YAML checked against the JSON Schema (scenario.schema.json), into typed injects
and expectations (pure: no database, clock or HTTP)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from yaml.composer import ComposerError

from tocsin.errors import InvalidInput

MAX_TEXT = 100_000
MAX_DEPTH = 20  # nesting of YAML collections (PyYAML's composer recurses: deeper is a RecursionError)
MAX_DURATION = timedelta(days=7)  # an inject's time or a deadline (a deadline past year 9999 breaks every read)
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
SHIPPED = ("database-outage", "leaked-credential", "bad-deploy")


def participant_roles() -> tuple[str, ...]:
    """The roles a participant may take (the schema's list)."""
    roles: list[str] = schema()["properties"]["participants"]["items"]["properties"]["role"]["enum"]
    return tuple(roles)


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(resources.files("tocsin.exercises").joinpath("scenario.schema.json").read_text())
    return loaded


def parse_duration(text: str) -> timedelta:
    m = _DURATION.match(text)
    if not text or m is None:
        raise ValueError(f"not a duration: {text!r} (e.g. 90s, 2m, 1h30m)")
    h, mi, s = (int(x or 0) for x in m.groups())
    seconds = h * 3600 + mi * 60 + s  # Python ints: no overflow before the bound is checked
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"duration {text!r} is longer than {MAX_DURATION.days} days")
    return timedelta(seconds=seconds)


class _Loader(yaml.SafeLoader):
    """SafeLoader without aliases (a billion-laughs bomb is a few lines of anchors) and with bounded nesting."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise ComposerError(None, None, "aliases (*name) are not allowed in a scenario",
                                              self.peek_event().start_mark)
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_DEPTH:
                raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels",
                                                  self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def human(d: timedelta) -> str:
    secs = int(d.total_seconds())
    m, s = divmod(secs, 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


@dataclass(frozen=True)
class Inject:
    n: int
    at: timedelta
    type: str
    spec: dict[str, Any]

    def describe(self) -> str:
        s = self.spec
        text = {"alert": lambda: f"alert: {s['summary']}" + (" (resolved)" if s.get("resolve") else ""),
                "customer_report": lambda: f"customer report: {s['text']}",
                "status_change": lambda: f"{s['dependency']} is {s['status']}" + (f": {s['text']}" if s.get("text") else ""),
                "ic_unavailable": lambda: "the Incident Commander is unavailable (their laptop died)"
                + (f": {s['text']}" if s.get("text") else ""),
                "fault_webhook": lambda: "fault injection webhook" + (f": {s['text']}" if s.get("text") else "")}[self.type]
        return text()


@dataclass(frozen=True)
class Expectation:
    n: int
    type: str
    within: timedelta
    after_inject: int | None = None
    severity: str | None = None
    step: str | None = None
    weight: int = 1

    def describe(self) -> str:
        what = {"acknowledged": "an alert acknowledged", "incident_commander": "an Incident Commander",
                "first_update": "a first update", "mitigated": "the incident mitigated",
                "severity": f"severity set to {self.severity}", "step": f"step done: {self.step}",
                "new_commander": "a new Incident Commander"}[self.type]
        since = f" after inject {self.after_inject + 1}" if self.after_inject is not None else ""
        return f"{what} within {human(self.within)}{since}"


@dataclass(frozen=True)
class Participant:
    email: str
    role: str = "responder"


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    kind: str
    severity: str
    mode: str
    service: str
    pass_score: int
    participants: tuple[Participant, ...]
    injects: tuple[Inject, ...]
    expect: tuple[Expectation, ...] = field(default_factory=tuple)

    @property
    def last_deadline(self) -> timedelta:
        return max([self.deadline(e) for e in self.expect] + [i.at for i in self.injects])

    def deadline(self, e: Expectation) -> timedelta:
        base = self.injects[e.after_inject].at if e.after_inject is not None else timedelta(0)
        return base + e.within


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def errors_of(data: Any) -> list[str]:
    """Every schema error, as `path: message`, in document order."""
    found = sorted(Draft202012Validator(schema()).iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    out = []
    for e in found:
        if e.validator in ("allOf", "if"):
            continue
        out.append(f"{_where(e.absolute_path)}: {e.message}")
    return out


@lru_cache(maxsize=256)
def parse(text: str) -> Scenario:
    """Parse and validate a scenario; raise InvalidInput with every problem (`details.errors`).
    Cached by text: every read of a run (the run list shows up to 100) parses its stored scenario, and
    a scenario is up to MAX_TEXT characters. The result is shared: callers do not change it."""
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"a scenario is at most {MAX_TEXT} characters", details={"field": "scenario"})
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader, stricter
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidInput(f"scenario is not valid YAML{where}", details={"field": "scenario", "errors": [
            f"(yaml){where}: {getattr(exc, 'problem', None) or exc}"]}) from None
    errors = errors_of(data)
    if not errors:
        errors = _semantic_errors(data)
    if errors:
        raise InvalidInput(f"scenario: {errors[0]}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
                           details={"field": "scenario", "errors": errors})
    return _build(data)


def _semantic_errors(data: dict[str, Any]) -> list[str]:
    out = []
    for where, items, key in (("injects", data["injects"], "at"), ("expect", data["expect"], "within")):
        for i, item in enumerate(items):
            try:
                parse_duration(item[key])
            except ValueError as exc:
                out.append(f"{where}[{i}].{key}: {exc}")
    n_injects = len(data["injects"])
    for i, e in enumerate(data["expect"]):
        if e.get("after_inject") is not None and e["after_inject"] >= n_injects:
            out.append(f"expect[{i}].after_inject: there are only {n_injects} injects (counted from 0)")
    emails = [p["email"].lower() for p in data["participants"]]
    if len(set(emails)) != len(emails):
        out.append("participants: a participant is listed twice")
    return out


def _build(data: dict[str, Any]) -> Scenario:
    injects = sorted((Inject(0, parse_duration(i["at"]), i["type"], {k: v for k, v in i.items() if k not in ("at", "type")})
                      for i in data["injects"]), key=lambda i: i.at)
    injects = [Inject(n, i.at, i.type, i.spec) for n, i in enumerate(injects)]
    severity = data["severity"]
    expect = tuple(Expectation(n, e["type"], parse_duration(e["within"]), e.get("after_inject"),
                               e.get("severity") or (severity if e["type"] == "severity" else None), e.get("step"),
                               e.get("weight", 1)) for n, e in enumerate(data["expect"]))
    slug = data.get("service") or re.sub(r"[^a-z0-9]+", "-", data["name"].lower()).strip("-")[:40] or "drill"
    return Scenario(name=data["name"], description=data.get("description", ""), kind=data["kind"], severity=severity,
                    mode=data.get("mode", "live"), service=slug, pass_score=data.get("pass_score", 70),
                    participants=tuple(Participant(p["email"].lower(), p.get("role", "responder"))
                                       for p in data["participants"]),
                    injects=tuple(injects), expect=expect)


def shipped(name: str) -> str:
    """The text of a shipped scenario; raise InvalidInput for an unknown name."""
    if name not in SHIPPED:
        raise InvalidInput(f"no shipped scenario {name!r} (there are: {', '.join(SHIPPED)})", details={"field": "scenario"})
    return resources.files("tocsin.exercises").joinpath("scenarios", f"{name}.yaml").read_text()
