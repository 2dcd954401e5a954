"""Paging a person in Microsoft Teams: a Teams contact method (a Workflows webhook URL) gets the page as an
Adaptive Card whose Acknowledge button is tocsin's signed one-time link; following it acknowledges the
alert and the escalation stops.

The Workflows webhook is the harness's receiver over HTTPS answering 202 (tests/harness/teams.py); the
engine's and the app's dispatchers reach it through the real guarded client, trusting its certificate.
"""

from __future__ import annotations

import re
import uuid

import pytest

from tests.harness.scenario import PUBLIC
from tests.harness.teams import buttons, card_of, cards, texts, trust_dispatchers, workflows_hook

ME = "/api/v1/users/me"


@pytest.fixture
def teams_hook(runbook, tmp_path, monkeypatch):
    """The Workflows stand-in; loopback (both spellings of localhost) opened for it."""
    runbook.configure(outbound_allow="127.0.0.0/8,::1/128")
    with workflows_hook(tmp_path) as (hook, trust):
        trust_dispatchers(monkeypatch, trust)
        yield hook


def test_the_teams_cards_acknowledge_link_acknowledges_and_stops_the_escalation(rb, teams_hook):
    """Alice adds her Teams channel's workflow URL and verifies it with the code the card brought; her only
    rule pages it at once. Alert → a card in Teams → she follows Acknowledge → confirms → acknowledged;
    five minutes later Bob (level 2) is not paged and no second card comes."""
    alice = rb.people["Alice"]
    api, h = rb.http, alice.headers
    url = teams_hook.url("localhost") + "/workflows/5f1c/triggers/manual/paths/invoke?api-version=1&sig=s3cr3tSig"
    created = api.post(f"{ME}/contact-methods", headers=h, json={"type": "teams", "address": url})
    assert created.status_code == 201, created.text
    method = created.json()
    assert (method["type"], method["address"], method["verified"]) == ("teams", url, False)
    sent = api.post(f"/api/v1/contact-methods/{method['id']}/send-code", headers=h).json()
    assert sent["sent"] is True and "202 Accepted" in sent["detail"] and "s3cr3tSig" not in sent["detail"], sent
    [code_card] = cards(teams_hook)
    code = re.search(r"code is (\d{6})", " ".join(texts(code_card))).group(1)
    assert api.post(f"/api/v1/contact-methods/{method['id']}/verify", headers=h, json={"code": code}).json() == \
        {"verified": True}
    rb.rules("Alice", (uuid.UUID(method["id"]), 0))

    alert = rb.trigger("checkout-5xx")
    rb.tick()
    assert len(teams_hook.posts) == 2
    page = cards(teams_hook)[1]
    assert teams_hook.posts[1].path.endswith("sig=s3cr3tSig")
    assert page["type"] == "message" and card_of(page)["version"] == "1.4"
    assert texts(page)[0] == "checkout-5xx is failing" and "Severity: critical" in texts(page)
    links = buttons(page)
    assert list(links) == ["Acknowledge", "Resolve", "Open"]
    assert links["Open"] == f"{PUBLIC}/api/v1/alerts/{alert}"
    ack = links["Acknowledge"].removeprefix(PUBLIC)
    assert ack.startswith("/n/")

    shown = rb.http.get(ack)  # opening the link (what the button does) only asks
    assert shown.status_code == 200 and "Acknowledge" in shown.text
    assert rb.alert(alert).status == "triggered"
    assert rb.http.post(ack).status_code == 200  # the confirmation on tocsin's page acts
    assert rb.alert(alert).status == "acknowledged"
    assert rb.http.post(ack).status_code == 410, "a one-time link"
    assert [n.status for n in rb.notifications(channel="teams")] == ["sent"]

    rb.tick(minutes=6)  # past level 1's five minutes
    rb.tick(minutes=30)
    assert len(teams_hook.posts) == 2, "no second card"
    rb.expect_nothing_more()  # Bob got no email, nobody anything else
    assert rb.emails("Bob") == []
    assert any("by teams" in d for d in rb.decisions(alert, "notified"))


def test_a_teams_workflow_that_refuses_the_card_falls_through_to_email(rb, teams_hook):
    """The workflow answers 404 (deleted): the page fails for good at once (no retries), and Alice's
    other verified method (her account email) gets it instead; the reason shown names the status only."""
    teams = rb.contact("Alice", "teams", teams_hook.url("localhost") + "?sig=gone")
    email = rb.contact("Alice", "email", rb.people["Alice"].email)
    rb.rules("Alice", (teams, 0))
    assert email
    teams_hook.status, teams_hook.reply_body = 404, b"WorkflowNotFound: flow 5f1c in tenant contoso"
    alert = rb.trigger("checkout-5xx")
    rb.tick()
    rb.tick()
    [failed] = rb.notifications(channel="teams")
    assert failed.status == "failed" and "HTTP 404" in failed.last_error
    assert "contoso" not in failed.last_error and "gone" not in failed.last_error
    rb.expect_email("Alice", "checkout-5xx is failing")
    assert rb.alert(alert).status == "triggered"
