"""`tocsin agent` refuses to send its key in clear text over a network (tests/e2e/test_check_agents.py runs it)."""

from __future__ import annotations

from typer.testing import CliRunner

from tocsin.cli.main import app as cli


def test_the_agent_needs_https_except_on_loopback() -> None:
    r = CliRunner().invoke(cli, ["agent", "--url", "http://tocsin.example", "--key", "tca_" + "0" * 32],
                           env={"COLUMNS": "200"})
    assert r.exit_code == 2
    assert "must be https://" in r.output
