"""Console: incident workflows and incident types under /configure (admins edit, others read), a type
chosen in the declare dialog, and the room's panel where its custom fields are edited."""

from __future__ import annotations

from tests.harness.console import new_incident, post_form, room_of, timeline


def test_an_admin_writes_a_workflow_and_a_mistake_names_its_step(web_client, make_team):
    make_team("dba")
    admin = web_client("admin")
    assert 'href="/configure/workflows"' in admin.get("/configure").text
    page = "/configure/workflows"
    form = {"name": "SEV1 basics", "trigger": "declared", "sev_SEV1": "1", "enabled": "1",
            "steps": "page_team | dba | Join\nopen_checklist | Nope"}
    r = post_form(admin, page, form, page=page)
    assert r.status_code == 422 and "step 2: no checklist template" in r.text
    r = post_form(admin, page, {**form, "steps": "page_team | dba | Join\n\nopen_checklist"}, page=page)
    assert r.status_code == 303
    html = admin.get(page).text
    assert "SEV1 basics" in html and "page team dba" in html and "severities SEV1" in html
    assert "page_team | dba | Join\nopen_checklist</textarea>" in html  # the edit form round-trips

    viewer = web_client("viewer")
    shown = viewer.get(page).text
    assert "SEV1 basics" in shown and 'id="workflow-new-form"' not in shown
    assert post_form(viewer, page, form, page=page).status_code == 403


def test_a_typed_incident_gets_its_fields_in_the_room(web_client):
    c, ref = new_incident(web_client, kind="operational", incident_type="vendor-outage")
    html = room_of(c, ref)
    panel = html[html.index('id="workflows-section"'):]
    assert "Vendor outage" in panel and 'name="cf_vendor"' in panel and "Vendor (required)" in panel
    room = f"/incidents/{ref}"
    r = post_form(c, f"{room}/custom-fields", {"cf_vendor": "Acme Cloud", "cf_vendor_ticket": "AC-9"}, page=room)
    assert r.status_code == 303 and r.headers["location"] == f"{room}#workflows-section"
    html = room_of(c, ref)
    assert "Custom fields changed: Vendor: Acme Cloud, Vendor ticket: AC-9" in timeline(html)
    assert 'value="Acme Cloud"' in html
    assert post_form(c, f"{room}/custom-fields", {"cf_vendor": ""}, page=room).status_code == 422


def test_an_admin_adds_an_incident_type(web_client):
    admin = web_client("admin")
    page = "/configure/incident-types"
    assert "Data loss" in admin.get(page).text  # the shipped types
    bad = post_form(admin, page, {"slug": "payments", "name": "Payments", "base_kind": "operational",
                                  "custom_fields": "psp | Provider | choice | required"}, page=page)
    assert bad.status_code == 422 and "needs choices" in bad.text
    r = post_form(admin, page, {"slug": "payments", "name": "Payments", "base_kind": "operational",
                                "custom_fields": "psp | Provider | choice | required | stripe, adyen",
                                "checklist": "Pause payouts"}, page=page)
    assert r.status_code == 303
    html = admin.get(page).text
    assert "Provider (choice, required)" in html and "psp | Provider | choice | required | stripe, adyen" in html
    assert '<option value="payments">Payments</option>' in admin.get("/incidents").text  # in the declare dialog
