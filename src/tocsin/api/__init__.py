"""The HTTP API (FastAPI) under /api/v1, plus health checks; `tocsin.app` mounts it."""
