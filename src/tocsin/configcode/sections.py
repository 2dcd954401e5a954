"""Apply and export status pages (with their components), runbooks and comms templates, through
statuspage.service, runbooks.service and comms.templates like the API.

A component is known by its name within its group (or the page); its position follows the
document's order. Components the document no longer lists go only with prune (their uptime
history goes with them). A component's status is not configuration: apply never sets it.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.checks.models import Check
from tocsin.comms import templates
from tocsin.comms.models import CommsTemplate
from tocsin.configcode.document import CommsTemplateDoc, ComponentDoc, Document, RunbookDoc, StatusPageDoc
from tocsin.errors import InvalidInput
from tocsin.runbooks import service as runbooks
from tocsin.runbooks.models import Runbook
from tocsin.services.models import Service
from tocsin.statuspage import service as statuspage
from tocsin.statuspage.models import StatusComponent, StatusPage
from tocsin.teams.models import Team


def apply_sections(run: Any, doc: Document) -> None:
    _pages(run, doc)
    _runbooks(run, doc)
    _templates(run, doc)


# --- status pages --------------------------------------------------------------------------------

def _check_id(s: Session, name: str | None, where: str) -> uuid.UUID | None:
    if name is None:
        return None
    ids = list(s.execute(sa.select(Check.id).where(Check.name == name.strip())).scalars())
    if len(ids) != 1:
        raise InvalidInput(f"{where}.check: {'no' if not ids else 'more than one'} check named {name!r}")
    return ids[0]


def _service_id(s: Session, slug: str | None, where: str) -> uuid.UUID | None:
    if slug is None:
        return None
    found = s.execute(sa.select(Service.id).where(Service.slug == slug)).scalar_one_or_none()
    if found is None:
        raise InvalidInput(f"{where}.service: no service {slug!r}")
    return found


def _pages(run: Any, doc: Document) -> None:
    s = run.s
    for it in doc.items("status_pages"):
        pd: StatusPageDoc = it.obj
        with run.at(it.where):
            page: StatusPage | None = run.by_source("status_page", pd.source_id, StatusPage) or statuspage.get_page(
                s, pd.slug)
            wanted: dict[str, Any] = {"slug": pd.slug, "name": pd.name.strip(), "description": pd.description.strip(),
                      "logo_url": pd.logo_url or None, "public_url": pd.public_url or None, "time_zone": pd.time_zone}
            fields: list[str] = []
            new = page is None
            if page is None:
                page = statuspage.create_page(s, actor=run.actor, now=run.now, **wanted)
                run.add(f"+ status_page {pd.slug}")
            else:
                changes = {k: v for k, v in wanted.items() if getattr(page, k) != v}
                if changes:
                    statuspage.update_page(s, actor=run.actor, now=run.now, page=page, changes=changes)
                    fields += list(changes)
            fields += _components(run, page, pd, it.where)
            if not new:
                run.changed("status_page", pd.slug, fields)
            run.remember("status_page", pd.source_id, page.id)


def _components(run: Any, page: StatusPage, pd: StatusPageDoc, where: str) -> list[str]:
    s = run.s
    current = statuspage.list_components(s, page)
    groups = {c.id: c for c in current if c.is_group}
    by_key = {(groups[c.group_id].name if c.group_id in groups else None, c.name): c for c in current}
    fields: list[str] = []
    named: list[StatusComponent] = []

    def one(cd: ComponentDoc, group: StatusComponent | None, here: str) -> StatusComponent:
        is_group = cd.components is not None
        if group is not None and is_group:
            raise InvalidInput(f"{here}: groups are not nested")
        spec: dict[str, Any] = {"description": cd.description.strip(), "service_id": _service_id(s, cd.service, here),
                "check_id": _check_id(s, cd.check, here), "only_show_if_degraded": cd.only_show_if_degraded}
        row = by_key.get((group.name if group else None, cd.name.strip()))
        if row is not None and row.is_group != is_group:
            raise InvalidInput(f"{here}: {cd.name!r} is {'a group' if row.is_group else 'a component'} on the page; "
                               "remove it first to change that")
        with run.at(here):
            if row is None:
                row = statuspage.create_component(s, actor=run.actor, now=run.now, page=page, name=cd.name,
                                                  group=group, is_group=is_group, **spec)
                fields.append(here.rsplit(": ", 1)[-1])
            else:
                changes: dict[str, Any] = {k: v for k, v in spec.items() if getattr(row, k) != v}
                if row.group_id != (group.id if group else None):
                    changes["group"] = group
                if changes:
                    statuspage.update_component(s, actor=run.actor, now=run.now, component=row, changes=changes)
                    fields.extend(f"{here.rsplit(': ', 1)[-1]}.{k}" for k in changes)
        named.append(row)
        return row

    for i, cd in enumerate(pd.components):
        here = f"{where}: components[{i}]"
        row = one(cd, None, here)
        for j, child in enumerate(cd.components or []):
            one(child, row, f"{here}.components[{j}]")
    shown = [c.id for c in sorted(named, key=lambda c: (c.position, c.id))]
    if shown != [c.id for c in named]:  # the document's order is the display order
        for n, c in enumerate(named, start=1):
            if c.position != n:
                statuspage.update_component(s, actor=run.actor, now=run.now, component=c, changes={"position": n})
        fields.append("components (order)")
    ids = {c.id for c in named}
    if run.prune:
        for c in current:
            if c.id not in ids and (c.group_id is None or c.group_id in ids):
                statuspage.delete_component(s, actor=run.actor, now=run.now, component=c)
                fields.append(f"components (removed {c.name})")
    return fields


# --- runbooks ------------------------------------------------------------------------------------

def _runbook_state(s: Session, rb: Runbook) -> dict[str, Any]:
    links = runbooks.links_of(s, [rb.id])[rb.id]
    team = s.get(Team, rb.team_id) if rb.team_id else None
    return {"title": rb.title, "team": team.slug if team else None, "body_md": rb.body_md,
            "services": sorted(x.slug for x in links.services), "matchers": [str(m) for m in links.matchers]}


def _runbooks(run: Any, doc: Document) -> None:
    s = run.s
    for it in doc.items("runbooks"):
        rd: RunbookDoc = it.obj
        with run.at(it.where):
            wanted: dict[str, Any] = {"title": rd.title.strip(), "team": rd.team, "body_md": rd.body_md,
                      "services": sorted(set(rd.services)),
                      "matchers": [str(m) for m in runbooks.check_matchers(rd.matchers)]}
            row: Runbook | None = run.by_source("runbook", rd.source_id, Runbook) or runbooks.get_runbook(s, rd.slug)
            if row is None:
                row = runbooks.create_runbook(s, actor=run.actor, now=run.now, slug=rd.slug, title=rd.title,
                                              team=rd.team, body_md=rd.body_md, services=rd.services,
                                              matchers=rd.matchers)
                run.add(f"+ runbook {rd.slug}")
            else:
                current = _runbook_state(s, row)
                changes: dict[str, Any] = {k: v for k, v in wanted.items() if current[k] != v}
                if row.slug != rd.slug:
                    changes["slug"] = rd.slug
                if changes:
                    if "matchers" in changes:
                        changes["matchers"] = list(rd.matchers)
                    runbooks.update_runbook(s, actor=run.actor, now=run.now, runbook=row, changes=changes)
                    run.changed("runbook", rd.slug, list(changes))
            run.remember("runbook", rd.source_id, row.id)


# --- comms templates -----------------------------------------------------------------------------

def _template_input(td: CommsTemplateDoc) -> templates.TemplateInput:
    return templates.TemplateInput(slug=td.slug, name=td.name, channel=td.channel, severities=list(td.severities),
                                   kind=td.kind, subject=td.subject, body=td.body)


def _templates(run: Any, doc: Document) -> None:
    s = run.s
    if not doc.present("comms_templates"):
        return
    current = {t.slug: t for t in templates.list_templates(s, run.now)}
    for it in doc.items("comms_templates"):
        td: CommsTemplateDoc = it.obj
        with run.at(it.where):
            data = templates.check(_template_input(td))
            row: CommsTemplate | None = run.by_source("comms_template", td.source_id, CommsTemplate) or current.get(
                td.slug)
            if row is None:
                row = templates.create(s, data, actor=run.actor, now=run.now)
                run.add(f"+ comms_template {td.slug}")
            else:
                diffs = [k for k in ("slug", "name", "channel", "severities", "kind", "subject", "body")
                         if getattr(row, k) != getattr(data, k)]
                if diffs:
                    templates.update(s, row, data, actor=run.actor, now=run.now)
                    run.changed("comms_template", td.slug, diffs)
            run.remember("comms_template", td.source_id, row.id)


# --- prune and export ----------------------------------------------------------------------------

def prune_sections(run: Any, doc: Document) -> None:
    s = run.s
    if doc.present("comms_templates"):
        keep = {it.obj.slug for it in doc.items("comms_templates")}
        for row in templates.list_templates(s, run.now):
            if row.slug not in keep:
                templates.delete(s, row, actor=run.actor, now=run.now)
                run.add(f"- comms_template {row.slug}")
    if doc.present("runbooks"):
        keep = {it.obj.slug for it in doc.items("runbooks")}
        for rb in runbooks.list_runbooks(s):
            if rb.slug not in keep:
                runbooks.delete_runbook(s, actor=run.actor, now=run.now, runbook=rb)
                run.add(f"- runbook {rb.slug}")
    if doc.present("status_pages"):
        keep = {it.obj.slug for it in doc.items("status_pages")}
        for page in statuspage.list_pages(s):
            if page.slug not in keep:
                statuspage.delete_page(s, actor=run.actor, now=run.now, page=page)
                run.add(f"- status_page {page.slug}")


def export_sections(session: Session, *, now: Any, sources: dict[uuid.UUID, str]) -> dict[str, Any]:
    def src(obj: dict[str, Any], object_id: uuid.UUID) -> dict[str, Any]:
        if object_id in sources:
            obj["source_id"] = sources[object_id]
        return obj

    slugs = dict(session.execute(sa.select(Service.id, Service.slug)).all())
    checks = dict(session.execute(sa.select(Check.id, Check.name)).all())

    def component(c: StatusComponent, children: list[StatusComponent] | None) -> dict[str, Any]:
        out: dict[str, Any] = {"name": c.name}
        if c.description:
            out["description"] = c.description
        if c.service_id in slugs:
            out["service"] = slugs[c.service_id]
        if c.check_id in checks:
            out["check"] = checks[c.check_id]
        if c.only_show_if_degraded:
            out["only_show_if_degraded"] = True
        if children is not None:
            out["components"] = [component(x, None) for x in children]
        return out

    pages = []
    for page in sorted(statuspage.list_pages(session), key=lambda p: p.slug):
        rows = statuspage.list_components(session, page)
        item: dict[str, Any] = {"slug": page.slug, "name": page.name}
        if page.description:
            item["description"] = page.description
        for key in ("logo_url", "public_url"):
            if getattr(page, key):
                item[key] = getattr(page, key)
        item["time_zone"] = page.time_zone
        item["components"] = [component(c, [x for x in rows if x.group_id == c.id] if c.is_group else None)
                              for c in rows if c.group_id is None]
        pages.append(src(item, page.id))
    books = []
    for rb in sorted(runbooks.list_runbooks(session), key=lambda r: r.slug):
        state = _runbook_state(session, rb)
        item = {"slug": rb.slug, "title": rb.title}
        if state["team"]:
            item["team"] = state["team"]
        item["body_md"] = rb.body_md
        if state["services"]:
            item["services"] = state["services"]
        if state["matchers"]:
            item["matchers"] = state["matchers"]
        books.append(src(item, rb.id))
    comms = [src({"slug": t.slug, "name": t.name, "channel": t.channel,
                  **({"severities": list(t.severities)} if t.severities else {}), "kind": t.kind,
                  "subject": t.subject, "body": t.body}, t.id)
             for t in sorted(templates.list_templates(session, now), key=lambda t: t.slug)]
    return {"status_pages": pages, "runbooks": books, "comms_templates": comms}
