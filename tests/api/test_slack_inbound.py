"""The Slack app's inbound endpoints, end to end: requests signed as Slack signs them, the app's
Web API calls answered by the fake Slack (users.info for the verified email, views.open,
chat.postEphemeral), and what a person in Slack sees in the answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from tests.harness.incidents import declare
from tests.harness.ingest import AppliedClient
from tests.harness.slack import CHANNEL, TEAM, TOKEN
from tests.harness.slack_inbound import (
    SlackSender,
    event_callback,
    reaction_added,
    retry_headers,
    url_verification,
)
from tests.harness.slack_inbound import sign as slack_sign
from tocsin.chatops.models import ChatAccount, ChatChannel, ChatReceipt
from tocsin.incidents.models import Incident

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's published example signing secret
PUBLIC_URL = "https://tocsin.example.test"
INC = "/api/v1/incidents"


def sign(body: bytes, ts: int, secret: str = SECRET) -> dict[str, str]:
    return slack_sign(secret, body, ts)


def make_app(db, clock, slack, **extra):
    from tocsin.app import create_app
    from tocsin.config import Settings

    settings = Settings(max_body_bytes=256 * 1024, secret_key="test-secret", public_url=PUBLIC_URL,
                        slack_signing_secret=SECRET, slack_bot_token=TOKEN, slack_base_url=slack.api_url, **extra)
    return create_app(settings=settings, db=db, clock=clock)


@pytest.fixture
def app(db, clock, slack):
    application = make_app(db, clock, slack)
    yield application
    application.state.ingest.close()


@pytest.fixture
def client(app):
    with AppliedClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def talk(client, clock, slack):
    return SlackSender(client, clock, slack, SECRET)


@pytest.fixture
def people(make_person, make_team, slack):
    """Alice, Bob and Carol (responders), Vic (viewer), Ada (admin); each a Slack user with the same email."""
    make_team("security", is_security=True)
    out = {}
    for key, role, name in (("alice", "responder", "Alice"), ("bob", "responder", "Bob"),
                            ("carol", "responder", "Carol"), ("vic", "viewer", "Vic"), ("ada", "admin", "Ada")):
        person = make_person(role, name=name)
        out[key] = person
        out[key + "_slack"] = slack.add_user(person.email, name)
    return out


def incident_channel(db, clock, ref: str, channel: str, *, private: bool = False) -> None:
    """The incident's Slack channel, as the channel outbox records it once Slack made it."""
    number = int(ref.split("-")[1])
    with db.unit_of_work() as s:
        incident = s.execute(sa.select(Incident).where(Incident.number == number)).scalar_one()
        s.add(ChatChannel(incident_id=incident.id, platform="slack", channel_id=channel, name=f"inc-{number}",
                          private=private, state="ready", created_at=clock.now()))


def timeline(client, who, ref):
    r = client.get(f"{INC}/{ref}/timeline", headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def incidents(db) -> list[Incident]:
    with db.unit_of_work() as s:
        return list(s.execute(sa.select(Incident).order_by(Incident.number)).scalars())


# --- signatures ----------------------------------------------------------------------------------

EXAMPLE_BODY = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
                b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
                b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmib"
                b"IGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
EXAMPLE_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_slacks_published_example_is_accepted(client, clock):
    clock.set(datetime.fromtimestamp(1531420618, UTC))
    headers = {"X-Slack-Request-Timestamp": "1531420618", "X-Slack-Signature": EXAMPLE_SIGNATURE,
               "Content-Type": "application/x-www-form-urlencoded"}
    r = client.post("/integrations/slack/commands", content=EXAMPLE_BODY, headers=headers)
    assert r.status_code == 200, r.text
    # roadrunner is no Slack user the fake knows (no verified email): they are told how to link
    assert r.json()["response_type"] == "ephemeral"
    assert f"{PUBLIC_URL}/chat/link?t=" in r.json()["text"]
    for skew in (-300, 300):  # the window is five minutes either side, inclusive
        clock.set(datetime.fromtimestamp(1531420618 + skew, UTC))
        assert client.post("/integrations/slack/commands", content=EXAMPLE_BODY, headers=headers).status_code == 200
    for skew in (-301, 301):
        clock.set(datetime.fromtimestamp(1531420618 + skew, UTC))
        r = client.post("/integrations/slack/commands", content=EXAMPLE_BODY, headers=headers)
        assert (r.status_code, r.json()) == (401, {"error": "invalid request"})


@pytest.mark.parametrize("path", ["/integrations/slack/commands", "/integrations/slack/interactive",
                                  "/integrations/slack/events"])
def test_unsigned_or_badly_signed_requests_are_refused(client, clock, path):
    body = b'{"type":"url_verification","challenge":"abc"}'
    ts = int(clock.now().timestamp())
    good = sign(body, ts)
    cases = [
        {},  # no headers
        {"X-Slack-Request-Timestamp": str(ts)},
        {"X-Slack-Signature": good["X-Slack-Signature"]},
        {**good, "X-Slack-Signature": "v0=" + "0" * 64},  # wrong MAC
        sign(body, ts, secret="another-apps-secret"),
        {**sign(body, ts - 301)},  # stale
        {**sign(body, ts + 301)},  # from the future
        {**good, "X-Slack-Request-Timestamp": "yesterday"},
        {**good, "X-Slack-Request-Timestamp": str(ts + 1)},  # the signature covers the timestamp
    ]
    for headers in cases:
        r = client.post(path, content=body, headers={"Content-Type": "application/json", **headers})
        assert (r.status_code, r.json()) == (401, {"error": "invalid request"}), headers
    # and the signature covers the body: the same headers with another body are refused
    r = client.post(path, content=body.replace(b"abc", b"abd"), headers={"Content-Type": "application/json", **good})
    assert r.status_code == 401


def test_not_configured_is_404(db, clock, slack):
    from tocsin.app import create_app
    from tocsin.config import Settings

    application = create_app(settings=Settings(secret_key="x", slack_bot_token=TOKEN), db=db, clock=clock)
    try:
        with AppliedClient(application, raise_server_exceptions=False) as c:
            for path in ("/integrations/slack/commands", "/integrations/slack/interactive",
                         "/integrations/slack/events"):
                body = b"ssl_check=1"
                assert c.post(path, content=body, headers=sign(body, int(clock.now().timestamp()))).status_code == 404
    finally:
        application.state.ingest.close()


@pytest.mark.both_backends  # PostgreSQL refuses NUL in text: such requests must be refused before it sees them
def test_garbage_never_makes_a_500(talk, people):
    bodies = [b"\xff\xfe\x00garbage", b"", b"payload=", b"payload=%7B", b"payload=%5B1%2C2%5D",
              b"payload=" + json.dumps({"type": 5}).encode(), b"[]", b"null", b"{\"type\": \"event_callback\"}",
              b"{\"type\": \"url_verification\", \"challenge\": 7}", b"text=note&user_id=U1",
              b"payload=" + urlencode({"x": json.dumps({"type": "view_submission", "view": {
                  "callback_id": "tocsin_declare", "state": {"values": {"title": "no"}}}})}).encode()[2:],
              b"payload=" + json.dumps({"type": "view_submission", "user": {"id": "U1"}, "team": {"id": TEAM},
                                        "view": {"callback_id": "tocsin_declare", "state": []}}).encode(),
              b"payload=" + json.dumps({"type": "block_actions", "actions": "nope"}).encode(),
              urlencode({"team_id": TEAM, "user_id": people["alice_slack"], "channel_id": "C\x00", "text": "help",
                         "trigger_id": "1.\x00"}).encode(),
              urlencode({"team_id": TEAM, "user_id": people["alice_slack"], "channel_id": CHANNEL,
                         "text": "declare SEV2 nul\x00title", "trigger_id": "2.2"}).encode(),
              urlencode({"payload": json.dumps({"type": "view_submission", "user": {"id": people["alice_slack"]},
                                                "team": {"id": TEAM}, "view": {"id": "V1", "hash": "h\x00",
                                                                               "callback_id": "tocsin_declare"}})}).encode(),
              json.dumps({"type": "event_callback", "event_id": "Ev\x00", "event": {}}).encode()]
    for path in ("/integrations/slack/commands", "/integrations/slack/interactive", "/integrations/slack/events"):
        for body in bodies:
            for kind in ("application/x-www-form-urlencoded", "application/json"):
                r = talk.post(path, body, kind)
                assert r.status_code < 500, (path, body, r.status_code, r.text)


def test_ssl_check_and_url_verification(talk, client):
    assert talk.post("/integrations/slack/commands", b"ssl_check=1&token=legacy",
                     "application/x-www-form-urlencoded").status_code == 200
    r = talk.event(url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"))
    assert r.status_code == 200 and r.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    # only after the signature check: an unsigned challenge is not echoed
    r = client.post("/integrations/slack/events", json={"type": "url_verification", "challenge": "x"})
    assert r.status_code == 401 and "x" not in r.text


# --- slash commands ------------------------------------------------------------------------------

@pytest.mark.both_backends  # savepoints and receipts on PostgreSQL too
def test_a_linked_user_runs_an_incident_from_slack(talk, client, db, clock, people, make_team, slack):
    alice, bob, u_alice, u_bob = people["alice"], people["bob"], people["alice_slack"], people["bob_slack"]
    reply = talk.said(u_alice, "declare SEV2 checkout errors")
    assert reply == {"response_type": "in_channel", "text": "Alice declared INC-1 (SEV2): checkout errors"}
    with db.unit_of_work() as s:  # linked by the verified email Slack's users.info gave
        account = s.execute(sa.select(ChatAccount)).scalar_one()
        assert (account.external_id, account.user_id, account.linked_via) == (u_alice, alice.id, "email")
    incident_channel(db, clock, "INC-1", "C0INC0001")
    run = lambda text, user=u_alice: talk.said(user, text, channel="C0INC0001")  # noqa: E731

    # in the incident's own channel the channel's follower posts each change for everyone (chatops/follow.py):
    # the command's answer is the caller's alone, or the channel would read it twice
    assert run("status identified") == {"response_type": "ephemeral", "text": "Alice set status to identified"}
    assert run("sev SEV1 card payments failing") == {
        "response_type": "ephemeral", "text": "Alice set severity to SEV1 (card payments failing)"}
    assert run(f"role scribe <@{u_bob}|bob>")["text"].splitlines()[0] == "Alice made Bob Scribe"
    comms = run("role comms me")["text"].splitlines()
    assert comms[0] == "Alice made Alice Comms Lead" and comms[1].endswith("/handbooks/comms_lead")  # what it does
    assert run("note rolled back deploy 4812 <@U0BOGUS|x> & friends")["text"] == (
        "Alice added a note: rolled back deploy 4812 @x &amp; friends")
    clock.advance(minutes=5)
    assert run("update EU traffic recovering")["text"] == "Alice posted an update: EU traffic recovering"
    paged = run(f"page {people['carol'].email}")
    assert paged == {"response_type": "ephemeral", "text": "Alice paged Carol"}
    assert run(f"page {people['vic'].email}")["text"].startswith("That did not work: ")  # a viewer only observes
    assert run("resolve") == {"response_type": "ephemeral", "text": "Alice resolved the incident"}
    assert run("resolve") == {"response_type": "ephemeral", "text": "INC-1 is already resolved."}

    entries = timeline(client, alice, "INC-1")
    kinds = [(e["kind"], e["actor"]["name"] if e.get("actor") else None) for e in entries]
    assert ("status_changed", "Alice") in kinds and ("severity_changed", "Alice") in kinds
    notes = [(e["text"], e["key_event"]) for e in entries if e["kind"] == "note"]
    assert notes == [("rolled back deploy 4812 @x & friends", False), ("EU traffic recovering", True)]
    roles = {(r["role"], r["user"]["name"]) for r in client.get(f"{INC}/INC-1", headers=alice.headers).json()["roles"]}
    assert {("scribe", "Bob"), ("comms_lead", "Alice")} <= roles
    with db.unit_of_work() as s:  # Bob was linked by his verified email when he was named
        assert s.execute(sa.select(ChatAccount.user_id).where(ChatAccount.external_id == u_bob)).scalar_one() == bob.id
    # the same audit as the API, with Alice as the actor
    r = client.get("/api/v1/audit?limit=500", headers=people["ada"].headers)
    assert r.status_code == 200, r.text
    mine = {e["action"] for e in r.json()["items"] if e["actor_label"] == alice.email}
    assert {"chat.account_linked", "incident.declare", "incident.update", "incident.note"} <= mine, mine


def test_errors_are_answered_in_tocsins_words(talk, db, clock, people):
    u_alice, u_vic = people["alice_slack"], people["vic_slack"]
    talk.said(u_alice, "declare SEV3 search slow")
    incident_channel(db, clock, "INC-1", "C0INC0001")
    # a change the lifecycle forbids
    r = talk.said(u_alice, "status closed", channel="C0INC0001")
    assert r["response_type"] == "ephemeral" and "cannot move an incident from investigating to closed" in r["text"]
    # a viewer may not change incidents
    r = talk.said(u_vic, "note hello", channel="C0INC0001")
    assert r["response_type"] == "ephemeral" and r["text"].startswith("Not allowed:")
    # usage errors name the command
    assert talk.said(u_alice, "sev SEV9", channel="C0INC0001")["text"].startswith("unknown severity 'SEV9'")
    assert "Usage: `/incident role" in talk.said(u_alice, "role", channel="C0INC0001")["text"]
    # a person nobody can find
    r = talk.said(u_alice, "role scribe nobody@example.test", channel="C0INC0001")
    assert r == {"response_type": "ephemeral", "text": "Not found: no tocsin user has the email nobody@example.test."}
    # a Slack user without a tocsin account
    ghost = talk.fake.add_user("ghost@elsewhere.test", "Ghost")
    r = talk.said(u_alice, f"page <@{ghost}>", channel="C0INC0001")
    assert "has no linked tocsin account" in r["text"] and r["response_type"] == "ephemeral"
    assert talk.said(u_alice, "help")["text"].count("`/incident ") == 10


def test_channel_commands_need_an_incident_channel(talk, people):
    r = talk.said(people["alice_slack"], "note hello", channel="C0RANDOM1")
    assert r == {"response_type": "ephemeral",
                 "text": "Run this in an incident channel (declare works anywhere: `/incident declare SEV2 &lt;title&gt;`)."}


def test_an_unlinked_slack_user_is_told_how_to_link(talk, db, clock):
    stranger = talk.fake.add_user("nobody@elsewhere.test", "Stranger")
    for text in ("declare SEV2 outage", "link"):
        r = talk.said(stranger, text)
        assert r["response_type"] == "ephemeral" and f"{PUBLIC_URL}/chat/link?t=" in r["text"]
    from tocsin.chatops.accounts import ChatIdentity, read_link_token
    token = r["text"].split("/chat/link?t=")[1].split()[0]
    assert read_link_token("test-secret", token, now=clock.now()) == ChatIdentity("slack", TEAM, stranger)
    assert incidents(db) == []


@pytest.mark.both_backends  # savepoints and receipts on PostgreSQL too
def test_a_user_outside_a_restricted_incident_gets_not_found(talk, client, db, clock, people):
    ada, u_bob = people["ada"], people["bob_slack"]
    inc = declare(client, ada, title="Leaked customer exports", kind="security", severity="SEV1")
    assert inc["restricted"]
    incident_channel(db, clock, inc["ref"], "G0SECRET1", private=True)
    for text in ("note I saw something", "status identified", "sev SEV2 smaller", "role scribe me", "resolve",
                 "page payments"):
        r = talk.said(u_bob, text, channel="G0SECRET1")
        assert r == {"response_type": "ephemeral", "text": "Not found: there is no incident here that you can see."}
    kinds = [e["kind"] for e in timeline(client, ada, inc["ref"])]
    assert "note" not in kinds and "status_changed" not in kinds
    # someone in the circle acts; the reply names no title
    r = talk.said(people["ada_slack"], "note contained the bucket", channel="G0SECRET1")
    assert r["response_type"] == "in_channel" and "Leaked" not in r["text"]


def test_a_restricted_incident_in_a_public_channel_is_answered_privately(talk, client, db, clock, people):
    ada = people["ada"]
    inc = declare(client, ada, title="Leaked customer exports", kind="security", severity="SEV1")
    incident_channel(db, clock, inc["ref"], "C0PUBLIC1", private=False)  # a channel made public earlier
    r = talk.said(people["ada_slack"], "status identified", channel="C0PUBLIC1")
    assert r == {"response_type": "ephemeral", "text": "Ada set status to identified"}


@pytest.mark.both_backends  # savepoints and receipts on PostgreSQL too
def test_a_retried_command_acts_once(talk, db, people):
    u_alice = people["alice_slack"]
    first = talk.said(u_alice, "declare SEV2 checkout errors", trigger="77.88.retried")
    again = talk.said(u_alice, "declare SEV2 checkout errors", trigger="77.88.retried",
                      **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert first["response_type"] == "in_channel"
    assert again == {"response_type": "ephemeral", "text": "That command was already received."}
    assert [i.title for i in incidents(db)] == ["checkout errors"]


# --- the declare form ----------------------------------------------------------------------------

def test_declare_without_a_title_opens_the_form(talk, people, slack, make_service):
    make_service("checkout"), make_service("search")
    r = talk.command(people["alice_slack"], "")
    assert r.status_code == 200 and r.content == b""
    [opened] = slack.views
    view = opened["view"]
    assert view["callback_id"] == "tocsin_declare" and json.loads(view["private_metadata"]) == {"channel": CHANNEL}
    blocks = {b["block_id"]: b for b in view["blocks"]}
    assert {"title", "severity", "severity_reason", "customer_facing", "customers_affected", "revenue",
            "data_sensitivity", "services", "flags"} <= set(blocks)
    severity = blocks["severity"]["element"]
    assert severity["initial_option"]["text"]["text"] == "Suggest from impact"
    assert [o["value"] for o in blocks["services"]["element"]["options"]] == ["checkout", "search"]
    assert [o["value"] for o in blocks["flags"]["element"]["options"]] == ["security", "restricted"]
    # "declare SEV2" with no title opens it too, with SEV2 chosen
    talk.command(people["alice_slack"], "declare SEV2")
    assert len(slack.views) == 2
    [again] = [b for b in slack.views[1]["view"]["blocks"] if b["block_id"] == "severity"]
    assert again["element"]["initial_option"]["value"] == "SEV2"


def _form_view(slack) -> dict:
    opened = slack.views[-1]
    return {"id": opened["id"], "hash": f"1700000000.{opened['id']}", "type": "modal", "callback_id": "tocsin_declare",
            "private_metadata": opened["view"]["private_metadata"]}


@pytest.mark.both_backends  # savepoints and receipts on PostgreSQL too
def test_the_form_declares_with_the_suggested_severity(talk, client, db, people, slack, make_service):
    make_service("checkout")
    u_alice = people["alice_slack"]
    talk.command(u_alice, "")
    view = _form_view(slack)
    values = {"title": {"type": "plain_text_input", "value": "Checkout errors for EU"},
              "severity": {"type": "static_select", "selected_option": {"value": "suggest"}},
              "customer_facing": {"type": "checkboxes", "selected_options": [{"value": "yes"}]},
              "customers_affected": {"type": "number_input", "value": "150"},
              "services": {"type": "multi_static_select", "selected_options": [{"value": "checkout"}]},
              "flags": {"type": "checkboxes", "selected_options": []}}
    r = talk.submit(u_alice, view, values)
    assert r.status_code == 200 and r.json() == {"response_action": "clear"}
    [incident] = incidents(db)
    assert (incident.title, incident.severity, incident.kind, incident.restricted) == (
        "Checkout errors for EU", "SEV2", "operational", False)
    assert "100 or more customers affected" in (incident.severity_reason or "")
    got = client.get(f"{INC}/INC-1", headers=people["alice"].headers).json()
    assert [s["slug"] for s in got["services"]] == ["checkout"] and got["impact"]["customers_affected"] == 150
    # the declarer is told, privately, in the channel the command came from
    ephemerals = [e for e in slack.channel(CHANNEL).ephemerals if e.user == u_alice]
    assert [e.text for e in ephemerals] == ["You declared INC-1 (SEV2): Checkout errors for EU"]
    # Slack retries the submission: no second incident
    again = talk.submit(u_alice, view, values, **{"X-Slack-Retry-Num": "1"})
    assert again.json() == {"response_action": "clear"} and len(incidents(db)) == 1


@pytest.mark.both_backends  # savepoints and receipts on PostgreSQL too
def test_the_form_shows_what_is_wrong_and_declares_once_fixed(talk, db, people, slack):
    u_alice = people["alice_slack"]
    talk.command(u_alice, "")
    view = _form_view(slack)
    r = talk.submit(u_alice, view, {"title": {"type": "plain_text_input", "value": None},
                                    "customers_affected": {"type": "number_input", "value": "many"}})
    assert r.json() == {"response_action": "errors", "errors": {"title": "Give the incident a title",
                                                                "customers_affected": "Enter a whole number"}}
    r = talk.submit(u_alice, view, {"title": {"type": "plain_text_input", "value": "Search slow"}})
    assert r.json()["errors"] == {
        "severity": "Choose a severity, or answer the impact questions so one can be suggested"}
    chosen = {"title": {"type": "plain_text_input", "value": "Search slow"},
              "severity": {"type": "static_select", "selected_option": {"value": "SEV1"}},
              "customer_facing": {"type": "checkboxes", "selected_options": [{"value": "yes"}]}}
    r = talk.submit(u_alice, view, chosen)
    assert list(r.json()["errors"]) == ["severity_reason"] and "suggests SEV3" in r.json()["errors"]["severity_reason"]
    assert incidents(db) == []
    chosen["severity_reason"] = {"type": "plain_text_input", "value": "the CEO is watching"}
    r = talk.submit(u_alice, view, chosen)
    assert r.json() == {"response_action": "clear"}
    [incident] = incidents(db)
    assert (incident.severity, incident.severity_reason) == ("SEV1", "the CEO is watching")


def test_a_security_incident_from_the_form_is_restricted(talk, db, people, slack):
    u_alice = people["alice_slack"]
    talk.command(u_alice, "")
    r = talk.submit(u_alice, _form_view(slack), {
        "title": {"type": "plain_text_input", "value": "Stolen laptop"},
        "severity": {"type": "static_select", "selected_option": {"value": "SEV2"}},
        "flags": {"type": "checkboxes", "selected_options": [{"value": "security"}]}})
    assert r.json() == {"response_action": "clear"}
    [incident] = incidents(db)
    assert (incident.kind, incident.restricted) == ("security", True)
    # its title reached the declarer alone (an ephemeral message), never a channel
    told = [line for line in slack.transcript() if "Stolen laptop" in line]
    assert len(told) == 1 and told[0].startswith("chat.postEphemeral") and u_alice in told[0], slack.transcript()


# --- everything else is handed on ---------------------------------------------------------------

def test_events_are_handed_on_once_and_other_interactions_too(talk, db, monkeypatch):
    from tocsin.api.chat import slack_handlers

    events, interactions = [], []
    monkeypatch.setattr(slack_handlers, "handle_event", lambda state, envelope: events.append(envelope["event_id"]))
    monkeypatch.setattr(slack_handlers, "handle_interaction",
                        lambda state, payload: interactions.append(payload["type"]))
    envelope = event_callback(reaction_added("memo", ts="1599529504.000400"), event_id="Ev08MFMKH6")
    assert talk.event(envelope).status_code == 200
    assert talk.event(envelope, **retry_headers(1)).status_code == 200
    assert events == ["Ev08MFMKH6"]
    with db.unit_of_work() as s:
        assert s.execute(sa.select(ChatReceipt.key)).scalars().all() == ["event:Ev08MFMKH6"]
    r = talk.interact({"type": "block_actions", "user": {"id": "W111"}, "team": {"id": TEAM}, "actions": []})
    # answered at once with an empty 200; the handler runs behind it (its answers go by response_url)
    assert r.status_code == 200 and r.content == b"" and interactions == ["block_actions"]


def test_the_timestamp_window_follows_tocsins_clock(talk, clock, people):
    clock.advance(timedelta(days=400))  # the signature is checked against the injected clock, not the machine's
    assert talk.command(people["alice_slack"], "help").status_code == 200


def test_naming_an_unlinked_person_links_them_in_the_callers_name(talk, db, clock, people):
    """`role scribe @bob` links Bob's Slack user by its verified email as a side effect: the audit chain
    says Alice did it (she named him), not Bob."""
    from tocsin.audit.models import AuditEntry

    u_alice, u_bob = people["alice_slack"], people["bob_slack"]
    talk.said(u_alice, "declare SEV2 checkout errors")
    incident_channel(db, clock, "INC-1", "C0INC0001")
    assert talk.said(u_alice, f"role scribe <@{u_bob}|bob>", channel="C0INC0001")["text"].splitlines()[0] == "Alice made Bob Scribe"
    with db.read() as s:
        linked = [(e.actor_label, e.target_id, e.details["chat_user"]) for e in s.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "chat.account_linked").order_by(AuditEntry.seq)).scalars()]
    assert linked == [
        (people["alice"].email, str(people["alice"].id), u_alice),  # Alice's own first command
        (people["alice"].email, str(people["bob"].id), u_bob),  # Bob, named by Alice
    ]
