"""The regimes catalogue: notification rules as data, loaded from the shipped `regimes.yaml` and
the operator's own files, validated at load with errors that name the file and the field.

An operator's regimes file (`TOCSIN_REGIMES_FILE`) has the shipped file's shape: a regime with a
shipped id replaces it whole, a new id adds one; `enable:` / `disable:` switch regimes by id
(CIRCIA ships disabled); `calendars:` add or replace calendars. `TOCSIN_HOLIDAYS_FILE` maps a
calendar name to holiday dates, added to that calendar.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tocsin.localtime import zone
from tocsin.obligations.deadlines import Calendar, Term, Unit

CLOCKS = ("aware_at", "discovered_at", "classified_at", "materiality_determined_at", "ransom_paid_at")
DATA_CATEGORIES = ("personal", "health", "financial", "payment-card", "credentials", "children")
REGION = re.compile(r"^(EU|[A-Z]{2}(-[A-Z0-9]{1,3})?)$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_FILE_BYTES = 1_048_576


class CatalogError(ValueError):
    """A regimes or holidays file that cannot be used; the message names the file and the field."""


def _check_slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError("an id is lower-case letters, digits, - and _ (at most 40)")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TermSpec(_Strict):
    """`from`: a clock, or `filed:<obligation id>` of the same regime."""

    start: str = Field(alias="from")
    amount: int = Field(default=0, ge=0, le=10_000)
    unit: Unit
    tz: str | None = None

    @field_validator("tz")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            zone(value)  # ValueError names the zone
        return value

    @model_validator(mode="after")
    def _amount(self) -> TermSpec:
        if self.unit is not Unit.without_undue_delay and self.amount == 0:
            raise ValueError(f"a deadline in {self.unit.value} needs an amount above 0")
        if self.unit is Unit.business_days and self.amount > 1000:
            raise ValueError("at most 1000 business days")
        return self

    def term(self) -> Term:
        return Term(start=self.start, amount=self.amount, unit=self.unit, tz=self.tz)


class ObligationSpec(_Strict):
    id: str
    name: str = Field(min_length=1, max_length=120)
    notify: str = Field(min_length=1, max_length=300)
    due: list[TermSpec] = Field(min_length=1, max_length=5)
    calendar: str = "default"
    min_affected: int | None = Field(default=None, ge=1)
    note: str = ""

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        return _check_slug(value)


class AppliesSpec(_Strict):
    """When the regime is suggested: any of `regions`, and any of `data` (empty: any), at least
    `min_affected` people when given."""

    regions: list[str] = Field(default_factory=list)
    data: list[str] = Field(default_factory=list)
    min_affected: int | None = Field(default=None, ge=1)

    @field_validator("regions")
    @classmethod
    def _regions(cls, values: list[str]) -> list[str]:
        for v in values:
            if not REGION.match(v):
                raise ValueError(f"region {v!r}: use EU, a country code (DE) or a subdivision (US-NY)")
        return values

    @field_validator("data")
    @classmethod
    def _data(cls, values: list[str]) -> list[str]:
        for v in values:
            if v not in DATA_CATEGORIES:
                raise ValueError(f"data category {v!r} is not one of {', '.join(DATA_CATEGORIES)}")
        return values


class RegimeSpec(_Strict):
    id: str
    name: str = Field(min_length=1, max_length=120)
    source: str = Field(min_length=1, max_length=500)
    note: str = "Verify with counsel: rules change and national transpositions vary."
    enabled: bool = True
    applies: AppliesSpec = Field(default_factory=AppliesSpec)
    obligations: list[ObligationSpec] = Field(min_length=1, max_length=20)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        return _check_slug(value)

    @model_validator(mode="after")
    def _starts(self) -> RegimeSpec:
        ids = [o.id for o in self.obligations]
        if len(set(ids)) != len(ids):
            raise ValueError("obligation ids must be unique within a regime")
        for o in self.obligations:
            for t in o.due:
                if t.start.startswith("filed:"):
                    if t.start.removeprefix("filed:") not in ids or t.start == f"filed:{o.id}":
                        raise ValueError(f"obligation {o.id}: 'from: {t.start}' names no other obligation "
                                         f"of this regime ({', '.join(ids)})")
                elif t.start not in CLOCKS:
                    raise ValueError(f"obligation {o.id}: 'from: {t.start}' is not a clock ({', '.join(CLOCKS)}) "
                                     "nor filed:<obligation>")
        return self


class CalendarSpec(_Strict):
    weekend: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(default=["sat", "sun"],
                                                                                 max_length=6)
    holidays: list[date] = Field(default_factory=list)


class FileSpec(_Strict):
    version: Literal[1] = 1
    calendars: dict[str, CalendarSpec] = Field(default_factory=dict)
    regimes: list[RegimeSpec] = Field(default_factory=list)
    enable: list[str] = Field(default_factory=list)
    disable: list[str] = Field(default_factory=list)


class Catalog:
    """The regimes in force (by id, in file order) and the calendars they count business days on."""

    def __init__(self, regimes: dict[str, RegimeSpec], calendars: dict[str, Calendar]) -> None:
        self.regimes = regimes
        self.calendars = calendars

    def enabled(self) -> list[RegimeSpec]:
        return [r for r in self.regimes.values() if r.enabled]

    def get(self, regime_id: str) -> RegimeSpec | None:
        return self.regimes.get(regime_id)

    def obligation(self, regime_id: str, obligation_id: str) -> ObligationSpec | None:
        regime = self.regimes.get(regime_id)
        return next((o for o in regime.obligations if o.id == obligation_id), None) if regime else None


def _where(loc: tuple[int | str, ...], data: Any) -> str:
    """A readable field path: regimes[3](gdpr).obligations[0](art33).due[0].unit."""
    parts: list[str] = []
    node = data
    for step in loc:
        if isinstance(step, int):
            node = node[step] if isinstance(node, list) and step < len(node) else None
            ident = node.get("id") if isinstance(node, dict) else None
            parts.append(f"[{step}]" + (f"({ident})" if ident else ""))
        else:
            node = node.get(step) if isinstance(node, dict) else None
            parts.append(("." if parts else "") + str(step))
    return "".join(parts) or "(top level)"


def _read(path: Path | str, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path}: not valid YAML: {exc}") from None


def parse(text: str, path: Path | str) -> FileSpec:
    """Validate one regimes file; raise CatalogError naming `path` and each bad field."""
    data = _read(path, text)
    if data is None:
        data = {}
    try:
        return FileSpec.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_where(tuple(e['loc']), data)}: {e['msg']}" for e in exc.errors()[:10]]
        raise CatalogError(f"{path}: " + "; ".join(problems)) from None


def _file_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CatalogError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise CatalogError(f"{path}: not UTF-8 text") from None


def parse_holidays(text: str, path: Path | str) -> dict[str, list[date]]:
    data = _read(path, text)
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping of calendar name to a list of dates (YYYY-MM-DD)")
    out: dict[str, list[date]] = {}
    for name, days in data.items():
        if not isinstance(days, list) or not all(isinstance(d, date) for d in days):
            raise CatalogError(f"{path}: {name}: expected a list of dates such as 2026-12-25")
        out[str(name)] = list(days)
    return out


def build(files: list[FileSpec], holidays: dict[str, list[date]] | None = None) -> Catalog:
    """Merge the shipped file and the operator's (later files win) into a Catalog."""
    regimes: dict[str, RegimeSpec] = {}
    calendars: dict[str, CalendarSpec] = {"default": CalendarSpec()}
    for spec in files:
        calendars.update(spec.calendars)
        for regime in spec.regimes:
            regimes[regime.id] = regime
        for rid, on in [(r, True) for r in spec.enable] + [(r, False) for r in spec.disable]:
            if rid not in regimes:
                raise CatalogError(f"{'enable' if on else 'disable'}: no regime {rid!r} "
                                   f"(known: {', '.join(regimes)})")
            regimes[rid] = regimes[rid].model_copy(update={"enabled": on})
    extra = holidays or {}
    unknown = sorted(set(extra) - set(calendars))
    if unknown:
        raise CatalogError(f"holidays for unknown calendar(s) {', '.join(unknown)} (known: {', '.join(calendars)})")
    for regime in regimes.values():
        for o in regime.obligations:
            if o.calendar not in calendars:
                raise CatalogError(f"regime {regime.id}, obligation {o.id}: unknown calendar {o.calendar!r} "
                                   f"(known: {', '.join(calendars)})")
    built = {name: Calendar(name=name, weekend=frozenset(WEEKDAYS.index(d) for d in c.weekend),
                            holidays=frozenset([*c.holidays, *extra.get(name, [])]))
             for name, c in calendars.items()}
    return Catalog(regimes, built)


def shipped_text() -> str:
    return resources.files("tocsin.obligations").joinpath("regimes.yaml").read_text(encoding="utf-8")


@lru_cache(maxsize=8)
def _load(regimes_file: str | None, holidays_file: str | None, _stamp: tuple[float, float]) -> Catalog:
    files = [parse(shipped_text(), "regimes.yaml (shipped)")]
    if regimes_file:
        files.append(parse(_file_text(Path(regimes_file)), regimes_file))
    holidays = parse_holidays(_file_text(Path(holidays_file)), holidays_file) if holidays_file else None
    return build(files, holidays)


def _mtime(path: Path | None) -> float:
    try:
        return path.stat().st_mtime if path else 0.0
    except OSError:
        return -1.0


def load(regimes_file: Path | None = None, holidays_file: Path | None = None) -> Catalog:
    """The catalogue in force: shipped + the operator's files, re-read when a file changes."""
    return _load(str(regimes_file) if regimes_file else None, str(holidays_file) if holidays_file else None,
                 (_mtime(regimes_file), _mtime(holidays_file)))
