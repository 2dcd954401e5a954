"""Write status pages as a static site: the bytes tocsin serves, as files any web server can serve.

A page's files go to `DIR/<slug>/`: the index as `index.html`, each incident page as
`incidents/<id>/index.html`, the JSON, feeds and stylesheet under their own names. The HTML
links use `/status/<slug>/...` paths, so serve DIR at `/status/` (nginx: `root` one level
up, or `alias`) with `try_files $uri $uri/index.html` — see docs/status-page-hosting.md.

Every file is written to a temporary name and renamed into place, so a web server reading
the directory while it is being published never sees a half-written file; files of incidents
that are no longer on the page are removed afterwards.

Each page directory gets a small marker file (MARKER). Directories of pages that were deleted
or renamed are removed (a full export prunes them; the publish dir loses them as it happens),
but only directories carrying the marker, directly inside DIR and not symlinks: whatever else
lives in DIR is never touched.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tocsin.statuspage import render, snapshot
from tocsin.statuspage.models import StatusPage

log = logging.getLogger("tocsin.statuspage.export")
MARKER = ".tocsin-status-page"
_MARKER_TEXT = (b"This directory is a status page written by tocsin. tocsin removes it when the page is\n"
                b"deleted or renamed; directories without this file are never touched.\n")


def file_path(path: str) -> str:
    """The file a site path is stored in: "" → index.html, incidents/x → incidents/x/index.html."""
    if path == "":
        return "index.html"
    if path.startswith("incidents/"):
        return f"{path}/index.html"
    return path


def write_site(directory: Path | str, slug: str, site: Mapping[str, render.Rendered]) -> list[Path]:
    """Publish `site` under `directory/slug/` atomically file by file; return the files written."""
    _check_slug(slug)
    root = Path(directory) / slug
    root.mkdir(parents=True, exist_ok=True)
    _atomic_write(root / MARKER, _MARKER_TEXT)
    written: list[Path] = []
    for path, item in site.items():
        target = root / file_path(path)
        if not target.resolve().is_relative_to(root.resolve()):
            raise ValueError(f"unsafe path {path!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(target, item.body)
        written.append(target)
    _prune(root, set(written))
    return written


def _check_slug(slug: str) -> None:
    if not slug or "/" in slug or "\\" in slug or slug.startswith("."):
        raise ValueError(f"unsafe slug {slug!r}")


def remove_site(directory: Path | str, slug: str) -> bool:
    """Remove `directory/slug/` if it is a page directory tocsin wrote (has MARKER), is a real
    directory directly inside `directory` (not a symlink to elsewhere); True if removed.
    It is first renamed away in one step, so a web server sees the whole page or none of it."""
    _check_slug(slug)
    base = Path(directory)
    root = base / slug
    try:
        if root.is_symlink() or not root.is_dir() or root.resolve().parent != base.resolve():
            return False
        marker = root / MARKER
        if marker.is_symlink() or not marker.is_file():
            return False
        trash = base / f".tmp-removed-{secrets.token_hex(8)}"
        os.rename(root, trash)
    except OSError:
        log.exception("status page %s: cannot remove %s", slug, root)
        return False
    shutil.rmtree(trash, ignore_errors=True)  # fd-based on Linux: symlinks inside are unlinked, not followed
    return True


def prune_pages(directory: Path | str, keep: set[str]) -> list[str]:
    """Remove the page directories in `directory` that tocsin wrote and whose slug is not in
    `keep` (deleted or renamed pages); return the removed slugs."""
    base = Path(directory)
    if not base.is_dir():
        return []
    removed = []
    for child in sorted(base.iterdir()):
        if child.name in keep or child.name.startswith(".") or "\\" in child.name:
            continue
        if remove_site(base, child.name):
            removed.append(child.name)
    return removed


def _atomic_write(target: Path, body: bytes) -> None:
    try:
        if target.read_bytes() == body:
            return  # unchanged: keep the file (and its mtime, which web servers use for Last-Modified)
    except OSError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _prune(root: Path, keep: set[Path]) -> None:
    """Remove incident pages no longer on the site (only under incidents/, never anything else)."""
    incidents = root / "incidents"
    if not incidents.is_dir():
        return
    for index in incidents.glob("*/index.html"):
        if index not in keep:
            index.unlink(missing_ok=True)
            try:
                index.parent.rmdir()
            except OSError:
                pass


def export(session: Session, directory: Path | str, *, now: datetime, base_url: str | None = None,
           slug: str | None = None, removed: list[str] | None = None) -> dict[str, list[Path]]:
    """Render and write every page (or the one with `slug`); return {slug: files written}.
    A full export (no `slug`) also removes directories of pages that no longer exist
    (`prune_pages`), adding their slugs to `removed` when given."""
    query = sa.select(StatusPage).order_by(StatusPage.slug)
    if slug is not None:
        query = query.where(StatusPage.slug == slug)
    out: dict[str, list[Path]] = {}
    for page in session.execute(query).scalars():
        site = render.site(snapshot.load(session, page, now, base_url=base_url))
        out[page.slug] = write_site(directory, page.slug, site)
    if slug is None:
        gone = prune_pages(directory, set(out))
        if removed is not None:
            removed.extend(gone)
    return out


# The nginx configuration documented in docs/status-page-hosting.md (and used by the tests and
# the benchmark): the export's parent directory as `root`, so /status/<slug>/... maps onto
# DIR/<slug>/..., with the same caching and security headers tocsin sends.
_HEADERS = """\
        add_header Cache-Control "public, max-age=10" always;
        add_header X-Content-Type-Options nosniff always;
        add_header Referrer-Policy no-referrer always;
        add_header Content-Security-Policy "{csp}" always;"""
NGINX_LOCATION = """\
    location /status/ {{
        try_files $uri $uri/index.html =404;
{headers}
        location ~ \\.(json|atom|rss)$ {{
            try_files $uri =404;
{headers}
            add_header Access-Control-Allow-Origin "*" always;
        }}
    }}
"""


def nginx_location() -> str:
    """The `location /status/ { ... }` block serving an export (inside a `server` whose `root` is
    the directory holding the export directory, which must be named `status`)."""
    headers = _HEADERS.format(csp=render.CSP.decode())
    nested = "\n".join("    " + line for line in headers.splitlines())
    return NGINX_LOCATION.format(headers=headers).replace(
        "            try_files $uri =404;\n" + headers, "            try_files $uri =404;\n" + nested)


def nginx_config(*, root: Path | str, port: int, prefix: Path | str, workers: int = 1,
                 run_as_root: bool = False) -> str:
    """A complete nginx.conf serving the export under `root`/status on 127.0.0.1:`port`, with every
    path nginx writes (pid, logs, temp files) under `prefix`: for tests and the benchmark."""
    prefix = Path(prefix)
    temp = "\n".join(f"    {name}_temp_path {prefix / name};" for name in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""{'user root root;' if run_as_root else ''}
worker_processes {workers};
daemon off;
pid {prefix / 'nginx.pid'};
error_log {prefix / 'error.log'} warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
{temp}
    server {{
        listen 127.0.0.1:{port};
        root {Path(root)};
{nginx_location()}    }}
}}
"""
