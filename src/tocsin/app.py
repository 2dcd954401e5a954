"""The application: the API, the console and the public status pages on one ASGI app.

The composition root of the server: `create_app` wires the HTTP edges (`api/`, `web/`), the
status page cache and the ingest fast path to one database and clock; `app_from_env` is the app
as `tocsin serve --workers N` starts it in each worker process (settings from the environment,
which the parent filled with every TOCSIN_* value it resolved; one database pool per process).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tocsin import __version__, live
from tocsin.api import errors, routes
from tocsin.api.fastpath import IngestFastPath
from tocsin.api.limits import BodyLimit
from tocsin.api.routes import evidence as evidence_api
from tocsin.audit.service import configure_key
from tocsin.clock import Clock, SystemClock
from tocsin.config import Settings, load_settings
from tocsin.db import Database
from tocsin.inbound.types import MAX_EVENT_BYTES
from tocsin.ingest import sns
from tocsin.ingest.writer import IngestWriter
from tocsin.net.policy import user_policy
from tocsin.statuspage import cache as status_cache
from tocsin.users.service import configure_password_hashing
from tocsin.web import app as console
from tocsin.web.routes import evidence_pages


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On PostgreSQL, hear the changes other processes make (live incident rooms, status page cache)."""
    listener = live.listener(app.state.db.engine.url) if app.state.db.dialect == "postgresql" else None
    if listener:
        listener.start()
    try:
        yield
    finally:
        if listener:
            listener.stop()


def create_app(*, settings: Settings, db: Database, clock: Clock | None = None) -> FastAPI:
    """Return the app serving the API on `db`; the caller owns `db` and disposes of it."""
    app = FastAPI(
        title="tocsin",
        version=__version__,
        description="Self-hosted incident response. Authenticate with `Authorization: Bearer <token>`; "
                    "errors are `{\"error\": {\"code\", \"message\", \"details\"}}`.",
        docs_url=None,  # /docs is the console's (tocsin.web.api_docs): assets from the package, no CDN
        redoc_url=None,
        lifespan=_lifespan,
    )
    configure_password_hashing(**settings.password_hashing())
    configure_key(settings.resolved_audit_key())  # the audit chain's key, kept outside the database
    app.state.settings = settings
    app.state.db = db
    app.state.clock = clock or SystemClock()
    app.state.ingest = IngestWriter(db, app.state.clock, server_secret=settings.resolved_secret_key(),
                                    apply=settings.ingest_apply,
                                    confirm=sns.background_confirm(user_policy(settings)))
    errors.install(app)
    routes.install(app)
    console.install(app)
    status_cache.install(app)
    pd_limit = max(settings.max_body_bytes, 2 * MAX_EVENT_BYTES)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       overrides=(("/integrations/", settings.max_ingest_bytes),
                                  # PagerDuty events may be 512,000 bytes; bigger ones get PagerDuty's 413
                                  ("/v2/", pd_limit)),
                       streamed=(evidence_api.UPLOAD_PATH, evidence_pages.UPLOAD_PATH))
    hook_limit = settings.max_ingest_bytes
    app.add_middleware(IngestFastPath, writer=app.state.ingest,
                       limits={"events_v2": pd_limit, "change": pd_limit, "alertmanager": hook_limit,
                               "grafana": hook_limit, "generic": hook_limit, "heartbeat": settings.max_body_bytes,
                               "opsgenie": pd_limit})
    return app


def app_from_env() -> FastAPI:
    cfg = load_settings()
    return create_app(settings=cfg, db=Database(cfg.resolved_database_url()))
