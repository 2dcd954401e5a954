"""`tocsin audit anchor` and `tocsin audit verify --since-anchor` (issue 14, item 9), as an operator runs them.

The chain logic is the same on both backends (tests/security/test_audit_chain.py runs it on each); these
CLI runs, a second each, run on SQLite only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.harness.cli import cli_env, fails, ok, run, run_parallel
from tocsin.audit.models import AuditEntry
from tocsin.db.counters import Counter

pytestmark = [pytest.mark.slow,  # starts tocsin processes
              pytest.mark.parametrize("db_url", ["sqlite"], indirect=True, ids=["sqlite"])]


def test_an_anchor_file_catches_a_log_cut_back_with_its_counter(db_url: str, tmp_path: Path) -> None:
    env = cli_env(tmp_path, db_url)
    ok(run(env, "user", "create", "--email", "u@example.test", "--name", "U", "--token"))  # entries 1 and 2
    anchors = tmp_path / "anchors.jsonl"
    printed = json.loads(ok(run(env, "audit", "anchor", "--file", str(anchors))).stdout.splitlines()[0])
    assert printed["seq"] == 2 and len(printed["hash"]) == 64
    assert json.loads(anchors.read_text().splitlines()[-1]) == printed
    assert anchors.stat().st_mode & 0o777 == 0o600

    intact, _ = run_parallel((env, ["audit", "verify", "--since-anchor", str(anchors)]),
                             (env, ["user", "create", "--email", "v@example.test", "--name", "V"]))
    assert "audit log intact" in ok(intact).stdout

    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:  # drop the newest two entries and lower the counter: consistent
            conn.execute(sa.delete(AuditEntry).where(AuditEntry.seq > 1))
            conn.execute(sa.update(Counter).where(Counter.name == "audit").values(value=1))
    finally:
        engine.dispose()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not an anchor\n")
    plain, cut, unreadable = run_parallel((env, ["audit", "verify"]),
                                          (env, ["audit", "verify", "--since-anchor", str(anchors), "--json"]),
                                          (env, ["audit", "verify", "--since-anchor", str(bad)]))
    assert "audit log intact" in ok(plain).stdout, "only an anchor can tell"
    assert cut.returncode == 1, cut.stdout + cut.stderr
    assert json.loads(cut.stdout)["problems"] == ["the anchored entry 2 is missing (the log was cut back to 1)"]
    fails(unreadable, "not an audit anchor")


def test_an_anchor_goes_to_a_webhook_through_the_outbound_guard(db_url: str, tmp_path: Path, receiver) -> None:
    env = cli_env(tmp_path, db_url)
    ok(run(env, "user", "create", "--email", "u@example.test", "--name", "U"))
    ok(run(env, "audit", "anchor", "--webhook", receiver.url()))
    (post,) = receiver.posts
    assert post.headers["Content-Type"] == "application/json"
    assert json.loads(post.body)["seq"] == 1

    receiver.status, receiver.reply_body = 500, b"internal detail of the anchor service"
    refused, blocked = run_parallel((env, ["audit", "anchor", "--webhook", receiver.url()]),
                                    (env, ["audit", "anchor", "--webhook", "http://169.254.169.254/latest/"]))
    fails(refused, "HTTP 500")
    assert "internal detail" not in refused.stdout + refused.stderr, "the remote's answer is never echoed"
    fails(blocked, "not called")
    assert len(receiver.posts) == 2
