"""The normalized event every inbound format produces, and the one rejection error.

Parsers are pure: bytes or decoded JSON in, a list of `Event` out, or `Rejected` with
every problem found. Nothing here touches the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

MAX_EVENT_BYTES = 512_000  # PagerDuty's limit per event; Alertmanager uses the same figure
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255


def clip_summary(text: str) -> str:
    """`text` cut to MAX_SUMMARY characters, ending in "..." where it was cut."""
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 3] + "..."


class Action(StrEnum):
    trigger = "trigger"
    acknowledge = "acknowledge"
    resolve = "resolve"


class AlertSeverity(StrEnum):
    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"


class Source(StrEnum):
    events_v2 = "events_v2"
    alertmanager = "alertmanager"
    grafana = "grafana"
    generic = "generic"
    email = "email"
    opsgenie = "opsgenie"
    heartbeat = "heartbeat"
    check = "check"
    slo = "slo"


# tocsin's own alerts (heartbeats, checks, SLO burn rates) use keys of these forms, and only they may:
# a sender that names one (the ids are readable by anyone signed in) gets `OUTSIDE_PREFIX` put before
# it, so it can neither resolve, acknowledge nor swallow tocsin's alert, and still ends its own.
OWN_SOURCES = frozenset({Source.heartbeat.value, Source.check.value, Source.slo.value})
OWN_KEY_PREFIXES = ("hb:", "check:", "slo:")
OUTSIDE_PREFIX = "ext:"


def outside_key(source: str, dedup_key: str) -> str:
    """The key an event from `source` is applied with: its own, unless an outside sender named one of
    tocsin's own keys."""
    if source in OWN_SOURCES or not dedup_key.startswith(OWN_KEY_PREFIXES):
        return dedup_key
    return OUTSIDE_PREFIX + dedup_key


@dataclass(frozen=True, slots=True)
class Event:
    """One alert event, whatever tool sent it.

    `dedup_key` is the key alerts are deduplicated on within a service. Keys tocsin derives
    carry a format and version (`am:1:<fingerprint>`), so a change of derivation never merges
    unrelated alerts; keys a sender chose (PagerDuty `dedup_key`) are kept exactly, because the
    sender must be able to acknowledge and resolve with them.
    """

    action: Action
    dedup_key: str
    summary: str = ""
    severity: AlertSeverity = AlertSeverity.error
    source: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    details: Any = None
    links: list[dict[str, str]] = field(default_factory=list)
    occurred_at: datetime | None = None
    payload: Any = None  # this alert's part of the source payload, kept verbatim
    # What was wrong with the event but did not stop it being stored (an unparseable timestamp):
    # recorded in the decisions of the alert it creates.
    warnings: tuple[str, ...] = ()
    # An acknowledge or resolve that names its alert (Opsgenie's identifierType=id): applied to that
    # alert only, never to another one that shares its dedup key in another dedup scope.
    alert_id: uuid.UUID | None = None


class Rejected(Exception):
    """The payload cannot be accepted; `errors` lists every problem, for the 4xx body."""

    def __init__(self, message: str, errors: list[str] | None = None, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or [message]
        self.status = status
