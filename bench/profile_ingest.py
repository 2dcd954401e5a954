"""Where the time of one alert goes, without HTTP: the accept path and the apply path, profiled.

    .venv/bin/python bench/profile_ingest.py [--alerts 20000] [--per-request 1|100] [--top 15] [--duplicates]

On a fresh SQLite database in a temp directory (migrated, one service, one Events v2 and one
Alertmanager integration) it sends --alerts new alerts through the ingest writer's own
`process()` (decode, authenticate, validate, journal, commit: the accept path, in batches of
up to 200 requests as the writer's queue delivers them under load), then applies the journal
with `apply_journal` (the apply path). Each path is timed on its own (µs per alert, wall clock
and this thread's CPU time, which is steadier on a shared machine) and then profiled with
cProfile; the top functions by own time are printed. With --duplicates the alerts are sent and
applied once, unmeasured, before: the measured rounds take the dedup path. The HTTP layer
(uvicorn, httptools, the fast path) is not included: `bench/ingest.py` measures it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import secrets
import tempfile
import time
from pathlib import Path

import orjson

from tocsin.audit.service import configure_key
from tocsin.clock import SystemClock
from tocsin.db import Database
from tocsin.db.migrate import upgrade
from tocsin.ingest.types import Job
from tocsin.ingest.writer import IngestWriter
from tocsin.integrations.service import IntegrationType, create_integration
from tocsin.pipeline.journal import apply_journal
from tocsin.principal import Principal
from tocsin.services.service import create_service

REQUESTS_PER_BATCH = 200


def pd_body(key: str, n: int) -> bytes:
    return orjson.dumps({"routing_key": key, "event_action": "trigger", "dedup_key": f"k{n}",
                         "payload": {"summary": f"Bench alert {n}", "source": f"host-{n}:9100",
                                     "severity": "critical", "component": "bench",
                                     "custom_details": {"alertname": "BenchAlert", "job": "bench"}}})


def am_body(first: int, count: int) -> bytes:
    return orjson.dumps({"receiver": "tocsin", "status": "firing", "version": "4", "groupKey": "{}", "truncatedAlerts": 0,
                         "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am",
                         "alerts": [{"status": "firing", "labels": {"alertname": "BenchAlert", "severity": "critical",
                                                                     "instance": f"host-{n}:9100", "job": "bench"},
                                     "annotations": {"summary": f"Bench alert {n}"},
                                     "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                                     "generatorURL": "http://prom", "fingerprint": f"{n:016x}"}
                                    for n in range(first, first + count)]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=20000)
    parser.add_argument("--per-request", type=int, default=1, choices=(1, 100))
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--duplicates", action="store_true",
                        help="send alerts that are open already (sent once, unmeasured, before): the dedup path")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tocsin-profile-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'tocsin.db'}"
        upgrade(url)
        db, clock = Database(url), SystemClock()
        admin = Principal.system("bench")
        configure_key(secrets.token_hex(32))  # the audit chain's key; this database is thrown away
        with db.unit_of_work() as s:
            create_service(s, actor=admin, now=clock.now(), name="Bench", slug="bench", tier=2)
            _, pd_key = create_integration(s, actor=admin, now=clock.now(), service="bench",
                                           kind=IntegrationType.events_v2,
                                           name="pd")
            _, am_key = create_integration(s, actor=admin, now=clock.now(), service="bench",
                                           kind=IntegrationType.alertmanager,
                                           name="am")
        writer = IngestWriter(db, clock, server_secret="profile", apply=False)

        def jobs(round_: int) -> list[Job]:
            base = 0 if args.duplicates else round_ * args.alerts
            if args.per_request == 1:
                return [Job("events_v2", pd_body(pd_key, base + n)) for n in range(args.alerts)]
            return [Job("alertmanager", am_body(base + n, 100), key=am_key) for n in range(0, args.alerts, 100)]

        def accept(all_jobs: list[Job]) -> None:
            for i in range(0, len(all_jobs), REQUESTS_PER_BATCH):
                writer.process(all_jobs[i:i + REQUESTS_PER_BATCH])
            assert all(j.reply is not None and j.reply.status == 202 for j in all_jobs)

        def apply() -> int:
            done = 0
            while True:
                with db.unit_of_work() as s:
                    n, more = apply_journal(s, now=clock.now())
                done += n
                if not more:
                    return done

        if args.duplicates:  # open them all first: both measured rounds then only deduplicate
            accept(jobs(0))
            apply()
        results = {}
        for round_, profile in ((0, False), (1, True)):
            batch = jobs(round_)
            prof_a, prof_b = cProfile.Profile(), cProfile.Profile()
            t0, c0 = time.perf_counter(), time.thread_time()
            if profile:
                prof_a.enable()
            accept(batch)
            prof_a.disable()
            t1, c1 = time.perf_counter(), time.thread_time()
            if profile:
                prof_b.enable()
            applied = apply()
            prof_b.disable()
            t2, c2 = time.perf_counter(), time.thread_time()
            assert applied == args.alerts, applied
            per = 1e6 / args.alerts
            results[profile] = ((t1 - t0) * per, (t2 - t1) * per, (c1 - c0) * per, (c2 - c1) * per, prof_a, prof_b)
        accept_us, apply_us, accept_cpu, apply_cpu = results[False][:4]
        prof_a, prof_b = results[True][4:]
        what = f"{args.alerts} {'duplicate' if args.duplicates else 'new'} alerts"
        print(f"{what}, {args.per_request} per request, SQLite: accept {accept_us:.0f} µs/alert, "
              f"apply {apply_us:.0f} µs/alert (unprofiled run; CPU time of this thread: accept "
              f"{accept_cpu:.0f}, apply {apply_cpu:.0f} µs/alert)")
        for name, prof in (("accept", prof_a), ("apply", prof_b)):
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(args.top)
            print(f"\n--- {name}: top {args.top} by own time (profiled run) ---")
            print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))
        db.dispose()


if __name__ == "__main__":
    main()
