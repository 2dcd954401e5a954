"""The public status pages, pre-rendered and served from memory.

Status pages get their traffic when something is broken, so serving them must not touch the
database (which may be the broken thing) or take time from incident work. Every page is
rendered ahead of time into bytes with precomputed response headers; a raw ASGI middleware
answers GET/HEAD `/status/<slug>[/<path>]` from a dict lookup.

Keeping it fresh, off the request path, in one worker thread:
- every page at startup (the app's lifespan startup, seen by the middleware itself);
- a page again on its `statuspage:<page id>` live topic (this process's writes, and other
  processes' through PostgreSQL NOTIFY), bursts coalesced into one render;
- every page every 60 s and at the next maintenance start or end, for time-based state.
A render that fails is logged and the last good version keeps being served. With
`statuspage_publish_dir` set, each new render is also written there as a static site, and a
deleted or renamed page's old directory is removed from it.

Anything else under /status/ (POST subscribe, confirm and unsubscribe links) goes on to the
app; an unknown slug gets a small 404 page.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
import sqlalchemy as sa
from fastapi import FastAPI

from tocsin import live
from tocsin.statuspage import export, render, snapshot
from tocsin.statuspage.models import StatusPage

log = logging.getLogger("tocsin.statuspage.cache")

REFRESH_SECONDS = 60.0
DEBOUNCE_SECONDS = 0.02
PREFIX = "/status/"
TOPIC = "statuspage:"

_COMMON = [(b"cache-control", b"public, max-age=10"), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer"), (b"content-security-policy", render.CSP)]
_CORS = [(b"access-control-allow-origin", b"*")]


@dataclass(frozen=True)
class Entry:
    """One servable file: its body and the exact response headers for 200 and 304."""

    etag: bytes
    headers: list[tuple[bytes, bytes]]
    headers_304: list[tuple[bytes, bytes]]
    body: bytes


def entry(item: render.Rendered, status_code: int = 200) -> Entry:
    etag = b'"' + hashlib.sha256(item.body).hexdigest()[:32].encode() + b'"'
    extra = [] if item.content_type.startswith("text/html") or item.content_type.startswith("text/css") else _CORS
    base = [(b"etag", etag), *_COMMON, *extra]
    headers = [(b"content-type", item.content_type.encode()), (b"content-length", str(len(item.body)).encode()),
               *base]
    if status_code != 200:  # the 404 page: not cached by browsers as a page
        headers = [(b"content-type", item.content_type.encode()),
                   (b"content-length", str(len(item.body)).encode()), (b"cache-control", b"no-store"),
                   *_COMMON[1:]]
    return Entry(etag, headers, base, item.body)


class StatusCache:
    """Rendered pages by slug, kept fresh by a worker thread."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.sites: dict[str, dict[str, Entry]] = {}
        self.slugs: dict[str, str] = {}  # page id -> slug
        self.boundaries: dict[str, datetime] = {}  # page id -> next maintenance start/end
        self.not_found = entry(render.not_found(), 404)
        self.started = False
        self.renders = 0  # how many page renders succeeded (tests and the benchmark read it)
        self._start_lock = threading.Lock()
        self._state_lock = threading.RLock()  # sites/slugs/boundaries bookkeeping (renders run on 2 threads at start)
        self._pending: set[str] = set()
        self._pending_lock = threading.Condition()
        self._heard_count = 0  # notices heard, and notices whose re-render finished (for wait_idle)
        self._done_count = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Any = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Render every page, then keep them fresh; safe to call more than once, from any thread."""
        with self._start_lock:
            if self.started:
                return
            self._unsubscribe = live.subscribe(self._heard)
            self.refresh_all()
            self._thread = threading.Thread(target=self._run, name="tocsin-status-cache", daemon=True)
            self._thread.start()
            self.started = True

    def stop(self) -> None:
        with self._start_lock:
            if self._unsubscribe:
                self._unsubscribe()
                self._unsubscribe = None
            self._stop.set()
            self._wake.set()
            if self._thread is not None:
                self._thread.join(timeout=5)
                self._thread = None

    # --- freshness ---------------------------------------------------------------------------

    def _heard(self, topic: str) -> None:
        if topic.startswith(TOPIC):
            with self._pending_lock:
                self._pending.add(topic[len(TOPIC):])
                self._heard_count += 1
            self._wake.set()

    def _run(self) -> None:
        last_full = time.monotonic()
        while not self._stop.is_set():
            self._wake.wait(timeout=self._timeout(last_full))
            if self._stop.is_set():
                return
            self._wake.clear()
            time.sleep(DEBOUNCE_SECONDS)  # let a burst of notices arrive; render once for all of them
            with self._pending_lock:
                pending, self._pending = self._pending, set()
                taken = self._heard_count
            due = [pid for pid, at in list(self.boundaries.items()) if at <= self._now()]
            if time.monotonic() - last_full >= REFRESH_SECONDS:
                last_full = time.monotonic()
                self.refresh_all()
            else:
                self.refresh(set(pending) | set(due))
            with self._pending_lock:
                self._done_count = taken
                self._pending_lock.notify_all()

    def _timeout(self, last_full: float) -> float:
        wait = REFRESH_SECONDS - (time.monotonic() - last_full)
        if self.boundaries:
            until = (min(self.boundaries.values()) - self._now()).total_seconds()
            wait = min(wait, until + 0.05)
        return max(0.05, wait)

    def _now(self) -> datetime:
        return self.app.state.clock.now()

    def _base_url(self) -> str:
        return self.app.state.settings.resolved_public_url()

    def refresh_all(self) -> None:
        """Re-render every page (and forget deleted ones)."""
        try:
            with self.app.state.db.unit_of_work() as session:
                ids = [str(i) for i in session.execute(sa.select(StatusPage.id)).scalars()]
        except Exception:
            log.exception("status pages: cannot list pages; serving the last rendered versions")
            return
        for gone in set(self.slugs) - set(ids):
            self._forget(gone)
        self.refresh(ids)

    def refresh(self, page_ids: Iterable[str]) -> None:
        """Re-render these pages now (in the calling thread)."""
        for pid in page_ids:
            try:
                self._render(pid)
            except Exception:
                log.exception("status page %s: render failed; serving the last good version", pid)

    def _render(self, page_id: str) -> None:
        try:
            key = uuid.UUID(page_id)
        except ValueError:
            return
        now = self._now()
        with self.app.state.db.unit_of_work() as session:
            page = session.get(StatusPage, key)
            if page is None:
                self._forget(page_id)
                return
            snap = snapshot.load(session, page, now, base_url=self._base_url())
        site = render.site(snap)
        entries = {path: entry(item) for path, item in site.items()}
        slug = snap.page.slug
        with self._state_lock:
            old = self.slugs.get(page_id)
            self.sites[slug] = entries  # one assignment: readers see the old or the new site
            self.slugs[page_id] = slug
            # Renamed: drop the old slug, unless another page holds it now (two pages swapping
            # slugs in one batch: the other one's fresh site may already be there).
            stale = old if old and old != slug and not self._claimed(old, page_id) else None
            if stale:
                self.sites.pop(stale, None)
            boundary = snap.next_boundary()
            if boundary is None:
                self.boundaries.pop(page_id, None)
            else:
                self.boundaries[page_id] = boundary
            self.renders += 1
        self._publish(slug, site)
        if stale:
            self._unpublish(stale)

    def _claimed(self, slug: str, but: str) -> bool:
        """Whether a page other than `but` is (as far as the cache knows) at `slug`."""
        return any(pid != but and s == slug for pid, s in list(self.slugs.items()))

    def _forget(self, page_id: str) -> None:
        with self._state_lock:
            slug = self.slugs.pop(page_id, None)
            self.boundaries.pop(page_id, None)
            if slug and self._claimed(slug, page_id):
                slug = None  # another page took the slug over: its site stays
            if slug:
                self.sites.pop(slug, None)
        if slug:
            self._unpublish(slug)

    def _publish(self, slug: str, site: dict[str, render.Rendered]) -> None:
        target = self.app.state.settings.statuspage_publish_dir
        if not target:
            return
        try:
            export.write_site(target, slug, site)
        except Exception:
            log.exception("status page %s: publishing to %s failed", slug, target)

    def _unpublish(self, slug: str) -> None:
        """Remove a deleted or renamed page's directory from the publish dir (only one tocsin
        wrote, directly inside it; see export.remove_site)."""
        target = self.app.state.settings.statuspage_publish_dir
        if not target:
            return
        try:
            if export.remove_site(target, slug):
                log.info("status page %s: removed from %s", slug, target)
        except Exception:
            log.exception("status page %s: removing it from %s failed", slug, target)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every notice heard so far has been rendered (tests): True if in time."""
        with self._pending_lock:
            target = self._heard_count
            return self._pending_lock.wait_for(lambda: self._done_count >= target, timeout=timeout)


class StatusFastPath:
    """Raw ASGI middleware: GET/HEAD under /status/ from memory; everything else to the app."""

    def __init__(self, app: Any, cache: StatusCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            if path.startswith(PREFIX) and (scope["method"] == "GET" or scope["method"] == "HEAD"):
                if not self.cache.started:
                    await anyio.to_thread.run_sync(self.cache.start)
                slug, _, rest = path[8:].partition("/")
                site = self.cache.sites.get(slug)
                if site is None:
                    await _answer(send, 404, self.cache.not_found.headers,
                                  b"" if scope["method"] == "HEAD" else self.cache.not_found.body)
                    return
                found = site.get(rest[:-1] if rest.endswith("/") else rest)
                if found is not None:
                    await _serve(scope, send, found)
                    return
        elif kind == "lifespan":
            await self.app(scope, self._lifespan_receive(receive), send)
            return
        await self.app(scope, receive, send)

    def _lifespan_receive(self, receive: Any) -> Any:
        """Start the cache when the server starts and stop it when it stops (the app's own
        lifespan stays in api/app.py; this sees the same messages on their way to it)."""
        async def wrapped() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await anyio.to_thread.run_sync(self.cache.start)
            elif message["type"] == "lifespan.shutdown":
                await anyio.to_thread.run_sync(self.cache.stop)
            return message
        return wrapped


async def _serve(scope: dict[str, Any], send: Any, found: Entry) -> None:
    for name, value in scope["headers"]:
        if name == b"if-none-match":
            if found.etag in value or value.strip() == b"*":
                await send({"type": "http.response.start", "status": 304, "headers": list(found.headers_304)})
                await send({"type": "http.response.body", "body": b""})
                return
            break
    await send({"type": "http.response.start", "status": 200, "headers": list(found.headers)})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else found.body})


async def _answer(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": list(headers)})
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI) -> None:
    """Serve /status/... from the in-memory cache of `app` (also `app.state.status_cache`).

    The fast path goes *outside* Starlette's whole middleware stack (error handler, body limit,
    ingest fast path): a cached answer needs none of them, and each layer costs per request."""
    cache = StatusCache(app)
    app.state.status_cache = cache
    build = app.build_middleware_stack

    def build_with_status_first() -> Any:
        return StatusFastPath(build(), cache)

    # No Starlette API puts an app in front of the middleware stack: wrap the method that builds it.
    app.build_middleware_stack = build_with_status_first  # type: ignore[method-assign]  # Starlette has no hook
