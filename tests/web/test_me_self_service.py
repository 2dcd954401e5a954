"""/me as a responder lives in it: contact methods verified in the page (the code arrives by real
SMTP and is typed back), test pages, the notification rules editor and the sentence it adds up to,
the "you cannot be paged" warning (also on the dashboard), the hand-off notices switch, the pages
sent to me (restricted incidents stay hidden) and my action items; and the no-mail-server banner
that only admins see."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa

from tests.harness.console import post_form
from tocsin.audit.models import AuditEntry
from tocsin.contacts.models import ContactMethod, NotificationRule
from tocsin.escalation.models import Notification
from tocsin.ids import new_id
from tocsin.incidents.service import Declaration, declare
from tocsin.severities import Severity
from tocsin.users.models import User

_CODE = re.compile(r"verification code is (\d{6})")


@pytest.fixture
def app(db, clock, smtp):
    """The console with a real (aiosmtpd) mail server configured."""
    from tocsin.app import create_app
    from tocsin.config import Settings

    application = create_app(settings=Settings(secret_key="test-secret", smtp_url=smtp.url,
                                               smtp_from="tocsin@example.test"), db=db, clock=clock)
    yield application
    application.state.ingest.close()


def _methods(db, user_id) -> list[ContactMethod]:
    with db.unit_of_work() as s:
        rows = list(s.execute(sa.select(ContactMethod).where(ContactMethod.user_id == user_id)).scalars())
        s.expunge_all()
        return rows


def _add_email(c, address: str) -> uuid.UUID:
    r = post_form(c, "/me/contacts", {"type": "email", "address": address}, page="/me")
    assert r.status_code == 303, r.text
    [method] = [m for m in _methods_of(c) if m.address == address]
    return method.id


def _methods_of(c) -> list[ContactMethod]:
    return _methods(c.db, c.user.id)


@pytest.fixture
def responder(web_client, db):
    c = web_client("responder")
    c.db = db
    return c


def _verify(c, smtp, address: str) -> uuid.UUID:
    mid = _add_email(c, address)
    assert post_form(c, f"/me/contacts/{mid}/send-code", page="/me").status_code == 303
    code = _CODE.search(smtp.handler.received[-1].message.get_content()).group(1)
    assert post_form(c, f"/me/contacts/{mid}/verify", {"code": code}, page="/me").status_code == 303
    return mid


def test_a_responder_verifies_an_email_method_in_the_page_with_the_code_it_received(responder, smtp, clock):
    c = responder
    mid = _add_email(c, "rui.pager@example.test")
    page = c.get("/me").text
    assert "not verified" in page and f'action="/me/contacts/{mid}/send-code"' in page
    assert f'action="/me/contacts/{mid}/verify"' not in page, "no code field before a code is sent"

    r = post_form(c, f"/me/contacts/{mid}/send-code", page="/me")
    assert r.status_code == 303 and r.headers["location"] == f"/me#method-{mid}"
    [mail] = smtp.handler.received
    assert mail.rcpt_tos == ["rui.pager@example.test"] and mail.message["Subject"] == "tocsin verification code"
    code = _CODE.search(mail.message.get_content()).group(1)
    page = c.get("/me").text
    assert "Code sent to rui.pager@example.test: type it in below within 15 minutes" in page  # the flash
    assert f'<label for="code-{mid}">Code sent to rui.pager@example.test</label>' in page

    wrong = "000000" if code != "000000" else "111111"
    r = post_form(c, f"/me/contacts/{mid}/verify", {"code": wrong}, page="/me")
    assert r.status_code == 303
    assert "That code is wrong (4 tries left)" in c.get("/me").text
    r = post_form(c, f"/me/contacts/{mid}/send-code", page="/me")
    assert r.status_code == 409, "one code a minute"

    r = post_form(c, f"/me/contacts/{mid}/verify", {"code": code}, page="/me")
    assert r.status_code == 303
    page = c.get("/me").text
    assert "rui.pager@example.test is verified" in page
    assert 'class="badge state-verified">verified' in page
    # the first verified method pages at once for any urgency until the person sets their own rules
    assert "<strong>High urgency:</strong> email at once" in page
    [m] = _methods_of(c)
    assert m.verified_at == clock.now()


def test_verify_and_send_code_refuse_bad_input_and_others_methods(responder, web_client, smtp):
    c = responder
    mid = _add_email(c, "rui.pager@example.test")
    assert post_form(c, f"/me/contacts/{mid}/verify", {"code": "123456"}, page="/me").status_code == 409, \
        "no code pending"
    assert post_form(c, f"/me/contacts/{mid}/verify", {"code": ""}, page="/me").status_code == 422
    assert post_form(c, "/me/contacts/not-a-uuid/send-code", page="/me").status_code == 404
    assert post_form(c, f"/me/contacts/{mid}/test", page="/me").status_code == 409, "test only a verified method"
    other = web_client("responder")
    assert post_form(other, f"/me/contacts/{mid}/send-code", page="/me").status_code in (403, 404)
    assert c.post(f"/me/contacts/{mid}/send-code", data={}, follow_redirects=False).status_code == 403, "no CSRF"
    assert smtp.handler.received == []


def test_send_test_page_goes_through_the_verified_method(responder, smtp):
    c = responder
    mid = _verify(c, smtp, "rui.pager@example.test")
    r = post_form(c, f"/me/contacts/{mid}/test", page="/me")
    assert r.status_code == 303
    assert smtp.handler.received[-1].message["Subject"] == "tocsin test message"
    assert "Test message sent to rui.pager@example.test" in c.get("/me").text


def test_a_code_that_cannot_be_sent_says_why(web_client, app):
    app.state.settings = app.state.settings.model_copy(update={"smtp_url": None})
    c = web_client("responder")
    r = post_form(c, "/me/contacts", {"type": "email", "address": "x.y@example.test"}, page="/me")
    assert r.status_code == 303
    mid = re.search(r'action="/me/contacts/([0-9a-f-]{36})/send-code"', c.get("/me").text).group(1)
    assert post_form(c, f"/me/contacts/{mid}/send-code", page="/me").status_code == 303
    assert "The code could not be sent to x.y@example.test: no email server configured (set TOCSIN_SMTP_URL)" \
        in c.get("/me").text


def test_the_rules_editor_adds_and_removes_rules_and_says_what_they_add_up_to(responder, smtp, db):
    c = responder
    first = _verify(c, smtp, "rui.pager@example.test")
    second = _verify(c, smtp, "rui.phone-mail@example.test")
    with db.unit_of_work() as s:  # the automatic rule of the first verified method goes
        s.execute(sa.delete(NotificationRule).where(NotificationRule.user_id == c.user.id))
    page = c.get("/me").text
    assert "no rule: one email to" in page
    for method, delay, urgency in ((first, "0", "high"), (second, "2", "high"), (first, "0", "low")):
        r = post_form(c, "/me/rules", {"contact_method_id": str(method), "delay_minutes": delay,
                                       "urgency": urgency}, page="/me")
        assert r.status_code == 303 and r.headers["location"] == "/me#rules"
    page = c.get("/me").text
    assert "<strong>High urgency:</strong> email at once, email after 2 min" in page
    assert "<strong>Low urgency:</strong> email at once" in page
    assert 'id="paging-warning"' not in page

    bad = [({"contact_method_id": str(first), "delay_minutes": "soon", "urgency": "high"}, 422),
           ({"contact_method_id": str(first), "delay_minutes": "5000", "urgency": "high"}, 422),
           ({"contact_method_id": str(first), "delay_minutes": "1", "urgency": "urgent"}, 422),
           ({"contact_method_id": "nope", "delay_minutes": "1", "urgency": "high"}, 404),
           ({"contact_method_id": str(uuid.uuid4()), "delay_minutes": "1", "urgency": "high"}, 422),
           ({"contact_method_id": str(first), "delay_minutes": "0", "urgency": "high"}, 409)]  # exists already
    for form, status in bad:
        assert post_form(c, "/me/rules", form, page="/me").status_code == status, form

    with db.unit_of_work() as s:
        rule_ids = list(s.execute(sa.select(NotificationRule.id).where(NotificationRule.user_id == c.user.id)
                                  .order_by(NotificationRule.delay_minutes.desc())).scalars())
    assert post_form(c, f"/me/rules/{rule_ids[0]}/delete", page="/me").status_code == 303
    assert "<strong>High urgency:</strong> email at once</li>" in c.get("/me").text
    with db.unit_of_work() as s:
        actions = list(s.execute(sa.select(AuditEntry.action).where(AuditEntry.action.like("notification_rule.%"))
                                 ).scalars())
    assert actions.count("notification_rule.create") == 3 and actions.count("notification_rule.delete") == 1


def test_an_unverified_method_cannot_get_a_rule_and_others_rules_are_not_found(responder, web_client, smtp, db):
    c = responder
    unverified = _add_email(c, "rui.pager@example.test")
    r = post_form(c, "/me/rules", {"contact_method_id": str(unverified), "delay_minutes": "0", "urgency": "high"},
                  page="/me")
    assert r.status_code == 409 and "verify the contact method" in r.text
    mid = _verify(c, smtp, "rui.other@example.test")
    with db.unit_of_work() as s:
        rule_id = s.execute(sa.select(NotificationRule.id).where(NotificationRule.contact_method_id == mid)).scalar_one()
    other = web_client("responder")
    assert post_form(other, f"/me/rules/{rule_id}/delete").status_code in (403, 404)
    r = post_form(other, "/me/rules", {"contact_method_id": str(mid), "delay_minutes": "0", "urgency": "high"})
    assert r.status_code == 422, "someone else's method is not one of mine"


def test_no_verified_high_urgency_route_warns_on_me_and_on_the_dashboard(responder, smtp, web_client, app):
    c = responder
    for path in ("/me", "/"):
        page = c.get(path).text
        assert "You have no verified way to be paged for high-urgency alerts" in page, path
        assert f"fall back\n  to a single email to {c.user.email}" in page
    mid = _verify(c, smtp, "rui.pager@example.test")  # its automatic rule is for any urgency
    assert 'id="paging-warning"' not in c.get("/me").text
    assert 'id="paging-warning"' not in c.get("/").text
    assert mid

    app.state.settings = app.state.settings.model_copy(update={"smtp_url": None})
    other = web_client("responder")
    assert "You cannot be paged for high-urgency alerts" in other.get("/").text
    assert "that email is never sent" in other.get("/me").text


def test_the_hand_off_switch_is_on_by_default_and_each_person_turns_it_off(responder, db):
    c = responder
    page = c.get("/me").text
    assert 'name="handoff_notices" value="on" checked' in page
    r = post_form(c, "/me/handoff-notices", {}, page="/me")  # an unticked box sends nothing
    assert r.status_code == 303
    page = c.get("/me").text
    assert "Hand-off notices turned off" in page and 'value="on" checked' not in page
    with db.unit_of_work() as s:
        assert s.get(User, c.user.id).handoff_notices is False
        assert s.execute(sa.select(AuditEntry.details).where(AuditEntry.action == "user.update")).scalars().all()[-1] \
            == {"handoff_notices": False}
    post_form(c, "/me/handoff-notices", {"handoff_notices": "on"}, page="/me")
    with db.unit_of_work() as s:
        assert s.get(User, c.user.id).handoff_notices is True


def test_my_pages_link_alerts_and_visible_incidents_and_hide_restricted_ones(responder, db, clock, system):
    c = responder
    now = clock.now()
    with db.unit_of_work() as s:
        open_incident = declare(s, actor=system, now=now, spec=Declaration(title="Checkout down",
                                                                           severity=Severity.SEV2))
        secret = declare(s, actor=system, now=now, spec=Declaration(title="Credential leak at vendor",
                                                                    severity=Severity.SEV1, restricted=True))
        for n, (incident, subject) in enumerate(((open_incident, "[INC-1] Checkout down: take command"),
                                                 (secret, "[INC-2] Credential leak at vendor: take command"))):
            s.add(Notification(id=new_id(), user_id=c.user.id, incident_id=incident.id, channel="email",
                               destination=c.user.email, kind="incident", subject=subject, body="...",
                               idempotency_key=f"t:{n}", status="sent", created_at=now, send_after=now,
                               attempts=1))
    page = c.get("/me").text
    pages = page[page.index('id="my-pages"'):]
    assert '<a href="/incidents/INC-1">INC-1</a>' in pages and "Checkout down: take command" in pages
    assert "Credential leak" not in page and "INC-2" not in pages
    assert "(about a restricted incident)" in pages
    assert '<a href="/action-items?owner=me">All my action items</a>' in page


def test_only_admins_see_the_no_mail_server_banner_naming_the_setting(web_client, app):
    admin, rui = web_client("admin"), web_client("responder")
    assert 'id="mail-banner"' not in admin.get("/").text, "a mail server is configured"
    app.state.settings = app.state.settings.model_copy(update={"smtp_url": None})
    for path in ("/", "/me", "/configure"):
        page = admin.get(path).text
        assert 'id="mail-banner"' in page and "<code>TOCSIN_SMTP_URL</code>" in page, path
        assert "docs/operations.md" in page
    assert 'id="mail-banner"' not in rui.get("/").text
    assert 'id="mail-banner"' not in rui.get("/me").text


def test_the_api_reads_and_sets_the_hand_off_switch(client, make_person):
    person = make_person("responder")
    r = client.patch(f"/api/v1/users/{person.id}", json={"handoff_notices": False}, headers=person.headers)
    assert r.status_code == 200 and r.json()["handoff_notices"] is False


def test_a_rule_delay_that_is_not_ascii_digits_is_refused_not_a_500(responder) -> None:  # noqa: ANN001
    c = responder
    mid = _add_email(c, "digits@example.test")
    for delay in ("²", "٣", "1.5", "-1"):
        r = post_form(c, "/me/rules", {"contact_method_id": str(mid), "delay_minutes": delay, "urgency": "high"},
                      page="/me")
        assert r.status_code == 422 and "whole number of minutes" in r.text, (delay, r.status_code)
