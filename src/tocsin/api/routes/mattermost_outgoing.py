"""Mattermost's outgoing webhook: `POST /integrations/mattermost/outgoing` (outside /api/v1).

Mattermost sends integrations no reaction events, so a Mattermost team captures a message onto the
timeline, and runs a command without the slash command, by starting a message with a trigger word:

- `#timeline <text>` in an incident's channel: `<text>` goes on the incident's timeline, said by the
  poster (their linked tocsin user), at the post's time, with a link back to the post; once per post.
- `#incident <command>`: the slash command's executor (api/chat/commands.py), as if typed after `/incident`.

The body is form-encoded or JSON, as the hook's content type says (reference §2.2): JSON carries
`timestamp` in milliseconds, the form in seconds. Its `token` must equal
TOCSIN_MATTERMOST_OUTGOING_TOKEN (401 otherwise; the route is 404 while none is set). The answer is
Mattermost's `{"text", "response_type": "comment"}`, a reply in the post's thread that everyone in
the channel reads: so a one-time link goes to the poster alone (an ephemeral post by the bot) or
not at all, and a change to a restricted incident is confirmed without a word of it. A post whose
first word is neither trigger gets an empty answer (Mattermost then posts nothing).
"""

from __future__ import annotations

import hmac
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tocsin.api.chat.capture import capture
from tocsin.api.chat.commands import NOT_FOUND, execute, has_nul
from tocsin.api.chat.mattermost_bot import bot_client, lookups, quiet
from tocsin.api.chat.people import acting, link_words
from tocsin.chatops import accounts, parse, receipts
from tocsin.chatops.channels import channel_row, incident_in
from tocsin.errors import NotFound, TocsinError
from tocsin.incidents.models import Incident
from tocsin.wake import ring

router = APIRouter()
MAX_BODY = 64 * 1024
PLATFORM = "mattermost"
CAPTURE_WORD, COMMAND_WORD = "#timeline", "#incident"
_FIELDS = ("team_id", "team_domain", "channel_id", "user_id", "user_name", "post_id", "text")
_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _answer(text: str) -> JSONResponse:
    return JSONResponse({"text": quiet(text), "response_type": "comment"} if text else {})


def _payload(body: bytes, content_type: str) -> dict[str, Any] | None:
    """The hook's fields (the JSON's `timestamp` made seconds, as the form has it); None if unreadable."""
    try:
        text = body.decode("utf-8")
        if "json" in content_type.lower():
            got = json.loads(text)
            if not isinstance(got, dict) or any(not isinstance(got.get(k, ""), str) for k in (*_FIELDS, "token")):
                return None
            stamp = got.get("timestamp")
            if stamp is not None and (isinstance(stamp, bool) or not isinstance(stamp, int | float)):
                return None
            return {**got, "timestamp": None if stamp is None else stamp / 1000}
        form: dict[str, Any] = dict(parse_qsl(text, keep_blank_values=True, max_num_fields=100))
    except (UnicodeDecodeError, ValueError, OverflowError, RecursionError):
        return None  # OverflowError: an integer too large for a time; RecursionError: "[[[[..." too deep
    if "timestamp" in form:
        try:
            form["timestamp"] = float(form["timestamp"])
        except ValueError:
            return None
    return form


def _token_ok(expected: str, request: Request, payload: dict[str, Any]) -> bool:
    header = request.headers.get("authorization", "")
    given = header[6:].strip() if header[:6].lower() == "token " else str(payload.get("token") or "")
    # "surrogatepass": a lone surrogate (JSON's "\\ud800") is a wrong token, not a 500
    return bool(given) and hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode())


def _posted_at(seconds: float | None, state: Any) -> datetime | None:
    if seconds is None:
        now: datetime = state.clock.now()
        return now
    if not 0 < seconds < 1e11:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def _not_linked(state: Any, client: Any, who: accounts.ChatIdentity, channel: str) -> str:
    """What the thread is told about an unlinked poster: the one-time link goes to them alone, if it can."""
    command = state.settings.slack_command
    if client is not None and client.post_ephemeral(channel, who.external_id, link_words(state, who)).ok:
        return ("Your Mattermost account is not linked to a tocsin user, so tocsin did nothing. tocsin has sent "
                "you a link to connect it (only you can see it).")
    return (f"Your Mattermost account is not linked to a tocsin user, so tocsin did nothing. Type `{command} link` "
            "to get a link that connects it (only you will see it).")


def _capture(state: Any, client: Any, form: dict[str, Any], text: str, posted_at: datetime) -> str:
    channel, post_id = form["channel_id"], form["post_id"]
    who = accounts.ChatIdentity(PLATFORM, form["team_id"], form["user_id"])
    if not text:
        return f"Write what to add after {CAPTURE_WORD}, e.g. `{CAPTURE_WORD} rolled back the 14:02 deploy`."
    with state.db.unit_of_work() as s:
        if channel_row(s, platform=PLATFORM, channel_id=channel) is None:
            return "This is not an incident channel: only messages in an incident's channel can go on its timeline."
    principal = acting(state, client, who)
    if principal is None:
        return _not_linked(state, client, who, channel)
    base, domain = (state.settings.mattermost_url or "").rstrip("/"), form.get("team_domain") or ""
    link = f"{base}/{domain}/pl/{post_id}" if base and _DOMAIN.match(domain) else None
    try:
        with state.db.unit_of_work() as s:
            incident = incident_in(s, principal, platform=PLATFORM, channel_id=channel, for_update=True)
            if incident is None:
                return "This is not an incident channel any more: nothing was added."
            done = capture(s, principal=principal, incident=incident, platform=PLATFORM, channel_id=channel,
                           message_ts=post_id, text=text, author_external_id=who.external_id, posted_at=posted_at,
                           via="webhook", now=state.clock.now(), team_id=who.team_id,
                           author_name=form.get("user_name") or None, link=link,
                           forensics_nudge=state.settings.forensics_nudge)
            ref = "the incident" if incident.restricted else f"INC-{incident.number}"
    except NotFound:
        return NOT_FOUND
    except TocsinError as exc:
        return f"Nothing was added to the timeline: {exc.message}."
    return f"Added to the timeline of {ref}." if done.new else "This message is on the incident's timeline already."


def _command(state: Any, client: Any, form: dict[str, Any], text: str) -> tuple[str, bool]:
    """Run `#incident <text>`; (what the thread is told, ring the engine)."""
    channel, post_id = form["channel_id"], form["post_id"]
    who = accounts.ChatIdentity(PLATFORM, form["team_id"], form["user_id"])
    command = state.settings.slack_command
    try:
        if isinstance(parse.parse(text), parse.Link):
            return (f"Type `{command} link` instead: the link it gives must reach you alone, and this thread is "
                    "read by everyone in the channel."), False
    except parse.BadCommand:
        pass  # the executor says what is wrong
    if acting(state, client, who) is None:
        return _not_linked(state, client, who, channel), False
    lookup_email, lookup_username = lookups(client, trust_email=state.settings.mattermost_email_linking)
    now = state.clock.now()
    with state.db.unit_of_work() as s:
        if not receipts.first_time(s, platform=PLATFORM, key=f"outgoing:{post_id}", now=now):
            return "That command was already received.", False
        reply = execute(s, settings=state.settings, now=now, who=who, channel_id=channel, command=text,
                        lookup_email=lookup_email, lookup_username=lookup_username, command_name=COMMAND_WORD)
        incident = s.get(Incident, reply.incident_id) if reply.incident_id is not None else None
        if incident is not None and incident.restricted and not reply.in_channel:
            return "Done: the incident is restricted, so tocsin says no more of it here.", reply.ring
    return reply.text, reply.ring


def _run(state: Any, form: dict[str, Any], posted_at: datetime) -> Response:
    head, _, rest = str(form.get("text") or "").strip().partition(" ")
    word, rest = head.lower(), rest.strip()
    if word not in (CAPTURE_WORD, COMMAND_WORD):
        return _answer("")
    client = bot_client(state.settings)
    try:
        if word == CAPTURE_WORD:
            return _answer(_capture(state, client, form, rest, posted_at))
        text, wake = _command(state, client, form, rest)
    finally:
        if client is not None:
            client.close()
    if wake:
        ring()
    return _answer(text)


@router.post("/integrations/mattermost/outgoing", include_in_schema=False)
async def mattermost_outgoing(request: Request) -> Response:
    state = request.app.state
    expected = state.settings.mattermost_outgoing_token
    if not expected:
        return Response(status_code=404)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "request too large"}, status_code=413)
    form = _payload(body, request.headers.get("content-type", ""))
    if form is None:
        return JSONResponse({"error": "expected Mattermost's outgoing webhook (form-encoded or JSON)"},
                            status_code=400)
    if not _token_ok(expected, request, form):
        return JSONResponse({"error": "invalid request"}, status_code=401)
    posted_at = _posted_at(form.get("timestamp"), state)
    if has_nul(form) or posted_at is None or not all(
            _ID.match(str(form.get(k) or "")) for k in ("team_id", "channel_id", "user_id", "post_id")):
        return JSONResponse({"error": "expected Mattermost's outgoing webhook (team_id, channel_id, user_id, "
                                      "post_id, text, timestamp)"}, status_code=400)
    return await run_in_threadpool(_run, state, form, posted_at)
