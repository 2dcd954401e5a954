"""The "you cannot be paged" warning on /me and the dashboard (templates/paging_warning.html).

A page of high urgency reaches a person through their notification rules for that urgency whose
contact method is verified; without one it falls back to a single email to their account address
(`contacts.service.routes_for`), which reaches nobody when no mail server is configured.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from tocsin.config import Settings
from tocsin.contacts.service import paged_by_rules
from tocsin.users.models import User


@dataclass(frozen=True)
class PagingGap:
    email: str  # where high-urgency pages fall back to
    mail: bool  # whether a mail server is configured, so that fallback can arrive at all


def paging_gap(s: Session, user: User, settings: Settings) -> PagingGap | None:
    """None when the person's rules page a verified method for high urgency; else what happens instead."""
    if paged_by_rules(s, user.id, "high"):
        return None
    return PagingGap(email=user.email, mail=bool(settings.smtp_url))
