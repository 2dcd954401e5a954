"""Slack interactions and events other than the slash command and the declare form: buttons on
pages (block_actions), the "Add to timeline" message shortcut, reactions and pins (events).

A stub until the capture work lands: the routes call these two functions, whose signatures stay."""

from __future__ import annotations

from typing import Any


def handle_interaction(state: Any, payload: dict[str, Any]) -> dict[str, Any] | None:
    """Act on one interaction (`state` is the app's state: db, clock, settings); the dict returned,
    if any, is the HTTP answer's JSON body."""
    return None


def handle_event(state: Any, envelope: dict[str, Any]) -> None:
    """Act on one Events API `event_callback` envelope (run after the answer, once per event_id)."""
    return None
