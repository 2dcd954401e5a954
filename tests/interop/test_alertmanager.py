"""Real Prometheus Alertmanager → tocsin, through both of its integrations.

One alert posted to Alertmanager must reach tocsin twice: as an `alertmanager` alert keyed
`am:1:<fingerprint>` (webhook receiver, version 4) and as an `events_v2` alert keyed by the
SHA-256 of the Alertmanager group key (PagerDuty receiver with `url` pointed at tocsin).
Resolving it in Alertmanager must resolve both.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.harness.processes import Alertmanager, Stack, poll, utc_iso
from tocsin.inbound.alertmanager import labels_fingerprint

pytestmark = pytest.mark.slow


def _explain(tocsin: Stack, am: Alertmanager, seen: Any) -> Any:
    return lambda: (f"last seen in tocsin: {seen()!r}\n--- alertmanager log ---\n{am.log_text()}"
                    f"\n--- tocsin log ---\n{tocsin.server.log_text()}")


def test_alertmanager_webhook_and_pagerduty_receivers_reach_tocsin(tocsin: Stack, alertmanager: Alertmanager) -> None:
    name = f"DiskFull{secrets.token_hex(3)}"
    labels = {"alertname": name, "severity": "critical", "instance": "db-1:9100", "job": "node"}
    summary = "Disk /var is 97% full on db-1"
    started = datetime.now(UTC) - timedelta(minutes=1)
    alert = {"labels": labels, "annotations": {"summary": summary, "runbook_url": "https://runbooks.example/disk"},
             "startsAt": utc_iso(started), "generatorURL": "http://prometheus.example/graph?g0.expr=disk"}
    alertmanager.post_alerts([alert])

    [in_am] = poll(lambda: alertmanager.alerts() or None, what="the alert to show in Alertmanager's API",
                   timeout=10, explain=alertmanager.log_text)
    fingerprint = in_am["fingerprint"]
    assert fingerprint == labels_fingerprint(labels), "tocsin computes Alertmanager's fingerprint differently"

    last: list[list[dict[str, Any]]] = [[]]

    def both(status: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        last[0] = tocsin.alerts()
        hook = [a for a in last[0] if a["source"] == "alertmanager" and a["status"] == status]
        pd = [a for a in last[0] if a["source"] == "events_v2" and a["status"] == status]
        return (hook[0], pd[0]) if hook and pd else None

    explain = _explain(tocsin, alertmanager, lambda: [(a["source"], a["dedup_key"], a["status"]) for a in last[0]])
    hook, pd = poll(lambda: both("triggered"), what="a triggered alert from each Alertmanager receiver",
                    explain=explain)

    # Exactly one alert per receiver: Alertmanager's repeated sends (if any) deduplicated.
    assert sorted(a["source"] for a in last[0]) == ["alertmanager", "events_v2"], last[0]

    # Webhook receiver: one tocsin alert per Alertmanager alert, everything carried over.
    assert hook["dedup_key"] == f"am:1:{fingerprint}"
    assert hook["service"] == "checkout"
    assert hook["integration_id"] == tocsin.integration_ids["alertmanager"]
    assert hook["summary"] == summary
    assert hook["severity"] == "critical"
    assert hook["labels"] == labels
    assert {"href": "https://runbooks.example/disk", "text": "Runbook"} in hook["links"]
    assert hook["details"]["summary"] == summary

    # PagerDuty receiver: one alert per Alertmanager *group*, keyed by the hash of the group key.
    assert re.fullmatch(r"[0-9a-f]{64}", pd["dedup_key"]), pd["dedup_key"]
    assert pd["integration_id"] == tocsin.integration_ids["events_v2"]
    assert pd["summary"] == summary  # description: '{{ .CommonAnnotations.summary }}'
    assert pd["severity"] == "critical"  # severity: '{{ .CommonLabels.severity }}'
    assert pd["labels"] == {"component": labels["instance"], "group": name}
    assert "db-1:9100" in str(pd["details"]), pd["details"]  # custom_details lists the firing alerts

    # Both receivers notified the same group: the webhook body's groupKey hashes to the PD key.
    detail = tocsin.alert(hook["id"])
    group_keys = {o["body"]["payload"].get("groupKey") for o in detail["occurrences_log"]}
    assert len(group_keys) == 1, group_keys
    [group_key] = group_keys
    assert group_key.endswith(f':{{alertname="{name}"}}'), group_key
    assert hashlib.sha256(group_key.encode()).hexdigest() == pd["dedup_key"]
    assert detail["occurrences"] == len([o for o in detail["occurrences_log"] if o["action"] == "trigger"])

    # Resolve in Alertmanager (as Prometheus does: the same alert with endsAt in the past).
    alertmanager.post_alerts([{**alert, "endsAt": utc_iso(datetime.now(UTC) - timedelta(seconds=5))}])
    hook_done, pd_done = poll(lambda: both("resolved"), what="both tocsin alerts to be resolved",
                              explain=explain)
    assert (hook_done["id"], pd_done["id"]) == (hook["id"], pd["id"])
    assert hook_done["resolved_at"] is not None and pd_done["resolved_at"] is not None
    assert not [a for a in tocsin.alerts() if a["status"] != "resolved"]

    resolved_log = tocsin.alert(pd["id"])["occurrences_log"]
    assert [o["action"] for o in resolved_log if o["outcome"] == "resolved"] == ["resolve"]
