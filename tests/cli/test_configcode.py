"""Configuration as code (docs/config-as-code.md): apply creates, updates, is idempotent, prunes,
dry-runs, remembers source ids and refuses bad documents with the place of the error."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import yaml

from tocsin.audit.models import AuditEntry
from tocsin.configcode.apply import apply_documents
from tocsin.db import Database
from tocsin.errors import InvalidInput
from tocsin.oncall import service as oncall
from tocsin.principal import Principal
from tocsin.services import service as services
from tocsin.users import service as users

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
CLI = Principal.system("cli")

CORE = {
    "version": 1,
    "users": [
        {"email": "alice@example.com", "name": "Alice Doe", "role": "admin", "time_zone": "Europe/Berlin",
         "contact_methods": [{"type": "sms", "address": "+4915112345678", "label": "mobile"},
                             {"type": "email", "address": "alice@example.com"}],
         "notification_rules": [{"contact": "email", "delay_minutes": 0, "urgency": "any"},
                                {"contact": "mobile", "delay_minutes": 2, "urgency": "high"}]},
        {"email": "bob@example.com", "name": "Bob", "role": "responder"},
        {"email": "carol@example.com", "name": "Carol", "role": "responder"},
    ],
    "teams": [{"slug": "payments", "name": "Payments", "members": ["alice@example.com", "bob@example.com"]}],
    "schedules": [{
        "slug": "payments-primary", "name": "Payments primary", "time_zone": "Europe/Berlin", "team": "payments",
        "layers": [{"name": "Weekly", "rotation": "weekly", "time_zone": "Europe/Berlin",
                    "start": "2026-11-30T09:00:00+01:00", "members": ["alice@example.com", "bob@example.com"],
                    "restrictions": [{"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}]}],
        "overrides": [{"user": "carol@example.com", "replaces": "alice@example.com",
                       "start": "2026-12-24T09:00:00Z", "end": "2026-12-27T09:00:00Z"}],
    }],
    "escalation_policies": [{"slug": "payments", "name": "Payments", "repeat": 1, "levels": [
        {"delay_minutes": 10, "targets": [{"schedule": "payments-primary"}, {"user": "alice@example.com"}]},
        {"delay_minutes": 15, "targets": [{"team": "payments"}]}]}],
    "services": [{"slug": "payments-api", "name": "Payments API", "team": "payments", "tier": 2,
                  "escalation_policy": "payments",
                  "integrations": [{"name": "alertmanager", "type": "alertmanager"}]}],
    "maintenance_windows": [{"service": "payments-api", "name": "db upgrade", "start": "2026-12-12T01:00:00Z",
                             "end": "2026-12-12T03:00:00Z"}],
}


def apply(db: Database, docs: list[dict], **kw) -> object:
    with db.unit_of_work() as s:
        return apply_documents(s, copy.deepcopy(docs), actor=CLI, now=kw.pop("now", NOW), **kw)


def audit_count(db: Database) -> int:
    with db.unit_of_work() as s:
        return s.execute(sa.select(sa.func.count()).select_from(AuditEntry)).scalar_one()


def test_core_sections_apply_then_apply_again_changes_nothing(db: Database) -> None:
    first = apply(db, [CORE])
    assert first.changes[:3] == ["+ user alice@example.com", "+ user bob@example.com", "+ user carol@example.com"]
    assert "+ schedule payments-primary" in first.changes and "+ service payments-api" in first.changes
    assert "+ maintenance_window payments-api/db upgrade" in first.changes
    (key,) = first.new_keys
    assert key.service == "payments-api" and key.type == "alertmanager" and key.key in key.endpoint
    # the SMS method is unverified: its rule waits, the email (the account's own address) pages at once
    assert any("notification_rules[1] waits" in n for n in first.notes)
    with db.unit_of_work() as s:
        schedule = oncall.require_schedule(s, "payments-primary")
        # Monday 2026-12-07 10:00 Berlin: week 2 of the rotation -> bob
        shift = oncall.on_call(s, schedule=schedule, at=datetime(2026, 12, 7, 9, 0, tzinfo=UTC), now=NOW)
        assert shift is not None and users.require_user(s, shift.user).email == "bob@example.com"
        assert services.require_service(s, "payments-api").escalation_policy_id is not None
    before = audit_count(db)
    second = apply(db, [CORE])
    assert second.changes == [] and second.new_keys == []
    assert audit_count(db) == before


def test_updates_print_the_changed_fields_and_dry_run_writes_nothing(db: Database) -> None:
    apply(db, [CORE])
    doc = copy.deepcopy(CORE)
    doc["schedules"][0]["layers"][0]["members"] = ["bob@example.com", "alice@example.com"]
    doc["services"][0]["tier"] = 1
    doc["teams"][0]["members"].append("carol@example.com")
    before = audit_count(db)
    dry = apply(db, [doc], dry_run=True)
    assert dry.changes == ["~ team payments: members", "~ schedule payments-primary: layers[0].members",
                           "~ service payments-api: tier"]
    assert audit_count(db) == before
    assert apply(db, [doc]).changes == dry.changes
    assert audit_count(db) > before
    assert apply(db, [doc]).changes == []


def test_prune_removes_what_the_files_no_longer_name(db: Database) -> None:
    apply(db, [CORE])
    doc = copy.deepcopy(CORE)
    doc["teams"].append({"slug": "old", "name": "Old"})
    apply(db, [doc])
    assert apply(db, [CORE]).changes == []  # without --prune nothing goes
    result = apply(db, [{"version": 1, "teams": CORE["teams"], "users": CORE["users"][:2]}], prune=True)
    assert result.changes == ["- team old", "- user carol@example.com (deactivated)"]


def test_source_id_finds_a_renamed_object(db: Database) -> None:
    doc = copy.deepcopy(CORE)
    doc["services"][0]["source_id"] = "opsgenie:service:42"
    apply(db, [doc])
    doc["services"][0]["slug"] = "payments-gateway"
    doc["maintenance_windows"][0]["service"] = "payments-gateway"
    result = apply(db, [doc])
    assert result.changes == ["~ service payments-gateway: slug"]
    with db.unit_of_work() as s:
        assert services.get_service(s, "payments-api") is None
        assert services.get_service(s, "payments-gateway") is not None


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["services"][0].update(tier=7), "document 1: services[0].tier: Input should be less than or equal to 4"),
    (lambda d: d["schedules"][0]["layers"][0]["members"].append("nobody@example.com"),
     "document 1: schedules[0]: layers[0]: members[2]: no user 'nobody@example.com'"),
    (lambda d: d["escalation_policies"][0]["levels"][0]["targets"].append({"user": "x@example.com", "team": "a"}),
     "document 1: escalation_policies[0].levels[0].targets[2]: Value error, a target names exactly one"),
    (lambda d: d["users"][0].update(time_zone="Mars/Olympus"), "document 1: users[0]: time_zone: unknown time zone 'Mars/Olympus'"),
])
def test_bad_documents_name_the_place_and_change_nothing(db: Database, change, message: str) -> None:
    doc = copy.deepcopy(CORE)
    change(doc)
    with pytest.raises(InvalidInput) as err:
        apply(db, [doc])
    assert err.value.message.startswith(message), err.value.message
    with db.unit_of_work() as s:
        assert services.get_service(s, "payments-api") is None


def test_a_key_declared_in_two_files_names_both() -> None:
    from tocsin.configcode.document import parse

    team = {"slug": "payments", "name": "Payments"}
    with pytest.raises(InvalidInput, match=r"teams 'payments' is declared twice: a.yaml: teams\[0\] and "
                                           r"b.yaml: teams\[0\]"):
        parse([{"version": 1, "teams": [team]}, {"version": 1, "teams": [team]}], ["a.yaml", "b.yaml"])


def test_weekly_layer_in_berlin_keeps_its_local_handover_across_dst(db: Database) -> None:
    doc = {"version": 1, "users": CORE["users"][:2], "schedules": [{
        "slug": "dst", "name": "DST", "layers": [{
            "name": "Weekly", "rotation": "weekly", "time_zone": "Europe/Berlin",
            "start": "2027-03-22T09:00:00+01:00", "members": ["alice@example.com", "bob@example.com"]}]}]}
    now = datetime(2027, 3, 1, tzinfo=UTC)
    apply(db, [doc], now=now)
    with db.unit_of_work() as s:
        schedule = oncall.require_schedule(s, "dst")
        shifts = oncall.shifts(s, schedule=schedule, start=datetime(2027, 3, 22, 8, 0, tzinfo=UTC),
                               end=datetime(2027, 4, 6, tzinfo=UTC), now=now)
    # 09:00 CET is 08:00 UTC before 28 March, 09:00 CEST is 07:00 UTC after it
    assert [x.start for x in shifts[:3]] == [datetime(2027, 3, 22, 8, 0, tzinfo=UTC),
                                            datetime(2027, 3, 29, 7, 0, tzinfo=UTC),
                                            datetime(2027, 4, 5, 7, 0, tzinfo=UTC)]
    assert apply(db, [doc], now=now).changes == []



RULES = {
    "version": 1,
    "services": [{"slug": "web", "name": "Web"}],
    "routing_rules": [
        {"name": "web alerts", "matchers": ['team="web"'], "service": "web"},
        {"name": "quiet", "matchers": [{"name": "severity", "op": "=", "value": "info"}], "urgency": "low"}],
    "auto_incident_rules": [{"name": "critical web", "matchers": ['service="web"', 'severity="critical"'],
                             "incident_severity": "sev2"}],
    "silences": [{"matchers": ['alertname="Flappy"'], "end": "2026-12-08T00:00:00Z", "reason": "known flapper"}],
}


def test_alert_rules_apply_in_order_and_prune(db: Database) -> None:
    assert apply(db, [RULES]).changes == [
        "+ service web", "+ silence {alertname=\"Flappy\"} (known flapper)", "+ routing_rule web alerts",
        "+ routing_rule quiet", "+ auto_incident_rule critical web"]
    assert apply(db, [RULES]).changes == []
    doc = copy.deepcopy(RULES)
    doc["routing_rules"].reverse()
    doc["silences"][0]["end"] = "2026-12-09T00:00:00Z"
    assert apply(db, [doc]).changes == ['~ silence {alertname="Flappy"} (known flapper): end', "~ routing_rules: order"]
    with db.unit_of_work() as s:
        from tocsin.routing import service as routing
        assert [r.name for r in routing.list_routing_rules(s)] == ["quiet", "web alerts"]
    doc["routing_rules"] = doc["routing_rules"][:1]
    doc["silences"] = []
    assert apply(db, [doc], prune=True).changes == [
        "- routing_rule web alerts", '- silence {alertname="Flappy"} (known flapper) (expired)']


def test_export_then_apply_changes_nothing_on_the_demo_organisation(db: Database) -> None:
    from tocsin import demo
    from tocsin.clock import ManualClock
    from tocsin.config import Settings
    from tocsin.configcode.export import export_document

    with db.unit_of_work() as s:
        creds, demo_keys = demo.load(s, ManualClock(NOW - timedelta(days=1)), Settings())
    applied = apply(db, [CORE, RULES])  # plus everything the core document and the rules declare
    with db.unit_of_work() as s:
        exported = export_document(s, now=NOW)
    text = yaml.safe_dump(exported, sort_keys=False)
    secrets = [k.key for k in applied.new_keys] + [k.key for k in demo_keys] + [c.token for c in creds]
    assert secrets and not [x for x in secrets if x in text]
    again = apply(db, [yaml.safe_load(text)], prune=True)
    assert again.changes == [] and again.new_keys == []
    assert {u["email"] for u in exported["users"]} >= {"alice@example.com", "alice@demo.tocsin.dev"}
    assert exported["schedules"][0]["layers"][0]["start"].endswith("+01:00")  # in the rotation's own zone


PAGES = {
    "version": 1,
    "services": [{"slug": "web", "name": "Web"}],
    "status_pages": [{"slug": "acme", "name": "Acme Status", "time_zone": "Europe/Berlin", "components": [
        {"name": "Website", "service": "web"},
        {"name": "Backend", "components": [{"name": "API"}, {"name": "Jobs", "only_show_if_degraded": True}]}]}],
    "runbooks": [{"slug": "web-down", "title": "Web down", "services": ["web"], "matchers": ['alertname="WebDown"'],
                  "body_md": "1. Check the load balancer\n2. Roll back\n"}],
    "comms_templates": [{"slug": "short", "name": "Short", "channel": "internal", "severities": ["SEV1"],
                         "subject": "{{ ref }}", "body": "{{ title }} is {{ status }}"}],
}


def test_status_pages_runbooks_and_comms_templates(db: Database) -> None:
    first = apply(db, [PAGES])
    assert first.changes == ["+ service web", "+ status_page acme", "+ runbook web-down", "+ comms_template short"]
    assert apply(db, [PAGES]).changes == []
    doc = copy.deepcopy(PAGES)
    backend = doc["status_pages"][0]["components"][1]
    backend["components"].reverse()
    doc["runbooks"][0]["services"] = []
    doc["comms_templates"][0]["body"] = "{{ title }}: {{ status }}"
    assert apply(db, [doc]).changes == ["~ status_page acme: components (order)", "~ runbook web-down: services",
                                        "~ comms_template short: body"]
    doc["status_pages"][0]["components"].pop(0)
    assert apply(db, [doc], prune=True).changes[0] == "~ status_page acme: components (removed Website)"
    doc["comms_templates"][0]["subject"] = "{{ nope("
    with pytest.raises(InvalidInput, match=r"document 1: comms_templates\[0\]: .*subject does not render"):
        apply(db, [doc])


def test_prune_never_deactivates_the_last_admin(db: Database) -> None:
    apply(db, [{"version": 1, "users": CORE["users"]}])
    result = apply(db, [{"version": 1, "users": []}], prune=True)
    assert result.changes == ["- user bob@example.com (deactivated)", "- user carol@example.com (deactivated)"]
    assert result.notes == ["! user alice@example.com: not deactivated, it is the last admin"]
    again = apply(db, [{"version": 1, "users": CORE["users"]}])  # named again: back, as they were
    assert again.changes == ["~ user bob@example.com: active", "~ user carol@example.com: active"]


def test_a_webhook_address_is_never_exported_and_prune_keeps_it(db: Database) -> None:
    from tocsin.configcode.export import export_document
    from tocsin.contacts import service as contacts

    hook = "https://hooks.example.com/services/T000/B000/s3cr3t"
    doc = {"version": 1, "users": [{"email": "dan@example.com", "name": "Dan",
                                    "contact_methods": [{"type": "slack", "address": hook}]}]}
    apply(db, [doc])
    with db.unit_of_work() as s:
        exported = export_document(s, now=NOW)
    assert hook not in yaml.safe_dump(exported)
    assert apply(db, [exported], prune=True).changes == []
    with db.unit_of_work() as s:
        (method,) = contacts.list_methods(s, users.require_user(s, "dan@example.com").id)
        assert method.address == hook


def test_an_import_neither_promotes_demotes_nor_brings_back_existing_people(db: Database) -> None:
    # An Opsgenie (PagerDuty, OnCall) admin is not a tocsin admin: re-running an import, the documented
    # way to pick up changes, let whoever administers the source make anyone a tocsin admin, demote
    # tocsin's admins, and bring back people tocsin had deactivated.
    from tocsin.importers.common import ImportPlan
    from tocsin.importers.finish import finish_import

    people = [{"email": "root@example.com", "name": "Root", "role": "admin", "source_id": "opsgenie:user:1"},
              {"email": "ann@example.com", "name": "Ann", "role": "viewer"},
              {"email": "gone@example.com", "name": "Gone", "role": "responder"},
              {"email": "boss@example.com", "name": "Boss", "role": "admin"}]
    apply(db, [{"version": 1, "users": people}])
    with db.unit_of_work() as s:
        users.set_active(s, actor=CLI, now=NOW, user=users.get_user_by_email(s, "gone@example.com"), active=False)
    plan = ImportPlan(document={"version": 1, "users": [
        {**people[1], "role": "admin"}, {**people[2], "name": "Gone Again"}, {**people[3], "role": "responder"},
        {"email": "new@example.com", "name": "New", "role": "admin"},
        {"email": "intern@example.com", "name": "Root", "role": "viewer", "source_id": "opsgenie:user:1"}]})
    report = finish_import(db, plan, {}, source="opsgenie", now=NOW, dry_run=False, public_url="https://t.example")
    with db.unit_of_work() as s:
        got = {e: (u.org_role, u.is_active, u.name) for e in ("root@example.com", "ann@example.com", "boss@example.com",
                                                              "gone@example.com", "new@example.com")
               if (u := users.get_user_by_email(s, e))}
    assert got == {"root@example.com": ("admin", True, "Root"), "ann@example.com": ("viewer", True, "Ann"),
                   "boss@example.com": ("admin", True, "Boss"),
                   "gone@example.com": ("responder", False, "Gone Again"), "new@example.com": ("admin", True, "New")}
    assert "  ! user ann@example.com: role stays viewer (the import says admin): change it in tocsin" in report.lines
    assert "  ! user gone@example.com: deactivated in tocsin, left so by the import" in report.lines
    # nor move an account to another address (SSO signs in by it): the renamed source user is a new person
    assert "  ! user root@example.com: the source now calls them intern@example.com; root@example.com is left as it " \
        "is (change the email in tocsin if it is the same person)" in report.lines
    with db.unit_of_work() as s:
        intern = users.get_user_by_email(s, "intern@example.com")
        assert intern is not None and intern.org_role == "viewer"
