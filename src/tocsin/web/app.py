"""Mounts the responder console on the FastAPI app: its routes and its static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tocsin.web.routes import auth, console, room

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    app.include_router(auth.router)
    app.include_router(console.router)
    app.include_router(room.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
