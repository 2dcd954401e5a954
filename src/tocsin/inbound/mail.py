"""Email to alert: an email integration's rules turn one message into one event.

Rules (the integration's config, every field optional):

- `summary`: a regular expression searched in the subject; its group `summary` (else its first
  group, else the whole match) is the summary. The default drops one leading status word such as
  "PROBLEM:", "[RESOLVED]" or "OK -", so a trigger and its resolve have the same summary.
- `dedup_key`: searched in the subject, then the body; group as above. Default: the summary.
- `resolve`: searched in the subject; a match makes the message a resolve. Default: the upper-case
  word RESOLVED, RECOVERED, RECOVERY or OK anywhere in the subject.
- `severity`: a list of `{"pattern": ..., "severity": ...}` searched in subject and body; the first
  match wins, else `default_severity` (default `error`).

Patterns are Python regular expressions written by an admin and checked when saved. They run on at
most MAX_SCANNED characters of body text, in the mail listener's thread (never the ingest writer's),
with the `regex` engine's timeout: one message's patterns get RULE_SECONDS in all (PATTERN_SECONDS each),
and a pattern that runs out of time (catastrophic backtracking on what a sender wrote) counts as no match, so a bad rule
can neither hang the listener nor cost the alert.
Pure: bytes in, an Event out; mapping never fails, so an accepted message always becomes an alert
(CPython's email parser raises on some malformed headers and deep nesting: those fall back to the raw text).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from html.parser import HTMLParser
from typing import Any

import regex as re  # the stdlib's API, plus a timeout (see the module doc)

from tocsin.inbound.common import clean_text, short_hash, truncate_summary
from tocsin.inbound.types import MAX_DEDUP_KEY, Action, AlertSeverity, Event

log = logging.getLogger("tocsin.inbound.mail")

KEY_PREFIX = "mail:1:"
MAX_PATTERN = 1_000
MAX_SEVERITY_RULES = 20
MAX_SCANNED = 64_000  # characters of body text patterns see, and details keep
MAX_PARTS = 500  # lines opening a MIME part; past this the top headers and the raw text are used
MAX_HTML = 1_000_000  # characters of an HTML body read for its text
RULE_SECONDS = 2.0  # time one message's patterns may take in all
PATTERN_SECONDS = 0.25  # and one pattern, so that one runaway pattern leaves time for the others
DEFAULT_SUMMARY = (r"^\s*(?:\[?(?:PROBLEM|RESOLVED|RECOVERED|RECOVERY|OK|ALERT|ALARM|FIRING|TRIGGERED|DOWN|UP)\]?"
                   r"\s*[:\-]?\s+)?(?P<summary>.+?)\s*$")
DEFAULT_RESOLVE = r"\b(?:RESOLVED|RECOVERED|RECOVERY|OK)\b"
_ALLOWED = frozenset(("summary", "dedup_key", "resolve", "severity", "default_severity"))


@dataclass(frozen=True, slots=True)
class Rules:
    summary: re.Pattern[str]
    resolve: re.Pattern[str]
    dedup_key: re.Pattern[str] | None = None
    severity: tuple[tuple[re.Pattern[str], AlertSeverity], ...] = ()
    default_severity: AlertSeverity = AlertSeverity.error


def _compile(name: str, text: Any, flags: int = 0) -> re.Pattern[str]:
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{name} must be a non-empty regular expression")
    if len(text) > MAX_PATTERN:
        raise ValueError(f"{name} is longer than {MAX_PATTERN} characters")
    try:
        return re.compile(text, flags)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        raise ValueError(f"{name} is not a valid regular expression: {exc}") from None


def _severity(name: str, value: Any) -> AlertSeverity:
    try:
        return AlertSeverity(str(value).lower())
    except ValueError:
        raise ValueError(f"{name} must be one of: {', '.join(s.value for s in AlertSeverity)}") from None


def validate_rules(config: dict[str, Any]) -> Rules:
    """Return the compiled rules of an email integration's config; raise ValueError naming the problem."""
    if not isinstance(config, dict):
        raise ValueError("rules must be an object")  # noqa: TRY004 - the API maps ValueError to 400
    unknown = sorted(str(k) for k in config if k not in _ALLOWED)
    if unknown:
        raise ValueError(f"unknown email rule fields: {', '.join(unknown)} (allowed: {', '.join(sorted(_ALLOWED))})")
    severity = config.get("severity") or []
    if not isinstance(severity, list) or len(severity) > MAX_SEVERITY_RULES:
        raise ValueError(f"severity must be a list of at most {MAX_SEVERITY_RULES} {{pattern, severity}} rules")
    compiled = []
    for index, rule in enumerate(severity):
        if not isinstance(rule, dict) or set(rule) != {"pattern", "severity"}:
            raise ValueError(f"severity[{index}] must be an object with pattern and severity")
        compiled.append((_compile(f"severity[{index}].pattern", rule["pattern"]),
                         _severity(f"severity[{index}].severity", rule["severity"])))
    return Rules(
        summary=_compile("summary", config.get("summary") or DEFAULT_SUMMARY,
                         0 if config.get("summary") else re.IGNORECASE),
        resolve=_compile("resolve", config.get("resolve") or DEFAULT_RESOLVE),
        dedup_key=_compile("dedup_key", config["dedup_key"]) if config.get("dedup_key") else None,
        severity=tuple(compiled),
        default_severity=_severity("default_severity", config.get("default_severity") or "error"),
    )


class _Text(HTMLParser):
    """The visible text of an HTML body (scripts and styles dropped)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "tr", "li", "h1", "h2", "h3"):
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html[:MAX_HTML])  # html.parser takes seconds per megabyte of tags
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _content(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown charset or a broken encoding
        raw = part.get_payload(decode=True)
        content = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
    return content if isinstance(content, str) else ""


def body_text(message: EmailMessage) -> str:
    """The message's text: its text/plain part, else its text/html part as text."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _content(part)  # type: ignore[arg-type]  # get_body returns the policy's EmailMessage
    return html_text(text) if part.get_content_type() == "text/html" else text.strip()


def _raw_body(raw: bytes) -> str:
    """The bytes after the header block, as text: the body when the parser cannot make sense of it."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        _head, found, rest = raw.partition(separator)
        if found:
            return rest[: MAX_SCANNED * 4].decode("utf-8", "replace").strip()
    return ""


def _header(message: EmailMessage, name: str) -> str:
    """A header's decoded value on one line, or its raw text when the library's parser fails on it."""
    try:
        value = str(message.get(name, "") or "")
    except Exception:  # noqa: BLE001 - CPython's header parser raises IndexError and others on odd values
        value = next((str(v) for k, v in message.raw_items() if k.lower() == name), "")
    return " ".join(value.split())


class _Budget:
    """The time left for one message's patterns (RULE_SECONDS in all)."""

    def __init__(self) -> None:
        self.ends = time.monotonic() + RULE_SECONDS

    def search(self, pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
        left = self.ends - time.monotonic()
        if left <= 0:
            return None
        try:
            return pattern.search(text, timeout=min(left, PATTERN_SECONDS))
        except TimeoutError:
            log.warning("an email rule pattern ran out of time and counts as no match: %.80r", pattern.pattern)
            return None


def _group(match: re.Match[str] | None, name: str) -> str:
    if match is None:
        return ""
    if name in match.re.groupindex:
        return (match.group(name) or "").strip()
    return ((match.group(1) if match.re.groups else match.group(0)) or "").strip()  # an optional group: None


def parse(raw: bytes, *, headers_only: bool = False) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=headers_only)
    assert isinstance(message, EmailMessage)  # policy.default makes EmailMessage
    return message


def map_message(rules: Rules, raw: bytes) -> Event:
    """Return the event one message makes. Never raises for content: an odd message still alerts."""
    # The stdlib parser takes about half a millisecond per MIME part: a 10 MB mail of empty parts
    # would keep a CPU busy for minutes. Such a mail is read as its top headers and raw text.
    many_parts = raw.count(b"\n--") > MAX_PARTS
    try:
        message = parse(raw, headers_only=many_parts)
    except Exception:  # noqa: BLE001 - RecursionError on multiparts nested too deep: the top headers will do
        message, many_parts = parse(raw, headers_only=True), True
    subject = clean_text(_header(message, "subject"))[:2000]
    try:
        body = _raw_body(raw) if many_parts else body_text(message)
    except Exception:  # noqa: BLE001 - RecursionError on deep nesting, parser errors in MIME parameters
        body = _raw_body(raw)
    body = clean_text(body)[:MAX_SCANNED]
    budget = _Budget()
    summary = _group(budget.search(rules.summary, subject), "summary") or subject or "(no subject)"
    key = ""
    if rules.dedup_key is not None:
        key = _group(budget.search(rules.dedup_key, subject) or budget.search(rules.dedup_key, body), "dedup_key")
    key = key or summary
    if len(KEY_PREFIX) + len(key) > MAX_DEDUP_KEY:
        key = f"sha256:{short_hash(key, 64)}"
    action = Action.resolve if budget.search(rules.resolve, subject) else Action.trigger
    severity = rules.default_severity
    text = f"{subject}\n{body}"
    for pattern, level in rules.severity:
        if budget.search(pattern, text):
            severity = level
            break
    sender = clean_text(parseaddr(_header(message, "from"))[1])
    details = {"from": sender, "subject": subject, "message_id": clean_text(_header(message, "message-id")),
               "date": clean_text(_header(message, "date")), "body": body}
    return Event(action=action, dedup_key=KEY_PREFIX + key, summary=truncate_summary(summary), severity=severity,
                 source=sender[:255], details=details, payload=details)
