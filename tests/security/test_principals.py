"""Every route of the app, called by each kind of principal, against one table of expected outcomes.

The principals (columns of RULES):

- anonymous: no credentials at all (no token, no session cookie);
- viewer: org role viewer, an observer of the restricted incident the routes target;
- responder: org role responder, a responder in that incident;
- admin;
- other: a responder who takes part in *another* restricted incident only (need-to-know: the target
  must look as if it did not exist to them);
- deactivated: an admin whose account was deactivated after they made a token and logged in;
- revoked: an admin whose API token was revoked and whose console session was logged out (the
  cookie is sent anyway);
- guest: an outside responder invited to the restricted incident (incidents/guests.py), with an API
  token an admin made for them: the API refuses them everywhere (403), and the console answers only
  the room of their incident, its evidence pages (an item with its ledger, a download, the custody
  report), the home page (a redirect to it) and logging out (GUEST_OK); every other console route
  is a 404 (`expected`), whatever its rule.

Each row of ROUTES names a route, a request valid enough to pass validation (so that neither a 404
nor a 422 can stand in for the refusal) and a rule; RULES says what each principal gets under
each rule: "ok" (2xx or 3xx; a 409 counts, it means the request got past authorisation), 401
(the API's "unauthenticated", or for the console a redirect to /login), 403 or 404. Every test
gets a fresh database, so each principal walks the table in its own world, in table order (reads,
then writes, then deletions); on SQLite that database is a copy of the world seeded once per module
(`_world_file`), plus the principal's own things. `test_the_table_covers_every_route` fails for a route the table does
not list, so a new route cannot skip the matrix.
"""

from __future__ import annotations

import base64
import shutil
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from tests.harness.console import PASSWORD, WebUser
from tests.harness.routes import app_routes

PRINCIPALS = ("anonymous", "viewer", "responder", "admin", "other", "deactivated", "revoked", "guest")
OK = "ok"

RULES: dict[str, tuple[Any, ...]] = {
    #                   anonymous viewer responder admin other deactivated revoked
    "public":          (OK,       OK,    OK,       OK,   OK,   OK,         OK),
    "user":            (401,      OK,    OK,       OK,   OK,   401,        401),   # any live user
    "responder":       (401,      403,   OK,       OK,   OK,   401,        401),   # org role responder+
    "admin":           (401,      403,   403,      OK,   403,  401,        401),
    "read":            (401,      OK,    OK,       OK,   404,  401,        401),   # the restricted incident
    "write":           (401,      403,   OK,       OK,   404,  401,        401),   # the restricted incident
    "own":             (401,      OK,    OK,       OK,   OK,   401,        401),   # the caller's own things
    "private":         (401,      403,   403,      OK,   403,  401,        401),   # someone else's contacts
    "reviewer":        (401,      403,   403,      OK,   404,  401,        401),   # the postmortem's (admin)
    "incident admin":  (401,      403,   403,      OK,   404,  401,        401),   # public notice of it
    "legal":           (401,      403,   403,      403,  404,  401,        401),   # the Legal holder (helper) only
    "filing":          (401,      403,   403,      OK,   404,  401,        401),   # its Legal/Privacy/IC, admins
}
GUEST_OK = {("GET", "/"), ("GET", "/incidents/{ref}"), ("POST", "/logout"),
            # an outside IR firm reads their incident's evidence (web/guest_gate.py)
            ("GET", "/incidents/{ref}/evidence/report"), ("GET", "/incidents/{ref}/evidence/{evidence_id}"),
            ("GET", "/incidents/{ref}/evidence/{evidence_id}/download")}


def expected(route: Route, who: str) -> Any:
    """What `who` should get on `route` (the guest's column is by route, not by rule: see above)."""
    if who != "guest":
        return RULES[route.rule][PRINCIPALS.index(who)]
    if route.rule == "public":
        return OK
    if not route.console:
        return 403
    return OK if (route.method, route.template) in GUEST_OK else 404
# Routes a principal's credentials have nothing to do with: each is authenticated by a secret in the
# request (an integration key, a signed link, a Twilio or Slack signature, a Mattermost command token,
# an invite or iCal token) or is a public page. Each is sent a valid request by
# tests/api/test_routes_smoke.py; the keyed ones refuse a wrong key in tests/api/test_ingest.py,
# tests/api/test_status_public.py, tests/web/test_login.py and the chat tests named below.
KEYED = "keyed"
# The room's event stream never ends for an allowed principal: tests/security/test_surfaces.py reads
# it as an outsider, tests/web/test_room_live.py as a participant.
STREAM = "stream"


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    rule: str
    path: str | None = None  # with {placeholders} from the world; the template when None
    json: Any = None
    form: dict[str, str] | None = None  # a console form (the csrf token is added)
    files: dict[str, Any] | None = None  # a console upload: sent as multipart with the form

    @property
    def console(self) -> bool:
        return not self.template.startswith(("/api/", "/metrics"))


def R(method: str, template: str, rule: str, path: str | None = None, **kw: Any) -> Route:  # noqa: N802
    return Route(method, template, rule, path, **kw)


API = "/api/v1"
INC = f"{API}/incidents/{{key}}"
T1, T2, T3 = "2026-01-02T00:00:00Z", "2026-01-02T01:00:00Z", "2026-01-02T02:00:00Z"  # the ManualClock starts 2026-01-01

# console forms: a valid check, and a schedule layer (the helper alone)
CHECK = {"service": "checkout", "name": "home", "kind": "http", "target": "http://127.0.0.1:9/", "method": "GET",
         "interval_seconds": "1m", "timeout_seconds": "5", "expected_statuses": "200-299", "failures_to_alert": "2",
         "successes_to_resolve": "1", "enabled": "on"}
LAYER = {"layer_name": "day", "layer_kind": "daily", "layer_timezone": "UTC", "layer_start": "2025-12-29T09:00",
         "layer_shift_hours": "24", "layer_members": "{helper}"}
# a browser's push subscription keys (a valid P-256 point)
P256DH = base64.urlsafe_b64encode(ec.derive_private_key(7, ec.SECP256R1()).public_key().public_bytes(
    serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)).rstrip(b"=").decode()

ROUTES: list[Route] = [
    # --- public and keyed ---------------------------------------------------------------------
    R("GET", "/healthz", "public"),
    R("GET", "/readyz", "public"),
    R("GET", "/openapi.json", "public"),
    R("GET", "/docs", "public"),
    R("GET", "/static/{path}", "public", "/static/app.js"),
    R("GET", "/static/api-docs/{path}", "public", "/static/api-docs/swagger-ui.css"),
    R("GET", "/login", "public"),
    R("GET", "/manifest.webmanifest", "public"),
    R("GET", "/sw.js", "public"),
    *(R(m, t, KEYED) for m, t in (
        ("POST", "/login"), ("GET", "/invite/{token}"), ("POST", "/invite/{token}"),
        ("GET", "/setup/{token}"), ("POST", "/setup/{token}"),
        ("POST", "/v2/enqueue"), ("POST", "/v2/change/enqueue"), ("POST", "/integrations/alertmanager/{key}"),
        ("POST", "/integrations/grafana/{key}"), ("POST", "/integrations/generic/{key}"),
        ("GET", "/heartbeats/{key}"), ("POST", "/heartbeats/{key}"), ("GET", "/n/{token}"), ("POST", "/n/{token}"),
        # the Opsgenie drop-in: the integration key in `Authorization: GenieKey` (tests/api/test_opsgenie_ingest.py
        # refuses a missing or wrong key, and a key of one service acting on another's alert)
        ("POST", "/v2/alerts"), ("POST", "/v2/alerts/{identifier}/acknowledge"),
        ("POST", "/v2/alerts/{identifier}/close"), ("POST", "/v2/alerts/{identifier}/notes"),
        ("GET", "/v2/alerts/requests/{request_id}"), ("GET", "/v2/heartbeats/{name}/ping"),
        ("POST", "/v2/heartbeats/{name}/ping"), ("PUT", "/v2/heartbeats/{name}/ping"),
        ("PATCH", "/v2/heartbeats/{name}/ping"),
        ("POST", "/integrations/twilio/status"), ("POST", "/integrations/twilio/sms"),
        # chat: Slack's v0 signature (tests/api/test_slack_inbound.py refuses missing, wrong and stale
        # ones), Mattermost's command token (tests/api/test_mattermost_commands.py) and outgoing webhook
        # token (tests/api/test_mattermost_outgoing.py)
        ("POST", "/integrations/slack/commands"), ("POST", "/integrations/slack/interactive"),
        ("POST", "/integrations/slack/events"), ("POST", "/integrations/mattermost/command"),
        ("POST", "/integrations/mattermost/actions"),  # a context tocsin signed; 404 unless configured
        ("POST", "/integrations/mattermost/outgoing"),
        ("GET", "/ical/schedules/{token}.ics"), ("GET", "/ical/users/{token}.ics"),
        ("POST", "/status/{slug}/subscribe"), ("GET", "/status/{slug}/confirm/{token}"),
        ("POST", "/status/{slug}/confirm/{token}"), ("GET", "/status/{slug}/unsubscribe/{token}"),
        ("POST", "/status/{slug}/unsubscribe/{token}"),
        # single sign-on: the provider's round trip (state cookie, code) and SCIM (its bearer token;
        # tests/api/test_scim.py refuses API tokens, wrong and revoked SCIM tokens)
        ("GET", "/login/sso"), ("GET", "/login/sso/callback"), ("GET", "/scim/v2/ServiceProviderConfig"),
        ("GET", "/scim/v2/Users"), ("POST", "/scim/v2/Users"), ("GET", "/scim/v2/Users/{user_id}"),
        ("PUT", "/scim/v2/Users/{user_id}"), ("PATCH", "/scim/v2/Users/{user_id}"),
        ("DELETE", "/scim/v2/Users/{user_id}"), ("GET", "/scim/v2/Groups"), ("POST", "/scim/v2/Groups"),
        ("GET", "/scim/v2/Groups/{group_id}"), ("PUT", "/scim/v2/Groups/{group_id}"),
        ("PATCH", "/scim/v2/Groups/{group_id}"), ("DELETE", "/scim/v2/Groups/{group_id}"))),
    R("GET", "/incidents/{ref}/events", STREAM),
    R("GET", "/guest/{token}", KEYED),
    # an agent's own key (checks/agents.py; tests/integration/test_check_agents.py refuses a user token)
    R("GET", f"{API}/agent/checks", KEYED),
    R("POST", f"{API}/agent/results", KEYED, json={"results": []}),
    R("POST", "/guest/{token}", KEYED),
    R("GET", "/metrics", "user"),

    # --- API reads ---------------------------------------------------------------------------------
    R("GET", f"{API}/users", "user"),
    R("GET", f"{API}/users/me", "user"),
    R("GET", f"{API}/users/{{key}}", "user", f"{API}/users/{{helper}}"),
    R("GET", f"{API}/tokens", "own"),
    R("GET", f"{API}/teams", "user"),
    R("GET", f"{API}/teams/{{key}}", "user", f"{API}/teams/platform"),
    R("GET", f"{API}/services", "user"),
    R("GET", f"{API}/services/{{key}}", "user", f"{API}/services/checkout"),
    R("GET", f"{API}/audit", "admin"),
    R("GET", f"{API}/audit/verify", "admin"),
    R("GET", f"{API}/schedules", "user"),
    R("GET", f"{API}/schedules/{{key}}", "user", f"{API}/schedules/ops"),
    R("GET", f"{API}/schedules/{{key}}/overrides", "user", f"{API}/schedules/ops/overrides"),
    R("GET", f"{API}/schedules/{{key}}/oncall", "user", f"{API}/schedules/ops/oncall"),
    R("GET", f"{API}/schedules/{{key}}/shifts", "user", f"{API}/schedules/ops/shifts"),
    R("GET", f"{API}/escalation-policies", "user"),
    R("GET", f"{API}/escalation-policies/{{key}}", "user", f"{API}/escalation-policies/default"),
    R("GET", f"{API}/users/{{key}}/contact-methods", "private", f"{API}/users/{{helper}}/contact-methods"),
    R("GET", f"{API}/contact-methods/{{method_id}}", "private", f"{API}/contact-methods/{{helper_cm}}"),
    R("GET", f"{API}/users/{{key}}/notification-rules", "private", f"{API}/users/{{helper}}/notification-rules"),
    R("GET", f"{API}/users/{{key}}/notifications", "private", f"{API}/users/{{helper}}/notifications"),
    R("GET", f"{API}/push/vapid-public-key", "user"),
    R("GET", f"{API}/me/shifts", "own"),
    R("GET", f"{API}/shift-swaps", "user"),
    R("GET", f"{API}/shift-swaps/{{swap_id}}", "user", f"{API}/shift-swaps/{{swap_open}}"),
    R("GET", f"{API}/integrations", "user"),
    R("GET", f"{API}/integrations/{{integration_id}}", "user", f"{API}/integrations/{{integration}}"),
    R("GET", f"{API}/alerts", "user"),
    R("GET", f"{API}/alerts/{{alert_id}}", "user", f"{API}/alerts/{{alert}}"),
    R("GET", f"{API}/alerts/{{alert_id}}/escalation", "user", f"{API}/alerts/{{alert}}/escalation"),
    R("GET", f"{API}/alerts/{{alert_id}}/notifications", "user", f"{API}/alerts/{{alert}}/notifications"),
    R("GET", f"{API}/alerts/{{alert_id}}/problem-suggestions", "user", f"{API}/alerts/{{alert}}/problem-suggestions"),
    R("GET", f"{API}/services/{{key}}/changes", "user", f"{API}/services/checkout/changes"),
    R("GET", f"{API}/routing-rules", "user"),
    R("GET", f"{API}/routing-rules/{{rule_id}}", "user", f"{API}/routing-rules/{{routing_rule}}"),
    R("GET", f"{API}/silences", "user"),
    R("GET", f"{API}/silences/{{silence_id}}", "user", f"{API}/silences/{{silence}}"),
    R("GET", f"{API}/maintenance-windows", "user"),
    R("GET", f"{API}/maintenance-windows/{{window_id}}", "user", f"{API}/maintenance-windows/{{window}}"),
    R("GET", f"{API}/auto-incident-rules", "user"),
    R("GET", f"{API}/inhibition-rules", "user"),
    R("GET", f"{API}/inhibition-rules/{{rule_id}}", "user", f"{API}/inhibition-rules/{{inhibition_rule}}"),
    R("GET", f"{API}/heartbeats", "user"),
    R("GET", f"{API}/heartbeats/{{heartbeat_id}}", "user", f"{API}/heartbeats/{{heartbeat}}"),
    R("GET", f"{API}/checks", "user"),
    R("GET", f"{API}/checks/{{check_id}}", "user", f"{API}/checks/{{check}}"),
    R("GET", f"{API}/checks/{{check_id}}/results", "user", f"{API}/checks/{{check}}/results"),
    R("GET", f"{API}/checks/{{check_id}}/uptime", "user", f"{API}/checks/{{check}}/uptime"),
    R("GET", f"{API}/checks/{{check_id}}/locations", "user", f"{API}/checks/{{check}}/locations"),
    R("GET", f"{API}/services/{{key}}/slos", "user", f"{API}/services/checkout/slos"),
    R("GET", f"{API}/slos/{{slo_id}}", "user", f"{API}/slos/{{slo}}"),
    R("GET", f"{API}/incidents", "user"),
    R("GET", f"{API}/incidents/counts", "user"),
    R("GET", f"{API}/incidents/export", "user"),
    R("GET", INC, "read", f"{API}/incidents/{{ref}}"),
    R("GET", f"{INC}/timeline", "read", f"{API}/incidents/{{ref}}/timeline"),
    R("GET", f"{INC}/notes/{{entry_id}}/revisions", "read", f"{API}/incidents/{{ref}}/notes/{{note}}/revisions"),
    R("GET", f"{INC}/roles", "read", f"{API}/incidents/{{ref}}/roles"),
    R("GET", f"{INC}/participants", "read", f"{API}/incidents/{{ref}}/participants"),
    R("GET", f"{INC}/responders", "read", f"{API}/incidents/{{ref}}/responders"),
    R("GET", f"{API}/regimes", "user"),
    R("GET", f"{API}/obligations", "user"),
    *(R("GET", f"{INC}/{part}", "read", f"{API}/incidents/{{osec}}/{part}")
      for part in ("clocks", "exposure", "regimes", "obligations")),
    R("GET", f"{INC}/changes", "read", f"{API}/incidents/{{ref}}/changes"),
    R("GET", f"{INC}/evidence", "read", f"{API}/incidents/{{ref}}/evidence"),
    R("GET", f"{INC}/evidence/report", "read", f"{API}/incidents/{{ref}}/evidence/report"),
    R("GET", f"{INC}/evidence/{{evidence_id}}", "read", f"{API}/incidents/{{ref}}/evidence/E-1"),
    R("GET", f"{INC}/evidence/{{evidence_id}}/custody", "read", f"{API}/incidents/{{ref}}/evidence/E-1/custody"),
    R("GET", f"{INC}/evidence/{{evidence_id}}/content", "read", f"{API}/incidents/{{ref}}/evidence/E-1/content"),
    R("GET", f"{INC}/postmortem", "read", f"{API}/incidents/{{ref}}/postmortem"),
    R("GET", f"{INC}/action-items", "read", f"{API}/incidents/{{ref}}/action-items"),
    R("GET", f"{INC}/problems", "read", f"{API}/incidents/{{ref}}/problems"),
    R("GET", f"{INC}/problem-suggestions", "read", f"{API}/incidents/{{ref}}/problem-suggestions"),
    R("GET", f"{INC}/legal-drafts", "read", f"{API}/incidents/{{lsec}}/legal-drafts"),
    R("GET", f"{API}/postmortems", "user"),
    R("GET", f"{API}/postmortems/{{postmortem_id}}", "read", f"{API}/postmortems/{{pm}}"),
    R("GET", f"{API}/postmortems/{{postmortem_id}}/revisions", "read", f"{API}/postmortems/{{pm}}/revisions"),
    R("GET", f"{API}/postmortems/{{postmortem_id}}/comments", "read", f"{API}/postmortems/{{pm}}/comments"),
    R("GET", f"{API}/postmortems/{{postmortem_id}}/export", "read", f"{API}/postmortems/{{pm}}/export"),
    R("GET", f"{API}/postmortem-templates", "user"),
    R("GET", f"{API}/postmortem-templates/{{template_id}}", "user", f"{API}/postmortem-templates/{{template}}"),
    R("GET", f"{API}/action-items", "user"),
    R("GET", f"{API}/action-items/{{item_id}}", "read", f"{API}/action-items/{{item}}"),
    R("GET", f"{API}/action-items/sync-secret", "admin"),
    R("GET", f"{API}/teams/{{key}}/action-items/overdue", "user", f"{API}/teams/platform/action-items/overdue"),
    R("GET", f"{API}/problems", "user"),
    R("GET", f"{API}/problems/{{problem_id}}", "user", f"{API}/problems/{{problem}}"),
    R("GET", f"{API}/reports/incidents", "user"),
    R("GET", f"{API}/reports/action-items", "user"),
    R("GET", f"{API}/reports/incidents/chart.svg", "user"),
    R("GET", f"{API}/reports/incidents/chart.png", "user"),
    R("GET", f"{API}/reports/page", "user"),
    R("GET", f"{API}/reports/oncall", "user"),
    R("GET", f"{API}/status-pages", "user"),
    R("GET", f"{API}/status-pages/{{slug}}", "user", f"{API}/status-pages/acme"),
    R("GET", f"{API}/status-pages/{{slug}}/components", "user", f"{API}/status-pages/acme/components"),
    R("GET", f"{API}/status-pages/{{slug}}/incidents", "user", f"{API}/status-pages/acme/incidents"),
    R("GET", f"{API}/status-pages/{{slug}}/incidents/{{status_incident_id}}", "user",
      f"{API}/status-pages/acme/incidents/{{status_incident}}"),
    R("GET", f"{API}/status-pages/{{slug}}/maintenances", "user", f"{API}/status-pages/acme/maintenances"),
    R("GET", f"{API}/status-pages/{{slug}}/subscribers", "admin", f"{API}/status-pages/acme/subscribers"),
    # security incidents (containment/): the restricted security incident {sec}
    R("GET", f"{INC}/guardrails", "read", f"{API}/incidents/{{sec}}/guardrails"),
    R("GET", f"{INC}/phase", "read", f"{API}/incidents/{{sec}}/phase"),
    R("GET", f"{INC}/checklist", "read", f"{API}/incidents/{{sec}}/checklist"),
    R("GET", f"{API}/checklist-templates", "user"),
    R("GET", f"{API}/checklist-templates/{{template_id}}", "user", f"{API}/checklist-templates/{{ctpl}}"),
    R("GET", "/checklist-templates", "user"),
    # incident workflows and types (workflows/)
    R("GET", f"{API}/workflows", "user"),
    R("GET", f"{API}/workflows/{{workflow_id}}", "user", f"{API}/workflows/{{wflow}}"),
    R("GET", f"{API}/incident-types", "user"),
    R("GET", f"{API}/incident-types/{{slug}}", "user", f"{API}/incident-types/vendor-outage"),
    R("GET", f"{INC}/workflow-runs", "read", f"{API}/incidents/{{sec}}/workflow-runs"),
    R("GET", "/configure/workflows", "user"),
    R("GET", "/configure/incident-types", "user"),
    # roles (handbooks/): handbooks and the IC bench; everyone reads, admins change
    R("GET", f"{API}/handbooks", "user"),
    R("GET", f"{API}/handbooks/{{role}}", "user", f"{API}/handbooks/incident_commander"),
    R("GET", f"{API}/ic-bench", "user"),
    R("GET", "/handbooks/{role}", "user", "/handbooks/scribe"),
    R("GET", "/configure/handbooks", "user"),
    R("GET", "/configure/handbooks/{role}", "admin", "/configure/handbooks/scribe"),
    R("GET", "/configure/ic-bench", "user"),
    R("GET", f"{API}/exercises/schema", "user"),
    R("GET", f"{API}/exercises/scenarios", "responder"),
    R("GET", f"{API}/exercises", "responder"),
    R("GET", f"{API}/exercises/{{exercise_id}}", "responder", f"{API}/exercises/{{exercise}}"),
    R("GET", f"{API}/exercises/{{exercise_id}}/score", "responder", f"{API}/exercises/{{exercise}}/score"),
    R("GET", "/exercises", "responder"),
    R("GET", "/exercises/report", "responder"),
    R("GET", "/exercises/{exercise_id}", "responder", "/exercises/{exercise}"),
    # communication (comms/)
    R("GET", f"{API}/comms/templates", "user"),
    R("GET", f"{API}/comms/templates/{{template_id}}", "user", f"{API}/comms/templates/{{commstpl}}"),
    R("GET", f"{INC}/comms/{{slug}}", "read", f"{API}/incidents/{{sec}}/comms/internal-update"),
    R("GET", f"{API}/stakeholders", "own"),
    R("GET", "/configure/comms", "user"),
    R("GET", "/stakeholders", "own"),
    # runbooks (runbooks/): `vault`, linked to the restricted incident {sec}'s service
    R("GET", f"{API}/runbooks", "user"),
    R("GET", f"{API}/runbooks/{{key}}", "user", f"{API}/runbooks/vault"),
    R("GET", f"{INC}/runbooks", "read", f"{API}/incidents/{{sec}}/runbooks"),
    R("GET", "/runbooks/{slug}", "user", "/runbooks/vault"),
    R("GET", "/configure/runbooks", "user"),
    R("GET", "/configure/runbooks/new", "responder"),
    R("GET", "/configure/runbooks/{slug}", "user", "/configure/runbooks/vault"),
    # approved actions (automation/): the action "hook" and its waiting runs of the restricted incident {sec}
    R("GET", f"{API}/automation/actions", "user"),
    R("GET", f"{API}/automation/actions/{{key}}", "user", f"{API}/automation/actions/hook"),
    R("GET", f"{API}/automation/commands", "admin"),
    R("GET", f"{INC}/automation/runs", "read", f"{API}/incidents/{{sec}}/automation/runs"),
    R("GET", f"{INC}/automation/runs/{{run_id}}", "read", f"{API}/incidents/{{sec}}/automation/runs/{{arun}}"),
    R("GET", "/configure/automation", "user"),
    R("GET", "/incidents/{ref}/automation/{slug}", "read", "/incidents/{sec}/automation/hook"),

    # --- console pages --------------------------------------------------------------------------
    *(R("GET", page, "user") for page in ("/", "/alerts", "/services", "/schedules", "/escalation-policies",
                                          "/users", "/silences", "/status-pages", "/reports", "/incidents",
                                          "/postmortems", "/configure", "/configure/guardrails")),
    R("GET", "/me", "own"),
    R("GET", "/me/push/key", "own"),
    R("GET", "/me/shifts", "own"),
    R("GET", "/shift-swaps", "user"),
    R("GET", "/integrations", "user"),
    R("GET", "/integrations/new", "admin"),
    R("GET", "/integrations/{integration_id}", "user", "/integrations/{integration}"),
    R("GET", "/heartbeats", "user"),
    R("GET", "/checks", "user"),
    R("GET", "/checks/new", "admin"),
    R("GET", "/checks/{check_id}", "user", "/checks/{check}"),
    R("GET", "/slos/{slo_id}/edit", "admin", "/slos/{slo}/edit"),
    R("GET", "/schedules/new", "admin"),
    R("GET", "/schedules/{key}/edit", "admin", "/schedules/ops/edit"),
    R("GET", "/schedules/{key}/delete", "admin", "/schedules/spare2/delete"),
    R("GET", "/alerts/{alert_id}", "user", "/alerts/{alert}"),
    R("GET", "/services/{key}", "user", "/services/checkout"),
    R("GET", "/services/new", "admin"),
    R("GET", "/services/{key}/edit", "admin", "/services/checkout/edit"),
    R("GET", "/teams", "user"),
    R("GET", "/teams/new", "admin"),
    R("GET", "/teams/{key}", "user", "/teams/platform"),
    R("GET", "/schedules/{key}", "user", "/schedules/ops"),
    R("GET", "/escalation-policies/{key}", "user", "/escalation-policies/default"),
    *(R("GET", page, "user") for page in ("/routing-rules", "/auto-incident-rules", "/inhibition-rules")),
    R("GET", "/routing-rules/{rule_id}", "user", "/routing-rules/{routing_rule}"),
    R("GET", "/auto-incident-rules/{rule_id}", "user", "/auto-incident-rules/{auto_rule}"),
    R("GET", "/inhibition-rules/{rule_id}", "user", "/inhibition-rules/{inhibition_rule}"),
    R("GET", "/silences/{silence_id}", "user", "/silences/{silence}"),
    R("GET", "/maintenance-windows/{window_id}", "user", "/maintenance-windows/{window}"),
    R("GET", "/escalation-policies/new", "admin"),
    R("GET", "/escalation-policies/{key}/edit", "admin", "/escalation-policies/default/edit"),
    R("GET", "/audit", "admin"),
    R("GET", "/configure/sso", "admin"),
    R("GET", "/configure/chat", "admin"),
    R("GET", "/configure/chat/slack-manifest.yaml", "admin"),
    R("GET", "/chat/link", "own", "/chat/link?t={link_token}"),  # a signed one-time link to the caller's account
    R("GET", "/audit/verify", "admin"),
    R("GET", "/users/{user_id}", "user", "/users/{helper_id}"),
    R("GET", "/status-pages/{slug}", "user", "/status-pages/acme"),
    R("GET", "/reports/view", "user", "/reports/view?period=2025-12"),
    R("GET", "/incidents/{ref}", "read", "/incidents/{ref}"),
    R("GET", "/incidents/{ref}/obligations/report", "read", "/incidents/{osec}/obligations/report"),
    R("GET", "/obligations/report", "user"),
    R("GET", "/severity-suggestion", "user", "/severity-suggestion?customers_affected=300"),
    R("GET", "/incidents/{key}/postmortem", "read", "/incidents/{ref}/postmortem"),
    R("GET", "/incidents/{ref}/evidence/report", "read", "/incidents/{ref}/evidence/report"),
    R("GET", "/incidents/{ref}/evidence/{evidence_id}", "read", "/incidents/{ref}/evidence/E-1"),
    R("GET", "/incidents/{ref}/evidence/{evidence_id}/download", "read", "/incidents/{ref}/evidence/E-1/download"),
    R("GET", "/postmortems/{postmortem_id}", "read", "/postmortems/{pm}"),
    R("GET", "/action-items", "user"),
    R("GET", "/action-items/{item_id}", "read", "/action-items/{item_ref}"),
    R("GET", "/problems", "user"),
    R("GET", "/problems/{problem_id}", "user", "/problems/{problem}"),

    # --- API writes -------------------------------------------------------------------------------
    R("POST", f"{API}/users", "admin", json={"email": "new-{who}@example.test", "name": "New"}),
    R("PATCH", f"{API}/users/{{key}}", "admin", f"{API}/users/{{helper}}", json={"name": "Renamed Helper"}),
    R("POST", f"{API}/tokens", "own", json={"name": "another"}),
    R("DELETE", f"{API}/tokens/{{token_id}}", "own", f"{API}/tokens/{{own_token}}"),
    R("POST", f"{API}/teams", "admin", json={"name": "New team {who}"}),
    R("PATCH", f"{API}/teams/{{key}}", "admin", f"{API}/teams/platform", json={"name": "Platform Team"}),
    R("PUT", f"{API}/teams/{{key}}/members", "admin", f"{API}/teams/platform/members", json={"users": ["{helper}"]}),
    R("POST", f"{API}/services", "admin", json={"name": "New service {who}"}),
    R("PATCH", f"{API}/services/{{key}}", "admin", f"{API}/services/checkout", json={"tier": 1}),
    R("POST", f"{API}/schedules", "admin", json={"name": "Rota {who}"}),
    R("PATCH", f"{API}/schedules/{{key}}", "admin", f"{API}/schedules/ops", json={"name": "Ops rota"}),
    R("POST", f"{API}/schedules/{{key}}/ical-token", "admin", f"{API}/schedules/ops/ical-token"),
    R("POST", f"{API}/schedules/{{key}}/layers", "admin", f"{API}/schedules/ops/layers", json={
        "name": "second", "kind": "daily", "timezone": "UTC", "start": "2025-12-01T09:00:00Z",
        "members": ["{helper}"]}),
    R("PATCH", f"{API}/schedules/{{key}}/layers/{{layer_id}}", "admin", f"{API}/schedules/ops/layers/{{layer}}",
      json={"name": "first"}),
    R("POST", f"{API}/schedules/{{key}}/overrides", "admin", f"{API}/schedules/ops/overrides",  # for someone else
      json={"starts_at": T1, "ends_at": T2, "user": "{helper}"}),
    R("POST", f"{API}/escalation-policies", "admin", json={"name": "Policy {who}", "levels": [
        {"delay_minutes": 5, "targets": [{"type": "user", "email": "{helper}"}]}]}),
    R("PATCH", f"{API}/escalation-policies/{{key}}", "admin", f"{API}/escalation-policies/default",
      json={"repeat": 1}),
    R("PUT", f"{API}/services/{{key}}/escalation-policy", "admin", f"{API}/services/checkout/escalation-policy",
      json={"policy": "default"}),
    R("POST", f"{API}/users/{{key}}/contact-methods", "private", f"{API}/users/{{helper}}/contact-methods",
      json={"type": "sms", "address": "+14155550123"}),
    R("POST", f"{API}/contact-methods/{{method_id}}/send-code", "private",
      f"{API}/contact-methods/{{helper_cm}}/send-code"),
    R("POST", f"{API}/contact-methods/{{method_id}}/verify", "private", f"{API}/contact-methods/{{helper_cm}}/verify",
      json={"code": "000000"}),
    R("POST", f"{API}/contact-methods/{{method_id}}/test", "private", f"{API}/contact-methods/{{helper_cm}}/test"),
    R("POST", f"{API}/users/{{key}}/notification-rules", "private", f"{API}/users/{{helper}}/notification-rules",
      json={"contact_method_id": "{helper_cm}"}),
    R("POST", f"{API}/integrations", "admin", json={"service": "checkout", "type": "events_v2", "name": "pd {who}"}),
    R("POST", f"{API}/integrations/{{integration_id}}/rotate-key", "admin",
      f"{API}/integrations/{{integration}}/rotate-key"),
    R("POST", f"{API}/alerts/{{alert_id}}/escalate", "responder", f"{API}/alerts/{{alert}}/escalate", json={}),
    R("POST", f"{API}/alerts/{{alert_id}}/reassign", "responder", f"{API}/alerts/{{alert}}/reassign",
      json={"policy": "default"}),
    R("POST", f"{API}/alerts/{{alert_id}}/acknowledge", "responder", f"{API}/alerts/{{alert}}/acknowledge"),
    R("POST", f"{API}/alerts/{{alert_id}}/resolve", "responder", f"{API}/alerts/{{alert}}/resolve"),
    R("POST", f"{API}/alert-groups/{{group_id}}/acknowledge", "responder", f"{API}/alert-groups/{{group}}/acknowledge"),
    R("POST", f"{API}/alert-groups/{{group_id}}/resolve", "responder", f"{API}/alert-groups/{{group}}/resolve"),
    R("POST", f"{API}/routing-rules", "admin", json={"name": "db {who}", "matchers": ["team=db"], "urgency": "low"}),
    R("PATCH", f"{API}/silences/{{silence_id}}", "responder", f"{API}/silences/{{silence}}", json={"reason": "longer"}),
    R("PATCH", f"{API}/auto-incident-rules/{{rule_id}}", "admin", f"{API}/auto-incident-rules/{{auto_rule}}",
      json={"incident_severity": "SEV3"}),
    R("PATCH", f"{API}/routing-rules/{{rule_id}}", "admin", f"{API}/routing-rules/{{routing_rule}}",
      json={"name": "dbs"}),
    R("PUT", f"{API}/routing-rules/order", "admin", json={"ids": ["{routing_rule}"]}),
    R("POST", f"{API}/silences", "responder", json={"matchers": ["team=db"], "ends_at": T2, "reason": "upgrade"}),
    R("POST", f"{API}/silences/{{silence_id}}/expire", "responder", f"{API}/silences/{{silence}}/expire"),
    R("POST", f"{API}/maintenance-windows", "responder", json={
        "service": "checkout", "name": "upgrade", "starts_at": T1, "ends_at": T2}),
    R("PATCH", f"{API}/maintenance-windows/{{window_id}}", "responder", f"{API}/maintenance-windows/{{window}}",
      json={"name": "db upgrade"}),
    R("POST", f"{API}/auto-incident-rules", "admin", json={
        "name": "tier 1 {who}", "matchers": ["tier=1"], "incident_severity": "SEV2"}),
    R("POST", f"{API}/inhibition-rules", "admin", json={
        "name": "node down {who}", "source_matchers": ["alertname=NodeDown"], "target_matchers": ["severity=warning"]}),
    R("PATCH", f"{API}/inhibition-rules/{{rule_id}}", "admin", f"{API}/inhibition-rules/{{inhibition_rule}}",
      json={"equal": ["instance"]}),
    R("GET", f"{API}/agents", "admin"),
    R("POST", f"{API}/agents", "admin", json={"name": "west-{who}"}),
    R("GET", "/agents", "admin"),
    R("POST", "/agents", "admin", form={"name": "east-{who}"}),
    R("POST", f"{API}/heartbeats", "admin", json={"service": "checkout", "name": "backup {who}",
                                                  "interval_seconds": 3600}),
    R("POST", f"{API}/checks", "admin", json={"service": "checkout", "name": "home {who}", "kind": "http",
                                              "target": "http://127.0.0.1:9/", "interval_seconds": 60,
                                              "timeout_seconds": 5}),
    R("PATCH", f"{API}/checks/{{check_id}}", "admin", f"{API}/checks/{{check}}", json={"name": "homepage"}),
    R("POST", f"{API}/services/{{key}}/slos", "admin", f"{API}/services/checkout/slos",
      json={"name": "slo {who}", "target": 99.9, "source": "push"}),
    R("PATCH", f"{API}/slos/{{slo_id}}", "admin", f"{API}/slos/{{slo}}", json={"target": 99.5}),
    R("POST", f"{API}/slos/{{slo_id}}/events", "responder", f"{API}/slos/{{slo}}/events", json={"good": 1, "total": 1}),
    R("POST", f"{API}/incidents", "responder", json={"title": "Queue backlog", "severity": "SEV3"}),
    R("PATCH", INC, "write", f"{API}/incidents/{{ref}}", json={"summary": "by {who}"}),
    R("POST", f"{INC}/notes", "write", f"{API}/incidents/{{ref}}/notes", json={"text": "note by {who}"}),
    R("PATCH", f"{INC}/notes/{{entry_id}}", "write", f"{API}/incidents/{{ref}}/notes/{{own_note}}",
      json={"text": "edited"}),
    R("POST", f"{INC}/roles", "write", f"{API}/incidents/{{ref}}/roles", json={"role": "sme", "user": "{helper}"}),
    R("POST", f"{INC}/participants", "read", f"{API}/incidents/{{ref}}/participants", json={"kind": "observer"}),
    R("PUT", f"{INC}/clocks/{{clock}}", "write", f"{API}/incidents/{{osec}}/clocks/discovered_at",
      json={"at": "2026-01-01T06:00:00Z", "reason": "by {who}"}),
    R("PUT", f"{INC}/exposure", "write", f"{API}/incidents/{{osec}}/exposure", json={"regions": ["EU"]}),
    R("POST", f"{INC}/regimes", "write", f"{API}/incidents/{{osec}}/regimes", json={"regime": "gdpr"}),
    R("POST", f"{INC}/obligations/{{obligation_id}}/filing", "filing",
      f"{API}/incidents/{{osec}}/obligations/{{sec_art33}}/filing", json={"reference": "by {who}"}),
    R("POST", f"{INC}/obligations/{{obligation_id}}/not-applicable", "filing",
      f"{API}/incidents/{{osec}}/obligations/{{sec_art34}}/not-applicable", json={"reason": "by {who}"}),
    R("POST", f"{INC}/responders", "write", f"{API}/incidents/{{ref}}/responders",
      json={"targets": [{"kind": "user", "key": "{helper}"}], "message": "Need you"}),
    R("POST", f"{API}/alerts/{{alert_id}}/attach", "write", f"{API}/alerts/{{alert}}/attach",
      json={"incident": "{ref}"}),
    R("POST", f"{INC}/postmortem", "write", f"{API}/incidents/{{ref}}/postmortem", json={}),  # 409: it exists
    R("PATCH", f"{API}/postmortems/{{postmortem_id}}", "write", f"{API}/postmortems/{{pm}}",
      json={"title": "What happened"}),
    R("POST", f"{API}/postmortems/{{postmortem_id}}/comments", "write", f"{API}/postmortems/{{pm}}/comments",
      json={"text": "Add the timeline"}),
    R("POST", f"{API}/postmortems/{{postmortem_id}}/approve", "reviewer", f"{API}/postmortems/{{pm}}/approve"),
    R("POST", f"{API}/postmortem-templates", "admin", json={
        "name": "Short {who}", "sections": [{"key": "summary", "title": "Summary"}]}),
    R("PATCH", f"{API}/postmortem-templates/{{template_id}}", "admin", f"{API}/postmortem-templates/{{template}}",
      json={"name": "Shorter"}),
    R("POST", f"{INC}/phase", "write", f"{API}/incidents/{{sec}}/phase", json={"phase": "containment"}),
    R("POST", f"{INC}/checklist", "write", f"{API}/incidents/{{sec}}/checklist", json={}),  # 409: it has one
    R("POST", f"{INC}/checklist/steps", "write", f"{API}/incidents/{{sec}}/checklist/steps",
      json={"kind": "preserve", "title": "Snapshot", "target": "web-7"}),
    R("POST", f"{INC}/checklist/steps/{{step_id}}/done", "write", f"{API}/incidents/{{sec}}/checklist/steps/{{step}}/done"),
    R("POST", f"{INC}/checklist/steps/{{step_id}}/undo", "write", f"{API}/incidents/{{sec}}/checklist/steps/{{step}}/undo",
      json={"reason": "wrong host"}),
    R("POST", f"{API}/checklist-templates", "admin", json={
        "name": "Host {who}", "steps": [{"kind": "preserve", "title": "Snapshot"}]}),
    R("PATCH", f"{API}/checklist-templates/{{template_id}}", "admin", f"{API}/checklist-templates/{{ctpl}}",
      json={"name": "Hosts"}),
    R("POST", "/incidents/{ref}/containment/phase", "write", "/incidents/{sec}/containment/phase",
      form={"phase": "eradication"}),
    R("POST", "/incidents/{ref}/containment/checklist", "write", "/incidents/{sec}/containment/checklist", form={}),
    R("POST", "/incidents/{ref}/containment/steps", "write", "/incidents/{sec}/containment/steps",
      form={"kind": "investigate", "title": "Read logs", "target": "web-7"}),
    R("POST", "/incidents/{ref}/containment/steps/{step_id}", "write", "/incidents/{sec}/containment/steps/{step}",
      form={"done": "1"}),
    R("POST", "/checklist-templates", "admin", form={"name": "Console {who}", "steps": "preserve | Snapshot"}),
    R("POST", f"{API}/workflows", "admin", json={"name": "Flow {who}", "steps": [{"kind": "open_checklist"}]}),
    R("PATCH", f"{API}/workflows/{{workflow_id}}", "admin", f"{API}/workflows/{{wflow}}", json={"enabled": False}),
    R("POST", f"{API}/incident-types", "admin", json={"slug": "type-{who}", "name": "Type {who}"}),
    R("PATCH", f"{API}/incident-types/{{slug}}", "admin", f"{API}/incident-types/vendor-outage",
      json={"description": "A supplier is down"}),
    R("PUT", f"{INC}/custom-fields", "write", f"{API}/incidents/{{sec}}/custom-fields", json={"values": {}}),  # 409
    R("POST", "/configure/workflows", "admin", form={"name": "Console flow {who}", "trigger": "declared",
                                                     "steps": "create_chat_channel"}),
    R("POST", "/configure/workflows/{workflow_id}", "admin", "/configure/workflows/{wflow}",
      form={"name": "Flow", "trigger": "declared", "steps": "open_checklist"}),
    R("POST", "/configure/incident-types", "admin", form={"slug": "console-{who}", "name": "Console {who}",
                                                          "base_kind": "operational"}),
    R("POST", "/configure/incident-types/{slug}", "admin", "/configure/incident-types/vendor-outage",
      form={"name": "Vendor outage", "base_kind": "operational", "custom_fields": "vendor | Vendor | text"}),
    R("POST", "/incidents/{ref}/custom-fields", "write", "/incidents/{sec}/custom-fields", form={}),  # 409: no type
    R("PUT", f"{API}/handbooks/{{role}}", "admin", f"{API}/handbooks/scribe", json={"body_md": "# Scribe {who}"}),
    R("POST", f"{API}/config/apply", "admin", json={"documents": [{"version": 1, "teams": [
        {"slug": "cfg-{who}", "name": "Config {who}"}]}], "dry_run": True}),
    R("PUT", f"{API}/ic-bench/{{user}}", "admin", f"{API}/ic-bench/{{helper}}", json={"trained": True}),
    R("POST", "/configure/handbooks/{role}", "admin", "/configure/handbooks/sme", form={"body_md": "# SME {who}"}),
    R("POST", "/configure/ic-bench", "admin", form={"user": "{helper}", "trained": "1"}),
    R("POST", f"{API}/comms/templates", "admin", json={"slug": "api-{who}", "name": "API {who}", "channel": "internal",
                                                       "subject": "{{{{ ref }}}}", "body": "{{{{ title }}}}"}),
    R("PUT", f"{API}/comms/templates/{{template_id}}", "admin", f"{API}/comms/templates/{{commstpl}}",
      json={"slug": "smoke", "name": "Smoke 2", "channel": "internal", "subject": "{{{{ ref }}}}", "body": "x"}),
    R("POST", f"{INC}/updates", "write", f"{API}/incidents/{{sec}}/updates", json={"text": "contained",
                                                                                  "audience": "stakeholders"}),
    R("POST", f"{API}/stakeholders", "own", json={"min_severity": "SEV1"}),
    R("POST", "/configure/comms", "admin", form={"slug": "console-{who}", "name": "Console {who}", "channel": "internal",
                                                 "kind": "any", "subject": "{{{{ ref }}}}", "body": "x"}),
    R("POST", "/configure/comms/{template_id}", "admin", "/configure/comms/{commstpl}",
      form={"slug": "smoke", "name": "Smoke 3", "channel": "internal", "kind": "any", "subject": "s", "body": "b"}),
    R("POST", "/incidents/{ref}/comms/compose", "write", "/incidents/{sec}/comms/compose",
      form={"template": "internal-update"}),
    R("POST", "/incidents/{ref}/comms/update", "write", "/incidents/{sec}/comms/update",
      form={"text": "eradicated", "audience": "responders"}),
    R("POST", "/stakeholders", "own", form={"min_severity": "SEV2"}),
    R("POST", f"{API}/runbooks", "admin", json={"title": "Database", "body_md": "1. Fail over"}),
    R("PATCH", f"{API}/runbooks/{{key}}", "admin", f"{API}/runbooks/vault", json={"title": "Vault"}),
    R("POST", f"{INC}/runbooks/{{slug}}/steps/{{number}}", "write", f"{API}/incidents/{{sec}}/runbooks/vault/steps/1",
      json={"state": "done"}),
    R("POST", "/configure/runbooks/new", "admin", form={"title": "Console {who}", "body_md": "1. Fail over"}),
    R("POST", "/configure/runbooks/{slug}", "admin", "/configure/runbooks/vault",
      form={"title": "Vault", "svc:vault": "1", "body_md": "1. Seal\n2. Rotate\n"}),
    R("POST", "/incidents/{ref}/runbooks/{slug}/steps/{number}", "write", "/incidents/{sec}/runbooks/vault/steps/2",
      form={"state": "skipped"}),
    R("POST", "/checklist-templates/{template_id}", "admin", "/checklist-templates/{ctpl}",
      form={"name": "Console hosts", "steps": "preserve | Snapshot | web-7"}),
    # exercises: admins start them; an admin (or the run's starter) drives and finishes them
    R("POST", f"{API}/exercises", "admin", json={"shipped": "bad-deploy", "mode": "tabletop",
                                                "participants": [{"email": "{helper}"}]}),
    R("POST", f"{API}/exercises/{{exercise_id}}/injects/{{n}}", "admin", f"{API}/exercises/{{exercise}}/injects/3"),
    R("POST", f"{API}/exercises/{{exercise_id}}/advance", "admin", f"{API}/exercises/{{exercise}}/advance"),
    R("POST", "/exercises", "admin", form={"shipped": "bad-deploy", "mode": "tabletop", "participants": "{helper}"}),
    R("POST", "/exercises/{exercise_id}/next", "admin", "/exercises/{exercise}/next", form={}),
    R("POST", "/exercises/{exercise_id}/finish", "admin", "/exercises/{exercise}/finish", form={}),
    R("POST", f"{API}/exercises/{{exercise_id}}/finish", "admin", f"{API}/exercises/{{exercise}}/finish"),
    R("POST", f"{API}/automation/actions", "admin", json={"slug": "hook-{who}", "name": "Hook", "kind": "webhook",
                                                          "url": "https://hooks.example.test/y"}),
    R("PATCH", f"{API}/automation/actions/{{key}}", "admin", f"{API}/automation/actions/hook", json={"timeout_s": 20}),
    R("POST", f"{INC}/automation/runs", "write", f"{API}/incidents/{{sec}}/automation/runs", json={"action": "hook"}),
    R("POST", f"{INC}/automation/runs/{{run_id}}/approve", "write",
      f"{API}/incidents/{{sec}}/automation/runs/{{arun}}/approve"),
    R("POST", f"{INC}/automation/runs/{{run_id}}/refuse", "write",
      f"{API}/incidents/{{sec}}/automation/runs/{{arun2}}/refuse"),
    R("POST", "/configure/automation", "admin", form={"slug": "console-{who}", "name": "Console", "kind": "webhook",
                                                      "url": "https://hooks.example.test/z"}),
    R("POST", "/configure/automation/{action_id}", "admin", "/configure/automation/{hook_id}",
      form={"slug": "hook", "name": "Hook", "kind": "webhook", "url": "https://hooks.example.test/x",
            "requires_approval": "1", "enabled": "1"}),
    R("POST", "/incidents/{ref}/automation/runs", "write", "/incidents/{sec}/automation/runs", form={"action": "hook"}),
    R("POST", "/incidents/{ref}/automation/runs/{run_id}", "write", "/incidents/{sec}/automation/runs/{arun3}",
      form={"decision": "approve"}),
    R("POST", f"{API}/action-items", "responder", json={"title": "Add a retry budget", "type": "prevent"}),
    R("PATCH", f"{API}/action-items/{{item_id}}", "write", f"{API}/action-items/{{item}}",
      json={"status": "in_progress"}),
    R("POST", f"{API}/action-items/sync", "write", json={"ref": "{item_ref}", "status": "in_progress"}),
    R("POST", f"{API}/problems", "responder", json={"title": "Pool exhaustion {who}"}),
    R("PATCH", f"{API}/problems/{{problem_id}}", "responder", f"{API}/problems/{{problem}}",
      json={"workaround": "Rotate the logs"}),
    R("POST", f"{API}/problems/{{problem_id}}/incidents", "write", f"{API}/problems/{{problem}}/incidents",
      json={"incident": "{ref}"}),
    R("POST", f"{API}/status-pages", "admin", json={"slug": "page-{who}", "name": "Page"}),
    R("PATCH", f"{API}/status-pages/{{slug}}", "admin", f"{API}/status-pages/acme", json={"name": "Acme"}),
    R("POST", f"{API}/status-pages/{{slug}}/components", "admin", f"{API}/status-pages/acme/components",
      json={"name": "API {who}"}),
    R("PATCH", f"{API}/status-pages/{{slug}}/components/{{component_id}}", "responder",
      f"{API}/status-pages/acme/components/{{component}}", json={"status": "degraded_performance"}),
    R("POST", f"{API}/status-pages/{{slug}}/incidents", "responder", f"{API}/status-pages/acme/incidents",
      json={"name": "Slow checkout", "status": "investigating", "body": "Looking."}),
    R("POST", f"{API}/status-pages/{{slug}}/incidents/{{status_incident_id}}/updates", "responder",
      f"{API}/status-pages/acme/incidents/{{status_incident}}/updates", json={"status": "identified", "body": "b"}),
    # evidence: the incident's Forensics Lead and admins manage it (nobody here is its Forensics Lead)
    R("POST", f"{INC}/evidence/files", "incident admin", f"{API}/incidents/{{ref}}/evidence/files?name=notes.json",
      json={"found": "a web shell"}),
    R("POST", f"{INC}/evidence/external", "incident admin", f"{API}/incidents/{{ref}}/evidence/external",
      json={"name": "db1 image", "location": "s3://forensics/db1.dd", "sha256": "ab" * 32}),
    R("POST", f"{INC}/evidence/{{evidence_id}}/custody", "incident admin",
      f"{API}/incidents/{{ref}}/evidence/E-1/custody", json={"action": "analysed"}),
    R("POST", "/incidents/{ref}/evidence/files", "incident admin", "/incidents/{ref}/evidence/files", form={},
      files={"file": ("mem.raw", b"memory")}),
    R("POST", "/incidents/{ref}/evidence/external", "incident admin", "/incidents/{ref}/evidence/external",
      form={"name": "db1 image", "location": "s3://forensics/db1-2.dd", "sha512": "cd" * 64}),
    R("POST", "/incidents/{ref}/evidence/{evidence_id}/custody", "incident admin",
      "/incidents/{ref}/evidence/E-1/custody", form={"action": "analysed"}),
    R("POST", f"{INC}/status-updates", "incident admin", f"{API}/incidents/{{ref}}/status-updates",
      json={"page": "acme", "name": "Checkout errors", "status": "investigating", "body": "Looking into it."}),
    R("POST", f"{API}/status-pages/{{slug}}/maintenances", "responder", f"{API}/status-pages/acme/maintenances",
      json={"name": "Upgrade", "body": "Short pauses.", "scheduled_for": T1, "scheduled_until": T2}),
    R("PATCH", f"{API}/status-pages/{{slug}}/maintenances/{{maintenance_id}}", "responder",
      f"{API}/status-pages/acme/maintenances/{{maintenance}}", json={"body": "Shorter pauses."}),
    R("POST", f"{API}/status-pages/{{slug}}/webhooks", "admin", f"{API}/status-pages/acme/webhooks",
      json={"url": "https://hooks.example.test/{who}"}),
    R("POST", f"{API}/postmortems/{{postmortem_id}}/publish-public", "write",
      f"{API}/postmortems/{{pm}}/publish-public", json={"page": "acme"}),  # 409: not posted there
    R("POST", f"{INC}/legal-drafts/{{draft_id}}/approve", "legal", f"{API}/incidents/{{lsec}}/legal-drafts/{{draft}}/approve",
      json={}),
    R("POST", f"{INC}/legal-drafts/{{draft_id}}/reject", "legal", f"{API}/incidents/{{lsec}}/legal-drafts/{{draft}}/reject",
      json={"reason": "Not yet"}),

    R("POST", f"{API}/shift-swaps", "responder", json={  # within the caller's own override (the world's)
        "schedule": "ops", "starts_at": "2026-01-10T00:00:00Z", "ends_at": "2026-01-10T01:00:00Z"}),
    R("POST", f"{API}/shift-swaps/{{swap_id}}/offers", "admin", f"{API}/shift-swaps/{{swap_open}}/offers",
      json={}),  # the helper's request: only people on the schedule (or admins) may offer
    R("POST", f"{API}/shift-swaps/{{swap_id}}/accept", "admin", f"{API}/shift-swaps/{{swap_accept}}/accept",
      json={"offer_id": "{swap_accept_offer}"}),  # only the person who asked (or an admin)
    R("POST", f"{API}/shift-swaps/{{swap_id}}/cancel", "admin", f"{API}/shift-swaps/{{swap_cancel}}/cancel"),
    R("POST", f"{API}/me/ical-token", "own"),
    R("POST", f"{API}/users/{{key}}/push-subscriptions", "own", f"{API}/users/me/push-subscriptions",  # nobody
      json={"endpoint": "https://push.example.test/wpush/api-{who}",  # may subscribe someone else, not even an admin
            "keys": {"p256dh": "{p256dh}", "auth": "{push_auth}"}}),

    # --- console forms ------------------------------------------------------------------------------
    R("POST", "/incidents", "responder", form={"title": "Queue backlog", "severity": "SEV3"}),
    R("POST", "/incidents/{ref}/{action}", "write", "/incidents/{ref}/note", form={"text": "Looking"}),
    R("POST", "/incidents/{ref}/legal/{draft_id}/{decision}", "legal", "/incidents/{lsec}/legal/{draft}/approve",
      form={"body": "We are investigating."}),
    R("POST", "/incidents/{ref}/guests", "incident admin", form={"email": "ir-{who}@firm.example", "name": "Ivy",
                                                                 "duration": "3d"}),
    R("POST", "/incidents/{ref}/guests/{grant_id}/revoke", "incident admin", "/incidents/{ref}/guests/{grant}/revoke",
      form={}),
    R("POST", "/incidents/{ref}/obligations/clock", "write", "/incidents/{osec}/obligations/clock",
      form={"clock": "classified_at", "at": "2026-01-01T08:00", "reason": "by {who}"}),
    R("POST", "/incidents/{ref}/obligations/exposure", "write", "/incidents/{osec}/obligations/exposure",
      form={"regions": "EU", "data-personal": "1"}),
    R("POST", "/incidents/{ref}/obligations/regime", "write", "/incidents/{osec}/obligations/regime",
      form={"regime": "uk-gdpr"}),
    R("POST", "/incidents/{ref}/obligations/file", "filing", "/incidents/{osec}/obligations/file",
      form={"obligation": "{sec_ew}", "reference": "by {who}", "late_reason": "late"}),
    R("POST", "/incidents/{ref}/obligations/not-applicable", "filing", "/incidents/{osec}/obligations/not-applicable",
      form={"obligation": "{sec_note}", "reason": "by {who}"}),
    R("POST", "/incidents/{key}/postmortem", "write", "/incidents/{ref}/postmortem", form={}),  # exists: redirect
    R("POST", "/postmortems/{postmortem_id}/{action}", "write", "/postmortems/{pm}/comments",
      form={"text": "Looks good"}),
    R("POST", "/alerts/{alert_id}/attach", "write", "/alerts/{alert}/attach", form={"incident": "{ref}"}),
    R("POST", "/alerts/{alert_id}/acknowledge", "responder", "/alerts/{alert}/acknowledge", form={}),
    R("POST", "/alerts/{alert_id}/resolve", "responder", "/alerts/{alert}/resolve", form={}),
    R("POST", "/schedules/{key}/overrides", "admin", "/schedules/ops/overrides",  # for someone else
      form={"start": "2026-02-01T09:00", "end": "2026-02-01T17:00", "user": "{helper_id}"}),
    R("POST", "/schedules/{key}/overrides/{override_id}/delete", "admin",  # someone else's
      "/schedules/ops/overrides/{override}/delete", form={}),
    R("POST", "/silences", "responder", form={"matchers": "team=db", "duration": "60", "reason": "noisy"}),
    R("POST", "/action-items", "responder", form={"title": "Add a retry budget", "type": "prevent"}),
    R("POST", "/action-items/{item_id}/edit", "write", "/action-items/{item_ref}/edit",
      form={"title": "Alert on disk growth", "owner": "{helper_id}", "due": "", "team": "", "description": ""}),
    R("POST", "/action-items/{item_id}/status", "write", "/action-items/{item_ref}/status",
      form={"status": "in_progress"}),
    R("POST", "/problems", "responder", form={"title": "Pool exhaustion {who}"}),
    R("POST", "/problems/{problem_id}/edit", "responder", "/problems/{problem}/edit",
      form={"title": "Disk fills up", "service": "checkout", "workaround": "Rotate the logs"}),
    R("POST", "/problems/{problem_id}/status", "responder", "/problems/{problem}/status", form={"status": "known_error"}),
    R("POST", "/silences/{silence_id}/expire", "responder", "/silences/{silence}/expire", form={}),
    R("POST", "/silences/{silence_id}", "responder", "/silences/{silence}", form={
        "matchers": "team=db", "end": "2026-01-02T01:00", "reason": "r"}),
    R("POST", "/maintenance-windows/{window_id}", "responder", "/maintenance-windows/{window}", form={
        "name": "upgrade", "start": "2026-01-02T00:00", "end": "2026-01-02T01:00", "timezone": "UTC"}),
    R("POST", "/routing-rules", "admin", form={"name": "web {who}", "matchers": "team=web", "urgency": "low"}),
    R("POST", "/routing-rules/order", "admin", form={"order": "{routing_rule}", "rule": "{routing_rule}",
                                                     "direction": "up"}),
    R("POST", "/routing-rules/{rule_id}", "admin", "/routing-rules/{routing_rule}", form={
        "name": "db", "matchers": "team=db", "urgency": "low"}),
    R("POST", "/auto-incident-rules", "admin", form={"name": "t1 {who}", "matchers": "tier=1",
                                                     "incident_severity": "SEV2"}),
    R("POST", "/auto-incident-rules/{rule_id}", "admin", "/auto-incident-rules/{auto_rule}", form={
        "name": "t1", "matchers": "tier=1", "incident_severity": "SEV2"}),
    R("POST", "/inhibition-rules", "admin", form={"name": "dc {who}", "source_matchers": "alertname=DC",
                                                  "target_matchers": "severity=warning"}),
    R("POST", "/inhibition-rules/{rule_id}", "admin", "/inhibition-rules/{inhibition_rule}", form={
        "name": "dc", "source_matchers": "alertname=DC", "target_matchers": "severity=warning"}),
    R("POST", "/escalation-policies/new", "admin", form={
        "name": "Console {who}", "levels": "1", "l0-slots": "1", "l0-t0": "user:{helper_id}", "l0-delay": "5"}),
    R("POST", "/escalation-policies/{key}/edit", "admin", "/escalation-policies/default/edit", form={
        "name": "Default", "levels": "1", "l0-slots": "1", "l0-t0": "user:{helper_id}", "l0-delay": "5"}),
    R("POST", "/maintenance-windows", "responder", form={
        "service": "checkout", "name": "patching", "start": "2026-03-01T01:00", "end": "2026-03-01T02:00"}),
    R("POST", "/status-pages", "admin", form={"slug": "beta-{who}", "name": "Beta"}),
    R("POST", "/status-pages/{slug}/components", "admin", "/status-pages/acme/components", form={"name": "Web"}),
    R("POST", "/status-pages/{slug}/components/{component_id}/status", "responder",
      "/status-pages/acme/components/{component}/status", form={"status": "major_outage"}),
    R("POST", "/status-pages/{slug}/maintenance", "responder", "/status-pages/acme/maintenance", form={
        "name": "DB upgrade", "body": "Read-only.", "start": "2026-04-01T01:00", "end": "2026-04-01T02:00"}),
    R("POST", "/shift-swaps", "responder", form={"schedule": "ops", "start": "2026-01-10T01:00",
                                                 "end": "2026-01-10T02:00"}),
    R("POST", "/shift-swaps/{swap_id}/offer", "admin", "/shift-swaps/{swap_open}/offer", form={}),
    R("POST", "/shift-swaps/{swap_id}/accept", "admin", "/shift-swaps/{swap_accept2}/accept",
      form={"offer_id": "{swap_accept2_offer}"}),
    R("POST", "/shift-swaps/{swap_id}/cancel", "admin", "/shift-swaps/{swap_cancel2}/cancel", form={}),
    R("POST", "/me/shifts/feed", "own", form={}),
    R("POST", "/me/push", "own", form={"endpoint": "https://push.example.test/wpush/web-{who}", "p256dh": "{p256dh}",
                                       "auth": "{push_auth}"}),
    R("POST", "/me/push/{method_id}/test", "own", "/me/push/{own_push}/test", form={}),
    R("POST", "/me/push/{method_id}/delete", "own", "/me/push/{own_push}/delete", form={}),
    R("POST", "/me/contacts/{method_id}/send-code", "own", "/me/contacts/{own_cm}/send-code", form={}),
    R("POST", "/me/contacts/{method_id}/verify", "own", "/me/contacts/{own_cm}/verify", form={"code": "000000"}),
    R("POST", "/me/contacts/{method_id}/test", "own", "/me/contacts/{own_cm}/test", form={}),
    R("POST", "/me/rules", "own", form={"contact_method_id": "{own_cm}", "delay_minutes": "5", "urgency": "any"}),
    R("POST", "/me/rules/{rule_id}/delete", "own", "/me/rules/{own_rule}/delete", form={}),
    R("POST", "/me/handoff-notices", "own", form={"handoff_notices": "on"}),
    R("POST", "/integrations", "admin", form={"service": "checkout", "type": "events_v2", "name": "web {who}"}),
    R("POST", "/integrations/{integration_id}/rotate-key", "admin", "/integrations/{integration}/rotate-key",
      form={"confirm": "yes"}),
    R("POST", "/heartbeats", "admin", form={"service": "checkout", "name": "nightly {who}", "interval": "1h"}),
    R("POST", "/checks", "admin", form={**CHECK, "name": "web {who}"}),
    R("POST", "/checks/{check_id}", "admin", "/checks/{check}", form={**CHECK, "name": "homepage"}),
    R("POST", "/schedules/new", "admin", form={"name": "Rota {who}", "slug": "rota-{who}", "action": "save",
                                               **LAYER}),
    R("POST", "/schedules/{key}/edit", "admin", "/schedules/ops/edit", form={"name": "Ops"}),
    R("POST", "/schedules/{key}/layers", "admin", "/schedules/ops/layers",
      form={**LAYER, "layer_name": "extra", "action": "save"}),
    R("POST", "/schedules/{key}/layers/{layer_id}", "admin", "/schedules/ops/layers/{layer}",
      form={**LAYER, "action": "preview"}),
    R("POST", "/status-pages/{slug}/components/{component_id}", "admin", "/status-pages/acme/components/{component}",
      form={"name": "Checkout"}),
    R("POST", "/status-pages/{slug}/incidents", "responder", "/status-pages/acme/incidents",
      form={"name": "Slow", "status": "investigating", "body": "Looking."}),
    R("POST", "/status-pages/{slug}/incidents/{status_incident_id}/updates", "responder",
      "/status-pages/acme/incidents/{status_incident}/updates", form={"status": "identified", "body": "Found it."}),
    R("POST", "/status-pages/{slug}/maintenance/{maintenance_id}", "responder",
      "/status-pages/acme/maintenance/{maintenance}", form={"status": "in_progress"}),
    R("POST", "/me/profile", "own", form={"name": "Renamed", "time_zone": "Europe/Berlin"}),
    R("POST", "/me/contacts", "own", form={"type": "email", "address": "me-{who}@example.test"}),
    R("POST", "/me/contacts/{method_id}/delete", "own", "/me/contacts/{own_cm}/delete", form={}),
    R("POST", "/chat/link", "own", form={"t": "{link_token}"}),
    R("POST", "/me/chat-accounts/{account_id}/unlink", "own", "/me/chat-accounts/{own_chat}/unlink", form={}),
    R("POST", "/me/tokens", "own", form={"name": "laptop"}),
    R("POST", "/me/tokens/{token_id}/revoke", "own", "/me/tokens/{own_token2}/revoke", form={}),
    R("POST", "/users/invite", "admin", form={"email": "invitee-{who}@example.test", "name": "Dan",
                                              "org_role": "viewer"}),
    R("POST", "/users/{user_id}/role", "admin", "/users/{helper_id}/role", form={"org_role": "responder"}),
    R("POST", "/users/{user_id}/active", "admin", "/users/{helper_id}/active", form={"active": "true"}),
    R("POST", "/users/invites/{invite_id}/resend", "admin", "/users/invites/{invite_a}/resend", form={}),
    R("POST", "/users/invites/{invite_id}/revoke", "admin", "/users/invites/{invite_b}/revoke", form={}),
    R("POST", "/configure/sso/tokens", "admin", form={"name": "IdP {who}"}),
    R("POST", "/configure/sso/tokens/{token_id}/revoke", "admin", "/configure/sso/tokens/{scim_token}/revoke", form={}),
    R("POST", "/services", "admin", form={"name": "Console service {who}", "tier": "3"}),
    R("POST", "/services/{key}/edit", "admin", "/services/checkout/edit", form={
        "name": "Checkout", "tier": "2", "owner_team": "platform", "policy": "default", "paging_unit": "group",
        "group_window": "1h", "flap_window": "30m"}),
    R("POST", "/teams", "admin", form={"name": "Console team {who}"}),
    R("POST", "/teams/{key}/edit", "admin", "/teams/platform/edit", form={"name": "Platform"}),
    R("POST", "/teams/{key}/members", "admin", "/teams/platform/members", form={"user": "{helper_id}"}),
    R("POST", "/me/password", "own", form={"current_password": PASSWORD, "new_password": PASSWORD + "!",
                                           "confirm_password": PASSWORD + "!"}),

    # --- indicators and affected assets (issue 17), on a restricted security incident {isec} ---------------
    R("GET", f"{INC}/indicators", "read", f"{API}/incidents/{{isec}}/indicators"),
    R("GET", f"{INC}/assets", "read", f"{API}/incidents/{{isec}}/assets"),
    R("GET", f"{INC}/export/stix", "read", f"{API}/incidents/{{isec}}/export/stix"),
    R("GET", f"{INC}/export/misp", "read", f"{API}/incidents/{{isec}}/export/misp"),
    R("GET", "/incidents/{ref}/iocs/export/stix", "read", "/incidents/{isec}/iocs/export/stix"),
    R("GET", "/incidents/{ref}/iocs/export/misp", "read", "/incidents/{isec}/iocs/export/misp"),
    R("GET", f"{API}/indicators", "user", f"{API}/indicators?value=198.51.100.7"),
    R("POST", f"{INC}/indicators", "write", f"{API}/incidents/{{isec}}/indicators",
      json={"type": "domain", "value": "{who}.evil.example"}),
    R("PATCH", f"{INC}/indicators/{{indicator_id}}", "write", f"{API}/incidents/{{isec}}/indicators/{{sec_ioc}}",
      json={"tlp": "red"}),
    R("POST", f"{INC}/assets", "write", f"{API}/incidents/{{isec}}/assets", json={"kind": "host", "name": "{who}-7"}),
    R("PATCH", f"{INC}/assets/{{asset_id}}", "write", f"{API}/incidents/{{isec}}/assets/{{sec_asset}}",
      json={"state": "contained"}),
    R("POST", "/incidents/{ref}/iocs/indicator", "write", "/incidents/{isec}/iocs/indicator",
      form={"type": "host", "value": "{who}-host"}),
    R("POST", "/incidents/{ref}/iocs/asset", "write", "/incidents/{isec}/iocs/asset",
      form={"kind": "account", "name": "{who}-svc"}),
    R("POST", "/incidents/{ref}/iocs/assets/{asset_id}/state", "write", "/incidents/{isec}/iocs/assets/{sec_asset}/state",
      form={"state": "eradicated"}),
    R("POST", "/incidents/{ref}/iocs/indicators/{indicator_id}/remove", "write",
      "/incidents/{isec}/iocs/indicators/{sec_ioc2}/remove", form={}),
    R("DELETE", f"{INC}/indicators/{{indicator_id}}", "write", f"{API}/incidents/{{isec}}/indicators/{{sec_ioc}}"),

    # --- deletions, last ---------------------------------------------------------------------------------
    R("DELETE", f"{API}/checklist-templates/{{template_id}}", "admin", f"{API}/checklist-templates/{{ctpl}}"),
    R("DELETE", f"{API}/workflows/{{workflow_id}}", "admin", f"{API}/workflows/{{wflow}}"),
    R("DELETE", f"{API}/incident-types/{{slug}}", "admin", f"{API}/incident-types/security"),
    R("DELETE", f"{API}/handbooks/{{role}}", "admin", f"{API}/handbooks/scribe"),
    R("DELETE", f"{API}/stakeholders/{{sub_id}}", "admin", f"{API}/stakeholders/{{stake}}"),
    R("POST", "/stakeholders/{sub_id}/delete", "admin", "/stakeholders/{stake2}/delete", form={}),
    R("DELETE", f"{API}/comms/templates/{{template_id}}", "admin", f"{API}/comms/templates/{{commstpl}}"),
    R("DELETE", f"{API}/runbooks/{{key}}", "admin", f"{API}/runbooks/vault"),
    R("DELETE", f"{API}/automation/actions/{{key}}", "admin", f"{API}/automation/actions/{{spare_hook}}"),
    # the console unlinks and links again (each answers ok), then the API unlinks
    R("POST", "/problems/{problem_id}/unlink", "write", "/problems/{problem}/unlink", form={"incident": "{ref}"}),
    R("POST", "/problems/{problem_id}/link", "write", "/problems/{problem}/link", form={"incident": "{ref}"}),
    R("DELETE", f"{API}/problems/{{problem_id}}/incidents/{{key}}", "write", f"{API}/problems/{{problem}}/incidents/{{ref}}"),
    R("DELETE", f"{INC}/regimes/{{regime}}", "write", f"{API}/incidents/{{osec}}/regimes/dora?reason=mistake"),
    R("POST", "/incidents/{ref}/obligations/drop", "write", "/incidents/{osec}/obligations/drop",
      form={"regime": "pci-dss", "reason": "mistake"}),
    R("DELETE", f"{API}/status-pages/{{slug}}/subscribers/{{subscriber_id}}", "admin",
      f"{API}/status-pages/acme/subscribers/{{subscriber}}"),
    R("DELETE", f"{API}/status-pages/{{slug}}/components/{{component_id}}", "admin",
      f"{API}/status-pages/acme/components/{{spare_component}}"),
    R("DELETE", f"{API}/notification-rules/{{rule_id}}", "private", f"{API}/notification-rules/{{helper_rule}}"),
    R("DELETE", f"{API}/contact-methods/{{method_id}}", "private", f"{API}/contact-methods/{{helper_cm}}"),
    R("DELETE", f"{API}/integrations/{{integration_id}}", "admin", f"{API}/integrations/{{integration}}"),
    R("DELETE", f"{API}/routing-rules/{{rule_id}}", "admin", f"{API}/routing-rules/{{routing_rule}}"),
    R("DELETE", f"{API}/maintenance-windows/{{window_id}}", "responder", f"{API}/maintenance-windows/{{window}}"),
    R("DELETE", f"{API}/auto-incident-rules/{{rule_id}}", "admin", f"{API}/auto-incident-rules/{{auto_rule}}"),
    R("DELETE", f"{API}/inhibition-rules/{{rule_id}}", "admin", f"{API}/inhibition-rules/{{inhibition_rule}}"),
    R("POST", "/routing-rules/{rule_id}/delete", "admin", "/routing-rules/{routing_rule2}/delete", form={}),
    R("POST", "/auto-incident-rules/{rule_id}/delete", "admin", "/auto-incident-rules/{auto_rule2}/delete", form={}),
    R("POST", "/inhibition-rules/{rule_id}/delete", "admin", "/inhibition-rules/{inhibition_rule2}/delete",
      form={}),
    R("POST", "/maintenance-windows/{window_id}/delete", "responder", "/maintenance-windows/{window2}/delete",
      form={}),
    R("POST", "/escalation-policies/{key}/delete", "admin", "/escalation-policies/default/delete",  # in use: 409
      form={}),
    R("DELETE", f"{API}/heartbeats/{{heartbeat_id}}", "admin", f"{API}/heartbeats/{{heartbeat}}"),
    R("DELETE", f"{API}/agents/{{agent_id}}", "admin", f"{API}/agents/{{agent}}"),
    R("DELETE", f"{API}/checks/{{check_id}}", "admin", f"{API}/checks/{{check}}"),
    R("DELETE", f"{API}/schedules/{{key}}/overrides/{{override_id}}", "admin",  # someone else's
      f"{API}/schedules/ops/overrides/{{api_override}}"),
    R("DELETE", f"{API}/schedules/{{key}}/layers/{{layer_id}}", "admin", f"{API}/schedules/ops/layers/{{layer}}"),
    R("DELETE", f"{API}/escalation-policies/{{key}}", "admin", f"{API}/escalation-policies/spare"),
    R("DELETE", f"{API}/schedules/{{key}}", "admin", f"{API}/schedules/spare"),
    R("DELETE", f"{API}/status-pages/{{slug}}", "admin", f"{API}/status-pages/spare"),
    R("DELETE", f"{API}/services/{{key}}", "admin", f"{API}/services/spare-api"),
    R("POST", "/services/{key}/delete", "admin", "/services/spare-console/delete", form={"confirm": "spare-console"}),
    R("POST", "/teams/{key}/members/{user_id}/remove", "admin", "/teams/platform/members/{helper_id}/remove", form={}),
    R("POST", "/integrations/{integration_id}/delete", "admin", "/integrations/{integration2}/delete",
      form={"confirm": "yes"}),
    R("POST", "/heartbeats/{heartbeat_id}/delete", "admin", "/heartbeats/{heartbeat2}/delete", form={}),
    R("POST", "/checks/{check_id}/delete", "admin", "/checks/{check2}/delete", form={}),
    R("POST", "/agents/{agent_id}/revoke", "admin", "/agents/{agent2}/revoke", form={}),
    R("POST", "/services/{key}/slos", "admin", "/services/checkout/slos",
      form={"name": "console slo {who}", "kind": "availability", "target": "99.9", "window_days": "30",
            "source": "push"}),
    R("POST", "/slos/{slo_id}/edit", "admin", "/slos/{slo}/edit",
      form={"name": "api", "kind": "availability", "target": "99", "window_days": "7", "source": "push"}),
    R("DELETE", f"{API}/slos/{{slo_id}}", "admin", f"{API}/slos/{{slo2}}"),
    R("POST", "/slos/{slo_id}/delete", "admin", "/slos/{slo3}/delete", form={}),
    R("POST", "/schedules/{key}/layers/{layer_id}/delete", "admin", "/schedules/ops/layers/{layer2}/delete", form={}),
    R("POST", "/schedules/{key}/delete", "admin", "/schedules/spare2/delete", form={}),
    R("POST", "/status-pages/{slug}/components/{component_id}/delete", "admin",
      "/status-pages/acme/components/{spare_component2}/delete", form={}),
    R("POST", "/status-pages/{slug}/subscribers/{subscriber_id}/remove", "admin",
      "/status-pages/acme/subscribers/{subscriber2}/remove", form={}),
    R("POST", "/logout", "own", form={}),
]


# --- the world ------------------------------------------------------------------------------------------

def _ok(r: Any, *status: int) -> Any:
    assert r.status_code in (status or (200,)), f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}"
    return r.json() if r.headers.get("content-type", "").startswith("application/json") else r


def seed(client: TestClient, db: Any, clock: Any, system: Any, make_web_user: Any, who: str) -> tuple[dict, dict]:
    """The organisation every principal walks, made through the API by an admin, with `who`'s own
    things; returns (world, principals) where principals maps each kind to its WebUser."""
    world, people = seed_world(client, db, clock, system, make_web_user)
    return seed_own(client, db, clock, system, world, people, who)


def seed_world(client: TestClient, db: Any, clock: Any, system: Any, make_web_user: Any) -> tuple[dict, dict]:
    """The part of `seed` that is the same for every principal (seeded once per module on SQLite:
    `sqlite_template` below)."""
    from tocsin.automation.service import request_run
    from tocsin.chatops import accounts as chat_accounts
    from tocsin.contacts.models import ContactMethod
    from tocsin.engine.runner import Engine
    from tocsin.incidents import guests
    from tocsin.incidents.access import require_incident
    from tocsin.sso.tokens import create_token as create_scim_token
    from tocsin.web.sessions import create_invite

    admin = make_web_user("admin", name="Ada Admin")
    helper = make_web_user("responder", name="Hal Helper")
    viewer = make_web_user("viewer", name="Vic Viewer")
    responder = make_web_user("responder", name="Rae Responder")
    other = make_web_user("responder", name="Oz Other")
    gone = make_web_user("admin", name="Dee Deactivated")
    revoked = make_web_user("admin", name="Rev Revoked")
    A = {"headers": admin.headers}  # noqa: N806
    api = API

    _ok(client.post(f"{api}/teams", json={"name": "Platform", "slug": "platform"}, **A), 201)
    _ok(client.put(f"{api}/teams/platform/members", json={"users": [helper.email]}, **A))
    _ok(client.post(f"{api}/services", json={"name": "Checkout", "slug": "checkout", "owner_team": "platform"},
                    **A), 201)
    for slug in ("ops", "spare", "spare2"):
        _ok(client.post(f"{api}/schedules", json={"name": slug.title(), "slug": slug, "timezone": "UTC"}, **A), 201)
    layer = _ok(client.post(f"{api}/schedules/ops/layers", json={
        "name": "primary", "kind": "daily", "timezone": "UTC", "start": "2025-12-01T09:00:00Z",
        "members": [helper.email]}, **A), 201)
    layer2 = _ok(client.post(f"{api}/schedules/ops/layers", json={
        "name": "secondary", "kind": "daily", "timezone": "UTC", "start": "2025-12-01T09:00:00Z",
        "members": [helper.email]}, **A), 201)
    api_override, override = (_ok(client.post(f"{api}/schedules/ops/overrides", json={
        "starts_at": start, "ends_at": end, "user": helper.email}, **A), 201) for start, end in ((T1, T2), (T2, T3)))
    for slug in ("default", "spare"):
        _ok(client.post(f"{api}/escalation-policies", json={"name": slug.title(), "slug": slug, "levels": [
            {"delay_minutes": 5, "targets": [{"type": "user", "email": helper.email}]}]}, **A), 201)
    _ok(client.put(f"{api}/services/checkout/escalation-policy", json={"policy": "default"}, **A))
    helper_cm = _ok(client.post(f"{api}/users/{helper.email}/contact-methods",
                                json={"type": "email", "address": "hal@example.test"}, headers=helper.headers), 201)
    with db.unit_of_work() as s:
        s.execute(sa.update(ContactMethod).where(ContactMethod.id == uuid.UUID(helper_cm["id"]))
                  .values(verified_at=clock.now()))
    helper_rule = _ok(client.post(f"{api}/users/{helper.email}/notification-rules",
                                  json={"contact_method_id": helper_cm["id"]}, headers=helper.headers), 201)
    integration, integration2 = (_ok(client.post(f"{api}/integrations", json={
        "service": "checkout", "type": "events_v2", "name": name}, **A), 201) for name in ("pd", "pd2"))
    _ok(client.post("/v2/enqueue", json={
        "routing_key": integration["key"], "event_action": "trigger", "dedup_key": "disk-db1",
        "payload": {"summary": "Disk full on db1", "source": "db1", "severity": "critical"}}), 202)
    alert = _ok(client.get(f"{api}/alerts", **A))["items"][0]
    Engine(db, clock, settings=client.app.state.settings).run_until_idle()  # the alert's escalation starts
    routing_rule = _ok(client.post(f"{api}/routing-rules", json={"name": "db", "matchers": ["team=db"],
                                                                 "urgency": "low"}, **A), 201)
    silence = _ok(client.post(f"{api}/silences", json={"matchers": ["team=db"], "ends_at": T2, "reason": "r"}, **A),
                  201)
    window = _ok(client.post(f"{api}/maintenance-windows", json={
        "service": "checkout", "name": "upgrade", "starts_at": T1, "ends_at": T2}, **A), 201)
    auto_rule = _ok(client.post(f"{api}/auto-incident-rules", json={
        "name": "tier 1", "matchers": ["tier=1"], "incident_severity": "SEV2"}, **A), 201)
    inhibition_rule = _ok(client.post(f"{api}/inhibition-rules", json={
        "name": "node down", "source_matchers": ["alertname=NodeDown"], "target_matchers": ["severity=warning"]},
        **A), 201)
    seconds = {name: _ok(client.post(f"{api}/{path}", json=body, **A), 201)["id"] for name, path, body in (
        ("routing_rule2", "routing-rules", {"name": "web", "matchers": ["team=web"], "urgency": "low"}),
        ("auto_rule2", "auto-incident-rules", {"name": "t2", "matchers": ["tier=2"], "incident_severity": "SEV3"}),
        ("inhibition_rule2", "inhibition-rules", {"name": "dc", "source_matchers": ["alertname=DC"],
                                                  "target_matchers": ["severity=info"]}),
        ("window2", "maintenance-windows", {"service": "checkout", "name": "w2", "starts_at": T1, "ends_at": T2}))}
    heartbeat, heartbeat2 = (_ok(client.post(f"{api}/heartbeats", json={
        "service": "checkout", "name": name, "interval_seconds": 3600}, **A), 201) for name in ("backup", "backup2"))
    check, check2 = (_ok(client.post(f"{api}/checks", json={
        "service": "checkout", "name": name, "kind": "http", "target": "http://127.0.0.1:9/",
        "interval_seconds": 60, "timeout_seconds": 5}, **A), 201) for name in ("home", "home2"))
    agent, agent2 = (_ok(client.post(f"{api}/agents", json={"name": name}, **A), 201) for name in ("west", "west2"))
    slo, slo2, slo3 = (_ok(client.post(f"{api}/services/checkout/slos", json={
        "name": name, "target": 99.9, "source": "push"}, **A), 201) for name in ("api", "api2", "api3"))

    # the restricted incident every "read"/"write" row targets, and another one for "other"
    inc = _ok(client.post(f"{api}/incidents", json={"title": "Checkout errors", "severity": "SEV2",
                                                    "restricted": True, "services": ["checkout"]}, **A), 201)
    ref = inc["ref"]
    for person, kind in ((viewer, "observer"), (responder, "responder"), (helper, "responder")):
        _ok(client.post(f"{api}/incidents/{ref}/participants", json={"user": person.email, "kind": kind}, **A))
    note = _ok(client.post(f"{api}/incidents/{ref}/notes", json={"text": "admin's note"}, **A), 201)
    _ok(client.post(f"{api}/incidents/{ref}/evidence/files?name=auth.log", content=b"Accepted password", **A), 201)
    elsewhere = _ok(client.post(f"{api}/incidents", json={"title": "Elsewhere", "severity": "SEV3",
                                                          "restricted": True}, **A), 201)
    _ok(client.post(f"{api}/incidents/{elsewhere['ref']}/participants",
                    json={"user": other.email, "kind": "responder"}, **A))
    for slug in ("acme", "spare"):
        _ok(client.post(f"{api}/status-pages", json={"slug": slug, "name": slug.title()}, **A), 201)
    # a security incident under the legal gate, with the helper as Legal and a status update held for them
    lsec = _ok(client.post(f"{api}/incidents", json={"title": "Leaked key", "severity": "SEV2", "kind": "security"},
                           **A), 201)["ref"]
    for person, kind in ((viewer, "observer"), (responder, "responder")):
        _ok(client.post(f"{api}/incidents/{lsec}/participants", json={"user": person.email, "kind": kind}, **A))
    _ok(client.post(f"{api}/incidents/{lsec}/roles", json={"role": "legal", "user": helper.email}, **A))
    draft = _ok(client.post(f"{api}/incidents/{lsec}/status-updates", json={
        "page": "acme", "name": "Login trouble", "status": "investigating", "body": "Looking."}, **A), 202)["id"]
    _ok(client.patch(f"{api}/incidents/{ref}", json={"status": "resolved"}, **A))
    # a restricted security breach with the same circle, owing GDPR and NIS2 (DORA, PCI DSS to drop)
    osec = _ok(client.post(f"{api}/incidents", json={"title": "Credential leak", "severity": "SEV2",
                                                     "kind": "security", "restricted": True}, **A), 201)["ref"]
    for person, kind in ((viewer, "observer"), (responder, "responder"), (helper, "responder")):
        _ok(client.post(f"{api}/incidents/{osec}/participants", json={"user": person.email, "kind": kind}, **A))
    for regime in ("gdpr", "nis2", "dora", "pci-dss"):
        _ok(client.post(f"{api}/incidents/{osec}/regimes", json={"regime": regime}, **A))
    _ok(client.put(f"{api}/incidents/{osec}/clocks/aware_at", json={"at": "2026-01-01T08:00:00Z", "reason": "SOC"}, **A))
    owed = {o["obligation"] + "@" + o["regime"]: o["id"]
            for o in _ok(client.get(f"{api}/incidents/{osec}/obligations", **A))["items"]}
    pm = _ok(client.post(f"{api}/incidents/{ref}/postmortem", json={}, **A), 201)
    _ok(client.patch(f"{api}/postmortems/{pm['id']}", json={"status": "in_review", "reviewers": [admin.email],
                                                            "public_text": "Payments failed."}, **A))
    template = _ok(client.post(f"{api}/postmortem-templates", json={
        "name": "Short", "sections": [{"key": "summary", "title": "Summary"}]}, **A), 201)
    item = _ok(client.post(f"{api}/action-items", json={"title": "Alert on disk growth", "type": "detect",
                                                        "owner": helper.email, "incident": ref}, **A), 201)
    problem = _ok(client.post(f"{api}/problems", json={"title": "Disk fills up", "service": "checkout"}, **A), 201)
    sec = _ok(client.post(f"{api}/incidents", json={"title": "Leaked key", "severity": "SEV2", "kind": "security",
                                                    "restricted": True}, **A), 201)["ref"]
    for person, kind in ((viewer, "observer"), (responder, "responder")):
        _ok(client.post(f"{api}/incidents/{sec}/participants", json={"user": person.email, "kind": kind}, **A))
    step = _ok(client.post(f"{api}/incidents/{sec}/checklist", json={}, **A), 201)["items"][0]["id"]
    hook = {"slug": "hook", "name": "Hook", "kind": "webhook", "url": "https://hooks.example.test/x",
            "requires_approval": True}
    hook_id = _ok(client.post(f"{api}/automation/actions", json=hook, **A), 201)["id"]
    spare_hook = _ok(client.post(f"{api}/automation/actions", json={**hook, "slug": "spare-hook"}, **A), 201)["id"]
    with db.unit_of_work() as s:  # runs of the restricted incident waiting for approval (asked by a workflow)
        target = require_incident(s, system, sec)
        aruns = {key: str(request_run(s, incident=target, action="hook", params={}, actor=system, now=clock.now()))
                 for key in ("arun", "arun2", "arun3")}
    ctpl = _ok(client.post(f"{api}/checklist-templates", json={
        "name": "Host", "steps": [{"kind": "preserve", "title": "Snapshot", "target": "web-7"}]}, **A), 201)["id"]
    exercise = _ok(client.post(f"{api}/exercises", json={"shipped": "database-outage", "mode": "tabletop",
                                                         "participants": [{"email": helper.email}]}, **A), 201)["id"]
    commstpl = _ok(client.post(f"{api}/comms/templates", json={"slug": "smoke", "name": "Smoke", "channel": "internal",
                                                               "subject": "{{ ref }}", "body": "{{ title }}"}, **A),
                   201)["id"]
    stake, stake2 = (_ok(client.post(f"{api}/stakeholders", json={"user_id": str(helper.id), "service": "checkout"},
                                     **A), 201)["id"] for _ in range(2))
    _ok(client.post(f"{api}/services", json={"name": "Vault", "slug": "vault"}, **A), 201)
    _ok(client.patch(f"{api}/incidents/{sec}", json={"services": ["vault"]}, **A))
    _ok(client.post(f"{api}/runbooks", json={"title": "Vault", "services": ["vault"],
                                             "body_md": "1. Seal\n2. Rotate\n"}, **A), 201)
    _ok(client.post(f"{api}/problems/{problem['ref']}/incidents", json={"incident": ref}, **A), 201)
    wflow = _ok(client.post(f"{api}/workflows", json={"name": "Basics", "steps": [{"kind": "open_checklist"}]},
                            **A), 201)["id"]
    for slug in ("spare-api", "spare-console"):
        _ok(client.post(f"{api}/services", json={"name": slug, "slug": slug}, **A), 201)
    with db.unit_of_work() as s:  # an outside responder's invitation to the restricted incident, and the guest
        target = require_incident(s, system, ref)
        grant = str(guests.invite(s, actor=system, now=clock.now(), incident=target, email="counsel@law.example",
                                  name="Cass Counsel", duration=timedelta(days=2), max_days=30)[0].id)
    with db.unit_of_work() as s:  # open invitations (the API has none: they are the console's)
        invite_a, invite_b = (str(create_invite(s, actor=system, now=clock.now(), email=f"invitee-{n}@example.test",
                                                name=f"Invitee {n}", org_role="viewer")[0].id) for n in "ab")
    with db.unit_of_work() as s:  # a SCIM token for the console's revoke form
        scim_token = str(create_scim_token(s, actor=system, now=clock.now(), name="IdP")[0].id)
    component = _ok(client.post(f"{api}/status-pages/acme/components", json={"name": "Checkout"}, **A), 201)
    spare_component, spare_component2 = (_ok(client.post(f"{api}/status-pages/acme/components", json={"name": name},
                                                         **A), 201) for name in ("Spare", "Spare 2"))
    status_incident = _ok(client.post(f"{api}/status-pages/acme/incidents", json={
        "name": "Slow", "status": "investigating", "body": "Looking."}, **A), 201)
    maintenance = _ok(client.post(f"{api}/status-pages/acme/maintenances", json={
        "name": "Upgrade", "body": "Pauses.", "scheduled_for": T1, "scheduled_until": T2}, **A), 201)
    subscriber, subscriber2 = (_ok(client.post(f"{api}/status-pages/acme/webhooks", json={
        "url": f"https://hooks.example.test/{name}"}, **A), 201) for name in ("s", "s2"))
    # the helper (always on call in ops) asks for cover five times; an admin offers on two of them
    swaps = {}
    for n, name in enumerate(("swap_open", "swap_accept", "swap_accept2", "swap_cancel", "swap_cancel2")):
        swaps[name] = _ok(client.post(f"{api}/shift-swaps", json={
            "schedule": "ops", "starts_at": f"2026-01-05T0{n}:00:00Z", "ends_at": f"2026-01-05T0{n}:30:00Z"},
            headers=helper.headers), 201)["id"]
    for name in ("swap_accept", "swap_accept2"):
        offered = _ok(client.post(f"{api}/shift-swaps/{swaps[name]}/offers", json={}, **A), 201)
        swaps[f"{name}_offer"] = offered["offers"][0]["id"]

    people = {"viewer": viewer, "responder": responder, "admin": admin, "other": other, "deactivated": gone,
              "revoked": revoked}
    iocs = _indicator_world(client, api, A, (viewer, responder, helper))  # issue 17
    world = {
        "helper": helper.email, "helper_id": str(helper.id), "helper_cm": helper_cm["id"],
        "helper_rule": helper_rule["id"], "integration": integration["id"], "alert": alert["id"],
        "group": alert["group_id"],
        "routing_rule": routing_rule["id"], "silence": silence["id"], "window": window["id"],
        **seconds, "auto_rule": auto_rule["id"], "inhibition_rule": inhibition_rule["id"], "heartbeat": heartbeat["id"], "check": check["id"], "layer": layer["id"],
        "api_override": api_override["id"], "override": override["id"], "ref": ref, "note": note["id"],
        "pm": pm["id"], "template": template["id"], "item": item["id"], "item_ref": item["ref"],
        "problem": problem["ref"], "component": component["id"], "spare_component": spare_component["id"],
        "status_incident": status_incident["id"], "maintenance": maintenance["id"], "subscriber": subscriber["id"],
        "own_token": str(uuid.uuid4()), "own_token2": str(uuid.uuid4()), "own_cm": str(uuid.uuid4()),
        "own_note": note["id"], "invite_a": invite_a, "invite_b": invite_b, "own_rule": str(uuid.uuid4()),
        "own_push": str(uuid.uuid4()), "integration2": integration2["id"], "heartbeat2": heartbeat2["id"],
        "check2": check2["id"], "layer2": layer2["id"], "spare_component2": spare_component2["id"],
        "agent": agent["id"], "agent2": agent2["id"], "slo": slo["id"], "slo2": slo2["id"], "slo3": slo3["id"],
        "subscriber2": subscriber2["id"], "p256dh": P256DH, "push_auth": "A" * 22, **swaps,
        "sec": sec, "step": step, "ctpl": ctpl, "wflow": wflow, "exercise": exercise, "commstpl": commstpl, "stake": stake,
        "stake2": stake2, "osec": osec, "hook_id": hook_id, "spare_hook": spare_hook, **aruns,
        "sec_art33": owed["art33@gdpr"],
        "sec_art34": owed["art34@gdpr"], "sec_ew": owed["early-warning@nis2"], "sec_note": owed["notification@nis2"],
        **iocs, "scim_token": scim_token, "lsec": lsec, "draft": draft, "grant": grant,
        "own_chat": str(uuid.uuid4()),
        "link_token": chat_accounts.link_token(client.app.state.settings.resolved_secret_key(),
                                               chat_accounts.ChatIdentity("slack", "T1", "U-linked"), now=clock.now()),
    }
    return world, people


def seed_own(client: TestClient, db: Any, clock: Any, system: Any, world: dict, people: dict,
             who: str) -> tuple[dict, dict]:
    """`who`'s own things in the seeded world (tokens to revoke, a note to edit, a contact method to
    delete; the guest and their token); returns copies of (world, people) naming them."""
    from tocsin.chatops import accounts as chat_accounts
    from tocsin.contacts.models import ContactMethod
    from tocsin.incidents import guests
    from tocsin.incidents.access import require_incident
    from tocsin.users.service import create_token, require_user

    world, people = {**world, "who": who}, dict(people)
    A = {"headers": people["admin"].headers}  # noqa: N806
    api, ref = API, world["ref"]
    me = people.get(who)
    if who == "guest":  # invited to the restricted incident; nothing of their own to make: the own_* ids are random
        with db.unit_of_work() as s:
            target = require_incident(s, system, ref)
            _grant, token = guests.invite(s, actor=system, now=clock.now(), incident=target, name="Gil Guest",
                                          email="gil@ir.example", duration=timedelta(days=2), max_days=30)
            user, _ = guests.accept(s, now=clock.now(), token=token, name="Gil Guest", password=PASSWORD)
            people["guest"] = WebUser(id=user.id, email=user.email, name=user.name, role="guest",
                                      token=create_token(s, actor=system, now=clock.now(), user=user, name="tests")[1])
    own: dict[str, str] = {}
    if me is not None:
        with db.unit_of_work() as s:  # a chat user linked to them, to unlink
            own["own_chat"] = str(chat_accounts.link(s, chat_accounts.ChatIdentity("slack", "T1", f"U-{who}"),
                                                     user=require_user(s, me.id), via="email", now=clock.now()).id)
        with db.unit_of_work() as s:
            user = require_user(s, me.id)
            own["own_token"] = str(create_token(s, actor=system, now=clock.now(), user=user, name="spare")[0].id)
            own["own_token2"] = str(create_token(s, actor=system, now=clock.now(), user=user, name="spare2")[0].id)
        own["own_cm"] = _ok(client.post(f"{api}/users/{me.email}/contact-methods",
                                        json={"type": "email", "address": f"{who}@example.test"}, **A), 201)["id"]
        with db.unit_of_work() as s:  # verified, so that a rule may page it
            s.execute(sa.update(ContactMethod).where(ContactMethod.id == uuid.UUID(own["own_cm"]))
                      .values(verified_at=clock.now()))
        own["own_rule"] = _ok(client.post(f"{api}/users/{me.email}/notification-rules",
                                          json={"contact_method_id": own["own_cm"]}, **A), 201)["id"]
        own["own_push"] = _ok(client.post(f"{api}/users/{me.email}/push-subscriptions", json={
            "endpoint": f"https://push.example.test/wpush/{who}", "keys": {"p256dh": P256DH, "auth": "A" * 22}},
            headers=me.headers), 201)["id"]
        if who in ("responder", "admin", "other"):  # on call in ops for a while: they may ask for cover
            _ok(client.post(f"{api}/schedules/ops/overrides", json={
                "starts_at": "2026-01-10T00:00:00Z", "ends_at": "2026-01-10T02:00:00Z", "user": me.email}, **A), 201)
        own["own_note"] = world["note"] if who in ("anonymous", "deactivated", "revoked", "other") else _ok(
            client.post(f"{api}/incidents/{ref}/notes", json={"text": f"{who}'s note"}, **A), 201)["id"]
        if who in ("viewer", "responder"):  # their own note, written as them where they may
            r = client.post(f"{api}/incidents/{ref}/notes", json={"text": f"{who}'s note"}, headers=me.headers)
            if r.status_code == 201:
                own["own_note"] = r.json()["id"]
    world.update(own)
    return world, people


def _indicator_world(client: TestClient, api: str, A: dict[str, Any], circle: tuple[Any, ...]) -> dict[str, str]:  # noqa: N803
    """A restricted security incident with the same circle as the target one, an indicator and an asset."""
    sec = _ok(client.post(f"{api}/incidents", json={"title": "Token leak", "severity": "SEV2", "kind": "security",
                                                    "restricted": True}, **A), 201)["ref"]
    for person, kind in zip(circle, ("observer", "responder", "responder"), strict=True):
        _ok(client.post(f"{api}/incidents/{sec}/participants", json={"user": person.email, "kind": kind}, **A))
    ioc, ioc2 = (_ok(client.post(f"{api}/incidents/{sec}/indicators", json={"type": "ipv4", "value": v}, **A), 201)
                 for v in ("198.51.100.7", "198.51.100.8"))
    asset = _ok(client.post(f"{api}/incidents/{sec}/assets", json={"kind": "host", "name": "web-7"}, **A), 201)
    return {"isec": sec, "sec_ioc": ioc["id"], "sec_ioc2": ioc2["id"], "sec_asset": asset["id"]}


def _fill(value: Any, world: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**world)
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    return value


def outcome(route: Route, r: Any) -> Any:
    """What the principal got: OK, 401, 403 or 404 (anything else is returned as is, to be reported)."""
    if route.console and r.status_code == 303 and r.headers.get("location", "").startswith("/login?next="):
        return 401
    if route.console and r.status_code == 401:
        return "401 (the console answers a page request with a redirect to /login)"
    if r.status_code < 400 or r.status_code == 409:
        return OK
    return r.status_code


def test_the_table_covers_every_route(app):
    table = [(r.method, r.template) for r in ROUTES]
    assert len(table) == len(set(table)), sorted(t for t in table if table.count(t) > 1)
    routes = set(app_routes(app))
    assert set(table) == routes, f"not in the table: {sorted(routes - set(table))}; stale: {sorted(set(table) - routes)}"
    assert {r.rule for r in ROUTES} <= set(RULES) | {KEYED, STREAM}


@pytest.fixture(scope="module")
def _world_file(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    """`seed_world` made once per module (per xdist worker) in a SQLite file, with the `app` fixture's
    settings and an unmoved ManualClock as in a test; returns (the file, world, people). Each
    principal's walk starts from a fresh copy of that file (`sqlite_template`) and adds its own things."""
    from tests.conftest import _app_settings
    from tests.harness.console import web_user_factory
    from tests.harness.ingest import AppliedClient
    from tests.harness.people import person_factory
    from tocsin.app import create_app
    from tocsin.clock import ManualClock
    from tocsin.db import Database
    from tocsin.principal import Principal

    path = tmp_path_factory.mktemp("principals") / "world.db"
    shutil.copy(_sqlite_template, path)
    db, clock, system = Database(f"sqlite:///{path}"), ManualClock(), Principal.system("tests")
    app = create_app(settings=_app_settings(), db=db, clock=clock)
    try:
        with AppliedClient(app, raise_server_exceptions=False) as client:
            world, people = seed_world(client, db, clock, system,
                                       web_user_factory(db, clock, system, person_factory(db, clock, system)))
    finally:
        app.state.ingest.close()
        db.dispose()  # the last connection closes: the WAL is checkpointed into the file
    return path, world, people


@pytest.fixture
def sqlite_template(request: pytest.FixtureRequest, _sqlite_template: Path) -> Path:
    """The walks start from the seeded world (tests/conftest.py `db_url` copies this); the other tests
    of the module from an empty database."""
    if "who" in request.fixturenames:
        return request.getfixturevalue("_world_file")[0]
    return _sqlite_template


@pytest.mark.slow  # walks every route (make test runs it; make test-fast leaves it out)
@pytest.mark.parametrize("who", PRINCIPALS)
def test_each_principal_gets_what_the_table_says(request, app, client, db, db_url, clock, system, make_web_user,
                                                 console_as, who):
    from tocsin.web.auth import COOKIE, csrf_for

    if db_url.startswith("sqlite"):  # the shared world is already in this test's copy of _world_file
        _path, world, people = request.getfixturevalue("_world_file")
        world, people = seed_own(client, db, clock, system, world, people, who)
    else:
        world, people = seed(client, db, clock, system, make_web_user, who)
    me: WebUser | None = people.get(who)
    web = console_as(me)
    headers = me.headers if me is not None else {}
    admin = people["admin"].headers
    if who == "deactivated":
        _ok(client.patch(f"{API}/users/{me.email}", json={"is_active": False}, headers=admin))
    elif who == "revoked":
        token_id = next(t["id"] for t in _ok(client.get(f"{API}/tokens", headers=headers))["items"] if t["name"] == "tests")
        _ok(client.delete(f"{API}/tokens/{token_id}", headers=headers))
        cookie = web.cookies.get(COOKIE)
        _ok(web.post("/logout", data={"csrf_token": csrf_for(app.state.settings, cookie)}, follow_redirects=False), 303)
        web.cookies.set(COOKIE, cookie)  # the logged-out session's cookie, sent again
    cookie = web.cookies.get(COOKIE)
    token = csrf_for(app.state.settings, cookie) if cookie else "0" * 64

    failures = []
    for route in ROUTES:
        if route.rule in (KEYED, STREAM) or (route.rule == "public" and who != "anonymous"):
            continue  # credentials play no part in a public route: the anonymous walk calls it
        want = expected(route, who)
        path = _fill(route.path or route.template, world)
        if route.console:
            data = None if route.form is None else {**_fill(route.form, world), "csrf_token": token}
            r = web.request(route.method, path, data=data, files=route.files, follow_redirects=False)
        else:
            r = client.request(route.method, path, json=_fill(route.json, world), headers=headers)
        got = outcome(route, r)
        if got != want:
            failures.append(f"{route.method} {route.template} [{route.rule}]: expected {want}, got {got}: "
                            f"{r.text[:160]!r}")
        elif want == 401 and not route.console and (r.headers.get("www-authenticate") != "Bearer"
                                                   or r.json()["error"]["code"] != "unauthenticated"):
            failures.append(f"{route.method} {route.template}: 401 without WWW-Authenticate or the error code")
    assert not failures, f"{who}: {len(failures)} mismatches:\n  " + "\n  ".join(failures)


BAD_CREDENTIALS = {
    "Basic scheme": {"Authorization": "Basic dXNlcjpwYXNzd29yZA=="},
    "empty bearer": {"Authorization": "Bearer "},
    "garbage bearer": {"Authorization": "Bearer not-a-token"},
    "unknown token": {"Authorization": "Bearer tcs_" + "A" * 43},
    "session cookie instead of a token": {},  # with the console cookie below
}


def test_malformed_and_unknown_credentials_get_401_everywhere(client, make_web_user, console_as):
    """Every API route (one valid request each, as in the table) refuses a garbage token and a console
    session cookie (not an API credential: no CSRF through the API) with a 401; the other kinds of bad
    credential are tried on a sample of routes (they fail in the same place)."""
    world = {k: str(uuid.uuid4()) for k in ("helper_cm", "integration", "alert", "group", "routing_rule", "silence", "window",
                                            "heartbeat", "check", "layer", "api_override", "note", "pm", "template",
                                            "item", "problem", "component", "spare_component", "status_incident",
                                            "maintenance", "subscriber", "own_token", "own_note", "helper_rule",
                                            "auto_rule", "inhibition_rule", "swap_open", "swap_accept",
                                            "swap_accept_offer", "swap_cancel", "step", "ctpl", "wflow", "exercise",
                                            "sec_art33", "commstpl", "stake", "stake2",
                                            "sec_art34", "draft", "grant", "hook_id", "spare_hook", "arun",
                                            "arun2", "arun3", "agent", "agent2", "slo", "slo2", "slo3")}
    world.update(helper="someone@example.test", ref="INC-1", sec="INC-2", item_ref="ACT-1", who="x", p256dh=P256DH,
                 push_auth="A" * 22)
    world.update(lsec="INC-5", osec="INC-4", isec="INC-3", sec_ioc=str(uuid.uuid4()), sec_ioc2=str(uuid.uuid4()), sec_asset=str(uuid.uuid4()))  # issue 17
    web = console_as(make_web_user("admin"))
    everywhere = {"garbage bearer", "session cookie instead of a token"}
    sample = {f"{API}/incidents", f"{API}/users/me", f"{API}/audit", "/metrics", f"{API}/teams/{{key}}"}
    failures = []
    for name, headers in BAD_CREDENTIALS.items():
        for route in ROUTES:
            if route.console or route.rule == "public" or (name not in everywhere and route.template not in sample):
                continue
            path = _fill(route.path or route.template, world)
            c = web if name.startswith("session") else client
            r = c.request(route.method, path, json=_fill(route.json, world), headers=headers)
            if r.status_code != 401 or r.headers.get("www-authenticate") != "Bearer":
                failures.append(f"{name}: {route.method} {path}: {r.status_code} {r.text[:100]}")
    assert not failures, "\n".join(failures)


def test_every_console_form_refuses_a_forged_request(app, client, db, clock, system, make_web_user, console_as):
    """A logged-in admin's browser, made to post each console form by another site: without the CSRF
    token, or with one from another session, every form answers 403 and changes nothing."""
    from tocsin.web.auth import csrf_for

    world, people = seed(client, db, clock, system, make_web_user, "admin")
    web = console_as(people["admin"])
    before = client.get(f"{API}/audit", headers=people["admin"].headers).json()["items"]
    forged = {"no token": None, "another session's token": csrf_for(app.state.settings, "another-session"),
              "empty token": ""}
    failures = []
    for route in ROUTES:
        if route.form is None or route.template == "/logout":
            continue
        path = _fill(route.path or route.template, world)
        for name, token in forged.items():
            data = _fill(route.form, world)
            if token is not None:
                data["csrf_token"] = token
            r = web.post(path, data=data, follow_redirects=False)
            if r.status_code != 403:
                failures.append(f"{name}: POST {path}: {r.status_code}")
    after = client.get(f"{API}/audit", headers=people["admin"].headers).json()["items"]
    assert not failures, "\n".join(failures)
    assert [e["action"] for e in after if e not in before] == []  # every change is audited: none happened


def test_a_demoted_admin_loses_admin_rights_at_the_next_request(client, make_web_user, console_as):
    """Roles are read on every request, for tokens and console sessions alike: nothing is cached in them."""
    boss, demoted = make_web_user("admin"), make_web_user("admin")
    web = console_as(demoted)
    assert client.get(f"{API}/audit", headers=demoted.headers).status_code == 200
    assert web.get("/users").status_code == 200 and "Invite" in web.get("/users").text
    _ok(client.patch(f"{API}/users/{demoted.email}", json={"org_role": "viewer"}, headers=boss.headers))
    assert client.get(f"{API}/audit", headers=demoted.headers).status_code == 403
    assert client.post(f"{API}/teams", json={"name": "Sneaky"}, headers=demoted.headers).status_code == 403
    from tocsin.web.auth import COOKIE, csrf_for

    token = csrf_for(client.app.state.settings, web.cookies.get(COOKIE))
    r = web.post("/users/invite", data={"email": "x@example.test", "name": "X", "org_role": "admin",
                                        "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 403, r.text[:200]


def test_the_me_pages_act_on_the_callers_own_things_only(app, client, db, clock, make_web_user, console_as):
    """/me/... forms name a contact method, rule, device or token by id: someone else's id is refused (403
    or 404, even for an admin; ids are random, so a 403 tells nothing), and the other person's things are
    left as they were (no wrong code counted against them, nothing deleted)."""
    from tocsin.contacts.models import ContactMethod
    from tocsin.web.auth import COOKIE, csrf_for

    victim = make_web_user("responder")
    cm = _ok(client.post(f"{API}/users/{victim.email}/contact-methods", json={"type": "email",
                                                                            "address": "victim@example.test"},
                         headers=victim.headers), 201)
    with db.unit_of_work() as s:
        s.execute(sa.update(ContactMethod).where(ContactMethod.id == uuid.UUID(cm["id"])).values(verified_at=clock.now()))
    rule = _ok(client.post(f"{API}/users/{victim.email}/notification-rules", json={"contact_method_id": cm["id"]},
                           headers=victim.headers), 201)
    device = _ok(client.post(f"{API}/users/me/push-subscriptions", json={
        "endpoint": "https://push.example.test/wpush/victim", "keys": {"p256dh": P256DH, "auth": "A" * 22}},
        headers=victim.headers), 201)
    token_id = next(t["id"] for t in _ok(client.get(f"{API}/tokens", headers=victim.headers))["items"])
    before = _ok(client.get(f"{API}/users/{victim.email}/contact-methods", headers=victim.headers))["items"]
    for role in ("viewer", "responder", "admin"):
        web = console_as(make_web_user(role))
        csrf = csrf_for(app.state.settings, web.cookies.get(COOKIE))
        for path, data in ((f"/me/contacts/{cm['id']}/delete", {}), (f"/me/tokens/{token_id}/revoke", {}),
                           (f"/me/contacts/{cm['id']}/send-code", {}), (f"/me/contacts/{cm['id']}/test", {}),
                           (f"/me/contacts/{cm['id']}/verify", {"code": "000000"}),
                           (f"/me/rules/{rule['id']}/delete", {}), (f"/me/push/{device['id']}/test", {}),
                           (f"/me/push/{device['id']}/delete", {}), (f"/me/push/{cm['id']}/delete", {})):
            r = web.post(path, data={**data, "csrf_token": csrf}, follow_redirects=False)
            assert r.status_code in (403, 404), (role, path, r.status_code)
        # a rule of one's own that would page someone else's address
        r = web.post("/me/rules", data={"contact_method_id": cm["id"], "delay_minutes": "3", "urgency": "any",
                                        "csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 422, (role, r.status_code)
    assert _ok(client.get(f"{API}/users/{victim.email}/contact-methods", headers=victim.headers))["items"] == before
    rules = _ok(client.get(f"{API}/users/{victim.email}/notification-rules", headers=victim.headers))["items"]
    assert [r["id"] for r in rules] == [rule["id"]]
    with db.unit_of_work() as s:  # no wrong code was counted against the victim's method
        assert s.get(ContactMethod, uuid.UUID(cm["id"])).verify_attempts == 0
    assert client.get(f"{API}/users/me", headers=victim.headers).status_code == 200  # the token still works
