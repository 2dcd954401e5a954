"""Chat-ops as an attacker sees it: forged or replayed requests, acting as someone else, need-to-know
leaks, malformed input that must never be a 500, double actions on retries. Each test is an attack
that once worked (or would, without the check it names)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.harness import mattermost as mm
from tests.harness.ingest import AppliedClient
from tocsin.chatops.models import ChatAccount
from tocsin.incidents.models import Incident

MM_COMMAND = "/integrations/mattermost/command"


def _mm_app(db: Any, clock: Any, fake: Any, **extra: Any) -> Any:
    from tocsin.app import create_app
    from tocsin.config import Settings

    settings = Settings(max_body_bytes=64 * 1024, secret_key="test-secret", public_url="https://tocsin.example.test",
                        mattermost_command_token=mm.COMMAND_TOKEN, mattermost_url=fake.url,
                        mattermost_bot_token=mm.TOKEN, mattermost_team_id=mm.TEAM_ID, **extra)
    return create_app(settings=settings, db=db, clock=clock)


@pytest.fixture
def mm_http(db: Any, clock: Any, mattermost: Any) -> Any:
    app = _mm_app(db, clock, mattermost)
    try:
        with AppliedClient(app, raise_server_exceptions=False) as c:
            yield c
    finally:
        app.state.ingest.close()


def _mm_said(c: Any, text: str, **kwargs: Any) -> dict[str, Any]:
    body, headers = mm.slash_command(text, **kwargs)
    r = c.post(MM_COMMAND, content=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


# -- acting as another user: Mattermost's profile email is the user's own claim -------------------

def test_a_mattermost_user_who_types_an_admins_email_is_not_linked_as_the_admin(db, mm_http, mattermost,
                                                                                 make_person) -> None:
    """Mattermost lets a user change their own email without verifying it (unless the server requires
    verification), so by default its email never links: Mallory, who set the admin's address on her
    Mattermost profile, gets the one-time link, not the admin's powers."""
    admin = make_person("admin", name="Ada")
    mallory = mattermost.add_user("mallory", admin.email)
    answer = _mm_said(mm_http, "declare SEV2 pwned", user_id=mallory, trigger_id="t-1")
    assert "/chat/link?t=" in answer["text"] and answer["response_type"] == "ephemeral"
    with db.unit_of_work() as s:
        assert s.execute(sa.select(ChatAccount)).first() is None
        assert s.execute(sa.select(Incident)).first() is None


def test_mattermost_email_linking_is_an_opt_in_and_needs_the_servers_verified_flag(db, clock, mattermost,
                                                                                 make_person) -> None:
    ada = make_person("responder", name="Ada")
    bob = make_person("responder", name="Bob")
    ada_mm = mattermost.add_user("ada", ada.email)
    bob_mm = mattermost.add_user("bob", bob.email)
    mattermost.users[bob_mm].email_verified = False
    app = _mm_app(db, clock, mattermost, mattermost_email_linking=True)
    try:
        with AppliedClient(app, raise_server_exceptions=False) as c:
            assert "Ada declared INC-1" in _mm_said(c, "declare SEV2 checkout", user_id=ada_mm, trigger_id="a")["text"]
            assert "/chat/link?t=" in _mm_said(c, "declare SEV2 search", user_id=bob_mm, trigger_id="b")["text"]
    finally:
        app.state.ingest.close()


# -- malformed input: every request gets a 2xx or a 4xx, never a 500 ------------------------------

SLACK_SECRET = "fuzz-signing-secret-0123456789ab"
# one value of each shape a handler could trip on (wrong type, out of range, empty, huge, NUL, a lone
# surrogate); each request runs a handler to its end, so every extra value costs a pass over every field
GARBAGE: list[Any] = [None, -1, 10**30, 1e308, True, [], {"a": {"b": []}}, "", "x" * 5000, "\x00", "\ud800"]


def _mutations(value: Any) -> Any:
    """Every copy of `value` with one of its members (at any depth) replaced by one of GARBAGE."""
    if isinstance(value, dict):
        for key, inner in value.items():
            for garbage in GARBAGE:
                yield {**value, key: garbage}
            for changed in _mutations(inner):
                yield {**value, key: changed}
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            for changed in _mutations(inner):
                yield [*value[:i], changed, *value[i + 1:]]


@pytest.fixture
def chat_app(db: Any, clock: Any, slack: Any, mattermost: Any, make_person: Any) -> Any:
    """Slack and Mattermost both configured; Alice linked on both, in an incident whose channel is
    CHANNEL on Slack and "incchan..." on Mattermost, so malformed requests get far into the handlers."""
    from tests.harness.slack import CHANNEL, TEAM, TOKEN
    from tocsin.app import create_app
    from tocsin.chatops.accounts import ChatIdentity, link
    from tocsin.chatops.models import ChatChannel
    from tocsin.config import Settings
    from tocsin.incidents.service import Declaration
    from tocsin.severities import Severity
    from tocsin.users.service import principal_for, require_user

    settings = Settings(max_body_bytes=256 * 1024, secret_key="test-secret", public_url="https://tocsin.example.test",
                        slack_signing_secret=SLACK_SECRET, slack_bot_token=TOKEN, slack_base_url=slack.api_url,
                        mattermost_command_token=mm.COMMAND_TOKEN, mattermost_url=mattermost.url,
                        mattermost_bot_token=mm.TOKEN, mattermost_team_id=mm.TEAM_ID)
    alice = make_person("responder", name="Alice")
    with db.unit_of_work() as s:
        from tocsin.flows import incidents as flows

        user = require_user(s, alice.id)
        link(s, ChatIdentity("slack", TEAM, "U0001"), user=user, via="link", now=clock.now())
        link(s, ChatIdentity("mattermost", mm.TEAM_ID, "ufake000000000000000000000"), user=user, via="link",
             now=clock.now())
        incident = flows.declare(s, actor=principal_for(s, user), now=clock.now(),
                                 spec=Declaration(title="Checkout errors", severity=Severity.SEV2))
        for platform, channel in (("slack", CHANNEL), ("mattermost", "cfake000000000000000000000")):
            s.add(ChatChannel(incident_id=incident.id, platform=platform, channel_id=channel, name="inc-1",
                              state="ready", created_at=clock.now()))
    app = create_app(settings=settings, db=db, clock=clock)
    try:
        with AppliedClient(app, raise_server_exceptions=False) as c:
            yield c
    finally:
        app.state.ingest.close()


def _slack_post(c: Any, clock: Any, path: str, body: bytes, **headers: str) -> Any:
    from tests.harness.slack_inbound import signed

    return c.post(path, content=body, headers={**signed(SLACK_SECRET, body, int(clock.now().timestamp())), **headers})


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value).encode("utf-8", "surrogatepass")


def _payload_form(payload: Any) -> bytes:
    from urllib.parse import quote

    return b"payload=" + quote(_json(payload)).encode()


_FAILED: list[str] = []


def _ok(r: Any, what: Any) -> None:
    """Note a 5xx (the test fails at its end, listing them all)."""
    if r.status_code >= 500:
        _FAILED.append(f"{r.status_code} for {str(what)[:300]}")


@pytest.fixture(autouse=True)
def _no_5xx() -> Any:
    _FAILED.clear()
    yield
    assert not _FAILED, "\n".join(_FAILED[:20])


@pytest.mark.slow  # fuzzing: out of make test-fast, in make test
@pytest.mark.both_backends  # PostgreSQL refuses text SQLite takes
def test_signed_slack_interactions_of_any_shape_are_never_a_500(chat_app, clock) -> None:
    import json
    from urllib.parse import parse_qsl

    from tests.harness import slack_inbound as si

    samples = [si.block_actions("tocsin_ack", "8d0c3f5e-5a3b-4d5b-9d59-3b1f0f0c0a01"),
               si.message_action("tocsin_capture", message_text="db is down"),
               si.view_submission("tocsin_declare", {"title": {"title": "x"}})]
    for sample in samples:
        payload = json.loads(dict(parse_qsl(sample.decode()))["payload"])
        for changed in _mutations(payload):
            _ok(_slack_post(chat_app, clock, "/integrations/slack/interactive", _payload_form(changed)), changed)


@pytest.mark.slow  # fuzzing: out of make test-fast, in make test
@pytest.mark.both_backends  # PostgreSQL refuses text SQLite takes
def test_signed_slack_events_and_commands_of_any_shape_are_never_a_500(chat_app, clock) -> None:
    import json
    from urllib.parse import urlencode

    from tests.harness import slack_inbound as si

    events = [si.reaction_added("memo", ts="1700000000.000100"), si.pin_added(ts="1700000000.000200", text="x"),
              si.member_joined_channel()]
    n = 0
    for event in events:
        envelope = json.loads(si.event_callback(event))
        for changed in _mutations(envelope):
            n += 1
            if isinstance(changed, dict):
                changed["event_id"] = changed.get("event_id") if not isinstance(changed.get("event_id"), str) \
                    else f"Ev{n}"
            _ok(_slack_post(chat_app, clock, "/integrations/slack/events", _json(changed)), changed)
    for text in ("declare SEV2 \ud800", "note " + "x" * 5000, "role ic <@" + "U" * 300 + ">", "page " + "y" * 300,
                 "sev SEV1 " + "z" * 3000, "role scribe " + "a" * 300 + "@example.com", "link", "status \x7f"):
        form = {"team_id": "T0001", "user_id": "U0001", "channel_id": si.CHANNEL, "trigger_id": f"t{len(text)}",
                "text": text}
        body = urlencode(form, encoding="utf-8", errors="surrogatepass").encode()
        _ok(_slack_post(chat_app, clock, "/integrations/slack/commands", body), text)
    for field in ("team_id", "user_id", "channel_id", "trigger_id"):
        for garbage in ("x" * 3000, "%ff", "\u202e"):
            form = {"team_id": "T0001", "user_id": "U0001", "channel_id": si.CHANNEL, "trigger_id": "t", "text": "link",
                    field: garbage}
            _ok(_slack_post(chat_app, clock, "/integrations/slack/commands", urlencode(form).encode()), form)
    for raw in (b"\xff\xfe", b"{", b"[]", b"null", b"payload=%ff", b"payload=" + b"[" * 5000, b"{" * 5000):
        for path in ("commands", "interactive", "events"):
            _ok(_slack_post(chat_app, clock, f"/integrations/slack/{path}", raw), raw)


@pytest.mark.slow  # fuzzing: out of make test-fast, in make test
@pytest.mark.both_backends  # PostgreSQL refuses text SQLite takes
def test_mattermost_requests_of_any_shape_are_never_a_500(chat_app) -> None:
    from urllib.parse import urlencode

    from tocsin.notify.mattermost import action_context

    context = action_context("test-secret", "8d0c3f5e-5a3b-4d5b-9d59-3b1f0f0c0a01", "ack")
    for changed in _mutations(mm.action_request(context)):
        _ok(chat_app.post("/integrations/mattermost/actions", content=_json(changed),
                          headers={"Content-Type": "application/json"}), changed)
    for raw in (b"\xff", b"[]", b"null", b"[" * 5000, b'{"user_id": "\\ud800", "context": {}}'):
        _ok(chat_app.post("/integrations/mattermost/actions", content=raw), raw)
    body, headers = mm.slash_command("link")
    fields = dict(__import__("urllib.parse").parse.parse_qsl(body.decode()))
    for key in fields:
        for garbage in ("x" * 3000, "\ud800", "", "%ff"):
            form = urlencode({**fields, key: garbage}, errors="surrogatepass").encode()
            _ok(chat_app.post(MM_COMMAND, content=form, headers=headers), (key, garbage))
    for text in ("declare SEV2 " + "t" * 4000, "note \ud800", "role ic @" + "u" * 300, "page @" + "v" * 300):
        form = urlencode({**fields, "text": text, "channel_id": "cfake000000000000000000000",
                          "trigger_id": f"x{len(text)}"}, errors="surrogatepass").encode()
        _ok(chat_app.post(MM_COMMAND, content=form, headers=headers), text)


# -- acting as another user on Slack: only the workspace's own, confirmed, live accounts link ------

@pytest.fixture
def slack_http(db: Any, clock: Any, slack: Any) -> Any:
    from tests.harness.slack import TOKEN
    from tocsin.app import create_app
    from tocsin.config import Settings

    settings = Settings(max_body_bytes=256 * 1024, secret_key="test-secret", public_url="https://tocsin.example.test",
                        slack_signing_secret=SLACK_SECRET, slack_bot_token=TOKEN, slack_base_url=slack.api_url)
    app = create_app(settings=settings, db=db, clock=clock)
    try:
        with AppliedClient(app, raise_server_exceptions=False) as c:
            yield c
    finally:
        app.state.ingest.close()


def _slack_said(c: Any, clock: Any, user: str, text: str, trigger: str) -> dict[str, Any]:
    from tests.harness.slack_inbound import slash_command

    r = _slack_post(c, clock, "/integrations/slack/commands", slash_command(text, user=user, trigger_id=trigger))
    assert r.status_code == 200, r.text
    return r.json()


def test_a_slack_connect_stranger_or_an_unconfirmed_email_does_not_link(db, clock, slack, slack_http,
                                                                        make_person) -> None:
    """Another organisation's admin controls the emails of its own accounts: its member in a shared
    channel, showing our admin's address, is not our admin. Nor is an account whose email Slack has
    not confirmed, a deactivated one, or a bot."""
    admin = make_person("admin", name="Ada")
    stranger = slack.add_user(admin.email, "Mallory")
    slack.workspace.users[stranger].team_id = "T0OTHERORG"
    unconfirmed = slack.add_user(admin.email, "Mallory 2")
    slack.workspace.users[unconfirmed].email_confirmed = False
    gone = slack.add_user(admin.email, "Old Ada")
    slack.workspace.users[gone].deleted = True
    for n, user in enumerate((stranger, unconfirmed, gone)):
        answer = _slack_said(slack_http, clock, user, "declare SEV2 pwned", f"trig-{n}")
        assert "/chat/link?t=" in answer["text"], answer
    with db.unit_of_work() as s:
        assert s.execute(sa.select(ChatAccount)).first() is None
        assert s.execute(sa.select(Incident)).first() is None
    ada = slack.add_user(admin.email, "Ada")  # her own, confirmed account links
    assert "Ada declared INC-1" in _slack_said(slack_http, clock, ada, "declare SEV2 real one", "trig-9")["text"]


# -- Mattermost buttons: the context is signed, the clicking user_id is not ------------------------

def test_a_mattermost_button_context_cannot_be_replayed_as_someone_outside_the_pages_channel(runbook,
                                                                                          mattermost) -> None:
    """Mattermost does not sign what it sends a button's URL: whoever holds a page's context (a
    Mattermost admin reading posts' props, a proxy log) could send it with any user_id. tocsin checks
    with Mattermost that the post is the one the page was delivered as and that the clicker is a
    member of its channel: Dave, an admin who never saw the page, cannot be made to resolve it."""
    from urllib.parse import urlsplit

    from tests.harness.mattermost import TEAM_ID
    from tests.harness.mattermost import TOKEN as MM_TOKEN
    from tocsin.chatops.accounts import ChatIdentity, link
    from tocsin.users.service import require_user

    rb, fake = runbook, mattermost
    rb.configure(mattermost_url=fake.url, mattermost_bot_token=MM_TOKEN, mattermost_team_id=TEAM_ID)
    rb.service("checkout", tier=1, paging_unit="alert")
    rb.person("Carol"), rb.person("Dave", role="admin")
    carol, dave = fake.add_user("carol", "carol@chat.test"), fake.add_user("dave", "dave@chat.test")
    with rb.db.unit_of_work() as s:
        for name, mm_id in (("Carol", carol), ("Dave", dave)):
            link(s, ChatIdentity("mattermost", TEAM_ID, mm_id), user=require_user(s, rb.people[name].id), via="link",
                 now=rb.now)
    pages = fake.add_channel("ops-pages", members=(carol,))
    elsewhere = fake.add_channel("town-square", members=(carol, dave))
    rb.rules("Carol", (rb.contact("Carol", "mattermost", pages), 0))
    rb.policy((5, ["Carol"]))
    alert = rb.trigger()
    rb.tick()
    (post,) = [p for p in fake.posts_in(pages) if p.actions]
    url, body = fake.press(post, "Resolve", carol)
    path = urlsplit(url).path

    as_dave = {**body, "user_id": dave, "user_name": "dave", "trigger_id": "forged-1"}
    r = rb.http.post(path, json=as_dave)
    assert r.status_code == 200 and "Resolved" not in str(r.json()), r.json()
    other_post = fake.posts_in(elsewhere) or [None]
    in_dave_channel = {**as_dave, "channel_id": elsewhere, "post_id": other_post[0].id if other_post[0] else
                       "p" + "0" * 25, "trigger_id": "forged-2"}
    r = rb.http.post(path, json=in_dave_channel)
    assert r.status_code == 200 and "Resolved" not in str(r.json()), r.json()
    assert rb.alert(alert).status == "triggered"

    r = rb.http.post(path, json=body)  # Carol's own click
    assert "Resolved by Carol" in r.json()["update"]["message"]
    assert rb.alert(alert).status == "resolved"


# -- retries and duplicates -----------------------------------------------------------------------

def test_claims_that_differ_past_the_stored_length_are_two_claims(db, clock) -> None:
    """A long trigger id (Mattermost's are long, and a forged one is as long as wanted) must not push
    the action and the user out of the claim: Carol's click would otherwise swallow Dave's."""
    from tocsin.chatops.receipts import first_time

    long_trigger = "t" * 300
    with db.unit_of_work() as s:
        assert first_time(s, platform="mattermost", key=f"action:post:{long_trigger}:ack:carol", now=clock.now())
        assert first_time(s, platform="mattermost", key=f"action:post:{long_trigger}:ack:dave", now=clock.now())
        assert not first_time(s, platform="mattermost", key=f"action:post:{long_trigger}:ack:dave", now=clock.now())


def test_a_link_token_for_an_identity_too_long_to_store_is_not_valid(clock) -> None:
    """A link minted for a forged, over-long chat user id would fail at the database when opened."""
    from tocsin.chatops.accounts import ChatIdentity, link_token, read_link_token

    good = ChatIdentity("slack", "T0001", "U0001")
    assert read_link_token("k", link_token("k", good, now=clock.now()), now=clock.now()) == good
    for bad in (ChatIdentity("slack", "T0001", "U" * 65), ChatIdentity("slack", "T" * 65, "U1"),
                ChatIdentity("slack", "T0001", "")):
        assert read_link_token("k", link_token("k", bad, now=clock.now()), now=clock.now()) is None


@pytest.mark.both_backends
def test_two_requests_linking_one_chat_user_at_once_both_succeed(db, clock, make_person, monkeypatch) -> None:
    """Two clicks of an unlinked user (or a click and a platform's retry) both link by email: the
    second's check ran before the first committed, so its insert meets the unique constraint. It
    must update the row, not fail the request with a 500."""
    from tocsin.chatops import accounts
    from tocsin.chatops.accounts import ChatIdentity, link
    from tocsin.users.service import require_user

    ada = make_person("responder", name="Ada")
    who = ChatIdentity("slack", "T0001", "U0001")
    with db.unit_of_work() as s:
        link(s, who, user=require_user(s, ada.id), via="email", now=clock.now())  # the first request's link
    real, checks = accounts._account, []

    def racing(s: Any, w: Any) -> Any:  # the second request's check, made before the first committed
        checks.append(w)
        return None if len(checks) == 1 else real(s, w)

    monkeypatch.setattr(accounts, "_account", racing)
    with db.unit_of_work() as s:
        row = link(s, who, user=require_user(s, ada.id), via="email", now=clock.now())
        assert row.user_id == ada.id
    with db.unit_of_work() as s:
        assert len(s.execute(sa.select(ChatAccount)).all()) == 1


# -- forged or replayed Slack requests --------------------------------------------------------------

def test_slack_signature_headers_of_odd_shapes_are_refused_not_500(slack_http, clock) -> None:
    from tests.harness.slack_inbound import sign, url_verification

    body = url_verification("abc")
    ts = int(clock.now().timestamp())
    good = sign(SLACK_SECRET, body, ts)
    # header names in any case are the same headers
    lower = {k.lower(): v for k, v in good.items()}
    assert slack_http.post("/integrations/slack/events", content=body, headers=lower).status_code == 200
    odd = [{**good, "X-Slack-Signature": "v0=" + "é" * 64},  # non-ASCII: hmac.compare_digest raises TypeError
           {**good, "X-Slack-Signature": "v1=" + good["X-Slack-Signature"][3:]},
           {**good, "X-Slack-Request-Timestamp": str(10**40)},
           {**good, "X-Slack-Request-Timestamp": "-" + str(ts)},
           {**good, "X-Slack-Request-Timestamp": f" {ts - 301}"},
           {**good, "X-Slack-Request-Timestamp": "nan"}]
    for headers in odd:
        encoded = {k: v.encode("utf-8") for k, v in headers.items()}
        r = slack_http.post("/integrations/slack/events", content=body, headers=encoded)
        assert r.status_code == 401, (headers, r.status_code)
    # the signature is over the raw bytes: the same JSON re-serialised (spaces) is another body
    respaced = body.replace(b'", "', b'","')
    assert respaced != body
    assert slack_http.post("/integrations/slack/events", content=respaced, headers=good).status_code == 401


# -- guests and deactivated users never act through chat -------------------------------------------

def test_guests_and_deactivated_users_do_not_act_through_slack(db, clock, slack, slack_http, make_person) -> None:
    from tocsin.chatops.accounts import ChatIdentity, link
    from tocsin.users.models import User
    from tocsin.users.service import require_user

    guest = make_person("viewer", name="Gus")
    gone = make_person("responder", name="Gone")
    with db.unit_of_work() as s:
        s.get(User, guest.id).org_role = "guest"  # an outside responder invited to one incident
    gus_slack = slack.add_user(guest.email, "gus")  # a guest's verified email does not link
    gone_slack = slack.add_user(gone.email, "gone")
    with db.unit_of_work() as s:
        link(s, ChatIdentity("slack", "T0FAKE001", gone_slack), user=require_user(s, gone.id), via="link",
             now=clock.now())
        s.get(User, gone.id).is_active = False  # linked, then deactivated
    for n, user in enumerate((gus_slack, gone_slack)):
        answer = _slack_said(slack_http, clock, user, "declare SEV2 from outside", f"g-{n}")
        assert "/chat/link?t=" in answer["text"], answer
    with db.unit_of_work() as s:
        assert s.execute(sa.select(Incident)).first() is None
        accounts = s.execute(sa.select(ChatAccount)).scalars().all()
        assert [a.user_id for a in accounts] == [gone.id]  # nothing new linked


# -- need-to-know through a group page ---------------------------------------------------------------

def test_a_group_page_does_not_act_on_an_alert_of_a_restricted_incident_for_someone_outside_it(runbook) -> None:
    """A group's page names its first alert; the group gained a second alert, attached to a
    restricted incident. Eve, outside that incident, clicks Resolve on the page in a shared channel:
    she must not resolve (nor learn the summary of) the restricted incident's alert."""
    from urllib.parse import urlsplit

    from tests.harness.incidents import declare
    from tests.harness.slack import CHANNEL
    from tests.harness.slack_inbound import block_actions, signed

    rb = runbook
    rb.configure(slack_signing_secret=SLACK_SECRET)
    rb.service("checkout", tier=1)  # pages once per alert group
    rb.person("Alice"), rb.person("Eve")
    rb.rules("Alice", (rb.contact("Alice", "slack", CHANNEL), 0))
    rb.policy((5, ["Alice"]))
    first = rb.trigger("checkout-5xx")
    rb.tick()
    second = rb.trigger("checkout-latency")
    rb.tick()
    secret = declare(rb.http, rb.people["Alice"], title="Credential stuffing", restricted=True)
    rb.as_("Alice").post(f"/alerts/{second}/attach", 200, incident=secret["id"])
    (page,) = rb.notifications(channel="slack", kind="page")
    eve = rb.slack.add_user(rb.people["Eve"].email, "eve")
    url = rb.slack.response_url("actions")
    body = block_actions("tocsin_resolve", str(page.id), user=eve, channel=CHANNEL,
                         message_ts=rb.slack.channel(CHANNEL).messages[-1].ts, response_url=url)
    r = rb.http.post("/integrations/slack/interactive", content=body,
                     headers=signed(SLACK_SECRET, body, int(rb.now.timestamp())))
    assert r.status_code == 200
    (answer,) = [x.payload for x in rb.slack.responses if x.path == urlsplit(url).path]
    assert answer["text"] == "this page no longer exists", answer
    assert rb.alert(second).status != "resolved" and rb.alert(first).status != "resolved"


@pytest.mark.slow  # fuzzing: out of make test-fast, in make test
@pytest.mark.both_backends  # PostgreSQL refuses text SQLite takes
def test_mattermost_outgoing_webhooks_of_any_shape_are_never_a_500(db, clock, mattermost, make_person) -> None:
    """The outgoing webhook (`#timeline`, `#incident`) carries its token in the body: a token holder
    sends what it likes. Every field of both texts, mutated, gets a 2xx or a 4xx."""
    import json

    from tocsin.app import create_app
    from tocsin.chatops.accounts import ChatIdentity, link
    from tocsin.config import Settings
    from tocsin.users.service import require_user

    alice = make_person("responder", name="Alice")
    with db.unit_of_work() as s:
        link(s, ChatIdentity("mattermost", mm.TEAM_ID, "ufake000000000000000000000"),
             user=require_user(s, alice.id), via="link", now=clock.now())
    settings = Settings(max_body_bytes=64 * 1024, secret_key="test-secret", public_url="https://tocsin.example.test",
                        mattermost_outgoing_token=mm.OUTGOING_TOKEN, mattermost_url=mattermost.url,
                        mattermost_bot_token=mm.TOKEN, mattermost_team_id=mm.TEAM_ID)
    app = create_app(settings=settings, db=db, clock=clock)
    try:
        with AppliedClient(app, raise_server_exceptions=False) as c:
            for n, text in enumerate(("#timeline db failover done", "#incident note hello")):
                body, headers = mm.outgoing_webhook(text, post_id=f"p{n}", user_id="ufake000000000000000000000")
                for i, changed in enumerate(_mutations(json.loads(body))):
                    if isinstance(changed, dict) and changed.get("post_id") == f"p{n}":
                        changed["post_id"] = f"p{n}-{i}"  # each a new post, so it gets past the once-only claim
                    _ok(c.post("/integrations/mattermost/outgoing", content=_json(changed), headers=headers), changed)
            for raw in (b"\xff", b"[]", b"null", b"[" * 5000, b"token=%ff", b"\x00"):
                _ok(c.post("/integrations/mattermost/outgoing", content=raw,
                           headers={"Content-Type": "application/json"}), raw)
    finally:
        app.state.ingest.close()
