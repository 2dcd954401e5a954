"""The configuration hub: one page that links every place where an organisation is set up
(services, teams, people, integrations, monitors, routing, on-call, status pages, audit).

The pages themselves live in their own route modules; this one only lists them, so the header's
navigation stays short on a phone.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from tocsin.web.auth import WebCtx, web_ctx
from tocsin.web.render import render

router = APIRouter(include_in_schema=False)

# (heading, [(href, label, what it is for, admin only)])
SECTIONS: list[tuple[str, list[tuple[str, str, str, bool]]]] = [
    ("Who responds", [
        ("/teams", "Teams", "teams, their members and the services they own", False),
        ("/users", "People", "invite people, change roles, deactivate", False),
        ("/configure/sso", "Single sign-on", "OIDC login settings and SCIM provisioning tokens", True),
        ("/schedules", "On-call schedules", "rotations, restrictions, overrides and shift swaps", False),
        ("/escalation-policies", "Escalation policies", "who is paged, in which order, after how long", False),
    ]),
    ("What is watched", [
        ("/services", "Services", "owner, tier, runbook, dependencies and alert settings", False),
        ("/integrations", "Integrations", "where alerts come from: Alertmanager, Grafana, Events v2, webhooks", True),
        ("/heartbeats", "Heartbeats", "jobs that must check in, and who hears when they stop", False),
        ("/checks", "Synthetic checks", "HTTP checks from here, with results, latency and uptime", False),
        ("/agents", "Check agents", "run checks from other places (regions, a customer's network)", True),
    ]),
    ("How alerts are handled", [
        ("/routing-rules", "Routing rules", "send alerts to services by their labels", False),
        ("/auto-incident-rules", "Auto-incident rules", "declare an incident from matching alerts", False),
        ("/inhibition-rules", "Inhibition rules", "hold back alerts while a causing alert fires", False),
        ("/silences", "Silences & maintenance", "hold back pages for a while, or during planned work", False),
    ]),
    ("Ready to respond", [
        ("/configure/runbooks", "Runbooks", "numbered steps for alerts and incidents, by service and alert labels",
         False),
    ]),
    ("Telling people", [
        ("/status-pages", "Status pages", "components, public incidents, maintenance and subscribers", False),
        ("/configure/comms", "Communication templates", "internal, status page and customer update templates, "
         "with a preview", False),
        ("/stakeholders", "Stakeholders", "who receives incident updates without responding", False),
        ("/configure/chat", "Chat", "Slack, Mattermost and Microsoft Teams: the app manifest, incident channels, "
         "delivery", True),
    ]),
    ("Preparation", [
        ("/configure/workflows", "Incident workflows", "steps run when an incident is declared or changes status",
         False),
        ("/configure/incident-types", "Incident types", "custom fields, checklists and templates per kind of incident",
         False),
        ("/configure/handbooks", "Role handbooks", "what each incident role does, shown when someone takes it", False),
        ("/configure/ic-bench", "IC bench", "who is trained as Incident Commander, and the exercises they passed",
         False),
        ("/configure/automation", "Approved actions", "signed webhooks and allow-listed commands responders run "
         "from the room, with a second person's approval", False),
    ]),
    ("Security response", [
        ("/checklist-templates", "Containment checklists", "the steps a security incident's checklist starts with",
         False),
    ]),
    ("Practice", [
        ("/exercises", "Exercises and game days", "scored drills through the real pipeline, tabletops, the report",
         False),
    ]),
    ("Oversight", [
        ("/audit", "Audit log", "every privileged action, with the chain verified", True),
        ("/configure/guardrails", "Guardrails", "the classic incident mistakes caught live: thresholds, on or off",
         False),
    ]),
]


@router.get("/configure")
def configure_page(request: Request, ctx: WebCtx = Depends(web_ctx)) -> Response:
    admin = ctx.principal.is_admin
    sections = [(title, [link for link in links if admin or not link[3]]) for title, links in SECTIONS]
    return render(request, ctx, "configure.html", sections=[(t, links) for t, links in sections if links])
