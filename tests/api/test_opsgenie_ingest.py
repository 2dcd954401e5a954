"""The Opsgenie Alert API drop-in, through HTTP as a sender configured for Opsgenie calls it:
`Authorization: GenieKey <key>`, create / acknowledge / close / notes by alias or id, request
status, heartbeat pings, and Opsgenie-shaped errors that store nothing.

The real client (opsgenie-sdk) and a real Alertmanager drive the same endpoints in
tests/interop/test_opsgenie.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.api.test_ingest import create_integration, list_alerts, stored

pytestmark = pytest.mark.both_backends


@pytest.fixture
def admin(make_person):
    return make_person("admin", name="Ada")


@pytest.fixture
def og_key(client, admin, make_service) -> str:
    make_service("checkout")
    return create_integration(client, admin, "opsgenie")["key"]


def genie(key: str) -> dict[str, str]:
    return {"Authorization": f"GenieKey {key}"}


def create(client, key: str, **body: Any) -> Any:
    return client.post("/v2/alerts", json={"message": "Disk full on db1", **body}, headers=genie(key))


def alert_by_key(client, who, key: str) -> dict[str, Any]:
    [found] = [a for a in list_alerts(client, who, limit=500) if a["dedup_key"] == key]
    return found


def test_create_answers_opsgenies_202_and_maps_the_fields(client, og_key, admin):
    r = create(client, og_key, alias="db1-disk", description="95% used", priority="P1", tags=["disk", "db"],
               details={"alertname": "DiskFull", "instance": "db1:9100"}, entity="db1", source="prometheus",
               responders=[{"type": "team", "name": "dba"}], note="first seen by node_exporter")
    assert r.status_code == 202, r.text
    answer = r.json()
    assert answer["result"] == "Request will be processed" and isinstance(answer["took"], float)
    assert answer["requestId"]
    alert = alert_by_key(client, admin, "db1-disk")
    assert (alert["status"], alert["source"], alert["severity"], alert["urgency"]) == (
        "triggered", "opsgenie", "critical", "high")
    assert alert["summary"] == "Disk full on db1"
    assert alert["labels"] == {"alertname": "DiskFull", "instance": "db1:9100", "entity": "db1", "tags": "disk,db",
                               "priority": "P1"}
    assert alert["details"]["description"] == "95% used"
    assert alert["details"]["responders"] == [{"type": "team", "name": "dba"}]
    assert alert["details"]["note"] == "first seen by node_exporter"

    status = client.get(f"/v2/alerts/requests/{answer['requestId']}", headers=genie(og_key))
    assert status.status_code == 200, status.text
    data = status.json()["data"]
    assert (data["isSuccess"], data["action"], data["alertId"], data["alias"]) == (True, "Create", alert["id"],
                                                                                    "db1-disk")


@pytest.mark.parametrize(("priority", "severity", "urgency"), [
    ("P2", "error", "high"), ("P3", "warning", "low"), ("P4", "info", "low"), ("P5", "info", "low"),
    (None, "warning", "low")])
def test_priority_sets_severity_and_urgency(client, og_key, admin, priority, severity, urgency):
    body = {"alias": f"p-{priority}"} | ({"priority": priority} if priority else {})
    assert create(client, og_key, **body).status_code == 202
    alert = alert_by_key(client, admin, f"p-{priority}")
    assert (alert["severity"], alert["urgency"], alert["labels"]["priority"]) == (severity, urgency,
                                                                                  priority or "P3")


def test_acknowledge_note_and_close_by_alias_and_by_id(client, og_key, admin):
    assert create(client, og_key, alias="api/5xx").status_code == 202
    assert create(client, og_key, alias="api/5xx").status_code == 202  # deduplicated by alias
    alert = alert_by_key(client, admin, "api/5xx")
    assert alert["occurrences"] == 2

    r = client.post("/v2/alerts/api%2F5xx/acknowledge?identifierType=alias", headers=genie(og_key),
                    json={"user": "ops-bot", "note": "looking"})
    assert r.status_code == 202 and r.json()["result"] == "Request will be processed"
    assert alert_by_key(client, admin, "api/5xx")["status"] == "acknowledged"

    r = client.post(f"/v2/alerts/{alert['id']}/notes", headers=genie(og_key), json={"note": "rolled back", "user": "kim"})
    assert r.status_code == 202, r.text
    note_status = client.get(f"/v2/alerts/requests/{r.json()['requestId']}", headers=genie(og_key)).json()["data"]
    assert (note_status["action"], note_status["alertId"]) == ("AddNote", alert["id"])

    r = client.post(f"/v2/alerts/{alert['id']}/close", headers=genie(og_key))  # identifierType defaults to id
    assert r.status_code == 202
    assert alert_by_key(client, admin, "api/5xx")["status"] == "resolved"
    history = client.get(f"/api/v1/alerts/{alert['id']}", headers=admin.headers).json()
    reasons = [d["reason"] for d in history["decisions"]]
    assert "note by ops-bot: looking" in reasons and "note by kim: rolled back" in reasons


def test_a_key_for_one_service_cannot_act_on_another_services_alert(client, admin, og_key, make_service):
    make_service("payments")
    other = create_integration(client, admin, "opsgenie", service="payments")["key"]
    created = create(client, og_key, alias="mine")
    assert created.status_code == 202
    alert = alert_by_key(client, admin, "mine")
    r = client.get(f"/v2/alerts/requests/{created.json()['requestId']}", headers=genie(other))
    assert r.status_code == 404  # another integration's request: not even its status
    r = client.post(f"/v2/alerts/{alert['id']}/close", headers=genie(other))
    assert r.status_code == 404 and r.json()["message"].startswith("Alert with id")
    r = client.post("/v2/alerts/mine/close?identifierType=alias", headers=genie(other))
    assert r.status_code == 202  # accepted, as Opsgenie does, but no alert of payments has that alias
    assert alert_by_key(client, admin, "mine")["status"] == "triggered"


@pytest.mark.parametrize(("headers", "body", "status", "problem"), [
    ({}, {"message": "x"}, 401, "Could not authenticate"),
    ({"Authorization": "GenieKey wrong"}, {"message": "x"}, 401, "Could not authenticate"),
    (None, {"alias": "no-message"}, 422, "Message can not be empty."),
    (None, {"message": "x", "tags": "a,b"}, 422, "tags must be a list of strings"),
    (None, {"message": ["x"]}, 422, "message must be a string"),
    (None, ["not", "an", "object"], 422, "the body must be a JSON object"),
])
def test_bad_requests_get_opsgenie_shaped_4xx_and_store_nothing(client, db, og_key, headers, body, status, problem):
    before = stored(db)
    r = client.post("/v2/alerts", json=body, headers=genie(og_key) if headers is None else headers)
    assert r.status_code == status, r.text
    answer = r.json()
    assert set(answer) >= {"message", "took", "requestId"}
    assert problem in answer["message"] or problem in answer.get("errors", {}).values()
    assert stored(db) == before


def test_a_priority_outside_p1_p5_is_p3_with_a_warning_not_a_lost_alert(client, og_key, admin):
    assert create(client, og_key, alias="odd", priority="{{ .CommonLabels.prio }}").status_code == 202
    alert = alert_by_key(client, admin, "odd")
    assert (alert["severity"], alert["labels"]["priority"]) == ("warning", "P3")
    detail = client.get(f"/api/v1/alerts/{alert['id']}", headers=admin.headers).json()
    assert any(d["kind"] == "warning" and "is not one of P1-P5" in d["reason"] for d in detail["decisions"])


def test_invalid_json_is_400_and_a_tiny_id_is_422(client, db, og_key):
    before = stored(db)
    r = client.post("/v2/alerts", content=b"{nope", headers=genie(og_key) | {"Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["message"]
    r = client.post("/v2/alerts/12/close?identifierType=tiny", headers=genie(og_key))
    assert r.status_code == 422 and "tiny" in r.json()["message"]
    r = client.post("/v2/alerts/x/notes?identifierType=alias", headers=genie(og_key), json={})
    assert r.status_code == 422
    assert stored(db) == before


def test_overlong_fields_are_cut_not_refused(client, og_key, admin):
    alias = "a" * 600
    r = create(client, og_key, message="m" * 300, alias=alias, description="d" * 20000)
    assert r.status_code == 202
    [alert] = [a for a in list_alerts(client, admin) if a["summary"].startswith("m")]
    assert len(alert["summary"]) == 130 and len(alert["details"]["description"]) == 15000
    # An alias longer than tocsin's dedup keys (512 chars, as Opsgenie allows, are cut to the limit first) still closes it.
    assert client.post(f"/v2/alerts/{alias}/close?identifierType=alias", headers=genie(og_key)).status_code == 202
    assert [a["status"] for a in list_alerts(client, admin) if a["id"] == alert["id"]] == ["resolved"]


def test_heartbeat_ping_by_name_on_the_keys_service(client, db, og_key, admin):
    r = client.post("/api/v1/heartbeats", json={"service": "checkout", "name": "nightly-backup",
                                                "interval_seconds": 3600}, headers=admin.headers)
    assert r.status_code == 201, r.text
    for method in ("GET", "POST"):
        r = client.request(method, "/v2/heartbeats/nightly-backup/ping", headers=genie(og_key))
        assert r.status_code == 202, r.text
        assert r.json()["result"] == "PONG - Heartbeat received"
    with db.engine.connect() as conn:
        state, last = conn.execute(sa.text("SELECT state, last_ping_at FROM heartbeats")).one()
    assert state == "up" and last is not None
    r = client.get("/v2/heartbeats/nobody/ping", headers=genie(og_key))
    assert r.status_code == 404 and "nobody" in r.json()["message"]
