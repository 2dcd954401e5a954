"""Incident severity: SEV1 (worst) to SEV4, with the PagerDuty-style names P0..P3 for the same scale.

In the kernel, not in `incidents/`, because settings name severities too
(`TOCSIN_POSTMORTEM_REQUIRED_SEVERITIES`) and settings sit below every domain.
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"

    @property
    def rank(self) -> int:
        """1 is the most severe."""
        return int(self.value[-1])


# P0..P3 are the PagerDuty-style names for the same scale.
SEVERITY_ALIASES = {"P0": Severity.SEV1, "P1": Severity.SEV2, "P2": Severity.SEV3, "P3": Severity.SEV4}


def parse_severity(text: str) -> Severity:
    """Return the severity named by `text` (SEV1..SEV4 or P0..P3, any case); raise ValueError."""
    key = text.strip().upper().replace(" ", "").replace("-", "")
    if key in SEVERITY_ALIASES:
        return SEVERITY_ALIASES[key]
    try:
        return Severity(key)
    except ValueError:
        raise ValueError(f"unknown severity {text!r}: use SEV1..SEV4 or P0..P3") from None
