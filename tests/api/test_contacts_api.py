"""Contact methods and notification rules over the API: validation (422, nothing stored),
verification through a real SMTP server (aiosmtpd), wrong codes counted, who may manage whose
methods, webhook secrets, rules only on verified methods, and a person's delivery list."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa

from tocsin.config import Settings
from tocsin.contacts.models import ContactMethod, NotificationRule
from tocsin.notify.dispatch import webhook_secret

ME = "/api/v1/users/me"


@pytest.fixture
def mail_app(app, smtp):
    app.state.settings = Settings(secret_key="test-secret", smtp_url=smtp.url, smtp_from="pager@tocsin.test")
    return app


def stored(db) -> tuple[int, int]:
    with db.unit_of_work() as s:
        return (s.execute(sa.select(sa.func.count()).select_from(ContactMethod)).scalar_one(),
                s.execute(sa.select(sa.func.count()).select_from(NotificationRule)).scalar_one())


def add(client, person, type_, address, status=201):
    r = client.post(f"{ME}/contact-methods", json={"type": type_, "address": address}, headers=person.headers)
    assert r.status_code == status, r.text
    return r.json()


@pytest.mark.parametrize("type_, address, says", [
    ("email", "not-an-address", "email address"),
    ("sms", "0155 555", "E.164"),
    ("voice", "+0123456789", "E.164"),
    ("webhook", "ftp://example.com/hook", "http(s) URL"),
    ("webhook", "https://", "http(s) URL"),
    ("slack", "general", "Slack channel"),
    ("mattermost", "town-square", "Mattermost channel id"),
    ("mattermost", "@a", "@username"),
    ("mattermost", "https://mm.example.com/hooks/x", "Mattermost channel id"),
    ("apprise", "nonsense-without-scheme", "Apprise URL"),
    ("apprise", "json://169.254.169.254/x", "metadata"),
    ("pager", "x", "type"),
])
def test_bad_addresses_are_refused_and_nothing_is_stored(client, db, make_person, type_, address, says):
    alice = make_person("responder")
    r = client.post(f"{ME}/contact-methods", json={"type": type_, "address": address}, headers=alice.headers)
    assert r.status_code == 422, r.text
    assert says in r.text
    assert stored(db) == (0, 0)


def test_numbers_are_normalised_and_duplicates_refused(client, make_person):
    alice = make_person("responder")
    sms = add(client, alice, "sms", "+1 (415) 555-0100")
    assert (sms["address"], sms["verified"]) == ("+14155550100", False)
    r = client.post(f"{ME}/contact-methods", json={"type": "sms", "address": "+14155550100"}, headers=alice.headers)
    assert r.status_code == 409


def test_mattermost_channels_and_people_are_accepted(client, make_person):
    alice = make_person("responder")
    channel = add(client, alice, "mattermost", "4xp9hcuwejgbfkx3ta1oaztgrh")
    person = add(client, alice, "mattermost", " @Alice.Ops ")
    assert (channel["address"], person["address"]) == ("4xp9hcuwejgbfkx3ta1oaztgrh", "@alice.ops")
    assert (channel["type"], channel["verified"]) == ("mattermost", False)
    add(client, alice, "mattermost", "@" + "u" * 26)  # a user id for a direct message
    mine = client.get(f"{ME}/contact-methods", headers=alice.headers).json()["items"]
    assert sorted(m["address"] for m in mine if m["type"] == "mattermost") == [
        "4xp9hcuwejgbfkx3ta1oaztgrh", "@alice.ops", "@" + "u" * 26]


def test_the_account_email_is_verified_others_are_not(client, make_person):
    alice = make_person("responder")
    assert add(client, alice, "email", alice.email.upper())["verified"] is True
    assert add(client, alice, "email", "alice@home.example")["verified"] is False


def test_verification_code_arrives_by_email_and_wrong_codes_are_counted(client, mail_app, smtp, make_person, db):
    alice = make_person("responder")
    method = add(client, alice, "email", "alice@home.example")
    r = client.post(f"/api/v1/contact-methods/{method['id']}/send-code", headers=alice.headers)
    assert r.json()["sent"] is True, r.text
    (mail,) = smtp.handler.received
    assert mail.rcpt_tos == ["alice@home.example"]
    code = re.search(r"code is (\d{6})", mail.message.get_content()).group(1)
    with db.unit_of_work() as s:  # only a hash is kept
        assert code not in s.get(ContactMethod, uuid.UUID(method["id"])).verify_hash
    wrong = "000000" if code != "000000" else "111111"
    r = client.post(f"/api/v1/contact-methods/{method['id']}/verify", json={"code": wrong}, headers=alice.headers)
    assert r.json() == {"verified": False}
    r = client.post(f"/api/v1/contact-methods/{method['id']}/verify", json={"code": code}, headers=alice.headers)
    assert r.json() == {"verified": True}
    # the first verified method gets an immediate rule
    rules = client.get(f"{ME}/notification-rules", headers=alice.headers).json()["items"]
    assert [(r["contact_method_id"], r["delay_minutes"], r["channel"]) for r in rules] == [(method["id"], 0, "email")]


def test_five_wrong_codes_lock_the_code(client, mail_app, smtp, make_person):
    alice = make_person("responder")
    method = add(client, alice, "email", "alice@home.example")
    client.post(f"/api/v1/contact-methods/{method['id']}/send-code", headers=alice.headers)
    code = re.search(r"code is (\d{6})", smtp.handler.received[0].message.get_content()).group(1)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        client.post(f"/api/v1/contact-methods/{method['id']}/verify", json={"code": wrong}, headers=alice.headers)
    r = client.post(f"/api/v1/contact-methods/{method['id']}/verify", json={"code": code}, headers=alice.headers)
    assert r.status_code == 409 and "new one" in r.text
    assert client.get(f"/api/v1/contact-methods/{method['id']}", headers=alice.headers).json()["verified"] is False


def test_codes_are_sent_at_most_once_a_minute(client, clock, make_person):
    alice = make_person("responder")
    method = add(client, alice, "email", "alice@home.example")
    send = f"/api/v1/contact-methods/{method['id']}/send-code"
    assert client.post(send, headers=alice.headers).status_code == 200
    r = client.post(send, headers=alice.headers)
    assert r.status_code == 409 and "another in 60 s" in r.text
    clock.advance(seconds=60)
    assert client.post(send, headers=alice.headers).status_code == 200


def test_without_a_mail_server_the_code_is_not_sent_and_says_why(client, make_person):
    alice = make_person("responder")
    method = add(client, alice, "email", "alice@home.example")
    r = client.post(f"/api/v1/contact-methods/{method['id']}/send-code", headers=alice.headers)
    assert r.status_code == 200 and r.json()["sent"] is False
    assert "TOCSIN_SMTP_URL" in r.json()["detail"]


def test_rules_need_a_verified_method_and_valid_values(client, make_person, db):
    alice = make_person("responder")
    sms = add(client, alice, "sms", "+14155550100")
    r = client.post(f"{ME}/notification-rules", json={"contact_method_id": sms["id"]}, headers=alice.headers)
    assert r.status_code == 409 and "verify" in r.text
    email = add(client, alice, "email", alice.email)
    for bad in ({"delay_minutes": -1}, {"delay_minutes": 1441}, {"urgency": "urgent"}):
        r = client.post(f"{ME}/notification-rules", json={"contact_method_id": email["id"], **bad},
                        headers=alice.headers)
        assert r.status_code == 422
    assert stored(db) == (2, 0)
    ok = client.post(f"{ME}/notification-rules", json={"contact_method_id": email["id"], "delay_minutes": 5,
                                                       "urgency": "high"}, headers=alice.headers)
    assert ok.status_code == 201 and ok.json()["channel"] == "email"
    again = client.post(f"{ME}/notification-rules", json={"contact_method_id": email["id"], "delay_minutes": 5,
                                                          "urgency": "high"}, headers=alice.headers)
    assert again.status_code == 409
    # deleting the method deletes its rules
    assert client.delete(f"/api/v1/contact-methods/{email['id']}", headers=alice.headers).status_code == 204
    assert client.get(f"{ME}/notification-rules", headers=alice.headers).json()["items"] == []


def test_only_the_person_or_an_admin_manages_their_methods(client, make_person):
    alice, bob, admin = make_person("responder"), make_person("responder"), make_person("admin")
    method = add(client, alice, "sms", "+14155550100")
    for call in (lambda h: client.get(f"/api/v1/contact-methods/{method['id']}", headers=h),
                 lambda h: client.get(f"/api/v1/users/{alice.email}/contact-methods", headers=h),
                 lambda h: client.post(f"/api/v1/users/{alice.email}/contact-methods",
                                       json={"type": "sms", "address": "+14155550199"}, headers=h),
                 lambda h: client.delete(f"/api/v1/contact-methods/{method['id']}", headers=h)):
        assert call(bob.headers).status_code == 403
    listed = client.get(f"/api/v1/users/{alice.email}/contact-methods", headers=admin.headers)
    assert [m["id"] for m in listed.json()["items"]] == [method["id"]]
    assert client.delete(f"/api/v1/contact-methods/{method['id']}", headers=admin.headers).status_code == 204


def test_a_webhook_method_shows_its_signing_secret_to_its_owner(client, make_person):
    alice = make_person("responder")
    hook = add(client, alice, "webhook", "https://hooks.example.com/tocsin")
    assert hook["webhook_secret"] == webhook_secret("test-secret", uuid.UUID(hook["id"]))
    assert add(client, alice, "sms", "+14155550100")["webhook_secret"] is None


def test_a_test_message_needs_a_verified_method(client, make_person):
    alice = make_person("responder")
    sms = add(client, alice, "sms", "+14155550100")
    assert client.post(f"/api/v1/contact-methods/{sms['id']}/test", headers=alice.headers).status_code == 409


def test_the_delivery_list_is_empty_for_a_new_person(client, make_person):
    alice = make_person("responder")
    assert client.get(f"{ME}/notifications", headers=alice.headers).json()["items"] == []
