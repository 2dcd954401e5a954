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
from dataclasses import dataclass, field
from typing import Any

import jmespath
from jinja2 import TemplateError
from jmespath import functions as jp_functions

from tocsin.inbound import jinja_sandbox, presets
from tocsin.inbound.common import (
    clean_json,
    encoded_size,
    label_text,
    severity_from_text,
    short_hash,
    truncate_summary,
)
from tocsin.inbound.types import (
    MAX_DEDUP_KEY,
    MAX_EVENT_BYTES,
    MAX_SUMMARY,
    Action,
    AlertSeverity,
    Event,
    Rejected,
)

KEY_PREFIX = "generic:1:"
ENGINES = ("jmespath", "jinja2")
_TEMPLATE_FIELDS = ("summary", "severity", "dedup_key", "status", "labels", "source", "links", "details")
_WORD_MAPS = ("status_map", "severity_map")  # sender word -> tocsin word, "*" for any other word
_ALLOWED_KEYS = frozenset(("engine", "alerts", "preset", *_TEMPLATE_FIELDS, *_WORD_MAPS))
MAX_MAP_ENTRIES = 100
MAX_LINKS = 20
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
    source: Expression | None = None
    links: Expression | None = None
    details: Expression | None = None
    alerts: Expression | None = None
    status_map: dict[str, str] = field(default_factory=dict)
    severity_map: dict[str, str] = field(default_factory=dict)


def validate_mapping(config: dict[str, Any]) -> Mapping:
    """Return the compiled Mapping for an integration's configuration.

    Raises ValueError naming the problem: not an object, unknown keys, unknown engine,
    missing summary, an expression that is not a string or too long, or one that does not
    compile. `alerts` is always JMESPath, whatever the engine. A `preset` names a shipped
    mapping (`presets.PRESETS`) whose fields the others override.
    """
    if not isinstance(config, dict):
        raise ValueError("mapping must be an object")  # noqa: TRY004 - the API maps ValueError to 400
    original = config
    config = presets.expand(config)
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
    return Mapping(engine=engine, config=dict(original), status_map=_word_map("status_map", config.get("status_map")),
                   severity_map=_word_map("severity_map", config.get("severity_map")), **compiled)


def _word_map(name: str, value: Any) -> dict[str, str]:
    """Check a status_map or severity_map; return it with lower-case keys."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_MAP_ENTRIES:
        raise ValueError(f"mapping {name} must be an object of at most {MAX_MAP_ENTRIES} words")
    allowed = [w for w in _STATUS_WORDS if w] if name == "status_map" else [s.value for s in AlertSeverity]
    out: dict[str, str] = {}
    for word, meaning in value.items():
        if not isinstance(meaning, str) or meaning.lower() not in allowed:
            raise ValueError(f"mapping {name}[{str(word)[:50]!r}] must be one of: {', '.join(allowed)}")
        out[str(word).strip().lower()] = meaning.lower()
    return out


def _translate(word: str, table: dict[str, str]) -> str:
    if not table:
        return word
    return table.get(word.lower(), table.get("*", word))


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
    status = _translate(text("status"), mapping.status_map)
    action = _STATUS_WORDS.get(status.lower())
    if action is None:
        errors.append(f"unknown status {status[:100]!r}; expected one of: {', '.join(w for w in _STATUS_WORDS if w)}")
    severity = severity_from_text(_translate(text("severity"), mapping.severity_map))
    key = text("dedup_key")
    source = text("source")[:MAX_SUMMARY]
    labels = _labels(mapping, item, errors)
    links = _links(mapping, item, errors)
    details = _details(mapping, item, errors)
    if errors:
        raise Rejected("payload is invalid", errors)
    assert action is not None  # an unknown status is in `errors`
    return Event(
        action=action,
        dedup_key=_dedup_key(key, item),
        summary=truncate_summary(summary),
        severity=severity,
        source=source,
        labels=labels,
        details=details,
        links=links,
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


def _links(mapping: Mapping, item: Any, errors: list[str]) -> list[dict[str, str]]:
    """The links expression's result as [{href, text}]: a URL, a list of URLs, or of {href, text}.

    Only http and https addresses are kept (a link is shown to responders); empty values are skipped."""
    if mapping.links is None:
        return []
    try:
        value = _evaluate(mapping.links, item, "links")
    except Rejected as exc:
        errors.extend(exc.errors)
        return []
    if mapping.engine == "jinja2":
        value = value.strip()
    values = value if isinstance(value, list) else [value]
    out: list[dict[str, str]] = []
    for entry in values[:MAX_LINKS]:
        href, text = (entry.get("href"), entry.get("text")) if isinstance(entry, dict) else (entry, None)
        if not isinstance(href, str) or not href.strip().lower().startswith(("http://", "https://")):
            continue
        out.append({"href": href.strip()[:2000], "text": label_text(text)[:200] or "Source"})
    return out


def _details(mapping: Mapping, item: Any, errors: list[str]) -> Any:
    """The details expression's result (JSON), else the whole item."""
    if mapping.details is None:
        return item
    try:
        value = _evaluate(mapping.details, item, "details")
    except Rejected as exc:
        errors.extend(exc.errors)
        return None
    if mapping.engine == "jinja2":  # a template renders text: JSON if it spells JSON
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return clean_json(value, what="details")


class _Functions(jp_functions.Functions):
    """tocsin's JMESPath functions, for payloads plain JMESPath cannot take apart.

    Deliberately no regular expressions: templates run on the ingest writer's one thread, and
    a backtracking pattern on hostile input could stall every integration."""

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_parse_json(self, text: str | None) -> Any:  # an SNS Message, a JSON-in-a-string field
        """The decoded JSON, or null; cleaned and depth-checked like a body (NUL and lone surrogates from
        `\\u` escapes become U+FFFD: PostgreSQL cannot store them, nor UTF-8 encode them), so nothing
        unpacked from a string is less checked than the body it came in."""
        if not text or len(text) > MAX_EVENT_BYTES:
            return None
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return None
        return clean_json(value, what="parse_json's result")  # Rejected (400) when nested too deep

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_tag(self, text: str | None) -> str:  # "[Triggered on {x}] CPU" -> "Triggered on {x}"
        text = (text or "").lstrip()
        end = text.find("]")
        return text[1:end].strip() if text.startswith("[") and end > 0 else ""

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_untagged(self, text: str | None) -> str:  # "[Triggered on {x}] CPU" -> "CPU"
        text = (text or "").lstrip()
        end = text.find("]")
        return text[end + 1:].strip() if text.startswith("[") and end > 0 else text.strip()

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_words(self, text: str | None) -> list[str]:
        return (text or "").split()

    @jp_functions.signature({"types": ["string", "null"]})
    def _func_lower(self, text: str | None) -> str:
        return (text or "").lower()


_OPTIONS = jmespath.Options(custom_functions=_Functions())


def _compile_jmespath(name: str, text: str) -> Expression:
    try:
        parsed = jmespath.compile(text)
    except Exception as exc:  # noqa: BLE001 - ParseError, LexerError, RecursionError on deep nesting
        raise ValueError(f"mapping {name} is not a valid JMESPath expression: {exc}") from None

    def search(item: Any) -> Any:
        return parsed.search(item, options=_OPTIONS)

    return search


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
        reason = ("; ".join(exc.errors) if isinstance(exc, Rejected) else f"{type(exc).__name__}: {exc}")[:300]
        raise Rejected("payload is invalid", [f"{name} could not be evaluated: {reason}"]) from None


def _kind(value: Any) -> str:
    return "null" if value is None else f"a {type(value).__name__}"
