"""Role handbooks, the IC bench and shadow layers in the console: an admin edits a handbook with a
preview (nothing saved until Save; audited), the room shows the handbook of the role the viewer
holds, admins mark people trained as IC, and the schedule editor makes a shadow layer."""

from __future__ import annotations

from tests.harness.console import new_incident, post_form, room_of


def test_an_admin_previews_then_saves_a_handbook_and_everyone_reads_it(web_client):
    admin, bob = web_client("admin"), web_client("responder")
    assert 'href="/configure/handbooks"' in admin.get("/configure").text
    listing = admin.get("/configure/handbooks").text
    assert 'href="/configure/handbooks/scribe"' in listing and "shipped" in listing
    page = "/configure/handbooks/scribe"
    editor = admin.get(page)
    assert editor.status_code == 200 and "You keep the record" in editor.text

    text = "# Scribe at Acme\n\n- Write **everything** down\n- <script>alert(1)</script>"
    shown = post_form(admin, page, {"body_md": text, "op": "preview"}, page=page)
    assert shown.status_code == 200
    preview = shown.text[shown.text.index('id="handbook-preview"'):]
    assert "<strong>everything</strong>" in preview and "&lt;script&gt;" in preview and "<script>alert" not in preview
    assert "You keep the record" in bob.get("/handbooks/scribe").text  # a preview saves nothing

    saved = post_form(admin, page, {"body_md": text, "op": "save"}, page=page)
    assert saved.status_code == 303 and saved.headers["location"] == "/handbooks/scribe"
    read = bob.get("/handbooks/scribe")
    assert "<h2>Scribe at Acme</h2>" in read.text and "You keep the record" not in read.text
    assert "Edit" not in read.text[read.text.index("All role handbooks"):read.text.index('id="handbook"')]
    assert bob.get(page).status_code == 403
    assert post_form(bob, page, {"body_md": "mine now", "op": "save"}, page="/handbooks/scribe").status_code == 403
    assert post_form(admin, page, {"body_md": "  ", "op": "save"}, page=page).status_code == 422
    assert admin.get("/handbooks/janitor").status_code == 404
    assert "handbook.update" in admin.get("/audit").text

    reset = post_form(admin, page, {"op": "reset"}, page=page)
    assert reset.status_code == 303 and "You keep the record" in bob.get("/handbooks/scribe").text


def _panel(html: str) -> str:
    panel = html[html.index('id="handbooks-section"'):]
    return panel[:panel.index("</details>")]


def test_the_room_shows_the_handbook_of_the_role_the_viewer_holds(web_client):
    c, ref = new_incident(web_client)  # the declarer takes command
    room = f"/incidents/{ref}"
    mine = _panel(room_of(c, ref))
    assert "You are Incident Commander" in mine and "<strong>coordinate; you do not fix.</strong>" in mine
    assert 'href="/handbooks/scribe"' in mine and 'href="/handbooks/incident_commander"' not in mine
    bob = web_client("responder")
    theirs = _panel(room_of(bob, ref))
    assert "You are" not in theirs and 'href="/handbooks/incident_commander"' in theirs
    assert "page-ic-form" not in theirs  # no IC schedule is set

    r = post_form(c, f"{room}/role", {"role": "scribe", "user": bob.user.email}, page=room)
    assert r.status_code == 303
    assert "What each role does: its handbook, in the Roles panel." in c.get(room).text  # the flash
    theirs = _panel(room_of(bob, ref))
    assert "You are Scribe" in theirs and "You keep the record" in theirs
    assert 'href="/handbooks/scribe"' not in theirs  # expanded, not linked


def test_admins_mark_people_trained_as_ic(web_client, make_web_user):
    admin, bob = web_client("admin"), web_client("responder")
    ivy = make_web_user("responder", name="Ivy")
    assert 'id="bench-empty"' in bob.get("/configure/ic-bench").text and 'id="bench-form"' not in bob.get(
        "/configure/ic-bench").text
    r = post_form(admin, "/configure/ic-bench", {"user": ivy.email}, page="/configure/ic-bench")
    assert r.status_code == 303
    bench = bob.get("/configure/ic-bench").text
    assert f'data-email="{ivy.email}" data-trained="1"' in bench
    assert post_form(bob, "/configure/ic-bench", {"user": bob.user.email}, page="/configure/ic-bench"
                     ).status_code == 403
    assert post_form(admin, "/configure/ic-bench", {"user": "nobody@example.test"}, page="/configure/ic-bench"
                     ).status_code == 404
    # the room names who is trained
    c, ref = new_incident(web_client)
    assert "Trained as IC: Ivy" in room_of(c, ref)
    post_form(admin, "/configure/ic-bench", {"user": ivy.email, "trained": "0"}, page="/configure/ic-bench")
    assert 'id="bench-empty"' in bob.get("/configure/ic-bench").text


def test_the_schedule_editor_makes_a_shadow_layer(web_client, make_web_user):
    admin = web_client("admin")
    rui, sam = make_web_user("responder", name="Rui"), make_web_user("responder", name="Sam")
    layer = {"layer_kind": "daily", "layer_timezone": "UTC", "layer_start": "2025-12-29T09:00",
             "layer_shift_hours": "24"}
    r = post_form(admin, "/schedules/new", {"name": "Payments", "slug": "payments", "timezone": "UTC", "team": "",
                                            "description": "", "layer_name": "primary", "layer_members": rui.email,
                                            **layer}, page="/schedules/new")
    assert r.status_code == 303, r.text
    edit = "/schedules/payments/edit"
    assert 'name="layer_shadow"' in admin.get(edit).text
    r = post_form(admin, "/schedules/payments/layers", {"layer_name": "learning", "layer_members": sam.email,
                                                         "layer_shadow": "1", **layer}, page=edit)
    assert r.status_code == 303, r.text
    page = admin.get("/schedules/payments").text
    assert 'data-shadow="1"><strong>learning</strong> <span class="badge">shadow</span>' in page
    assert "Shadowing now" in page and "Sam" in page[page.index('id="shadows-now"'):][:300]
    listing = admin.get("/schedules").text
    assert "Rui" in listing and "(shadow: Sam)" in listing  # Sam's layer is on top, yet Rui is on call
