"""Validate PagerDuty Events API v2 bodies: alert events (`/v2/enqueue`) and change events.

Rules follow PagerDuty's documentation, with one deliberate leniency: on acknowledge and
resolve only the routing key, action and dedup key are checked. Alertmanager's PagerDuty
integration always sends a payload, also on resolve, and its severity is a template that
is never validated; refusing that resolve would leave the alert open forever.

The routing key is the sender's credential: it is returned to the caller for the lookup
and never kept in an Event's payload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from tocsin.inbound.common import clean_json, encoded_size
from tocsin.inbound.timeparse import parse_timestamp
from tocsin.inbound.types import (
    MAX_DEDUP_KEY,
    MAX_EVENT_BYTES,
    MAX_SUMMARY,
    Action,
    AlertSeverity,
    Event,
    Rejected,
)

INVALID = "Event object is invalid"
_LABEL_FIELDS = ("component", "group", "class")
_E = TypeVar("_E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """A change (deploy, config push) recorded for context; it never pages anyone."""

    summary: str
    source: str = ""
    occurred_at: datetime | None = None
    details: Any = None
    links: list[dict[str, str]] = field(default_factory=list)
    payload: Any = None  # the body without its routing key


def parse_event(obj: Any, *, new_key: Callable[[], str], nul_free: bool = False) -> tuple[str, Event]:
    """Return (routing_key, Event) for one alert event body.

    A trigger without `dedup_key` gets `new_key()` (called only for a valid event); a
    sender's own key is kept exactly, so it can acknowledge and resolve with it. Raises
    Rejected (400) listing every problem found.
    """
    if not isinstance(obj, dict):
        raise Rejected(INVALID, ["event must be a JSON object"])
    body = clean_json(obj, what="event", nul_free=nul_free)
    errors: list[str] = []
    routing_key = _routing_key(body, errors)

    action = _choice(body.get("event_action"), Action)
    if action is None:
        errors.append("event_action must be one of trigger, acknowledge, resolve")

    dedup_key = body.get("dedup_key")
    if dedup_key is not None and not isinstance(dedup_key, str):
        errors.append("dedup_key must be a string")
    elif dedup_key and len(dedup_key) > MAX_DEDUP_KEY:
        errors.append(f"dedup_key must be at most {MAX_DEDUP_KEY} characters")
    elif not dedup_key and action in (Action.acknowledge, Action.resolve):
        errors.append(f"dedup_key is required to {action}")

    event_fields: dict[str, Any] = {}
    if action is Action.trigger:
        event_fields = _trigger_fields(body, errors)
        event_fields["warnings"] = _lenient_timestamp(event_fields, body)
    _check_size(body, errors)
    if errors:
        raise Rejected(INVALID, errors)

    assert action is not None  # an unknown action is in `errors`
    payload = {name: value for name, value in body.items() if name != "routing_key"}
    event = Event(action=action, dedup_key=dedup_key or new_key(), payload=payload, **event_fields)
    return routing_key, event


def parse_change(obj: Any, *, nul_free: bool = False) -> tuple[str, ChangeEvent]:
    """Return (routing_key, ChangeEvent) for a `/v2/change/enqueue` body.

    Raises Rejected (400) listing every problem found.
    """
    if not isinstance(obj, dict):
        raise Rejected(INVALID, ["event must be a JSON object"])
    body = clean_json(obj, what="event", nul_free=nul_free)
    errors: list[str] = []
    routing_key = _routing_key(body, errors)
    change: dict[str, Any] = {}
    payload = body.get("payload")
    if not isinstance(payload, dict):
        errors.append("payload must be an object")
    else:
        change["summary"] = _summary(payload, errors)
        change["source"] = _optional_text(payload, "source", errors, where="payload.")
        if len(change["source"]) > MAX_SUMMARY:
            errors.append(f"payload.source must be at most {MAX_SUMMARY} characters")
        change["occurred_at"] = _timestamp(payload, errors)
        change["details"] = payload.get("custom_details")
    change["links"] = _links(body.get("links"), errors)
    _check_size(body, errors)
    if errors:
        raise Rejected(INVALID, errors)
    kept = {name: value for name, value in body.items() if name != "routing_key"}
    return routing_key, ChangeEvent(payload=kept, **change)


def _trigger_fields(body: dict[str, Any], errors: list[str]) -> dict[str, Any]:
    """Return the Event fields a trigger defines, appending problems to `errors`."""
    payload = body.get("payload")
    if not isinstance(payload, dict):
        errors.append("payload must be an object")
        return {}
    source = payload.get("source")
    if not (isinstance(source, str) and source):
        errors.append("payload.source must be a non-empty string")
    severity = _choice(payload.get("severity"), AlertSeverity)
    if severity is None:
        errors.append("payload.severity must be one of critical, error, warning, info")
    labels = {}
    for name in _LABEL_FIELDS:
        value = _optional_text(payload, name, errors, where="payload.")
        if value:
            labels[name] = value
    _images(body.get("images"), errors)
    links = _links(body.get("links"), errors)
    client_url = _optional_text(body, "client_url", errors)
    client = _optional_text(body, "client", errors)
    if client_url:
        # PagerDuty shows client_url as a link back to the sender; do the same.
        links.append({"href": client_url, "text": client or "Source"})
    return {
        "summary": _summary(payload, errors),
        "severity": severity or AlertSeverity.error,
        "source": source if isinstance(source, str) else "",
        "labels": labels,
        "details": payload.get("custom_details"),
        "links": links,
        "occurred_at": _timestamp(payload, []),  # unparseable: the receive time (`_lenient_timestamp`)
    }


def _lenient_timestamp(fields: dict[str, Any], body: dict[str, Any]) -> tuple[str, ...]:
    """A trigger whose `payload.timestamp` cannot be parsed is kept, with the receive time.

    PagerDuty documents the field as an ISO 8601 time of detection and does not say that it refuses
    an event whose timestamp does not parse; a refusal (a 4xx is final for Alertmanager) would lose
    the alert, so tocsin keeps it and says why in the alert's decisions."""
    payload = body.get("payload")
    stamp = payload.get("timestamp") if isinstance(payload, dict) else None
    if stamp is None or fields.get("occurred_at") is not None:
        return ()
    try:
        parse_timestamp(stamp)
        return ()  # Go's zero time: no time given
    except ValueError as exc:
        return (f"payload.timestamp {str(stamp)[:64]!r} could not be parsed ({exc}); "
                "the receive time is used instead",)


def _choice(value: Any, enum: type[_E]) -> _E | None:
    """Return the member of `enum` spelled exactly `value`, else None (any JSON type)."""
    return enum(value) if isinstance(value, str) and value in enum.__members__ else None


def _routing_key(body: dict[str, Any], errors: list[str]) -> str:
    key = body.get("routing_key")
    if isinstance(key, str) and key.strip():
        return key
    errors.append("routing_key must be a non-empty string")
    return ""


def _summary(payload: dict[str, Any], errors: list[str]) -> str:
    summary = payload.get("summary")
    if isinstance(summary, str) and 0 < len(summary) <= MAX_SUMMARY:
        return summary
    errors.append(f"payload.summary must be a string of 1 to {MAX_SUMMARY} characters")
    return ""


def _timestamp(payload: dict[str, Any], errors: list[str]) -> datetime | None:
    if payload.get("timestamp") is None:
        return None
    try:
        return parse_timestamp(payload["timestamp"])
    except ValueError as exc:
        errors.append(f"payload.timestamp: {exc}")
        return None


def _optional_text(obj: dict[str, Any], name: str, errors: list[str], *, where: str = "") -> str:
    value = obj.get(name)
    if value is None or isinstance(value, str):
        return value or ""
    errors.append(f"{where}{name} must be a string")
    return ""


def _links(value: Any, errors: list[str]) -> list[dict[str, str]]:
    """Return the valid links as {href, text}; append a problem for each invalid one."""
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append("links must be a list")
        return []
    links = []
    for index, link in enumerate(value):
        if not (isinstance(link, dict) and isinstance(link.get("href"), str) and link["href"]):
            errors.append(f"links[{index}] must be an object with a non-empty string href")
        elif link.get("text") is not None and not isinstance(link["text"], str):
            errors.append(f"links[{index}].text must be a string")
        else:
            links.append({"href": link["href"], "text": link.get("text") or ""})
    return links


def _images(value: Any, errors: list[str]) -> None:
    """Append a problem for each image that lacks a string `src` (images stay in payload)."""
    if value is None:
        return
    if not isinstance(value, list):
        errors.append("images must be a list")
        return
    for index, image in enumerate(value):
        if not (isinstance(image, dict) and isinstance(image.get("src"), str) and image["src"]):
            errors.append(f"images[{index}] must be an object with a non-empty string src")


def _check_size(body: dict[str, Any], errors: list[str]) -> None:
    try:
        size = encoded_size(body)
    except ValueError as exc:
        errors.append(str(exc))
        return
    if size > MAX_EVENT_BYTES:
        errors.append(f"event is {size} bytes; the limit is {MAX_EVENT_BYTES}")
