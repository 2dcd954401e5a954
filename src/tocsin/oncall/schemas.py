"""API shapes for on-call schedules, their layers and overrides, and who is on call."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from tocsin.oncall.resolve import MAX_SHIFT_HOURS
from tocsin.schemas import Name, Out, PatchIn, Slug, StrictIn, UTCInput

RotationKind = Literal["daily", "weekly", "custom"]
TimeZone = Annotated[str, Field(min_length=1, max_length=64, description="IANA name such as Europe/Berlin")]
UserKey = Annotated[str, Field(min_length=1, max_length=320, description="User email or id")]
ClockTime = Annotated[str, Field(min_length=1, max_length=5, description="Local wall-clock time, HH:MM",
                                 examples=["09:00", "17:30"])]
Description = Annotated[str, Field(max_length=10_000)]
MAX_LAYERS = 20
MAX_MEMBERS = 200
MAX_RESTRICTIONS = 50


class UserRef(Out):
    id: uuid.UUID
    name: str
    email: str


# --- restrictions and layers -------------------------------------------------------------------

class RestrictionIn(StrictIn):
    days: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        min_length=1, max_length=7, description="ISO weekdays the window starts on: 1 = Monday ... 7 = Sunday")
    start: ClockTime
    end: ClockTime = Field(description="An end at or before the start crosses midnight into the next day")


class RestrictionOut(Out):
    days: list[int]
    start: str
    end: str


class LayerIn(StrictIn):
    name: Name
    kind: RotationKind = Field(description="daily and weekly hand off at the start's local time of day; "
                                           "custom shifts last shift_hours")
    timezone: TimeZone = Field(description="The rotation's time zone: handoffs keep their local time across DST")
    start: UTCInput = Field(description="The first handoff (to the first member)")
    shift_hours: int = Field(24, ge=1, le=MAX_SHIFT_HOURS, description="Shift length of a custom rotation")
    members: list[UserKey] = Field(min_length=1, max_length=MAX_MEMBERS,
                                   description="Who takes turns, in order (a user may appear more than once)")
    restrictions: list[RestrictionIn] = Field(
        default_factory=list, max_length=MAX_RESTRICTIONS,
        description="On call only inside these local windows; none: always. Outside them lower layers show through")
    shadow: bool = Field(False, description="A shadow layer: its people get the same pages, marked [shadow], "
                                            "without being on call (escalation and on-call load ignore them)")


class LayerPatch(PatchIn):
    """Omit a field to leave it alone."""

    name: Name | None = Field(None)
    kind: RotationKind | None = Field(None)
    timezone: TimeZone | None = Field(None)
    start: UTCInput | None = Field(None)
    shift_hours: int | None = Field(None, ge=1, le=MAX_SHIFT_HOURS)
    members: list[UserKey] | None = Field(None, min_length=1, max_length=MAX_MEMBERS)
    restrictions: list[RestrictionIn] | None = Field(None, max_length=MAX_RESTRICTIONS)
    shadow: bool | None = Field(None)


class LayerOut(Out):
    id: uuid.UUID
    position: int = Field(description="Where layers overlap, the higher position wins")
    name: str
    kind: str
    timezone: str
    start: datetime
    shift_hours: int
    members: list[UserRef]
    restrictions: list[RestrictionOut]
    shadow: bool = Field(False, description="A shadow layer: paged alongside, marked [shadow], never the responder")
    created_at: datetime


# --- schedules ---------------------------------------------------------------------------------

class ScheduleIn(StrictIn):
    name: Name
    slug: Slug | None = Field(None, description="Default: made from the name")
    description: Description = ""
    timezone: TimeZone = Field("UTC", description="For display; each layer has its rotation's own time zone")
    team: str | None = Field(None, max_length=64, description="Owning team (slug or id)")


class SchedulePatch(PatchIn):
    """Omit a field to leave it alone; `team` accepts null to clear it."""

    clearable: ClassVar[frozenset[str]] = frozenset({"team"})

    name: Name | None = Field(None)
    description: Description | None = Field(None)
    timezone: TimeZone | None = Field(None)
    team: str | None = Field(None, max_length=64)


class ScheduleOut(Out):
    id: uuid.UUID
    name: str
    slug: str
    description: str
    timezone: str
    team_id: uuid.UUID | None
    team: str | None = Field(description="The owning team's slug")
    layers: list[LayerOut] = Field(description="Lowest first; later layers win")
    ical_feed: bool = Field(description="Whether an iCalendar feed token exists (the URL is shown only once)")
    created_at: datetime
    updated_at: datetime


# --- overrides ---------------------------------------------------------------------------------

class OverrideIn(StrictIn):
    user: UserKey | None = Field(None, description="Who takes the shift; default: you. Responders may only "
                                                   "override for themselves")
    starts_at: UTCInput
    ends_at: UTCInput
    replaces: UserKey | None = Field(None, description="Only take this person's shifts; default: whoever is on")


class OverrideOut(Out):
    id: uuid.UUID
    user: UserRef
    replaces: UserRef | None
    starts_at: datetime
    ends_at: datetime
    created_by_id: uuid.UUID | None
    created_at: datetime


# --- resolved ----------------------------------------------------------------------------------

class ShiftOut(Out):
    user: UserRef
    start: datetime
    end: datetime
    source: str = Field(description="The layer's name, or `override`")


class OnCallOut(Out):
    schedule: str = Field(description="The schedule's slug")
    schedule_name: str
    at: datetime
    on_call: ShiftOut | None = Field(description="Null when nobody is on call at `at`")
    shadows: list[UserRef] = Field(default_factory=list,
                                   description="Who shadows at `at` (shadow layers): paged alongside, not responders")


class IcalTokenOut(Out):
    url: str = Field(description="The feed's URL, shown once; the previous URL stops working")
    token: str


# --- shift swaps and my shifts -----------------------------------------------------------------

SwapState = Literal["open", "expired", "accepted", "cancelled"]
Note = Annotated[str, Field(max_length=2000)]


class SwapIn(StrictIn):
    schedule: str = Field(min_length=1, max_length=64, description="The schedule's slug or id")
    starts_at: UTCInput = Field(description="Start of the cover asked for; in the future")
    ends_at: UTCInput = Field(description="End of the cover; at most 31 days after the start, within 90 days")
    note: Note = ""


class OfferIn(StrictIn):
    note: Note = ""


class AcceptIn(StrictIn):
    offer_id: uuid.UUID


class OfferOut(Out):
    id: uuid.UUID
    user: UserRef
    note: str
    created_at: datetime


class SwapOut(Out):
    id: uuid.UUID
    schedule: str = Field(description="The schedule's slug")
    schedule_name: str
    requester: UserRef
    starts_at: datetime
    ends_at: datetime
    note: str
    state: SwapState = Field(description="open; expired (open but its start has passed); accepted; cancelled")
    taker: UserRef | None = Field(description="Who covers it, once accepted")
    override_id: uuid.UUID | None = Field(description="The override an accepted offer made")
    offers: list[OfferOut]
    created_at: datetime
    decided_at: datetime | None


class MyShiftOut(Out):
    schedule: str = Field(description="The schedule's slug")
    schedule_name: str
    start: datetime
    end: datetime
    source: str = Field(description="The layer's name, or `override`")
