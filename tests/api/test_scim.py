"""SCIM 2.0 provisioning through HTTP with the identity provider's bearer token: the Users resource as
Okta and Azure AD drive it, errors in the SCIM error schema, and deactivation ending access at once."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.harness.console import login

SCIM = "/scim/v2"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def scim_token(db, clock, system) -> str:
    from tocsin.sso.tokens import create_token

    with db.unit_of_work() as s:
        return create_token(s, actor=system, now=clock.now(), name="Okta")[1]


@pytest.fixture
def idp(client, scim_token):
    """The identity provider's client: every request carries the SCIM token."""
    client.headers["Authorization"] = f"Bearer {scim_token}"
    return client


def _error(r, status: int, scim_type: str | None = None) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/scim+json")
    body = r.json()
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and body["detail"]
    if scim_type:
        assert body["scimType"] == scim_type


def test_the_user_lifecycle_as_okta_drives_it(idp):
    new = {"schemas": [USER], "userName": "Grace@Example.test", "externalId": "00u1",
           "name": {"givenName": "Grace", "familyName": "Hopper"}, "active": True,
           "emails": [{"value": "grace@example.test", "primary": True}]}
    created = idp.post(f"{SCIM}/Users", json=new)
    assert created.status_code == 201, created.text
    user = created.json()
    assert (user["userName"], user["displayName"], user["active"], user["externalId"]) == (
        "grace@example.test", "Grace Hopper", True, "00u1")
    assert created.headers["location"] == user["meta"]["location"] and user["id"] in user["meta"]["location"]
    _error(idp.post(f"{SCIM}/Users", json=new), 409, "uniqueness")

    found = idp.get(f"{SCIM}/Users", params={"filter": 'userName eq "grace@example.test"'}).json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == user["id"]
    assert idp.get(f"{SCIM}/Users", params={"filter": 'externalId eq "00u1"'}).json()["totalResults"] == 1
    assert idp.get(f"{SCIM}/Users", params={"filter": 'userName eq "nobody@example.test"'}).json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 0, "startIndex": 1,
        "itemsPerPage": 0, "Resources": []}
    page = idp.get(f"{SCIM}/Users", params={"startIndex": 2, "count": 1}).json()
    assert page["startIndex"] == 2 and page["itemsPerPage"] <= 1
    past = idp.get(f"{SCIM}/Users", params={"startIndex": 10**30, "count": 10**30})
    assert past.status_code == 200 and past.json()["Resources"] == []

    replaced = idp.put(f"{SCIM}/Users/{user['id']}", json={**new, "displayName": "Rear Admiral Hopper"})
    assert replaced.status_code == 200 and replaced.json()["displayName"] == "Rear Admiral Hopper"
    patched = idp.patch(f"{SCIM}/Users/{user['id']}", json={
        "schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]})
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert idp.get(f"{SCIM}/Users/{user['id']}").json()["active"] is False

    assert idp.delete(f"{SCIM}/Users/{user['id']}").status_code == 204
    _error(idp.get(f"{SCIM}/Users/{user['id']}"), 404)
    assert idp.get(f"{SCIM}/Users", params={"filter": 'userName eq "grace@example.test"'}).json()["totalResults"] == 0
    again = idp.post(f"{SCIM}/Users", json=new)  # provisioned again: the same person, active
    assert again.status_code == 201 and again.json()["id"] == user["id"] and again.json()["active"] is True


def test_azure_style_patch_with_paths_and_string_booleans(idp, make_person):
    person = make_person("responder")
    r = idp.patch(f"{SCIM}/Users/{person.id}", json={"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "displayName", "value": "Renamed Person"},
        {"op": "Add", "path": "externalId", "value": "aad-42"},
        {"op": "Replace", "path": "title", "value": "ignored: tocsin keeps no title"},
        {"op": "Replace", "path": "active", "value": "False"}]})
    assert r.status_code == 200, r.text
    assert (r.json()["displayName"], r.json()["externalId"], r.json()["active"]) == ("Renamed Person", "aad-42", False)


@pytest.mark.parametrize(("method", "path", "body", "status", "scim_type"), [
    ("GET", "/Users?filter=name co \"x\"", None, 400, "invalidFilter"),
    ("GET", "/Users?count=many", None, 400, "invalidValue"),
    ("GET", "/Users/not-a-uuid", None, 404, None),
    ("GET", "/Users/0190a0a0-0000-7000-8000-000000000000", None, 404, None),
    ("POST", "/Users", b"{not json", 400, "invalidSyntax"),
    ("POST", "/Users", [1, 2], 400, "invalidSyntax"),
    ("POST", "/Users", {"schemas": [USER]}, 400, "invalidValue"),
    ("POST", "/Users", {"userName": "not an email"}, 400, "invalidValue"),
    ("POST", "/Users", {"userName": "x@example.test", "active": "maybe"}, 400, "invalidValue"),
    ("POST", "/Users", {"userName": "x\u0000@example.test"}, 400, "invalidValue"),
    ("POST", "/Users", {"userName": "x@example.test", "displayName": "Eve\u0000"}, 400, "invalidValue"),
    ("GET", "/Users?filter=userName eq \"a%00b\"", None, 400, "invalidFilter"),
    ("PUT", "/Users/{me}", {"displayName": "No userName"}, 400, "invalidValue"),
    ("PATCH", "/Users/{me}", {"Operations": []}, 400, "invalidSyntax"),
    ("PATCH", "/Users/{me}", {"Operations": [{"op": "move", "path": "active"}]}, 400, "invalidSyntax"),
    ("PATCH", "/Users/{me}", {"Operations": [{"op": "remove", "path": "userName"}]}, 400, "mutability"),
])
def test_bad_requests_get_scim_errors(idp, make_person, method, path, body, status, scim_type):
    person = make_person("viewer")
    kwargs = {"content": body} if isinstance(body, bytes) else {"json": body} if body is not None else {}
    _error(idp.request(method, SCIM + path.format(me=person.id), **kwargs), status, scim_type)


def test_only_a_live_scim_token_is_let_in(client, scim_token, db, clock, system, make_person):
    from tocsin.sso.tokens import revoke_token

    person = make_person("admin")  # an API token, even an admin's, is not a SCIM token
    for header in ({}, {"Authorization": f"Bearer {person.token}"}, {"Authorization": "Bearer scim_wrong"}):
        _error(client.get(f"{SCIM}/Users", headers=header), 401)
    assert client.get(f"{SCIM}/ServiceProviderConfig", headers={"Authorization": f"Bearer {scim_token}"}).json()[
        "patch"] == {"supported": True}
    with db.unit_of_work() as s:
        revoke_token(s, actor=system, now=clock.now(), token_id=scim_token[:10])
    _error(client.get(f"{SCIM}/Users", headers={"Authorization": f"Bearer {scim_token}"}), 401)


@pytest.mark.parametrize("how", ["patch", "delete"])
def test_deactivation_ends_console_sessions_and_api_tokens_at_once(app, idp, make_web_user, db, how):
    person = make_web_user("responder")
    browser = TestClient(app, raise_server_exceptions=False)
    assert login(browser, person.email, person.password).status_code == 303
    assert browser.get("/incidents", follow_redirects=False).status_code == 200
    api = {"Authorization": f"Bearer {person.token}"}
    assert browser.get("/api/v1/users/me", headers=api).status_code == 200

    if how == "patch":
        r = idp.patch(f"{SCIM}/Users/{person.id}", json={"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": "active", "value": False}]})
        assert r.status_code == 200, r.text
    else:
        assert idp.delete(f"{SCIM}/Users/{person.id}").status_code == 204

    gone = browser.get("/incidents", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")
    assert browser.get("/api/v1/users/me", headers=api, follow_redirects=False).status_code == 401
    assert login(browser, person.email, person.password).status_code == 400  # and no new session either
    browser.close()

    import sqlalchemy as sa

    from tocsin.audit.models import AuditEntry

    with db.read() as s:
        entry = s.execute(sa.select(AuditEntry).where(AuditEntry.action == "user.deactivate")).scalar_one()
        assert entry.actor_label == "scim:Okta" and entry.details["sessions_ended"] == 1
        assert entry.details["tokens_revoked"] == 1


def test_an_operator_makes_and_revokes_a_scim_token_with_the_cli(client, db_url):
    from typer.testing import CliRunner

    from tocsin.cli.main import app as cli

    runner = CliRunner()
    made = runner.invoke(cli, ["sso", "scim-token", "create", "Azure AD", "--database-url", db_url])
    assert made.exit_code == 0, made.output
    token = made.output.strip().splitlines()[-1]
    assert token.startswith("scim_")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"{SCIM}/Users", headers=headers).status_code == 200
    listed = runner.invoke(cli, ["sso", "scim-token", "list", "--json", "--database-url", db_url])
    assert '"name": "Azure AD"' in listed.output and '"revoked_at": null' in listed.output
    assert runner.invoke(cli, ["sso", "scim-token", "revoke", token[:10], "--database-url", db_url]).exit_code == 0
    _error(client.get(f"{SCIM}/Users", headers=headers), 401)


def test_groups_are_teams_and_the_security_team_follows_its_group(idp, db, make_person, make_team):
    from tocsin.users.service import principal_for, require_user

    def in_security(person) -> bool:
        with db.read() as s:
            return principal_for(s, require_user(s, person.id)).security_team

    security = make_team("security", is_security=True)
    alice, bob = make_person("responder"), make_person("responder")
    made = idp.post(f"{SCIM}/Groups", json={"displayName": "Platform Ops", "members": [{"value": str(alice.id)}]})
    assert made.status_code == 201, made.text
    group = made.json()
    assert (group["displayName"], [m["value"] for m in group["members"]]) == ("Platform Ops", [str(alice.id)])
    found = idp.get(f"{SCIM}/Groups", params={"filter": 'displayName eq "Platform Ops"'}).json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == group["id"]
    _error(idp.post(f"{SCIM}/Groups", json={"displayName": "Platform Ops"}), 409, "uniqueness")

    # the provider pushes its security group: Bob joins, then leaves by the one-member path
    add = {"Operations": [{"op": "add", "path": "members", "value": [{"value": str(bob.id)}]}]}
    assert idp.patch(f"{SCIM}/Groups/{security}", json=add).status_code == 200 and in_security(bob)
    remove = {"Operations": [{"op": "remove", "path": f'members[value eq "{bob.id}"]'}]}
    assert idp.patch(f"{SCIM}/Groups/{security}", json=remove).json()["members"] == [] and not in_security(bob)

    replaced = idp.put(f"{SCIM}/Groups/{group['id']}", json={"displayName": "Platform", "members": [
        {"value": str(bob.id)}]}).json()
    assert (replaced["displayName"], [m["value"] for m in replaced["members"]]) == ("Platform", [str(bob.id)])
    assert idp.delete(f"{SCIM}/Groups/{group['id']}").status_code == 204
    assert idp.get(f"{SCIM}/Groups/{group['id']}").json()["members"] == []  # emptied; services may still name it

    _error(idp.patch(f"{SCIM}/Groups/{security}", json={"Operations": [
        {"op": "add", "path": "members", "value": [{"value": "0190a0a0-0000-7000-8000-000000000000"}]}]}),
        400, "invalidValue")
    _error(idp.get(f"{SCIM}/Groups/nope"), 404)
    _error(idp.get(f"{SCIM}/Groups", params={"filter": 'members eq "x"'}), 400, "invalidFilter")
