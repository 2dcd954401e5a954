"""`tocsin import opsgenie` end to end: the real command (in process, Typer's runner) reads the
Opsgenie stand-in (tests/harness/opsgenie.py) over HTTP through the egress guard, applies the plan
to the test's database (SQLite and PostgreSQL) and compares on-call with the stand-in's own
timeline at 50 instants over 30 days that include a daylight-saving change. The stand-in speaks
the wire format opsgenie-sdk reads (checked below with the SDK itself)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import opsgenie_sdk
import pytest
import sqlalchemy as sa
from click.testing import Result
from typer.testing import CliRunner

from tests.harness.backends import CHEAP_PASSWORD_HASHING, TEST_EGRESS, only
from tests.harness.opsgenie import OpsgenieStandin, Org, seed
from tocsin.cli import importer
from tocsin.cli.main import app
from tocsin.db import Database
from tocsin.integrations.models import Integration
from tocsin.oncall.models import Schedule, ScheduleOverride
from tocsin.teams.models import Team, TeamMember
from tocsin.users.models import User

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)  # Europe/Berlin springs forward on 2026-03-29
KEY = "og-standin-key"


@pytest.fixture
def standin() -> Iterator[OpsgenieStandin]:
    with OpsgenieStandin(seed(NOW), KEY) as server:
        yield server


@pytest.fixture
def run_import(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
               standin: OpsgenieStandin) -> Callable[..., Result]:
    monkeypatch.setattr(importer, "_now", lambda: NOW)

    def run(*args: str, token: str = KEY, egress: bool = True) -> Result:
        env = {"TOCSIN_DATABASE_URL": db_url, "TOCSIN_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200",
               "TOCSIN_OUTBOUND_ALLOW": TEST_EGRESS["TOCSIN_OUTBOUND_ALLOW"] if egress else "",
               **CHEAP_PASSWORD_HASHING}
        return CliRunner().invoke(app, ["import", "opsgenie", "--token", token, "--url", standin.url, *args], env=env)

    return run


def _count(db: Database, model: Any) -> int:
    with db.unit_of_work() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_import_agrees_on_call_reruns_without_duplicates_and_picks_up_changes(
        run_import: Callable[..., Result], db: Database, standin: OpsgenieStandin) -> None:
    first = run_import()
    assert first.exit_code == 0, first.output
    out = first.output
    assert "on-call agrees at 50/50 instants over the next 30 days (2 schedules)" in out
    for line in ("+ user alice@example.com", "+ team payments", "+ schedule payments-schedule-weekly",
                 "+ schedule payments-schedule-business-hours", "+ escalation_policy payments-escalation",
                 "+ service payments-api", "+ maintenance_window payments-api/DB upgrade"):
        assert line in out
    senders = [line for line in out.splitlines() if line.startswith("  payments-api / ")]
    assert senders and all(" key " in line and "http" in line for line in senders)
    # what could not be imported is said, with why
    for words in ("heartbeat nightly-backup", "notifyType next", "integration Platform Email",
                  "contact method dave@example.com"):
        assert words in out
    assert "invite them to add one: carol@example.com, dave@example.com" in out
    counts = [_count(db, m) for m in (User, Team, Schedule, Integration, ScheduleOverride)]
    assert counts[:3] == [4, 2, 4]

    again = run_import()
    assert again.exit_code == 0, again.output
    assert "  no changes" in again.output and "50/50" in again.output
    assert [_count(db, m) for m in (User, Team, Schedule, Integration, ScheduleOverride)] == counts

    if db.engine.dialect.name != "sqlite":
        return  # a third import on PostgreSQL adds run time and tests nothing apply's own tests do not
    # the source changes: a team is renamed and gains a member
    with standin.lock:
        org: Org = standin.org
        org.teams[0]["name"] = "Payments and billing"
        org.teams[0]["members"].append({"user": {"id": org.user("dave@example.com")["id"]}, "role": "user"})
    changed = run_import()
    assert changed.exit_code == 0, changed.output
    assert "~ team" in changed.output and "50/50" in changed.output
    with db.unit_of_work() as s:
        team = s.scalars(sa.select(Team)).all()
        renamed = next(t for t in team if t.name == "Payments and billing")
        members = s.scalars(sa.select(User.email).join(TeamMember, TeamMember.user_id == User.id)
                            .where(TeamMember.team_id == renamed.id)).all()
    assert "dave@example.com" in members
    assert _count(db, Team) == 2 and _count(db, User) == 4


@only("sqlite")
def test_dry_run_writes_nothing_and_the_report_file_has_no_keys(run_import: Callable[..., Result], db: Database,
                                                                 tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = run_import("--dry-run", "--report", str(report))
    assert result.exit_code == 0, result.output
    assert "dry run: nothing was written" in result.output and "+ schedule payments-schedule-weekly" in result.output
    assert _count(db, User) == 0 and _count(db, Schedule) == 0 and _count(db, Team) == 0
    body = json.loads(report.read_text())
    assert body["dry_run"] is True and body["on_call_check"] is None
    assert {"kind": "heartbeat", "name": "nightly-backup"}.items() <= body["not_imported"][-1].items()
    assert "key" not in json.dumps(body["senders"])


@only("sqlite")
def test_a_wrong_mapping_fails_the_check_and_the_command(run_import: Callable[..., Result],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from tocsin.importers import opsgenie as og
    monkeypatch.setattr(og, "restrictions", lambda tr: [])  # an importer that forgets time restrictions
    result = run_import()
    assert result.exit_code == 1, result.output
    assert "on-call agrees at " in result.output and "/50 instants" in result.output
    assert "  mismatch 2026-" in result.output and "Payments_schedule" in result.output


@only("sqlite")
def test_a_bad_token_or_a_refused_address_is_a_clear_error_without_the_remote_body(
        run_import: Callable[..., Result], db: Database) -> None:
    bad = run_import(token="not-the-key")
    assert bad.exit_code == 1
    text = bad.output + str(bad.exception or "")
    assert "refused the API key (HTTP 401" in text and "Could not authenticate" not in text
    guarded = run_import(egress=False)
    assert guarded.exit_code == 1 and "Opsgenie was not called" in guarded.output + str(guarded.exception or "")
    assert _count(db, User) == 0


def test_the_standin_speaks_what_opsgenie_sdk_reads(standin: OpsgenieStandin) -> None:
    """opsgenie-sdk 2.1.5 has the Account, Alert, Heartbeat and Incident APIs only (no schedules, users
    or teams): it checks the auth scheme, the envelope and the heartbeat list the import reads."""
    conf = opsgenie_sdk.configuration.Configuration()
    conf.host = standin.url
    conf.api_key["Authorization"] = KEY
    conf.api_key_prefix["Authorization"] = "GenieKey"
    conf.retry_count = 1
    client = opsgenie_sdk.api_client.ApiClient(configuration=conf)
    info = opsgenie_sdk.AccountApi(api_client=client).get_info()
    assert info.data.name == "acme" and info.data.user_count == 4 and info.request_id
    beats = opsgenie_sdk.HeartbeatApi(api_client=client).list_heart_beats()
    assert [b.name for b in beats.data.heartbeats] == ["nightly-backup"]
    assert beats.data.heartbeats[0].interval_unit == "days"
    conf.api_key["Authorization"] = "wrong"
    with pytest.raises(opsgenie_sdk.exceptions.AuthenticationException) as refused:
        opsgenie_sdk.AccountApi(api_client=opsgenie_sdk.api_client.ApiClient(configuration=conf)).get_info()
    assert refused.value.status == 401


def test_lists_are_read_page_by_page(standin: OpsgenieStandin) -> None:
    from tocsin.importers.opsgenie_api import OpsgenieClient, base_url
    from tocsin.net.guard import EgressPolicy

    with standin.lock:
        template = standin.org.users[0]
        standin.org.users += [{**template, "id": f"extra-{i}", "username": f"extra{i}@example.com"} for i in range(246)]
    with OpsgenieClient(KEY, standin.url, EgressPolicy.from_settings(TEST_EGRESS["TOCSIN_OUTBOUND_ALLOW"])) as client:
        users = client.paged("/v2/users")
    assert len(users) == 250 and len({u["id"] for u in users}) == 250
    assert [q["offset"] for p, q in standin.requests if p == "/v2/users"] == ["0", "100", "200"]
    assert base_url(None) == "https://api.opsgenie.com" and base_url("EU") == "https://api.eu.opsgenie.com"
