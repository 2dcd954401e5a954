"""What the Slack routes (api/routes/slack.py) hand on once a request is verified: interactivity
payloads (`handle_interaction`) and events (`handle_event`, once per event_id), both run after the
route has answered Slack's request with its 200; what the user is told goes through the payload's
response_url or an ephemeral message.

- `block_actions` on a page's buttons (Acknowledge, Resolve, Escalate): `buttons.on_block_actions`.
- `message_action` "Add to timeline" (callback_id `tocsin_capture`): the message is captured onto
  the timeline of the channel's incident, as the user who asked; the answer is ephemeral.
- `reaction_added` with `settings.chat_capture_emoji` on a message in an incident channel: the
  message (fetched from Slack) is captured, as the reacting user; `pin_added` likewise (the pinned
  message comes with the event).
- `member_joined_channel` in an incident channel: the linked user joins the incident (a responder,
  or an observer for viewers), if they may see it.

A chat user acts as the tocsin user they are linked to (or linked now by their verified email);
one who is not linked, or may not see the incident, gets an ephemeral explanation and nothing is
captured. Reactions outside incident channels are ignored without a word."""

from __future__ import annotations

import logging
from typing import Any

from tocsin.api.chat import buttons
from tocsin.api.chat.capture import already_captured, capture, slack_permalink, slack_time
from tocsin.api.chat.people import acting, link_words, own_email
from tocsin.chatops.accounts import ChatIdentity, find_user
from tocsin.chatops.channels import channel_row, incident_in
from tocsin.errors import NotFound, TocsinError
from tocsin.incidents.models import Participant
from tocsin.incidents.roles import set_participant
from tocsin.incidents.types import ParticipantKind
from tocsin.notify.slack_app import SlackApp
from tocsin.principal import OrgRole, Principal
from tocsin.users.service import get_user_by_email, principal_for

log = logging.getLogger("tocsin.api.chat.slack")

PLATFORM = "slack"
CAPTURE_CALLBACK = "tocsin_capture"
NOT_VISIBLE = "This channel's incident is not one you can see in tocsin, so nothing was added to its timeline."


def _client(state: Any) -> SlackApp:
    return SlackApp.from_settings(state.settings)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# -- interactivity -------------------------------------------------------------------------------

def handle_interaction(state: Any, payload: dict[str, Any]) -> None:
    """An interactivity payload (other than the declare modal's submission), after Slack has its 200:
    the clicker or the capturer is answered through the payload's response_url."""
    kind = payload.get("type")
    if kind == "block_actions":
        buttons.on_block_actions(state, _client(state), payload)
    elif kind == "message_action" and payload.get("callback_id") == CAPTURE_CALLBACK:
        _on_shortcut(state, payload)


def _on_shortcut(state: Any, payload: dict[str, Any]) -> None:
    user, team, channel = _dict(payload.get("user")), _dict(payload.get("team")), _dict(payload.get("channel"))
    message = _dict(payload.get("message"))
    response_url = payload.get("response_url")
    if not (user.get("id") and channel.get("id") and isinstance(response_url, str)):
        return
    client = _client(state)
    who = ChatIdentity(PLATFORM, str(team.get("id") or user.get("team_id") or ""), str(user["id"]))
    ts = str(payload.get("message_ts") or message.get("ts") or "")
    words = _capture(state, client, who, channel_id=str(channel["id"]), ts=ts, message=message, via="shortcut",
                     domain=team.get("domain"), quiet=False)
    if words:
        client.respond(response_url, {"response_type": "ephemeral", "replace_original": False, "text": words})


# -- events --------------------------------------------------------------------------------------

def handle_event(state: Any, envelope: dict[str, Any]) -> None:
    """One event_callback, not seen before (the route dedupes on event_id)."""
    event = _dict(envelope.get("event"))
    team_id = str(envelope.get("team_id") or event.get("team") or "")
    kind = event.get("type")
    try:
        if kind == "reaction_added":
            _on_reaction(state, team_id, event)
        elif kind == "pin_added":
            _on_pin(state, team_id, event)
        elif kind == "member_joined_channel":
            _on_join(state, team_id, event)
    except TocsinError as exc:  # a refusal in tocsin's words: logged, the event is done
        log.info("Slack %s event not acted on: %s", kind, exc.message)


def _on_reaction(state: Any, team_id: str, event: dict[str, Any]) -> None:
    emoji = str(event.get("reaction") or "").split("::")[0]  # "memo::skin-tone-2" is still memo
    item = _dict(event.get("item"))
    if emoji != state.settings.chat_capture_emoji or item.get("type") != "message" or not event.get("user"):
        return
    client = _client(state)
    who = ChatIdentity(PLATFORM, team_id, str(event["user"]))
    words = _capture(state, client, who, channel_id=str(item.get("channel") or ""), ts=str(item.get("ts") or ""),
                     message=None, via="reaction", domain=None, quiet=True)
    if words:
        client.post_ephemeral(str(item.get("channel")), who.external_id, words)


def _on_pin(state: Any, team_id: str, event: dict[str, Any]) -> None:
    item = _dict(event.get("item"))
    message = _dict(item.get("message"))
    channel_id = str(event.get("channel_id") or item.get("channel") or "")
    if item.get("type") != "message" or not message or not event.get("user"):
        return
    client = _client(state)
    who = ChatIdentity(PLATFORM, team_id, str(event["user"]))
    words = _capture(state, client, who, channel_id=channel_id, ts=str(message.get("ts") or ""), message=message,
                     via="pin", domain=None, quiet=True)
    if words:
        client.post_ephemeral(channel_id, who.external_id, words)


def _on_join(state: Any, team_id: str, event: dict[str, Any]) -> None:
    channel_id, user_id = str(event.get("channel") or ""), str(event.get("user") or "")
    if not channel_id or not user_id:
        return
    now = state.clock.now()
    with state.db.unit_of_work() as s:
        if channel_row(s, platform=PLATFORM, channel_id=channel_id) is None:
            return
        user = find_user(s, ChatIdentity(PLATFORM, team_id, user_id))
        if user is None:
            return
        me = principal_for(s, user)
        try:
            incident = incident_in(s, me, platform=PLATFORM, channel_id=channel_id, for_update=True)
        except NotFound:
            return  # joining a channel is never the way into a restricted incident
        if incident is None or s.get(Participant, (incident.id, user.id)) is not None:
            return
        kind = ParticipantKind.responder if me.at_least(OrgRole.responder) else ParticipantKind.observer
        set_participant(s, incident=incident, user=user, kind=kind, actor=me, now=now)


# -- capture -------------------------------------------------------------------------------------

def _capture(state: Any, client: SlackApp, who: ChatIdentity, *, channel_id: str, ts: str,
             message: dict[str, Any] | None, via: str, domain: Any, quiet: bool) -> str | None:
    """Capture the message at (`channel_id`, `ts`) as `who`; return what to tell them (None: nothing).

    `message` None: fetched from Slack (a reaction names the message only). `quiet`: a success is
    not announced (the reaction or the pin shows it already)."""
    posted_at = slack_time(ts)
    if not channel_id or posted_at is None:
        return None
    with state.db.unit_of_work() as s:
        if channel_row(s, platform=PLATFORM, channel_id=channel_id) is None:
            return None if quiet else "This is not an incident channel: only messages in an incident's channel " \
                                      "can be added to its timeline."
    principal = acting(state, client, who)
    if principal is None:
        return link_words(state, who)
    with state.db.unit_of_work() as s:
        try:
            if incident_in(s, principal, platform=PLATFORM, channel_id=channel_id) is None:
                return None
        except NotFound:
            return NOT_VISIBLE
        if already_captured(s, platform=PLATFORM, channel_id=channel_id, message_ts=ts):
            return None if quiet else "This message is on the incident's timeline already."
    if message is None:
        found = client.message(channel_id, ts)
        if not found.ok:
            return f"tocsin could not read the message from Slack ({found.detail}); nothing was captured."
        message = found.data
    return _record(state, principal, who, channel_id=channel_id, ts=ts, message=message, via=via, domain=domain,
                   quiet=quiet, author_name=_author_name(state, client, who.team_id, message.get("user")))


def _author_name(state: Any, client: SlackApp, team_id: str, author: Any) -> str | None:
    """The tocsin name of a message's author who has not linked their Slack account yet, found by
    the verified email Slack shows (read only: the author is not linked by being quoted); for
    someone who is no tocsin user, their Slack display name marked "(on Slack)"; None when the
    author is linked (capture names them) or Slack names nobody."""
    if not isinstance(author, str) or not author:
        return None
    with state.db.unit_of_work() as s:
        if find_user(s, ChatIdentity(PLATFORM, team_id, author)) is not None:
            return None
    answer = client.user_email(author)
    email = own_email(answer, team_id)
    if email is not None:
        with state.db.unit_of_work() as s:
            user = get_user_by_email(s, email)
            if user is not None and user.is_active:
                return user.name
    # not a tocsin user: the name they go by in Slack, marked as such (anyone may call themselves anything)
    shown = answer.data.get("name") if answer.ok else None
    return f"{shown} (on Slack)" if isinstance(shown, str) and shown else None


def _record(state: Any, principal: Principal, who: ChatIdentity, *, channel_id: str, ts: str,
            message: dict[str, Any], via: str, domain: Any, quiet: bool, author_name: str | None) -> str | None:
    posted_at = slack_time(ts)
    assert posted_at is not None
    now = state.clock.now()
    try:
        with state.db.unit_of_work() as s:
            incident = incident_in(s, principal, platform=PLATFORM, channel_id=channel_id, for_update=True)
            if incident is None:
                return None
            done = capture(s, principal=principal, incident=incident, platform=PLATFORM, channel_id=channel_id,
                           message_ts=ts, text=str(message.get("text") or ""),
                           author_external_id=message.get("user") or None, posted_at=posted_at, via=via, now=now,
                           team_id=who.team_id, author_name=author_name,
                           link=slack_permalink(channel_id, ts, domain if isinstance(domain, str) else None),
                           forensics_nudge=state.settings.forensics_nudge)
            ref = "the incident" if incident.restricted else f"INC-{incident.number}"
    except NotFound:
        return NOT_VISIBLE
    except TocsinError as exc:
        return f"Nothing was added to the timeline: {exc.message}"
    if quiet:
        return None
    return f"Added to the timeline of {ref}." if done.new else "This message is on the incident's timeline already."
