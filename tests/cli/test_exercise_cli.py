"""`tocsin exercise run` against a real `tocsin serve`: a short game day at 60x speed. The command
starts the run, sends the alert to the ingest endpoint with the drill key, shows the progress; the
responder (this test, through the API) acknowledges, takes command and mitigates; the command ends
when every expectation is met and prints the score."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.harness.cli import cli_env, run
from tests.harness.processes import TOCSIN, admin_token

pytestmark = pytest.mark.slow

SCENARIO = """
name: Quick drill
kind: operational
severity: SEV3
participants: [{email: EMAIL, role: incident_commander}]
injects:
  - {at: 0s, type: alert, summary: "checkout is down", severity: critical, dedup_key: quick}
  - {at: 30s, type: customer_report, text: "Checkout fails"}
expect:
  - {type: acknowledged, within: 5m}
  - {type: incident_commander, within: 5m}
  - {type: mitigated, within: 8m}
"""


def _wait(get, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (found := get()) is not None:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_game_day_at_high_speed_prints_its_score(db_url: str, tmp_path: Path, serve, make_person) -> None:
    env = cli_env(tmp_path, db_url)
    server = serve(env)
    token = admin_token(db_url)
    bob = make_person("responder")
    scenario = tmp_path / "drill.yaml"
    scenario.write_text(SCENARIO.replace("EMAIL", bob.email))
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.replace("at: 30s", "at: soon"))
    invalid = run(env, "exercise", "validate", str(bad))
    assert invalid.returncode == 2 and "injects[1].at: 'soon' does not match" in invalid.stderr
    server.wait_ready()

    proc = subprocess.Popen([str(TOCSIN), "exercise", "run", str(scenario), "--speed", "60", "--url", server.url,
                             "--token", token], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with httpx.Client(base_url=server.url + "/api/v1", headers=bob.headers, timeout=10) as api:
            def alert():
                items = api.get("/alerts").json()["items"]
                return items[0] if items and items[0].get("incident") else None

            found = _wait(alert, "the drill alert and its incident")
            assert api.post(f"/alerts/{found['id']}/acknowledge").status_code == 200
            ref = found["incident"]
            r = api.post(f"/incidents/{ref}/roles", json={"role": "incident_commander", "user": bob.email})
            assert r.status_code == 200, r.text
            r = api.patch(f"/incidents/{ref}", json={"status": "mitigated"})
            assert r.status_code == 200, r.text
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    print(out)
    assert "SCORE 100/100 PASSED" in out, out + err
    assert "Quick drill" in out and "met" in out
