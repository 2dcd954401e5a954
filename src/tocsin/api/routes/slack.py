"""The Slack app's inbound endpoints (outside /api/v1, like the Twilio callbacks):

- `POST /integrations/slack/commands`: the slash command (`/incident ...`), run by the shared
  executor (api/chat/commands.py); `declare` without a title opens the declare form.
- `POST /integrations/slack/interactive`: the declare form's submission; every other interaction
  (buttons, message shortcuts) goes to `api.chat.slack_handlers.handle_interaction`.
- `POST /integrations/slack/events`: the Events API (`url_verification` answered here, each
  `event_callback` handed to `slack_handlers.handle_event` once per event id, after the answer).

Every request must carry Slack's v0 signature of the raw body made with the app's signing secret,
timestamped within 5 minutes either side of tocsin's clock: else 401 `{"error": "invalid request"}`.
The routes are 404 while the app is not configured (`settings.slack_app_enabled()`).

Slack retries what it did not see answered within 3 s: handlers answer at once and do slow work
(opening a modal, confirmations, event handling) behind the answer, and every delivery that changes
something claims its key first (`chatops.receipts`), so a retry acts no second time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from tocsin.api.chat import slack_handlers, slack_modal
from tocsin.api.chat.commands import Reply, execute, has_nul, resolve_user
from tocsin.api.chat.people import own_email
from tocsin.chatops import accounts, receipts
from tocsin.clock import Clock
from tocsin.incidents.service import ref
from tocsin.notify.slack_app import SlackApp
from tocsin.users.service import principal_for
from tocsin.wake import ring

router = APIRouter()
MAX_BODY = 256 * 1024  # a view submission carries its whole view; a slash command is a few hundred bytes
_INVALID = {"error": "invalid request"}
PLATFORM = "slack"


class _SlackClock(SlackClock):
    """slack_sdk's clock (`now()` in Unix seconds) read from tocsin's injected clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> float:
        return self._clock.now().timestamp()


async def _verified(request: Request) -> bytes | Response:
    """The raw body of a request Slack signed, or the answer refusing it."""
    settings = request.app.state.settings
    if not settings.slack_app_enabled():
        return Response(status_code=404)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "request too large"}, status_code=413)
    probe = _form(body) if not body.startswith(b"{") else None
    if probe and probe.get("ssl_check") == "1" and not {"payload", "command", "trigger_id"} & probe.keys():
        return Response(status_code=200)  # Slack's certificate probe (Bolt answers it before verifying too)
    verifier = SignatureVerifier(settings.slack_signing_secret, clock=_SlackClock(request.app.state.clock))
    try:
        valid = verifier.is_valid_request(body, dict(request.headers))
    except (ValueError, UnicodeDecodeError, TypeError):  # a timestamp that is no number; a body that is no text
        valid = False
    return body if valid else JSONResponse(_INVALID, status_code=401)


def _form(body: bytes) -> dict[str, str] | None:
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=100))
    except (UnicodeDecodeError, ValueError):
        return None


def _bad(what: str) -> JSONResponse:
    return JSONResponse({"error": f"expected {what}"}, status_code=400)


def escape(text: str) -> str:
    """Text for Slack's mrkdwn: `<`, `>` and `&` escaped, so no title or note can ping `<!channel>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _email_lookup(app: SlackApp, known: dict[str, str | None], team: str) -> Callable[[str], str | None]:
    """users.info's verified email of a Slack user of `team` (looked up at most once per request)."""
    def look(user: str) -> str | None:
        if user not in known:
            known[user] = own_email(app.user_email(user), team)
        return known[user]
    return look


def _prefetch(state: Any, app: SlackApp, who: accounts.ChatIdentity) -> dict[str, str | None]:
    """The caller's email, fetched before any transaction opens (Slack is not called holding one),
    unless the caller is linked already."""
    with state.db.unit_of_work() as s:
        if accounts.find_user(s, who) is not None:
            return {}
    return {who.external_id: _email_lookup(app, {}, who.team_id)(who.external_id)}


# --- slash commands ------------------------------------------------------------------------------

def _slack_reply(reply: Reply) -> dict[str, Any]:
    return {"response_type": "in_channel" if reply.in_channel else "ephemeral", "text": escape(reply.text)}


def _command(state: Any, form: dict[str, str]) -> Response:
    team, user, channel = form.get("team_id", ""), form.get("user_id", ""), form.get("channel_id", "")
    trigger = form.get("trigger_id", "")
    if not (team and user and channel and trigger):
        return _bad("a slash command (team_id, user_id, channel_id, trigger_id)")
    settings, now = state.settings, state.clock.now()
    who = accounts.ChatIdentity(PLATFORM, team, user)
    app = SlackApp.from_settings(settings)
    lookup = _email_lookup(app, _prefetch(state, app, who), team)
    with state.db.unit_of_work() as s:
        if not receipts.first_time(s, platform=PLATFORM, key=f"command:{trigger}", now=now):
            return JSONResponse({"response_type": "ephemeral", "text": "That command was already received."})
        reply = execute(s, settings=settings, now=now, who=who, channel_id=channel, command=form.get("text", ""),
                        lookup_email=lookup, command_name=settings.slack_command)
    if reply.ring:
        ring()  # the engine in this process sends pages and chat posts now
    if reply.modal is not None:
        return Response(status_code=200, background=BackgroundTask(app.open_view, trigger, reply.modal))
    return JSONResponse(_slack_reply(reply))


@router.post("/integrations/slack/commands", include_in_schema=False)
async def slack_command(request: Request) -> Response:
    body = await _verified(request)
    if isinstance(body, Response):
        return body
    form = _form(body)
    if form is None or has_nul(form):
        return _bad("a form-encoded slash command")
    return await run_in_threadpool(_command, request.app.state, form)


# --- interactivity -------------------------------------------------------------------------------

class _Undo(Exception):
    """Roll the unit of work back and answer `response` (a refused declaration releases its claim)."""

    def __init__(self, response: Response) -> None:
        super().__init__("undo")
        self.response = response


def _errors(errors: dict[str, str]) -> JSONResponse:
    return JSONResponse({"response_action": "errors", "errors": errors})


def _declare_submitted(state: Any, payload: dict[str, Any], view: dict[str, Any]) -> Response:
    user_obj, team_obj = payload.get("user"), payload.get("team")
    user = user_obj.get("id") if isinstance(user_obj, dict) else None
    team = (team_obj.get("id") if isinstance(team_obj, dict) else None) or (
        user_obj.get("team_id") if isinstance(user_obj, dict) else None)
    if not (isinstance(user, str) and user and isinstance(team, str) and team):
        return _bad("a view submission with its user and team")
    settings, now = state.settings, state.clock.now()
    who = accounts.ChatIdentity(PLATFORM, team, user)
    app = SlackApp.from_settings(settings)
    lookup = _email_lookup(app, _prefetch(state, app, who), team)
    key = f"view:{view.get('id')}:{view.get('hash')}"
    try:
        with state.db.unit_of_work() as s:
            person = resolve_user(s, who, now=now, lookup_email=lookup)
            if person is None:
                return _errors({"title": f"Your Slack account is not linked to tocsin: run `{settings.slack_command} "
                                         "link` first"})
            if not receipts.first_time(s, platform=PLATFORM, key=key, now=now):
                return JSONResponse({"response_action": "clear"})
            incident, errors = slack_modal.declare_from_view(s, actor=principal_for(s, person), now=now, view=view)
            if incident is None:
                raise _Undo(_errors(errors))
            text = f"You declared {ref(incident)} ({incident.severity}): {incident.title}"
    except _Undo as undo:
        return undo.response
    ring()
    confirm = BackgroundTask(_confirm, app, slack_modal.channel_of(view), user, escape(text))
    return JSONResponse({"response_action": "clear"}, background=confirm)


def _confirm(app: SlackApp, channel: str | None, user: str, text: str) -> None:
    """Tell the declarer, privately, in the channel they typed the command in; where the bot cannot
    (a channel it is not in, a DM), by a direct message from the app."""
    if channel is None or not app.post_ephemeral(channel, user, text).ok:
        app.post(user, text)


def _interaction(state: Any, payload: dict[str, Any]) -> Response:
    view = payload.get("view")
    if payload.get("type") == "view_submission" and isinstance(view, dict) \
            and view.get("callback_id") == slack_modal.CALLBACK_ID:
        return _declare_submitted(state, payload, view)
    # buttons and shortcuts answer through the payload's response_url: Slack gets its 200 at once, and
    # the work (a database transaction, a Slack call or two) runs behind it
    return Response(status_code=200, background=BackgroundTask(slack_handlers.handle_interaction, state, payload))


@router.post("/integrations/slack/interactive", include_in_schema=False)
async def slack_interactive(request: Request) -> Response:
    body = await _verified(request)
    if isinstance(body, Response):
        return body
    form = _form(body)
    try:
        payload = json.loads(form["payload"]) if form and "payload" in form else None
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested deeper than the parser goes
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str) or has_nul(payload):
        return _bad("a form with a JSON `payload` field")
    return await run_in_threadpool(_interaction, request.app.state, payload)


# --- events --------------------------------------------------------------------------------------

def _event(state: Any, envelope: dict[str, Any]) -> Response:
    event_id = envelope.get("event_id")
    if not isinstance(event_id, str) or not event_id:
        return _bad("an event_callback with an event_id")
    with state.db.unit_of_work() as s:
        first = receipts.first_time(s, platform=PLATFORM, key=f"event:{event_id}", now=state.clock.now())
    if not first:
        return Response(status_code=200)
    return Response(status_code=200, background=BackgroundTask(slack_handlers.handle_event, state, envelope))


@router.post("/integrations/slack/events", include_in_schema=False)
async def slack_events(request: Request) -> Response:
    body = await _verified(request)
    if isinstance(body, Response):
        return body
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        return _bad("a JSON event envelope")
    if not isinstance(envelope, dict) or has_nul(envelope):
        return _bad("a JSON event envelope")
    kind = envelope.get("type")
    if kind == "url_verification":
        challenge = envelope.get("challenge")
        if not isinstance(challenge, str) or len(challenge) > 500:
            return _bad("a challenge")
        return JSONResponse({"challenge": challenge})
    if kind == "event_callback":
        return await run_in_threadpool(_event, request.app.state, envelope)
    return Response(status_code=200)  # app_rate_limited and envelopes tocsin does not use
