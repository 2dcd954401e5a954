"""Limits that must hold under concurrency (issue 14, item 7): many parallel requests, each in its own
transaction on its own connection, never get more tries than the limit allows. On PostgreSQL these
race for real (READ COMMITTED, row locks); on SQLite the one writer serialises them, and the same
assertions hold."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from tocsin.audit.models import AuditEntry
from tocsin.errors import Conflict
from tocsin.principal import OrgRole, Principal

THREADS = 100


def race(n: int, work: Callable[[], str]) -> Counter[str]:
    """Run `work` in n threads released together; count what each returned (or the exception's class)."""
    barrier = threading.Barrier(n)
    results: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            outcome = work()
        except Exception as exc:  # counted and asserted on by the caller
            outcome = type(exc).__name__
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return Counter(results)


def audited(db, action: str) -> int:
    with db.unit_of_work() as s:
        return s.execute(sa.select(sa.func.count()).select_from(AuditEntry)
                         .where(AuditEntry.action == action)).scalar_one()


def test_parallel_wrong_verification_codes_are_evaluated_at_most_five_times(db, clock, system):
    from tocsin.contacts import service as contacts
    from tocsin.contacts.models import ContactMethod
    from tocsin.users.service import create_user, principal_for

    with db.unit_of_work() as s:
        user = create_user(s, actor=system, now=clock.now(), email="alice@example.test", name="Alice",
                           org_role=OrgRole.responder)
        alice = principal_for(s, user)
        method = contacts.create_method(s, actor=alice, now=clock.now(), user=user, type="sms",
                                        address="+14155550100")
        code = contacts.new_code(s, actor=alice, now=clock.now(), method=method)
        method_id = method.id
    wrong = "000000" if code != "000000" else "111111"

    def guess() -> str:
        with db.unit_of_work() as s:
            row = contacts.require_method(s, alice, method_id)
            return "verified" if contacts.verify(s, actor=alice, now=clock.now(), method=row, code=wrong) else "wrong"

    outcomes = race(THREADS, guess)
    assert outcomes["wrong"] == 5 and "verified" not in outcomes, outcomes
    assert set(outcomes) <= {"wrong", "Conflict", "TooManyAttempts"}, outcomes
    assert audited(db, "contact_method.verify") == 5  # evaluated guesses, each audited
    with db.unit_of_work() as s:
        assert s.get(ContactMethod, method_id).verify_attempts == 5
    with pytest.raises(Conflict, match="too many wrong codes"), db.unit_of_work() as s:  # the right code: used up
        contacts.verify(s, actor=alice, now=clock.now(), method=contacts.require_method(s, alice, method_id), code=code)


def test_an_invite_link_used_in_parallel_makes_one_account(db, clock, system):
    from tocsin.users.models import User
    from tocsin.web import sessions

    admin = Principal(user_id=None, label="admin", org_role=OrgRole.admin)
    with db.unit_of_work() as s:
        _invite, token = sessions.create_invite(s, actor=admin, now=clock.now(), email="new@example.test",
                                                name="New", org_role="responder")

    def accept() -> str:
        with db.unit_of_work() as s:
            sessions.accept_invite(s, now=clock.now(), token=token, name="New", password="a good password")
        return "created"

    outcomes = race(12, accept)
    assert outcomes == Counter({"created": 1, "NotFound": 11}), outcomes
    with db.unit_of_work() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(User)).scalar_one() == 1


def test_parallel_requests_for_a_code_send_one_code(db, clock, system):
    """Codes cost money (SMS, calls): one a minute per method, however many requests arrive at once."""
    from tocsin.contacts import service as contacts
    from tocsin.users.service import create_user, principal_for

    with db.unit_of_work() as s:
        user = create_user(s, actor=system, now=clock.now(), email="bob@example.test", name="Bob",
                           org_role=OrgRole.responder)
        bob = principal_for(s, user)
        method_id = contacts.create_method(s, actor=bob, now=clock.now(), user=user, type="sms",
                                           address="+14155550101").id

    def ask() -> str:
        with db.unit_of_work() as s:
            contacts.new_code(s, actor=bob, now=clock.now(), method=contacts.require_method(s, bob, method_id))
        return "sent"

    assert race(20, ask) == Counter({"sent": 1, "Conflict": 19})
    assert audited(db, "contact_method.send_code") == 1


def test_parallel_subscriptions_stay_within_the_pages_cap(db, clock, system, monkeypatch):
    """The public form's cap of unconfirmed subscribers per page (a count, then an insert) holds when
    a botnet submits at once."""
    from tocsin.statuspage import service as sp
    from tocsin.statuspage import subscribers as subs
    from tocsin.statuspage.models import StatusSubscriber

    monkeypatch.setattr(subs, "MAX_PENDING_PER_PAGE", 3)
    with db.unit_of_work() as s:
        page_id = sp.create_page(s, actor=system, now=clock.now(), slug="public", name="Public").id
    emails = iter([f"reader{i}@example.test" for i in range(12)])
    lock = threading.Lock()

    def subscribe() -> str:
        with lock:
            email = next(emails)
        with db.unit_of_work() as s:
            subs.subscribe_email(s, now=clock.now(), page=sp.require_page(s, str(page_id)), email=email,
                                 secret="test-secret")
        return "pending"

    assert race(12, subscribe) == Counter({"pending": 3, "TooManySubscriptions": 9})
    with db.unit_of_work() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(StatusSubscriber)).scalar_one() == 3
