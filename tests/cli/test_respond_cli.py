"""The responder verbs (`tocsin alert|silence|override|action-item|problem`, `incident join|page|update`)
against the app in process: each command's request reaches the API, and what the API then holds is
what a responder would see. And the client verbs start without loading the server's code."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest

from tocsin.cli import main as cli_main
from tocsin.config import Settings
from tocsin.engine.runner import Engine
from tocsin.escalation.steps import escalations


@pytest.fixture
def tocsin(cli_in_process):
    def run(*args: str, token: str):
        result = cli_in_process(*args, token=token)
        assert result.exit_code == 0, result.output
        return result
    return run


@pytest.fixture
def setup(client, make_person, make_service):
    """checkout (paging Bob through a policy) with an events_v2 key; Bob (responder), Ada (admin)."""
    make_service("checkout")
    ada, bob = make_person("admin", name="Ada"), make_person("responder", name="Bob")
    carol = make_person("responder", name="Carol")
    r = client.post("/api/v1/escalation-policies", headers=ada.headers, json={
        "name": "Checkout", "slug": "checkout", "levels": [
            {"delay_minutes": 5, "targets": [{"type": "user", "id": str(bob.id)}]},
            {"delay_minutes": 5, "targets": [{"type": "user", "id": str(ada.id)}]}]})
    assert r.status_code == 201, r.text
    assert client.put("/api/v1/services/checkout/escalation-policy", json={"policy": "checkout"},
                      headers=ada.headers).status_code == 200
    key = client.post("/api/v1/integrations", json={"service": "checkout", "type": "events_v2", "name": "pd"},
                      headers=ada.headers).json()["key"]
    return {"ada": ada, "bob": bob, "carol": carol, "key": key}


def fire(client, key: str, dedup: str) -> None:
    r = client.post("/v2/enqueue", json={"routing_key": key, "event_action": "trigger", "dedup_key": dedup,
                                         "payload": {"summary": f"{dedup} failing", "source": "m", "severity": "critical"}})
    assert r.status_code == 202, r.text


def tick(db, clock):
    Engine(db, clock, settings=Settings(secret_key="test-secret"), modules=[("escalations", escalations)]).tick()


def test_alert_verbs(tocsin, client, db, clock, setup):
    bob = setup["bob"]
    fire(client, setup["key"], "disk-full")
    fire(client, setup["key"], "latency")
    listed = json.loads(tocsin("alert", "list", "--status", "triggered", "--json", token=bob.token).stdout)
    ids = {a["dedup_key"]: a["id"] for a in listed}
    assert set(ids) == {"disk-full", "latency"}
    table = tocsin("alert", "list", token=bob.token).stdout
    assert "disk-full failing" in table and "latency failing" in table

    tick(db, clock)  # the engine starts paging Bob (level 1) for the service's alert group
    acked = json.loads(tocsin("alert", "ack", ids["disk-full"], "--json", token=bob.token).stdout)
    assert acked["status"] == "acknowledged"
    # Bob acknowledged too soon: back to paging, at the second level (Ada)
    escalated = json.loads(tocsin("alert", "escalate", ids["disk-full"], "--level", "2", "--json",
                                  token=bob.token).stdout)
    assert (escalated["status"], escalated["level"]) == ("active", 1)
    assert "escalated to level 2" in tocsin("alert", "escalate", ids["disk-full"], "--level", "2", token=bob.token).stdout
    tocsin("alert", "reassign", ids["disk-full"], "--user", setup["carol"].email, token=bob.token)
    esc = client.get(f"/api/v1/alerts/{ids['disk-full']}/escalation", headers=bob.headers).json()
    assert setup["carol"].email in json.dumps(esc["policy_snapshot"] if "policy_snapshot" in esc else esc)
    assert "is resolved" in tocsin("alert", "resolve", ids["disk-full"], token=bob.token).stdout

    inc = client.post("/api/v1/incidents", json={"title": "Checkout slow", "severity": "SEV2", "services": ["checkout"]},
                      headers=bob.headers).json()["ref"]
    assert f"on {inc}" in tocsin("alert", "attach", ids["latency"], inc, token=bob.token).stdout
    shown = json.loads(tocsin("alert", "show", ids["latency"], "--json", token=bob.token).stdout)
    assert shown["incident"] == inc and shown["decisions"]


def test_silence_override_action_item_and_problem_verbs(tocsin, client, clock, setup):
    bob, ada, carol = setup["bob"], setup["ada"], setup["carol"]
    until = (clock.now() + timedelta(hours=2)).isoformat()
    s = json.loads(tocsin("silence", "add", "service=checkout", "env!=dev", "--until", until, "--reason", "deploy",
                          "--json", token=bob.token).stdout)
    assert [(m["name"], m["op"], m["value"]) for m in s["matchers"]] == [("service", "=", "checkout"), ("env", "!=", "dev")]
    assert "deploy" in tocsin("silence", "list", token=bob.token).stdout
    tocsin("silence", "expire", s["id"], token=bob.token)
    assert client.get(f"/api/v1/silences/{s['id']}", headers=bob.headers).json()["state"] == "expired"

    assert client.post("/api/v1/schedules", json={"name": "Ops"}, headers=ada.headers).status_code == 201
    start, end = clock.now() + timedelta(hours=1), clock.now() + timedelta(hours=5)
    o = json.loads(tocsin("override", "add", "ops", "--from", start.isoformat(), "--until", end.isoformat(),
                          "--user", carol.email, "--json", token=ada.token).stdout)
    who = client.get("/api/v1/schedules/ops/oncall", params={"at": (start + timedelta(hours=1)).isoformat()},
                     headers=bob.headers).json()["on_call"]
    assert who["user"]["email"] == carol.email
    assert carol.email in tocsin("override", "list", "ops", token=ada.token).stdout
    tocsin("override", "delete", "ops", o["id"], token=ada.token)
    assert client.get("/api/v1/schedules/ops/overrides", headers=ada.headers).json()["items"] == []

    inc = client.post("/api/v1/incidents", json={"title": "Checkout down", "severity": "SEV2", "services": ["checkout"]},
                      headers=bob.headers).json()["ref"]
    item = json.loads(tocsin("action-item", "add", "Alert on queue depth", "--incident", inc, "--owner", bob.email,
                             "--due", "2030-01-31", "--json", token=bob.token).stdout)
    assert (item["incident"]["ref"], item["status"], item["owner"]["email"]) == (inc, "open", bob.email)
    assert item["due_at"].startswith("2030-01-31")
    assert "Alert on queue depth" in tocsin("action-item", "list", "--incident", inc, token=bob.token).stdout
    tocsin("action-item", "done", item["id"], token=bob.token)
    assert client.get(f"/api/v1/action-items/{item['id']}", headers=bob.headers).json()["status"] == "done"

    p = json.loads(tocsin("problem", "create", "Checkout keeps falling over", "--json", token=bob.token).stdout)
    tocsin("problem", "link", p["id"], inc, token=bob.token)
    assert inc in json.dumps(client.get(f"/api/v1/problems/{p['id']}", headers=bob.headers).json())
    tocsin("problem", "unlink", p["id"], inc, token=bob.token)
    assert inc not in json.dumps(client.get(f"/api/v1/problems/{p['id']}", headers=bob.headers).json())


def test_incident_join_page_and_public_update(tocsin, client, setup):
    bob, ada, carol = setup["bob"], setup["ada"], setup["carol"]
    inc = client.post("/api/v1/incidents", json={"title": "Checkout down", "severity": "SEV2", "services": ["checkout"]},
                      headers=bob.headers).json()["ref"]
    assert f"joined {inc} as responder" in tocsin("incident", "join", inc, token=carol.token).stdout
    people = client.get(f"/api/v1/incidents/{inc}/participants", headers=bob.headers).json()
    assert carol.email in json.dumps(people)
    tocsin("incident", "page", inc, "--user", ada.email, "--message", "need a DBA", token=bob.token)
    asked = client.get(f"/api/v1/incidents/{inc}/responders", headers=bob.headers).json()
    assert ada.email in json.dumps(asked) and "need a DBA" in json.dumps(asked)

    assert client.post("/api/v1/status-pages", json={"name": "Public", "slug": "public"},
                       headers=ada.headers).status_code == 201
    tocsin("incident", "update", inc, "We are looking into checkout errors.", "--page", "public", "--name",
           "Checkout errors", token=bob.token)
    public = client.get("/api/v1/status-pages/public/incidents", headers=ada.headers).json()
    assert "We are looking into checkout errors." in json.dumps(public)


def test_refusals_are_one_line_and_exit_non_zero(cli_in_process, setup):
    result = cli_in_process("alert", "ack", "00000000-0000-0000-0000-000000000000", token=setup["bob"].token)
    assert result.exit_code == 1 and "404" in result.output and "Traceback" not in result.output
    result = cli_in_process("silence", "add", "nonsense", "--until", "2030-01-01T00:00:00Z", "--reason", "x",
                            token=setup["bob"].token)
    assert result.exit_code == 2 and "name=value" in result.output


def test_the_help_lists_what_each_command_says_of_itself():
    """`tocsin --help` shows COMMANDS' one-line help without importing the commands; it must be the
    command's own."""
    for name in cli_main.COMMANDS:
        command = cli_main.load(name)
        own = (command.help or "").strip().splitlines()[0]
        assert own == cli_main.COMMANDS[name][2], name


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["alert", "--help"],
                                  ["alert", "list", "--url", "http://127.0.0.1:9", "--token", "x"]])
def test_client_commands_start_without_the_server_code(args):
    """Scripts call the client verbs in loops: they load only the HTTP client (bench/cli_start.py times it)."""
    probe = ("import sys\nfrom tocsin.cli.main import main\nsys.argv = ['tocsin', *sys.argv[1:]]\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'alembic', 'fastapi', 'uvicorn', "
             "'jinja2', 'tocsin.db'})\nsys.stderr.write('HEAVY=' + ','.join(heavy))\n")
    out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60)
    assert "HEAVY=" in out.stderr and out.stderr.split("HEAVY=")[-1] == "", out.stderr


def test_what_a_sender_wrote_is_printed_as_text_not_markup_or_terminal_codes(cli_in_process, client, setup):
    # anyone holding an integration key (or mailing an alert address) picks the summary: rich markup in it
    # crashed every `alert list` ([/bold] closes nothing) or drew a link; ESC sequences reached the terminal
    summary = "disk [/bold] full \x1b]0;owned\x07\x1b[2J [link=https://evil.example]click[/link]"
    r = client.post("/v2/enqueue", json={"routing_key": setup["key"], "event_action": "trigger", "dedup_key": "x",
                                         "payload": {"summary": summary, "source": "m", "severity": "critical"}})
    assert r.status_code == 202, r.text
    alert_id = json.loads(cli_in_process("alert", "list", "--json", token=setup["bob"].token).stdout)[0]["id"]
    for args in (("alert", "list"), ("alert", "show", alert_id)):
        result = cli_in_process(*args, token=setup["bob"].token)
        assert result.exit_code == 0, result.output
        out = " ".join(result.stdout.split())
        assert "disk [/bold] full" in out and "[link=https://evil.example]click[/link]" in out
        assert "\x1b" not in result.stdout
