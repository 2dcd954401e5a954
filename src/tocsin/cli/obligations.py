"""`tocsin regimes check`: validate the notification regimes in force (the shipped file, and the
operator's TOCSIN_REGIMES_FILE and TOCSIN_HOLIDAYS_FILE) and list them, before a breach needs them."""

from __future__ import annotations

import typer

from tocsin.cli.common import DataDir, JsonFlag, console, fail, print_json, settings

regimes_app = typer.Typer(help="Breach notification regimes (regulatory clocks).", no_args_is_help=True)


@regimes_app.command("check")
def check(
    as_json: JsonFlag = False,
    data_dir: DataDir = None,
) -> None:
    """Load the regimes and holidays files; exit 1 naming the file and field of any error."""
    from tocsin.obligations.catalog import CatalogError, load  # lazy: the CLI's lazy start (imports what it runs)

    cfg = settings(None, data_dir)
    try:
        cat = load(cfg.regimes_file, cfg.holidays_file)
    except CatalogError as exc:
        fail(str(exc))
    if as_json:
        print_json([r.model_dump(mode="json", by_alias=True) for r in cat.regimes.values()])
        return
    for regime in cat.regimes.values():
        state = "" if regime.enabled else " (disabled)"
        console.print(f"{regime.id}: {regime.name}{state}, {len(regime.obligations)} obligation(s); "
                      f"{regime.source}", highlight=False, soft_wrap=True)
    console.print(f"{len(cat.regimes)} regimes, calendars: {', '.join(sorted(cat.calendars))}", highlight=False)
