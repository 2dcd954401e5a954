"""A known problem comes back: the runbook of recording a problem and recognising its recurrences.

Alertmanager reports the checkout database pool running dry → an auto-incident rule declares
INC-1 → Bob records problem PRB-1 with the workaround and links INC-1 → two weeks later the alert
fires again and INC-2 is declared → Carol, on call, is shown PRB-1 as a likely cause with the
workaround and why it matched → she links it and the workaround lands on INC-2's timeline →
the cause is fixed and PRB-1 resolved → when it fires a third time nothing is suggested (the
problem was resolved), Carol links INC-3 by hand and PRB-1 opens again.

Written on the harness's runbook (tests/harness/scenario.py): everything goes through the API as
Ada, Bob or Carol (`rb.as_`); SQLite and PostgreSQL; time moves only with the ManualClock.
"""

from __future__ import annotations

from typing import Any

import pytest

WORKAROUND = "kubectl rollout restart deploy/checkout"
MATCHED = ["same service checkout and labels alertname=PoolExhausted",
           # auto-incidents take the alert's summary as their title, so INC-2's title is INC-1's
           'title shares checkout, connection, pool with the title of linked incident '
           '"Checkout DB connection pool at 100%" (similarity 1.00 >= 0.5)']


@pytest.fixture
def rb(runbook):
    """Ada (admin), Bob and Carol (responders) and the service checkout."""
    runbook.service("checkout", tier=1)
    runbook.person("Ada", role="admin")
    runbook.person("Bob")
    runbook.person("Carol")
    return runbook


def alertmanager(rb, key: str, status: str) -> None:
    """Alertmanager posts the PoolExhausted group (firing or resolved) to the integration `key`."""
    group = {"version": "4", "status": status, "alerts": [{
        "status": status, "fingerprint": "5eed5eed5eed5eed",
        "labels": {"alertname": "PoolExhausted", "env": "prod", "pod": "checkout-7f9"},
        "annotations": {"summary": "Checkout DB connection pool at 100%"}}]}
    assert rb.http.post(f"/integrations/alertmanager/{key}", json=group).status_code == 202


def newest_incident(who) -> dict[str, Any]:
    return who.get("/incidents", limit=1)["items"][0]


def open_alert(who) -> str:
    (alert,) = who.get("/alerts", status="triggered")["items"]
    return alert["id"]


def suggested(who, incident: str) -> list[tuple[str, str, list[str]]]:
    return [(s["problem"]["ref"], s["problem"]["workaround"], s["reasons"])
            for s in who.get(f"/incidents/{incident}/problem-suggestions")["items"]]


def problem_entries(who, incident: str) -> list[str]:
    items = who.get(f"/incidents/{incident}/timeline")["items"]
    return [e["text"] for e in items if e["kind"] == "problem"]


def test_a_known_problem_is_recognised_when_it_recurs(rb):
    ada, bob, carol = rb.as_("Ada"), rb.as_("Bob"), rb.as_("Carol")
    key = ada.post("/integrations", service="checkout", type="alertmanager", name="prom")["key"]
    ada.post("/auto-incident-rules", name="pool", matchers=['alertname="PoolExhausted"'], incident_severity="SEV2")

    # Day 0: the pool runs dry; INC-1 is declared automatically. Nothing is known about it yet.
    alertmanager(rb, key, "firing")
    first = newest_incident(bob)["ref"]
    assert suggested(bob, first) == []

    # Bob finds the cause and records it as a known error, linking INC-1.
    rb.clock.advance(hours=3)
    prb = bob.post("/problems", title="Checkout DB connection pool exhausted",
                   root_cause="Connections leak when the payment provider times out", workaround=WORKAROUND,
                   status="known_error", service="checkout", match={"labels": {"alertname": "PoolExhausted"}},
                   incidents=[first])
    assert prb["ref"] == "PRB-1" and [(i["ref"], i["recurrence"]) for i in prb["incidents"]] == [(first, False)]
    alertmanager(rb, key, "resolved")
    bob.patch(f"/incidents/{first}", status="resolved")

    # Two weeks later it fires again. Carol, on call, opens INC-2 and is shown the known problem.
    rb.clock.advance(days=14)
    alertmanager(rb, key, "firing")
    second = newest_incident(carol)["ref"]
    assert second != first
    assert suggested(carol, second) == [("PRB-1", WORKAROUND, MATCHED)]
    alert = open_alert(carol)
    assert [(s["problem"]["ref"], s["reasons"]) for s in
            carol.get(f"/alerts/{alert}/problem-suggestions")["items"]] == [("PRB-1", MATCHED)]

    # She links it: the workaround is on INC-2's timeline, and it counts as a recurrence.
    carol.post("/problems/PRB-1/incidents", incident=second)
    assert problem_entries(carol, second) == [
        f"Known problem PRB-1: Checkout DB connection pool exhausted. Workaround: {WORKAROUND}"]
    assert [(p["ref"], p["workaround"]) for p in carol.get(f"/incidents/{second}/problems")["items"]] == \
        [("PRB-1", WORKAROUND)]
    assert suggested(carol, second) == []  # already linked
    prb = carol.get("/problems/PRB-1")
    assert [(i["ref"], i["recurrence"]) for i in prb["incidents"]] == [(first, False), (second, True)]
    alertmanager(rb, key, "resolved")
    carol.patch(f"/incidents/{second}", status="resolved")

    # The leak is fixed; the problem is resolved and stops being suggested.
    rb.clock.advance(days=2)
    assert bob.patch("/problems/PRB-1", status="resolved")["resolved_at"] is not None
    rb.clock.advance(days=30)
    alertmanager(rb, key, "firing")
    third = newest_incident(carol)["ref"]
    assert third not in (first, second)
    assert suggested(carol, third) == []

    # Carol recognises it anyway and links it: the problem opens again.
    reopened = carol.post("/problems/PRB-1/incidents", incident=third)
    assert reopened["status"] == "open" and reopened["resolved_at"] is None
    assert [i["recurrence"] for i in reopened["incidents"]] == [False, True, True]
    assert suggested(carol, third) == []
