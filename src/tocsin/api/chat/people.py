"""Who a chat user is in tocsin: the linked user, else the one with the platform's verified email
(linked now, `accounts.link_by_email`), else nobody, with the one-time link that would link them.

The platform is asked for the email outside any transaction (a slow platform holds no row)."""

from __future__ import annotations

from typing import Any, Protocol

from tocsin.chatops.accounts import ChatIdentity, link_by_email, link_token, principal_of
from tocsin.notify.chat_types import ChatResult
from tocsin.principal import Principal
from tocsin.users.service import principal_for


class EmailSource(Protocol):
    def user_email(self, user: str) -> ChatResult: ...


def own_email(answer: ChatResult, team_id: str) -> str | None:
    """The email a platform's user lookup gave, if it can link: an account of another team (a Slack
    Connect member, whose organisation sets its emails) gives none."""
    email = answer.data.get("email") if answer.ok else None
    team = answer.data.get("team_id")
    if not isinstance(email, str) or not email or (team and team != team_id):
        return None
    return email


def trusts_email(settings: Any, platform: str) -> bool:
    """Does the platform's profile email name its user? Slack's is confirmed by Slack; Mattermost's is
    whatever the user typed unless the server verifies it, so only when the operator says it does
    (TOCSIN_MATTERMOST_EMAIL_LINKING)."""
    return platform != "mattermost" or bool(settings.mattermost_email_linking)


def acting(state: Any, client: EmailSource | None, who: ChatIdentity) -> Principal | None:
    """The principal `who` acts as: linked, or linked now by the platform's verified email; None if neither."""
    with state.db.unit_of_work() as s:
        found = principal_of(s, who)
    if found is not None or client is None or not trusts_email(state.settings, who.platform):
        return found
    email = own_email(client.user_email(who.external_id), who.team_id)
    if email is None:
        return None
    with state.db.unit_of_work() as s:
        user = link_by_email(s, who, email=email, now=state.clock.now())
        return principal_for(s, user) if user is not None else None


def link_words(state: Any, who: ChatIdentity) -> str:
    """What an unlinked chat user is told: the one-time link that links them (opened signed in to tocsin)."""
    settings = state.settings
    token = link_token(settings.resolved_secret_key(), who, now=state.clock.now())
    return ("Your chat account is not linked to a tocsin user, so tocsin cannot act for you. Link it "
            f"(signed in to tocsin; the link works for 15 minutes): {settings.resolved_public_url()}/chat/link?t={token}")
