"""Drill mode in the console (issue 19): an admin creates a drill service from the services form;
its alert and incident carry a DRILL badge in the lists and on the alert page, the room shows a
DRILL banner, its public-update form is replaced by a note (a post is refused all the same), and
paging someone outside the exercise's participants from the room is refused."""

from __future__ import annotations

from tests.harness.console import new_incident, post_form, room_of

NEW_SERVICE = {"name": "Drill checkout", "slug": "drill-checkout", "tier": "3", "paging_unit": "group",
               "group_window": "5m", "flap_window": "0s", "drill": "1"}


def test_drill_service_alert_and_room_are_marked_and_kept_to_participants(web_client, make_web_user, db, clock,
                                                                          world) -> None:
    from tocsin.inbound.types import Action, AlertSeverity, Event
    from tocsin.pipeline.ingest import Incoming, ingest
    from tocsin.services.service import require_service

    admin = web_client("admin")
    r = post_form(admin, "/services", NEW_SERVICE, page="/services/new")
    assert r.status_code == 303, r.text
    edit = admin.get("/services/drill-checkout/edit").text
    assert 'id="svc-drill-note"' in edit and "DRILL" in edit

    with db.unit_of_work() as s:
        sid = require_service(s, "drill-checkout").id
        (out,) = ingest(s, [Incoming(Event(action=Action.trigger, dedup_key="db-down", summary="drill db is down",
                                           severity=AlertSeverity.critical, source="exercise", labels={}),
                                     sid, None, "events_v2")], now=clock.now())
    alerts = admin.get("/alerts").text
    row = alerts[alerts.index("drill db is down"):]
    assert '<span class="badge drill">DRILL</span>' in row[:200]
    assert 'id="alert-drill"' in admin.get(f"/alerts/{out.alert_id}").text

    c, ref = new_incident(web_client, service="drill-checkout", title="Drill: database down")
    html = room_of(c, ref)
    assert 'id="room-drill"' in html and "This incident is an exercise" in html
    assert 'id="public-drill-note"' in html and 'id="public-update-form"' not in html
    listed = c.get("/incidents").text
    assert '<span class="badge drill">DRILL</span>' in listed[listed.index(ref):listed.index(ref) + 300]

    refused = post_form(c, f"/incidents/{ref}/public", {"page": "public", "title": "Checkout down",
                                                        "status": "investigating", "body": "Looking"},
                        page=f"/incidents/{ref}")
    assert refused.status_code == 409 and "a drill never reaches a public status page" in refused.text

    outsider = make_web_user("responder", name="Otto Outsider")
    refused = post_form(c, f"/incidents/{ref}/responders", {"target": f"user:{outsider.id}", "message": "help"},
                        page=f"/incidents/{ref}")
    assert refused.status_code == 403 and "a drill pages only the exercise&#39;s participants" in refused.text
    assert "Otto Outsider is not taking part" in refused.text
