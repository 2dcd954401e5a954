"""Drill mode under attack (issue 19): a drill must never reach people outside its exercise, nor
hold back or hide a real page, whatever routing, inhibition or reassignment says.

Pat is the exercise's participant (the drill service's policy); Oscar is on call for the real
checkout service and must never hear of the drill.
"""

from __future__ import annotations

import uuid

import pytest

PAT_SMS = "+14155550111"


@pytest.fixture
def rb(runbook):
    runbook.person("Ada Admin", role="admin")
    for name in ("Pat Participant", "Oscar Outsider"):
        runbook.person(name)
    drill = runbook.as_("Ada Admin").post("/services", name="Drill checkout", slug="drill-checkout", drill=True,
                                          paging_unit="alert")
    assert drill["drill"] is True
    runbook.policy((5, ["Pat Participant"]), service="drill-checkout")
    runbook.service("checkout", tier=1, paging_unit="alert")
    runbook.policy((5, ["Oscar Outsider"]), service="checkout")
    return runbook


def test_a_routing_rule_never_moves_a_drill_alert_onto_a_real_service(rb):
    """An exercise injects a realistic alert (production labels) through the drill service's
    integration: a label-based routing rule must not take it to the real service and page its on-call."""
    rb.as_("Ada Admin").post("/routing-rules", name="checkout team", matchers=["team=checkout"], service="checkout")
    alert_id = rb.trigger("db-down", service="drill-checkout", summary="checkout database is down", team="checkout")
    rb.tick()
    assert rb.as_("Ada Admin").get(f"/alerts/{alert_id}")["drill"] is True
    rb.expect_email("Pat Participant", "[DRILL]", "checkout database is down")
    assert rb.emails("Oscar Outsider") == []
    # a real alert with those labels still routes as the rule says
    real = rb.trigger("real-5xx", service="checkout", summary="checkout errors", team="checkout")
    rb.tick()
    assert rb.as_("Ada Admin").get(f"/alerts/{real}")["drill"] is False
    rb.expect_email("Oscar Outsider", "checkout errors")


def test_a_drill_alert_never_holds_back_a_real_one(rb):
    """A global inhibition rule (node down mutes its warnings): the drill's NodeDown must not mute
    the real service's warning, or a drill would silence real pages while it runs."""
    rb.as_("Ada Admin").post("/inhibition-rules", name="node down", source_matchers=["alertname=NodeDown"],
                             target_matchers=["severity=warning"], equal=["instance"])
    rb.trigger("down-a", service="drill-checkout", summary="NodeDown on a", alertname="NodeDown", instance="a")
    real = rb.trigger("disk-a", service="checkout", severity="warning", summary="DiskFilling on a",
                      alertname="DiskFilling", instance="a")
    assert rb.as_("Ada Admin").get(f"/alerts/{real}")["suppressed_by"] is None
    rb.tick()
    rb.expect_email("Oscar Outsider", "DiskFilling on a")


def test_reassigning_a_drill_alert_reaches_only_the_exercise(rb):
    """Reassigning a drill alert to the real on-call (a person or the real policy) is refused: a
    drill pages only its participants."""
    alert_id = rb.trigger("db-down", service="drill-checkout", summary="checkout database is down")
    rb.tick()
    pat = rb.as_("Pat Participant")
    oscar = rb.people["Oscar Outsider"].email
    refused = pat.post(f"/alerts/{alert_id}/reassign", 403, targets=[{"type": "user", "email": oscar}])
    assert "a drill pages only the exercise's participants" in refused["error"]["message"]
    assert "Oscar Outsider" in refused["error"]["message"]
    refused = pat.post(f"/alerts/{alert_id}/reassign", 403, policy="checkout-policy")
    assert "Oscar Outsider" in refused["error"]["message"]
    rb.tick(minutes=30)
    assert rb.emails("Oscar Outsider") == []


def test_declaring_a_drill_is_audited_and_on_the_timeline(rb):
    """A drill is left out of reports and pages almost nobody: who declared one, and that it was a
    drill, must be in the audit log (and on the timeline's declared entry, as docs/exercises.md says),
    so a real incident declared as a drill to hide it can be found."""
    from tocsin.audit.models import AuditEntry
    from tocsin.incidents.models import TimelineEntry

    inc = rb.as_("Oscar Outsider").post("/incidents", title="Checkout errors", severity="SEV2",
                                        services=["checkout"], drill=True)
    assert inc["drill"] is True
    (entry,) = rb.rows(AuditEntry, AuditEntry.action == "incident.declare")
    assert entry.details["drill"] is True
    (declared,) = rb.rows(TimelineEntry, TimelineEntry.incident_id == uuid.UUID(inc["id"]), TimelineEntry.kind == "declared")
    assert declared.data["drill"] is True


def test_adding_an_outsider_to_a_drill_is_no_way_around_its_paging_rule(rb):
    """"Those already taking part" may be paged into a drill: adding Oscar as a participant or giving
    him a role first must be refused too, or the 403 on paging him is a two-step away."""
    pat = rb.as_("Pat Participant")
    inc = pat.post("/incidents", title="Drill: checkout database is down", severity="SEV2",
                   services=["drill-checkout"])
    ref, oscar = inc["ref"], rb.people["Oscar Outsider"].email
    for path, body in ((f"/incidents/{ref}/participants", {"user": oscar, "kind": "responder"}),
                       (f"/incidents/{ref}/participants", {"user": oscar, "kind": "observer"}),
                       (f"/incidents/{ref}/roles", {"role": "scribe", "user": oscar})):
        refused = pat.post(path, 403, **body)
        assert "a drill pages only the exercise's participants" in refused["error"]["message"]
    pat.post(f"/incidents/{ref}/responders", 403, targets=[{"kind": "user", "key": oscar}])
    # Oscar may still look on by himself (he chose to: nobody reached him)
    rb.as_("Oscar Outsider").post(f"/incidents/{ref}/participants", 200, kind="observer")
    rb.tick(minutes=10)
    assert rb.emails("Oscar Outsider") == []


def test_an_alert_never_crosses_the_drill_line_by_attaching(rb):
    """A drill alert attached to a real incident would count in its report (first alert: MTTD) and a
    real alert attached to a drill would vanish from real reports with it: both are 409."""
    oscar = rb.as_("Oscar Outsider")
    drill_alert = rb.trigger("db-down", service="drill-checkout", summary="checkout database is down")
    real_alert = rb.trigger("checkout-5xx", service="checkout", summary="checkout errors")
    real = oscar.post("/incidents", title="Checkout errors", severity="SEV3", services=["checkout"])
    drill = rb.as_("Pat Participant").post("/incidents", title="Drill: db down", severity="SEV3",
                                           services=["drill-checkout"])
    refused = oscar.post(f"/alerts/{drill_alert}/attach", 409, incident=real["ref"])
    assert "drill" in refused["error"]["message"]
    refused = oscar.post(f"/alerts/{real_alert}/attach", 409, incident=drill["ref"])
    assert "drill" in refused["error"]["message"]
    oscar.post(f"/alerts/{real_alert}/attach", 200, incident=real["ref"])


def test_a_drill_service_never_joins_a_real_incident(rb):
    """Declaring on a drill service makes a drill; adding one to a real incident afterwards left it
    real, paging for its Incident Commander through the drill's policy (the exercise's people, not the
    real on-call) and putting the stand-in service in real reports: refused (409)."""
    oscar = rb.as_("Oscar Outsider")
    real = oscar.post("/incidents", title="Checkout errors", severity="SEV3", services=["checkout"])
    refused = oscar.patch(f"/incidents/{real['ref']}", 409, services=["checkout", "drill-checkout"])
    assert "drill" in refused["error"]["message"]
    assert [x["slug"] for x in oscar.get(f"/incidents/{real['ref']}")["services"]] == ["checkout"]


def test_naming_an_outsider_commander_of_a_drill_is_refused(rb):
    ada = rb.as_("Ada Admin")
    refused = ada.post("/incidents", 403, title="Drill: db down", severity="SEV2", services=["drill-checkout"],
                       incident_commander=rb.people["Oscar Outsider"].email)
    assert "Oscar Outsider is not taking part" in refused["error"]["message"]
    inc = ada.post("/incidents", title="Drill: db down", severity="SEV2", services=["drill-checkout"],
                   incident_commander=rb.people["Pat Participant"].email)
    assert inc["drill"] is True and inc["roles"][0]["user"]["name"] == "Pat Participant"
