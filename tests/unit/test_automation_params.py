"""Approved actions' typed parameters and the allow-list's argv substitution: values are typed and
checked, and a placeholder becomes exactly one argv item whatever it holds (no shell anywhere)."""

from __future__ import annotations

import pytest

from tocsin.automation import commands, params
from tocsin.errors import InvalidInput

SCHEMA = params.check_schema([{"name": "host", "type": "string", "required": True, "pattern": "[a-z0-9.-]+"},
                              {"name": "note", "type": "string"}, {"name": "count", "type": "integer"},
                              {"name": "dry", "type": "boolean"},
                              {"name": "zone", "type": "choice", "choices": ["eu", "us"]}])


def field_of(schema, given):
    with pytest.raises(InvalidInput) as caught:
        params.validate(schema, given)
    return caught.value.details["field"]


def test_values_are_typed_and_form_strings_are_read_as_their_type():
    assert params.validate(SCHEMA, {"host": "web-1", "count": "12", "dry": "on", "zone": "us", "note": ""}) == \
        {"host": "web-1", "count": 12, "dry": True, "zone": "us"}  # an empty field is not given
    assert params.validate(SCHEMA, {"host": "web-1", "count": -3, "dry": False, "zone": ""}) == \
        {"host": "web-1", "count": -3, "dry": False}


@pytest.mark.parametrize(("given", "field"), [
    ({}, "params.host"), ({"host": "web 1"}, "params.host"), ({"host": 7}, "params.host"),
    ({"host": "a", "count": "1.5"}, "params.count"), ({"host": "a", "count": True}, "params.count"),
    ({"host": "a", "count": 10 ** 19}, "params.count"), ({"host": "a", "dry": "perhaps"}, "params.dry"),
    ({"host": "a", "zone": "EU"}, "params.zone"), ({"host": "a", "extra": "1"}, "params.extra"),
    ({"host": "a", "note": "x" * 1001}, "params.note"),
])
def test_a_value_that_does_not_fit_names_its_field(given, field):
    assert field_of(SCHEMA, given) == field


@pytest.mark.parametrize(("schema", "field"), [
    ("nope", "params_schema"), ([{"name": "Host", "type": "string"}], "params_schema[0]"),
    ([{"name": "a", "type": "float"}], "params_schema[0]"), ([{"name": "a", "type": "choice"}], "params_schema[0]"),
    ([{"name": "a", "type": "string"}, {"name": "a", "type": "integer"}], "params_schema[1]"),
    ([{"name": "a", "type": "string", "pattern": "("}], "params_schema[0]"),
    ([{"name": "a", "type": "integer", "pattern": "[0-9]"}], "params_schema[0]"),
    ([{"name": "a", "type": "string", "default": "x"}], "params_schema[0]"),
])
def test_a_schema_that_does_not_hold_together_is_refused(schema, field):
    with pytest.raises(InvalidInput) as caught:
        params.check_schema(schema)
    assert caught.value.details["field"] == field


def test_a_hostile_value_stays_one_argv_item():
    argv = commands.parse('restart: ["/usr/bin/systemctl", "restart", "{host}", "--", "{note}"]')["restart"]
    values = params.validate(params.check_schema([{"name": "host", "type": "string"},
                                                  {"name": "note", "type": "string"}]),
                             {"host": "; rm -rf /", "note": "$(reboot) `id` && echo"})
    assert commands.resolve(argv, values) == ["/usr/bin/systemctl", "restart", "; rm -rf /", "--",
                                              "$(reboot) `id` && echo"]
    assert commands.resolve(argv, {}) == ["/usr/bin/systemctl", "restart", "", "--", ""]


@pytest.mark.parametrize("text", [
    'x: "/bin/echo hi"',  # a command line, not an argv
    'x: ["echo", "hi"]',  # not an absolute path
    'x: ["/bin/echo", "--host={host}"]',  # a placeholder glued into a larger item
    'x: []', '"bad name!": ["/bin/true"]', '- /bin/true', 'x: [": ["',
])
def test_the_allow_list_is_argv_lists_with_whole_item_placeholders(text):
    with pytest.raises(commands.AllowListError):
        commands.parse(text)


def test_no_allow_list_file_means_no_commands(tmp_path):
    assert commands.load(None) == {}
    with pytest.raises(commands.AllowListError, match="cannot read"):
        commands.load(tmp_path / "missing.yaml")
    with pytest.raises(InvalidInput, match="host"):
        commands.check_fits(("/bin/echo", "{host}"), [], "echo")
