"""`AppliedClient`: a TestClient that, after an ingest request it got a 2xx for, waits until the
server has applied what it accepted.

An ingest 2xx means the events are journaled, not yet applied (docs/alerting.md); the app's
writer applies them right behind the answer. A test that sends an alert and then reads it wants
the applied state, so this client waits on `IngestWriter.wait_applied()` (the writer's own record
of what it journaled and applied) before handing back the answer: no sleeping, no polling. Tests
of the accepted-but-not-applied state use a plain TestClient.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi.testclient import TestClient

from tocsin.api.fastpath import match, match_opsgenie


class AppliedClient(TestClient):
    def request(self, method: str, url: httpx.URL | str, *args: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        response = super().request(method, url, *args, **kwargs)
        path = urlsplit(str(url)).path
        if response.is_success and (match(method.upper(), path) or match_opsgenie(method.upper(), path)):
            assert self.app.state.ingest.wait_applied(), "accepted events were not applied within 30 s"  # type: ignore[attr-defined]
        return response
