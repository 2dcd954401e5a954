"""Exporting an incident's indicators: a STIX 2.1 bundle (built and checked by the `stix2` library)
and a MISP event in MISP's core JSON format. Functions of the rows they are given (no database,
no clock), so the same rows always give the same objects apart from the STIX bundle's own id.

STIX (see docs/indicators.md): per indicator an `indicator` SDO whose id is the row's (so a
re-export updates rather than duplicates), its pattern with single-quoted, escaped literals, the
observable (SCO) with the deterministic id `stix2` computes, an `observed-data` over it when first
and last seen are known, the TLP 2.0 marking-definition objects used, and one `grouping` naming the
incident. Host names are exported as `domain-name`, as MISP's own STIX converter does.

MISP: one Event with an Attribute per indicator; each attribute carries its TLP tag and inherits the
event's distribution ("5"), and the event takes the strictest TLP present, so a TLP:RED indicator
never leaves with a community distribution.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import stix2

from tocsin.indicators.types import IndicatorType, Tlp, strictest

TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_MARKINGS = {
    Tlp.clear: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.green: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.amber: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.amber_strict: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.red: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP2_CREATED = "2022-10-01T00:00:00.000Z"  # as in the OASIS TLP 2.0 marking objects
_NAMESPACE = uuid.UUID("6f1ad7a8-5d39-4a0e-9a43-2c8d0f1b7e51")  # tocsin's: stable ids for derived objects
_HASH_KEYS = {IndicatorType.md5: "MD5", IndicatorType.sha1: "SHA-1", IndicatorType.sha256: "SHA-256"}
_HASH_PATHS = {IndicatorType.md5: "MD5", IndicatorType.sha1: "'SHA-1'", IndicatorType.sha256: "'SHA-256'"}

# MISP attribute type and category for each indicator type, and whether it is for detection (to_ids).
MISP_TYPES: dict[IndicatorType, tuple[str, str, bool]] = {
    IndicatorType.ipv4: ("ip-dst", "Network activity", True),
    IndicatorType.ipv6: ("ip-dst", "Network activity", True),
    IndicatorType.domain: ("domain", "Network activity", True),
    IndicatorType.host: ("hostname", "Network activity", True),
    IndicatorType.url: ("url", "Network activity", True),
    IndicatorType.md5: ("md5", "Payload delivery", True),
    IndicatorType.sha1: ("sha1", "Payload delivery", True),
    IndicatorType.sha256: ("sha256", "Payload delivery", True),
    IndicatorType.email: ("email-src", "Payload delivery", True),
    IndicatorType.account: ("target-user", "Targeting data", False),
}
# TLP -> MISP distribution: "0" your organisation only, "1" this community.
_MISP_DISTRIBUTION = {Tlp.clear: "3", Tlp.green: "1", Tlp.amber: "0", Tlp.amber_strict: "0", Tlp.red: "0"}
_THREAT_LEVEL = {"SEV1": "1", "SEV2": "2", "SEV3": "3", "SEV4": "3"}


class IndicatorRow(Protocol):
    id: uuid.UUID
    type: str
    value: str
    tlp: str
    first_seen: datetime | None
    last_seen: datetime | None
    source: str
    notes: str
    created_at: datetime
    updated_at: datetime


class IncidentRow(Protocol):
    id: uuid.UUID
    number: int
    title: str
    severity: str
    status: str
    declared_at: datetime
    updated_at: datetime


def _literal(value: str) -> str:
    """A STIX pattern string literal: single quotes, with backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _observable(row: IndicatorRow) -> tuple[Any, str]:
    """The SCO for an indicator and the pattern that matches it."""
    kind = IndicatorType(row.type)
    lit = _literal(row.value)
    if kind == IndicatorType.ipv4:
        return stix2.v21.IPv4Address(value=row.value), f"[ipv4-addr:value = {lit}]"
    if kind == IndicatorType.ipv6:
        return stix2.v21.IPv6Address(value=row.value), f"[ipv6-addr:value = {lit}]"
    if kind in (IndicatorType.domain, IndicatorType.host):
        return stix2.v21.DomainName(value=row.value), f"[domain-name:value = {lit}]"
    if kind == IndicatorType.url:
        return stix2.v21.URL(value=row.value), f"[url:value = {lit}]"
    if kind == IndicatorType.email:
        return stix2.v21.EmailAddress(value=row.value), f"[email-addr:value = {lit}]"
    if kind in _HASH_KEYS:
        return (stix2.v21.File(hashes={_HASH_KEYS[kind]: row.value}),
                f"[file:hashes.{_HASH_PATHS[kind]} = {lit}]")
    return stix2.v21.UserAccount(account_login=row.value), f"[user-account:account_login = {lit}]"


def _marking(level: Tlp) -> Any:
    return stix2.v21.MarkingDefinition(
        id=TLP2_MARKINGS[level], created=TLP2_CREATED, name=f"TLP:{level.value.upper()}",
        extensions={TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level.value}})


def _ms(when: datetime) -> datetime:
    """STIX created/modified carry milliseconds; drop the rest so modified never precedes created by rounding."""
    return when.astimezone(UTC).replace(microsecond=when.microsecond // 1000 * 1000)


def stix_bundle(incident: IncidentRow, ref: str, indicators: Sequence[IndicatorRow], *,
                bundle_id: uuid.UUID | None = None) -> str:
    """The incident's indicators as a serialized STIX 2.1 bundle (see the module docstring)."""
    objects: list[Any] = []
    markings: dict[Tlp, Any] = {}
    scos: dict[str, Any] = {}
    members: list[str] = []
    for row in indicators:
        level = Tlp(row.tlp)
        markings.setdefault(level, _marking(level))
        sco, pattern = _observable(row)
        scos.setdefault(sco.id, sco)
        created, modified = _ms(row.created_at), _ms(max(row.updated_at, row.created_at))
        valid_from = row.first_seen or row.created_at
        description = "\n".join(x for x in (f"Source: {row.source}" if row.source else "", row.notes) if x)
        indicator = stix2.v21.Indicator(
            id=f"indicator--{row.id}", created=created, modified=modified, name=f"{row.type} {row.value}"[:250],
            description=description or None, indicator_types=["malicious-activity"], pattern=pattern,
            pattern_type="stix", pattern_version="2.1", valid_from=valid_from,
            object_marking_refs=[TLP2_MARKINGS[level]])
        objects.append(indicator)
        members.append(indicator.id)
        if row.first_seen is not None and row.last_seen is not None:
            observed = stix2.v21.ObservedData(
                id=f"observed-data--{uuid.uuid5(_NAMESPACE, f'observed:{row.id}')}", created=created,
                modified=modified, first_observed=row.first_seen, last_observed=row.last_seen, number_observed=1,
                object_refs=[sco.id], object_marking_refs=[TLP2_MARKINGS[level]])
            objects.append(observed)
            members.append(observed.id)
    if objects:
        level = strictest(list(markings))
        objects.append(stix2.v21.Grouping(
            id=f"grouping--{uuid.uuid5(_NAMESPACE, f'incident:{incident.id}')}", created=_ms(incident.declared_at),
            modified=_ms(max(incident.updated_at, incident.declared_at)), name=f"{ref} indicators",
            context="suspicious-activity", object_refs=members, object_marking_refs=[TLP2_MARKINGS[level]]))
    bundle = stix2.v21.Bundle(objects=[*markings.values(), *scos.values(), *objects],
                              id=f"bundle--{bundle_id or uuid.uuid4()}")
    return str(bundle.serialize(pretty=True))


def _unix(when: datetime) -> str:
    return str(int(when.timestamp()))


def misp_event(incident: IncidentRow, ref: str, indicators: Sequence[IndicatorRow]) -> dict[str, Any]:
    """The incident's indicators as a MISP event (core format: `{"Event": {..., "Attribute": [...]}}`)."""
    levels = [Tlp(row.tlp) for row in indicators]
    level = strictest(levels)
    attributes = []
    for row in indicators:
        kind = IndicatorType(row.type)
        misp_type, category, to_ids = MISP_TYPES[kind]
        comment = "; ".join(x for x in (row.source, " ".join(row.notes.split())) if x)[:1000]
        attribute: dict[str, Any] = {
            "uuid": str(row.id), "type": misp_type, "category": category, "value": row.value, "to_ids": to_ids,
            "distribution": "5", "sharing_group_id": "0", "timestamp": _unix(max(row.updated_at, row.created_at)),
            "comment": comment, "deleted": False, "Tag": [{"name": f"tlp:{Tlp(row.tlp).value}"}],
        }
        if row.first_seen is not None:
            attribute["first_seen"] = row.first_seen.astimezone(UTC).isoformat(timespec="microseconds")
        if row.last_seen is not None:
            attribute["last_seen"] = row.last_seen.astimezone(UTC).isoformat(timespec="microseconds")
        attributes.append(attribute)
    stamps = [incident.updated_at, *(max(r.updated_at, r.created_at) for r in indicators)]
    info = " ".join(f"{ref} {incident.title}".split())[:256]
    return {"Event": {
        "uuid": str(uuid.uuid5(_NAMESPACE, f"misp-event:{incident.id}")), "info": info,
        "date": incident.declared_at.astimezone(UTC).date().isoformat(), "published": False,
        "threat_level_id": _THREAT_LEVEL.get(incident.severity, "4"),
        "analysis": "2" if incident.status in ("resolved", "postmortem", "closed") else "1",
        "distribution": _MISP_DISTRIBUTION[level], "sharing_group_id": "0", "timestamp": _unix(max(stamps)),
        "publish_timestamp": "0", "Tag": [{"name": f"tlp:{level.value}"}], "Attribute": attributes,
    }}


def misp_json(incident: IncidentRow, ref: str, indicators: Sequence[IndicatorRow]) -> str:
    return json.dumps(misp_event(incident, ref, indicators), indent=2, ensure_ascii=False)


def up_to(indicators: Sequence[IndicatorRow], most: Tlp | None) -> list[IndicatorRow]:
    """The indicators marked no stricter than `most` (all of them for None): what may be shared
    with an audience cleared to that level."""
    if most is None:
        return list(indicators)
    order = list(Tlp)
    return [row for row in indicators if order.index(Tlp(row.tlp)) <= order.index(most)]
