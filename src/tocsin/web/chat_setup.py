"""What Configure -> Chat tells an admin about setting up Slack, Mattermost and Microsoft Teams: which
TOCSIN_* settings each needs and whether they are set (a secret is never shown, only "set" or "not
set"), the request URLs to paste into each platform, and the Slack app manifest.

The manifest has one source, `templates/slack-app-manifest.yaml` (docs/slack-app-manifest.yaml links
to it): written for https://tocsin.example.com and the slash command /incident, served here with this
server's address and TOCSIN_SLACK_COMMAND in their place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from tocsin.config import Settings
from tocsin.web.render import TEMPLATES

MANIFEST = TEMPLATES / "slack-app-manifest.yaml"
EXAMPLE_URL = "https://tocsin.example.com"
EXAMPLE_COMMAND = "/incident"

SLACK_PATHS = {"commands": "/integrations/slack/commands", "interactive": "/integrations/slack/interactive",
               "events": "/integrations/slack/events"}
MATTERMOST_PATHS = {"command": "/integrations/mattermost/command", "actions": "/integrations/mattermost/actions",
                    "outgoing": "/integrations/mattermost/outgoing"}


@dataclass(frozen=True)
class SettingState:
    """One setting as the page shows it: its variable, whether it is set, and its value unless secret."""

    env: str
    what: str
    is_set: bool
    value: str | None  # None for a secret (or an unset one): the page says "set" / "not set"
    required: bool


def _state(settings: Settings, name: str, what: str, *, secret: bool, required: bool = True) -> SettingState:
    raw = getattr(settings, name)
    if secret:
        return SettingState(env=f"TOCSIN_{name.upper()}", what=what, is_set=bool(raw), value=None, required=required)
    # a plain setting is shown as it is, empty too (an empty TOCSIN_CHAT_CHANNEL_SEVERITIES means "no channels")
    return SettingState(env=f"TOCSIN_{name.upper()}", what=what, is_set=raw is not None and (str(raw) != "" or not required),
                        value=None if raw is None else str(raw), required=required)


@dataclass(frozen=True)
class PlatformSetup:
    name: str
    configured: bool
    settings: list[SettingState]

    @property
    def missing(self) -> list[str]:
        return [s.env for s in self.settings if s.required and not s.is_set]


def platforms(settings: Settings) -> list[PlatformSetup]:
    """Slack, Mattermost and Teams: configured or not, and each setting's state."""
    slack = [_state(settings, "slack_signing_secret", "the app's signing secret (Basic Information)", secret=True),
             _state(settings, "slack_bot_token", "the bot token, xoxb-... (OAuth & Permissions)", secret=True),
             _state(settings, "slack_command", "the slash command, as in the manifest", secret=False, required=False),
             _state(settings, "slack_workspace_url", "https://<workspace>.slack.com: links channels from the room",
                    secret=False, required=False),
             _state(settings, "chat_channel_pattern", "incident channel names", secret=False, required=False),
             _state(settings, "chat_channel_severities", "severities that get a channel", secret=False,
                    required=False),
             _state(settings, "chat_capture_emoji", "the reaction that copies a message to the timeline",
                    secret=False, required=False)]
    mattermost = [_state(settings, "mattermost_url", "the Mattermost server", secret=False),
                  _state(settings, "mattermost_bot_token", "the bot account's access token", secret=True),
                  _state(settings, "mattermost_team_id", "the team incident channels go in", secret=False),
                  _state(settings, "mattermost_command_token", "the slash command's token (checks its requests)",
                         secret=True, required=False),
                  _state(settings, "mattermost_outgoing_token", "the outgoing webhook's token (#timeline, #incident)",
                         secret=True, required=False)]
    teams = [_state(settings, "teams_webhook_url", "the Workflows webhook URL (its sig parameter is a key)",
                    secret=True)]
    return [PlatformSetup("Slack", settings.slack_app_enabled(), slack),
            PlatformSetup("Mattermost", settings.mattermost_enabled(), mattermost),
            PlatformSetup("Microsoft Teams", bool(settings.teams_webhook_url), teams)]


def request_urls(settings: Settings) -> dict[str, dict[str, str]]:
    base = settings.resolved_public_url()
    return {"slack": {k: base + p for k, p in SLACK_PATHS.items()},
            "mattermost": {k: base + p for k, p in MATTERMOST_PATHS.items()}}


# --- the Slack app manifest ---------------------------------------------------------------------------

def manifest_template() -> str:
    return MANIFEST.read_text(encoding="utf-8")


def _filled(value: Any, base: str, command: str) -> Any:
    """The template's data with the example address and command replaced (what the served text must parse to)."""
    if isinstance(value, dict):
        return {k: (command if k == "command" and v == EXAMPLE_COMMAND else _filled(v, base, command))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, base, command) for v in value]
    if isinstance(value, str) and value.startswith(EXAMPLE_URL + "/"):
        return base + value[len(EXAMPLE_URL):]
    return value


def expected_manifest(base: str, command: str) -> Any:
    return _filled(yaml.safe_load(manifest_template()), base, command)


def slack_manifest(settings: Settings) -> str:
    """The manifest for this server: the template's text with the address and the command replaced
    (its comments kept), or, should the address not fit plainly in YAML, the same data dumped afresh."""
    base, command = settings.resolved_public_url(), settings.slack_command
    body = "\n".join(line for line in manifest_template().splitlines() if not line.startswith("#")) + "\n"
    header = ("# tocsin's Slack app manifest for this server. Paste it at https://api.slack.com/apps -> Create New App"
              " -> From a manifest.\n")
    text = body.replace(EXAMPLE_URL + "/", base + "/").replace(f"command: {EXAMPLE_COMMAND}\n", f"command: {command}\n")
    want = expected_manifest(base, command)
    try:
        if yaml.safe_load(text) == want:
            return header + text
    except yaml.YAMLError:
        pass
    return header + yaml.safe_dump(want, sort_keys=False, allow_unicode=True, width=1000)
