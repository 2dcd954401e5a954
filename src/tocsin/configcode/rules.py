"""Apply the alert-rule sections: silences, routing rules and auto-incident rules."""

from __future__ import annotations

from typing import Any

from tocsin.configcode.document import Document


def apply_rules(run: Any, doc: Document) -> None:
    return None


def prune_rules(run: Any, doc: Document) -> None:
    return None
