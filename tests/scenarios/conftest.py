"""Fixtures shared by the scenario modules."""

from __future__ import annotations

import pytest


@pytest.fixture
def rb(runbook):  # noqa: ANN001 (tests.harness.scenario.Runbook)
    """Alice then Bob, five minutes each, for the tier-1 service "checkout"."""
    runbook.person("Alice")
    runbook.person("Bob")
    runbook.service("checkout", tier=1)
    runbook.policy((5, ["Alice"]), (5, ["Bob"]))
    return runbook
