"""Agents: checks run from other places. An admin registers an agent under a location name and gets
its key once (tocsin keeps its SHA-256, like integration keys); the agent fetches the checks that list
its location and reports their results, which move that location's verdict and, by quorum, the check's.

Results are idempotent per (check, location, run time): an agent that retries a batch whose answer
it lost is not counted twice. A result closer than `locations.min_gap` to another of the same
location is dropped (listed in `rejected`): a check runs once per interval, and a flood of results
with distinct run times must neither fill the database nor flap the alert. A batch naming a check not assigned to the agent is refused whole
(Forbidden, the check ids in the details) and nothing of it is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.checks.locations import SERVER, apply_result, is_duplicate, min_gap, too_close
from tocsin.checks.models import Check, CheckAgent
from tocsin.checks.probe import ProbeResult
from tocsin.checks.quorum import OFFLINE_AFTER_INTERVALS
from tocsin.checks.service import LOCATION_NAME
from tocsin.db.lookup import require_row
from tocsin.errors import Conflict, Forbidden, InvalidInput
from tocsin.inbound.types import Source
from tocsin.keys import hint, key_hash, new_key
from tocsin.pipeline.ingest import Incoming, ingest
from tocsin.principal import OrgRole, Principal

KEY_PREFIX = "tca_"
MIN_POLL, MAX_POLL = 5, 3600
MAX_CLOCK_AHEAD = timedelta(minutes=5)  # an agent's run time this far in the future is refused
MAX_AGE = timedelta(days=1)  # results buffered longer than this are history, not news


def register_agent(session: Session, *, actor: Principal, now: datetime, name: str) -> tuple[CheckAgent, str]:
    """Register an agent for location `name`; return it and its key (shown once). Raises Forbidden,
    InvalidInput (a bad or reserved name) or Conflict (the name is taken)."""
    actor.require(OrgRole.admin, "registering agents")
    name = (name or "").strip().lower()
    if not LOCATION_NAME.match(name):
        raise InvalidInput("name: 1 to 64 lowercase letters, digits and hyphens (e.g. eu-west)",
                           details={"field": "name"})
    if name == SERVER:
        raise InvalidInput("name: 'server' is this server's own location", details={"field": "name"})
    if session.execute(sa.select(CheckAgent.id).where(CheckAgent.name == name)).first() is not None:
        raise Conflict(f"an agent named {name} is registered already", details={"field": "name"})
    key = KEY_PREFIX + new_key()
    agent = CheckAgent(name=name, key_hash=key_hash(key), key_hint=hint(key[len(KEY_PREFIX):]), created_at=now,
                       poll_interval_seconds=60)
    session.add(agent)
    session.flush()
    record(session, actor=actor, action="check_agent.register", target_type="check_agent", target_id=agent.id,
           now=now, details={"name": name})
    return agent, key


def list_agents(session: Session) -> list[CheckAgent]:
    return list(session.execute(sa.select(CheckAgent).order_by(CheckAgent.name)).scalars())


def require_agent(session: Session, agent_id: uuid.UUID) -> CheckAgent:
    return require_row(session, CheckAgent, agent_id, "agent")


def revoke_agent(session: Session, *, actor: Principal, now: datetime, agent: CheckAgent) -> None:
    """Delete the agent: its key stops working at once. Checks keep the location in their list (it
    shows as offline and never counts as failing) until an admin edits them or registers the name again."""
    actor.require(OrgRole.admin, "revoking agents")
    record(session, actor=actor, action="check_agent.revoke", target_type="check_agent", target_id=agent.id,
           now=now, details={"name": agent.name})
    session.delete(agent)
    session.flush()


def is_online(agent: CheckAgent, now: datetime) -> bool:
    """Seen within OFFLINE_AFTER_INTERVALS of its own polling intervals."""
    return agent.last_seen_at is not None and (
        now - agent.last_seen_at <= timedelta(seconds=agent.poll_interval_seconds * OFFLINE_AFTER_INTERVALS))


def authenticate_agent(session: Session, key: str | None, *, now: datetime, poll_interval: int | None = None
                       ) -> CheckAgent | None:
    """The agent holding `key`, marked seen now; None for a missing or unknown key."""
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    agent = session.execute(sa.select(CheckAgent).where(CheckAgent.key_hash == key_hash(key))).scalar_one_or_none()
    if agent is None:
        return None
    agent.last_seen_at = now
    if poll_interval is not None:
        agent.poll_interval_seconds = max(MIN_POLL, min(MAX_POLL, poll_interval))
    return agent


def assigned_checks(session: Session, agent: CheckAgent) -> list[Check]:
    """The enabled checks that list the agent's location (filtered here: JSON containment differs
    between SQLite and PostgreSQL, and checks are few)."""
    rows = session.execute(sa.select(Check).where(Check.enabled.is_(True)).order_by(Check.id)).scalars()
    return [c for c in rows if agent.name in (c.locations or [])]


def agents_of(session: Session) -> dict[str, int]:
    """Location name -> how many enabled checks list it."""
    counts: dict[str, int] = {}
    for locations in session.execute(sa.select(Check.locations).where(Check.enabled.is_(True))).scalars():
        for loc in locations or []:
            counts[loc] = counts.get(loc, 0) + 1
    return counts


@dataclass(frozen=True)
class Report:
    """One result an agent reports."""

    check_id: uuid.UUID
    at: datetime  # when the agent ran the probe (aware UTC)
    result: ProbeResult


@dataclass(frozen=True)
class Accepted:
    accepted: int
    duplicates: int
    rejected: list[dict[str, object]]  # {"index": i, "error": "..."}: dropped, and why


def accept_results(session: Session, agent: CheckAgent, reports: Sequence[Report], *, now: datetime) -> Accepted:
    """Store an agent's results and move its location's verdicts; raise Forbidden (nothing stored)
    when a report names a check not assigned to the agent (or no longer existing)."""
    ids = sorted({r.check_id for r in reports})
    checks = {c.id: c for c in session.execute(
        sa.select(Check).where(Check.id.in_(ids)).order_by(Check.id).with_for_update()).scalars()} if ids else {}
    foreign = [str(i) for i in ids if i not in checks or agent.name not in (checks[i].locations or [])]
    if foreign:
        raise Forbidden(f"{len(foreign)} of these checks are not assigned to location {agent.name}",
                        details={"check_ids": foreign})
    accepted = duplicates = 0
    rejected: list[dict[str, object]] = []
    events = []
    # oldest first, so each location's streak moves in the order the probes ran
    for index, report in sorted(enumerate(reports), key=lambda pair: (pair[1].at, pair[0])):
        if report.at > now + MAX_CLOCK_AHEAD or report.at < now - MAX_AGE:
            rejected.append({"index": index, "error": "run time too far from the server's clock (check the agent's "
                                                      "clock) or older than a day"})
            continue
        check = checks[report.check_id]
        if is_duplicate(session, check.id, agent.name, report.at):
            duplicates += 1
            continue
        if too_close(session, check, agent.name, report.at):
            rejected.append({"index": index, "error": f"less than {min_gap(check).total_seconds():g} s from another "
                                                      "result of this location (a check runs once per interval)"})
            continue
        event = apply_result(session, check, agent.name, report.result, at=report.at, now=now)
        accepted += 1
        if event is not None:
            events.append(Incoming(event, check.service_id, None, Source.check.value))
        session.flush()
    if events:
        ingest(session, events, now=now)
    return Accepted(accepted=accepted, duplicates=duplicates, rejected=rejected)
