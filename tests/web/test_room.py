"""The incident room in the console: declaring, the room page, and each action form.

Everything goes through the real login, CSRF and form posts (TestClient), on SQLite and
PostgreSQL; the checks read what a responder would see on the page afterwards.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.harness.console import csrf, new_incident, post_form, room_of, timeline
from tests.harness.incidents import declare


def test_declare_from_the_dialog_opens_the_room(web_client, make_service) -> None:
    make_service("payments")
    c, ref = new_incident(web_client, title="Payments down", severity="SEV1", service="payments")
    html = room_of(c, ref)
    assert f'<span class="room-ref">{ref}</span> Payments down</h1>' in html
    assert '<span class="sev sev-sev1" id="room-severity">SEV1</span>' in html
    assert "Incident Commander: " + c.user.name in html  # the declarer commands
    assert '<dd id="room-services">payments</dd>' in html
    assert "SEV1: every 30 min" in html
    assert 'data-kind="declared"' in timeline(html)
    assert c.get("/incidents").text.count(f'href="/incidents/{ref}"') == 1


@pytest.mark.parametrize("form,message", [
    ({"title": "", "severity": "SEV2"}, "give the incident a title"),
    ({"title": "x", "severity": "SEV9"}, "choose a severity"),
    ({"title": "x", "severity": "SEV2", "service": "nope"}, "nope"),
    ({"title": "x" * 301, "severity": "SEV2"}, "at most 300"),
])
def test_declare_refuses_bad_input_readably(web_client, form, message) -> None:
    c = web_client("responder")
    r = post_form(c, "/incidents", form)
    assert 400 <= r.status_code < 500 and message in r.text
    assert 'id="redeclare-form"' in r.text  # the values come back to fix


@pytest.mark.parametrize("action,form,expect_in_timeline,expect_in_header", [
    ("note", {"text": "Rolled back deploy 42"}, "Rolled back deploy 42", None),
    ("status", {"status": "mitigated"}, "Status changed: investigating → mitigated", '<dd id="room-status">mitigated'),
    ("severity", {"severity": "SEV1", "customers_affected": "5000", "revenue_at_risk_per_hour": "",
                  "data_sensitivity": "", "customer_facing": "yes"}, "Severity changed from SEV2 to SEV1",
     '<span class="sev sev-sev1" id="room-severity">SEV1</span>'),
    ("role", {"role": "scribe", "user": "@other"}, "is now Scribe", "Scribe: "),
    ("role", {"role": "incident_commander", "user": "@other"}, "(handed over from", "Incident Commander: "),
    ("join", {"kind": "observer"}, "joined as observer", None),
    ("link", {"service": "payments"}, "Affected services: payments", '<dd id="room-services">payments'),
])
def test_each_action_changes_the_incident(web_client, make_web_user, make_service, action, form,
                                          expect_in_timeline, expect_in_header) -> None:
    make_service("payments")
    _, ref = new_incident(web_client)
    other = make_web_user("responder", name="Other Person")
    c = web_client(other) if action == "join" else web_client("responder")
    form = {k: (str(other.id) if v == "@other" else v) for k, v in form.items()}
    before = timeline(room_of(c, ref)).count('class="entry')
    r = post_form(c, f"/incidents/{ref}/{action}", form, page=f"/incidents/{ref}")
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/incidents/{ref}"
    html = c.get(r.headers["location"]).text
    assert '<p class="flash" role="status">' in html
    assert '<p class="flash"' not in c.get(r.headers["location"]).text, "a reload shows the message no more"
    assert expect_in_timeline in timeline(html)
    assert timeline(html).count('class="entry') > before
    if expect_in_header:
        assert expect_in_header in html[:html.index('<ol id="timeline"')]


def test_acknowledge_a_triaged_incident_without_commander(client, web_client, make_person) -> None:
    alice = make_person("admin")
    ref = declare(client, alice, status="triage", severity="SEV3")["ref"]
    r = client.post(f"/api/v1/incidents/{ref}/roles", json={"role": "incident_commander", "user": None},
                    headers=alice.headers)
    assert r.status_code == 200, r.text
    bob = web_client("responder")
    html = room_of(bob, ref)
    assert 'id="ack-form"' in html and "<strong>No Incident Commander</strong>" in html
    r = post_form(bob, f"/incidents/{ref}/ack", {}, page=f"/incidents/{ref}")
    assert r.status_code == 303
    html = room_of(bob, ref)
    assert '<dd id="room-status">investigating' in html
    assert f"Incident Commander: {bob.user.name}" in html
    assert 'id="ack-form"' not in html
    again = post_form(bob, f"/incidents/{ref}/ack", {}, page=f"/incidents/{ref}")
    assert again.status_code == 409 and "already acknowledged" in again.text


def test_fetch_posts_get_json(web_client) -> None:
    c, ref = new_incident(web_client)
    token = csrf(c, f"/incidents/{ref}")
    ok = c.post(f"/incidents/{ref}/note", data={"text": "via fetch"},
                headers={"X-CSRF-Token": token, "Accept": "application/json", "X-Requested-With": "fetch"})
    assert ok.status_code == 200 and ok.json()["ok"] is True
    bad = c.post(f"/incidents/{ref}/note", data={"text": "  "},
                 headers={"X-CSRF-Token": token, "Accept": "application/json", "X-Requested-With": "fetch"})
    assert bad.status_code == 422 and bad.json()["error"]["message"] == "a note needs text"
    assert "via fetch" in timeline(room_of(c, ref))


def test_status_select_offers_only_allowed_next_statuses(web_client) -> None:
    c, ref = new_incident(web_client)
    html = room_of(c, ref)
    select = html[html.index('id="status-select"'):html.index("</select>", html.index('id="status-select"'))]
    assert re.findall(r'<option value="(\w+)"', select) == ["identified", "mitigated", "monitoring", "resolved"]


def test_closing_shows_the_postmortem_gate(web_client) -> None:
    c, ref = new_incident(web_client, severity="SEV1")
    assert post_form(c, f"/incidents/{ref}/status", {"status": "resolved"}, page=f"/incidents/{ref}").status_code == 303
    r = post_form(c, f"/incidents/{ref}/status", {"status": "closed"}, page=f"/incidents/{ref}")
    assert r.status_code == 409
    assert "SEV1 incidents close only with a published postmortem" in r.text
    assert '<details id="status-section" open>' in r.text  # the form that failed is open
    r = post_form(c, f"/incidents/{ref}/status", {"status": "closed", "postmortem_waived_reason": "duplicate of INC-1"},
                  page=f"/incidents/{ref}")
    assert r.status_code == 303
    assert '<dd id="room-status">closed' in room_of(c, ref)


def test_severity_form_shows_the_suggestion_and_asks_for_a_reason(web_client) -> None:
    c, ref = new_incident(web_client, severity="SEV3")
    form = {"severity": "SEV3", "customers_affected": "2000", "revenue_at_risk_per_hour": "",
            "data_sensitivity": "", "customer_facing": ""}
    r = post_form(c, f"/incidents/{ref}/severity", form, page=f"/incidents/{ref}")
    assert r.status_code == 422 and "the impact suggests SEV1" in r.text
    assert 'value="2000"' in r.text  # what was typed comes back
    r = post_form(c, f"/incidents/{ref}/severity", {**form, "severity_reason": "internal test tenants only"},
                  page=f"/incidents/{ref}")
    assert r.status_code == 303
    html = room_of(c, ref)
    assert "The impact suggests <strong>SEV1</strong>" in html and "internal test tenants only" in html


@pytest.mark.parametrize("action,form,status,message", [
    ("status", {"status": "bogus"}, 422, "choose a valid status"),
    ("status", {"status": "closed"}, 409, "cannot move an incident from investigating to closed"),
    ("severity", {"severity": "SEV2", "customers_affected": "lots"}, 422, "customers affected must be a number"),
    ("severity", {"severity": "SEV2", "revenue_at_risk_per_hour": "nan"}, 422, "revenue at risk per hour must be"),
    ("severity", {"severity": "SEV2", "customers_affected": "-1"}, 422, "must be between 0"),
    ("role", {"role": "forensics_lead", "user": "@me"}, 422, "exists only on security incidents"),
    ("role", {"role": "king", "user": "@me"}, 422, "choose a valid role"),
    ("role", {"role": "scribe", "user": "nobody@example.test"}, 404, "nobody@example.test"),
    ("join", {"kind": "boss"}, 422, "choose a valid kind"),
    ("note", {"text": "   "}, 422, "a note needs text"),
    ("link", {"alert": "not-an-id"}, 422, "is not an alert id"),
    ("link", {"alert": "01a21d4e-1075-72b1-a334-42886c467d33"}, 404, "01a21d4e"),
    ("link", {}, 422, "give an alert id or choose a service"),
    ("public", {"page": "nope", "status": "investigating", "body": "x"}, 404, "nope"),
])
def test_bad_input_rerenders_the_room_with_the_message(web_client, action, form, status, message) -> None:
    c, ref = new_incident(web_client)
    form = {k: (str(c.user.id) if v == "@me" else v) for k, v in form.items()}
    r = post_form(c, f"/incidents/{ref}/{action}", form, page=f"/incidents/{ref}")
    assert r.status_code == status, r.text[:500]
    assert message in r.text
    assert '<p class="error" role="alert" id="room-error">' in r.text and 'id="timeline"' in r.text


def test_unknown_action_and_incident_are_404(web_client) -> None:
    c, ref = new_incident(web_client)
    assert post_form(c, f"/incidents/{ref}/explode", {}, page=f"/incidents/{ref}").status_code == 404
    assert c.get("/incidents/INC-999").status_code == 404
    assert post_form(c, "/incidents/INC-999/note", {"text": "x"}, page=f"/incidents/{ref}").status_code == 404


def test_post_without_csrf_is_refused(web_client) -> None:
    c, ref = new_incident(web_client)
    r = c.post(f"/incidents/{ref}/note", data={"text": "forged", "csrf_token": "0" * 64}, follow_redirects=False)
    assert r.status_code == 403
    assert "forged" not in room_of(c, ref)


def test_viewer_sees_no_forms_and_cannot_post(web_client) -> None:
    _, ref = new_incident(web_client)
    viewer = web_client("viewer")
    html = room_of(viewer, ref)
    assert 'id="timeline"' in html
    for form_id in ("ack-form", "status-form", "severity-form", "role-form", "join-form", "note-form",
                    "public-update-form", "link-form"):
        assert f'id="{form_id}"' not in html
    token = csrf(viewer, f"/incidents/{ref}")
    for action in ("note", "status", "ack", "join"):
        r = post_form(viewer, f"/incidents/{ref}/{action}", {"text": "x", "status": "resolved", "kind": "observer"},
                      token=token)
        assert r.status_code == 403, (action, r.status_code)
    assert 'data-kind="note"' not in room_of(viewer, ref)


def test_restricted_incident_is_404_for_a_non_member(client, web_client, make_person) -> None:
    lead = make_person("responder")
    ref = declare(client, lead, title="Credential leak", kind="security")["ref"]
    outsider = web_client("responder")
    assert outsider.get(f"/incidents/{ref}").status_code == 404
    assert "Credential leak" not in outsider.get("/incidents").text
    r = post_form(outsider, f"/incidents/{ref}/note", {"text": "x"}, page="/incidents")
    assert r.status_code == 404
    assert "Credential leak" in room_of(web_client("admin"), ref)


def test_user_written_text_is_escaped(web_client) -> None:
    c, ref = new_incident(web_client, title='<script>alert("t")</script>')
    post_form(c, f"/incidents/{ref}/note", {"text": "<img src=x onerror=alert(1)>"}, page=f"/incidents/{ref}")
    html = room_of(c, ref)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "script-src 'self'" in c.get(f"/incidents/{ref}").headers["content-security-policy"]


def test_update_overdue_after_the_severity_target(web_client, clock) -> None:
    c, ref = new_incident(web_client, severity="SEV1")
    assert '<strong class="overdue" id="room-overdue" hidden>' in room_of(c, ref)
    clock.advance(timedelta(minutes=31))  # a SEV1 is updated every 30 min (TOCSIN_UPDATE_CADENCE)
    html = room_of(c, ref)
    assert '<strong class="overdue" id="room-overdue">update overdue</strong>' in html
    # only an update resets the clock (a plain note does not: tests/web/test_room_extras.py)
    post_form(c, f"/incidents/{ref}/note", {"text": "still on it", "update": "1"}, page=f"/incidents/{ref}")
    assert 'id="room-overdue" hidden' in room_of(c, ref)


def test_list_shows_open_incidents_first_and_filters(client, web_client, make_person) -> None:
    alice = make_person("admin")
    old = declare(client, alice, title="Old one", severity="SEV3")["ref"]
    client.patch(f"/api/v1/incidents/{old}", json={"status": "resolved"}, headers=alice.headers)
    new = declare(client, alice, title="Fresh one", severity="SEV3")["ref"]
    sev1 = declare(client, alice, title="Big one", severity="SEV1")["ref"]
    client.patch(f"/api/v1/incidents/{sev1}", json={"status": "resolved"}, headers=alice.headers)
    c = web_client("viewer")
    html = c.get("/incidents").text
    assert html.index(f">{new}<") < html.index(f">{sev1}<") < html.index(f">{old}<")
    only = c.get("/incidents", params={"severity": "SEV1"}).text
    assert sev1 in only and new not in only
    opened = c.get("/incidents", params={"status": "open"}).text
    assert new in opened and old not in opened
    bad = c.get("/incidents", params={"status": "sideways"})
    assert bad.status_code == 422 and "unknown status filter" in bad.text


def test_public_update_from_the_room(web_client, db, clock, system) -> None:
    from tocsin.statuspage import service as statuspages

    with db.unit_of_work() as s:
        page = statuspages.create_page(s, actor=system, now=clock.now(), slug="acme", name="Acme status")
        comp = statuspages.create_component(s, actor=system, now=clock.now(), page=page, name="Checkout")
        comp_id = str(comp.id)
    c, ref = new_incident(web_client, title="Internal: db primary OOM")
    html = room_of(c, ref)
    form_html = html[html.index('id="public-update-form"'):]
    assert 'name="title" maxlength="300" value=""' in form_html  # never the internal title
    assert f'name="component:{comp_id}"' in form_html
    r = post_form(c, f"/incidents/{ref}/public", {"page": "acme", "title": "Checkout is slow",
                                                  "status": "investigating", "body": "We are looking into it.",
                                                  f"component:{comp_id}": "degraded_performance"},
                  page=f"/incidents/{ref}")
    assert r.status_code == 303, r.text[:800]
    html = room_of(c, ref)
    assert "Status page update posted" in timeline(html)
    assert 'name="title" maxlength="300" value="Checkout is slow"' in html  # prefilled from the public incident


@pytest.mark.parametrize("severity,last,due", [
    ("SEV1", "2026-03-06T10:00:00+00:00", "2026-03-06T10:15:00+00:00"),
    ("SEV2", "2026-03-06T10:00:00+00:00", "2026-03-06T10:30:00+00:00"),
    ("SEV3", "2026-03-06T22:00:00+00:00", "2026-03-07T02:00:00+00:00"),
    ("SEV4", "2026-03-04T10:00:00+00:00", "2026-03-05T10:00:00+00:00"),  # Wednesday → Thursday
    ("SEV4", "2026-03-06T10:00:00+00:00", "2026-03-09T10:00:00+00:00"),  # Friday → Monday
    ("SEV4", "2026-03-07T10:00:00+00:00", "2026-03-09T10:00:00+00:00"),  # Saturday → Monday
])
def test_next_update_due_by_severity(severity: str, last: str, due: str) -> None:
    from datetime import datetime

    from tocsin.incidents.cadence import next_update_due, parse

    cadence = parse("SEV1=15m,SEV2=30m,SEV3=4h,SEV4=1bd")
    assert next_update_due(severity, datetime.fromisoformat(last), cadence) == datetime.fromisoformat(due)
