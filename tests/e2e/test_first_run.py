"""From an empty database to a page on someone's phone, using only the browser (issue 16's "done when").

Runbook: `tocsin serve` on an empty database prints a setup link; Ada opens it and becomes the first
admin. She invites Rui (who accepts in his own browser), makes the team Payments, a schedule with a
daily layer restricted to today, an escalation policy that pages the schedule, a service that uses
the policy and an Events v2 integration for it, whose key she sees once. An alert sent with that key,
the way a PagerDuty client sends it, pages Rui by email through a real SMTP server (aiosmtpd); Rui
opens the email's one-time link and acknowledges. Saves docs/screenshots/first-run-*.png.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.harness.browser import DESKTOP, check_a11y, choose, screenshot
from tests.harness.ports import free_port
from tests.harness.processes import TocsinProcess, tocsin_env
from tests.harness.site import PASSWORD
from tests.harness.smtp import SmtpFixture

pytestmark = pytest.mark.slow
SUMMARY = "Payments API 5xx above 2%"


@pytest.fixture(scope="module")
def empty_server(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[tuple[TocsinProcess, SmtpFixture]]:
    """`tocsin serve` on a migrated, EMPTY database (no users at all), mailing through aiosmtpd."""
    tmp = tmp_path_factory.mktemp("e2e-first-run")
    shutil.copy(_sqlite_template, tmp / "tocsin.db")
    with SmtpFixture() as smtp:
        env = {**tocsin_env(tmp / "data", f"sqlite:///{tmp / 'tocsin.db'}"),
               "TOCSIN_SMTP_URL": smtp.url, "TOCSIN_SMTP_FROM": "tocsin@example.test"}
        port = free_port()  # known before the start, so that links in the log and the mail point here
        server = TocsinProcess({**env, "TOCSIN_PUBLIC_URL": f"http://127.0.0.1:{port}"}, tmp / "tocsin.log", port=port)
        server.wait_ready(timeout=120)
        try:
            yield server, smtp
        finally:
            server.stop()


def _setup_link(server: TocsinProcess) -> str:
    found = re.search(r"create the first admin at (http\S+)", server.log_text())
    assert found, f"tocsin serve printed no setup link:\n{server.log_text()[-2000:]}"
    return found.group(1)


def _mail_to(smtp: SmtpFixture, address: str, contains: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for got in smtp.handler.received:
            body = got.message.get_body(("plain",))
            text = body.get_content() if body is not None else ""
            if address in got.rcpt_tos and contains in (str(got.message["Subject"]) + text):
                return text
        time.sleep(0.2)
    pytest.fail(f"no mail to {address} mentioning {contains!r}; received: "
                f"{[(g.rcpt_tos, str(g.message['Subject'])) for g in smtp.handler.received]}")


def _go(page: Page, base: str, nav: str, link: str) -> None:
    """Reach a configuration page the way a person does: the header's Configure, then its link."""
    page.goto(f"{base}/")
    page.locator("nav").get_by_role("link", name=nav, exact=True).click()
    page.get_by_role("link", name=link, exact=True).click()


def test_from_an_empty_database_a_team_is_on_call_and_paged(empty_server, new_page) -> None:  # noqa: ANN001
    server, smtp = empty_server
    base = server.url
    ada = new_page(DESKTOP)

    # 1. The first admin, from the link `tocsin serve` printed.
    ada.goto(f"{base}/login")
    expect(ada.locator(".notice")).to_contain_text("has no users yet")
    ada.goto(_setup_link(server))
    check_a11y(ada, "the setup page")
    screenshot(ada, "first-run-setup")
    ada.get_by_label("Your name").fill("Ada Admin")
    ada.get_by_label("Email (you log in with it)").fill("ada@example.test")
    ada.get_by_label("Password (at least 8 characters)").fill(PASSWORD)
    ada.get_by_role("button", name="Create the administrator").click()
    expect(ada).to_have_url(f"{base}/configure")
    check_a11y(ada, "the configure hub")
    screenshot(ada, "first-run-configure")

    # 2. Rui, invited; he accepts in his own browser.
    _go(ada, base, "Configure", "People")
    ada.get_by_label("Name", exact=True).fill("Rui Responder")
    ada.get_by_label("Email", exact=True).fill("rui@example.test")
    ada.get_by_role("button", name="Create invitation link").click()
    invite = ada.locator("#invite-link").inner_text().strip()
    rui = new_page(DESKTOP)
    rui.goto(invite)
    rui.get_by_label("Password (at least 8 characters)").fill(PASSWORD)
    rui.get_by_role("button", name="Create my account").click()
    expect(rui).to_have_url(f"{base}/")

    # 3. The team.
    _go(ada, base, "Configure", "Teams")
    ada.get_by_role("link", name="New team").click()
    ada.get_by_label("Name", exact=True).fill("Payments")
    ada.get_by_role("button", name="Create team").click()
    choose(ada.get_by_label("Add a member"), "Rui Responder")
    ada.get_by_role("button", name="Add to team").click()
    expect(ada.locator(".flash")).to_contain_text("Rui Responder added to the team")

    # 4. A schedule: one daily layer (Rui first), restricted to today, checked in the preview.
    now = datetime.now(UTC)
    weekday = now.isoweekday()  # the restriction's day checkboxes are numbered Mon=1 .. Sun=7
    _go(ada, base, "Configure", "On-call schedules")
    ada.get_by_role("link", name="New schedule").click()
    ada.get_by_label("Name", exact=True).fill("Payments primary")
    ada.get_by_label("Layer name").fill("Daily")
    ada.get_by_label("Rotation", exact=True).select_option("daily")
    ada.get_by_label("Time zone of the rotation").fill("UTC")
    ada.get_by_label("First hand-off, in that time zone (later hand-offs keep its time of day)").fill(
        f"{now:%Y-%m-%d}T00:00")
    ada.get_by_label("Members in order, one email per line (the first takes the first shift)").fill(
        "rui@example.test\nada@example.test")
    ada.locator(f"#new-r0-d{weekday}").check()
    ada.locator("#new-r0-start").fill("00:00")
    ada.locator("#new-r0-end").fill("23:59")
    ada.get_by_role("button", name="Preview").click()
    expect(ada.locator("#preview")).to_contain_text("Rui Responder")
    ada.get_by_role("button", name="Save").click()
    expect(ada.locator(".flash")).to_contain_text("Schedule created")

    # 5. An escalation policy paging the schedule.
    _go(ada, base, "Configure", "Escalation policies")
    ada.get_by_role("link", name="New policy").click()
    form = ada.locator("#policy-form")
    form.get_by_label("Name", exact=True).fill("Payments on-call")
    choose(form.locator('[name="l0-t0"]'), "Payments primary")
    form.locator('[name="l0-delay"]').fill("5")
    form.get_by_role("button", name="Save policy").first.click()
    expect(ada.locator(".flash")).to_contain_text("Escalation policy saved")

    # 6. The service, owned by the team and paged with the policy.
    _go(ada, base, "Configure", "Services")
    ada.get_by_role("link", name="New service").click()
    form = ada.locator("#service-form")
    form.get_by_label("Name", exact=True).fill("Payments API")
    form.get_by_label("Key (empty: made from the name)").fill("payments-api")
    choose(form.get_by_label("Owner team"), "Payments")
    choose(form.get_by_label("Escalation policy"), "Payments on-call")
    form.get_by_role("button", name="Create service").click()
    expect(ada).to_have_url(re.compile(r"/services/payments-api$"))

    # 7. An Events v2 integration; its key is shown once.
    _go(ada, base, "Configure", "Integrations")
    ada.get_by_role("link", name="New integration").click()
    form = ada.locator("#integration-form")
    form.get_by_label("Name", exact=True).fill("Payments monitoring")
    choose(form.locator('[name="service"]'), "payments-api")
    form.locator('input[name="type"][value="events_v2"]').check()
    form.get_by_role("button", name="Create integration").click()
    key = ada.locator("#integration-key").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{32}", key), key

    # 8. A monitoring tool sends an alert the way a PagerDuty client does; Rui is paged by email.
    sent = httpx.post(f"{base}/v2/enqueue", timeout=10, trust_env=False, json={
        "routing_key": key, "event_action": "trigger", "dedup_key": "payments-5xx",
        "payload": {"summary": SUMMARY, "source": "prometheus", "severity": "critical"}})
    assert sent.status_code == 202, sent.text
    mail = _mail_to(smtp, "rui@example.test", SUMMARY)
    link = re.search(rf"{re.escape(base)}/n/\S+", mail)
    assert link, f"the page has no one-time link:\n{mail}"

    # 9. Rui acknowledges from the mail's link; the console shows it.
    rui.goto(link.group(0).rstrip(".,)"))
    rui.get_by_role("button", name=re.compile("Acknowledge", re.I)).click()
    expect(rui.locator("body")).to_contain_text(re.compile("acknowledged", re.I))
    ada.goto(f"{base}/alerts")
    expect(ada.locator("main")).to_contain_text(SUMMARY)
    expect(ada.locator("tbody tr", has_text=SUMMARY)).to_contain_text("acknowledged")
