"""Runbooks end to end: an alert whose labels match a runbook pages by email naming the runbook, the
incident it is attached to shows the runbook's steps in its room, a responder marks a step done there
and it is on the timeline. An incident page names its runbook too, unless the incident is restricted.

Written on the harness's runbook (tests/harness/scenario.py): SQLite and PostgreSQL, a ManualClock,
the whole engine, a real SMTP server.
"""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tests.harness.console import PASSWORD, login, post_form, room_of, timeline
from tocsin.flows import incidents as incident_flows
from tocsin.incidents.service import Declaration
from tocsin.incidents.types import Kind
from tocsin.severities import Severity

LINE = "Runbook: Postgres failover http://tocsin.test/runbooks/postgres-failover"
BODY = "# Postgres failover\n\n1. Check replication lag\n2. Promote the replica [action: promote-db]\n3. Tell #ops\n"


def _world(runbook, alice_role: str = "responder"):
    rb = runbook
    rb.team("dba")
    rb.person("Alice", role=alice_role, teams=["dba"])
    rb.service("checkout", tier=1, paging_unit="alert")
    rb.policy((5, ["Alice"]))
    return rb


def _declare(rb, **spec) -> None:
    """Someone declares a SEV1 on checkout (as the CLI operator: nobody becomes its commander)."""
    with rb.db.unit_of_work() as s:
        incident_flows.declare(s, actor=rb.system, now=rb.now, spec=Declaration(
            severity=Severity.SEV1, services=["checkout"], **spec))


def _text(mail) -> str:
    return mail.get_body(("plain",)).get_content()


def _console(rb, name: str) -> TestClient:
    from tocsin.users.service import require_user, update_user

    with rb.db.unit_of_work() as s:
        update_user(s, actor=rb.system, now=rb.now, user=require_user(s, rb.people[name].id), password=PASSWORD)
    web = TestClient(rb.http.app)
    assert login(web, rb.people[name].email, PASSWORD).status_code == 303
    return web


def test_the_page_names_the_runbook_and_the_room_works_through_its_steps(runbook):
    rb = _world(runbook)
    alice = rb.as_("Alice")
    alice.post("/runbooks", title="Postgres failover", team="dba", matchers=['alertname=~"Postgres.*"'], body_md=BODY)

    alert = rb.trigger("pg-lag", summary="Replication lag 40 s", alertname="PostgresReplicationLag")
    rb.tick()
    mail = rb.expect_email("Alice", "Replication lag 40 s")
    assert LINE in _text(mail)
    rb.trigger("disk", summary="Disk full", alertname="DiskFull")  # no runbook for this one
    rb.tick()
    assert "Runbook:" not in _text(rb.expect_email("Alice", "Disk full"))

    ref = alice.post("/incidents", title="Replica lagging", severity="SEV3")["ref"]
    alice.post(f"/alerts/{alert}/attach", 200, incident=ref)
    web = _console(rb, "Alice")
    room = f"/incidents/{ref}"
    assert "Promote the replica" in room_of(web, ref) and f"{room}/automation/promote-db" in room_of(web, ref)
    assert post_form(web, f"{room}/runbooks/postgres-failover/steps/1", {"state": "done"}, page=room
                     ).status_code == 303
    assert "Step 1 of Postgres failover done by Alice" in timeline(room_of(web, ref))
    incident_id = uuid.UUID(alice.get(f"/incidents/{ref}")["id"])
    (entry,) = rb.timeline(incident_id, "runbook")
    assert entry.data["step"] == 1 and entry.data["state"] == "done" and entry.actor_id == rb.people["Alice"].id


def test_an_incident_page_names_the_runbook_unless_the_incident_is_restricted(runbook):
    rb = _world(runbook, alice_role="admin")  # an admin may see every restricted incident: she is paged for both
    alice = rb.as_("Alice")
    alice.post("/runbooks", title="Postgres failover", team="dba", services=["checkout"], body_md=BODY)

    _declare(rb, title="Checkout down")  # no Incident Commander: Alice is paged for one
    rb.tick()
    assert LINE in _text(rb.expect_email("Alice", "Checkout down"))

    _declare(rb, title="Leaked DB password", kind=Kind.security)
    rb.tick()
    text = _text(rb.expect_email("Alice", "restricted incident"))
    assert "Runbook:" not in text and "Postgres" not in text and "Leaked" not in text
