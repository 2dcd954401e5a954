"""Pages with buttons that act in chat: with the Slack app installed, a page posted to Slack carries
Acknowledge, Resolve and Escalate buttons (and Open, a link); a click comes back to tocsin signed as
Slack signs it and acts as the Slack user who clicked, mapped to a tocsin user. The same on
Mattermost, whose buttons carry a context tocsin signed.

    Alice is paged on Slack -> she clicks Acknowledge -> the alert is acknowledged, the page says so
    and loses its buttons -> the escalation stopped: Bob, at the next level, is never paged."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.harness.mattermost import TEAM_ID
from tests.harness.mattermost import TOKEN as MM_TOKEN
from tests.harness.slack import CHANNEL
from tests.harness.slack_inbound import block_actions, signed
from tocsin.audit.models import AuditEntry
from tocsin.escalation.models import Notification

SECRET = "page-buttons-signing-secret"
INTERACTIVE = "/integrations/slack/interactive"


@pytest.fixture
def rb(runbook: Any) -> Any:
    runbook.configure(slack_signing_secret=SECRET)
    runbook.service("checkout", tier=1, paging_unit="alert")
    return runbook


def _paged_on_slack(rb: Any) -> tuple[Any, Any, list[dict[str, Any]], str]:
    """Alice paged on Slack (level 1, 5 minutes), Bob by email at level 2: (alert, her page's
    notification, the page's buttons, the page's ts)."""
    rb.person("Alice"), rb.person("Bob")
    rb.rules("Alice", (rb.contact("Alice", "slack", CHANNEL), 0))
    rb.policy((5, ["Alice"]), (5, ["Bob"]))
    alert = rb.trigger()
    rb.tick()
    post = rb.expect_slack(CHANNEL, "checkout-5xx is failing")
    (actions,) = [b for b in post.blocks if b["type"] == "actions"]
    (page,) = rb.notifications(channel="slack", kind="page")
    ts = rb.slack.channel(CHANNEL).messages[-1].ts
    return alert, page, actions["elements"], ts


def _click(rb: Any, action_id: str, value: str, *, user: str, ts: str, text: str = "checkout-5xx is failing",
           response_url: str | None = None) -> str:
    url = response_url or rb.slack.response_url("actions")
    body = block_actions(action_id, value, user=user, channel=CHANNEL, message_ts=ts, message_text=text,
                         response_url=url, button_text=action_id)
    r = rb.http.post(INTERACTIVE, content=body, headers=signed(SECRET, body, int(rb.now.timestamp())))
    assert r.status_code == 200, r.text
    return url


def _answers(rb: Any, url: str) -> list[dict[str, Any]]:
    return [r.payload for r in rb.slack.responses if r.path == urlsplit(url).path]


def test_acknowledge_from_slack_stops_the_escalation(rb: Any) -> None:
    alert, page, buttons, ts = _paged_on_slack(rb)
    assert [(b["action_id"], b["text"]["text"]) for b in buttons] == [
        ("tocsin_ack", "Acknowledge"), ("tocsin_resolve", "Resolve"), ("tocsin_escalate", "Escalate"),
        ("tocsin_view", "Open")]
    assert {b.get("value") for b in buttons[:3]} == {str(page.id)} and "url" not in buttons[0]
    assert buttons[3]["url"] == f"http://tocsin.test/api/v1/alerts/{alert}"

    alice = rb.slack.add_user(rb.people["Alice"].email, "alice")  # her Slack profile shows her verified email
    url = _click(rb, "tocsin_ack", str(page.id), user=alice, ts=ts)
    assert rb.alert(alert).status == "acknowledged"
    (answer,) = _answers(rb, url)
    assert answer["replace_original"] is True
    assert not [b for b in answer["blocks"] if b["type"] == "actions"]  # the buttons are gone
    assert "Acknowledged by Alice" in answer["text"]
    assert rb.escalation(alert_id=alert).status == "stopped"

    # Slack retries the click it did not see answered: it acts once
    again = _click(rb, "tocsin_ack", str(page.id), user=alice, ts=ts, response_url=url)
    assert again == url and len(_answers(rb, url)) == 1
    acks = rb.rows(AuditEntry, AuditEntry.action == "alert.acknowledge")
    assert len(acks) == 1 and acks[0].actor_id == rb.people["Alice"].id

    rb.tick(minutes=12)  # past level 2's delay: Bob is never paged
    assert rb.emails(rb.people["Bob"].email) == []
    assert rb.rows(Notification, Notification.user_id == rb.people["Bob"].id) == []


def test_resolve_and_escalate_from_slack(rb: Any) -> None:
    alert, page, _buttons, ts = _paged_on_slack(rb)
    alice = rb.slack.add_user(rb.people["Alice"].email, "alice")

    url = _click(rb, "tocsin_escalate", str(page.id), user=alice, ts=ts)
    (answer,) = _answers(rb, url)
    assert "Escalated by Alice" in answer["text"]
    assert [b for b in answer["blocks"] if b.get("block_id") == "tocsin_outcome"]
    rb.tick()  # the next level now, not in 5 minutes
    assert rb.emails(rb.people["Bob"].email), "Bob is paged at once"

    url = _click(rb, "tocsin_resolve", str(page.id), user=alice, ts=ts)
    assert rb.alert(alert).status == "resolved"
    (answer,) = _answers(rb, url)
    assert "Resolved by Alice" in answer["text"]


def test_a_click_by_someone_else_acts_as_them_or_tells_them_to_link(rb: Any) -> None:
    alert, page, _buttons, ts = _paged_on_slack(rb)
    stranger = rb.slack.add_user("mallory@elsewhere.test", "mallory")
    url = _click(rb, "tocsin_ack", str(page.id), user=stranger, ts=ts)
    (answer,) = _answers(rb, url)
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert "not linked" in answer["text"] and "http://tocsin.test/chat/link?t=" in answer["text"]
    assert rb.alert(alert).status == "triggered"

    bob = rb.slack.add_user(rb.people["Bob"].email, "bob")  # Bob, not paged, acknowledges: as Bob
    url = _click(rb, "tocsin_ack", str(page.id), user=bob, ts=ts)
    assert "Acknowledged by Bob" in _answers(rb, url)[0]["text"]
    assert rb.alert(alert).status == "acknowledged"

    url = _click(rb, "tocsin_resolve", "not-a-page", user=bob, ts=ts)
    assert _answers(rb, url)[0]["text"] == "This button does not belong to a tocsin page."


def test_a_page_about_a_restricted_incident_is_not_found_for_someone_outside_its_circle(rb: Any) -> None:
    from tests.harness.incidents import declare

    alert, page, _buttons, ts = _paged_on_slack(rb)
    eve = rb.person("Eve")
    secret = declare(rb.http, rb.people["Alice"], title="Credential stuffing", restricted=True)
    rb.as_("Alice").post(f"/alerts/{alert}/attach", 200, incident=secret["id"])
    url = _click(rb, "tocsin_ack", str(page.id), user=rb.slack.add_user(eve.email, "eve"), ts=ts)
    assert _answers(rb, url)[0]["text"] == "this page no longer exists"
    assert rb.alert(alert).status == "triggered"


def test_mattermost_buttons_act_as_the_clicker_and_refuse_a_forged_context(rb: Any, mattermost: Any) -> None:
    mm = mattermost
    rb.configure(slack_signing_secret=SECRET, mattermost_url=mm.url, mattermost_bot_token=MM_TOKEN,
                 mattermost_team_id=TEAM_ID, mattermost_email_linking=True)
    rb.person("Carol")
    carol = mm.add_user("carol", rb.people["Carol"].email)
    town = mm.add_channel("ops-pages", members=(carol,))
    rb.rules("Carol", (rb.contact("Carol", "mattermost", town), 0))
    rb.person("Dan")
    rb.policy((5, ["Carol"]), (5, ["Dan"]))
    alert = rb.trigger()
    rb.tick()
    (post,) = [p for p in mm.posts_in(town) if p.actions]
    # Escalate pages the next level now; its answer is Carol's alone and the buttons stay
    url, body = mm.press(post, "Escalate", carol)
    r = rb.http.post(urlsplit(url).path, json=body)
    assert r.status_code == 200 and "Escalated by Carol" in r.json()["ephemeral_text"]
    rb.tick()
    rb.expect_email("Dan", "")
    url, body = mm.press(post, "Acknowledge", carol)
    path = urlsplit(url).path
    assert path == "/integrations/mattermost/actions"

    forged = {**body, "context": {**body["context"], "a": "resolve"}}  # the signature is for "ack"
    r = rb.http.post(path, json=forged)
    assert r.status_code == 403 and r.json() == {"error": "forbidden"}
    assert rb.alert(alert).status == "triggered"

    r = rb.http.post(path, json=body)
    assert r.status_code == 200
    assert "Acknowledged by Carol" in r.json()["update"]["message"]
    assert rb.alert(alert).status == "acknowledged"
    assert rb.http.post(path, json=body).json() == {}  # Mattermost sent it twice: acted on once


def test_mattermost_actions_are_not_found_while_mattermost_is_not_configured(rb: Any) -> None:
    r = rb.http.post("/integrations/mattermost/actions", json={"user_id": "u", "context": {}})
    assert r.status_code == 404


def test_a_group_page_acknowledges_the_whole_group(runbook: Any) -> None:
    rb = runbook
    rb.configure(slack_signing_secret=SECRET)
    rb.service("checkout", tier=1)  # pages once per alert group
    rb.person("Alice")
    rb.rules("Alice", (rb.contact("Alice", "slack", CHANNEL), 0))
    rb.policy((5, ["Alice"]))
    first = rb.trigger("checkout-5xx")
    rb.tick()
    second = rb.trigger("checkout-latency")
    rb.tick()
    rb.expect_slack(CHANNEL, "checkout-5xx is failing")
    (page,) = rb.notifications(channel="slack", kind="page")
    alice = rb.slack.add_user(rb.people["Alice"].email, "alice")
    url = _click(rb, "tocsin_ack", str(page.id), user=alice, ts=rb.slack.channel(CHANNEL).messages[-1].ts)
    assert "Acknowledged by Alice" in _answers(rb, url)[0]["text"]
    assert {rb.alert(first).status, rb.alert(second).status} == {"acknowledged"}
