"""Severity aliases and the suggested severity computed from impact."""

import pytest

from tocsin.incidents.severity import Impact, suggest_severity
from tocsin.incidents.types import DataSensitivity
from tocsin.severities import Severity, parse_severity


@pytest.mark.parametrize("text,expected", [
    ("SEV1", Severity.SEV1), ("sev2", Severity.SEV2), ("P0", Severity.SEV1), ("p3", Severity.SEV4),
    (" P1 ", Severity.SEV2), ("sev-3", Severity.SEV3),
])
def test_parse_severity(text, expected):
    assert parse_severity(text) == expected


@pytest.mark.parametrize("text", ["SEV0", "SEV5", "P4", "high", ""])
def test_parse_severity_rejects_unknown(text):
    with pytest.raises(ValueError):
        parse_severity(text)


@pytest.mark.parametrize("impact,expected", [
    # one large customer down: few customers, a lot of money -> SEV1
    (Impact(customers_affected=1, revenue_at_risk_per_hour=25_000, customer_facing=True), Severity.SEV1),
    (Impact(customers_affected=5_000), Severity.SEV1),
    (Impact(data_sensitivity=DataSensitivity.regulated), Severity.SEV1),
    (Impact(customers_affected=150, customer_facing=True), Severity.SEV2),
    (Impact(revenue_at_risk_per_hour=1_000), Severity.SEV2),
    (Impact(data_sensitivity=DataSensitivity.confidential), Severity.SEV2),
    (Impact(customers_affected=3, customer_facing=True), Severity.SEV3),
    (Impact(customer_facing=True), Severity.SEV3),
    (Impact(customers_affected=0, customer_facing=False, data_sensitivity=DataSensitivity.none), Severity.SEV4),
])
def test_suggested_severity(impact, expected):
    suggestion = suggest_severity(impact)
    assert suggestion is not None
    assert suggestion.severity == expected
    assert suggestion.reasons  # a suggestion always says why


def test_no_impact_no_suggestion():
    assert suggest_severity(Impact()) is None


def test_all_reasons_at_the_winning_level_are_given():
    s = suggest_severity(Impact(customers_affected=2_000, revenue_at_risk_per_hour=50_000))
    assert s is not None and len(s.reasons) == 2
