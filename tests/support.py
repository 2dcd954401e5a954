"""Helpers the subprocess tests share."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx
import pytest
import sqlalchemy as sa


def wait_http_ready(url: str, proc: subprocess.Popen[bytes], what: str, log_text: Callable[[], str],
                    timeout: float) -> None:
    """Poll `url` until it answers 200; fail the test (with the log) if `proc` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited {proc.returncode}:\n{log_text()}")
        try:
            if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not ready after {timeout:.0f}s:\n{log_text()}")
        time.sleep(0.1)


def service_alerts(db, service_id) -> list:  # noqa: ANN001 (a tocsin Database and a UUID)
    """The service's alerts, oldest first."""
    from tocsin.alerts.models import Alert

    with db.unit_of_work() as s:
        return list(s.execute(sa.select(Alert).where(Alert.service_id == service_id).order_by(Alert.first_seen_at))
                    .scalars())


def declare(client, who, **body):  # noqa: ANN001, ANN003 (a TestClient, a conftest Person, an IncidentIn body)
    """Declare an incident through the API as `who` (title and severity defaulted); return it."""
    body.setdefault("title", "Checkout errors")
    body.setdefault("severity", "SEV2")
    r = client.post("/api/v1/incidents", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()
