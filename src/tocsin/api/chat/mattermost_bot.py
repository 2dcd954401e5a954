"""What the Mattermost routes (slash command, outgoing webhook, page buttons) share: the bot's REST
client from settings, the lookups the command executor asks for (a user's email, a username's id),
and text made safe to post in a channel."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tocsin.notify.mattermost import MattermostClient

_EVERYONE = re.compile(r"@(channel|all|here)\b", re.IGNORECASE)
Lookup = Callable[[str], str | None]


def quiet(text: str) -> str:
    """Text posted to a channel that cannot notify everyone in it (`@channel`, `@all`, `@here`)."""
    return _EVERYONE.sub(lambda m: "@\u200b" + m.group(1), text)


def bot_client(settings: Any) -> MattermostClient | None:
    """The bot's REST client, when the Mattermost server and bot token are configured (else users link
    with the one-time link, and `@name` cannot be resolved)."""
    return MattermostClient.from_settings(settings)


def lookups(client: MattermostClient | None, *, trust_email: bool) -> tuple[Lookup, Lookup]:
    """(the user's email, the id of a username) through the bot; None where it cannot tell. The email
    links an account only when the operator vouches that Mattermost verifies emails (`trust_email`:
    TOCSIN_MATTERMOST_EMAIL_LINKING): a Mattermost user can otherwise set any address on their
    profile, an admin's included."""
    def email(user: str) -> str | None:
        got = client.user_email(user) if client and trust_email else None
        return (str(got.data.get("email") or "") or None) if got is not None and got.ok else None

    def username(name: str) -> str | None:
        got = client.user_by_username(name) if client else None
        return (str(got.data.get("user_id") or "") or None) if got is not None and got.ok else None

    return email, username
