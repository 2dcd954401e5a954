"""The incident room's header and one-click actions (issue 16): Acknowledge, Mitigated and Resolve
as buttons with the current and next statuses shown; a flash message that shows once; the
suggested severity computed as the impact form is filled; the timeline in human words; the
conference link; deploys of the incident's services; resolving with an open public incident;
declaring a security or restricted incident from the dialog (and no Declare for viewers).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from tests.harness.console import new_incident, post_form, room_of, timeline


def _quick(html: str) -> str:
    start = html.find('<section class="room-quick"')
    return html[start:html.index("</section>", start)] if start >= 0 else ""


def test_one_click_mitigated_then_resolve_with_next_statuses_always_shown(web_client) -> None:
    c, ref = new_incident(web_client)
    html = room_of(c, ref)
    assert '<dd id="room-status">investigating</dd>' in html
    assert '<dd id="room-next">identified, mitigated, monitoring, resolved</dd>' in html
    quick = _quick(html)
    assert 'id="mitigated-form"' in quick and 'id="resolve-form"' in quick
    assert quick.index('id="mitigated-form"') < html.index('<ol id="timeline"')  # before the timeline

    r = post_form(c, f"/incidents/{ref}/status", {"status": "mitigated"}, page=f"/incidents/{ref}")
    assert r.status_code == 303 and r.headers["location"] == f"/incidents/{ref}"
    html = c.get(r.headers["location"]).text
    assert '<dd id="room-status">mitigated</dd>' in html and '<p class="flash" role="status">Status changed.' in html
    assert 'id="mitigated-form"' not in _quick(html), "mitigated is not offered again"

    post_form(c, f"/incidents/{ref}/status", {"status": "resolved"}, page=f"/incidents/{ref}")
    html = room_of(c, ref)
    assert '<dd id="room-status">resolved</dd>' in html
    assert '<dd id="room-next">investigating, postmortem, closed</dd>' in html
    assert 'id="resolve-form"' not in html


def test_a_flash_message_shows_once_and_not_after_a_reload(web_client) -> None:
    c, ref = new_incident(web_client)
    r = post_form(c, f"/incidents/{ref}/note", {"text": "checking the load balancer"}, page=f"/incidents/{ref}")
    assert "?" not in r.headers["location"], "the message is not in the address, so a reload cannot repeat it"
    assert '<p class="flash" role="status">Note added.</p>' in c.get(r.headers["location"]).text
    again = c.get(r.headers["location"])
    assert '<p class="flash"' not in again.text and again.headers["cache-control"] == "no-store"


def test_viewers_get_no_one_click_actions_and_are_refused(web_client) -> None:
    _, ref = new_incident(web_client)
    viewer = web_client("viewer")
    html = room_of(viewer, ref)
    assert 'class="room-quick"' not in html and 'id="resolve-form"' not in html
    assert '<dd id="room-next">' in html  # they still see where it can go
    r = post_form(viewer, f"/incidents/{ref}/status", {"status": "resolved"}, page=f"/incidents/{ref}")
    assert r.status_code == 403


def test_the_severity_suggestion_follows_the_impact_and_refuses_bad_numbers(web_client) -> None:
    c = web_client("responder")
    r = c.get("/severity-suggestion", params={"customers_affected": "300"})
    assert r.status_code == 200 and r.json() == {"severity": "SEV2", "reasons": ["100 or more customers affected"]}
    r = c.get("/severity-suggestion", params={"revenue_at_risk_per_hour": "25,000", "customer_facing": "yes"})
    assert r.json()["severity"] == "SEV1"
    assert c.get("/severity-suggestion").json() == {"severity": None, "reasons": []}
    bad = c.get("/severity-suggestion", params={"customers_affected": "lots"})
    assert bad.status_code == 422 and "customers affected must be a number" in bad.json()["error"]["message"]
    _, ref = new_incident(web_client)
    html = room_of(c, ref)
    assert 'id="suggested-severity" aria-live="polite" data-url="/severity-suggestion"' in html


def test_the_timeline_speaks_in_words_not_field_names(web_client) -> None:
    c, ref = new_incident(web_client)
    form = {"severity": "SEV2", "customers_affected": "300", "revenue_at_risk_per_hour": "",
            "data_sensitivity": "confidential", "customer_facing": "no"}
    r = post_form(c, f"/incidents/{ref}/severity", form, page=f"/incidents/{ref}")
    assert r.status_code == 303, r.text
    tl = timeline(room_of(c, ref))
    assert "Impact set: 300 customers affected, confidential data involved, not customer facing" in tl
    assert "customers_affected" not in tl and "=" not in re.sub(r'<[^>]+>', "", tl)


def test_the_conference_link_is_checked_saved_and_shown_in_the_header(web_client, client) -> None:
    c, ref = new_incident(web_client)
    bad = post_form(c, f"/incidents/{ref}/conference", {"conference_url": "javascript:alert(1)"},
                    page=f"/incidents/{ref}")
    assert bad.status_code == 422 and "http:// or https://" in bad.text
    r = post_form(c, f"/incidents/{ref}/conference", {"conference_url": "https://meet.example.com/inc-1"},
                  page=f"/incidents/{ref}")
    assert r.status_code == 303
    html = room_of(c, ref)
    assert '<a href="https://meet.example.com/inc-1" id="room-conference"' in html
    assert "Conference link set to https://meet.example.com/inc-1" in timeline(html)
    api = client.get(f"/api/v1/incidents/{ref}", headers=c.user.headers).json()
    assert api["conference_url"] == "https://meet.example.com/inc-1"
    r = client.patch(f"/api/v1/incidents/{ref}", json={"conference_url": "ftp://x"}, headers=c.user.headers)
    assert r.status_code == 422
    r = client.patch(f"/api/v1/incidents/{ref}", json={"conference_url": None}, headers=c.user.headers)
    assert r.status_code == 200 and r.json()["conference_url"] is None
    assert 'id="room-conference"' not in room_of(c, ref)


def test_changes_to_the_incidents_services_are_listed_in_the_room(web_client, make_service, db, clock) -> None:
    from tocsin.integrations.models import ChangeEvent

    service_id = make_service("payments")
    c, ref = new_incident(web_client, service="payments")
    with db.unit_of_work() as s:
        s.add(ChangeEvent(id=uuid.uuid4(), service_id=service_id, summary="Deploy payments v2.3.1", source="ci",
                          occurred_at=clock.now() - timedelta(minutes=20), received_at=clock.now(),
                          links=[{"href": "https://ci.example.com/builds/77", "text": "build"}]))
        s.add(ChangeEvent(id=uuid.uuid4(), service_id=service_id, summary="Too old to matter", source="ci",
                          occurred_at=clock.now() - timedelta(days=3), received_at=clock.now(), links=[]))
    html = room_of(c, ref)
    assert '<table id="changes">' in html and '<div class="table-wrap">' in html
    assert '<a href="https://ci.example.com/builds/77" rel="noopener noreferrer">Deploy payments v2.3.1</a>' in html
    assert "Too old to matter" not in html


def test_resolving_with_an_open_public_incident_posts_the_resolved_update(web_client, world, client) -> None:
    c, ref = new_incident(web_client, service="checkout")
    r = post_form(c, f"/incidents/{ref}/public", {"page": "public", "title": "Checkout is slow",
                                                    "status": "investigating", "body": "We are looking into it."},
                  page=f"/incidents/{ref}")
    assert r.status_code == 303, r.text
    html = room_of(c, ref)
    assert 'id="room-public-public">Public status</a>: <span class="public-status">investigating</span>' in html
    quick = _quick(html)
    assert 'name="post_public" value="1" checked' in quick and "Public status" in quick

    r = post_form(c, f"/incidents/{ref}/status", {"status": "resolved", "post_public": "1",
                                                  "public_body": "Checkout is fast again."}, page=f"/incidents/{ref}")
    assert r.status_code == 303
    html = c.get(r.headers["location"]).text
    assert "Resolved, and the resolved update is on the status page." in html
    assert '<span class="public-status">resolved</span>' in html
    client.app.state.status_cache.refresh_all()  # the page is re-rendered off the request path: now, not later
    public = client.get("/status/public")
    assert public.status_code == 200 and "Checkout is fast again." in public.text


def test_resolving_without_the_box_leaves_the_public_incident_open(web_client, world) -> None:
    c, ref = new_incident(web_client, service="checkout")
    post_form(c, f"/incidents/{ref}/public", {"page": "public", "title": "Checkout is slow",
                                              "status": "identified", "body": "A fix is rolling out."},
              page=f"/incidents/{ref}")
    post_form(c, f"/incidents/{ref}/status", {"status": "resolved"}, page=f"/incidents/{ref}")
    html = room_of(c, ref)
    assert '<dd id="room-status">resolved</dd>' in html and '<span class="public-status">identified</span>' in html


def test_declaring_a_security_incident_restricts_it_and_viewers_are_not_offered_declare(web_client) -> None:
    c, ref = new_incident(web_client, title="Leaked API key", severity="SEV2", kind="security")
    html = room_of(c, ref)
    assert "<dd>security · restricted (need-to-know)</dd>" in html
    c2, op_ref = new_incident(web_client, title="Odd login pattern", kind="operational", need_to_know="1")
    assert "<dd>operational · restricted (need-to-know)</dd>" in room_of(c2, op_ref)
    other = web_client("responder")
    assert other.get(f"/incidents/{ref}").status_code == 404, "need-to-know hides it from others"
    assert other.get(f"/incidents/{op_ref}").status_code == 404
    bad = post_form(c, "/incidents", {"title": "x", "severity": "SEV3", "kind": "nuclear"})
    assert bad.status_code == 422 and "operational or security" in bad.text
    retry = post_form(c, "/incidents", {"title": "", "severity": "SEV2", "kind": "security", "need_to_know": "1"})
    assert retry.status_code == 422, "the form comes back keeping the kind and the restriction"
    assert '<option value="security" selected>' in retry.text and 'id="redeclare-need-to-know" name="need_to_know" ' \
        'value="1" checked' in retry.text

    viewer = web_client("viewer")
    page = viewer.get("/").text
    assert 'id="declare-open"' not in page and 'id="declare-dialog"' not in page
    refused = post_form(viewer, "/incidents", {"title": "x", "severity": "SEV3"})
    assert refused.status_code == 403 and 'id="redeclare-form"' not in refused.text
    assert 'id="declare-kind"' in c.get("/").text and 'id="declare-need-to-know"' in c.get("/").text


def test_the_phone_menu_button_controls_the_main_navigation(web_client) -> None:
    page = web_client("responder").get("/").text
    assert ('<button type="button" id="menu-toggle" class="button secondary menu-toggle" aria-expanded="false" '
            'aria-controls="main-nav" hidden>Menu</button>') in page
    assert '<nav aria-label="Main" id="main-nav">' in page and '<script src="/static/nav.js" defer></script>' in page
