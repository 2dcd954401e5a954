"""API shapes of the evidence locker."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from tocsin.evidence.types import CustodyAction, ItemKind
from tocsin.schemas import Out, StrictIn, UTCInput


class ExternalIn(StrictIn):
    name: str = Field(min_length=1, max_length=300, description="What it is: 'web-7 disk image'")
    location: str = Field(min_length=1, max_length=2000, description="Where it is kept: s3://forensics/web-7.dd")
    sha256: str | None = Field(None, max_length=64, description="As the collector computed it (hex)")
    sha512: str | None = Field(None, max_length=128, description="As the collector computed it (hex)")
    size: int | None = Field(None, ge=0, le=2**63 - 1, description="Bytes, as the collector gives it")
    description: str = Field("", max_length=5000)
    collected_at: UTCInput | None = Field(None, description="When it was collected (default: now)")
    collected_by: str = Field("", max_length=300, description="Who collected it (default: you)")
    collected_where: str = Field("", max_length=500, description="Where it was collected (host, site)")
    reason: str = Field("", max_length=5000, description="Why it was collected")


class CustodyIn(StrictIn):
    action: CustodyAction
    who: str = Field("", max_length=300, description="Who handled it (default: you); for a transfer, who received it")
    occurred_at: UTCInput | None = Field(None, description="When (default: now)")
    location: str = Field("", max_length=500, description="Where")
    reason: str = Field("", max_length=5000, description="Why")


class CustodyOut(Out):
    seq: int
    action: CustodyAction
    who: str
    occurred_at: datetime
    location: str
    reason: str
    recorded_at: datetime
    recorded_by: str


class ItemOut(Out):
    id: uuid.UUID
    label: str
    kind: ItemKind
    name: str
    description: str
    media_type: str
    size: int | None
    sha256: str | None
    sha512: str | None
    location: str
    created_at: datetime
    custody: list[CustodyOut]
