"""The alert an inject sends (pure): as an Events API v2 body for the ingest endpoint, or as an Event
for the pipeline when the server fires it itself."""

from __future__ import annotations

from typing import Any

from tocsin.exercises.scenario import Inject
from tocsin.inbound.types import Action, AlertSeverity, Event

SOURCE = "tocsin exercise"


def alert_of(inject: Inject) -> tuple[Action, str, str, str, dict[str, str]] | None:
    """(action, dedup_key, summary, severity, labels) of an alert or status_change inject; None for others."""
    s = inject.spec
    if inject.type == "alert":
        action = Action.resolve if s.get("resolve") else Action.trigger
        return (action, s.get("dedup_key") or f"exercise-inject-{inject.n}", s["summary"], s.get("severity", "error"),
                {**s.get("labels", {}), "exercise": "true"})
    if inject.type == "status_change":
        action = Action.resolve if s["status"] == "recovered" else Action.trigger
        summary = f"{s['dependency']} is {s['status']}" + (f": {s['text']}" if s.get("text") else "")
        severity = "critical" if s["status"] == "down" else "warning"
        return (action, s.get("dedup_key") or f"dependency-{s['dependency']}", summary, severity,
                {"dependency": s["dependency"], "exercise": "true"})
    return None


def events_v2_body(inject: Inject, routing_key: str) -> dict[str, Any] | None:
    """The body to POST to /v2/enqueue for this inject, or None when it is not an alert."""
    found = alert_of(inject)
    if found is None:
        return None
    action, dedup, summary, severity, labels = found
    body: dict[str, Any] = {"routing_key": routing_key, "event_action": action.value, "dedup_key": dedup}
    if action is Action.trigger:
        body["payload"] = {"summary": summary, "source": SOURCE, "severity": severity, "custom_details": labels}
    return body


def event_of(inject: Inject) -> Event | None:
    found = alert_of(inject)
    if found is None:
        return None
    action, dedup, summary, severity, labels = found
    return Event(action=action, dedup_key=dedup, summary=summary, severity=AlertSeverity(severity), source=SOURCE,
                 details=labels)  # as the Events API v2 carries them: in custom_details
