"""The chat platform clients the chat outbox sends through, built from the settings.

Slack and Mattermost are `ChatClient`s (notify/chat_types.py); Teams has no client of its own (a card
is POSTed to the Workflows webhook through the engine's guarded HTTP client). Chat calls wait at most
TIMEOUT seconds: a slow chat platform holds up only the chat thread's next calls (the chat outbox
runs on an engine thread of its own, `tocsin-chat`: pages never wait for it)."""

from __future__ import annotations

from tocsin.config import Settings
from tocsin.notify.chat_types import ChatClient
from tocsin.notify.mattermost import MattermostClient
from tocsin.notify.slack_app import SlackApp

TIMEOUT = 3  # seconds
CHAT_PLATFORMS = ("slack", "mattermost")  # the platforms with a channel per incident
TEAMS = "teams"  # posts cards to one Workflows webhook: no channel per incident


def enabled(settings: Settings) -> list[str]:
    """The platforms chat-ops is configured for: slack, mattermost (channels), teams (cards)."""
    found = [p for p, on in (("slack", settings.slack_app_enabled()), ("mattermost", settings.mattermost_enabled()))
             if on]
    return found + ([TEAMS] if settings.teams_webhook_url else [])


def client_for(settings: Settings, platform: str) -> ChatClient | None:
    """The client of `platform`, or None when it is not configured (or is Teams)."""
    if platform == "slack" and settings.slack_app_enabled():
        return SlackApp.from_settings(settings, timeout=TIMEOUT)
    if platform == "mattermost" and settings.mattermost_enabled():
        return MattermostClient.from_settings(settings, timeout=TIMEOUT)
    return None
