"""Smoke pass over every route of the API and the console, on SQLite and on PostgreSQL.

Most API and console tests run on SQLite alone (tests/conftest.py, docs/testing.md): what they check
does not depend on the database. This walk is what still sends a valid request to every route on
both backends, so that a query PostgreSQL rejects (or answers differently) cannot hide behind the
SQLite-only tests. The list of routes comes from the app itself: the walk fails unless it called
every route (or ELSEWHERE names the test that does), so a route added without a case here fails.

The walk is one story (create, read, change, delete) rather than a test per route: later requests
use what earlier ones made, and one seeded database per backend keeps it cheap.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from tests.harness.console import PASSWORD, csrf
from tests.harness.ingest import AppliedClient
from tests.harness.routes import app_routes

pytestmark = pytest.mark.both_backends  # the point of this module is to run on both (tests/conftest.py)

TWILIO_TOKEN = "smoke-twilio-auth-token"
SLACK_SECRET = "smoke-slack-signing-secret"
MATTERMOST_TOKEN = "smoke-mattermost-command-token"
MATTERMOST_OUTGOING = "smoke-mattermost-outgoing-token"
PUBLIC_URL = "https://tocsin.smoke.test"
T_START, T_END = "2026-01-02T00:00:00Z", "2026-01-02T01:00:00Z"  # the ManualClock starts 2026-01-01

# Routes the walk does not call, each with the test that calls it on both backends instead.
ELSEWHERE = {
    ("GET", "/incidents/{ref}/events"): "tests/web/test_room_live.py (an endless event stream: needs a real "
                                        "HTTP server, which that module runs on both backends)",
}


@pytest.fixture
def smoke_app(db, clock):
    """The app with Twilio, the Slack app and Mattermost's command and outgoing webhook configured
    (their inbound routes answer 404 otherwise)."""
    from tocsin.app import create_app
    from tocsin.config import Settings

    application = create_app(settings=Settings(max_body_bytes=64 * 1024, secret_key="smoke-secret",
                                               public_url=PUBLIC_URL, twilio_auth_token=TWILIO_TOKEN,
                                               twilio_account_sid="AC" + "0" * 32, twilio_from="+14155550000",
                                               twilio_base_url="http://127.0.0.1:9",  # nothing leaves the machine
                                               slack_signing_secret=SLACK_SECRET, slack_bot_token="xoxb-smoke",
                                               slack_base_url="http://127.0.0.1:9/api/",
                                               mattermost_command_token=MATTERMOST_TOKEN,
                                               mattermost_outgoing_token=MATTERMOST_OUTGOING),
                             db=db, clock=clock)
    yield application
    application.state.ingest.close()


@pytest.fixture
def smoke_client(smoke_app) -> Iterator[TestClient]:
    with AppliedClient(smoke_app, raise_server_exceptions=False) as c:
        yield c


class Walk:
    """Sends requests, checks their status and records which route each one was for."""

    def __init__(self, client: TestClient, routes: dict[tuple[str, str], re.Pattern[str]]) -> None:
        self.client, self.routes = client, routes
        self.called: set[tuple[str, str]] = set()

    def __call__(self, method: str, template: str, path: str | None = None, *, expect: int | tuple[int, ...] = 200,
                 client: TestClient | None = None, **kwargs: Any) -> Any:
        path = path or template
        route = self.routes.get((method, template))
        assert route is not None, f"no route {method} {template}"
        assert route.match(path.split("?", 1)[0]), f"{path} is not a path of {template}"
        kwargs.setdefault("follow_redirects", False)
        response = (client or self.client).request(method, path, **kwargs)
        wanted = expect if isinstance(expect, tuple) else (expect,)
        assert response.status_code in wanted, f"{method} {path}: {response.status_code}: {response.text[:600]}"
        self.called.add((method, template))
        return response


def test_the_route_list_is_the_apps():
    """The walk below fails unless it called every route this finds; so this must find them all
    (a FastAPI upgrade that changed how included routers are kept would otherwise empty the list)."""
    from tocsin.app import create_app
    from tocsin.config import Settings
    from tocsin.db import Database

    db = Database("sqlite://")  # never touched: the routes do not depend on the database
    app = create_app(settings=Settings(secret_key="routes-only"), db=db)
    app.state.ingest.close()
    db.dispose()
    routes = app_routes(app)
    paths = {path for _, path in routes}
    assert len(routes) > 200
    assert {"/api/v1/incidents/{key}", "/incidents/{ref}", "/login", "/v2/enqueue", "/static/{path}"} <= paths
    assert set(ELSEWHERE) <= set(routes), f"stale: {sorted(set(ELSEWHERE) - set(routes))}"
    openapi = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert openapi <= set(routes), sorted(openapi - set(routes))


def _chat_routes(walk: Walk, clock: Any) -> None:
    """The Slack app's endpoints (signed as Slack signs), Mattermost's slash command and outgoing webhook
    (their tokens)."""
    def slack(path: str, body: bytes, kind: str) -> Any:
        ts = str(int(clock.now().timestamp()))
        mac = hmac.new(SLACK_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
        return walk("POST", path, content=body, headers={"Content-Type": kind, "X-Slack-Request-Timestamp": ts,
                                                         "X-Slack-Signature": f"v0={mac}"})
    form = "application/x-www-form-urlencoded"
    command = {"team_id": "T1", "user_id": "U1", "channel_id": "C1", "text": "help", "trigger_id": "1.2.3"}
    assert "declare" in slack("/integrations/slack/commands", urlencode(command).encode(), form).json()["text"]
    slack("/integrations/slack/interactive", urlencode({"payload": json.dumps(
        {"type": "block_actions", "user": {"id": "U1"}, "team": {"id": "T1"}, "actions": []})}).encode(), form)
    assert slack("/integrations/slack/events", b'{"type":"url_verification","challenge":"c1"}',
                 "application/json").json() == {"challenge": "c1"}
    r = walk("POST", "/integrations/mattermost/command", data={**command, "team_id": "mm1", "user_id": "mmu1"},
             headers={"Authorization": f"Token {MATTERMOST_TOKEN}"})
    assert r.json()["response_type"] == "ephemeral"
    hook = {"token": MATTERMOST_OUTGOING, "team_id": "mm1", "channel_id": "mmc1", "user_id": "mmu1", "post_id": "mmp1",
            "text": "#incident help", "timestamp": 1_700_000_000}
    assert walk("POST", "/integrations/mattermost/outgoing", data=hook).json()["response_type"] == "comment"


@pytest.mark.slow  # walks every route (make test runs it; make test-fast leaves it out)
def test_every_route_answers_a_valid_request(smoke_app, smoke_client, db, clock, system, make_person):
    from twilio.request_validator import RequestValidator

    from tocsin.chatops.accounts import ChatIdentity, link_token
    from tocsin.contacts.models import ContactMethod
    from tocsin.engine.runner import Engine
    from tocsin.escalation.models import Notification
    from tocsin.notify import links
    from tocsin.statuspage import subscribers
    from tocsin.statuspage.models import StatusPage, StatusSubscriber
    from tocsin.users.service import require_user, update_user
    from tocsin.web.sessions import setup_token

    walk = Walk(smoke_client, app_routes(smoke_app))
    admin = make_person("admin", name="Ada Admin")
    bob = make_person("responder", name="Bob Responder")
    with db.unit_of_work() as s:
        update_user(s, actor=system, now=clock.now(), user=require_user(s, admin.id), password=PASSWORD)
    A = {"headers": admin.headers}  # noqa: N806
    B = {"headers": bob.headers}  # noqa: N806
    api = "/api/v1"

    # --- health, docs --------------------------------------------------------------------------
    walk("GET", "/healthz")
    walk("GET", "/readyz")
    walk("GET", "/openapi.json")
    walk("GET", "/docs")
    walk("GET", "/static/{path}", "/static/app.js")
    walk("GET", "/static/api-docs/{path}", "/static/api-docs/swagger-ui-bundle.js")
    walk("GET", "/metrics", **A)

    # --- directory: users, tokens, teams, services --------------------------------------------
    carol = walk("POST", f"{api}/users", json={"email": "carol@example.test", "name": "Carol"}, expect=201, **A).json()
    walk("GET", f"{api}/users", **A)
    walk("GET", f"{api}/users/me", **B)
    walk("GET", f"{api}/users/{{key}}", f"{api}/users/{carol['id']}", **A)
    walk("PATCH", f"{api}/users/{{key}}", f"{api}/users/{carol['email']}", json={"name": "Carol C"}, **A)
    token = walk("POST", f"{api}/tokens", json={"name": "spare"}, expect=201, **B).json()
    walk("GET", f"{api}/tokens", **B)
    walk("DELETE", f"{api}/tokens/{{token_id}}", f"{api}/tokens/{token['id']}", **B)
    walk("POST", f"{api}/teams", json={"name": "Platform", "slug": "platform"}, expect=201, **A)
    walk("GET", f"{api}/teams", **A)
    walk("GET", f"{api}/teams/{{key}}", f"{api}/teams/platform", **A)
    walk("PATCH", f"{api}/teams/{{key}}", f"{api}/teams/platform", json={"name": "Platform Team"}, **A)
    walk("PUT", f"{api}/teams/{{key}}/members", f"{api}/teams/platform/members",
         json={"users": [bob.email, admin.email]}, **A)
    walk("POST", f"{api}/services", json={"name": "Checkout", "slug": "checkout", "owner_team": "platform",
                                        "paging_unit": "alert"},
         expect=201, **A)
    walk("GET", f"{api}/services", **A)
    walk("GET", f"{api}/services/{{key}}", f"{api}/services/checkout", **A)
    walk("PATCH", f"{api}/services/{{key}}", f"{api}/services/checkout", json={
        "tier": 1, "description": "Takes payments", "runbook_url": "https://runbooks.example.test/checkout"}, **A)

    # --- on-call: schedules, escalation, contact methods ----------------------------------------
    walk("POST", f"{api}/schedules", json={"name": "Ops", "slug": "ops", "timezone": "UTC"}, expect=201, **A)
    walk("GET", f"{api}/schedules", **A)
    walk("GET", f"{api}/schedules/{{key}}", f"{api}/schedules/ops", **A)
    walk("PATCH", f"{api}/schedules/{{key}}", f"{api}/schedules/ops", json={"name": "Ops rota"}, **A)
    layer = walk("POST", f"{api}/schedules/{{key}}/layers", f"{api}/schedules/ops/layers", expect=201, json={
        "name": "primary", "kind": "daily", "timezone": "UTC", "start": "2025-12-01T09:00:00Z",
        "members": [bob.email]}, **A).json()
    walk("PATCH", f"{api}/schedules/{{key}}/layers/{{layer_id}}", f"{api}/schedules/ops/layers/{layer['id']}",
         json={"name": "first"}, **A)
    override = walk("POST", f"{api}/schedules/{{key}}/overrides", f"{api}/schedules/ops/overrides", expect=201,
                    json={"starts_at": T_START, "ends_at": T_END, "user": bob.email}, **A).json()
    walk("GET", f"{api}/schedules/{{key}}/overrides", f"{api}/schedules/ops/overrides", **A)
    walk("DELETE", f"{api}/schedules/{{key}}/overrides/{{override_id}}",
         f"{api}/schedules/ops/overrides/{override['id']}", expect=204, **A)
    walk("GET", f"{api}/schedules/{{key}}/oncall", f"{api}/schedules/ops/oncall", **A)
    walk("GET", f"{api}/schedules/{{key}}/shifts", f"{api}/schedules/ops/shifts", **A)
    ical = walk("POST", f"{api}/schedules/{{key}}/ical-token", f"{api}/schedules/ops/ical-token", **A).json()
    ical_path = "/ical/" + ical["url"].split("/ical/", 1)[1]
    walk("GET", "/ical/schedules/{token}.ics", ical_path)
    walk("POST", f"{api}/escalation-policies", expect=201, json={"name": "Default", "slug": "default", "levels": [
        {"delay_minutes": 5, "targets": [{"type": "schedule", "id": "ops"}, {"type": "user", "email": bob.email}]}]},
         **A)
    walk("GET", f"{api}/escalation-policies", **A)
    walk("GET", f"{api}/escalation-policies/{{key}}", f"{api}/escalation-policies/default", **A)
    walk("PATCH", f"{api}/escalation-policies/{{key}}", f"{api}/escalation-policies/default", json={"repeat": 1}, **A)
    walk("PUT", f"{api}/services/{{key}}/escalation-policy", f"{api}/services/checkout/escalation-policy",
         json={"policy": "default"}, **A)
    email = walk("POST", f"{api}/users/{{key}}/contact-methods", f"{api}/users/{bob.email}/contact-methods",
                 json={"type": "email", "address": "bob@example.test"}, expect=201, **B).json()
    sms = walk("POST", f"{api}/users/{{key}}/contact-methods", f"{api}/users/{bob.email}/contact-methods",
               json={"type": "sms", "address": "+14155550100"}, expect=201, **B).json()
    walk("GET", f"{api}/users/{{key}}/contact-methods", f"{api}/users/{bob.email}/contact-methods", **B)
    walk("GET", f"{api}/contact-methods/{{method_id}}", f"{api}/contact-methods/{email['id']}", **B)
    walk("POST", f"{api}/contact-methods/{{method_id}}/send-code", f"{api}/contact-methods/{email['id']}/send-code",
         **B)  # no SMTP server is configured: answered, not sent
    walk("POST", f"{api}/contact-methods/{{method_id}}/verify", f"{api}/contact-methods/{email['id']}/verify",
         json={"code": "000000"}, **B)
    with db.unit_of_work() as s:  # as if Bob had typed the emailed code (no mail server here)
        s.execute(sa.update(ContactMethod).where(ContactMethod.id == uuid.UUID(email["id"]))
                  .values(verified_at=clock.now()))
    walk("POST", f"{api}/contact-methods/{{method_id}}/test", f"{api}/contact-methods/{email['id']}/test", **B)
    rule = walk("POST", f"{api}/users/{{key}}/notification-rules", f"{api}/users/{bob.email}/notification-rules",
                json={"contact_method_id": email["id"]}, expect=201, **B).json()
    walk("GET", f"{api}/users/{{key}}/notification-rules", f"{api}/users/{bob.email}/notification-rules", **B)
    walk("DELETE", f"{api}/notification-rules/{{rule_id}}", f"{api}/notification-rules/{rule['id']}", expect=204,
         **B)
    walk("POST", f"{api}/users/{{key}}/notification-rules", f"{api}/users/{bob.email}/notification-rules",
         json={"contact_method_id": email["id"]}, expect=201, **B)
    walk("GET", f"{api}/users/{{key}}/notifications", f"{api}/users/{bob.email}/notifications", **B)

    # --- detection: integrations, inbound, alerts, rules ----------------------------------------
    keys = {}
    for kind in ("events_v2", "alertmanager", "grafana", "generic", "opsgenie"):
        body = {"service": "checkout", "type": kind, "name": kind}
        if kind == "generic":
            body["config"] = {"mapping": {"engine": "jmespath", "summary": "title", "severity": "level",
                                          "dedup_key": "id"}}
        keys[kind] = walk("POST", f"{api}/integrations", json=body, expect=201, **A).json()
    walk("GET", f"{api}/integrations", **A)
    walk("GET", f"{api}/integrations/{{integration_id}}", f"{api}/integrations/{keys['generic']['id']}", **A)
    walk("POST", "/v2/enqueue", expect=202, json={
        "routing_key": keys["events_v2"]["key"], "event_action": "trigger", "dedup_key": "disk-db1",
        "payload": {"summary": "Disk full on db1", "source": "db1", "severity": "critical"}})
    walk("POST", "/v2/change/enqueue", expect=202, json={
        "routing_key": keys["events_v2"]["key"],
        "payload": {"summary": "Deployed checkout v2", "timestamp": "2026-01-01T11:00:00Z", "source": "ci"}})
    walk("POST", "/integrations/alertmanager/{key}", f"/integrations/alertmanager/{keys['alertmanager']['key']}",
         expect=202, json={"version": "4", "status": "firing", "receiver": "tocsin", "groupKey": "{}:{}",
                           "alerts": [{"status": "firing", "labels": {"alertname": "HighLatency"},
                                       "annotations": {"summary": "p99 over 2s"},
                                       "startsAt": "2026-01-01T11:59:00Z", "fingerprint": "f00d"}]})
    walk("POST", "/integrations/grafana/{key}", f"/integrations/grafana/{keys['grafana']['key']}", expect=202,
         json={"status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "CPU"},
                                                "annotations": {"summary": "CPU high"}, "fingerprint": "beef",
                                                "startsAt": "2026-01-01T11:59:00Z"}]})
    walk("POST", "/integrations/generic/{key}", f"/integrations/generic/{keys['generic']['key']}", expect=202,
         json={"title": "Queue backlog", "level": "warning", "id": "queue"})
    genie = {"headers": {"Authorization": f"GenieKey {keys['opsgenie']['key']}"}}
    created = walk("POST", "/v2/alerts", expect=202, json={"message": "Cache miss storm", "alias": "cache"}, **genie)
    walk("GET", "/v2/alerts/requests/{request_id}", f"/v2/alerts/requests/{created.json()['requestId']}", **genie)
    walk("POST", "/v2/alerts/{identifier}/notes", "/v2/alerts/cache/notes?identifierType=alias", expect=202,
         json={"note": "warming up"}, **genie)
    # (by an alias with no open alert: the walk acknowledges the open alerts itself below)
    walk("POST", "/v2/alerts/{identifier}/acknowledge", "/v2/alerts/gone/acknowledge?identifierType=alias",
         expect=202, **genie)
    walk("POST", "/v2/alerts/{identifier}/close", "/v2/alerts/gone/close?identifierType=alias", expect=202, **genie)
    walk("POST", f"{api}/integrations/{{integration_id}}/rotate-key",
         f"{api}/integrations/{keys['generic']['id']}/rotate-key", **A)
    walk("DELETE", f"{api}/integrations/{{integration_id}}", f"{api}/integrations/{keys['grafana']['id']}",
         expect=204, **A)
    alerts = walk("GET", f"{api}/alerts", "/api/v1/alerts?service=checkout", **A).json()["items"]
    assert alerts, "the inbound events made no alert"
    alert = next(a for a in alerts if a["summary"] == "Disk full on db1")
    alert_id, other_id = alert["id"], next(a["id"] for a in alerts if a["id"] != alert["id"])
    walk("GET", f"{api}/alerts/{{alert_id}}", f"{api}/alerts/{alert_id}", **A)
    Engine(db, clock, settings=smoke_app.state.settings).run_until_idle()  # pages Bob: a notification to act on
    walk("GET", f"{api}/alerts/{{alert_id}}/escalation", f"{api}/alerts/{alert_id}/escalation", **A)
    walk("POST", f"{api}/alerts/{{alert_id}}/escalate", f"{api}/alerts/{alert_id}/escalate", json={}, **A)
    walk("POST", f"{api}/alerts/{{alert_id}}/reassign", f"{api}/alerts/{alert_id}/reassign",
         json={"policy": "default"}, **A)
    walk("GET", f"{api}/alerts/{{alert_id}}/notifications", f"{api}/alerts/{alert_id}/notifications", **A)
    walk("GET", f"{api}/alerts/{{alert_id}}/problem-suggestions", f"{api}/alerts/{alert_id}/problem-suggestions", **A)
    walk("GET", f"{api}/services/{{key}}/changes", f"{api}/services/checkout/changes", **A)
    with db.unit_of_work() as s:
        page = s.execute(sa.select(Notification).where(Notification.alert_id == uuid.UUID(alert_id))
                         .order_by(Notification.created_at)).scalars().first()
        assert page is not None, "the engine paged nobody"
        page_id = page.id
        s.execute(sa.update(Notification).where(Notification.id == page_id)
                  .values(provider_id="SM" + "1" * 32, status="sent", reply_code="4821"))
    link = "/n/" + links.make_token("smoke-secret", page_id, "ack", clock.now())
    walk("GET", "/n/{token}", link)
    walk("POST", "/n/{token}", link)
    signed = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}
    walk("POST", "/integrations/twilio/status", data=signed, expect=204, headers={
        "X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(
                                 PUBLIC_URL + "/integrations/twilio/status", signed)})
    reply = {"From": "+14155550100", "Body": "4821 close", "MessageSid": "SM" + "2" * 32}
    walk("POST", "/integrations/twilio/sms", data=reply, headers={
        "X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + "/integrations/twilio/sms", reply)})
    _chat_routes(walk, clock)
    # a Mattermost page button (Mattermost is not configured here: the route is not found)
    walk("POST", "/integrations/mattermost/actions", json={"user_id": "u", "context": {}}, expect=404)
    walk("POST", f"{api}/alerts/{{alert_id}}/acknowledge", f"{api}/alerts/{other_id}/acknowledge", **B)
    walk("POST", f"{api}/alerts/{{alert_id}}/resolve", f"{api}/alerts/{other_id}/resolve", **B)

    rr = walk("POST", f"{api}/routing-rules", json={"name": "db", "matchers": ["team=db"], "urgency": "low"},
              expect=201, **A).json()
    walk("GET", f"{api}/routing-rules", **A)
    walk("GET", f"{api}/routing-rules/{{rule_id}}", f"{api}/routing-rules/{rr['id']}", **A)
    walk("PATCH", f"{api}/routing-rules/{{rule_id}}", f"{api}/routing-rules/{rr['id']}", json={"name": "dbs"}, **A)
    walk("PUT", f"{api}/routing-rules/order", json={"ids": [rr["id"]]}, **A)
    walk("DELETE", f"{api}/routing-rules/{{rule_id}}", f"{api}/routing-rules/{rr['id']}", expect=204, **A)
    silence = walk("POST", f"{api}/silences", json={"matchers": ["team=db"], "ends_at": T_END, "reason": "upgrade"},
                   expect=201, **A).json()
    walk("GET", f"{api}/silences", **A)
    walk("GET", f"{api}/silences/{{silence_id}}", f"{api}/silences/{silence['id']}", **A)
    walk("POST", f"{api}/silences/{{silence_id}}/expire", f"{api}/silences/{silence['id']}/expire", **A)
    window = walk("POST", f"{api}/maintenance-windows", expect=201, json={
        "service": "checkout", "name": "upgrade", "starts_at": T_START, "ends_at": T_END}, **A).json()
    walk("GET", f"{api}/maintenance-windows", **A)
    walk("GET", f"{api}/maintenance-windows/{{window_id}}", f"{api}/maintenance-windows/{window['id']}", **A)
    walk("PATCH", f"{api}/maintenance-windows/{{window_id}}", f"{api}/maintenance-windows/{window['id']}",
         json={"name": "db upgrade"}, **A)
    walk("DELETE", f"{api}/maintenance-windows/{{window_id}}", f"{api}/maintenance-windows/{window['id']}",
         expect=204, **A)
    applied = walk("POST", f"{api}/config/apply", json={"documents": [{"version": 1, "teams": [
        {"slug": "from-config", "name": "From config"}]}]}, **A).json()
    assert applied["changes"] == ["+ team from-config"]
    auto = walk("POST", f"{api}/auto-incident-rules", expect=201, json={
        "name": "tier 1", "matchers": ["tier=1"], "incident_severity": "SEV2"}, **A).json()
    walk("GET", f"{api}/auto-incident-rules", **A)
    walk("DELETE", f"{api}/auto-incident-rules/{{rule_id}}", f"{api}/auto-incident-rules/{auto['id']}", expect=204,
         **A)
    inhibit = walk("POST", f"{api}/inhibition-rules", expect=201, json={
        "name": "node down", "source_matchers": ["alertname=NodeDown"], "target_matchers": ["severity=warning"],
        "equal": ["instance"]}, **A).json()
    walk("GET", f"{api}/inhibition-rules", f"{api}/inhibition-rules?service=checkout", **A)
    walk("GET", f"{api}/inhibition-rules/{{rule_id}}", f"{api}/inhibition-rules/{inhibit['id']}", **A)
    walk("PATCH", f"{api}/inhibition-rules/{{rule_id}}", f"{api}/inhibition-rules/{inhibit['id']}",
         json={"service": "checkout"}, **A)
    walk("DELETE", f"{api}/inhibition-rules/{{rule_id}}", f"{api}/inhibition-rules/{inhibit['id']}", expect=204,
         **A)
    beat = walk("POST", f"{api}/heartbeats", json={"service": "checkout", "name": "backup", "interval_seconds": 3600},
                expect=201, **A).json()
    walk("GET", f"{api}/heartbeats", **A)
    walk("GET", f"{api}/heartbeats/{{heartbeat_id}}", f"{api}/heartbeats/{beat['id']}", **A)
    walk("GET", "/heartbeats/{key}", f"/heartbeats/{beat['key']}")
    walk("POST", "/heartbeats/{key}", f"/heartbeats/{beat['key']}")
    for method in ("GET", "POST", "PUT", "PATCH"):  # Opsgenie's ping: the heartbeat by name on the key's service
        walk(method, "/v2/heartbeats/{name}/ping", "/v2/heartbeats/backup/ping", expect=202,
             headers={"Authorization": f"GenieKey {keys['opsgenie']['key']}"})
    walk("DELETE", f"{api}/heartbeats/{{heartbeat_id}}", f"{api}/heartbeats/{beat['id']}", **A)
    check = walk("POST", f"{api}/checks", expect=201, json={
        "service": "checkout", "name": "home", "kind": "http", "target": "http://127.0.0.1:9/",
        "interval_seconds": 60, "timeout_seconds": 5}, **A).json()
    walk("GET", f"{api}/checks", **A)
    walk("GET", f"{api}/checks/{{check_id}}", f"{api}/checks/{check['id']}", **A)
    walk("PATCH", f"{api}/checks/{{check_id}}", f"{api}/checks/{check['id']}", json={"name": "homepage"}, **A)
    walk("GET", f"{api}/checks/{{check_id}}/results", f"{api}/checks/{check['id']}/results", **A)
    walk("GET", f"{api}/checks/{{check_id}}/uptime", f"{api}/checks/{check['id']}/uptime", **A)
    walk("DELETE", f"{api}/checks/{{check_id}}", f"{api}/checks/{check['id']}", **A)
    slo = walk("POST", f"{api}/services/{{key}}/slos", f"{api}/services/checkout/slos", expect=201, json={
        "name": "requests", "target": 99.9, "source": "push"}, **A).json()
    walk("GET", f"{api}/services/{{key}}/slos", f"{api}/services/checkout/slos", **A)
    walk("GET", f"{api}/slos/{{slo_id}}", f"{api}/slos/{slo['id']}", **A)
    walk("PATCH", f"{api}/slos/{{slo_id}}", f"{api}/slos/{slo['id']}", json={"target": 99.5}, **A)
    walk("POST", f"{api}/slos/{{slo_id}}/events", f"{api}/slos/{slo['id']}/events", json={"good": 9, "total": 10},
         **A)
    walk("DELETE", f"{api}/slos/{{slo_id}}", f"{api}/slos/{slo['id']}", **A)

    # --- response: incidents ---------------------------------------------------------------------
    inc = walk("POST", f"{api}/incidents", expect=201, json={
        "title": "Checkout errors", "severity": "SEV2", "services": ["checkout"]}, **B).json()
    ref = inc["ref"]
    walk("GET", f"{api}/incidents", **B)
    walk("GET", f"{api}/incidents/counts", **B)
    walk("GET", f"{api}/incidents/export", **B)
    walk("GET", f"{api}/incidents/{{key}}", f"{api}/incidents/{ref}", **B)
    walk("PATCH", f"{api}/incidents/{{key}}", f"{api}/incidents/{ref}", json={"summary": "Payments fail"}, **B)
    walk("GET", f"{api}/incidents/{{key}}/timeline", f"{api}/incidents/{ref}/timeline", **B)
    walk("GET", f"{api}/incidents/{{key}}/guardrails", f"{api}/incidents/{ref}/guardrails", **B)
    note = walk("POST", f"{api}/incidents/{{key}}/notes", f"{api}/incidents/{ref}/notes", expect=201,
                json={"text": "rolled back"}, **B).json()
    walk("PATCH", f"{api}/incidents/{{key}}/notes/{{entry_id}}", f"{api}/incidents/{ref}/notes/{note['id']}",
         json={"text": "rolled back the deploy"}, **B)
    walk("GET", f"{api}/incidents/{{key}}/notes/{{entry_id}}/revisions",
         f"{api}/incidents/{ref}/notes/{note['id']}/revisions", **B)
    walk("GET", f"{api}/incidents/{{key}}/roles", f"{api}/incidents/{ref}/roles", **B)
    walk("POST", f"{api}/incidents/{{key}}/roles", f"{api}/incidents/{ref}/roles",
         json={"role": "comms_lead", "user": admin.email}, **B)
    walk("GET", f"{api}/incidents/{{key}}/participants", f"{api}/incidents/{ref}/participants", **B)
    walk("POST", f"{api}/incidents/{{key}}/participants", f"{api}/incidents/{ref}/participants",
         json={"user": carol["email"]}, **B)
    walk("GET", f"{api}/incidents/{{key}}/changes", f"{api}/incidents/{ref}/changes", **B)
    walk("POST", f"{api}/incidents/{{key}}/responders", f"{api}/incidents/{ref}/responders", expect=201,
         json={"targets": [{"kind": "user", "key": make_person("responder", name="Dan Db").id.hex}],
               "message": "Need you"}, **B)
    walk("GET", f"{api}/incidents/{{key}}/responders", f"{api}/incidents/{ref}/responders", **B)
    walk("POST", f"{api}/alerts/{{alert_id}}/attach", f"{api}/alerts/{alert_id}/attach", json={"incident": ref},
         **B)
    walk("GET", f"{api}/audit", **A)
    walk("GET", f"{api}/audit/verify", **A)

    # --- status pages ------------------------------------------------------------------------------
    walk("POST", f"{api}/status-pages", json={"slug": "acme", "name": "Acme Status"}, expect=201, **A)
    walk("GET", f"{api}/status-pages", **A)
    walk("GET", f"{api}/status-pages/{{slug}}", f"{api}/status-pages/acme", **A)
    walk("PATCH", f"{api}/status-pages/{{slug}}", f"{api}/status-pages/acme", json={"name": "Acme"}, **A)
    comp = walk("POST", f"{api}/status-pages/{{slug}}/components", f"{api}/status-pages/acme/components",
                json={"name": "Checkout", "service": "checkout"}, expect=201, **A).json()
    spare = walk("POST", f"{api}/status-pages/{{slug}}/components", f"{api}/status-pages/acme/components",
                 json={"name": "Spare"}, expect=201, **A).json()
    walk("GET", f"{api}/status-pages/{{slug}}/components", f"{api}/status-pages/acme/components", **A)
    walk("PATCH", f"{api}/status-pages/{{slug}}/components/{{component_id}}",
         f"{api}/status-pages/acme/components/{comp['id']}", json={"status": "degraded_performance"}, **A)
    walk("DELETE", f"{api}/status-pages/{{slug}}/components/{{component_id}}",
         f"{api}/status-pages/acme/components/{spare['id']}", expect=204, **A)
    sinc = walk("POST", f"{api}/status-pages/{{slug}}/incidents", f"{api}/status-pages/acme/incidents", expect=201,
                json={"name": "Slow checkout", "status": "investigating", "body": "Looking."}, **B).json()
    walk("GET", f"{api}/status-pages/{{slug}}/incidents", f"{api}/status-pages/acme/incidents", **B)
    walk("GET", f"{api}/status-pages/{{slug}}/incidents/{{status_incident_id}}",
         f"{api}/status-pages/acme/incidents/{sinc['id']}", **B)
    walk("POST", f"{api}/status-pages/{{slug}}/incidents/{{status_incident_id}}/updates",
         f"{api}/status-pages/acme/incidents/{sinc['id']}/updates", expect=201,
         json={"status": "resolved", "body": "Fixed."}, **B)
    public = walk("POST", f"{api}/incidents/{{key}}/status-updates", f"{api}/incidents/{ref}/status-updates", expect=201,
         json={"page": "acme", "name": "Checkout errors", "status": "investigating", "body": "Looking into it.",
               "component_statuses": {comp["id"]: "partial_outage"}}, **B).json()
    maint = walk("POST", f"{api}/status-pages/{{slug}}/maintenances", f"{api}/status-pages/acme/maintenances",
                 expect=201, json={"name": "Upgrade", "body": "Short pauses.", "scheduled_for": T_START,
                                   "scheduled_until": T_END, "components": [comp["id"]]}, **B).json()
    walk("GET", f"{api}/status-pages/{{slug}}/maintenances", f"{api}/status-pages/acme/maintenances", **B)
    walk("PATCH", f"{api}/status-pages/{{slug}}/maintenances/{{maintenance_id}}",
         f"{api}/status-pages/acme/maintenances/{maint['id']}", json={"body": "Shorter pauses."}, **B)
    hook = walk("POST", f"{api}/status-pages/{{slug}}/webhooks", f"{api}/status-pages/acme/webhooks",
                json={"url": "https://hooks.example.test/status"}, expect=201, **A).json()
    walk("GET", f"{api}/status-pages/{{slug}}/subscribers", f"{api}/status-pages/acme/subscribers", **A)
    walk("DELETE", f"{api}/status-pages/{{slug}}/subscribers/{{subscriber_id}}",
         f"{api}/status-pages/acme/subscribers/{hook['id']}", expect=204, **A)
    walk("POST", "/status/{slug}/subscribe", "/status/acme/subscribe", data={"email": "reader@example.test"})
    with db.unit_of_work() as s:  # a second reader, whose confirm token the test gets directly
        acme = s.execute(sa.select(StatusPage).where(StatusPage.slug == "acme")).scalar_one()
        confirm = subscribers.subscribe_email(s, now=clock.now(), page=acme, email="other@example.test",
                                              secret="smoke-secret")
    assert confirm
    walk("GET", "/status/{slug}/confirm/{token}", f"/status/acme/confirm/{confirm}")
    walk("POST", "/status/{slug}/confirm/{token}", f"/status/acme/confirm/{confirm}")
    with db.unit_of_work() as s:
        sub_id = s.execute(sa.select(StatusSubscriber.id).where(StatusSubscriber.address == "other@example.test")
                           ).scalar_one()
    unsubscribe = subscribers.unsubscribe_token("smoke-secret", sub_id)
    walk("GET", "/status/{slug}/unsubscribe/{token}", f"/status/acme/unsubscribe/{unsubscribe}")
    walk("POST", "/status/{slug}/unsubscribe/{token}", f"/status/acme/unsubscribe/{unsubscribe}")

    # --- learning: postmortems, action items, problems, reports --------------------------------
    walk("PATCH", f"{api}/incidents/{{key}}", f"{api}/incidents/{ref}", json={"status": "resolved"}, **B)
    pm = walk("POST", f"{api}/incidents/{{key}}/postmortem", f"{api}/incidents/{ref}/postmortem", json={},
              expect=201, **B).json()
    walk("GET", f"{api}/incidents/{{key}}/postmortem", f"{api}/incidents/{ref}/postmortem", **B)
    walk("GET", f"{api}/postmortems", **B)
    walk("GET", f"{api}/postmortems/{{postmortem_id}}", f"{api}/postmortems/{pm['id']}", **B)
    walk("PATCH", f"{api}/postmortems/{{postmortem_id}}", f"{api}/postmortems/{pm['id']}",
         json={"title": "Checkout errors: what happened"}, **B)
    walk("GET", f"{api}/postmortems/{{postmortem_id}}/revisions", f"{api}/postmortems/{pm['id']}/revisions", **B)
    walk("POST", f"{api}/postmortems/{{postmortem_id}}/comments", f"{api}/postmortems/{pm['id']}/comments",
         json={"text": "Add the timeline"}, expect=201, **A)
    walk("GET", f"{api}/postmortems/{{postmortem_id}}/comments", f"{api}/postmortems/{pm['id']}/comments", **B)
    walk("PATCH", f"{api}/postmortems/{{postmortem_id}}", f"{api}/postmortems/{pm['id']}",
         json={"status": "in_review", "reviewers": [admin.email], "public_text": "Payments failed for 20 minutes."},
         **B)
    walk("POST", f"{api}/postmortems/{{postmortem_id}}/approve", f"{api}/postmortems/{pm['id']}/approve", **A)
    walk("GET", f"{api}/postmortems/{{postmortem_id}}/export", f"{api}/postmortems/{pm['id']}/export", **B)
    walk("POST", f"{api}/status-pages/{{slug}}/incidents/{{status_incident_id}}/updates",
         f"{api}/status-pages/acme/incidents/{public['id']}/updates", expect=201,
         json={"status": "resolved", "body": "Payments work again."}, **B)
    walk("POST", f"{api}/postmortems/{{postmortem_id}}/publish-public",
         f"{api}/postmortems/{pm['id']}/publish-public", json={"page": "acme"}, **A)
    tpl = walk("POST", f"{api}/postmortem-templates", expect=201, json={
        "name": "Short", "sections": [{"key": "summary", "title": "Summary"}]}, **A).json()
    walk("GET", f"{api}/postmortem-templates", **A)
    walk("GET", f"{api}/postmortem-templates/{{template_id}}", f"{api}/postmortem-templates/{tpl['id']}", **A)
    walk("PATCH", f"{api}/postmortem-templates/{{template_id}}", f"{api}/postmortem-templates/{tpl['id']}",
         json={"name": "Shorter", "sections": [{"key": "summary", "title": "Summary"},
                                               {"key": "impact", "title": "Impact"}]}, **A)
    item = walk("POST", f"{api}/action-items", expect=201, json={
        "title": "Alert on disk growth", "type": "detect", "owner": bob.email, "incident": ref,
        "due_on": "2025-12-01"}, **B).json()
    walk("GET", f"{api}/action-items", **B)
    walk("GET", f"{api}/action-items/{{item_id}}", f"{api}/action-items/{item['id']}", **B)
    walk("PATCH", f"{api}/action-items/{{item_id}}", f"{api}/action-items/{item['id']}",
         json={"status": "in_progress"}, **B)
    walk("PATCH", f"{api}/action-items/{{item_id}}", f"{api}/action-items/{item['id']}",
         json={"status": "in_progress"}, **B)  # again: nothing changes, still 200
    walk("GET", f"{api}/action-items/sync-secret", **A)
    walk("POST", f"{api}/action-items/sync", json={"ref": item["ref"], "status": "done"}, **A)
    walk("GET", f"{api}/incidents/{{key}}/action-items", f"{api}/incidents/{ref}/action-items", **B)
    walk("GET", f"{api}/teams/{{key}}/action-items/overdue", f"{api}/teams/platform/action-items/overdue", **B)
    problem = walk("POST", f"{api}/problems", json={"title": "Disk fills up", "service": "checkout"}, expect=201,
                   **B).json()
    walk("GET", f"{api}/problems", **B)
    walk("GET", f"{api}/problems/{{problem_id}}", f"{api}/problems/{problem['id']}", **B)
    walk("PATCH", f"{api}/problems/{{problem_id}}", f"{api}/problems/{problem['ref']}",
         json={"workaround": "Rotate the logs"}, **B)
    walk("POST", f"{api}/problems/{{problem_id}}/incidents", f"{api}/problems/{problem['ref']}/incidents",
         json={"incident": ref}, expect=201, **B)
    walk("GET", f"{api}/incidents/{{key}}/problems", f"{api}/incidents/{ref}/problems", **B)
    walk("GET", f"{api}/incidents/{{key}}/problem-suggestions", f"{api}/incidents/{ref}/problem-suggestions", **B)
    walk("DELETE", f"{api}/problems/{{problem_id}}/incidents/{{key}}",
         f"{api}/problems/{problem['ref']}/incidents/{ref}", expect=204, **B)
    for report in ("incidents", "action-items", "incidents/chart.svg", "incidents/chart.png", "page", "oncall"):
        walk("GET", f"{api}/reports/{report}", **A)

    # --- regulatory clocks and obligations (security incidents) -------------------------------------
    sec = walk("POST", f"{api}/incidents", expect=201, json={"title": "Leaked keys", "severity": "SEV2",
                                                            "kind": "security"}, **A).json()["ref"]
    walk("GET", f"{api}/regimes", **A)
    walk("PUT", f"{api}/incidents/{{key}}/exposure", f"{api}/incidents/{sec}/exposure",
         json={"data_categories": ["personal"], "regions": ["DE"], "affected_count": 40}, **A)
    walk("GET", f"{api}/incidents/{{key}}/exposure", f"{api}/incidents/{sec}/exposure", **A)
    walk("POST", f"{api}/incidents/{{key}}/regimes", f"{api}/incidents/{sec}/regimes", json={"regime": "gdpr"}, **A)
    walk("POST", f"{api}/incidents/{{key}}/regimes", f"{api}/incidents/{sec}/regimes", json={"regime": "nis2"}, **A)
    walk("DELETE", f"{api}/incidents/{{key}}/regimes/{{regime}}", f"{api}/incidents/{sec}/regimes/nis2?reason=no",
         **A)
    walk("GET", f"{api}/incidents/{{key}}/regimes", f"{api}/incidents/{sec}/regimes", **A)
    walk("PUT", f"{api}/incidents/{{key}}/clocks/{{clock}}", f"{api}/incidents/{sec}/clocks/aware_at",
         json={"at": "2026-01-01T10:00:00Z", "reason": "SOC"}, **A)
    walk("GET", f"{api}/incidents/{{key}}/clocks", f"{api}/incidents/{sec}/clocks", **A)
    owed = walk("GET", f"{api}/incidents/{{key}}/obligations", f"{api}/incidents/{sec}/obligations", **A).json()
    owed_ids = {o["obligation"]: o["id"] for o in owed["items"]}
    walk("POST", f"{api}/incidents/{{key}}/obligations/{{obligation_id}}/filing",
         f"{api}/incidents/{sec}/obligations/{owed_ids['art33']}/filing", json={"reference": "DPA-1"}, **A)
    walk("POST", f"{api}/incidents/{{key}}/obligations/{{obligation_id}}/not-applicable",
         f"{api}/incidents/{sec}/obligations/{owed_ids['art34']}/not-applicable", json={"reason": "encrypted"}, **A)
    walk("GET", f"{api}/obligations", f"{api}/obligations?state=all", **A)

    # --- the console ------------------------------------------------------------------------------
    web = AppliedClient(smoke_app, base_url=PUBLIC_URL, raise_server_exceptions=False)
    W = {"client": web}  # noqa: N806
    walk("GET", "/login", **W)
    walk("POST", "/login", data={"email": admin.email, "password": PASSWORD}, expect=303, **W)
    token = csrf(web)

    def form(path: str, data: dict[str, str] | None = None) -> dict[str, Any]:
        return {"client": web, "data": {**(data or {}), "csrf_token": token}}

    for page in ("/", "/alerts", "/services", "/schedules", "/escalation-policies", "/users", "/silences",
                 "/status-pages", "/reports", "/me", "/incidents", "/postmortems", "/configure",
                 "/configure/guardrails"):
        walk("GET", page, **W)
    base = f"/incidents/{sec}/obligations"
    walk("POST", "/incidents/{ref}/obligations/exposure", f"{base}/exposure", expect=303,
         **form("", {"data-health": "1", "regions": "US-CO", "affected_count": "12"}))
    walk("POST", "/incidents/{ref}/obligations/regime", f"{base}/regime", expect=303,
         **form("", {"regime": "us-co", "reason": "suggested"}))
    walk("POST", "/incidents/{ref}/obligations/drop", f"{base}/drop", expect=303,
         **form("", {"regime": "us-co", "reason": "mistake"}))
    walk("POST", "/incidents/{ref}/obligations/regime", f"{base}/regime", expect=303, **form("", {"regime": "nis2"}))
    walk("POST", "/incidents/{ref}/obligations/clock", f"{base}/clock", expect=303,
         **form("", {"clock": "discovered_at", "at": "2026-01-01T09:00", "reason": "ticket"}))
    owed_ids = {o["obligation"]: o["id"] for o in walk(
        "GET", f"{api}/incidents/{{key}}/obligations", f"{api}/incidents/{sec}/obligations", **A).json()["items"]}
    walk("POST", "/incidents/{ref}/obligations/file", f"{base}/file", expect=303,
         **form("", {"obligation": owed_ids["early-warning"], "reference": "CSIRT-1", "late_reason": "late"}))
    walk("POST", "/incidents/{ref}/obligations/not-applicable", f"{base}/not-applicable", expect=303,
         **form("", {"obligation": owed_ids["notification"], "reason": "not significant"}))
    walk("GET", "/incidents/{ref}/obligations/report", f"{base}/report", **W)
    walk("GET", "/obligations/report", **W)
    walk("GET", "/alerts/{alert_id}", f"/alerts/{alert_id}", **W)
    walk("GET", "/services/{key}", "/services/checkout", **W)
    walk("GET", "/schedules/{key}", "/schedules/ops", **W)
    walk("GET", "/escalation-policies/{key}", "/escalation-policies/default", **W)
    walk("GET", "/users/{user_id}", f"/users/{bob.id}", **W)
    walk("GET", "/status-pages/{slug}", "/status-pages/acme", **W)
    walk("GET", "/reports/view", "/reports/view?period=2025-12", **W)
    walk("GET", "/incidents/{ref}", f"/incidents/{ref}", **W)
    _walk_indicators(walk, api, B, W, form)  # issue 17
    walk_evidence(walk, form, W, A, ref)
    walk("GET", "/severity-suggestion", "/severity-suggestion?customers_affected=300", **W)
    walk("GET", "/incidents/{key}/postmortem", f"/incidents/{ref}/postmortem", expect=(200, 303), **W)
    walk("GET", "/postmortems/{postmortem_id}", f"/postmortems/{pm['id']}", **W)
    walk("POST", "/postmortems/{postmortem_id}/{action}", f"/postmortems/{pm['id']}/comments", expect=303,
         **form("", {"text": "Looks good"}))
    fresh = walk("POST", "/incidents", expect=303, **form("", {"title": "Queue backlog", "severity": "SEV3",
                                                               "service": "checkout"}))
    fresh_ref = fresh.headers["location"].rsplit("/", 1)[-1].split("?", 1)[0]
    walk("POST", "/incidents/{ref}/{action}", f"/incidents/{fresh_ref}/note", expect=303,
         **form("", {"text": "Looking"}))
    walk("PATCH", f"{api}/incidents/{{key}}", f"{api}/incidents/{fresh_ref}", json={"status": "resolved"}, **B)
    walk("POST", "/incidents/{key}/postmortem", f"/incidents/{fresh_ref}/postmortem", expect=303, **form(""))
    second = walk("GET", f"{api}/alerts", "/api/v1/alerts?service=checkout&status=triggered", **A).json()["items"]
    target = second[0]["id"] if second else alert_id
    walk("POST", "/alerts/{alert_id}/attach", f"/alerts/{target}/attach", expect=303,
         **form("", {"incident": fresh_ref}))
    walk("POST", "/alerts/{alert_id}/acknowledge", f"/alerts/{target}/acknowledge", expect=303, **form(""))
    walk("POST", "/alerts/{alert_id}/resolve", f"/alerts/{target}/resolve", expect=303, **form(""))
    assert smoke_client.post("/v2/enqueue", json={
        "routing_key": keys["events_v2"]["key"], "event_action": "trigger", "dedup_key": "queue-db1",
        "payload": {"summary": "Queue stuck on db1", "source": "db1", "severity": "critical"}}).status_code == 202
    fired = walk("GET", f"{api}/alerts", "/api/v1/alerts?service=checkout&status=triggered", **A).json()["items"]
    group_id = next(a["group_id"] for a in fired if a["summary"] == "Queue stuck on db1")
    walk("POST", f"{api}/alert-groups/{{group_id}}/acknowledge", f"{api}/alert-groups/{group_id}/acknowledge", **B)
    walk("POST", f"{api}/alert-groups/{{group_id}}/resolve", f"{api}/alert-groups/{group_id}/resolve", **B)
    walk("POST", "/schedules/{key}/overrides", "/schedules/ops/overrides", expect=303,
         **form("", {"start": "2026-02-01T09:00", "end": "2026-02-01T17:00", "user": str(bob.id)}))
    with db.unit_of_work() as s:
        from tocsin.oncall.models import ScheduleOverride

        override_id = s.execute(sa.select(ScheduleOverride.id)).scalars().first()
    walk("POST", "/schedules/{key}/overrides/{override_id}/delete", f"/schedules/ops/overrides/{override_id}/delete",
         expect=303, **form(""))
    walk_schedule_editor_and_swaps(walk, form, W, A, B, admin, bob)
    walk("POST", "/silences", expect=303, **form("", {"matchers": "team=db", "duration": "60", "reason": "noisy"}))
    console_silence = walk("GET", f"{api}/silences", **A).json()["items"][0]["id"]
    walk("POST", "/silences/{silence_id}/expire", f"/silences/{console_silence}/expire", expect=303, **form(""))
    # action items and problems in the console (web/routes/action_pages.py, problem_pages.py)
    walk("GET", "/action-items", "/action-items?owner=me", **W)
    made = walk("POST", "/action-items", expect=303, **form("", {"title": "Add a retry budget", "type": "prevent",
                                                               "incident": fresh_ref, "due": "2026-02-01"}))
    act = made.headers["location"].rsplit("/", 1)[-1]
    walk("GET", "/action-items/{item_id}", f"/action-items/{act}", **W)
    walk("POST", "/action-items/{item_id}/edit", f"/action-items/{act}/edit", expect=303, **form("", {
        "title": "Add a retry budget", "type": "prevent", "priority": "high", "status": "open", "owner": "",
        "team": "", "due": "2026-02-02", "description": ""}))
    walk("POST", "/action-items/{item_id}/status", f"/action-items/{act}/status", expect=303, **form("", {"status": "done"}))
    walk("GET", "/problems", **W)
    recorded = walk("POST", "/problems", expect=303, **form("", {"title": "Queue backlog on db1", "incidents": fresh_ref}))
    prb = recorded.headers["location"].rsplit("/", 1)[-1]
    walk("GET", "/problems/{problem_id}", f"/problems/{prb}", **W)
    walk("POST", "/problems/{problem_id}/edit", f"/problems/{prb}/edit", expect=303,
         **form("", {"title": "Queue backlog on db1", "workaround": "restart the consumer"}))
    walk("POST", "/problems/{problem_id}/status", f"/problems/{prb}/status", expect=303, **form("", {"status": "known_error"}))
    walk("POST", "/problems/{problem_id}/unlink", f"/problems/{prb}/unlink", expect=303, **form("", {"incident": fresh_ref}))
    walk("POST", "/problems/{problem_id}/link", f"/problems/{prb}/link", expect=303, **form("", {"incident": fresh_ref}))
    walk("POST", "/maintenance-windows", expect=303, **form("", {
        "service": "checkout", "name": "patching", "start": "2026-03-01T01:00", "end": "2026-03-01T02:00"}))
    # rules, silences and maintenance, the policy editor and the audit log
    walk("GET", "/silences/{silence_id}", f"/silences/{console_silence}", **W)
    walk("POST", "/silences/{silence_id}", f"/silences/{console_silence}", expect=409, **form("", {
        "matchers": "team=db", "end": "2026-01-02T01:00", "reason": "ended already"}))
    live_silence = walk("POST", f"{api}/silences", json={"matchers": ["team=db"], "ends_at": T_END, "reason": "r"},
                        expect=201, **A).json()["id"]
    walk("PATCH", f"{api}/silences/{{silence_id}}", f"{api}/silences/{live_silence}", json={"reason": "longer"}, **A)
    console_window = walk("GET", f"{api}/maintenance-windows", **A).json()["items"][0]["id"]
    walk("GET", "/maintenance-windows/{window_id}", f"/maintenance-windows/{console_window}", **W)
    walk("POST", "/maintenance-windows/{window_id}", f"/maintenance-windows/{console_window}", expect=303,
         **form("", {"name": "patching", "start": "2026-03-01T01:00", "end": "2026-03-01T03:00",
                     "recurrence": "weekly", "timezone": "UTC"}))
    walk("POST", "/maintenance-windows/{window_id}/delete", f"/maintenance-windows/{console_window}/delete",
         expect=303, **form(""))
    for page in ("/routing-rules", "/auto-incident-rules", "/inhibition-rules", "/escalation-policies/new", "/audit",
                 "/audit/verify"):
        walk("GET", page, **W)
    walk("POST", "/routing-rules", expect=303, **form("", {"name": "web", "matchers": "team=web", "urgency": "low"}))
    web_rule = walk("GET", f"{api}/routing-rules", **A).json()["items"][-1]["id"]
    walk("GET", "/routing-rules/{rule_id}", f"/routing-rules/{web_rule}", **W)
    walk("POST", "/routing-rules/{rule_id}", f"/routing-rules/{web_rule}", expect=303,
         **form("", {"name": "web", "matchers": "team=web", "service": "checkout"}))
    walk("POST", "/routing-rules/order", expect=303, **form("", {"order": web_rule, "rule": web_rule,
                                                                  "direction": "up"}))
    walk("POST", "/routing-rules/{rule_id}/delete", f"/routing-rules/{web_rule}/delete", expect=303, **form(""))
    walk("POST", "/auto-incident-rules", expect=303, **form("", {"name": "t1", "matchers": "tier=1",
                                                                  "incident_severity": "SEV2"}))
    t1 = walk("GET", f"{api}/auto-incident-rules", **A).json()["items"][-1]["id"]
    walk("PATCH", f"{api}/auto-incident-rules/{{rule_id}}", f"{api}/auto-incident-rules/{t1}",
         json={"incident_kind": "security"}, **A)
    walk("GET", "/auto-incident-rules/{rule_id}", f"/auto-incident-rules/{t1}", **W)
    walk("POST", "/auto-incident-rules/{rule_id}", f"/auto-incident-rules/{t1}", expect=303,
         **form("", {"name": "t1", "matchers": "tier=1", "incident_severity": "SEV1"}))
    walk("POST", "/auto-incident-rules/{rule_id}/delete", f"/auto-incident-rules/{t1}/delete", expect=303,
         **form(""))
    walk("POST", "/inhibition-rules", expect=303, **form("", {"name": "dc", "source_matchers": "alertname=DC",
                                                               "target_matchers": "severity=warning"}))
    dc = walk("GET", f"{api}/inhibition-rules", **A).json()["items"][-1]["id"]
    walk("GET", "/inhibition-rules/{rule_id}", f"/inhibition-rules/{dc}", **W)
    walk("POST", "/inhibition-rules/{rule_id}", f"/inhibition-rules/{dc}", expect=303, **form("", {
        "name": "dc", "source_matchers": "alertname=DC", "target_matchers": "severity=info", "equal": "dc"}))
    walk("POST", "/inhibition-rules/{rule_id}/delete", f"/inhibition-rules/{dc}/delete", expect=303, **form(""))
    walk("POST", "/escalation-policies/new", expect=303, **form("", {
        "name": "Console", "levels": "1", "l0-slots": "1", "l0-t0": f"user:{bob.id}", "l0-delay": "5"}))
    walk("GET", "/escalation-policies/{key}/edit", "/escalation-policies/console/edit", **W)
    walk("POST", "/escalation-policies/{key}/edit", "/escalation-policies/console/edit", expect=303, **form("", {
        "name": "Console", "levels": "1", "l0-slots": "1", "l0-t0": f"user:{bob.id}", "l0-delay": "10",
        "repeat": "1"}))
    walk("POST", "/escalation-policies/{key}/delete", "/escalation-policies/console/delete", expect=303, **form(""))
    walk("POST", "/status-pages", expect=303, **form("", {"slug": "beta", "name": "Beta"}))
    walk("POST", "/status-pages/{slug}/components", "/status-pages/beta/components", expect=303,
         **form("", {"name": "API"}))
    beta_component = walk("GET", f"{api}/status-pages/{{slug}}/components", f"{api}/status-pages/beta/components",
                          **A).json()["items"][0]["id"]
    walk("POST", "/status-pages/{slug}/components/{component_id}/status",
         f"/status-pages/beta/components/{beta_component}/status", expect=303, **form("", {"status": "major_outage"}))
    walk("POST", "/status-pages/{slug}/maintenance", "/status-pages/beta/maintenance", expect=303, **form("", {
        "name": "DB upgrade", "body": "Read-only for a while.", "start": "2026-04-01T01:00",
        "end": "2026-04-01T02:00", f"component:{beta_component}": "on"}))
    walk("POST", "/me/profile", expect=303, **form("", {"name": "Ada A", "time_zone": "Europe/Berlin"}))
    walk("POST", "/me/contacts", expect=303, **form("", {"type": "email", "address": "ada@example.test"}))
    mine = walk("GET", f"{api}/users/{{key}}/contact-methods", f"{api}/users/{admin.email}/contact-methods",
                **A).json()["items"][0]["id"]
    walk("POST", "/me/contacts/{method_id}/delete", f"/me/contacts/{mine}/delete", expect=303, **form(""))
    walk("POST", "/me/tokens", **form("", {"name": "laptop"}))
    my_tokens = walk("GET", f"{api}/tokens", **A).json()["items"]
    laptop = next(t["id"] for t in my_tokens if t["name"] == "laptop")
    walk("POST", "/me/tokens/{token_id}/revoke", f"/me/tokens/{laptop}/revoke", expect=303, **form(""))
    # Web Push: the installable app, and a device's subscription (test push: no VAPID subject, a clear failure)
    walk("GET", "/manifest.webmanifest")
    walk("GET", "/sw.js")
    walk("GET", f"{api}/push/vapid-public-key", **B)
    walk("GET", "/me/push/key", **W)
    point = ec.derive_private_key(7, ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    keys = {"p256dh": base64.urlsafe_b64encode(point).rstrip(b"=").decode(), "auth": "AAAAAAAAAAAAAAAAAAAAAA"}
    walk("POST", f"{api}/users/{{key}}/push-subscriptions", f"{api}/users/me/push-subscriptions", expect=201,
         json={"endpoint": "https://push.example.test/wpush/bob", "keys": keys}, **B)
    walk("POST", "/me/push", expect=303, **form("", {"endpoint": "https://push.example.test/wpush/ada", **keys}))
    device = next(m["id"] for m in walk("GET", f"{api}/users/{{key}}/contact-methods",
                                        f"{api}/users/{admin.email}/contact-methods", **A).json()["items"]
                  if m["type"] == "push")
    walk("POST", "/me/push/{method_id}/test", f"/me/push/{device}/test", expect=303, **form(""))
    walk("POST", "/me/push/{method_id}/delete", f"/me/push/{device}/delete", expect=303, **form(""))
    walk_me_integrations_monitors_and_status(walk, form, W, A, db, clock, admin)
    walk_containment(walk, form, W, A, B)
    walk_workflows(walk, form, W, A, B)
    walk_roles(walk, form, W, A, B, bob)
    walk_exercises(walk, form, W, A, B, admin)
    walk_check_agents(walk, form, W, A)
    walk_comms(walk, form, W, A, B)
    walk_runbooks(walk, form, W, A, B)
    walk_automation(walk, form, W, A, B)
    walk_legal_gate_and_guests(walk, form, W, A, admin)
    invited = walk("POST", "/users/invite", expect=(200, 303), **form("", {
        "email": "dan@example.test", "name": "Dan", "org_role": "viewer"}))
    page_text = invited.text if invited.status_code == 200 else web.get(invited.headers["location"]).text
    invite_path = "/invite/" + re.search(r"/invite/([A-Za-z0-9_-]+)", page_text).group(1)
    walk("POST", "/users/{user_id}/role", f"/users/{carol['id']}/role", expect=303,
         **form("", {"org_role": "viewer"}))
    walk("POST", "/users/{user_id}/active", f"/users/{carol['id']}/active", expect=303,
         **form("", {"active": "false"}))
    # services, teams and invitations (config_services.py, config_teams.py, people.py)
    for page in ("/services/new", "/teams", "/teams/new"):
        walk("GET", page, **W)
    walk("GET", "/services/{key}/edit", "/services/checkout/edit", **W)
    walk("GET", "/teams/{key}", "/teams/platform", **W)
    walk("POST", "/teams", expect=303, **form("", {"name": "Storage"}))
    walk("POST", "/teams/{key}/edit", "/teams/storage/edit", expect=303,
         **form("", {"name": "Storage", "description": "Disks"}))
    walk("POST", "/teams/{key}/members", "/teams/storage/members", expect=303, **form("", {"user": str(bob.id)}))
    walk("POST", "/teams/{key}/members/{user_id}/remove", f"/teams/storage/members/{bob.id}/remove", expect=303,
         **form(""))
    walk("POST", "/services", expect=303, **form("", {
        "name": "Disks", "owner_team": "storage", "tier": "2", "dep:checkout": "1", "policy": "default",
        "group_by": "alertname", "group_window": "10m", "flap_window": "0s", "sh_on": "1",
        "sh_timezone": "Europe/Berlin", "day:1": "1", "sh_start": "09:00", "sh_end": "17:00"}))
    walk("POST", "/services/{key}/edit", "/services/disks/edit", expect=303, **form("", {
        "name": "Disks", "owner_team": "storage", "tier": "1", "paging_unit": "alert", "group_window": "1h",
        "flap_window": "30m"}))
    disks_key = walk("POST", f"{api}/integrations", json={"service": "disks", "type": "events_v2", "name": "disks"},
                     expect=201, **A).json()["key"]
    assert smoke_client.post("/v2/enqueue", json={
        "routing_key": disks_key, "event_action": "trigger", "dedup_key": "disk-full",
        "payload": {"summary": "Disk full", "source": "db1", "severity": "critical"}}).status_code == 202
    disk_alert = walk("GET", f"{api}/alerts", "/api/v1/alerts?service=disks", **A).json()["items"][0]["id"]
    walk("POST", "/services/{key}/delete", "/services/disks/delete", expect=409, **form("", {"confirm": "disks"}))
    walk("POST", f"{api}/alerts/{{alert_id}}/resolve", f"{api}/alerts/{disk_alert}/resolve", **A)
    walk("POST", "/services/{key}/delete", "/services/disks/delete", expect=303, **form("", {"confirm": "disks"}))
    walk("POST", f"{api}/services", json={"name": "Spare"}, expect=201, **A)
    walk("DELETE", f"{api}/services/{{key}}", f"{api}/services/spare", expect=204, **A)
    walk("POST", "/users/invite", expect=200, **form("", {"email": "erin@example.test", "name": "Erin",
                                                          "org_role": "viewer"}))

    def erins_invite() -> str:
        found = re.findall(r'action="/users/invites/([0-9a-f-]+)/revoke".*?Revoke invitation of (\w+)',
                           web.get("/users").text, re.S)
        return next(iid for iid, name in found if name == "Erin")

    walk("POST", "/users/invites/{invite_id}/resend", f"/users/invites/{erins_invite()}/resend", **form(""))
    walk("POST", "/users/invites/{invite_id}/revoke", f"/users/invites/{erins_invite()}/revoke", expect=303,
         **form(""))
    # single sign-on: the admin's SCIM token page, SCIM with that token; OIDC is not configured here (404)
    walk("GET", "/configure/sso", **W)
    made = walk("POST", "/configure/sso/tokens", **form("", {"name": "Okta"}))
    S = {"headers": {"Authorization": "Bearer " + re.search(r'id="scim-token">(scim_[\w-]+)<', made.text).group(1)}}  # noqa: N806
    walk("GET", "/scim/v2/ServiceProviderConfig", **S)
    scim_user = walk("POST", "/scim/v2/Users", json={"userName": "scim@example.test", "displayName": "Scim"},
                     expect=201, **S).json()["id"]
    walk("GET", "/scim/v2/Users", '/scim/v2/Users?filter=userName eq "scim@example.test"', **S)
    walk("GET", "/scim/v2/Users/{user_id}", f"/scim/v2/Users/{scim_user}", **S)
    walk("PUT", "/scim/v2/Users/{user_id}", f"/scim/v2/Users/{scim_user}", **S,
         json={"userName": "scim@example.test", "displayName": "Scim Two", "active": True})
    walk("PATCH", "/scim/v2/Users/{user_id}", f"/scim/v2/Users/{scim_user}", **S,
         json={"Operations": [{"op": "replace", "path": "active", "value": False}]})
    walk("DELETE", "/scim/v2/Users/{user_id}", f"/scim/v2/Users/{scim_user}", expect=204, **S)
    group = walk("POST", "/scim/v2/Groups", json={"displayName": "Scim Ops", "members": [{"value": scim_user}]},
                 expect=201, **S).json()["id"]
    walk("GET", "/scim/v2/Groups", '/scim/v2/Groups?filter=displayName eq "Scim Ops"', **S)
    walk("GET", "/scim/v2/Groups/{group_id}", f"/scim/v2/Groups/{group}", **S)
    walk("PUT", "/scim/v2/Groups/{group_id}", f"/scim/v2/Groups/{group}", json={"displayName": "Scim", "members": []},
         **S)
    walk("PATCH", "/scim/v2/Groups/{group_id}", f"/scim/v2/Groups/{group}", **S,
         json={"Operations": [{"op": "add", "path": "members", "value": [{"value": scim_user}]}]})
    walk("DELETE", "/scim/v2/Groups/{group_id}", f"/scim/v2/Groups/{group}", expect=204, **S)
    scim_token_id = re.search(r'action="/configure/sso/tokens/([0-9a-f-]+)/revoke"', web.get("/configure/sso").text)
    walk("POST", "/configure/sso/tokens/{token_id}/revoke", f"/configure/sso/tokens/{scim_token_id.group(1)}/revoke",
         expect=303, **form(""))
    # chat-ops: the admin's Chat page and its manifest, a one-time link confirmed, that chat account unlinked
    walk("GET", "/configure/chat", **W)
    walk("GET", "/configure/chat/slack-manifest.yaml", **W)
    link = link_token(smoke_app.state.settings.resolved_secret_key(), ChatIdentity("slack", "T1", "U1"), now=clock.now())
    walk("GET", "/chat/link", f"/chat/link?t={link}", **W)
    walk("POST", "/chat/link", **form("", {"t": link}))
    account = re.search(r'action="/me/chat-accounts/([0-9a-f-]+)/unlink"', web.get("/me").text).group(1)
    walk("POST", "/me/chat-accounts/{account_id}/unlink", f"/me/chat-accounts/{account}/unlink", expect=303,
         **form(""))
    walk("GET", "/login/sso", expect=404, **W)
    walk("GET", "/login/sso/callback", "/login/sso/callback?code=c&state=s", expect=404, **W)
    walk("POST", "/me/password", expect=303, **form("", {
        "current_password": PASSWORD, "new_password": PASSWORD + "!", "confirm_password": PASSWORD + "!"}))
    walk("POST", "/logout", expect=303, **form(""))
    newcomer = AppliedClient(smoke_app, base_url=PUBLIC_URL, raise_server_exceptions=False)
    walk("GET", "/invite/{token}", invite_path, client=newcomer)
    walk("POST", "/invite/{token}", invite_path, expect=303, client=newcomer,
         data={"name": "Dan", "password": "a long enough password"})
    # the first-run link is dead once users exist (tests/web/test_setup.py covers its life before)
    setup_path = f"/setup/{setup_token(smoke_app.state.settings)}"
    walk("GET", "/setup/{token}", setup_path, expect=404, client=newcomer)
    walk("POST", "/setup/{token}", setup_path, expect=404, client=newcomer,
         data={"name": "Eve", "email": "eve@example.test", "password": "a long enough password"})

    # --- last, the deletions ---------------------------------------------------------------------
    walk("DELETE", f"{api}/contact-methods/{{method_id}}", f"{api}/contact-methods/{sms['id']}", expect=204, **B)
    walk("DELETE", f"{api}/schedules/{{key}}/layers/{{layer_id}}", f"{api}/schedules/ops/layers/{layer['id']}",
         expect=204, **A)
    walk("PUT", f"{api}/services/{{key}}/escalation-policy", f"{api}/services/checkout/escalation-policy",
         json={"policy": None}, **A)
    walk("DELETE", f"{api}/escalation-policies/{{key}}", f"{api}/escalation-policies/default", expect=204, **A)
    walk("DELETE", f"{api}/schedules/{{key}}", f"{api}/schedules/ops", expect=204, **A)
    walk("DELETE", f"{api}/status-pages/{{slug}}", f"{api}/status-pages/beta", expect=204, **A)
    web.close()
    newcomer.close()

    missing = set(walk.routes) - walk.called - set(ELSEWHERE)
    assert not missing, f"routes the walk did not call: {sorted(missing)}"


def walk_check_agents(walk: Walk, form: Any, W: dict[str, Any], A: dict[str, Any]) -> None:  # noqa: N803
    """Check agents and checks from many places (API, the agent's own routes, console; checks/agents.py)."""
    api = "/api/v1"
    agent = walk("POST", f"{api}/agents", expect=201, json={"name": "walk-west"}, **A).json()
    walk("GET", f"{api}/agents", **A)
    check = walk("POST", f"{api}/checks", expect=201, json={
        "service": "checkout", "name": "from afar", "kind": "http", "target": "http://10.0.0.9/",
        "locations": ["walk-west"]}, **A).json()
    K = {"headers": {"Authorization": f"Bearer {agent['key']}"}}  # noqa: N806
    walk("GET", f"{api}/agent/checks", **K)
    walk("POST", f"{api}/agent/results", json={"results": [{"check_id": check["id"], "at": "2026-01-01T12:00:00Z",
                                                           "ok": True, "latency_ms": 12.5, "status_code": 200}]}, **K)
    walk("GET", f"{api}/checks/{{check_id}}/locations", f"{api}/checks/{check['id']}/locations", **A)
    walk("GET", "/agents", **W)
    walk("POST", "/agents", **form("", {"name": "walk-east"}))
    east = next(a["id"] for a in walk("GET", f"{api}/agents", **A).json() if a["name"] == "walk-east")
    walk("POST", "/agents/{agent_id}/revoke", f"/agents/{east}/revoke", expect=303, **form(""))
    walk("DELETE", f"{api}/agents/{{agent_id}}", f"{api}/agents/{agent['id']}", **A)


def walk_exercises(walk: Walk, form: Any, W: dict[str, Any], A: dict[str, Any],  # noqa: N803
                   B: dict[str, Any], admin: Any) -> None:  # noqa: N803
    """Exercises and game days (API and console; exercises/)."""
    api = "/api/v1"
    people = [{"email": admin.email, "role": "incident_commander"}]
    walk("GET", f"{api}/exercises/schema", **B)
    walk("GET", f"{api}/exercises/scenarios", **B)
    live = walk("POST", f"{api}/exercises", expect=201, json={"shipped": "bad-deploy", "participants": people},
                **A).json()["id"]
    walk("GET", f"{api}/exercises", **B)
    walk("GET", f"{api}/exercises/{{exercise_id}}", f"{api}/exercises/{live}", **B)
    walk("GET", f"{api}/exercises/{{exercise_id}}/score", f"{api}/exercises/{live}/score", **B)
    walk("POST", f"{api}/exercises/{{exercise_id}}/injects/{{n}}", f"{api}/exercises/{live}/injects/1", **A)
    walk("POST", f"{api}/exercises/{{exercise_id}}/finish", f"{api}/exercises/{live}/finish", **A)
    table = walk("POST", f"{api}/exercises", expect=201, json={"shipped": "leaked-credential", "mode": "tabletop",
                                                              "participants": people}, **A).json()["id"]
    walk("POST", f"{api}/exercises/{{exercise_id}}/advance", f"{api}/exercises/{table}/advance", **A)
    walk("GET", "/exercises", **W)
    walk("GET", "/exercises/report", **W)
    walk("GET", "/exercises/{exercise_id}", f"/exercises/{table}", **W)
    walk("POST", "/exercises/{exercise_id}/next", f"/exercises/{table}/next", expect=303, **form(""))
    walk("POST", "/exercises/{exercise_id}/finish", f"/exercises/{table}/finish", expect=303, **form(""))
    walk("POST", "/exercises", expect=303, **form("", {"shipped": "database-outage", "mode": "tabletop",
                                                       "participants": admin.email}))


def walk_containment(walk: Walk, form: Any, W: dict[str, Any], A: dict[str, Any],  # noqa: N803
                     B: dict[str, Any]) -> None:  # noqa: N803
    """Security incidents: phase, checklist and its templates (API and console; containment/)."""
    api = "/api/v1"
    ref = walk("POST", f"{api}/incidents", expect=201, json={"title": "Leaked key", "severity": "SEV2",
                                                             "kind": "security"}, **B).json()["ref"]
    walk("GET", f"{api}/incidents/{{key}}/phase", f"{api}/incidents/{ref}/phase", **B)
    walk("POST", f"{api}/incidents/{{key}}/phase", f"{api}/incidents/{ref}/phase", json={"phase": "containment"}, **B)
    walk("POST", f"{api}/incidents/{{key}}/checklist", f"{api}/incidents/{ref}/checklist", expect=201, json={}, **B)
    walk("GET", f"{api}/incidents/{{key}}/checklist", f"{api}/incidents/{ref}/checklist", **B)
    step = walk("POST", f"{api}/incidents/{{key}}/checklist/steps", f"{api}/incidents/{ref}/checklist/steps",
                expect=201, json={"kind": "investigate", "title": "Read logs", "target": "web-7"}, **B).json()["id"]
    walk("POST", f"{api}/incidents/{{key}}/checklist/steps/{{step_id}}/done",
         f"{api}/incidents/{ref}/checklist/steps/{step}/done", **B)
    walk("POST", f"{api}/incidents/{{key}}/checklist/steps/{{step_id}}/undo",
         f"{api}/incidents/{ref}/checklist/steps/{step}/undo", json={"reason": "wrong host"}, **B)
    tpl = walk("POST", f"{api}/checklist-templates", expect=201, json={
        "name": "Smoke", "steps": [{"kind": "preserve", "title": "Snapshot", "target": "db-1"}]}, **A).json()["id"]
    walk("GET", f"{api}/checklist-templates", **B)
    walk("GET", f"{api}/checklist-templates/{{template_id}}", f"{api}/checklist-templates/{tpl}", **B)
    walk("PATCH", f"{api}/checklist-templates/{{template_id}}", f"{api}/checklist-templates/{tpl}",
         json={"name": "Smoke 2"}, **A)
    walk("DELETE", f"{api}/checklist-templates/{{template_id}}", f"{api}/checklist-templates/{tpl}", expect=204, **A)
    # the console (the admin sees every restricted incident)
    walk("GET", "/checklist-templates", **W)
    walk("POST", "/checklist-templates", expect=303, **form("", {"name": "Console", "steps": "preserve | Snapshot | web-7"}))
    console_tpl = next(t["id"] for t in walk("GET", f"{api}/checklist-templates", **A).json()["items"]
                       if t["name"] == "Console")
    walk("POST", "/checklist-templates/{template_id}", f"/checklist-templates/{console_tpl}", expect=303,
         **form("", {"name": "Console 2", "steps": "preserve | Snapshot | web-8"}))
    other = walk("POST", f"{api}/incidents", expect=201, json={"title": "Phished", "severity": "SEV3",
                                                               "kind": "security"}, **B).json()["ref"]
    walk("POST", "/incidents/{ref}/containment/phase", f"/incidents/{other}/containment/phase", expect=303,
         **form("", {"phase": "containment"}))
    walk("POST", "/incidents/{ref}/containment/checklist", f"/incidents/{other}/containment/checklist", expect=303,
         **form("", {"template": "Console 2"}))
    walk("POST", "/incidents/{ref}/containment/steps", f"/incidents/{other}/containment/steps", expect=303,
         **form("", {"kind": "investigate", "title": "Read logs", "target": "web-8"}))
    first = walk("GET", f"{api}/incidents/{{key}}/checklist", f"{api}/incidents/{other}/checklist",
                 **A).json()["items"][0]["id"]
    walk("POST", "/incidents/{ref}/containment/steps/{step_id}", f"/incidents/{other}/containment/steps/{first}",
         expect=303, **form("", {"done": "1"}))



def walk_workflows(walk: Walk, form: Any, W: dict[str, Any], A: dict[str, Any],  # noqa: N803
                   B: dict[str, Any]) -> None:  # noqa: N803
    """Incident workflows, incident types and an incident's custom fields (API and console; workflows/)."""
    api = "/api/v1"
    wf = walk("POST", f"{api}/workflows", expect=201, json={
        "name": "Smoke flow", "severities": ["SEV1"], "steps": [{"kind": "open_checklist"}]}, **A).json()["id"]
    walk("GET", f"{api}/workflows", **B)
    walk("GET", f"{api}/workflows/{{workflow_id}}", f"{api}/workflows/{wf}", **B)
    walk("PATCH", f"{api}/workflows/{{workflow_id}}", f"{api}/workflows/{wf}", json={"enabled": False}, **A)
    walk("DELETE", f"{api}/workflows/{{workflow_id}}", f"{api}/workflows/{wf}", expect=204, **A)
    walk("GET", f"{api}/incident-types", **B)
    walk("POST", f"{api}/incident-types", expect=201, json={
        "slug": "smoke", "name": "Smoke", "custom_fields": [{"key": "vendor", "type": "text"}]}, **A)
    walk("GET", f"{api}/incident-types/{{slug}}", f"{api}/incident-types/smoke", **B)
    walk("PATCH", f"{api}/incident-types/{{slug}}", f"{api}/incident-types/smoke", json={"name": "Smoke 2"}, **A)
    ref = walk("POST", f"{api}/incidents", expect=201, json={"title": "Vendor down", "severity": "SEV3",
                                                             "incident_type": "vendor-outage",
                                                             "custom_fields": {"vendor": "Acme"}}, **B).json()["ref"]
    walk("PUT", f"{api}/incidents/{{key}}/custom-fields", f"{api}/incidents/{ref}/custom-fields",
         json={"values": {"vendor": "Acme", "vendor_ticket": "T-1"}}, **B)
    walk("GET", f"{api}/incidents/{{key}}/workflow-runs", f"{api}/incidents/{ref}/workflow-runs", **B)
    walk("DELETE", f"{api}/incident-types/{{slug}}", f"{api}/incident-types/smoke", expect=204, **A)
    # the console
    walk("GET", "/configure/workflows", **W)
    walk("POST", "/configure/workflows", expect=303, **form("", {
        "name": "Console flow", "trigger": "declared", "sev_SEV1": "1", "steps": "open_checklist"}))
    console_wf = next(x["id"] for x in walk("GET", f"{api}/workflows", **A).json()["items"]
                      if x["name"] == "Console flow")
    walk("POST", "/configure/workflows/{workflow_id}", f"/configure/workflows/{console_wf}", expect=303,
         **form("", {"name": "Console flow 2", "trigger": "status_changed", "to_status": "resolved",
                     "steps": "create_chat_channel"}))
    walk("GET", "/configure/incident-types", **W)
    walk("POST", "/configure/incident-types", expect=303, **form("", {
        "slug": "console", "name": "Console", "base_kind": "operational", "custom_fields": "ticket | Ticket | text"}))
    walk("POST", "/configure/incident-types/{slug}", "/configure/incident-types/console", expect=303,
         **form("", {"name": "Console 2", "base_kind": "operational"}))
    walk("POST", "/incidents/{ref}/custom-fields", f"/incidents/{ref}/custom-fields", expect=303,
         **form("", {"cf_vendor": "Acme Corp"}))
def walk_roles(walk: Walk, form: Any, W: dict[str, Any], A: dict[str, Any],  # noqa: N803
               B: dict[str, Any], bob: Any) -> None:  # noqa: N803
    """Role handbooks and the IC bench (API and console; handbooks/)."""
    api = "/api/v1"
    walk("GET", f"{api}/handbooks", **B)
    walk("GET", f"{api}/handbooks/{{role}}", f"{api}/handbooks/scribe", **B)
    walk("PUT", f"{api}/handbooks/{{role}}", f"{api}/handbooks/scribe", json={"body_md": "# Scribe\n\nWrite it down."},
         **A)
    walk("DELETE", f"{api}/handbooks/{{role}}", f"{api}/handbooks/scribe", **A)
    walk("GET", f"{api}/ic-bench", **B)
    walk("PUT", f"{api}/ic-bench/{{user}}", f"{api}/ic-bench/{bob.email}", json={"trained": True}, **A)
    walk("GET", "/handbooks/{role}", "/handbooks/incident_commander", **W)
    walk("GET", "/configure/handbooks", **W)
    walk("GET", "/configure/handbooks/{role}", "/configure/handbooks/scribe", **W)
    walk("POST", "/configure/handbooks/{role}", "/configure/handbooks/scribe", expect=303,
         **form("", {"body_md": "# Scribe\n\nNotes.", "op": "save"}))
    walk("GET", "/configure/ic-bench", **W)
    walk("POST", "/configure/ic-bench", expect=303, **form("", {"user": bob.email, "trained": "0"}))
def walk_comms(walk: Walk, form: Any, W: dict[str, Any], A: dict[str, Any],  # noqa: N803
               B: dict[str, Any]) -> None:  # noqa: N803
    """Communication: templates, stakeholders and updates (API and console; comms/)."""
    api = "/api/v1"
    body = {"slug": "smoke", "name": "Smoke", "channel": "internal", "severities": ["SEV2"], "kind": "any",
            "subject": "{{ ref }}", "body": "{{ title }} is {{ status }}"}
    tpl = walk("POST", f"{api}/comms/templates", expect=201, json=body, **A).json()["id"]
    walk("GET", f"{api}/comms/templates", **B)
    walk("GET", f"{api}/comms/templates/{{template_id}}", f"{api}/comms/templates/{tpl}", **B)
    walk("PUT", f"{api}/comms/templates/{{template_id}}", f"{api}/comms/templates/{tpl}", json={**body, "name": "S2"},
         **A)
    sub = walk("POST", f"{api}/stakeholders", expect=201, json={"min_severity": "SEV2"}, **B).json()["id"]
    walk("GET", f"{api}/stakeholders", **B)
    ref = walk("POST", f"{api}/incidents", expect=201, json={"title": "Slow search", "severity": "SEV2"},
               **A).json()["ref"]
    walk("GET", f"{api}/incidents/{{key}}/comms/{{slug}}", f"{api}/incidents/{ref}/comms/smoke", **B)
    walk("POST", f"{api}/incidents/{{key}}/updates", f"{api}/incidents/{ref}/updates", expect=201,
         json={"template": "smoke", "audience": "stakeholders"}, **A)
    walk("DELETE", f"{api}/stakeholders/{{sub_id}}", f"{api}/stakeholders/{sub}", expect=204, **B)
    walk("DELETE", f"{api}/comms/templates/{{template_id}}", f"{api}/comms/templates/{tpl}", expect=204, **A)
    # the console
    walk("POST", "/incidents/{ref}/comms/compose", f"/incidents/{ref}/comms/compose", expect=200,
         **form("", {"template": "internal-update"}))
    walk("POST", "/incidents/{ref}/comms/update", f"/incidents/{ref}/comms/update", expect=303,
         **form("", {"text": "Still on it", "audience": "responders"}))
    walk("GET", "/configure/comms", **W)
    walk("POST", "/configure/comms", expect=303, **form("", {**body, "slug": "console", "severities": ""}))
    console_tpl = next(t["id"] for t in walk("GET", f"{api}/comms/templates", **A).json()["items"]
                       if t["slug"] == "console")
    walk("POST", "/configure/comms/{template_id}", f"/configure/comms/{console_tpl}", expect=303,
         **form("", {**body, "slug": "console", "severities": "", "name": "Console 2"}))
    walk("GET", "/stakeholders", **W)
    walk("POST", "/stakeholders", expect=303, **form("", {"min_severity": "SEV1"}))
    mine = walk("GET", f"{api}/stakeholders", **A).json()["items"][0]["id"]
    walk("POST", "/stakeholders/{sub_id}/delete", f"/stakeholders/{mine}/delete", expect=303, **form(""))
def walk_runbooks(walk: Walk, form: Any, W: dict[str, Any], A: dict[str, Any],  # noqa: N803
                  B: dict[str, Any]) -> None:  # noqa: N803
    """Runbooks: CRUD, an incident's runbooks and its steps (API and console; runbooks/)."""
    api = "/api/v1"
    body = "# Checkout\n\n1. Look at the dashboard\n2. Roll back [action: rollback]\n"
    walk("POST", f"{api}/runbooks", expect=201, json={"title": "Checkout", "services": ["checkout"], "body_md": body},
         **A)
    walk("GET", f"{api}/runbooks", **B)
    walk("GET", f"{api}/runbooks/{{key}}", f"{api}/runbooks/checkout", **B)
    walk("PATCH", f"{api}/runbooks/{{key}}", f"{api}/runbooks/checkout", json={"matchers": ["team=web"]}, **A)
    ref = walk("POST", f"{api}/incidents", expect=201, json={"title": "Checkout slow", "severity": "SEV3",
                                                             "services": ["checkout"]}, **B).json()["ref"]
    walk("GET", f"{api}/incidents/{{key}}/runbooks", f"{api}/incidents/{ref}/runbooks", **B)
    walk("POST", f"{api}/incidents/{{key}}/runbooks/{{slug}}/steps/{{number}}",
         f"{api}/incidents/{ref}/runbooks/checkout/steps/1", json={"state": "done"}, **B)
    walk("GET", "/configure/runbooks", **W)
    walk("GET", "/configure/runbooks/new", **W)
    walk("POST", "/configure/runbooks/new", expect=303, **form("", {"title": "Console", "body_md": body}))
    walk("GET", "/configure/runbooks/{slug}", "/configure/runbooks/console", **W)
    walk("POST", "/configure/runbooks/{slug}", "/configure/runbooks/console", expect=303,
         **form("", {"title": "Console 2", "svc:checkout": "1", "body_md": body}))
    walk("GET", "/runbooks/{slug}", "/runbooks/console", **W)
    walk("POST", "/incidents/{ref}/runbooks/{slug}/steps/{number}", f"/incidents/{ref}/runbooks/console/steps/2",
         expect=303, **form("", {"state": "skipped"}))
    walk("DELETE", f"{api}/runbooks/{{key}}", f"{api}/runbooks/console", expect=204, **A)
def walk_automation(walk: Walk, form: Any, W: dict[str, Any], A: dict[str, Any],  # noqa: N803
                    B: dict[str, Any]) -> None:  # noqa: N803
    """Approved actions (automation/): the admin defines a webhook action, Bob asks for runs, the admin approves
    and refuses them (API and console)."""
    api = "/api/v1"
    hook = {"slug": "flush", "name": "Flush", "kind": "webhook", "url": "https://hooks.example.test/flush",
            "requires_approval": True, "params_schema": [{"name": "zone", "type": "choice", "choices": ["eu"]}]}
    made = walk("POST", f"{api}/automation/actions", expect=201, json=hook, **A).json()["id"]
    walk("GET", f"{api}/automation/actions", **B)
    walk("GET", f"{api}/automation/commands", **A)
    walk("GET", f"{api}/automation/actions/{{key}}", f"{api}/automation/actions/flush", **B)
    walk("PATCH", f"{api}/automation/actions/{{key}}", f"{api}/automation/actions/{made}", json={"timeout_s": 9}, **A)
    ref = walk("POST", f"{api}/incidents", expect=201, json={"title": "CDN stale", "severity": "SEV3"}, **B).json()["ref"]
    runs = f"{api}/incidents/{ref}/automation/runs"
    first = walk("POST", f"{api}/incidents/{{key}}/automation/runs", runs, expect=201,
                 json={"action": "flush", "params": {"zone": "eu"}}, **B).json()["id"]
    second = walk("POST", f"{api}/incidents/{{key}}/automation/runs", runs, expect=201, json={"action": "flush"},
                  **B).json()["id"]
    walk("GET", f"{api}/incidents/{{key}}/automation/runs", runs, **B)
    walk("GET", f"{api}/incidents/{{key}}/automation/runs/{{run_id}}", f"{runs}/{first}", **B)
    walk("POST", f"{api}/incidents/{{key}}/automation/runs/{{run_id}}/approve", f"{runs}/{first}/approve", **A)
    walk("POST", f"{api}/incidents/{{key}}/automation/runs/{{run_id}}/refuse", f"{runs}/{second}/refuse", **A)
    # the console
    page = "/configure/automation"
    walk("GET", page, **W)
    walk("POST", page, expect=303, **form("", {"slug": "purge", "name": "Purge", "kind": "webhook",
                                               "url": "https://hooks.example.test/purge", "enabled": "1"}))
    walk("POST", f"{page}/{{action_id}}", f"{page}/{made}", expect=303,
         **form("", {"slug": "flush", "name": "Flush CDN", "kind": "webhook", "url": "https://hooks.example.test/f",
                     "params": "zone | choice | optional | eu", "requires_approval": "1", "enabled": "1"}))
    walk("GET", "/incidents/{ref}/automation/{slug}", f"/incidents/{ref}/automation/flush", **W)
    walk("POST", "/incidents/{ref}/automation/runs", f"/incidents/{ref}/automation/runs", expect=303,
         **form("", {"action": "purge"}))
    third = walk("POST", f"{api}/incidents/{{key}}/automation/runs", runs, expect=201, json={"action": "flush"},
                 **B).json()["id"]
    walk("POST", "/incidents/{ref}/automation/runs/{run_id}", f"/incidents/{ref}/automation/runs/{third}",
         expect=303, **form("", {"decision": "approve"}))
    spare = walk("POST", f"{api}/automation/actions", expect=201, json={**hook, "slug": "spare"}, **A).json()["id"]
    walk("DELETE", f"{api}/automation/actions/{{key}}", f"{api}/automation/actions/{spare}", expect=204, **A)


def walk_schedule_editor_and_swaps(walk: Walk, form: Any, W: dict[str, Any], A: dict[str, Any],  # noqa: N803
                                   B: dict[str, Any], admin: Any, bob: Any) -> None:
    """The schedule editor, shift swaps and my shifts (the console's and the API's routes). Bob is the
    only member of `ops`; the console's admin makes `spare` (admin and Bob taking turns daily)."""
    api = "/api/v1"
    layer = {"layer_name": "day", "layer_kind": "daily", "layer_timezone": "UTC", "layer_start": "2025-12-29T09:00",
             "layer_shift_hours": "24", "layer_members": f"{admin.email}\n{bob.email}"}
    walk("GET", "/schedules/new", **W)
    walk("POST", "/schedules/new", expect=303, **form("", {"name": "Spare", "slug": "spare", "action": "save",
                                                           **layer}))
    walk("GET", "/schedules/{key}/edit", "/schedules/spare/edit", **W)
    walk("POST", "/schedules/{key}/edit", "/schedules/spare/edit", expect=303, **form("", {"name": "Spare rota"}))
    walk("POST", "/schedules/{key}/layers", "/schedules/spare/layers", expect=303,
         **form("", {**layer, "layer_name": "extra", "layer_members": bob.email, "action": "save"}))
    extra = walk("GET", f"{api}/schedules/{{key}}", f"{api}/schedules/spare", **A).json()["layers"][1]["id"]
    walk("POST", "/schedules/{key}/layers/{layer_id}", f"/schedules/spare/layers/{extra}",
         **form("", {**layer, "action": "preview"}))
    walk("POST", "/schedules/{key}/layers/{layer_id}/delete", f"/schedules/spare/layers/{extra}/delete", expect=303,
         **form(""))

    # Bob asks for cover on ops through the API; the admin offers in the console; Bob accepts
    ask = {"schedule": "ops", "starts_at": "2026-01-02T10:00:00Z", "ends_at": "2026-01-02T11:00:00Z"}
    first = walk("POST", f"{api}/shift-swaps", json=ask, expect=201, **B).json()
    walk("GET", f"{api}/shift-swaps", **A)
    walk("GET", f"{api}/shift-swaps/{{swap_id}}", f"{api}/shift-swaps/{first['id']}", **A)
    walk("GET", "/shift-swaps", **W)
    walk("POST", "/shift-swaps/{swap_id}/offer", f"/shift-swaps/{first['id']}/offer", expect=303, **form(""))
    offer = walk("GET", f"{api}/shift-swaps/{{swap_id}}", f"{api}/shift-swaps/{first['id']}", **A).json()
    walk("POST", f"{api}/shift-swaps/{{swap_id}}/accept", f"{api}/shift-swaps/{first['id']}/accept",
         json={"offer_id": offer["offers"][0]["id"]}, **B)
    # the admin asks on spare in the console; Bob offers through the API; the admin accepts in the console
    walk("POST", "/shift-swaps", expect=303, **form("", {"schedule": "spare", "start": "2026-01-02T10:00",
                                                        "end": "2026-01-02T11:00"}))
    second = walk("GET", f"{api}/shift-swaps", f"{api}/shift-swaps?schedule=spare", **A).json()["items"][0]
    offered = walk("POST", f"{api}/shift-swaps/{{swap_id}}/offers", f"{api}/shift-swaps/{second['id']}/offers",
                   json={}, expect=201, **B).json()
    walk("POST", "/shift-swaps/{swap_id}/accept", f"/shift-swaps/{second['id']}/accept", expect=303,
         **form("", {"offer_id": offered["offers"][0]["id"]}))
    third = walk("POST", f"{api}/shift-swaps", json={**ask, "starts_at": "2026-01-02T12:00:00Z",
                                                     "ends_at": "2026-01-02T13:00:00Z"}, expect=201, **B).json()
    walk("POST", f"{api}/shift-swaps/{{swap_id}}/cancel", f"{api}/shift-swaps/{third['id']}/cancel", **B)
    walk("POST", "/shift-swaps", expect=303, **form("", {"schedule": "spare", "start": "2026-01-02T12:00",
                                                        "end": "2026-01-02T13:00"}))
    fourth = walk("GET", f"{api}/shift-swaps", f"{api}/shift-swaps?schedule=spare&state=open", **A).json()["items"][0]
    walk("POST", "/shift-swaps/{swap_id}/cancel", f"/shift-swaps/{fourth['id']}/cancel", expect=303, **form(""))

    walk("GET", f"{api}/me/shifts", **B)
    feed = walk("POST", f"{api}/me/ical-token", **B).json()
    walk("GET", "/ical/users/{token}.ics", "/ical/" + feed["url"].split("/ical/", 1)[1])
    walk("GET", "/me/shifts", **W)
    walk("POST", "/me/shifts/feed", **form(""))
    walk("GET", "/schedules/{key}/delete", "/schedules/spare/delete", **W)
    walk("POST", "/schedules/{key}/delete", "/schedules/spare/delete", expect=303, **form(""))



def walk_me_integrations_monitors_and_status(walk: Walk, form: Any, W: dict[str, Any], A: dict[str, Any],  # noqa: N803
                                             db: Any, clock: Any, admin: Any) -> None:
    """The rest of /me (verify and test a contact method, notification rules, hand-off notices), the
    integration and monitor pages, and the status page's component, incident, maintenance and
    subscriber forms. No mail server is configured: a code or test message that cannot be sent is a
    redirect with the reason."""
    from tocsin.contacts.models import ContactMethod

    api = "/api/v1"
    walk("POST", "/me/contacts", expect=303, **form("", {"type": "email", "address": "ada.pager@example.test"}))
    mine = next(m["id"] for m in walk("GET", f"{api}/users/{{key}}/contact-methods",
                                      f"{api}/users/{admin.email}/contact-methods", **A).json()["items"]
                if m["address"] == "ada.pager@example.test")
    walk("POST", "/me/contacts/{method_id}/send-code", f"/me/contacts/{mine}/send-code", expect=303, **form(""))
    walk("POST", "/me/contacts/{method_id}/verify", f"/me/contacts/{mine}/verify", expect=303,
         **form("", {"code": "000000"}))  # wrong: a redirect saying so
    with db.unit_of_work() as s:
        s.execute(sa.update(ContactMethod).where(ContactMethod.id == uuid.UUID(mine)).values(verified_at=clock.now()))
    walk("POST", "/me/contacts/{method_id}/test", f"/me/contacts/{mine}/test", expect=303, **form(""))
    walk("POST", "/me/rules", expect=303, **form("", {"contact_method_id": mine, "delay_minutes": "5",
                                                      "urgency": "any"}))
    rule = next(r["id"] for r in walk("GET", f"{api}/users/{{key}}/notification-rules",
                                      f"{api}/users/{admin.email}/notification-rules", **A).json()["items"]
                if r["contact_method_id"] == mine)
    walk("POST", "/me/rules/{rule_id}/delete", f"/me/rules/{rule}/delete", expect=303, **form(""))
    walk("POST", "/me/handoff-notices", expect=303, **form("", {"handoff_notices": "on"}))

    for page in ("/integrations", "/integrations/new", "/heartbeats", "/checks", "/checks/new"):
        walk("GET", page, **W)
    walk("POST", "/integrations", **form("", {"service": "checkout", "type": "events_v2", "name": "console"}))
    hook = next(i["id"] for i in walk("GET", f"{api}/integrations", **A).json()["items"] if i["name"] == "console")
    walk("GET", "/integrations/{integration_id}", f"/integrations/{hook}", **W)
    walk("POST", "/integrations/{integration_id}/rotate-key", f"/integrations/{hook}/rotate-key",
         **form("", {"confirm": "yes"}))
    walk("POST", "/integrations/{integration_id}/delete", f"/integrations/{hook}/delete", expect=303,
         **form("", {"confirm": "yes"}))
    walk("POST", "/heartbeats", **form("", {"service": "checkout", "name": "console beat", "interval": "1h"}))
    beat = next(h["id"] for h in walk("GET", f"{api}/heartbeats", **A).json()["items"] if h["name"] == "console beat")
    walk("POST", "/heartbeats/{heartbeat_id}/delete", f"/heartbeats/{beat}/delete", expect=303, **form(""))
    check = {"service": "checkout", "name": "console check", "kind": "http", "target": "http://127.0.0.1:9/",
             "method": "GET", "interval_seconds": "1m", "timeout_seconds": "5", "expected_statuses": "200-299",
             "failures_to_alert": "2", "successes_to_resolve": "1", "headers": "X-Probe: 1", "enabled": "on"}
    walk("POST", "/checks", expect=303, **form("", check))
    cid = next(c["id"] for c in walk("GET", f"{api}/checks", **A).json()["items"] if c["name"] == "console check")
    walk("GET", "/checks/{check_id}", f"/checks/{cid}", **W)
    walk("POST", "/checks/{check_id}", f"/checks/{cid}", expect=303, **form("", {**check, "interval_seconds": "5m"}))
    walk("POST", "/checks/{check_id}/delete", f"/checks/{cid}/delete", expect=303, **form(""))
    walk("POST", "/services/{key}/slos", "/services/checkout/slos", expect=303, **form("", {
        "name": "console slo", "kind": "availability", "target": "99.9", "window_days": "30", "source": "push",
        "alerting": "on"}))
    sid = next(o["id"] for o in walk("GET", f"{api}/services/{{key}}/slos", f"{api}/services/checkout/slos",
                                     **A).json() if o["name"] == "console slo")
    walk("GET", "/slos/{slo_id}/edit", f"/slos/{sid}/edit", **W)
    walk("POST", "/slos/{slo_id}/edit", f"/slos/{sid}/edit", expect=303, **form("", {
        "name": "console slo", "kind": "latency", "target": "99", "window_days": "7", "source": "push"}))
    walk("POST", "/slos/{slo_id}/delete", f"/slos/{sid}/delete", expect=303, **form(""))

    component = walk("GET", f"{api}/status-pages/{{slug}}/components", f"{api}/status-pages/beta/components",
                     **A).json()["items"][0]["id"]
    walk("POST", "/status-pages/{slug}/components/{component_id}", f"/status-pages/beta/components/{component}",
         expect=303, **form("", {"name": "Public API"}))
    walk("POST", "/status-pages/{slug}/incidents", "/status-pages/beta/incidents", expect=303, **form("", {
        "name": "Slow API", "status": "investigating", "body": "Looking.", f"component:{component}": "degraded_performance",
        "impact": "minor"}))
    public = walk("GET", f"{api}/status-pages/{{slug}}/incidents", f"{api}/status-pages/beta/incidents",
                  **A).json()["items"][0]["id"]
    walk("POST", "/status-pages/{slug}/incidents/{status_incident_id}/updates",
         f"/status-pages/beta/incidents/{public}/updates", expect=303,
         **form("", {"status": "resolved", "body": "Fixed.", f"component:{component}": "operational"}))
    upkeep = walk("GET", f"{api}/status-pages/{{slug}}/maintenances", f"{api}/status-pages/beta/maintenances",
                  **A).json()["items"][0]["id"]
    walk("POST", "/status-pages/{slug}/maintenance/{maintenance_id}", f"/status-pages/beta/maintenance/{upkeep}",
         expect=303, **form("", {"status": "in_progress", "body": "Starting early."}))
    subscriber = walk("POST", f"{api}/status-pages/{{slug}}/webhooks", f"{api}/status-pages/beta/webhooks",
                      json={"url": "https://hooks.example.test/beta"}, expect=201, **A).json()["id"]
    walk("POST", "/status-pages/{slug}/subscribers/{subscriber_id}/remove",
         f"/status-pages/beta/subscribers/{subscriber}/remove", expect=303, **form(""))
    spare = walk("POST", f"{api}/status-pages/{{slug}}/components", f"{api}/status-pages/beta/components",
                 json={"name": "Spare"}, expect=201, **A).json()["id"]
    walk("POST", "/status-pages/{slug}/components/{component_id}/delete",
         f"/status-pages/beta/components/{spare}/delete", expect=303, **form(""))


def _walk_indicators(walk: Walk, api: str, B: dict[str, Any], W: dict[str, Any], form: Any) -> None:  # noqa: N803
    """Indicators and affected assets (issue 17): the API on a security incident, then the room's forms."""
    sec = walk("POST", f"{api}/incidents", expect=201, json={"title": "Token leak", "severity": "SEV2",
                                                             "kind": "security"}, **B).json()["ref"]
    base = f"{api}/incidents/{{key}}"
    ioc = walk("POST", f"{base}/indicators", f"{api}/incidents/{sec}/indicators", expect=201,
               json={"type": "ipv4", "value": "198.51.100.7", "tlp": "amber"}, **B).json()
    walk("GET", f"{base}/indicators", f"{api}/incidents/{sec}/indicators", **B)
    walk("PATCH", f"{base}/indicators/{{indicator_id}}", f"{api}/incidents/{sec}/indicators/{ioc['id']}",
         json={"tlp": "red"}, **B)
    asset = walk("POST", f"{base}/assets", f"{api}/incidents/{sec}/assets", expect=201,
                 json={"kind": "host", "name": "web-7"}, **B).json()
    walk("GET", f"{base}/assets", f"{api}/incidents/{sec}/assets", **B)
    walk("PATCH", f"{base}/assets/{{asset_id}}", f"{api}/incidents/{sec}/assets/{asset['id']}",
         json={"state": "contained"}, **B)
    walk("GET", f"{base}/export/stix", f"{api}/incidents/{sec}/export/stix", **B)
    walk("GET", f"{base}/export/misp", f"{api}/incidents/{sec}/export/misp?max_tlp=amber", **B)
    walk("GET", f"{api}/indicators", f"{api}/indicators?value=198.51.100.7", **B)
    walk("DELETE", f"{base}/indicators/{{indicator_id}}", f"{api}/incidents/{sec}/indicators/{ioc['id']}",
         expect=204, **B)
    walk("POST", "/incidents/{ref}/iocs/indicator", f"/incidents/{sec}/iocs/indicator", expect=303,
         **form("", {"type": "domain", "value": "evil[.]example"}))
    walk("POST", "/incidents/{ref}/iocs/asset", f"/incidents/{sec}/iocs/asset", expect=303,
         **form("", {"kind": "account", "name": "svc-backup"}))
    walk("POST", "/incidents/{ref}/iocs/assets/{asset_id}/state", f"/incidents/{sec}/iocs/assets/{asset['id']}/state",
         expect=303, **form("", {"state": "eradicated"}))
    domain = walk("GET", f"{base}/indicators", f"{api}/incidents/{sec}/indicators", **B).json()["items"][0]
    walk("POST", "/incidents/{ref}/iocs/indicators/{indicator_id}/remove",
         f"/incidents/{sec}/iocs/indicators/{domain['id']}/remove", expect=303, **form(""))
    walk("GET", "/incidents/{ref}/iocs/export/stix", f"/incidents/{sec}/iocs/export/stix", **W)
    walk("GET", "/incidents/{ref}/iocs/export/misp", f"/incidents/{sec}/iocs/export/misp", **W)


def walk_evidence(walk: Walk, form: Any, W: dict[str, Any], A: dict[str, Any], ref: str) -> None:  # noqa: N803
    """The evidence locker (issue 17): API and console, as an admin (who manages any incident's evidence)."""
    api, base = "/api/v1", f"/api/v1/incidents/{ref}/evidence"
    item = walk("POST", f"{api}/incidents/{{key}}/evidence/files", f"{base}/files?name=auth.log&collected_where=db1",
                expect=201, content=b"Accepted password for root", **A).json()
    walk("POST", f"{api}/incidents/{{key}}/evidence/external", f"{base}/external", expect=201,
         json={"name": "db1 disk image", "location": "s3://forensics/db1.dd", "sha256": "ab" * 32, "size": 1024}, **A)
    walk("GET", f"{api}/incidents/{{key}}/evidence", base, **A)
    walk("GET", f"{api}/incidents/{{key}}/evidence/report", f"{base}/report", **A)
    walk("GET", f"{api}/incidents/{{key}}/evidence/{{evidence_id}}", f"{base}/{item['id']}", **A)
    walk("POST", f"{api}/incidents/{{key}}/evidence/{{evidence_id}}/custody", f"{base}/E-1/custody", expect=201,
         json={"action": "transferred", "who": "IR firm", "location": "lab", "reason": "analysis"}, **A)
    walk("GET", f"{api}/incidents/{{key}}/evidence/{{evidence_id}}/custody", f"{base}/E-1/custody", **A)
    walk("GET", f"{api}/incidents/{{key}}/evidence/{{evidence_id}}/content", f"{base}/E-1/content", **A)
    page = f"/incidents/{ref}/evidence"
    walk("POST", "/incidents/{ref}/evidence/files", f"{page}/files", expect=303,
         files={"file": ("mem.raw", b"\x00memory")}, **form("", {"collected_where": "db1"}))
    walk("POST", "/incidents/{ref}/evidence/external", f"{page}/external", expect=303,
         **form("", {"name": "db1 image", "location": "s3://forensics/db1-2.dd", "sha512": "cd" * 64}))
    walk("GET", "/incidents/{ref}/evidence/report", f"{page}/report", **W)
    walk("GET", "/incidents/{ref}/evidence/{evidence_id}", f"{page}/{item['id']}", **W)
    walk("POST", "/incidents/{ref}/evidence/{evidence_id}/custody", f"{page}/{item['id']}/custody", expect=303,
         **form("", {"action": "analysed", "reason": "timeline"}))
    walk("GET", "/incidents/{ref}/evidence/{evidence_id}/download", f"{page}/{item['id']}/download", **W)


def walk_legal_gate_and_guests(walk: Walk, form: Any, W: dict[str, Any], A: dict[str, Any],  # noqa: N803
                               admin: Any) -> None:
    """Security incidents (issue 17): a status update held for Legal (202), listed, approved and rejected
    through the API and the room; an outside responder invited, taking up the link and revoked."""
    api = "/api/v1"
    sec = walk("POST", f"{api}/incidents", json={"title": "Leaked key", "severity": "SEV2", "kind": "security"},
               expect=201, **A).json()["ref"]
    walk("POST", f"{api}/incidents/{{key}}/roles", f"{api}/incidents/{sec}/roles",
         json={"role": "legal", "user": admin.email}, **A)
    held = [walk("POST", f"{api}/incidents/{{key}}/status-updates", f"{api}/incidents/{sec}/status-updates",
                 expect=202, json={"page": "acme", "name": "Login issue", "status": "investigating",
                                   "body": f"Draft {n}."}, **A).json()["id"] for n in range(3)]
    walk("GET", f"{api}/incidents/{{key}}/legal-drafts", f"{api}/incidents/{sec}/legal-drafts", **A)
    walk("POST", f"{api}/incidents/{{key}}/legal-drafts/{{draft_id}}/approve",
         f"{api}/incidents/{sec}/legal-drafts/{held[0]}/approve", json={"body": "We are investigating."}, **A)
    walk("POST", f"{api}/incidents/{{key}}/legal-drafts/{{draft_id}}/reject",
         f"{api}/incidents/{sec}/legal-drafts/{held[1]}/reject", json={"reason": "Too early."}, **A)
    walk("POST", "/incidents/{ref}/legal/{draft_id}/{decision}", f"/incidents/{sec}/legal/{held[2]}/approve",
         expect=303, **form("", {"body": "Still investigating."}))
    invited = walk("POST", "/incidents/{ref}/guests", f"/incidents/{sec}/guests", expect=201, **form("", {
        "email": "ir@firm.example", "name": "Ivy IR", "organisation": "Firm", "duration": "2d"}))
    link = re.search(r"/guest/([A-Za-z0-9_-]+)", invited.text).group(0)
    guest = AppliedClient(W["client"].app, base_url=PUBLIC_URL, raise_server_exceptions=False)
    walk("GET", "/guest/{token}", link, client=guest)
    walk("POST", "/guest/{token}", link, expect=303, client=guest, data={"name": "Ivy", "password": "long enough pw"})
    grant = re.search(r"/guests/([0-9a-f-]+)/revoke", W["client"].get(f"/incidents/{sec}").text).group(1)
    walk("POST", "/incidents/{ref}/guests/{grant_id}/revoke", f"/incidents/{sec}/guests/{grant}/revoke",
         expect=303, **form(""))
    guest.close()
