"""The routes of an app, as (METHOD, path template) -> the route's path regex (HEAD left out:
Starlette adds it to every GET; mounts such as /static count as one GET route). The smoke walk
(tests/api/test_routes_smoke.py) and the principal matrix (tests/security/test_principals.py) both
fail when a route of the app has no entry of theirs."""

from __future__ import annotations

import re
from typing import Any


def app_routes(app: Any) -> dict[tuple[str, str], re.Pattern[str]]:
    found: dict[tuple[str, str], re.Pattern[str]] = {}

    def add(route: Any) -> None:
        methods = getattr(route, "methods", None)
        if methods is None:  # a Mount
            found[("GET", route.path + "/{path}")] = re.compile("^" + re.escape(route.path) + "/.+$")
            return
        for method in methods - {"HEAD"}:
            found[(method, route.path_format)] = route.path_regex

    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):  # FastAPI >= 0.165 wraps included routers
            for context in route.effective_route_contexts():
                add(context)
        else:
            add(route)
    return found
