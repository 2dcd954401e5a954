"""The Guardrails panel: the guardrails tripped on this incident and not yet cleared, each with why and what to do (issue 19).

`panel` returns the template's values, or None for no panel (then room_guardrails.html is not included)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.config import Settings
from tocsin.guardrails import service as guardrails
from tocsin.guardrails.rules import ABOUT, Rule
from tocsin.incidents.models import Incident
from tocsin.principal import Principal


def panel(s: Session, me: Principal, incident: Incident, tz: str, now: datetime, settings: Settings
          ) -> dict[str, Any] | None:
    """The incident's uncleared trips (the caller got `incident` through need-to-know), or None when there are none."""
    trips = []
    for t in guardrails.open_trips(s, incident.id):
        about = ABOUT.get(Rule(t.rule)) if t.rule in Rule.__members__ else None
        trips.append({"rule": t.rule, "label": about.label if about else t.rule, "detail": t.detail,
                      "advice": about.advice if about else "",
                      "at": t.tripped_at})
    return {"trips": trips} if trips else None
