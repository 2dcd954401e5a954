"""Every console page renders for a responder, needs a login, and keeps its security headers."""

from __future__ import annotations

import pytest

PAGES = ["/", "/alerts", "/alerts?status=triggered", "/services", "/services/checkout", "/schedules",
         "/schedules/primary", "/schedules/primary?week=2026-03-02", "/escalation-policies",
         "/escalation-policies/default", "/users", "/silences", "/status-pages", "/status-pages/public",
         "/reports", "/me", "/teams", "/routing-rules", "/auto-incident-rules", "/inhibition-rules"]


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_for_a_responder(web_client, world, path):
    client = web_client("responder")
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 200, response.text[:2000]
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["cache-control"] == "no-store"
    text = response.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert '<a class="skip-link" href="#main">' in text and '<main id="main"' in text
    assert 'id="declare-open"' in text and 'id="declare-form" method="post" action="/incidents"' in text
    assert "<script>" not in text and "style=" not in text  # CSP: nothing inline


@pytest.mark.parametrize("path", PAGES + ["/users/00000000-0000-0000-0000-000000000000", "/reports/view"])
def test_page_needs_login(client, world, path):
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
