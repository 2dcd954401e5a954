"""Status page administration in the console: components and groups (add, rename, move, delete), a
public incident and a maintenance not tied to an internal incident (post, update, resolve), and
subscribers (list, remove); each through the status page services, refused to those the API refuses."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.harness.console import csrf, post_form
from tocsin.audit.models import AuditEntry
from tocsin.statuspage import service as sp
from tocsin.statuspage import subscribers as subs
from tocsin.statuspage.types import StatusIncidentKind

PAGE = "/status-pages/public"
SOME_ID = "01900000-0000-7000-8000-000000000000"


def components(db) -> dict[str, tuple[str, str | None, str]]:
    """name -> (status, group name, id) as stored."""
    with db.unit_of_work() as s:
        rows = sp.list_components(s, sp.require_page(s, "public"))
        names = {c.id: c.name for c in rows}
        return {c.name: (c.status, names.get(c.group_id), str(c.id)) for c in rows}


def audit_actions(db) -> list[str]:
    with db.unit_of_work() as s:
        return list(s.execute(sa.select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())


def post(client, path: str, data: dict[str, str]):
    return post_form(client, path, data, page=PAGE)


def test_admin_builds_groups_renames_moves_and_deletes_components(web_client, world, db):
    admin = web_client("admin")
    assert post(admin, f"{PAGE}/components", {"name": "Shop", "is_group": "on"}).status_code == 303
    assert post(admin, f"{PAGE}/components", {"name": "Search"}).status_code == 303
    shop, search = components(db)["Shop"][2], components(db)["Search"][2]
    r = post(admin, f"{PAGE}/components/{search}", {"name": "Product search", "group": shop})
    assert r.status_code == 303
    assert components(db)["Product search"][1] == "Shop"
    page = admin.get(PAGE).text
    assert "Edit Product search" in page and f'<option value="{shop}" selected>Shop</option>' in page
    assert post(admin, f"{PAGE}/components/{search}", {"name": "Product search", "group": ""}).status_code == 303
    assert components(db)["Product search"][1] is None  # moved out of the group
    r = post(admin, f"{PAGE}/components/{search}/delete", {})
    assert r.status_code == 303 and "Product search" not in components(db)
    assert {"statuspage.component_create", "statuspage.component_update",
            "statuspage.component_delete"} <= set(audit_actions(db))


@pytest.mark.parametrize("data, status, words", [
    ({"name": ""}, 422, "name is required"),
    ({"name": "X", "group": "not-an-id"}, 404, "component group"),
])
def test_bad_component_edits_are_readable_4xx(web_client, world, db, data, status, words):
    admin = web_client("admin")
    checkout = components(db)["Checkout"][2]
    r = post(admin, f"{PAGE}/components/{checkout}", data)
    assert r.status_code == status and words in html.unescape(r.text)


def test_grouping_a_component_under_a_plain_component_is_refused(web_client, world, db):
    admin = web_client("admin")
    post(admin, f"{PAGE}/components", {"name": "Search"})
    checkout, search = components(db)["Checkout"][2], components(db)["Search"][2]
    r = post(admin, f"{PAGE}/components/{search}", {"name": "Search", "group": checkout})
    assert r.status_code == 422 and "must be a component group" in html.unescape(r.text)


def test_a_responder_posts_updates_and_resolves_a_public_incident_of_its_own(web_client, world, db):
    responder = web_client("responder")
    checkout = components(db)["Checkout"][2]
    r = post(responder, f"{PAGE}/incidents", {"name": "Slow checkout", "status": "investigating", "impact": "",
                                              "body": "We are looking into slow checkouts.",
                                              f"component:{checkout}": "degraded_performance", "notify": "on"})
    assert r.status_code == 303
    assert components(db)["Checkout"][0] == "degraded_performance"
    page = responder.get(PAGE).text
    assert "Slow checkout" in page and "We are looking into slow checkouts." in page and "impact minor" in page
    sid = re.search(r'action="/status-pages/public/incidents/([0-9a-f-]{36})/updates"', page).group(1)
    r = post(responder, f"{PAGE}/incidents/{sid}/updates", {"status": "identified", "body": "A cache node is down.",
                                                            f"component:{checkout}": "partial_outage"})
    assert r.status_code == 303
    assert components(db)["Checkout"][0] == "partial_outage"
    r = post(responder, f"{PAGE}/incidents/{sid}/updates", {"status": "resolved",
                                                            "body": "This incident has been resolved."})
    assert r.status_code == 303
    assert components(db)["Checkout"][0] == "operational"
    page = responder.get(PAGE).text
    assert "No open public incident" in page and "Recently resolved" in page
    with db.unit_of_work() as s:
        [si] = sp.list_status_incidents(s, page=sp.require_page(s, "public"), kind=StatusIncidentKind.incident)
        assert si.incident_id is None and si.status == "resolved"
    assert {"statuspage.incident_create", "statuspage.incident_update"} <= set(audit_actions(db))


@pytest.mark.parametrize("data, status, words", [
    ({"name": "", "status": "investigating", "body": "b"}, 422, "name is required"),
    ({"name": "N", "status": "exploding", "body": "b"}, 422, "status"),
    ({"name": "N", "status": "investigating", "body": ""}, 422, "body is required"),
    ({"name": "N", "status": "investigating", "body": "b", "impact": "apocalyptic"}, 422, "impact"),
    ({"name": "N", "status": "investigating", "body": "b", f"component:{SOME_ID}": "major_outage"}, 404, "component"),
])
def test_bad_public_incidents_are_readable_4xx(web_client, world, data, status, words):
    r = post(web_client("responder"), f"{PAGE}/incidents", data)
    assert r.status_code == status, r.text
    assert words in html.unescape(r.text)


def test_maintenance_moves_along_and_completes(web_client, world, db, clock):
    responder = web_client("responder")
    checkout = components(db)["Checkout"][2]
    start = clock.now().strftime("%Y-%m-%dT%H:%M")
    end = (clock.now() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    r = post(responder, f"{PAGE}/maintenance", {"name": "Database upgrade", "body": "Short read-only period.",
                                                "start": start, "end": end, f"component:{checkout}": "on"})
    assert r.status_code == 303
    page = responder.get(PAGE).text
    mid = re.search(r'action="/status-pages/public/maintenance/([0-9a-f-]{36})"', page).group(1)
    assert post(responder, f"{PAGE}/maintenance/{mid}", {"status": "in_progress", "body": ""}).status_code == 303
    assert components(db)["Checkout"][0] == "under_maintenance"
    bad = post(responder, f"{PAGE}/maintenance/{mid}", {"status": "scheduled"})
    assert bad.status_code == 409 and "cannot go from in_progress to scheduled" in bad.text
    assert post(responder, f"{PAGE}/maintenance/{mid}", {"status": "completed", "body": "All done."}).status_code == 303
    assert components(db)["Checkout"][0] == "operational"
    page = responder.get(PAGE).text
    assert "Database upgrade</strong> — completed" in page
    assert f'action="/status-pages/public/maintenance/{mid}"' not in page  # nothing left to post


def test_admin_lists_and_removes_subscribers(web_client, world, db, clock, app):
    with db.unit_of_work() as s:
        page = sp.require_page(s, "public")
        token = subs.subscribe_email(s, now=clock.now(), page=page, email="carol@example.test",
                                     secret=app.state.settings.resolved_secret_key())
        subs.confirm(s, now=clock.now(), token=token, page=page)
    admin = web_client("admin")
    text = admin.get(PAGE).text
    assert "carol@example.test" in text and "confirmed" in text
    sub_id = re.search(r'action="/status-pages/public/subscribers/([0-9a-f-]{36})/remove"', text).group(1)
    responder = web_client("responder")
    assert "carol@example.test" not in responder.get(PAGE).text  # addresses are the admins'
    assert post(responder, f"{PAGE}/subscribers/{sub_id}/remove", {}).status_code == 403
    assert post(admin, f"{PAGE}/subscribers/{sub_id}/remove", {}).status_code == 303
    text = admin.get(PAGE).text
    assert "carol@example.test" not in text and "1 former subscriber" in text
    assert "statuspage.subscriber_remove" in audit_actions(db)


def test_what_each_role_may_do(web_client, world, db):
    checkout = components(db)["Checkout"][2]
    responder, viewer = web_client("responder"), web_client("viewer")
    page = responder.get(PAGE).text
    assert 'id="public-incident-form"' in page and "component-edit-form" not in page
    assert post(responder, f"{PAGE}/components/{checkout}", {"name": "Renamed"}).status_code == 403
    assert post(responder, f"{PAGE}/components/{checkout}/delete", {}).status_code == 403
    page = viewer.get(PAGE).text
    assert 'id="public-incident-form"' not in page and 'id="maintenance-form"' not in page
    token = csrf(viewer, PAGE)
    assert post_form(viewer, f"{PAGE}/incidents", {"name": "N", "status": "investigating", "body": "b"},
                     token=token).status_code == 403
    assert components(db)["Checkout"][0] == "operational"


def test_status_admin_posts_are_csrf_checked(web_client, world):
    admin = web_client("admin")
    for path in (f"{PAGE}/components/{SOME_ID}", f"{PAGE}/components/{SOME_ID}/delete", f"{PAGE}/incidents",
                 f"{PAGE}/incidents/{SOME_ID}/updates", f"{PAGE}/maintenance/{SOME_ID}",
                 f"{PAGE}/subscribers/{SOME_ID}/remove"):
        assert admin.post(path, data={"name": "x"}, follow_redirects=False).status_code == 403, path
