"""Action items in the console: the list and its filters (mine, my teams', overdue, by incident,
by status), creating one with a due day in the viewer's zone, assigning, moving the due date,
completing and re-opening it; viewers read only; need-to-know; bad input is a readable 4xx."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.harness.console import new_incident, post_form
from tocsin.actions.models import ActionItem
from tocsin.audit.models import AuditEntry


def api(client, method, path, **kw):
    return client.request(method, f"/api/v1{path}", headers=client.user.headers, **kw)


def item(db, ref):
    with db.unit_of_work() as s:
        row = s.query(ActionItem).filter(ActionItem.number == int(ref.split("-")[1])).one()
        s.expunge(row)
        return row


def listed(html, ref):
    """Whether the list shows the item (a row links to it; a flash message naming it does not count)."""
    return f'<a href="/action-items/{ref}">' in html


def set_zone(db, user, tz):
    from tocsin.users.service import require_user

    with db.unit_of_work() as s:
        require_user(s, user.id).time_zone = tz


def test_a_responder_creates_assigns_and_completes_an_item(web_client, world, db, clock):
    alice, inc = new_incident(web_client, severity="SEV2")
    set_zone(db, alice.user, "Europe/Berlin")
    bob = web_client("responder")
    r = post_form(alice, "/action-items", {"title": "Add a retry budget", "incident": inc, "owner": str(alice.user.id),
                                           "due": "2026-07-10", "type": "prevent", "priority": "high"},
                  page="/action-items")
    assert r.status_code == 303, r.text
    ref = r.headers["location"].rsplit("/", 1)[1]
    row = item(db, ref)
    # the end of 10 July in Berlin (CEST, UTC+2)
    assert row.due_at == datetime(2026, 7, 10, 21, 59, 59, tzinfo=UTC) and row.priority == "high"
    page = alice.get(f"/action-items/{ref}").text
    assert page.count("<h1>") == 1 and "Add a retry budget" in page and f'href="/incidents/{inc}"' in page
    assert 'value="2026-07-10"' in page  # the due day, in the viewer's zone again

    mine = alice.get("/action-items?owner=me").text
    assert listed(mine, ref) and f'href="/incidents/{inc}"' in mine
    assert not listed(bob.get("/action-items?owner=me").text, ref)
    assert listed(bob.get(f"/action-items?incident={inc}").text, ref)

    # assign it to Bob and move the due date; the room's timeline has the creation
    r = post_form(alice, f"/action-items/{ref}/edit", {
        "title": "Add a retry budget", "owner": str(bob.user.id), "due": "2026-07-20", "status": "open",
        "priority": "high", "type": "prevent", "team": "", "description": ""}, page=f"/action-items/{ref}")
    assert r.status_code == 303
    row = item(db, ref)
    assert row.owner_id == bob.user.id and row.due_at == datetime(2026, 7, 20, 21, 59, 59, tzinfo=UTC)
    assert listed(bob.get("/action-items?owner=me").text, ref)

    # Bob completes it from his list; it leaves the open list; he re-opens it
    r = post_form(bob, f"/action-items/{ref}/status", {"status": "done", "next": "/action-items?owner=me"},
                  page="/action-items")
    assert r.status_code == 303 and r.headers["location"] == "/action-items?owner=me"
    assert item(db, ref).status == "done" and item(db, ref).completed_at == clock.now()
    assert not listed(bob.get("/action-items?owner=me").text, ref)
    assert listed(bob.get("/action-items?owner=me&status=done").text, ref)
    post_form(bob, f"/action-items/{ref}/status", {"status": "open"}, page="/action-items")
    assert item(db, ref).status == "open" and item(db, ref).completed_at is None
    room = alice.get(f"/incidents/{inc}").text
    assert f"Action item {ref} created" in room and f"Action item {ref} done" in room
    with db.unit_of_work() as s:
        actions = [a for (a,) in s.query(AuditEntry.action).filter(AuditEntry.target_type == "action_item")]
    assert actions.count("action_item.create") == 1 and actions.count("action_item.update") == 3


def test_saving_an_unchanged_form_changes_nothing(web_client, world, db):
    alice = web_client("responder")
    ref = api(alice, "POST", "/action-items", json={"title": "Runbook", "type": "process", "owner": "me",
                                                     "due_on": "2026-08-01"}).json()["ref"]
    before = item(db, ref)
    page = alice.get(f"/action-items/{ref}").text
    assert 'value="2026-08-01"' in page
    r = post_form(alice, f"/action-items/{ref}/edit", {
        "title": "Runbook", "owner": str(alice.user.id), "due": "2026-08-01", "status": "open",
        "priority": "medium", "type": "process", "team": "", "description": ""}, page=f"/action-items/{ref}")
    assert r.status_code == 303
    assert item(db, ref).due_at == before.due_at and item(db, ref).updated_at == before.updated_at


def test_filters_mine_my_teams_and_overdue(web_client, world, db, make_team, make_web_user, clock):
    make_team("payments")
    make_team("search")
    carol = web_client(make_web_user("responder", name="Carol", teams=["payments"]))
    dan = web_client(make_web_user("responder", name="Dan", teams=["search"]))
    late = api(carol, "POST", "/action-items", json={"title": "Late one", "type": "detect", "owner": "me",
                                                      "due_at": "2020-01-01T00:00:00Z"}).json()["ref"]
    team = api(dan, "POST", "/action-items", json={"title": "Search index", "type": "prevent",
                                                    "team": "payments"}).json()["ref"]
    other = api(dan, "POST", "/action-items", json={"title": "Dan's own", "type": "prevent", "owner": "me"}).json()["ref"]
    mine_teams = carol.get("/action-items?team=mine").text
    assert listed(mine_teams, late) and listed(mine_teams, team) and not listed(mine_teams, other)
    overdue = dan.get("/action-items?overdue=1").text
    assert listed(overdue, late) and "overdue" in overdue and not listed(overdue, team) and not listed(overdue, other)
    dans = dan.get("/action-items?owner=me").text
    assert listed(dans, other) and not listed(dans, late)
    everything = dan.get("/action-items").text
    assert all(listed(everything, ref) for ref in (late, team, other))


def test_viewers_read_but_see_no_forms_and_are_refused(web_client, world):
    alice = web_client("responder")
    ref = api(alice, "POST", "/action-items", json={"title": "Alerting gap", "type": "detect"}).json()["ref"]
    viewer = web_client("viewer")
    page = viewer.get("/action-items").text
    assert listed(page, ref) and 'id="action-new"' not in page and "Mark " not in page
    assert 'id="action-edit"' not in viewer.get(f"/action-items/{ref}").text
    assert post_form(viewer, "/action-items", {"title": "x", "type": "prevent"}).status_code == 403
    assert post_form(viewer, f"/action-items/{ref}/status", {"status": "done"}).status_code == 403


def test_an_item_of_a_restricted_incident_is_hidden_from_outsiders(web_client, world):
    insider, outsider = web_client("responder"), web_client("responder")
    secret = api(insider, "POST", "/incidents", json={"title": "Exfiltration", "severity": "SEV1",
                                                      "kind": "security"}).json()["ref"]
    ref = api(insider, "POST", "/action-items", json={"title": "Rotate the leaked keys", "type": "mitigate",
                                                       "incident": secret}).json()["ref"]
    assert listed(insider.get("/action-items").text, ref)
    listing = outsider.get("/action-items?status=all").text
    assert not listed(listing, ref) and "leaked keys" not in listing
    assert outsider.get(f"/action-items/{ref}").status_code == 404
    assert post_form(outsider, f"/action-items/{ref}/status", {"status": "done"}).status_code == 404
    # naming the hidden incident in a filter or a new item is answered as for a missing one
    assert outsider.get(f"/action-items?incident={secret}").status_code == 422
    r = post_form(outsider, "/action-items", {"title": "x", "type": "prevent", "incident": secret})
    assert r.status_code == 422 and "Exfiltration" not in r.text


@pytest.mark.parametrize(("path", "form", "status"), [
    ("/action-items", {"title": "", "type": "prevent"}, 422),
    ("/action-items", {"title": "x", "type": "someday"}, 422),
    ("/action-items", {"title": "x", "type": "prevent", "due": "next week"}, 422),
    ("/action-items", {"title": "x", "type": "prevent", "owner": "nobody@example.test"}, 422),
    ("/action-items", {"title": "x", "type": "prevent", "incident": "INC-999"}, 422),
    ("/action-items/ACT-999/status", {"status": "done"}, 404),
])
def test_bad_input_is_a_readable_4xx(web_client, world, path, form, status):
    r = post_form(web_client("responder"), path, form, page="/action-items")
    assert r.status_code == status, r.text
    assert "<h1>" in r.text


@pytest.mark.parametrize("query", ["status=later", "before=xyz", "owner=nobody@example.test", "team=nope"])
def test_bad_filters_are_a_readable_4xx(web_client, world, query):
    r = web_client("viewer").get(f"/action-items?{query}")
    assert 400 <= r.status_code < 500 and "<h1>" in r.text, (query, r.status_code)


def test_a_bad_status_on_an_item_is_refused(web_client, world):
    alice = web_client("responder")
    ref = api(alice, "POST", "/action-items", json={"title": "x", "type": "prevent"}).json()["ref"]
    assert post_form(alice, f"/action-items/{ref}/status", {"status": "finished"}).status_code == 422


def test_the_postmortem_page_lists_the_incidents_items(web_client, world):
    alice, inc = new_incident(web_client, severity="SEV3")
    ref = api(alice, "POST", "/action-items", json={"title": "Alert on queue depth", "type": "detect",
                                                     "incident": inc}).json()["ref"]
    api(alice, "PATCH", f"/incidents/{inc}", json={"status": "resolved"})
    pm = api(alice, "POST", f"/incidents/{inc}/postmortem").json()
    page = alice.get(f"/postmortems/{pm['id']}").text
    section = page[page.index('id="pm-action-items"'):page.index('id="pm-review"')]
    assert listed(section, ref) and "Alert on queue depth" in section
    assert f'href="/action-items?incident={inc}#new-item"' in section
