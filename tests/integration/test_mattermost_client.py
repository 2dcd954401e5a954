"""The Mattermost REST v4 client against the fake Mattermost on loopback (real HTTP, the guarded client)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from tests.harness.mattermost import BOT_ID, TEAM_ID, TOKEN, FakeMattermost
from tests.harness.ports import closed_port
from tocsin.net.guard import Blocked, EgressPolicy
from tocsin.net.policy import operator_policy
from tocsin.notify.mattermost import (
    MattermostClient,
    MattermostProvider,
    action_context,
    channel_name,
    escape,
    verify_action_context,
)
from tocsin.notify.types import Message, Outcome

POLICY = operator_policy(SimpleNamespace(outbound_allow=""))  # loopback is private: operator servers may be there


@pytest.fixture
def client(mattermost: FakeMattermost) -> Iterator[MattermostClient]:
    c = MattermostClient(mattermost.url, TOKEN, TEAM_ID, policy=POLICY)
    yield c
    c.close()


def test_create_channel_public_and_private(client: MattermostClient, mattermost: FakeMattermost) -> None:
    r = client.create_channel("INC-42 Checkout errors!", private=False)
    assert r.ok, r.detail
    assert r.data["name"] == "inc-42-checkout-errors"
    channel = mattermost.channels[r.data["channel_id"]]
    assert (channel.type, channel.display_name) == ("O", "INC-42 Checkout errors!")
    assert client.create_channel("inc-43", private=True).data["channel_id"] in {
        c.id for c in mattermost.channels.values() if c.type == "P"}


def test_taken_name_is_name_taken(client: MattermostClient) -> None:
    assert client.create_channel("inc-1", private=False).ok
    again = client.create_channel("inc-1", private=False)
    assert (again.outcome, again.error) == (Outcome.permanent, "name_taken")


def test_unusable_name_is_refused_without_a_call(client: MattermostClient, mattermost: FakeMattermost) -> None:
    r = client.create_channel("---", private=False)
    assert (r.outcome, r.error) == (Outcome.permanent, "invalid_name")
    assert mattermost.received == []
    assert channel_name("x" * 100) == "x" * 64


def test_set_topic_sets_header_and_purpose_within_limits(client: MattermostClient, mattermost: FakeMattermost) -> None:
    cid = mattermost.add_channel("inc-7")
    assert client.set_topic(cid, "SEV2 · investigating · IC @alice").ok
    assert mattermost.channels[cid].header == "SEV2 · investigating · IC @alice"
    long = "é" * 2000
    assert client.set_topic(cid, long).ok  # cut to Mattermost's limits rather than refused
    assert len(mattermost.channels[cid].header) == 1024 and len(mattermost.channels[cid].purpose) == 250


def test_bookmark_is_a_pinned_post(client: MattermostClient, mattermost: FakeMattermost) -> None:
    cid = mattermost.add_channel("inc-8")
    r = client.add_bookmark(cid, "Incident room", "https://tocsin.test/incidents/8")
    assert r.ok, r.detail
    [post] = mattermost.posts_in(cid)
    assert post.is_pinned and "https://tocsin.test/incidents/8" in post.message and "Incident room" in post.message
    assert client.add_bookmark(cid, "x", "javascript:alert(1)").error == "invalid_link"


def test_invite_archive_and_post_after_archive(client: MattermostClient, mattermost: FakeMattermost) -> None:
    alice = mattermost.add_user("alice", "alice@example.com")
    cid = mattermost.add_channel("inc-9", private=True)
    assert client.invite(cid, [alice]).ok
    assert alice in mattermost.channels[cid].members
    missing = client.invite(cid, ["u" + "9" * 25])
    assert (missing.outcome, missing.error) == (Outcome.permanent, "app.user.missing_account.const")
    assert client.archive(cid).ok and mattermost.channels[cid].delete_at > 0
    late = client.post(cid, "too late")
    assert late.outcome is Outcome.permanent and late.error == "api.post.create_post.can_not_post_to_deleted.error"


def test_post_translates_url_buttons_and_reads_back(client: MattermostClient, mattermost: FakeMattermost) -> None:
    cid = mattermost.add_channel("inc-10")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}},
              {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Open"},
                                                "url": "https://tocsin.test/incidents/10"}]}]
    r = client.post(cid, "Status: investigating", blocks)
    assert r.ok and r.data["post_id"]
    post = mattermost.posts[r.data["post_id"]]
    assert post.message == "Status: investigating"
    assert post.props["attachments"][0]["text"] == "[Open](https://tocsin.test/incidents/10)"
    read = client.message(cid, r.data["post_id"])
    assert read.ok and read.data["text"] == "Status: investigating" and read.data["user"] == BOT_ID
    assert read.data["ts"] == f"{post.create_at / 1000:.3f}"
    elsewhere = mattermost.add_channel("elsewhere")
    assert client.message(elsewhere, r.data["post_id"]).error == "post_not_in_channel"


def test_post_ephemeral(client: MattermostClient, mattermost: FakeMattermost) -> None:
    alice = mattermost.add_user("alice", "alice@example.com")
    cid = mattermost.add_channel("inc-11", members=(alice,))
    assert client.post_ephemeral(cid, alice, "only you see this").ok
    assert mattermost.ephemerals == [{"user_id": alice, "channel_id": cid, "message": "only you see this"}]


def test_users_by_email_and_id(client: MattermostClient, mattermost: FakeMattermost) -> None:
    alice = mattermost.add_user("alice", "alice@example.com")
    assert client.lookup_by_email("alice@example.com").data == {"user_id": alice}
    nobody = client.lookup_by_email("nobody@example.com")
    assert (nobody.outcome, nobody.error) == (Outcome.permanent, "app.user.missing_account.const")
    assert client.user_email(alice).data == {"email": "alice@example.com"}
    mattermost.hide_emails = True
    assert client.user_email(alice).error == "email_hidden"
    assert client.lookup_by_email("a/../b@x").error == "invalid_email"


def test_ids_cannot_add_path_segments(client: MattermostClient, mattermost: FakeMattermost) -> None:
    r = client.archive("../users/me")
    assert r.outcome is Outcome.permanent
    assert mattermost.received[-1].path.startswith("/api/v4/channels/")


def test_rate_limited_is_retryable_with_the_reset(client: MattermostClient, mattermost: FakeMattermost) -> None:
    cid = mattermost.add_channel("inc-12")
    mattermost.ratelimit_next(1, reset=7)
    r = client.post(cid, "hello")
    assert (r.outcome, r.retry_after) == (Outcome.retryable, 7.0)
    assert "limit exceeded" not in r.detail
    assert client.post(cid, "hello").ok  # the limit has passed


def test_server_error_is_retryable_without_the_remote_message(client: MattermostClient,
                                                               mattermost: FakeMattermost) -> None:
    cid = mattermost.add_channel("inc-13")
    mattermost.fail_next(1, 500)
    r = client.set_topic(cid, "x")
    assert r.outcome is Outcome.retryable and r.error == "app.fake.failure.app_error"
    assert "We encountered an error" not in r.detail and "HTTP 500" in r.detail


def test_bad_token_is_permanent_and_never_shown(mattermost: FakeMattermost) -> None:
    c = MattermostClient(mattermost.url, "wrong-secret-token", TEAM_ID, policy=POLICY)
    r = c.create_channel("inc-14", private=False)
    c.close()
    assert (r.outcome, r.error) == (Outcome.permanent, "api.context.session_expired.app_error")
    assert "TOCSIN_MATTERMOST_BOT_TOKEN" in r.detail and "wrong-secret-token" not in r.detail + repr(c)
    assert "Invalid or expired session" not in r.detail


def test_refused_connection_is_retryable() -> None:
    c = MattermostClient(f"http://127.0.0.1:{closed_port()}", TOKEN, TEAM_ID, policy=POLICY, timeout=2)
    r = c.lookup_by_email("alice@example.com")
    c.close()
    assert (r.outcome, r.error) == (Outcome.retryable, "unreachable")


def test_metadata_address_is_refused_by_the_policy() -> None:
    c = MattermostClient("http://169.254.169.254", TOKEN, TEAM_ID, policy=POLICY)
    r = c.archive("c" * 26)
    c.close()
    assert (r.outcome, r.error) == (Outcome.permanent, "egress_blocked")


def test_the_operator_policy_allows_private_networks_but_not_metadata() -> None:
    POLICY.check("10.1.2.3")
    POLICY.check("127.0.0.1")
    with pytest.raises(Blocked):
        POLICY.check("169.254.169.254")
    with pytest.raises(Blocked):
        EgressPolicy.from_settings("", deny_private=True).check("10.1.2.3")  # unlike the user policy


def test_direct_channel_for_a_user(client: MattermostClient, mattermost: FakeMattermost) -> None:
    alice = mattermost.add_user("alice", "alice@example.com")
    first, again = client.direct_channel(alice), client.direct_channel(alice)
    assert first.ok and first.data["channel_id"] == again.data["channel_id"]
    assert mattermost.channels[first.data["channel_id"]].members == {alice, BOT_ID}


def test_signed_context_round_trip() -> None:
    n = uuid.uuid4()
    ctx = action_context("server-key", n, "ack")
    assert verify_action_context("server-key", ctx) == (n, "ack")
    assert verify_action_context("other-key", ctx) is None
    assert verify_action_context("server-key", {**ctx, "a": "resolve"}) is None
    assert verify_action_context("server-key", {**ctx, "n": str(uuid.uuid4())}) is None
    assert verify_action_context("server-key", {"n": str(n), "a": "ack"}) is None
    assert verify_action_context("server-key", {"n": 1, "a": "ack", "sig": "x"}) is None


def test_escape_defuses_links_and_mentions() -> None:
    text = escape("[click](http://evil) @channel ~town-square mail a@b.c")
    assert "[click]" not in text and "@channel" not in text and "~town" not in text
    assert "a@b.c" in text


# -- the paging provider ---------------------------------------------------------------------------

def _message(to: str, **data: object) -> Message:
    return Message(idempotency_key="k1", to=to, subject="checkout-5xx is failing", body="5xx above 2%",
                   data=dict(data), created_at=datetime(2026, 12, 6, 12, 0, tzinfo=UTC))


@pytest.fixture
def provider(client: MattermostClient) -> MattermostProvider:
    return MattermostProvider(client, server_key="server-key", public_url="https://tocsin.test/")


def test_an_incident_page_has_acknowledge_only(provider: MattermostProvider, mattermost: FakeMattermost) -> None:
    cid, n = mattermost.add_channel("oncall"), uuid.uuid4()
    links = {"ack": "https://tocsin.test/n/a", "view": "https://tocsin.test/incidents/1"}
    result = provider.send(_message(cid, kind="incident", links=links, notification_id=str(n)))
    assert result.delivered and result.provider_id
    post = mattermost.posts[result.provider_id]
    assert [a["name"] for a in post.actions] == ["Acknowledge"]
    assert verify_action_context("server-key", post.actions[0]["integration"]["context"]) == (n, "ack")
    assert post.actions[0]["integration"]["url"] == "https://tocsin.test/integrations/mattermost/actions"


def test_a_responder_page_keeps_decline_as_a_link(provider: MattermostProvider, mattermost: FakeMattermost) -> None:
    cid = mattermost.add_channel("oncall")
    links = {"ack": "https://tocsin.test/n/a", "decline": "https://tocsin.test/n/d",
             "view": "https://tocsin.test/incidents/1"}
    result = provider.send(_message(cid, kind="responder", links=links, notification_id=str(uuid.uuid4())))
    [attachment] = mattermost.posts[str(result.provider_id)].props["attachments"]
    assert "[Decline](https://tocsin.test/n/d)" in attachment["text"]


def test_a_bundle_has_no_buttons(provider: MattermostProvider, mattermost: FakeMattermost) -> None:
    cid = mattermost.add_channel("oncall")
    result = provider.send(_message(cid, kind="page", links={}))
    assert result.delivered and mattermost.posts[str(result.provider_id)].actions == []


def test_bad_destinations_are_permanent(provider: MattermostProvider, mattermost: FakeMattermost) -> None:
    for to in ("town-square", "@x", "https://mm.example.com/hooks/abc"):
        assert provider.send(_message(to)).outcome is Outcome.permanent
    unknown = provider.send(_message("@nobody"))
    assert unknown.outcome is Outcome.permanent and "Unable to find" not in unknown.detail
    gone = mattermost.add_channel("gone")
    mattermost.channels[gone].delete_at = 1
    assert provider.send(_message(gone)).outcome is Outcome.permanent
