"""A known problem comes back: the runbook of recording a problem and recognising its recurrences.

Alertmanager reports the checkout database pool running dry → an auto-incident rule declares
INC-1 → Bob records problem PRB-1 with the workaround and links INC-1 → two weeks later the alert
fires again and INC-2 is declared → Carol, on call, is shown PRB-1 as a likely cause with the
workaround and why it matched → she links it and the workaround lands on INC-2's timeline →
the cause is fixed and PRB-1 resolved → when it fires a third time nothing is suggested (the
problem was resolved), Carol links INC-3 by hand and PRB-1 opens again.

Runs on SQLite and PostgreSQL through the API; time moves only with the ManualClock.
"""

from __future__ import annotations

from typing import Any

import pytest

API = "/api/v1"
WORKAROUND = "kubectl rollout restart deploy/checkout"
MATCHED = ["same service checkout and labels alertname=PoolExhausted",
           # auto-incidents take the alert's summary as their title, so INC-2's title is INC-1's
           'title shares checkout, connection, pool with the title of linked incident '
           '"Checkout DB connection pool at 100%" (similarity 1.00 >= 0.5)']


@pytest.fixture
def team(make_person, make_service):
    make_service("checkout", tier=1)
    return {"ada": make_person("admin", name="Ada"), "bob": make_person("responder", name="Bob"),
            "carol": make_person("responder", name="Carol")}


def call(client, who, method: str, path: str, expect: int = 200, /, **body: Any) -> Any:
    """Send `body` (keyword arguments; positional-only parameters leave `status` free for it)."""
    r = client.request(method, f"{API}{path}", json=body or None, headers=who.headers)
    assert r.status_code == expect, f"{method} {path}: {r.text}"
    return r.json() if r.content else None


def alertmanager(client, key: str, status: str) -> None:
    group = {"version": "4", "status": status, "alerts": [{
        "status": status, "fingerprint": "5eed5eed5eed5eed",
        "labels": {"alertname": "PoolExhausted", "env": "prod", "pod": "checkout-7f9"},
        "annotations": {"summary": "Checkout DB connection pool at 100%"}}]}
    assert client.post(f"/integrations/alertmanager/{key}", json=group).status_code == 202


def get(client, who, path: str, **params: Any) -> Any:
    r = client.get(f"{API}{path}", params=params, headers=who.headers)
    assert r.status_code == 200, f"GET {path}: {r.text}"
    return r.json()


def newest_incident(client, who) -> dict[str, Any]:
    return get(client, who, "/incidents", limit=1)["items"][0]


def open_alert(client, who) -> str:
    (alert,) = get(client, who, "/alerts", status="triggered")["items"]
    return alert["id"]


def suggested(client, who, incident: str) -> list[tuple[str, str, list[str]]]:
    return [(s["problem"]["ref"], s["problem"]["workaround"], s["reasons"])
            for s in call(client, who, "GET", f"/incidents/{incident}/problem-suggestions")]


def problem_entries(client, who, incident: str) -> list[str]:
    items = call(client, who, "GET", f"/incidents/{incident}/timeline")["items"]
    return [e["text"] for e in items if e["kind"] == "problem"]


def test_a_known_problem_is_recognised_when_it_recurs(client, team, clock):
    ada, bob, carol = team["ada"], team["bob"], team["carol"]
    key = call(client, ada, "POST", "/integrations", 201, service="checkout", type="alertmanager", name="prom")["key"]
    call(client, ada, "POST", "/auto-incident-rules", 201, name="pool", matchers=['alertname="PoolExhausted"'],
         incident_severity="SEV2")

    # Day 0: the pool runs dry; INC-1 is declared automatically. Nothing is known about it yet.
    alertmanager(client, key, "firing")
    first = newest_incident(client, bob)["ref"]
    assert suggested(client, bob, first) == []

    # Bob finds the cause and records it as a known error, linking INC-1.
    clock.advance(hours=3)
    prb = call(client, bob, "POST", "/problems", 201, title="Checkout DB connection pool exhausted",
               root_cause="Connections leak when the payment provider times out", workaround=WORKAROUND,
               status="known_error", service="checkout", match={"labels": {"alertname": "PoolExhausted"}},
               incidents=[first])
    assert prb["ref"] == "PRB-1" and [(i["ref"], i["recurrence"]) for i in prb["incidents"]] == [(first, False)]
    alertmanager(client, key, "resolved")
    call(client, bob, "PATCH", f"/incidents/{first}", status="resolved")

    # Two weeks later it fires again. Carol, on call, opens INC-2 and is shown the known problem.
    clock.advance(days=14)
    alertmanager(client, key, "firing")
    second = newest_incident(client, carol)["ref"]
    assert second != first
    assert suggested(client, carol, second) == [("PRB-1", WORKAROUND, MATCHED)]
    alert = open_alert(client, carol)
    assert [(s["problem"]["ref"], s["reasons"]) for s in
            call(client, carol, "GET", f"/alerts/{alert}/problem-suggestions")] == [("PRB-1", MATCHED)]

    # She links it: the workaround is on INC-2's timeline, and it counts as a recurrence.
    call(client, carol, "POST", "/problems/PRB-1/incidents", 201, incident=second)
    assert problem_entries(client, carol, second) == [
        f"Known problem PRB-1: Checkout DB connection pool exhausted. Workaround: {WORKAROUND}"]
    assert [(p["ref"], p["workaround"]) for p in call(client, carol, "GET", f"/incidents/{second}/problems")] == \
        [("PRB-1", WORKAROUND)]
    assert suggested(client, carol, second) == []  # already linked
    prb = call(client, carol, "GET", "/problems/PRB-1")
    assert [(i["ref"], i["recurrence"]) for i in prb["incidents"]] == [(first, False), (second, True)]
    alertmanager(client, key, "resolved")
    call(client, carol, "PATCH", f"/incidents/{second}", status="resolved")

    # The leak is fixed; the problem is resolved and stops being suggested.
    clock.advance(days=2)
    assert call(client, bob, "PATCH", "/problems/PRB-1", status="resolved")["resolved_at"] is not None
    clock.advance(days=30)
    alertmanager(client, key, "firing")
    third = newest_incident(client, carol)["ref"]
    assert third not in (first, second)
    assert suggested(client, carol, third) == []

    # Carol recognises it anyway and links it: the problem opens again.
    reopened = call(client, carol, "POST", "/problems/PRB-1/incidents", 201, incident=third)
    assert reopened["status"] == "open" and reopened["resolved_at"] is None
    assert [i["recurrence"] for i in reopened["incidents"]] == [False, True, True]
    assert suggested(client, carol, third) == []
