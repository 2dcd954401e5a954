"""Pages to Mattermost: a person whose contact method is Mattermost gets the page as a post with
Acknowledge and Resolve buttons whose signed context names the page, through the fake Mattermost."""

from __future__ import annotations

import re

import pytest

from tests.harness.mattermost import TEAM_ID, TOKEN, FakeMattermost
from tests.harness.scenario import PUBLIC, SECRET_KEY
from tocsin.notify.mattermost import ACTIONS_PATH, verify_action_context


@pytest.fixture
def rb(runbook, mattermost: FakeMattermost):  # noqa: ANN001, ANN201
    runbook.configure(mattermost_url=mattermost.url, mattermost_bot_token=TOKEN, mattermost_team_id=TEAM_ID)
    runbook.service("checkout", tier=1, paging_unit="alert")  # the page is the alert's own
    return runbook


def test_a_page_reaches_a_person_on_mattermost_with_signed_buttons(rb, mattermost: FakeMattermost) -> None:  # noqa: ANN001
    rb.person("Ivy")
    ivy_mm = mattermost.add_user("ivy", "ivy@example.com")
    # Ivy adds "@ivy" through the API and types back the code the bot sent her in a direct message.
    api, h = rb.http, rb.people["Ivy"].headers
    method = api.post("/api/v1/users/me/contact-methods", headers=h,
                      json={"type": "mattermost", "address": "@ivy"}).json()
    assert api.post(f"/api/v1/contact-methods/{method['id']}/send-code", headers=h).json()["sent"] is True
    [dm] = [c for c in mattermost.channels.values() if c.type == "D"]
    assert ivy_mm in dm.members
    code = re.search(r"code is (\d{6})", mattermost.posts_in(dm.id)[0].message).group(1)
    assert api.post(f"/api/v1/contact-methods/{method['id']}/verify", headers=h, json={"code": code}).json() == \
        {"verified": True}

    rb.policy((30, ["Ivy"]))
    alert = rb.trigger("checkout-5xx", summary="checkout 5xx above 2% [see](http://evil) @channel")
    rb.tick()

    post = mattermost.posts_in(dm.id)[-1]
    assert "checkout" in post.message
    assert "[see](http://evil)" not in post.message and "@channel" not in post.message  # words from alerts are inert
    [attachment] = post.props["attachments"]
    assert attachment["title_link"] == f"{PUBLIC}/api/v1/alerts/{alert}"  # the Open link
    buttons = {a["name"]: a for a in attachment["actions"]}
    assert set(buttons) == {"Acknowledge", "Resolve", "Escalate"}
    [page] = rb.notifications(channel="mattermost", kind="page")
    assert page.status == "sent" and page.provider_id == post.id
    for name, action in (("Acknowledge", "ack"), ("Resolve", "resolve"), ("Escalate", "escalate")):
        integration = buttons[name]["integration"]
        assert integration["url"] == PUBLIC + ACTIONS_PATH
        assert verify_action_context(SECRET_KEY, integration["context"]) == (page.id, action)
        assert verify_action_context("another-server", integration["context"]) is None
    # What Mattermost would send tocsin when Ivy presses Acknowledge carries the same context back.
    url, body = mattermost.press(post, "Acknowledge", ivy_mm)
    assert url == PUBLIC + ACTIONS_PATH and verify_action_context(SECRET_KEY, body["context"]) == (page.id, "ack")
    assert body["user_id"] == ivy_mm and body["post_id"] == post.id
    # No signed one-time link is written into the post itself: the buttons carry the action.
    assert "/n/" not in post.message

    transcript = mattermost.transcript()
    assert any("opened a direct channel with @ivy" in line for line in transcript)
    assert any("[buttons: Acknowledge, Resolve, Escalate]" in line for line in transcript)
    print("\n".join(transcript))  # the closing note's transcript (pytest -s)


def test_a_channel_destination_and_a_rate_limited_server(rb, mattermost: FakeMattermost) -> None:  # noqa: ANN001
    rb.person("Ivy")
    cid = mattermost.add_channel("oncall-payments")
    method = rb.contact("Ivy", "mattermost", cid)
    mattermost.posts.clear()
    rb.rules("Ivy", (method, 0))
    rb.policy((30, ["Ivy"]))
    mattermost.ratelimit_next(1, reset=5)
    rb.trigger()
    rb.tick()
    [page] = rb.notifications(channel="mattermost", kind="page")
    assert page.status == "queued" and "HTTP 429" in page.last_error and "limit exceeded" not in page.last_error
    assert mattermost.posts_in(cid) == []
    rb.tick(minutes=2)
    [page] = rb.notifications(channel="mattermost", kind="page")
    assert page.status == "sent"
    [post] = mattermost.posts_in(cid)
    assert [a["name"] for a in post.actions] == ["Acknowledge", "Resolve", "Escalate"]


def test_without_the_settings_a_mattermost_page_fails_naming_them(runbook, mattermost: FakeMattermost) -> None:  # noqa: ANN001
    rb = runbook
    rb.person("Ivy")
    api, h = rb.http, rb.people["Ivy"].headers
    method = api.post("/api/v1/users/me/contact-methods", headers=h,
                      json={"type": "mattermost", "address": "c" + "0" * 25}).json()
    sent = api.post(f"/api/v1/contact-methods/{method['id']}/send-code", headers=h).json()
    assert sent["sent"] is False
    assert "TOCSIN_MATTERMOST_URL" in sent["detail"] and "TOCSIN_MATTERMOST_BOT_TOKEN" in sent["detail"]
    assert mattermost.received == []
