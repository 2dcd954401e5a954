"""The engine job that sends pages: queued notifications (the outbox) through their channels, at
least once, on the one delivery machinery (`tocsin/delivery.py`: claim with a lease, send outside
any transaction, record only if the claim is still ours, backoff, attempt limit).

What is particular to pages:

- **Claim.** A page whose alert is no longer triggered (or an incident page whose incident has a
  commander or is over) is `cancelled` with the reason: nothing is sent after an
  acknowledgement, including delayed notification rules. An incident page for a restricted
  incident goes only to someone who may see it, in neutral words
  (`incident_paging.restricted_words`). A page for an alert group is
  wanted while any alert of the group is triggered, and says how the group stands now. SMS and voice are rate limited per destination
  (`RATE_LIMITS`, GoAlert's defaults): over the limit, the rows wait until the window frees;
  rows due together for one throttled destination go as one bundled message (`bundled`, carried
  by the first row; if the carrier is cancelled, the pages it carried go on their own, and if it
  joins a later bundle, they join it too). A claimed row is `sending` with `send_after` pushed
  out by the lease.
- **Runbooks.** A page names the runbooks that apply (an alert's, a not restricted incident's),
  a line each, looked up when it is sent.
- **Send.** The words (links, reply codes) are composed at send time (`notify.compose`), so
  nothing secret is stored; a message that cannot be composed fails that send alone.
- **Record.** Sent: `sent` (its bundle with it). Permanent, or out of attempts: `failed` with the
  reason, and the page **falls through** to the person's other verified contact methods not yet
  tried for this alert, noted on the alert with the reason (`outbox.fall_through`).
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert, AlertGroup
from tocsin.delivery import Claim, Outbox, run
from tocsin.escalation import outbox
from tocsin.escalation.incident_paging import restricted_words, shadowed
from tocsin.escalation.models import Escalation, Notification, ResponderRequest
from tocsin.incidents.access import who_may_see
from tocsin.incidents.models import Incident, RoleAssignment
from tocsin.incidents.service import ref
from tocsin.incidents.types import Role
from tocsin.jobs import JobContext, dispatcher
from tocsin.notify.compose import GroupPage, Row, compose
from tocsin.notify.types import Outcome, Result
from tocsin.runbooks import service as runbooks
from tocsin.runbooks.present import path as runbook_path
from tocsin.services.models import Service
from tocsin.users.models import User

BATCH = 200
WINDOW = timedelta(minutes=15)
RATE_LIMITS = {"sms": 5, "voice": 3}  # per destination per WINDOW
OVER = ("resolved", "closed")
PAGED = ("page", "shadow")  # an alert's page, and a shadow's copy of one (issue 19)
MAX_RUNBOOKS = 3  # runbook lines in one page
# An incident's update to a stakeholder and an update reminder: queued to people who could see the
# incident then; one restricted since goes only to those who still may (issue 19, attack3).
INFORMS = ("stakeholder", "update_due")


def _for_commander(r: Notification) -> bool:
    """A page for an Incident Commander, or a shadow's copy of one."""
    return r.kind == "incident" or (r.kind == "shadow" and r.alert_id is None)


@dataclass(frozen=True, slots=True)
class Send:
    """One message to send: what it says (the claimed head row first, then the rows bundled with
    it, whose pages go together) and where it goes."""

    channel: str
    to: str
    contact_method_id: uuid.UUID | None
    rows: list[Row]  # head first: what the message says
    bundle: list[uuid.UUID]  # the other rows it carries


def deliver(ec: JobContext) -> int:
    """Send what is due; return how many rows were handled."""
    return run(ec, PAGES).claimed


def _row(n: Notification, groups: dict[uuid.UUID, GroupPage], drills: set[uuid.UUID],
         books: dict[uuid.UUID, tuple[tuple[str, str], ...]]) -> Row:
    return Row(id=n.id, idempotency_key=n.idempotency_key, kind=n.kind, subject=n.subject, body=n.body,
               created_at=n.created_at, alert_id=n.alert_id, incident_id=n.incident_id, reply_code=n.reply_code,
               group=groups.get(n.escalation_id) if n.escalation_id is not None else None,
               drill=(n.alert_id is not None and n.alert_id in drills) or (
                   n.incident_id is not None and n.incident_id in drills),
               runbooks=books.get(n.id, ()))


def _drills(s: Session, rows: list[Notification]) -> set[uuid.UUID]:
    """The alerts (of a drill service) and drill incidents these rows are about: their pages say "[DRILL]"."""
    alerts = {r.alert_id for r in rows if r.alert_id}
    incidents = {r.incident_id for r in rows if r.incident_id}
    out: set[uuid.UUID] = set()
    if alerts:
        out |= set(s.execute(sa.select(Alert.id).join(Service, Service.id == Alert.service_id)
                             .where(Alert.id.in_(alerts), Service.drill.is_(True))).scalars())
    if incidents:
        out |= set(s.execute(sa.select(Incident.id).where(Incident.id.in_(incidents), Incident.drill.is_(True)))
                   .scalars())
    return out


def _runbooks(s: Session, rows: list[Notification]) -> dict[uuid.UUID, tuple[tuple[str, str], ...]]:
    """The runbooks each page names, by row id: an alert page's (its service's, its labels' matches),
    an incident page's (an incident's runbooks). A restricted incident's page names none: like its
    title, a runbook's title could tell what it is about."""
    if not runbooks.any_runbooks(s):
        return {}
    alert_ids = {r.alert_id for r in rows if r.kind == "page" and r.alert_id}
    found = runbooks.for_alerts(s, [(a, svc, labels or {}) for a, svc, labels in s.execute(
        sa.select(Alert.id, Alert.service_id, Alert.labels).where(Alert.id.in_(alert_ids))).all()]) \
        if alert_ids else {}
    incident_ids = {r.incident_id for r in rows if r.kind in ("incident", "responder") and r.incident_id}
    for inc in s.execute(sa.select(Incident).where(Incident.id.in_(incident_ids))).scalars() if incident_ids else ():
        found[inc.id] = [] if inc.restricted else runbooks.for_incident(s, inc)
    out = {}
    for r in rows:
        key = r.alert_id if r.kind == "page" else r.incident_id
        books = found.get(key, []) if key is not None else []
        if books:
            out[r.id] = tuple((b.title, runbook_path(b)) for b in books[:MAX_RUNBOOKS])
    return out


def _groups(s: Session, rows: list[Notification]) -> dict[uuid.UUID, GroupPage]:
    """How each alert group paged by these rows stands now, by escalation id: its triggered alerts, and
    how many alerts joined since the group's first page went out (None before it has)."""
    esc_ids = {r.escalation_id for r in rows if r.kind in PAGED and r.escalation_id is not None}
    if not esc_ids:
        return {}
    escs = s.execute(sa.select(Escalation.id, Escalation.group_id, Service.slug, AlertGroup.alert_count)
                     .join(Service, Service.id == Escalation.service_id)
                     .join(AlertGroup, AlertGroup.id == Escalation.group_id)
                     .where(Escalation.id.in_(esc_ids), Escalation.group_id.is_not(None))).all()
    if not escs:
        return {}
    group_ids = {g for _e, g, _slug, _n in escs}
    firing = dict(s.execute(sa.select(Alert.group_id, sa.func.count()).where(
        Alert.group_id.in_(group_ids), Alert.status == "triggered").group_by(Alert.group_id)).all())
    first = dict(s.execute(sa.select(Notification.escalation_id, sa.func.min(Notification.sent_at)).where(
        Notification.escalation_id.in_({e for e, _g, _slug, _n in escs}), Notification.sent_at.is_not(None))
        .group_by(Notification.escalation_id)).all())
    out = {}
    for esc_id, group_id, slug, count in escs:
        assert group_id is not None  # selected so
        since = first.get(esc_id)
        new = None if since is None else s.execute(sa.select(sa.func.count()).select_from(Alert).where(
            Alert.group_id == group_id, Alert.first_seen_at > since)).scalar_one()
        out[esc_id] = GroupPage(group_id, slug, firing.get(group_id, 0), new, count)
    return out


def _still_wanted(s: Session, rows: list[Notification], groups: dict[uuid.UUID, GroupPage]) -> dict[uuid.UUID, str]:
    """Why each row that should no longer be sent is cancelled, by row id. An incident page that is
    still wanted but whose incident is restricted now says only `restricted_words` (it may have
    been restricted since the page was queued), and is cancelled for a person who may not see it; so is
    a stakeholder update or an update reminder (`INFORMS`) of an incident restricted since."""
    alerts = {r.alert_id for r in rows if r.kind in PAGED and r.alert_id}
    incidents = {r.incident_id for r in rows if (_for_commander(r) or r.kind in INFORMS) and r.incident_id}
    status = dict(s.execute(sa.select(Alert.id, Alert.status).where(Alert.id.in_(alerts))).all()) if alerts else {}
    found = {i.id: i for i in s.execute(sa.select(Incident).where(Incident.id.in_(incidents))).scalars()} \
        if incidents else {}
    commanded = set(s.execute(sa.select(RoleAssignment.incident_id).where(
        RoleAssignment.incident_id.in_(incidents), RoleAssignment.role == Role.incident_commander.value,
        RoleAssignment.ended_at.is_(None))).scalars()) if incidents else set()
    allowed = {i.id: who_may_see(s, i, {r.user_id for r in rows if r.incident_id == i.id})
               for i in found.values() if i.restricted}
    out = _responders_still_wanted(s, [r for r in rows if r.kind == "responder"])
    out.update(_reminders_still_wanted(s, [r for r in rows if r.kind == "reminder" and r.incident_id]))
    for r in rows:
        group = groups.get(r.escalation_id) if r.escalation_id is not None else None
        if group is not None:  # a page for a whole alert group: wanted while any of its alerts is triggered
            if group.firing == 0:
                out[r.id] = "not sent: no alert of its group is triggered any more"
        elif r.kind in PAGED and r.alert_id and status.get(r.alert_id, "resolved") != "triggered":
            out[r.id] = f"not sent: the alert was {status.get(r.alert_id, 'deleted')} first"
        elif _for_commander(r) and r.incident_id:
            inc = found.get(r.incident_id)
            if r.incident_id in commanded:
                out[r.id] = "not sent: the incident has an Incident Commander"
            elif inc is None or inc.status in OVER:
                out[r.id] = f"not sent: the incident is {inc.status if inc else 'gone'}"
            elif inc.restricted and r.user_id not in allowed[inc.id]:
                out[r.id] = "not sent: the incident is restricted and this person may not see it"
            elif inc.restricted:  # a shadow's copy stays marked as one (and says nothing of acknowledging)
                r.subject, r.body = restricted_words(inc.severity)
                if r.kind == "shadow":
                    r.subject, r.body = shadowed(r.subject, r.body)
        elif r.kind in INFORMS and r.incident_id:
            inc = found.get(r.incident_id)
            if inc is not None and inc.restricted and r.user_id not in allowed[inc.id]:
                out[r.id] = "not sent: the incident is restricted and this person may not see it"
    return out


RESTRICTED_MARK = "sign in to read it)"  # in every reminder written for a restricted incident (actions, filings, guardrails)


def _reminders_still_wanted(s: Session, rows: list[Notification]) -> dict[uuid.UUID, str]:
    """A reminder about an incident (an action item's, a filing's, a guardrail's nudge) that is
    restricted now goes only to someone who may see it, and says only its reference if it was written
    before the incident was restricted (with its title, an item's title or a guardrail's detail)."""
    out: dict[uuid.UUID, str] = {}
    found = {i.id: i for i in s.execute(sa.select(Incident).where(
        Incident.id.in_({r.incident_id for r in rows}), Incident.restricted.is_(True))).scalars()} if rows else {}
    for r in rows:
        inc = found.get(r.incident_id) if r.incident_id else None
        if inc is None:
            continue
        if r.user_id not in who_may_see(s, inc, [r.user_id]):
            out[r.id] = "not sent: the incident is restricted and this person may not see it"
        elif RESTRICTED_MARK not in r.body:
            name = ref(inc)
            r.subject = f"{name}: a reminder about a restricted incident"
            r.body = (f"A reminder about {name} (a restricted incident: sign in to read it). What it is about is "
                      f"shown only to people who may see it, after they sign in.")
    return out


def _responders_still_wanted(s: Session, rows: list[Notification]) -> dict[uuid.UUID, str]:
    """A page asking someone to join an incident (add responders) is not sent once they answered or
    the incident is over; for a restricted incident it says only that it is one."""
    out: dict[uuid.UUID, str] = {}
    if not rows:
        return out
    found = {i.id: i for i in s.execute(sa.select(Incident).where(
        Incident.id.in_({r.incident_id for r in rows}))).scalars()}
    pending = {(i, u) for i, u in s.execute(sa.select(ResponderRequest.incident_id, ResponderRequest.user_id).where(
        ResponderRequest.incident_id.in_(found), ResponderRequest.status == "pending"))}
    for r in rows:
        inc = found.get(r.incident_id) if r.incident_id else None
        if inc is None or inc.status in OVER:
            out[r.id] = f"not sent: the incident is {inc.status if inc else 'gone'}"
        elif (inc.id, r.user_id) not in pending:
            out[r.id] = "not sent: the request to join was already answered"
        elif inc.restricted and r.user_id not in who_may_see(s, inc, [r.user_id]):
            out[r.id] = "not sent: the incident is restricted and this person may not see it"
        elif inc.restricted:  # always the neutral words: a title may itself end in "restricted incident"
            r.subject = f"[{inc.severity}] You are asked to help with a restricted incident"
            r.body = (f"You are asked to join a restricted {inc.severity} incident as a responder. What it is about "
                      f"is shown only after you sign in.\nAcknowledge to join; decline if you cannot.")
    return out


def _sent_in_window(s: Session, channel: str, destination: str, now: datetime) -> list[datetime]:
    return [at for at in s.execute(sa.select(Notification.sent_at).where(
        Notification.channel == channel, Notification.destination == destination,
        Notification.sent_at > now - WINDOW, Notification.bundle_id.is_(None)).order_by(Notification.sent_at)).scalars()
            if at is not None]


def _reply_code(s: Session, destination: str, now: datetime) -> str:
    """A 4-digit code not used for this number in the last day, so "1234 ack" names one page."""
    used = set(s.execute(sa.select(Notification.reply_code).where(
        Notification.channel == "sms", Notification.destination == destination,
        Notification.created_at > now - timedelta(days=1), Notification.reply_code.is_not(None))).scalars())
    for _ in range(50):
        code = f"{1000 + secrets.randbelow(9000)}"
        if code not in used:
            return code
    return f"{10000 + secrets.randbelow(90000)}"


class Pages(Outbox[Notification, Send]):
    """The `notifications` outbox: pages, incident pages, reminders, verification codes, tests."""

    name = "pages"

    def due(self, s: Session, now: datetime) -> list[Notification]:
        return list(s.execute(
            sa.select(Notification).where(Notification.status.in_(("queued", "sending")), Notification.send_after <= now)
            .order_by(Notification.send_after, Notification.id).limit(BATCH)
            .with_for_update(skip_locked=True)).scalars())

    def row_id(self, row: Notification) -> uuid.UUID:
        return row.id

    def attempts(self, row: Notification) -> int:
        return row.attempts

    def claimed(self, row: Notification) -> bool:
        return row.status == "sending"

    def lease_row(self, row: Notification, until: datetime) -> None:
        row.status, row.attempts, row.send_after = "sending", row.attempts + 1, until

    def shape(self, s: Session, rows: list[Notification], now: datetime) -> list[tuple[Notification, Send]]:
        """Cancel what is no longer wanted, throttle and bundle SMS and voice per destination."""
        # A bundle carrier that was claimed before carries its bundle again.
        carried: dict[uuid.UUID, list[Notification]] = defaultdict(list)
        for b in s.execute(sa.select(Notification).where(
                Notification.bundle_id.in_([r.id for r in rows]), Notification.status == "bundled")).scalars():
            if b.bundle_id is not None:  # selected by it
                carried[b.bundle_id].append(b)
        emails = dict(s.execute(sa.select(User.id, User.email).where(User.id.in_({r.user_id for r in rows}))).all())
        for r in rows:
            if not r.destination and r.channel == "email":
                r.destination = emails.get(r.user_id, "")
        everything = rows + [c for cs in carried.values() for c in cs]
        group_pages = _groups(s, everything)
        drills = _drills(s, everything)
        cancel = _still_wanted(s, everything, group_pages)
        books = _runbooks(s, [r for r in everything if r.id not in cancel])
        for cs in carried.values():
            for c in cs:
                if c.id in cancel:
                    c.status, c.last_error = "cancelled", cancel[c.id]
        groups: dict[tuple[str, str], list[Notification]] = defaultdict(list)
        for r in rows:
            if r.id in cancel:
                r.status, r.last_error = "cancelled", cancel[r.id]
                # Its carried pages are still wanted: they go on their own (next tick), never lost.
                for c in carried.pop(r.id, []):
                    if c.status == "bundled":
                        c.status, c.bundle_id, c.send_after = "queued", None, now
                        c.last_error = f"the page carrying it in a bundle was cancelled ({cancel[r.id]})"
            elif r.channel in RATE_LIMITS:
                groups[(r.channel, r.destination)].append(r)
            else:
                groups[(r.channel, f"{r.destination}\0{r.id}")].append(r)  # one send per row
        sends: list[tuple[Notification, Send]] = []
        for (channel, _dest), members in groups.items():
            head = members[0]
            if channel in RATE_LIMITS:
                sent = _sent_in_window(s, channel, head.destination, now)
                if len(sent) >= RATE_LIMITS[channel]:
                    free = sent[0] + WINDOW
                    for m in members:
                        m.status, m.send_after = "queued", free
                        m.last_error = (f"throttled: {len(sent)} {channel} to this number in "
                                        f"{int(WINDOW.total_seconds() // 60)} min; sent (bundled) when the limit frees")
                    continue
                for m in members[1:]:
                    m.status, m.bundle_id = "bundled", head.id
                if channel == "sms" and head.reply_code is None:
                    head.reply_code = _reply_code(s, head.destination, now)
            bundle = [head] + members[1:]
            for m in members:  # a member that carried a bundle of its own hands it to this head
                for c in carried.get(m.id, []):
                    if c.status == "bundled":
                        c.bundle_id = head.id
                        bundle.append(c)
            sends.append((head, Send(channel, head.destination, head.contact_method_id,
                                     [_row(m, group_pages, drills, books) for m in bundle], [m.id for m in bundle[1:]])))
        return sends

    def sender(self, ec: JobContext) -> Callable[[Send], Result]:
        d = dispatcher(ec)
        public_url = ec.settings.resolved_public_url()
        secret = ec.settings.resolved_secret_key()
        clock = ec.clock

        def send(item: Send) -> Result:
            if not item.to:
                return Result(Outcome.permanent, "no destination (the person has no email address)")
            message = compose(item.rows, item.channel, to=item.to, public_url=public_url, secret=secret,
                              now=clock.now())
            return d.send(item.channel, message, contact_method_id=item.contact_method_id)

        return send

    def lock(self, s: Session, claims: Sequence[Claim[Send]]) -> dict[uuid.UUID, Notification]:
        ids = sorted({c.id for c in claims} | {i for c in claims for i in c.send.bundle})
        return {n.id: n for n in s.execute(sa.select(Notification).where(Notification.id.in_(ids))
                                           .order_by(Notification.id).with_for_update()).scalars()}

    def sent(self, s: Session, row: Notification, claim: Claim[Send], result: Result, now: datetime) -> None:
        row.status, row.sent_at, row.last_error, row.provider_id = "sent", now, None, result.provider_id
        for m in _members(s, claim.send.bundle):
            m.sent_at, m.last_error = now, f"sent in a bundle with {row.id}"

    def retry(self, s: Session, row: Notification, claim: Claim[Send], detail: str, at: datetime) -> None:
        row.status, row.send_after, row.last_error = "queued", at, detail

    def failed(self, s: Session, row: Notification, why: str, now: datetime) -> None:
        """Failed for good, with the pages it carries: each falls through to the person's next method."""
        carried = list(s.execute(sa.select(Notification).where(
            Notification.bundle_id == row.id, Notification.status == "bundled")).scalars())
        for r in [row, *carried]:
            r.status, r.last_error = "failed", why
            outbox.fall_through(s, r, why, now)

    def next_due(self, s: Session) -> datetime | None:
        return s.execute(sa.select(sa.func.min(Notification.send_after))
                         .where(Notification.status == "queued")).scalar()


def _members(s: Session, ids: list[uuid.UUID]) -> list[Notification]:
    """The bundled rows a send carried (already locked by `Pages.lock`)."""
    return [m for m in (s.get(Notification, i) for i in ids) if m is not None]


PAGES = Pages()
