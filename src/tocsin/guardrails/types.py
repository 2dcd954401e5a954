"""What a guardrail trip looks like to the packages above (exercise scores, reports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Tripped:
    rule: str  # the guardrail's key, e.g. "no_commander"
    tripped_at: datetime
    cleared_at: datetime | None
    detail: str
