"""`POST /integrations/mattermost/actions`: a click on a page's button in Mattermost (an interactive
message button, `PostActionIntegrationRequest`: JSON with `user_id`, `team_id`, `post_id`,
`context`).

The button's `context` was signed by tocsin when the page was posted (notify/mattermost.py), so
the notification and the action it names are ours; a context that does not verify is 403 with no
word of why. Who clicked is Mattermost's word, unsigned: it is checked with Mattermost
(`_unconfirmed`) before anything is done. The clicking Mattermost user acts as their linked tocsin user (api/chat/buttons.py);
the answer is Mattermost's `{"update": {"message": ...}}` or `{"ephemeral_text": ...}`. 404 when
Mattermost is not configured."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from tocsin.api.chat.buttons import mattermost_reply, press
from tocsin.api.chat.commands import has_nul
from tocsin.api.chat.mattermost_bot import bot_client
from tocsin.chatops.accounts import ChatIdentity
from tocsin.escalation.models import Notification
from tocsin.notify.mattermost import MattermostClient, verify_action_context
from tocsin.notify.types import Outcome

router = APIRouter()
MAX_BODY = 64_000


NOT_OURS = "This button does not belong to a tocsin page."


def _unconfirmed(state: Any, client: MattermostClient | None, body: dict[str, Any],
                 notification_id: str) -> str | None:
    """Why the click is not acted on, or None when Mattermost confirms it. Mattermost signs nothing it
    sends here: the signed context proves the page and the action, not who clicked, so whoever
    holds a context could name any user_id. The post must be the one the page was delivered as
    (its provider id), in the channel named, and the clicker a member of that channel: a page in a
    direct message can be clicked by its recipient alone."""
    post_id, channel_id, user_id = body.get("post_id"), body.get("channel_id"), str(body["user_id"])
    if client is None or not (isinstance(post_id, str) and post_id and isinstance(channel_id, str) and channel_id):
        return NOT_OURS
    with state.db.unit_of_work() as s:
        row = s.get(Notification, uuid.UUID(notification_id))
        delivered_as = row.provider_id if row is not None and row.channel == "mattermost" else None
    if delivered_as != post_id:
        return NOT_OURS
    for check in (lambda: client.message(channel_id, post_id), lambda: client.is_member(channel_id, user_id)):
        answer = check()
        if not answer.ok:
            return NOT_OURS if answer.outcome == Outcome.permanent else \
                "tocsin could not check this click with Mattermost: try again in a moment."
    return None


def _click(state: Any, body: dict[str, Any], notification_id: str, action: str) -> dict[str, Any]:
    st = state.settings
    client = bot_client(st)
    try:
        refused = _unconfirmed(state, client, body, notification_id)
        if refused is not None:
            return {"ephemeral_text": refused}
        who = ChatIdentity("mattermost", str(body.get("team_id") or st.mattermost_team_id or ""),
                           str(body["user_id"]))
        answer = press(state, client, who, notification_id=notification_id, action=action,
                       message_key=f'{body.get("post_id") or ""}:{body.get("trigger_id") or ""}')
    finally:
        if client is not None:
            client.close()
    return mattermost_reply(answer)


@router.post("/integrations/mattermost/actions", include_in_schema=False)
async def mattermost_action(request: Request) -> Response:
    state = request.app.state
    if not state.settings.mattermost_enabled():
        return JSONResponse({"error": "not found"}, status_code=404)
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return JSONResponse({"error": "the request is too large"}, status_code=413)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: "[[[[..." too deep to parse
        return JSONResponse({"error": "expected a JSON body"}, status_code=400)
    if not isinstance(body, dict) or has_nul(body):
        return JSONResponse({"error": "expected a JSON body"}, status_code=400)
    if not isinstance(body.get("user_id"), str) or not body["user_id"]:
        return JSONResponse({"error": "expected Mattermost's action request (user_id, context)"}, status_code=400)
    context = body.get("context")
    verified = verify_action_context(state.settings.resolved_secret_key(), context) \
        if isinstance(context, dict) else None
    if verified is None:
        return JSONResponse({"error": "forbidden"}, status_code=403)
    notification_id, action = verified
    answer = await run_in_threadpool(_click, state, body, str(notification_id), action)
    return JSONResponse(answer)
