"""The chat follower, engine job `chat_follow`: keeps each incident's chat channel in step with tocsin by
writing calls into the chat outbox (chatops/outbox.py; `chat_deliver` sends them). It never calls a
platform itself, so a chat outage never holds up an incident or the engine.

Each run, per configured platform (clients.enabled):
- the platform's `ChatInstall` row is written the first time (installed_at = now): only incidents
  declared from then on get a channel;
- an open incident of a severity in `TOCSIN_CHAT_CHANNEL_SEVERITIES` without a channel on the platform
  gets one: a `pending` row (private when the incident is restricted; its name never carries a
  restricted incident's title) and a `create` call. When the create succeeds, `channel_ready` queues
  the topic, the bookmarks (the incident room, the service's runbook), the invites and the
  declaration summary;
- for each ready channel: the timeline entries recorded since the channel's cursor (the declaration
  not again: the summary is it) become ONE post
  (appended to the channel's waiting post if there is one: a burst is one message; the lines are in
  compose.py; an entry a chat delivery made on the same platform, a captured message or a command
  that noted its entry in `chat_receipts`, is not posted back); a changed topic, once; responders not yet invited (role holders, participants, people
  paged for the incident; linked chat users by id, others by email at send time), once each; the
  first public status page update adds a bookmark to it; an overdue update (incidents/cadence.py)
  posts a reminder to the channel and shows it to the IC alone (`ephemeral`), once per due time;
  a closed (or declined) incident's channel gets its last post and is archived.
- need-to-know: a public channel whose incident is restricted later is `muted`: its cursor moves but
  nothing more is posted (the topic never carried the title). Teams gets nothing of a restricted
  incident, not even "something changed": the card would name an incident the channel may not know.
- Teams (`TOCSIN_TEAMS_WEBHOOK_URL`): the declaration, status and severity changes, updates and public
  status page updates of non-restricted incidents (and not drills) become cards (`post` rows, platform teams). Its
  cursor lives on a bookkeeping `ChatChannel` row (platform teams, no channel id, state ready, muted
  while the incident is restricted), which also keeps the one-call-per-second rule per incident.

The cursor is (recorded_at, id) of the last entry seen: back-dated notes are still seen. An entry
is read once it is SETTLE old: a transaction that took its `now` earlier may commit after a later
one, and a cursor already past its recorded_at would skip it; a channel is archived once the
closing itself is SETTLE old, so its last lines go first. Entries are read per channel (the index
on incident_id), and the job is `probed`: it opens no transaction unless an incident lacks its channel,
a channel has a settled entry past its cursor or is closing, or the reminder check (every
REMIND_EVERY) is due; only those channels are followed.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.chatops import compose, outbox
from tocsin.chatops.accounts import chat_ids
from tocsin.chatops.clients import TEAMS, enabled
from tocsin.chatops.models import ChatChannel, ChatInstall, ChatMember, ChatReceipt
from tocsin.config import Settings
from tocsin.escalation.models import Notification
from tocsin.incidents import cadence as cadences
from tocsin.incidents.access import who_may_see
from tocsin.incidents.lifecycle import ACTIVE_STATUSES
from tocsin.incidents.models import Incident, IncidentService, Participant, RoleAssignment, TimelineEntry
from tocsin.incidents.service import ref
from tocsin.incidents.timeline import last_update_at
from tocsin.incidents.types import Role
from tocsin.jobs import JobContext
from tocsin.services.models import Service
from tocsin.statuspage.models import StatusPage
from tocsin.users.models import User

BATCH = 100  # channels opened / followed per run
SETTLE = timedelta(seconds=2)  # an entry is read this long after it was recorded (longer than a write takes)
ENTRIES = 200  # timeline entries read per channel per run (the rest next run)
CLOSING = ("closed", "declined")
TEAMS_KINDS = frozenset({"declared", "status_changed", "severity_changed", "note", "status_page"})
PAGE_KINDS = ("page", "incident", "responder")  # notifications that asked someone to respond
INSTALLED = "chat_follow.installed"  # in ec.shared: {platform: installed_at} of the ChatInstall rows read
REMIND_NEXT = "chat_follow.remind_next"  # in ec.shared: when this engine next looks for overdue updates
REMIND_EVERY = timedelta(seconds=30)


def room_url(settings: Settings, incident: Incident) -> str:
    return f"{settings.resolved_public_url()}/incidents/{ref(incident)}"


def _installs(s: Session, platforms: list[str], now: datetime) -> dict[str, datetime]:
    found = {p: at for p, at in s.execute(sa.select(ChatInstall.platform, ChatInstall.installed_at)
                                          .where(ChatInstall.platform.in_(platforms))).all()}
    for platform in platforms:
        if platform not in found:
            s.add(ChatInstall(platform=platform, installed_at=now))
            found[platform] = now
    s.flush()
    return found


def _commander(s: Session, incident_id: uuid.UUID) -> User | None:
    return s.execute(sa.select(User).join(RoleAssignment, RoleAssignment.user_id == User.id).where(
        RoleAssignment.incident_id == incident_id, RoleAssignment.role == Role.incident_commander.value,
        RoleAssignment.ended_at.is_(None)).order_by(RoleAssignment.assigned_at.desc()).limit(1)).scalar_one_or_none()


def _topic(settings: Settings, s: Session, incident: Incident, platform: str) -> str:
    ic = _commander(s, incident.id)
    return compose.topic(severity=incident.severity, status=incident.status, commander=ic.name if ic else None,
                         url=room_url(settings, incident), platform=platform)


def _last_entry(s: Session, incident_id: uuid.UUID, now: datetime) -> tuple[datetime | None, uuid.UUID | None]:
    """The newest settled entry: where a new channel's cursor starts (its summary says what came before)."""
    row = s.execute(sa.select(TimelineEntry.recorded_at, TimelineEntry.id).where(
        TimelineEntry.incident_id == incident_id, TimelineEntry.recorded_at <= now - SETTLE)
        .order_by(TimelineEntry.recorded_at.desc(), TimelineEntry.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (None, None)


def _new_entries(s: Session, ch: ChatChannel, now: datetime) -> list[TimelineEntry]:
    q = sa.select(TimelineEntry).where(TimelineEntry.incident_id == ch.incident_id,
                                       TimelineEntry.recorded_at <= now - SETTLE)
    if ch.cursor_at is not None:
        q = q.where(sa.or_(TimelineEntry.recorded_at > ch.cursor_at,
                           sa.and_(TimelineEntry.recorded_at == ch.cursor_at, TimelineEntry.id > ch.cursor_id)))
    return list(s.execute(q.order_by(TimelineEntry.recorded_at, TimelineEntry.id).limit(ENTRIES)).scalars())


# -- opening channels ----------------------------------------------------------------------------

def open_channels(s: Session, settings: Settings, platform: str, installed_at: datetime, now: datetime) -> int:
    """Give each eligible incident without a channel on `platform` one (a create call, or Teams' cursor row)."""
    severities = settings.chat_severities()
    if not severities:
        return 0
    has = sa.select(ChatChannel.id).where(ChatChannel.incident_id == Incident.id, ChatChannel.platform == platform)
    incidents = s.execute(sa.select(Incident).where(
        Incident.declared_at >= installed_at, Incident.severity.in_(severities), Incident.status.not_in(CLOSING),
        ~has.exists()).order_by(Incident.declared_at, Incident.id).limit(BATCH)).scalars().all()
    for incident in incidents:
        open_channel(s, settings, platform, incident, now)
    s.flush()
    return len(incidents)


def open_channel(s: Session, settings: Settings, platform: str, incident: Incident, now: datetime) -> bool:
    """Give the incident its channel on `platform` (a `pending` row and a create call; Teams' cursor
    row); False when it has one already (or another engine opened it at once)."""
    has = sa.select(ChatChannel.id).where(ChatChannel.incident_id == incident.id, ChatChannel.platform == platform)
    if s.execute(sa.select(has.exists())).scalar():
        return False
    if platform == TEAMS:  # every entry from the declaration on becomes a card
        s.add(ChatChannel(incident_id=incident.id, platform=TEAMS, name="webhook", private=False, state="ready",
                          muted=incident.restricted or incident.drill, created_at=now))
        return True
    name = compose.channel_name(settings.chat_channel_pattern, number=incident.number, title=incident.title,
                                severity=incident.severity, date=incident.declared_at,
                                restricted=incident.restricted, limit=compose.NAME_LIMITS[platform],
                                drill=incident.drill)
    at, last = _last_entry(s, incident.id, now)
    ch = ChatChannel(incident_id=incident.id, platform=platform, name=name, private=incident.restricted,
                     state="pending", created_at=now, cursor_at=at, cursor_id=last)
    try:
        with s.begin_nested():  # another engine (PostgreSQL) may open this incident's channel at once
            s.add(ch)
    except IntegrityError:
        return False  # it did: its create call is queued, not ours
    outbox.enqueue(s, platform=platform, kind="create", payload={"name": name, "private": ch.private}, now=now,
                   channel_row_id=ch.id, incident_id=incident.id)
    return True


def request_channel(s: Session, settings: Settings, incident: Incident, now: datetime) -> list[str]:
    """Open the incident's channel on each configured channel platform now, whatever its severity (an
    incident workflow's "create a chat channel" step); the platforms a channel was opened on."""
    return [p for p in enabled(settings) if p != TEAMS and open_channel(s, settings, p, incident, now)]


def channel_ready(s: Session, settings: Settings, ch: ChatChannel, incident: Incident, now: datetime) -> None:
    """The channel was created: queue its topic, bookmarks, invites and the declaration summary."""
    ch.state = "ready"
    ch.topic = _topic(settings, s, incident, ch.platform)
    _call(s, ch, "topic", {"topic": ch.topic}, now)
    _call(s, ch, "bookmark", {"title": f"Incident room {ref(incident)}", "link": room_url(settings, incident)}, now)
    runbook = s.execute(sa.select(Service.runbook_url).join(IncidentService, IncidentService.service_id == Service.id)
                        .where(IncidentService.incident_id == incident.id, Service.runbook_url.is_not(None))
                        .order_by(Service.name).limit(1)).scalar_one_or_none()
    if runbook:
        _call(s, ch, "bookmark", {"title": "Runbook", "link": runbook}, now)
    _invite(s, ch, incident, now)
    ic = _commander(s, incident.id)
    text = compose.summary(ref=ref(incident), title=None if ch.muted else incident.title, severity=incident.severity,
                           status=incident.status, commander=ic.name if ic else None, url=room_url(settings, incident),
                           platform=ch.platform)
    outbox.post(s, platform=ch.platform, channel_row_id=ch.id, incident_id=incident.id, lines=[text], now=now)


def _call(s: Session, ch: ChatChannel, kind: str, payload: dict[str, Any], now: datetime) -> None:
    outbox.enqueue(s, platform=ch.platform, kind=kind, payload=payload, now=now, channel_row_id=ch.id,
                   incident_id=ch.incident_id)


# -- following a ready channel -----------------------------------------------------------------------

def _wanted(s: Session, incident: Incident) -> list[User]:
    """Who belongs in the channel: role holders, participants, people paged for the incident or for an
    alert attached to it (active users who may see it)."""
    ids = set(s.execute(sa.select(RoleAssignment.user_id).where(RoleAssignment.incident_id == incident.id,
                                                                RoleAssignment.ended_at.is_(None))).scalars())
    ids |= set(s.execute(sa.select(Participant.user_id).where(Participant.incident_id == incident.id)).scalars())
    alerts = sa.select(Alert.id).where(Alert.incident_id == incident.id)
    ids |= set(s.execute(sa.select(Notification.user_id).where(
        Notification.kind.in_(PAGE_KINDS),
        sa.or_(Notification.incident_id == incident.id, Notification.alert_id.in_(alerts))).distinct()).scalars())
    if not ids:
        return []
    if incident.restricted:
        ids &= who_may_see(s, incident, ids)
    return list(s.execute(sa.select(User).where(User.id.in_(ids), User.is_active.is_(True))
                          .order_by(User.name)).scalars())


def _invite(s: Session, ch: ChatChannel, incident: Incident, now: datetime) -> int:
    """Queue one invite for the people not yet invited; return how many."""
    people = _wanted(s, incident)
    if not people:
        return 0
    linked = chat_ids(s, platform=ch.platform, user_ids=[u.id for u in people])
    members = set(s.execute(sa.select(ChatMember.external_id).where(ChatMember.channel_row_id == ch.id)).scalars())
    users: list[str] = []
    emails: list[str] = []
    for person in people:
        key = linked.get(person.id)
        if (key and key in members) or f"user:{person.id}" in members:
            continue
        s.add(ChatMember(channel_row_id=ch.id, external_id=key or f"user:{person.id}", added_at=now))
        members.add(key or f"user:{person.id}")
        if key:
            users.append(key)
        else:
            emails.append(person.email)
    if users or emails:
        _call(s, ch, "invite", {"users": users, "emails": emails}, now)
    return len(users) + len(emails)


def _status_page_link(s: Session, settings: Settings, entry: TimelineEntry) -> str | None:
    slug, si = entry.data.get("page"), entry.data.get("status_incident_id")
    page = s.execute(sa.select(StatusPage).where(StatusPage.slug == slug)).scalar_one_or_none() if slug else None
    if page is None:
        return None
    base = page.public_url or f"{settings.resolved_public_url()}/status/{page.slug}"
    return f"{base}/incidents/{si}" if si else base


def _first_status_page(s: Session, ch: ChatChannel, entries: list[TimelineEntry]) -> TimelineEntry | None:
    """The batch's status page entry, if the incident had none before it (the bookmark is added once)."""
    first = next((e for e in entries if e.kind == "status_page"), None)
    if first is None:
        return None
    earlier = s.execute(sa.select(TimelineEntry.id).where(
        TimelineEntry.incident_id == ch.incident_id, TimelineEntry.kind == "status_page",
        sa.or_(TimelineEntry.recorded_at < first.recorded_at,
               sa.and_(TimelineEntry.recorded_at == first.recorded_at, TimelineEntry.id < first.id))).limit(1)).first()
    return None if earlier else first


def _remind(s: Session, settings: Settings, ch: ChatChannel, incident: Incident, now: datetime) -> int:
    if incident.status not in ACTIVE_STATUSES:
        return 0
    last = last_update_at(s, incident=incident)
    cadence = cadences.parse(settings.update_cadence)
    due = cadences.next_update_due(incident.severity, last, cadence)
    if now < due or (ch.reminded_at is not None and ch.reminded_at >= due):
        return 0
    text = compose.reminder(ref=ref(incident), severity=incident.severity,
                            target=cadences.target_label(incident.severity, cadence), last_update=last, now=now)
    outbox.post(s, platform=ch.platform, channel_row_id=ch.id, incident_id=incident.id, lines=[text], now=now)
    ic = _commander(s, incident.id)
    chat_ic = chat_ids(s, platform=ch.platform, user_ids=[ic.id]).get(ic.id) if ic else None
    if chat_ic:
        _call(s, ch, "ephemeral", {"user": chat_ic, "text": f"You are the IC of {ref(incident)}. {text}"}, now)
    ch.reminded_at = now
    return 1


def _echoed(s: Session, platform: str, entries: list[TimelineEntry]) -> set[uuid.UUID]:
    """The entries made from `platform` itself (a captured message, a command that noted its entry with
    `receipts.note_entry`): already said there, not posted back."""
    if not entries:
        return set()
    return {e for e in s.execute(sa.select(ChatReceipt.entry_id).where(
        ChatReceipt.platform == platform, ChatReceipt.entry_id.in_([e.id for e in entries]))).scalars()
        if e is not None}


def _closed(incident: Incident, now: datetime) -> bool:
    """Closed (or declined) long enough ago that the closing entry has been read."""
    return incident.status in CLOSING and (incident.closed_at is None or incident.closed_at <= now - SETTLE)


def follow_channel(s: Session, settings: Settings, ch: ChatChannel, incident: Incident, now: datetime, *,
                   remind: bool = True) -> int:
    """Bring one ready channel in step with its incident; return how many calls were queued."""
    work = 0
    if incident.restricted and not ch.private and not ch.muted:
        ch.muted = True  # a public channel never hears of a restricted incident again
        work += 1
    entries = _new_entries(s, ch, now)
    if entries:
        ch.cursor_at, ch.cursor_id = entries[-1].recorded_at, entries[-1].id
    if not ch.muted:
        echoed = _echoed(s, ch.platform, entries)
        lines = [line for e in entries if e.kind != "declared" and e.id not in echoed and (line := compose.entry_line(
            kind=e.kind, text=e.text, data=e.data or {}, key_event=e.key_event, platform=ch.platform,
            when=e.occurred_at)) is not None]
        if lines:
            outbox.post(s, platform=ch.platform, channel_row_id=ch.id, incident_id=incident.id, lines=lines, now=now)
            work += 1
        first = _first_status_page(s, ch, entries)
        link = _status_page_link(s, settings, first) if first is not None else None
        if link:
            _call(s, ch, "bookmark", {"title": "Status page", "link": link}, now)
            work += 1
    topic = _topic(settings, s, incident, ch.platform)
    if topic != ch.topic:
        ch.topic = topic
        _call(s, ch, "topic", {"topic": topic}, now)
        work += 1
    if not ch.muted:
        work += _invite(s, ch, incident, now)
        if remind:
            work += _remind(s, settings, ch, incident, now)
    if _closed(incident, now):
        _call(s, ch, "archive", {}, now)
        ch.state, ch.archived_at = "archived", now
        work += 1
    return work


def follow_teams(s: Session, settings: Settings, ch: ChatChannel, incident: Incident, now: datetime) -> int:
    """Cards for Teams: one per burst of the incident's declaration, status, severity and update entries.
    Nothing of a restricted incident, nor of a drill (a shared channel is not the exercise's participants)."""
    ch.muted = incident.restricted or incident.drill
    entries = _new_entries(s, ch, now)
    if entries:
        ch.cursor_at, ch.cursor_id = entries[-1].recorded_at, entries[-1].id
    lines = [] if ch.muted else [line for e in entries if e.kind in TEAMS_KINDS and (line := compose.entry_line(
        kind=e.kind, text=e.text, data=e.data or {}, key_event=e.key_event, platform=TEAMS,
        when=e.occurred_at)) is not None]
    work = 0
    if lines:
        head = {"ref": ref(incident), "title": incident.title, "severity": incident.severity,
                "status": compose.STATUS_WORDS.get(incident.status, incident.status),
                "url": room_url(settings, incident)}
        outbox.post(s, platform=TEAMS, channel_row_id=ch.id, incident_id=incident.id, lines=lines, now=now, extra=head)
        work += 1
    if _closed(incident, now):
        ch.state, ch.archived_at = "archived", now
    return work


def _unopened(platform: str, installed_at: datetime, severities: frozenset[str]) -> sa.Select[Any]:
    """Incidents that should have a channel on `platform` and have none."""
    has = sa.select(ChatChannel.id).where(ChatChannel.incident_id == Incident.id, ChatChannel.platform == platform)
    return sa.select(Incident.id).where(Incident.declared_at >= installed_at, Incident.severity.in_(severities),
                                        Incident.status.not_in(CLOSING), ~has.exists())


def _to_follow(platforms: list[str], now: datetime, *, remind: bool) -> sa.ColumnElement[bool]:
    """Ready channels with something to do: a settled timeline entry past the cursor (every change a
    channel shows, its topic and the people to invite is on the timeline), an incident that is
    closing; and, when the reminder check is due, every channel of an open incident."""
    settled = now - SETTLE
    newer = sa.select(TimelineEntry.id).where(
        TimelineEntry.incident_id == ChatChannel.incident_id, TimelineEntry.recorded_at <= settled,
        sa.or_(ChatChannel.cursor_at.is_(None), TimelineEntry.recorded_at > ChatChannel.cursor_at,
               sa.and_(TimelineEntry.recorded_at == ChatChannel.cursor_at, TimelineEntry.id > ChatChannel.cursor_id))
    ).correlate_except(TimelineEntry)
    # correlate_except: the job's query joins incidents itself; these look the channel's incident up anew
    closing = sa.select(Incident.id).where(Incident.id == ChatChannel.incident_id,
                                           Incident.status.in_(CLOSING)).correlate_except(Incident)
    active = sa.select(Incident.id).where(Incident.id == ChatChannel.incident_id, Incident.status.in_(
        [st.value for st in ACTIVE_STATUSES])).correlate_except(Incident)
    reasons = [newer.exists(), closing.exists()] + ([active.exists()] if remind else [])
    return sa.and_(ChatChannel.state == "ready", ChatChannel.platform.in_(platforms), sa.or_(*reasons))


def _remind_due(ec: JobContext) -> bool:
    due = ec.shared.get(REMIND_NEXT)
    return not isinstance(due, datetime) or ec.now >= due


def has_work(s: Session, ec: JobContext) -> bool:
    """The probe (a read): an incident without its channel, a channel with news, a reminder check due.
    On SQLite every unit of work waits for the write lock a busy ingest holds, so an idle follower
    must not open one each tick just because an incident is open."""
    platforms = enabled(ec.settings)
    if not platforms:
        return False
    installs = ec.shared.get(INSTALLED)
    if not isinstance(installs, dict) or set(installs) != set(platforms):
        return True  # first run here: the install rows are read (or written)
    severities = ec.settings.chat_severities()
    unopened = [_unopened(p, installs[p], severities).exists() for p in platforms] if severities else []
    follow = sa.select(ChatChannel.id).where(_to_follow(platforms, ec.now, remind=_remind_due(ec))).exists()
    return bool(s.execute(sa.select(sa.or_(follow, *unopened))).scalar())


def chat_follow(ec: JobContext) -> int:
    """The engine job: open channels, follow the timeline into them, remind, archive; return calls queued."""
    platforms = enabled(ec.settings)
    if not platforms:
        return 0
    work = 0
    remind = _remind_due(ec)
    with ec.db.unit_of_work() as s:
        installs = _installs(s, platforms, ec.now)
        for platform in platforms:
            work += open_channels(s, ec.settings, platform, installs[platform], ec.now)
    ec.shared[INSTALLED] = installs
    with ec.db.unit_of_work() as s:
        rows = s.execute(sa.select(ChatChannel, Incident).join(Incident, Incident.id == ChatChannel.incident_id)
                         .where(_to_follow(platforms, ec.now, remind=remind))
                         .order_by(ChatChannel.created_at, ChatChannel.id).limit(BATCH)
                         .with_for_update(of=ChatChannel, skip_locked=True)).all()
        for ch, incident in rows:
            if ch.platform == TEAMS:
                work += follow_teams(s, ec.settings, ch, incident, ec.now)
            else:
                work += follow_channel(s, ec.settings, ch, incident, ec.now, remind=remind)
    if remind:
        ec.shared[REMIND_NEXT] = ec.now + REMIND_EVERY
    return work
