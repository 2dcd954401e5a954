"""`tocsin postmortem start` and `tocsin postmortem export`.

Most cases run the command in process with its HTTP calls sent to the TestClient; one runs the
real command against a real `tocsin serve` to show the whole path works end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.cli import cli_env, last_line, ok, run

INC = "/api/v1/incidents"


@pytest.fixture
def tocsin(cli_in_process):
    """tocsin(*args, token=...): `tocsin postmortem ...` run in process (tests/cli/conftest.py)."""
    return lambda *args, token: cli_in_process("postmortem", *args, token=token)


@pytest.fixture
def bob(make_person):
    return make_person("responder", name="Bob")


def resolved_incident(client, who, **body) -> str:
    r = client.post(INC, json={"title": "Checkout errors", "severity": "SEV2", **body}, headers=who.headers)
    assert r.status_code == 201, r.text
    ref = r.json()["ref"]
    assert client.patch(f"{INC}/{ref}", json={"status": "resolved"}, headers=who.headers).status_code == 200
    return ref


def test_start_then_export_markdown_html_and_public(tocsin, client, bob, tmp_path):
    ref = resolved_incident(client, bob, summary="Payments failed.")
    result = tocsin("start", ref, "--title", "Checkout review", token=bob.token)
    assert result.exit_code == 0, result.output
    assert f"for {ref} (draft, revision 1)" in result.output
    assert client.get(f"{INC}/{ref}", headers=bob.headers).json()["status"] == "postmortem"

    result = tocsin("export", ref, token=bob.token)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Checkout review\n") and "## Root causes" in result.output
    assert "Payments failed." in result.output

    out = tmp_path / "pm.html"
    result = tocsin("export", ref.lower(), "--format", "html", "--output", str(out), token=bob.token)
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert html.startswith("<!doctype html>") and "<h2>Root causes</h2>" in html

    result = tocsin("export", ref, "--public", token=bob.token)
    assert result.exit_code == 1 and "no public text yet" in result.output
    pm = client.get(f"{INC}/{ref}/postmortem", headers=bob.headers).json()
    client.patch(f"/api/v1/postmortems/{pm['id']}", json={"public_text": "Some payments failed."},
                 headers=bob.headers)
    result = tocsin("export", ref, "--public", token=bob.token)
    assert result.exit_code == 0 and "Some payments failed." in result.output and "Root causes" not in result.output


@pytest.mark.parametrize("args,message", [
    (["start", "INC-99"], "no incident INC-99 (404 not_found)"),
    (["export", "INC-1"], "has no postmortem yet (404 not_found)"),
    (["start", "INC-1", "--template", "not-a-uuid"], "422"),
    (["export", "INC-1", "--format", "pdf"], "'pdf' is not one of"),
])
def test_errors_are_one_clear_line(tocsin, client, bob, args, message):
    resolved_incident(client, bob)
    result = tocsin(*args, token=bob.token)
    assert result.exit_code != 0
    assert message in " ".join(result.output.split()), result.output
    assert client.get(f"{INC}/INC-1", headers=bob.headers).json()["status"] == "resolved"


def test_without_a_token(tocsin):
    result = tocsin("export", "INC-1", token=None)
    assert result.exit_code == 1 and "no API token" in result.output


@pytest.mark.slow
def test_export_against_a_real_server(db_url: str, tmp_path: Path, serve) -> None:
    admin_env = cli_env(tmp_path, db_url)
    server = serve(admin_env)
    token = last_line(ok(run(admin_env, "user", "create", "--email", "ic@example.test", "--name", "Ivy",
                             "--role", "responder", "--token")))
    server.wait_ready()
    with server.client(token) as http:
        ref = http.post(INC, json={"title": "Search down", "severity": "SEV1"}).json()["ref"]
        assert http.patch(f"{INC}/{ref}", json={"status": "resolved"}).status_code == 200
    env = cli_env(tmp_path, TOCSIN_URL=server.url, TOCSIN_TOKEN=token)
    ok(run(env, "postmortem", "start", ref))
    out = tmp_path / "search.md"
    ok(run(env, "postmortem", "export", ref, "--output", str(out)))
    text = out.read_text()
    assert text.startswith("# Postmortem: Search down") and "**Severity:** SEV1" in text
