"""Accounts, sessions and throttling (issue 14, items 5 and 6): password guessing is throttled per
account and per source address before any argon2 work, without letting an attacker lock a real user
out; verification codes, SMS reply codes and action links are throttled the same way; and account
changes (own password, admin reset, deactivation) do the same through the API and the console.

Runs on SQLite only (HTTP behaviour); the races behind these limits are in
tests/integration/test_atomic_counters.py, on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from twilio.request_validator import RequestValidator

from tests.harness.console import PASSWORD, csrf, login, post_form
from tocsin.audit.models import AuditEntry

WRONG = "not the password"
ATTACKER, OTHER, USER_HOME = "203.0.113.66", "198.51.100.7", "192.0.2.10"


@pytest.fixture
def from_address(app) -> Iterator:
    """from_address("203.0.113.66") -> a TestClient whose requests come from that socket peer."""
    clients: list[TestClient] = []

    def make(host: str) -> TestClient:
        c = TestClient(app, raise_server_exceptions=False, client=(host, 40000))
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


def audit_actions(db, prefix: str) -> list[AuditEntry]:
    with db.unit_of_work() as s:
        return list(s.execute(sa.select(AuditEntry).where(AuditEntry.action.startswith(prefix))
                              .order_by(AuditEntry.seq)).scalars())


def fail_logins(c: TestClient, email: str, n: int) -> list[int]:
    return [login(c, email, WRONG).status_code for _ in range(n)]


# --- item 5: login throttling ------------------------------------------------------------------------

def test_after_five_wrong_passwords_even_the_right_one_waits_and_costs_no_hash(from_address, make_web_user,
                                                                               verifications):
    """The review's attack: 150 wrong passwords then the right one. Now the sixth attempt is refused
    with 429 and Retry-After, before any argon2 work, and so is the right password."""
    user, c = make_web_user(), from_address(ATTACKER)
    codes = fail_logins(c, user.email, 150)
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}
    assert len(verifications) == 5  # the 145 refused attempts cost no hash
    r = login(c, user.email, PASSWORD)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert "tocsin_session" not in r.headers.get("set-cookie", "") and "Too many" in r.text


def test_the_delay_doubles_and_is_capped_at_fifteen_minutes(from_address, clock, make_web_user):
    user, c = make_web_user(), from_address(ATTACKER)
    fail_logins(c, user.email, 5)
    waits = []
    for _ in range(8):
        r = login(c, user.email, WRONG)
        assert r.status_code == 429
        wait = int(r.headers["Retry-After"])
        waits.append(wait)
        clock.advance(seconds=wait)
        assert login(c, user.email, WRONG).status_code == 400  # one more try once the wait is over
    assert waits[:5] == [30, 60, 120, 240, 480] and waits[5:] == [900, 900, 900]


def test_a_successful_login_resets_the_count(from_address, make_web_user):
    user, c = make_web_user(), from_address(USER_HOME)
    assert fail_logins(c, user.email, 4) == [400] * 4
    assert login(c, user.email, PASSWORD).status_code == 303
    assert fail_logins(c, user.email, 5) == [400] * 5
    assert login(c, user.email, WRONG).status_code == 429


def test_an_attacker_cannot_lock_the_user_out_from_their_own_address(from_address, make_web_user):
    user = make_web_user()
    attacker = from_address(ATTACKER)
    assert set(fail_logins(attacker, user.email, 30)[5:]) == {429}
    assert login(from_address(USER_HOME), user.email, PASSWORD).status_code == 303


def test_many_addresses_hit_the_account_ceiling_but_a_clean_address_still_logs_in(from_address, make_web_user):
    """50 failures on one account from ten addresses close it to every address that failed on it;
    an address that never failed on the account (the real user's) still logs in."""
    user = make_web_user()
    bots = [from_address(f"203.0.113.{i}") for i in range(1, 11)]
    for bot in bots:
        assert fail_logins(bot, user.email, 5) == [400] * 5
    fresh_bot = from_address("203.0.113.99")
    assert login(fresh_bot, user.email, WRONG).status_code == 400  # a clean address gets its one try ...
    assert login(fresh_bot, user.email, WRONG).status_code == 429  # ... then the ceiling holds
    assert login(from_address(USER_HOME), user.email, PASSWORD).status_code == 303


def test_one_address_spraying_many_accounts_is_slowed_down(from_address, make_web_user):
    users = [make_web_user() for _ in range(6)]
    c = from_address(ATTACKER)
    codes = [login(c, u.email, WRONG).status_code for _ in range(4) for u in users]  # 24 tries, 4 per account
    assert codes[:20] == [400] * 20 and set(codes[20:]) == {429}
    assert login(from_address(USER_HOME), users[0].email, PASSWORD).status_code == 303


def test_unknown_emails_are_throttled_like_real_ones(from_address):
    c = from_address(ATTACKER)
    assert fail_logins(c, "nobody@example.test", 6) == [400] * 5 + [429]


def test_a_lockout_is_in_the_audit_chain(db, from_address, make_web_user):
    user = make_web_user()
    fail_logins(from_address(ATTACKER), user.email, 6)
    (entry,) = audit_actions(db, "login.")
    assert entry.action == "login.throttled" and entry.target_id == str(user.id)
    assert entry.details["address"] == ATTACKER and entry.details["failures"] == 5


def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(app, from_address, make_web_user):
    """Without TOCSIN_TRUSTED_PROXIES a client cannot pose as many addresses with a header."""
    user, c = make_web_user(), from_address(ATTACKER)
    codes = [c.post("/login", data={"email": user.email, "password": WRONG}, follow_redirects=False,
                    headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(6)]
    assert codes == [400] * 5 + [429]


def test_behind_a_trusted_proxy_the_forwarded_address_counts(app, from_address, make_web_user):
    app.state.settings = app.state.settings.model_copy(update={"trusted_proxies": "10.0.0.0/8"})
    user, proxy = make_web_user(), from_address("10.1.2.3")

    def via(address: str, password: str) -> int:
        return proxy.post("/login", data={"email": user.email, "password": password}, follow_redirects=False,
                          headers={"X-Forwarded-For": f"{address}, 10.9.9.9"}).status_code

    assert [via(ATTACKER, WRONG) for _ in range(6)] == [400] * 5 + [429]
    assert via(USER_HOME, PASSWORD) == 303


def test_fresh_ipv6_addresses_from_one_64_count_as_one_address(from_address, make_web_user):
    """An IPv6 client holds a whole /64: a fresh address per try must not reset the count (each of
    six addresses in 2001:db8:66:1::/64 got its own five tries on the account)."""
    user = make_web_user()
    codes = [login(from_address(f"2001:db8:66:1::{i:x}"), user.email, WRONG).status_code for i in range(1, 8)]
    assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}
    assert login(from_address("2001:db8:77:1::1"), user.email, PASSWORD).status_code == 303  # another /64


def test_ipv6_spraying_from_one_64_is_slowed_down(from_address, make_web_user):
    users = [make_web_user() for _ in range(6)]
    codes = [login(from_address(f"2001:db8:66:1:{n:x}::1"), u.email, WRONG).status_code
             for n in range(4) for u in users]
    assert codes[:20] == [400] * 20 and set(codes[20:]) == {429}


# --- item 5: codes and links -------------------------------------------------------------------------

def _add_method(client, person) -> str:
    r = client.post("/api/v1/users/me/contact-methods", json={"type": "email", "address": "home@example.test"},
                    headers=person.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_wrong_verification_codes_back_off_across_new_codes(client, clock, make_person):
    """Five wrong guesses use up a code (409); asking for new codes does not buy fresh guesses at full
    speed: each further wrong guess waits twice as long."""
    alice = make_person("responder")
    mid = _add_method(client, alice)
    send, verify = f"/api/v1/contact-methods/{mid}/send-code", f"/api/v1/contact-methods/{mid}/verify"

    def guess() -> int:
        return client.post(verify, json={"code": "000000"}, headers=alice.headers).status_code

    assert client.post(send, headers=alice.headers).status_code == 200
    # a code of 000000 is one in a million; a right guess would show as 200 with verified=true
    assert [guess() for _ in range(6)] == [200] * 5 + [409]
    clock.advance(seconds=60)
    assert client.post(send, headers=alice.headers).status_code == 200
    r = client.post(verify, json={"code": "000000"}, headers=alice.headers)
    assert r.status_code == 200  # the first block (30 s) is over
    r = client.post(verify, json={"code": "000000"}, headers=alice.headers)
    assert r.status_code == 429 and r.headers["Retry-After"] == "60"
    assert r.json()["error"]["code"] == "too_many_attempts"


TWILIO_TOKEN, PUBLIC = "twilio-test-token", "https://tocsin.example.test"


def _sms(client: TestClient, sender: str, body: str) -> str:
    form = {"From": sender, "To": "+14155550000", "Body": body, "MessageSid": "SM" + uuid.uuid4().hex}
    sig = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + "/integrations/twilio/sms", form)
    r = client.post("/integrations/twilio/sms", data=form, headers={"X-Twilio-Signature": sig})
    assert r.status_code == 200, r.text
    return r.text


def test_sms_reply_codes_are_throttled_per_number(app, client, db, clock, make_person):
    from tocsin.escalation.models import Notification

    app.state.settings = app.state.settings.model_copy(update={"twilio_auth_token": TWILIO_TOKEN,
                                                               "public_url": PUBLIC})
    frank, phone = make_person("responder"), "+14155550144"
    with db.unit_of_work() as s:
        s.add(Notification(user_id=frank.id, channel="sms", destination=phone, kind="page", subject="x", body="x",
                           idempotency_key="t1", status="sent", created_at=clock.now(), send_after=clock.now(),
                           reply_code="4821"))
    for _ in range(5):
        assert "no page with code" in _sms(client, phone, "1111 ack")
    assert "too many wrong codes" in _sms(client, phone, "4821 ack")  # even the right one waits
    clock.advance(seconds=30)
    assert "Nothing to do" in _sms(client, phone, "4821 ack")


def test_forged_action_links_are_throttled_per_address(from_address):
    c = from_address(ATTACKER)
    codes = [c.post(f"/n/forged{i}.signature").status_code for i in range(21)]
    assert codes == [400] * 20 + [429]
    assert from_address(OTHER).get("/n/forged.signature").status_code == 400


def test_forged_action_links_from_one_ipv6_64_count_together(from_address):
    codes = [from_address(f"2001:db8:66:1::{i:x}").post(f"/n/forged{i}.signature").status_code for i in range(1, 22)]
    assert codes == [400] * 20 + [429]


# --- item 6: account changes -------------------------------------------------------------------------

def test_changing_your_password_through_the_api_needs_the_current_one(client, from_address, make_web_user):
    user = make_web_user()
    me = f"/api/v1/users/{user.id}"
    r = client.patch(me, json={"password": "a new password"}, headers=user.headers)
    assert r.status_code == 422 and "current_password" in r.text
    r = client.patch(me, json={"password": "a new password", "current_password": WRONG}, headers=user.headers)
    assert r.status_code == 422 and "current password is wrong" in r.text
    assert login(from_address(USER_HOME), user.email, PASSWORD).status_code == 303  # unchanged


def test_a_password_change_through_the_api_ends_the_console_sessions(client, from_address, make_web_user):
    user = make_web_user()
    browser = from_address(USER_HOME)
    assert login(browser, user.email, PASSWORD).status_code == 303
    r = client.patch(f"/api/v1/users/{user.id}", json={"password": "a new password", "current_password": PASSWORD},
                     headers=user.headers)
    assert r.status_code == 200, r.text
    assert browser.get("/", follow_redirects=False).status_code == 303  # logged out
    assert login(browser, user.email, "a new password").status_code == 303
    assert client.get("/api/v1/users/me", headers=user.headers).status_code == 200  # API tokens stay


def test_guessing_the_current_password_through_the_api_is_throttled(client, make_web_user, verifications):
    user = make_web_user()
    body = {"password": "a new password", "current_password": WRONG}
    codes = [client.patch(f"/api/v1/users/{user.id}", json=body, headers=user.headers).status_code
             for _ in range(8)]
    assert codes == [422] * 5 + [429] * 3 and len(verifications) == 5


def test_the_console_password_change_uses_the_same_rules(from_address, make_web_user):
    user = make_web_user()
    other, browser = from_address(OTHER), from_address(USER_HOME)
    assert login(other, user.email, PASSWORD).status_code == 303
    assert login(browser, user.email, PASSWORD).status_code == 303
    token = csrf(browser, "/me")
    codes = [post_form(browser, "/me/password", {"current_password": WRONG, "new_password": "a new password",
                                                 "confirm_password": "a new password"}, token=token).status_code
             for _ in range(6)]
    assert codes == [422] * 5 + [429]
    assert other.get("/", follow_redirects=False).status_code == 200  # nothing changed yet


def test_an_admin_reset_is_audited_and_ends_the_users_sessions(client, db, from_address, make_web_user):
    admin, user = make_web_user("admin"), make_web_user()
    browser = from_address(USER_HOME)
    login(browser, user.email, PASSWORD)
    r = client.patch(f"/api/v1/users/{user.id}", json={"password": "reset by admin"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert browser.get("/", follow_redirects=False).status_code == 303
    (entry,) = [e for e in audit_actions(db, "user.password_reset") if e.actor_id == admin.id]
    assert entry.target_id == str(user.id) and entry.details == {"sessions_ended": 1}


def test_deactivation_through_the_api_ends_sessions_for_good(client, db, from_address, make_web_user):
    admin, user = make_web_user("admin"), make_web_user()
    browser = from_address(USER_HOME)
    assert login(browser, user.email, PASSWORD).status_code == 303
    url = f"/api/v1/users/{user.id}"
    assert client.patch(url, json={"is_active": False}, headers=admin.headers).status_code == 200
    assert client.patch(url, json={"is_active": True}, headers=admin.headers).status_code == 200
    assert browser.get("/", follow_redirects=False).status_code == 303  # the old session did not come back
    r = client.get("/api/v1/users/me", headers=user.headers)
    assert r.status_code == 401  # nor did the old API token
    assert login(browser, user.email, PASSWORD).status_code == 303  # logging in again works
