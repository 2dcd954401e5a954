"""Attacker review of incident workflows, stakeholder updates and shadows (issue 19, attack3).

A workflow runs as a system principal on every incident that matches it, restricted ones too. Its
steps must hold need-to-know as paging does: "make the on-call of primary the Scribe" must not let
someone who put themselves on call (any responder may take an override) into a restricted security
incident, nor name them a role holder of it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tocsin.flows import incidents as incident_flows
from tocsin.incidents import service as incidents
from tocsin.incidents.types import Kind
from tocsin.severities import Severity
from tocsin.workflows.models import WorkflowRun

TITLE = "Payroll export copied by a contractor"


@pytest.fixture
def rb(runbook, make_team):
    runbook.service("checkout", tier=1)
    runbook.person("Ada Admin", role="admin")
    runbook.person("Alice")
    runbook.person("Sam Scribe")
    runbook.schedule("primary", "Alice", start=runbook.now - timedelta(days=1))
    make_team("sec", is_security=True)
    return runbook


def declare(rb, *, restricted=None):
    with rb.db.unit_of_work() as s:
        inc = incident_flows.declare(s, actor=rb.system, now=rb.now, spec=incidents.Declaration(
            title=TITLE, severity=Severity.SEV1, kind=Kind.security, services=["checkout"], restricted=restricted))
        return inc.id, inc.number


def test_a_workflow_role_from_a_schedule_does_not_let_an_override_taker_into_a_restricted_incident(rb):
    mallory = rb.person("Mallory")
    rb.as_("Ada Admin").post("/workflows", name="Security scribe", trigger="declared", kinds=["security"],
                             steps=[{"kind": "add_role", "role": "scribe", "schedule": "primary"}])
    rb.as_("Mallory").post("/schedules/primary/overrides", starts_at=rb.now.isoformat(),
                           ends_at=(rb.now + timedelta(days=1)).isoformat())
    inc_id, number = declare(rb)
    rb.tick(seconds=5)
    rb.tick(seconds=5)
    rb.as_("Mallory").get(f"/incidents/INC-{number}", 404)
    roles = rb.as_("Ada Admin").get(f"/incidents/INC-{number}/roles")["current"]
    assert mallory.email not in [r["user"]["email"] for r in roles]
    runs = rb.rows(WorkflowRun, WorkflowRun.incident_id == inc_id)
    assert [r.status for r in runs] == ["failed"]
    assert "may not see" in runs[0].detail


def test_a_workflow_role_for_a_named_person_does_not_let_them_into_a_restricted_incident(rb):
    sam = rb.people["Sam Scribe"]
    rb.as_("Ada Admin").post("/workflows", name="SEV1 scribe", trigger="declared", severities=["SEV1"],
                             steps=[{"kind": "add_role", "role": "scribe", "user": sam.email}])
    inc_id, number = declare(rb)
    open_id, open_number = declare(rb, restricted=False)
    rb.tick(seconds=5)
    rb.tick(seconds=5)
    rb.as_("Sam Scribe").get(f"/incidents/INC-{number}", 404)
    runs = rb.rows(WorkflowRun, WorkflowRun.incident_id == inc_id)
    assert [r.status for r in runs] == ["failed"]
    # the same workflow on an incident that is not restricted still makes him Scribe
    roles = rb.as_("Sam Scribe").get(f"/incidents/INC-{open_number}/roles")["current"]
    assert sam.email in [r["user"]["email"] for r in roles]
    assert uuid.UUID(str(open_id))


# --- a shadow's copy carried in a rate-limited SMS bundle -------------------------------------------

def sms_reply(rb, number, text):
    from twilio.request_validator import RequestValidator

    from tests.harness.scenario import PUBLIC

    form = {"From": number, "To": "+15005550006", "Body": text, "MessageSid": "SM" + "1" * 32}
    sig = RequestValidator(rb.twilio.auth_token).compute_signature(PUBLIC + "/integrations/twilio/sms", form)
    return rb.http.post("/integrations/twilio/sms", data=form, headers={"X-Twilio-Signature": sig})


def test_a_reply_to_a_bundled_sms_does_not_acknowledge_the_alerts_its_holder_only_shadows(runbook):
    """Sam is on call for db and shadows checkout's schedule. A flood on db fills his SMS rate limit;
    the next db page and a shadow copy of a checkout page wait and leave as one bundle, whose reply
    acknowledges "all of them". The checkout alert is not his to acknowledge: Alice is on call."""
    import re

    rb = runbook
    for name in ("Alice", "Sam", "Ada"):
        rb.person(name, "admin" if name == "Ada" else "responder")
    rb.service("checkout", tier=1, paging_unit="alert")
    rb.service("db", tier=1, paging_unit="alert")
    rb.schedule("primary", "Alice")
    rb.schedule("dbs", "Sam")
    rb.as_("Ada").post("/schedules/primary/layers", name="shadow", kind="weekly", timezone="UTC",
                       start=rb.now.isoformat(), members=[rb.people["Sam"].email], shadow=True)
    rb.policy((30, ["schedule:primary"]), service="checkout")
    rb.policy((30, ["schedule:dbs"]), service="db")
    rb.rules("Sam", (rb.contact("Sam", "sms", "+14155550111"), 0))
    rb.rules("Alice", (rb.contact("Alice", "email", "alice@example.test"), 0))
    for i in range(6):
        rb.trigger(f"db-{i}", service="db")
    checkout = rb.trigger("checkout-5xx", service="checkout")
    rb.tick()
    rb.tick(minutes=15)
    texts = rb.sms("+14155550111")
    bundle = [t for t in texts if "(all of them)" in t]
    assert bundle, texts
    code = re.search(r"Reply '(\d{4,5}) ack'", bundle[-1]).group(1)
    done = sms_reply(rb, "+14155550111", f"{code} ack")
    assert done.status_code == 200, done.text
    assert rb.alert(checkout).status == "triggered", "a shadow's copy acknowledges nothing"


# --- a stakeholder update queued before the incident was restricted ---------------------------------

def test_a_stakeholder_update_queued_before_the_incident_is_restricted_is_not_sent_to_outsiders(rb):
    """Bob subscribes to checkout's incidents. An update is posted to the stakeholders of an
    operational incident; before it leaves (an SMTP outage, a throttled SMS), an admin restricts the
    incident. Bob may no longer see it: the update, its title in the subject, is not sent to him."""
    rb.person("Bob")
    rb.as_("Bob").post("/stakeholders", service="checkout")
    inc_id, number = declare(rb, restricted=False)
    rb.as_("Alice").post(f"/incidents/INC-{number}/updates", text="Exports paused while we look", audience="stakeholders")
    rb.as_("Ada Admin").patch(f"/incidents/INC-{number}", restricted=True)
    rb.tick()
    assert rb.emails("Bob") == []
    rb.as_("Bob").get(f"/incidents/INC-{number}", 404)
    assert uuid.UUID(str(inc_id))


# --- a guest in a team a workflow pages ---------------------------------------------------------------

def test_a_workflow_paging_a_team_never_pages_a_guest_member_of_it(rb):
    """Ivy, an outside responder invited to one incident, is also in team dba. A workflow pages dba
    when another SEV1 is declared: Ivy is never paged (guests are never paged, whatever teams they
    are in), nor told its title; Dan, staff, is."""
    from tocsin.escalation.models import Notification
    from tocsin.incidents import guests
    from tocsin.incidents.models import Incident
    from tocsin.teams.service import require_team, set_members
    from tocsin.users.models import User

    rb.team("dba")
    rb.person("Dan DBA", teams=["dba"])
    first_id, _ = declare(rb)  # restricted: Ivy's grant
    with rb.db.unit_of_work() as s:
        _grant, token = guests.invite(s, actor=rb.system, now=rb.now, incident=s.get(Incident, first_id),
                                      email="ivy@ir.example", name="Ivy", duration=timedelta(hours=2), max_days=30)
        ivy, _ = guests.accept(s, now=rb.now, token=token, name="Ivy", password="long enough pw")
        dan = s.get(User, rb.people["Dan DBA"].id)
        set_members(s, actor=rb.system, now=rb.now, team=require_team(s, "dba"), users=[dan, ivy])
        ivy_id = ivy.id
    rb.as_("Ada Admin").post("/workflows", name="Page DBA", trigger="declared", severities=["SEV1"],
                             steps=[{"kind": "page_team", "team": "dba"}])
    inc_id, _number = declare(rb, restricted=False)
    rb.tick(seconds=5)
    rb.tick(seconds=5)
    assert rb.rows(Notification, Notification.user_id == ivy_id) == []
    assert rb.rows(Notification, Notification.user_id == rb.people["Dan DBA"].id, Notification.incident_id == inc_id)


# --- a shadow's copy of a restricted incident's page ---------------------------------------------------

def test_a_shadows_copy_of_a_restricted_incidents_page_stays_marked_shadow(rb):
    """Sam (security team) shadows primary; a restricted SEV1 pages its on-call for a commander. The
    page's words are made neutral when it is sent; Sam's copy must still say it is a shadow's copy,
    not tell him that acknowledging makes him the Incident Commander."""
    from tocsin.teams.service import require_team, set_members
    from tocsin.users.models import User

    rb.person("Sam")
    with rb.db.unit_of_work() as s:
        set_members(s, actor=rb.system, now=rb.now, team=require_team(s, "sec"),
                    users=[s.get(User, rb.people[n].id) for n in ("Sam", "Alice")])
    rb.as_("Ada Admin").post("/schedules/primary/layers", name="shadow", kind="weekly", timezone="UTC",
                             start=rb.now.isoformat(), members=[rb.people["Sam"].email], shadow=True)
    rb.policy((5, ["schedule:primary"]))
    declare(rb)
    rb.tick()
    page = rb.expect_email("Alice", "A restricted incident needs an Incident Commander")
    assert not page["Subject"].startswith("[shadow]")
    copy = rb.expect_email("Sam", "restricted incident")
    text = copy.get_body(("plain",)).get_content()
    assert copy["Subject"].startswith("[shadow] "), copy["Subject"]
    assert "not the responder" in text and "Acknowledging this page" not in text
    assert TITLE not in copy["Subject"] + text


# --- a workflow's approved action on a drill ------------------------------------------------------------

def test_a_workflows_approved_action_on_a_drill_incident_is_a_dry_run(runbook, tmp_path):
    """An admin's workflow restarts the web tier when a SEV2 is declared. A game day declares a drill
    SEV2: the workflow still runs its step (the drill exercises it) but as a dry run; nobody chose to
    touch production for an exercise."""
    from tocsin.automation.models import ActionRun

    rb = runbook
    allow = tmp_path / "commands.yaml"
    allow.write_text('echo: ["/bin/echo", "restarting", "{host}"]\n')
    rb.configure(automation_commands=allow, automation_signing_secret="s" * 32)
    rb.person("Ada Admin", role="admin")
    rb.person("Pat Participant")
    rb.as_("Ada Admin").post("/services", name="Drill checkout", slug="drill-checkout", drill=True)
    rb.policy((5, ["Pat Participant"]), service="drill-checkout")
    rb.as_("Ada Admin").post("/automation/actions", slug="restart", name="Restart web", kind="command",
                             command="echo", requires_approval=False,
                             params_schema=[{"name": "host", "type": "string", "required": True}])
    rb.as_("Ada Admin").post("/workflows", name="SEV2 restart", trigger="declared", severities=["SEV2"],
                             steps=[{"kind": "run_action", "action": "restart", "params": {"host": "web-1"}}])
    inc = rb.as_("Pat Participant").post("/incidents", title="Drill: checkout down", severity="SEV2",
                                         services=["drill-checkout"])
    assert inc["drill"] is True
    rb.tick(seconds=5)
    rb.tick(seconds=5)
    runs = rb.rows(ActionRun, ActionRun.incident_id == uuid.UUID(inc["id"]))
    assert len(runs) == 1 and runs[0].dry_run is True, [(r.dry_run, r.status) for r in runs]


# --- a guest on a schedule (a shadow layer, an override) ------------------------------------------------

def test_an_outside_responder_is_never_put_on_a_schedule_not_even_as_a_shadow(rb):
    """Guests are never paged: an admin cannot make Ivy (a guest) a member of a layer (a shadow
    layer included: shadows get copies of pages), nor put her on call with an override."""
    from tocsin.incidents import guests
    from tocsin.incidents.models import Incident

    first_id, _ = declare(rb)
    with rb.db.unit_of_work() as s:
        _grant, token = guests.invite(s, actor=rb.system, now=rb.now, incident=s.get(Incident, first_id),
                                      email="ivy@ir.example", name="Ivy", duration=timedelta(hours=2), max_days=30)
        guests.accept(s, now=rb.now, token=token, name="Ivy", password="long enough pw")
    ada = rb.as_("Ada Admin")
    refused = ada.post("/schedules/primary/layers", 422, name="shadow", kind="weekly", timezone="UTC",
                       start=rb.now.isoformat(), members=["ivy@ir.example"], shadow=True)
    assert "outside responder" in refused["error"]["message"]
    ada.post("/schedules/primary/overrides", 422, starts_at=rb.now.isoformat(),
             ends_at=(rb.now + timedelta(hours=1)).isoformat(), user="ivy@ir.example")
