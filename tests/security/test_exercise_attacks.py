"""Exercises under attack (issue 19): a scenario, its drill key and its auto-incident rule must not
reach real alerts or real people, a scenario file must not take the server down (YAML bombs, deep
nesting, absurd durations), and a participant must not earn points for steps nobody did.

Bob takes part in the exercise; Oscar is on call for the real checkout service."""

from __future__ import annotations

import pytest

SCENARIO = """
name: Probe
kind: operational
severity: SEV1
service: drill-db
participants:
  - {email: BOB, role: incident_commander}
injects:
  - {at: 0s, type: alert, summary: "db is down", severity: critical, dedup_key: db-down}
  - {at: 2m, type: customer_report, text: "Orders fail"}
expect:
  - {type: acknowledged, within: WITHIN}
  - {type: step, step: revoke, within: 10m}
"""


@pytest.fixture
def rb(runbook):
    runbook.person("Alice Admin", role="admin")
    runbook.person("Bob")
    runbook.person("Oscar")
    runbook.service("checkout", tier=1, paging_unit="alert")
    runbook.policy((5, ["Oscar"]), service="checkout")
    return runbook


def _yaml(rb, within: str = "3m") -> str:
    return SCENARIO.replace("BOB", rb.people["Bob"].email).replace("WITHIN", within)


def test_the_exercise_auto_incident_rule_never_declares_for_a_real_alert(rb):
    """The exercise's rule matches `service=<drill slug>`, and an alert's own labels win over the
    service label: a real alert carrying that label (anyone with a real integration key can send one)
    must not become a real incident by the exercise's rule."""
    from tocsin.inbound.types import Action, AlertSeverity, Event

    alice = rb.as_("Alice Admin")
    run = alice.post("/exercises", scenario=_yaml(rb))
    real = Event(action=Action.trigger, dedup_key="real-1", summary="checkout errors", severity=AlertSeverity.critical,
                 source="prometheus", labels={"service": run["service"]})
    (out,) = rb.ingest(real, service="checkout")
    rb.tick()
    assert alice.get(f"/alerts/{out.alert_id}").get("incident") is None
    assert alice.get("/incidents")["items"] == []
    # the drill's own alert still declares the drill incident
    rb.ingest(rb.event("db-down", summary="db is down"), service=run["service"])
    (inc,) = alice.get("/incidents")["items"]
    assert inc["drill"] is True
