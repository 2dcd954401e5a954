"""The scenario runbook: one object with the verbs a scenario test is written in.

A scenario reads like the runbook of what happens to the people involved:

    def test_bob_is_paged_when_alice_does_not_answer(runbook):
        runbook.person("Alice")
        runbook.person("Bob")
        runbook.service("checkout", tier=1)
        runbook.policy((5, ["Alice"]), (5, ["Bob"]))
        alert = runbook.trigger("checkout-5xx")          # an alert arrives (through `ingest`)
        runbook.tick()                                   # the engine runs, every module in order
        runbook.expect_email("Alice", "checkout-5xx")    # Alice is emailed (the real SMTP server)
        runbook.tick(minutes=5)                          # 5 minutes pass, nobody acks
        runbook.expect_email("Bob", "checkout-5xx")
        runbook.ack(alert, "Bob")
        runbook.tick(minutes=30)
        runbook.expect_nothing_more()                    # no email, SMS, call, Slack post or webhook

What is real: the test's database (SQLite or PostgreSQL), the ManualClock (time moves only when a
verb moves it), the alert pipeline, the engine with its modules in production order
(`tocsin.engine.modules.ORDER`), the app (`http`, a TestClient) built with the same settings as
the engine, and an SMTP server (aiosmtpd) and a webhook receiver on loopback. Twilio and Slack
are fakes on loopback speaking their wire formats (tests/harness/twilio.py, slack.py).

Verbs, by what they touch:

- people and org: `person`, `principal`, `team`, `service`, `schedule`, `override`, `policy`,
  `edit_policy`; contact settings: `contact`, `rule`, `rules`.
- alerts: `trigger`, `source_resolves`, `ingest` (raw events), `ack`, `resolve`.
- time and the engine: `tick(at=..., **advance)`, `run_until_idle`, `new_engine(*modules)`,
  `restart_engine()`; `now`, `start`, `minutes(at)`.
- the API: `http` (TestClient), `as_(name)` (calls that assert their status and return JSON).
- what the providers received: `emails(to)`, `sms(number)`, `calls(number)`, `slack_posts()`,
  `webhook_posts()`; `expect_email/expect_sms/expect_call/expect_slack/expect_webhook` take the
  next unread one (exactly one must be new) and `expect_nothing_more()` says nothing else came.
- what was written: `alert`, `alerts(service)`, `escalation`, `notifications`, `pages`,
  `decisions(alert, *kinds)`, `timeline(incident, kind)`, and any table's `rows(model, *where)`.
- settings: `configure(**overrides)` before the engine or the app first runs (`settings` holds them).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.harness.ingest import AppliedClient
from tests.harness.slack import FakeSlack
from tests.harness.slack import Received as SlackPost
from tests.harness.smtp import SmtpFixture
from tests.harness.twilio import FakeTwilio
from tests.harness.webhook import Post, Receiver

PUBLIC = "http://tocsin.test"  # the public URL links in messages point at
SENDER = "+15005550006"  # the number SMS and calls come from
EMAIL_FROM = "pager@tocsin.test"
SECRET_KEY = "scenario-secret"
DEFAULT_SERVICE = "checkout"


def scenario_settings(smtp: SmtpFixture, twilio: FakeTwilio, slack: FakeSlack, **overrides: Any) -> Any:
    """Settings with every provider pointed at the harness's servers and fakes."""
    from tocsin.config import Settings

    values: dict[str, Any] = dict(
        smtp_url=smtp.url, smtp_from=EMAIL_FROM, twilio_account_sid=twilio.account_sid,
        twilio_auth_token=twilio.auth_token, twilio_from=SENDER, twilio_base_url=twilio.url,
        slack_bot_token=next(iter(slack.tokens)), slack_base_url=slack.api_url, secret_key=SECRET_KEY,
        outbound_allow="127.0.0.0/8", public_url=PUBLIC)
    values.update(overrides)
    return Settings(**values)


@dataclass
class Caller:
    """API calls as one person: each asserts the status it expects and returns the JSON (or None)."""

    http: TestClient
    headers: dict[str, str]
    base: str = "/api/v1"

    def call(self, method: str, path: str, expect: int = 200, /, params: dict[str, Any] | None = None,
             **body: Any) -> Any:
        r = self.http.request(method, f"{self.base}{path}", json=body or None, params=params, headers=self.headers)
        assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def get(self, path: str, expect: int = 200, /, **params: Any) -> Any:
        return self.call("GET", path, expect, params=params or None)

    def post(self, path: str, expect: int = 201, /, **body: Any) -> Any:
        return self.call("POST", path, expect, **body)

    def patch(self, path: str, expect: int = 200, /, **body: Any) -> Any:
        return self.call("PATCH", path, expect, **body)

    def put(self, path: str, expect: int = 200, /, **body: Any) -> Any:
        return self.call("PUT", path, expect, **body)

    def delete(self, path: str, expect: int = 200, /) -> Any:
        return self.call("DELETE", path, expect)


class Runbook:
    """The world a scenario runs in and the verbs it is written in (see the module docstring)."""

    def __init__(self, *, db: Any, clock: Any, system: Any, make_person: Any, make_team: Any, make_service: Any,
                 smtp: SmtpFixture, twilio: FakeTwilio, slack: FakeSlack, receiver: Receiver) -> None:
        self.db, self.clock, self.system = db, clock, system
        self._make_person, self._make_team, self._make_service = make_person, make_team, make_service
        self.smtp, self.twilio, self.slack, self.receiver = smtp, twilio, slack, receiver
        self.people: dict[str, Any] = {}
        self.services: dict[str, uuid.UUID] = {}
        self.start = clock.now()
        self._overrides: dict[str, Any] = {}
        self.settings = scenario_settings(smtp, twilio, slack)
        self._engine: Any = None
        self._engines: list[Any] = []
        self._app: Any = None
        self._http: TestClient | None = None
        self._read: dict[str, set[int]] = {"email": set(), "twilio": set(), "slack": set(), "webhook": set()}

    # --- settings -------------------------------------------------------------------------------

    def configure(self, **overrides: Any) -> Any:
        """Change settings (e.g. public_url, action_reminder_days_before) before the engine or app runs."""
        if self._app is not None or self._engines:
            raise RuntimeError("configure() before the first tick or request: the engine and app share settings")
        self._overrides.update(overrides)
        self.settings = scenario_settings(self.smtp, self.twilio, self.slack, **self._overrides)
        return self.settings

    # --- time -----------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def minutes(self, at: datetime) -> int:
        """Whole minutes from the scenario's start to `at`."""
        return int((at - self.start).total_seconds() // 60)

    # --- people and organisation ------------------------------------------------------------------

    def person(self, name: str, role: str = "responder", teams: Sequence[str] = ()) -> Any:
        """A user called `name` (with an API token; email `<role><n>@example.test`), in `teams`."""
        self.people[name] = p = self._make_person(role, teams=list(teams), name=name)
        return p

    def principal(self, name: str) -> Any:
        from tocsin.principal import OrgRole, Principal

        p = self.people[name]
        return Principal(user_id=p.id, label=p.email, org_role=OrgRole(p.role))

    def team(self, slug: str) -> uuid.UUID:
        return self._make_team(slug)

    def service(self, slug: str = DEFAULT_SERVICE, tier: int = 2, owner_team: str | None = None,
                paging_unit: str = "group") -> uuid.UUID:
        """A service; `paging_unit` "alert" pages every alert on its own, "group" (new services' default)
        once per alert group."""
        self.services[slug] = sid = self._make_service(slug, tier=tier, owner_team=owner_team, paging_unit=paging_unit)
        return sid

    def schedule(self, slug: str, *members: str, kind: str = "weekly", start: datetime | None = None,
                 timezone: str = "UTC") -> uuid.UUID:
        """A schedule (in `timezone`) with one rotation of `members` (names) from `start` (default:
        now); no members: an empty schedule."""
        from tocsin.oncall import service as oncall

        with self.db.unit_of_work() as s:
            sched = oncall.create_schedule(s, actor=self.system, now=self.now, name=slug.title(), slug=slug,
                                           timezone=timezone)
            if members:
                oncall.create_layer(s, actor=self.system, now=self.now, schedule=sched, name=kind, kind=kind,
                                    timezone=timezone, start=start or self.now,
                                    members=[self.people[m].email for m in members])
            return sched.id

    def override(self, schedule: str, name: str, starts_at: datetime, ends_at: datetime) -> None:
        """`name` takes `schedule` from starts_at to ends_at."""
        from tocsin.oncall import service as oncall

        with self.db.unit_of_work() as s:
            oncall.create_override(s, actor=self.system, now=self.now, schedule=oncall.require_schedule(s, schedule),
                                   starts_at=starts_at, ends_at=ends_at, user=self.people[name].email)

    def _levels(self, levels: Iterable[tuple[int, Sequence[str]]]) -> list[dict[str, Any]]:
        def target(t: str) -> dict[str, str]:
            if ":" in t:
                kind, slug = t.split(":", 1)
                return {"type": kind, "slug": slug}
            return {"type": "user", "email": self.people[t].email}

        return [{"delay_minutes": delay, "targets": [target(t) for t in targets]} for delay, targets in levels]

    def policy(self, *levels: tuple[int, Sequence[str]], service: str | None = DEFAULT_SERVICE, repeat: int = 0,
               slug: str | None = None) -> uuid.UUID:
        """An escalation policy for `service` (None: attached to nothing). Each level is (delay
        minutes, [targets]); a target is a person's name, 'schedule:<slug>' or 'team:<slug>'."""
        from tocsin.escalation import service as esc
        from tocsin.services.service import require_service

        slug = slug or f"{service or 'unattached'}-policy"
        with self.db.unit_of_work() as s:
            p = esc.create_policy(s, actor=self.system, now=self.now, name=slug, slug=slug, repeat=repeat,
                                  levels=self._levels(levels))
            if service:
                esc.set_service_policy(s, actor=self.system, now=self.now, service=require_service(s, service),
                                       policy=slug)
            return p.id

    def edit_policy(self, policy: uuid.UUID | str, *levels: tuple[int, Sequence[str]]) -> None:
        """Replace the policy's levels (running escalations keep their snapshot)."""
        from tocsin.escalation import service as esc

        with self.db.unit_of_work() as s:
            esc.update_policy(s, actor=self.system, now=self.now, policy=esc.require_policy(s, policy),
                              levels=self._levels(levels))

    # --- contact settings (as the person sets them, through the service layer) -------------------

    def contact(self, name: str, kind: str, address: str) -> uuid.UUID:
        """A verified contact method, verified as its owner would: ask for a code, type it back."""
        from tocsin.contacts import service as contacts
        from tocsin.net.policy import user_policy
        from tocsin.users.service import require_user

        me, now = self.principal(name), self.now
        with self.db.unit_of_work() as s:
            m = contacts.create_method(s, actor=me, now=now, user=require_user(s, self.people[name].id), type=kind,
                                       address=address, policy=user_policy(self.settings))
            if m.verified_at is None:
                code = contacts.new_code(s, actor=me, now=now, method=m)
                assert contacts.verify(s, actor=me, now=now, method=m, code=code)
            return m.id

    def rule(self, name: str, method: uuid.UUID, delay: int = 0, urgency: str = "any") -> None:
        from tocsin.contacts import service as contacts
        from tocsin.users.service import require_user

        with self.db.unit_of_work() as s:
            contacts.create_rule(s, actor=self.principal(name), now=self.now,
                                 user=require_user(s, self.people[name].id), contact_method_id=method,
                                 delay_minutes=delay, urgency=urgency)

    def rules(self, name: str, *routes: tuple[uuid.UUID, int]) -> None:
        """Replace the person's rules with (method id, delay minutes) routes (verifying a first
        method adds an immediate rule for it)."""
        from tocsin.contacts import service as contacts

        with self.db.unit_of_work() as s:
            for r in contacts.list_rules(s, self.people[name].id):
                contacts.delete_rule(s, actor=self.principal(name), now=self.now, rule=r)
        for method, delay in routes:
            self.rule(name, method, delay)

    # --- alerts ---------------------------------------------------------------------------------

    def event(self, key: str, action: str = "trigger", severity: str = "critical", summary: str | None = None,
              source: str = "prometheus", **labels: str) -> Any:
        from tocsin.inbound.types import Action, AlertSeverity, Event

        return Event(action=Action(action), dedup_key=key, summary=summary if summary is not None else
                     f"{key} is failing", severity=AlertSeverity(severity), source=source, labels=labels)

    def ingest(self, *events: Any, service: str | uuid.UUID = DEFAULT_SERVICE) -> list[Any]:
        """Send events through the alert pipeline (as an integration does) in one batch; return the outcomes."""
        from tocsin.pipeline.ingest import Incoming, ingest

        sid = service if isinstance(service, uuid.UUID) else self._service_id(service)
        with self.db.unit_of_work() as s:
            return ingest(s, [Incoming(e, sid, None, "events_v2") for e in events], now=self.now)

    def trigger(self, key: str = "checkout-5xx", *, service: str | uuid.UUID = DEFAULT_SERVICE,
                severity: str = "critical", summary: str | None = None, **labels: str) -> uuid.UUID:
        """An alert fires at its source: one trigger event through the pipeline; return the alert's id."""
        (out,) = self.ingest(self.event(key, severity=severity, summary=summary, **labels), service=service)
        return out.alert_id

    def source_resolves(self, key: str = "checkout-5xx", *, service: str | uuid.UUID = DEFAULT_SERVICE) -> Any:
        """The source sends a resolve for `key` through the pipeline; return the outcome."""
        (out,) = self.ingest(self.event(key, action="resolve", summary="ok"), service=service)
        return out

    def ack(self, alert_id: uuid.UUID, name: str) -> None:
        """`name` acknowledges the alert as the API and console do (which stops its paging)."""
        from tocsin.alerts.service import require_alert
        from tocsin.flows import alerts as flows

        with self.db.unit_of_work() as s:
            flows.acknowledge(s, alert=require_alert(s, alert_id), actor=self.principal(name), now=self.now)

    def resolve(self, alert_id: uuid.UUID, name: str) -> None:
        """`name` resolves the alert as the API and console do (which stops its paging)."""
        from tocsin.alerts.service import require_alert
        from tocsin.flows import alerts as flows

        with self.db.unit_of_work() as s:
            flows.resolve(s, alert=require_alert(s, alert_id), actor=self.principal(name), now=self.now)

    def _service_id(self, slug: str) -> uuid.UUID:
        if slug not in self.services:
            from tocsin.services.models import Service

            with self.db.unit_of_work() as s:
                self.services[slug] = s.execute(sa.select(Service.id).where(Service.slug == slug)).scalar_one()
        return self.services[slug]

    # --- the engine -----------------------------------------------------------------------------

    def new_engine(self, *modules: str) -> Any:
        """Another engine on the same database (another process, as far as leases go) running the
        named modules in production order, or all of them."""
        from tocsin.engine.modules import ORDER
        from tocsin.engine.runner import Engine

        unknown = set(modules) - {name for name, _ in ORDER}
        assert not unknown, f"no engine module {unknown}"
        chosen = [(name, fn) for name, fn in ORDER if not modules or name in modules]
        engine = Engine(self.db, self.clock, settings=self.settings, modules=chosen)
        self._engines.append(engine)
        return engine

    @property
    def engine(self) -> Any:
        """The engine `tick` runs: every module, in production order."""
        if self._engine is None:
            self._engine = self.new_engine()
        return self._engine

    def restart_engine(self) -> Any:
        """The running engine is gone (as after a crash: nothing of it is closed first); a new one takes over."""
        self._engine = self.new_engine()
        return self._engine

    def tick(self, at: datetime | None = None, **advance: float) -> dict[str, int]:
        """Move the clock (to `at`, or on by `advance`, e.g. minutes=5) and run the engine once."""
        if at is not None:
            self.clock.set(at)
        if advance:
            self.clock.advance(**advance)
        return self.engine.tick()

    def run_until_idle(self) -> None:
        self.engine.run_until_idle()

    # --- the API --------------------------------------------------------------------------------

    @property
    def http(self) -> TestClient:
        """A TestClient on the app, built with the engine's settings on the same database and clock."""
        if self._http is None:
            from tocsin.app import create_app

            self._app = create_app(settings=self.settings, db=self.db, clock=self.clock)
            self._http = AppliedClient(self._app)
            self._http.__enter__()
        return self._http

    def as_(self, name: str) -> Caller:
        """API calls (under /api/v1) as the person called `name`."""
        return Caller(self.http, self.people[name].headers)

    # --- what the providers received --------------------------------------------------------------

    def _address(self, to: str) -> str:
        return self.people[to].email if to in self.people else to

    def emails(self, to: str | None = None, *, handoffs: bool = False) -> list[EmailMessage]:
        """Every email accepted by the SMTP server (to a person's name or an address), oldest first;
        hand-off notices ("You go on call ...") only with `handoffs` (they are not pages)."""
        return [r.message for r in list(self.smtp.handler.received)
                if (to is None or self._address(to) in r.rcpt_tos) and (handoffs or not _handoff(r.message))]

    def sms(self, number: str) -> list[str]:
        """The texts of every SMS Twilio accepted for `number`, oldest first."""
        return [r.body for r in list(self.twilio.received) if r.resource == "Messages" and r.to == number
                and r.status == 201 and not _HANDOFF.search(r.body or "")]

    def calls(self, number: str) -> list[str]:
        """The TwiML of every call placed to `number`, oldest first."""
        return [r.twiml for r in list(self.twilio.received) if r.resource == "Calls" and r.to == number]

    def slack_posts(self) -> list[SlackPost]:
        return list(self.slack.received)

    def webhook_posts(self) -> list[Post]:
        return list(self.receiver.posts)

    def _take(self, provider: str, items: list[Any], wanted: Any, what: str) -> Any:
        seen = self._read[provider]
        new = [(i, item) for i, item in enumerate(items) if i not in seen and wanted(item)]
        assert len(new) == 1, f"expected one new {what}, got {len(new)}: {[item for _, item in new]!r}"
        seen.add(new[0][0])
        return new[0][1]

    def expect_email(self, to: str, *subject_words: str) -> EmailMessage:
        """The one new email to `to` (a name or an address) and to nobody else, its subject holding
        `subject_words`."""
        address = self._address(to)
        received = self._take("email", list(self.smtp.handler.received),
                              lambda r: address in r.rcpt_tos and not _handoff(r.message), f"email to {to}")
        assert received.rcpt_tos == [address], f"the email to {to} went to {received.rcpt_tos}"
        got = received.message
        for word in subject_words:
            assert word in got["Subject"], f"{word!r} not in the subject {got['Subject']!r}"
        return got

    def expect_sms(self, number: str, *words: str) -> str:
        """The one new SMS Twilio accepted for `number`, holding `words`."""
        got = self._take("twilio", list(self.twilio.received),
                         lambda r: r.resource == "Messages" and r.to == number and r.status == 201
                         and not _HANDOFF.search(r.body or ""),
                         f"SMS to {number}").body
        for word in words:
            assert word in got, f"{word!r} not in the SMS {got!r}"
        return got

    def expect_call(self, number: str, *words: str) -> str:
        """The one new call to `number`; return its TwiML, which holds `words`."""
        got = self._take("twilio", list(self.twilio.received), lambda r: r.resource == "Calls" and r.to == number,
                         f"call to {number}").twiml
        for word in words:
            assert word in got, f"{word!r} not in the call {got!r}"
        return got

    def expect_slack(self, channel: str, *words: str) -> SlackPost:
        """The one new Slack post to `channel` (answered 200), its text holding `words`."""
        got = self._take("slack", list(self.slack.received),
                         lambda r: r.payload.get("channel") == channel and r.status == 200, f"Slack post to {channel}")
        for word in words:
            assert word in (got.text or ""), f"{word!r} not in the Slack post {got.text!r}"
        return got

    def expect_webhook(self, *words: str) -> Post:
        """The one new POST the webhook receiver got, its body holding `words`."""
        got = self._take("webhook", list(self.receiver.posts), lambda p: True, "webhook POST")
        for word in words:
            assert word.encode() in got.body, f"{word!r} not in the webhook body {got.body!r}"
        return got

    def expect_nothing_more(self) -> None:
        """No email, SMS, call, Slack post or webhook POST arrived that an expect_* has not taken."""
        unread = {
            "email": [(r.rcpt_tos, r.message["Subject"]) for i, r in enumerate(list(self.smtp.handler.received))
                      if i not in self._read["email"] and not _handoff(r.message)],
            "twilio": [(r.resource, r.to, r.body or r.twiml) for i, r in enumerate(list(self.twilio.received))
                       if i not in self._read["twilio"] and not _HANDOFF.search(r.body or "")],
            "slack": [(r.path, r.text) for i, r in enumerate(list(self.slack.received))
                      if i not in self._read["slack"]],
            "webhook": [(p.path, p.body[:200]) for i, p in enumerate(list(self.receiver.posts))
                        if i not in self._read["webhook"]],
        }
        assert not any(unread.values()), f"unexpected messages: {unread}"

    # --- what was written -------------------------------------------------------------------------

    def _rows(self, stmt: Any) -> list[Any]:
        with self.db.unit_of_work() as s:
            found = list(s.execute(stmt).scalars())
            s.expunge_all()
            return found

    def rows(self, model: Any, *where: Any, order_by: Any = None) -> list[Any]:
        """Rows of `model` matching `where` (detached), in `order_by` order."""
        stmt = sa.select(model).where(*where)
        return self._rows(stmt.order_by(order_by) if order_by is not None else stmt)

    def alert(self, alert_id: uuid.UUID) -> Any:
        from tocsin.alerts.models import Alert

        (a,) = self._rows(sa.select(Alert).where(Alert.id == alert_id))
        return a

    def alerts(self, service: str | uuid.UUID = DEFAULT_SERVICE) -> list[Any]:
        """The service's alerts, oldest first."""
        from tocsin.alerts.models import Alert

        sid = service if isinstance(service, uuid.UUID) else self._service_id(service)
        return self._rows(sa.select(Alert).where(Alert.service_id == sid).order_by(Alert.first_seen_at))

    def escalation(self, **where: Any) -> Any:
        """The one escalation matching `where` (e.g. alert_id=..., incident_id=...)."""
        from tocsin.escalation.models import Escalation

        (e,) = self._rows(sa.select(Escalation).filter_by(**where))
        return e

    def notifications(self, **where: Any) -> list[Any]:
        """Outbox rows (pages and reminders) matching `where`, oldest first."""
        from tocsin.escalation.models import Notification

        return self._rows(sa.select(Notification).filter_by(**where)
                          .order_by(Notification.created_at, Notification.send_after, Notification.id))

    def pages(self) -> list[tuple[int, str]]:
        """(minutes since the start, name) of every page written, in order (hand-off notices are not pages)."""
        from tocsin.escalation.models import Notification
        from tocsin.users.models import User

        with self.db.unit_of_work() as s:
            rows = s.execute(sa.select(Notification.created_at, User.name).join(User, User.id == Notification.user_id)
                             .where(Notification.kind != "handoff")
                             .order_by(Notification.created_at, User.name)).all()
        return [(self.minutes(at), name) for at, name in rows]

    def decisions(self, alert_id: uuid.UUID, *kinds: str) -> list[str]:
        """The reasons of the alert's decisions of `kinds` (all kinds if none), in order."""
        from tocsin.alerts.models import AlertDecision

        stmt = sa.select(AlertDecision.reason).where(AlertDecision.alert_id == alert_id)
        if kinds:
            stmt = stmt.where(AlertDecision.kind.in_(kinds))
        with self.db.unit_of_work() as s:
            return list(s.execute(stmt.order_by(AlertDecision.at, AlertDecision.id)).scalars())

    def timeline(self, incident_id: uuid.UUID, kind: str | None = None) -> list[Any]:
        """The incident's timeline entries (of `kind`), in order."""
        from tocsin.incidents.models import TimelineEntry

        stmt = sa.select(TimelineEntry).where(TimelineEntry.incident_id == incident_id)
        if kind is not None:
            stmt = stmt.where(TimelineEntry.kind == kind)
        return self._rows(stmt.order_by(TimelineEntry.occurred_at, TimelineEntry.id))

    # --- teardown -------------------------------------------------------------------------------

    def close(self) -> None:
        for engine in self._engines:
            engine.close()
        if self._http is not None:
            self._http.__exit__(None, None, None)
            self._app.state.ingest.close()


_HANDOFF = re.compile(r"(You go on call for .+ in |You are on call for .+ now|You are now off call for )")


def _handoff(message: EmailMessage) -> bool:
    """A hand-off notice (tocsin.escalation.handoff), which the scenarios about pages leave aside."""
    return bool(_HANDOFF.search(str(message["Subject"] or "")))
