"""/metrics: Prometheus metrics for the platform and what is open now (see reports/prometheus.py).

Settings decide who may scrape: `metrics_enabled` false answers 404 as if the route did not
exist; `metrics_public` false (the default) needs a valid API token as a Bearer token, of any
org role. The answer is never a 500: a database failure is a 503 in plain text, which
Prometheus records as a failed scrape (`up == 0`).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from tocsin.api.context import Ctx, context
from tocsin.errors import NotFound, Unauthenticated
from tocsin.reports import prometheus

router = APIRouter()
CtxDep = Annotated[Ctx, Depends(context)]
log = logging.getLogger(__name__)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, ctx: CtxDep) -> Response:
    settings = request.app.state.settings
    if not settings.metrics_enabled:
        raise NotFound("metrics are disabled (TOCSIN_METRICS_ENABLED=false)")
    try:
        if settings.metrics_public:
            with ctx.db.unit_of_work() as s:
                snap = prometheus.snapshot(s, now=ctx.now)
        else:
            if not ctx.token:  # refuse before touching the database
                raise Unauthenticated("a valid API token is required (Authorization: Bearer ...)")
            with ctx.work() as (s, _me):
                snap = prometheus.snapshot(s, now=ctx.now)
    except SQLAlchemyError:
        log.exception("metrics: the database failed")
        return Response("database unavailable\n", status_code=503, media_type="text/plain; charset=utf-8")
    return Response(prometheus.render(snap), media_type=CONTENT_TYPE_LATEST)
