"""Alerts meeting incidents: auto-incident rules, and attaching an alert to an incident.

An attached alert shows on the incident's timeline. A rule that matches an alert whose group
already has an incident attaches the alert there instead of declaring a second incident.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence

from sqlalchemy.orm import Session

from tocsin.alerts.service import timeline_for_alert
from tocsin.flows.incidents import declare
from tocsin.incidents.models import Incident
from tocsin.incidents.service import Declaration, ref
from tocsin.incidents.types import Kind
from tocsin.pipeline.context import AutoRuleView, ServiceView
from tocsin.pipeline.rows import GroupRow, NewAlert, Recorder
from tocsin.principal import Principal
from tocsin.routing.matchers import Op, describe, match_all
from tocsin.severities import Severity

MAX_TITLE = 300


def auto_incident(session: Session, batch: Recorder, *, rules: Sequence[AutoRuleView], alert: NewAlert,
                  group: GroupRow, labels: dict[str, str], service: ServiceView,
                  drills: Collection[uuid.UUID] = frozenset(), slugs: Mapping[uuid.UUID, str] | None = None) -> None:
    """Apply the first auto-incident rule matching a new, unsuppressed alert. A rule that names a drill
    service (`service="<its slug>"`: an exercise's rule, issue 19) declares only for that service's own
    alerts: an alert's own labels win over the service label, so a real alert labelled with the drill's
    slug must not become a real incident by the exercise's rule."""
    drill_slugs = {slugs[d] for d in drills if d in slugs} if slugs else set()
    for rule in rules:
        if not match_all(rule.matchers, labels):
            continue
        named = {m.value for m in rule.matchers if m.name == "service" and m.op is Op.eq}
        if named & drill_slugs and service.slug not in named:
            continue
        if group.incident_id:
            return  # the caller attaches it to the group's incident
        actor = Principal.system(f"auto-incident rule '{rule.name}'")
        title = alert.summary[:MAX_TITLE].strip() or f"Alert on {service.slug}"
        incident = declare(session, actor=actor, now=batch.now, spec=Declaration(
            title=title, severity=Severity(rule.severity), kind=Kind(rule.kind), services=[service.slug],
            summary=f"Declared automatically by rule '{rule.name}' {describe(rule.matchers)} for alert {alert.id}.",
            severity_reason=f"auto-incident rule '{rule.name}'"))
        batch.touch_group(group, incident_id=incident.id)
        batch.note(alert.id, "incident_declared",
                   f"declared {ref(incident)} ({rule.severity}) by auto-incident rule '{rule.name}' "
                   f"{describe(rule.matchers)}", incident=ref(incident), rule_id=str(rule.id))
        _link(session, batch, alert=alert, incident=incident, actor=actor)
        return


def attach_to_incident_id(session: Session, batch: Recorder, *, alert: NewAlert, incident_id: uuid.UUID,
                          why: str) -> None:
    incident = session.get(Incident, incident_id)
    if incident is None:
        return
    batch.note(alert.id, "attached", f"attached to {ref(incident)}: {why}", incident=ref(incident))
    _link(session, batch, alert=alert, incident=incident, actor=Principal.system("alert grouping"))


def _link(session: Session, batch: Recorder, *, alert: NewAlert, incident: Incident, actor: Principal) -> None:
    alert.incident_id = incident.id
    timeline_for_alert(session, incident=incident, actor=actor, now=batch.now, alert_id=alert.id,
                       severity=alert.severity, summary=alert.summary, dedup_key=alert.dedup_key,
                       service_id=alert.service_id)
