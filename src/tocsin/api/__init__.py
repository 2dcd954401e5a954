"""The HTTP API (FastAPI) under /api/v1, plus health checks."""

from tocsin.api.app import create_app

__all__ = ["create_app"]
