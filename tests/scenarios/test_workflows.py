"""Incident workflows and incident types, run by the engine (issue 19).

An admin saves "SEV1 basics" (declared, SEV1: page team DBA, make Sam Scribe, open the containment
checklist) → Alice declares a SEV1 → the engine's `workflows` job runs each step once, even with a
second engine ticking over the same entries → each step is on the timeline. A status_changed
workflow whose steps the server cannot run yet records them as failed and the others still run. A
"data loss" incident opens its type's checklist on declaration; its custom fields are checked.
"""

from __future__ import annotations

import uuid

import pytest

from tocsin.escalation.models import Notification
from tocsin.workflows.models import WorkflowRun

SEV1_BASICS = {"name": "SEV1 basics", "trigger": "declared", "severities": ["SEV1"],
               "steps": [{"kind": "page_team", "team": "dba", "message": "SEV1: join the room"},
                         {"kind": "add_role", "role": "scribe", "user": ""},
                         {"kind": "open_checklist"}]}


@pytest.fixture
def rb(runbook):
    runbook.person("Ada Admin", role="admin")
    runbook.person("Alice")
    runbook.team("dba")
    runbook.person("Dan DBA", teams=["dba"])
    runbook.person("Sam Scribe")
    runbook.service("checkout", tier=1)
    return runbook


def _workflow(rb, **overrides):
    body = {**SEV1_BASICS, **overrides}
    body["steps"] = [dict(s) for s in body["steps"]]
    for step in body["steps"]:
        if step.get("user") == "":
            step["user"] = rb.people["Sam Scribe"].email
    return rb.as_("Ada Admin").post("/workflows", **body)


def test_a_sev1_workflow_runs_each_step_once_even_with_two_engines(rb):
    _workflow(rb)
    incident = rb.as_("Alice").post("/incidents", title="Orders fail", severity="SEV1", kind="security",
                                    restricted=False, services=["checkout"])
    other = rb.new_engine("workflows")
    rb.tick()
    other.tick()
    rb.tick(seconds=5)  # the entries settle; both engines read them again
    other.tick()
    lines = [e.text for e in rb.timeline(uuid.UUID(incident["id"]), "workflow")]
    assert len(lines) == 3, lines
    assert lines[0].startswith("Workflow 'SEV1 basics': paged team Dba: Dan DBA")
    assert lines[1] == "Workflow 'SEV1 basics': made Sam Scribe Scribe"
    assert lines[2].startswith("Workflow 'SEV1 basics': opened checklist Default containment")
    runs = rb.rows(WorkflowRun, order_by=WorkflowRun.step_index)
    assert [(r.step_index, r.status) for r in runs] == [(0, "done"), (1, "done"), (2, "done")]
    assert len(rb.notifications(kind="responder", user_id=rb.people["Dan DBA"].id)) >= 1
    roles = {r["role"]: r["user"]["name"] for r in rb.as_("Alice").get(f"/incidents/{incident['ref']}")["roles"]}
    assert roles["scribe"] == "Sam Scribe"
    assert rb.as_("Alice").get(f"/incidents/{incident['ref']}/checklist")["items"]
    shown = rb.as_("Alice").get(f"/incidents/{incident['ref']}/workflow-runs")["items"]
    assert [r["status"] for r in shown] == ["done", "done", "done"]

    rb.tick(minutes=20)  # and never again
    rb.restart_engine()
    rb.tick()
    assert len(rb.timeline(uuid.UUID(incident["id"]), "workflow")) == 3
    sev2 = rb.as_("Alice").post("/incidents", title="Slow search", severity="SEV2", services=["checkout"])
    rb.tick(seconds=5)
    assert rb.timeline(uuid.UUID(sev2["id"]), "workflow") == []  # SEV1 only


def test_a_status_change_workflow_records_failing_steps_and_runs_the_rest(rb):
    _workflow(rb, name="On mitigation", trigger="status_changed", to_status="mitigated", severities=[],
              steps=[{"kind": "post_template", "template": "mitigated-update"},
                     {"kind": "open_checklist"},
                     {"kind": "run_action", "action": "restart-web", "params": {"env": "prod"}},
                     {"kind": "page_team", "team": "dba"}])
    incident = rb.as_("Alice").post("/incidents", title="Queue stuck", severity="SEV3", services=["checkout"])
    rb.tick(seconds=5)
    assert rb.timeline(uuid.UUID(incident["id"]), "workflow") == []  # declared: not this workflow's trigger
    rb.as_("Alice").patch(f"/incidents/{incident['ref']}", status="identified")
    rb.tick(seconds=5)
    assert rb.timeline(uuid.UUID(incident["id"]), "workflow") == []  # another status
    rb.as_("Alice").patch(f"/incidents/{incident['ref']}", status="mitigated")
    rb.tick(seconds=5)
    rb.tick(seconds=5)
    lines = [e.text for e in rb.timeline(uuid.UUID(incident["id"]), "workflow")]
    assert len(lines) == 4, lines
    assert "step 1 (Post a template) failed" in lines[0]
    assert "step 2 (Open a checklist) skipped: checklists open on security incidents only" in lines[1]
    assert "step 3 (Run an approved action) failed" in lines[2]
    assert lines[3].startswith("Workflow 'On mitigation': paged team Dba: Dan DBA")
    runs = rb.rows(WorkflowRun, order_by=WorkflowRun.step_index)
    assert [r.status for r in runs] == ["failed", "skipped", "failed", "done"]


def test_a_data_loss_incident_opens_its_checklist_and_checks_its_fields(rb):
    alice = rb.as_("Alice")
    types = {t["slug"]: t for t in alice.get("/incident-types")["items"]}
    assert set(types) >= {"security", "data-loss", "vendor-outage"}
    refused = alice.post("/incidents", 422, title="Backups gone", severity="SEV2", incident_type="data-loss",
                         custom_fields={"records_affected": "many"})
    assert "Records affected" in refused["error"]["message"] or "Data category" in refused["error"]["message"]
    refused = alice.post("/incidents", 422, title="Backups gone", severity="SEV2", incident_type="data-loss",
                         custom_fields={"records_affected": "1200"})
    assert refused["error"]["details"]["field"] == "data_category"
    incident = alice.post("/incidents", title="Backups gone", severity="SEV2", incident_type="data-loss",
                          restricted=False, custom_fields={"records_affected": "1200", "data_category": "personal"})
    assert incident["kind"] == "security"  # the type's base kind
    assert incident["custom_fields"] == {"records_affected": 1200, "data_category": "personal"}
    rb.tick(seconds=5)
    lines = [e.text for e in rb.timeline(uuid.UUID(incident["id"]), "workflow")]
    assert lines == ["Incident type 'Data loss': opened its checklist (4 steps)"]
    steps = alice.get(f"/incidents/{incident['ref']}/checklist")["items"]
    assert [s["title"] for s in steps][0] == "Stop the loss (revoke access, pause the job)"

    alice.put(f"/incidents/{incident['ref']}/custom-fields", values={"data_category": "financial"})
    changed = rb.timeline(uuid.UUID(incident["id"]), "field_changed")
    assert changed[-1].text == "Custom fields changed: Data category: financial, Records affected: (cleared)"
    alice.put(f"/incidents/{incident['ref']}/custom-fields", 422, values={"colour": "red"})
    assert not rb.rows(Notification, Notification.kind == "responder")


def test_a_workflow_opens_a_chat_channel_for_an_incident_below_the_channel_severities(rb):
    from tocsin.chatops.models import ChatChannel

    rb.configure(slack_signing_secret="signing-secret", chat_channel_severities="SEV1")
    _workflow(rb, name="Vendor room", severities=[], incident_types=["vendor-outage"],
              steps=[{"kind": "create_chat_channel"}])
    incident = rb.as_("Alice").post("/incidents", title="CDN down", severity="SEV4", incident_type="vendor-outage",
                                    custom_fields={"vendor": "FastCDN"})
    plain = rb.as_("Alice").post("/incidents", title="Typo on the home page", severity="SEV4")
    rb.tick(seconds=5)
    rb.tick(seconds=5)
    channels = rb.rows(ChatChannel)
    assert [c.incident_id for c in channels] == [uuid.UUID(incident["id"])]  # the untyped SEV4 gets none
    assert rb.timeline(uuid.UUID(incident["id"]), "workflow")[0].text == \
        "Workflow 'Vendor room': asked for a chat channel on slack"
    assert "conversations.create inc-1-cdn-down -> C0002 (public)" in rb.slack.transcript()  # the channel exists
    assert rb.timeline(uuid.UUID(plain["id"]), "workflow") == []
