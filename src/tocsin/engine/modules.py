"""The engine's modules, in the order they run each tick."""

from __future__ import annotations

from tocsin.engine.actions import action_reminders, action_sync, engine_settings
from tocsin.engine.deliver import deliver, dispatcher, send_pool
from tocsin.engine.escalations import escalations
from tocsin.engine.monitors import checks, heartbeats
from tocsin.engine.runner import EngineContext


def pending_events(ec: EngineContext) -> int:
    """Apply inbound events a failed pipeline run left pending."""
    from tocsin.alerts.pipeline import apply_pending

    with ec.db.unit_of_work() as s:
        return apply_pending(s, now=ec.now)


def unsuppress(ec: EngineContext) -> int:
    """Page for alerts still firing when the silence, maintenance window or flap window that held them ends."""
    from tocsin.alerts.unsuppress import release

    with ec.db.unit_of_work() as s:
        return release(s, now=ec.now)


def statuspage_maintenance(ec: EngineContext) -> int:
    """Start and complete auto-transitioning status page maintenances whose time has come."""
    from tocsin.statuspage.maintenance import advance_maintenances

    with ec.db.unit_of_work() as s:
        return advance_maintenances(s, now=ec.now)


def statuspage_deliver(ec: EngineContext) -> int:
    """Send due status page subscriber messages (confirmations, updates; email and webhooks)."""
    from tocsin.statuspage import deliver as sp

    settings = engine_settings(ec)
    base = settings.resolved_public_url()  # type: ignore[attr-defined]
    with ec.db.unit_of_work() as s:
        sends = sp.claim(s, now=ec.now, base=base, secret=settings.resolved_secret_key())  # type: ignore[attr-defined]
    if not sends:
        return 0
    email = ec.shared.get("statuspage_email")
    if email is None:
        smtp_url = getattr(settings, "smtp_url", None)
        email = ec.shared["statuspage_email"] = sp.ListEmail(smtp_url, settings.smtp_from) if smtp_url else \
            sp.Result(sp.Outcome.permanent, "no email server configured (set TOCSIN_SMTP_URL)")  # type: ignore[attr-defined]
    client = dispatcher(ec).client()  # the engine's one guarded HTTP client (egress policy)

    def one(send: sp.Send) -> tuple[sp.Send, sp.Result]:
        return send, sp.send(send, email=email, client=client, now=ec.clock.now())  # type: ignore[arg-type]

    results = list(send_pool(ec).map(one, sends)) if len(sends) > 1 else [one(sends[0])]
    with ec.db.unit_of_work() as s:
        sp.record(s, results, ec.clock.now())
    return len(sends)


ORDER = [
    ("pending_events", pending_events),
    ("unsuppress", unsuppress),
    ("heartbeats", heartbeats),
    ("checks", checks),
    ("escalations", escalations),
    ("action_reminders", action_reminders),
    ("deliver", deliver),
    ("statuspage_maintenance", statuspage_maintenance),
    ("statuspage_deliver", statuspage_deliver),
    ("action_sync", action_sync),
]
