"""Apply and export the alert-rule sections: silences, routing rules (in order: the first match
wins) and auto-incident rules, through routing.service like the API.

Silences are known by their matchers and reason; a silence that has ended is history and is never
touched; prune expires (does not delete) a silence the files no longer name. Routing rules take the
files' order (rules the files do not name keep their place after them, unless pruned).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.configcode.document import AutoIncidentRuleDoc, Document, RoutingRuleDoc, SilenceDoc
from tocsin.errors import InvalidInput
from tocsin.routing import service as routing
from tocsin.routing.matchers import load
from tocsin.routing.models import AutoIncidentRule, RoutingRule, Silence
from tocsin.services.models import Service
from tocsin.severities import parse_severity


def stored_matchers(specs: list[Any], where: str) -> list[dict[str, str]]:
    try:
        return routing.parse_matcher_specs(list(specs))
    except InvalidInput as exc:
        raise InvalidInput(f"{where}.{exc.message}") from None


def _find(run: Any, kind: str, source_id: str | None, model: type[Any], candidates: list[Any], name: str) -> Any:
    row = run.by_source(kind, source_id, model)
    if row is not None:
        return row
    return next((r for r in candidates if r.name == name.strip()), None)


def apply_rules(run: Any, doc: Document) -> None:
    _silences(run, doc)
    _routing(run, doc)
    _auto(run, doc)


def _silences(run: Any, doc: Document) -> None:
    s, now = run.s, run.now
    live = list(s.execute(sa.select(Silence).where(Silence.ends_at > now).order_by(Silence.created_at)).scalars())
    for it in doc.items("silences"):
        sd: SilenceDoc = it.obj
        stored = stored_matchers(sd.matchers, it.where + ".matchers")
        label = f"{routing.matchers_text(stored)} ({sd.reason.strip()})"
        with run.at(it.where):
            row = run.by_source("silence", sd.source_id, Silence)
            if row is not None and row.ends_at <= now:
                row = None
            row = row or next((x for x in live if x.matchers == stored and x.reason == sd.reason.strip()), None)
            if row is None:
                if sd.end <= now:
                    run.note(f"! silence {label}: over already, not created")
                    continue
                row = routing.create_silence(s, actor=run.actor, now=now, matchers=stored, ends_at=sd.end,
                                             reason=sd.reason, starts_at=sd.start)
                live.append(row)
                run.add(f"+ silence {label}")
            else:
                fields = []
                if row.matchers != stored:
                    fields.append("matchers")
                if row.reason != sd.reason.strip():
                    fields.append("reason")
                if row.ends_at != sd.end:
                    fields.append("end")
                if fields:
                    row = routing.update_silence(s, actor=run.actor, now=now, silence=row, matchers=stored,
                                                 ends_at=sd.end, reason=sd.reason)
                    run.changed("silence", label, fields)
            run.remember("silence", sd.source_id, row.id)


def _routing(run: Any, doc: Document) -> None:
    if not doc.present("routing_rules"):
        return
    s, now = run.s, run.now
    current = routing.list_routing_rules(s)
    order: list[uuid.UUID] = []
    for it in doc.items("routing_rules"):
        rd: RoutingRuleDoc = it.obj
        stored = stored_matchers(rd.matchers, it.where + ".matchers")
        with run.at(it.where):
            row = _find(run, "routing_rule", rd.source_id, RoutingRule, current, rd.name)
            if row is None:
                row = routing.create_routing_rule(s, actor=run.actor, now=now, name=rd.name, matchers=stored,
                                                  service=rd.service, urgency=rd.urgency)
                run.add(f"+ routing_rule {rd.name}")
            else:
                kwargs: dict[str, Any] = {}
                if row.name != rd.name.strip():
                    kwargs["name"] = rd.name
                if row.matchers != stored:
                    kwargs["matchers"] = stored
                target = s.get(Service, row.service_id) if row.service_id else None
                if (target.slug if target else None) != rd.service:
                    kwargs["service"] = rd.service
                if row.urgency != rd.urgency:
                    kwargs["urgency"] = rd.urgency
                if kwargs:
                    routing.update_routing_rule(s, actor=run.actor, now=now, rule=row, **kwargs)
                    run.changed("routing_rule", rd.name, list(kwargs))
            order.append(row.id)
            run.remember("routing_rule", rd.source_id, row.id)
    rest = [r for r in routing.list_routing_rules(s) if r.id not in set(order)]
    if run.prune:
        for r in rest:
            routing.delete_routing_rule(s, actor=run.actor, now=now, rule=r)
            run.add(f"- routing_rule {r.name}")
        rest = []
    wanted = order + [r.id for r in rest]
    if [r.id for r in routing.list_routing_rules(s)] != wanted or \
            [r.position for r in routing.list_routing_rules(s)] != list(range(len(wanted))):
        before = [r.id for r in routing.list_routing_rules(s)]
        routing.reorder_routing_rules(s, actor=run.actor, now=now, ids=wanted)
        if before != wanted:
            run.add("~ routing_rules: order")


def _auto(run: Any, doc: Document) -> None:
    s, now = run.s, run.now
    current = routing.list_auto_rules(s)
    for it in doc.items("auto_incident_rules"):
        ad: AutoIncidentRuleDoc = it.obj
        stored = stored_matchers(ad.matchers, it.where + ".matchers")
        with run.at(it.where):
            row = _find(run, "auto_incident_rule", ad.source_id, AutoIncidentRule, current, ad.name)
            if row is None:
                row = routing.create_auto_rule(s, actor=run.actor, now=now, name=ad.name, matchers=stored,
                                               incident_severity=ad.incident_severity,
                                               incident_kind=ad.incident_kind)
                run.add(f"+ auto_incident_rule {ad.name}")
            else:
                try:
                    severity = parse_severity(ad.incident_severity).value
                except ValueError as exc:
                    raise InvalidInput(f"incident_severity: {exc}") from None
                kwargs: dict[str, Any] = {}
                if row.name != ad.name.strip():
                    kwargs["name"] = ad.name
                if row.matchers != stored:
                    kwargs["matchers"] = stored
                if row.incident_severity != severity:
                    kwargs["incident_severity"] = severity
                if row.incident_kind != ad.incident_kind:
                    kwargs["incident_kind"] = ad.incident_kind
                if kwargs:
                    routing.update_auto_rule(s, actor=run.actor, now=now, rule=row, **kwargs)
                    run.changed("auto_incident_rule", ad.name, list(kwargs))
            run.remember("auto_incident_rule", ad.source_id, row.id)


def prune_rules(run: Any, doc: Document) -> None:
    s, now = run.s, run.now
    if doc.present("auto_incident_rules"):
        keep = {it.obj.name.strip() for it in doc.items("auto_incident_rules")}
        for row in routing.list_auto_rules(s):
            if row.name not in keep:
                routing.delete_auto_rule(s, actor=run.actor, now=now, rule=row)
                run.add(f"- auto_incident_rule {row.name}")
    if doc.present("silences"):
        keep_s = {(repr(routing.parse_matcher_specs(list(it.obj.matchers))), it.obj.reason.strip())
                  for it in doc.items("silences")}
        for row in s.execute(sa.select(Silence).where(Silence.ends_at > now).order_by(Silence.created_at)).scalars():
            if (repr(row.matchers), row.reason) not in keep_s:
                routing.expire_silence(s, actor=run.actor, now=now, silence=row)
                run.add(f"- silence {routing.matchers_text(row.matchers)} ({row.reason}) (expired)")


def _text(stored: list[dict[str, str]]) -> list[str]:
    """Matchers as the text people write (severity="critical"), which apply reads back the same."""
    return [str(m) for m in load(stored)]


def export_rules(session: Session, *, now: datetime, sources: dict[uuid.UUID, str]) -> dict[str, Any]:
    def src(obj: dict[str, Any], object_id: uuid.UUID) -> dict[str, Any]:
        if object_id in sources:
            obj["source_id"] = sources[object_id]
        return obj

    slugs = dict(session.execute(sa.select(Service.id, Service.slug)).all())
    silences = []
    for row in session.execute(sa.select(Silence).where(Silence.ends_at > now)
                               .order_by(Silence.created_at, Silence.id)).scalars():
        item: dict[str, Any] = {"matchers": _text(row.matchers)}
        if row.starts_at > now:
            item["start"] = row.starts_at.isoformat()
        item.update({"end": row.ends_at.isoformat(), "reason": row.reason})
        silences.append(src(item, row.id))
    routing_rules = []
    for r in routing.list_routing_rules(session):
        item = {"name": r.name, "matchers": _text(r.matchers)}
        if r.service_id in slugs:
            item["service"] = slugs[r.service_id]
        if r.urgency:
            item["urgency"] = r.urgency
        routing_rules.append(src(item, r.id))
    auto = [src({"name": r.name, "matchers": _text(r.matchers), "incident_severity": r.incident_severity,
                 "incident_kind": r.incident_kind}, r.id) for r in routing.list_auto_rules(session)]
    return {"silences": silences, "routing_rules": routing_rules, "auto_incident_rules": auto}
