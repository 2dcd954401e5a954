"""API shapes of indicators, affected assets and the search across incidents."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import Field

from tocsin.indicators.types import AssetKind, ContainmentState, IndicatorType, Tlp
from tocsin.schemas import Out, PatchIn, StrictIn, UTCInput

Source = Annotated[str, Field(max_length=200, description="Where it came from: a tool, a feed, a person")]
Notes = Annotated[str, Field(max_length=20_000)]
EVIDENCE = "An evidence locker item's id; it must be evidence of the same incident"


class IndicatorIn(StrictIn):
    type: IndicatorType
    value: str = Field(min_length=1, max_length=2000,
                       description="Checked and stored in one spelling per type (defanged [.] and hxxp accepted)")
    tlp: Tlp = Field(Tlp.amber, description="TLP 2.0 marking")
    first_seen: UTCInput | None = None
    last_seen: UTCInput | None = None
    source: Source = ""
    evidence_id: uuid.UUID | None = Field(None, description=EVIDENCE)
    notes: Notes = ""


class IndicatorPatch(PatchIn):
    """Omit a field to leave it alone; first_seen, last_seen and evidence_id accept null to clear them.
    The type and value do not change: delete the indicator and add the right one."""

    clearable: ClassVar[frozenset[str]] = frozenset({"first_seen", "last_seen", "evidence_id"})

    tlp: Tlp | None = None
    first_seen: UTCInput | None = None
    last_seen: UTCInput | None = None
    source: Source | None = None
    evidence_id: uuid.UUID | None = None
    notes: Notes | None = None


class IndicatorOut(Out):
    id: uuid.UUID
    incident: str = Field(description="The incident's ref (INC-42)")
    type: IndicatorType
    value: str
    tlp: Tlp
    first_seen: datetime | None
    last_seen: datetime | None
    source: str
    evidence_id: uuid.UUID | None
    notes: str
    created_at: datetime
    updated_at: datetime
    also_seen_in: list[str] = Field(description="Other incidents you may see with the same indicator (refs)")


class AssetIn(StrictIn):
    kind: AssetKind
    name: str = Field(min_length=1, max_length=300)
    state: ContainmentState = ContainmentState.suspected
    tlp: Tlp = Tlp.amber
    first_seen: UTCInput | None = None
    last_seen: UTCInput | None = None
    source: Source = ""
    evidence_id: uuid.UUID | None = Field(None, description=EVIDENCE)
    notes: Notes = ""


class AssetPatch(PatchIn):
    """Omit a field to leave it alone; a state change goes on the timeline and into the audit log."""

    clearable: ClassVar[frozenset[str]] = frozenset({"first_seen", "last_seen", "evidence_id"})

    state: ContainmentState | None = None
    tlp: Tlp | None = None
    first_seen: UTCInput | None = None
    last_seen: UTCInput | None = None
    source: Source | None = None
    evidence_id: uuid.UUID | None = None
    notes: Notes | None = None


class AssetOut(Out):
    id: uuid.UUID
    incident: str
    kind: AssetKind
    name: str
    state: ContainmentState
    tlp: Tlp
    first_seen: datetime | None
    last_seen: datetime | None
    source: str
    evidence_id: uuid.UUID | None
    notes: str
    created_at: datetime
    updated_at: datetime


class SightingOut(Out):
    """One incident an indicator appeared in (only incidents the caller may see are listed)."""

    incident: str
    incident_title: str
    indicator_id: uuid.UUID
    type: IndicatorType
    value: str
    tlp: Tlp
    first_seen: datetime | None
    last_seen: datetime | None
    created_at: datetime
