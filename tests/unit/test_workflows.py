"""Incident workflows and types, the pure parts: which workflows a trigger starts, custom field
definitions and values checked against a type, and the console's step lines."""

from __future__ import annotations

import pytest

from tocsin.errors import InvalidInput
from tocsin.web.routes.workflow_pages import parse_checklist, parse_fields, parse_steps, steps_text
from tocsin.workflows.match import Event, Filters, matches
from tocsin.workflows.types_service import DEFAULT_TYPES, check_definitions, check_fields


def flt(trigger="declared", to_status=None, kinds=(), severities=(), types=()):
    return Filters(trigger, to_status, list(kinds), list(severities), list(types))


def ev(trigger="declared", kind="operational", severity="SEV1", incident_type=None, to_status=None):
    return Event(trigger, kind, severity, incident_type, to_status)


@pytest.mark.parametrize(("f", "e", "runs"), [
    (flt(), ev(), True),  # empty filters: any incident
    (flt(severities=["SEV1", "SEV2"]), ev(severity="SEV2"), True),
    (flt(severities=["SEV1"]), ev(severity="SEV3"), False),
    (flt(kinds=["security"]), ev(kind="operational"), False),
    (flt(types=["data-loss"]), ev(incident_type=None), False),  # a type filter wants a typed incident
    (flt(types=["data-loss"]), ev(incident_type="data-loss"), True),
    (flt(), ev(trigger="status_changed", to_status="resolved"), False),  # another trigger
    (flt("status_changed"), ev(trigger="status_changed", to_status="resolved"), True),  # any status
    (flt("status_changed", "mitigated"), ev(trigger="status_changed", to_status="resolved"), False),
    (flt("status_changed", "mitigated"), ev(trigger="status_changed", to_status="mitigated"), True),
])
def test_which_workflows_a_trigger_starts(f, e, runs):
    assert matches(f, e) is runs


DEFS = check_definitions([
    {"key": "vendor", "label": "Vendor", "type": "text", "required": True},
    {"key": "records", "label": "Records", "type": "number"},
    {"key": "public", "label": "Public", "type": "boolean"},
    {"key": "region", "label": "Region", "type": "choice", "choices": ["eu", "us"]},
])


def test_values_are_checked_and_converted_against_the_type():
    assert check_fields(DEFS, {"vendor": " Acme ", "records": "1200", "public": "yes", "region": "eu"}) == {
        "vendor": "Acme", "records": 1200, "public": True, "region": "eu"}
    assert check_fields(DEFS, {"vendor": "Acme", "records": 2.5, "public": False, "region": ""}) == {
        "vendor": "Acme", "records": 2.5, "public": False}  # a blank optional value is left out


@pytest.mark.parametrize(("values", "field", "words"), [
    ({}, "vendor", "Vendor is required"),
    ({"vendor": "Acme", "records": "many"}, "records", "Records: a number"),
    ({"vendor": "Acme", "records": "nan"}, "records", "Records: a number"),
    ({"vendor": "Acme", "records": True}, "records", "Records: a number"),
    ({"vendor": "Acme", "records": 10 ** 400}, "records", "Records: a number"),
    ({"vendor": "Acme", "public": "perhaps"}, "public", "Public: yes or no"),
    ({"vendor": "Acme", "region": "apac"}, "region", "Region: one of eu, us"),
    ({"vendor": "Acme", "colour": "red"}, "colour", "unknown custom field 'colour'"),
])
def test_bad_values_name_their_field(values, field, words):
    with pytest.raises(InvalidInput) as e:
        check_fields(DEFS, values)
    assert e.value.details["field"] == field and words in e.value.message


def test_a_quick_declaration_leaves_required_fields_for_later():
    assert check_fields(DEFS, {}, partial=True) == {}


@pytest.mark.parametrize(("defs", "words"), [
    ([{"key": "a b", "type": "text"}], "the key is letters"),
    ([{"key": "a"}, {"key": "a"}], "used twice"),
    ([{"key": "a", "type": "date"}], "is not one of text, number, choice, boolean"),
    ([{"key": "a", "type": "choice"}], "needs choices"),
])
def test_bad_definitions_are_refused(defs, words):
    with pytest.raises(InvalidInput) as e:
        check_definitions(defs)
    assert words in e.value.message


def test_the_shipped_types_are_valid():
    for spec in DEFAULT_TYPES:
        assert check_definitions(spec["custom_fields"]) == spec["custom_fields"]


def test_step_lines_round_trip_and_errors_name_the_step():
    text = ("page_team | dba | Join the room\nadd_role | scribe | sam@example.test\n\n"
            "add_role | incident_commander | schedule:primary\npost_template | sev1-update\ncreate_chat_channel\n"
            "open_checklist\nrun_action | restart-web | env=prod, region=eu")
    steps = parse_steps(text)
    assert steps[0] == {"kind": "page_team", "team": "dba", "message": "Join the room"}
    assert steps[2] == {"kind": "add_role", "role": "incident_commander", "schedule": "primary"}
    assert steps[6] == {"kind": "run_action", "action": "restart-web", "params": {"env": "prod", "region": "eu"}}
    assert parse_steps(steps_text(steps)) == steps
    with pytest.raises(InvalidInput) as e:
        parse_steps("open_checklist\npage_teams | dba")
    assert e.value.message.startswith("step 2:") and e.value.details["step"] == 1


def test_field_and_checklist_lines():
    assert parse_fields("vendor | Vendor | text | required\nregion | Region | choice | optional | eu, us") == [
        {"key": "vendor", "label": "Vendor", "type": "text", "required": True, "choices": []},
        {"key": "region", "label": "Region", "type": "choice", "required": False, "choices": ["eu", "us"]}]
    assert parse_checklist("template: Default containment") == {"template": "Default containment"}
    assert parse_checklist("Stop the loss\n\nList records") == ["Stop the loss", "List records"]
