"""The API's routes, one module per area; each defines `router` (`statuspages` also `public`)."""

from __future__ import annotations

from fastapi import FastAPI

from tocsin.api import errors
from tocsin.api.routes import (
    actions,
    alerts,
    contacts,
    directory,
    escalation,
    ical,
    incidents,
    ingest,
    metrics,
    monitors,
    oncall,
    postmortems,
    problems,
    reports,
    respond,
    rules,
    statuspages,
    system,
)

# Under /api/v1, answering errors in the one JSON shape (documented in the OpenAPI schema).
DOCUMENTED = (incidents, directory, alerts, rules, monitors, oncall, escalation, contacts, postmortems, actions,
              problems, reports, statuspages)


def install(app: FastAPI) -> None:
    """Add every API route to `app`: health, the /api/v1 resources, the public status JSON, /metrics,
    one-time page links and Twilio callbacks, iCal feeds, and the ingest endpoints."""
    app.include_router(system.router)
    for module in DOCUMENTED:
        app.include_router(module.router, responses=errors.ERROR_RESPONSES)
    app.include_router(statuspages.public)
    for module in (metrics, respond, ical, ingest):
        app.include_router(module.router)
