"""Chat-ops through the whole engine (every module, in production order): while Slack is down the page
still goes out and the incident goes on; once Slack is back, the incident's channel is made with
everything that happened meanwhile, nothing lost."""

from __future__ import annotations

from tocsin.alerts.service import attach, require_alert
from tocsin.incidents import service as incidents
from tocsin.incidents import timeline
from tocsin.severities import Severity


def test_a_slack_outage_holds_up_neither_the_page_nor_the_incident(runbook):
    rb = runbook
    rb.configure(slack_signing_secret="signing-secret", public_url="https://tocsin.example")
    rb.person("Alice"), rb.person("Bob")
    rb.service("checkout", tier=1)
    rb.policy((5, ["Bob"]))
    bob_chat = rb.slack.add_user(rb.people["Bob"].email, "Bob")  # in Slack, not linked: found by email
    rb.tick()  # chat-ops installed: incidents from now on get a channel
    rb.slack.fail_for(3, 500)  # Slack is down (its next three answers)
    with rb.db.unit_of_work() as s:
        incident = incidents.declare(s, actor=rb.principal("Alice"), now=rb.clock.now(), spec=incidents.Declaration(
            title="Checkout is failing", severity=Severity.SEV2, incident_commander=str(rb.people["Alice"].id)))
        incident_id, ref = incident.id, incidents.ref(incident)
    alert_id = rb.trigger("checkout-5xx")
    rb.tick()
    rb.expect_email("Bob", "checkout-5xx")  # the page went out
    with rb.db.unit_of_work() as s:  # the alert is part of the incident: Bob, paged for it, belongs in the channel
        attach(s, alert=require_alert(s, alert_id), incident_key=ref, actor=rb.principal("Alice"), now=rb.clock.now())
    with rb.db.unit_of_work() as s:  # and the incident goes on
        timeline.add_note(s, incident=s.get(incidents.Incident, incident_id), actor=rb.principal("Alice"),
                          now=rb.clock.now(), text="rolling back 4.2.1", key_event=True)
    assert not [c for c in rb.slack.workspace.channels.values() if c.name.startswith("inc-")]
    for _ in range(12):  # Slack comes back; the backoff brings the channel
        rb.tick(minutes=1)
        rb.tick(seconds=1)
    channel = rb.slack.channel(f"#inc-{ref.split('-')[1]}-checkout-is-failing")
    assert channel.topic.startswith("SEV2 · Investigating · IC: Alice · https://tocsin.example/incidents/")
    assert channel.texts[0].startswith(f"🚨 {ref} · SEV2: Checkout is failing")
    assert any("Update: rolling back 4.2.1" in t for t in channel.texts)
    assert bob_chat in channel.members
