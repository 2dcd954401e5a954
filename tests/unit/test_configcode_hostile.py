"""Hostile configuration files: what YAML can express but a configuration never needs (alias bombs,
deep nesting, Python tags, binary values, NUL) is a clear InvalidInput, quickly, before anything
walks or sends the documents; and two objects claiming one source id are refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tocsin.configcode import document
from tocsin.configcode.document import load_paths, parse
from tocsin.errors import InvalidInput

BOMB = "version: 1\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)) + "teams: []\n"


@pytest.mark.parametrize(("text", "says"), [
    (BOMB, "more than 10000 values"),  # a billion when expanded
    ("version: 1\nteams: " + "[" * 200 + "]" * 200 + "\n", "nested deeper than 40 levels"),
    ("version: 1\nteams: !!python/object/apply:os.system [echo pwned]\n", "not YAML"),
    ("version: 1\nteams:\n  - {slug: a, name: !!binary aGVsbG8=}\n", "teams[0].name: a bytes is not a plain YAML value"),
    ('version: 1\nteams:\n  - {slug: a, name: "a\\0b"}\n', "teams[0].name: must not contain NUL"),
    ("version: 1\nteams:\n  - {slug: a, name: b, 2026-01-01: x}\n", "teams[0]: the key datetime.date(2026, 1, 1) is not "
     "text"),  # apply --url could not send it as JSON (a traceback)
])
def test_a_hostile_yaml_file_is_refused_quickly_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        text: str, says: str) -> None:
    monkeypatch.setattr(document, "MAX_VALUES", 10_000)  # the real limit, 1,000,000, takes a second to reach
    path = tmp_path / "conf.yaml"
    path.write_text(text)
    started = time.monotonic()
    with pytest.raises(InvalidInput) as refused:
        load_paths(path)
    assert says in refused.value.message and str(path) in refused.value.message
    assert time.monotonic() - started < 2


def test_two_objects_of_a_section_cannot_claim_one_source_id() -> None:
    # apply finds an object by its source id first: the second would silently rename the first
    doc = {"version": 1, "teams": [{"slug": "a", "name": "A", "source_id": "og:team:1"},
                                   {"slug": "b", "name": "B", "source_id": "og:team:1"}]}
    with pytest.raises(InvalidInput, match=r"source_id 'og:team:1' is declared twice: ci.yaml: teams\[0\] and "):
        parse([doc], ["ci.yaml"])
    doc["teams"][1]["source_id"] = "og:team:2"
    assert [it.obj.slug for it in parse([doc], ["ci.yaml"]).items("teams")] == ["a", "b"]
