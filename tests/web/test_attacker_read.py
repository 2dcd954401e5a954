"""Issue 17 read as an attacker would, on the console side: guest accounts cannot be taken over with a
fresh invitation, and single sign-on never turns a guest into staff (or staff into a guest)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.harness.console import login, post_form
from tocsin.config import Settings
from tocsin.principal import OrgRole, Principal
from tocsin.sso import mapping
from tocsin.sso.accounts import sign_in
from tocsin.users.service import create_user, get_user_by_email

API = "/api/v1"
IVY, PASSWORD, MALLORY = "ivy@irfirm.example", "ivy's own long password", "mallory's chosen password"


def _link(web, ref: str) -> str:
    data = {"email": IVY, "name": "Ivy IR", "organisation": "IR Firm", "duration": "2d"}
    invited = post_form(web, f"/incidents/{ref}/guests", data, page=f"/incidents/{ref}")
    assert invited.status_code == 201, invited.text
    link = re.search(r'value="(http[^"]+/guest/[^"]+)"', invited.text).group(1)
    return link[link.index("/guest/"):]


def test_a_new_invitation_does_not_hand_over_an_existing_guest_account(app, client, clock, make_web_user, web_client):
    ada, ida = make_web_user("admin", name="Ada"), make_web_user("responder", name="Ida")
    body = {"severity": "SEV2", "kind": "security", "restricted": True}
    secret = client.post(f"{API}/incidents", json={"title": "Board member's mailbox", **body},
                         headers=ada.headers).json()["ref"]
    mine = client.post(f"{API}/incidents", json={"title": "Leaked key", **body}, headers=ida.headers).json()["ref"]
    ivy = TestClient(app, raise_server_exceptions=False)  # Ivy takes up Ada's invitation to the secret incident
    assert ivy.post(_link(web_client(ada), secret), data={"name": "Ivy", "password": PASSWORD},
                    follow_redirects=False).status_code == 303

    # Ida commands another incident: she invites Ivy's address and follows the link shown to her
    mallory = TestClient(app, raise_server_exceptions=False)
    path = _link(web_client(ida), mine)
    assert "already have a guest account" in mallory.get(path).text
    r = mallory.post(path, data={"name": "Ivy", "password": MALLORY}, follow_redirects=False)
    assert r.status_code == 400 and "password of your guest account" in r.text
    assert "tocsin_session" not in r.cookies
    assert login(TestClient(app), IVY, MALLORY).status_code != 303
    for _ in range(4):  # guessing Ivy's password through the link is throttled like any password check
        assert mallory.post(path, data={"name": "Ivy", "password": MALLORY}).status_code == 400
    assert mallory.post(path, data={"name": "Ivy", "password": PASSWORD}).status_code == 429
    assert ivy.get(f"/incidents/{secret}").status_code == 200  # Ivy's session was not ended either
    # Ivy herself takes it up with her own password (once the wait is over), and sees both incidents
    clock.advance(minutes=1)
    assert ivy.post(path, data={"name": "Ivy", "password": PASSWORD},
                    follow_redirects=False).headers["location"] == f"/incidents/{mine}"
    assert ivy.get(f"/incidents/{secret}").status_code == 200 and ivy.get(f"/incidents/{mine}").status_code == 200


def _claims(email: str, groups: list[str]) -> dict:
    return {"iss": "https://idp.example", "sub": f"sub-{email}", "email": email, "email_verified": True,
            "groups": groups}


def test_single_sign_on_never_makes_a_guest_staff(db, clock):
    settings = Settings(secret_key="test-secret", sso_role_map="ops-admins=admin", sso_default_role="viewer",
                        sso_jit=True)
    admin = Principal(user_id=None, label="test", org_role=OrgRole.admin)
    with db.unit_of_work() as s:
        create_user(s, actor=admin, now=clock.now(), email=IVY, name="Ivy", org_role=OrgRole.guest, guest=True)
    for groups in (["ops-admins"], []):  # a mapped group, and the default role
        with db.unit_of_work() as s:
            result = sign_in(s, settings=settings, claims=_claims(IVY, groups), now=clock.now())
            assert result.user is None and "outside responder" in result.message
            assert get_user_by_email(s, IVY).org_role == "guest"


@pytest.mark.parametrize("text", ["outsiders=guest", "ops-admins=admin,outsiders=Guest"])
def test_a_role_map_cannot_make_guests(text):
    with pytest.raises(ValueError, match="must be admin, responder or viewer"):
        mapping.parse_role_map(text)
