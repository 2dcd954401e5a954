"""Slugs: the short, URL-safe names of teams and services."""

from __future__ import annotations

import re

from tocsin.errors import InvalidInput

_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:64].strip("-") or "x"


def check_slug(slug: str) -> str:
    """Return `slug` when valid (lowercase letters, digits, inner hyphens, ≤64); raise InvalidInput."""
    if not _SLUG_RE.match(slug):
        raise InvalidInput(f"invalid slug {slug!r}: use lowercase letters, digits and hyphens", details={"field": "slug"})
    return slug
