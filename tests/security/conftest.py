"""Fixtures for the adversarial suite (tests/security): users who can also log in to the console,
and a logged-in console client per user.

The suite's modules seed their own worlds (what a module reads is seeded once per test, through the
API as an admin would); the helpers they share live in tests/harness.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.harness.console import WebUser, login
from tests.harness.ingest import AppliedClient


@pytest.fixture
def console_as(app) -> Iterator:
    """console_as(user or None) -> a TestClient logged in to the console as `user` (None: anonymous)."""
    clients: list[TestClient] = []

    def make(user: WebUser | None) -> TestClient:
        c = AppliedClient(app, raise_server_exceptions=False)
        clients.append(c)
        if user is not None:
            r = login(c, user.email, user.password)
            assert r.status_code == 303, r.text
        return c

    yield make
    for c in clients:
        c.close()
