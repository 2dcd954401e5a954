"""Chat-ops in the console: Configure -> Chat (admins: what each platform needs, the URLs to paste,
the Slack app manifest, the incident channels and the chat outbox's health), unlinking one's own
chat accounts from /me, and the one-time link page a chat user opens to link their chat account to
their tocsin account (`/chat/link?t=...`: shown, then confirmed with a POST; each link works once).

Linking and unlinking go through `chatops.accounts` (audited there), as the chat endpoints do."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tocsin.chatops import accounts as chat_accounts
from tocsin.chatops.accounts import ChatIdentity
from tocsin.chatops.models import ChatAccount
from tocsin.chatops.receipts import first_time
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound
from tocsin.principal import OrgRole
from tocsin.users.service import require_user
from tocsin.web import chat_setup, chat_view
from tocsin.web.auth import CsrfForm, CtxDep, WebCtx
from tocsin.web.render import SECURITY_HEADERS, render
from tocsin.web.routes.common import parse_uuid, redirect

router = APIRouter(include_in_schema=False)
LINK_RECEIPTS = "link"  # chat_receipts.platform of used link tokens
BAD_LINK = ("This link is not valid: it has expired (a link lasts 15 minutes) or it was not made by this tocsin. "
            "Ask for a new one with `{command} link` in Slack or Mattermost.")


def _page_number(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 100_000:
        raise InvalidInput("page must be a whole number from 1", details={"field": "page"})
    return int(value)


@router.get("/configure/chat")
def chat_config_page(request: Request, ctx: CtxDep, page: str = "1") -> Response:
    ctx.principal.require(OrgRole.admin, "configuring chat")
    number = _page_number(page[:8])
    with ctx.db.read() as s:
        channels, more = chat_view.channel_rows(s, ctx.principal, page=number)
        health = chat_view.outbox_health(s, ctx.now)
    return render(request, ctx, "chat_config.html", platforms=chat_setup.platforms(ctx.settings),
                  urls=chat_setup.request_urls(ctx.settings), manifest=chat_setup.slack_manifest(ctx.settings),
                  public_url=ctx.settings.resolved_public_url(), command=ctx.settings.slack_command,
                  emoji=ctx.settings.chat_capture_emoji, channels=channels, page=number, more=more, health=health)


@router.get("/configure/chat/slack-manifest.yaml")
def slack_manifest_download(request: Request, ctx: CtxDep) -> Response:
    ctx.principal.require(OrgRole.admin, "configuring chat")
    return Response(chat_setup.slack_manifest(ctx.settings), media_type="text/yaml; charset=utf-8",
                    headers={**SECURITY_HEADERS,
                             "Content-Disposition": 'attachment; filename="tocsin-slack-app-manifest.yaml"'})


@router.post("/me/chat-accounts/{account_id}/unlink")
def unlink_account(request: Request, account_id: str, ctx: CtxDep, _form: CsrfForm) -> Response:
    aid = parse_uuid(account_id, "chat account")
    with ctx.work() as (s, me):
        account = s.get(ChatAccount, aid)
        if account is None or account.user_id != ctx.user.id:
            raise NotFound(f"no chat account {aid}")
        shown = f"{chat_view.platform_name(account.platform)} user {account.external_id}"
        chat_accounts.unlink(s, account=account, actor=me, now=ctx.now)
    return redirect("/me#chat-accounts", f"Unlinked {shown}")


# --- the one-time link ---------------------------------------------------------------------------------

def _identity(ctx: WebCtx, token: str) -> ChatIdentity | None:
    """The chat user a valid, unexpired link names; None for anything else (an expired or forged link)."""
    if ctx.principal.is_guest:  # web/guest_gate.py answers a guest's request with a 404 before this
        raise Forbidden("outside responders cannot link chat accounts")
    if not token:
        return None
    return chat_accounts.read_link_token(ctx.settings.resolved_secret_key(), token[:1000], now=ctx.now)


def _bad_link(request: Request, ctx: WebCtx) -> Response:
    return render(request, ctx, "error.html", status_code=400, title="This link is not valid",
                  message=BAD_LINK.format(command=ctx.settings.slack_command))


@router.get("/chat/link")
def link_page(request: Request, ctx: CtxDep, t: str = "") -> Response:
    who = _identity(ctx, t)
    if who is None:
        return _bad_link(request, ctx)
    return render(request, ctx, "chat_link.html", who=who, platform=chat_view.platform_name(who.platform),
                  token=t, done=False)


@router.post("/chat/link")
def link_confirm(request: Request, ctx: CtxDep, form: CsrfForm) -> Response:
    token = form.get("t", "")
    who = _identity(ctx, token)
    if who is None:
        return _bad_link(request, ctx)
    with ctx.work() as (s, _me):
        if not first_time(s, platform=LINK_RECEIPTS, key=chat_accounts.token_fingerprint(token), now=ctx.now):
            raise Conflict(f"This link was already used. To link again, ask for a new one with "
                           f"`{ctx.settings.slack_command} link`.")
        chat_accounts.link(s, who, user=require_user(s, ctx.user.id), via="link", now=ctx.now)
    return render(request, ctx, "chat_link.html", who=who, platform=chat_view.platform_name(who.platform),
                  token="", done=True)
