"""Mattermost's slash command: `POST /integrations/mattermost/command` (outside /api/v1).

Mattermost posts the command form-encoded with `Authorization: Token <command token>` (and the same
token as the `token` field); it must equal TOCSIN_MATTERMOST_COMMAND_TOKEN, else 401. The route is
404 while no command token is configured. The command runs through the executor Slack uses
(api/chat/commands.py); `declare` takes the text form (`declare SEV2 checkout errors`): there is no
modal on Mattermost. The answer is Mattermost's JSON `{"response_type", "text"}`, always HTTP 200
for a command tocsin understood the request of (Mattermost shows any other status as an error).
"""

from __future__ import annotations

import hmac
import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tocsin.api.chat.commands import Reply, execute, has_nul
from tocsin.api.chat.mattermost_bot import Lookup, bot_client, lookups, quiet
from tocsin.chatops import accounts, receipts
from tocsin.wake import ring

router = APIRouter()
MAX_BODY = 64 * 1024
PLATFORM = "mattermost"


def _token_ok(expected: str, request: Request, form: dict[str, str]) -> bool:
    header = request.headers.get("authorization", "")
    given = header[6:].strip() if header[:6].lower() == "token " else form.get("token", "")
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def _name(command: str) -> str:
    return command if re.fullmatch(r"/[a-z0-9_-]{1,32}", command) else "/incident"


def _command(state: Any, form: dict[str, str]) -> Response:
    team, user, channel = form.get("team_id", ""), form.get("user_id", ""), form.get("channel_id", "")
    if not (team and user and channel):
        return JSONResponse({"error": "expected a slash command (team_id, user_id, channel_id)"}, status_code=400)
    settings, now = state.settings, state.clock.now()
    who = accounts.ChatIdentity(PLATFORM, team, user)
    trigger = form.get("trigger_id", "")
    client = bot_client(settings)
    lookup_email, lookup_username = lookups(client, trust_email=settings.mattermost_email_linking)
    try:
        reply = _run(state, form, who, channel, trigger, now, lookup_email, lookup_username)
    finally:
        if client is not None:
            client.close()
    if reply is None:
        return JSONResponse({"response_type": "ephemeral", "text": "That command was already received."})
    if reply.ring:
        ring()
    return JSONResponse({"response_type": "in_channel" if reply.in_channel else "ephemeral",
                         "text": quiet(reply.text)})


def _run(state: Any, form: dict[str, str], who: accounts.ChatIdentity, channel: str, trigger: str, now: Any,
         lookup_email: Lookup, lookup_username: Lookup) -> Reply | None:
    with state.db.unit_of_work() as s:
        if trigger and not receipts.first_time(s, platform=PLATFORM, key=f"command:{trigger}", now=now):
            return None
        return execute(s, settings=state.settings, now=now, who=who, channel_id=channel, command=form.get("text", ""),
                       lookup_email=lookup_email, lookup_username=lookup_username,
                       command_name=_name(form.get("command", "")))


@router.post("/integrations/mattermost/command", include_in_schema=False)
async def mattermost_command(request: Request) -> Response:
    expected = request.app.state.settings.mattermost_command_token
    if not expected:
        return Response(status_code=404)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "request too large"}, status_code=413)
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=100))
    except (UnicodeDecodeError, ValueError):
        form = None
    if not _token_ok(expected, request, form or {}):
        return JSONResponse({"error": "invalid request"}, status_code=401)
    if form is None or has_nul(form):
        return JSONResponse({"error": "expected a form-encoded slash command"}, status_code=400)
    return await run_in_threadpool(_command, request.app.state, form)
