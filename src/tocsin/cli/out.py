"""Output helpers every command shares, with nothing heavy imported: the API client verbs use these
and must start fast (no database, no services; see cli/main.py).

What the commands print comes largely from others: alert summaries are whatever a sender (anyone with an
integration key or an alert address) wrote. So the shared consoles print strings as text: no rich markup
(`[/bold]` in a summary would crash the command, `[link=...]` draw a link) and no terminal control
characters (an ESC sequence can retitle the window, clear the screen or hide what follows). A command
that wants style builds a `rich.text.Text` with `plain()` for the data in it.
"""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.text import Text

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of a table")]

# C0 (but tab and newline), DEL, C1, and the bidirectional overrides that reorder what a terminal shows
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain(text: str) -> str:
    """`text` with terminal control characters shown as U+FFFD."""
    return _CONTROL.sub("\ufffd", text)


class _PlainConsole(Console):
    """A console whose strings (in print, table cells, titles) are text: see the module doc."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(plain(text), **kwargs)


console = _PlainConsole(markup=False)
err_console = _PlainConsole(stderr=True, markup=False)


def styled(*parts: str | tuple[str, str]) -> Text:
    """A line of text with some parts styled: `styled(("error:", "bold red"), " ", message)`; data made plain."""
    return Text.assemble(*((plain(p[0]), p[1]) if isinstance(p, tuple) else plain(p) for p in parts))


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(styled(("error:", "bold red"), " ", message), highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")
