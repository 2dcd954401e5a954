"""Rendering console pages: one Jinja2 environment (autoescape on) and the security headers.

Every console page goes through `render`, so every page gets the same strict CSP (no inline
script or style at all), nosniff, same-origin referrers and no caching of private pages.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape

from tocsin.localtime import zone
from tocsin.reports import display

TEMPLATES = Path(__file__).parent / "templates"

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; worker-src 'self'; manifest-src 'self'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
FLASH_COOKIE = "tocsin_flash"


def _as_datetime(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def describe_span(delta: timedelta) -> str:
    """'just now', '5 min', '3 h 10 min', '2 d 4 h' — short, for tables and headers."""
    secs = int(abs(delta.total_seconds()))
    if secs < 60:
        return f"{secs} s"
    mins = secs // 60
    if mins < 60:
        return f"{mins} min"
    hours, mins = divmod(mins, 60)
    if hours < 24:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@pass_context
def _ago(context: Any, value: Any) -> str:
    """'5 min ago' (or 'in 5 min' for the future), relative to the request's clock reading."""
    when = _as_datetime(value)
    now = context.get("now")
    if when is None or now is None:
        return ""
    delta = now - when
    if abs(delta.total_seconds()) < 60:
        return "just now"
    return f"{describe_span(delta)} ago" if delta.total_seconds() > 0 else f"in {describe_span(delta)}"


@pass_context
def _localtime(context: Any, value: Any, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """The instant in the viewer's time zone (UTC on pages without a user)."""
    when = _as_datetime(value)
    if when is None:
        return ""
    user = context.get("user")
    try:
        tz = zone(getattr(user, "time_zone", None) or "UTC")
    except ValueError:
        tz = zone("UTC")
    return when.astimezone(tz).strftime(fmt)


def _isoformat(value: Any) -> str:
    when = _as_datetime(value)
    return when.isoformat() if when else ""


def _sev_class(value: Any) -> str:
    text = str(getattr(value, "value", value) or "").lower()
    return f"sev sev-{text}" if text in ("sev1", "sev2", "sev3", "sev4") else "sev"


def _duration(value: Any) -> str:
    return describe_span(value) if isinstance(value, timedelta) else ""


env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True,
                                                                                          default_for_string=True),
                  trim_blocks=True, lstrip_blocks=True)
env.filters.update(ago=_ago, localtime=_localtime, sev_class=_sev_class, duration=_duration, iso=_isoformat)
env.filters.update(report_duration=display.duration, report_percent=display.percent, report_money=display.money)
env.globals.update(SEVERITIES=SEVERITIES)


def _mail_missing(ctx: Any) -> bool:
    """True for an admin's pages while no SMTP server is configured (templates/mail_banner.html)."""
    principal, settings = getattr(ctx, "principal", None), getattr(ctx, "settings", None)
    return bool(principal is not None and principal.is_admin and settings is not None and not settings.smtp_url)


def render(request: Request, ctx: Any, template: str, status_code: int = 200, **vars: Any) -> HTMLResponse:
    """Render `template` with the context every page uses, and the console's security headers.

    Needs no database: safe to call inside or outside `ctx.work()`."""
    values: dict[str, Any] = {
        "request": request,
        "ctx": ctx,
        "user": getattr(ctx, "user", None),
        "principal": getattr(ctx, "principal", None),
        "csrf_token": getattr(ctx, "csrf_token", ""),
        "now": getattr(ctx, "now", None) or request.app.state.clock.now(),
        "path": request.url.path,
    }
    if ctx is not None:
        values["declare_services"] = getattr(ctx, "declare_services", [])
        values["declare_types"] = getattr(ctx, "declare_types", [])
        values["mail_missing"] = _mail_missing(ctx)
    flash = request.cookies.get(FLASH_COOKIE)
    if flash and "flash" not in vars:
        values["flash"] = unquote(flash)[:300]
    values.update(vars)
    body = env.get_template(template).render(values)
    response = HTMLResponse(body, status_code=status_code, headers=dict(SECURITY_HEADERS))
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/", httponly=True, samesite="lax")
    return response


def secure(response: Any) -> Any:
    """Add the console security headers to a response that did not come from `render` (redirects)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response
