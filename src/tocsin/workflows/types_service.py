"""Incident types: their custom fields (checked definitions, and values checked against them), the
checklist a type opens on declaration, the templates it suggests. The three shipped types (security,
data loss, vendor outage) are written lazily, the first time the types are read while none exist.

`check_fields` is pure: the API's and the console's declare and the room's field editor call it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.containment.templates import find_template
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.incidents import timeline
from tocsin.incidents.models import Incident
from tocsin.incidents.types import Kind, TimelineKind
from tocsin.principal import OrgRole, Principal
from tocsin.slugs import check_slug
from tocsin.workflows.models import IncidentType

FIELD_TYPES = ("text", "number", "choice", "boolean")
MAX_FIELDS = 30
MAX_TEXT = 2000
MAX_CHOICES = 50
MAX_CHECKLIST = 100
MAX_TEMPLATES = 20
MAX_NUMBER = 1e15  # beyond this a number is a typo (and JSON readers lose precision)

DEFAULT_TYPES: tuple[dict[str, Any], ...] = (
    {"slug": "security", "name": "Security", "base_kind": "security",
     "description": "A suspected or confirmed compromise: attackers, malware, leaked credentials.",
     "custom_fields": [
         {"key": "attack_vector", "label": "Attack vector", "type": "choice", "required": False,
          "choices": ["phishing", "credential stuffing", "vulnerability", "insider", "malware", "unknown"]},
         {"key": "data_accessed", "label": "Customer data accessed", "type": "boolean", "required": False,
          "choices": []}],
     "checklist": {"template": "Default containment"}, "templates": []},
    {"slug": "data-loss", "name": "Data loss", "base_kind": "security",
     "description": "Data lost, corrupted, or disclosed to someone who should not have it.",
     "custom_fields": [
         {"key": "records_affected", "label": "Records affected", "type": "number", "required": False,
          "choices": []},
         {"key": "data_category", "label": "Data category", "type": "choice", "required": True,
          "choices": ["personal", "financial", "health", "credentials", "internal", "other"]}],
     "checklist": ["Stop the loss (revoke access, pause the job)", "Snapshot what is left",
                   "List the affected records", "Ask Legal whether to notify"],
     "templates": []},
    {"slug": "vendor-outage", "name": "Vendor outage", "base_kind": "operational",
     "description": "A supplier's service is down or degraded and ours suffers with it.",
     "custom_fields": [
         {"key": "vendor", "label": "Vendor", "type": "text", "required": True, "choices": []},
         {"key": "vendor_ticket", "label": "Vendor ticket", "type": "text", "required": False, "choices": []}],
     "checklist": [], "templates": []},
)


# --- pure: definitions and values ----------------------------------------------------------------

def check_definitions(raw: Any) -> list[dict[str, Any]]:
    """A type's custom field definitions, checked and normalised; InvalidInput names the field's index."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise InvalidInput("custom_fields is a list of {key, label, type, required, choices}",
                           details={"field": "custom_fields"})
    if len(raw) > MAX_FIELDS:
        raise InvalidInput(f"at most {MAX_FIELDS} custom fields", details={"field": "custom_fields"})
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = {"field": "custom_fields", "index": i}
        if not isinstance(item, dict):
            raise InvalidInput(f"custom field {i + 1}: needs a key, a label and a type", details=where)
        key = str(item.get("key") or "").strip()
        if not key or len(key) > 64 or not key.replace("_", "").isalnum() or not key.isascii():
            raise InvalidInput(f"custom field {i + 1}: the key is letters, digits and _ (at most 64)", details=where)
        if key in seen:
            raise InvalidInput(f"custom field {i + 1}: key {key!r} is used twice", details=where)
        seen.add(key)
        label = str(item.get("label") or key).strip()[:120]
        kind = str(item.get("type") or "text")
        if kind not in FIELD_TYPES:
            raise InvalidInput(f"custom field {i + 1}: type {kind[:20]!r} is not one of {', '.join(FIELD_TYPES)}",
                               details=where)
        choices_raw = item.get("choices") or []
        if not isinstance(choices_raw, list):
            raise InvalidInput(f"custom field {i + 1}: choices is a list of words", details=where)
        choices = [str(c).strip()[:120] for c in choices_raw if str(c).strip()]
        if kind == "choice" and not choices:
            raise InvalidInput(f"custom field {i + 1}: a choice field needs choices", details=where)
        if len(choices) > MAX_CHOICES:
            raise InvalidInput(f"custom field {i + 1}: at most {MAX_CHOICES} choices", details=where)
        out.append({"key": key, "label": label, "type": kind, "required": bool(item.get("required")),
                    "choices": choices if kind == "choice" else []})
    return out


def _value(spec: Mapping[str, Any], raw: Any) -> Any:
    label = spec["label"]
    kind = spec["type"]
    if kind == "text":
        text = str(raw).strip()
        if len(text) > MAX_TEXT:
            raise InvalidInput(f"{label}: at most {MAX_TEXT} characters", details={"field": spec["key"]})
        return text
    if kind == "number":
        if isinstance(raw, bool):
            raise InvalidInput(f"{label}: a number, not {raw!r}", details={"field": spec["key"]})
        try:
            number = float(raw) if isinstance(raw, str) else raw
            if not isinstance(number, int | float) or not math.isfinite(number) or abs(number) > MAX_NUMBER:
                raise ValueError
            return int(number) if float(number).is_integer() else float(number)
        except (TypeError, ValueError, OverflowError):
            raise InvalidInput(f"{label}: a number, not {str(raw)[:40]!r}", details={"field": spec["key"]}) from None
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in ("true", "yes", "on", "1"):
            return True
        if word in ("false", "no", "off", "0"):
            return False
        raise InvalidInput(f"{label}: yes or no, not {str(raw)[:40]!r}", details={"field": spec["key"]})
    choice = str(raw).strip()
    if choice not in spec["choices"]:
        raise InvalidInput(f"{label}: one of {', '.join(spec['choices'])}, not {choice[:40]!r}",
                           details={"field": spec["key"]})
    return choice


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def check_fields(definitions: list[dict[str, Any]], values: Mapping[str, Any] | None, *,
                 partial: bool = False) -> dict[str, Any]:
    """The values checked against the type's definitions: unknown keys refused, required ones present
    (unless `partial`: the console's quick declare, where the room asks for them next), each of its
    type (numbers from text, booleans from yes/no); blank optional values left out.
    Raises InvalidInput naming the field (details.field is its key)."""
    values = dict(values or {})
    known = {d["key"]: d for d in definitions}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise InvalidInput(f"unknown custom field {unknown[0][:64]!r}; this type has "
                           f"{', '.join(known) or 'no custom fields'}", details={"field": unknown[0][:64]})
    out: dict[str, Any] = {}
    for spec in definitions:
        raw = values.get(spec["key"])
        if _blank(raw):
            if spec["required"] and not partial:
                raise InvalidInput(f"{spec['label']} is required for this incident type",
                                   details={"field": spec["key"]})
            continue
        out[spec["key"]] = _value(spec, raw)
    return out


def check_checklist(raw: Any) -> list[str] | dict[str, str]:
    """A list of step titles, or {"template": name} of a containment checklist template."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, dict):
        name = str(raw.get("template") or "").strip()
        if not name or set(raw) != {"template"}:
            raise InvalidInput('checklist is a list of step titles or {"template": "<checklist template name>"}',
                               details={"field": "checklist"})
        return {"template": name[:120]}
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise InvalidInput('checklist is a list of step titles or {"template": "<checklist template name>"}',
                           details={"field": "checklist"})
    titles = [t.strip()[:300] for t in raw if t.strip()]
    if len(titles) > MAX_CHECKLIST:
        raise InvalidInput(f"a checklist may have at most {MAX_CHECKLIST} steps", details={"field": "checklist"})
    return titles


def check_templates(raw: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(t, str) for t in raw):
        raise InvalidInput("templates is a list of communication template slugs", details={"field": "templates"})
    slugs = [t.strip() for t in raw if t.strip()]
    if len(slugs) > MAX_TEMPLATES:
        raise InvalidInput(f"at most {MAX_TEMPLATES} templates", details={"field": "templates"})
    for slug in slugs:
        check_slug(slug)
    return slugs


# --- rows ----------------------------------------------------------------------------------------

def ensure_defaults(s: Session, now: datetime) -> None:
    """Write the shipped types when there are none (the first read after install)."""
    if s.execute(sa.select(IncidentType.id).limit(1)).first() is not None:
        return
    try:
        with s.begin_nested():  # two first readers at once: the loser finds the winner's rows
            for spec in DEFAULT_TYPES:
                s.add(IncidentType(**spec, created_at=now, updated_at=now))
            s.flush()
    except sa.exc.IntegrityError:
        pass


def list_types(s: Session, now: datetime) -> list[IncidentType]:
    ensure_defaults(s, now)
    return list(s.execute(sa.select(IncidentType).order_by(IncidentType.name)).scalars())


def choices(s: Session, now: datetime) -> list[tuple[str, str]]:
    """(slug, name) of every type, for the declare dialog."""
    return [(t.slug, t.name) for t in list_types(s, now)]


def find_type(s: Session, slug: str) -> IncidentType | None:
    return s.execute(sa.select(IncidentType).where(IncidentType.slug == slug)).scalar_one_or_none()


def require_type(s: Session, slug: str, now: datetime) -> IncidentType:
    ensure_defaults(s, now)
    found = find_type(s, slug.strip())
    if found is None:
        raise NotFound(f"no incident type {slug[:64]!r}", details={"field": "incident_type"})
    return found


def for_declaration(s: Session, *, incident_type: str | None, custom_fields: Mapping[str, Any] | None,
                    kind: Kind | None, now: datetime, partial: bool = False
                    ) -> tuple[str | None, dict[str, Any] | None, Kind | None]:
    """What a declaration of this type stores: (slug, checked values, kind: the type's base kind when
    the caller gave none). Custom fields without a type are refused; `partial`: see check_fields."""
    if not incident_type:
        if custom_fields:
            raise InvalidInput("custom fields need an incident type", details={"field": "custom_fields"})
        return None, None, kind
    found = require_type(s, incident_type, now)
    values = check_fields(found.custom_fields, custom_fields, partial=partial)
    return found.slug, values, kind if kind is not None else Kind(found.base_kind)


def _checked(s: Session, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data:
        name = str(data["name"] or "").strip()
        if not name or len(name) > 120:
            raise InvalidInput("a type needs a name of at most 120 characters", details={"field": "name"})
        out["name"] = name
    if "base_kind" in data:
        if data["base_kind"] not in Kind.__members__:
            raise InvalidInput(f"base_kind is one of {', '.join(Kind)}", details={"field": "base_kind"})
        out["base_kind"] = str(data["base_kind"])
    if "description" in data:
        out["description"] = str(data["description"] or "")[:4000]
    if "custom_fields" in data:
        out["custom_fields"] = check_definitions(data["custom_fields"])
    if "checklist" in data:
        out["checklist"] = check_checklist(data["checklist"])
        if isinstance(out["checklist"], dict):
            find_template(s, out["checklist"]["template"], now=now)  # NotFound names it
    if "templates" in data:
        out["templates"] = check_templates(data["templates"])
    return out


def create_type(s: Session, *, actor: Principal, now: datetime, data: Mapping[str, Any]) -> IncidentType:
    actor.require(OrgRole.admin, "creating incident types")
    ensure_defaults(s, now)
    slug = check_slug(str(data.get("slug") or "").strip())
    values = _checked(s, {"base_kind": "operational", **data}, now)
    if "name" not in values:
        raise InvalidInput("a type needs a name", details={"field": "name"})
    if find_type(s, slug) is not None:
        raise Conflict(f"incident type {slug!r} exists", details={"field": "slug"})
    row = IncidentType(slug=slug, description="", custom_fields=[], checklist=[], templates=[],
                       created_at=now, updated_at=now)
    for k, v in values.items():
        setattr(row, k, v)
    s.add(row)
    s.flush()
    record(s, actor=actor, action="incident_type.create", target_type="incident_type", target_id=row.id, now=now,
           details={"slug": slug})
    return row


def update_type(s: Session, *, actor: Principal, now: datetime, row: IncidentType,
                data: Mapping[str, Any]) -> IncidentType:
    actor.require(OrgRole.admin, "editing incident types")
    values = _checked(s, data, now)
    for k, v in values.items():
        setattr(row, k, v)
    row.updated_at = now
    s.flush()
    record(s, actor=actor, action="incident_type.update", target_type="incident_type", target_id=row.id, now=now,
           details={"slug": row.slug, "fields": sorted(values)})
    return row


def delete_type(s: Session, *, actor: Principal, now: datetime, row: IncidentType) -> None:
    actor.require(OrgRole.admin, "deleting incident types")
    used = s.execute(sa.select(Incident.id).where(Incident.incident_type == row.slug).limit(1)).first()
    if used is not None:
        raise Conflict(f"incidents of type {row.slug!r} exist: the type stays", details={"field": "slug"})
    record(s, actor=actor, action="incident_type.delete", target_type="incident_type", target_id=row.id, now=now,
           details={"slug": row.slug})
    s.delete(row)
    s.flush()


def set_fields(s: Session, *, actor: Principal, now: datetime, incident: Incident,
               values: Mapping[str, Any]) -> dict[str, Any]:
    """Edit an incident's custom field values (checked against its type); a `field_changed` entry
    names the fields that changed (their values too, unless the incident is restricted: the
    timeline is seen by the same people, so they are shown)."""
    actor.require(OrgRole.responder, "editing custom fields")
    if not incident.incident_type:
        raise Conflict("this incident has no type, so no custom fields", details={"field": "incident_type"})
    found = require_type(s, incident.incident_type, now)
    checked = check_fields(found.custom_fields, values)
    before = dict(incident.custom_fields or {})
    if checked == before:
        return before
    labels = {d["key"]: d["label"] for d in found.custom_fields}
    changed = sorted(k for k in set(before) | set(checked) if before.get(k) != checked.get(k))
    incident.custom_fields = checked
    incident.updated_at = now
    words = ", ".join(f"{labels.get(k, k)}: {checked[k] if k in checked else '(cleared)'}" for k in changed)
    timeline.append(s, incident=incident, kind=TimelineKind.field_changed, actor=actor, now=now,
                    text=f"Custom fields changed: {words}",
                    data={"custom_fields": {k: checked.get(k) for k in changed}})
    return checked
