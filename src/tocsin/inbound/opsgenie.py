"""Validate Opsgenie Alert API v2 bodies (`POST /v2/alerts` and the alert actions) into events.

Opsgenie's field limits are followed by cutting, not refusing: a sender configured for Opsgenie
(Alertmanager, Grafana) treats a 4xx as final, and a cut description is better than a lost
alert. Only a missing message and fields of the wrong JSON type are refused (422). A priority
outside P1-P5 (often a template that rendered something else) is taken as P3, Opsgenie's default,
with a warning in the alert's decisions: refusing it would lose the alert.

Mapping onto tocsin's event:
- `alias` is the dedup key (one open alert per alias); without one, a new key is made.
  An alias longer than tocsin's keys becomes `og:1:<sha256>`, the same every time; so does an alias
  that starts with `og:` itself, so no chosen alias can equal another alias's hashed form.
- `priority` P1..P5 gives the severity (P1 critical, P2 error, P3 warning, P4/P5 info), hence
  the urgency, and is kept as the label `priority`.
- `details` (string → string, Alertmanager puts the group's common labels there) become labels,
  with `entity` and `tags` (comma-joined), so routing rules can match them.
- `description`, `details`, `responders`, `actions`, `user`, `note` and `tags` are kept in the
  alert's details; the whole body in its payload.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tocsin.inbound.common import clean_json
from tocsin.inbound.types import MAX_DEDUP_KEY, Action, AlertSeverity, Event, Rejected

PRIORITIES: dict[str, AlertSeverity] = {"P1": AlertSeverity.critical, "P2": AlertSeverity.error,
                                        "P3": AlertSeverity.warning, "P4": AlertSeverity.info,
                                        "P5": AlertSeverity.info}
# Opsgenie's documented limits (docs.opsgenie.com "Alerts and alert fields"); longer values are cut.
LIMITS = {"message": 130, "alias": 512, "description": 15000, "entity": 512, "source": 100, "user": 100,
          "note": 25000}
MAX_TAGS, MAX_TAG = 20, 50
MAX_LABEL_VALUE = 1000
UNPROCESSABLE = "Request body is not processable. Please check the errors."
IDENTIFIER_TYPES = ("id", "alias", "tiny")
ACTIONS = {"acknowledge": Action.acknowledge, "close": Action.resolve, "notes": None}


@dataclass(frozen=True, slots=True)
class ActionBody:
    """The optional body of acknowledge and close, the required body of notes."""

    user: str = ""
    source: str = ""
    note: str = ""


def dedup_key(alias: str) -> str:
    """The dedup key an alias stands for: the alias itself when it fits, else a stable hash of it
    (of its first 512 characters, as Opsgenie keeps them: a create and a close by alias agree).
    An alias in the hashed form's own namespace (`og:`) is hashed too: `og:1:<sha256 of a long alias>`
    sent as an alias is another alert, as in Opsgenie, not the long alias's."""
    alias = alias[: LIMITS["alias"]]
    if len(alias) <= MAX_DEDUP_KEY and not alias.startswith("og:"):
        return alias
    return "og:1:" + hashlib.sha256(alias.encode("utf-8", "surrogatepass")).hexdigest()


def parse_create(obj: Any, *, new_key: Callable[[], str], nul_free: bool = False) -> Event:
    """Return the trigger event for a create-alert body; raise Rejected (422, or 400 for a non-object)."""
    if not isinstance(obj, dict):
        raise Rejected(UNPROCESSABLE, ["the body must be a JSON object"], status=422)
    body = clean_json(obj, what="body", nul_free=nul_free)
    errors: list[str] = []
    text = {name: _text(body, name, errors) for name in LIMITS}
    if not text["message"].strip():
        errors.append("Message can not be empty.")
    priority = body.get("priority")
    warnings: tuple[str, ...] = ()
    if priority in (None, ""):
        priority = "P3"
    elif priority not in PRIORITIES:
        warnings = (f"priority {str(priority)[:40]!r} is not one of P1-P5; P3 (Opsgenie's default) is used",)
        priority = "P3"
    tags = _tags(body.get("tags"), errors)
    details = body.get("details")
    if details is not None and not isinstance(details, dict):
        errors.append("details must be an object of strings")
        details = None
    for name in ("responders", "visibleTo", "actions"):
        if body.get(name) is not None and not isinstance(body[name], list):
            errors.append(f"{name} must be a list")
    if errors:
        raise Rejected(UNPROCESSABLE, errors, status=422)
    labels: dict[str, str] = {}
    for key, value in (details or {}).items():
        labels[str(key)[:200]] = _label(value)
    if text["entity"]:
        labels["entity"] = text["entity"]
    if tags:
        labels["tags"] = ",".join(tags)
    labels["priority"] = str(priority)
    kept = {"description": text["description"], "details": details, "responders": body.get("responders"),
            "actions": body.get("actions"), "tags": tags, "user": text["user"], "note": text["note"]}
    alias = text["alias"]
    return Event(action=Action.trigger, dedup_key=dedup_key(alias) if alias else new_key(),
                 summary=text["message"].strip(), severity=PRIORITIES[str(priority)], source=text["source"],
                 labels=labels, details={k: v for k, v in kept.items() if v}, payload=body, warnings=warnings)


def parse_action(obj: Any, *, required: bool, nul_free: bool = False) -> ActionBody:
    """Return the `{user, source, note}` of an action body (`obj` None: no body); raise Rejected."""
    if obj is None:
        if required:
            raise Rejected(UNPROCESSABLE, ["Note can not be empty."], status=422)
        return ActionBody()
    if not isinstance(obj, dict):
        raise Rejected(UNPROCESSABLE, ["the body must be a JSON object"], status=422)
    body = clean_json(obj, what="body", nul_free=nul_free)
    errors: list[str] = []
    out = ActionBody(user=_text(body, "user", errors), source=_text(body, "source", errors),
                     note=_text(body, "note", errors))
    if required and not errors and not out.note.strip():
        errors.append("Note can not be empty.")
    if errors:
        raise Rejected(UNPROCESSABLE, errors, status=422)
    return out


def identifier_type(value: str | None) -> str:
    """The `identifierType` query value (default `id`); raise Rejected for another."""
    kind = value or "id"
    if kind not in IDENTIFIER_TYPES:
        raise Rejected(UNPROCESSABLE, [f"identifierType must be one of {', '.join(IDENTIFIER_TYPES)}"], status=422)
    return kind


def _text(body: dict[str, Any], name: str, errors: list[str]) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.append(f"{name} must be a string")
        return ""
    return value[: LIMITS[name]]


def _tags(value: Any, errors: list[str]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        errors.append("tags must be a list of strings")
        return []
    return [t.strip()[:MAX_TAG] for t in value if t.strip()][:MAX_TAGS]


def _label(value: Any) -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text[:MAX_LABEL_VALUE]
