"""What the pipeline needs to know besides the events: services and their dependencies, rules,
silences, windows, inhibition rules.

Loaded once per batch (these tables are small) so that deciding about each event is pure.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.db.counters import ALERT_CONFIG, current_value
from tocsin.pipeline.decide import InhibitRuleView, RuleView, SilenceView, WindowView
from tocsin.routing.matchers import Matcher, load
from tocsin.routing.models import (
    AutoIncidentRule,
    InhibitionRule,
    MaintenanceWindow,
    RoutingRule,
    Silence,
)
from tocsin.services.alert_settings import AlertSettings, parse_settings
from tocsin.services.models import Service, ServiceDependency
from tocsin.windows import Recurrence, recurrence_kind


@dataclass(frozen=True, slots=True)
class ServiceView:
    id: uuid.UUID
    slug: str
    tier: int
    settings: AlertSettings
    has_policy: bool = True  # an escalation policy is attached: its alerts are paged (else "not paged")


@dataclass(frozen=True, slots=True)
class AutoRuleView:
    id: uuid.UUID
    name: str
    matchers: tuple[Matcher, ...]
    severity: str
    kind: str


@dataclass
class Context:
    services: dict[uuid.UUID, ServiceView] = field(default_factory=dict)
    rules: list[RuleView] = field(default_factory=list)
    silences: list[SilenceView] = field(default_factory=list)
    windows: list[WindowView] = field(default_factory=list)
    auto_rules: list[AutoRuleView] = field(default_factory=list)
    inhibit_rules: list[InhibitRuleView] = field(default_factory=list)
    # service -> every service it depends on, directly or through others, nearest first
    upstream: dict[uuid.UUID, tuple[uuid.UUID, ...]] = field(default_factory=dict)
    depended_on: frozenset[uuid.UUID] = frozenset()  # services something depends on

    slugs: dict[uuid.UUID, str] = field(default_factory=dict)
    drills: frozenset[uuid.UUID] = frozenset()  # the drill services (issue 19): routing never crosses into or out of them

    def match_labels(self, labels: dict[str, str], *, service_id: uuid.UUID, severity: str,
                     source: str) -> dict[str, str]:
        """The labels matchers see: the service's slug and tier, the severity and source, then the
        alert's own labels (which win on a clash, so rules written for Alertmanager keep working)."""
        svc = self.services.get(service_id)
        base = {"service": svc.slug if svc else "", "tier": str(svc.tier) if svc else "", "severity": severity,
                "source": source}
        base.update(labels)
        return base


def window_view(w: MaintenanceWindow) -> WindowView:
    return WindowView(w.id, w.service_id, w.name, w.starts_at, w.ends_at,
                      Recurrence(kind=recurrence_kind(w.recurrence), timezone=w.timezone, until=w.until), w.reason)


def silence_view(s: Silence) -> SilenceView:
    return SilenceView(s.id, load(s.matchers), s.starts_at, s.ends_at, s.author, s.reason)


# Per engine (database): the config version and the context read at that version.
_CACHE: weakref.WeakKeyDictionary[sa.Engine, tuple[int, Context]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def load_context(session: Session, *, now: datetime, service_ids: Iterable[uuid.UUID]) -> Context:
    """Return the services, routing rules, silences not yet over, windows and auto-incident rules.

    Read from memory while the `alert_config` version is unchanged (see `db/counters.py`), so a
    batch costs one query here, not five. Time-dependent choices (is a silence in force, is a
    window active) are made later with the batch's `now`, never at load time.
    """
    version = current_value(session, ALERT_CONFIG)
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, sa.Connection) else bind
    cached = _CACHE.get(engine)
    if cached is not None and cached[0] == version and all(s in cached[1].services for s in service_ids):
        return cached[1]
    ctx = _read(session, now)
    with _LOCK:
        _CACHE[engine] = (version, ctx)
    return ctx


def _read(session: Session, now: datetime) -> Context:
    ctx = Context()
    ctx.rules = [RuleView(r.id, r.name, load(r.matchers), r.service_id, r.urgency)
                 for r in session.execute(sa.select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id))
                 .scalars()]
    drills = set()
    for s in session.execute(sa.select(Service.id, Service.slug, Service.tier, Service.alert_settings,
                                       Service.escalation_policy_id, Service.drill)):
        ctx.services[s.id] = ServiceView(s.id, s.slug, s.tier, parse_settings(s.alert_settings),
                                         s.escalation_policy_id is not None)
        ctx.slugs[s.id] = s.slug
        if s.drill:
            drills.add(s.id)
    ctx.drills = frozenset(drills)
    ctx.silences = [silence_view(s) for s in session.execute(sa.select(Silence).where(Silence.ends_at > now))
                    .scalars()]
    ctx.windows = [window_view(w) for w in session.execute(sa.select(MaintenanceWindow)).scalars()]
    ctx.auto_rules = [AutoRuleView(r.id, r.name, load(r.matchers), r.incident_severity, r.incident_kind)
                      for r in session.execute(sa.select(AutoIncidentRule).order_by(AutoIncidentRule.created_at,
                                                                                   AutoIncidentRule.id)).scalars()]
    ctx.inhibit_rules = [InhibitRuleView(r.id, r.name, r.service_id, load(r.source_matchers), load(r.target_matchers),
                                         tuple(r.equal or ()))
                         for r in session.execute(sa.select(InhibitionRule).order_by(InhibitionRule.created_at,
                                                                                    InhibitionRule.id)).scalars()]
    direct: dict[uuid.UUID, list[uuid.UUID]] = {}
    for sid, dep in session.execute(sa.select(ServiceDependency.service_id, ServiceDependency.depends_on_id)):
        direct.setdefault(sid, []).append(dep)
    ctx.upstream = {sid: upstream_of(sid, direct, ctx.slugs) for sid in direct}
    ctx.depended_on = frozenset(d for deps in direct.values() for d in deps)
    return ctx


def upstream_of(service_id: uuid.UUID, direct: dict[uuid.UUID, list[uuid.UUID]],
                slugs: dict[uuid.UUID, str]) -> tuple[uuid.UUID, ...]:
    """Every service `service_id` depends on, directly or through others (transitively, breadth
    first: nearest first, by slug within a level); a cycle ends where it comes back."""
    seen = {service_id}
    out: list[uuid.UUID] = []
    level = [service_id]
    while level:
        nxt = sorted({d for s in level for d in direct.get(s, ()) if d not in seen}, key=lambda d: slugs.get(d, ""))
        seen.update(nxt)
        out += nxt
        level = nxt
    return tuple(out)
