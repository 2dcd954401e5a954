"""API shapes for regulatory clocks, exposure, regimes and obligations."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from tocsin.schemas import StrictIn, UTCInput


class ClockIn(StrictIn):
    at: UTCInput = Field(description="When it happened (aware; not in the future)")
    reason: str = Field(min_length=1, max_length=2000, description="Why this time: who learnt what, from where")


class ClockOut(BaseModel):
    clock: str
    at: datetime | None
    reason: str | None
    set_by: str | None
    set_at: datetime | None


class ClocksOut(BaseModel):
    items: list[ClockOut]


class ExposureIn(StrictIn):
    data_categories: list[str] = Field(default_factory=list, max_length=20,
                                       description="personal, health, financial, payment-card, credentials, children")
    regions: list[str] = Field(default_factory=list, max_length=100, description="EU, GB, DE, US, US-NY ...")
    affected_count: int | None = Field(default=None, ge=0, le=10_000_000_000)


class ExposureOut(BaseModel):
    data_categories: list[str]
    regions: list[str]
    affected_count: int | None
    updated_at: datetime | None


class SuggestionOut(BaseModel):
    regime: str
    name: str
    reasons: list[str]


class ChosenOut(BaseModel):
    regime: str
    name: str
    source: str
    note: str
    reason: str
    chosen_at: datetime


class RegimesOut(BaseModel):
    chosen: list[ChosenOut]
    suggested: list[SuggestionOut]


class RegimeIn(StrictIn):
    regime: str = Field(min_length=1, max_length=40)
    reason: str = Field(default="", max_length=2000, description="Why it applies (e.g. the suggestion's reasons)")


class DropIn(StrictIn):
    reason: str = Field(min_length=1, max_length=2000)


class FilingIn(StrictIn):
    reference: str = Field(min_length=1, max_length=300, description="The regulator's case or receipt number")
    filed_at: UTCInput | None = Field(default=None, description="When it was filed; default now")
    evidence_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50,
                                          description="Evidence items of this incident attached to the filing")
    late_reason: str | None = Field(default=None, max_length=2000,
                                    description="Required when filed after the due time")


class NotApplicableIn(StrictIn):
    reason: str = Field(min_length=1, max_length=2000)


class ObligationOut(BaseModel):
    id: uuid.UUID
    incident: str
    regime: str
    regime_name: str
    obligation: str
    name: str
    notify: str
    due_at: datetime | None
    due_reason: str
    countdown: str | None
    state: str = Field(description="waiting, open, due_soon, overdue, filed, filed_late, not_applicable")
    state_reason: str
    filed_at: datetime | None
    filed_reference: str | None
    evidence_ids: list[str]
    late_reason: str | None
    not_applicable: str | None
    source: str
    note: str


class ObligationTermOut(BaseModel):
    start: str
    amount: int
    unit: str
    tz: str | None


class CatalogObligationOut(BaseModel):
    id: str
    name: str
    notify: str
    due: list[ObligationTermOut]
    calendar: str
    min_affected: int | None
    note: str


class CatalogRegimeOut(BaseModel):
    id: str
    name: str
    source: str
    note: str
    enabled: bool
    obligations: list[CatalogObligationOut]
