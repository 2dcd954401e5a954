"""`tocsin apply`, `export`, `lint` and `config schema` through the CLI, on the database named by
TOCSIN_DATABASE_URL (in process, with Typer's runner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tocsin.cli.main import app as cli

PEOPLE = {"version": 1, "users": [{"email": "ann@example.com", "name": "Ann", "role": "admin"},
                                  {"email": "ben@example.com", "name": "Ben"}],
          "teams": [{"slug": "web", "name": "Web", "members": ["ann@example.com", "ben@example.com"]}]}
SERVICES = {"version": 1, "services": [{"slug": "shop", "name": "Shop", "team": "web",
                                        "integrations": [{"name": "am", "type": "alertmanager"}]}]}


# The CLI's own part is the same on every backend (apply itself runs on both in test_configcode.py).
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True, ids=["sqlite"])
def test_apply_export_lint_and_schema_at_the_cli(db_url: str, tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "people.yaml").write_text(yaml.safe_dump(PEOPLE))
    (conf / "services.yml").write_text(yaml.safe_dump(SERVICES))
    runner = CliRunner()
    env = {"TOCSIN_DATABASE_URL": db_url, "COLUMNS": "200"}

    dry = runner.invoke(cli, ["apply", str(conf), "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.splitlines() == ["+ user ann@example.com", "+ user ben@example.com", "+ team web",
                                       "+ service shop", "+ integration shop/am (alertmanager)"]
    done = runner.invoke(cli, ["apply", str(conf)], env=env)
    assert done.stdout.splitlines()[:5] == dry.stdout.splitlines()
    assert "/integrations/alertmanager/" in done.stdout  # the new key, shown once, with where to send it
    assert runner.invoke(cli, ["apply", str(conf)], env=env).stdout == "no changes\n"

    out = tmp_path / "export.yaml"
    assert runner.invoke(cli, ["export", str(out)], env=env).exit_code == 0
    assert out.read_text().startswith("# tocsin configuration")
    assert runner.invoke(cli, ["apply", str(out), "--prune"], env=env).stdout == "no changes\n"

    lint = runner.invoke(cli, ["lint", str(conf)], env=env)
    assert lint.exit_code == 1
    assert lint.stdout == f"{conf / 'services.yml'}: services[0] (shop): no escalation policy: its alerts page nobody\n"

    (conf / "bad.yaml").write_text("version: 1\nteams:\n  - {slug: Bad Slug, name: x}\n")
    bad = runner.invoke(cli, ["apply", str(conf)], env=env)
    assert bad.exit_code == 1 and "bad.yaml: teams[0].slug: String should match pattern" in bad.output

    schema = runner.invoke(cli, ["config", "schema"], env=env)
    assert json.loads(schema.stdout)["properties"]["version"] == {"const": 1, "title": "Version", "type": "integer"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True, ids=["sqlite"])
def test_apply_with_url_goes_through_the_api(cli_in_process, make_person, tmp_path: Path) -> None:
    admin = make_person(role="admin")
    conf = tmp_path / "team.yaml"
    conf.write_text("version: 1\nteams:\n  - {slug: remote, name: Remote}\nmaintenance_windows: []\n")
    dry = cli_in_process("apply", str(conf), "--url", "http://tocsin.test", "--dry-run", token=admin.token)
    assert dry.exit_code == 0, dry.output
    assert dry.stdout == "+ team remote\n"
    assert cli_in_process("apply", str(conf), "--url", "http://tocsin.test", token=admin.token).stdout == \
        "+ team remote\n"
    assert cli_in_process("apply", str(conf), "--url", "http://tocsin.test", token=admin.token).stdout == \
        "no changes\n"
    viewer = make_person(role="viewer")
    refused = cli_in_process("apply", str(conf), "--url", "http://tocsin.test", token=viewer.token)
    assert refused.exit_code == 1 and "403" in refused.output


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True, ids=["sqlite"])
def test_names_print_as_text_not_as_markup_or_terminal_controls(db_url: str, tmp_path: Path) -> None:
    # "[/x]" was read as a rich closing tag (a traceback instead of the error), "[a-z0-9]" in a
    # pattern vanished from the message, and ESC reached the terminal (\x1b[2J clears the screen)
    name = "[/x]\x1b[2J\x1b]0;owned\x07"
    rule = {"name": name, "matchers": ["team=web"], "urgency": "low"}
    conf = tmp_path / "rules.yaml"
    conf.write_text(yaml.safe_dump({"version": 1, "routing_rules": [rule, rule]}))
    env = {"TOCSIN_DATABASE_URL": db_url, "COLUMNS": "300"}
    twice = CliRunner().invoke(cli, ["apply", str(conf)], env=env)
    assert twice.exit_code == 1 and isinstance(twice.exception, SystemExit)  # not rich's MarkupError
    assert "'[/x]\\x1b[2J\\x1b]0;owned\\x07' is declared twice" in twice.output and "\x1b" not in twice.output
    conf.write_text(yaml.safe_dump({"version": 1, "routing_rules": [rule]}))
    done = CliRunner().invoke(cli, ["apply", str(conf)], env=env)
    assert done.stdout == "+ routing_rule [/x]\ufffd[2J\ufffd]0;owned\ufffd\n"
    conf.write_text("version: 1\nteams:\n  - {slug: Bad Slug, name: x}\n")
    assert "pattern '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'" in CliRunner().invoke(cli, ["lint", str(conf)]).output


def test_apply_with_url_says_so_when_the_answer_is_not_tocsins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a proxy or another program at --url: a clear error, not a KeyError traceback
    from tocsin.cli import configcode

    monkeypatch.setattr(configcode, "call", lambda *a, **kw: {"status": "ok"})
    conf = tmp_path / "team.yaml"
    conf.write_text("version: 1\nteams:\n  - {slug: remote, name: Remote}\n")
    out = CliRunner().invoke(cli, ["apply", str(conf), "--url", "http://proxy.test", "--token", "t"])
    assert out.exit_code == 1 and isinstance(out.exception, SystemExit)
    assert "http://proxy.test answered POST /api/v1/config/apply with something that is not tocsin's answer" in \
        out.output
