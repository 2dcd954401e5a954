"""Communication templates: the editor's rules (each is tried on a sample incident before it is saved),
the defaults, and which templates an incident is offered.

Defaults are created lazily: the first time templates are listed or used and the table is empty, the
four built-in templates are written (so deleting every template brings them back; edit them instead).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.audit.service import record
from tocsin.comms.models import CommsTemplate
from tocsin.comms.render import RenderError, render, sample
from tocsin.comms.types import MAX_BODY, Channel, TemplateKind
from tocsin.errors import Conflict, InvalidInput, NotFound
from tocsin.ids import new_id
from tocsin.incidents.models import Incident
from tocsin.principal import OrgRole, Principal
from tocsin.severities import parse_severity
from tocsin.slugs import check_slug

DEFAULTS: tuple[dict[str, object], ...] = (
    {"slug": "internal-update", "name": "Internal update", "channel": "internal", "kind": "any",
     "subject": "{{ ref }} ({{ severity }}) update: {{ title }}",
     "body": "{{ ref }} {{ title }} is {{ status }} ({{ severity }}).\n"
             "{% if services %}Services: {{ services | join(', ') }}.\n{% endif %}"
             "{% if customers_affected %}Customers affected: {{ customers_affected }}.\n{% endif %}"
             "{% if commander %}Incident commander: {{ commander }}.\n{% endif %}"
             "{% if next_update_label %}Next update by {{ next_update_label }}.\n{% endif %}{{ url }}"},
    {"slug": "security-internal-update", "name": "Security incident update", "channel": "internal",
     "kind": "security",
     "subject": "{{ ref }} ({{ severity }}) security update",
     "body": "Security incident {{ ref }} is {{ status }} ({{ severity }}). Do not forward this message.\n"
             "{% if commander %}Incident commander: {{ commander }}.\n{% endif %}"
             "{% if next_update_label %}Next update by {{ next_update_label }}.\n{% endif %}{{ url }}"},
    {"slug": "status-page-update", "name": "Status page update", "channel": "status_page", "kind": "operational",
     "subject": "{% if services %}{{ services | join(', ') }}: {% endif %}degraded service",
     "body": "We are investigating a problem affecting {% if services %}{{ services | join(', ') }}"
             "{% else %}some of our services{% endif %}. "
             "{% if next_update_label %}We will post another update by {{ next_update_label }}.{% endif %}"},
    {"slug": "customer-email", "name": "Customer email", "channel": "customer_email", "kind": "operational",
     "subject": "Service disruption{% if services %}: {{ services | join(', ') }}{% endif %}",
     "body": "Hello,\n\nWe are aware of a disruption affecting {% if services %}{{ services | join(', ') }}"
             "{% else %}some of our services{% endif %} and are working on it. "
             "{% if next_update_label %}We will update you by {{ next_update_label }}.{% endif %}\n\n"
             "We apologise for the inconvenience."},
)


@dataclass(frozen=True)
class TemplateInput:
    slug: str
    name: str
    channel: str
    severities: list[str]
    kind: str
    subject: str
    body: str


def ensure_defaults(s: Session, now: datetime) -> None:
    if s.execute(sa.select(CommsTemplate.id).limit(1)).first() is not None:
        return
    for d in DEFAULTS:
        s.add(CommsTemplate(id=new_id(), severities=[], created_at=now, updated_at=now, **d))
    s.flush()


def list_templates(s: Session, now: datetime) -> list[CommsTemplate]:
    ensure_defaults(s, now)
    return list(s.execute(sa.select(CommsTemplate).order_by(CommsTemplate.channel, CommsTemplate.name)).scalars())


def get(s: Session, key: str | uuid.UUID, now: datetime) -> CommsTemplate:
    """By id or slug; NotFound otherwise."""
    ensure_defaults(s, now)
    if isinstance(key, uuid.UUID):
        row = s.get(CommsTemplate, key)
    else:
        row = s.execute(sa.select(CommsTemplate).where(CommsTemplate.slug == key)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no communication template {key}", details={"template": str(key)})
    return row


def offered(s: Session, incident: Incident, now: datetime, channel: str | None = None) -> list[CommsTemplate]:
    """The templates for this incident's severity and kind (optionally of one channel)."""
    return [t for t in list_templates(s, now)
            if (not t.severities or incident.severity in t.severities)
            and t.kind in (TemplateKind.any.value, incident.kind)
            and (channel is None or t.channel == channel)]


def check(data: TemplateInput) -> TemplateInput:
    """The checked input; InvalidInput names the field (a template that fails on the sample is refused)."""
    slug = check_slug(data.slug.strip())
    name = data.name.strip()
    if not name or len(name) > 120:
        raise InvalidInput("a template needs a name of at most 120 characters", details={"field": "name"})
    if data.channel not in {c.value for c in Channel}:
        raise InvalidInput("channel is internal, status_page or customer_email", details={"field": "channel"})
    if data.kind not in {k.value for k in TemplateKind}:
        raise InvalidInput("kind is operational, security or any", details={"field": "kind"})
    try:
        severities = sorted({parse_severity(x).value for x in data.severities if x.strip()})
    except ValueError as exc:
        raise InvalidInput(str(exc), details={"field": "severities"}) from None
    if not data.subject.strip() or len(data.subject) > 300:
        raise InvalidInput("a subject of 1 to 300 characters", details={"field": "subject"})
    if not data.body.strip() or len(data.body) > MAX_BODY:
        raise InvalidInput(f"a body of 1 to {MAX_BODY} characters", details={"field": "body"})
    for field, text in (("subject", data.subject), ("body", data.body)):
        try:
            render(text, "x", sample()) if field == "subject" else render("x", text, sample())
        except RenderError as exc:
            raise InvalidInput(f"the {field} does not render: {exc}", details={"field": field}) from None
    return TemplateInput(slug=slug, name=name, channel=data.channel, severities=severities, kind=data.kind,
                         subject=data.subject, body=data.body)


def _taken(s: Session, slug: str, but: uuid.UUID | None) -> None:
    clash = s.execute(sa.select(CommsTemplate.id).where(CommsTemplate.slug == slug)).scalar_one_or_none()
    if clash is not None and clash != but:
        raise Conflict(f"a template {slug!r} exists already", details={"field": "slug"})


def create(s: Session, data: TemplateInput, *, actor: Principal, now: datetime) -> CommsTemplate:
    actor.require(OrgRole.admin, "editing communication templates")
    ensure_defaults(s, now)
    ok = check(data)
    _taken(s, ok.slug, None)
    row = CommsTemplate(id=new_id(), slug=ok.slug, name=ok.name, channel=ok.channel, severities=ok.severities,
                        kind=ok.kind, subject=ok.subject, body=ok.body, created_at=now, updated_at=now)
    s.add(row)
    s.flush()
    record(s, actor=actor, action="comms.template_created", target_type="comms_template", target_id=row.id, now=now,
           details={"slug": row.slug, "channel": row.channel})
    return row


def update(s: Session, row: CommsTemplate, data: TemplateInput, *, actor: Principal, now: datetime) -> CommsTemplate:
    actor.require(OrgRole.admin, "editing communication templates")
    ok = check(data)
    _taken(s, ok.slug, row.id)
    row.slug, row.name, row.channel, row.severities = ok.slug, ok.name, ok.channel, ok.severities
    row.kind, row.subject, row.body, row.updated_at = ok.kind, ok.subject, ok.body, now
    s.flush()
    record(s, actor=actor, action="comms.template_updated", target_type="comms_template", target_id=row.id, now=now,
           details={"slug": row.slug, "channel": row.channel})
    return row


def delete(s: Session, row: CommsTemplate, *, actor: Principal, now: datetime) -> None:
    actor.require(OrgRole.admin, "deleting communication templates")
    record(s, actor=actor, action="comms.template_deleted", target_type="comms_template", target_id=row.id, now=now,
           details={"slug": row.slug})
    s.delete(row)
    s.flush()
