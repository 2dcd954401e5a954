"""The API's routes, one module per area; each defines `router` (`statuspages` also `public`)."""

from __future__ import annotations

from fastapi import FastAPI

from tocsin.api.routes import (
    actions,
    alerts,
    automation,
    check_agents,
    comms,
    configcode,
    contacts,
    containment,
    directory,
    escalation,
    evidence,
    exercises,
    guardrails,
    handbooks,
    ical,
    incidents,
    indicators,
    ingest,
    legal,
    mattermost,
    mattermost_actions,
    mattermost_outgoing,
    metrics,
    monitors,
    obligations,
    oncall,
    postmortems,
    problems,
    push,
    reports,
    respond,
    responders,
    rules,
    runbooks,
    scim,
    slack,
    slos,
    statuspages,
    swaps,
    system,
    workflows,
)
from tocsin.http.routing import add_routes


def install(app: FastAPI) -> None:
    """Add every API route to `app`: health, the /api/v1 resources, the public status JSON, /metrics,
    one-time page links and Twilio callbacks, the Slack app and Mattermost's slash command, iCal feeds, and the ingest endpoints."""
    # The /api/v1 routers document the one JSON error shape themselves (`responses=ERROR_RESPONSES`).
    add_routes(app, system.router, incidents.router, indicators.router,
               evidence.router, responders.router, directory.router, alerts.router,
               rules.router, monitors.router, check_agents.router,
               oncall.router, swaps.router, escalation.router, contacts.router, postmortems.router, actions.router,
               problems.router, obligations.router, reports.router, legal.router, statuspages.router, statuspages.public, metrics.router,
               respond.router, mattermost_actions.router, ical.router, ingest.router, push.router,
               containment.router, exercises.router, runbooks.router, comms.router, guardrails.router, scim.router, slack.router,
               mattermost.router, mattermost_outgoing.router, workflows.router, handbooks.router,
               automation.router, configcode.router, slos.router)
