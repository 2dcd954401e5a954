"""Signing in to the console with OIDC, against the stand-in provider (tests/harness/oidc.py) through the
real Authlib client in tocsin: the happy path with group mapping, just-in-time creation off, and each
way a sign-in must be refused (state, nonce, signature, audience, expiry, PKCE)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.harness.console import PASSWORD, login
from tests.harness.oidc import CLIENT_ID, CLIENT_SECRET, Provider, callback_query, oidc_provider


@pytest.fixture(scope="module")
def idp_server() -> Iterator[Provider]:
    with oidc_provider(lambda: None) as provider:
        yield provider


@pytest.fixture
def idp(idp_server: Provider, clock) -> Provider:
    idp_server.now, idp_server.fault = clock.now, None
    idp_server.users.clear(), idp_server.codes.clear(), idp_server.token_requests.clear()
    return idp_server


@pytest.fixture
def sso_app(db, clock, idp):
    from tocsin.app import create_app
    from tocsin.config import Settings

    apps = []

    def make(**settings):
        base = {"sso_issuer": idp.issuer, "sso_client_id": CLIENT_ID, "sso_client_secret": CLIENT_SECRET,
                "sso_role_map": "ops-admins=admin,oncall=responder", "sso_team_map": "secops=security",
                "sso_jit": True}
        application = create_app(settings=Settings(secret_key="test-secret", public_url="http://testserver",
                                                   **{**base, **settings}), db=db, clock=clock)
        apps.append(application)
        return TestClient(application, raise_server_exceptions=False)

    yield make
    for application in apps:
        application.state.ingest.close()


def start(client: TestClient, idp: Provider, next_path: str = "/") -> dict[str, str]:
    """Press "Sign in with SSO": return the authorization request's parameters (checked: PKCE S256, nonce)."""
    r = client.get(f"/login/sso?next={quote(next_path)}", follow_redirects=False)
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    assert url.startswith(idp.issuer + "/authorize?")
    params = dict(parse_qsl(urlsplit(url).query))
    assert params["code_challenge_method"] == "S256" and params["nonce"] and params["state"]
    assert params["redirect_uri"] == "http://testserver/login/sso/callback"
    return params


def consent(idp: Provider, params: dict[str, str], who: str) -> str:
    """The user picks `who` at the provider; return the callback path tocsin is sent back to."""
    back = httpx.post(idp.issuer + "/authorize", data={**params, "login": who}, follow_redirects=False)
    assert back.status_code == 302, back.text
    return callback_query(back.headers["location"])


def sso_login(client: TestClient, idp: Provider, who: str, next_path: str = "/"):
    return client.get(consent(idp, start(client, idp, next_path), who), follow_redirects=False)


def _user(db, email: str):
    """(name, org role) of the user with `email` or None, and the slugs of their teams."""
    from tocsin.teams.models import Team, TeamMember
    from tocsin.users.models import User

    with db.read() as s:
        user = s.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()
        teams = set(s.execute(sa.select(Team.slug).join(TeamMember, TeamMember.team_id == Team.id)
                              .where(TeamMember.user_id == user.id)).scalars()) if user else set()
        return ((user.name, user.org_role) if user else None), teams


def _actions(db) -> list[str]:
    from tocsin.audit.models import AuditEntry

    with db.read() as s:
        return list(s.execute(sa.select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())


@pytest.mark.both_backends  # binding the subject and following the teams are queries PostgreSQL must run too
def test_sign_in_creates_the_user_with_the_mapped_role_and_security_team(sso_app, idp, db, make_team):
    make_team("security", is_security=True)
    idp.users["ada"] = {"email": "Ada@Example.test", "email_verified": True, "name": "Ada Lovelace",
                        "groups": ["oncall", "secops"]}
    web = sso_app()
    r = sso_login(web, idp, "ada", next_path="/incidents")
    assert r.status_code == 303 and r.headers["location"] == "/incidents"
    assert "tocsin_session" in r.cookies
    assert web.get("/incidents").status_code == 200  # logged in
    assert _user(db, "ada@example.test") == (("Ada Lovelace", "responder"), {"security"})
    # the code was redeemed with the client secret (Basic) and the PKCE verifier
    sent = idp.token_requests[-1]
    assert sent["grant_type"] == "authorization_code" and len(sent["code_verifier"]) >= 43
    assert {"user.sso_jit_create", "user.sso_login"} <= set(_actions(db))

    # the groups change at the provider: the next login follows them (admin, out of the security team)
    idp.users["ada"]["groups"] = ["ops-admins"]
    again = sso_app()
    assert sso_login(again, idp, "ada").status_code == 303
    assert _user(db, "ada@example.test") == (("Ada Lovelace", "admin"), set())
    assert "user.sso_sync" in _actions(db)


def test_with_jit_off_only_existing_users_sign_in_and_a_subject_stays_bound(sso_app, idp, db, clock, make_web_user):
    known = make_web_user("viewer")
    idp.users["stranger"] = {"email": "nobody@example.test", "groups": ["oncall"]}
    idp.users["known"] = {"email": known.email, "groups": ["oncall"]}
    idp.users["impostor"] = {"email": known.email, "groups": ["ops-admins"]}  # another subject, same email
    web = sso_app(sso_jit=False)

    refused = sso_login(web, idp, "stranger")
    assert refused.status_code == 403 and "no tocsin account" in refused.text
    assert "tocsin_session" not in refused.cookies and _user(db, "nobody@example.test")[0] is None

    ok = sso_login(web, idp, "known")
    assert ok.status_code == 303 and "tocsin_session" in ok.cookies
    assert _user(db, known.email)[0][1] == "responder"  # the role map applies to existing users too

    with db.unit_of_work() as s:  # an admin deactivates Known: SSO lets them in no more
        from tocsin.principal import Principal
        from tocsin.users.service import require_user, set_active

        set_active(s, actor=Principal.system("tests"), now=clock.now(), user=require_user(s, known.id), active=False)
    deactivated = sso_login(sso_app(sso_jit=False), idp, "known")
    assert deactivated.status_code == 403 and "deactivated" in deactivated.text

    taken = sso_login(sso_app(sso_jit=False), idp, "impostor")
    assert taken.status_code == 403 and "linked to another identity" in taken.text
    assert "user.sso_refused" in _actions(db)

    # with just-in-time creation on, the allowed email domains still keep strangers out
    outside = sso_login(sso_app(sso_jit=True, sso_email_domains="corp.test"), idp, "stranger")
    assert outside.status_code == 403 and "email domain" in outside.text
    assert _user(db, "nobody@example.test")[0] is None


@pytest.mark.parametrize(("fault", "logged"), [("wrong_nonce", "'nonce'"), ("bad_signature", "bad_signature"),
                                               ("wrong_audience", "'aud'"), ("expired", "expired")])
def test_a_bad_id_token_is_refused(sso_app, idp, db, fault, logged, caplog):
    idp.users["ada"] = {"email": "ada@example.test", "groups": ["oncall"]}
    idp.fault = fault
    r = sso_login(sso_app(), idp, "ada")
    assert r.status_code == 400, r.text
    assert "tocsin_session" not in r.cookies and _user(db, "ada@example.test")[0] is None
    assert "ID token" in r.text and "not-the-nonce" not in r.text  # a fixed message, nothing of the token
    assert logged in caplog.text  # refused for the reason planted, not for another


def test_a_callback_with_another_state_is_refused(sso_app, idp, db):
    idp.users["ada"] = {"email": "ada@example.test", "groups": ["oncall"]}
    web = sso_app()
    path = consent(idp, start(web, idp), "ada")
    r = web.get(path.replace("state=", "state=x"), follow_redirects=False)
    assert r.status_code == 400 and "state mismatch" in r.text
    assert idp.token_requests == []  # the code was never redeemed
    # and without the browser's cookie (a link sent to a victim: login CSRF) the callback refuses too
    fresh = sso_app()
    assert fresh.get(path, follow_redirects=False).status_code == 400


def test_a_code_from_another_sign_in_fails_pkce(sso_app, idp, db):
    """An attacker's code injected into a victim's callback (with the victim's state): the victim's
    PKCE verifier does not match the attacker's challenge, so the provider refuses the code."""
    idp.users["mallory"] = {"email": "mallory@example.test", "groups": ["ops-admins"]}
    attacker, victim = sso_app(), sso_app()
    stolen = dict(parse_qsl(urlsplit(consent(idp, start(attacker, idp), "mallory")).query))["code"]
    victim_state = start(victim, idp)["state"]
    r = victim.get(f"/login/sso/callback?code={stolen}&state={victim_state}", follow_redirects=False)
    assert r.status_code == 400 and "tocsin_session" not in r.cookies
    assert _user(db, "mallory@example.test")[0] is None


def test_password_login_can_be_turned_off(sso_app, idp, make_web_user):
    user = make_web_user("responder")
    web = sso_app(sso_only=True)
    page = web.get("/login")
    assert 'id="sso-login"' in page.text and "Sign in with SSO" in page.text and 'name="password"' not in page.text
    r = login(web, user.email, PASSWORD)
    assert r.status_code == 403 and "tocsin_session" not in r.cookies
    kept = sso_app()  # the default keeps both
    assert 'name="password"' in kept.get("/login").text and 'id="sso-login"' in kept.get("/login").text


def test_an_admin_makes_a_scim_token_on_the_console_shown_once(web_client, client):
    import re

    from tests.harness.console import csrf, post_form

    admin = web_client("admin")
    assert web_client("responder").get("/configure/sso", follow_redirects=False).status_code == 403
    made = post_form(admin, "/configure/sso/tokens", {"name": "Okta"}, page="/configure/sso")
    assert made.status_code == 200, made.text
    token = re.search(r'id="scim-token">(scim_[\w-]+)<', made.text).group(1)
    assert client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    page = admin.get("/configure/sso").text
    assert token not in page and token[:10] in page  # only its prefix, from now on
    token_id = re.search(r'action="/configure/sso/tokens/([0-9a-f-]+)/revoke"', page).group(1)
    assert post_form(admin, f"/configure/sso/tokens/{token_id}/revoke", token=csrf(admin, "/configure/sso")
                     ).status_code == 303
    assert client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert "revoked" in admin.get("/configure/sso").text


def test_a_client_secret_file_others_can_read_is_a_clear_503_not_a_500(sso_app, idp, db, tmp_path, caplog):
    secret = tmp_path / "sso-secret"
    secret.write_text(CLIENT_SECRET)
    secret.chmod(0o644)
    web = sso_app(sso_client_secret="", sso_client_secret_file=secret)
    r = web.get("/login/sso", follow_redirects=False)
    assert r.status_code == 503 and "misconfigured" in r.text and str(secret) not in r.text
    assert any("readable by others" in m for m in caplog.messages)  # the operator's log says what to fix
    secret.chmod(0o600)
    idp.users["ada"] = {"email": "ada@example.test", "email_verified": True, "name": "Ada", "groups": ["oncall"]}
    assert sso_login(web, idp, "ada").status_code == 303  # fixed: signing in works
