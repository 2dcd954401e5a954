"""Re-hash every stored evidence file and compare it with what was recorded at intake.

Each file item is read again from the store (in chunks) and its SHA-256, SHA-512 and size are
compared with the item's row; a file that is gone is reported as missing. External artefacts are
listed as not verifiable here (they live at their location). `check` is a pure comparison.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.evidence.models import EvidenceItem
from tocsin.evidence.store import Rehash, Store
from tocsin.evidence.types import ItemKind
from tocsin.incidents.models import Incident


class Outcome(StrEnum):
    ok = "ok"
    mismatch = "mismatch"
    missing = "missing"
    external = "external"  # not verifiable locally


@dataclass(frozen=True)
class Finding:
    incident: str  # INC-42
    label: str  # E-3
    name: str
    outcome: Outcome
    reason: str

    @property
    def failed(self) -> bool:
        return self.outcome in (Outcome.mismatch, Outcome.missing)


def check(*, sha256: str, sha512: str | None, size: int | None, found: Rehash) -> tuple[Outcome, str]:
    """Compare one item's recorded hashes and size with what re-reading its file found."""
    if found.found is None:
        return Outcome.missing, "the stored file is missing"
    got = found.found
    wrong = [what for what, recorded, now in (("SHA-256", sha256, got.sha256), ("SHA-512", sha512, got.sha512))
             if recorded is not None and recorded != now]
    if size is not None and size != got.size:
        wrong.append(f"size ({got.size} bytes, recorded {size})")
    if wrong:
        return Outcome.mismatch, f"{', '.join(wrong)} differ: now SHA-256 {got.sha256}"
    return Outcome.ok, f"SHA-256 {sha256}, {got.size} bytes"


def verify(session: Session, store: Store) -> Iterator[Finding]:
    """One finding per evidence item, in incident and item order (files re-hashed once per content)."""
    rows = session.execute(sa.select(EvidenceItem, Incident.number).join(Incident, Incident.id == EvidenceItem.incident_id)
                           .order_by(Incident.number, EvidenceItem.number))
    seen: dict[str, Rehash] = {}
    for item, number in rows:
        where, label = f"INC-{number}", f"E-{item.number}"
        if item.kind != ItemKind.file.value or item.sha256 is None:
            yield Finding(where, label, item.name, Outcome.external,
                          f"not verifiable locally: kept at {item.location}")
            continue
        if item.sha256 not in seen:
            seen[item.sha256] = store.rehash(item.sha256)
        outcome, reason = check(sha256=item.sha256, sha512=item.sha512, size=item.size, found=seen[item.sha256])
        yield Finding(where, label, item.name, outcome, reason)
