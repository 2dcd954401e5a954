"""The exercises console (/exercises): an admin starts a shipped scenario as a tabletop with
themselves as the IC, fires the steps by hand (each on the drill incident's timeline), finishes it
and sees the score; the report charts it; responders read, only admins start; bad input is a 4xx."""

from __future__ import annotations

from tests.harness.console import post_form


def test_an_admin_runs_a_tabletop_from_the_console(web_client, make_web_user):
    admin = make_web_user("admin", name="Ada Admin")
    c = web_client(admin)
    page = c.get("/exercises")
    assert page.status_code == 200 and "Leaked credential" in page.text and "Bad deploy" in page.text
    assert 'href="/exercises"' in c.get("/configure").text
    r = post_form(c, "/exercises", {"shipped": "database-outage", "mode": "tabletop",
                                    "participants": f"{admin.email} incident_commander"}, page="/exercises")
    assert r.status_code == 303, r.text
    run = r.headers["location"]
    html = c.get(run).text
    assert "Database outage" in html and "tabletop" in html and "Fire step 1" in html
    ref = html.split('href="/incidents/')[1].split('"')[0]
    assert post_form(c, f"{run}/next", {}, page=run).status_code == 303
    assert post_form(c, f"{run}/next", {}, page=run).status_code == 303
    room = c.get(f"/incidents/{ref}").text
    assert "Inject 2: customer report: Several customers say their card was charged" in room
    assert post_form(c, f"{run}/finish", {}, page=run).status_code == 303
    html = c.get(run).text
    assert "Score: 0/100 — failed" in html and "missed" in html
    assert post_form(c, f"{run}/next", {}, page=run).status_code == 409  # finished

    report = c.get("/exercises/report")
    assert report.status_code == 200 and "data:image/svg+xml;base64," in report.text and "Ada Admin" in report.text

    responder = web_client("responder")
    assert "Database outage" in responder.get("/exercises").text
    assert 'action="/exercises"' not in responder.get("/exercises").text
    assert post_form(responder, "/exercises", {"shipped": "bad-deploy", "mode": "live"},
                     page="/exercises").status_code == 403
    assert post_form(responder, f"{run}/finish", {}, page=run).status_code in (403, 409)


def test_bad_starts_are_refused_with_the_reason(web_client, make_web_user):
    c = web_client(make_web_user("admin"))
    r = post_form(c, "/exercises", {"shipped": "", "scenario": "name: x\n", "mode": "live"}, page="/exercises")
    assert r.status_code == 422 and "required property" in r.text
    r = post_form(c, "/exercises", {"shipped": "database-outage", "mode": "live", "participants": ""},
                  page="/exercises")
    assert r.status_code == 422 and "ic@example.com" in r.text  # the scenario's placeholders are not people here
    assert c.get("/exercises/not-an-id").status_code == 404
