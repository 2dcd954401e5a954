"""Contact methods and notification rules: validate, store, verify, audit; and the rules the
engine applies when it pages someone.

Who may change them: the person themselves, or an admin. Services never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.contacts.models import TYPES, URGENCIES, ContactMethod, NotificationRule, UsedLink
from tocsin.db.prune import delete_batch
from tocsin.db.session import rowcount
from tocsin.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyAttempts
from tocsin.net.guard import Blocked, EgressPolicy
from tocsin.notify.apprise import validate_apprise_url
from tocsin.principal import Principal
from tocsin.users import throttle
from tocsin.users.models import User
from tocsin.users.service import require_user

T = TypeVar("T", ContactMethod, NotificationRule)  # the rows a user owns
CODE_LIFETIME = timedelta(minutes=15)
CODE_ATTEMPTS = 5
CODE_RESEND = timedelta(seconds=60)  # codes cost money (SMS, calls): one a minute per method
MAX_METHODS = 20
MAX_RULES = 30

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_SLACK_ID = re.compile(r"^[CDGUW][A-Z0-9]{6,20}$")
# A Mattermost channel id (26 characters of lowercase base32), or a person for a direct message:
# @<user id> or @<username> (3 to 22 characters, starting with a letter).
_MATTERMOST = re.compile(r"^(?:[a-z0-9]{26}|@[a-z0-9]{26}|@[a-z][a-z0-9.\-_]{2,21})$")


# --- who -----------------------------------------------------------------------------------------

def require_person(session: Session, actor: Principal, key: str) -> User:
    """The user `key` names ("me", an id or an email) if the actor may manage their contact settings."""
    if key == "me":
        if actor.user_id is None:
            raise InvalidInput("'me' names a user; the operator at the CLI has none", details={"field": "user"})
        key = str(actor.user_id)
    user = require_user(session, key)
    _may_manage(actor, user.id)
    return user


def _may_manage(actor: Principal, user_id: uuid.UUID) -> None:
    if actor.user_id != user_id and not actor.is_admin:
        raise Forbidden("only the person themselves or an admin may change their contact methods and rules")


def _require_owned(session: Session, actor: Principal, model: type[T], row_id: uuid.UUID, what: str) -> T:
    """The row (a contact method or rule) if it exists and the actor may manage its owner's settings."""
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"no {what} {row_id}", details={"id": str(row_id)})
    _may_manage(actor, row.user_id)
    return row


def require_method(session: Session, actor: Principal, method_id: uuid.UUID) -> ContactMethod:
    return _require_owned(session, actor, ContactMethod, method_id, "contact method")


def require_testable(session: Session, actor: Principal, method_id: uuid.UUID) -> ContactMethod:
    """The method, if the actor may manage it and it is verified (a test message goes only to a
    verified method: otherwise it would message an address nobody proved is theirs)."""
    method = require_method(session, actor, method_id)
    if method.verified_at is None:
        raise Conflict("verify the contact method first")
    return method


# --- contact methods -------------------------------------------------------------------------------

def check_address(kind: str, address: str, *, policy: EgressPolicy | None = None) -> str:
    """The address normalised for its type, or InvalidInput saying what is wrong.

    URLs (webhook, Slack webhook, Teams webhook, Apprise) are judged by `policy` (the strict default when None:
    nothing private allowed): a literal address in a refused range, in any spelling, or a name
    that is always loopback or a metadata service, is refused here; other names are resolved
    and checked when a message is sent.
    """
    address = address.strip()
    bad = None
    if not address:
        bad = "must not be empty"
    elif kind == "email":
        address = address.lower()
        if not _EMAIL.match(address):
            bad = "must be an email address"
    elif kind in ("sms", "voice"):
        address = re.sub(r"[\s().-]", "", address)
        if not _E164.match(address):
            bad = "must be a phone number in E.164 form, such as +14155550100"
    elif kind == "webhook" or (kind == "slack" and "://" in address):
        bad = _url_refusal(address, policy or EgressPolicy())
    elif kind == "slack":
        if not _SLACK_ID.match(address):
            bad = "must be a Slack channel or user id (C…, U…) or an incoming-webhook URL"
    elif kind == "mattermost":
        address = address.lower()
        if not _MATTERMOST.match(address):
            bad = "must be a Mattermost channel id (26 characters), or @username or @user id for a direct message"
    elif kind == "teams":
        bad = "must be an https URL (a Teams Workflows webhook)" if not address.lower().startswith("https://") \
            else _url_refusal(address, policy or EgressPolicy())
    elif kind == "apprise":
        bad = validate_apprise_url(address, policy=policy or EgressPolicy())
    if bad:
        raise InvalidInput(f"address {bad}", details={"field": "address", "type": kind})
    return address


def _url_refusal(address: str, policy: EgressPolicy) -> str | None:
    """Why the http(s) URL `address` cannot be a destination, or None."""
    try:
        parts = urlsplit(address)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "must be an http(s) URL"
    if parts.scheme not in ("http", "https") or not host:
        return "must be an http(s) URL"
    try:
        policy.check_host(host)
    except Blocked as exc:
        return f"is refused by the egress policy: {exc.message} (TOCSIN_OUTBOUND_ALLOW opens ranges)"
    return None


def list_methods(session: Session, user_id: uuid.UUID) -> list[ContactMethod]:
    return list(session.execute(sa.select(ContactMethod).where(ContactMethod.user_id == user_id)
                                .order_by(ContactMethod.created_at, ContactMethod.id)).scalars())


def create_method(session: Session, *, actor: Principal, now: datetime, user: User, type: str, address: str,
                  label: str = "", policy: EgressPolicy | None = None) -> ContactMethod:
    """Add an unverified contact method (the account's own email address counts as verified).

    `policy` judges URL destinations (`tocsin.net.policy.user_policy(settings)`; strict when None).
    """
    _may_manage(actor, user.id)
    if type not in TYPES:
        raise InvalidInput(f"type must be one of {', '.join(TYPES)}", details={"field": "type"})
    address = check_address(type, address, policy=policy)
    if len(list_methods(session, user.id)) >= MAX_METHODS:
        raise Conflict(f"a person may have at most {MAX_METHODS} contact methods")
    if session.execute(sa.select(ContactMethod.id).where(ContactMethod.user_id == user.id, ContactMethod.type == type,
                                                         ContactMethod.address == address)).first():
        raise Conflict(f"{user.email} already has this {type} contact method", details={"type": type})
    method = ContactMethod(user_id=user.id, type=type, address=address, label=label.strip(), created_at=now,
                           verified_at=now if (type == "email" and address == user.email) else None,
                           verify_attempts=0)
    session.add(method)
    session.flush()
    record(session, actor=actor, action="contact_method.create", target_type="user", target_id=user.id, now=now,
           details={"contact_method_id": str(method.id), "type": type, "verified": method.verified_at is not None})
    return method


def delete_method(session: Session, *, actor: Principal, now: datetime, method: ContactMethod) -> None:
    """Delete a method and its rules; notifications already written keep their copied destination."""
    _may_manage(actor, method.user_id)
    record(session, actor=actor, action="contact_method.delete", target_type="user", target_id=method.user_id,
           now=now, details={"contact_method_id": str(method.id), "type": method.type})
    session.execute(sa.delete(NotificationRule).where(NotificationRule.contact_method_id == method.id))
    session.delete(method)
    session.flush()


def _code_hash(method_id: uuid.UUID, code: str) -> str:
    return hashlib.sha256(f"{method_id}:{code}".encode()).hexdigest()


def new_code(session: Session, *, actor: Principal, now: datetime, method: ContactMethod) -> str:
    """Start verification: return a fresh 6-digit code (kept only as a hash) for the caller to send."""
    _may_manage(actor, method.user_id)
    if method.verified_at is not None:
        raise Conflict("this contact method is already verified")
    if method.verify_expires_at is not None and now < method.verify_expires_at - CODE_LIFETIME + CODE_RESEND:
        wait = math.ceil((method.verify_expires_at - CODE_LIFETIME + CODE_RESEND - now).total_seconds())
        raise Conflict(f"a code was just sent; ask for another in {wait} s", details={"retry_after": wait})
    code = f"{secrets.randbelow(1_000_000):06d}"
    # One conditional UPDATE re-checks the once-a-minute limit, so parallel requests send one code between them.
    col = ContactMethod.__table__.c
    issued = rowcount(session, sa.update(ContactMethod).where(
        col.id == method.id, col.verified_at.is_(None),
        sa.or_(col.verify_expires_at.is_(None), col.verify_expires_at <= now + CODE_LIFETIME - CODE_RESEND))
        .values(verify_hash=_code_hash(method.id, code), verify_expires_at=now + CODE_LIFETIME, verify_attempts=0)
        .execution_options(synchronize_session=False))
    session.refresh(method)
    if not issued:
        raise Conflict("a code was just sent; ask for another in a minute", details={"retry_after": 60})
    record(session, actor=actor, action="contact_method.send_code", target_type="user", target_id=method.user_id,
           now=now, details={"contact_method_id": str(method.id)})
    return code


def verify(session: Session, *, actor: Principal, now: datetime, method: ContactMethod, code: str) -> bool:
    """Check a typed code; True when the method is now verified. Wrong codes count; after
    CODE_ATTEMPTS or CODE_LIFETIME a new code is needed. A person's first verified method gets
    an immediate notification rule, so it pages at once until they set their own rules.

    Each guess claims one of the code's tries with a single conditional UPDATE (`verify_attempts <
    CODE_ATTEMPTS`), so parallel guesses cannot get more tries than that between them; and wrong
    guesses are throttled per person across codes (users/throttle.py: after 5, each waits twice as
    long), so asking for new codes does not buy fresh guesses at full speed."""
    _may_manage(actor, method.user_id)
    if method.verified_at is not None:
        return True
    _check_pending(method, now)
    ticket = throttle.take(session, throttle.VERIFY, str(method.user_id), now)
    if ticket.blocked:
        raise TooManyAttempts(f"too many wrong codes: try again in {ticket.retry_after} s",
                              retry_after=ticket.retry_after)
    col = ContactMethod.__table__.c
    claimed = session.execute(
        sa.update(ContactMethod).where(col.id == method.id, col.verified_at.is_(None), col.verify_hash.is_not(None),
                                       col.verify_expires_at > now, col.verify_attempts < CODE_ATTEMPTS)
        .values(verify_attempts=col.verify_attempts + 1).returning(col.verify_hash)
        .execution_options(synchronize_session=False)).scalar_one_or_none()
    session.refresh(method)
    if claimed is None:  # a parallel guess used the last try, verified it, or a new code replaced it
        if method.verified_at is not None:
            return True
        _check_pending(method, now)
        raise Conflict("too many wrong codes: ask for a new one")
    ok = hmac.compare_digest(_code_hash(method.id, code.strip()), claimed)
    if ok:
        won = rowcount(session, sa.update(ContactMethod).where(col.id == method.id, col.verified_at.is_(None))
                       .values(verified_at=now, verify_hash=None, verify_expires_at=None)
                       .execution_options(synchronize_session=False))
        session.refresh(method)
        throttle.clear(session, throttle.VERIFY, str(method.user_id))
        if won and not list_rules(session, method.user_id):
            session.add(NotificationRule(user_id=method.user_id, contact_method_id=method.id, delay_minutes=0,
                                         urgency="any", created_at=now))
    session.flush()
    record(session, actor=actor, action="contact_method.verify", target_type="user", target_id=method.user_id,
           now=now, details={"contact_method_id": str(method.id), "ok": ok})
    return ok


def _check_pending(method: ContactMethod, now: datetime) -> None:
    if method.verify_hash is None or method.verify_expires_at is None or now >= method.verify_expires_at:
        raise Conflict("no code is pending for this contact method (or it expired): ask for a new one")
    if method.verify_attempts >= CODE_ATTEMPTS:
        raise Conflict("too many wrong codes: ask for a new one")


# --- notification rules --------------------------------------------------------------------------

def list_rules(session: Session, user_id: uuid.UUID) -> list[NotificationRule]:
    return list(session.execute(sa.select(NotificationRule).where(NotificationRule.user_id == user_id)
                                .order_by(NotificationRule.delay_minutes, NotificationRule.created_at,
                                          NotificationRule.id)).scalars())


def create_rule(session: Session, *, actor: Principal, now: datetime, user: User, contact_method_id: uuid.UUID,
                delay_minutes: int = 0, urgency: str = "any") -> NotificationRule:
    _may_manage(actor, user.id)
    method = session.get(ContactMethod, contact_method_id)
    if method is None or method.user_id != user.id:
        raise InvalidInput(f"contact_method: {user.email} has no contact method {contact_method_id}",
                           details={"field": "contact_method_id"})
    if method.verified_at is None:
        raise Conflict("verify the contact method before it can page", details={"contact_method_id": str(method.id)})
    if urgency not in URGENCIES:
        raise InvalidInput(f"urgency must be one of {', '.join(URGENCIES)}", details={"field": "urgency"})
    if not 0 <= delay_minutes <= 1440:
        raise InvalidInput("delay_minutes must be between 0 and 1440", details={"field": "delay_minutes"})
    if len(list_rules(session, user.id)) >= MAX_RULES:
        raise Conflict(f"a person may have at most {MAX_RULES} notification rules")
    if session.execute(sa.select(NotificationRule.id).where(
            NotificationRule.contact_method_id == method.id, NotificationRule.delay_minutes == delay_minutes,
            NotificationRule.urgency == urgency)).first():
        raise Conflict("this rule already exists")
    rule = NotificationRule(user_id=user.id, contact_method_id=method.id, delay_minutes=delay_minutes,
                            urgency=urgency, created_at=now)
    session.add(rule)
    session.flush()
    record(session, actor=actor, action="notification_rule.create", target_type="user", target_id=user.id, now=now,
           details={"rule_id": str(rule.id), "contact_method_id": str(method.id), "delay_minutes": delay_minutes,
                    "urgency": urgency})
    return rule


def require_rule(session: Session, actor: Principal, rule_id: uuid.UUID) -> NotificationRule:
    return _require_owned(session, actor, NotificationRule, rule_id, "notification rule")


def delete_rule(session: Session, *, actor: Principal, now: datetime, rule: NotificationRule) -> None:
    _may_manage(actor, rule.user_id)
    record(session, actor=actor, action="notification_rule.delete", target_type="user", target_id=rule.user_id,
           now=now, details={"rule_id": str(rule.id)})
    session.delete(rule)
    session.flush()


# --- what the engine applies ---------------------------------------------------------------------

@dataclass(frozen=True)
class Route:
    """One way to reach a person for one page: the channel, where, and how long after the page."""

    contact_method_id: uuid.UUID | None  # None: the account email (the person set no rules)
    channel: str
    destination: str
    delay_minutes: int


def routes_for(session: Session, users: list[User], urgency: str) -> dict[uuid.UUID, list[Route]]:
    """Each person's routes for a page of this urgency: their verified rules that apply, or, when none
    applies (no rules, or none for this urgency), their account email at once, so nobody with an
    email address is unreachable."""
    ids = [u.id for u in users]
    found: dict[uuid.UUID, list[Route]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = session.execute(
        sa.select(NotificationRule, ContactMethod).join(ContactMethod, ContactMethod.id == NotificationRule.contact_method_id)
        .where(NotificationRule.user_id.in_(ids))
        .order_by(NotificationRule.delay_minutes, NotificationRule.created_at, NotificationRule.id)).all()
    for rule, method in rows:
        if method.verified_at is None or rule.urgency not in ("any", urgency):
            continue
        found[rule.user_id].append(Route(method.id, method.type, method.address, rule.delay_minutes))
    for user in users:  # no rules, or none for this urgency: the account email, at once
        if not found[user.id]:
            found[user.id].append(Route(None, "email", user.email, 0))
    return found


def paged_by_rules(session: Session, user_id: uuid.UUID, urgency: str = "high") -> bool:
    """True when at least one of the person's notification rules for pages of `urgency` reaches a
    verified contact method; False means such pages fall back to one email to their account address
    (`routes_for`), with no follow-up, which is what the console warns about."""
    return session.execute(
        sa.select(NotificationRule.id).join(ContactMethod, ContactMethod.id == NotificationRule.contact_method_id)
        .where(NotificationRule.user_id == user_id, NotificationRule.urgency.in_(("any", urgency)),
               ContactMethod.verified_at.is_not(None)).limit(1)).first() is not None


def fallbacks_for(session: Session, user_id: uuid.UUID, tried: set[str]) -> list[Route]:
    """The person's other verified methods, in the order they were added, not yet `tried`
    (as "channel:destination"): where a permanently failed page falls through to."""
    out = []
    for method in list_methods(session, user_id):
        key = f"{method.type}:{method.address}"
        if method.verified_at is not None and key not in tried:
            out.append(Route(method.id, method.type, method.address, 0))
    return out


def prune_used_links(session: Session, *, now: datetime, limit: int) -> int:
    """Retention: forget up to `limit` used links (and handled SMS replies) whose validity has ended;
    return how many went. An expired link is refused by its signature, so its row guards nothing."""
    return delete_batch(session, UsedLink, UsedLink.expires_at < now, oldest_first=UsedLink.expires_at, limit=limit)
