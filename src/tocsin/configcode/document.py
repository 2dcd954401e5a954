"""The configuration document (docs/config-as-code.md): one pydantic model per section, which is both
the validator and the source of the JSON Schema editors use (`schema.json`), and the merge of several
files into one `Document` (a key declared twice is an error naming both files).

A field left out takes its default: a document says what the object is, not what to change.
The two exceptions are a user's `contact_methods` and `notification_rules`, which apply leaves
alone when they are left out (people manage their own and verify them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from tocsin.errors import InvalidInput
from tocsin.integrations.service import IntegrationType
from tocsin.schemas import check_strings

Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Email = Annotated[str, Field(min_length=3, max_length=320)]
TimeZone = Annotated[str, Field(min_length=1, max_length=64, description="IANA name such as Europe/Berlin")]
SourceId = Annotated[str | None, Field(None, max_length=500, description=(
    "The object's id in the system it came from (e.g. opsgenie:schedule:4f1c...); apply finds the object by "
    "it first, so a renamed source object is updated, not duplicated"))]
Description = Annotated[str, Field(max_length=10_000)]


def _sexagesimal(value: Any) -> Any:
    """YAML 1.1 reads an unquoted 17:30 as the number 1050 (17 * 60 + 30): read it back as 17:30."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return f"{value // 60:02d}:{value % 60:02d}"
    return value


ClockTime = Annotated[str, BeforeValidator(_sexagesimal),
                      Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Local time of day, HH:MM")]
Matcher = Annotated[str | dict[str, Any], Field(description=(
    'name=value, name!=value, name=~"regex" or name!~"regex", or {name, op, value}'))]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- users -------------------------------------------------------------------------------------

class ContactMethodDoc(Section):
    type: Literal["email", "sms", "voice", "webhook", "slack", "mattermost", "teams", "apprise"]
    address: Annotated[str, Field(min_length=1, max_length=1000)]
    label: Annotated[str, Field(max_length=200)] = ""


class NotificationRuleDoc(Section):
    contact: Annotated[str, Field(min_length=1, max_length=200, description=(
        "A contact method of this user, by its label, or by its type (the first method of that type)"))]
    delay_minutes: Annotated[int, Field(ge=0, le=1440)] = 0
    urgency: Literal["any", "high", "low"] = "any"


class UserDoc(Section):
    email: Email
    name: Name
    role: Literal["admin", "responder", "viewer"] = "responder"
    time_zone: TimeZone = "UTC"
    contact_methods: list[ContactMethodDoc] | None = Field(None, max_length=20, description=(
        "Added unverified; the person verifies. Left out: the user's methods are left alone"))
    notification_rules: list[NotificationRuleDoc] | None = Field(None, max_length=30, description=(
        "A rule on an unverified method waits (apply says so) until the method is verified"))
    source_id: SourceId = None


# --- teams -------------------------------------------------------------------------------------

class TeamDoc(Section):
    slug: Slug
    name: Name
    description: Description = ""
    security: bool = False
    members: list[Email] = Field(default_factory=list, max_length=1000)
    source_id: SourceId = None


# --- schedules ---------------------------------------------------------------------------------

class RestrictionDoc(Section):
    days: list[Annotated[int, Field(ge=1, le=7)]] = Field(min_length=1, max_length=7,
                                                          description="ISO weekdays, 1 = Monday")
    start: ClockTime
    end: ClockTime


class LayerDoc(Section):
    name: Name
    rotation: Literal["daily", "weekly", "custom"]
    shift_hours: Annotated[int, Field(ge=1, le=24 * 366)] = 24
    time_zone: TimeZone = "UTC"
    start: AwareDatetime = Field(description="The first hand-over, aware ISO 8601")
    members: list[Email] = Field(min_length=1, max_length=200)
    restrictions: list[RestrictionDoc] = Field(default_factory=list, max_length=50)
    shadow: bool = False


class OverrideDoc(Section):
    user: Email
    replaces: Email | None = None
    start: AwareDatetime
    end: AwareDatetime


class ScheduleDoc(Section):
    slug: Slug
    name: Name
    description: Description = ""
    time_zone: TimeZone = "UTC"
    team: Slug | None = None
    layers: list[LayerDoc] = Field(default_factory=list, max_length=20)
    overrides: list[OverrideDoc] = Field(default_factory=list, max_length=500)
    source_id: SourceId = None


# --- escalation policies -----------------------------------------------------------------------

class TargetDoc(Section):
    schedule: Slug | None = None
    user: Email | None = None
    team: Slug | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TargetDoc:
        if sum(v is not None for v in (self.schedule, self.user, self.team)) != 1:
            raise ValueError("a target names exactly one of schedule, user or team")
        return self

    def kind_key(self) -> tuple[str, str]:
        if self.schedule is not None:
            return "schedule", self.schedule
        if self.user is not None:
            return "user", self.user.strip().lower()
        return "team", str(self.team)


class LevelDoc(Section):
    delay_minutes: Annotated[int, Field(ge=1, le=1440)]
    targets: list[TargetDoc] = Field(min_length=1, max_length=20)


class PolicyDoc(Section):
    slug: Slug
    name: Name
    description: Description = ""
    repeat: Annotated[int, Field(ge=0, le=9)] = 0
    levels: list[LevelDoc] = Field(min_length=1, max_length=20)
    source_id: SourceId = None


# --- services ----------------------------------------------------------------------------------

class IntegrationDoc(Section):
    name: Name
    type: IntegrationType
    config: dict[str, Any] = Field(default_factory=dict, description=(
        "generic: {mapping}; grafana: {hmac, timestamp_header}; others: none"))
    source_id: SourceId = None


class ServiceDoc(Section):
    slug: Slug
    name: Name
    description: Description = ""
    team: Slug | None = None
    tier: Annotated[int, Field(ge=1, le=4)] = 3
    escalation_policy: Slug | None = None
    runbook_url: Annotated[str, Field(max_length=2048)] | None = None
    depends_on: list[Slug] = Field(default_factory=list, max_length=200)
    alert_settings: dict[str, Any] | None = None
    paging_unit: Literal["alert", "group"] = "group"
    integrations: list[IntegrationDoc] = Field(default_factory=list, max_length=100)
    source_id: SourceId = None


class WindowDoc(Section):
    service: Slug
    name: Name
    start: AwareDatetime
    end: AwareDatetime
    recurrence: Literal["none", "daily", "weekly"] = "none"
    time_zone: TimeZone = "UTC"
    until: AwareDatetime | None = None
    reason: Description = ""
    source_id: SourceId = None


# --- alert rules -------------------------------------------------------------------------------

class SilenceDoc(Section):
    matchers: list[Matcher] = Field(min_length=1, max_length=50)
    start: AwareDatetime | None = Field(None, description="Default: now")
    end: AwareDatetime
    reason: Annotated[str, Field(min_length=1, max_length=10_000)]
    source_id: SourceId = None


class RoutingRuleDoc(Section):
    name: Name
    matchers: list[Matcher] = Field(min_length=1, max_length=50)
    service: Slug | None = None
    urgency: Literal["high", "low"] | None = None
    source_id: SourceId = None


class AutoIncidentRuleDoc(Section):
    name: Name
    matchers: list[Matcher] = Field(min_length=1, max_length=50)
    incident_severity: Annotated[str, Field(min_length=1, max_length=16, description="e.g. sev1 .. sev4")]
    incident_kind: Annotated[str, Field(min_length=1, max_length=16)] = "operational"
    source_id: SourceId = None


# --- status pages, runbooks, comms templates ---------------------------------------------------

class ComponentDoc(Section):
    name: Name
    description: Description = ""
    service: Slug | None = Field(None, description="Linked service: the component follows its alerts")
    check: Name | None = Field(None, description="Linked synthetic check, by its name (unique among checks)")
    only_show_if_degraded: bool = False
    components: list[ComponentDoc] | None = Field(None, max_length=200, description=(
        "Present (even empty): this is a group of these components (groups are not nested)"))


class StatusPageDoc(Section):
    slug: Slug
    name: Name
    description: Description = ""
    logo_url: Annotated[str, Field(max_length=2000)] | None = None
    public_url: Annotated[str, Field(max_length=2000)] | None = None
    time_zone: TimeZone = "UTC"
    components: list[ComponentDoc] = Field(default_factory=list, max_length=200, description="In display order")
    source_id: SourceId = None


class RunbookDoc(Section):
    slug: Slug
    title: Name
    team: Slug | None = None
    body_md: Annotated[str, Field(max_length=100_000, description=(
        "Markdown; its top-level ordered list items are the steps"))] = ""
    services: list[Slug] = Field(default_factory=list, max_length=100)
    matchers: list[Matcher] = Field(default_factory=list, max_length=32)
    source_id: SourceId = None


class CommsTemplateDoc(Section):
    slug: Slug
    name: Annotated[str, Field(min_length=1, max_length=120)]
    channel: Literal["internal", "status_page", "customer_email"]
    severities: list[Annotated[str, Field(max_length=16)]] = Field(default_factory=list, max_length=8, description=(
        "Offered for these incident severities (SEV1..SEV4); empty: all"))
    kind: Literal["operational", "security", "any"] = "any"
    subject: Annotated[str, Field(min_length=1, max_length=300)]
    body: Annotated[str, Field(min_length=1, max_length=100_000)]
    source_id: SourceId = None


class DocumentModel(Section):
    """One file: `version: 1` and any of the sections."""

    model_config = ConfigDict(extra="forbid", title="tocsin configuration (docs/config-as-code.md)")

    version: Literal[1]
    users: list[UserDoc] | None = None
    teams: list[TeamDoc] | None = None
    schedules: list[ScheduleDoc] | None = None
    escalation_policies: list[PolicyDoc] | None = None
    services: list[ServiceDoc] | None = None
    maintenance_windows: list[WindowDoc] | None = None
    silences: list[SilenceDoc] | None = None
    routing_rules: list[RoutingRuleDoc] | None = Field(None, description="In order: the first match wins")
    auto_incident_rules: list[AutoIncidentRuleDoc] | None = Field(None, description="In order")
    status_pages: list[StatusPageDoc] | None = None
    runbooks: list[RunbookDoc] | None = None
    comms_templates: list[CommsTemplateDoc] | None = None


SECTIONS = ("users", "teams", "schedules", "escalation_policies", "services", "maintenance_windows",
            "silences", "routing_rules", "auto_incident_rules", "status_pages", "runbooks", "comms_templates")


def key_of(section: str, obj: BaseModel) -> str:
    """The stable key an object is known by (docs/config-as-code.md)."""
    o: Any = obj
    if section == "users":
        return str(o.email).strip().lower()
    if section == "maintenance_windows":
        return f"{o.service}/{o.name}"
    if section == "silences":
        return f"{sorted(str(m) for m in o.matchers)}|{o.reason}"
    if section in ("routing_rules", "auto_incident_rules"):
        return str(o.name)
    return str(o.slug)


@dataclass
class Item:
    """One object of a section, with where it came from (for error messages)."""

    obj: Any
    where: str  # "file.yaml: schedules[2]"


@dataclass
class Document:
    """Every file merged: per section, the objects in file order (None: no file has the section)."""

    sections: dict[str, list[Item] | None] = field(default_factory=dict)

    def items(self, section: str) -> list[Item]:
        return self.sections.get(section) or []

    def present(self, section: str) -> bool:
        return self.sections.get(section) is not None


def _loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


MAX_VALUES = 1_000_000  # values in all documents together, aliases counted each time they are used
MAX_DEPTH = 40


def check_plain(docs: Sequence[Any], names: Sequence[str]) -> None:
    """Refuse what the models below never see but would choke on or blow up: more than MAX_VALUES
    values (a YAML alias bomb expands to billions when walked or sent as JSON), nesting deeper than
    MAX_DEPTH, strings no database can store (NUL, lone surrogates) and values JSON cannot carry
    (YAML's !!binary, !!set). Raise InvalidInput naming the document and the place."""
    budget = MAX_VALUES

    def walk(value: Any, name: str, where: str, depth: int) -> None:
        nonlocal budget
        budget -= 1
        if budget < 0:
            raise InvalidInput(f"{name}: more than {MAX_VALUES} values (an alias repeated too often?)",
                               details={"file": name})
        if depth > MAX_DEPTH:
            raise InvalidInput(f"{name}: {where or 'document'}: nested deeper than {MAX_DEPTH} levels",
                               details={"file": name, "field": where})
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):  # YAML reads `on:` as true and `2026-01-01:` as a date
                    raise InvalidInput(f"{name}: {where or 'document'}: the key {key!r} is not text (quote it)",
                                       details={"file": name, "field": where})
                walk(key, name, where, depth + 1)
                walk(item, name, f"{where}.{key}" if where else key, depth + 1)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, name, f"{where}[{i}]", depth + 1)
        elif isinstance(value, str):
            try:
                check_strings(value)
            except ValueError as exc:
                raise InvalidInput(f"{name}: {where or 'document'}: {exc}",
                                   details={"file": name, "field": where}) from None
        elif value is not None and not isinstance(value, bool | int | float | date):
            raise InvalidInput(f"{name}: {where or 'document'}: a {type(value).__name__} is not a plain YAML value",
                               details={"file": name, "field": where})

    for doc, name in zip(docs, names, strict=True):
        walk(doc, name, "", 0)


def parse(docs: Sequence[dict[str, Any]], names: Sequence[str] | None = None) -> Document:
    """Validate each document and merge them; raise InvalidInput naming the file and the field."""
    names = list(names or [f"document {i + 1}" for i in range(len(docs))])
    check_plain(docs, names)
    merged = Document()
    seen: dict[tuple[str, str], str] = {}
    sources: dict[tuple[str, str], str] = {}
    for doc, name in zip(docs, names, strict=True):
        if not isinstance(doc, dict):
            raise InvalidInput(f"{name}: a document is a mapping with `version: 1` and sections")
        try:
            model = DocumentModel.model_validate(doc)
        except ValidationError as exc:
            err = exc.errors()[0]
            more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            raise InvalidInput(f"{name}: {_loc(err['loc']) or 'document'}: {err['msg']}{more}",
                               details={"file": name, "field": _loc(err["loc"])}) from None
        for section in SECTIONS:
            objs = getattr(model, section)
            if objs is None:
                continue
            bucket = merged.sections.get(section) or []
            merged.sections[section] = bucket
            for i, obj in enumerate(objs):
                where = f"{name}: {section}[{i}]"
                key = key_of(section, obj)
                if (section, key) in seen:
                    raise InvalidInput(f"{section} {key!r} is declared twice: {seen[(section, key)]} and {where}",
                                       details={"file": name, "field": f"{section}[{i}]"})
                seen[(section, key)] = where
                source_id = getattr(obj, "source_id", None)
                if source_id:  # apply finds an object by it first: two would rewrite one object twice
                    if (section, source_id) in sources:
                        raise InvalidInput(f"{section}: source_id {source_id!r} is declared twice: "
                                           f"{sources[(section, source_id)]} and {where}",
                                           details={"file": name, "field": f"{section}[{i}].source_id"})
                    sources[(section, source_id)] = where
                bucket.append(Item(obj, where))
    return merged


def load_paths(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The YAML documents of a file, or of every *.yaml / *.yml file under a directory (sorted), with
    a name for each (the file, and the document's number when a file holds several)."""
    files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()) \
        if path.is_dir() else [path]
    if not files:
        raise InvalidInput(f"{path}: no .yaml or .yml files")
    docs: list[dict[str, Any]] = []
    names: list[str] = []
    for f in files:
        try:
            loaded = [d for d in yaml.safe_load_all(f.read_text(encoding="utf-8")) if d is not None]
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"{f}: cannot read: {exc}") from None
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{f}: not YAML: {str(exc).splitlines()[0]}") from None
        except RecursionError:
            raise InvalidInput(f"{f}: not YAML this program can read: nested too deeply") from None
        for i, d in enumerate(loaded):
            docs.append(d)
            names.append(str(f) if len(loaded) == 1 else f"{f} (document {i + 1})")
    check_plain(docs, names)  # before anything walks them (lint, or apply --url sending them as JSON)
    return docs, names


def json_schema() -> dict[str, Any]:
    schema = DocumentModel.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def sections_in(items: Iterable[str]) -> list[str]:
    return [s for s in SECTIONS if s in set(items)]
