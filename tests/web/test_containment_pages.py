"""The incident room's Containment panel and the checklist template editor (console): a responder
advances the phase, starts the checklist and ticks steps; investigating before preserving shows a
banner; viewers watch; admins edit templates, linked from /configure."""

from __future__ import annotations

from tests.harness.console import new_incident, post_form, room_of, timeline


def _panel(html: str) -> str:
    start = html.index('id="containment-section"')
    return html[start:html.index("</section>", start)]


def test_a_responder_works_the_containment_panel(web_client, make_web_user, app):
    c, ref = new_incident(web_client, kind="security")
    room = f"/incidents/{ref}"
    panel = _panel(room_of(c, ref))
    assert "Detection &amp; analysis" in panel and "CSF 2.0: Detect, Respond" in panel
    assert "Advance to Containment" in panel and "Default containment" in panel

    r = post_form(c, f"{room}/containment/phase", {"phase": "containment"}, page=room)
    assert r.status_code == 303 and r.headers["location"] == f"{room}#containment-section"
    back = post_form(c, f"{room}/containment/phase", {"phase": "detection_analysis"}, page=room)
    assert back.status_code == 409 and "only move forward" in back.text

    assert post_form(c, f"{room}/containment/checklist", {"template": "Default containment"}, page=room
                     ).status_code == 303
    for kind, title in (("investigate", "Read auth logs"), ("preserve", "Snapshot web-7")):
        assert post_form(c, f"{room}/containment/steps", {"kind": kind, "title": title, "target": "web-7"},
                         page=room).status_code == 303
    html = room_of(c, ref)
    investigate = html.split('data-kind="investigate" data-step="')[1].split('"')[0]
    ticked = post_form(c, f"{room}/containment/steps/{investigate}", {"done": "1"}, page=room)
    assert ticked.status_code == 303
    html = c.get(room).text
    assert "Forensics first: investigating web-7 before it was preserved" in html  # the flash
    banner = html[html.index('id="forensics-warnings"'):]
    assert "investigating web-7 before it was preserved" in banner[:banner.index("</div>")]
    assert "Phase: Detection &amp; analysis → Containment" in timeline(html)
    assert "Forensics first" in timeline(html)

    refused = post_form(c, f"{room}/containment/steps/{investigate}", {"done": "0"}, page=room)
    assert refused.status_code == 422  # un-ticking needs a reason
    assert post_form(c, f"{room}/containment/steps/{investigate}", {"done": "0", "reason": "wrong host"},
                     page=room).status_code == 303
    assert "Reason: wrong host" in timeline(room_of(c, ref))

    # the nudge off (TOCSIN_FORENSICS_NUDGE=off): a note that logs into web-7 warns no more
    warned = timeline(room_of(c, ref)).count("entry-forensics")
    app.state.settings.forensics_nudge = False
    post_form(c, f"{room}/note", {"text": "ssh into web-7"}, page=room)
    assert timeline(room_of(c, ref)).count("entry-forensics") == warned
    app.state.settings.forensics_nudge = True
    post_form(c, f"{room}/note", {"text": "ssh into web-7"}, page=room)
    assert timeline(room_of(c, ref)).count("entry-forensics") == warned + 1


def test_viewers_watch_and_operational_rooms_have_no_panel(web_client, make_web_user):
    _c, ref = new_incident(web_client, kind="security")  # restricted, as security incidents are by default
    ops_c, ops = new_incident(web_client)
    assert 'id="containment-section"' not in room_of(ops_c, ops)
    assert "Advance to" in _panel(room_of(web_client("admin"), ref))  # admins see every restricted incident
    v = web_client("viewer")
    r = post_form(v, f"/incidents/{ops}/containment/phase", {"phase": "containment"})
    assert r.status_code == 403
    assert v.get(f"/incidents/{ref}").status_code == 404  # restricted: not in the viewer's circle


def test_admins_edit_templates_from_configure(web_client):
    admin = web_client("admin")
    assert 'href="/checklist-templates"' in admin.get("/configure").text
    r = post_form(admin, "/checklist-templates", {"name": "Web host", "is_default": "1",
                                                   "steps": "preserve | Snapshot | web-7\ninvestigate | Read logs | web-7"},
                  page="/checklist-templates")
    assert r.status_code == 303
    page = admin.get("/checklist-templates").text
    assert "Web host <span class=\"badge\">default</span>" in page
    assert "preserve | Snapshot | web-7\ninvestigate | Read logs | web-7" in page
    bad = post_form(admin, "/checklist-templates", {"name": "Bad", "steps": "panic"}, page="/checklist-templates")
    assert bad.status_code == 422 and "kind | title | target" in bad.text
    responder = web_client("responder")
    shown = responder.get("/checklist-templates").text
    assert "Web host" in shown and 'action="/checklist-templates"' not in shown  # read only
    assert post_form(responder, "/checklist-templates", {"name": "Mine", "steps": "other | x"},
                     page="/checklist-templates").status_code == 403
    shipped = page.split('action="/checklist-templates/')[1].split('"')[0]  # listed by name: Default comes first
    deleted = post_form(admin, f"/checklist-templates/{shipped}", {"delete": "1", "name": "x", "steps": "x"},
                        page="/checklist-templates")
    assert deleted.status_code == 303 and "Default containment" not in admin.get("/checklist-templates").text
