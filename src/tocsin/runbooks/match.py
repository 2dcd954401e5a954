"""Which runbooks apply to an alert, pure: a runbook linked to the alert's service applies, and so
does one whose label matchers (Alertmanager's semantics, `routing.matchers`) all match the alert's
labels. A runbook with neither services nor matchers applies to nothing by itself."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tocsin.routing.matchers import Matcher, in_words, match_all


@dataclass(frozen=True, slots=True)
class Candidate:
    id: uuid.UUID
    service_ids: frozenset[uuid.UUID]
    matchers: tuple[Matcher, ...]


def reason(rb: Candidate, service_id: uuid.UUID | None, labels: Mapping[str, str]) -> str | None:
    """Why `rb` applies to an alert of `service_id` with `labels`, or None when it does not."""
    if service_id is not None and service_id in rb.service_ids:
        return "linked to the alert's service"
    if rb.matchers and match_all(rb.matchers, labels):
        return f"the alert's labels match: {in_words(rb.matchers)}"
    return None


def applying(candidates: Iterable[Candidate], service_id: uuid.UUID | None,
             labels: Mapping[str, str]) -> list[uuid.UUID]:
    """The ids of the candidates that apply, in the order given."""
    return [c.id for c in candidates if reason(c, service_id, labels) is not None]
