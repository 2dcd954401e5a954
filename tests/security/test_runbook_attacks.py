"""Runbooks and approved actions under odd input (issue 19): a clear 4xx, never a 500, for step numbers
that are digits to Python but not numbers, regular expressions Python cannot build, and timeouts
written in other scripts' digits."""

from __future__ import annotations

import pytest

from tests.harness.console import post_form

RB = "/api/v1/runbooks"
BODY = "# Failover\n\n1. Check lag\n2. Promote the replica\n"


@pytest.fixture
def world(make_team, make_web_user, console_as, client):
    make_team("dba")
    ana = make_web_user("responder", name="Ana", teams=["dba"])
    ada = make_web_user("admin", name="Ada")
    r = client.post(RB, json={"title": "Failover", "team": "dba", "body_md": BODY, "matchers": ['service="db"']},
                    headers=ana.headers)
    assert r.status_code == 201, r.text
    return {"ana": ana, "ada": ada, "c": console_as(ana), "admin": console_as(ada)}


@pytest.mark.parametrize("number", ["²", "①", "٣", "9" * 5000])
def test_a_step_number_that_is_no_number_is_a_404_not_a_500(client, world, number):
    ref = client.post("/api/v1/incidents", json={"title": "DB lag", "severity": "SEV2"},
                      headers=world["ana"].headers).json()["ref"]
    room = f"/incidents/{ref}"
    r = post_form(world["c"], f"{room}/runbooks/failover/steps/{number}", {"state": "done"}, page=room)
    assert r.status_code in (404, 422), (number, r.status_code, r.text[:300])


@pytest.mark.parametrize("pattern", ["a{99999999999}", "(?:a{4294967295})", "x{1,99999999999}"])
def test_a_matcher_regex_python_cannot_build_is_a_422(client, world, pattern):
    r = client.patch(f"{RB}/failover", json={"matchers": [f'alertname=~"{pattern}"']}, headers=world["ana"].headers)
    assert r.status_code == 422, r.text
    r = post_form(world["c"], "/configure/runbooks/failover",
                  {"title": "Failover", "team": "dba", "matchers": f'alertname=~"{pattern}"', "body_md": BODY},
                  page="/configure/runbooks/failover")
    assert r.status_code == 422, r.text[:300]


def test_a_parameter_pattern_python_cannot_build_is_a_422(client, world):
    r = client.post("/api/v1/automation/actions", json={
        "slug": "hook", "name": "Hook", "kind": "webhook", "url": "https://hooks.example/x",
        "params_schema": [{"name": "host", "type": "string", "pattern": "a{99999999999}"}]},
        headers=world["ada"].headers)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "params_schema[0]", r.text


@pytest.mark.parametrize("timeout", ["²", "①", "٣٠"])
def test_a_timeout_in_other_digits_is_a_422(world, timeout):
    r = post_form(world["admin"], "/configure/automation",
                  {"slug": "hook", "name": "Hook", "kind": "webhook", "url": "https://hooks.example/x",
                   "timeout_s": timeout}, page="/configure/automation")
    assert r.status_code in (303, 422), (timeout, r.status_code, r.text[:300])


def test_a_runbook_with_thousands_of_steps_is_refused(client, world):
    """Every room the runbook applies to (one matcher can reach every alert) renders each step with its
    forms, and marking one parses them all: a runbook of 30,000 one-character steps would slow every one."""
    many = "1. a\n" * 501
    r = client.post(RB, json={"title": "Huge", "team": "dba", "body_md": many}, headers=world["ana"].headers)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "body_md", r.text
    r = client.patch(f"{RB}/failover", json={"body_md": many}, headers=world["ana"].headers)
    assert r.status_code == 422, r.text
    assert client.post(RB, json={"title": "Long", "team": "dba", "body_md": "1. a\n" * 500},
                       headers=world["ana"].headers).status_code == 201


@pytest.mark.both_backends  # PostgreSQL's text refuses NUL
def test_a_nul_in_a_step_note_or_a_decision_reason_is_a_422(client, world, tmp_path, app):
    ana = world["ana"]
    assert client.post("/api/v1/services", json={"name": "db", "slug": "db"},
                       headers=world["ada"].headers).status_code == 201
    assert client.patch(f"{RB}/failover", json={"services": ["db"]}, headers=ana.headers).status_code == 200
    r = client.post("/api/v1/incidents", json={"title": "DB lag", "severity": "SEV2", "services": ["db"]},
                    headers=ana.headers)
    assert r.status_code == 201, r.text
    ref = r.json()["ref"]
    r = client.post(f"/api/v1/incidents/{ref}/runbooks/failover/steps/1", json={"state": "done", "note": "a\x00b"},
                    headers=ana.headers)
    assert r.status_code == 422, r.text
    room = f"/incidents/{ref}"
    r = post_form(world["c"], f"{room}/runbooks/failover/steps/1", {"state": "done", "note": "a\x00b"}, page=room)
    assert r.status_code == 422, r.text[:300]

    allow = tmp_path / "commands.yaml"
    allow.write_text('echo: ["/bin/echo", "hi"]\n')
    app.state.settings.automation_commands = allow
    assert client.post("/api/v1/automation/actions", json={"slug": "hi", "name": "Hi", "kind": "command",
                                                            "command": "echo", "requires_approval": True},
                       headers=world["ada"].headers).status_code == 201
    run = client.post(f"/api/v1/incidents/{ref}/automation/runs", json={"action": "hi"}, headers=ana.headers).json()
    r = client.post(f"/api/v1/incidents/{ref}/automation/runs/{run['id']}/refuse", json={"reason": "no\x00pe"},
                    headers=ana.headers)
    assert r.status_code == 422, r.text
