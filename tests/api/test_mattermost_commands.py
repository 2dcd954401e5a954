"""Mattermost's slash command: the same commands as Slack's through the same executor, with the
command token Mattermost sends, and Mattermost's JSON answer."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from tests.harness.ingest import AppliedClient
from tocsin.chatops.accounts import ChatIdentity, link
from tocsin.chatops.models import ChatChannel
from tocsin.comms.models import StakeholderSubscription
from tocsin.escalation.models import Notification
from tocsin.incidents.models import Incident
from tocsin.users.service import require_user

TOKEN = "mm-command-token-0123456789abcdef"
TEAM = "mmteam0000000000000000000a"
PATH = "/integrations/mattermost/command"


@pytest.fixture
def app(db, clock):
    from tocsin.app import create_app
    from tocsin.config import Settings

    application = create_app(settings=Settings(max_body_bytes=64 * 1024, secret_key="test-secret",
                                               public_url="https://tocsin.example.test",
                                               mattermost_command_token=TOKEN), db=db, clock=clock)
    yield application
    application.state.ingest.close()


@pytest.fixture
def client(app):
    with AppliedClient(app, raise_server_exceptions=False) as c:
        yield c


def command(client, user: str, text: str, *, channel: str = "townsquare0000000000000000", trigger: str = "",
            auth: str | None = f"Token {TOKEN}", token_field: str = TOKEN):
    form = {"token": token_field, "team_id": TEAM, "team_domain": "acme", "channel_id": channel,
            "channel_name": "town-square", "user_id": user, "user_name": "someone", "command": "/incident",
            "text": text, "response_url": "https://mm.example.test/hooks/commands/abc", "trigger_id": trigger}
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if auth is not None:
        headers["Authorization"] = auth
    return client.post(PATH, content=urlencode(form).encode(), headers=headers)


def said(client, user: str, text: str, **kwargs):
    r = command(client, user, text, **kwargs)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def alice(db, clock, make_person, system):
    """Alice, whose Mattermost account (mm-alice) she linked with the one-time link."""
    person = make_person("responder", name="Alice")
    with db.unit_of_work() as s:
        link(s, ChatIdentity("mattermost", TEAM, "mmalice"), user=require_user(s, person.id), via="link",
             now=clock.now())
    return person


def test_token_is_required(client):
    assert command(client, "mmalice", "help", auth="Token wrong", token_field="wrong").status_code == 401
    assert command(client, "mmalice", "help", auth=None, token_field="").status_code == 401
    assert command(client, "mmalice", "help", auth="Bearer " + TOKEN, token_field="").status_code == 401
    # the header or the field will do (Mattermost sends both)
    assert command(client, "mmalice", "help", auth=None).status_code == 200
    assert command(client, "mmalice", "help", token_field="").status_code == 200
    r = client.post(PATH, content=b"\xff\xfe garbage", headers={"Authorization": f"Token {TOKEN}"})
    assert r.status_code == 400
    assert command(client, "mm\x00alice", "declare SEV2 nul\x00title").status_code == 400  # PostgreSQL stores no NUL


def test_not_configured_is_404(db, clock):
    from tocsin.app import create_app
    from tocsin.config import Settings

    application = create_app(settings=Settings(secret_key="x"), db=db, clock=clock)
    try:
        with AppliedClient(application, raise_server_exceptions=False) as c:
            assert command(c, "mmalice", "help").status_code == 404
    finally:
        application.state.ingest.close()


def test_an_unlinked_user_gets_the_link(client, db):
    r = said(client, "mmstranger", "declare SEV2 checkout errors")
    assert r["response_type"] == "ephemeral" and "https://tocsin.example.test/chat/link?t=" in r["text"]
    with db.unit_of_work() as s:
        assert s.execute(sa.select(Incident)).first() is None


def test_a_sev2_from_declaration_to_resolution(client, db, clock, alice, make_person):
    carol = make_person("responder", name="Carol")
    dana = make_person("viewer", name="Dana Stakeholder")
    r = said(client, "mmalice", "declare SEV2 checkout errors")
    assert r == {"response_type": "in_channel", "text": "Alice declared INC-1 (SEV2): checkout errors"}
    # out of the incident's channel the channel commands say where to run them
    assert said(client, "mmalice", "note hi")["text"].startswith("Run this in an incident channel")
    with db.unit_of_work() as s:
        incident = s.execute(sa.select(Incident)).scalar_one()
        s.add(ChatChannel(incident_id=incident.id, platform="mattermost", channel_id="inc1channel00000000000000",
                          name="inc-1-checkout-errors", state="ready", created_at=clock.now()))
    run = lambda text: said(client, "mmalice", text, channel="inc1channel00000000000000")  # noqa: E731
    assert run("status identified")["text"] == "Alice set status to identified"
    assert run("sev P0 all card payments failing")["text"] == "Alice set severity to SEV1 (all card payments failing)"
    assert run(f"role scribe {carol.email}")["text"].splitlines()[0] == "Alice made Carol Scribe"
    assert run("role ic @carol") == {"response_type": "ephemeral", "text": "Not found: no chat user @carol was found."}
    assert run("note @channel look at the <b>dashboard</b>") == {
        "response_type": "in_channel", "text": "Alice added a note: @\u200bchannel look at the <b>dashboard</b>"}
    assert run("update payments back for 90%")["text"] == "Alice posted an update: payments back for 90%"
    # an update reaches the incident's stakeholders (comms/); a note does not
    with db.unit_of_work() as s:
        s.add(StakeholderSubscription(user_id=dana.id, min_severity="SEV2", created_at=clock.now()))
    run("note only for the channel")
    run("update payments fully back")
    with db.read() as s:
        sent = s.execute(sa.select(Notification.body).where(Notification.kind == "stakeholder",
                                                            Notification.user_id == dana.id)).scalars().all()
        assert [("payments fully back" in b, "only for the channel" in b) for b in sent] == [(True, False)]
    # the channel's follower posts the change for everyone: the answer is Alice's alone
    assert run("resolve") == {"response_type": "ephemeral", "text": "Alice resolved the incident"}
    with db.unit_of_work() as s:
        incident = s.execute(sa.select(Incident)).scalar_one()
        assert (incident.status, incident.severity) == ("resolved", "SEV1")


def test_a_repeated_trigger_acts_once(client, db, alice):
    said(client, "mmalice", "declare SEV3 search slow", trigger="trig-1")
    assert said(client, "mmalice", "declare SEV3 search slow", trigger="trig-1")["text"] == (
        "That command was already received.")
    with db.unit_of_work() as s:
        assert len(s.execute(sa.select(Incident)).all()) == 1


def test_declare_needs_a_title_on_mattermost(client, alice):
    for text in ("", "declare", "declare SEV1"):
        r = said(client, "mmalice", text)
        assert r == {"response_type": "ephemeral",
                     "text": "Give the incident a title. Usage: `/incident declare [SEV1..SEV4] <title>: declare an "
                             "incident (SEV3 unless given)`"}


def test_a_mattermost_user_is_linked_by_the_servers_email_and_named_by_username(db, clock, make_person, mattermost):
    """With the bot configured, tocsin reads the caller's email from Mattermost (linking the account
    without the one-time link) and resolves `@username` in `role` to a linked person."""
    from tests.harness import mattermost as mm
    from tocsin.app import create_app
    from tocsin.config import Settings

    carol = make_person("responder", name="Carol")
    dave = make_person("responder", name="Dave")
    carol_id = mattermost.add_user("carol", carol.email)
    mattermost.add_user("dave", dave.email)
    settings = Settings(max_body_bytes=64 * 1024, secret_key="test-secret", public_url="https://tocsin.example.test",
                        mattermost_command_token=mm.COMMAND_TOKEN, mattermost_url=mattermost.url,
                        mattermost_bot_token=mm.TOKEN, mattermost_team_id=mm.TEAM_ID,
                        mattermost_email_linking=True)  # the operator vouches that Mattermost verifies emails
    app = create_app(settings=settings, db=db, clock=clock)
    try:
        with AppliedClient(app, raise_server_exceptions=False) as c:
            body, headers = mm.slash_command("declare SEV2 checkout errors", user_id=carol_id, trigger_id="t-1")
            r = c.post(PATH, content=body, headers=headers)
            assert r.status_code == 200, r.text
            assert "INC-" in r.json()["text"]
            with db.unit_of_work() as s:
                incident = s.execute(sa.select(Incident).where(Incident.title == "checkout errors")).scalar_one()
                s.add(ChatChannel(incident_id=incident.id, platform="mattermost", channel_id="incchan00000000000000000a",
                                  name="inc-1-checkout-errors", state="ready", created_at=clock.now()))
            body, headers = mm.slash_command("role scribe @dave", user_id=carol_id, trigger_id="t-2",
                                             channel_id="incchan00000000000000000a")
            r = c.post(PATH, content=body, headers=headers)
            assert r.status_code == 200, r.text
            assert "Dave" in r.json()["text"], r.json()
    finally:
        app.state.ingest.close()
