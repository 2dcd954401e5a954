"""The in-process CLI: a `tocsin` command run by Typer's runner with its HTTP calls sent to the
TestClient of the test's app, for client commands whose server side is tested elsewhere."""

from __future__ import annotations

import httpx
import pytest
from typer.testing import CliRunner

from tocsin.cli import out
from tocsin.cli.main import app as cli

BASE = "http://tocsin.test"


@pytest.fixture
def cli_in_process(client, monkeypatch):
    """cli_in_process(*args, token=...) -> click Result, with TOCSIN_URL pointing at the in-process app."""
    def request(method, url, *, headers=None, timeout=None, **kwargs):
        assert url.startswith(BASE), url
        return client.request(method, url[len(BASE):], headers=headers, **kwargs)

    monkeypatch.setattr(httpx, "request", request)
    # rich reads COLUMNS once, when a console is made (once per process for the real command); here one
    # process runs many commands, so give the shared consoles the width each run asks for
    for console in (out.console, out.err_console):
        monkeypatch.setattr(console, "width", 200)
    runner = CliRunner()

    def invoke(*args: str, token: str | None):
        env = {"TOCSIN_URL": BASE, "COLUMNS": "200"}
        if token:
            env["TOCSIN_TOKEN"] = token
        return runner.invoke(cli, list(args), env=env)

    return invoke
