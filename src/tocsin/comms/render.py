"""Filling a communication template from an incident, in Jinja2's immutable sandbox.

The template sees plain values only (strings, numbers, lists of strings: never a model object), so
there is nothing to reach through: `{{ ''.__class__ }}` and friends are refused by the sandbox, a
misspelt name is an error (StrictUndefined), and the output is capped (inbound/jinja_sandbox.py's
guards). Every failure is a `RenderError` with a message the editor can act on; nothing here raises
anything else for a bad template.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SecurityError
from sqlalchemy.orm import Session

from tocsin.inbound.jinja_sandbox import environment
from tocsin.inbound.jinja_sandbox import render as render_guarded
from tocsin.incidents import cadence as cadences
from tocsin.incidents import service as incidents
from tocsin.incidents import timeline
from tocsin.incidents.lifecycle import ACTIVE_STATUSES
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Role
from tocsin.users.models import User

ENV = environment(StrictUndefined)
NAMES = ("title", "ref", "severity", "status", "kind", "summary", "customers_affected", "revenue_at_risk_per_hour",
         "data_sensitivity", "customer_facing", "services", "next_update_due", "next_update_label", "commander",
         "url", "drill")


class RenderError(ValueError):
    """A template that does not compile or render; `str()` says why."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def human(when: datetime) -> str:
    """"Fri 06 Mar 10:30 UTC": the date and time, in UTC (a stakeholder may be anywhere)."""
    return when.astimezone(UTC).strftime("%a %d %b %H:%M UTC")


def context(s: Session, incident: Incident, *, now: datetime, public_url: str = "",
            cadence: cadences.Cadence | None = None) -> dict[str, Any]:
    """The plain values a template is filled from."""
    services = [svc.name for svc in incidents.services_of(s, [incident.id])[incident.id]]
    commander = next((a for a in incidents.roles_of(s, [incident.id])[incident.id]
                      if a.role == Role.incident_commander.value and a.ended_at is None), None)
    person = s.get(User, commander.user_id) if commander is not None else None
    name = person.name if person is not None else ""
    due = None
    if incident.status in ACTIVE_STATUSES:
        due = cadences.next_update_due(incident.severity, timeline.last_update_at(s, incident=incident), cadence)
        due = max(due, now)
    ref = incidents.ref(incident)
    return {
        "title": incident.title, "ref": ref, "severity": incident.severity, "status": incident.status,
        "kind": incident.kind, "summary": incident.summary or "",
        "customers_affected": incident.customers_affected, "revenue_at_risk_per_hour": incident.revenue_at_risk_per_hour,
        "data_sensitivity": incident.data_sensitivity or "", "customer_facing": incident.customer_facing,
        "services": services, "next_update_due": due.isoformat() if due else "",
        "next_update_label": human(due) if due else "", "commander": name,
        "url": f"{public_url.rstrip('/')}/incidents/{ref}", "drill": bool(incident.drill),
    }


def sample() -> dict[str, Any]:
    """A made-up incident that a template is tried on before it is saved."""
    return {
        "title": "Checkout payments failing", "ref": "INC-42", "severity": "SEV2", "status": "investigating",
        "kind": "operational", "summary": "Card payments time out for some customers.", "customers_affected": 120,
        "revenue_at_risk_per_hour": 5000.0, "data_sensitivity": "none", "customer_facing": True,
        "services": ["checkout", "payments"], "next_update_due": "2026-03-06T10:30:00+00:00",
        "next_update_label": "Fri 06 Mar 10:30 UTC", "commander": "Alice Example",
        "url": "https://tocsin.example/incidents/INC-42", "drill": False,
    }


def render_text(text: str, values: dict[str, Any]) -> str:
    try:
        return render_guarded(ENV.from_string(text), values)
    except SecurityError as exc:
        raise RenderError(f"not allowed in a template: {exc}") from None
    except TemplateError as exc:  # syntax errors, undefined names (StrictUndefined)
        line = getattr(exc, "lineno", None)
        raise RenderError(f"{exc.message or exc}{f' (line {line})' if line else ''}") from None
    except RecursionError:  # a macro that calls itself
        raise RenderError("the template failed: it calls itself without end") from None
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError, AssertionError) as exc:
        # AssertionError: some of Jinja2's filters assert their arguments (truncate(-1))
        raise RenderError(f"the template failed: {exc or 'a filter refused its arguments'}") from None


def render(subject: str, body: str, values: dict[str, Any]) -> Rendered:
    """Both parts filled; the subject is one line of at most 300 characters."""
    filled = render_text(subject, values)
    return Rendered(subject=" ".join(filled.split())[:300], body=render_text(body, values).strip())
