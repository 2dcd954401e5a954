"""Inhibition for one batch: the firing alerts that can hold others back, read at most twice a batch.

A batch decides from memory (`decide.Firing`): the first new alert that has upstream services
reads the firing alerts of every service something depends on, and the first one that matches an
inhibition rule's target reads the firing alerts its source matchers can match (one query each,
whatever the batch's size). Alerts the batch creates join the set as they are decided, and alerts
it resolves leave it, so a database alert and its dependants arriving in one batch are decided in
arrival order. Nothing is read when there are no dependencies and no rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.db.base import table_of
from tocsin.pipeline import decide
from tocsin.pipeline.context import Context

A = table_of(Alert)
INHIBITED = "inhibited"  # Alert.suppressed_by while held by inhibition


class Inhibitor:
    def __init__(self, session: Session, ctx: Context) -> None:
        self.s, self.ctx = session, ctx
        self.firing = decide.Firing(upstream=ctx.upstream, depended_on=ctx.depended_on, rules=ctx.inhibit_rules)
        self._deps_read = self._rules_read = False

    def check(self, alert_id: uuid.UUID, service_id: uuid.UUID, labels: Mapping[str, str]) -> decide.Inhibition | None:
        """What inhibits this alert now, or None."""
        if not self.firing.active:
            return None
        deps, rules = self.firing.needs_sources(service_id, labels)
        if deps and not self._deps_read:
            self._deps_read = True
            self._read(A.c.service_id.in_(self.ctx.depended_on))
        if rules and not self._rules_read:
            self._rules_read = True
            self._read(self._rule_sources())
        return decide.inhibition(alert_id=alert_id, service_id=service_id, labels=labels, firing=self.firing,
                                 slugs=self.ctx.slugs, drills=self.ctx.drills)

    def firing_now(self, alert_id: uuid.UUID, service_id: uuid.UUID, summary: str, labels: Mapping[str, str]) -> None:
        """This alert fires and is not inhibited: it can inhibit the alerts decided after it."""
        if self.firing.active:
            self.firing.add(decide.SourceAlert(alert_id, service_id, summary, labels))

    def gone(self, alert_id: uuid.UUID) -> None:
        """This alert resolved (or is held by inhibition itself): it inhibits nothing from now on."""
        self.firing.remove(alert_id)

    def read_all(self) -> None:
        """Read every source there may be (re-checking held alerts needs them all)."""
        if self.firing.depended_on and not self._deps_read:
            self._deps_read = True
            self._read(A.c.service_id.in_(self.ctx.depended_on))
        if self.firing.rules and not self._rules_read:
            self._rules_read = True
            self._read(self._rule_sources())

    def _rule_sources(self) -> sa.ColumnElement[bool]:
        """Where the alerts some rule's source matchers can match are: the rules' services, or
        everywhere when a rule is global (the matchers are applied in memory)."""
        scopes = {rule.service_id for rule in self.ctx.inhibit_rules}
        if None in scopes:
            return sa.true()
        return A.c.service_id.in_(scopes)

    def _read(self, where: sa.ColumnElement[bool]) -> None:
        # Firing (triggered or acknowledged) and not inhibited itself; oldest first.
        stmt = (sa.select(A.c.id, A.c.service_id, A.c.summary, A.c.severity, A.c.source, A.c.labels)
                .where(A.c.status != "resolved", sa.or_(A.c.suppressed_by.is_(None), A.c.suppressed_by != INHIBITED),
                       where).order_by(A.c.id))
        for row in self.s.execute(stmt):
            labels = self.ctx.match_labels(row.labels or {}, service_id=row.service_id, severity=row.severity,
                                           source=row.source)
            self.firing.add(decide.SourceAlert(row.id, row.service_id, row.summary, labels), loaded=True)
