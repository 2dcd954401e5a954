"""What a person does in the browser, as small helpers: log in, declare, pick an option, submit a
form, check a page's accessibility basics and width, save a screenshot. DESKTOP and PHONE are the
viewports the browser tests use (tests/e2e/conftest.py's `new_page`).

Failures name the selector or the response that was wrong, so that the report says whose
feature broke (the console's, the room's or the status page's).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

from tests.harness.site import User

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ROOM_URL = re.compile(r"/incidents/INC-\d+$")


def login(page: Page, base: str, user: User, *, next_path: str | None = None) -> None:
    """Log in through the login form; end on whatever page the console lands on (not /login)."""
    if not page.url.startswith(f"{base}/login"):
        page.goto(f"{base}/login" + (f"?next={next_path}" if next_path else ""))
    page.locator("#email").fill(user.email)
    page.locator("#password").fill(user.password)
    page.get_by_role("button", name="Log in").click()
    expect(page, "logging in should leave /login").not_to_have_url(re.compile(r"/login"))


def choose(select: Locator, *wanted: str) -> str:
    """Select the first option whose value equals, or whose text contains, one of `wanted`."""
    expect(select, "the select should exist").to_have_count(1)
    options = select.locator("option").evaluate_all("os => os.map(o => [o.value, o.textContent.trim()])")
    for want in wanted:
        for value, text in options:
            if value == want or want.lower() in text.lower():
                select.select_option(value=value)
                return value
    pytest.fail(f"no option matching {wanted} in {select}; options are {options}")


def set_field(form: Locator, name: str, *wanted: str) -> None:
    """Fill the form's field `name`, whether it is a select (pick an option) or a text input."""
    field = form.locator(f'[name="{name}"]')
    expect(field, f'{form} should have a field name="{name}"').to_have_count(1)
    if field.evaluate("e => e.tagName") == "SELECT":
        choose(field, *wanted)
    else:
        field.fill(wanted[0])


def action(page: Page, selector: str) -> Locator:
    """The room's form `selector`, opened the way a person would: a form folded into a closed
    <details> is revealed by clicking its <summary>."""
    form = page.locator(selector)
    expect(form, f"the page should have {selector}").to_have_count(1)
    details = form.locator("xpath=ancestor::details[1]")
    if details.count() and details.get_attribute("open") is None:
        details.locator("summary").first.click()
    expect(form).to_be_visible()
    return form


def submit(form: Locator) -> None:
    """Press the form's submit button."""
    form.locator('button:not([type="button"]):not([type="reset"]), input[type="submit"]').first.click()


def declare(page: Page, title: str, severity: str = "SEV3", service: str | None = None) -> str:
    """Declare through the "Declare incident" dialog; return the new room's ref (INC-N)."""
    page.locator("#declare-open").click()
    dialog = page.locator("#declare-dialog")
    expect(dialog, "#declare-open should open #declare-dialog").to_be_visible()
    form = dialog.locator("#declare-form")
    form.locator('[name="title"]').fill(title)
    choose(form.locator('[name="severity"]'), severity)
    if service:
        choose(form.locator('[name="service"]'), service)
    form.get_by_role("button", name="Declare", exact=True).click()
    expect(page, "declaring should land in the new incident room").to_have_url(ROOM_URL)
    expect(page.locator("h1")).to_contain_text(title)
    return page.url.rsplit("/", 1)[1]


def entries(page: Page, kind: str | None = None) -> Locator:
    """The room's timeline entries (of one kind)."""
    return page.locator("#timeline li.entry" + (f'[data-kind="{kind}"]' if kind else ""))


def a11y_problems(page: Page) -> dict[str, Any]:
    """The page's accessibility basics: <html lang>, how many <h1>, and form fields without a label
    (a <label for>/wrapping label, aria-label or aria-labelledby)."""
    return page.evaluate("""() => {
        const unlabelled = [];
        for (const el of document.querySelectorAll('input, select, textarea')) {
            if (['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type)) continue;
            const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label')
                || el.getAttribute('aria-labelledby');
            if (!named) unlabelled.push(el.outerHTML.slice(0, 160));
        }
        return {lang: document.documentElement.lang, h1: document.querySelectorAll('h1').length, unlabelled};
    }""")


AXE = Path(os.environ.get("TOCSIN_AXE") or Path(__file__).resolve().parents[2] / ".venv" / "node" / "node_modules"
           / "axe-core" / "axe.min.js")
BLOCKING_IMPACTS = ("serious", "critical")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.x A and AA rules).

    axe is evaluated through the DevTools protocol, which the page's CSP does not govern, so the
    console's strict CSP stays as it is and a CSP violation still fails the test."""
    if not AXE.exists():
        pytest.fail(f"axe-core not found at {AXE}: run scripts/test-deps.sh (it installs it with npm), "
                    "or point TOCSIN_AXE at axe.min.js")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    result = page.evaluate("""async () => {
        const r = await window.axe.run(document, {resultTypes: ['violations'],
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').slice(0, 200))}));
    }""")
    return [v for v in result if v.get("impact") in BLOCKING_IMPACTS]


_AXE_CACHE: dict[str, str] = {}


def _axe_source() -> str:
    if "js" not in _AXE_CACHE:
        _AXE_CACHE["js"] = AXE.read_text(encoding="utf-8")
    return _AXE_CACHE["js"]


def _settled(page: Page, read: Callable[[Page], Any]) -> Any:
    """`read(page)` once the page has loaded; again if the document was replaced while reading."""
    for attempt in range(3):
        page.wait_for_load_state("load")
        try:
            return read(page)
        except PlaywrightError as exc:
            replaced = "context was destroyed" in str(exc) or "of null" in str(exc)
            if not replaced or attempt == 2:
                raise
            page.wait_for_timeout(200)
    raise AssertionError("unreachable")


def check_a11y(page: Page, what: str) -> None:
    """The accessibility basics, then axe-core: no serious or critical violation.

    A click that follows a link returns before the next document exists, so this first waits for the
    page in the tab to have loaded (and for one that was still being replaced, for the new one)."""
    found = _settled(page, a11y_problems)
    assert found["lang"], f"{what} ({page.url}): <html> has no lang attribute"
    assert found["h1"] == 1, f"{what} ({page.url}): {found['h1']} <h1> elements, want exactly one"
    assert not found["unlabelled"], f"{what} ({page.url}): fields without a label: {found['unlabelled']}"
    violations = axe_violations(page)
    assert not violations, f"{what} ({page.url}): axe-core found serious or critical violations:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']}; {v['nodes']}" for v in violations)


def page_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def sideways_scroll(page: Page, what: str) -> str | None:
    """None if the page fits its viewport's width; else what is too wide (for the report)."""
    width, viewport = page_width(page), page.viewport_size["width"]
    if width <= viewport:
        return None
    culprits = page.evaluate("""(vw) => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > vw + 1)
        .slice(0, 6).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
            + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : ''))""",
                             viewport)
    return f"{what} ({page.url}) scrolls sideways at {viewport}px: scrollWidth {width}; wider elements: {culprits}"


def screenshot(page: Page, name: str) -> Path:
    """Save the visible viewport (not the full page: kept small) as docs/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False, animations="disabled", caret="hide")
    return path


def nav_href(page: Page, label: str) -> str:
    """The href of the header navigation link `label` (read even when a phone layout folds the menu)."""
    link = page.locator("nav a").filter(has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    expect(link.first, f'the navigation should have a link "{label}"').to_be_attached()
    href = link.first.get_attribute("href")
    assert href, f'navigation link "{label}" has no href'
    return href


def reload_until(page: Page, ready: Callable[[], bool], *, what: str, timeout: float = 10.0) -> None:
    """Reload `page` until `ready()` (a page served from a cache re-rendered off the request path)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not shown on {page.url} after {timeout:.0f}s of reloading; the page says:\n"
                        f"{page.locator('body').inner_text()[:2000]}")
        time.sleep(0.25)
        page.reload()
