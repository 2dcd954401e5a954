"""Push subscriptions: a phone's or browser's Web Push subscription kept as a contact method of type
`push`, so notification rules, escalation and fall-through reach it as they reach email or SMS.

The address carries the endpoint and the subscription's keys (`notify/push_subscription.py`). A
subscription is made by the browser of the person signed in on it, so it is verified when added
(the code round trip of other methods proves the same thing: this destination reaches its owner);
for that reason nobody, admins included, subscribes a device for someone else.

One device has one subscription per site: when someone else enables push on a browser that was
subscribed for another person, the device moves to the newcomer (the old owner's method is removed,
audited), so a shared or handed-over browser does not keep receiving someone else's pages.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.contacts.models import ContactMethod
from tocsin.contacts.service import MAX_METHODS, check_address, create_method, create_rule, list_methods, list_rules
from tocsin.errors import Conflict, Forbidden, InvalidInput
from tocsin.net.guard import EgressPolicy, literal_address
from tocsin.notify import push_subscription
from tocsin.principal import Principal
from tocsin.users.models import User

PUSH = "push"


def key_status(settings: Any) -> dict[str, Any]:
    """The VAPID public key browsers subscribe with (the private key is generated into the data directory
    on first use when not configured), whether pushes can be sent, and what is missing if not."""
    subject = settings.resolved_vapid_subject()
    return {"public_key": push_subscription.public_key(settings.resolved_vapid_key()), "ready": subject is not None,
            "detail": "" if subject else "Web Push needs TOCSIN_VAPID_SUBJECT (a mailto: address push services can "
                                         "write to): ask an admin to set it"}


def _opened(url: str, policy: EgressPolicy | None) -> bool:
    """True when the URL's host is a literal address inside a range the operator's allow-list opened."""
    address = literal_address(urlsplit(url).hostname or "")
    return address is not None and policy is not None and any(
        address.version == net.version and address in net for net in policy.allow)


def list_devices(session: Session, user_id: uuid.UUID) -> list[ContactMethod]:
    """The person's push subscriptions, oldest first."""
    return [m for m in list_methods(session, user_id) if m.type == PUSH]


def subscribe(session: Session, *, actor: Principal, now: datetime, user: User, endpoint: str, p256dh: str, auth: str,
              label: str = "", policy: EgressPolicy | None = None) -> ContactMethod:
    """Add (or renew) the push subscription of the actor's own device; return its contact method.

    The endpoint is judged by `policy` as any URL destination (strict when None). The same endpoint
    for the same person renews its keys and label; for another person, the device moves (see the
    module docstring). Raises Forbidden for someone else's user, InvalidInput for a bad endpoint or
    keys, Conflict at the contact method limit.
    """
    if actor.user_id != user.id:
        raise Forbidden("push is enabled from the person's own device: nobody can subscribe one for someone else")
    try:
        endpoint = check_address("webhook", endpoint, policy=policy)
    except InvalidInput as exc:
        raise InvalidInput(exc.message.replace("address", "endpoint", 1), details={"field": "endpoint"}) from None
    if "#" in endpoint:
        raise InvalidInput("endpoint must not have a fragment", details={"field": "endpoint"})
    if not endpoint.lower().startswith("https://") and not _opened(endpoint, policy):
        # Every push service is https; plain http only to an address the operator opened (a test push server).
        raise InvalidInput("endpoint must be an https URL (push services use https)", details={"field": "endpoint"})
    problem = push_subscription.key_problem(p256dh, auth)
    if problem:
        raise InvalidInput(problem, details={"field": "keys"})
    address = push_subscription.to_address(endpoint, p256dh, auth)
    if len(address) > 1000:
        raise InvalidInput("endpoint is too long (at most about 880 characters)", details={"field": "endpoint"})
    label = label.strip()[:200] or "This device"
    col = ContactMethod.__table__.c
    prefix = endpoint + "#"
    holders = list(session.execute(sa.select(ContactMethod).where(
        col.type == PUSH, sa.func.substr(col.address, 1, len(prefix)) == prefix)).scalars())
    mine = next((m for m in holders if m.user_id == user.id), None)
    for other in holders:
        # The device moves to the person who enabled push on it now, but only with the proof that it is
        # the same browser subscription (its keys): an endpoint alone is not a secret, and would let anyone
        # remove another person's device and the rules that page it.
        if other.user_id != user.id and other.address != address:
            raise Conflict("this push endpoint belongs to another person's device; subscribe again in the browser")
        if other.user_id != user.id:
            record(session, actor=actor, action="contact_method.delete", target_type="user", target_id=other.user_id,
                   now=now, details={"contact_method_id": str(other.id), "type": PUSH,
                                     "reason": f"the device now receives {user.email}'s pushes"})
            session.delete(other)
    if mine is not None:
        mine.address, mine.label = address, label
        session.flush()
        record(session, actor=actor, action="contact_method.push_renew", target_type="user", target_id=user.id,
               now=now, details={"contact_method_id": str(mine.id)})
        return mine
    if len(list_methods(session, user.id)) >= MAX_METHODS:
        raise Conflict(f"a person may have at most {MAX_METHODS} contact methods: remove an old device first")
    method = ContactMethod(user_id=user.id, type=PUSH, address=address, label=label, created_at=now, verified_at=now,
                           verify_attempts=0)
    session.add(method)
    session.flush()
    record(session, actor=actor, action="contact_method.create", target_type="user", target_id=user.id, now=now,
           details={"contact_method_id": str(method.id), "type": PUSH, "verified": True})
    return method


def page_at_once(session: Session, *, actor: Principal, now: datetime, user: User, method: ContactMethod) -> list[str]:
    """Add the rule "page this device at once" (unless it exists); return the channels that got a rule.

    A person with no rules is paged at their account email (`contacts.service.routes_for`); a first
    rule would end that, so their account email gets its own "at once" rule too: enabling push adds
    a way to be reached and takes none away."""
    added = []
    rules = list_rules(session, user.id)
    if not rules:
        email = next((m for m in list_methods(session, user.id)
                      if m.type == "email" and m.address == user.email.lower() and m.verified_at), None)
        if email is None and not any(m.type == "email" and m.address == user.email.lower()
                                     for m in list_methods(session, user.id)):
            email = create_method(session, actor=actor, now=now, user=user,
                                  type="email", address=user.email)
        if email is not None and email.verified_at is not None:
            create_rule(session, actor=actor, now=now, user=user, contact_method_id=email.id)
            added.append("email")
    if not any(r.contact_method_id == method.id and r.delay_minutes == 0 and r.urgency == "any" for r in rules):
        create_rule(session, actor=actor, now=now, user=user, contact_method_id=method.id)
        added.append(PUSH)
    return added
