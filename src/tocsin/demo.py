"""A small demo organisation, loaded into an empty database by `tocsin demo`.

Passwords and tokens are random and shown once (and written to a 0600 file in the
data directory) because even a demo should not ship a known credential.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.actions.service import ActionSpec, create_item, update_item
from tocsin.actions.types import ActionPriority, ActionType
from tocsin.clock import Clock
from tocsin.config import Settings
from tocsin.containment import service as containment
from tocsin.containment.types import Phase
from tocsin.escalation.service import create_policy, set_service_policy
from tocsin.evidence import service as evidence
from tocsin.evidence.types import CustodyAction
from tocsin.flows.incidents import declare
from tocsin.flows.incidents import update as update_incident
from tocsin.incidents.models import Incident
from tocsin.incidents.roles import assign_role
from tocsin.incidents.service import Declaration, ref
from tocsin.incidents.timeline import add_note
from tocsin.incidents.types import Kind, Role, Status
from tocsin.indicators import service as indicators
from tocsin.indicators.types import AssetKind, ContainmentState, IndicatorType, Tlp
from tocsin.integrations.service import IntegrationType, create_integration
from tocsin.legal import service as legal
from tocsin.obligations import service as obligations
from tocsin.oncall.service import create_layer, create_schedule
from tocsin.postmortems.service import start as start_postmortem
from tocsin.postmortems.service import update as update_postmortem
from tocsin.principal import OrgRole, Principal
from tocsin.problems.service import NewProblem, create_problem
from tocsin.routing.service import create_auto_rule
from tocsin.runbooks.service import create_runbook
from tocsin.services.service import create_service, require_service
from tocsin.severities import Severity
from tocsin.statuspage import service as sp
from tocsin.teams.service import create_team, set_members
from tocsin.users.models import User
from tocsin.users.service import create_token, create_user, principal_for


@dataclass
class Integration:
    service: str
    type: str
    key: str


@dataclass
class Credential:
    email: str
    name: str
    role: str
    password: str
    token: str


PEOPLE = [
    ("alice@demo.tocsin.dev", "Alice Admin", OrgRole.admin, "platform"),
    ("bob@demo.tocsin.dev", "Bob Responder", OrgRole.responder, "platform"),
    ("carol@demo.tocsin.dev", "Carol Security", OrgRole.responder, "security"),
    ("dave@demo.tocsin.dev", "Dave Viewer", OrgRole.viewer, None),
    ("lena@demo.tocsin.dev", "Lena Counsel", OrgRole.responder, "security"),
]


CHECKOUT_RUNBOOK = """# Checkout latency

When p99 checkout latency is above 2 s.

1. Open the [checkout dashboard](https://grafana.example/d/checkout) and note when latency rose
2. Check the deploys since then: `tocsin` lists them under the incident's Changes
3. Roll back the last payments-api deploy if it lines up [action: rollback-payments-api]
4. Post an update in the room with what you found
"""


def is_empty(session: Session) -> bool:
    return session.execute(sa.select(sa.func.count()).select_from(User)).scalar_one() == 0


def load(session: Session, clock: Clock, settings: Settings) -> tuple[list[Credential], list[Integration]]:
    """Create the demo organisation; return the credentials of its users and its integration keys.
    `settings` give the legal gate and the notification regimes in force."""
    now = clock.now()
    system = Principal.system("demo")
    platform = create_team(session, actor=system, now=now, name="Platform", slug="platform",
                           description="Runs the shared infrastructure")
    create_team(session, actor=system, now=now, name="Payments", slug="payments")
    security = create_team(session, actor=system, now=now, name="Security", slug="security", is_security=True,
                           description="Sees every restricted incident")
    creds: list[Credential] = []
    users: dict[str, User] = {}
    for email, name, role, _team in PEOPLE:
        password = secrets.token_urlsafe(12)
        user = create_user(session, actor=system, now=now, email=email, name=name, org_role=role, password=password)
        _tok, token = create_token(session, actor=system, now=now, user=user, name="demo")
        users[email] = user
        creds.append(Credential(email, name, role.value, password, token))
    set_members(session, actor=system, now=now, team=platform,
                users=[users[e] for e, *_rest, t in PEOPLE if t == "platform"])
    set_members(session, actor=system, now=now, team=security,
                users=[users[e] for e, *_rest, t in PEOPLE if t == "security"])
    create_service(session, actor=system, now=now, name="Postgres", slug="postgres", owner_team="platform", tier=1)
    create_service(session, actor=system, now=now, name="Payments API", slug="payments-api", owner_team="payments",
                   tier=1, depends_on=["postgres"], runbook_url="https://runbooks.example/payments-api")
    create_service(session, actor=system, now=now, name="Checkout", slug="checkout", owner_team="payments", tier=1,
                   depends_on=["payments-api"])
    create_service(session, actor=system, now=now, name="Marketing site", slug="www", owner_team="platform", tier=4)
    create_runbook(session, actor=system, now=now, title="Checkout latency", team="payments",
                   services=["checkout"], matchers=['alertname=~"Checkout.*"'], body_md=CHECKOUT_RUNBOOK)

    bob = principal_for(session, users["bob@demo.tocsin.dev"])
    incident = declare(session, actor=bob, now=now, spec=Declaration(
        title="Elevated checkout latency", severity=Severity.SEV2, kind=Kind.operational,
        summary="p99 checkout latency above 4 s since the 14:00 deploy.", services=["checkout", "payments-api"],
        impact={"customers_affected": 300, "customer_facing": True, "revenue_at_risk_per_hour": 2500},
    ))
    add_note(session, incident=incident, actor=bob, now=now, text="Rolling back the 14:00 deploy of payments-api.")
    update_incident(session, incident=incident, actor=bob, now=now, changes={"status": Status.identified.value})
    _paging(session, system, now)
    past = _learning(session, principal_for(session, users["carol@demo.tocsin.dev"]), now)
    alice = principal_for(session, users["alice@demo.tocsin.dev"])
    _status_page(session, alice, bob, incident, past, now)
    _breach(session, settings, users["carol@demo.tocsin.dev"], alice, users["lena@demo.tocsin.dev"], now)
    return creds, _detection(session, system, now)


def _learning(session: Session, carol: Principal, now: datetime) -> Incident:
    """A past incident (INC-2, ten days ago) with its postmortem in review, two action items (one
    done, one overdue) and the known problem behind it, so the reports have something to show."""

    t0 = now - timedelta(days=10)
    past = declare(session, actor=carol, now=t0 + timedelta(minutes=6), spec=Declaration(
        title="Payments API connection pool exhausted", severity=Severity.SEV1, kind=Kind.operational,
        summary="Payments failed for 38 minutes: the API ran out of database connections.",
        services=["payments-api", "postgres"], impact_started_at=t0, detected_at=t0 + timedelta(minutes=4),
        impact={"customers_affected": 1200, "customer_facing": True, "revenue_at_risk_per_hour": 9000},
    ))
    add_note(session, incident=past, actor=carol, now=t0 + timedelta(minutes=20), key_event=True,
             text="Raised the pool size from 20 to 60; errors stopped at once.")
    for minutes, status in ((8, Status.identified), (24, Status.mitigated), (38, Status.resolved)):
        update_incident(session, incident=past, actor=carol, now=t0 + timedelta(minutes=minutes),
                        changes={"status": status.value})
    pm = start_postmortem(session, incident=past, actor=carol, now=t0 + timedelta(days=1))
    update_postmortem(session, pm=pm, incident=past, actor=carol, now=t0 + timedelta(days=2),
                      changes={"status": "in_review"})
    problem = create_problem(session, actor=carol, now=t0 + timedelta(days=2), spec=NewProblem(
        title="Connection pool too small for peak traffic", status="known_error", service="payments-api",
        root_cause="The pool size was set for 2024 traffic and never revisited.",
        known_error="Under peak load every request waits for a connection and times out.",
        workaround="Raise DB_POOL_SIZE on payments-api and restart it one pod at a time.",
        match={"terms": ["connection pool"]}, incidents=[ref(past)]))
    done = create_item(session, actor=carol, now=t0 + timedelta(days=2), spec=ActionSpec(
        title="Alert when the pool is 80% used", type=ActionType.detect, priority=ActionPriority.high,
        owner="carol@demo.tocsin.dev", due_at=t0 + timedelta(days=5), incident=str(past.id), problem=str(problem.id)))
    update_item(session, actor=carol, now=t0 + timedelta(days=4), item=done, changes={"status": "done"})
    create_item(session, actor=carol, now=t0 + timedelta(days=2), spec=ActionSpec(
        title="Size the pool from load tests before each peak season", type=ActionType.prevent,
        owner="bob@demo.tocsin.dev", due_at=t0 + timedelta(days=7), incident=str(past.id), problem=str(problem.id)))
    return past


def _status_page(session: Session, alice: Principal, bob: Principal, active: Incident, past: Incident,
                 now: datetime) -> None:
    """The public page "demo" (Acme Status): INC-1 as an open public incident with two updates,
    INC-2 as a resolved one ten days ago (its outage shows in the uptime bars), and a database
    maintenance in three days. Public names are written for customers, never the internal titles."""

    def at(when: datetime) -> datetime:
        return min(when, now)

    page = sp.create_page(session, actor=alice, now=now - timedelta(days=90), slug="demo", name="Acme Status",
                          description="Live status of Acme's payments, checkout and website.")
    payments = sp.create_component(session, actor=alice, now=page.created_at, page=page, name="Payments",
                                   is_group=True)
    api = sp.create_component(session, actor=alice, now=page.created_at, page=page, name="Card payments API",
                              group=payments, description="Card authorisations and captures",
                              service_id=require_service(session, "payments-api").id)
    checkout = sp.create_component(session, actor=alice, now=page.created_at, page=page, name="Checkout",
                                   group=payments, service_id=require_service(session, "checkout").id)
    www = sp.create_component(session, actor=alice, now=page.created_at, page=page, name="Website",
                              service_id=require_service(session, "www").id)
    t0 = past.impact_started_at or past.declared_at
    old = sp.post_incident_update(session, actor=alice, now=at(t0 + timedelta(minutes=10)), page=page, incident=past,
                                  name="Card payments failing", status="investigating",
                                  body="Card payments are failing. We are investigating.",
                                  component_statuses={api.id: "major_outage"}, deliver_notifications=False)
    sp.post_incident_update(session, actor=alice, now=at(t0 + timedelta(minutes=38)), page=page, status_incident=old,
                            status="resolved", body="Card payments work again. We are sorry for the disruption.",
                            deliver_notifications=False)
    sp.post_incident_update(session, actor=bob, now=at(active.declared_at + timedelta(minutes=5)), page=page,
                            incident=active, name="Card payments failing for some customers",
                            status="investigating", body="Some card payments fail or are slow. We are investigating.",
                            component_statuses={api.id: "partial_outage", checkout.id: "degraded_performance"},
                            deliver_notifications=False)
    sp.post_incident_update(session, actor=bob, now=at(active.declared_at + timedelta(minutes=15)), page=page,
                            incident=active, status="identified",
                            body="We found the cause, a faulty release, and are rolling it back.",
                            deliver_notifications=False)
    start = (now + timedelta(days=3)).replace(hour=2, minute=0, second=0, microsecond=0)
    sp.schedule_maintenance(session, actor=alice, now=now, page=page, name="Website hosting upgrade",
                            body="We are moving the website to new servers. It may be briefly unavailable.",
                            scheduled_for=start, scheduled_until=start + timedelta(hours=1), component_ids=[www.id],
                            deliver_notifications=False)


def _breach(session: Session, settings: Settings, carol_user: User, alice: Principal, lena: User,
            now: datetime) -> Incident:
    """A security incident (INC-3, restricted to its circle and the security team): a deploy key
    leaked six hours ago. Carol commands it and leads forensics, Lena is Legal; the containment
    checklist has the key revoked, one indicator and one affected account are recorded, the
    GitHub audit log export is registered as evidence and handed to Lena, GDPR's clock
    runs from aware_at (the room counts down to the Art. 33 notice), and Alice's status page update
    waits for Lena's approval."""

    t0 = now - timedelta(hours=6)
    carol = principal_for(session, carol_user)
    breach = declare(session, actor=carol, now=t0, spec=Declaration(
        title="Leaked deploy key", severity=Severity.SEV2, kind=Kind.security,
        summary="The payments-api deploy key was pushed to a public repository and used to clone two "
                "private repositories.", services=["payments-api"], detected_at=t0 - timedelta(minutes=12)))
    for role, who in ((Role.forensics_lead, carol_user), (Role.legal, lena)):
        assign_role(session, incident=breach, role=role, user=who, actor=carol,
                    now=t0 + timedelta(minutes=5))
    steps = containment.start_checklist(session, incident=breach, actor=carol, now=t0 + timedelta(minutes=8))
    revoke = next(step for step in steps if step.kind == "contain" and "credential" in step.title.lower())
    containment.mark_done(session, incident=breach, step=revoke, actor=carol, now=t0 + timedelta(minutes=20))
    containment.advance(session, incident=breach, actor=carol, now=t0 + timedelta(minutes=21), phase=Phase.containment,
                        note="deploy key revoked; checking what else it reached")
    indicators.add_indicator(session, incident=breach, actor=carol, now=t0 + timedelta(minutes=30),
                             spec=indicators.IndicatorSpec(
                                 type=IndicatorType.ipv4, value="203.0.113.45", tlp=Tlp.amber,
                                 first_seen=t0 - timedelta(minutes=40), source="GitHub audit log",
                                 notes="cloned payments-api and payments-infra with the leaked key"))
    indicators.add_asset(session, incident=breach, actor=carol, now=t0 + timedelta(minutes=32),
                         spec=indicators.AssetSpec(kind=AssetKind.account, name="deploy key payments-api-deploy",
                                                   state=ContainmentState.contained, source="GitHub audit log"))
    export = b"demo: GitHub audit log export for the leaked deploy key\n"
    item = evidence.register_external(
        session, incident=breach, actor=carol, now=t0 + timedelta(minutes=45), name="GitHub audit log export",
        location="s3://acme-forensics/leaked-deploy-key/github-audit.json",
        sha256=hashlib.sha256(export).hexdigest(), size=len(export),
        description="Every use of the deploy key in the last 90 days, exported by GitHub support.",
        handling=evidence.Handling(location="GitHub organisation settings", reason="who used the key, from where"))
    evidence.add_custody(session, incident=breach, item=item, actor=carol, now=t0 + timedelta(hours=2),
                         action=CustodyAction.transferred, handling=evidence.Handling(
                             who="Lena Counsel", location="shared legal drive", reason="for the GDPR assessment"))
    cat = obligations.catalog_of(settings)
    obligations.choose_regime(session, incident=breach, regime_id="gdpr", reason="EU customers' payment data",
                              actor=carol, now=t0 + timedelta(hours=1), cat=cat)
    obligations.set_clock(session, incident=breach, clock="aware_at", at=t0, reason="the secret scanner's alert, "
                          "confirmed by the audit log", actor=carol, now=t0 + timedelta(hours=1), cat=cat)
    page = sp.require_page(session, "demo")
    legal.post_update(session, actor=alice, now=t0 + timedelta(hours=3), severities=settings.legal_gate(), page=page,
                      incident=breach, name="Repository access review", status="investigating",
                      body="We are investigating unauthorised access to some of our source code. Payments are "
                           "not affected.", deliver_notifications=False)
    return breach


def _paging(session: Session, system: Principal, now: datetime) -> None:
    """A weekly on-call rotation (Bob, then Carol; handoff Mondays 09:00 Berlin time) paged first
    for checkout and payments, then the platform team after 10 minutes."""

    primary = create_schedule(session, actor=system, now=now, name="Payments primary", slug="payments-primary",
                              timezone="Europe/Berlin", team="payments")
    weeks_ago = now - timedelta(weeks=4)
    monday = weeks_ago.replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=weeks_ago.weekday())
    create_layer(session, actor=system, now=now, schedule=primary, name="weekly", kind="weekly",
                 timezone="Europe/Berlin", start=monday,
                 members=["bob@demo.tocsin.dev", "carol@demo.tocsin.dev"])
    create_policy(session, actor=system, now=now, name="Payments", slug="payments", repeat=1, levels=[
        {"delay_minutes": 10, "targets": [{"type": "schedule", "slug": "payments-primary"}]},
        {"delay_minutes": 10, "targets": [{"type": "team", "slug": "platform"}]}])
    for slug in ("checkout", "payments-api"):
        set_service_policy(session, actor=system, now=now, service=require_service(session, slug), policy="payments")


def _detection(session: Session, system: Principal, now: datetime) -> list[Integration]:
    """Integrations to send test alerts to, and an auto-incident rule for tier-1 critical alerts."""

    keys = []
    for slug, kind in (("checkout", IntegrationType.events_v2), ("checkout", IntegrationType.alertmanager),
                       ("postgres", IntegrationType.alertmanager)):
        _row, key = create_integration(session, actor=system, now=now, service=slug, kind=kind, name=f"demo {kind}")
        keys.append(Integration(slug, kind.value, key))
    create_auto_rule(session, actor=system, now=now, name="Critical alert on a tier-1 service",
                              matchers=["tier=1", "severity=critical"], incident_severity="SEV2")
    return keys
