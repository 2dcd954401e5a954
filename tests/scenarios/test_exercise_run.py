"""A scored game day through the real pipeline (issue 19): an admin starts a run, its alert goes
through the ingest endpoint with the drill key, the pipeline declares the drill incident and pages
the participants; they acknowledge, take command, post an update and mitigate; the IC's laptop dies
and someone else takes over; the run is finished and scored (times, a guardrail, expectations).

Written on the harness's runbook: SQLite and PostgreSQL, a ManualClock, the whole engine."""

from __future__ import annotations

import pytest

SCENARIO = """
name: Checkout database
kind: operational
severity: SEV1
service: drill-db
participants:
  - {email: bob@example.com, role: incident_commander}
  - {email: carol@example.com, role: sme}
injects:
  - {at: 0s, type: alert, summary: "checkout-db is down", severity: critical, dedup_key: db-down}
  - {at: 2m, type: customer_report, text: "Orders fail at payment", from: Support}
  - {at: 4m, type: ic_unavailable}
expect:
  - {type: acknowledged, within: 3m}
  - {type: incident_commander, within: 3m}
  - {type: severity, within: 5m}
  - {type: first_update, within: 5m}
  - {type: new_commander, within: 2m, after_inject: 2}
  - {type: mitigated, within: 10m}
"""


@pytest.fixture
def rb(runbook):
    runbook.person("Alice Admin", role="admin")
    runbook.person("Bob")
    runbook.person("Carol")
    runbook.person("Dave")  # not a participant: never paged
    return runbook


def _yaml(rb) -> str:
    return (SCENARIO.replace("bob@example.com", rb.people["Bob"].email)
            .replace("carol@example.com", rb.people["Carol"].email))


def test_a_scored_game_day_through_the_real_pipeline(rb):
    alice, bob, carol = rb.as_("Alice Admin"), rb.as_("Bob"), rb.as_("Carol")
    run = alice.post("/exercises", scenario=_yaml(rb))
    assert run["status"] == "running" and run["mode"] == "live" and run["integration_key"]
    rid = run["id"]

    # inject 1: the alert goes through the real ingest endpoint with the drill key; the participants are paged
    r = rb.http.post("/v2/enqueue", json={"routing_key": run["integration_key"], "event_action": "trigger",
                                          "dedup_key": "db-down", "payload": {"summary": "checkout-db is down",
                                                                              "source": "drill", "severity": "critical"}})
    assert r.status_code == 202, r.text
    alice.post(f"/exercises/{rid}/injects/0", 200, delivered=True, status_code=202)
    rb.tick()
    rb.expect_email("Bob", "checkout-db is down")
    rb.expect_email("Carol", "checkout-db is down")
    assert rb.emails("Dave") == []
    got = alice.get(f"/exercises/{rid}")
    assert got["incident"] is not None and got["progress"]["injects_fired"] == 1
    ref = got["incident"]["ref"]
    incident = bob.get(f"/incidents/{ref}")
    assert incident["severity"] == "SEV3"

    # Bob acknowledges at 1 min and takes command; Carol sets SEV1 (an update) at 2 min
    rb.tick(minutes=1)
    (alert,) = rb.alerts(run["service"])
    rb.ack(alert.id, "Bob")
    bob.post(f"/incidents/{ref}/roles", 200, role="incident_commander", user=rb.people["Bob"].email)
    rb.clock.advance(minutes=1)
    alice.post(f"/exercises/{rid}/injects/1", 200)
    carol.patch(f"/incidents/{ref}", severity="SEV1")
    assert any(e["kind"] == "exercise" and "customer report: Orders fail at payment" in e["text"]
               for e in bob.get(f"/incidents/{ref}/timeline")["items"])

    # 4 min: the IC's laptop dies; Carol takes command 1 min later
    rb.clock.advance(minutes=2)
    alice.post(f"/exercises/{rid}/injects/2", 200)
    assert not [x for x in bob.get(f"/incidents/{ref}")["roles"] if x["role"] == "incident_commander"]
    rb.clock.advance(minutes=1)
    carol.post(f"/incidents/{ref}/roles", 200, role="incident_commander", user=rb.people["Carol"].email)

    # 8 min: mitigated (too late for nothing: within 10 min)
    rb.clock.advance(minutes=3)
    carol.patch(f"/incidents/{ref}", status="mitigated")
    progress = alice.get(f"/exercises/{rid}/score")
    assert progress["status"] == "running"

    # 11 min: still no Scribe on this SEV1: the guardrail trips (the engine's guardrails job) and costs points
    rb.tick(minutes=3)
    done = alice.post(f"/exercises/{rid}/finish", 200)
    score = done["score"]
    assert score["times"] == {"acknowledge": 60.0, "commander": 60.0, "first_update": 120.0, "mitigated": 480.0}
    assert [x["status"] for x in score["results"]] == ["met"] * 6
    assert score["guardrails"] == ["no_scribe"] and score["guardrail_penalty"] == 10
    assert score["total"] == 90 and score["passed"] is True
    assert alice.get(f"/exercises/{rid}/score")["total"] == 90
    # the IC bench credits both people who held command with a passed exercise as Incident Commander
    bench = {row["user"]["email"]: [c["name"] for c in row["exercises_passed"]] for row in alice.get("/ic-bench")}
    assert bench[rb.people["Bob"].email] == bench[rb.people["Carol"].email] == [run["name"]]
    # the key stops working once the run is over
    r = rb.http.post("/v2/enqueue", json={"routing_key": run["integration_key"], "event_action": "trigger",
                                          "dedup_key": "again", "payload": {"summary": "x", "source": "d",
                                                                            "severity": "error"}})
    assert r.status_code in (400, 404)


def test_a_tabletop_is_advanced_by_hand_and_missed_deadlines_cost(rb):
    alice = rb.as_("Alice Admin")
    run = alice.post("/exercises", scenario=_yaml(rb), mode="tabletop")
    assert run["integration_key"] is None and run["incident"] is not None
    rid, ref = run["id"], run["incident"]["ref"]
    rb.clock.advance(minutes=1)
    first = alice.post(f"/exercises/{rid}/advance", 200)
    assert first["n"] == 0
    entries = alice.get(f"/incidents/{ref}/timeline")["items"]
    assert any(e["kind"] == "exercise" and "checkout-db is down" in e["text"] for e in entries)
    assert rb.emails("Bob") == []  # no real injects: nobody paged
    rb.clock.advance(minutes=20)
    score = alice.post(f"/exercises/{rid}/finish", 200)["score"]
    assert score["total"] == 0 and score["passed"] is False
    alice.post(f"/exercises/{rid}/advance", 409)


def test_bad_scenarios_and_outsiders_are_refused(rb):
    alice, bob = rb.as_("Alice Admin"), rb.as_("Bob")
    bad = alice.post("/exercises", 422, scenario="name: x\nkind: operational\nseverity: SEV9\n")
    assert "severity" in bad["error"]["message"] or any("severity" in e for e in bad["error"]["details"]["errors"])
    alice.post("/exercises", 422, scenario="name: [unclosed")
    alice.post("/exercises", 422, shipped="nope")
    unknown = _yaml(rb).replace(rb.people["Carol"].email, "nobody@example.com")
    assert "nobody@example.com" in alice.post("/exercises", 422, scenario=unknown)["error"]["message"]
    bob.post("/exercises", 403, scenario=_yaml(rb))
    run = alice.post("/exercises", scenario=_yaml(rb))
    bob.post(f"/exercises/{run['id']}/injects/1", 403)
    alice.post(f"/exercises/{run['id']}/injects/9", 404)
    alice.post(f"/exercises/{run['id']}/injects/1", 200)
    alice.post(f"/exercises/{run['id']}/injects/1", 409)
    assert bob.get("/exercises")["items"][0]["id"] == run["id"]
    assert bob.get("/exercises/schema")["title"] == "tocsin exercise scenario"


def test_a_security_drill_is_restricted_to_its_participants_and_scores_a_checklist_step(rb):
    """The leaked-credential scenario as a tabletop: the drill incident is restricted (security), its
    participants are in the circle and Dave is not; revoking the key on the checklist meets the step."""
    from tocsin.exercises.scenario import shipped

    alice, bob, dave = rb.as_("Alice Admin"), rb.as_("Bob"), rb.as_("Dave")
    run = alice.post("/exercises", scenario=shipped("leaked-credential"), mode="tabletop",
                     participants=[{"email": rb.people["Bob"].email, "role": "forensics_lead"}])
    ref = run["incident"]["ref"]
    assert bob.get(f"/incidents/{ref}")["restricted"] is True
    dave.get(f"/incidents/{ref}", 404)
    assert dave.get(f"/exercises/{run['id']}")["incident"] is None  # the run, but not the incident's reference
    rb.clock.advance(minutes=2)
    step = bob.post(f"/incidents/{ref}/checklist/steps", kind="contain", title="Revoke the leaked AWS key")
    rb.clock.advance(minutes=1)
    bob.post(f"/incidents/{ref}/checklist/steps/{step['id']}/done", 200)
    results = alice.post(f"/exercises/{run['id']}/finish", 200)["score"]["results"]
    revoke = next(r for r in results if r["description"].startswith("step done: revoke"))
    assert revoke["status"] == "met" and revoke["met_at"].startswith("2026-01-01T12:03")
