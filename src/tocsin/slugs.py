"""Slugs (the short, URL-safe names of teams and services) and the display-name and description rules
they share."""

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


def check_name(name: str) -> str:
    """The trimmed name: 1 to 200 characters (the column's size; the API's schema says the same)."""
    if not name.strip():
        raise InvalidInput("name must not be empty", details={"field": "name"})
    if len(name.strip()) > 200:
        raise InvalidInput("name must have at most 200 characters", details={"field": "name"})
    return name.strip()


def check_description(text: str) -> str:
    if len(text) > 10_000:
        raise InvalidInput("description must have at most 10000 characters", details={"field": "description"})
    return text
