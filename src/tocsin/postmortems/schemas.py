"""API shapes for postmortems, their revisions, comments and templates."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from tocsin.postmortems.service import Status
from tocsin.schemas import Out, PatchIn, StrictIn, UTCInput
from tocsin.users.schemas import UserRef

MAX_TEXT = 200_000


class PostmortemStart(StrictIn):
    template_id: uuid.UUID | None = Field(None, description="Template to draft from; default: the default template")
    title: str | None = Field(None, min_length=1, max_length=300, description="Default: “Postmortem: <incident title>”")


class PostmortemPatch(PatchIn):
    """Omit a field to leave it alone; only `review_meeting_at` may be cleared with null."""

    clearable: ClassVar[frozenset[str]] = frozenset({"review_meeting_at"})

    title: str | None = Field(None, min_length=1, max_length=300)
    body: str | None = Field(None, max_length=MAX_TEXT, description="The internal Markdown; a change makes a new revision")
    public_text: str | None = Field(None, max_length=MAX_TEXT, description="The customer-facing version (Markdown)")
    status: Status | None = Field(None, description="draft → in_review → published; published → draft to amend")
    review_meeting_at: UTCInput | None = None
    reviewers: list[str] | None = Field(None, max_length=50, description="User ids or emails; replaces the reviewer list")
    base_revision: int | None = Field(None, ge=1, le=2**31 - 1,
                               description="The revision your edit starts from; 409 if the postmortem moved on")


class FindingOut(Out):
    sentence: str
    phrase: str
    suggestion: str
    section: str | None


class IncidentBrief(Out):
    id: uuid.UUID
    ref: str
    title: str
    severity: str
    status: str


class ReviewerOut(Out):
    user: UserRef
    added_at: datetime
    approved_at: datetime | None


class PostmortemSummaryOut(Out):
    id: uuid.UUID
    incident: IncidentBrief
    title: str
    status: Status
    revision: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class PostmortemOut(PostmortemSummaryOut):
    template_id: uuid.UUID | None
    body: str
    public_text: str
    review_meeting_at: datetime | None
    reviewers: list[ReviewerOut]
    created_by: UserRef | None
    in_review_at: datetime | None
    published_by: UserRef | None
    language_findings: list[FindingOut] = Field(description="Blameless-language findings in `body` (never blocking)")
    public_language_findings: list[FindingOut] = Field(description="The same check on `public_text`")


class PostmortemRevisionOut(Out):
    revision: int
    body: str
    edited_by: UserRef | None
    edited_at: datetime


class CommentIn(StrictIn):
    text: str = Field(min_length=1, max_length=20_000)
    section: str | None = Field(None, min_length=1, max_length=64, description="Section key or heading")


class CommentOut(Out):
    id: uuid.UUID
    author: UserRef | None
    section: str | None
    text: str
    created_at: datetime


class SectionIn(StrictIn):
    key: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]{0,63}$")
    title: str = Field(min_length=1, max_length=200)
    prompt: str = Field("", max_length=2000)


class TemplateIn(StrictIn):
    name: str = Field(min_length=1, max_length=200)
    sections: list[SectionIn] = Field(min_length=1, max_length=40)
    is_default: bool = False


class TemplatePatch(PatchIn):

    name: str | None = Field(None, min_length=1, max_length=200)
    sections: list[SectionIn] | None = Field(None, min_length=1, max_length=40)
    is_default: bool | None = Field(None)


class SectionOut(Out):
    key: str
    title: str
    prompt: str


class TemplateOut(Out):
    id: uuid.UUID
    name: str
    sections: list[SectionOut]
    is_default: bool
    created_at: datetime
    updated_at: datetime
