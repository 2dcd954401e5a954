"""Per-request context: the clock reading, the database, and authentication.

Handlers open exactly one unit of work with `ctx.work()`; it authenticates the bearer
token inside the same transaction and commits only when the handler succeeds, so a
2xx answer means the change is durable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from tocsin.clock import Clock
from tocsin.db import Database
from tocsin.errors import Forbidden, Unauthenticated
from tocsin.http.requests import reject_nul
from tocsin.principal import Principal
from tocsin.users.service import authenticate_token

bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer tcs_...`")


@dataclass
class Ctx:
    db: Database
    clock: Clock
    now: datetime
    token: str | None

    @contextmanager
    def work(self) -> Iterator[tuple[Session, Principal]]:
        """Yield (session, principal) inside one transaction; raise Unauthenticated without a valid token."""
        with self.db.unit_of_work() as session:
            principal = authenticate_token(session, self.token, now=self.now) if self.token else None
            if principal is None:
                raise Unauthenticated("a valid API token is required (Authorization: Bearer ...)")
            if principal.is_guest:  # outside responders see their one incident's room, nothing through the API
                raise Forbidden("outside (guest) responders use the console only")
            yield session, principal


def context(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Ctx:
    reject_nul(request)
    state = request.app.state
    return Ctx(db=state.db, clock=state.clock, now=state.clock.now(), token=creds.credentials if creds else None)
