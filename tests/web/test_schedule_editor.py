"""The schedule editor in the console: an admin builds a schedule with a layer and a restriction,
previews the final schedule (nothing written) and saves it; edits, adds and deletes layers; a
schedule an escalation policy pages is not deleted (the page says which policy). Bad input
re-shows the form with the service's message; responders and viewers are refused.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.harness.console import csrf, post_form

# The clock starts on Thursday 2026-01-01 12:00 UTC; the viewer's zone is UTC.


def layer(**extra: str) -> dict[str, str]:
    return {"layer_name": "business hours", "layer_kind": "daily", "layer_timezone": "UTC",
            "layer_start": "2025-12-29T09:00", "layer_shift_hours": "24", **extra}


def weekdays_9_to_5(row: int = 0) -> dict[str, str]:
    return {**{f"r{row}_d{d}": "1" for d in range(1, 6)}, f"r{row}_start": "09:00", f"r{row}_end": "17:00",
            f"r{row + 1}_start": "", f"r{row + 1}_end": ""}


def count(db, table: str) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one()


def blocks(html: str) -> list[str]:
    """The preview's shift blocks as "who start–end", in page order."""
    section = html[html.index('id="preview"'):]
    return [f"{w} {t}" for w, t in re.findall(r"<strong>([^<]+)</strong><br>(\d\d:\d\d–\d\d:\d\d)", section)]


@pytest.fixture
def crew(make_web_user):
    return {"rui": make_web_user("responder", name="Rui"), "sam": make_web_user("responder", name="Sam")}


def test_build_preview_then_save(web_client, crew, db):
    admin = web_client("admin")
    page = admin.get("/schedules/new")
    assert page.status_code == 200 and 'name="layer_members"' in page.text and "r0_d1" in page.text
    body = {"name": "Payments", "slug": "payments", "timezone": "UTC", "team": "", "description": "",
            **layer(layer_members=f"{crew['rui'].email}\n{crew['sam'].email}"), **weekdays_9_to_5()}
    r = post_form(admin, "/schedules/new", {**body, "action": "preview"})
    assert r.status_code == 200, r.text
    shown = blocks(r.text)
    # Mon 29 Dec Rui, Tue Sam, Wed Rui, Thu 1 Jan Sam, Fri Rui, weekend nobody; week two goes on alternating
    assert shown[:5] == ["Rui 09:00–17:00", "Sam 09:00–17:00", "Rui 09:00–17:00", "Sam 09:00–17:00",
                         "Rui 09:00–17:00"] and len(shown) == 10
    assert "not saved yet" in r.text and "Mon–Fri 09:00–17:00" in r.text
    assert count(db, "schedules") == 0  # a preview writes nothing

    r = post_form(admin, "/schedules/new", {**body, "action": "save"})
    assert r.status_code == 303 and r.headers["location"] == "/schedules/payments/edit"
    page = admin.get("/schedules/payments")
    assert "on call only Mon–Fri 09:00–17:00" in page.text and "Rui → Sam" in page.text
    assert 'href="/schedules/payments/edit"' in page.text
    with db.engine.connect() as conn:
        actions = list(conn.execute(sa.text("SELECT action FROM audit_log ORDER BY seq")).scalars())
    assert actions[-2:] == ["schedule.create", "schedule_layer.create"]


def test_edit_add_and_delete_layers(web_client, crew, db, world):
    admin = web_client("admin")
    page = admin.get("/schedules/primary/edit")
    assert page.status_code == 200 and "Layer 1: week" in page.text and world["oncaller"].email in page.text
    layer_id = re.search(r'action="/schedules/primary/layers/([0-9a-f-]{36})"', page.text).group(1)
    edit = {**layer(layer_name="week", layer_kind="weekly", layer_start="2025-12-29T00:00",
                    layer_members=crew["sam"].email), **weekdays_9_to_5()}

    r = post_form(admin, f"/schedules/primary/layers/{layer_id}", {**edit, "action": "preview"})
    assert r.status_code == 200 and blocks(r.text)[0] == "Sam 09:00–17:00"
    assert "Olga" in admin.get("/schedules/primary").text  # not saved by a preview

    r = post_form(admin, f"/schedules/primary/layers/{layer_id}", {**edit, "action": "save"})
    assert r.status_code == 303
    week = admin.get("/schedules/primary").text
    assert "Sam" in week and "on call only Mon–Fri 09:00–17:00" in week

    nights = {**layer(layer_name="nights", layer_members=crew["rui"].email), "r0_d1": "1", "r0_d2": "1",
              "r0_d3": "1", "r0_d4": "1", "r0_d5": "1", "r0_d6": "1", "r0_d7": "1", "r0_start": "17:00",
              "r0_end": "09:00"}
    r = post_form(admin, "/schedules/primary/layers", {**nights, "action": "save"})
    assert r.status_code == 303
    page = admin.get("/schedules/primary").text
    assert "every day 17:00–09:00 (next day)" in page
    assert count(db, "schedule_layers") == 2
    r = post_form(admin, f"/schedules/primary/layers/{layer_id}/delete", {})
    assert r.status_code == 303 and count(db, "schedule_layers") == 1


@pytest.mark.parametrize("change, message", [
    pytest.param({"layer_timezone": "Mars/Olympus"}, "time zone", id="unknown-zone"),
    pytest.param({"layer_members": "nobody@example.com"}, "no user", id="unknown-member"),
    pytest.param({"layer_members": ""}, "at least one member", id="no-members"),
    pytest.param({"r0_d1": "", "r0_d2": "", "r0_d3": "", "r0_d4": "", "r0_d5": ""}, "tick at least one day",
                 id="restriction-without-days"),
    pytest.param({"r0_start": "25:00"}, "not a time of day", id="bad-time"),
    pytest.param({"layer_start": "soon"}, "not a date and time", id="bad-start"),
    pytest.param({"layer_kind": "custom", "layer_shift_hours": "0"}, "from 1 to 8760 hours", id="zero-hours"),
    pytest.param({"layer_shift_hours": "99999999999999999999"}, "from 1 to 8760 hours", id="huge-hours"),
])
@pytest.mark.parametrize("action", ["preview", "save"])
def test_bad_layers_are_shown_back(web_client, crew, db, change, message, action):
    admin = web_client("admin")
    body = {"name": "Payments", "timezone": "UTC", **layer(layer_members=crew["rui"].email), **weekdays_9_to_5(),
            **change, "action": action}
    r = post_form(admin, "/schedules/new", body)
    assert r.status_code == 422, r.text
    assert message in r.text and 'role="alert"' in r.text
    assert 'value="Payments"' in r.text  # what was typed stays
    assert count(db, "schedules") == 0


def test_slug_taken_is_a_conflict(web_client, world):
    r = post_form(web_client("admin"), "/schedules/new", {"name": "Primary", "slug": "primary", "action": "save"})
    assert r.status_code == 409 and "already exists" in r.text


@pytest.mark.parametrize("role", ["responder", "viewer"])
def test_only_admins_build_schedules(web_client, world, role):
    c = web_client(role)
    assert c.get("/schedules/new").status_code == 403
    assert c.get("/schedules/primary/edit").status_code == 403
    assert c.get("/schedules/primary/delete").status_code == 403
    token = csrf(c, "/schedules")
    assert post_form(c, "/schedules/new", {"name": "X", "action": "save"}, token=token).status_code == 403
    assert post_form(c, "/schedules/primary/delete", {}, token=token).status_code == 403
    assert 'href="/schedules/new"' not in c.get("/schedules").text
    assert 'href="/schedules/primary/edit"' not in c.get("/schedules/primary").text


def test_delete_refused_while_a_policy_pages_it(web_client, world, db):
    admin = web_client("admin")
    page = admin.get("/schedules/primary/delete")
    assert page.status_code == 200 and "Default" in page.text and "cannot be deleted" in page.text
    r = post_form(admin, "/schedules/primary/delete", {})
    assert r.status_code == 409 and "Default" in r.text
    post_form(admin, "/schedules/new", {"name": "Spare", "action": "save"})
    assert "Delete Spare" in admin.get("/schedules/spare/delete").text
    r = post_form(admin, "/schedules/spare/delete", {})
    assert r.status_code == 303 and r.headers["location"] == "/schedules"
    assert admin.get("/schedules/spare").status_code == 404


def test_dst_handoff_in_berlin_keeps_local_time(web_client, crew, clock, db):
    """A daily 09:00 Berlin hand-off across the March change: 08:00 UTC before, 07:00 UTC after."""
    clock.advance(timedelta(days=83))  # Thursday 26 March 2026; the clocks go forward on Sunday 29 March
    admin = web_client("admin")
    body = {"name": "Berlin", "timezone": "Europe/Berlin",
            **layer(layer_timezone="Europe/Berlin", layer_start="2026-03-23T09:00",
                    layer_members=f"{crew['rui'].email}\n{crew['sam'].email}"), "r0_start": "", "r0_end": "",
            "action": "preview"}
    r = post_form(admin, "/schedules/new", body)
    assert r.status_code == 200, r.text
    shown = blocks(r.text)  # the viewer reads UTC; Rui starts on Monday 23 March at 08:00 UTC
    assert shown[0] == "Rui 08:00–24:00"
    # Sat 28 March (CET, +1), Sun 29 March (the change at 01:00 UTC; CEST, +2), Mon 30 March
    assert shown[9:15] == ["Rui 00:00–08:00", "Sam 08:00–24:00", "Sam 00:00–07:00", "Rui 07:00–24:00",
                           "Rui 00:00–07:00", "Sam 07:00–24:00"]


@pytest.mark.parametrize("days, start, end, words", [
    ([1, 2, 3, 4, 5], "09:00", "17:00", "Mon–Fri 09:00–17:00"),
    ([1, 2, 3, 4, 5, 6, 7], "22:00", "06:00", "every day 22:00–06:00 (next day)"),
    ([6, 7], "00:00", "00:00", "Sat, Sun, all day from 00:00"),
    ([1, 3, 5], "08:00", "12:00", "Mon, Wed, Fri 08:00–12:00"),
    ([1, 2, 4, 5, 6], "10:00", "11:00", "Mon, Tue, Thu–Sat 10:00–11:00"),
])
def test_restrictions_in_words(days, start, end, words):
    from tocsin.web.routes.oncall_pages import restriction_words

    assert restriction_words({"days": days, "start": start, "end": end}) == words
