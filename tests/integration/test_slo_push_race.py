"""A push that races the SLO's deletion: the delete committed between the push reading the SLO and
counting, so the push is a 404 (NotFound), not a foreign-key failure (a 500) or a false repeat."""

from __future__ import annotations

import pytest

from tests.harness.backends import BACKENDS
from tocsin.errors import NotFound
from tocsin.slo import service as slos

# PostgreSQL only: SQLite takes its one writer lock for each unit of work, so the delete cannot
# land between the push's read and its write there.
pytestmark = pytest.mark.parametrize("db_url", [b for b in BACKENDS if b == "postgresql"], indirect=True)


def test_a_push_to_an_slo_deleted_meanwhile_is_not_found(db, clock, make_service, system):
    make_service("web")
    with db.unit_of_work() as s:
        slo_id = slos.create_slo(s, actor=system, now=clock.now(), service="web", name="a", target=99.0,
                                 source="push").id
    with db.unit_of_work() as s:
        slo = slos.require_slo(s, slo_id)  # the push route's read
        with db.unit_of_work() as other:  # an admin deletes it meanwhile
            slos.delete_slo(other, actor=system, now=clock.now(), slo=slos.require_slo(other, slo_id))
        for key in (None, "k1"):
            with pytest.raises(NotFound), s.begin_nested():
                slos.push_events(s, actor=system, now=clock.now(), slo=slo, good=1, total=1, idempotency_key=key)
