"""Page buttons in chat: Acknowledge, Resolve and Escalate on a page posted to Slack (block_actions)
or Mattermost (interactive message buttons), acting as the chat user who clicked.

The clicker is mapped to a tocsin user (linked, or by the platform's verified email); an unlinked
clicker is told how to link and nothing happens. The action is `flows.respond.act_as`: the same
alert flows as the API's acknowledge and resolve (the escalation stops), need-to-know included,
or a re-escalation to the next level. A platform's retried click acts once: the claim
`action:<message>:<click>:<action>:<user>` (chatops/receipts.py) is taken in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tocsin.api.chat.people import EmailSource, acting, link_words
from tocsin.chatops.accounts import ChatIdentity
from tocsin.chatops.receipts import first_time
from tocsin.errors import TocsinError
from tocsin.flows.respond import act_as
from tocsin.users.models import User

SLACK_ACTIONS = {"tocsin_ack": "ack", "tocsin_resolve": "resolve", "tocsin_escalate": "escalate"}
DONE = {"ack": "Acknowledged", "resolve": "Resolved", "escalate": "Escalated"}


@dataclass(frozen=True)
class Answer:
    """What the clicker is told. `done`: the action happened (the message is updated for everyone);
    otherwise `text` is for the clicker alone. `final`: the page needs no more buttons."""

    done: bool
    text: str
    final: bool = False


def press(state: Any, client: EmailSource | None, who: ChatIdentity, *, notification_id: str | None, action: str,
          message_key: str) -> Answer | None:
    """Do `action` (ack | resolve | escalate) on the page `notification_id` as `who`; None when this
    click (`message_key`: the message it was on) was acted on already."""
    try:
        nid = uuid.UUID(str(notification_id))
    except ValueError:
        return Answer(False, "This button does not belong to a tocsin page.")
    if action not in DONE:
        return Answer(False, "This button does not belong to a tocsin page.")
    principal = acting(state, client, who)
    if principal is None:
        return Answer(False, link_words(state, who))
    now = state.clock.now()
    try:
        with state.db.unit_of_work() as s:
            if not first_time(s, platform=who.platform, key=f"action:{message_key}:{action}:{who.external_id}",
                              now=now):
                return None
            words = act_as(s, notification_id=nid, action=action, actor=principal, now=now,
                           via=f"{who.platform} button")
            user = s.get(User, principal.user_id) if principal.user_id is not None else None
            name = user.name if user is not None else principal.label
    except TocsinError as exc:
        return Answer(False, exc.message)
    if words.startswith("Nothing to do"):
        return Answer(False, words)
    return Answer(True, f"{DONE[action]} by {name}. {words}", final=action != "escalate")


# -- Slack ---------------------------------------------------------------------------------------

def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_reply(payload: dict[str, Any], answer: Answer) -> dict[str, Any]:
    """The body posted to the click's response_url: the page updated for everyone (the buttons gone
    once it is acknowledged or resolved, and who did it), or an ephemeral reply to the clicker."""
    if not answer.done:
        return {"response_type": "ephemeral", "replace_original": False, "text": answer.text}
    message = _dict(payload.get("message"))
    blocks = [b for b in _list(message.get("blocks")) if isinstance(b, dict)
              and not (answer.final and b.get("type") == "actions") and b.get("block_id") != "tocsin_outcome"]
    note = {"type": "context", "block_id": "tocsin_outcome",
            "elements": [{"type": "mrkdwn", "text": _escape(answer.text)[:2900]}]}
    text = str(message.get("text") or "")
    return {"replace_original": True, "text": f"{text}\n{answer.text}".strip(), "blocks": [*blocks, note]}


def on_block_actions(state: Any, client: Any, payload: dict[str, Any]) -> None:
    """A click on a page's button in Slack: act, then answer through the click's response_url."""
    actions = [a for a in _list(payload.get("actions")) if isinstance(a, dict)
               and isinstance(a.get("action_id"), str) and a["action_id"] in SLACK_ACTIONS]
    user, team, container = _dict(payload.get("user")), _dict(payload.get("team")), _dict(payload.get("container"))
    if not actions or not user.get("id"):
        return
    clicked = actions[0]
    who = ChatIdentity("slack", str(team.get("id") or user.get("team_id") or ""), str(user["id"]))
    # the message and the click's own time: Slack's retry of this click repeats both, a second click does not
    message_key = f'{container.get("message_ts") or ""}:{clicked.get("action_ts") or ""}'
    answer = press(state, client, who, notification_id=clicked.get("value"),
                   action=SLACK_ACTIONS[str(clicked["action_id"])], message_key=message_key)
    response_url = payload.get("response_url")
    if answer is not None and isinstance(response_url, str) and response_url:
        client.respond(response_url, slack_reply(payload, answer))


# -- Mattermost ----------------------------------------------------------------------------------

def mattermost_reply(answer: Answer | None) -> dict[str, Any]:
    """Mattermost's PostActionIntegrationResponse. An acknowledged or resolved page is replaced by
    what happened (Mattermost replaces the post's props too, so its buttons go); anything else
    (an escalation, whose buttons stay useful, or a refusal) is an ephemeral text to the clicker."""
    if answer is None:
        return {}
    if answer.done and answer.final:
        return {"update": {"message": answer.text}}
    return {"ephemeral_text": answer.text}
