"""`tocsin integration ...` run as a subprocess: an operator creates the keys monitoring tools
send with, and those keys work on the ingest endpoints at once.

The CLI writes to the database named by TOCSIN_DATABASE_URL; the events are then sent to the
app (TestClient) on that same database, so no server process is needed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.harness.cli import cli_env, fails, last_line, ok, run, run_parallel
from tests.harness.processes import wait_journal_applied

pytestmark = pytest.mark.slow

KEY = re.compile(r"^[0-9a-f]{32}$")


def test_operator_creates_keys_and_tools_send_with_them(db_url: str, tmp_path: Path, client, make_person,
                                                        make_service) -> None:
    # Runbook: create the service's integrations from the shell → paste the keys into PagerDuty
    # clients and Alertmanager → their first events show up as alerts of that service.
    make_service("checkout")
    admin = make_person("admin")
    env = cli_env(tmp_path, db_url)
    pd, am, missing, kuma = run_parallel(
        (env, ["integration", "create", "--service", "checkout", "--type", "events_v2"]),
        (env, ["integration", "create", "--service", "checkout", "--type", "alertmanager", "--name", "prometheus"]),
        (env, ["integration", "create", "--service", "nope", "--type", "events_v2"]),
        (env, ["integration", "create", "--service", "checkout", "--type", "generic", "--preset", "uptime-kuma"]),
    )
    kuma_key = last_line(ok(kuma))
    assert KEY.match(kuma_key) and "/integrations/generic/<key>" in kuma.stdout
    pd_key, am_key = last_line(ok(pd)), last_line(ok(am))
    assert KEY.match(pd_key) and KEY.match(am_key) and pd_key != am_key, (pd.stdout, am.stdout)
    assert "/v2/enqueue" in pd.stdout and "/integrations/alertmanager/<key>" in am.stdout
    fails(missing, "nope")

    r = client.post("/v2/enqueue", json={"routing_key": pd_key, "event_action": "trigger", "dedup_key": "db1/disk",
                                         "payload": {"summary": "Disk full on db1", "source": "db1",
                                                     "severity": "critical"}})
    assert r.status_code == 202, r.text
    assert r.json() == {"status": "success", "message": "Event processed", "dedup_key": "db1/disk"}
    r = client.post(f"/integrations/alertmanager/{am_key}", json={
        "version": "4", "status": "firing", "receiver": "tocsin", "groupKey": "{}:{}", "truncatedAlerts": 0,
        "alerts": [{"status": "firing", "labels": {"alertname": "InstanceDown", "instance": "web1"},
                    "annotations": {}, "startsAt": "2026-01-01T11:59:00Z", "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": "0123456789abcdef"}]})
    assert r.status_code == 202, r.text
    alerts = client.get("/api/v1/alerts", headers=admin.headers).json()["items"]
    assert {(a["dedup_key"], a["service"], a["source"]) for a in alerts} == {
        ("db1/disk", "checkout", "events_v2"), ("am:1:0123456789abcdef", "checkout", "alertmanager")}

    # Each key works only where it belongs.
    r = client.post("/v2/enqueue", json={"routing_key": am_key, "event_action": "resolve", "dedup_key": "db1/disk"})
    assert r.status_code == 400

    kuma_body = (Path(__file__).parent.parent / "fixtures" / "presets" / "uptime-kuma.json").read_bytes()
    assert client.post(f"/integrations/generic/{kuma_key}", content=kuma_body).status_code == 202  # the preset works

    listed = ok(run(env, "integration", "list", "--service", "checkout", "--json"))
    rows = json.loads(listed.stdout)
    assert sorted((r["type"], r["name"], r["key_hint"]) for r in rows) == [
        ("alertmanager", "prometheus", am_key[:4]), ("events_v2", "events_v2", pd_key[:4]),
        ("generic", "generic", kuma_key[:4])]
    assert all(r["last_event_at"] for r in rows), "the list shows when each tool last sent"
    assert pd_key not in listed.stdout and am_key not in listed.stdout, "keys are shown once"
    text = ok(run(env, "integration", "list"))
    assert "prometheus" in text.stdout and pd_key not in text.stdout


@pytest.mark.parametrize("args", [
    ["integration", "create", "--service", "checkout", "--type", "victorops"],
    ["integration", "create", "--type", "events_v2"],
])
def test_bad_integration_commands_fail_without_creating_anything(db_url: str, tmp_path: Path, client, make_person,
                                                                 make_service, args) -> None:
    make_service("checkout")
    result = run(cli_env(tmp_path, db_url), *args)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    admin = make_person("admin")
    assert client.get("/api/v1/integrations", headers=admin.headers).json()["items"] == []


def test_two_worker_server_takes_events_on_every_worker_without_losing_counts(db_url: str, tmp_path: Path,
                                                                              serve) -> None:
    # Runbook: an operator runs `tocsin serve --workers 2` to use both cores → Alertmanager and
    # PagerDuty clients keep sending → every event lands once, repeats count up on one alert.
    import concurrent.futures

    import httpx

    env = cli_env(tmp_path, db_url)
    admin_token = last_line(ok(run(env, "user", "create", "--email", "ops@example.test", "--name", "Ops",
                                   "--role", "admin", "--token")))
    server = serve(env, "--workers", "2").wait_ready()
    assert "2 workers" in server.log.read_text()
    with server.client(admin_token) as api:
        assert api.post("/api/v1/services", json={"name": "Checkout", "slug": "checkout"}).status_code == 201
    key = last_line(ok(run(env, "integration", "create", "--service", "checkout", "--type", "events_v2")))

    def send(n: int) -> int:
        with httpx.Client(base_url=server.url, timeout=30, trust_env=False) as c:  # a new connection each
            body = {"routing_key": key, "event_action": "trigger", "dedup_key": "shared" if n % 2 else f"own-{n}",
                    "payload": {"summary": f"event {n}", "source": "test", "severity": "critical"}}
            return c.post("/v2/enqueue", json=body).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, range(80)))
    assert statuses == [202] * 80
    wait_journal_applied(db_url)
    with server.client(admin_token) as api:
        found = api.get("/api/v1/alerts", params={"limit": 500}).json()["items"]
    by_key = {a["dedup_key"]: a for a in found}
    assert len(found) == 41 and by_key["shared"]["occurrences"] == 40
    assert all(by_key[f"own-{n}"]["occurrences"] == 1 for n in range(0, 80, 2))

