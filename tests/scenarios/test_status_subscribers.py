"""Status page subscribers end to end, through a real SMTP server (aiosmtpd on loopback) and a
real local HTTP webhook receiver: a customer subscribes and confirms by email, gets each update
with a one-click unsubscribe link, unsubscribes and gets nothing more; a webhook gets signed
Statuspage-shaped JSON, is retried when it fails and given up on after the last attempt; a
maintenance starts and ends on its own and says so.

Written on the harness's runbook (tests/harness/scenario.py): Ada and Bob work through the API,
customers through the public pages of the runbook's app; SQLite and PostgreSQL; time moves only
with the ManualClock; the whole engine ticks (its status page modules send).
"""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from tests.harness.ingest import AppliedClient
from tocsin.notify.webhook import verify_webhook
from tocsin.statuspage import subscribers
from tocsin.statuspage.deliver import MAX_ATTEMPTS
from tocsin.statuspage.models import StatusSubscriber, SubscriberDelivery

SP = "/status-pages"
PUBLIC = "https://tocsin.example"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

pytestmark = pytest.mark.usefixtures("component")  # every scenario starts from the page with its component


@pytest.fixture
def rb(runbook):
    """Ada (admin) made the status page `acme` with the component "Card payments API"; Bob posts updates."""
    runbook.configure(public_url=PUBLIC)
    runbook.person("Ada", role="admin")
    runbook.person("Bob")
    runbook.as_("Ada").post(SP, slug="acme", name="Acme Status")
    return runbook


@pytest.fixture
def component(rb) -> str:
    """The page's one component, "Card payments API"; its id."""
    made = rb.as_("Ada").post(f"{SP}/acme/components", name="Card payments API")["id"]
    # the public cache renders the new page off the request path; confirm links under it need it known
    assert rb.http.app.state.status_cache.wait_idle()
    return made


def post_update(rb, status, body, into=None, **extra):
    """Bob posts a status page incident (or, `into` one, an update)."""
    if into is None:
        return rb.as_("Bob").post(f"{SP}/acme/incidents", name="Card payments failing", status=status, body=body,
                                  **extra)
    return rb.as_("Bob").post(f"{SP}/acme/incidents/{into}/updates", status=status, body=body, **extra)


def local_path(url: str) -> str:
    assert url.startswith(PUBLIC + "/status/acme/"), url
    return urlsplit(url).path


def subscribe(rb, email, ip=None):
    """POST the public form, from another client address when `ip` is given."""
    client = rb.http if ip is None else AppliedClient(rb.http.app, client=(ip, 50000), raise_server_exceptions=False)
    return client.post("/status/acme/subscribe", content=f"email={email}", headers=FORM)


def subscribe_and_confirm(rb, email="cust@example.com"):
    r = subscribe(rb, email)
    assert r.status_code == 200 and "Check your inbox" in r.text
    rb.tick()
    mail = rb.expect_email(email)
    assert mail["Subject"] == "Confirm your subscription to Acme Status"
    link = re.search(r"https://\S+/confirm/\S+", mail.get_content()).group(0)
    # opening the link (or a mail scanner fetching it) confirms nothing: it shows a button
    page = rb.http.get(local_path(link))
    assert page.status_code == 200 and "Subscribed" not in page.text
    assert f'<form method="post" action="{local_path(link)}">' in page.text and "Confirm subscription" in page.text
    assert not confirmed(rb, email)
    assert rb.http.get(local_path(link)).status_code == 200, "still unconfirmed after any number of GETs"
    r = rb.http.post(local_path(link), headers={"Origin": "http://testserver"})
    assert r.status_code == 200 and "Subscribed" in r.text
    assert confirmed(rb, email)
    assert rb.http.get(local_path(link)).status_code == 404, "a confirmation link works once"
    assert rb.http.post(local_path(link)).status_code == 404


def confirmed(rb, email):
    (subscriber,) = rb.rows(StatusSubscriber, StatusSubscriber.address == email)
    return subscriber.confirmed_at is not None


def test_customer_subscribes_gets_updates_and_unsubscribes_in_one_click(rb, component):
    # Runbook: customer subscribes → confirms from the email → Bob posts an incident → the customer
    # is emailed with an unsubscribe link → one click → Bob posts again → no more email.
    before = subscribe(rb, "cust@example.com")
    rb.tick()
    rb.expect_email("cust@example.com")  # a first confirmation mail, left unopened
    assert before.status_code == 200
    subscribe_and_confirm_after_resend_window(rb)
    si = post_update(rb, "investigating", "Some card payments fail.",
                     component_statuses={component: "partial_outage"})
    rb.tick()
    mail = rb.expect_email("cust@example.com", "[Acme Status] Card payments failing: Investigating")
    rb.expect_nothing_more()
    assert mail["Subject"] == "[Acme Status] Card payments failing: Investigating"
    text = mail.get_content()
    assert "Some card payments fail." in text and "Card payments API: Partial outage" in text
    unsub = mail["List-Unsubscribe"].strip("<>")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"Unsubscribe: {unsub}" in text
    page = rb.http.get(local_path(unsub))
    assert page.status_code == 200 and "<button" in page.text
    r = rb.http.post(local_path(unsub), content="List-Unsubscribe=One-Click", headers=FORM)
    assert r.status_code == 200 and "Unsubscribed" in r.text
    post_update(rb, "resolved", "Fixed.", into=si["id"])
    rb.tick()
    rb.expect_nothing_more()


def subscribe_and_confirm_after_resend_window(rb):
    """A second request within ten minutes sends nothing new; later it does, and that link confirms."""
    assert subscribe(rb, "cust@example.com").status_code == 200
    rb.tick()
    rb.expect_nothing_more()  # no mail bombing
    rb.clock.advance(minutes=11)
    subscribe_and_confirm(rb)


@pytest.mark.parametrize("path, body, status, words", [
    ("/status/acme/subscribe", "email=not-an-address", 400, "valid email"),
    ("/status/nope/subscribe", "email=a@example.com", 404, "no such status page"),
    ("/status/acme/confirm/forged-token", None, 404, "not valid"),
    ("/status/acme/unsubscribe/forged-token", None, 404, "not valid"),
    ("/status/acme/subscribe", "email=%3Cscript%3Ealert(1)%3C/script%3E@x.test", 400, "valid email"),
])
def test_bad_subscriber_requests_get_a_readable_page(rb, path, body, status, words):
    r = rb.http.post(path, content=body, headers=FORM) if body is not None else rb.http.get(path)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html") and words in r.text
    assert "<script>" not in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]


def test_a_cross_site_confirmation_post_is_refused(rb):
    subscribe(rb, "x@example.com")
    rb.tick()
    mail = rb.expect_email("x@example.com")
    rb.expect_nothing_more()
    link = local_path(re.search(r"https://\S+/confirm/\S+", mail.get_content()).group(0))
    for origin in ("https://evil.example", "null"):
        r = rb.http.post(link, headers={"Origin": origin})
        assert r.status_code == 403 and "status page itself" in r.text
    assert not confirmed(rb, "x@example.com")
    # the page's own origin is fine
    r = rb.http.post(link, headers={"Origin": "http://testserver"})
    assert r.status_code == 200 and confirmed(rb, "x@example.com")


def test_one_address_is_limited_to_ten_subscribe_requests_in_ten_minutes(rb):
    for n in range(10):
        assert subscribe(rb, f"c{n}@example.com").status_code == 200
    r = subscribe(rb, "c10@example.com")
    assert r.status_code == 429 and r.headers["content-type"].startswith("text/html")
    assert "Too many requests" in r.text and "try again in about 10 minutes" in r.text
    assert r.headers["retry-after"] == "600"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert len(rb.rows(StatusSubscriber)) == 10
    rb.clock.advance(minutes=10)  # the first request is now ten minutes old
    assert subscribe(rb, "c10@example.com").status_code == 200


def test_a_page_takes_a_limited_number_of_unconfirmed_subscribers_per_hour(rb, monkeypatch):
    monkeypatch.setattr(subscribers, "MAX_PENDING_PER_PAGE", 3)
    for n in range(3):  # each from its own address: the per-IP limit is not what stops them
        assert subscribe(rb, f"p{n}@example.com", ip=f"198.51.100.{n}").status_code == 200
        rb.clock.advance(minutes=10)
    r = subscribe(rb, "p3@example.com", ip="198.51.100.3")
    assert r.status_code == 429 and "Too many requests" in r.text
    assert r.headers["retry-after"] == str(30 * 60), "until the oldest request is an hour old"
    # an address already waiting for its confirmation is not a new subscriber
    rb.clock.advance(minutes=11)
    assert subscribe(rb, "p0@example.com", ip="198.51.100.4").status_code == 200
    # a confirmed subscriber no longer counts
    with rb.db.unit_of_work() as s:
        s.execute(sa.update(StatusSubscriber).where(StatusSubscriber.address == "p2@example.com")
                  .values(confirmed_at=rb.now))
    assert subscribe(rb, "p3@example.com", ip="198.51.100.5").status_code == 200
    assert subscribe(rb, "p4@example.com", ip="198.51.100.6").status_code == 429
    rb.clock.advance(minutes=20)  # the first request is now more than an hour old
    assert subscribe(rb, "p4@example.com", ip="198.51.100.7").status_code == 200


def add_webhook(rb, url=None):
    """Ada adds a webhook subscriber (the harness's receiver unless `url`); return it."""
    return rb.as_("Ada").post(f"{SP}/acme/webhooks", url=url or rb.receiver.url())


def test_webhook_gets_signed_statuspage_json_and_is_retried(rb, component):
    receiver = rb.receiver
    hook = add_webhook(rb)
    receiver.status = 503
    si = post_update(rb, "identified", "We found the cause.", component_statuses={component: "major_outage"})
    rb.tick()
    assert len(receiver.posts) == 1
    rb.tick()
    assert len(receiver.posts) == 1, "backing off"
    receiver.status = 200
    rb.tick(seconds=31)
    first, second = receiver.posts
    assert first.body == second.body and first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert verify_webhook(hook["signing_secret"], second.body, second.headers["X-Tocsin-Timestamp"],
                          second.headers["X-Tocsin-Signature"], now=rb.now)
    data = json.loads(second.body)
    assert data["page"]["name"] == "Acme Status"
    # the page status agrees with the page's own status.json: the only component is down → critical
    assert rb.http.app.state.status_cache.wait_idle()
    status = rb.http.get("/status/acme/api/v2/status.json").json()["status"]
    assert (data["page"]["status_indicator"], data["page"]["status_description"]) == \
        (status["indicator"], status["description"]) == ("critical", "Major System Outage")
    incident = data["incident"]
    assert (incident["id"], incident["name"], incident["status"], incident["impact"]) == \
        (si["id"], "Card payments failing", "identified", "critical")
    assert incident["incident_updates"][0]["body"] == "We found the cause."
    assert incident["components"][0]["status"] == "major_outage"
    # a component changed outside an incident goes to webhooks as a component update
    rb.as_("Bob").patch(f"{SP}/acme/components/{component}", status="operational")
    rb.tick()
    update = json.loads(receiver.posts[-1].body)
    assert update["component_update"]["old_status"] == "major_outage"
    assert update["component"]["status"] == "operational"


def test_a_webhook_that_keeps_failing_is_given_up_on(rb):
    add_webhook(rb)
    rb.receiver.status = 500
    post_update(rb, "investigating", "Looking.")
    for _ in range(MAX_ATTEMPTS):
        rb.tick()
        rb.clock.advance(minutes=16)
    rb.tick()
    assert len(rb.receiver.posts) == MAX_ATTEMPTS
    (row,) = rb.rows(SubscriberDelivery)
    assert row.failed_at is not None and row.sent_at is None
    assert row.last_error == f"gave up after {MAX_ATTEMPTS} attempts: HTTP 500 Internal Server Error"


def test_maintenance_starts_and_completes_on_its_own(rb, component):
    add_webhook(rb)
    start = rb.now + timedelta(hours=1)
    rb.as_("Bob").post(f"{SP}/acme/maintenances", name="Database upgrade", body="Short pauses are possible.",
                       scheduled_for=start.isoformat(), scheduled_until=(start + timedelta(hours=2)).isoformat(),
                       components=[component])
    rb.tick()
    statuses = [json.loads(p.body)["incident"]["status"] for p in rb.receiver.posts]
    assert statuses == ["scheduled"]

    def component():
        return rb.as_("Bob").get(f"{SP}/acme/components")["items"][0]["status"]

    rb.tick(minutes=59)
    assert component() == "operational"
    rb.tick(minutes=1)
    assert component() == "under_maintenance"
    rb.tick(hours=2)
    assert component() == "operational"
    statuses = [json.loads(p.body)["incident"]["status"] for p in rb.receiver.posts]
    assert statuses == ["scheduled", "in_progress", "completed"]


def test_claiming_one_update_for_many_webhooks_costs_the_same_queries(rb, component):
    """The claim loads each page's components and page object, and each incident and update, once
    per batch: the statements a claim runs do not grow with the number of subscribers."""
    from sqlalchemy import event

    from tocsin.statuspage import deliver

    db = rb.db

    def add_hooks(n):
        for i in range(n):
            added.append(add_webhook(rb, f"https://hooks{i}.example/{len(added)}"))

    def claim_statements():
        statements: list[str] = []
        me = threading.get_ident()

        def count(_conn, _cursor, statement, *_args):
            if threading.get_ident() == me:  # not the app's threads (e.g. a status cache refresh on a NOTIFY)
                statements.append(statement)

        with db.unit_of_work() as s:
            # This session's connection only: the app renders the public page off the request path,
            # on the same engine, and those statements are not the claim's.
            conn = s.connection()
            event.listen(conn, "before_cursor_execute", count)
            try:
                sends = deliver.claim(s, now=rb.now, base=PUBLIC, secret=rb.settings.secret_key)
            finally:
                event.remove(conn, "before_cursor_execute", count)
            s.rollback()  # leave the rows due
        assert sends and all(x.kind == "webhook" for x in sends), [x.detail for x in sends]
        return len(sends), len(statements)

    added: list = []
    add_hooks(5)
    si = post_update(rb, "investigating", "Looking.", component_statuses={component: "major_outage"})
    few = claim_statements()
    with db.unit_of_work() as s:
        s.execute(sa.delete(SubscriberDelivery))
    add_hooks(15)
    post_update(rb, "identified", "Found it.", into=si["id"])
    many = claim_statements()
    assert (few[0], many[0]) == (5, 20)
    assert many[1] == few[1], (few, many)
