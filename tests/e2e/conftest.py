"""Browser tests: Playwright for Python driving Debian's Chromium against real `tocsin serve`s.

- `browser`: one headless Chromium for the session (`TOCSIN_CHROMIUM`, default /usr/bin/chromium).
  A missing Chromium FAILS the test, naming scripts/test-deps.sh: a browser test that silently
  skips proves nothing.
- `site`: a seeded SQLite database with one server; `pg_site`: a seeded, fresh PostgreSQL
  database with TWO servers, so that what one process writes must reach the other's viewers.
  Both are session-scoped (starting servers is the slow part); every test declares its own
  incidents, so they do not depend on each other.
- `new_page(viewport=...)`: a fresh context (own cookies) and page per simulated person. Browser
  console CSP violations and uncaught script errors fail the test at teardown: the console
  promises a strict CSP and no inline script, and a violation means something silently broke.
- When an e2e test fails, the tail of each server's log is attached to the report.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, expect, sync_playwright

from tests.harness.backends import PG_ADMIN_URL, create_test_database, pg_conninfo
from tests.harness.browser import DESKTOP
from tests.harness.site import Site, seed, start_servers
from tocsin.db.migrate import upgrade

CHROMIUM = os.environ.get("TOCSIN_CHROMIUM", "/usr/bin/chromium")

_running_sites: list[Site] = []

expect.set_options(timeout=5_000)


# Package scope, not session: the sync API keeps an asyncio loop marked as running in the main
# thread while Playwright is open, and every later test that calls asyncio.run() would fail.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/test-deps.sh (it installs Debian's chromium), "
                    "or point TOCSIN_CHROMIUM at a Chromium binary")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses to sandbox as root
    b = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield b
    b.close()


@pytest.fixture(scope="package")
def site(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One server on a fresh, seeded SQLite database."""
    tmp = tmp_path_factory.mktemp("e2e-sqlite")
    shutil.copy(_sqlite_template, tmp / "tocsin.db")
    s = seed(f"sqlite:///{tmp / 'tocsin.db'}")
    _running_sites.append(s)
    try:
        yield start_servers(s, tmp, 1)
    finally:
        for server in s.servers:
            server.stop()
        _running_sites.remove(s)


@pytest.fixture(scope="package")
def pg_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Two servers on one fresh, seeded PostgreSQL database of its own (not the suite's shared one,
    which other tests truncate)."""
    name = f"tocsin_e2e_{os.getpid()}_{secrets.token_hex(3)}"
    url = create_test_database(name)
    s: Site | None = None
    try:
        upgrade(url)
        s = seed(url)
        _running_sites.append(s)
        yield start_servers(s, tmp_path_factory.mktemp("e2e-pg"), 2)
    finally:
        if s is not None:
            for server in s.servers:
                server.stop()
            _running_sites.remove(s)
        with psycopg.connect(pg_conninfo(PG_ADMIN_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """new_page(viewport=DESKTOP, javascript=True) -> a page in a fresh browser context (its own cookies)."""
    contexts = []
    problems: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error" and "Content Security Policy" in msg.text:
            problems.append(f"CSP violation on {msg.location.get('url', '?')}: {msg.text}")

    def make(viewport: dict[str, int] = DESKTOP, *, javascript: bool = True) -> Page:
        context = browser.new_context(viewport=viewport, locale="en-GB", timezone_id="UTC",
                                      java_script_enabled=javascript)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", on_console)
        page.on("pageerror", lambda exc: problems.append(f"uncaught script error on {page.url}: {exc}"))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, "the browser reported:\n" + "\n".join(problems)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (--dist loadgroup), keep each browser test module on one worker (a module's
    tests share its servers), and let different modules run on different workers: Chromium and the
    seeded sites are package fixtures, started once per worker that runs any browser test, which costs
    less than running every browser test one after another on one worker."""
    here = Path(__file__).parent
    for item in items:
        path = Path(str(item.path))
        if here in path.parents:
            item.add_marker(pytest.mark.xdist_group(f"e2e-{path.stem}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # noqa: ANN201
    """Attach the servers' log tails to a failed e2e test's report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for s in _running_sites:
            for n, server in enumerate(s.servers, 1):
                report.sections.append((f"tocsin serve #{n} log ({s.database_url.split(':')[0]})",
                                        server.log_text()[-6_000:]))
