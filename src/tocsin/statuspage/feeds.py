"""The page's history as Atom (`history.atom`) and RSS 2.0 (`history.rss`) feeds.

One entry per public incident or maintenance, newest change first, with its updates (newest
first) as the entry's HTML content, the way Statuspage's own feeds read. Feed readers poll
these, so they are rendered with the rest of the page and served from the cache.

Text goes through `clean` first: XML 1.0 cannot carry most control characters, and one
stray byte in an incident name must not make every reader reject the feed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from markupsafe import escape

ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
ATOM_NS = "http://www.w3.org/2005/Atom"

# Characters XML 1.0 forbids (C0 controls but tab/newline/CR, surrogates, U+FFFE/U+FFFF).
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean(text: str | None) -> str:
    """`text` without characters XML cannot carry (and that no page needs)."""
    return _INVALID.sub("", text or "")


def _entries(snap: Any) -> list[Any]:
    items = [*snap.incidents, *snap.maintenances]
    return sorted(items, key=lambda i: (i.updated_at, i.id), reverse=True)


def _link(snap: Any, inc: Any) -> str:
    return f"{snap.page.url.rstrip('/')}/incidents/{inc.id}"


def _content(snap: Any, inc: Any, body: Callable[[str], str]) -> str:
    """The updates as HTML (escaped once more by the XML writer)."""
    zone = snap.zone
    parts = []
    for u in inc.updates:
        local = u.display_at.astimezone(zone)
        stamp = f"{local:%b} {local.day}, {local:%H:%M} {local.tzname() or ''}".strip()
        parts.append(f"<p><small>{escape(stamp)}</small><br><strong>{escape(u.status.replace('_', ' ').title())}"
                     f"</strong> - </p>{body(u.body)}")
    if inc.kind == "maintenance" and inc.scheduled_for:
        start = inc.scheduled_for.astimezone(zone)
        until = inc.scheduled_until.astimezone(zone) if inc.scheduled_until else None
        window = f"{start:%b} {start.day}, {start:%H:%M}" + (f" - {until:%b} {until.day}, {until:%H:%M}" if until else "")
        parts.append(f"<p>Scheduled: {escape(window)} {escape(start.tzname() or '')}</p>")
    return "".join(parts)


def atom(snap: Any, *, when: Callable[[datetime, Any], str | None], body: Callable[[str], str]) -> bytes:
    """An Atom 1.0 feed (RFC 4287) of the page's incidents and maintenances."""
    ET.register_namespace("", ATOM_NS)

    def el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        node = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            node.text = text
        return node

    zone = snap.zone
    url = snap.page.url.rstrip("/")
    feed = ET.Element(f"{{{ATOM_NS}}}feed", {"xml:lang": "en"})
    el(feed, "id", f"{url}/history")
    el(feed, "title", clean(f"{snap.page.name} status history"))
    el(feed, "link", rel="alternate", type="text/html", href=url)
    el(feed, "link", rel="self", type="application/atom+xml", href=f"{url}/history.atom")
    entries = _entries(snap)
    updated = max([snap.page.updated_at, *(i.updated_at for i in entries)])
    el(feed, "updated", when(updated, zone))
    author = el(feed, "author")
    el(author, "name", clean(snap.page.name) or "Status")
    for inc in entries:
        entry = el(feed, "entry")
        el(entry, "id", _link(snap, inc))
        el(entry, "published", when(inc.created_at, zone))
        el(entry, "updated", when(inc.updated_at, zone))
        el(entry, "link", rel="alternate", type="text/html", href=_link(snap, inc))
        el(entry, "title", clean(inc.name))
        el(entry, "content", _content(snap, inc, body), type="html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def rss(snap: Any, *, body: Callable[[str], str]) -> bytes:
    """An RSS 2.0 feed with the same entries as the Atom one."""
    url = snap.page.url.rstrip("/")
    root = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(root, "channel")

    def sub(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
        node = ET.SubElement(parent, tag, attrs)
        node.text = text
        return node

    sub(channel, "title", clean(f"{snap.page.name} status history"))
    sub(channel, "link", url)
    # readers render an RSS description as HTML (item descriptions are HTML here): the name is escaped
    sub(channel, "description", clean(f"Incidents and maintenances of {escape(snap.page.name)}"))
    sub(channel, "language", "en")
    entries = _entries(snap)
    updated = max([snap.page.updated_at, *(i.updated_at for i in entries)])
    sub(channel, "lastBuildDate", _rfc822(updated))
    for inc in entries:
        item = ET.SubElement(channel, "item")
        sub(item, "title", clean(inc.name))
        sub(item, "description", _content(snap, inc, body))
        sub(item, "pubDate", _rfc822(inc.created_at))
        sub(item, "link", _link(snap, inc))
        sub(item, "guid", _link(snap, inc), isPermaLink="true")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _rfc822(value: datetime) -> str:
    return format_datetime(value.astimezone(UTC), usegmt=True)
