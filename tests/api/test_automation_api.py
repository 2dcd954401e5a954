"""Approved actions through the API: admins define them (checked against the operator's allow-list and
the egress guard, audited), responders ask for runs with typed parameters (a clear 422 naming the
field), a second person approves, and runs of a restricted incident stay inside its circle."""

from __future__ import annotations

import pytest

from tests.harness.incidents import declare

ACT = "/api/v1/automation/actions"
INC = "/api/v1/incidents"
SCHEMA = [{"name": "host", "type": "string", "required": True, "pattern": "[a-z0-9-]+"},
          {"name": "count", "type": "integer"}, {"name": "force", "type": "boolean"},
          {"name": "zone", "type": "choice", "choices": ["eu", "us"]}]


@pytest.fixture
def people(make_person, app, tmp_path):
    allow = tmp_path / "commands.yaml"
    allow.write_text('restart: ["/usr/bin/systemctl", "restart", "{host}"]\n')
    app.state.settings.automation_commands = allow
    return {"ada": make_person("admin", name="Ada"), "bob": make_person("responder", name="Bob"),
            "cy": make_person("responder", name="Cy"), "dee": make_person("viewer", name="Dee")}


def make_action(client, ada, expect=201, **body):
    body = {"slug": "restart", "name": "Restart a host", "kind": "command", "command": "restart",
            "params_schema": SCHEMA, **body}
    r = client.post(ACT, json=body, headers=ada.headers)
    assert r.status_code == expect, r.text
    return r.json()


def ask(client, who, ref, expect=201, **body):
    r = client.post(f"{INC}/{ref}/automation/runs", json={"action": "restart", **body}, headers=who.headers)
    assert r.status_code == expect, r.text
    return r.json()


def error_field(r):
    return r.status_code, r.json()["error"]["details"].get("field")


def test_admins_define_actions_only_from_the_allow_list_and_every_change_is_audited(client, people):
    ada, bob = people["ada"], people["bob"]
    assert client.post(ACT, json={"slug": "x", "name": "x", "kind": "command", "command": "restart"},
                       headers=bob.headers).status_code == 403
    bad = client.post(ACT, json={"slug": "x", "name": "x", "kind": "command", "command": "rm -rf /"},
                      headers=ada.headers)
    assert error_field(bad) == (422, "command") and "restart" in bad.json()["error"]["message"]
    unfit = client.post(ACT, json={"slug": "x", "name": "x", "kind": "command", "command": "restart"},
                        headers=ada.headers)  # the command needs {host}; the action has no such parameter
    assert error_field(unfit) == (422, "params_schema")
    schema = client.post(ACT, json={"slug": "x", "name": "x", "kind": "command", "command": "restart",
                                    "params_schema": [{"name": "host", "type": "integer", "pattern": "a"}]},
                         headers=ada.headers)
    assert error_field(schema) == (422, "params_schema[0]")
    metadata = client.post(ACT, json={"slug": "y", "name": "y", "kind": "webhook",
                                      "url": "http://169.254.169.254/latest/meta-data"}, headers=ada.headers)
    assert error_field(metadata) == (422, "url") and "egress" in metadata.json()["error"]["message"]

    made = make_action(client, ada, requires_approval=True)
    assert make_action(client, ada, 409)["error"]["details"]["field"] == "slug"
    r = client.patch(f"{ACT}/restart", json={"timeout_s": 30, "enabled": False}, headers=ada.headers)
    assert r.status_code == 200 and (r.json()["timeout_s"], r.json()["enabled"]) == (30, False)
    commands = client.get("/api/v1/automation/commands", headers=ada.headers).json()
    assert commands == {"commands": {"restart": ["/usr/bin/systemctl", "restart", "{host}"]}, "error": None}
    assert client.get("/api/v1/automation/commands", headers=bob.headers).status_code == 403
    assert client.delete(f"{ACT}/{made['id']}", headers=ada.headers).status_code == 204
    audit = client.get("/api/v1/audit", params={"action": "automation"}, headers=ada.headers).json()
    assert [e["action"] for e in audit["items"] if "action_" in e["action"]] == ["automation.action_create", "automation.action_update",
                                                     "automation.action_delete"]


def test_parameters_are_checked_against_their_types(client, people):
    make_action(client, people["ada"])
    ref = declare(client, people["bob"])["ref"]
    bob = people["bob"]
    for params, field in [({}, "params.host"), ({"host": "Bad Host!"}, "params.host"),
                          ({"host": "web-1", "count": "many"}, "params.count"),
                          ({"host": "web-1", "zone": "mars"}, "params.zone"),
                          ({"host": "web-1", "force": "maybe"}, "params.force"),
                          ({"host": "web-1", "shell": "sh"}, "params.shell")]:
        r = client.post(f"{INC}/{ref}/automation/runs", json={"action": "restart", "params": params},
                        headers=bob.headers)
        assert error_field(r) == (422, field), (params, r.text)
    ok = ask(client, bob, ref, params={"host": "web-1", "count": "3", "force": True, "zone": "eu"})
    assert ok["params"] == {"host": "web-1", "count": 3, "force": True, "zone": "eu"} and ok["status"] == "approved"
    assert ask(client, bob, ref, 404, action="nope")["error"]["code"] == "not_found"
    assert ask(client, people["dee"], ref, 403, params={"host": "web-1"})


def test_a_second_person_approves_and_the_requester_cannot(client, people):
    make_action(client, people["ada"], requires_approval=True)
    bob, cy = people["bob"], people["cy"]
    ref = declare(client, bob)["ref"]
    run = ask(client, bob, ref, params={"host": "web-1"})
    assert run["status"] == "requested"
    path = f"{INC}/{ref}/automation/runs/{run['id']}"
    mine = client.post(f"{path}/approve", headers=bob.headers)
    assert mine.status_code == 403 and "second person" in mine.json()["error"]["message"]
    assert client.post(f"{path}/approve", headers=people["dee"].headers).status_code == 403  # viewers watch
    r = client.post(f"{path}/approve", json={"reason": "checked the host"}, headers=cy.headers)
    assert r.status_code == 200 and r.json()["status"] == "approved" and r.json()["approved_by"]["name"] == "Cy"
    assert client.post(f"{path}/refuse", headers=cy.headers).status_code == 409  # no longer waiting

    other = ask(client, bob, ref, params={"host": "web-2"})
    r = client.post(f"{INC}/{ref}/automation/runs/{other['id']}/refuse", json={"reason": "wrong host"},
                    headers=bob.headers)  # refusing (withdrawing) one's own is fine
    assert r.status_code == 200 and r.json()["status"] == "refused"
    timeline = client.get(f"{INC}/{ref}/timeline", headers=bob.headers).json()["items"]
    texts = [e["text"] for e in timeline if e["kind"] == "automation"]
    assert "Approved action approved: “Restart a host” with host=web-1: checked the host" in texts
    assert "Approved action refused: “Restart a host” with host=web-2: wrong host" in texts
    audit = client.get("/api/v1/audit", params={"action": "automation"}, headers=people["ada"].headers).json()
    assert {"automation.run_requested", "automation.run_approved", "automation.run_refused"} <= \
        {e["action"] for e in audit["items"]}


def test_runs_of_a_restricted_incident_stay_inside_its_circle(client, people):
    make_action(client, people["ada"])
    bob, cy = people["bob"], people["cy"]
    ref = declare(client, bob, kind="security", restricted=True)["ref"]
    run = ask(client, bob, ref, params={"host": "web-1"})
    assert client.get(f"{INC}/{ref}/automation/runs", headers=cy.headers).status_code == 404
    assert client.get(f"{INC}/{ref}/automation/runs/{run['id']}", headers=cy.headers).status_code == 404
    assert ask(client, cy, ref, 404, params={"host": "web-1"})
    assert client.post(f"{INC}/{ref}/automation/runs/{run['id']}/refuse", headers=cy.headers).status_code == 404
    listed = client.get(f"{INC}/{ref}/automation/runs", headers=bob.headers).json()["items"]
    assert [r["id"] for r in listed] == [run["id"]]
