"""The Slack app manifest: one file (docs/slack-app-manifest.yaml is a link to the one the console
serves), valid YAML with what the chat-ops endpoints need, and the console's copy of it is that file
with this server's address and slash command in place of the examples."""

from __future__ import annotations

from pathlib import Path

import yaml

from tocsin.config import Settings
from tocsin.web import chat_setup

ROOT = Path(__file__).resolve().parents[2]
SCOPES = {"commands", "chat:write", "channels:manage", "channels:read", "groups:write", "groups:read",
          "channels:history", "groups:history", "bookmarks:write", "reactions:read", "pins:read", "users:read",
          "users:read.email"}


def _urls(data: object) -> list[str]:
    if isinstance(data, dict):
        return [u for v in data.values() for u in _urls(v)]
    if isinstance(data, list):
        return [u for v in data for u in _urls(v)]
    return [data] if isinstance(data, str) and "://" in data else []


def test_the_docs_manifest_is_the_one_the_console_serves():
    docs = ROOT / "docs" / "slack-app-manifest.yaml"
    assert docs.resolve() == chat_setup.MANIFEST.resolve(), "one source: docs/ links to the packaged template"


def test_the_template_parses_and_asks_for_what_chat_ops_uses():
    data = yaml.safe_load(chat_setup.manifest_template())
    assert set(data["oauth_config"]["scopes"]["bot"]) == SCOPES
    assert set(data["settings"]["event_subscriptions"]["bot_events"]) == {"reaction_added", "pin_added",
                                                                         "member_joined_channel"}
    assert data["settings"]["interactivity"]["is_enabled"] is True
    [shortcut] = data["features"]["shortcuts"]
    assert (shortcut["name"], shortcut["type"], shortcut["callback_id"]) == ("Add to timeline", "message",
                                                                             "tocsin_capture")
    [command] = data["features"]["slash_commands"]
    assert command["command"] == "/incident"
    assert sorted(_urls(data)) == sorted(f"https://tocsin.example.com{p}" for p in chat_setup.SLACK_PATHS.values())


def test_the_served_manifest_is_the_template_with_this_servers_address_and_command():
    settings = Settings(secret_key="x", public_url="https://ir.acme.test/tocsin/", slack_command="/sev")
    served = chat_setup.slack_manifest(settings)
    template = yaml.safe_load(chat_setup.manifest_template())
    got = yaml.safe_load(served)
    assert got == chat_setup.expected_manifest("https://ir.acme.test/tocsin", "/sev")
    assert sorted(_urls(got)) == sorted(f"https://ir.acme.test/tocsin{p}" for p in chat_setup.SLACK_PATHS.values())
    # nothing else differs from the template
    got["features"]["slash_commands"][0]["command"] = "/incident"
    for url_holder in (got["features"]["slash_commands"][0], got["settings"]["event_subscriptions"],
                       got["settings"]["interactivity"]):
        key = "url" if "url" in url_holder else "request_url"
        url_holder[key] = url_holder[key].replace("https://ir.acme.test/tocsin", "https://tocsin.example.com")
    assert got == template
    assert "example.com" not in served and "should_escape: true" in served  # the template's own text, kept


def test_an_address_yaml_would_misread_still_makes_a_valid_manifest():
    settings = Settings(secret_key="x", public_url="https://ir.acme.test/#x: {y}", slack_command="/incident")
    got = yaml.safe_load(chat_setup.slack_manifest(settings))
    assert got["settings"]["event_subscriptions"]["request_url"] == \
        "https://ir.acme.test/#x: {y}/integrations/slack/events"


def test_the_setup_states_name_what_is_missing_and_never_carry_a_secret():
    settings = Settings(secret_key="x", slack_bot_token="xoxb-secret-value", chat_channel_severities="",
                        teams_webhook_url="https://x.logic.azure.com/workflows/1?sig=secret-sig")
    slack, mattermost, teams = chat_setup.platforms(settings)
    assert (slack.configured, slack.missing) == (False, ["TOCSIN_SLACK_SIGNING_SECRET"])
    states = {st.env: st for p in (slack, mattermost, teams) for st in p.settings}
    assert states["TOCSIN_SLACK_BOT_TOKEN"].is_set and states["TOCSIN_SLACK_BOT_TOKEN"].value is None
    assert states["TOCSIN_TEAMS_WEBHOOK_URL"].is_set and states["TOCSIN_TEAMS_WEBHOOK_URL"].value is None
    assert teams.configured and teams.missing == []
    assert (states["TOCSIN_CHAT_CHANNEL_SEVERITIES"].is_set, states["TOCSIN_CHAT_CHANNEL_SEVERITIES"].value) == (True, "")
    assert states["TOCSIN_SLACK_WORKSPACE_URL"].value is None and not states["TOCSIN_SLACK_WORKSPACE_URL"].is_set
    assert mattermost.missing == ["TOCSIN_MATTERMOST_URL", "TOCSIN_MATTERMOST_BOT_TOKEN", "TOCSIN_MATTERMOST_TEAM_ID"]
    assert not any("secret" in str(st.value) for st in states.values())
