"""Map arbitrary JSON to Events with a per-integration template (JMESPath or Jinja2).

An integration stores a mapping such as
`{"engine": "jmespath", "summary": "title", "status": "state", "dedup_key": "id"}`.
`validate_mapping` checks and compiles it once, when the integration is saved; `map_payload`
applies it to each request. Templates are operator-written code run on sender data, so
Jinja2 runs in `tocsin.inbound.jinja_sandbox`, and any failure while evaluating becomes a
`Rejected` with the reason instead of an unhandled exception.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jmespath
from jinja2 import TemplateError

from tocsin.inbound import jinja_sandbox
from tocsin.inbound.common import (
    clean_json,
    encoded_size,
    label_text,
    severity_from_text,
    short_hash,
    truncate_summary,
)
from tocsin.inbound.types import MAX_DEDUP_KEY, MAX_EVENT_BYTES, Action, Event, Rejected

KEY_PREFIX = "generic:1:"
ENGINES = ("jmespath", "jinja2")
_TEMPLATE_FIELDS = ("summary", "severity", "dedup_key", "status", "labels")
_ALLOWED_KEYS = frozenset(("engine", "alerts", *_TEMPLATE_FIELDS))
MAX_EXPRESSION = 4_000  # characters per expression or template
MAX_ITEMS = 1_000  # events one request may produce through `alerts`

_STATUS_WORDS: dict[str, Action] = {
    **dict.fromkeys(
        ("", "firing", "alerting", "triggered", "trigger", "problem", "critical", "open"),
        Action.trigger,
    ),
    **dict.fromkeys(("resolved", "ok", "normal", "recovered", "closed"), Action.resolve),
    **dict.fromkeys(("acknowledged", "ack"), Action.acknowledge),
}

Expression = Callable[[Any], Any]  # item -> raw result (any JSON for jmespath, str for jinja2)


@dataclass(frozen=True, slots=True)
class Mapping:
    """A validated, compiled mapping; `config` is the configuration it was built from."""

    engine: str
    config: dict[str, Any]
    summary: Expression
    severity: Expression | None = None
    dedup_key: Expression | None = None
    status: Expression | None = None
    labels: Expression | None = None
    alerts: Expression | None = None


def validate_mapping(config: dict[str, Any]) -> Mapping:
    """Return the compiled Mapping for an integration's configuration.

    Raises ValueError naming the problem: not an object, unknown keys, unknown engine,
    missing summary, an expression that is not a string or too long, or one that does not
    compile. `alerts` is always JMESPath, whatever the engine.
    """
    if not isinstance(config, dict):
        raise ValueError("mapping must be an object")  # noqa: TRY004 - the API maps ValueError to 400
    unknown = sorted(str(key) for key in config if key not in _ALLOWED_KEYS)
    if unknown:
        raise ValueError(f"unknown mapping keys: {', '.join(unknown)} (allowed: {', '.join(sorted(_ALLOWED_KEYS))})")
    engine = config.get("engine")
    if engine not in ENGINES:
        raise ValueError(f"mapping engine must be one of: {', '.join(ENGINES)}")
    if not (isinstance(config.get("summary"), str) and config["summary"].strip()):
        raise ValueError("mapping summary is required")
    compiled: dict[str, Expression] = {}
    for name in (*_TEMPLATE_FIELDS, "alerts"):
        text = config.get(name)
        if text is None or text == "":
            continue
        if not isinstance(text, str):
            raise ValueError(f"mapping {name} must be a string")  # noqa: TRY004 - as above
        if len(text) > MAX_EXPRESSION:
            raise ValueError(f"mapping {name} is longer than {MAX_EXPRESSION} characters")
        use_jinja = engine == "jinja2" and name != "alerts"
        compiled[name] = _compile_jinja(name, text) if use_jinja else _compile_jmespath(name, text)
    return Mapping(engine=engine, config=dict(config), **compiled)


def map_payload(mapping: Mapping, obj: Any, *, nul_free: bool = False) -> list[Event]:
    """Return the Events `mapping` makes of a decoded JSON body, one per selected item.

    Without `alerts` the whole body is the one item. Raises Rejected (400) listing every
    problem: an unknown status word, an empty summary, labels that are not an object, an
    item over MAX_EVENT_BYTES, or any error while evaluating an expression.
    """
    body = clean_json(obj, nul_free=nul_free)
    items: list[Any]
    label: Callable[[int], str]  # the prefix of an item's errors
    if mapping.alerts is None:
        items, label = [body], (lambda _index: "")
    else:
        selected = _evaluate(mapping.alerts, body, "alerts")
        if not isinstance(selected, list):
            raise Rejected("payload is invalid", [f"alerts expression selected {_kind(selected)}, not a list"])
        if len(selected) > MAX_ITEMS:
            raise Rejected("payload is invalid", [f"alerts selected {len(selected)} items; the limit is {MAX_ITEMS}"])
        items, label = selected, (lambda index: f"alerts[{index}]: ")
    errors: list[str] = []
    events: list[Event] = []
    for index, item in enumerate(items):
        try:
            events.append(_map_item(mapping, item))
        except Rejected as exc:
            errors.extend(label(index) + reason for reason in exc.errors)
    if errors:
        raise Rejected("payload is invalid", errors)
    return events


def _map_item(mapping: Mapping, item: Any) -> Event:
    """Return the Event for one item; raise Rejected with every problem in it."""
    errors: list[str] = []
    try:
        if encoded_size(item) > MAX_EVENT_BYTES:
            errors.append(f"item is larger than {MAX_EVENT_BYTES} bytes")
    except ValueError as exc:
        errors.append(str(exc))

    def text(name: str) -> str:
        expression = getattr(mapping, name)
        if expression is None:
            return ""
        try:
            return label_text(_evaluate(expression, item, name)).strip()
        except Rejected as exc:
            errors.extend(exc.errors)
            return ""

    known = len(errors)
    summary = text("summary")
    if not summary and len(errors) == known:  # an evaluation error already says why
        errors.append("summary is empty after evaluating the mapping")
    status = text("status")
    action = _STATUS_WORDS.get(status.lower())
    if action is None:
        errors.append(f"unknown status {status[:100]!r}; expected one of: {', '.join(w for w in _STATUS_WORDS if w)}")
    severity = severity_from_text(text("severity"))
    key = text("dedup_key")
    labels = _labels(mapping, item, errors)
    if errors:
        raise Rejected("payload is invalid", errors)
    assert action is not None  # an unknown status is in `errors`
    return Event(
        action=action,
        dedup_key=_dedup_key(key, item),
        summary=truncate_summary(summary),
        severity=severity,
        labels=labels,
        details=item,
        payload=item,
    )


def _dedup_key(rendered: str, item: Any) -> str:
    """Return the versioned key: the rendered one, else a hash of the whole item.

    Without a dedup_key expression a resolve only matches its trigger if the two items are
    identical, so mappings that expect resolves should set one. A rendered key too long for
    MAX_DEDUP_KEY is hashed, deterministically, so trigger and resolve still agree.
    """
    if not rendered:
        return KEY_PREFIX + short_hash(item, 32)
    if len(KEY_PREFIX) + len(rendered) > MAX_DEDUP_KEY:
        return f"{KEY_PREFIX}sha256:{short_hash(rendered, 64)}"
    return KEY_PREFIX + rendered


def _labels(mapping: Mapping, item: Any, errors: list[str]) -> dict[str, str]:
    """Return the labels expression's object as text values; append a problem otherwise."""
    if mapping.labels is None:
        return {}
    try:
        value = _evaluate(mapping.labels, item, "labels")
    except Rejected as exc:
        errors.extend(exc.errors)
        return {}
    if mapping.engine == "jinja2":
        # A template renders text: it must spell a JSON object, e.g. `{{ payload.tags | tojson }}`.
        if not value.strip():
            return {}
        try:
            value = json.loads(value)
        except ValueError:
            errors.append("labels template did not render a JSON object")
            return {}
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.append(f"labels expression gave {_kind(value)}, not an object")
        return {}
    return {str(name): label_text(entry) for name, entry in clean_json(value).items()}


def _compile_jmespath(name: str, text: str) -> Expression:
    try:
        parsed = jmespath.compile(text)
    except Exception as exc:  # noqa: BLE001 - ParseError, LexerError, RecursionError on deep nesting
        raise ValueError(f"mapping {name} is not a valid JMESPath expression: {exc}") from None
    return parsed.search


def _compile_jinja(name: str, text: str) -> Expression:
    try:
        template = jinja_sandbox.compile_template(text)
    except (TemplateError, RecursionError) as exc:
        raise ValueError(f"mapping {name} is not a valid Jinja2 template: {exc}") from None

    def render(item: Any) -> str:
        # The item is `payload`, and its keys are top-level names too (`{{ title }}`).
        names = {**item, "payload": item} if isinstance(item, dict) else {"payload": item}
        return jinja_sandbox.render(template, names)

    return render


def _evaluate(expression: Expression, item: Any, name: str) -> Any:
    """Return `expression` applied to `item`; raise Rejected (400) if evaluation fails."""
    try:
        return expression(item)
    except Exception as exc:  # noqa: BLE001
        # Templates are operator code running on sender data: every failure (a type error
        # in JMESPath, a sandbox refusal, a division by zero) is a reason to give back.
        reason = f"{type(exc).__name__}: {exc}"[:300]
        raise Rejected("payload is invalid", [f"{name} could not be evaluated: {reason}"]) from None


def _kind(value: Any) -> str:
    return "null" if value is None else f"a {type(value).__name__}"
