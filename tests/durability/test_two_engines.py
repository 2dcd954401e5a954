"""Two engines, one database: every page is delivered exactly once, none is lost.

PostgreSQL: two real `tocsin engine` processes tick (every 50 ms) against the same database
while this process writes 200 alerts that page, in small batches, as the ingest writer does. The
service's policy pages two people, each through a verified webhook contact method pointing at a
receiver in this process. Both engines race for the same page requests, escalation steps and
outbox rows (SKIP LOCKED claims, the fence epoch on each step, idempotency keys on each outbox
row). When every outbox row is `sent`, the receiver must have had exactly one signed POST per
(alert, person): 400 in all, no key twice, none missing. (A send may be retried, at least once
being the promise; a retry that reached the receiver twice would fail the test.)

Whether both engines did some of the work depends on the scheduler; it is printed (the winning
engine's id is kept on each escalation as `lease_owner`), not asserted.

SQLite: a second `tocsin engine` on the same file refuses to start, naming the running one.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.harness.backends import only
from tests.harness.processes import TOCSIN, poll, terminate, tocsin_env
from tests.harness.webhook import Receiver as WebhookReceiver
from tocsin.alerts.models import Alert, AlertDecision, PageRequest
from tocsin.clock import SystemClock
from tocsin.contacts import service as contacts
from tocsin.db import Database
from tocsin.escalation import service as esc_service
from tocsin.escalation.models import Escalation, Notification
from tocsin.inbound.types import Action, AlertSeverity, Event
from tocsin.net.guard import EgressPolicy
from tocsin.notify.dispatch import webhook_secret
from tocsin.notify.webhook import verify_webhook
from tocsin.pipeline.ingest import Incoming, ingest
from tocsin.principal import OrgRole, Principal
from tocsin.services.service import create_service, require_service
from tocsin.users.service import create_user

pytestmark = pytest.mark.slow

ALERTS = 200
BATCH = 10  # alerts per ingest transaction
SECRET_KEY = "two-engines-test-server-key"
INTERVAL = "0.05"
PEOPLE = ("ana", "ben")


class Receiver(WebhookReceiver):
    """The webhook receiver with room for every connection two engines open at once (each sends up
    to 16 notifications at a time; socketserver's default accept backlog of 5 would reset some,
    which tocsin retries 30 s later: correct, but slow and beside the point here)."""

    request_queue_size = 128


@dataclass
class EngineProcess:
    proc: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")[-20_000:]


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[list[EngineProcess]]:
    """A list to start `tocsin engine` processes into; each is stopped at teardown."""
    started: list[EngineProcess] = []
    try:
        yield started
    finally:
        for e in started:
            terminate(e.proc, timeout=15)


def start_engine(env: dict[str, str], log: Path) -> EngineProcess:
    with log.open("ab") as fh:
        proc = subprocess.Popen([str(TOCSIN), "engine", "--interval", INTERVAL], env=env, stdout=fh,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return EngineProcess(proc, log)


def wait_running(engine: EngineProcess) -> None:
    def running() -> bool:
        if engine.proc.poll() is not None:
            pytest.fail(f"tocsin engine exited {engine.proc.returncode}:\n{engine.text()}")
        return "tocsin engine running" in engine.text()

    poll(running, what="`tocsin engine` to start", timeout=30, interval=0.05, explain=engine.text)


LOOPBACK = EgressPolicy.from_settings("127.0.0.1/32")  # the receiver's address, opened as the engines' env does


def set_up(db: Database, hooks: str) -> tuple[uuid.UUID, dict[uuid.UUID, str]]:
    """Two people with a verified webhook each, a policy paging both, a service with it.
    Return the service id and {contact method id: person}."""
    actor, now = Principal.system("tests"), SystemClock().now()
    methods: dict[uuid.UUID, str] = {}
    with db.unit_of_work() as s:
        for name in PEOPLE:
            user = create_user(s, actor=actor, now=now, email=f"{name}@example.test", name=name.title(),
                               org_role=OrgRole.responder)
            method = contacts.create_method(s, actor=actor, now=now, user=user, type="webhook",
                                            address=f"{hooks}/{name}", policy=LOOPBACK)
            code = contacts.new_code(s, actor=actor, now=now, method=method)
            assert contacts.verify(s, actor=actor, now=now, method=method, code=code)  # and the immediate rule
            methods[method.id] = name
        create_service(s, actor=actor, now=now, name="Payments", slug="payments", tier=1,
                       paging_unit="alert")  # every alert its own page: the test counts each once
        esc_service.create_policy(s, actor=actor, now=now, name="Payments", slug="payments", repeat=0,
                                  levels=[{"delay_minutes": 30, "targets": [
                                      {"type": "user", "email": f"{n}@example.test"} for n in PEOPLE]}])
        service = require_service(s, "payments")
        esc_service.set_service_policy(s, actor=actor, now=now, service=service, policy="payments")
        return service.id, methods


def trigger(db: Database, service_id: uuid.UUID, keys: list[str]) -> None:
    with db.unit_of_work() as s:
        ingest(s, [Incoming(Event(action=Action.trigger, dedup_key=k, summary=f"payments failing ({k})",
                                  severity=AlertSeverity.critical, source="tests"), service_id, None, "events_v2")
                   for k in keys], now=SystemClock().now())


def outbox(db: Database) -> Counter[str]:
    with db.unit_of_work() as s:
        return Counter(dict(s.execute(sa.select(Notification.status, sa.func.count())
                                      .group_by(Notification.status)).all()))


@only("postgresql")
def test_two_engines_on_postgresql_deliver_every_page_exactly_once(
        db_url: str, db: Database, tmp_path: Path, engines: list[EngineProcess],
        capsys: pytest.CaptureFixture[str]) -> None:
    with Receiver() as receiver:
        service_id, methods = set_up(db, f"http://127.0.0.1:{receiver.port}/hooks")
        env = {**tocsin_env(tmp_path / "data", db_url), "TOCSIN_SECRET_KEY": SECRET_KEY}
        for n in (1, 2):
            engines.append(start_engine(env, tmp_path / f"engine-{n}.log"))
        for e in engines:
            wait_running(e)

        # Ingest while both engines tick, so that they race for the work as it arrives.
        keys = [f"pay-{i:03d}" for i in range(ALERTS)]
        for i in range(0, ALERTS, BATCH):
            trigger(db, service_id, keys[i:i + BATCH])
            time.sleep(0.02)

        want = ALERTS * len(PEOPLE)

        def settled() -> Counter[str] | None:
            seen = outbox(db)
            for e in engines:
                if e.proc.poll() is not None:
                    pytest.fail(f"an engine exited {e.proc.returncode}:\n{e.text()}")
            return seen if seen["sent"] == want and sum(seen.values()) == want else None

        poll(settled, what=f"all {want} outbox rows to be sent", timeout=120,
             explain=lambda: f"outbox: {dict(outbox(db))}; received {len(receiver.posts)}\n"
                             + "\n".join(f"--- engine {n} ---\n{e.text()}" for n, e in enumerate(engines, 1)))
        time.sleep(0.5)  # a duplicate send (if there were one) would land now
        posts = list(receiver.posts)

    with db.unit_of_work() as s:
        alert_ids = {a.dedup_key: a.id for a in s.execute(sa.select(Alert).where(Alert.service_id == service_id))
                     .scalars()}
        escalations = list(s.execute(sa.select(Escalation)).scalars())
        requests = Counter(s.execute(sa.select(PageRequest.status)).scalars())
        notified = Counter((d.alert_id, d.data.get("user_id")) for d in s.execute(
            sa.select(AlertDecision).where(AlertDecision.kind == "notified")).scalars())
        rows = list(s.execute(sa.select(Notification)).scalars())

    # The database: one escalation per alert, one step each, one outbox row per (alert, person).
    assert set(alert_ids) == set(keys)
    assert requests == Counter({"taken": ALERTS}), requests
    assert len(escalations) == ALERTS and {e.alert_id for e in escalations} == set(alert_ids.values())
    assert {(e.status, e.level, e.epoch) for e in escalations} == {("active", 1, 1)}, "each took exactly one step"
    assert len(notified) == want and set(notified.values()) == {1}, "each person noted as notified once per alert"
    assert len(rows) == want and {r.status for r in rows} == {"sent"}

    # The receiver: every page exactly once, signed with the person's method's secret.
    by_key = Counter(p.headers["Idempotency-Key"] for p in posts)
    assert len(posts) == want, f"{len(posts)} POSTs for {want} pages; repeated keys: " \
                               f"{[k for k, n in by_key.items() if n > 1][:10]}"
    assert set(by_key.values()) == {1}
    assert set(by_key) == {r.idempotency_key for r in rows}
    pages: Counter[tuple[str, str]] = Counter()
    secrets_by_person = {name: webhook_secret(SECRET_KEY, mid) for mid, name in methods.items()}
    for p in posts:
        person = p.path.rsplit("/", 1)[1]
        assert verify_webhook(secrets_by_person[person], p.body, p.headers["X-Tocsin-Timestamp"],
                              p.headers["X-Tocsin-Signature"], now=SystemClock().now()), p.headers
        [alert_id] = json.loads(p.body)["data"]["alert_ids"]
        pages[(alert_id, person)] += 1
    expected = {(str(a), person) for a in alert_ids.values() for person in PEOPLE}
    assert set(pages) == expected, f"missing: {sorted(expected - set(pages))[:10]}"
    assert set(pages.values()) == {1}

    # Informative only: which engine took each step.
    owners = Counter(e.lease_owner for e in escalations)
    retried = sum(r.attempts > 1 for r in rows)
    with capsys.disabled():
        print(f"\n[postgresql] {ALERTS} alerts, {want} pages, each delivered once; escalation steps per engine: "
              f"{sorted(owners.values(), reverse=True)}; sends retried: {retried}")
        if len(owners) < 2:
            print(f"note: one engine took every step ({owners}); the other found nothing left to do")


@only("sqlite")
def test_a_second_engine_on_the_same_sqlite_database_refuses_to_start(
        db_url: str, tmp_path: Path, engines: list[EngineProcess]) -> None:
    env = tocsin_env(tmp_path / "data", db_url)
    engines.append(first := start_engine(env, tmp_path / "engine-1.log"))
    wait_running(first)

    second = subprocess.run([str(TOCSIN), "engine", "--interval", INTERVAL], env=env, capture_output=True,
                            text=True, timeout=60, stdin=subprocess.DEVNULL)

    output = second.stdout + second.stderr
    assert second.returncode != 0, output
    assert "another tocsin engine is already running" in output, output
    assert f"pid {first.proc.pid}" in output, output  # names the one that holds the lock
    assert first.proc.poll() is None, "the running engine is unaffected"
