"""The console's communication pages: the room's Communication panel (fill from a template, post to an
audience), the template editor with its preview (/configure/comms) and stakeholder subscriptions."""

from __future__ import annotations

import html as htmllib

import sqlalchemy as sa

from tests.harness.console import new_incident, post_form, room_of, timeline


def test_the_panel_fills_an_internal_template_and_posts_it_to_stakeholders(web_client, make_web_user, db,
                                                                           make_service) -> None:
    from tocsin.escalation.models import Notification

    make_service("checkout")
    sam = make_web_user("viewer", name="Sam Stake")
    s_client = web_client(sam)
    assert post_form(s_client, "/stakeholders", {"service": "checkout"}, page="/stakeholders").status_code == 303
    assert "checkout" in s_client.get("/stakeholders").text
    c, ref = new_incident(web_client, title="Checkout <errors>", severity="SEV2", service="checkout")
    room = f"/incidents/{ref}"
    page = room_of(c, ref)
    assert 'id="comms"' in page and "every 1 h" in page and "Responders and stakeholders (1)" in page
    filled = post_form(c, f"{room}/comms/compose", {"template": "internal-update"}, page=room)
    assert filled.status_code == 200
    assert "Checkout &lt;errors&gt; is investigating (SEV2)" in filled.text  # escaped, in the update box
    text = htmllib.unescape(filled.text.split('id="comms-text"')[1].split(">", 1)[1].split("</textarea>")[0])
    r = post_form(c, f"{room}/comms/update", {"text": text, "audience": "stakeholders",
                                              "subject": f"{ref} update"}, page=room)
    assert r.status_code == 303 and r.headers["location"] == f"{room}#comms"
    after = c.get(room).text
    assert "Update sent to 1 stakeholder" in timeline(after)
    with db.read() as s:
        (row,) = s.execute(sa.select(Notification).where(Notification.kind == "stakeholder")).scalars()
        assert row.user_id == sam.id and "Checkout <errors>" in row.body


def test_a_status_page_template_prefills_the_public_update_form(web_client, db, clock, system) -> None:
    from tocsin.statuspage import service as statuspages

    with db.unit_of_work() as s:
        statuspages.create_page(s, actor=system, now=clock.now(), slug="acme", name="Acme status")
    c, ref = new_incident(web_client, title="Search slow", severity="SEV3")
    r = post_form(c, f"/incidents/{ref}/comms/compose", {"template": "status-page-update"}, page=f"/incidents/{ref}")
    assert r.status_code == 200
    form = r.text.split('id="public-update-form"')[1].split("</form>")[0]
    assert "We are investigating a problem affecting some of our services." in form


def test_a_refused_update_keeps_the_text_and_says_why(web_client) -> None:
    c, ref = new_incident(web_client)
    r = post_form(c, f"/incidents/{ref}/comms/update", {"text": "kept words", "audience": "everyone"},
                  page=f"/incidents/{ref}")
    assert r.status_code == 422 and "audience is responders or stakeholders" in r.text and "kept words" in r.text
    r = post_form(c, f"/incidents/{ref}/comms/compose", {"template": "nope"}, page=f"/incidents/{ref}")
    assert r.status_code == 404


def test_admins_edit_templates_with_a_preview_and_a_bad_template_is_refused(web_client) -> None:
    admin = web_client("admin")
    page = admin.get("/configure/comms").text
    assert "Internal update" in page and "Checkout payments failing is investigating (SEV2)" in page  # the sample
    form = {"name": "Short", "slug": "short", "channel": "internal", "kind": "any", "severities": "SEV1",
            "subject": "{{ ref }}", "body": "{{ title | upper }}"}
    r = post_form(admin, "/configure/comms", {**form, "preview": "1"}, page="/configure/comms")
    assert r.status_code == 200 and "CHECKOUT PAYMENTS FAILING" in r.text
    r = post_form(admin, "/configure/comms", {**form, "body": "{{ ''.__class__ }}"}, page="/configure/comms")
    assert r.status_code == 422 and "the body does not render" in r.text
    r = post_form(admin, "/configure/comms", form, page="/configure/comms")
    assert r.status_code == 303
    assert "Short" in admin.get("/configure/comms").text
    viewer = web_client("responder")
    assert 'action="/configure/comms"' not in viewer.get("/configure/comms").text
    assert post_form(viewer, "/configure/comms", form, page="/configure/comms").status_code == 403


def test_the_note_boxs_update_tick_reaches_the_stakeholders_too(web_client, make_web_user, db, make_service) -> None:
    """The room's note form says a ticked update goes to stakeholders: it does, and a plain note does not."""
    from tocsin.escalation.models import Notification

    make_service("checkout")
    sam = make_web_user("viewer", name="Sam Stake")
    assert post_form(web_client(sam), "/stakeholders", {"service": "checkout"}, page="/stakeholders").status_code == 303
    c, ref = new_incident(web_client, title="Checkout errors", severity="SEV2", service="checkout")
    room = f"/incidents/{ref}"
    assert post_form(c, f"{room}/note", {"text": "Just a note"}, page=room).status_code == 303
    assert post_form(c, f"{room}/note", {"text": "Rolled back; errors falling", "update": "1"}, page=room).status_code == 303
    assert "Update sent to 1 stakeholder" in timeline(c.get(room).text)
    with db.read() as s:
        rows = s.execute(sa.select(Notification).where(Notification.kind == "stakeholder")).scalars().all()
        assert [(r.user_id, "Rolled back; errors falling" in r.body, "Just a note" in r.body) for r in rows] == \
            [(sam.id, True, False)]
