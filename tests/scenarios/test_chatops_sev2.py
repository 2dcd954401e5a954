"""Issue 18's "done when": a team runs a SEV2 from declaration to resolution without leaving Slack,
and everything lands on the tocsin timeline. Slack is the fake Slack (its Web API through slack_sdk,
every request the app receives signed as Slack signs it); the engine ticks for real on the ManualClock.

Alice types `/incident` in #alerts and fills the form; the engine opens #inc-1-checkout-errors with its
topic, bookmarks and Alice invited; Bob, in the channel, writes what he sees and Alice captures it with
a :memo: reaction; Alice makes Bob scribe, posts an update, moves the status and resolves; the incident
is closed and its channel archived. The transcript of what Slack saw is printed (pytest -s) for the
closing note."""

from __future__ import annotations

import sqlalchemy as sa

from tests.harness.slack import CHANNEL
from tests.harness.slack_inbound import SlackSender
from tocsin.incidents.models import Incident

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's published example signing secret


def _form(slack) -> dict:
    opened = slack.views[-1]
    return {"id": opened["id"], "private_metadata": opened["view"]["private_metadata"]}


def _catch_up(rb, seconds: int = 10) -> None:
    """Let the engine run a while: it calls Slack once a second per channel (Slack's rate)."""
    for _ in range(seconds):
        rb.tick(seconds=1)


def test_a_sev2_from_declaration_to_resolution_in_slack(runbook):
    rb = runbook
    rb.configure(slack_signing_secret=SECRET, public_url="https://tocsin.example",
                 postmortem_required_severities="")  # closing needs no postmortem here
    rb.person("Alice"), rb.person("Bob")
    rb.service("checkout", tier=1)
    u_alice = rb.slack.add_user(rb.people["Alice"].email, "alice")  # linked on first use by verified email
    u_bob = rb.slack.add_user(rb.people["Bob"].email, "bob")
    rb.slack.workspace.now = lambda: rb.clock.now().timestamp()  # messages are written at the scenario's time
    rb.tick()  # the engine sees the app installed: incidents from now on get a channel
    slack = SlackSender(rb.http, rb.clock, rb.slack, SECRET)

    # 1. /incident opens the form; Alice declares a SEV2 for checkout
    assert slack.command(u_alice, "").status_code == 200
    assert rb.slack.views[-1]["view"]["callback_id"] == "tocsin_declare"
    r = slack.submit(u_alice, _form(rb.slack), {
        "title": {"type": "plain_text_input", "value": "Checkout errors"},
        "severity": {"type": "static_select", "selected_option": {"value": "SEV2"}},
        "services": {"type": "multi_static_select", "selected_options": [{"value": "checkout"}]},
        "flags": {"type": "checkboxes", "selected_options": []}})
    assert r.json() == {"response_action": "clear"}
    with rb.db.read() as s:
        incident = s.execute(sa.select(Incident)).scalar_one()
        incident_id = incident.id
    assert [e.text for e in rb.slack.channel(CHANNEL).ephemerals] == ["You declared INC-1 (SEV2): Checkout errors"]

    # 2. the engine opens the channel: topic, bookmarks, Alice (the declarer) invited, the summary posted
    _catch_up(rb)
    channel = rb.slack.channel("#inc-1-checkout-errors")
    assert not channel.is_private and channel.topic.startswith("SEV2 · Investigating")
    assert [(b.title, b.link) for b in channel.bookmarks] == [("Incident room INC-1", "https://tocsin.example/incidents/INC-1")]
    assert u_alice in channel.members
    assert channel.texts[0].startswith("🚨 INC-1 · SEV2: Checkout errors")

    # 3. Bob says what he sees; Alice captures it with :memo: (Slack delivers the reaction twice: one note)
    said = rb.slack.add_message(channel.id, "EU card payments fail since 14:02, deploy 4.2.1", user=u_bob)
    assert slack.react(u_alice, "memo", channel=channel.id, ts=said).status_code == 200
    assert slack.react(u_alice, "memo", channel=channel.id, ts=said).status_code == 200

    # 4. roles, an update, status and resolution, all by slash command in the channel
    run = lambda text: slack.said(u_alice, text, channel=channel.id)  # noqa: E731
    assert run(f"role scribe <@{u_bob}|bob>")["text"].splitlines()[0] == "Alice made Bob Scribe"
    assert run("update Rolled back 4.2.1; EU payments recovering")["text"].startswith("Alice posted an update")
    assert run("status monitoring")["text"] == "Alice set status to monitoring"
    _catch_up(rb)
    assert run("resolve")["text"] == "Alice resolved the incident"
    assert run("status closed")["text"] == "Alice set status to closed"
    _catch_up(rb)

    # everything is on the timeline, by the people who did it
    entries = rb.timeline(incident_id)
    kinds = [e.kind for e in entries]
    assert kinds[0] == "declared"
    [captured] = [e for e in entries if e.kind == "note" and not e.key_event]
    assert "Bob" in captured.text and "EU card payments fail since 14:02" in captured.text
    assert any(e.kind == "role_assigned" and "Bob" in e.text for e in entries)
    assert any(e.kind == "note" and e.key_event and "Rolled back 4.2.1" in e.text for e in entries)
    assert {"monitoring", "resolved", "closed"} <= {
        word for e in entries if e.kind == "status_changed" for word in e.text.replace(".", " ").split()}

    # and in the channel: each change posted once (bursts merged), then the channel archived
    texts = "\n".join(channel.texts)
    assert texts.count("Rolled back 4.2.1") == 1
    assert "Bob" in texts and "Scribe" in texts
    assert channel.archived
    print("\n".join(["", "--- what Slack saw ---", *rb.slack.transcript(), "--- #" + channel.name + " ---",
                      *channel.texts, "--- the timeline ---", *(f"{e.kind}: {e.text}" for e in entries)]))
