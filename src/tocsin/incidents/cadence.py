"""How soon the next update is due after the last one, by severity (pure).

The cadence comes from the setting `TOCSIN_UPDATE_CADENCE` (default "SEV1=30m,SEV2=60m,SEV3=4h,SEV4=1d"):
per severity a number and a unit, m (minutes), h (hours), d (days) or bd (business days: the same
time on a weekday that many weekdays later, in UTC). Callers parse the setting once (`parse`) and pass
the result; a severity the setting leaves out is updated daily.

The room's header, the chat channels' reminders and the comms reminders all count from
`timeline.last_update_at`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_CADENCE = "SEV1=30m,SEV2=60m,SEV3=4h,SEV4=1d"
_PART = re.compile(r"^(SEV[1-4])=([1-9][0-9]{0,4})(m|h|d|bd)$")
_MINUTES = {"m": 1, "h": 60, "d": 1440}


@dataclass(frozen=True)
class Step:
    amount: int
    unit: str  # m | h | d | bd

    def after(self, when: datetime) -> datetime:
        if self.unit != "bd":
            return when + timedelta(minutes=self.amount * _MINUTES[self.unit])
        due, left = when, self.amount
        while left:
            due += timedelta(days=1)
            if due.weekday() < 5:  # Saturday, Sunday do not count
                left -= 1
        return due

    @property
    def label(self) -> str:
        if self.unit == "bd":
            return "every business day" if self.amount == 1 else f"every {self.amount} business days"
        minutes = self.amount * _MINUTES[self.unit]
        if minutes % 1440 == 0:
            days = minutes // 1440
            return "every day" if days == 1 else f"every {days} days"
        if minutes % 60 == 0:
            return f"every {minutes // 60} h"
        return f"every {minutes} min"


Cadence = dict[str, Step]


def parse(text: str) -> Cadence:
    """"SEV1=30m,SEV2=60m,..." -> {"SEV1": Step(30, "m"), ...}; ValueError names a bad part."""
    found: Cadence = {}
    for raw in text.split(","):
        part = raw.strip().replace(" ", "")
        if not part:
            continue
        m = _PART.match(part[:4].upper() + part[4:].lower())
        if m is None:
            raise ValueError(f"{raw.strip()!r} is not SEVn=<number><m|h|d|bd>, e.g. SEV1=30m")
        if m.group(1) in found:
            raise ValueError(f"{m.group(1)} is given twice")
        found[m.group(1)] = Step(int(m.group(2)), m.group(3))
    return found


DEFAULT: Cadence = parse(DEFAULT_CADENCE)
_FALLBACK = Step(1, "d")


def step_for(severity: str, cadence: Cadence | None = None) -> Step:
    return (cadence if cadence is not None else DEFAULT).get(severity, _FALLBACK)


def next_update_due(severity: str, last_update: datetime, cadence: Cadence | None = None) -> datetime:
    """When the next update is due after `last_update` for an incident of `severity`."""
    return step_for(severity, cadence).after(last_update)


def target_label(severity: str, cadence: Cadence | None = None) -> str:
    """"every 30 min" for a severity updated every 30 minutes."""
    return step_for(severity, cadence).label
