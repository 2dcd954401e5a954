"""Approved actions in the console: an admin defines one on /configure/automation (only allow-listed
commands are offered), a responder asks for a run from the room panel or the action's own page, a
second person approves it from the panel (the requester cannot), and dry runs need nobody."""

from __future__ import annotations

import pytest

from tests.harness.console import new_incident, post_form, room_of, timeline

PAGE = "/configure/automation"


@pytest.fixture
def allow(app, tmp_path):
    path = tmp_path / "commands.yaml"
    path.write_text('restart: ["/usr/bin/systemctl", "restart", "{host}"]\n')
    app.state.settings.automation_commands = path
    return path


def panel(html: str) -> str:
    start = html.index('id="automation"')
    return html[start:html.index("<!-- /automation -->", start)]


def define(admin, **extra):
    form = {"slug": "restart", "name": "Restart a host", "kind": "command", "command": "restart",
            "params": "host | string | required | [a-z0-9-]+\nforce | boolean", "timeout_s": "30",
            "requires_approval": "1", "enabled": "1", **extra}
    return post_form(admin, PAGE, form, page=PAGE)


def test_admins_define_actions_from_the_allow_list(web_client, allow):
    admin = web_client("admin")
    assert f'href="{PAGE}"' in admin.get("/configure").text
    page = admin.get(PAGE).text
    assert "<code>restart</code>" in page and '<option value="restart"' in page
    assert "TOCSIN_AUTOMATION_SIGNING_SECRET" in page  # webhooks cannot run yet: the page says so
    assert define(admin).status_code == 303
    page = admin.get(PAGE).text
    assert "Restart a host" in page and "host | string | required | [a-z0-9-]+\nforce | boolean | optional" in page
    bad = define(admin, slug="other", command="rm")
    assert bad.status_code == 422 and "allow-listed" in bad.text
    unreadable = define(admin, slug="third", params="host")
    assert unreadable.status_code == 422 and "name | type" in unreadable.text
    responder = web_client("responder")
    shown = responder.get(PAGE).text
    assert "Restart a host" in shown and 'id="automation-new-form"' not in shown
    assert define(responder, slug="mine").status_code == 403


def test_a_run_asked_in_the_room_waits_for_a_second_person(web_client, allow, make_web_user):
    define(web_client("admin"))
    c, ref = new_incident(web_client)
    room = f"/incidents/{ref}"
    html = panel(room_of(c, ref))
    assert "Ask to run Restart a host" in html and 'name="param_host"' in html
    bad = post_form(c, f"{room}/automation/runs", {"action": "restart", "param_host": "Web 1!"}, page=room)
    assert bad.status_code == 422 and "does not match" in bad.text
    r = post_form(c, f"{room}/automation/runs", {"action": "restart", "param_host": "web-1"}, page=room)
    assert r.status_code == 303 and r.headers["location"] == f"{room}#automation"
    html = panel(room_of(c, ref))
    assert "1 waiting" in html and "force=false, host=web-1" in html
    assert 'value="approve"' not in html and "Withdraw" in html  # the requester cannot approve
    run_id = html.split(f'action="{room}/automation/runs/')[1].split('"')[0]
    assert post_form(c, f"{room}/automation/runs/{run_id}", {"decision": "approve"}, page=room).status_code == 403

    other = web_client("responder")
    assert 'value="approve"' in panel(room_of(other, ref))
    assert post_form(other, f"{room}/automation/runs/{run_id}", {"decision": "approve", "reason": "ok"},
                     page=room).status_code == 303
    assert "Approved action approved: “Restart a host” with force=false, host=web-1: ok" in timeline(room_of(c, ref))
    viewer = web_client("viewer")
    assert post_form(viewer, f"{room}/automation/runs", {"action": "restart", "param_host": "web-1"},
                     page=room).status_code == 403


def test_a_runbook_step_links_to_one_actions_page_and_a_dry_run_needs_nobody(web_client, allow):
    define(web_client("admin"))
    c, ref = new_incident(web_client)
    page = c.get(f"/incidents/{ref}/automation/restart")
    assert page.status_code == 200 and "Restart a host" in page.text and 'name="dry_run"' in page.text
    assert c.get(f"/incidents/{ref}/automation/nope").status_code == 404
    r = post_form(c, f"/incidents/{ref}/automation/runs", {"action": "restart", "param_host": "web-1",
                                                           "dry_run": "1"}, page=f"/incidents/{ref}/automation/restart")
    assert r.status_code == 303
    html = panel(room_of(c, ref))
    assert "waiting" not in html and "dry run" in html  # no approval for a dry run
