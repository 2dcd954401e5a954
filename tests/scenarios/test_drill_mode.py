"""Drill mode (issue 19): an exercise runs through the real pipeline, marked everywhere, paging only
its participants, never public, and left out of real reports.

An admin creates a drill service (the exercise's stand-in) whose policy names the participants
(Pat, then Quinn); Oscar is on call for the real checkout service → a drill alert pages Pat by
email and SMS, both saying "[DRILL]" → Pat declares the drill incident (API: drill true) → adding
Quinn pages her with "[DRILL]", adding Oscar is refused (403) → the status page refuses the update
and its public page and summary never name the drill → a real incident on checkout is declared →
the incident report, the on-call load and /metrics count the real incident and its page, not the drill.

Written on the harness's runbook (tests/harness/scenario.py): SQLite and PostgreSQL, a ManualClock,
the whole engine on each tick, email through the real SMTP server and SMS through the fake Twilio.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

ONLY = "a drill pages only the exercise's participants"
PAT_SMS = "+14155550111"
DRILL_TITLE = "Drill: checkout database is down"


@pytest.fixture
def rb(runbook):
    runbook.person("Ada Admin", role="admin")
    for name in ("Pat Participant", "Quinn Participant", "Oscar Outsider"):
        runbook.person(name)
    drill = runbook.as_("Ada Admin").post("/services", name="Drill checkout", slug="drill-checkout", drill=True)
    assert drill["drill"] is True
    runbook.policy((5, ["Pat Participant"]), (5, ["Quinn Participant"]), service="drill-checkout")
    runbook.service("checkout", tier=1)
    runbook.policy((5, ["Oscar Outsider"]), service="checkout")
    pat = "Pat Participant"
    runbook.rules(pat, (runbook.contact(pat, "email", runbook.people[pat].email), 0),
                  (runbook.contact(pat, "sms", PAT_SMS), 0))
    return runbook


def test_a_drill_is_marked_pages_only_its_participants_and_stays_out_of_public_and_reports(rb):
    from tocsin.statuspage import render, snapshot
    from tocsin.statuspage import service as sp
    from tocsin.statuspage.types import StatusIncidentKind

    ada, pat, oscar = rb.as_("Ada Admin"), rb.as_("Pat Participant"), rb.as_("Oscar Outsider")
    t0 = rb.now

    # 1. the exercise's alert pages its participant, marked as a drill on every channel
    alert_id = rb.trigger("db-down", service="drill-checkout", summary="checkout database is down")
    rb.tick()
    rb.expect_email("Pat Participant", "[DRILL]", "checkout database is down")
    assert rb.expect_sms(PAT_SMS, "checkout database is down").startswith("[DRILL] tocsin:")
    assert pat.get(f"/alerts/{alert_id}")["drill"] is True

    # 2. Pat declares the drill incident on the drill service (Pat commands it: no IC page)
    inc = pat.post("/incidents", title=DRILL_TITLE, severity="SEV2", services=["drill-checkout"])
    ref = inc["ref"]
    assert inc["drill"] is True
    rb.ack(alert_id, "Pat Participant")

    # 3. only participants may be paged into it: Quinn (in the drill policy) yes, Oscar no
    oscar_key = rb.people["Oscar Outsider"].email
    refused = pat.post(f"/incidents/{ref}/responders", 403, targets=[{"kind": "user", "key": oscar_key}])
    assert ONLY in refused["error"]["message"] and "Oscar Outsider" in refused["error"]["message"]
    pat.post(f"/incidents/{ref}/responders", targets=[{"kind": "user", "key": rb.people["Quinn Participant"].email}],
             message="join the drill")
    rb.tick()
    rb.expect_email("Quinn Participant", "[DRILL]", ref)
    assert rb.emails("Oscar Outsider") == []

    # 4. never public: the status page refuses the update; the public page and summary never name it
    with rb.db.unit_of_work() as s:
        sp.create_page(s, actor=rb.system, now=rb.now, slug="acme", name="Acme Status")
    refused = pat.post(f"/incidents/{ref}/status-updates", 409, page="acme", name="Checkout is down",
                       status="investigating", body="We are looking into it.")
    assert "a drill never reaches a public status page" in refused["error"]["message"]
    rb.tick()
    with rb.db.unit_of_work() as s:
        site = render.site(snapshot.load(s, sp.require_page(s, "acme"), rb.now))
    for path in ("", "api/v2/summary.json"):  # the public page, as the cache serves it, and its summary
        text = site[path].body.decode()
        assert "Checkout is down" not in text and "Drill" not in text and "We are looking" not in text
    with rb.db.unit_of_work() as s:
        assert sp.list_status_incidents(s, page=sp.require_page(s, "acme"), kind=StatusIncidentKind.incident) == []

    # 5. a real incident: counted; the drill and its pages are left out of reports and metrics
    real_alert = rb.trigger("checkout-5xx", service="checkout")
    rb.tick()
    rb.expect_email("Oscar Outsider", "checkout-5xx")
    real = oscar.post("/incidents", title="Checkout errors", severity="SEV3", services=["checkout"])
    assert real["drill"] is False
    rb.ack(real_alert, "Oscar Outsider")
    assert [i["ref"] for i in ada.get("/incidents", drill="true")["items"]] == [ref]
    assert [i["ref"] for i in ada.get("/incidents", drill="false")["items"]] == [real["ref"]]
    assert len(ada.get("/incidents")["items"]) == 2  # listed by default, both

    since, until = (t0 - timedelta(hours=1)).isoformat(), (rb.now + timedelta(hours=1)).isoformat()
    report = ada.get("/reports/incidents", since=since, until=until)
    assert report["overall"]["incidents"] == 1 and report["drills_left_out"] == 1
    html = rb.http.get("/api/v1/reports/page", params={"since": since, "until": until},
                       headers=rb.people["Ada Admin"].headers)
    assert html.status_code == 200 and "Drills are left out (1 in this period)" in html.text

    from tocsin.reports.oncall_load import _pages

    with rb.db.unit_of_work() as s:
        paged = {p.user_id for p in _pages(s, rb.system, t0 - timedelta(hours=1), rb.now + timedelta(hours=1))}
    assert str(rb.people["Oscar Outsider"].id) in paged
    assert str(rb.people["Pat Participant"].id) not in paged

    metrics = rb.http.get("/metrics", headers=rb.people["Ada Admin"].headers)
    assert metrics.status_code == 200
    assert 'service="checkout"' in metrics.text
    assert "drill-checkout" not in metrics.text


def test_paging_for_a_drill_commander_reaches_only_the_exercise(rb):
    """Declared without an Incident Commander (as an exercise's inject does), a drill pages its drill
    service's policy for one, never the real service's on-call; a drill on real services only pages nobody."""
    from tocsin.escalation.models import Escalation
    from tocsin.flows import incidents as flows
    from tocsin.incidents.service import Declaration
    from tocsin.severities import Severity

    def declare(services: list[str], drill: bool = False):
        with rb.db.unit_of_work() as s:
            inc = flows.declare(s, actor=rb.system, now=rb.now, spec=Declaration(
                title="Checkout is down", severity=Severity.SEV1, services=services, drill=drill))
            return inc.id, inc.drill

    incident_id, drill = declare(["checkout", "drill-checkout"])
    assert drill is True
    rb.tick()
    rb.expect_email("Pat Participant", "[DRILL]", "needs an Incident Commander")
    rb.expect_sms(PAT_SMS, "[DRILL]")
    rb.tick(minutes=5)
    rb.expect_email("Quinn Participant", "[DRILL]", "needs an Incident Commander")
    assert rb.emails("Oscar Outsider") == []

    incident_id, drill = declare(["checkout"], drill=True)
    rb.tick(minutes=10)
    assert drill is True and rb.emails("Oscar Outsider") == []
    assert rb.rows(Escalation, Escalation.incident_id == incident_id) == []
