"""Turn a Prometheus Alertmanager webhook body (version "4") into one `Event` per alert.

Grafana's webhook body is Alertmanager's data plus extras, so `parse_alert_group` is shared
with `tocsin.inbound.grafana`; it takes the key prefix and the extra link/detail fields.
Every problem in a body is collected before rejecting it, because a 4xx is final for
Alertmanager: the operator gets one log line listing everything to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tocsin.inbound.common import (
    clean_json,
    encoded_size,
    label_text,
    severity_from_text,
    truncate_summary,
)
from tocsin.inbound.timeparse import parse_timestamp
from tocsin.inbound.types import MAX_EVENT_BYTES, Action, Event, Rejected

__all__ = ["labels_fingerprint", "parse_alert_group", "parse_webhook", "severity_from_text"]

KEY_PREFIX = "am:1:"
_STATUS_ACTION = {"firing": Action.trigger, "resolved": Action.resolve}
_GROUP_FIELDS = ("groupKey", "receiver", "externalURL")  # copied into each alert's payload
_MAX_FINGERPRINT = 128

# FNV-1a 64, as in prometheus/common model.labelSetToFingerprint
_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_SEPARATOR = 0xFF  # cannot occur in UTF-8, so "a=bc" and "ab=c" hash differently


def parse_webhook(obj: Any, *, nul_free: bool = False) -> list[Event]:
    """Return one Event per alert of an Alertmanager webhook body, in body order.

    Keys are `am:1:<fingerprint>`. An empty `alerts` list gives []. Grafana's version "1"
    body is accepted too (its extras stay in each Event's payload). Raises Rejected (400)
    listing every problem found.
    """
    return parse_alert_group(obj, key_prefix=KEY_PREFIX, default_source="alertmanager", nul_free=nul_free)


def parse_alert_group(
    obj: Any,
    *,
    key_prefix: str,
    default_source: str,
    link_fields: Sequence[tuple[str, str]] = (("generatorURL", "Source"),),
    detail_fields: Sequence[str] = (),
    nul_free: bool = False,
) -> list[Event]:
    """Return one Event per alert of an Alertmanager-shaped body; raise Rejected (400).

    `link_fields` are (alert field, link text) pairs turned into links when non-empty;
    `detail_fields` are alert fields added to the details next to the annotations (an
    annotation of the same name wins; the raw value stays in the payload either way).
    """
    if not isinstance(obj, dict):
        raise Rejected("Event object is invalid", ["body must be a JSON object"])
    body = clean_json(obj, nul_free=nul_free)
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        raise Rejected("Event object is invalid", ["'alerts' must be a list"])

    group = {name: body[name] for name in _GROUP_FIELDS if name in body}
    errors: list[str] = []
    events: list[Event] = []
    for index, alert in enumerate(alerts):
        problems = _alert_problems(alert, index)
        if problems:
            errors.extend(problems)
            continue
        events.append(_to_event(alert, group, key_prefix, default_source, link_fields, detail_fields))
    if errors:
        raise Rejected("Event object is invalid", errors)
    return events


def labels_fingerprint(labels: dict[str, str]) -> str:
    """Return the 16-hex-digit fingerprint Alertmanager itself gives this label set.

    Same algorithm as Prometheus (FNV-1a 64 over sorted names, each name and value followed
    by 0xFF), so an alert keeps its key whether or not the sender included `fingerprint`.
    """
    value = _FNV_OFFSET
    for name in sorted(labels):
        for part in (name, labels[name]):
            for byte in part.encode("utf-8"):
                value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
            value = ((value ^ _SEPARATOR) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def _alert_problems(alert: Any, index: int) -> list[str]:
    """Return the reasons alerts[index] cannot be accepted (empty when it can)."""
    where = f"alerts[{index}]"
    if not isinstance(alert, dict):
        return [f"{where} must be an object"]
    problems: list[str] = []
    labels = alert.get("labels")
    if not isinstance(labels, dict):
        problems.append(f"{where}.labels must be an object")
    else:
        nested = sorted(name for name, value in labels.items() if isinstance(value, (dict, list)))
        if nested:
            problems.append(f"{where}.labels values must be scalars: {', '.join(nested)}")
    if alert.get("status") not in _STATUS_ACTION:
        problems.append(f"{where}.status must be 'firing' or 'resolved'")
    if alert.get("annotations") is not None and not isinstance(alert.get("annotations"), dict):
        problems.append(f"{where}.annotations must be an object")
    fingerprint = alert.get("fingerprint")
    if fingerprint is not None and not (
        isinstance(fingerprint, str) and len(fingerprint) <= _MAX_FINGERPRINT
    ):
        problems.append(f"{where}.fingerprint must be a string of at most {_MAX_FINGERPRINT} characters")
    for field in ("startsAt", "endsAt"):
        if alert.get(field) not in (None, ""):
            try:
                parse_timestamp(alert[field])
            except ValueError as exc:
                problems.append(f"{where}.{field}: {exc}")
    try:
        size = encoded_size(alert)
    except ValueError as exc:
        problems.append(f"{where}: {exc}")
    else:
        if size > MAX_EVENT_BYTES:
            problems.append(f"{where} is {size} bytes; the limit is {MAX_EVENT_BYTES}")
    return problems


def _to_event(
    alert: dict[str, Any],
    group: dict[str, Any],
    key_prefix: str,
    default_source: str,
    link_fields: Sequence[tuple[str, str]],
    detail_fields: Sequence[str],
) -> Event:
    """Return the Event for one alert already checked by `_alert_problems`."""
    labels = {name: label_text(value) for name, value in alert["labels"].items()}
    annotations: dict[str, Any] = alert.get("annotations") or {}
    action = _STATUS_ACTION[alert["status"]]

    fingerprint = alert.get("fingerprint") or labels_fingerprint(labels)
    dedup_key = key_prefix + fingerprint  # at most 128 + prefix, within MAX_DEDUP_KEY

    occurred_at = _time(alert.get("startsAt"))
    if action is Action.resolve:
        occurred_at = _time(alert.get("endsAt")) or occurred_at

    links = [
        {"href": alert[field], "text": text}
        for field, text in link_fields
        if isinstance(alert.get(field), str) and alert[field]
    ]
    runbook = annotations.get("runbook_url")
    if isinstance(runbook, str) and runbook:
        links.append({"href": runbook, "text": "Runbook"})

    details = dict(annotations)
    for field in detail_fields:
        if field in alert and field not in details:
            details[field] = alert[field]

    return Event(
        action=action,
        dedup_key=dedup_key,
        summary=_summary(labels, annotations),
        severity=severity_from_text(labels.get("severity", "")),
        # `instance` names the thing that is broken more precisely than the tool's name.
        source=labels.get("instance") or labels.get("job") or default_source,
        labels=labels,
        details=details,
        links=links,
        occurred_at=occurred_at,
        payload={**alert, **group},
    )


def _summary(labels: dict[str, str], annotations: dict[str, Any]) -> str:
    """Return the summary annotation, else the description, else alertname and labels."""
    for name in ("summary", "description"):
        text = label_text(annotations.get(name)).strip()
        if text:
            return truncate_summary(text)
    rest = ", ".join(f"{name}={value}" for name, value in sorted(labels.items()) if name != "alertname")
    head = labels.get("alertname") or "Alert"
    return truncate_summary(f"{head} ({rest})" if rest else head)


def _time(value: Any) -> datetime | None:
    """Return a checked timestamp field as a datetime; None when absent or Go's zero time."""
    return parse_timestamp(value) if value not in (None, "") else None

