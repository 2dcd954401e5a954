"""Signing in with SSO in a browser (issue 17): the login page offers "Sign in with SSO" (accessible, and
fitting a phone), the button leads to the identity provider's page (the stand-in provider of
tests/harness/oidc.py), and choosing the account there lands back in the console, logged in with the
role its groups map to. tocsin and the provider are served by uvicorn in this process; tocsin talks to
the provider through its real Authlib client, the browser through real redirects.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.harness.browser import PHONE, check_a11y, sideways_scroll
from tests.harness.console import served
from tests.harness.oidc import CLIENT_ID, CLIENT_SECRET, Provider, oidc_provider

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sso_site(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Provider]]:
    from tocsin.app import create_app
    from tocsin.config import Settings
    from tocsin.db import Database

    tmp = tmp_path_factory.mktemp("e2e-sso")
    shutil.copy(_sqlite_template, tmp / "tocsin.db")
    db = Database(f"sqlite:///{tmp / 'tocsin.db'}")
    with oidc_provider(lambda: datetime.now(UTC)) as idp:
        idp.users["ada"] = {"email": "ada@example.test", "email_verified": True, "name": "Ada Lovelace",
                            "groups": ["oncall"]}
        # the public URL (it makes the redirect URI) is known once the server listens: serve a forwarder,
        # then build the app with that address behind it
        holder: dict[str, object] = {}

        async def asgi(scope, receive, send):  # noqa: ANN001, ANN202 (forwards to the app made below)
            if scope["type"] == "lifespan":  # the app's lifespan matters on PostgreSQL only
                while (await receive())["type"] != "lifespan.shutdown":
                    await send({"type": "lifespan.startup.complete"})
                await send({"type": "lifespan.shutdown.complete"})
                return
            await holder["app"](scope, receive, send)  # type: ignore[operator]

        with served(asgi) as base:
            settings = Settings(secret_key="e2e-sso", public_url=base, sso_issuer=idp.issuer, sso_client_id=CLIENT_ID,
                                sso_client_secret=CLIENT_SECRET, sso_role_map="oncall=responder,ops=admin",
                                sso_jit=True)  # the test process's data directory: the same audit key
            app = create_app(settings=settings, db=db)
            holder["app"] = app
            try:
                yield base, idp
            finally:
                app.state.ingest.close()
    db.dispose()


def test_sign_in_with_sso_from_the_login_page(sso_site, new_page) -> None:  # noqa: ANN001 (fixtures)
    base, idp = sso_site
    page = new_page(PHONE)
    page.goto(f"{base}/incidents")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    button = page.get_by_role("link", name="Sign in with SSO")
    expect(button).to_be_visible()
    check_a11y(page, "the login page with SSO")
    assert sideways_scroll(page, "the login page with SSO") is None

    button.click()
    expect(page, "the button leads to the identity provider").to_have_url(re.compile(re.escape(idp.issuer) + "/authorize"))
    page.get_by_role("button", name="Continue as ada").click()
    expect(page, "back in the console, on the page first asked for").to_have_url(f"{base}/incidents")

    page.goto(f"{base}/me")
    expect(page.locator("main")).to_contain_text("ada@example.test · responder")
    [cookie] = [c for c in page.context.cookies() if c["name"] == "tocsin_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert not [c for c in page.context.cookies() if c["name"] == "tocsin_sso"], "the sign-in cookie is spent"
