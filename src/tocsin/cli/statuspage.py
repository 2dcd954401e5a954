"""`tocsin statuspage export DIR`: write the public status pages as a static site.

For hosting the pages away from tocsin (nginx, object storage, a CDN): the files are the
bytes `tocsin serve` answers at /status/<slug>/..., laid out so that a plain web server
serves them with `try_files $uri $uri/index.html` (docs/status-page-hosting.md). Exporting
all pages also removes the directories it wrote earlier for pages since deleted or renamed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tocsin.cli.common import DatabaseUrl, DataDir, console, database, fail, settings
from tocsin.clock import SystemClock

statuspage_app = typer.Typer(help="Public status pages.", no_args_is_help=True)


@statuspage_app.command("export")
def export(
    directory: Annotated[Path, typer.Argument(help="Where to write DIR/<slug>/index.html, api/v2/*.json, feeds")],
    page: Annotated[str | None, typer.Option("--page", help="Only the page with this slug")] = None,
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
) -> None:
    """Write every status page (or one) as static files: the same bytes tocsin serves."""
    from tocsin.statuspage import (
        export as exporter,  # lazy: the status page renderer loads only for `tocsin statuspage export`
    )

    cfg = settings(database_url, data_dir)
    db = database(cfg)
    removed: list[str] = []
    try:
        with db.unit_of_work() as session:
            written = exporter.export(session, directory, now=SystemClock().now(),
                                      base_url=cfg.resolved_public_url(), slug=page, removed=removed)
    finally:
        db.dispose()
    if page is not None and not written:
        fail(f"no status page with slug {page!r}")
    for slug, files in written.items():
        console.print(f"{slug}: {len(files)} files in {Path(directory) / slug}", highlight=False, soft_wrap=True)
    for slug in removed:
        console.print(f"{slug}: removed (the page no longer exists)", highlight=False, soft_wrap=True)
    if not written:
        console.print("no status pages to export", highlight=False)
