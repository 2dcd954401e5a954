"""Engine modules for action items (being built)."""

from __future__ import annotations

from tocsin.engine.runner import EngineContext


def action_reminders(ec: EngineContext) -> int:
    return 0


def action_sync(ec: EngineContext) -> int:
    return 0
