"""Evidence cited by another security record: an indicator's or asset's `evidence_id` and a filing's
`evidence_ids` must name items of the same incident's locker. The indicators and obligations
packages sit beside the evidence package and may not import it, so the edges check here before
they record the reference. The answer is the same whether the id is unknown or belongs to another
(perhaps restricted) incident, so it says nothing about other incidents."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.errors import InvalidInput
from tocsin.evidence.models import EvidenceItem
from tocsin.incidents.models import Incident


def require_own(session: Session, incident: Incident, ids: Iterable[uuid.UUID | None], field: str) -> None:
    """InvalidInput unless every id (None aside) is an evidence item of this incident."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return
    found = set(session.execute(sa.select(EvidenceItem.id).where(
        EvidenceItem.incident_id == incident.id, EvidenceItem.id.in_(wanted))).scalars())
    missing = sorted(str(i) for i in wanted - found)
    if missing:
        raise InvalidInput(f"{field}: {missing[0]} is not evidence of this incident",
                           details={"field": field, "not_found": missing})
