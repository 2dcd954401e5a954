"""Integrations in the console: an admin creates one and sees its key once with snippets that work
as pasted, looks at it (never the key again), rotates and deletes it; everyone else is refused."""

from __future__ import annotations

import html
import json
import re

import pytest
import sqlalchemy as sa

from tests.harness.console import csrf, post_form
from tocsin.audit.models import AuditEntry

KEY = re.compile(r'<pre class="secret" id="integration-key">([0-9a-f]{32})</pre>')
SOME_ID = "01900000-0000-7000-8000-000000000000"


def snippets(page: str) -> dict[str, str]:
    """The page's snippets: title -> text, as a person copies them."""
    out = {}
    for m in re.finditer(r'<h3 id="snippet-(\d+)-title">(.*?)</h3>.*?<pre class="code" id="snippet-\1"[^>]*><code>(.*?)'
                         r"</code></pre>", page, re.S):
        out[html.unescape(m.group(2))] = html.unescape(m.group(3))
    return out


def curl_parts(text: str) -> tuple[str, dict]:
    """(url, json body) of a curl snippet."""
    url = re.search(r"-X POST '([^']+)'", text).group(1)
    body = json.loads(re.search(r"-d '(.*)'\s*$", text, re.S).group(1))
    return url, body


def create(client, kind: str, name: str = "Prod", **extra: str):
    return post_form(client, "/integrations", {"name": name, "service": "checkout", "type": kind, **extra},
                     page="/integrations/new")


def audit_actions(db) -> list[str]:
    with db.unit_of_work() as s:
        return list(s.execute(sa.select(AuditEntry.action).order_by(AuditEntry.seq)).scalars())


@pytest.mark.parametrize("kind", ["alertmanager", "events_v2", "generic", "grafana", "opsgenie"])
def test_the_key_is_shown_once_and_the_pasted_curl_snippet_delivers_an_alert(web_client, world, app, db, kind):
    admin = web_client("admin")
    form = admin.get("/integrations/new").text  # the generic mapping as the form offers it
    mapping = html.unescape(re.search(r'name="mapping"[^>]*>(.*?)</textarea>', form, re.S).group(1))
    r = create(admin, kind, mapping=mapping)
    assert r.status_code == 200, r.text
    key = KEY.search(r.text).group(1)
    assert r.headers["cache-control"] == "no-store"
    base = app.state.settings.resolved_public_url()
    found = snippets(r.text)
    curl = next(text for title, text in found.items() if "curl" in title)
    url, body = curl_parts(curl)
    assert url.startswith(base)
    headers = dict(h.split(": ", 1) for h in re.findall(r"-H '(Authorization: [^']+)'", curl))
    assert key in url or body.get("routing_key") == key or headers.get("Authorization") == f"GenieKey {key}"
    sent = admin.post(url.removeprefix(base), json=body, headers=headers)
    assert sent.status_code == 202, sent.text
    if kind == "alertmanager":
        block = found["Alertmanager receivers: block"]
        assert f"webhook_configs:\n      - url: {base}/integrations/alertmanager/{key}\n" in block
    if kind == "events_v2":
        assert {"Python, with pdpyras", "Python, with requests", "Alertmanager pagerduty_configs",
                "Grafana PagerDuty contact point"} <= set(found)
        assert f'EventsAPISession("{key}")' in found["Python, with pdpyras"]
    if kind == "opsgenie":  # only the URL and the key change in a sender configured for Opsgenie
        assert f"opsgenie_configs:\n      - api_key: {key}\n        api_url: {base}/\n" in \
            found["Alertmanager opsgenie_configs"]
        assert f'conf.host = "{base}"' in found["Python, with opsgenie-sdk"]
    iid = re.search(r'href="/integrations/([0-9a-f-]{36})"', r.text).group(1)
    detail = admin.get(f"/integrations/{iid}")
    assert detail.status_code == 200 and key not in detail.text and f"<code>{key[:4]}…</code>" in detail.text
    listing = admin.get("/integrations").text
    assert "Prod" in listing and key not in listing
    assert "integration.create" in audit_actions(db)


def test_grafana_with_hmac_shows_the_signing_secret_and_refuses_unsigned_posts(web_client, world):
    admin = web_client("admin")
    r = create(admin, "grafana", hmac="on")
    key = KEY.search(r.text).group(1)
    secret = re.search(r'id="signing-secret">([0-9a-f]{64})<', r.text).group(1)
    fields = snippets(r.text)["Grafana contact point fields"]
    assert f"HMAC secret:  {secret}" in fields and "Timestamp header:  X-Grafana-Alerting-Timestamp" in fields
    unsigned = admin.post(f"/integrations/grafana/{key}", json={"alerts": []})
    assert unsigned.status_code == 401


def test_rotate_shows_a_new_key_once_and_the_old_key_stops(web_client, world, db):
    admin = web_client("admin")
    r = create(admin, "alertmanager")
    old = KEY.search(r.text).group(1)
    iid = re.search(r'href="/integrations/([0-9a-f-]{36})"', r.text).group(1)
    unconfirmed = post_form(admin, f"/integrations/{iid}/rotate-key", {}, page=f"/integrations/{iid}")
    assert unconfirmed.status_code == 422 and "tick the box" in unconfirmed.text
    r = post_form(admin, f"/integrations/{iid}/rotate-key", {"confirm": "yes"}, page=f"/integrations/{iid}")
    assert r.status_code == 200 and "the old key no longer works" in r.text
    new = KEY.search(r.text).group(1)
    assert new != old
    group = {"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "X"},
                                                             "fingerprint": "f1"}]}
    assert admin.post(f"/integrations/alertmanager/{old}", json=group).status_code in (401, 403, 404)
    assert admin.post(f"/integrations/alertmanager/{new}", json=group).status_code == 202
    assert "integration.rotate_key" in audit_actions(db)


def test_delete_needs_confirmation_then_the_key_is_refused(web_client, world, db):
    admin = web_client("admin")
    r = create(admin, "generic", mapping=json.dumps({"engine": "jmespath", "summary": "title"}))
    key = KEY.search(r.text).group(1)
    iid = re.search(r'href="/integrations/([0-9a-f-]{36})"', r.text).group(1)
    assert post_form(admin, f"/integrations/{iid}/delete", {}, page=f"/integrations/{iid}").status_code == 422
    r = post_form(admin, f"/integrations/{iid}/delete", {"confirm": "yes"}, page=f"/integrations/{iid}")
    assert r.status_code == 303 and r.headers["location"] == "/integrations"
    assert admin.get(f"/integrations/{iid}").status_code == 404
    assert admin.post(f"/integrations/generic/{key}", json={"title": "x"}).status_code in (401, 403, 404)
    assert "integration.delete" in audit_actions(db)


@pytest.mark.parametrize("data, status, words", [
    ({"name": "x", "service": "checkout", "type": "nagios"}, 422, "is not one of"),
    ({"name": "", "service": "checkout", "type": "alertmanager"}, 422, "name is required"),
    ({"name": "x", "service": "nope", "type": "alertmanager"}, 404, "nope"),
    ({"name": "x", "service": "checkout", "type": "generic", "mapping": "{not json"}, 422, "not valid JSON"),
    ({"name": "x", "service": "checkout", "type": "generic", "mapping": '{"engine": "jmespath"}'}, 422,
     "summary is required"),
])
def test_bad_input_is_a_readable_4xx(web_client, world, data, status, words):
    admin = web_client("admin")
    r = post_form(admin, "/integrations", data, page="/integrations/new")
    assert r.status_code == status, r.text
    assert words in html.unescape(r.text)


def test_malformed_ids_are_404_pages(web_client, world):
    admin = web_client("admin")
    assert admin.get("/integrations/not-an-id").status_code == 404
    assert admin.get(f"/integrations/{SOME_ID}").status_code == 404


@pytest.mark.parametrize("role", ["responder", "viewer"])
def test_non_admins_see_the_list_but_cannot_create_rotate_or_delete(web_client, world, role):
    admin = web_client("admin")
    r = create(admin, "alertmanager")
    iid = re.search(r'href="/integrations/([0-9a-f-]{36})"', r.text).group(1)
    other = web_client(role)
    listing = other.get("/integrations")
    assert listing.status_code == 200 and "Prod" in listing.text and "/integrations/new" not in listing.text
    detail = other.get(f"/integrations/{iid}").text
    assert "rotate-key" not in detail and "/delete" not in detail
    assert other.get("/integrations/new").status_code == 403
    token = csrf(other, "/integrations")
    assert post_form(other, "/integrations", {"name": "x", "service": "checkout", "type": "alertmanager"},
                     token=token).status_code == 403
    for action in ("rotate-key", "delete"):
        assert post_form(other, f"/integrations/{iid}/{action}", {"confirm": "yes"}, token=token).status_code == 403
    assert admin.get(f"/integrations/{iid}").status_code == 200  # still there


def test_every_integration_post_is_csrf_checked(web_client, world):
    admin = web_client("admin")
    for path in ("/integrations", f"/integrations/{SOME_ID}/rotate-key", f"/integrations/{SOME_ID}/delete"):
        assert admin.post(path, data={"name": "x"}, follow_redirects=False).status_code == 403


def test_a_preset_is_picked_in_the_form_and_its_setup_shown_with_the_url(web_client, world, app, client):
    admin = web_client("admin")
    form = admin.get("/integrations/new").text
    assert '<option value="datadog">Datadog (webhook, default payload)</option>' in form
    r = create(admin, "generic", name="Datadog", preset="gatus", mapping="this is ignored with a preset")
    assert r.status_code == 200, r.text
    key = KEY.search(r.text).group(1)
    found = snippets(r.text)
    url = app.state.settings.resolved_public_url() + f"/integrations/generic/{key}"
    assert f"URL:  {url}" in found["Gatus (custom alerting provider): where the URL goes"]
    body = json.loads(found["Gatus (custom alerting provider): body to send"])
    assert body["status"] == "[ALERT_TRIGGERED_OR_RESOLVED]"
    # the body, filled in as Gatus would, makes an alert
    sent = {**body, "status": "TRIGGERED", "endpoint": "api", "group": "core", "description": "down"}
    assert client.post(f"/integrations/generic/{key}", json=sent).status_code == 202


def test_an_email_integration_shows_its_address(web_client, world, app):
    admin = web_client("admin")
    r = create(admin, "email", name="Nagios mail", rules='{"default_severity": "warning"}')
    assert r.status_code == 200, r.text
    key = KEY.search(r.text).group(1)
    domain = app.state.settings.mail_domain
    assert f'<pre class="secret" id="integration-url">{key}@{domain or "TOCSIN_MAIL_DOMAIN-is-not-set"}</pre>' in r.text
    bad = create(admin, "email", name="Broken", rules='{"summary": "("}')
    assert bad.status_code == 422 and "not a valid regular expression" in bad.text
