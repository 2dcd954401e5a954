"""Suggested severity from an impact assessment: a pure function with its reasons.

Severity describes impact, not the symptom. The thresholds favour money and
customers over technical scope, so one large customer down (high revenue at risk)
suggests SEV1 even when only one account is affected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tocsin.incidents.types import DataSensitivity
from tocsin.severities import Severity


@dataclass(frozen=True)
class Impact:
    customers_affected: int | None = None
    revenue_at_risk_per_hour: float | None = None
    data_sensitivity: DataSensitivity | None = None
    customer_facing: bool | None = None

    @property
    def is_empty(self) -> bool:
        return all(v is None for v in (self.customers_affected, self.revenue_at_risk_per_hour,
                                       self.data_sensitivity, self.customer_facing))


@dataclass(frozen=True)
class Suggestion:
    severity: Severity
    reasons: tuple[str, ...]


# (severity, reason, test) checked from most to least severe; the first severity with any
# matching test wins, and every matching test at that level is given as a reason.
_RULES: list[tuple[Severity, str, Callable[[Impact], bool]]] = [
    (Severity.SEV1, "revenue at risk of 10,000 or more per hour", lambda i: (i.revenue_at_risk_per_hour or 0) >= 10_000),
    (Severity.SEV1, "1,000 or more customers affected", lambda i: (i.customers_affected or 0) >= 1_000),
    (Severity.SEV1, "regulated data involved", lambda i: i.data_sensitivity == DataSensitivity.regulated),
    (Severity.SEV2, "revenue at risk of 1,000 or more per hour", lambda i: (i.revenue_at_risk_per_hour or 0) >= 1_000),
    (Severity.SEV2, "100 or more customers affected", lambda i: (i.customers_affected or 0) >= 100),
    (Severity.SEV2, "confidential data involved", lambda i: i.data_sensitivity == DataSensitivity.confidential),
    (Severity.SEV3, "customer-facing", lambda i: bool(i.customer_facing)),
    (Severity.SEV3, "some customers affected", lambda i: (i.customers_affected or 0) > 0),
    (Severity.SEV3, "some revenue at risk", lambda i: (i.revenue_at_risk_per_hour or 0) > 0),
    (Severity.SEV3, "internal data involved", lambda i: i.data_sensitivity == DataSensitivity.internal),
]


def suggest_severity(impact: Impact) -> Suggestion | None:
    """Return the suggested severity and why, or None when no impact was assessed."""
    if impact.is_empty:
        return None
    for level in (Severity.SEV1, Severity.SEV2, Severity.SEV3):
        reasons = tuple(reason for sev, reason, test in _RULES if sev == level and test(impact))
        if reasons:
            return Suggestion(level, reasons)
    return Suggestion(Severity.SEV4, ("no customer, revenue or data impact recorded",))
