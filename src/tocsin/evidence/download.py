"""How a stored evidence file is handed out: always as an attachment, never rendered.

The uploader's declared media type is never used: the file goes out as application/octet-stream
with `nosniff`, a sandboxing CSP (should a browser render it anyway) and no caching, so a planted
HTML or SVG file cannot run in tocsin's origin.
"""

from __future__ import annotations

import re
from urllib.parse import quote

MEDIA_TYPE = "application/octet-stream"


def headers(name: str) -> dict[str, str]:
    """Response headers for downloading a file called `name` (any Unicode; quoted per RFC 6266/5987)."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:150] or "evidence"
    return {
        "Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
    }
