"""`tocsin postmortem ...`: start and export postmortems through the API (TOCSIN_URL, TOCSIN_TOKEN)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from tocsin.cli.api import DEFAULT_URL, Token, Url, call, request
from tocsin.cli.common import JsonFlag, console, fail, print_json

postmortem_app = typer.Typer(help="Postmortems: start one from a resolved incident, export it.",
                             no_args_is_help=True)


class Format(StrEnum):
    markdown = "markdown"
    html = "html"


def _get_text(url: str, token: str | None, path: str, params: dict[str, Any]) -> str:
    """GET a text (non-JSON) resource; exit 1 with the server's message on error."""
    return request(url, token, "GET", path, params=params).text


@postmortem_app.command("start")
def start(ref: Annotated[str, typer.Argument(help="INC-42 or id; the incident must be resolved")],
          title: Annotated[str | None, typer.Option(help="Default: “Postmortem: <incident title>”")] = None,
          template: Annotated[str | None, typer.Option(help="Template id (default: the default template)")] = None,
          url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Start the incident's postmortem: a draft filled from the record; the incident moves to postmortem."""
    body: dict[str, Any] = {}
    if title:
        body["title"] = title
    if template:
        body["template_id"] = template
    pm = call(url, token, "POST", f"/api/v1/incidents/{ref}/postmortem", json=body or None)
    if as_json:
        print_json(pm)
        return
    console.print(f"started postmortem {pm['id']} for {pm['incident']['ref']} ({pm['status']}, revision "
                  f"{pm['revision']}); export it with: tocsin postmortem export {pm['incident']['ref']}",
                  highlight=False, soft_wrap=True)


@postmortem_app.command("export")
def export(ref: Annotated[str, typer.Argument(help="INC-42 or id of the incident")],
           fmt: Annotated[Format, typer.Option("--format", help="markdown, or html ready to print to PDF")]
           = Format.markdown,
           output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE instead of stdout",
                                                       dir_okay=False)] = None,
           public: Annotated[bool, typer.Option("--public", help="Export the customer-facing text only")] = False,
           url: Url = DEFAULT_URL, token: Token = None) -> None:
    """Export the incident's postmortem as Markdown or PDF-ready HTML."""
    pm = call(url, token, "GET", f"/api/v1/incidents/{ref}/postmortem")
    text = _get_text(url, token, f"/api/v1/postmortems/{pm['id']}/export",
                     {"format": fmt.value, "version": "public" if public else "internal"})
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    console.print(f"wrote {output} ({len(text.encode())} bytes)", highlight=False, soft_wrap=True)
