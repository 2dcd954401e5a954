"""Burn-rate alerts on the SLO's service: the events a rule's verdict sends into the alert pipeline.

A rule that starts firing triggers an alert with the dedup key `slo:1:<slo id>:<rule>`, so it is
one alert however many evaluations see the burn; the verdict that ends it resolves that alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from tocsin.inbound.types import Action, AlertSeverity, Event, Source, clip_summary
from tocsin.pipeline.ingest import Incoming, ingest
from tocsin.slo.budget import RULES, Verdict, span
from tocsin.slo.models import Slo, alert_key

SOURCE = "tocsin slo"


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1f}"


def event_for(slo: Slo, verdict: Verdict) -> Event:
    """The trigger (it started firing) or resolve (it stopped) event of a changed verdict."""
    rule = verdict.rule
    labels = {"slo": slo.name, "slo_rule": rule.name}
    key = alert_key(slo.id, rule.name)
    if not verdict.firing:
        return Event(action=Action.resolve, dedup_key=key, source=SOURCE, labels=labels,
                     summary=clip_summary(f"SLO '{slo.name}' no longer burning its error budget fast ({rule.name})"))
    return Event(
        action=Action.trigger, dedup_key=key, source=SOURCE, labels=labels,
        severity=AlertSeverity.critical if rule.severity == "critical" else AlertSeverity.warning,
        summary=clip_summary(
            f"SLO '{slo.name}' burning its error budget: burn rate {_rate(verdict.long_rate)} over "
            f"{span(rule.long)} and {_rate(verdict.short_rate)} over {span(rule.short)} (threshold "
            f"{rule.threshold:g}, {rule.budget_note})"),
        details={"slo_id": str(slo.id), "rule": rule.name, "target": slo.target, "window_days": slo.window_days,
                 "long_window": span(rule.long), "short_window": span(rule.short), "threshold": rule.threshold,
                 "long_burn_rate": verdict.long_rate, "short_burn_rate": verdict.short_rate,
                 "reason": verdict.reason},
    )


def send(session: Session, slo: Slo, events: Iterable[Event], *, now: datetime) -> None:
    """Put events on the SLO's service through the alert pipeline, in the caller's transaction."""
    items = [Incoming(e, slo.service_id, None, Source.slo.value) for e in events]
    if items:
        ingest(session, items, now=now)


def resolve_all(session: Session, slo: Slo, *, now: datetime) -> None:
    """Resolve every alert the SLO has open (it was deleted, or its alerting turned off)."""
    firing = set(slo.firing or [])
    send(session, slo, [Event(action=Action.resolve, dedup_key=alert_key(slo.id, r.name), source=SOURCE,
                              summary=f"SLO '{slo.name}' alert ended: {r.name} no longer evaluated")
                        for r in RULES if r.name in firing], now=now)
    slo.firing = []
