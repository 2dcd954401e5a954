"""Shared pydantic building blocks for API schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError


def check_strings(value: Any) -> Any:
    """Refuse strings (also inside lists) that no database can store: with NUL, which PostgreSQL
    text cannot hold, or with lone surrogates ("\\ud800"), which are not Unicode and cannot be encoded."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL (\\u0000) characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode (no lone surrogates such as \\ud800)") from None
    elif isinstance(value, list):
        for item in value:
            check_strings(item)
    return value


class StrictIn(BaseModel):
    """Input models refuse unknown fields, so a typo is an error, not silently ignored, and
    strings a database cannot store (see `check_strings`) rather than failing on the insert."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable_strings(cls, value: Any) -> Any:
        return check_strings(value)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-14:00 is after datetime.max in UTC
        raise ValueError("the time is out of range once converted to UTC") from None


UTCInput = Annotated[AwareDatetime, AfterValidator(_to_utc)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")]
Limit = Annotated[int, Field(ge=1, le=500)]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null on the last page")


def _patch_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """The documented shape of a patch: a field that may not be null is shown as its type alone,
    with no default (omitting it is what leaves it alone)."""
    clearable: frozenset[str] = getattr(model, "clearable", frozenset())
    for name, prop in schema.get("properties", {}).items():
        if name in clearable:
            continue
        if prop.get("default", ...) is None:
            del prop["default"]
        options = prop.get("anyOf")
        if options and {"type": "null"} in options:
            rest = [o for o in options if o != {"type": "null"}]
            del prop["anyOf"]
            if len(rest) == 1:
                prop.update(rest[0])
            else:
                prop["anyOf"] = rest


class PatchIn(StrictIn):
    """A partial update: a field left out keeps its value. Fields are typed `X | None` because a
    field left out reads as None; an explicit null is refused unless the field is named in
    `clearable` (where null clears it). Services read a patch with `model_dump(exclude_unset=True)`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_patch_schema)
    clearable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_clearable(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.clearable:
            raise PydanticCustomError("not_null", "may not be null: leave the field out to keep its value")
        return value
