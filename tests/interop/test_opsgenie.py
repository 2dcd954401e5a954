"""Tools configured for Opsgenie, pointed at tocsin by changing only the URL and the key.

A real Prometheus Alertmanager with `opsgenie_configs` (api_url = tocsin, api_key = an `opsgenie`
integration's key) fires and resolves an alert: Alertmanager creates the Opsgenie alert with
alias = SHA-256 of its group key and closes it by that alias. Opsgenie's own Python client
(opsgenie-sdk 2.1.5) with its host set to tocsin creates, acknowledges, notes and closes an alert,
reads the request status and pings a heartbeat.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.harness.processes import Alertmanager, Stack, TocsinProcess, make_stack, poll, tocsin_env, utc_iso

pytestmark = pytest.mark.slow

AM_CONFIG = """\
route:
  receiver: tocsin-opsgenie
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: tocsin-opsgenie
    opsgenie_configs:
      - api_key: "{key}"
        api_url: "{tocsin}/"
        send_resolved: true
        message: '{{{{ .CommonAnnotations.summary }}}}'
        priority: '{{{{ if eq .CommonLabels.severity "critical" }}}}P1{{{{ else }}}}P3{{{{ end }}}}'
        tags: 'prometheus,{{{{ .CommonLabels.job }}}}'
        responders:
          - type: team
            name: dba
"""


@pytest.fixture
def tocsin(db_url: str, tmp_path: Path) -> Iterator[Stack]:
    env = tocsin_env(tmp_path / "data", db_url)
    server = TocsinProcess(env, tmp_path / "tocsin.log")
    try:
        yield make_stack(server, env, ("opsgenie",))
    finally:
        server.stop()


def test_alertmanager_and_opsgenie_sdk_only_change_the_url_and_key(tocsin: Stack, tmp_path: Path) -> None:
    # One server for both senders: starting tocsin is most of the test's time.
    alertmanager_fires_and_resolves(tocsin, tmp_path)
    opsgenie_sdk_drives_alerts_and_heartbeats(tocsin)


def alertmanager_fires_and_resolves(tocsin: Stack, tmp_path: Path) -> None:
    am = Alertmanager(tmp_path / "alertmanager", AM_CONFIG.format(key=tocsin.keys["opsgenie"], tocsin=tocsin.url))
    try:
        am.wait_ready()
        name = f"DiskFull{secrets.token_hex(3)}"
        labels = {"alertname": name, "severity": "critical", "instance": "db-1:9100", "job": "node"}
        alert = {"labels": labels, "annotations": {"summary": "Disk /var is 97% full on db-1"},
                 "startsAt": utc_iso(datetime.now(UTC) - timedelta(minutes=1))}
        am.post_alerts([alert])

        def found(status: str) -> dict[str, Any] | None:
            return next((a for a in tocsin.alerts() if a["status"] == status), None)

        explain = lambda: f"{tocsin.alerts()!r}\n--- alertmanager ---\n{am.log_text()}"  # noqa: E731
        fired = poll(lambda: found("triggered"), what="the Opsgenie alert Alertmanager created", explain=explain)
        assert fired["source"] == "opsgenie" and fired["integration_id"] == tocsin.integration_ids["opsgenie"]
        assert (fired["summary"], fired["severity"], fired["urgency"]) == ("Disk /var is 97% full on db-1",
                                                                           "critical", "high")
        # Alertmanager's details start from the group's common labels: they become routable labels.
        assert {k: fired["labels"][k] for k in labels} == labels
        assert fired["labels"]["priority"] == "P1" and fired["labels"]["tags"] == "prometheus,node"
        assert fired["details"]["responders"][0]["name"] == "dba"
        detail = tocsin.alert(fired["id"])
        group_key = f'{{}}:{{alertname="{name}"}}'
        assert fired["dedup_key"] == hashlib.sha256(group_key.encode()).hexdigest(), detail["occurrences_log"]

        am.post_alerts([{**alert, "endsAt": utc_iso(datetime.now(UTC) - timedelta(seconds=5))}])
        done = poll(lambda: found("resolved"), what="the alert closed by alias", explain=explain)
        assert done["id"] == fired["id"] and done["resolved_at"] is not None
        assert [o["action"] for o in tocsin.alert(fired["id"])["occurrences_log"] if o["outcome"] == "resolved"] \
            == ["resolve"]
    finally:
        am.stop()


def opsgenie_sdk_drives_alerts_and_heartbeats(tocsin: Stack) -> None:
    import opsgenie_sdk

    conf = opsgenie_sdk.configuration.Configuration()
    conf.host = tocsin.url
    conf.api_key["Authorization"] = tocsin.keys["opsgenie"]
    conf.api_key_prefix["Authorization"] = "GenieKey"
    conf.short_polling_max_retries = 8
    client = opsgenie_sdk.api_client.ApiClient(configuration=conf)
    alerts = opsgenie_sdk.AlertApi(api_client=client)
    alias = f"sdk-{secrets.token_hex(4)}"

    created = alerts.create_alert(opsgenie_sdk.CreateAlertPayload(
        message="Checkout p99 above 2s", alias=alias, description="p99 2300 ms", priority="P2",
        tags=["latency"], details={"region": "eu-1"}, entity="checkout", source="synthetics",
        responders=[{"type": "team", "name": "web"}]))
    assert created.result == "Request will be processed" and created.request_id
    status = created.retrieve_result()  # polls GET /v2/alerts/requests/{requestId} until processed
    assert status.data.is_success and status.data.alias == alias
    [alert] = [a for a in tocsin.alerts() if a["dedup_key"] == alias]  # (the Alertmanager alert is resolved)
    assert created.id == alert["id"]
    assert (alert["severity"], alert["labels"]["region"], alert["labels"]["entity"]) == ("error", "eu-1", "checkout")

    alerts.acknowledge_alert(identifier=alias, identifier_type="alias",
                             acknowledge_alert_payload=opsgenie_sdk.AcknowledgeAlertPayload(user="kim", note="on it"))
    tocsin.wait_applied()
    assert [a["status"] for a in tocsin.alerts() if a["id"] == alert["id"]] == ["acknowledged"]
    alerts.add_note(identifier=alert["id"], identifier_type="id",
                    add_note_to_alert_payload=opsgenie_sdk.AddNoteToAlertPayload(user="kim", note="rolled back"))
    alerts.close_alert(identifier=alert["id"], close_alert_payload=opsgenie_sdk.CloseAlertPayload(user="kim"))
    tocsin.wait_applied()
    closed = tocsin.alert(alert["id"])
    assert closed["status"] == "resolved"
    reasons = [d["reason"] for d in closed["decisions"]]
    assert "note by kim: on it" in reasons and "note by kim: rolled back" in reasons

    from opsgenie_sdk.exceptions import ConfigurationException  # what the SDK raises for Opsgenie's 422

    with pytest.raises(ConfigurationException) as refused:  # a blank message: Opsgenie's 422, not a 500
        alerts.create_alert(opsgenie_sdk.CreateAlertPayload(message=" ", alias="blank"))
    assert refused.value.status == 422 and "Message can not be empty." in refused.value.body

    with tocsin.api() as api:
        r = api.post("/api/v1/heartbeats", json={"service": tocsin.service, "name": "nightly-backup",
                                                 "interval_seconds": 3600})
        assert r.status_code == 201, r.text
    pong = opsgenie_sdk.HeartbeatApi(api_client=client).ping("nightly-backup")
    assert pong.result == "PONG - Heartbeat received"
    with tocsin.api() as api:
        [beat] = api.get("/api/v1/heartbeats").json()["items"]
    assert beat["state"] == "up" and beat["last_ping_at"] is not None
