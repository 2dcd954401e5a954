"""The words of an action item that users see in the API: status, type and priority, and the
human ref (ACT-12)."""

from __future__ import annotations

from enum import StrEnum

from tocsin.ids import ACTION_ITEM_PREFIX, make_ref, parse_ref


class ActionStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    done = "done"
    wont_do = "wont_do"


class ActionType(StrEnum):
    prevent = "prevent"
    mitigate = "mitigate"
    detect = "detect"
    process = "process"


class ActionPriority(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


# done and wont_do both end the follow-through: reminders stop, completed_at is stamped.
FINISHED = (ActionStatus.done.value, ActionStatus.wont_do.value)
ACTIVE = (ActionStatus.open.value, ActionStatus.in_progress.value)


def action_ref(number: int) -> str:
    return make_ref(ACTION_ITEM_PREFIX, number)


def parse_action_ref(text: str) -> int | None:
    """The number in `ACT-12` (case-insensitive), else None."""
    return parse_ref(ACTION_ITEM_PREFIX, text)
