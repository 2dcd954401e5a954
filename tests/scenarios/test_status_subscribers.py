"""Status page subscribers end to end, through a real SMTP server (aiosmtpd on loopback) and a
real local HTTP webhook receiver: a customer subscribes and confirms by email, gets each update
with a one-click unsubscribe link, unsubscribes and gets nothing more; a webhook gets signed
Statuspage-shaped JSON, is retried when it fails and given up on after the last attempt; a
maintenance starts and ends on its own and says so.

Runs on SQLite and PostgreSQL; time moves only with the ManualClock; the engine runs the status
page modules.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.integration.test_notify_email import SmtpFixture
from tests.integration.test_notify_webhook import Receiver
from tocsin.config import Settings
from tocsin.engine.modules import statuspage_deliver, statuspage_maintenance
from tocsin.engine.runner import Engine
from tocsin.notify.webhook import verify_webhook
from tocsin.statuspage.deliver import MAX_ATTEMPTS
from tocsin.statuspage import subscribers
from tocsin.statuspage.models import StatusSubscriber, SubscriberDelivery

SP = "/api/v1/status-pages"
PUBLIC = "https://tocsin.example"


@pytest.fixture
def smtp():
    with SmtpFixture() as server:
        yield server


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


@pytest.fixture
def world(app, client, db, clock, make_person, smtp):
    admin, bob = make_person("admin", name="Ada"), make_person("responder", name="Bob")
    r = client.post(SP, json={"slug": "acme", "name": "Acme Status"}, headers=admin.headers)
    assert r.status_code == 201, r.text
    r = client.post(f"{SP}/acme/components", json={"name": "Card payments API"}, headers=admin.headers)
    assert r.status_code == 201, r.text
    # the public cache renders the new page off the request path; confirm links under it need it known
    assert app.state.status_cache.wait_idle()
    # the app's secret key (conftest) signs the unsubscribe links the engine writes
    settings = Settings(smtp_url=smtp.url, smtp_from="status@acme.test", secret_key="test-secret",
                        outbound_allow="127.0.0.0/8", public_url=PUBLIC)
    engine = Engine(db, clock, settings=settings, modules=[("statuspage_maintenance", statuspage_maintenance),
                                                           ("statuspage_deliver", statuspage_deliver)])
    yield {"admin": admin, "bob": bob, "engine": engine, "component": r.json()["id"], "db": db}
    engine.close()


def post_update(client, who, status, body, **extra):
    r = client.post(f"{SP}/acme/incidents", json={"name": "Card payments failing", "status": status, "body": body,
                                                   **extra}, headers=who.headers) \
        if "into" not in extra else client.post(f"{SP}/acme/incidents/{extra.pop('into')}/updates",
                                                json={"status": status, "body": body, **extra}, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def local_path(url: str) -> str:
    assert url.startswith(PUBLIC + "/status/acme/"), url
    return urlsplit(url).path


def subscribe_and_confirm(client, smtp, world, email="cust@example.com"):
    r = client.post("/status/acme/subscribe", content=f"email={email}",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and "Check your inbox" in r.text
    world["engine"].tick()
    (mail,) = [m for m in smtp.handler.received if email in m.rcpt_tos]
    assert mail.message["Subject"] == "Confirm your subscription to Acme Status"
    link = re.search(r"https://\S+/confirm/\S+", mail.message.get_content()).group(0)
    # opening the link (or a mail scanner fetching it) confirms nothing: it shows a button
    page = client.get(local_path(link))
    assert page.status_code == 200 and "Subscribed" not in page.text
    assert f'<form method="post" action="{local_path(link)}">' in page.text and "Confirm subscription" in page.text
    assert not confirmed(world, email)
    assert client.get(local_path(link)).status_code == 200, "still unconfirmed after any number of GETs"
    r = client.post(local_path(link), headers={"Origin": "http://testserver"})
    assert r.status_code == 200 and "Subscribed" in r.text
    assert confirmed(world, email)
    assert client.get(local_path(link)).status_code == 404, "a confirmation link works once"
    assert client.post(local_path(link)).status_code == 404
    smtp.handler.received.clear()


def confirmed(world, email):
    with world["db"].unit_of_work() as s:
        return s.execute(sa.select(StatusSubscriber.confirmed_at).where(
            StatusSubscriber.address == email)).scalar_one() is not None


def test_customer_subscribes_gets_updates_and_unsubscribes_in_one_click(client, smtp, world):
    # Runbook: customer subscribes → confirms from the email → Bob posts an incident → the customer
    # is emailed with an unsubscribe link → one click → Bob posts again → no more email.
    before = client.post("/status/acme/subscribe", content="email=cust@example.com",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    world["engine"].tick()
    smtp.handler.received.clear()
    assert before.status_code == 200
    subscribe_and_confirm_after_resend_window(client, smtp, world)
    si = post_update(client, world["bob"], "investigating", "Some card payments fail.",
                     component_statuses={world["component"]: "partial_outage"})
    world["engine"].tick()
    (mail,) = smtp.handler.received
    assert mail.rcpt_tos == ["cust@example.com"]
    assert mail.message["Subject"] == "[Acme Status] Card payments failing: Investigating"
    text = mail.message.get_content()
    assert "Some card payments fail." in text and "Card payments API: Partial outage" in text
    unsub = mail.message["List-Unsubscribe"].strip("<>")
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"Unsubscribe: {unsub}" in text
    page = client.get(local_path(unsub))
    assert page.status_code == 200 and "<button" in page.text
    r = client.post(local_path(unsub), content="List-Unsubscribe=One-Click",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200 and "Unsubscribed" in r.text
    smtp.handler.received.clear()
    post_update(client, world["bob"], "resolved", "Fixed.", into=si["id"])
    world["engine"].tick()
    assert smtp.handler.received == []


def subscribe_and_confirm_after_resend_window(client, smtp, world):
    """A second request within ten minutes sends nothing new; later it does, and that link confirms."""
    r = client.post("/status/acme/subscribe", content="email=cust@example.com",
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200
    world["engine"].tick()
    assert smtp.handler.received == [], "no mail bombing"
    world["engine"].clock.advance(minutes=11)
    subscribe_and_confirm(client, smtp, world)


@pytest.mark.parametrize("path, body, status, words", [
    ("/status/acme/subscribe", "email=not-an-address", 400, "valid email"),
    ("/status/nope/subscribe", "email=a@example.com", 404, "no such status page"),
    ("/status/acme/confirm/forged-token", None, 404, "not valid"),
    ("/status/acme/unsubscribe/forged-token", None, 404, "not valid"),
    ("/status/acme/subscribe", "email=%3Cscript%3Ealert(1)%3C/script%3E@x.test", 400, "valid email"),
])
def test_bad_subscriber_requests_get_a_readable_page(client, world, path, body, status, words):
    r = client.post(path, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}) \
        if body is not None else client.get(path)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html") and words in r.text
    assert "<script>" not in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]


def subscribe(client, email, ip=None):
    """POST the public form, from another client address when `ip` is given."""
    if ip is not None:
        client = TestClient(client.app, client=(ip, 50000), raise_server_exceptions=False)
    return client.post("/status/acme/subscribe", content=f"email={email}",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def test_a_cross_site_confirmation_post_is_refused(client, smtp, world):
    subscribe(client, "x@example.com")
    world["engine"].tick()
    (mail,) = smtp.handler.received
    link = local_path(re.search(r"https://\S+/confirm/\S+", mail.message.get_content()).group(0))
    for origin in ("https://evil.example", "null"):
        r = client.post(link, headers={"Origin": origin})
        assert r.status_code == 403 and "status page itself" in r.text
    assert not confirmed(world, "x@example.com")
    # the page's own origin is fine
    r = client.post(link, headers={"Origin": "http://testserver"})
    assert r.status_code == 200 and confirmed(world, "x@example.com")


def test_one_address_is_limited_to_ten_subscribe_requests_in_ten_minutes(client, world, clock):
    for n in range(10):
        assert subscribe(client, f"c{n}@example.com").status_code == 200
    r = subscribe(client, "c10@example.com")
    assert r.status_code == 429 and r.headers["content-type"].startswith("text/html")
    assert "Too many requests" in r.text and "try again in about 10 minutes" in r.text
    assert r.headers["retry-after"] == "600"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    with world["db"].unit_of_work() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(StatusSubscriber)).scalar_one() == 10
    clock.advance(minutes=10)  # the first request is now ten minutes old
    assert subscribe(client, "c10@example.com").status_code == 200


def test_a_page_takes_a_limited_number_of_unconfirmed_subscribers_per_hour(client, world, clock, monkeypatch):
    monkeypatch.setattr(subscribers, "MAX_PENDING_PER_PAGE", 3)
    for n in range(3):  # each from its own address: the per-IP limit is not what stops them
        assert subscribe(client, f"p{n}@example.com", ip=f"198.51.100.{n}").status_code == 200
        clock.advance(minutes=10)
    r = subscribe(client, "p3@example.com", ip="198.51.100.3")
    assert r.status_code == 429 and "Too many requests" in r.text
    assert r.headers["retry-after"] == str(30 * 60), "until the oldest request is an hour old"
    # an address already waiting for its confirmation is not a new subscriber
    clock.advance(minutes=11)
    assert subscribe(client, "p0@example.com", ip="198.51.100.4").status_code == 200
    # a confirmed subscriber no longer counts
    with world["db"].unit_of_work() as s:
        s.execute(sa.update(StatusSubscriber).where(StatusSubscriber.address == "p2@example.com")
                  .values(confirmed_at=clock.now()))
    assert subscribe(client, "p3@example.com", ip="198.51.100.5").status_code == 200
    assert subscribe(client, "p4@example.com", ip="198.51.100.6").status_code == 429
    clock.advance(minutes=20)  # the first request is now more than an hour old
    assert subscribe(client, "p4@example.com", ip="198.51.100.7").status_code == 200


def test_webhook_gets_signed_statuspage_json_and_is_retried(client, world, receiver, db):
    hook = client.post(f"{SP}/acme/webhooks", json={"url": receiver.url()}, headers=world["admin"].headers).json()
    receiver.status = 503
    si = post_update(client, world["bob"], "identified", "We found the cause.",
                     component_statuses={world["component"]: "major_outage"})
    world["engine"].tick()
    assert len(receiver.posts) == 1
    world["engine"].tick()
    assert len(receiver.posts) == 1, "backing off"
    receiver.status = 200
    world["engine"].clock.advance(seconds=31)
    world["engine"].tick()
    first, second = receiver.posts
    assert first.body == second.body and first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert verify_webhook(hook["signing_secret"], second.body, second.headers["X-Tocsin-Timestamp"],
                          second.headers["X-Tocsin-Signature"], now=world["engine"].clock.now())
    data = json.loads(second.body)
    assert data["page"]["name"] == "Acme Status"
    # the page status agrees with the page's own status.json: the only component is down → critical
    assert client.app.state.status_cache.wait_idle()
    status = client.get("/status/acme/api/v2/status.json").json()["status"]
    assert (data["page"]["status_indicator"], data["page"]["status_description"]) == \
        (status["indicator"], status["description"]) == ("critical", "Major System Outage")
    incident = data["incident"]
    assert (incident["id"], incident["name"], incident["status"], incident["impact"]) == \
        (si["id"], "Card payments failing", "identified", "critical")
    assert incident["incident_updates"][0]["body"] == "We found the cause."
    assert incident["components"][0]["status"] == "major_outage"
    # a component changed outside an incident goes to webhooks as a component update
    r = client.patch(f"{SP}/acme/components/{world['component']}", json={"status": "operational"},
                     headers=world["bob"].headers)
    assert r.status_code == 200
    world["engine"].tick()
    update = json.loads(receiver.posts[-1].body)
    assert update["component_update"]["old_status"] == "major_outage"
    assert update["component"]["status"] == "operational"


def test_a_webhook_that_keeps_failing_is_given_up_on(client, world, receiver, db):
    client.post(f"{SP}/acme/webhooks", json={"url": receiver.url()}, headers=world["admin"].headers)
    receiver.status = 500
    post_update(client, world["bob"], "investigating", "Looking.")
    for _ in range(MAX_ATTEMPTS):
        world["engine"].tick()
        world["engine"].clock.advance(minutes=16)
    world["engine"].tick()
    assert len(receiver.posts) == MAX_ATTEMPTS
    with db.unit_of_work() as s:
        (row,) = s.execute(sa.select(SubscriberDelivery)).scalars()
        assert row.failed_at is not None and row.sent_at is None
        assert row.last_error == f"gave up after {MAX_ATTEMPTS} attempts: HTTP 500 Internal Server Error: ok"


def test_maintenance_starts_and_completes_on_its_own(client, world, receiver, clock):
    client.post(f"{SP}/acme/webhooks", json={"url": receiver.url()}, headers=world["admin"].headers)
    start = clock.now() + timedelta(hours=1)
    r = client.post(f"{SP}/acme/maintenances", headers=world["bob"].headers, json={
        "name": "Database upgrade", "body": "Short pauses are possible.", "scheduled_for": start.isoformat(),
        "scheduled_until": (start + timedelta(hours=2)).isoformat(), "components": [world["component"]]})
    assert r.status_code == 201, r.text
    world["engine"].tick()
    statuses = [json.loads(p.body)["incident"]["status"] for p in receiver.posts]
    assert statuses == ["scheduled"]

    def component():
        return client.get(f"{SP}/acme/components", headers=world["bob"].headers).json()[0]["status"]

    clock.advance(minutes=59)
    world["engine"].tick()
    assert component() == "operational"
    clock.advance(minutes=1)
    world["engine"].tick()
    assert component() == "under_maintenance"
    clock.advance(hours=2)
    world["engine"].tick()
    assert component() == "operational"
    statuses = [json.loads(p.body)["incident"]["status"] for p in receiver.posts]
    assert statuses == ["scheduled", "in_progress", "completed"]


def test_claiming_one_update_for_many_webhooks_costs_the_same_queries(client, world, db, clock):
    """The claim loads each page's components and page object, and each incident and update, once
    per batch: the statements a claim runs do not grow with the number of subscribers."""
    from sqlalchemy import event

    from tocsin.statuspage import deliver

    def add_hooks(n):
        for i in range(n):
            r = client.post(f"{SP}/acme/webhooks", json={"url": f"https://hooks{i}.example/{len(added)}"},
                            headers=world["admin"].headers)
            assert r.status_code == 201, r.text
            added.append(r.json())

    def claim_statements():
        statements: list[str] = []
        me = threading.get_ident()

        def count(_conn, _cursor, statement, *_args):
            if threading.get_ident() == me:  # not the app's threads (e.g. a status cache refresh on a NOTIFY)
                statements.append(statement)

        with db.unit_of_work() as s:
            event.listen(db.engine, "before_cursor_execute", count)
            try:
                sends = deliver.claim(s, now=clock.now(), base=PUBLIC, secret="test-secret")
            finally:
                event.remove(db.engine, "before_cursor_execute", count)
            s.rollback()  # leave the rows due
        assert sends and all(x.kind == "webhook" for x in sends), [x.detail for x in sends]
        return len(sends), len(statements)

    added: list = []
    add_hooks(5)
    si = post_update(client, world["bob"], "investigating", "Looking.",
                     component_statuses={world["component"]: "major_outage"})
    few = claim_statements()
    with db.unit_of_work() as s:
        s.execute(sa.delete(SubscriberDelivery))
    add_hooks(15)
    post_update(client, world["bob"], "identified", "Found it.", into=si["id"])
    many = claim_statements()
    assert (few[0], many[0]) == (5, 20)
    assert many[1] == few[1], (few, many)
