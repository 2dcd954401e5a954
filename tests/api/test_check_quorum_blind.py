"""A check run from several places that cannot reach its quorum says so: with its agents silent
it could not alert whatever happened to the service, so a warning alert names the silent locations,
and it resolves once enough of them report again (checks/blind.py)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tocsin.checks import blind
from tocsin.config import Settings
from tocsin.engine.runner import Engine

pytestmark = pytest.mark.both_backends

API = "/api/v1"
CHECK = {"service": "web", "name": "home", "kind": "http", "target": "https://example.test/", "timeout_seconds": 5,
         "interval_seconds": 60, "failures_to_alert": 1, "successes_to_resolve": 1}


def _tick(db: Any, clock: Any) -> None:
    Engine(db, clock, settings=Settings(secret_key="test-secret"),
           modules=[("check_quorum", blind.check_quorum)]).tick()


def _blind_alerts(db: Any) -> list[tuple[str, str, str]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT status, severity, summary FROM alerts WHERE dedup_key LIKE :pattern ORDER BY first_seen_at"),
            {"pattern": "check:1:%:blind"})]


def test_a_check_whose_agents_fell_silent_warns_that_it_cannot_alert(client, db, clock, make_person, make_service):
    make_service("web")
    admin = make_person("admin")
    keys = {}
    for name in ("a", "b"):
        r = client.post(f"{API}/agents", json={"name": name}, headers=admin.headers)
        keys[name] = {"Authorization": f"Bearer {r.json()['key']}"}
    check = client.post(f"{API}/checks", json={**CHECK, "locations": ["a", "b"]}, headers=admin.headers).json()

    def report(*names: str) -> None:
        for name in names:
            r = client.post(f"{API}/agent/results", headers=keys[name], json={"results": [
                {"check_id": check["id"], "at": clock.now().isoformat(), "ok": True, "error": None}]})
            assert r.status_code == 200, r.text

    report("a", "b")
    _tick(db, clock)
    assert _blind_alerts(db) == []  # both report: the check can alert
    # b's agent stops; a keeps reporting. The quorum of 2 of 2 can no longer be reached.
    for _ in range(5):
        clock.advance(minutes=1)
        report("a")
        _tick(db, clock)
    (status, severity, summary), = _blind_alerts(db)
    assert (status, severity) == ("triggered", "warning")
    assert "cannot alert: 1 of 2 locations report, it needs 2 (silent: b)" in summary
    clock.advance(minutes=1)
    report("a")
    _tick(db, clock)
    assert len(_blind_alerts(db)) == 1  # one warning, not one per tick
    # b comes back: the warning resolves
    clock.advance(minutes=1)
    report("a", "b")
    _tick(db, clock)
    assert [s for s, _, _ in _blind_alerts(db)] == ["resolved"]
    # paused while blind: nothing to warn about
    for _ in range(5):
        clock.advance(minutes=1)
        report("a")
    _tick(db, clock)
    assert [s for s, _, _ in _blind_alerts(db)] == ["resolved", "triggered"]
    assert client.patch(f"{API}/checks/{check['id']}", json={"enabled": False}, headers=admin.headers).status_code == 200
    clock.advance(minutes=1)
    _tick(db, clock)
    assert [s for s, _, _ in _blind_alerts(db)] == ["resolved", "resolved"]
