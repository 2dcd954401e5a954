"""CSV cells a spreadsheet shows as text, never runs (OWASP's advice against CSV injection).

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is taken by Excel,
LibreOffice and Google Sheets as a formula, which can fetch URLs or run commands when the file is
opened. Incident titles and alert summaries come from outside (alert senders), so every text cell
of every CSV tocsin writes goes through `cell`, which puts a single quote in front of such text.
Numbers are written as they are: -3 is a number, not a formula.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """The value, with a leading single quote if it is text a spreadsheet would take as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def writerow(writer: Any, row: list[Any]) -> None:
    """Write one row through a `csv.writer`, every cell made inert."""
    writer.writerow([cell(v) for v in row])

