"""The `slos` engine job: read each due SLO's feed, then decide its burn-rate alerts.

Every SLO is evaluated once a minute. A due SLO is claimed by moving its `next_eval_at` with a
conditional UPDATE (of two engines, one wins), so no two engines read the same feed span. The
Prometheus queries run outside any transaction; each SLO is then recorded in its own unit of work,
so one SLO's trouble cannot hold up the others.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.checks.models import CheckResult
from tocsin.db.session import rowcount
from tocsin.jobs import JobContext
from tocsin.net.http import make_client
from tocsin.net.policy import operator_policy
from tocsin.slo import alerting, prometheus, store
from tocsin.slo.budget import RULES, evaluate, is_good_probe
from tocsin.slo.models import Slo
from tocsin.slo.service import status

log = logging.getLogger("tocsin.slo.job")

EVERY = timedelta(minutes=1)
BATCH = 100
CHECK_RESULTS_PER_RUN = 20_000  # a new SLO catches up on a check's history over a few runs


def has_work(s: Session, ec: JobContext) -> bool:
    return bool(s.execute(sa.select(sa.select(Slo.id).where(Slo.next_eval_at <= ec.now).exists())).scalar())


def _claim(ec: JobContext) -> list[tuple[uuid.UUID, str, str | None, str | None, datetime | None]]:
    with ec.db.unit_of_work() as s:
        due = s.execute(sa.select(Slo.id).where(Slo.next_eval_at <= ec.now)
                        .order_by(Slo.next_eval_at, Slo.id).limit(BATCH)).scalars().all()
    won = []
    for slo_id in due:
        with ec.db.unit_of_work() as s:
            if rowcount(s, sa.update(Slo).where(Slo.id == slo_id, Slo.next_eval_at <= ec.now)
                        .values(next_eval_at=ec.now + EVERY).execution_options(synchronize_session=False)) == 1:
                row = s.execute(sa.select(Slo.id, Slo.source, Slo.good_query, Slo.total_query, Slo.read_until)
                                .where(Slo.id == slo_id)).one()
                won.append((row[0], row[1], row[2], row[3], row[4]))
    return won


Fetched = tuple[float, float] | str  # the counts of the span, or why there are none


def _fetch(ec: JobContext, wanted: list[tuple[uuid.UUID, str, str, datetime | None]]) -> dict[uuid.UUID, Fetched]:
    """Query Prometheus for each SLO's span since it last read (outside any transaction)."""
    url = ec.settings.slo_prometheus_url
    if not url:
        return {slo_id: "TOCSIN_SLO_PROMETHEUS_URL is not set" for slo_id, *_ in wanted}
    out: dict[uuid.UUID, Fetched] = {}
    down: str | None = None  # the server did not answer: the other SLOs are not queried this minute
    with make_client(operator_policy(ec.settings), timeout=prometheus.TIMEOUT) as client:
        for slo_id, good, total, since in wanted:
            start = max(since or ec.now - EVERY, ec.now - prometheus.MAX_CATCH_UP)
            if down is not None:
                out[slo_id] = down
            elif start >= ec.now:
                out[slo_id] = (0.0, 0.0)
            else:
                try:
                    out[slo_id] = prometheus.counts(client, url, good, total, since=start, until=ec.now)
                except prometheus.QueryFailed as exc:
                    out[slo_id] = str(exc)
                    down = str(exc) if exc.unreachable else None
    return out


def slos(ec: JobContext) -> int:
    """Evaluate the due SLOs this engine claims; return how many were evaluated."""
    won = _claim(ec)
    fetched = _fetch(ec, [(i, g or "", t or "", r) for i, src, g, t, r in won if src == "prometheus"])
    done = 0
    for slo_id, _src, good, total, _read in won:
        try:
            with ec.db.unit_of_work() as s:
                done += _evaluate(s, slo_id, ec.now, fetched.get(slo_id), queried=(good, total))
        except Exception:  # one SLO's bug must not stop the others; it is tried again next minute
            log.exception("evaluating SLO %s failed", slo_id)
    return done


def _read_checks(s: Session, slo: Slo, now: datetime) -> None:
    if slo.check_id is None:
        slo.last_error = "its check was deleted"
        return
    since = slo.read_until or now - timedelta(days=slo.window_days)
    rows = s.execute(sa.select(CheckResult.at, CheckResult.ok, CheckResult.error, CheckResult.latency_ms)
                     .where(CheckResult.check_id == slo.check_id, CheckResult.at > since, CheckResult.at <= now)
                     .order_by(CheckResult.at).limit(CHECK_RESULTS_PER_RUN)).all()
    store.add(s, slo.id, [(r.at, 1.0 if is_good_probe(ok=r.ok, error=r.error, latency_ms=r.latency_ms,
                                                      kind=slo.kind, threshold_ms=slo.latency_threshold_ms) else 0.0,
                           1.0) for r in rows])
    if rows:
        slo.read_until = rows[-1].at
    slo.last_error = None


def _evaluate(s: Session, slo_id: uuid.UUID, now: datetime, fetched: Fetched | None,
              *, queried: tuple[str | None, str | None]) -> int:
    slo = s.execute(sa.select(Slo).where(Slo.id == slo_id).with_for_update()).scalar_one_or_none()
    if slo is None:
        return 0  # deleted since the claim
    if slo.source == "check":
        _read_checks(s, slo, now)
    elif slo.source == "prometheus" and (slo.good_query, slo.total_query) != queried:
        pass  # an admin changed the queries while the old ones ran: their counts are not this SLO's now
    elif slo.source == "prometheus":
        if isinstance(fetched, str):
            slo.last_error = fetched
        elif fetched is not None:
            good, total = fetched
            # The span's counts go in the minute it ended in (a one-minute span: that minute).
            store.add(s, slo.id, [(now - timedelta(microseconds=1), good, total)])
            slo.read_until = now
            slo.last_error = None
    s.flush()
    st = status(s, slo, now=now)
    rate = {b.window: b.rate for b in st.burns}
    was = set(slo.firing or [])
    firing: list[str] = []
    events = []
    for rule in RULES:
        verdict = evaluate(rule, long_rate=rate[rule.long], short_rate=rate[rule.short],
                           was_firing=rule.name in was)
        if not slo.alerting:
            continue
        if verdict.firing:
            firing.append(rule.name)
        if verdict.changed:
            events.append(alerting.event_for(slo, verdict))
    if not slo.alerting and was:
        alerting.resolve_all(s, slo, now=now)
    slo.firing = firing
    slo.last_evaluated_at = now
    s.flush()
    alerting.send(s, slo, events, now=now)
    return 1
