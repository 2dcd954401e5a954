"""Runbooks in the console: a team member writes one under Configure (with a rendered preview, and the
form kept when refused), the alert page names it, and in the incident room a responder marks its
steps Done or Skip, each on the timeline; viewers read."""

from __future__ import annotations

from tests.harness.console import post_form, room_of, timeline
from tests.harness.ingest import AppliedClient

NEW = "/configure/runbooks/new"
BODY = ("# Postgres failover\n\n1. Check lag on [Grafana](https://grafana.example/d/pg)\n"
        "2. Promote the replica [action: promote-db]\n3. Tell #ops\n")


def _panel(html: str) -> str:
    start = html.index('id="runbooks-section"')
    return html[start:html.index("</details>", start)]


def test_a_team_member_writes_a_runbook_with_a_preview(web_client, make_web_user, make_team, make_service):
    make_team("dba")
    make_service("db")
    c = web_client(make_web_user("responder", name="Ana", teams=["dba"]))
    assert 'href="/configure/runbooks"' in c.get("/configure").text
    form = {"title": "Postgres failover", "team": "dba", "svc:db": "1", "matchers": 'alertname=~"Postgres.*"',
            "body_md": BODY}
    shown = post_form(c, NEW, {**form, "preview": "1"}, page=NEW)
    assert shown.status_code == 200 and "(3 steps)" in shown.text
    assert '<a href="https://grafana.example/d/pg" rel="noopener noreferrer">Grafana</a>' in shown.text
    assert "Postgres failover" not in c.get("/configure/runbooks").text  # a preview saves nothing

    bad = post_form(c, NEW, {**form, "matchers": "alertname=~(("}, page=NEW)
    assert bad.status_code == 422 and "invalid regular expression" in bad.text
    assert "Promote the replica [action: promote-db]" in bad.text  # what was typed is still there

    created = post_form(c, NEW, form, page=NEW)
    assert created.status_code == 303 and created.headers["location"] == "/configure/runbooks/postgres-failover"
    listed = c.get("/configure/runbooks").text
    assert "services db; alerts where alertname matches /Postgres.*/" in listed
    page = c.get("/runbooks/postgres-failover").text
    assert "<li>Promote the replica [action: promote-db]</li>" in page

    other = web_client("responder")  # not in the owning team: reads, cannot edit
    assert "Edit" not in other.get("/runbooks/postgres-failover").text.split('id="runbook-facts"')[1]
    refused = post_form(other, "/configure/runbooks/postgres-failover", {**form, "title": "Mine"},
                        page="/configure/runbooks/postgres-failover")
    assert refused.status_code == 403


def test_responders_mark_steps_in_the_room_and_the_alert_names_the_runbook(app, web_client, make_web_user,
                                                                            make_team, make_service):
    make_team("dba")
    make_service("db")
    ana = make_web_user("responder", name="Ana", teams=["dba"])
    c = web_client(ana)
    assert post_form(c, NEW, {"title": "Postgres failover", "team": "dba", "matchers": 'alertname=~"Postgres.*"',
                              "body_md": BODY}, page=NEW).status_code == 303
    admin = make_web_user("admin")
    api = AppliedClient(app)
    key = api.post("/api/v1/integrations", json={"service": "db", "type": "alertmanager", "name": "am"},
                   headers=admin.headers).json()["key"]
    assert api.post(f"/integrations/alertmanager/{key}", json={"version": "4", "status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": "PostgresReplicationLag"}, "fingerprint": "01"}]}).status_code == 202
    (alert,) = api.get("/api/v1/alerts", headers=admin.headers).json()["items"]
    alert_page = c.get(f"/alerts/{alert['id']}").text
    assert '<a href="/runbooks/postgres-failover">Postgres failover</a>' in alert_page

    ref = api.post("/api/v1/incidents", json={"title": "DB lag", "severity": "SEV2"}, headers=ana.headers).json()["ref"]
    assert 'id="runbooks-section"' not in room_of(c, ref)  # nothing attached yet
    assert api.post(f"/api/v1/alerts/{alert['id']}/attach", json={"incident": ref},
                    headers=ana.headers).status_code == 200
    room = f"/incidents/{ref}"
    panel = _panel(room_of(c, ref))
    assert "0/3 done" in panel and f'href="{room}/automation/promote-db">Run promote-db</a>' in panel
    assert '<a href="https://grafana.example/d/pg" rel="noopener noreferrer">Grafana</a>' in panel

    done = post_form(c, f"{room}/runbooks/postgres-failover/steps/1", {"state": "done", "note": "lag 0.2 s"}, page=room)
    assert done.status_code == 303 and done.headers["location"] == f"{room}#runbook-postgres-failover"
    assert post_form(c, f"{room}/runbooks/postgres-failover/steps/3", {"state": "skipped"}, page=room
                     ).status_code == 303
    html = room_of(c, ref)
    panel = _panel(html)
    assert "2/3 done" in panel and 'data-step="1" data-state="done"' in panel and "by Ana: lag 0.2 s" in panel
    assert 'data-step="3" data-state="skipped"' in panel
    assert "Step 1 of Postgres failover done by Ana: lag 0.2 s" in timeline(html)
    assert "Step 3 of Postgres failover skipped by Ana" in timeline(html)
    assert post_form(c, f"{room}/runbooks/postgres-failover/steps/7", {"state": "done"}, page=room).status_code == 404
    assert post_form(c, f"{room}/runbooks/postgres-failover/steps/2", {"state": "maybe"}, page=room).status_code == 422

    viewer = web_client("viewer")
    watched = _panel(room_of(viewer, ref))
    assert "2/3 done" in watched and "<form" not in watched
    assert post_form(viewer, f"{room}/runbooks/postgres-failover/steps/2", {"state": "done"}).status_code == 403
