"""Guardrails under load and attack (issue 19): the engine job reads every watched incident every
30 s, so its cost must not grow with them query by query."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

INC = "/incidents"


@pytest.fixture
def rb(runbook):
    runbook.person("Alice")
    runbook.person("Ada", role="admin")
    return runbook


def _queries(rb, n_incidents: int) -> int:
    from tocsin.guardrails.facts import gather
    from tocsin.incidents.models import Incident

    with rb.db.unit_of_work() as s:
        incidents = list(s.execute(sa.select(Incident).order_by(Incident.declared_at).limit(n_incidents)).scalars())
        assert len(incidents) == n_incidents
        seen: list[str] = []

        def count(*args) -> None:
            seen.append(args[2])

        sa.event.listen(rb.db.engine, "before_cursor_execute", count)
        try:
            gather(s, incidents, rb.now, rb.settings)
        finally:
            sa.event.remove(rb.db.engine, "before_cursor_execute", count)
    return len(seen)


def test_the_guardrail_facts_cost_a_fixed_number_of_queries(rb):
    """facts.gather promises one query per kind of fact whatever the number of incidents, but each
    incident with a postmortem read its people (participants, roles, names) on its own: 500 resolved
    incidents awaiting their postmortems cost 1,500 more queries every 30 s."""
    alice = rb.as_("Alice")
    for n in range(6):
        ref = alice.post(INC, title=f"Checkout failing {n}", severity="SEV3")["ref"]
        alice.post(f"{INC}/{ref}/roles", 200, role="scribe", user=rb.people["Alice"].email)
        alice.patch(f"{INC}/{ref}", status="resolved")
        pm = alice.post(f"{INC}/{ref}/postmortem")
        alice.patch(f"/postmortems/{pm['id']}", body=pm["body"] + "\n\nAlice forgot to run the migration.\n")
    assert _queries(rb, 6) == _queries(rb, 2)


def test_a_nudge_queued_before_the_incident_was_restricted_goes_out_without_its_title(rb):
    """A guardrail nudge is written with the title of an incident that is not restricted; restricted
    before it is sent (the outbox sends later: the next tick, a retry, a rate-limited SMS), it must
    say only what a restricted incident's messages say, as pages are checked again when sent."""
    from tocsin.guardrails.service import evaluate

    alice = rb.as_("Alice")
    ref = alice.post(INC, title="Payroll export leaked", severity="SEV2")["ref"]
    rb.clock.advance(minutes=10)
    with rb.db.unit_of_work() as s:
        assert evaluate(s, rb.now, rb.settings) >= 1  # no scribe: the nudge to Alice is queued
    alice.patch(f"{INC}/{ref}", restricted=True)
    rb.tick()
    mail = rb.expect_email("Alice", ref, "restricted")
    assert "Payroll" not in mail["Subject"] + mail.get_content()
