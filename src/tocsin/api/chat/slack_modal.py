"""Slack's declare form: the Block Kit modal `/incident` opens (title, severity or "suggest from
impact", the impact questions of incidents/severity.py, services, security and restricted), and
the submission read back into an `incidents.Declaration`.

A submission the form itself could catch (no title, a number that is not one, a severity that
departs from the suggestion without a reason) goes back as Slack's `response_action: errors`, keyed
by the form's block ids, so the person fixes the form instead of losing it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.errors import InvalidInput, TocsinError
from tocsin.flows import incidents as flows
from tocsin.incidents.models import Incident
from tocsin.incidents.service import Declaration
from tocsin.incidents.severity import Impact, suggest_severity
from tocsin.incidents.types import DataSensitivity, Kind
from tocsin.principal import Principal
from tocsin.services.models import Service
from tocsin.severities import Severity

CALLBACK_ID = "tocsin_declare"
SUGGEST = "suggest"
MAX_SERVICES = 100  # a static select holds at most 100 options
_SEVERITY_WORDS = {"SEV1": "SEV1: critical, widespread impact", "SEV2": "SEV2: major, many customers",
                   "SEV3": "SEV3: minor, some customers", "SEV4": "SEV4: low, little impact"}
_SENSITIVITY_WORDS = {"none": "No data involved", "internal": "Internal data", "confidential": "Confidential data",
                      "regulated": "Regulated data (personal, payment, health)"}
_FIELD_BLOCKS = {"title": "title", "severity": "severity", "severity_reason": "severity_reason",
                 "services": "services", "customers_affected": "customers_affected",
                 "revenue_at_risk_per_hour": "revenue", "data_sensitivity": "data_sensitivity"}


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:75], "emoji": False}


def _option(value: str, text: str) -> dict[str, Any]:
    return {"text": _text(text), "value": value[:150]}


def _input(block_id: str, label: str, element: dict[str, Any], *, optional: bool = True,
           hint: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "input", "block_id": block_id, "label": _text(label), "optional": optional,
                             "element": {"action_id": "value", **element}}
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint[:150]}
    return block


def declare_view(s: Session, *, channel_id: str, severity: Severity | None = None) -> dict[str, Any]:
    """The declare modal (`severity` chosen already when the command named one); `private_metadata`
    remembers the channel the command came from (the confirmation goes there, to the declarer alone)."""
    severities = [_option(SUGGEST, "Suggest from impact")] + [_option(k, v) for k, v in _SEVERITY_WORDS.items()]
    initial = next((o for o in severities if severity is not None and o["value"] == severity.value), severities[0])
    blocks: list[dict[str, Any]] = [
        _input("title", "Title", {"type": "plain_text_input", "max_length": 300,
                                  "placeholder": _text("Checkout errors for EU customers")}, optional=False),
        _input("severity", "Severity", {"type": "static_select", "options": severities,
                                        "initial_option": initial},
               hint="Leave on 'Suggest from impact' to take the severity the answers below suggest."),
        _input("severity_reason", "Why this severity", {"type": "plain_text_input", "max_length": 2000},
               hint="Needed when the severity you choose differs from the suggested one."),
        _input("customer_facing", "Customer-facing?", {"type": "checkboxes", "options": [
            _option("yes", "Customers can see the problem")]}),
        _input("customers_affected", "Customers affected (about)", {"type": "number_input",
                                                                    "is_decimal_allowed": False, "min_value": "0"}),
        _input("revenue", "Revenue at risk per hour", {"type": "number_input", "is_decimal_allowed": True,
                                                        "min_value": "0"}),
        _input("data_sensitivity", "Data involved (data loss or exposure)", {"type": "static_select", "options": [
            _option(k, v) for k, v in _SENSITIVITY_WORDS.items()]}),
    ]
    services = s.execute(sa.select(Service.slug, Service.name).order_by(Service.slug).limit(MAX_SERVICES)).all()
    if services:
        blocks.append(_input("services", "Services affected", {"type": "multi_static_select", "options": [
            _option(slug, f"{name} ({slug})" if name != slug else slug) for slug, name in services]}))
    blocks.append(_input("flags", "Kind", {"type": "checkboxes", "options": [
        _option("security", "Security incident (restricted unless unticked below)"),
        _option("restricted", "Restricted: need-to-know only")]}))
    return {"type": "modal", "callback_id": CALLBACK_ID, "title": _text("Declare an incident"),
            "submit": _text("Declare"), "close": _text("Cancel"), "blocks": blocks,
            "private_metadata": json.dumps({"channel": channel_id})}


@dataclass(frozen=True)
class Form:
    """What the person filled in (None: left empty)."""

    title: str
    severity: str | None
    severity_reason: str | None
    impact: Impact
    services: list[str]
    security: bool
    restricted: bool


def _value(values: dict[str, Any], block: str) -> dict[str, Any]:
    got = values.get(block)
    item = got.get("value") if isinstance(got, dict) else None
    return item if isinstance(item, dict) else {}


def _selected(item: dict[str, Any]) -> list[str]:
    options = item.get("selected_options")
    if isinstance(options, list):
        return [str(o.get("value")) for o in options if isinstance(o, dict) and o.get("value") is not None]
    one = item.get("selected_option")
    return [str(one["value"])] if isinstance(one, dict) and one.get("value") is not None else []


def _number(item: dict[str, Any], block: str, errors: dict[str, str], *, whole: bool) -> float | None:
    raw = item.get("value")
    if raw in (None, ""):
        return None
    try:
        number = float(str(raw)) if not whole else int(str(raw))
    except ValueError:
        errors[block] = "Enter a whole number" if whole else "Enter a number"
        return None
    if number < 0 or number > (2**31 - 1 if whole else 1e15):
        errors[block] = "Enter a number from 0"
        return None
    return number


def read_form(view: dict[str, Any]) -> tuple[Form | None, dict[str, str]]:
    """The form in a `view_submission`'s view, or the errors to show on it."""
    state = view.get("state") if isinstance(view, dict) else None
    values = state.get("values") if isinstance(state, dict) else None
    if not isinstance(values, dict):
        return None, {"title": "The form arrived empty; try again"}
    errors: dict[str, str] = {}
    title = str(_value(values, "title").get("value") or "").strip()
    if not title:
        errors["title"] = "Give the incident a title"
    elif len(title) > 300:
        errors["title"] = "At most 300 characters"
    severity = next(iter(_selected(_value(values, "severity"))), SUGGEST)
    if severity != SUGGEST and severity not in _SEVERITY_WORDS:
        errors["severity"] = "Choose a severity"
    reason = str(_value(values, "severity_reason").get("value") or "").strip() or None
    customers = _number(_value(values, "customers_affected"), "customers_affected", errors, whole=True)
    revenue = _number(_value(values, "revenue"), "revenue", errors, whole=False)
    sensitivity = next(iter(_selected(_value(values, "data_sensitivity"))), None)
    if sensitivity is not None and sensitivity not in _SENSITIVITY_WORDS:
        errors["data_sensitivity"] = "Choose one of the listed kinds of data"
        sensitivity = None
    flags = set(_selected(_value(values, "flags")))
    impact = Impact(customers_affected=int(customers) if customers is not None else None,
                    revenue_at_risk_per_hour=revenue,
                    data_sensitivity=DataSensitivity(sensitivity) if sensitivity else None,
                    customer_facing=True if "yes" in _selected(_value(values, "customer_facing")) else None)
    if errors:
        return None, errors
    return Form(title, None if severity == SUGGEST else severity, reason, impact,
                _selected(_value(values, "services"))[:MAX_SERVICES], "security" in flags,
                "restricted" in flags), {}


def declaration(form: Form) -> tuple[Declaration | None, dict[str, str]]:
    """The declaration a form asks for: its severity, or the suggested one (with its reasons)."""
    suggestion = suggest_severity(form.impact)
    if form.severity is None and suggestion is None:
        return None, {"severity": "Choose a severity, or answer the impact questions so one can be suggested"}
    severity = Severity(form.severity) if form.severity else suggestion.severity if suggestion else Severity.SEV3
    reason = form.severity_reason
    if form.severity is None and suggestion is not None and not reason:
        reason = "suggested from impact: " + "; ".join(suggestion.reasons)
    impact = {k: v for k, v in {
        "customers_affected": form.impact.customers_affected,
        "revenue_at_risk_per_hour": form.impact.revenue_at_risk_per_hour,
        "data_sensitivity": form.impact.data_sensitivity.value if form.impact.data_sensitivity else None,
        "customer_facing": form.impact.customer_facing}.items() if v is not None}
    kind = Kind.security if form.security else Kind.operational
    restricted = True if form.restricted else None  # a security incident is restricted unless said otherwise
    return Declaration(title=form.title, severity=severity, kind=kind, services=form.services, impact=impact,
                       severity_reason=reason, restricted=restricted), {}


def declare_from_view(s: Session, *, actor: Principal, now: datetime,
                      view: dict[str, Any]) -> tuple[Incident | None, dict[str, str]]:
    """Declare the incident a submitted form describes: (incident, {}) or (None, errors by block id).

    The declaration runs in a savepoint: a refused one leaves the caller's transaction as it was."""
    form, errors = read_form(view)
    if form is None:
        return None, errors
    spec, errors = declaration(form)
    if spec is None:
        return None, errors
    try:
        with s.begin_nested():
            return flows.declare(s, actor=actor, now=now, spec=spec), {}
    except InvalidInput as exc:
        block = _FIELD_BLOCKS.get(str(exc.details.get("field")), "title")
        return None, {block: exc.message[:150]}
    except TocsinError as exc:
        return None, {"title": exc.message[:150]}


def channel_of(view: dict[str, Any]) -> str | None:
    """The channel the declare command came from (the form's private metadata)."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError, RecursionError):
        return None
    channel = meta.get("channel") if isinstance(meta, dict) else None
    return channel if isinstance(channel, str) and channel else None
