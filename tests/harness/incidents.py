"""Incidents made through the API, as a responder makes them."""

from __future__ import annotations

from typing import Any


def declare(client: Any, who: Any, **body: Any) -> dict[str, Any]:
    """Declare an incident through the API as `who` (anything with `.headers`; title and severity
    defaulted); return it."""
    body.setdefault("title", "Checkout errors")
    body.setdefault("severity", "SEV2")
    r = client.post("/api/v1/incidents", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()
