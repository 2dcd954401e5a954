"""Managing status pages through the API: pages, components, public incidents, maintenances, subscribers."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["status pages"])
