"""The app as `tocsin serve --workers N` starts it in each worker process: settings from the
environment (the parent sets every TOCSIN_* value it resolved), one database pool per process."""

from __future__ import annotations

from fastapi import FastAPI

from tocsin.api.app import create_app
from tocsin.config import load_settings
from tocsin.db import Database


def app_from_env() -> FastAPI:
    cfg = load_settings()
    return create_app(settings=cfg, db=Database(cfg.resolved_database_url()))
