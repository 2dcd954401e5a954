"""Incident workflows and incident types through the API: admins save them (checked, audited), a bad
step is a 422 naming it, everyone reads them; an incident's custom fields follow its type and
need-to-know."""

import pytest

from tests.harness.incidents import declare

API = "/api/v1"


@pytest.fixture
def people(make_person, make_team):
    make_team("dba")
    return {"bob": make_person("responder", name="Bob"), "carol": make_person("responder", name="Carol"),
            "dave": make_person("viewer", name="Dave"), "admin": make_person("admin", name="Ada")}


def test_admins_save_workflows_and_bad_steps_are_named(client, people):
    admin, bob = people["admin"], people["bob"]
    body = {"name": "SEV1 basics", "severities": ["SEV1"], "steps": [
        {"kind": "page_team", "team": "dba"}, {"kind": "add_role", "role": "scribe", "user": bob.email}]}
    assert client.post(f"{API}/workflows", json=body, headers=bob.headers).status_code == 403
    for steps, index, words in (
            ([{"kind": "open_checklist"}, {"kind": "page_team", "team": "dbx"}], 1, "step 2: no team"),
            ([{"kind": "add_role", "role": "boss", "user": bob.email}], 0, "step 1: role 'boss'"),
            ([{"kind": "add_role", "role": "scribe", "user": "nobody@example.test"}], 0, "step 1:"),
            ([{"kind": "add_role", "role": "scribe"}], 0, "give a person"),
            ([{"kind": "open_checklist", "template": "Nope"}], 0, "no checklist template"),
            ([{"kind": "post_template", "template": "Not A Slug"}], 0, "step 1: invalid slug"),
            ([{"kind": "page_team", "team": "dba", "colour": "red"}], 0, "takes no 'colour'"),
            ([{"kind": "launch"}], 0, "kind 'launch' is not one of")):
        r = client.post(f"{API}/workflows", json={**body, "steps": steps}, headers=admin.headers)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"]["step"] == index and words in r.json()["error"]["message"], r.text
    bad = client.post(f"{API}/workflows", json={**body, "severities": ["SEV9"]}, headers=admin.headers)
    assert bad.status_code == 422
    r = client.post(f"{API}/workflows", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    wf = r.json()
    assert wf["steps"][1] == {"kind": "add_role", "role": "scribe", "user": bob.email}
    assert client.post(f"{API}/workflows", json=body, headers=admin.headers).status_code == 409  # the name
    assert client.get(f"{API}/workflows", headers=people["dave"].headers).json()["items"][0]["name"] == "SEV1 basics"
    r = client.patch(f"{API}/workflows/{wf['id']}", json={"trigger": "status_changed", "to_status": "resolved"},
                     headers=admin.headers)
    assert r.status_code == 200 and r.json()["to_status"] == "resolved"
    assert client.delete(f"{API}/workflows/{wf['id']}", headers=admin.headers).status_code == 204
    audit = client.get(f"{API}/audit", headers=admin.headers).json()["items"]
    assert {"workflow.create", "workflow.update", "workflow.delete"} <= {e["action"] for e in audit}


def test_incident_types_their_fields_and_need_to_know(client, people):
    admin, bob, carol = people["admin"], people["bob"], people["carol"]
    r = client.post(f"{API}/incident-types", headers=admin.headers, json={
        "slug": "payments", "name": "Payments", "custom_fields": [
            {"key": "psp", "label": "Provider", "type": "choice", "choices": ["stripe", "adyen"], "required": True}],
        "checklist": {"template": "Default containment"}})
    assert r.status_code == 201, r.text
    bad = client.post(f"{API}/incident-types", headers=admin.headers, json={
        "slug": "x", "name": "X", "custom_fields": [{"key": "a", "type": "choice"}]})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["index"] == 0
    assert client.post(f"{API}/incident-types", headers=bob.headers,
                       json={"slug": "y", "name": "Y"}).status_code == 403
    assert client.post(f"{API}/incidents", headers=bob.headers, json={
        "title": "Refunds fail", "severity": "SEV2", "incident_type": "nope"}).status_code == 404
    assert client.post(f"{API}/incidents", headers=bob.headers, json={
        "title": "Refunds fail", "severity": "SEV2", "custom_fields": {"psp": "stripe"}}).status_code == 422
    inc = declare(client, bob, title="Refunds fail", incident_type="payments", restricted=True,
                  custom_fields={"psp": "stripe"})
    assert inc["kind"] == "operational" and inc["custom_fields"] == {"psp": "stripe"}
    assert client.put(f"{API}/incidents/{inc['ref']}/custom-fields", json={"values": {"psp": "adyen"}},
                      headers=carol.headers).status_code == 404  # not in the circle: no such incident
    r = client.put(f"{API}/incidents/{inc['ref']}/custom-fields", json={"values": {"psp": "adyen"}},
                   headers=bob.headers)
    assert r.status_code == 200 and r.json()["custom_fields"] == {"psp": "adyen"}
    assert client.put(f"{API}/incidents/{inc['ref']}/custom-fields", json={"values": {}},
                      headers=bob.headers).status_code == 422  # psp is required
    assert client.get(f"{API}/incidents/{inc['ref']}/workflow-runs", headers=carol.headers).status_code == 404
    assert client.delete(f"{API}/incident-types/payments", headers=admin.headers).status_code == 409  # in use
    r = client.patch(f"{API}/incident-types/vendor-outage", json={"base_kind": "security"}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["base_kind"] == "security"
    audit = {e["action"] for e in client.get(f"{API}/audit", headers=admin.headers).json()["items"]}
    assert {"incident_type.create", "incident_type.update"} <= audit
