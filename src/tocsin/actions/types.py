"""The words of an action item that users see in the API: status, type and priority, and the
human ref (ACT-12)."""

from __future__ import annotations

import re
from enum import StrEnum

ACTION_PREFIX = "ACT"
_REF_RE = re.compile(r"^ACT-(\d{1,18})$", re.IGNORECASE | re.ASCII)
_PROBLEM_REF_RE = re.compile(r"^PRB-(\d{1,18})$", re.IGNORECASE | re.ASCII)


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
    return f"{ACTION_PREFIX}-{number}"


def parse_action_ref(text: str) -> int | None:
    """The number in `ACT-12` (case-insensitive), else None."""
    match = _REF_RE.match(text.strip())
    return int(match.group(1)) if match else None


def parse_problem_ref(text: str) -> int | None:
    """The number in `PRB-3` (case-insensitive), else None."""
    match = _PROBLEM_REF_RE.match(text.strip())
    return int(match.group(1)) if match else None
