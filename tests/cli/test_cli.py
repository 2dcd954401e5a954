"""End-to-end tests of the real `tocsin` command, run as subprocesses.

Operator commands (`user`, `token`, `audit`, `demo`, `serve`) get the database from
TOCSIN_DATABASE_URL / TOCSIN_DATA_DIR; client commands (`incident ...`) talk to a real
`tocsin serve` process on a free loopback port through TOCSIN_URL / TOCSIN_TOKEN.

Every CLI start costs about a second (imports), so each test groups several steps and
runs independent commands concurrently where the order does not matter. The helpers (`cli_env`,
`run`, `ok`, `fails`, ...) and the `serve` fixture are the harness's (tests/harness/cli.py, plugin.py).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.harness.backends import BACKENDS, PG_ADMIN_URL, pg_conninfo
from tests.harness.cli import cli_env, fails, last_line, ok, run, run_parallel
from tests.harness.ports import free_port
from tocsin.audit.models import AuditEntry
from tocsin.evidence.models import CustodyEntry, EvidenceItem
from tocsin.incidents.models import Incident
from tocsin.legal.models import LegalDraft
from tocsin.obligations.models import Obligation

pytestmark = pytest.mark.slow


# --- helpers -----------------------------------------------------------------------------------

def parse_time(value: str) -> datetime:
    when = datetime.fromisoformat(value)
    assert when.tzinfo is not None, value
    return when


# --- 1, 2 and 5: the acceptance scenario, errors, and revoking a token -------------------------

def test_incident_lifecycle_from_the_command_line(db_url: str, tmp_path: Path, serve) -> None:
    admin_env = cli_env(tmp_path, db_url)
    server = serve(admin_env)  # starts while the users are created
    me, other = run_parallel(
        (admin_env, ["user", "create", "--email", "first.responder@example.test", "--name", "First Responder",
                     "--role", "responder", "--token"]),
        (admin_env, ["user", "create", "--email", "other.commander@example.test", "--name", "Other Commander",
                     "--role", "responder"]),
    )
    token = last_line(ok(me))
    assert token.startswith("tcs_"), me.stdout
    ok(other)
    server.wait_ready()
    env = cli_env(tmp_path, TOCSIN_URL=server.url, TOCSIN_TOKEN=token)

    declared, other_token = run_parallel(
        (env, ["incident", "declare", "Checkout errors", "--sev", "SEV2"]),
        (admin_env, ["token", "create", "--user", "other.commander@example.test", "--name", "laptop"]),
    )
    assert "INC-1" in ok(declared).stdout and "SEV2" in declared.stdout
    role = ok(run(env, "incident", "role", "INC-1", "incident_commander", "other.commander@example.test"))
    assert "Other Commander" in role.stdout
    assert "mitigated" in ok(run(env, "incident", "status", "INC-1", "mitigated")).stdout
    fails(run(env, "incident", "status", "INC-1", "closed"), "mitigated", "closed", "409")
    ok(run(env, "incident", "note", "INC-1", "Rolled back the deploy"))

    # Reads, and the other errors: each a single line on stderr, non-zero exit, no traceback.
    no_token = {k: v for k, v in env.items() if k != "TOCSIN_TOKEN"}
    nowhere = dict(env, TOCSIN_URL=f"http://127.0.0.1:{free_port()}")
    timeline_r, show_r, list_r, unknown, tokenless, unreachable = run_parallel(
        (env, ["incident", "timeline", "INC-1", "--json"]),
        (env, ["incident", "show", "INC-1", "--json"]),
        (env, ["incident", "list", "--json"]),
        (env, ["incident", "show", "INC-99"]),
        (no_token, ["incident", "list"]),
        (nowhere, ["incident", "list"]),
    )
    fails(unknown, "INC-99", "404")
    fails(tokenless, "TOCSIN_TOKEN")
    fails(unreachable, "cannot reach", nowhere["TOCSIN_URL"])

    inc = json.loads(ok(show_r).stdout)
    assert inc["ref"] == "INC-1"
    assert inc["title"] == "Checkout errors"
    assert inc["severity"] == "SEV2"
    assert inc["status"] == "mitigated"  # the refused move to closed changed nothing
    assert inc["mitigated_at"] is not None
    assert parse_time(inc["mitigated_at"]) >= parse_time(inc["declared_at"])
    commanders = [r["user"] for r in inc["roles"] if r["role"] == "incident_commander"]
    assert [c["email"] for c in commanders] == ["other.commander@example.test"]
    assert inc["declared_by"]["email"] == "first.responder@example.test"

    entries = json.loads(ok(timeline_r).stdout)
    for e in entries:
        parse_time(e["occurred_at"])
        parse_time(e["recorded_at"])
    times = [parse_time(e["occurred_at"]) for e in entries]
    assert times == sorted(times), "timeline is not in the order things happened"

    def index(predicate: Callable[[dict[str, Any]], bool], what: str) -> int:
        found = [i for i, e in enumerate(entries) if predicate(e)]
        assert found, f"no {what} entry in timeline: {[e['kind'] for e in entries]}"
        return found[0]

    i_declared = index(lambda e: e["kind"] == "declared", "declared")
    assert "Checkout errors" in entries[i_declared]["text"]
    i_role = index(lambda e: e["kind"] == "role_assigned" and e["data"].get("role") == "incident_commander"
                   and e["data"].get("user_id") == commanders[0]["id"], "IC handover")
    assert "Other Commander" in entries[i_role]["text"]
    i_status = index(lambda e: e["kind"] == "status_changed" and e["data"].get("to") == "mitigated",
                     "status change")
    i_note = index(lambda e: e["kind"] == "note" and e["text"] == "Rolled back the deploy", "note")
    assert i_declared < i_role < i_status < i_note
    assert entries[i_note]["actor"]["email"] == "first.responder@example.test"
    assert not [e for e in entries if e["kind"] == "status_changed" and e["data"].get("to") == "closed"]

    listed = json.loads(ok(list_r).stdout)
    assert [(i["ref"], i["status"], i["severity"]) for i in listed] == [("INC-1", "mitigated", "SEV2")]

    # Revoke my token: the API answers 401, so the CLI fails; the other user's token still works.
    with server.client(token) as api:
        mine = api.get("/api/v1/tokens")
    assert mine.status_code == 200, mine.text
    [my_token] = mine.json()["items"]
    ok(run(admin_env, "token", "revoke", my_token["id"]))
    fails(run(env, "incident", "list"), "401")
    with server.client(token) as api:
        assert api.get("/api/v1/tokens").status_code == 401

    # The id is printed on one line (no wrapping at 80 columns), for `tocsin token revoke`.
    printed_id = re.search(r"^token ([0-9a-f-]{36}) for other\.commander@example\.test \(shown once\):$",
                           ok(other_token).stdout, re.MULTILINE)
    assert printed_id, other_token.stdout
    with server.client(last_line(other_token)) as api:
        theirs = api.get("/api/v1/tokens")
        assert theirs.status_code == 200, theirs.text
        assert [t["id"] for t in theirs.json()["items"]] == [printed_id.group(1)]
        assert [i["ref"] for i in api.get("/api/v1/incidents").json()["items"]] == ["INC-1"]


# --- 3: serve refuses an un-migrated database ------------------------------------------------

@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "fresh" / "tocsin.db"
        path.parent.mkdir()
        yield f"sqlite:///{path}"
        return
    name = f"tocsin_cli_empty_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(pg_conninfo(PG_ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(pg_conninfo(PG_ADMIN_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_serve_needs_a_migrated_database(empty_db_url: str, tmp_path: Path, serve) -> None:
    env = cli_env(tmp_path, empty_db_url)
    started = time.monotonic()
    refused = run(env, "serve", "--host", "127.0.0.1", "--port", str(free_port()))
    # it refuses at once instead of waiting for a migration (the bound only tells "at once" from "hangs":
    # starting Python and importing tocsin alone took 23 s on a machine at load average 10)
    assert time.monotonic() - started < 60
    fails(refused, "tocsin db upgrade")

    server = serve(env, "--migrate").wait_ready()
    assert httpx.get(f"{server.url}/readyz", timeout=5, trust_env=False).json() == {"status": "ready"}


# --- 6 and 4: demo data, then the audit chain it wrote --------------------------------------

def test_demo_then_audit_verify_detects_edits_and_deletions(db_url: str, tmp_path: Path, serve) -> None:
    env = cli_env(tmp_path, db_url)
    server = serve(env)
    first = ok(run(env, "demo"))
    creds = re.findall(r"^(\S+@\S+)\t(\w+)\tpassword=(\S+)\ttoken=(\S+)$", first.stdout, re.MULTILINE)
    assert len(creds) >= 2, first.stdout
    assert all(token.startswith("tcs_") for *_rest, token in creds)
    saved = tmp_path / "data" / "demo-credentials.txt"
    assert saved.stat().st_mode & 0o777 == 0o600
    assert all(token in saved.read_text() for *_rest, token in creds)
    # The hints name what exists: the file where the credentials are, and a command that runs from here
    # (`.venv/bin/tocsin` when `tocsin` is not on PATH, as after `make run`).
    assert f"also saved to {saved.resolve()}" in first.stdout.replace("\n", ""), first.stdout
    hint = re.search(r"^Try: TOCSIN_TOKEN=\S+ (\S+) incident list$", first.stdout, re.MULTILINE)
    assert hint, first.stdout
    command = hint.group(1)
    assert shutil.which(command, path=env.get("PATH")) or Path(command).exists(), f"{command!r} cannot be run"

    server.wait_ready()
    responder = next(token for _email, role, _pw, token in creds if role == "responder")
    client_env = cli_env(tmp_path, TOCSIN_URL=server.url, TOCSIN_TOKEN=responder)
    again, listed, intact = run_parallel(
        (env, ["demo"]),
        (client_env, ["incident", "list", "--json"]),
        (env, ["audit", "verify"]),
    )
    assert "already" in ok(again).stdout
    assert "token=" not in again.stdout
    titles = [i["title"] for i in json.loads(ok(listed).stdout)]
    assert "Elevated checkout latency" in titles
    assert "Leaked deploy key" not in titles  # INC-3 is restricted: Bob is outside its circle

    # The audit chain: intact, then an edited action and edited details, then a deleted last entry.
    # One line even at 80 columns, so the head hash can be copied and compared later.
    summary = re.fullmatch(r"audit log intact: (\d+) entries; head hash ([0-9a-f]{64})\n", ok(intact).stdout)
    assert summary, intact.stdout
    entries = int(summary.group(1))
    assert entries >= 3

    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            # the security incident a security team would open the demo for (README: INC-3)
            breach = conn.execute(sa.select(Incident.id, Incident.kind, Incident.restricted)
                                  .where(Incident.number == 3)).one()
            assert (breach.kind, breach.restricted) == ("security", True)
            assert conn.execute(sa.select(LegalDraft.state).where(LegalDraft.incident_id == breach.id)
                                ).scalars().all() == ["pending"]
            assert conn.execute(sa.select(CustodyEntry.action).join(EvidenceItem, EvidenceItem.id == CustodyEntry.item_id)
                                .where(EvidenceItem.incident_id == breach.id).order_by(CustodyEntry.seq)
                                ).scalars().all() == ["collected", "transferred"]
            assert conn.execute(sa.select(Obligation.due_at).where(Obligation.incident_id == breach.id,
                                                                   Obligation.obligation == "art33")).scalar_one()
            rows = {r.seq: r for r in conn.execute(sa.select(AuditEntry.seq, AuditEntry.action, AuditEntry.details))}
            assert sorted(rows) == list(range(1, entries + 1))
            conn.execute(sa.update(AuditEntry).where(AuditEntry.seq == 1)
                         .values(details={**rows[1].details, "tampered": True}))
            conn.execute(sa.update(AuditEntry).where(AuditEntry.seq == 3).values(action="tampered.action"))

        edited = run(env, "audit", "verify")
        assert edited.returncode == 1, edited.stdout + edited.stderr
        assert "Traceback" not in edited.stderr
        problems = [line for line in edited.stdout.splitlines() if line.strip()]
        assert any(line.startswith("TAMPERED entry 1:") for line in problems), edited.stdout
        assert any(line.startswith("TAMPERED entry 3:") for line in problems), edited.stdout
        assert not any("entry 2:" in line for line in problems), edited.stdout

        with engine.begin() as conn:  # undo the edits, then delete the newest entry
            conn.execute(sa.update(AuditEntry).where(AuditEntry.seq == 1).values(details=rows[1].details))
            conn.execute(sa.update(AuditEntry).where(AuditEntry.seq == 3).values(action=rows[3].action))
            conn.execute(sa.delete(AuditEntry).where(AuditEntry.seq == entries))

        truncated = run(env, "audit", "verify", "--json")
        assert truncated.returncode == 1, truncated.stdout + truncated.stderr
        assert "Traceback" not in truncated.stderr
        after = json.loads(truncated.stdout)
        assert after["ok"] is False
        assert after["entries"] == entries - 1
        assert after["problems"] == [f"entries {entries}..{entries} are missing (deleted from the end)"]
    finally:
        engine.dispose()


def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path: Path) -> None:
    env = cli_env(tmp_path, f"sqlite:///{tmp_path / 'busy.db'}")
    ok(run(env, "db", "upgrade"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        port = taken.getsockname()[1]
        result = run({**env, "TOCSIN_HOST": "127.0.0.1"}, "serve", "--port", str(port))
    assert result.returncode == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {port} on 127.0.0.1 is in use" in lines[0], result.stderr
