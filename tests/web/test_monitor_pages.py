"""Heartbeats and synthetic checks in the console: an admin creates a heartbeat and pings the URL it
shows once; creates, edits and deletes a check, whose page shows its results, latency and uptime;
targets are judged by the same egress policy as the API's; everyone else only reads."""

from __future__ import annotations

import html
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.harness.console import csrf, post_form
from tocsin.audit.models import AuditEntry
from tocsin.checks.models import CheckResult

PING = re.compile(r'<pre class="secret" id="ping-url">([^<]+)</pre>')
SOME_ID = "01900000-0000-7000-8000-000000000000"
CHECK = {"service": "checkout", "name": "Shop health", "kind": "http", "target": "https://shop.example.com/health",
         "method": "GET", "interval_seconds": "1m", "timeout_seconds": "5", "expected_statuses": "200-299",
         "keyword": "", "latency_threshold_ms": "", "tls_expiry_warn_days": "", "failures_to_alert": "2",
         "successes_to_resolve": "1", "headers": "Authorization: Bearer s3cret", "enabled": "on"}


def audit_actions(db) -> list[str]:
    with db.unit_of_work() as s:
        return list(s.execute(sa.select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())


def new_heartbeat(client, **form: str):
    data = {"name": "Nightly backup", "service": "checkout", "interval": "5m", "grace": "1m", **form}
    return post_form(client, "/heartbeats", data, page="/heartbeats")


def test_a_heartbeat_shows_its_ping_url_once_and_a_ping_brings_it_up(web_client, world, app, db):
    admin = web_client("admin")
    r = new_heartbeat(admin)
    assert r.status_code == 200, r.text
    url = PING.search(r.text).group(1)
    base = app.state.settings.resolved_public_url()
    key = re.fullmatch(re.escape(base) + r"/heartbeats/([0-9a-f]{32})", url).group(1)
    assert f"curl -fsS -m 10 --retry 3 '{url}'" in html.unescape(r.text)  # the cron line to copy
    listing = admin.get("/heartbeats").text
    assert key not in listing and f"/heartbeats/{key[:4]}…" in listing
    assert "waiting for first ping" in listing and "5 min" in listing and "1 min" in listing
    assert admin.get(url.removeprefix(base)).status_code == 200  # the ping, as cron sends it
    row = admin.get("/heartbeats").text.split("Nightly backup", 1)[1].split("</tr>", 1)[0]
    assert ">up<" in row and "just now" in row
    hid = re.search(r'action="/heartbeats/([0-9a-f-]{36})/delete"', listing).group(1)
    r = post_form(admin, f"/heartbeats/{hid}/delete", {}, page="/heartbeats")
    assert r.status_code == 303
    after = admin.get("/heartbeats").text
    assert "Heartbeat Nightly backup deleted" in after and '<th scope="row">Nightly backup</th>' not in after
    assert admin.get(url.removeprefix(base)).status_code == 404
    assert {"heartbeat.create", "heartbeat.delete"} <= set(audit_actions(db))


@pytest.mark.parametrize("form, status, words", [
    ({"interval": "5 parsecs"}, 422, "give seconds"),
    ({"interval": "5"}, 422, "between 10 and"),
    ({"grace": "2d"}, 422, "grace: must be between 0 and 86400"),
    ({"name": ""}, 422, "name is required"),
    ({"service": "nope"}, 404, "nope"),
])
def test_bad_heartbeat_input_is_a_readable_4xx(web_client, world, form, status, words):
    r = new_heartbeat(web_client("admin"), **form)
    assert r.status_code == status, r.text
    assert words in html.unescape(r.text)


def create_check(client, **form: str):
    return post_form(client, "/checks", {**CHECK, **form}, page="/checks/new")


def check_id(response) -> str:
    assert response.status_code == 303, response.text
    return re.fullmatch(r"/checks/([0-9a-f-]{36})", response.headers["location"]).group(1)


def test_a_check_page_shows_results_latency_and_uptime(web_client, world, db, clock):
    admin = web_client("admin")
    cid = check_id(create_check(admin))
    page = admin.get(f"/checks/{cid}").text
    assert "no verdict yet" in page and "No results yet" in page
    with db.unit_of_work() as s:  # four runs the engine would have recorded: three passes and a timeout
        for n, (ok, ms, code) in enumerate([(True, 100.0, 200), (True, 200.0, 200), (True, 300.0, 200),
                                            (False, None, None)]):
            s.add(CheckResult(check_id=uuid.UUID(cid),
                              at=clock.now() - timedelta(minutes=4 - n), ok=ok, latency_ms=ms, status_code=code,
                              error=None if ok else "timed out after 5 s"))
    page = admin.get(f"/checks/{cid}").text
    day = page.split("Last 24 hours", 1)[1].split("</tr>", 1)[0]
    assert "75.00 %" in day and "<td>4</td><td>1</td>" in day and "200 ms" in day and "300 ms" in day
    assert "timed out after 5 s" in page and "FAIL" in page
    row = admin.get("/checks").text.split("Shop health", 1)[1].split("</tr>", 1)[0]
    assert "75.00 %" in row and "4 runs" in row and "p95 300 ms" in row


def test_an_internal_target_is_refused_with_the_apis_words(web_client, world):
    admin = web_client("admin")
    api = admin.post("/api/v1/checks", json={"service": "checkout", "name": "x", "kind": "http",
                                             "target": "http://10.1.2.3/health"}, headers=admin.user.headers)
    assert api.status_code == 422
    message = api.json()["error"]["message"]
    assert "egress policy" in message
    r = create_check(admin, target="http://10.1.2.3/health")
    assert r.status_code == 422 and message in html.unescape(r.text)
    cid = check_id(create_check(admin))
    r = post_form(admin, f"/checks/{cid}", {**CHECK, "target": "http://169.254.169.254/"}, page=f"/checks/{cid}")
    assert r.status_code == 422 and "egress policy" in html.unescape(r.text)


def test_edit_pause_and_delete_a_check(web_client, world, db):
    admin = web_client("admin")
    cid = check_id(create_check(admin))
    form = {**CHECK, "interval_seconds": "2m", "keyword": "OK", "enabled": ""}
    del form["service"]
    r = post_form(admin, f"/checks/{cid}", form, page=f"/checks/{cid}")
    assert r.status_code == 303
    page = admin.get(f"/checks/{cid}").text
    assert "2 min" in page and 'value="OK"' in page and "paused" in page
    assert "Authorization: Bearer s3cret" in page  # an admin edits the header values
    r = post_form(admin, f"/checks/{cid}/delete", {}, page=f"/checks/{cid}")
    assert r.status_code == 303 and r.headers["location"] == "/checks"
    assert admin.get(f"/checks/{cid}").status_code == 404
    assert {"check.create", "check.update", "check.delete"} <= set(audit_actions(db))


@pytest.mark.parametrize("form, words", [
    ({"timeout_seconds": "soon"}, "timeout seconds: give a number"),
    ({"failures_to_alert": "two"}, "failures to alert: give a whole number"),
    ({"headers": "no colon here"}, "one 'Name: value' per line"),
    ({"interval_seconds": "5"}, "interval_seconds: must be 10 to 86400"),
    ({"kind": "icmp"}, "kind: must be http or tcp"),
    ({"expected_statuses": "abc"}, "expected_statuses"),
])
def test_bad_check_input_is_a_readable_422(web_client, world, form, words):
    r = create_check(web_client("admin"), **form)
    assert r.status_code == 422, r.text
    assert words in html.unescape(r.text)


@pytest.mark.parametrize("role", ["responder", "viewer"])
def test_non_admins_read_monitors_but_cannot_change_them(web_client, world, role):
    admin = web_client("admin")
    cid = check_id(create_check(admin))
    new_heartbeat(admin)
    hid = re.search(r'action="/heartbeats/([0-9a-f-]{36})/delete"', admin.get("/heartbeats").text).group(1)
    other = web_client(role)
    beats = other.get("/heartbeats").text
    assert "Nightly backup" in beats and 'id="heartbeat-form"' not in beats and "/delete" not in beats
    page = other.get(f"/checks/{cid}").text
    assert "Shop health" in page and "s3cret" not in page and "Authorization: &lt;redacted&gt;" in page
    assert 'id="check-edit-form"' not in page and "/checks/new" not in other.get("/checks").text
    assert other.get("/checks/new").status_code == 403
    token = csrf(other, "/checks")
    assert post_form(other, "/checks", CHECK, token=token).status_code == 403
    assert post_form(other, f"/checks/{cid}", CHECK, token=token).status_code == 403
    assert post_form(other, f"/checks/{cid}/delete", {}, token=token).status_code == 403
    assert post_form(other, "/heartbeats", {"name": "x", "service": "checkout", "interval": "5m"},
                     token=token).status_code == 403
    assert post_form(other, f"/heartbeats/{hid}/delete", {}, token=token).status_code == 403


def test_monitor_posts_are_csrf_checked_and_bad_ids_are_404(web_client, world):
    admin = web_client("admin")
    for path in ("/heartbeats", f"/heartbeats/{SOME_ID}/delete", "/checks", f"/checks/{SOME_ID}",
                 f"/checks/{SOME_ID}/delete"):
        assert admin.post(path, data={"name": "x"}, follow_redirects=False).status_code == 403, path
    assert admin.get("/checks/not-an-id").status_code == 404
    assert admin.get(f"/checks/{SOME_ID}").status_code == 404
    token = csrf(admin, "/heartbeats")
    assert post_form(admin, f"/heartbeats/{SOME_ID}/delete", {}, token=token).status_code == 404



def test_an_slo_form_with_non_ascii_digits_is_a_readable_4xx(web_client, world):
    """str.isdigit() takes "²"; int() does not: the form answers 422, not 500."""
    admin = web_client("admin")
    for form in ({"window_days": "\u00b2"}, {"latency_threshold_ms": "\u00b9\u00b2"}):
        data = {"name": "Checkout", "target": "99.9", "source": "push", "kind": "availability", "window_days": "30",
                **form}
        r = post_form(admin, "/services/checkout/slos", data, page="/services/checkout")
        assert r.status_code == 422, r.text
        assert "must be a whole number" in html.unescape(r.text)
