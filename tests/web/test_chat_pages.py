"""Chat-ops in the console: Configure -> Chat for admins (what each platform still needs, never a secret's
value; the URLs to paste; the Slack app manifest, also as a download; the incident channels and the
chat outbox's health), the incident room's channels, unlinking a chat account from /me, and the
one-time link page that links a chat user to the signed-in tocsin user exactly once."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient

from tests.harness.console import PASSWORD, login, post_form
from tocsin.audit.models import AuditEntry
from tocsin.chatops import accounts
from tocsin.chatops.accounts import ChatIdentity
from tocsin.chatops.models import ChatAccount, ChatChannel, ChatOutbox
from tocsin.incidents.service import Declaration, declare
from tocsin.severities import Severity
from tocsin.users.service import require_user
from tocsin.web import chat_setup, chat_view

API = "/api/v1"
SIGNING = "sigsecret-do-not-show-0123456789"
BOT = "xoxb-do-not-show-0123456789"


@pytest.fixture
def app(db, clock):
    """The console as an operator half-way through setting up Slack: the signing secret is set, the bot
    token not yet; Mattermost has its address only."""
    from tocsin.app import create_app
    from tocsin.config import Settings

    application = create_app(settings=Settings(
        secret_key="test-secret", public_url="https://tocsin.test", slack_signing_secret=SIGNING, slack_command="/sev",
        slack_workspace_url="https://acme.slack.com", mattermost_url="https://mm.test",
        mattermost_command_token="mm-command-token-do-not-show",
        mattermost_outgoing_token="mm-outgoing-token-do-not-show"), db=db, clock=clock)
    yield application
    application.state.ingest.close()


@pytest.fixture
def web_client(app, make_web_user):
    """As tests/web/conftest.py's, over https (TOCSIN_PUBLIC_URL is https, so the session cookie is Secure)."""
    clients: list[TestClient] = []

    def make(who="responder"):
        user = who if not isinstance(who, str) else make_web_user(who)
        c = TestClient(app, raise_server_exceptions=False, base_url="https://testserver")
        clients.append(c)
        assert login(c, user.email, user.password).status_code == 303
        c.user = user
        return c

    yield make
    for c in clients:
        c.close()


def _incident(db, clock, system, title: str, *, restricted: bool = False):
    with db.unit_of_work() as s:
        inc = declare(s, actor=system, now=clock.now(), spec=Declaration(title=title, severity=Severity.SEV2,
                                                                         restricted=restricted))
        return inc.id, f"INC-{inc.number}"


def _channel(db, clock, incident_id, platform: str, name: str, **fields) -> None:
    with db.unit_of_work() as s:
        s.add(ChatChannel(incident_id=incident_id, platform=platform, name=name, created_at=clock.now(), **fields))


# --- Configure -> Chat --------------------------------------------------------------------------------

def test_an_admin_sees_what_each_platform_needs_without_any_secret(web_client):
    admin = web_client("admin")
    hub = admin.get("/configure").text
    assert 'href="/configure/chat"' in hub
    page = admin.get("/configure/chat")
    assert page.status_code == 200
    text = page.text
    for secret in (SIGNING, BOT, "mm-command-token-do-not-show", "mm-outgoing-token-do-not-show"):
        assert secret not in text
    slack = text[text.index('id="status-slack"'):text.index('id="slack-settings"')]
    assert "Not configured." in slack and "TOCSIN_SLACK_BOT_TOKEN" in slack and "TOCSIN_SLACK_SIGNING_SECRET" not in slack
    settings = text[text.index('id="slack-settings"'):text.index("</table>", text.index('id="slack-settings"'))]
    assert re.search(r"TOCSIN_SLACK_SIGNING_SECRET</code></th>\s*<td>[^<]*</td>\s*<td[^>]*>set</td>", settings)
    assert re.search(r"TOCSIN_SLACK_BOT_TOKEN</code></th>\s*<td>[^<]*</td>\s*<td[^>]*><strong>not set", settings)
    assert "<code>/sev</code>" in settings  # not a secret: shown
    mattermost = text[text.index('id="status-mattermost"'):text.index('id="mattermost-settings"')]
    assert "TOCSIN_MATTERMOST_BOT_TOKEN" in mattermost and "TOCSIN_MATTERMOST_TEAM_ID" in mattermost
    assert "Not configured." in text[text.index('id="status-microsoft-teams"'):]
    for url in ("https://tocsin.test/integrations/slack/commands", "https://tocsin.test/integrations/slack/interactive",
                "https://tocsin.test/integrations/slack/events", "https://tocsin.test/integrations/mattermost/command",
                "https://tocsin.test/integrations/mattermost/actions", "https://tocsin.test/integrations/mattermost/outgoing"):
        assert url in text
    manifest = re.search(r'<pre class="code" id="slack-manifest"[^>]*><code>(.*?)</code></pre>', text, re.S).group(1)
    data = yaml.safe_load(manifest.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&")
                          .replace("&lt;", "<").replace("&gt;", ">"))
    assert data["features"]["slash_commands"][0]["command"] == "/sev"
    assert data["settings"]["event_subscriptions"]["request_url"] == "https://tocsin.test/integrations/slack/events"


def test_configure_chat_is_for_admins_only(web_client):
    for role in ("responder", "viewer"):
        c = web_client(role)
        assert 'href="/configure/chat"' not in c.get("/configure").text
        for path in ("/configure/chat", "/configure/chat/slack-manifest.yaml"):
            r = c.get(path)
            assert r.status_code == 403, (role, path)
            assert "admin" in r.text and "xoxb" not in r.text


def test_the_manifest_downloads_as_a_yaml_attachment_for_this_server(web_client):
    r = web_client("admin").get("/configure/chat/slack-manifest.yaml")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/yaml")
    assert r.headers["content-disposition"].startswith("attachment;") and ".yaml" in r.headers["content-disposition"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert yaml.safe_load(r.text) == chat_setup.expected_manifest("https://tocsin.test", "/sev")
    assert "tocsin.example.com" not in r.text


def test_the_channel_table_pages_newest_first_and_the_outbox_health(web_client, db, clock, system, monkeypatch):
    monkeypatch.setattr(chat_view, "CHANNELS_PAGE", 2)
    old_id, old_ref = _incident(db, clock, system, "Payments slow")
    _channel(db, clock, old_id, "slack", "inc-1-payments-slow", state="archived", channel_id="C0")
    clock.advance(minutes=1)
    sec_id, sec_ref = _incident(db, clock, system, "Leaked deploy key", restricted=True)
    _channel(db, clock, sec_id, "slack", "inc-2", private=True, state="failed",
             detail="Slack refused to create the channel: the name is taken")
    clock.advance(minutes=1)
    new_id, new_ref = _incident(db, clock, system, "Checkout errors")
    _channel(db, clock, new_id, "mattermost", "inc-3-checkout-errors")
    with db.unit_of_work() as s:
        for status, detail, age in (("waiting", None, 0), ("waiting", None, 0), ("failed", "Slack answered 429 "
                                    "eight times: gave up", 2), ("failed", "an old failure", 30)):
            s.add(ChatOutbox(platform="slack", kind="post", status=status, detail=detail, payload={},
                             due_at=clock.now() - timedelta(hours=age), created_at=clock.now() - timedelta(hours=age)))
    admin = web_client("admin")
    first = admin.get("/configure/chat").text
    table = first[first.index('id="chat-channels-table"'):first.index("</table>", first.index('id="chat-channels-table"'))]
    assert table.index(new_ref) < table.index(sec_ref) and old_ref not in table
    assert "Leaked deploy key" in table, "an admin sees every incident"
    assert "could not be created" in table and "the name is taken" in table and "(private)" in table
    assert 'href="/configure/chat?page=2#chat-channels"' in first
    second = admin.get("/configure/chat?page=2").text
    assert old_ref in second and "archived" in second and 'href="/configure/chat?page=1#chat-channels"' in second
    assert "2 calls to chat platforms waiting" in first
    failed = first[first.index('id="chat-outbox-failed"'):]
    assert "Slack answered 429 eight times" in failed and "an old failure" not in failed
    assert admin.get("/configure/chat?page=abc").status_code == 422
    assert admin.get("/configure/chat?page=0").status_code == 422


def test_the_room_shows_the_incidents_channels_and_their_state(web_client, db, clock, system):
    inc_id, ref = _incident(db, clock, system, "Checkout errors")
    _channel(db, clock, inc_id, "slack", "inc-1-checkout-errors", state="ready", channel_id="C0123")
    _channel(db, clock, inc_id, "mattermost", "inc-1-checkout-errors", state="pending")
    page = web_client("responder").get(f"/incidents/{ref}").text
    chat = page[page.index('id="room-chat"'):page.index("</dd>", page.index('id="room-chat"'))]
    assert 'Slack: <a href="https://acme.slack.com/archives/C0123"' in chat and "#inc-1-checkout-errors</a>" in chat
    assert "Mattermost: ~inc-1-checkout-errors" in chat and "(being created)" in chat
    with db.unit_of_work() as s:
        s.execute(sa.update(ChatChannel).where(ChatChannel.platform == "slack").values(state="failed"))
    page = web_client("responder").get(f"/incidents/{ref}").text
    assert "#inc-1-checkout-errors <span class=\"muted\">(could not be created)</span>" in page
    assert "acme.slack.com/archives" not in page
    _none_id, none_ref = _incident(db, clock, system, "Quiet one")
    assert 'id="room-chat"' not in web_client("responder").get(f"/incidents/{none_ref}").text


# --- /me: linked chat accounts ------------------------------------------------------------------------

def _link(db, clock, user_id, external: str, team: str = "T1", via: str = "email") -> uuid.UUID:
    with db.unit_of_work() as s:
        row = accounts.link(s, ChatIdentity("slack", team, external), user=require_user(s, user_id), via=via,
                            now=clock.now())
        return row.id


def test_a_user_sees_and_unlinks_their_own_chat_accounts(web_client, db, clock):
    me = web_client("responder")
    other = web_client("responder")
    mine = _link(db, clock, me.user.id, "U111")
    theirs = _link(db, clock, other.user.id, "U222")
    page = me.get("/me").text
    section = page[page.index('id="chat-accounts"'):page.index("<h2>Profile</h2>")]
    assert "U111" in section and "T1" in section and "by verified email" in section and "U222" not in section
    assert f'action="/me/chat-accounts/{mine}/unlink"' in section

    refused = post_form(me, f"/me/chat-accounts/{theirs}/unlink", page="/me")
    assert refused.status_code == 404
    r = post_form(me, f"/me/chat-accounts/{mine}/unlink", page="/me")
    assert r.status_code == 303 and r.headers["location"] == "/me#chat-accounts"
    assert "Unlinked Slack user U111" in me.get("/me").text
    with db.unit_of_work() as s:
        assert s.get(ChatAccount, mine) is None and s.get(ChatAccount, theirs) is not None
        audit = s.execute(sa.select(AuditEntry).where(AuditEntry.action == "chat.account_unlinked")).scalars().all()
        assert [(a.actor_id, a.details["chat_user"]) for a in audit] == [(me.user.id, "U111")]
    assert post_form(me, f"/me/chat-accounts/{mine}/unlink", page="/me").status_code == 404  # already gone
    assert me.post(f"/me/chat-accounts/{theirs}/unlink", data={}, follow_redirects=False).status_code == 403


# --- the one-time link ---------------------------------------------------------------------------------

def _token(app, clock, external: str = "U123", team: str = "T1", platform: str = "slack") -> str:
    return accounts.link_token(app.state.settings.resolved_secret_key(), ChatIdentity(platform, team, external),
                               now=clock.now())


def _linked(db, external: str) -> list[ChatAccount]:
    with db.unit_of_work() as s:
        rows = list(s.execute(sa.select(ChatAccount).where(ChatAccount.external_id == external)).scalars())
        s.expunge_all()
        return rows


def test_a_good_link_links_once_after_confirming(app, web_client, db, clock):
    token = _token(app, clock)
    anonymous = TestClient(app, raise_server_exceptions=False, base_url="https://testserver")
    r = anonymous.get(f"/chat/link?t={token}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert quote(f"/chat/link?t={token}", safe="/") in r.headers["location"]
    anonymous.close()

    me = web_client("responder")
    page = me.get(f"/chat/link?t={token}")
    assert page.status_code == 200
    assert re.search(rf"Link Slack user <code>U123</code> in workspace <code>T1</code> to your account "
                     rf"<strong>{re.escape(me.user.email)}</strong>\?", page.text)
    assert _linked(db, "U123") == [], "opening the link links nothing"
    assert me.post("/chat/link", data={"t": token}, follow_redirects=False).status_code == 403  # no CSRF token

    done = post_form(me, "/chat/link", {"t": token}, page="/me")
    assert done.status_code == 200 and "<h1>Linked</h1>" in done.text
    [row] = _linked(db, "U123")
    assert (row.user_id, row.platform, row.team_id, row.linked_via) == (me.user.id, "slack", "T1", "link")
    with db.unit_of_work() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "chat.account_linked")).scalar_one() == 1

    # the same link again, by anyone, links nothing more
    someone = web_client("responder")
    replay = post_form(someone, "/chat/link", {"t": token}, page="/me")
    assert replay.status_code == 409 and "already used" in replay.text
    assert [r.user_id for r in _linked(db, "U123")] == [me.user.id]
    assert post_form(me, "/chat/link", {"t": token}, page="/me").status_code == 409


def test_expired_forged_and_missing_links_are_a_clear_400(app, web_client, db, clock):
    me = web_client("responder")
    token = _token(app, clock, external="U777")
    body, _, mac = token.partition(".")
    forged = body + "." + ("0" if mac[0] != "0" else "1") + mac[1:]
    other_key = accounts.link_token("another-server-key", ChatIdentity("slack", "T1", "U777"), now=clock.now())
    for bad in (forged, other_key, "garbage", ""):
        r = me.get(f"/chat/link?t={quote(bad)}")
        assert r.status_code == 400 and "This link is not valid" in r.text, bad
        assert post_form(me, "/chat/link", {"t": bad}, page="/me").status_code == 400
    clock.advance(minutes=16)
    assert me.get(f"/chat/link?t={token}").status_code == 400
    r = post_form(me, "/chat/link", {"t": token}, page="/me")
    assert r.status_code == 400 and "expired" in r.text
    assert _linked(db, "U777") == []


def test_a_guest_cannot_link(app, client, db, clock, system, make_web_user):
    from tocsin.incidents import guests
    from tocsin.incidents.access import require_incident

    admin = make_web_user("admin")
    ref = client.post(f"{API}/incidents", json={"title": "Leaked key", "severity": "SEV2", "kind": "security"},
                      headers=admin.headers).json()["ref"]
    with db.unit_of_work() as s:
        _grant, invite = guests.invite(s, actor=system, now=clock.now(), incident=require_incident(s, system, ref),
                                       email="ivy@irfirm.example", name="Ivy", duration=timedelta(days=1), max_days=30)
        guests.accept(s, now=clock.now(), token=invite, name="Ivy", password=PASSWORD)
    guest = TestClient(app, raise_server_exceptions=False, base_url="https://testserver")
    assert login(guest, "ivy@irfirm.example", PASSWORD).status_code == 303
    token = _token(app, clock, external="U999")
    assert guest.get(f"/chat/link?t={token}").status_code in (403, 404)  # the guest gate: 404, like all but their room
    r = guest.post("/chat/link", data={"t": token, "csrf_token": "0" * 64}, follow_redirects=False)
    assert r.status_code in (403, 404)
    assert _linked(db, "U999") == []
    guest.close()
