"""What the API client verbs share: the server and token options and one request helper. Nothing heavy
is imported here (no database, no services): client verbs must start fast (cli/main.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import httpx
import typer

from tocsin.cli.out import fail

Url = Annotated[str, typer.Option("--url", envvar="TOCSIN_URL", help="tocsin server URL")]
Token = Annotated[str | None, typer.Option("--token", envvar="TOCSIN_TOKEN", help="API token", show_default=False)]
DEFAULT_URL = "http://127.0.0.1:8080"


def call(url: str, token: str | None, method: str, path: str, **kwargs: Any) -> Any:
    """Send one request; return the decoded JSON; exit 1 with the server's message on error."""
    return request(url, token, method, path, **kwargs).json()


def request(url: str, token: str | None, method: str, path: str, *, timeout: float = 30,
            **kwargs: Any) -> httpx.Response:
    """Send one request; return the response (JSON or not); exit 1 with the server's message on error."""
    if not token:
        fail("no API token: set TOCSIN_TOKEN or pass --token")
    try:
        resp = httpx.request(method, url.rstrip("/") + path, headers={"Authorization": f"Bearer {token}"},
                             timeout=timeout, **kwargs)
    except httpx.HTTPError as exc:
        fail(f"cannot reach tocsin at {url}: {exc}")
    if resp.status_code >= 400:
        try:
            err = resp.json()["error"]
            fail(f"{err['message']} ({resp.status_code} {err['code']})")
        except (ValueError, KeyError, TypeError):
            fail(f"{resp.status_code} from {path}: {resp.text[:200]}")
    return resp


def when(value: str | None) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S UTC")


