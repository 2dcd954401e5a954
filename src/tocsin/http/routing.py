"""Adding a module's routes to an app.

FastAPI's `include_router` keeps the included router as a branch and builds each route's handler again
for every app the first time a request reaches it (about half the time of a short test, and the first
request after every start). The routers here carry their prefix, tags and documented error responses
themselves, so their routes go into the app as they are: built once, when the module is imported, and
shared by every app in the process. Order is kept: the first route that matches answers.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI


def add_routes(app: FastAPI, *routers: APIRouter) -> None:
    """Append every route of `routers`, in order, to `app` (the routers may not include other routers)."""
    for router in routers:
        if router.on_startup or router.on_shutdown:
            raise ValueError("add_routes does not carry a router's startup or shutdown handlers")
        app.router.routes.extend(router.routes)
    app.router._mark_routes_changed()  # FastAPI caches route lists by this version counter
