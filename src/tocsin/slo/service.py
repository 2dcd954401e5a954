"""SLOs: create, list, get, change, delete (admins, audited); pushed counts; status (SLI, budget, burn).

Validation lives here so every caller (API, console) gets the same rules. The engine job
(`slo/job.py`) reads the check and Prometheus feeds and raises the burn-rate alerts.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.checks.models import Check
from tocsin.db.lookup import require_row
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.principal import OrgRole, Principal
from tocsin.services.models import Service
from tocsin.services.service import require_service
from tocsin.slo import alerting, store
from tocsin.slo.budget import KINDS, RULES, WINDOW_DAYS, Budget, Counts, budget, burn_rate, burn_windows, span
from tocsin.slo.models import Slo, SloEventKey
from tocsin.slo.prometheus import WINDOW

SOURCES = ("check", "push", "prometheus")
FIELDS = ("name", "description", "kind", "target", "window_days", "source", "check_id", "latency_threshold_ms",
          "good_query", "total_query", "alerting")
FUTURE_SKEW = timedelta(minutes=5)  # pushed counts may be this far ahead of our clock


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, details={"field": field})


def validate(session: Session, service_id: uuid.UUID, cfg: dict[str, Any]) -> dict[str, Any]:
    """Check a whole SLO configuration; return it cleaned. Raises InvalidInput."""
    name = str(cfg.get("name") or "").strip()
    if not name or len(name) > 200:
        raise _bad("name", "name must be 1 to 200 characters")
    cfg["name"] = name
    if cfg.get("kind") not in KINDS:
        raise _bad("kind", "kind must be availability or latency")
    target = cfg.get("target")
    if not isinstance(target, (int, float)) or not 0 < target < 100:
        raise _bad("target", "target must be a percentage above 0 and below 100, e.g. 99.9")
    cfg["target"] = float(target)
    if cfg.get("window_days") not in WINDOW_DAYS:
        raise _bad("window_days", "window_days must be 7, 28 or 30")
    source = cfg.get("source")
    if source not in SOURCES:
        raise _bad("source", "source must be check, push or prometheus")
    if source == "check":
        if cfg.get("check_id") is None:
            raise _bad("check_id", "source check needs check_id")
        check = session.get(Check, cfg["check_id"])
        if check is None or check.service_id != service_id:
            raise _bad("check_id", "check_id must be a synthetic check of this service")
        if cfg.get("kind") == "latency" and cfg.get("latency_threshold_ms") is None:
            raise _bad("latency_threshold_ms", "a latency SLO on a check needs latency_threshold_ms")
    else:
        cfg["check_id"] = None
    if source == "prometheus":
        for field in ("good_query", "total_query"):
            text = (cfg.get(field) or "").strip()
            if not text:
                raise _bad(field, f"source prometheus needs {field}")
            if WINDOW not in text:
                raise _bad(field, f"{field} must count events over {WINDOW}, e.g. "
                                  f"sum(increase(http_requests_total[{WINDOW}]))")
            cfg[field] = text
    else:
        cfg["good_query"] = cfg["total_query"] = None
    if source != "check":
        cfg["latency_threshold_ms"] = None
    return cfg


def _audit_view(slo: Slo) -> dict[str, Any]:
    return {f: (str(getattr(slo, f)) if f == "check_id" and slo.check_id else getattr(slo, f)) for f in FIELDS}


def create_slo(session: Session, *, actor: Principal, now: datetime, service: str, **fields: Any) -> Slo:
    """Create an SLO on a service, evaluated at once; raise Forbidden, NotFound (service), InvalidInput,
    Conflict (the service has an SLO of that name)."""
    actor.require(OrgRole.admin, "creating SLOs")
    svc = require_service(session, service)
    cfg = validate(session, svc.id, {"description": "", "kind": "availability", "window_days": 30,
                                      "alerting": True, **fields})
    _unique_name(session, svc.id, cfg["name"], None)
    slo = Slo(service_id=svc.id, firing=[], read_until=None, next_eval_at=now, created_at=now, updated_at=now,
              **{f: cfg.get(f) for f in FIELDS})
    session.add(slo)
    session.flush()
    record(session, actor=actor, action="slo.create", target_type="slo", target_id=slo.id, now=now,
           details={"service": svc.slug, **_audit_view(slo)})
    return slo


def _unique_name(session: Session, service_id: uuid.UUID, name: str, own: uuid.UUID | None) -> None:
    other = session.execute(sa.select(Slo.id).where(Slo.service_id == service_id, Slo.name == name)).scalar()
    if other is not None and other != own:
        raise Conflict(f"the service already has an SLO named {name!r}", details={"field": "name"})


def list_slos(session: Session, *, service_id: uuid.UUID) -> list[Slo]:
    return list(session.execute(sa.select(Slo).where(Slo.service_id == service_id)
                                .order_by(Slo.name, Slo.id)).scalars())


def require_slo(session: Session, slo_id: uuid.UUID) -> Slo:
    return require_row(session, Slo, slo_id, "slo")


def update_slo(session: Session, *, actor: Principal, now: datetime, slo: Slo, **changes: Any) -> Slo:
    """Change an SLO; turning alerting off resolves its open alerts. Changing the source starts the
    feed again. Raises Forbidden, InvalidInput, Conflict."""
    actor.require(OrgRole.admin, "changing SLOs")
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise _bad(sorted(unknown)[0], "unknown field")
    cfg = validate(session, slo.service_id, {**{f: getattr(slo, f) for f in FIELDS}, **changes})
    _unique_name(session, slo.service_id, cfg["name"], slo.id)
    if cfg["source"] != slo.source or cfg["check_id"] != slo.check_id:
        slo.read_until = None
    for f in FIELDS:
        setattr(slo, f, cfg[f])
    if not slo.alerting:
        alerting.resolve_all(session, slo, now=now)
    slo.updated_at = now
    slo.next_eval_at = min(slo.next_eval_at, now)
    session.flush()
    record(session, actor=actor, action="slo.update", target_type="slo", target_id=slo.id, now=now,
           details={"changed": sorted(changes), **_audit_view(slo)})
    return slo


def delete_slo(session: Session, *, actor: Principal, now: datetime, slo: Slo) -> None:
    """Delete an SLO and its counts; its open burn-rate alerts are resolved."""
    actor.require(OrgRole.admin, "deleting SLOs")
    alerting.resolve_all(session, slo, now=now)
    record(session, actor=actor, action="slo.delete", target_type="slo", target_id=slo.id, now=now,
           details=_audit_view(slo))
    session.delete(slo)
    session.flush()


@dataclass(frozen=True, slots=True)
class Pushed:
    bucket: datetime
    duplicate: bool


def _digest(good: int, total: int, at: datetime | None) -> str:
    return hashlib.sha256(f"{good}/{total}/{at.isoformat() if at else ''}".encode()).hexdigest()


def push_events(session: Session, *, actor: Principal, now: datetime, slo: Slo, good: int, total: int,
                at: datetime | None = None, idempotency_key: str | None = None) -> Pushed:
    """Count `good` of `total` events at `at` (default now) for a push SLO.

    A repeated `idempotency_key` with the same counts counts nothing and answers as before; with
    different counts it is a Conflict. Raises Forbidden (viewers), InvalidInput."""
    actor.require(OrgRole.responder, "pushing SLO events")
    if slo.source != "push":
        raise _bad("source", f"this SLO reads its {slo.source} feed; only push SLOs take events")
    if good < 0 or total < 0 or good > total:
        raise _bad("good", "good and total must be 0 or more, with good at most total")
    when = at or now
    if when > now + FUTURE_SKEW:
        raise _bad("at", "at is in the future")
    if when < now - timedelta(days=max(WINDOW_DAYS)):
        raise _bad("at", f"at is older than {max(WINDOW_DAYS)} days")
    # Hold the SLO until this push commits (PostgreSQL; SQLite has one writer): a delete racing it
    # waits, or has already won and the push is a 404, not a foreign-key failure on the insert.
    if session.execute(sa.select(Slo.id).where(Slo.id == slo.id).with_for_update(key_share=True)).scalar() is None:
        raise NotFound(f"no slo {slo.id}", details={"slo": str(slo.id)})
    start = store.bucket_start(when)
    if idempotency_key is not None:
        digest = _digest(good, total, at)
        seen = session.execute(sa.select(SloEventKey).where(SloEventKey.slo_id == slo.id,
                                                           SloEventKey.key == idempotency_key)).scalar()
        if seen is not None:
            if seen.digest != digest:
                raise Conflict("this idempotency key was used with other counts", details={"field": "idempotency_key"})
            return Pushed(datetime.fromisoformat(seen.answer["bucket"]), True)
        try:
            with session.begin_nested():  # two racing repeats: the unique key fails the second
                session.add(SloEventKey(slo_id=slo.id, key=idempotency_key, digest=digest, at=now,
                                        answer={"bucket": start.isoformat()}))
        except IntegrityError:
            return Pushed(start, True)
    store.add(session, slo.id, [(when, float(good), float(total))])
    return Pushed(start, False)


@dataclass(frozen=True, slots=True)
class Burn:
    window: timedelta
    counts: Counts
    rate: float | None


@dataclass(frozen=True, slots=True)
class Status:
    slo: Slo
    budget: Budget
    burns: list[Burn]


def parse_windows(text: str) -> list[timedelta]:
    """Burn-rate windows as people write them ("15m,2h,1d"): at most 10, each 1 minute to 30 days.
    Raises InvalidInput."""
    found: list[timedelta] = []
    for part in (p.strip().lower() for p in text.split(",") if p.strip()):
        unit = {"m": 60, "h": 3600, "d": 86400}.get(part[-1:])
        # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
        if unit is None or not (part[:-1].isascii() and part[:-1].isdigit()) or len(part) > 8:
            raise _bad("windows", "windows are like 15m, 2h or 1d, separated by commas")
        window = timedelta(seconds=int(part[:-1]) * unit)
        if not timedelta(minutes=1) <= window <= timedelta(days=max(WINDOW_DAYS)):
            raise _bad("windows", "each window must be 1 minute to 30 days")
        found.append(window)
    if len(found) > 10:
        raise _bad("windows", "at most 10 windows")
    return found


def status(session: Session, slo: Slo, *, now: datetime, extra: list[timedelta] | None = None) -> Status:
    """The SLO's SLI and budget over its window and its burn rate over each rule window (then each of
    `extra`), at `now`."""
    spans = [timedelta(days=slo.window_days), *burn_windows(), *(extra or [])]
    counts = store.windows(session, slo.id, now, spans)
    burns = [Burn(w, c, burn_rate(c, slo.target)) for w, c in zip(spans[1:], counts[1:], strict=True)]
    return Status(slo, budget(counts[0], slo.target, slo.window_days), burns)


def status_out(st: Status) -> dict[str, Any]:
    """A status as the API and console show it."""
    slo, b = st.slo, st.budget
    firing = set(slo.firing or [])
    return {
        **{c: getattr(slo, c) for c in ("id", "service_id", "name", "description", "kind", "target", "window_days",
                                         "source", "check_id", "latency_threshold_ms", "good_query", "total_query",
                                         "alerting", "last_evaluated_at", "last_error", "created_at",
                                         "updated_at")},
        "firing": [r.name for r in RULES if r.name in firing],
        "budget": {"sli": b.sli, "good": b.good, "total": b.total, "bad": b.bad, "allowed_bad": b.allowed_bad,
                   "consumed_fraction": b.consumed_fraction, "remaining_fraction": b.remaining_fraction,
                   "remaining_events": b.remaining_events, "budget_minutes": b.budget_minutes,
                   "remaining_minutes": b.remaining_minutes},
        "burn": [{"window": span(x.window), "good": x.counts.good, "total": x.counts.total, "burn_rate": x.rate}
                 for x in st.burns],
        "rules": [{"name": r.name, "long_window": span(r.long), "short_window": span(r.short),
                   "threshold": r.threshold, "severity": r.severity, "firing": r.name in firing} for r in RULES],
    }


def services_with_slos(session: Session) -> list[tuple[Service, list[Slo]]]:
    """Every service that has SLOs, with them (for reports)."""
    rows = session.execute(sa.select(Slo, Service).join(Service, Service.id == Slo.service_id)
                           .order_by(Service.slug, Slo.name)).all()
    out: dict[uuid.UUID, tuple[Service, list[Slo]]] = {}
    for slo, svc in rows:
        out.setdefault(svc.id, (svc, []))[1].append(slo)
    return list(out.values())
