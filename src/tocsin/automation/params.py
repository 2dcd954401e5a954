"""Typed parameters of approved actions: the schema an admin defines, and a responder's values checked
against it. A schema is a list of {"name", "type" (string|integer|boolean|choice), "choices" (for
choice), "required", "pattern" (strings: a regular expression the whole value must match)}.
Errors are InvalidInput naming the field ("params.<name>", or "params_schema[i]" for the schema)."""

from __future__ import annotations

import re
from typing import Any

from tocsin.automation.types import ParamType
from tocsin.errors import InvalidInput

MAX_PARAMS = 20
MAX_VALUE = 1000
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, details={"field": field})


def check_schema(raw: Any) -> list[dict[str, Any]]:
    """The schema in its stored shape, or InvalidInput naming the faulty entry."""
    if not isinstance(raw, list):
        raise _bad("params_schema", "params_schema must be a list of parameters")
    if len(raw) > MAX_PARAMS:
        raise _bad("params_schema", f"an action may have at most {MAX_PARAMS} parameters")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        field = f"params_schema[{i}]"
        if not isinstance(item, dict):
            raise _bad(field, "each parameter is an object with a name and a type")
        unknown = set(item) - {"name", "type", "choices", "required", "pattern"}
        if unknown:
            raise _bad(field, f"unknown keys: {', '.join(sorted(unknown))}")
        name = item.get("name")
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise _bad(field, "name: lower-case letters, digits and _ (starting with a letter, at most 40)")
        if name in seen:
            raise _bad(field, f"parameter {name!r} is defined twice")
        seen.add(name)
        try:
            kind = ParamType(str(item.get("type")))
        except ValueError:
            raise _bad(field, "type must be string, integer, boolean or choice") from None
        choices = item.get("choices") or []
        if kind is ParamType.choice:
            if not (isinstance(choices, list) and choices and all(isinstance(c, str) and 0 < len(c) <= 200
                                                                 for c in choices)):
                raise _bad(field, "a choice parameter needs a list of choices (strings)")
        elif choices:
            raise _bad(field, "only choice parameters have choices")
        pattern = item.get("pattern")
        if pattern is not None:
            if kind is not ParamType.string or not isinstance(pattern, str) or len(pattern) > 300:
                raise _bad(field, "pattern is for string parameters (a regular expression, at most 300 characters)")
            try:
                re.compile(pattern)
            except (re.error, OverflowError, RecursionError) as exc:  # a{99999999999}: OverflowError
                raise _bad(field, f"pattern is not a regular expression: {exc}") from None
        required = item.get("required", False)
        if not isinstance(required, bool):
            raise _bad(field, "required is true or false")
        out.append({"name": name, "type": kind.value, "choices": list(choices), "required": required,
                    "pattern": pattern})
    return out


def _value(spec: dict[str, Any], value: Any) -> str | int | bool:
    kind, field = ParamType(spec["type"]), f"params.{spec['name']}"
    if kind is ParamType.boolean:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "on", "yes", "1", "false", "off", "no", "0"):
            return value.lower() in ("true", "on", "yes", "1")
        raise _bad(field, f"{spec['name']} must be true or false")
    if kind is ParamType.integer:
        if isinstance(value, bool):
            raise _bad(field, f"{spec['name']} must be a whole number")
        if isinstance(value, int):
            number = value
        elif isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value.strip()):
            number = int(value.strip())
        else:
            raise _bad(field, f"{spec['name']} must be a whole number")
        if abs(number) >= 10 ** 18:
            raise _bad(field, f"{spec['name']} is out of range")
        return number
    if not isinstance(value, str):
        raise _bad(field, f"{spec['name']} must be text")
    if len(value) > MAX_VALUE or "\x00" in value:
        raise _bad(field, f"{spec['name']} must be at most {MAX_VALUE} characters, without NUL")
    if kind is ParamType.choice and value not in spec["choices"]:
        raise _bad(field, f"{spec['name']} must be one of: {', '.join(spec['choices'])}")
    if spec.get("pattern") and not re.fullmatch(spec["pattern"], value):
        raise _bad(field, f"{spec['name']} does not match the pattern {spec['pattern']}")
    return value


def validate(schema: list[dict[str, Any]], given: Any) -> dict[str, str | int | bool]:
    """The responder's values, typed; InvalidInput for an unknown, missing or ill-typed one.
    Empty strings count as not given (a form's empty field)."""
    if not isinstance(given, dict):
        raise _bad("params", "params must be an object of parameter values")
    known = {spec["name"]: spec for spec in schema}
    for name in given:
        if name not in known:
            raise _bad(f"params.{name}", f"this action has no parameter {name!r}")
    out: dict[str, str | int | bool] = {}
    for name, spec in known.items():
        value = given.get(name)
        if value is None or value == "":
            if spec["required"]:
                raise _bad(f"params.{name}", f"{name} is required")
            continue
        out[name] = _value(spec, value)
    return out


def check_no_options(schema: list[dict[str, Any]], values: dict[str, str | int | bool]) -> None:
    """For a command: InvalidInput when a free-text value (a string parameter without the admin's pattern)
    starts with "-". A placeholder stays one argv item, but an item such as `--output=/etc/passwd` or `-e`
    is an option to most programs; an admin who means to allow one writes a pattern that does."""
    for spec in schema:
        value = values.get(spec["name"])
        if spec["type"] == ParamType.string.value and not spec.get("pattern") and isinstance(value, str) \
                and value.startswith("-"):
            raise _bad(f"params.{spec['name']}", f"{spec['name']} may not start with \"-\" (it would be an option "
                                                 "to the command)")


def as_text(value: str | int | bool) -> str:
    """A value as one argv item: booleans as true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_lines(text: str) -> list[dict[str, Any]]:
    """The console's way of writing a schema, one parameter a line:
    `name | type | required (or optional) | choices (comma-separated) or pattern`, the last two optional:

        host | string | required | [a-z0-9-]+
        zone | choice | optional | eu, us
        force | boolean
    """
    out: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|", 3)]
        if len(parts) < 2:
            raise _bad("params_schema", f"line {number}: write name | type | required | choices or pattern")
        item: dict[str, Any] = {"name": parts[0], "type": parts[1]}
        flag = parts[2].lower() if len(parts) > 2 else ""
        if flag not in ("", "required", "optional"):
            raise _bad("params_schema", f"line {number}: the third part is required or optional")
        item["required"] = flag == "required"
        extra = parts[3] if len(parts) > 3 else ""
        if extra and parts[1] == ParamType.choice.value:
            item["choices"] = [c.strip() for c in extra.split(",") if c.strip()]
        elif extra:
            item["pattern"] = extra
        out.append(item)
    return out


def to_lines(schema: list[dict[str, Any]]) -> str:
    """The schema written as `parse_lines` reads it."""
    lines = []
    for spec in schema:
        extra = ", ".join(spec.get("choices") or []) or (spec.get("pattern") or "")
        parts = [spec["name"], spec["type"], "required" if spec.get("required") else "optional"] + ([extra] if extra
                                                                                                    else [])
        lines.append(" | ".join(parts))
    return "\n".join(lines)
