"""The retention job: delete what has been kept long enough, a few small batches at a time.

Each kind of row has its own rule, kept with its domain (`alerts.retention`,
`escalation.retention`, `checks.service.prune_results`, `statuspage.subscribers.prune_deliveries`,
`chatops.outbox.prune` (chat calls sent or failed: kept as long as status page deliveries),
`users.throttle.forget_expired`, `slo.store.prune_buckets` and `prune_keys` (kept 32 days), `contacts.service.prune_used_links`, `chatops.receipts.prune`); the
settings say how many days each kind is kept (`TOCSIN_RETENTION_*`; 0 keeps it forever; throttles and used links go as
soon as they have expired). A batch is one transaction of at most `retention_batch` rows, and a
kind gets at most BATCHES of them per tick, so the job never holds SQLite's write lock long and
never keeps paging waiting. While some kind still has more to delete the job runs every tick;
once everything is caught up it looks again after PAUSE.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from tocsin.alerts.retention import prune_decisions, prune_events
from tocsin.chatops import outbox as chat_outbox
from tocsin.chatops import receipts as chat_receipts
from tocsin.checks.service import prune_results
from tocsin.config import Settings
from tocsin.contacts.service import prune_used_links
from tocsin.escalation.retention import prune_notifications
from tocsin.jobs import JobContext
from tocsin.slo import store as slo_store
from tocsin.statuspage.subscribers import prune_deliveries
from tocsin.users.throttle import forget_expired

log = logging.getLogger("tocsin.retention")

BATCHES = 4  # batches per kind per tick
PAUSE = timedelta(minutes=1)  # between rounds once nothing is left over
NEXT_RUN = "retention.next_at"  # in ec.shared: when this engine prunes next

Prune = Callable[[Session, int], int]  # (session, limit) -> rows deleted


def kinds(settings: Settings, now: datetime) -> list[tuple[str, Prune]]:
    """What may be pruned at `now` under `settings`, by name (the kinds kept forever are left out)."""
    found: list[tuple[str, Prune]] = []
    dated: list[tuple[int, list[tuple[str, Callable[..., int]]]]] = [
        (settings.retention_alert_days, [("alert_events", prune_events), ("alert_decisions", prune_decisions)]),
        (settings.retention_notification_days, [("notifications", prune_notifications)]),
        (settings.retention_check_result_days, [("check_results", prune_results)]),
        (settings.retention_delivery_days, [("status_deliveries", prune_deliveries),
                                            ("chat_outbox", chat_outbox.prune)]),
    ]
    for days, prunes in dated:
        if days > 0:
            found += [(name, _before(fn, now - timedelta(days=days))) for name, fn in prunes]
    # SLO counts: a little over the longest SLO window, whatever the settings (a window must be whole).
    found.append(("slo_buckets", _before(slo_store.prune_buckets, now - slo_store.RETENTION)))
    found.append(("slo_event_keys", _before(slo_store.prune_keys, now - slo_store.RETENTION)))
    found.append(("throttles", lambda s, n: forget_expired(s, now, n)))
    found.append(("used_links", lambda s, n: prune_used_links(s, now=now, limit=n)))
    found.append(("chat_receipts", lambda s, n: chat_receipts.prune(s, now=now, limit=n)))
    return found


def _before(prune: Callable[..., int], before: datetime) -> Prune:
    return lambda s, n: prune(s, before=before, limit=n)


def retention(ec: JobContext) -> int:
    """Delete up to BATCHES x `retention_batch` rows of each kind; return how many went."""
    due = ec.shared.get(NEXT_RUN)
    if isinstance(due, datetime) and ec.now < due:
        return 0
    limit, total, behind = ec.settings.retention_batch, 0, False
    for name, prune in kinds(ec.settings, ec.now):
        gone = 0
        try:
            for _ in range(BATCHES):
                with ec.db.unit_of_work() as s:
                    batch = prune(s, limit)
                gone += batch
                if batch < limit:
                    break
            else:
                behind = True  # every batch came back full: more is waiting
        except Exception:  # one kind failing (a lock timeout) must not stop the others
            log.exception("retention of %s failed", name)
        if gone:
            log.info("retention: deleted %d %s", gone, name)
        total += gone
    ec.shared[NEXT_RUN] = ec.now if behind else ec.now + PAUSE
    return total
