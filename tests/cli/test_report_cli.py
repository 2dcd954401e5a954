"""`tocsin report` against the app in process: the command's HTTP calls go to the TestClient,
so each format is checked against what the API holds without starting a server."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx
import pytest


@pytest.fixture
def tocsin(cli_in_process):
    """tocsin(*args, token=...): `tocsin report ...` run in process (tests/cli/conftest.py)."""
    return lambda *args, token: cli_in_process("report", *args, token=token)


@pytest.fixture
def incidents(client, clock, make_person, make_team, make_service):
    """Two resolved incidents on checkout (payments) a week apart; returns a viewer's token."""
    make_team("payments")
    make_service("checkout", owner_team="payments")
    bob = make_person("responder", teams=["payments"], name="Bob")
    for severity, minutes in (("SEV2", 30), ("SEV3", 90)):
        r = client.post("/api/v1/incidents", json={"title": "Checkout errors", "severity": severity,
                                                   "services": ["checkout"]}, headers=bob.headers)
        assert r.status_code == 201, r.text
        clock.advance(minutes=minutes)
        r = client.patch(f"/api/v1/incidents/{r.json()['ref']}", json={"status": "resolved"}, headers=bob.headers)
        assert r.status_code == 200, r.text
        clock.advance(days=7)
    return make_person("viewer", name="Vera").token


def test_table_shows_the_summary_and_groups(tocsin, incidents):
    result = tocsin("--since", "30d", "--group-by", "severity", token=incidents)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "incidents" in out and "MTTR" in out
    assert "1h 00m median" in out  # MTTR: 30 min and 90 min -> median 60 min
    assert "By severity" in out and "SEV2" in out and "SEV3" in out
    assert "50% published (1 of 2)" not in out and "0% published (0 of 1)" in out  # the SEV2 needs one


def test_csv_has_one_row_for_the_period_then_one_per_group(tocsin, incidents):
    result = tocsin("--since", "30d", "--group-by", "severity", "--format", "csv", token=incidents)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["group"], r["incidents"], r["mttr_median_seconds"]) for r in rows] == [
        ("all", "2", "3600.0"), ("SEV2", "1", "1800.0"), ("SEV3", "1", "5400.0")]
    assert rows[0]["mttd_mean_seconds"] == ""  # no impact start recorded: empty, not 0


def test_json_is_what_the_api_answers(tocsin, incidents, client):
    result = tocsin("--since", "30d", "--format", "json", token=incidents)
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    api = client.get("/api/v1/reports/incidents", params={"since": "30d"},
                     headers={"Authorization": f"Bearer {incidents}"}).json()
    assert got == api and got["overall"]["incidents"] == 2


@pytest.mark.parametrize("fmt, extra, magic", [
    ("svg", ["--metric", "mttr"], b"<svg"),
    ("png", ["--metric", "count", "--by", "month"], b"\x89PNG\r\n\x1a\n"),
    ("html", ["--group-by", "team"], b"<!doctype html>"),
])
def test_files_for_charts_and_the_page(tocsin, incidents, tmp_path: Path, fmt, extra, magic):
    target = tmp_path / f"report.{fmt}"
    result = tocsin("--since", "30d", "--format", fmt, "--output", str(target), *extra, token=incidents)
    assert result.exit_code == 0, result.output
    assert f"wrote {target}" in result.output.replace("\n", "")  # rich wraps a long tmp path at 80 columns
    assert magic in target.read_bytes()[:600]


@pytest.mark.parametrize("args, message", [
    (["--since", "ninety"], "since must be a duration"),
    (["--group-by", "planet"], "group_by"),
    (["--team", "nope"], "nope"),
    (["--format", "svg", "--metric", "happiness"], "422"),
])
def test_bad_options_fail_with_the_servers_message(tocsin, incidents, args, message):
    result = tocsin(*args, token=incidents)
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_no_token_is_refused_before_any_request(tocsin, monkeypatch):
    monkeypatch.setattr(httpx, "request", lambda *a, **k: pytest.fail("no request without a token"))
    result = tocsin("--since", "30d", token=None)
    assert result.exit_code == 1 and "no API token" in result.output

