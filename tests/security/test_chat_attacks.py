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
