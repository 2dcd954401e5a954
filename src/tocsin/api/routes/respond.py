"""Acting on a page from outside the API: signed one-time links and Twilio's callbacks.

- `GET /n/{token}` shows what the link would do (mail scanners fetch links, so opening one does
  nothing); the page's button POSTs to the same address, which acts once. A used, expired or
  altered link gets a 4xx page saying which; after 20 altered or cut links from one address, that
  address waits (429, users/throttle.py), before any signature is checked.
- `POST /integrations/twilio/sms`: an SMS reply ("4821 ack", "4821 close"); `POST
  /integrations/twilio/status`: Twilio's delivery status callback. Both check the
  X-Twilio-Signature against TOCSIN_TWILIO_AUTH_TOKEN and the public URL (TOCSIN_PUBLIC_URL
  must be the address Twilio calls), and are 404 when Twilio is not configured. A number that
  sent 5 codes matching no page waits (users/throttle.py) before its next code is looked up.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qsl

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from jinja2 import Environment
from sqlalchemy.exc import IntegrityError
from twilio.twiml.messaging_response import MessagingResponse

from tocsin.contacts.models import UsedLink
from tocsin.errors import TocsinError
from tocsin.escalation.models import Notification
from tocsin.escalation.outbox import fall_through
from tocsin.flows import respond
from tocsin.http.errors import status_for
from tocsin.http.requests import client_address
from tocsin.notify import links
from tocsin.notify.twilio import parse_status_callback, verify_twilio_signature
from tocsin.users import throttle

router = APIRouter()
_env = Environment(autoescape=True)
_PAGE = _env.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>tocsin: {{ title }}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 2em auto">
<h1>{{ title }}</h1>
{% if lines %}<ul>{% for line in lines %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
{% if message %}<p>{{ message }}</p>{% endif %}
{% if button %}<form method="post"><button type="submit">{{ button }}</button></form>{% endif %}
</body></html>""")
_HTML_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                 "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"}
_REPLY = re.compile(r"^\s*(\d{4,5})\s*([a-z]+)\b", re.IGNORECASE)
_MESSAGE_SID = re.compile(r"(SM|MM)[0-9a-fA-F]{32}")  # Twilio's message ids
SMS_REPLY_MEMORY = timedelta(days=90)  # how long a handled reply's MessageSid is remembered (reply codes recur)
_ACK_WORDS = {"a", "ack", "acknowledge", "ok"}
_RESOLVE_WORDS = {"c", "close", "r", "resolve", "resolved"}


def _page(status: int, title: str, *, lines: list[str] | None = None, message: str = "",
          button: str | None = None) -> HTMLResponse:
    return HTMLResponse(_PAGE.render(title=title, lines=lines or [], message=message, button=button),
                        status_code=status, headers=_HTML_HEADERS)


def _link(request: Request, token: str) -> links.Link | HTMLResponse:
    """What the link says, or the page refusing it. Links that are not ours count against the address."""
    state = request.app.state
    now, address = state.clock.now(), throttle.address_subject(client_address(request))
    with state.db.unit_of_work() as s:
        wait = throttle.peek(s, throttle.LINK, address, now).retry_after
    if wait:
        minutes = -(-wait // 60)
        page = _page(429, "Too many broken links", message=f"Too many links from your address did not work. Try "
                     f"again in {minutes} minute{'s' if minutes != 1 else ''}.")
        page.headers["Retry-After"] = str(wait)
        return page
    try:
        return links.read_token(state.settings.resolved_secret_key(), token, now)
    except links.BadLink as exc:
        if not isinstance(exc, links.LinkExpired):
            with state.db.unit_of_work() as s:
                throttle.take(s, throttle.LINK, address, now)
        return _page(400, "This link does not work", message=str(exc))


@router.get("/n/{token}", response_class=HTMLResponse, include_in_schema=False)
def show_link(token: str, request: Request) -> HTMLResponse:
    link = _link(request, token)
    if isinstance(link, HTMLResponse):
        return link
    db = request.app.state.db
    with db.unit_of_work() as s:
        if s.get(UsedLink, links.digest(token)) is not None:
            return _page(410, "This link was already used", message="Each link works once.")
        try:
            p = respond.preview(s, link.notification_id, link.action)
        except TocsinError as exc:
            return _page(status_for(exc), "This link does not work", message=str(exc))
    return _page(200, f"{p.who}: {p.action}?", lines=p.what, button=p.action.capitalize())


@router.post("/n/{token}", response_class=HTMLResponse, include_in_schema=False)
def use_link(token: str, request: Request) -> HTMLResponse:
    link = _link(request, token)
    if isinstance(link, HTMLResponse):
        return link
    state = request.app.state
    now = state.clock.now()
    with state.db.unit_of_work() as s:
        if s.get(UsedLink, links.digest(token)) is not None:
            return _page(410, "This link was already used", message="Each link works once.")
        try:
            s.add(UsedLink(digest=links.digest(token), used_at=now, expires_at=link.expires_at))
            s.flush()
            done = respond.act(s, notification_id=link.notification_id, action=link.action, now=now, via="link")
        except sa.exc.IntegrityError:
            s.rollback()
            return _page(410, "This link was already used", message="Each link works once.")
        except TocsinError as exc:
            s.rollback()
            return _page(status_for(exc), "That did not work", message=str(exc))
    return _page(200, "Done", message=done)


# --- Twilio -------------------------------------------------------------------------------------

async def _twilio_form(request: Request) -> dict[str, str] | Response:
    st = request.app.state.settings
    if not st.twilio_auth_token:
        return Response(status_code=404)
    body = await request.body()
    if len(body) > 64_000:
        return Response("too large", status_code=413)
    try:
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return Response("expected a form-encoded body", status_code=400)

    url = st.resolved_public_url() + request.url.path
    if not verify_twilio_signature(st.twilio_auth_token, url, params, request.headers.get("X-Twilio-Signature", "")):
        return Response("bad X-Twilio-Signature", status_code=403)
    return params


def _twiml(text: str) -> Response:
    reply = MessagingResponse()
    reply.message(text)
    return Response(str(reply), media_type="application/xml")


@router.post("/integrations/twilio/sms", include_in_schema=False)
async def twilio_sms(request: Request) -> Response:
    params = await _twilio_form(request)
    if isinstance(params, Response):
        return params
    match = _REPLY.match(params.get("Body", ""))
    if not match:
        return _twiml("tocsin: reply with the code and ack or close, e.g. '4821 ack'.")
    code, word = match.group(1), match.group(2).lower()
    action = "ack" if word in _ACK_WORDS else "resolve" if word in _RESOLVE_WORDS else None
    if action is None:
        return _twiml(f"tocsin: unknown command '{word}'; use ack or close.")
    message_sid = params.get("MessageSid", "")
    if not _MESSAGE_SID.fullmatch(message_sid):
        return Response("MessageSid is required", status_code=400)
    state = request.app.state
    now, sender = state.clock.now(), params.get("From", "")
    with state.db.unit_of_work() as s:
        ticket = throttle.take(s, throttle.SMS_REPLY, sender, now)
    if ticket.blocked:
        minutes = -(-ticket.retry_after // 60)
        return _twiml(f"tocsin: too many wrong codes from this number; try again in {minutes} min.")
    with state.db.unit_of_work() as s:
        row = respond.by_reply_code(s, sender, code)
        if row is None:
            return _twiml(f"tocsin: no page with code {code} was sent to this number.")
        # Twilio's signature covers no timestamp: a captured reply could be sent again later and, once the
        # reply code is reused for a newer page to this number, act on that one. Each message acts once.
        seen = links.digest(f"twilio-sms:{message_sid}")
        if s.get(UsedLink, seen) is not None:
            return _twiml("tocsin: this reply was already handled.")
        s.add(UsedLink(digest=seen, used_at=now, expires_at=now + SMS_REPLY_MEMORY))
        throttle.clear(s, throttle.SMS_REPLY, sender)
        try:
            s.flush()
        except IntegrityError:  # the same message at the same time: the other request acts
            s.rollback()
            return _twiml("tocsin: this reply was already handled.")
        try:
            done = respond.act(s, notification_id=row.id, action=action, now=now, via="sms")
        except TocsinError as exc:
            s.rollback()
            return _twiml(f"tocsin: {exc}")
    return _twiml(f"tocsin: {done}"[:300])


@router.post("/integrations/twilio/status", include_in_schema=False)
async def twilio_status(request: Request) -> Response:
    params = await _twilio_form(request)
    if isinstance(params, Response):
        return params

    try:
        sid, status, error = parse_status_callback(params)
    except ValueError as exc:
        return Response(str(exc), status_code=400)
    state = request.app.state
    now = state.clock.now()
    with state.db.unit_of_work() as s:
        row = s.execute(sa.select(Notification).where(Notification.provider_id == sid)).scalar_one_or_none()
        if row is None:
            return Response(status_code=204)
        if status in ("delivered", "completed", "read") and row.status == "sent":
            row.status, row.delivered_at = "delivered", now
        elif status in ("failed", "undelivered", "busy", "no-answer", "canceled") and row.status in ("sent",):
            why = f"Twilio reported {status}" + (f" (error {error})" if error else "")
            row.status, row.last_error = "failed", why
            fall_through(s, row, why, now)
    return Response(status_code=204)

