"""Runbooks through the API: team owners and admins write them (audited), alerts show the ones that
apply (service link or label matchers), and responders mark an incident's steps, on its timeline."""

from __future__ import annotations

import pytest

from tests.harness.incidents import declare

RB = "/api/v1/runbooks"
INC = "/api/v1/incidents"
BODY = """# Postgres failover

1. Check replication lag on [Grafana](https://grafana.example/d/pg)
2. Promote the replica [action: promote-db]
3. Tell #ops
"""


@pytest.fixture
def people(make_person, make_team):
    make_team("dba")
    make_team("web")
    return {
        "ana": make_person("responder", name="Ana", teams=["dba"]),
        "bob": make_person("responder", name="Bob", teams=["web"]),
        "dave": make_person("viewer", name="Dave"),
        "ada": make_person("admin", name="Ada"),
    }


def create(client, who, **body):
    body.setdefault("title", "Postgres failover")
    body.setdefault("team", "dba")
    body.setdefault("body_md", BODY)
    return client.post(RB, json=body, headers=who.headers)


def test_a_team_member_writes_their_teams_runbook_and_the_change_is_audited(client, people, make_service):
    make_service("db")
    ana, bob, ada = people["ana"], people["bob"], people["ada"]
    r = create(client, ana, services=["db"], matchers=['alertname=~"Postgres.*"', {"name": "env", "op": "!=",
                                                                                   "value": "staging"}])
    assert r.status_code == 201, r.text
    rb = r.json()
    assert rb["slug"] == "postgres-failover" and rb["team"] == "dba" and rb["services"] == ["db"]
    assert rb["matchers"] == [{"name": "alertname", "op": "=~", "value": "Postgres.*"},
                              {"name": "env", "op": "!=", "value": "staging"}]
    assert [(s["number"], s["actions"]) for s in rb["steps"]] == [(1, []), (2, ["promote-db"]), (3, [])]
    assert rb["url"].endswith("/runbooks/postgres-failover")

    assert create(client, bob, title="Web restart", team="dba").status_code == 403  # not Bob's team
    assert client.patch(f"{RB}/postgres-failover", json={"title": "x"}, headers=bob.headers).status_code == 403
    assert client.patch(f"{RB}/postgres-failover", json={"team": "web"}, headers=ana.headers).status_code == 403
    assert create(client, people["dave"], title="Viewer's").status_code == 403
    assert create(client, ana).status_code == 409  # the slug exists

    r = client.patch(f"{RB}/postgres-failover", json={"title": "Postgres failover (v2)", "matchers": []},
                     headers=ana.headers)
    assert r.status_code == 200 and r.json()["matchers"] == [] and r.json()["title"] == "Postgres failover (v2)"
    assert client.delete(f"{RB}/postgres-failover", headers=ada.headers).status_code == 204
    assert client.get(f"{RB}/postgres-failover", headers=ana.headers).status_code == 404
    audit = client.get("/api/v1/audit", headers=ada.headers).json()["items"]
    assert sorted(e["action"] for e in audit if e["target_type"] == "runbook") == [
        "runbook.create", "runbook.delete", "runbook.update"]


@pytest.mark.parametrize("body, field", [
    ({"matchers": ["alertname=~(("]}, "matchers"),
    ({"matchers": ["no operator"]}, "matchers"),
    ({"services": ["nope"]}, "services"),
    ({"team": "nope"}, "team"),
    ({"slug": "Bad Slug"}, None),
    ({"title": "New"}, "slug"),  # /configure/runbooks/new is the console's form
])
def test_bad_input_is_a_clear_4xx(client, people, body, field):
    r = create(client, people["ada"], **body)
    assert r.status_code in (400, 422), r.text
    if field:
        assert r.json()["error"]["details"]["field"] == field
    assert client.get(RB, headers=people["ada"].headers).json()["items"] == []


def test_the_alert_shows_the_runbooks_its_labels_match_and_responders_mark_steps(client, people, make_service):
    make_service("db")
    ana, bob, dave, ada = people["ana"], people["bob"], people["dave"], people["ada"]
    assert create(client, ana, matchers=['alertname=~"Postgres.*"']).status_code == 201
    assert create(client, ada, title="Unrelated", team=None, services=[]).status_code == 201
    key = client.post("/api/v1/integrations", json={"service": "db", "type": "alertmanager", "name": "am"},
                      headers=ada.headers).json()["key"]
    group = {"version": "4", "status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": "PostgresReplicationLag"}, "fingerprint": "0000000000000001"}]}
    assert client.post(f"/integrations/alertmanager/{key}", json=group).status_code == 202
    (alert,) = client.get("/api/v1/alerts", headers=bob.headers).json()["items"]
    detail = client.get(f"/api/v1/alerts/{alert['id']}", headers=bob.headers).json()
    assert [(x["slug"], x["title"]) for x in detail["runbooks"]] == [("postgres-failover", "Postgres failover")]

    ref = declare(client, bob, title="DB lagging")["ref"]
    base = f"{INC}/{ref}/runbooks"
    assert client.get(base, headers=bob.headers).json()["items"] == []  # nothing attached yet
    assert client.post(f"{base}/postgres-failover/steps/1", json={"state": "done"},
                       headers=bob.headers).status_code == 404
    assert client.post(f"/api/v1/alerts/{alert['id']}/attach", json={"incident": ref},
                       headers=bob.headers).status_code == 200

    r = client.post(f"{base}/postgres-failover/steps/1", json={"state": "done", "note": "lag 0.2 s"},
                    headers=bob.headers)
    assert r.status_code == 200, r.text
    step = r.json()["steps"][0]
    assert step["state"] == "done" and step["by"]["name"] == "Bob" and step["note"] == "lag 0.2 s"
    assert client.post(f"{base}/postgres-failover/steps/2", json={"state": "skipped"},
                       headers=bob.headers).status_code == 200
    assert client.post(f"{base}/postgres-failover/steps/2", json={"state": "undone"},
                       headers=bob.headers).json()["steps"][1]["state"] is None
    assert client.post(f"{base}/postgres-failover/steps/9", json={"state": "done"},
                       headers=bob.headers).status_code == 404
    assert client.post(f"{base}/postgres-failover/steps/3", json={"state": "maybe"},
                       headers=bob.headers).status_code == 422
    assert client.post(f"{base}/postgres-failover/steps/3", json={"state": "undone"},
                       headers=bob.headers).status_code == 409  # not marked
    assert client.post(f"{base}/postgres-failover/steps/3", json={"state": "done"},
                       headers=dave.headers).status_code == 403  # viewers read

    (shown,) = client.get(base, headers=dave.headers).json()["items"]
    assert [s["state"] for s in shown["steps"]] == ["done", None, None]
    texts = [e["text"] for e in client.get(f"{INC}/{ref}/timeline", headers=bob.headers).json()["items"]
             if e["kind"] == "runbook"]
    assert texts == ["Step 1 of Postgres failover done by Bob: lag 0.2 s", "Step 2 of Postgres failover skipped by Bob",
                     "Step 2 of Postgres failover marked not done by Bob"]


def test_a_restricted_incidents_runbooks_stay_inside_its_circle(client, people, make_service):
    make_service("db")
    ana, bob = people["ana"], people["bob"]
    assert create(client, ana, services=["db"]).status_code == 201
    ref = declare(client, ana, kind="security", title="Leaked DB password", services=["db"])["ref"]
    assert len(client.get(f"{INC}/{ref}/runbooks", headers=ana.headers).json()["items"]) == 1
    assert client.get(f"{INC}/{ref}/runbooks", headers=bob.headers).status_code == 404
    r = client.post(f"{INC}/{ref}/runbooks/postgres-failover/steps/1", json={"state": "done"}, headers=bob.headers)
    assert r.status_code == 404 and "Leaked" not in r.text
