"""`tocsin apply`: make the database match a configuration document (docs/config-as-code.md).

Every change goes through the owning domain's service functions, so it is validated and audited
exactly as the API's is; apply only decides what differs. It never commits: the caller owns the
unit of work. Its own writes happen inside a savepoint, which a dry run rolls back (nothing is
written, audit entries included) and an error rolls back too.

Order: users, teams, schedules, escalation policies, services (integrations, dependencies, policy),
maintenance windows, then the alert rules; `prune` then removes, in reverse order, what the
sections present no longer name.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.alerts.models import Alert
from tocsin.audit.service import record
from tocsin.configcode import rules, sections
from tocsin.configcode.document import (
    Document,
    Item,
    LayerDoc,
    PolicyDoc,
    ScheduleDoc,
    ServiceDoc,
    TeamDoc,
    UserDoc,
    WindowDoc,
    parse,
)
from tocsin.configcode.models import ConfigSource
from tocsin.contacts import service as contacts
from tocsin.contacts.models import ContactMethod
from tocsin.errors import InvalidInput, TocsinError
from tocsin.escalation import service as escalation
from tocsin.escalation.models import EscalationLevel, EscalationPolicy
from tocsin.escalation.schedule_use import refuse_if_used
from tocsin.flows import catalog
from tocsin.integrations import service as integrations
from tocsin.integrations.models import Integration
from tocsin.integrations.service import ENDPOINTS, IntegrationType
from tocsin.oncall import service as oncall
from tocsin.oncall.models import Schedule, ScheduleLayer
from tocsin.principal import OrgRole, Principal
from tocsin.routing import service as routing
from tocsin.routing.models import MaintenanceWindow
from tocsin.services import service as services
from tocsin.services.models import Service
from tocsin.slugs import check_slug
from tocsin.teams import service as teams
from tocsin.teams.models import Team
from tocsin.users import service as users
from tocsin.users.models import User


@dataclass(frozen=True)
class NewKey:
    """The plaintext key of an integration this apply created (shown once) and where a sender posts it."""

    service: str
    integration: str
    type: str
    key: str
    endpoint: str


@dataclass
class ApplyResult:
    changes: list[str] = field(default_factory=list)     # "+ service x", "~ schedule y: layers[0].members", "- team z"
    new_keys: list[NewKey] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)       # what was left as it is, and why ("! ...")


def apply_documents(session: Session, docs: list[dict[str, Any]], *, actor: Principal, now: datetime,
                    dry_run: bool = False, prune: bool = False,
                    names: list[str] | None = None, keep_access: bool = False) -> ApplyResult:
    """Make the database match `docs` (parsed YAML documents; `names` say where each came from, for
    errors); return the changes. Raise InvalidInput naming the file and the field of a bad document.

    `keep_access` (imports): a user who exists already keeps their role and, if deactivated, stays
    deactivated, whatever the document says (a note says so): another product's admins are not
    tocsin's, and re-running an import must not promote, demote or bring back anyone."""
    actor.require(OrgRole.admin, "applying configuration")
    document = parse(docs, names)
    run = _Run(session, actor, now, prune)
    run.keep_access = keep_access
    savepoint = session.begin_nested()
    try:
        run.apply(document)
    except BaseException:
        savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
        run.result.new_keys = []
    else:
        savepoint.commit()
    return run.result


def endpoint_for(kind: str, key: str) -> str:
    return ENDPOINTS.get(kind, "").replace("<key>", key)


class _Run:
    def __init__(self, session: Session, actor: Principal, now: datetime, prune: bool) -> None:
        self.s, self.actor, self.now, self.prune = session, actor, now, prune
        self.keep_access = False
        self.result = ApplyResult()

    # --- helpers ---------------------------------------------------------------------------------

    def add(self, line: str) -> None:
        self.result.changes.append(line)

    def note(self, line: str) -> None:
        self.result.notes.append(line)

    def changed(self, kind: str, key: str, fields: list[str]) -> None:
        if fields:
            self.add(f"~ {kind} {key}: {', '.join(fields)}")

    @contextmanager
    def at(self, where: str) -> Iterator[None]:
        """Report a domain's refusal as bad input at this place of the document."""
        try:
            yield
        except TocsinError as exc:
            field_ = (exc.details or {}).get("field") if isinstance(exc.details, dict) else None
            text = exc.message if not field_ or str(field_) in exc.message else f"{field_}: {exc.message}"
            raise InvalidInput(f"{where}: {text}", details={"at": where}) from None

    def by_source(self, kind: str, source_id: str | None, model: type[Any]) -> Any:
        if not source_id:
            return None
        row = self.s.get(ConfigSource, (kind, source_id))
        return self.s.get(model, row.object_id) if row is not None else None

    def remember(self, kind: str, source_id: str | None, object_id: uuid.UUID) -> None:
        if not source_id:
            return
        row = self.s.get(ConfigSource, (kind, source_id))
        if row is None:
            self.s.add(ConfigSource(kind=kind, source_id=source_id, object_id=object_id, updated_at=self.now))
        elif row.object_id != object_id:
            row.object_id, row.updated_at = object_id, self.now
        self.s.flush()

    def rename_slug(self, kind: str, row: Any, slug: str, model: type[Any]) -> list[str]:
        """A source object found by its source_id under another slug takes the document's slug."""
        if row.slug == slug:
            return []
        check_slug(slug)
        if self.s.execute(sa.select(model.id).where(model.slug == slug)).first():
            raise InvalidInput(f"cannot rename {kind} {row.slug} to {slug}: that slug is taken")
        old, row.slug = row.slug, slug
        self.s.flush()
        record(self.s, actor=self.actor, action=f"{kind}.update", target_type=kind, target_id=row.id, now=self.now,
               details={"slug": [old, slug], "via": "config apply"})
        return ["slug"]

    def user(self, email: str, where: str) -> User:
        row = users.get_user_by_email(self.s, email)
        if row is None:
            raise InvalidInput(f"{where}: no user {email!r}: declare it under users")
        return row

    # --- the whole document ----------------------------------------------------------------------

    def apply(self, doc: Document) -> None:
        self.users(doc.items("users"))
        self.teams(doc.items("teams"))
        self.schedules(doc.items("schedules"))
        self.policies(doc.items("escalation_policies"))
        self.services(doc.items("services"))
        self.windows(doc.items("maintenance_windows"))
        rules.apply_rules(self, doc)
        sections.apply_sections(self, doc)
        if self.prune:
            sections.prune_sections(self, doc)
            rules.prune_rules(self, doc)
            if doc.present("maintenance_windows"):
                self.prune_windows(doc.items("maintenance_windows"))
            if doc.present("services"):
                self.prune_services(doc.items("services"))
            if doc.present("escalation_policies"):
                self.prune_policies(doc.items("escalation_policies"))
            if doc.present("schedules"):
                self.prune_schedules(doc.items("schedules"))
            if doc.present("teams"):
                self.prune_teams(doc.items("teams"))
            if doc.present("users"):
                self.prune_users(doc.items("users"))

    # --- users -----------------------------------------------------------------------------------

    def users(self, items: list[Item]) -> None:
        for it in items:
            u: UserDoc = it.obj
            with self.at(it.where):
                email = users.normalise_email(u.email)
                row: User | None = self.by_source("user", u.source_id, User)
                if row is not None and self.keep_access and row.email != email:
                    # the email is how a person signs in (SSO matches it) and is paged: a source must
                    # not move an account to another address; the new address is another person
                    self.note(f"! user {row.email}: the source now calls them {email}; {row.email} is left as it "
                              "is (change the email in tocsin if it is the same person)")
                    row = None
                row = row or users.get_user_by_email(self.s, email)
                fields: list[str] = []
                new = row is None
                if row is None:
                    row = users.create_user(self.s, actor=self.actor, now=self.now, email=email, name=u.name,
                                            org_role=OrgRole(u.role), time_zone=u.time_zone)
                    self.add(f"+ user {email}")
                else:
                    fields = self.update_user(row, u, email)
                contact_fields = self.contacts(row, u, it.where)
                if not new:
                    self.changed("user", email, fields + contact_fields)
                self.remember("user", u.source_id, row.id)

    def update_user(self, row: User, u: UserDoc, email: str) -> list[str]:
        if row.org_role == OrgRole.guest.value:
            raise InvalidInput(f"{row.email} is an outside responder (guest): guests are granted per incident")
        fields: list[str] = []
        if row.email != email:
            if users.get_user_by_email(self.s, email) is not None:
                raise InvalidInput(f"cannot rename user {row.email} to {email}: that email is taken")
            old, row.email = row.email, email
            self.s.flush()
            record(self.s, actor=self.actor, action="user.update", target_type="user", target_id=row.id,
                   now=self.now, details={"email": [old, email], "via": "config apply"})
            fields.append("email")
        kwargs: dict[str, Any] = {}
        if row.name != u.name.strip():
            kwargs["name"] = u.name
        if row.org_role != u.role and self.keep_access:
            self.note(f"! user {row.email}: role stays {row.org_role} (the import says {u.role}): change it in tocsin")
        elif row.org_role != u.role:
            if row.org_role == OrgRole.admin.value and row.is_active and self.admins() <= 1:
                raise InvalidInput(f"role: {row.email} is the last admin")
            kwargs["org_role"] = OrgRole(u.role)
        if row.time_zone != u.time_zone:
            kwargs["time_zone"] = u.time_zone
        if kwargs:
            users.update_user(self.s, actor=self.actor, now=self.now, user=row, **kwargs)
            fields += ["role" if k == "org_role" else k for k in kwargs]
        if not row.is_active and self.keep_access:
            self.note(f"! user {row.email}: deactivated in tocsin, left so by the import")
        elif not row.is_active:
            users.set_active(self.s, actor=self.actor, now=self.now, user=row, active=True)
            fields.append("active")
        return fields

    def admins(self) -> int:
        return int(self.s.execute(sa.select(sa.func.count()).select_from(User).where(
            User.org_role == OrgRole.admin.value, User.is_active.is_(True))).scalar_one())

    def contacts(self, row: User, u: UserDoc, where: str) -> list[str]:
        fields: list[str] = []
        if u.contact_methods is not None:
            have = {(m.type, m.address): m for m in contacts.list_methods(self.s, row.id)}
            named: set[uuid.UUID] = set()
            for j, cm in enumerate(u.contact_methods):
                with self.at(f"{where}.contact_methods[{j}]"):
                    address = contacts.check_address(cm.type, cm.address)
                    found = have.get((cm.type, address))
                    if found is None:
                        found = contacts.create_method(self.s, actor=self.actor, now=self.now, user=row, type=cm.type,
                                                       address=address, label=cm.label)
                        have[(cm.type, address)] = found
                        fields.append(f"contact_methods[{j}]")
                    elif found.label != cm.label.strip():
                        found.label = cm.label.strip()
                        record(self.s, actor=self.actor, action="contact_method.update", target_type="user",
                               target_id=row.id, now=self.now,
                               details={"contact_method_id": str(found.id), "label": found.label})
                        fields.append(f"contact_methods[{j}].label")
                    named.add(found.id)
            if self.prune:
                for m in list(have.values()):
                    if m.id not in named and not url_address(m):  # export leaves those out: so does prune
                        contacts.delete_method(self.s, actor=self.actor, now=self.now, method=m)
                        fields.append(f"contact_methods (removed {m.type})")
        if u.notification_rules is not None:
            methods = contacts.list_methods(self.s, row.id)
            current = {(r.contact_method_id, r.delay_minutes, r.urgency): r
                       for r in contacts.list_rules(self.s, row.id)}
            wanted: set[tuple[uuid.UUID, int, str]] = set()
            for j, nr in enumerate(u.notification_rules):
                here = f"{where}.notification_rules[{j}]"
                method = find_method(methods, nr.contact)
                if method is None:
                    raise InvalidInput(f"{here}.contact: {row.email} has no contact method {nr.contact!r}")
                key = (method.id, nr.delay_minutes, nr.urgency)
                wanted.add(key)
                if key in current:
                    continue
                if method.verified_at is None:
                    self.note(f"! user {row.email}: notification_rules[{j}] waits until the {method.type} contact "
                              "method is verified")
                    continue
                with self.at(here):
                    contacts.create_rule(self.s, actor=self.actor, now=self.now, user=row, contact_method_id=method.id,
                                         delay_minutes=nr.delay_minutes, urgency=nr.urgency)
                fields.append(f"notification_rules[{j}]")
            if self.prune:
                urls = {m.id for m in methods if url_address(m)}
                for rule_key, rule in current.items():
                    if rule_key not in wanted and rule.contact_method_id not in urls:
                        contacts.delete_rule(self.s, actor=self.actor, now=self.now, rule=rule)
                        fields.append("notification_rules (removed one)")
        return fields

    # --- teams -----------------------------------------------------------------------------------

    def teams(self, items: list[Item]) -> None:
        for it in items:
            t: TeamDoc = it.obj
            with self.at(it.where):
                row: Team | None = self.by_source("team", t.source_id, Team) or teams.get_team(self.s, t.slug)
                members = [self.user(e, f"members[{j}]") for j, e in enumerate(t.members)]
                fields: list[str] = []
                new = row is None
                if row is None:
                    row = teams.create_team(self.s, actor=self.actor, now=self.now, name=t.name, slug=t.slug,
                                            description=t.description, is_security=t.security)
                    self.add(f"+ team {t.slug}")
                else:
                    fields += self.rename_slug("team", row, t.slug, Team)
                    kwargs: dict[str, Any] = {}
                    if row.name != t.name.strip():
                        kwargs["name"] = t.name
                    if row.description != t.description:
                        kwargs["description"] = t.description
                    if row.is_security != t.security:
                        kwargs["is_security"] = t.security
                    if kwargs:
                        teams.update_team(self.s, actor=self.actor, now=self.now, team=row, **kwargs)
                        fields += ["security" if k == "is_security" else k for k in kwargs]
                if set(teams.member_ids(self.s, row.id)) != {m.id for m in members}:
                    teams.set_members(self.s, actor=self.actor, now=self.now, team=row, users=members)
                    fields.append("members")
                if not new:
                    self.changed("team", t.slug, fields)
                self.remember("team", t.source_id, row.id)

    # --- schedules -------------------------------------------------------------------------------

    def schedules(self, items: list[Item]) -> None:
        for it in items:
            sd: ScheduleDoc = it.obj
            with self.at(it.where):
                row: Schedule | None = (self.by_source("schedule", sd.source_id, Schedule)
                                        or oncall.get_schedule(self.s, sd.slug))
                fields: list[str] = []
                new = row is None
                if row is None:
                    row = oncall.create_schedule(self.s, actor=self.actor, now=self.now, name=sd.name, slug=sd.slug,
                                                 description=sd.description, timezone=sd.time_zone, team=sd.team)
                    self.add(f"+ schedule {sd.slug}")
                else:
                    fields += self.rename_slug("schedule", row, sd.slug, Schedule)
                    kwargs: dict[str, Any] = {}
                    if row.name != sd.name.strip():
                        kwargs["name"] = sd.name
                    if row.description != sd.description:
                        kwargs["description"] = sd.description
                    if row.timezone != sd.time_zone:
                        kwargs["timezone"] = sd.time_zone
                    current_team = oncall.team_slugs(self.s, [row.team_id]).get(row.team_id) if row.team_id else None
                    if current_team != sd.team:
                        kwargs["team"] = sd.team
                    if kwargs:
                        oncall.update_schedule(self.s, actor=self.actor, now=self.now, schedule=row, **kwargs)
                        fields += ["time_zone" if k == "timezone" else k for k in kwargs]
                layer_fields = self.layers(row, sd.layers)
                override_fields = self.overrides(row, sd)
                if not new:
                    self.changed("schedule", sd.slug, fields + layer_fields + override_fields)
                self.remember("schedule", sd.source_id, row.id)

    def layers(self, schedule: Schedule, wanted: list[LayerDoc]) -> list[str]:
        current = oncall.list_layers(self.s, [schedule.id])[schedule.id]
        members = oncall.layer_members(self.s, [r.id for r in current])
        emails = {u.id: u.email for u in oncall.users_by_id(self.s, [m for ms in members.values() for m in ms]).values()}
        fields: list[str] = []
        for i, layer in enumerate(wanted):
            here = f"layers[{i}]"
            with self.at(here):
                spec = layer_spec(layer)
                if i < len(current):
                    row = current[i]
                    diffs = layer_diffs(row, [emails.get(m, "?") for m in members[row.id]], layer)
                    if diffs:
                        oncall.update_layer(self.s, actor=self.actor, now=self.now, schedule=schedule, layer=row,
                                            **spec)
                        fields += [f"{here}.{d}" for d in diffs]
                else:
                    oncall.create_layer(self.s, actor=self.actor, now=self.now, schedule=schedule, **spec)
                    fields.append(here)
        for i, row in enumerate(current[len(wanted):], start=len(wanted)):
            oncall.delete_layer(self.s, actor=self.actor, now=self.now, schedule=schedule, layer=row)
            fields.append(f"layers[{i}] (removed)")
        return fields

    def overrides(self, schedule: Schedule, sd: ScheduleDoc) -> list[str]:
        current = oncall.list_overrides(self.s, schedule=schedule, now=self.now)
        people = oncall.users_by_id(self.s, [x for o in current for x in (o.user_id, o.replaces_user_id)])

        def email(uid: uuid.UUID | None) -> str | None:
            return people[uid].email if uid in people else None

        have = {(email(o.user_id), email(o.replaces_user_id), o.starts_at, o.ends_at): o for o in current}
        wanted: set[tuple[Any, ...]] = set()
        fields: list[str] = []
        for j, o in enumerate(sd.overrides):
            key = (o.user.strip().lower(), o.replaces.strip().lower() if o.replaces else None, o.start, o.end)
            wanted.add(key)
            if key in have or o.end <= self.now:  # an override that has ended is history
                continue
            with self.at(f"overrides[{j}]"):
                oncall.create_override(self.s, actor=self.actor, now=self.now, schedule=schedule, starts_at=o.start,
                                       ends_at=o.end, user=key[0], replaces=key[1])
            fields.append(f"overrides[{j}]")
        if self.prune:
            for have_key, row in have.items():
                if have_key not in wanted and row.starts_at > self.now:  # never one that has started
                    oncall.delete_override(self.s, actor=self.actor, now=self.now, schedule=schedule, override=row)
                    fields.append(f"overrides (removed {have_key[0]} from {row.starts_at.isoformat()})")
        return fields

    # --- escalation policies ---------------------------------------------------------------------

    def policies(self, items: list[Item]) -> None:
        for it in items:
            p: PolicyDoc = it.obj
            with self.at(it.where):
                row: EscalationPolicy | None = (self.by_source("escalation_policy", p.source_id, EscalationPolicy)
                                                or escalation.get_policy(self.s, p.slug))
                levels = [{"delay_minutes": lv.delay_minutes,
                           "targets": [{"type": k, ("email" if k == "user" else "slug"): v}
                                       for k, v in (t.kind_key() for t in lv.targets)]} for lv in p.levels]
                if row is None:
                    row = escalation.create_policy(self.s, actor=self.actor, now=self.now, name=p.name, slug=p.slug,
                                                   description=p.description, repeat=p.repeat, levels=levels)
                    self.add(f"+ escalation_policy {p.slug}")
                else:
                    kwargs: dict[str, Any] = {}
                    if row.slug != p.slug:
                        kwargs["slug"] = p.slug
                    if row.name != p.name.strip():
                        kwargs["name"] = p.name
                    if row.description != p.description:
                        kwargs["description"] = p.description
                    if row.repeat != p.repeat:
                        kwargs["repeat"] = p.repeat
                    level_diffs = policy_level_diffs(policy_levels(self.s, row), p)
                    if level_diffs:
                        kwargs["levels"] = levels
                    if kwargs:
                        escalation.update_policy(self.s, actor=self.actor, now=self.now, policy=row, **kwargs)
                    self.changed("escalation_policy", p.slug, [k for k in kwargs if k != "levels"] + level_diffs)
                self.remember("escalation_policy", p.source_id, row.id)

    # --- services --------------------------------------------------------------------------------

    def services(self, items: list[Item]) -> None:
        rows: list[tuple[Item, Service, list[str], bool]] = []
        for it in items:  # first every service, so that depends_on may name one declared later
            sv: ServiceDoc = it.obj
            with self.at(it.where):
                row: Service | None = self.by_source("service", sv.source_id, Service) or services.get_service(
                    self.s, sv.slug)
                fields: list[str] = []
                new = row is None
                if row is None:
                    row = services.create_service(
                        self.s, actor=self.actor, now=self.now, name=sv.name, slug=sv.slug, description=sv.description,
                        owner_team=sv.team, tier=sv.tier, runbook_url=sv.runbook_url,
                        alert_settings=sv.alert_settings, paging_unit=sv.paging_unit)
                    self.add(f"+ service {sv.slug}")
                else:
                    if row.drill:
                        raise InvalidInput(f"{sv.slug} is an exercise's stand-in service; choose another slug")
                    fields += self.rename_slug("service", row, sv.slug, Service)
                    fields += self.update_service(row, sv)
                rows.append((it, row, fields, new))
        for it, row, fields, new in rows:
            sv = it.obj
            with self.at(it.where):
                if services.dependency_slugs(self.s, row.id) != sorted(set(sv.depends_on)):
                    services.update_service(self.s, actor=self.actor, now=self.now, service=row,
                                            depends_on=list(sv.depends_on))
                    fields.append("depends_on")
                current = escalation.get_policy(self.s, row.escalation_policy_id) if row.escalation_policy_id else None
                if (current.slug if current else None) != sv.escalation_policy:
                    escalation.set_service_policy(self.s, actor=self.actor, now=self.now, service=row,
                                                  policy=sv.escalation_policy)
                    fields.append("escalation_policy")
                fields += self.integrations(row, sv, it.where)
                if not new:
                    self.changed("service", sv.slug, fields)
                self.remember("service", sv.source_id, row.id)

    def update_service(self, row: Service, sv: ServiceDoc) -> list[str]:
        kwargs: dict[str, Any] = {}
        if row.name != sv.name.strip():
            kwargs["name"] = sv.name
        if row.description != sv.description:
            kwargs["description"] = sv.description
        owner = teams.get_team(self.s, row.owner_team_id) if row.owner_team_id else None
        if (owner.slug if owner else None) != sv.team:
            kwargs["owner_team"] = sv.team
        if row.tier != sv.tier:
            kwargs["tier"] = sv.tier
        if (row.runbook_url or None) != ((sv.runbook_url or "").strip() or None):
            kwargs["runbook_url"] = sv.runbook_url
        if (row.alert_settings or None) != (sv.alert_settings or None):
            kwargs["alert_settings"] = sv.alert_settings
        if row.paging_unit != sv.paging_unit:
            kwargs["paging_unit"] = sv.paging_unit
        if kwargs:
            services.update_service(self.s, actor=self.actor, now=self.now, service=row, **kwargs)
        return ["team" if k == "owner_team" else k for k in kwargs]

    def integrations(self, service: Service, sv: ServiceDoc, where: str) -> list[str]:
        current = integrations.list_integrations(self.s, service_id=service.id)
        by_name: dict[str, Integration] = {}
        for row in current:
            by_name.setdefault(row.name, row)
        fields: list[str] = []
        named: set[uuid.UUID] = set()
        seen: set[str] = set()
        for j, ig in enumerate(sv.integrations):
            here = f"{where}.integrations[{j}]"
            name = ig.name.strip()
            if name in seen:
                raise InvalidInput(f"{here}: integration {name!r} is declared twice for {sv.slug}")
            seen.add(name)
            kind = IntegrationType(ig.type)
            with self.at(here):
                found: Integration | None = self.by_source("integration", ig.source_id, Integration)
                if found is not None and found.service_id != service.id:
                    found = None
                row = found or by_name.get(name)  # type: ignore[assignment]
                if row is None:
                    row, key = integrations.create_integration(self.s, actor=self.actor, now=self.now,
                                                               service=str(service.id), kind=kind, name=name,
                                                               config=ig.config)
                    self.add(f"+ integration {sv.slug}/{name} ({kind.value})")
                    self.result.new_keys.append(NewKey(service=sv.slug, integration=name, type=kind.value, key=key,
                                                       endpoint=endpoint_for(kind.value, key)))
                else:
                    if row.type != kind.value:
                        raise InvalidInput(f"type: integration {name!r} is {row.type}; a type cannot change (its "
                                           "senders would break): give the new one another name")
                    diffs = []
                    if row.name != name:
                        diffs.append("name")
                    config = integrations.check_config(kind, dict(ig.config))
                    if (row.config or {}) != config:
                        diffs.append("config")
                    if diffs:
                        row.name, row.config = name, config
                        self.s.flush()
                        record(self.s, actor=self.actor, action="integration.update", target_type="integration",
                               target_id=row.id, now=self.now,
                               details={"service": sv.slug, "name": name, "changed": diffs, "via": "config apply"})
                        fields += [f"integrations[{j}].{d}" for d in diffs]
                named.add(row.id)
                self.remember("integration", ig.source_id, row.id)
        if self.prune:
            for row in current:
                if row.id not in named:
                    integrations.delete_integration(self.s, actor=self.actor, now=self.now, integration_id=row.id)
                    self.add(f"- integration {sv.slug}/{row.name}")
        return fields

    # --- maintenance windows ---------------------------------------------------------------------

    def windows(self, items: list[Item]) -> None:
        for it in items:
            w: WindowDoc = it.obj
            with self.at(it.where):
                service = services.get_service(self.s, w.service)
                if service is None:
                    raise InvalidInput(f"service: no service {w.service!r}")
                row: MaintenanceWindow | None = self.by_source("maintenance_window", w.source_id, MaintenanceWindow)
                if row is not None and row.service_id != service.id:
                    row = None
                row = row or self.s.execute(sa.select(MaintenanceWindow).where(
                    MaintenanceWindow.service_id == service.id, MaintenanceWindow.name == w.name.strip())
                    .order_by(MaintenanceWindow.created_at, MaintenanceWindow.id)).scalars().first()
                spec: dict[str, Any] = {"name": w.name.strip(), "starts_at": w.start, "ends_at": w.end, "recurrence": w.recurrence,
                        "timezone": w.time_zone, "until": w.until, "reason": w.reason.strip()}
                if row is None:
                    if w.recurrence == "none" and w.end <= self.now or w.until is not None and w.until <= self.now:
                        self.note(f"! maintenance_window {w.service}/{w.name}: over already, not created")
                        continue
                    row = routing.create_window(self.s, actor=self.actor, now=self.now, service=w.service, **spec)
                    self.add(f"+ maintenance_window {w.service}/{w.name}")
                else:
                    diffs = {k: v for k, v in spec.items() if getattr(row, k) != v}
                    if diffs:
                        routing.update_window(self.s, actor=self.actor, now=self.now, window=row, **diffs)
                        self.changed("maintenance_window", f"{w.service}/{w.name}",
                                     [WINDOW_FIELDS[k] for k in diffs])
                self.remember("maintenance_window", w.source_id, row.id)

    # --- prune -----------------------------------------------------------------------------------

    def prune_windows(self, items: list[Item]) -> None:
        keep = {(it.obj.service, it.obj.name.strip()) for it in items}
        slugs = {sid: slug for sid, slug in self.s.execute(sa.select(Service.id, Service.slug))}
        for row in self.s.execute(sa.select(MaintenanceWindow).order_by(MaintenanceWindow.created_at)).scalars():
            if (slugs.get(row.service_id), row.name) not in keep:
                routing.delete_window(self.s, actor=self.actor, now=self.now, window=row)
                self.add(f"- maintenance_window {slugs.get(row.service_id)}/{row.name}")

    def prune_services(self, items: list[Item]) -> None:
        keep = {it.obj.slug for it in items}
        for row in self.s.execute(sa.select(Service).where(Service.drill.is_(False)).order_by(Service.slug)).scalars():
            if row.slug in keep:
                continue
            alerts = self.s.execute(sa.select(sa.func.count()).select_from(Alert)
                                    .where(Alert.service_id == row.id)).scalar_one()
            if alerts:
                self.note(f"! service {row.slug}: not removed, it has {alerts} alert(s) of history")
                continue
            with self.at(f"service {row.slug}"):
                catalog.delete_service(self.s, actor=self.actor, now=self.now, service=row)
            self.add(f"- service {row.slug}")

    def prune_policies(self, items: list[Item]) -> None:
        keep = {it.obj.slug for it in items}
        for row in escalation.list_policies(self.s):
            if row.slug not in keep:
                with self.at(f"escalation_policy {row.slug}"):
                    escalation.delete_policy(self.s, actor=self.actor, now=self.now, policy=row)
                self.add(f"- escalation_policy {row.slug}")

    def prune_schedules(self, items: list[Item]) -> None:
        keep = {it.obj.slug for it in items}
        for row in oncall.list_schedules(self.s):
            if row.slug not in keep:
                with self.at(f"schedule {row.slug}"):
                    refuse_if_used(self.s, row)
                    oncall.delete_schedule(self.s, actor=self.actor, now=self.now, schedule=row)
                self.add(f"- schedule {row.slug}")

    def prune_teams(self, items: list[Item]) -> None:
        keep = {it.obj.slug for it in items}
        for row in self.s.execute(sa.select(Team).order_by(Team.slug)).scalars():
            if row.slug in keep:
                continue
            wanted = str(row.id)
            for (targets,) in self.s.execute(sa.select(EscalationLevel.targets)):
                if any(t.get("type") == "team" and t.get("id") == wanted for t in targets or []):
                    raise InvalidInput(f"team {row.slug}: an escalation policy pages this team; change it first")
            record(self.s, actor=self.actor, action="team.delete", target_type="team", target_id=row.id,
                   now=self.now, details={"slug": row.slug, "name": row.name, "via": "config apply"})
            self.s.delete(row)
            self.s.flush()
            self.add(f"- team {row.slug}")

    def prune_users(self, items: list[Item]) -> None:
        keep = {it.obj.email.strip().lower() for it in items}
        for row in self.s.execute(sa.select(User).where(User.is_active.is_(True),
                                                        User.org_role != OrgRole.guest.value)
                                  .order_by(User.email)).scalars():
            if row.email in keep:
                continue
            if row.id == self.actor.user_id:
                self.note(f"! user {row.email}: not deactivated, it is you")
                continue
            if row.org_role == OrgRole.admin.value and self.admins() <= 1:
                self.note(f"! user {row.email}: not deactivated, it is the last admin")
                continue
            users.set_active(self.s, actor=self.actor, now=self.now, user=row, active=False)
            self.add(f"- user {row.email} (deactivated)")


WINDOW_FIELDS = {"name": "name", "starts_at": "start", "ends_at": "end", "recurrence": "recurrence",
                 "timezone": "time_zone", "until": "until", "reason": "reason"}


def url_address(method: ContactMethod) -> bool:
    """Whether the method's address is a URL: a credential for webhook-style destinations, which export
    leaves out and prune leaves alone."""
    return method.type in ("webhook", "teams", "apprise") or "://" in method.address


def find_method(methods: list[ContactMethod], contact: str) -> ContactMethod | None:
    """A user's contact method by label, else the first of that type."""
    for m in methods:
        if m.label and m.label == contact:
            return m
    for m in methods:
        if m.type == contact:
            return m
    return None


def restrictions_of(items: list[Any]) -> list[dict[str, Any]]:
    out = []
    for r in items:
        r = r if isinstance(r, dict) else r.model_dump()
        out.append({"days": sorted(set(r["days"])), "start": r["start"], "end": r["end"]})
    return out


def layer_spec(layer: LayerDoc) -> dict[str, Any]:
    """create_layer/update_layer's arguments for a document layer."""
    return {"name": layer.name, "kind": layer.rotation, "timezone": layer.time_zone, "start": layer.start,
            "shift_hours": layer.shift_hours if layer.rotation == "custom" else 24,
            "members": [m.strip().lower() for m in layer.members],
            "restrictions": restrictions_of(list(layer.restrictions)), "shadow": layer.shadow}


def layer_diffs(row: ScheduleLayer, emails: list[str], layer: LayerDoc) -> list[str]:
    diffs = []
    if row.name != layer.name.strip():
        diffs.append("name")
    if row.rotation_kind != layer.rotation:
        diffs.append("rotation")
    if row.rotation_kind == "custom" and layer.rotation == "custom" and row.shift_hours != layer.shift_hours:
        diffs.append("shift_hours")
    if row.rotation_timezone != layer.time_zone:
        diffs.append("time_zone")
    if row.rotation_start != layer.start:
        diffs.append("start")
    if emails != [m.strip().lower() for m in layer.members]:
        diffs.append("members")
    if restrictions_of(list(row.restrictions or [])) != restrictions_of(list(layer.restrictions)):
        diffs.append("restrictions")
    if bool(row.shadow) != layer.shadow:
        diffs.append("shadow")
    return diffs


def policy_levels(session: Session, policy: EscalationPolicy) -> list[tuple[int, list[tuple[str, str]]]]:
    """A stored policy's levels as (delay, [(type, slug or email)])."""
    levels = escalation.list_levels(session, [policy.id])[policy.id]
    names = escalation.target_names(session, levels)
    return [(lv.delay_minutes, [(t["type"], names.get(t["id"], "?")) for t in lv.targets]) for lv in levels]


def policy_level_diffs(current: list[tuple[int, list[tuple[str, str]]]], p: PolicyDoc) -> list[str]:
    diffs = []
    for i in range(max(len(current), len(p.levels))):
        if i >= len(current) or i >= len(p.levels):
            diffs.append(f"levels[{i}]")
            continue
        delay, targets = current[i]
        if delay != p.levels[i].delay_minutes:
            diffs.append(f"levels[{i}].delay_minutes")
        if targets != [t.kind_key() for t in p.levels[i].targets]:
            diffs.append(f"levels[{i}].targets")
    return diffs
