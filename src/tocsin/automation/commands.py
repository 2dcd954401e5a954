"""The operator's allow-list of commands (TOCSIN_AUTOMATION_COMMANDS: a YAML file mapping a command's
name to its argv). An admin picks a command by name; nobody types a command line in tocsin.

    restart-web: ["/usr/local/bin/restart-service", "--", "{service}"]
    flush-cdn: ["/usr/bin/curl", "-fsS", "-X", "POST", "https://cdn.internal/flush"]

An item that is exactly `{name}` is replaced by the parameter's value as ONE argv item (never split,
never through a shell); a missing optional parameter becomes an empty item. Braces anywhere else are
refused when the file is read, so a placeholder cannot be glued into a larger item. No file (the
setting unset): no command actions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import yaml

from tocsin.automation.params import as_text
from tocsin.errors import InvalidInput

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]{0,39})\}")


class AllowListError(ValueError):
    """The allow-list file is missing or malformed (the message names where)."""


def parse(text: str, source: str = "the allow-list") -> dict[str, tuple[str, ...]]:
    """Command name -> argv from the YAML text; AllowListError for anything else."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AllowListError(f"{source} is not YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AllowListError(f"{source} must map command names to argv lists")
    out: dict[str, tuple[str, ...]] = {}
    for name, argv in data.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise AllowListError(f"{source}: bad command name {name!r} (letters, digits, . _ -, at most 64)")
        if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
            raise AllowListError(f"{source}: {name} must be a non-empty list of strings (an argv, no shell)")
        if not argv[0].startswith("/"):
            raise AllowListError(f"{source}: {name} must start with an absolute path to the program")
        for item in argv:
            if ("{" in item or "}" in item) and not PLACEHOLDER.fullmatch(item):
                raise AllowListError(f"{source}: {name}: {item!r}: a placeholder must be a whole item such as "
                                     "{host}")
        out[name] = tuple(argv)
    return out


@lru_cache(maxsize=4)
def _read(path: str, _stamp: tuple[float, int]) -> dict[str, tuple[str, ...]]:
    return parse(Path(path).read_text(encoding="utf-8"), path)


def load(path: Path | str | None) -> Mapping[str, tuple[str, ...]]:
    """The allow-list at `path` (re-read when the file changes); empty when `path` is None."""
    if not path:
        return {}
    try:
        stat = Path(path).stat()
    except OSError as exc:
        raise AllowListError(f"cannot read the allow-list {path}: {exc.strerror}") from None
    return _read(str(path), (stat.st_mtime, stat.st_size))


def placeholders(argv: tuple[str, ...]) -> list[str]:
    return [m.group(1) for item in argv if (m := PLACEHOLDER.fullmatch(item))]


def resolve(argv: tuple[str, ...], params: Mapping[str, str | int | bool]) -> list[str]:
    """The argv with each whole-item placeholder replaced by its value (one item each, whatever it
    holds: `; rm -rf /` stays one argument); InvalidInput when a placeholder names no parameter."""
    out: list[str] = []
    for item in argv:
        m = PLACEHOLDER.fullmatch(item)
        if m is None:
            out.append(item)
            continue
        value = params.get(m.group(1))
        out.append("" if value is None else as_text(value))
    return out


def check_fits(argv: tuple[str, ...], schema: list[dict[str, object]], command: str) -> None:
    """InvalidInput when the command's placeholders name parameters the action does not define."""
    names = {str(spec["name"]) for spec in schema}
    missing = [p for p in placeholders(argv) if p not in names]
    if missing:
        raise InvalidInput(f"the command {command} needs parameters this action does not define: "
                           f"{', '.join(missing)}", details={"field": "params_schema"})


def load_or_error(path: Path | str | None) -> tuple[dict[str, tuple[str, ...]], str | None]:
    """The allow-list and None, or nothing and why the file cannot be used (an unreadable file allows nothing)."""
    try:
        return dict(load(path)), None
    except AllowListError as exc:
        return {}, str(exc)
