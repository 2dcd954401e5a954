"""`tocsin import grafana-oncall` and `tocsin import pagerduty` end to end: the importer reads a stand-in
speaking the source's documented API over HTTP (through the egress guard), applies the plan into the
test's database (SQLite and PostgreSQL), and who is on call in tocsin agrees with the source's own final
schedule at all 50 sample instants over a month that crosses a DST change. Re-running changes nothing
and duplicates nothing; a dry run writes nothing; a bad token fails clearly without the remote's body.
The PagerDuty stand-in is also read with PagerDuty's own client library, to show it speaks the real format.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.harness.webhook import self_signed_cert, server_tls
from tests.interop.oncall_standin import OnCallStandIn
from tests.interop.pagerduty_standin import PagerDutyStandIn
from tocsin.cli.main import app as cli
from tocsin.db import Database
from tocsin.errors import ProviderError
from tocsin.escalation.models import EscalationPolicy
from tocsin.importers import grafana_oncall, pagerduty
from tocsin.importers.common import ImportPlan, TimelineEntry
from tocsin.importers.finish import finish_import
from tocsin.importers.remote import open_client
from tocsin.integrations.models import Integration
from tocsin.oncall.models import Schedule, ScheduleLayer, ScheduleOverride
from tocsin.services.models import Service
from tocsin.users.models import User

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    # PagerDuty's own Python client for REST API v2 (pdpyras; its successor `pagerduty` pulls in httpx2,
    # which authlib then prefers over httpx, breaking tocsin's single sign-on in the same environment)
    import pdpyras

OC_NOW = datetime(2027, 3, 15, 12, 0, tzinfo=UTC)   # the month ahead crosses Europe's DST change (28 March)
PD_NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)    # ... and the US's (14 March)
ALLOW_LOOPBACK = SimpleNamespace(outbound_allow="127.0.0.1/32")  # the stand-ins listen on 127.0.0.1
MODELS = (User, Schedule, ScheduleLayer, ScheduleOverride, EscalationPolicy, Service, Integration)


def counts(db: Database) -> dict[str, int]:
    with db.unit_of_work() as s:
        return {m.__tablename__: s.execute(sa.select(sa.func.count()).select_from(m)).scalar_one() for m in MODELS}


Read = tuple[ImportPlan, Mapping[str, list[TimelineEntry]]]


def read(source: str, url: str, token: str, now: datetime) -> Read:
    with open_client(ALLOW_LOOPBACK) as client:
        if source == "grafana-oncall":
            _, plan, timelines = grafana_oncall.read(client, url, token, now=now)
        else:
            _, plan, timelines = pagerduty.read(client, url, token, now=now)
        return plan, timelines


def run(db: Database, source: str, got: Read, now: datetime, *, dry_run: bool = False) -> list[str]:
    plan, timelines = got
    report = finish_import(db, plan, timelines, source=source, now=now, dry_run=dry_run,
                           public_url="https://tocsin.example.com")
    assert report.ok, "\n".join(report.lines)
    return report.lines


def test_grafana_oncall_import_agrees_with_oncall_and_reruns_without_duplicates(db: Database) -> None:
    with OnCallStandIn(now=OC_NOW) as oncall:
        before = counts(db)
        got = read("grafana-oncall", oncall.url, oncall.token, OC_NOW)
        dry = run(db, "grafana-oncall", got, OC_NOW, dry_run=True)
        assert "  + schedule payments-primary-2" in dry and counts(db) == before  # a dry run writes nothing
        first = run(db, "grafana-oncall", got, OC_NOW)
        after = counts(db)
        again = run(db, "grafana-oncall", read("grafana-oncall", oncall.url, oncall.token, OC_NOW), OC_NOW)
        # every list was paged (3 a page in the stand-in) and sent the key as OnCall expects
        assert any(p == "/api/v1/users/" and q.get("page") == ["3"] for p, q, _ in oncall.requests)
        assert all(h.get("Authorization") == oncall.token for _, _, h in oncall.requests)
    agree = "on-call agrees at 50/50 instants over the next 30 days (1 schedules)"
    assert agree in first and agree in again
    assert after["users"] == before["users"] + 7 and after["schedules"] == 2 and after["services"] == 3
    assert after["schedule_overrides"] == 1
    endpoints = [line for line in first if "https://tocsin.example.com/integrations/" in line]
    assert [e.split(" (")[0].strip() for e in endpoints] == ["prometheus / alertmanager", "grafana-alerts / grafana",
                                                             "uptime-checks / generic"]
    assert "  - route Prometheus / severity=warning: routes that send matching alerts to another escalation " \
           "chain become tocsin routing rules; add one per route" in first
    # the second run updates nothing, creates nothing and shows no new keys
    assert again[:2] == ["grafana-oncall import (applied):", "  no changes"] and counts(db) == after
    assert not any("/integrations/" in line for line in again)


def test_pagerduty_import_agrees_with_pagerduty_and_reruns_without_duplicates(db: Database) -> None:
    # the stand-in lists layers highest-first, as PagerDuty's GET long did: the import still gets the order right
    with PagerDutyStandIn(now=PD_NOW, highest_first=True) as pd:
        before = counts(db)
        got = read("pagerduty", pd.url, pd.token, PD_NOW)
        dry = run(db, "pagerduty", got, PD_NOW, dry_run=True)
        assert "  + maintenance_window checkout-api/Database upgrade" in dry and counts(db) == before
        first = run(db, "pagerduty", got, PD_NOW)
        after = counts(db)
        again = run(db, "pagerduty", read("pagerduty", pd.url, pd.token, PD_NOW), PD_NOW)
        assert any(p == "/users" and q.get("offset") == ["4"] for p, q, _ in pd.requests)  # offset paging
        assert all(h.get("Authorization") == f"Token token={pd.token}"
                   and h.get("Accept") == "application/vnd.pagerduty+json;version=2" for _, _, h in pd.requests)
    agree = "on-call agrees at 50/50 instants over the next 30 days (1 schedules)"
    assert agree in first and agree in again
    keys = [line for line in first if ": https://tocsin.example.com/v2/enqueue  key " in line]
    assert [k.split(" (")[0].strip() for k in keys] == ["checkout-api / Prometheus", "checkout-api / Datadog"]
    assert any("with the key above as routing_key" in line for line in first)
    assert after["integrations"] == before["integrations"] + 2 and after["schedule_layers"] == 2
    assert again[:2] == ["pagerduty import (applied):", "  no changes"] and counts(db) == after
    # renamed and re-staffed in PagerDuty: the next run updates the same objects (found by source id)
    with PagerDutyStandIn(now=PD_NOW) as pd:
        pd.data["schedules"][0]["name"] = "Platform on-call"
        pd.data["schedules"][0]["schedule_layers"][0]["users"].pop()
        changed = run(db, "pagerduty", read("pagerduty", pd.url, pd.token, PD_NOW), PD_NOW)
    assert "on-call agrees at 50/50 instants over the next 30 days (1 schedules)" in changed
    assert counts(db) == after and not any(line.startswith("  + ") for line in changed), changed
    assert any(line.startswith("  ~ schedule platform-on-call") for line in changed), changed


def test_a_bad_token_fails_clearly_without_the_remotes_body() -> None:
    with OnCallStandIn(now=OC_NOW) as oncall, PagerDutyStandIn(now=PD_NOW) as pd, \
            open_client(ALLOW_LOOPBACK) as client:
        with pytest.raises(ProviderError) as oc_error:
            grafana_oncall.fetch(client, oncall.url, "wrong")
        with pytest.raises(ProviderError) as pd_error:
            pagerduty.fetch(client, pd.url, "wrong", now=PD_NOW)
    assert oc_error.value.message == ("Grafana OnCall refused the token (HTTP 401 for /api/v1/users/): check --token "
                                      "and its permissions")
    assert pd_error.value.message.startswith("PagerDuty refused the token (HTTP 401 for /users)")
    assert "secret" not in oc_error.value.message + pd_error.value.message


def test_the_source_url_passes_the_egress_guard() -> None:
    with OnCallStandIn(now=OC_NOW) as oncall, open_client(SimpleNamespace(outbound_allow="")) as client:
        with pytest.raises(ProviderError) as error:
            grafana_oncall.fetch(client, oncall.url, oncall.token)
        assert "egress policy refuses 127.0.0.1" in error.value.message and "TOCSIN_OUTBOUND_ALLOW" in error.value.message
        assert oncall.requests == []  # refused before connecting


def test_pagerduty_client_library_reads_the_stand_in(tmp_path: Path) -> None:
    # the stand-in serves TLS with a self-signed certificate the client trusts, as PagerDuty serves https
    cert, key = self_signed_cert(tmp_path, days=1)

    def session(token: str, url: str) -> pdpyras.APISession:
        s = pdpyras.APISession(token)
        s.url, s.verify, s.trust_env = url, str(cert), False
        return s

    with PagerDutyStandIn(now=PD_NOW, tls=server_tls(cert, key)) as pd:
        client = session(pd.token, pd.url)
        assert [u["email"] for u in client.iter_all("users")] == [
            f"{n}@example.com" for n in ("alice", "bob", "carol", "dave", "erin")]
        [service] = client.list_all("services", params={"include[]": ["integrations"]})
        assert [i["integration_key"] for i in service["integrations"] if "integration_key" in i][0] == \
            "a1b2c3d4e5f60718293a4b5c6d7e8f90"
        schedule = client.rget("/schedules/PSCHED1", params={"since": "2027-03-01T00:00:00Z",
                                                              "until": "2027-03-08T00:00:00Z"})
        entries = schedule["final_schedule"]["rendered_schedule_entries"]
        assert entries[0]["start"] == "2027-03-01T00:00:00Z" and entries[-1]["end"] == "2027-03-08T00:00:00Z"
        assert {e["user"]["id"] for e in entries} >= {"PALICE", "PDAVE", "PERIN"} - {"PALICE"}
        assert client.rget("/schedules/PSCHED1/overrides", params={"since": "2027-03-01T00:00:00Z",
                                                                    "until": "2027-04-01T00:00:00Z"})[0]["user"]["id"] \
            == "PERIN"
        with pytest.raises(pdpyras.PDClientError):
            session("wrong", pd.url).rget("/users")


@pytest.mark.slow
def test_cli_import_grafana_oncall_prints_the_comparison(tmp_path: Path) -> None:
    """The command as a person runs it (on its own SQLite file; the import itself runs on both backends above)."""
    now = datetime.now(UTC)
    env = {"TOCSIN_DATA_DIR": str(tmp_path), "TOCSIN_OUTBOUND_ALLOW": "127.0.0.1/32",
           "TOCSIN_PUBLIC_URL": "https://tocsin.example.com", "COLUMNS": "200"}
    assert CliRunner().invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    with OnCallStandIn(now=now) as oncall:
        result = CliRunner().invoke(cli, ["import", "grafana-oncall", "--token", oncall.token, "--url", oncall.url],
                                    env=env)
        bad = CliRunner().invoke(cli, ["import", "grafana-oncall", "--token", "nope", "--url", oncall.url], env=env)
    assert result.exit_code == 0, result.output
    assert "on-call agrees at 50/50 instants" in result.output
    assert "https://tocsin.example.com/integrations/grafana/" in result.output
    # main() prints a TocsinError as one "error: ..." line; the runner hands it back as the exception
    assert bad.exit_code != 0 and isinstance(bad.exception, ProviderError)
    assert bad.exception.message.startswith("Grafana OnCall refused the token (HTTP 401")
