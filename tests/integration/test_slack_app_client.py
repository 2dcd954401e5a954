"""The Slack app's Web API client (SlackApp) against the fake Slack, through the real slack_sdk.

Each method is driven to success and to Slack's refusals, and every call maps rate limiting,
server errors and a refused connection the same way: retryable (with Retry-After when Slack
gave one), never a raise, never Slack's free text in the detail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.harness.ports import closed_port
from tests.harness.slack import BOT_USER, CHANNEL, TEAM, TOKEN, FakeSlack
from tocsin.config import Settings
from tocsin.notify.chat_types import ChatClient, ChatResult
from tocsin.notify.slack_app import NO_TOKEN, SlackApp
from tocsin.notify.types import Outcome

MODAL = {"type": "modal", "callback_id": "declare", "title": {"type": "plain_text", "text": "Declare an incident"},
         "submit": {"type": "plain_text", "text": "Declare"},
         "blocks": [{"type": "input", "block_id": "title", "label": {"type": "plain_text", "text": "Title"},
                     "element": {"type": "plain_text_input", "action_id": "value"}}]}


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def app(slack: FakeSlack) -> SlackApp:
    return SlackApp(TOKEN, slack.api_url)


@pytest.fixture
def room(app: SlackApp) -> str:
    result = app.create_channel("inc-42-checkout", private=False)
    assert result.ok, result.detail
    return str(result.data["channel_id"])


def refused(result: ChatResult, error: str) -> None:
    assert result.outcome is Outcome.permanent, result.detail
    assert result.error == error
    assert error in result.detail


def api_calls(slack: FakeSlack) -> list[str]:
    return [r.path.removeprefix("/api/") for r in slack.received if r.path.startswith("/api/")]


# -- channels ----------------------------------------------------------------------------------


def test_a_private_channel_is_created_and_the_bot_is_in_it(slack: FakeSlack, app: SlackApp) -> None:
    result = app.create_channel("inc-42-checkout", private=True)

    assert result.ok and result.data == {"channel_id": "C0002", "name": "inc-42-checkout"}
    channel = slack.channel("#inc-42-checkout")
    assert channel.id == "C0002" and channel.is_private and BOT_USER in channel.members
    assert slack.transcript() == ["conversations.create inc-42-checkout -> C0002 (private)"]


def test_a_name_of_80_characters_is_fine(app: SlackApp) -> None:
    assert app.create_channel("i" * 80, private=False).ok


@pytest.mark.parametrize(("name", "error"), [
    ("Inc-42", "invalid_name_specials"),
    ("inc 42", "invalid_name_specials"),
    ("inc.42", "invalid_name_specials"),
    ("", "invalid_name_required"),
    ("i" * 81, "invalid_name_maxlength"),
    ("--_", "invalid_name_punctuation"),
])
def test_channel_names_follow_slacks_rules(slack: FakeSlack, app: SlackApp, name: str, error: str) -> None:
    refused(app.create_channel(name, private=False), error)
    assert list(slack.workspace.channels) in ([], [CHANNEL])  # nothing created


def test_a_taken_name_is_refused_even_once_archived(app: SlackApp, room: str) -> None:
    refused(app.create_channel("inc-42-checkout", private=True), "name_taken")
    assert app.archive(room).ok

    result = app.create_channel("inc-42-checkout", private=False)

    refused(result, "name_taken")
    assert "exists" in result.detail  # the hint, in tocsin's words


def test_the_topic_is_cut_to_slacks_250_characters(slack: FakeSlack, app: SlackApp, room: str) -> None:
    assert app.set_topic(room, "SEV1 checkout: " + "x" * 400).ok

    topic = slack.channel(room).topic
    assert len(topic) == 250 and topic.startswith("SEV1 checkout: ") and topic.endswith("…")


def test_a_topic_on_an_unknown_or_archived_channel_is_refused(app: SlackApp, room: str) -> None:
    refused(app.set_topic("C0NOSUCH", "x"), "channel_not_found")
    app.archive(room)
    refused(app.set_topic(room, "x"), "is_archived")


def test_a_bookmark_is_added_as_a_link(slack: FakeSlack, app: SlackApp, room: str) -> None:
    result = app.add_bookmark(room, "Incident 42", "https://tocsin.test/incidents/42")

    assert result.ok and result.data["bookmark_id"]
    [bookmark] = slack.channel(room).bookmarks
    assert (bookmark.title, bookmark.link) == ("Incident 42", "https://tocsin.test/incidents/42")
    [request] = [r for r in slack.received if r.path == "/api/bookmarks.add"]
    assert request.payload["type"] == "link" and request.payload["channel_id"] == room


def test_a_bookmark_that_is_not_http_is_refused(app: SlackApp, room: str) -> None:
    refused(app.add_bookmark(room, "x", "javascript:alert(1)"), "invalid_link")


def test_archiving_twice_counts_as_archived(slack: FakeSlack, app: SlackApp, room: str) -> None:
    assert app.archive(room).ok
    again = app.archive(room)

    assert again.ok and again.error == "already_archived"
    assert slack.channel(room).archived
    refused(app.archive("C0NOSUCH"), "channel_not_found")


def test_an_archived_channel_is_unarchived(slack: FakeSlack, app: SlackApp, room: str) -> None:
    app.archive(room)

    assert app.unarchive(room).ok and not slack.channel(room).archived
    again = app.unarchive(room)
    assert again.ok and again.error == "not_archived"
    assert app.post(room, "reopened").ok


# -- members -----------------------------------------------------------------------------------


def test_users_are_invited_a_hundred_a_call(slack: FakeSlack, app: SlackApp, room: str) -> None:
    users = [slack.add_user(f"p{i}@example.com", f"Person {i}") for i in range(250)]

    result = app.invite(room, users)

    assert result.ok, result.detail
    assert set(users) <= set(slack.channel(room).members)
    invites = [r for r in slack.received if r.path == "/api/conversations.invite"]
    assert [len(r.payload["users"].split(",")) for r in invites] == [100, 100, 50]


def test_inviting_people_already_in_the_channel_counts_as_invited(slack: FakeSlack, app: SlackApp,
                                                                  room: str) -> None:
    alice = slack.add_user("alice@example.com", "Alice")
    assert app.invite(room, [alice]).ok

    again = app.invite(room, [alice])

    assert again.ok
    assert slack.channel(room).members.count(alice) == 1


def test_an_unknown_user_is_refused_but_does_not_stop_the_others(slack: FakeSlack, app: SlackApp,
                                                                 room: str) -> None:
    alice = slack.add_user("alice@example.com", "Alice")
    refused(app.invite(room, ["U0NOSUCH"]), "user_not_found")

    assert app.invite(room, ["U0NOSUCH", alice]).ok  # force: the valid ones are invited
    assert alice in slack.channel(room).members


def test_nobody_to_invite_makes_no_call(slack: FakeSlack, app: SlackApp, room: str) -> None:
    assert app.invite(room, []).ok
    assert "conversations.invite" not in api_calls(slack)


def test_invites_to_an_archived_channel_are_refused(slack: FakeSlack, app: SlackApp, room: str) -> None:
    alice = slack.add_user("alice@example.com", "Alice")
    app.archive(room)
    refused(app.invite(room, [alice]), "is_archived")


# -- messages ----------------------------------------------------------------------------------


def test_a_post_carries_text_and_blocks(slack: FakeSlack, app: SlackApp, room: str) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*SEV1* checkout is down"}}]

    result = app.post(room, "SEV1 checkout is down", blocks)

    assert result.ok and result.data == {"ts": "1700000000.000100", "channel": room}
    [message] = slack.channel(room).messages
    assert (message.text, message.blocks, message.user) == ("SEV1 checkout is down", blocks, BOT_USER)
    assert slack.transcript()[-1] == 'chat.postMessage #inc-42-checkout: "SEV1 checkout is down"'
    [request] = [r for r in slack.received if r.path == "/api/chat.postMessage"]
    assert request.payload["unfurl_links"] is False and request.payload["unfurl_media"] is False


def test_a_reply_goes_into_the_thread(slack: FakeSlack, app: SlackApp, room: str) -> None:
    parent = app.post(room, "SEV1 declared").data["ts"]

    reply = app.post(room, "update: rolled back", thread_ts=parent)

    assert reply.ok
    first, second = slack.channel(room).messages
    assert (second.text, second.thread_ts) == ("update: rolled back", parent) and first.replies == 1


def test_the_bots_message_is_updated(slack: FakeSlack, app: SlackApp, room: str) -> None:
    ts = app.post(room, "SEV1 declared", [{"type": "actions", "elements": []}]).data["ts"]

    result = app.update(room, ts, "SEV1 declared (acknowledged by Alice)", blocks=[])

    assert result.ok and result.data == {"ts": ts, "channel": room}
    [message] = slack.channel(room).messages
    assert (message.text, message.blocks, message.edited) == ("SEV1 declared (acknowledged by Alice)", [], True)
    refused(app.update(room, "1600000000.000001", "x"), "message_not_found")


def test_someone_elses_message_cannot_be_updated(slack: FakeSlack, app: SlackApp, room: str) -> None:
    alice = slack.add_user("alice@example.com", "Alice")
    ts = slack.add_message(room, "mine", user=alice)

    refused(app.update(room, ts, "x"), "cant_update_message")


def test_a_reaction_marks_a_message_once(slack: FakeSlack, app: SlackApp, room: str) -> None:
    alice = slack.add_user("alice@example.com", "Alice")
    ts = slack.add_message(room, "db failover started", user=alice)

    assert app.react(room, ts, ":white_check_mark:").ok
    again = app.react(room, ts, "white_check_mark")

    assert again.ok and again.error == "already_reacted"
    [message] = slack.channel(room).messages
    assert message.reactions == {"white_check_mark": [BOT_USER]}
    refused(app.react(room, "1600000000.000001", "eyes"), "message_not_found")


def test_the_providers_channel_still_takes_posts(slack: FakeSlack, app: SlackApp) -> None:
    assert app.post(CHANNEL, "hello").ok
    assert slack.channel(CHANNEL).texts == ["hello"]


def test_posts_to_unknown_or_archived_channels_are_refused(app: SlackApp, room: str) -> None:
    refused(app.post("C0NOSUCH", "hi"), "channel_not_found")
    app.archive(room)
    refused(app.post(room, "hi"), "is_archived")


def test_an_ephemeral_message_goes_to_one_member(slack: FakeSlack, app: SlackApp, room: str) -> None:
    alice, bob = slack.add_user("alice@example.com", "Alice"), slack.add_user("bob@example.com", "Bob")
    app.invite(room, [alice])

    result = app.post_ephemeral(room, alice, "Only you can see this")

    assert result.ok and result.data["ts"]
    [shown] = slack.channel(room).ephemerals
    assert (shown.user, shown.text) == (alice, "Only you can see this")
    assert slack.channel(room).messages == []
    refused(app.post_ephemeral(room, bob, "x"), "user_not_in_channel")


def test_a_message_is_read_back_by_ts(slack: FakeSlack, app: SlackApp, room: str) -> None:
    alice = slack.add_user("alice@example.com", "Alice")
    first = slack.add_message(room, "checkout 5xx since 09:12", user=alice)
    app.post(room, "later")

    result = app.message(room, first)

    assert result.ok and result.data == {"text": "checkout 5xx since 09:12", "user": alice, "ts": first}
    assert api_calls(slack)[-1] == "conversations.history"


def test_a_thread_reply_is_read_from_its_thread(slack: FakeSlack, app: SlackApp, room: str) -> None:
    alice = slack.add_user("alice@example.com", "Alice")
    parent = app.post(room, "status?").data["ts"]
    reply = slack.add_message(room, "rolled back", user=alice, thread_ts=parent)
    app.post(room, "after the thread")

    result = app.message(room, reply)

    assert result.ok and result.data == {"text": "rolled back", "user": alice, "ts": reply}
    assert api_calls(slack)[-2:] == ["conversations.history", "conversations.replies"]


def test_the_bots_own_message_reads_back_and_a_missing_one_is_not_found(app: SlackApp, room: str) -> None:
    ts = app.post(room, "from the bot").data["ts"]

    assert app.message(room, ts).data == {"text": "from the bot", "user": BOT_USER, "ts": ts}
    refused(app.message(room, "1600000000.000001"), "message_not_found")
    refused(app.message("C0NOSUCH", ts), "channel_not_found")


# -- users -------------------------------------------------------------------------------------


def test_a_user_is_found_by_email_and_the_email_read_back(slack: FakeSlack, app: SlackApp) -> None:
    alice = slack.add_user("alice@example.com", "Alice")

    assert app.lookup_by_email("Alice@Example.com").data == {"user_id": alice}
    assert app.user_email(alice).data == {"email": "alice@example.com", "team_id": TEAM, "name": "Alice"}
    # an address that cannot name a tocsin user is not given: unconfirmed, deactivated, a bot, a stranger
    for change in ({"email_confirmed": False}, {"deleted": True}, {"is_bot": True}, {"team_id": "T0OTHERORG"}):
        other = slack.add_user("alice@example.com", "Alice")
        for key, value in change.items():
            setattr(slack.workspace.users[other], key, value)
        assert app.user_email(other).ok and app.user_email(other).data == {"name": "Alice"}, change  # a label only


def test_an_unknown_email_or_user_is_permanent(app: SlackApp) -> None:
    result = app.lookup_by_email("nobody@example.com")

    refused(result, "users_not_found")
    assert "nobody@example.com" not in result.detail
    refused(app.user_email("U0NOSUCH"), "user_not_found")


def test_a_profile_without_email_gives_no_email(slack: FakeSlack, app: SlackApp) -> None:
    bob = slack.add_user(None, "Bob")

    result = app.user_email(bob)

    assert result.ok and result.data == {"name": "Bob"}


# -- modals and response_urls ------------------------------------------------------------------


def test_a_modal_is_opened_once_per_trigger(slack: FakeSlack, app: SlackApp) -> None:
    result = app.open_view("1234.5678.abcdef", MODAL)

    assert result.ok and result.data["view_id"]
    [opened] = slack.views
    assert opened["trigger_id"] == "1234.5678.abcdef" and opened["view"]["callback_id"] == "declare"
    refused(app.open_view("1234.5678.abcdef", MODAL), "exchanged_trigger_id")


def test_a_modal_slack_would_reject_is_permanent_without_its_words(app: SlackApp) -> None:
    too_long = {**MODAL, "title": {"type": "plain_text", "text": "A title longer than Slack allows"}}

    result = app.open_view("1234.5678.abcdef", too_long)

    refused(result, "invalid_arguments")
    assert "[ERROR]" not in result.detail and "characters" not in result.detail


def test_an_expired_trigger_is_permanent(slack: FakeSlack, app: SlackApp) -> None:
    slack.workspace.expired_triggers.add("1.2.old")
    result = app.open_view("1.2.old", MODAL)

    refused(result, "expired_trigger_id")
    assert "3 seconds" in result.detail


def test_a_response_is_posted_to_the_response_url(slack: FakeSlack, app: SlackApp) -> None:
    body = {"response_type": "ephemeral", "text": "Declared INC-42"}

    result = app.respond(slack.response_url("commands"), body)

    assert result.ok, result.detail
    [response] = slack.responses
    assert response.path.startswith("/commands/") and response.payload == body
    assert response.headers["Content-Type"].startswith("application/json")


def test_a_response_url_failing_on_slacks_side_is_retryable(slack: FakeSlack, app: SlackApp) -> None:
    slack.fail_next_webhook(1, 503, "<html>down</html>", headers={"Retry-After": "4"})

    result = app.respond(slack.response_url("actions"), {"text": "x"})

    assert result.outcome is Outcome.retryable and result.retry_after == 4
    assert "HTTP 503" in result.detail and "down" not in result.detail


def test_an_unreachable_response_url_is_retryable() -> None:
    port = closed_port()
    app = SlackApp(TOKEN, f"http://127.0.0.1:{port}/api/")

    result = app.respond(f"http://127.0.0.1:{port}/commands/T1/1/x", {"text": "x"})

    assert result.outcome is Outcome.retryable
    assert result.detail == "Slack response_url unreachable (ConnectionRefusedError)"


def test_a_used_response_url_is_permanent(slack: FakeSlack, app: SlackApp) -> None:
    slack.fail_next_webhook(1, 404, "used_url")

    refused(app.respond(slack.response_url("actions"), {"text": "x"}), "used_url")


@pytest.mark.parametrize("url", [
    "https://evil.test/commands/T1/1/x",
    "http://hooks.slack.com/commands/T1/1/x",
    "https://hooks.slack.com.evil.test/commands/T1/1/x",
    "https://hooks.slack.com:8443/commands/T1/1/x",
    "https://someone@hooks.slack.com/commands/T1/1/x",
    "file:///etc/passwd",
    "not a url",
    "http://[::1",
])
def test_a_response_url_that_is_not_slacks_is_refused_without_a_request(slack: FakeSlack, app: SlackApp,
                                                                         url: str) -> None:
    result = app.respond(url, {"text": "x"})

    assert result.outcome is Outcome.permanent
    assert url not in result.detail
    assert slack.connections == 0


def test_a_response_url_on_another_port_of_the_api_host_is_refused(slack: FakeSlack, app: SlackApp) -> None:
    other = slack.response_url().replace(f":{slack.port}/", f":{closed_port()}/")

    assert app.respond(other, {"text": "x"}).outcome is Outcome.permanent


# -- how failures map, for every call ----------------------------------------------------------

CALLS: dict[str, Callable[[SlackApp], ChatResult]] = {
    "create_channel": lambda a: a.create_channel("inc-1", private=True),
    "set_topic": lambda a: a.set_topic(CHANNEL, "t"),
    "add_bookmark": lambda a: a.add_bookmark(CHANNEL, "t", "https://tocsin.test/"),
    "invite": lambda a: a.invite(CHANNEL, ["U0001"]),
    "post": lambda a: a.post(CHANNEL, "hi"),
    "update": lambda a: a.update(CHANNEL, "1700000000.000100", "hi"),
    "post_ephemeral": lambda a: a.post_ephemeral(CHANNEL, "U0001", "hi"),
    "archive": lambda a: a.archive(CHANNEL),
    "unarchive": lambda a: a.unarchive(CHANNEL),
    "react": lambda a: a.react(CHANNEL, "1700000000.000100", "eyes"),
    "lookup_by_email": lambda a: a.lookup_by_email("a@example.com"),
    "user_email": lambda a: a.user_email("U0001"),
    "message": lambda a: a.message(CHANNEL, "1700000000.000100"),
    "open_view": lambda a: a.open_view("1.2.3", MODAL),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_rate_limiting_is_retryable_with_retry_after(slack: FakeSlack, app: SlackApp,
                                                     call: Callable[[SlackApp], ChatResult]) -> None:
    slack.ratelimit_next(retry_after=7)

    result = call(app)

    assert result.outcome is Outcome.retryable and result.retry_after == 7
    assert result.error == "ratelimited" and "Retry-After: 7" in result.detail
    assert len(slack.received) == 1  # one attempt: retrying is the outbox's decision


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_a_server_error_is_retryable(slack: FakeSlack, app: SlackApp, call: Callable[[SlackApp], ChatResult]) -> None:
    slack.fail_for(1, 500)

    result = call(app)

    assert result.outcome is Outcome.retryable and result.error is None
    assert "HTTP 500" in result.detail and "html" not in result.detail.lower()
    assert len(slack.received) == 1


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_a_refused_connection_is_retryable(call: Callable[[SlackApp], ChatResult]) -> None:
    result = call(SlackApp(TOKEN, f"http://127.0.0.1:{closed_port()}/api/"))

    assert result.outcome is Outcome.retryable
    assert result.detail == "Slack API unreachable (ConnectionRefusedError)"


def test_a_slow_api_is_retryable(slack: FakeSlack) -> None:
    slack.delay = 2.0

    result = SlackApp(TOKEN, slack.api_url, timeout=1).post(CHANNEL, "hi")

    assert result.outcome is Outcome.retryable
    assert result.detail == "Slack API unreachable (TimeoutError)"


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_no_token_is_permanent_without_a_request(slack: FakeSlack, call: Callable[[SlackApp], ChatResult]) -> None:
    result = call(SlackApp(None, slack.api_url))

    assert result.outcome is Outcome.permanent and result.detail == NO_TOKEN
    assert slack.connections == 0


@pytest.mark.parametrize(("status", "error", "outcome"), [
    (200, "ratelimited", Outcome.retryable),
    (200, "rate_limited", Outcome.retryable),
    (200, "internal_error", Outcome.retryable),
    (200, "fatal_error", Outcome.retryable),
    (503, "service_unavailable", Outcome.retryable),
    (200, "restricted_action", Outcome.permanent),
    (200, "missing_scope", Outcome.permanent),
    (200, "token_revoked", Outcome.permanent),
])
def test_slacks_error_codes_map_to_outcomes(slack: FakeSlack, app: SlackApp, status: int, error: str,
                                            outcome: Outcome) -> None:
    slack.fail_next_api(1, status, error)

    result = app.create_channel("inc-1", private=False)

    assert result.outcome is outcome and result.error == error, result.detail


def test_free_text_from_slack_never_reaches_the_detail(slack: FakeSlack, app: SlackApp) -> None:
    slack.fail_next_api(1, 400, "Your <b>token</b> was rejected: see https://evil.test")

    result = app.post(CHANNEL, "hi")

    assert result.outcome is Outcome.permanent and result.error is None
    assert "evil" not in result.detail and "token" not in result.detail


def test_a_bad_token_is_permanent_and_not_shown(slack: FakeSlack) -> None:
    secret = "xoxb-0000-wrong-and-secret"
    app = SlackApp(secret, slack.api_url)

    result = app.post(CHANNEL, "hi")

    refused(result, "invalid_auth")
    assert secret not in result.detail and secret not in repr(app)


def test_a_per_method_refusal_knob(slack: FakeSlack, app: SlackApp) -> None:
    slack.refuse_next("conversations.create", "restricted_action")

    refused(app.create_channel("inc-1", private=False), "restricted_action")
    assert app.create_channel("inc-1", private=False).ok


def test_a_rate_limited_window_answers_every_call_429(slack: FakeSlack, app: SlackApp) -> None:
    slack.ratelimit_for(600, retry_after=1)

    results = [app.post(CHANNEL, "hi"), app.create_channel("inc-1", private=False)]

    assert all(r.outcome is Outcome.retryable and r.retry_after == 1 for r in results)
    assert slack.transcript() == ["chat.postMessage -> 429 Retry-After 1", "conversations.create -> 429 Retry-After 1"]


def test_the_transcript_tells_the_story(slack: FakeSlack, app: SlackApp) -> None:
    alice = slack.add_user("alice@example.com", "Alice")
    room = app.create_channel("inc-42-checkout", private=True).data["channel_id"]
    app.invite(room, [alice])
    app.post(room, "SEV1: checkout is down\nsince 09:12")
    slack.ratelimit_next(retry_after=1)
    app.post(room, "again")
    app.archive(room)
    app.post(room, "too late")

    assert slack.transcript() == [
        "conversations.create inc-42-checkout -> C0002 (private)",
        "conversations.invite #inc-42-checkout: Alice (U0001)",
        'chat.postMessage #inc-42-checkout: "SEV1: checkout is down / since 09:12"',
        "chat.postMessage -> 429 Retry-After 1",
        "conversations.archive #inc-42-checkout",
        "chat.postMessage #inc-42-checkout -> is_archived",
    ]


def test_the_client_is_made_from_settings(slack: FakeSlack, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, slack_bot_token=TOKEN, slack_base_url=slack.api_url.rstrip("/"))

    app = SlackApp.from_settings(settings)

    assert app.post(CHANNEL, "hi").ok and app.base_url == slack.api_url
    client: ChatClient = app  # the chat outbox's contract, checked by mypy where it is used
    assert client.platform == "slack"
