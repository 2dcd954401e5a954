"""/docs in a browser with no internet: Swagger UI comes from the package, starts under the CSP,
and lists the API's operations; nothing is fetched from another origin."""

from __future__ import annotations

import pytest
from playwright.sync_api import Route, expect

from tests.harness.site import Site

pytestmark = pytest.mark.slow


def test_api_docs_render_offline(site: Site, new_page) -> None:  # noqa: ANN001 (fixture)
    page = new_page()
    elsewhere: list[str] = []

    def offline(route: Route) -> None:
        if route.request.url.startswith(site.url):
            route.continue_()
        else:  # as on a machine without internet: any CDN request fails
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", offline)
    page.goto(f"{site.url}/docs")
    operations = page.locator(".opblock")
    # a 1.5 MB script and the schema of ~190 operations (built on first request): give it time
    expect(operations.first, "Swagger UI should list the API's operations").to_be_visible(timeout=60_000)
    assert operations.count() > 50, f"only {operations.count()} operations listed"
    expect(page.locator("#swagger-ui")).to_contain_text("/api/v1/incidents")
    assert not elsewhere, f"/docs fetched from other origins: {elsewhere}"
