"""`tocsin oncall`: who is on call, through the API (TOCSIN_URL, TOCSIN_TOKEN)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from tocsin.cli.api import DEFAULT_URL, Token, Url, call, when
from tocsin.cli.out import JsonFlag, console, print_json


def oncall(
    schedule: Annotated[str | None, typer.Option("--schedule", "-s", help="Schedule slug or id; default: every "
                                                                          "schedule")] = None,
    at: Annotated[str | None, typer.Option("--at", help="When (ISO 8601 with offset, e.g. 2026-03-29T09:00+02:00); "
                                                        "default: now")] = None,
    url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False,
) -> None:
    """Show who is on call now (or at --at), for one schedule or every schedule."""
    params = {"at": at} if at else {}
    if schedule:
        keys = [schedule]
    else:
        keys = [s["slug"] for s in call(url, token, "GET", "/api/v1/schedules")["items"]]
    rows: list[dict[str, Any]] = [call(url, token, "GET", f"/api/v1/schedules/{key}/oncall", params=params)
                                  for key in keys]
    if as_json:
        print_json(rows[0] if schedule else rows)
        return
    if not rows:
        console.print("no schedules yet", highlight=False)
        return
    table = Table()
    for col in ("schedule", "on call", "email", "from", "until", "via"):
        table.add_column(col, overflow="fold")
    for r in rows:
        shift = r["on_call"]
        if shift is None:
            table.add_row(r["schedule"], "nobody", "-", "-", "-", "-")
        else:
            table.add_row(r["schedule"], shift["user"]["name"], shift["user"]["email"], when(shift["start"]),
                          when(shift["end"]), shift["source"])
    console.print(table)
