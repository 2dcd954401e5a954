"""Small helpers every inbound parser shares: cleaning, sizing, hashing and severity words.

Kept apart from the format modules so that none of them imports another just for a helper.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import orjson

from tocsin.inbound.types import MAX_SUMMARY, AlertSeverity, Rejected

MAX_DEPTH = 64  # real payloads nest < 10 deep; a bound keeps every later step recursion-safe

# NUL and lone surrogates (which `json.loads` lets through from `\ud800`) cannot be stored in
# PostgreSQL text or jsonb, nor encoded as UTF-8. They become U+FFFD instead of a rejection,
# because a 4xx is final for Alertmanager and would lose the alert.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

_SEVERITY_WORDS: dict[str, AlertSeverity] = {
    **dict.fromkeys(("critical", "crit", "page", "p1", "high", "fatal", "emergency"),
                    AlertSeverity.critical),
    **dict.fromkeys(("error", "err", "major", "p2"), AlertSeverity.error),
    **dict.fromkeys(("warning", "warn", "minor", "p3"), AlertSeverity.warning),
    **dict.fromkeys(("info", "informational", "none", "low", "p4", "p5"), AlertSeverity.info),
}


def severity_from_text(text: object) -> AlertSeverity:
    """Return the severity a sender's word means; unknown or empty words mean `error`.

    Case and surrounding space are ignored. `error` is the default because that is what
    Alertmanager's PagerDuty integration sends when nobody configured a severity: loud
    enough to page, without claiming the alert is critical.
    """
    word = label_text(text).strip().lower()  # label_text: null is "", never the word "none"
    return _SEVERITY_WORDS.get(word, AlertSeverity.error)


def clean_text(text: str) -> str:
    """Return `text` with characters no database can store replaced by U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)


def nul_free(body: bytes) -> bool:
    """True when JSON `body`, decoded by orjson, cannot hold a character `clean_text` replaces.

    orjson refuses raw control characters and lone surrogates, so a NUL can only come from the
    escape `\\u0000`; a body without that byte sequence needs no cleaning (a false alarm, such as an
    escaped backslash before `u0000`, only costs the full pass)."""
    return b"\\u0000" not in body


def clean_json(value: Any, *, what: str = "body", nul_free: bool = False) -> Any:
    """Return a copy of decoded JSON with every string (keys too) passed through `clean_text`.

    Iterative rather than recursive so hostile nesting cannot exhaust the Python stack.
    Raises Rejected (400) when the value nests deeper than MAX_DEPTH. With `nul_free` (the
    caller knows from the raw bytes that nothing needs replacing, see `nul_free()`), only the
    depth is checked and `value` itself is returned: the hot path of ingestion.
    """
    if nul_free:
        _check_depth(value, what)
        return value
    if not isinstance(value, (dict, list)):
        return clean_text(value) if isinstance(value, str) else value
    root: Any = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any, int]] = [(value, root, 1)]
    while stack:
        source, target, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Rejected("Event object is invalid", [f"{what} nests deeper than {MAX_DEPTH} levels"])
        pairs = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in pairs:
            if isinstance(item, (dict, list)):
                copied: Any = {} if isinstance(item, dict) else []
                stack.append((item, copied, depth + 1))
            else:
                copied = clean_text(item) if isinstance(item, str) else item
            if isinstance(target, dict):
                target[clean_text(key) if isinstance(key, str) else key] = copied
            else:
                target.append(copied)
    return root


def _check_depth(value: Any, what: str) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        source, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise Rejected("Event object is invalid", [f"{what} nests deeper than {MAX_DEPTH} levels"])
        for item in source.values() if isinstance(source, dict) else source:
            if isinstance(item, (dict, list)):
                stack.append((item, depth + 1))


def canonical_json(value: Any) -> bytes:
    """Return `value` as compact JSON with sorted keys: equal data gives equal bytes.

    orjson refuses integers beyond 64 bits and nesting beyond 255; the stdlib takes those.
    Raises ValueError if neither can encode the value.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        pass
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"value cannot be encoded as JSON: {exc}") from None
    return text.encode("utf-8", "surrogatepass")


def encoded_size(value: Any) -> int:
    """Return the size in bytes of `value` as compact JSON; raise ValueError if unencodable."""
    return len(canonical_json(value))


def short_hash(value: Any, length: int) -> str:
    """Return the first `length` hex digits of the SHA-256 of `value`'s canonical JSON."""
    return hashlib.sha256(canonical_json(value)).hexdigest()[:length]


def label_text(value: Any) -> str:
    """Return a label or template result as text: JSON spelling for non-strings.

    `true` rather than Python's `True`, `""` for null, compact JSON for objects and lists,
    so a label reads the same as in the payload it came from.
    """
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    try:
        return canonical_json(value).decode("utf-8", "replace")
    except ValueError:
        return str(value)


def truncate_summary(text: str) -> str:
    """Return `text` cut to MAX_SUMMARY characters, ending in an ellipsis when it was cut."""
    if len(text) <= MAX_SUMMARY:
        return text
    return text[: MAX_SUMMARY - 1] + "\u2026"
