"""Mounts the responder console on the FastAPI app: its routes, its static files, and its error pages.

The API answers errors as JSON; console pages answer them as HTML. The handlers here take
over for requests that went through the console's `web_ctx` (marked on request.state) and
leave every other request to the API's handlers, which they wrap.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from tocsin import errors
from tocsin.http.errors import headers_for, status_for
from tocsin.http.routing import add_routes
from tocsin.web import api_docs, guest_gate, room_actions
from tocsin.web.auth import CsrfFailed, LoginRequired, _is_background, login_redirect
from tocsin.web.render import render, secure
from tocsin.web.routes import (
    action_pages,
    audit_pages,
    auth,
    automation_pages,
    chat_pages,
    comms_pages,
    config_services,
    config_teams,
    configure,
    console,
    containment_pages,
    evidence_pages,
    exercise_pages,
    guardrail_pages,
    guest_pages,
    handbook_pages,
    indicator_pages,
    integrations,
    legal_pages,
    me,
    monitors,
    obligation_pages,
    oncall_pages,
    people,
    policy_pages,
    postmortem_pages,
    problem_pages,
    push,
    report_pages,
    room,
    rules_pages,
    runbook_pages,
    schedule_editor,
    silences,
    slo_pages,
    sso,
    status_admin,
    swap_pages,
    workflow_pages,
)

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("tocsin.web")


def _is_console(request: Request) -> bool:
    return bool(getattr(request.state, "console", False))


def error_page(request: Request, status: int, title: str, message: str, *, light: bool = False) -> Response:
    """A readable HTML error page (JSON for fetch/SSE requests, which show it themselves)."""
    if _is_background(request):
        return JSONResponse({"error": {"code": title.lower().replace(" ", "_"), "message": message, "details": {}}},
                            status_code=status, headers={"Cache-Control": "no-store"})
    ctx = getattr(request.state, "web_ctx", None)
    extra: dict[str, Any] = {"declare_services": []} if light else {}  # a 500 must not need the database
    return render(request, ctx, "error.html", status_code=status, title=title, message=message, **extra)


async def _delegate(handler: Callable[[Request, Any], Response | Awaitable[Response]], request: Request,
                    exc: Exception) -> Response:
    """Answer with an exception handler the API installed (Starlette takes sync and async ones)."""
    result = handler(request, exc)
    return result if isinstance(result, Response) else await result


def install(app: FastAPI) -> None:
    # postmortem_pages before room: room's POST /incidents/{ref}/{action} would catch /incidents/{ref}/postmortem
    # config_services before console: its /services/new would otherwise be taken for a service key;
    # schedule_editor, swap_pages and policy_pages before oncall_pages: its GET /schedules/{key} and
    # /escalation-policies/{key} would catch /schedules/new and /escalation-policies/new
    add_routes(app, *(module.router for module in (api_docs, auth, chat_pages, comms_pages, config_services, config_teams, configure,
                                                   console,
                                                   me, schedule_editor, swap_pages, policy_pages, oncall_pages,
                                                   people, silences, slo_pages, status_admin, push, report_pages, action_pages,
                                                   problem_pages, postmortem_pages, obligation_pages, evidence_pages,
                                                   guest_pages, legal_pages, workflow_pages, guardrail_pages,
                                                   runbook_pages, room_actions, room,
                                                   integrations, monitors, rules_pages, audit_pages, containment_pages,
                                                   exercise_pages, indicator_pages, handbook_pages, sso, automation_pages)))
    api_docs.mount_assets(app)  # before /static, which would otherwise answer its paths
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    api_tocsin = app.exception_handlers.get(errors.TocsinError)
    api_unexpected = app.exception_handlers.get(Exception)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if _is_background(request):
            return JSONResponse({"error": {"code": "unauthenticated", "message": "log in again", "details": {}}},
                                status_code=401, headers={"Cache-Control": "no-store"})
        return secure(RedirectResponse(login_redirect(exc.next_path), status_code=303))

    @app.exception_handler(guest_gate.GuestHome)
    async def _guest_home(request: Request, exc: guest_gate.GuestHome) -> Response:
        return secure(RedirectResponse(exc.path, status_code=303))

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, _exc: CsrfFailed) -> Response:
        return error_page(request, 403, "Forbidden",
                          "The form was stale or did not come from this site (CSRF check failed). "
                          "Go back, reload the page and try again.")

    @app.exception_handler(errors.TocsinError)
    async def _tocsin(request: Request, exc: errors.TocsinError) -> Any:
        if not _is_console(request) and api_tocsin is not None:
            return await _delegate(api_tocsin, request, exc)
        status = status_for(exc)
        titles = {403: "Forbidden", 404: "Not found", 409: "Conflict", 401: "Log in required", 429: "Too many tries"}
        page = error_page(request, status, titles.get(status, "Cannot do that"), exc.message)
        page.headers.update(headers_for(exc))
        return page

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Any:
        if not _is_console(request) and api_unexpected is not None:
            return await _delegate(api_unexpected, request, exc)
        log.exception("unhandled error on console %s %s", request.method, request.url.path)
        return error_page(request, 500, "Something went wrong",
                          "An unexpected error occurred; it has been logged.", light=True)
