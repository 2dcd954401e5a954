"""The public status pages, pre-rendered and served from memory."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Serve /status/... from the in-memory cache of `app` (to be built)."""
