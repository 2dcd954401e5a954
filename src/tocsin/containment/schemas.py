"""API shapes for phases, checklists and checklist templates."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from tocsin.containment.types import Phase, StepKind
from tocsin.schemas import Out, PatchIn, StrictIn
from tocsin.users.schemas import UserRef


class CsfOut(BaseModel):
    functions: list[str] = Field(description="CSF 2.0 functions (NIST SP 800-61 Rev. 3) this phase serves")
    categories: list[str]


class PhaseEntryOut(BaseModel):
    phase: Phase
    label: str
    entered_at: datetime
    entered_by: UserRef | None
    csf: CsfOut


class PhaseOut(PhaseEntryOut):
    next: Phase | None = Field(description="The phase the advance button moves to; null after the last")
    history: list[PhaseEntryOut]


class PhaseIn(StrictIn):
    phase: Phase = Field(description="A later phase (phases never move back: 409)")
    note: str = Field("", max_length=2000, description="Why, shown on the timeline")


class StepOut(Out):
    id: uuid.UUID
    position: int
    kind: StepKind
    title: str
    target: str | None
    template_name: str | None
    created_at: datetime
    done_at: datetime | None
    done_by: UserRef | None


class StepDoneOut(StepOut):
    warnings: list[str] = Field(description="Forensics-first warnings this raised (also on the timeline)")


class WarningOut(BaseModel):
    id: uuid.UUID
    text: str
    target: str | None
    recorded_at: datetime


class ChecklistOut(BaseModel):
    items: list[StepOut]
    next_cursor: str | None = None
    warnings: list[WarningOut]


class ChecklistIn(StrictIn):
    template: str | None = Field(None, max_length=120, description="Template id or name; default: the default one")


class StepIn(StrictIn):
    kind: StepKind
    title: str = Field(min_length=1, max_length=300)
    target: str | None = Field(None, max_length=200, description="A host or system name")


class UndoIn(StrictIn):
    reason: str = Field(min_length=1, max_length=2000)


class TemplateStep(StrictIn):
    kind: StepKind
    title: str = Field(min_length=1, max_length=300)
    target: str | None = Field(None, max_length=200)


class TemplateIn(StrictIn):
    name: str = Field(min_length=1, max_length=120)
    steps: list[TemplateStep] = Field(min_length=1, max_length=100)
    is_default: bool = False


class TemplatePatch(PatchIn):
    """Omit a field to keep it; none may be null."""

    name: str | None = Field(None, min_length=1, max_length=120)
    steps: list[TemplateStep] | None = Field(None, min_length=1, max_length=100)
    is_default: bool | None = None


class TemplateStepOut(BaseModel):
    kind: StepKind
    title: str
    target: str | None


class TemplateOut(Out):
    id: uuid.UUID
    name: str
    steps: list[TemplateStepOut]
    is_default: bool
    created_at: datetime
    updated_at: datetime
