"""`tocsin report` (being built)."""

from __future__ import annotations


def report() -> None:
    """Incident response metrics (being built)."""
