"""The one executor of chat slash commands (Slack and Mattermost): who typed it (the linked tocsin
user), where (an incident channel, need-to-know applied), and what it does, through the same flows
and service functions as the API, so the same checks, errors and audit apply.

Replies are in tocsin's words and ephemeral, except a successful change, which is posted in the
channel ("Alice set severity to SEV1"). A change that fails is rolled back to a savepoint, so the
caller's unit of work still commits what came before (a chat account linked, a receipt claimed).
A restricted incident's title is never put in a reply to the channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.api.chat.slack_modal import declare_view
from tocsin.chatops import accounts, channels
from tocsin.chatops import parse as p
from tocsin.comms import service as comms
from tocsin.config import Settings
from tocsin.containment import service as containment
from tocsin.db.lookup import get_by_key
from tocsin.errors import Forbidden, InvalidInput, NotFound, TocsinError
from tocsin.escalation.responders import Target
from tocsin.flows import incidents as flows
from tocsin.http import forensics
from tocsin.incidents import timeline
from tocsin.incidents.models import Incident
from tocsin.incidents.roles import ROLE_LABELS
from tocsin.incidents.service import Declaration, ref
from tocsin.incidents.types import Status
from tocsin.oncall.models import Schedule
from tocsin.principal import Principal
from tocsin.severities import Severity
from tocsin.teams.models import Team
from tocsin.users.models import User
from tocsin.users.service import get_user_by_email, principal_for

LookupEmail = Callable[[str], str | None]  # chat user id -> the platform's verified email, None if unknown
LookupUsername = Callable[[str], str | None]  # chat username -> chat user id (Mattermost's @name)
NOT_IN_CHANNEL = "Run this in an incident channel (declare works anywhere: `{cmd} declare SEV2 <title>`)."
NOT_FOUND = "Not found: there is no incident here that you can see."


@dataclass(frozen=True)
class Reply:
    text: str
    in_channel: bool = False
    modal: dict[str, Any] | None = None  # Slack: open this view (the declare form) instead of replying
    ring: bool = False  # pages were queued: ring the engine once the caller commits
    incident_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Caller:
    """What a command runs with: the session, time, settings and the linked user."""

    s: Session
    settings: Settings
    now: datetime
    who: accounts.ChatIdentity
    channel_id: str
    user: User
    me: Principal
    lookup_email: LookupEmail
    lookup_username: LookupUsername | None


def has_nul(value: Any) -> bool:
    """Does a parsed request (form fields, JSON) hold a NUL, or a lone surrogate (JSON's "\\ud800",
    which is no UTF-8), anywhere? The database stores no such text, so such a request is refused
    (400) before anything is looked up or written."""
    if isinstance(value, str):
        return "\x00" in value or not _utf8(value)
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def link_url(settings: Settings, who: accounts.ChatIdentity, now: datetime) -> str:
    token = accounts.link_token(settings.resolved_secret_key(), who, now=now)
    return f"{settings.resolved_public_url()}/chat/link?t={token}"


def resolve_user(s: Session, who: accounts.ChatIdentity, *, now: datetime, lookup_email: LookupEmail,
                 actor: Principal | None = None) -> User | None:
    """The tocsin user `who` acts as: the linked one, else the one with the platform's verified email
    (which links them; audited as `actor` when someone else named them)."""
    user = accounts.find_user(s, who)
    if user is None:
        email = lookup_email(who.external_id)
        if email:
            user = accounts.link_by_email(s, who, email=email, now=now, actor=actor)
    return user


def _not_linked(settings: Settings, who: accounts.ChatIdentity, now: datetime) -> Reply:
    return Reply("Your chat account is not linked to a tocsin account (none has your chat profile's email). "
                 f"Open this link while signed in to tocsin to connect them (it works once, for 15 minutes): "
                 f"{link_url(settings, who, now)}")


def words(exc: TocsinError) -> str:
    """A domain error, in tocsin's words, for a chat reply."""
    if isinstance(exc, NotFound):
        return f"Not found: {exc.message}."
    if isinstance(exc, Forbidden):
        return f"Not allowed: {exc.message}."
    if isinstance(exc, InvalidInput) and exc.details.get("field") == "severity_reason":
        return (f"The impact suggests {exc.details.get('suggested_severity')} "
                f"({'; '.join(exc.details.get('suggestion_reasons') or [])}): "
                "give a reason after the severity, e.g. `sev SEV1 checkout revenue at risk`.")
    return f"That did not work: {exc.message}."


def execute(s: Session, *, settings: Settings, now: datetime, who: accounts.ChatIdentity, channel_id: str,
            command: str | p.Command, lookup_email: LookupEmail, lookup_username: LookupUsername | None = None,
            command_name: str = "/incident") -> Reply:
    """Run one slash command typed by `who` in `channel_id`; never raises a domain error."""
    try:
        cmd = command if not isinstance(command, str) else p.parse(command, slack=who.platform == "slack")
    except p.BadCommand as exc:
        return Reply(str(exc).replace("`/incident ", f"`{command_name} "))
    if isinstance(cmd, p.Help):
        return Reply(p.help_text(command_name))
    user = resolve_user(s, who, now=now, lookup_email=lookup_email)
    if isinstance(cmd, p.Link):
        url = link_url(settings, who, now)
        if user is None:
            return Reply(f"Open this link while signed in to tocsin to connect your chat account (it works once, "
                         f"for 15 minutes): {url}")
        return Reply(f"Your chat account acts as {user.name} ({user.email}) in tocsin. To connect it to another "
                     f"tocsin account, open this link while signed in as that account: {url}")
    if user is None:
        return _not_linked(settings, who, now)
    c = Caller(s, settings, now, who, channel_id, user, principal_for(s, user), lookup_email, lookup_username)
    try:
        with s.begin_nested():
            return _run(c, cmd, command_name)
    except TocsinError as exc:
        return Reply(words(exc))


def _run(c: Caller, cmd: p.Command, command_name: str) -> Reply:
    if isinstance(cmd, p.Declare):
        return _declare(c, cmd, command_name)
    try:
        incident = channels.incident_in(c.s, c.me, platform=c.who.platform, channel_id=c.channel_id, for_update=True)
    except NotFound:
        return Reply(NOT_FOUND)
    if incident is None:
        return Reply(NOT_IN_CHANNEL.format(cmd=command_name))
    row = channels.channel_row(c.s, platform=c.who.platform, channel_id=c.channel_id)
    # a public channel of an incident restricted later is muted: nothing about it is posted there
    public_ok = not incident.restricted or (row is not None and row.private and not row.muted)
    # the channel's follower (chatops/follow.py) posts status, severity, role, update and paging entries
    # there a moment later: the command's own answer stays with the caller, or the channel reads it twice
    followed = row is not None and row.state == "ready" and not row.muted and not isinstance(cmd, p.Note)
    reply = _in_incident(c, incident, cmd)
    if reply.in_channel and (not public_ok or followed):
        reply = Reply(reply.text, in_channel=False, ring=reply.ring, incident_id=reply.incident_id)
    return reply


def _declare(c: Caller, cmd: p.Declare, command_name: str) -> Reply:
    if not cmd.title:
        if c.who.platform == "slack":
            return Reply("", modal=declare_view(c.s, channel_id=c.channel_id, severity=cmd.severity))
        return Reply(f"Give the incident a title. {p.usage('declare', command_name)}")
    spec = Declaration(title=cmd.title, severity=cmd.severity or Severity.SEV3)
    incident = flows.declare(c.s, actor=c.me, now=c.now, spec=spec)
    text = f"{c.user.name} declared {ref(incident)} ({incident.severity}): {incident.title}"
    return Reply(text, in_channel=not incident.restricted, ring=True, incident_id=incident.id)


def _in_incident(c: Caller, incident: Incident, cmd: p.Command) -> Reply:
    name, s = c.user.name, c.s
    done = Reply  # a change, posted in the channel

    if isinstance(cmd, p.SetStatus | p.Resolve):
        target = Status.resolved if isinstance(cmd, p.Resolve) else cmd.status
        if incident.status == target.value:
            return Reply(f"{ref(incident)} is already {target.value}.")
        _update(c, incident, {"status": target.value})
        verb = "resolved the incident" if target == Status.resolved else f"set status to {target.value}"
        return done(f"{name} {verb}", in_channel=True, ring=True, incident_id=incident.id)
    if isinstance(cmd, p.SetSeverity):
        if incident.severity == cmd.severity.value:
            return Reply(f"{ref(incident)} is already {cmd.severity.value}.")
        changes: dict[str, Any] = {"severity": cmd.severity.value}
        if cmd.reason:
            changes["severity_reason"] = cmd.reason
        _update(c, incident, changes)
        why = f" ({cmd.reason})" if cmd.reason else ""
        return done(f"{name} set severity to {cmd.severity.value}{why}", in_channel=True, ring=True,
                    incident_id=incident.id)
    if isinstance(cmd, p.AssignRole):
        user = _person(c, cmd.person)
        flows.assign_role(s, incident=incident, role=cmd.role, user=user, actor=c.me, now=c.now)
        handbook = f"{c.settings.resolved_public_url()}/handbooks/{cmd.role.value}"  # what the role does (issue 19)
        return done(f"{name} made {user.name} {ROLE_LABELS[cmd.role]}\nThe role's handbook: {handbook}", in_channel=True,
                    ring=True, incident_id=incident.id)
    if isinstance(cmd, p.Note | p.Update):
        if isinstance(cmd, p.Update):  # an update reaches the incident's stakeholders too (comms/)
            entry = comms.post_update(s, incident=incident, actor=c.me, now=c.now, text=cmd.text,
                                      audience="stakeholders", settings=c.settings).entry
        else:
            entry = timeline.add_note(s, incident=incident, actor=c.me, now=c.now, text=cmd.text)
        nudge_on = c.settings.forensics_nudge
        found = forensics.leads(s, incident, nudge_on=nudge_on)
        nudges = containment.note_added(s, incident=incident, entry=entry, now=c.now, nudge_on=nudge_on,
                                        known=found.known, collected=found.collected)
        what = "posted an update" if isinstance(cmd, p.Update) else "added a note"
        text = f"{name} {what}: {cmd.text}"
        for item in nudges:
            text += f"\nForensics first: {item.message}."
        return done(text, in_channel=True, incident_id=incident.id)
    if isinstance(cmd, p.Page):
        paged, label = _page_target(c, cmd.target)
        outcome = flows.add_responders(s, incident=incident, actor=c.me, now=c.now, targets=[paged],
                                       message=f"{name} asks for you in the incident's chat channel")
        asked = ", ".join(sorted(r_user.name for r_user in _users(s, [r.user_id for r in outcome.requested])))
        text = f"{name} paged {label}" + (f": {asked}" if asked and asked != label else "")
        if outcome.skipped:
            text += "\nNot paged: " + "; ".join(outcome.skipped)
        return done(text, in_channel=True, ring=True, incident_id=incident.id)
    raise InvalidInput("that command does not work in an incident channel")


def _update(c: Caller, incident: Incident, changes: dict[str, Any]) -> None:
    flows.update(c.s, incident=incident, actor=c.me, now=c.now, changes=changes,
                 postmortem_required=c.settings.postmortem_severities())


def _users(s: Session, ids: list[uuid.UUID]) -> list[User]:
    return list(s.execute(sa.select(User).where(User.id.in_(ids))).scalars()) if ids else []


def _person(c: Caller, who: p.Person) -> User:
    """The tocsin user a mention, an email or `me` names; NotFound in words a chat user understands."""
    if who.kind == "me":
        return c.user
    if who.kind == "email":
        user = get_user_by_email(c.s, who.value)
        if user is None or not user.is_active:
            raise NotFound(f"no tocsin user has the email {who.value}")
        return user
    external = who.value
    if who.kind == "username":
        external = (c.lookup_username(who.value) if c.lookup_username else None) or ""
        if not external:
            raise NotFound(f"no chat user @{who.value} was found")
    other = accounts.ChatIdentity(c.who.platform, c.who.team_id, external)
    user = resolve_user(c.s, other, now=c.now, lookup_email=c.lookup_email, actor=c.me)
    if user is None:
        shown = f"@{who.value}" if who.kind == "username" else "that person"
        raise NotFound(f"{shown} has no linked tocsin account (they can link with the `link` command)")
    return user


def _page_target(c: Caller, target: p.PageTarget) -> tuple[Target, str]:
    if target.person is not None:
        user = _person(c, target.person)
        return Target("user", str(user.id)), user.name
    key = target.name.strip()
    team = get_by_key(c.s, Team, key.lstrip("@").lower()) if key else None
    if team is not None:
        return Target("team", str(team.id)), f"team {team.name}"
    schedule = get_by_key(c.s, Schedule, key.lower()) if key else None
    if schedule is None and key:
        schedule = c.s.execute(sa.select(Schedule).where(sa.func.lower(Schedule.name) == key.lower())
                               .limit(1)).scalar_one_or_none()
    if schedule is not None:
        return Target("schedule", str(schedule.id)), f"the on-call of {schedule.name}"
    raise NotFound(f"no person, team or schedule is called {key!r}")
