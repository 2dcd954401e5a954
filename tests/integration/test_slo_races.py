"""Races with an admin: a push whose SLO was deleted meanwhile (the delete committed between the push
reading the SLO and counting) is a 404 (NotFound), not a foreign-key failure (a 500) or a false
repeat; counts the engine read with queries an admin has since changed are not counted."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.harness.backends import BACKENDS
from tocsin.errors import NotFound
from tocsin.slo import service as slos
from tocsin.slo import store
from tocsin.slo.job import _evaluate


# PostgreSQL only: SQLite takes its one writer lock for each unit of work, so the delete cannot
# land between the push's read and its write there.
@pytest.mark.parametrize("db_url", [b for b in BACKENDS if b == "postgresql"], indirect=True)
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


def test_counts_of_queries_changed_meanwhile_are_not_counted(db, clock, make_service, system):
    make_service("web")
    old, new = "sum(increase(a[$window]))", "sum(increase(b[$window]))"
    with db.unit_of_work() as s:
        slo_id = slos.create_slo(s, actor=system, now=clock.now(), service="web", name="p", target=99.0,
                                 source="prometheus", good_query=old, total_query=old).id
        slos.update_slo(s, actor=system, now=clock.now(), slo=slos.require_slo(s, slo_id), good_query=new)
    with db.unit_of_work() as s:  # the engine queried the old expressions before the change
        _evaluate(s, slo_id, clock.now(), (5.0, 10.0), queried=(old, old))
        _evaluate(s, slo_id, clock.now(), (1.0, 2.0), queried=(new, old))
        [counts] = store.windows(s, slo_id, clock.now(), [timedelta(days=1)])
    assert (counts.good, counts.total) == (1.0, 2.0)
