"""Attacks on the Opsgenie drop-in: NUL in the path, and an action by id that must act on the
alert it names (not on another alert sharing its key in another dedup scope)."""

from __future__ import annotations

import pytest

from tests.api.test_ingest import create_integration, enqueue, list_alerts, trigger
from tests.api.test_opsgenie_ingest import create, genie

pytestmark = pytest.mark.both_backends


@pytest.fixture
def admin(make_person):
    return make_person("admin", name="Ada")


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v2/alerts/a%00b/close?identifierType=alias"),
    ("POST", "/v2/alerts/a%00b/acknowledge?identifierType=alias"),
    ("GET", "/v2/heartbeats/a%00b/ping"),
    ("GET", "/v2/alerts/requests/a%00b"),
])
def test_nul_in_the_path_is_a_4xx(client, admin, make_service, method, path):
    make_service("checkout")
    key = create_integration(client, admin, "opsgenie")["key"]
    r = client.request(method, path, headers=genie(key))
    assert 400 <= r.status_code < 500, r.text
    r = client.post("/v2/alerts/a%00b/notes?identifierType=alias", headers=genie(key), json={"note": "n"})
    assert 400 <= r.status_code < 500, r.text


def test_an_action_by_id_acts_on_the_alert_it_names(client, admin, make_service):
    make_service("checkout")
    pd = create_integration(client, admin, "events_v2")
    og = create_integration(client, admin, "opsgenie")["key"]
    assert enqueue(client, trigger(pd["key"], dedup_key="x", summary="from PagerDuty")).status_code == 202
    assert create(client, og, alias="x", message="from Opsgenie").status_code == 202
    alerts = {a["summary"]: a for a in list_alerts(client, admin) if a["dedup_key"] == "x"}
    target = alerts["from PagerDuty"]

    r = client.post(f"/v2/alerts/{target['id']}/close", headers=genie(og), json={"note": "done"})
    assert r.status_code == 202, r.text
    status = {a["summary"]: a["status"] for a in list_alerts(client, admin) if a["dedup_key"] == "x"}
    assert status == {"from PagerDuty": "resolved", "from Opsgenie": "triggered"}
    # The close's note went on the alert it closed.
    notes = [d["reason"] for d in client.get(f"/api/v1/alerts/{target['id']}", headers=admin.headers)
             .json()["decisions"] if d["kind"] == "note"]
    assert notes == ["note: done"]


def test_a_note_by_alias_goes_on_the_alert_the_alias_acts_on(client, admin, make_service):
    make_service("checkout")
    pd = create_integration(client, admin, "events_v2")
    og = create_integration(client, admin, "opsgenie")["key"]
    assert create(client, og, alias="y", message="from Opsgenie").status_code == 202
    assert enqueue(client, trigger(pd["key"], dedup_key="y", summary="from PagerDuty")).status_code == 202
    r = client.post("/v2/alerts/y/acknowledge?identifierType=alias", headers=genie(og), json={"note": "mine"})
    assert r.status_code == 202, r.text
    alerts = {a["summary"]: a for a in list_alerts(client, admin) if a["dedup_key"] == "y"}
    assert (alerts["from Opsgenie"]["status"], alerts["from PagerDuty"]["status"]) == ("acknowledged", "triggered")
    for summary, expected in (("from Opsgenie", ["note: mine"]), ("from PagerDuty", [])):
        detail = client.get(f"/api/v1/alerts/{alerts[summary]['id']}", headers=admin.headers).json()
        assert [d["reason"] for d in detail["decisions"] if d["kind"] == "note"] == expected, summary


def test_a_journaled_request_is_being_processed_and_a_guessed_one_is_not_found(db, clock, make_person, make_service):
    # A server that only journals: the status of its own request is found in the journal (by the
    # request id's time), another key's is not, and a guessed id is a 404.
    import uuid

    from fastapi.testclient import TestClient

    from tocsin.app import create_app
    from tocsin.config import Settings

    app = create_app(settings=Settings(secret_key="test-secret", ingest_apply=False), db=db, clock=clock)
    admin = make_person("admin")
    make_service("checkout")
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            key, other = (create_integration(c, admin, "opsgenie")["key"] for _ in range(2))
            request_id = create(c, key, alias="later").json()["requestId"]
            data = c.get(f"/v2/alerts/requests/{request_id}", headers=genie(key)).json()["data"]
            assert (data["isSuccess"], data["status"]) == (False, "Request is being processed")
            assert c.get(f"/v2/alerts/requests/{request_id}", headers=genie(other)).status_code == 404
            assert c.get(f"/v2/alerts/requests/{uuid.uuid4()}", headers=genie(key)).status_code == 404
    finally:
        app.state.ingest.close()


def test_downgrade_keeps_one_open_alert_per_key_and_resolves_the_other_with_a_time(client, db, admin, make_service):
    """Migration 0038 down: two Events v2 integrations' open alerts sharing a key cannot both stay
    open under the old per-service index; the older one is resolved (with a resolve time)."""
    import sqlalchemy as sa

    from tocsin.db.migrate import downgrade, upgrade

    make_service("checkout")
    a, b = (create_integration(client, admin, "events_v2") for _ in range(2))
    assert enqueue(client, trigger(a["key"], dedup_key="x", summary="older")).status_code == 202
    assert enqueue(client, trigger(b["key"], dedup_key="x", summary="newer")).status_code == 202
    client.app.state.ingest.close()
    db.engine.dispose()
    downgrade(db.url, "0037")
    db.engine.dispose()
    with db.engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT summary, status FROM alerts WHERE resolved_at IS NOT NULL "
                                         "OR status <> 'resolved'")).all())
    assert rows == {"older": "resolved", "newer": "triggered"}
    upgrade(db.url)
    db.engine.dispose()


def test_notes_per_alert_are_bounded_and_the_action_still_applies(client, admin, make_service, monkeypatch):
    from tocsin.ingest import opsgenie as og_ingest

    monkeypatch.setattr(og_ingest, "MAX_NOTES", 2)
    make_service("checkout")
    og = create_integration(client, admin, "opsgenie")["key"]
    assert create(client, og, alias="chatty").status_code == 202
    path = "/v2/alerts/chatty/{}?identifierType=alias"
    for n in range(2):
        assert client.post(path.format("notes"), headers=genie(og), json={"note": f"n{n}"}).status_code == 202
    r = client.post(path.format("notes"), headers=genie(og), json={"note": "n2"})
    assert r.status_code == 422 and "notes" in r.json()["message"]
    assert client.post(path.format("close"), headers=genie(og), json={"note": "n3"}).status_code == 202
    [alert] = [a for a in list_alerts(client, admin) if a["dedup_key"] == "chatty"]
    assert alert["status"] == "resolved"
    detail = client.get(f"/api/v1/alerts/{alert['id']}", headers=admin.headers).json()
    assert [d["reason"] for d in detail["decisions"] if d["kind"] == "note"] == ["note: n0", "note: n1"]


def test_a_chosen_alias_cannot_equal_a_long_aliass_hashed_key():
    from tocsin.inbound.opsgenie import dedup_key

    long_alias = "a" * 400
    hashed = dedup_key(long_alias)
    assert hashed.startswith("og:1:") and dedup_key(long_alias) == hashed
    assert dedup_key(hashed) != hashed  # sent as an alias, the hashed form is another alert
    assert dedup_key("db1-disk") == "db1-disk"


def test_a_key_cannot_ping_another_services_heartbeat_of_the_same_name(client, db, admin, make_service):
    import sqlalchemy as sa

    make_service("checkout")
    make_service("payments")
    other = create_integration(client, admin, "opsgenie", service="payments")["key"]
    r = client.post("/api/v1/heartbeats", json={"service": "checkout", "name": "backup", "interval_seconds": 3600},
                    headers=admin.headers)
    assert r.status_code == 201, r.text
    r = client.get("/v2/heartbeats/backup/ping", headers=genie(other))
    assert r.status_code == 404
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT last_ping_at FROM heartbeats")).scalar_one() is None
