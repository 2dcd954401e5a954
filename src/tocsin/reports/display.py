"""How report figures read to a person, shared by the HTML page and the terminal table."""

from __future__ import annotations


def duration(seconds: float | None) -> str:
    """A short human duration: 45s, 12m, 3m 05s, 3h 05m, 2d 4h; an en dash when there is none."""
    if seconds is None:
        return "–"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m" + (f" {s % 60:02d}s" if s < 600 and s % 60 else "")
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}%"


def money(value: float | None, currency: str = "") -> str:
    """1,234, or 1,234 EUR with a currency (TOCSIN_COST_CURRENCY)."""
    if value is None:
        return "–"
    return f"{value:,.0f} {currency}" if currency else f"{value:,.0f}"
