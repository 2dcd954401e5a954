"""A 202 from the ingest endpoint means durable: SIGKILL the server mid-burst and count.

Eight client threads send PagerDuty trigger events as fast as they can: mostly new dedup keys,
some repeats of keys already acknowledged (the dedup path). After ~1.5 s (later on a machine
too slow to have acknowledged 100 events by then) the server gets SIGKILL, with requests in
flight and a group commit probably half done. It is restarted on the same database, and then,
for every dedup key:

    acknowledged (202s received) <= events stored <= requests sent
    the alert's occurrences      == trigger events stored for it
    open alerts                  <= 1

The first line is durability (nothing acknowledged is lost), the second and third are
atomicity (an event and its effect on the alert commit together, never twice; a repeat never
opens a second alert). Requests that got no answer may or may not have been stored.

A 202 means journaled, not applied (docs/alerting.md). In the `held` case the first server
only journals (`TOCSIN_INGEST_APPLY=false`, no engine), so at the kill every acknowledged event
is accepted and none applied; the restarted server (applying as usual) must apply each of them
exactly once. In the plain case the kill also lands between journaling and applying for some.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.harness.processes import TocsinProcess, make_stack, poll, tocsin_env
from tocsin.alerts.models import AlertEvent, IngestJournal

pytestmark = pytest.mark.slow

THREADS = 8
KILL_AFTER = 1.5  # seconds into the burst
KILL_AT_THE_LATEST = 15.0  # if fewer than MIN_ACKNOWLEDGED were acknowledged by KILL_AFTER
REPEAT_SHARE = 0.2  # share of requests that re-send an already acknowledged key
MIN_ACKNOWLEDGED = 100


@dataclass
class Tally:
    """What the clients saw, per dedup key (only written under `lock`)."""

    sent: Counter[str] = field(default_factory=Counter)
    acked: Counter[str] = field(default_factory=Counter)
    other: Counter[str] = field(default_factory=Counter)  # "503", "ConnectError", ... for the report
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(url: str, routing_key: str, worker: int, tally: Tally, stop: threading.Event) -> None:
    rng = random.Random(worker)
    mine: list[str] = []  # keys this worker got a 202 for
    n = 0
    with httpx.Client(base_url=url, timeout=10, trust_env=False) as http:
        while not stop.is_set():
            if mine and rng.random() < REPEAT_SHARE:
                key = rng.choice(mine)
            else:
                n += 1
                key = f"w{worker}-{n}"
            body = {"routing_key": routing_key, "event_action": "trigger", "dedup_key": key,
                    "payload": {"summary": f"burst {key}", "source": f"worker-{worker}", "severity": "error"}}
            with tally.lock:
                tally.sent[key] += 1
            try:
                r = http.post("/v2/enqueue", json=body)
            except httpx.TransportError as exc:  # the server died: not acknowledged
                with tally.lock:
                    tally.other[type(exc).__name__] += 1
                time.sleep(0.01)
                continue
            if r.status_code == 202 and r.json().get("dedup_key") == key:
                with tally.lock:
                    tally.acked[key] += 1
                if key not in mine:
                    mine.append(key)
            else:
                with tally.lock:
                    tally.other[str(r.status_code)] += 1


def _journal_rows(database_url: str) -> int:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(IngestJournal)).scalar_one()
    finally:
        engine.dispose()


def _stored_triggers(database_url: str, integration_id: str) -> dict[str, dict[str, Any]]:
    """Per dedup key: trigger events stored, the alert ids they point to, and their outcomes."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(AlertEvent.dedup_key, AlertEvent.alert_id, AlertEvent.outcome)
                                .where(AlertEvent.integration_id == uuid.UUID(integration_id),
                                       AlertEvent.action == "trigger")).all()
    finally:
        engine.dispose()
    out: dict[str, dict[str, Any]] = {}
    for key, alert_id, outcome in rows:
        entry = out.setdefault(key, {"events": 0, "alerts": Counter(), "outcomes": Counter()})
        entry["events"] += 1
        entry["alerts"][str(alert_id) if alert_id else None] += 1
        entry["outcomes"][outcome] += 1
    return out


@pytest.fixture
def servers() -> Iterator[list[TocsinProcess]]:
    """A list to put started servers in; each is stopped at teardown, pass or fail."""
    started: list[TocsinProcess] = []
    try:
        yield started
    finally:
        for server in started:
            server.stop()


@pytest.mark.parametrize("held", [False, True], ids=["applying", "accepted-not-applied"])
def test_sigkill_during_an_ingest_burst_loses_no_acknowledged_event(
        db_url: str, tmp_path: Path, servers: list[TocsinProcess], capsys: pytest.CaptureFixture[str],
        held: bool) -> None:
    env = tocsin_env(tmp_path / "data", db_url)
    first_env = {**env, "TOCSIN_INGEST_APPLY": "false"} if held else env
    servers.append(first := TocsinProcess(first_env, tmp_path / "tocsin-1.log",
                                          extra=("--no-engine",) if held else ()))
    stack = make_stack(first, env, ("events_v2",))
    routing_key, integration_id = stack.keys["events_v2"], stack.integration_ids["events_v2"]

    tally, stop = Tally(), threading.Event()
    with ThreadPoolExecutor(THREADS) as pool:
        workers = [pool.submit(_client, first.url, routing_key, w, tally, stop) for w in range(THREADS)]
        # Kill ~1.5 s in; on a slow machine wait (up to a bound) until enough were acknowledged.
        started = time.monotonic()
        time.sleep(KILL_AFTER)
        while True:
            with tally.lock:
                acked_before_kill = sum(tally.acked.values())
            if acked_before_kill >= MIN_ACKNOWLEDGED or time.monotonic() - started > KILL_AT_THE_LATEST:
                break
            time.sleep(0.05)
        first.kill()
        killed_after = time.monotonic() - started
        time.sleep(0.3)  # let every client see the dead server at least once
        stop.set()
        for w in workers:
            w.result(timeout=30)

    sent, acked = sum(tally.sent.values()), sum(tally.acked.values())
    repeats = sum(max(0, n - 1) for n in tally.acked.values())
    with capsys.disabled():
        backend = db_url.split(":")[0].split("+")[0]
        print(f"\n[{backend}] SIGKILL after {killed_after:.1f}s: {acked} of {sent} requests "
              f"acknowledged ({acked_before_kill} before the kill; {len(tally.acked)} keys, "
              f"{repeats} acknowledged repeats); "
              f"not acknowledged: {dict(tally.other)}")
    assert acked_before_kill >= MIN_ACKNOWLEDGED, f"only {acked_before_kill} acknowledged in {killed_after:.1f}s"
    assert repeats > 0, "the burst never exercised the dedup path"
    assert sent > acked, "the kill did not interrupt anything"
    assert not {k for k in tally.other if k.isdigit()}, f"error answers before the kill: {tally.other}"

    journaled = _journal_rows(db_url)
    if held:  # the case this variant is for: everything acknowledged is accepted and not applied
        assert journaled >= acked and not _stored_triggers(db_url, integration_id)
    servers.append(second := TocsinProcess(env, tmp_path / "tocsin-2.log"))
    stack.server = second.wait_ready()
    poll(lambda: _journal_rows(db_url) == 0 or None, what="the restarted server to apply the journal")
    alerts = stack.alerts()
    stored = _stored_triggers(db_url, integration_id)

    by_key: dict[str, list[dict[str, Any]]] = {}
    for a in alerts:
        by_key.setdefault(a["dedup_key"], []).append(a)

    lost = sorted(k for k in tally.acked if k not in by_key)
    assert not lost, f"{len(lost)} acknowledged keys have no alert after the restart, e.g. {lost[:5]}"
    assert set(by_key) <= set(tally.sent), "alerts for keys nobody sent"
    assert set(stored) == set(by_key), "stored events and alerts disagree on the keys"

    problems = []
    for key, rows in by_key.items():
        opened = [a for a in rows if a["status"] != "resolved"]
        events = stored[key]["events"]
        if len(opened) > 1 or len(rows) != 1:
            problems.append(f"{key}: {len(rows)} alerts, {len(opened)} open")
            continue
        [alert] = rows
        if not tally.acked[key] <= events <= tally.sent[key]:
            problems.append(f"{key}: {tally.acked[key]} acknowledged, {events} stored, {tally.sent[key]} sent")
        if alert["occurrences"] != events:
            problems.append(f"{key}: occurrences {alert['occurrences']} but {events} trigger events stored")
        if dict(stored[key]["alerts"]) != {alert["id"]: events}:
            problems.append(f"{key}: events point at {dict(stored[key]['alerts'])}, alert is {alert['id']}")
        if stored[key]["outcomes"] != Counter({"created": 1, "deduplicated": events - 1}):
            problems.append(f"{key}: event outcomes {dict(stored[key]['outcomes'])}")
    assert not problems, f"{len(problems)} keys inconsistent after SIGKILL:\n" + "\n".join(problems[:20])

    # The API's own view agrees: every key with repeats, and a sample of the others.
    repeated = sorted(k for k in by_key if by_key[k][0]["occurrences"] > 1)[:250]
    others = sorted(set(by_key) - set(repeated))
    sample = repeated + random.Random(0).sample(others, k=min(50, len(others)))
    with ThreadPoolExecutor(4) as pool:
        details = list(pool.map(lambda k: stack.alert(by_key[k][0]["id"]), sample))
    for key, detail in zip(sample, details, strict=True):
        triggers = [o for o in detail["occurrences_log"] if o["action"] == "trigger"]
        assert detail["occurrences"] == len(triggers) == stored[key]["events"], (
            key, detail["occurrences"], len(triggers), stored[key]["events"])
