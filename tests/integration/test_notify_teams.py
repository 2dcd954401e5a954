"""Microsoft Teams through a Workflows webhook, against the harness's receiver over real HTTP(S).

The receiver plays the Workflows trigger: it records each POST's raw body and answers 202 Accepted
(or whatever the test sets: 429 with Retry-After, 413, 500, 400 with a body that must not be echoed).
Cards are checked against the envelope Microsoft documents for webhook cards (type message, the
Adaptive Card content type, version 1.4, only Action.OpenUrl actions) and the page's buttons are the
signed one-time links `notify.compose` makes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.harness.ports import closed_port
from tests.harness.teams import buttons, card_of, texts, workflows_hook
from tests.harness.webhook import Receiver
from tocsin.config import Settings
from tocsin.net.guard import EgressPolicy
from tocsin.net.http import make_client
from tocsin.net.policy import user_policy
from tocsin.notify import links
from tocsin.notify.compose import GroupPage, Row, compose
from tocsin.notify.dispatch import CHANNELS, Dispatcher
from tocsin.notify.teams import CARD_TYPE, TeamsProvider, encode, incident_card, page_card, plain, post_card
from tocsin.notify.types import Message, Outcome

SECRET = "teams-test-secret"
PUBLIC = "https://tocsin.example"
NOW = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
SIG = "sig=Zm9vYmFyc2VjcmV0c2lnbmF0dXJlMTIz"  # the credential part of a Workflows URL
TEAMS_LIMIT = 28_000  # bytes, as Teams documents it ("about 28 KB")


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(EgressPolicy(deny_private=False), timeout=5) as c:
        yield c


@pytest.fixture
def hook(receiver: Receiver) -> Receiver:
    receiver.status, receiver.reply_body = 202, b""  # what Workflows answers
    return receiver


def url_of(receiver: Receiver, host: str = "127.0.0.1") -> str:
    return (f"{receiver.url(host)}/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01"
            f"&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&{SIG}")


def page(to: str = "https://example.invalid/hook", *, summary: str = "checkout-5xx is failing",
         body: str | None = None, group: GroupPage | None = None) -> tuple[Message, uuid.UUID]:
    """A real page, composed as the engine composes it (signed links, the body's link lines)."""
    nid = uuid.uuid4()
    row = Row(id=nid, idempotency_key=f"esc:1:{nid}", kind="page", subject=f"[critical] {summary}",
              body=body if body is not None else f"{summary}\n\nAlert a1 (critical, high urgency) is triggered.",
              created_at=NOW, alert_id=uuid.uuid4(), group=group)
    return compose([row], "teams", to=to, public_url=PUBLIC, secret=SECRET, now=NOW), nid


# --- the card --------------------------------------------------------------------------------------

def test_a_page_card_is_a_workflows_message_with_the_signed_links_as_open_url_buttons() -> None:
    message, nid = page(group=GroupPage(uuid.uuid4(), "checkout", firing=1, new_since_first_page=None, alerts=1))
    document = page_card(message)

    assert document["type"] == "message"
    [attachment] = document["attachments"]
    assert attachment["contentType"] == CARD_TYPE == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = card_of(document)
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    assert {a["type"] for a in card["actions"]} == {"Action.OpenUrl"}, "a webhook card has no bot for Execute/Submit"
    assert list(buttons(document)) == ["Acknowledge", "Resolve", "Open"]
    assert buttons(document)["Open"] == message.data["links"]["view"]
    for title, action in (("Acknowledge", "ack"), ("Resolve", "resolve")):
        url = buttons(document)[title]
        assert url == message.data["links"][action] and url.startswith(f"{PUBLIC}/n/")
        link = links.read_token(SECRET, url.removeprefix(f"{PUBLIC}/n/"), NOW)
        assert (link.notification_id, link.action) == (nid, action)

    shown = texts(document)
    assert shown[0] == "checkout-5xx is failing"  # the title, its "[critical]" made a fact
    assert "Severity: critical" in shown and "Service: checkout" in shown
    assert "Alert a1 (critical, high urgency) is triggered." in shown[-1]
    assert "/n/" not in " ".join(shown), "the links are buttons, not lines of text"
    assert card["body"][0]["color"] == "Attention"


def test_user_text_cannot_dress_up_a_link_and_is_not_html_escaped() -> None:
    message, _ = page(summary="[Acknowledge here](https://evil.example/x) & <b>now</b>",
                      body="see ![img](https://evil.example/i.png) and [ref][1] {{DATE(2026-01-01T00:00:00Z)}}")
    shown = " ".join(texts(page_card(message)))
    assert "](" not in shown and "][" not in shown
    assert "[Acknowledge here] (https://evil.example/x) & <b>now</b>" in shown  # still readable, not &amp;
    assert "{{" not in shown
    assert set(buttons(page_card(message)).values()) == set(message.data["links"].values()), "no extra button"
    assert plain("a [b](c) d") == "a [b] (c) d"


@pytest.mark.parametrize("filler", ["x", "é", "🔥", '"\\'])
def test_a_huge_page_is_cut_to_stay_under_the_teams_limit(filler: str) -> None:
    message, _ = page(body=filler * 200_000)
    document = page_card(message)
    assert len(encode(document)) < TEAMS_LIMIT
    assert texts(document)[-1].endswith("…")
    assert list(buttons(document)) == ["Acknowledge", "Resolve", "Open"], "the buttons survive the cut"


def test_an_incident_card_names_the_incident_and_opens_it() -> None:
    document = incident_card("INC-42", "Checkout [errors](https://evil.example)", "SEV1", "investigating",
                             "We rolled back 2.3.1.", f"{PUBLIC}/incidents/42")
    card = card_of(document)
    assert document["type"] == "message" and card["version"] == "1.4"
    assert texts(document) == ["INC-42 · SEV1: Checkout [errors] (https://evil.example)", "Status: investigating",
                               "Severity: SEV1", "We rolled back 2.3.1."]
    assert buttons(document) == {"Open incident": f"{PUBLIC}/incidents/42"}
    assert "actions" not in card_of(incident_card("INC-1", "t", "SEV3", "resolved", "", "javascript:alert(1)"))
    assert len(encode(incident_card("INC-1", "t" * 5000, "SEV3", "resolved", "y" * 100_000, None))) < TEAMS_LIMIT


# --- the POST --------------------------------------------------------------------------------------

def test_a_202_is_delivered_and_the_card_crosses_the_wire_as_built(hook: Receiver, client: httpx.Client) -> None:
    message, _ = page(url_of(hook))
    result = TeamsProvider(lambda: client).send(message)

    assert result.outcome is Outcome.delivered, result.detail
    assert "202 Accepted" in result.detail and "workflow accepted" in result.detail
    assert SIG not in result.detail and "/workflows/" not in result.detail
    [post] = hook.posts
    assert post.path.startswith("/hooks/tocsin/workflows/abc/triggers/manual/paths/invoke?")
    assert post.headers["Content-Type"] == "application/json"
    assert json.loads(post.body) == page_card(message)


def test_a_200_from_a_legacy_style_endpoint_is_delivered_too(hook: Receiver, client: httpx.Client) -> None:
    hook.status, hook.reply_body = 200, b"1"
    assert post_card(client, url_of(hook), incident_card("INC-1", "t", "SEV2", "fixing", "x", None)).ok


def test_429_is_retryable_with_the_retry_after(hook: Receiver, client: httpx.Client) -> None:
    hook.status, hook.reply_body, hook.reply_headers = 429, b"Too many requests from tenant", {"Retry-After": "30"}
    result = post_card(client, url_of(hook), incident_card("INC-7", "t", "SEV2", "fixing", "x", None))
    assert result.outcome is Outcome.retryable
    assert (result.retry_after, result.error) == (30.0, "rate_limited")
    assert result.detail == "Teams webhook HTTP 429 Too Many Requests (Retry-After: 30 s)"
    message, _ = page(url_of(hook))
    sent = TeamsProvider(lambda: client).send(message)
    assert sent.outcome is Outcome.retryable and "Retry-After: 30 s" in sent.detail


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(hook: Receiver, client: httpx.Client, status: int) -> None:
    hook.status = status
    message, _ = page(url_of(hook))
    assert TeamsProvider(lambda: client).send(message).outcome is Outcome.retryable


def test_413_is_permanent_card_too_large(hook: Receiver, client: httpx.Client) -> None:
    hook.status, hook.reply_body = 413, b"Request Entity too large"
    result = post_card(client, url_of(hook), incident_card("INC-7", "t", "SEV2", "fixing", "x", None))
    assert (result.outcome, result.error) == (Outcome.permanent, "too_large")
    assert result.detail.startswith("Teams webhook HTTP 413 ") and result.detail.endswith(": card too large")


@pytest.mark.parametrize("status", [400, 401, 404])
def test_other_4xx_are_permanent_and_the_remote_body_is_never_echoed(hook: Receiver, client: httpx.Client,
                                                                     status: int) -> None:
    hook.status, hook.reply_body = status, b"internal-secret-7f3a9c: flow definition of tenant contoso"
    message, _ = page(url_of(hook))
    result = TeamsProvider(lambda: client).send(message)
    assert result.outcome is Outcome.permanent
    assert result.detail.startswith(f"Teams webhook HTTP {status} ")
    assert "internal-secret" not in result.detail and "contoso" not in result.detail and SIG not in result.detail


def test_a_redirect_is_not_followed(hook: Receiver, client: httpx.Client) -> None:
    hook.status, hook.reply_headers = 307, {"Location": "http://169.254.169.254/latest"}
    result = post_card(client, url_of(hook), incident_card("INC-7", "t", "SEV2", "fixing", "x", None))
    assert result.outcome is Outcome.permanent and "redirect not followed" in result.detail
    assert len(hook.posts) == 1


def test_https_with_a_verified_certificate(tmp_path: Path) -> None:
    with workflows_hook(tmp_path) as (hook, trust), \
            make_client(EgressPolicy(deny_private=False), verify=trust, timeout=5) as trusted, \
            make_client(EgressPolicy(deny_private=False), timeout=5) as default:
        document = incident_card("INC-3", "Checkout", "SEV2", "identified", "Fix deploying.", None)
        assert post_card(trusted, url_of(hook, "localhost"), document).ok
        untrusted = post_card(default, url_of(hook, "localhost"), document)
        assert untrusted.outcome is Outcome.retryable and "ConnectError" in untrusted.detail
        assert len(hook.posts) == 1 and json.loads(hook.posts[0].body) == document


def test_an_unreachable_hook_is_retryable_and_names_only_the_host(client: httpx.Client) -> None:
    result = post_card(client, f"http://127.0.0.1:{closed_port()}/workflows/x?{SIG}", page_card(page()[0]))
    assert result.outcome is Outcome.retryable and "127.0.0.1" in result.detail and SIG not in result.detail


@pytest.mark.parametrize("url", ["ftp://example.test/hook", "https://", "not a url"])
def test_a_malformed_url_is_permanent(client: httpx.Client, url: str) -> None:
    result = post_card(client, url, page_card(page()[0]))
    assert result.outcome is Outcome.permanent and "invalid Teams webhook URL" in result.detail


# --- the egress guard ------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.0.0.5", "169.254.169.254", "[::1]", "2130706433"])
def test_a_private_address_is_refused_by_the_egress_guard(hook: Receiver, host: str) -> None:
    strict = Settings(secret_key="test-secret", outbound_allow="")
    with make_client(user_policy(strict), timeout=5) as guarded:
        result = post_card(guarded, f"https://{host}:{hook.port}/workflows/x?{SIG}", page_card(page()[0]))
    assert result.outcome is Outcome.permanent and result.error == "blocked"
    assert "blocked by the egress policy" in result.detail and SIG not in result.detail
    assert hook.connections == 0 and hook.posts == []


def test_the_dispatcher_sends_teams_through_its_guarded_client(hook: Receiver) -> None:
    assert "teams" in CHANNELS
    message, _ = page(url_of(hook))
    strict = Dispatcher(Settings(secret_key="test-secret", outbound_allow=""))
    opened = Dispatcher(Settings(secret_key="test-secret", outbound_allow="127.0.0.1/32"))
    try:
        refused = strict.send("teams", message)
        assert refused.outcome is Outcome.permanent and "loopback" in refused.detail
        assert hook.connections == 0
        sent = opened.send("teams", message)
        assert sent.delivered, sent.detail
    finally:
        strict.close()
        opened.close()
    assert len(hook.posts) == 1
