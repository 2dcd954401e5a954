"""Fixtures shared by the scenario modules."""

from __future__ import annotations

import pytest


@pytest.fixture
def rb(runbook):  # noqa: ANN001 (tests.harness.scenario.Runbook)
    """Alice then Bob, five minutes each, for the tier-1 service "checkout", which pages per alert
    (these scenarios are about one alert's paging; tests/scenarios/test_group_paging.py pages per group)."""
    runbook.person("Alice")
    runbook.person("Bob")
    runbook.service("checkout", tier=1, paging_unit="alert")
    runbook.policy((5, ["Alice"]), (5, ["Bob"]))
    return runbook
