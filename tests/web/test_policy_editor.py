"""The escalation policy editor: an admin builds a policy level by level without JavaScript (the
editor's buttons re-render the form, only Save writes), changes and deletes it; the service's
validation and audit apply; a policy a service pages with is not deleted; others cannot edit."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from tests.harness.console import csrf, post_form
from tocsin.audit.models import AuditEntry
from tocsin.escalation import service as esc
from tocsin.escalation.models import EscalationPolicy


def fields(page: str) -> dict[str, str]:
    """The editor form's current values (inputs and the selected options), as a browser would send them."""
    form = page[page.index('id="policy-form"'):page.index("</form>", page.index('id="policy-form"'))]
    out = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form):
        out[name] = html.unescape(value)
    for name in re.findall(r'<textarea[^>]*name="([^"]+)"', form):
        out[name] = html.unescape(re.search(rf'name="{name}"[^>]*>([^<]*)</textarea>', form).group(1))
    for name, body in re.findall(r'<select[^>]*name="([^"]+)">(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        out[name] = chosen.group(1) if chosen else ""
    out.pop("csrf_token", None)
    return out


def option(page: str, label: str) -> str:
    """The value of the target option whose label contains `label`."""
    return re.search(rf'<option value="([^"]+)"[^>]*>[^<]*{re.escape(label)}', page).group(1)


def levels(db, slug: str) -> list[tuple[int, list[str]]]:
    with db.unit_of_work() as s:
        policy = esc.require_policy(s, slug)
        rows = esc.list_levels(s, [policy.id])[policy.id]
        names = esc.target_names(s, rows)
        return [(lv.delay_minutes, [names[t["id"]] for t in lv.targets]) for lv in rows]


def test_admin_builds_a_policy_level_by_level(web_client, world, db, make_web_user):
    sam = make_web_user("responder", name="Sam Second")
    admin = web_client("admin")
    page = admin.get("/escalation-policies/new")
    assert page.status_code == 200
    assert page.text.count("<legend>Level") == 2, "a new policy starts with two blank levels"
    token = csrf(admin, "/escalation-policies/new")

    form = fields(page.text)
    form.update({"name": "Checkout paging", "l0-t0": option(page.text, "Primary"), "l0-delay": "5",
                 "l1-t0": option(page.text, sam.email), "l1-delay": "15", "repeat": "2"})
    # "Add a level" re-renders with a third, blank level, keeping what was chosen; nothing is written
    added = post_form(admin, "/escalation-policies/new", {**form, "op": "add-level"}, token=token)
    assert added.status_code == 200 and added.text.count("<legend>Level") == 3
    with db.unit_of_work() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(EscalationPolicy)).scalar_one() == 1  # world's
    form = fields(added.text)
    assert form["l0-t0"] == option(page.text, "Primary") and form["name"] == "Checkout paging"
    # another target on level 2, then move level 2 above level 1
    more = post_form(admin, "/escalation-policies/new", {**form, "op": "add-target-1"}, token=token)
    form = fields(more.text)
    form["l1-t1"] = option(more.text, "Olga Oncall")
    moved = post_form(admin, "/escalation-policies/new", {**form, "op": "up-1"}, token=token)
    form = fields(moved.text)
    assert form["l0-delay"] == "15" and form["l1-delay"] == "5"
    saved = post_form(admin, "/escalation-policies/new", {**form, "op": "save"}, token=token)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/escalation-policies/checkout-paging"
    # the blank third level is left out
    assert levels(db, "checkout-paging") == [(15, [sam.email, world["oncaller"].email]), (5, ["primary"])]
    view = admin.get("/escalation-policies/checkout-paging").text
    assert "runs again 2 more times" in view and 'href="/escalation-policies/checkout-paging/edit"' in view

    # edit: remove the first level
    edit = admin.get("/escalation-policies/checkout-paging/edit")
    form = fields(edit.text)
    removed = post_form(admin, "/escalation-policies/checkout-paging/edit", {**form, "op": "remove-0"}, token=token)
    saved = post_form(admin, "/escalation-policies/checkout-paging/edit", {**fields(removed.text), "op": "save"},
                      token=token)
    assert saved.status_code == 303
    assert levels(db, "checkout-paging") == [(5, ["primary"])]
    with db.unit_of_work() as s:
        audit = list(s.execute(sa.select(AuditEntry.action)).scalars())
    assert audit.count("escalation_policy.create") == 2 and "escalation_policy.update" in audit

    # unused: it can be deleted
    assert "No service pages with this policy." in admin.get("/escalation-policies/checkout-paging/edit").text
    r = post_form(admin, "/escalation-policies/checkout-paging/delete", {}, token=token)
    assert r.status_code == 303
    assert admin.get("/escalation-policies/checkout-paging").status_code == 404


def test_refused_saves_keep_the_entries(web_client, world, db):
    admin = web_client("admin")
    page = admin.get("/escalation-policies/new").text
    token = csrf(admin, "/escalation-policies/new")
    base = {**fields(page), "name": "Paging", "l0-t0": option(page, "Primary"), "op": "save"}
    cases = [
        ({"l0-delay": "0"}, 422, "between 1 and 1440"),
        ({"l0-delay": "soon"}, 422, "whole number of minutes"),
        ({"l0-t0": ""}, 422, "at least one level"),
        ({"l0-t0": "user:01900000-0000-7000-8000-000000000000"}, 422, "no user"),
        ({"repeat": "12"}, 422, "repeat must be between 0 and 9"),
        ({"slug": "Not A Key"}, 422, "slug"),
        ({"name": "Default", "slug": "default"}, 409, "already exists"),
        ({"op": "explode"}, 422, "unknown editor action"),
    ]
    for change, status, words in cases:
        r = post_form(admin, "/escalation-policies/new", {**base, **change}, token=token)
        assert r.status_code == status, (change, r.status_code)
        assert words in html.unescape(r.text), (change, words)
        if change.get("op") is None:
            assert 'value="Paging"' in r.text or 'value="Default"' in r.text, "the form keeps what was typed"
    with db.unit_of_work() as s:
        assert [p.slug for p in esc.list_policies(s)] == ["default"]


def test_a_policy_in_use_is_not_deleted(web_client, world, db):
    admin = web_client("admin")
    edit = admin.get("/escalation-policies/default/edit").text
    assert 'href="/services/checkout">checkout</a> pages with this policy' in edit
    assert 'id="policy-delete"' not in edit
    r = post_form(admin, "/escalation-policies/default/delete", {}, token=csrf(admin, "/escalation-policies"))
    assert r.status_code == 409 and "checkout" in r.text and "another policy first" in r.text
    with db.unit_of_work() as s:
        assert esc.get_policy(s, "default") is not None


def test_only_admins_edit_policies(web_client, world, db):
    for role in ("viewer", "responder"):
        client = web_client(role)
        assert "/escalation-policies/new" not in client.get("/escalation-policies").text
        assert "/edit" not in client.get("/escalation-policies/default").text
        for path in ("/escalation-policies/new", "/escalation-policies/default/edit"):
            assert client.get(path).status_code == 403, (role, path)
        token = csrf(client, "/escalation-policies")
        for path in ("/escalation-policies/new", "/escalation-policies/default/edit",
                     "/escalation-policies/default/delete"):
            r = post_form(client, path, {"name": "x", "levels": "0", "op": "save"}, token=token)
            assert r.status_code == 403 and "admin role" in r.text, (role, path, r.status_code)
    admin = web_client("admin")
    assert admin.get("/escalation-policies/nope/edit").status_code == 404
    assert 'href="/escalation-policies/new"' in admin.get("/escalation-policies").text
