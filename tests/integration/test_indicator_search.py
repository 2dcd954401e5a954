"""The search across incidents and "also seen in" (issue 17) are SQL: a self-join on the normalised
value with need-to-know in the WHERE clause, and newest-first pages by UUIDv7. Both backends."""

from __future__ import annotations

import pytest

from tocsin.errors import Conflict
from tocsin.incidents.service import Declaration, declare
from tocsin.incidents.types import Kind
from tocsin.indicators import service as svc
from tocsin.indicators.types import AssetKind, IndicatorType
from tocsin.severities import Severity
from tocsin.users.service import principal_for, require_user


def test_search_and_also_seen_in_respect_need_to_know(db, clock, system, make_person):
    carol = make_person("responder", name="Carol")
    with db.unit_of_work() as s:
        me = principal_for(s, require_user(s, carol.id))
        hidden = declare(s, actor=system, now=clock.now(), spec=Declaration(
            title="Restricted breach", severity=Severity.SEV1, kind=Kind.security))  # restricted, Carol not in it
        shared = declare(s, actor=system, now=clock.now(), spec=Declaration(
            title="Phishing", severity=Severity.SEV3, kind=Kind.security, restricted=False))
        mine = declare(s, actor=me, now=clock.now(), spec=Declaration(
            title="Carol's", severity=Severity.SEV2, kind=Kind.security))  # restricted; she declared it
        for incident, raw in ((hidden, "EVIL.example"), (shared, "evil[.]example"), (mine, "evil.example.")):
            svc.add_indicator(s, incident=incident, actor=system, now=clock.now(),
                              spec=svc.IndicatorSpec(type=IndicatorType.domain, value=raw))
        svc.add_indicator(s, incident=mine, actor=system, now=clock.now(),
                          spec=svc.IndicatorSpec(type=IndicatorType.host, value="evil.example"))  # same text, other type
        svc.add_asset(s, incident=mine, actor=system, now=clock.now(),
                      spec=svc.AssetSpec(kind=AssetKind.host, name="Web-7"))

    with db.unit_of_work() as s:
        me = principal_for(s, require_user(s, carol.id))
        found = svc.search(s, me, value="Evil.Example", kind=IndicatorType.domain)
        assert [inc.number for _, inc in found] == [mine.number, shared.number]  # newest first; not the hidden one
        assert {(i.type, inc.number) for i, inc in svc.search(s, me, value="evil.example")} == {
            ("domain", mine.number), ("domain", shared.number), ("host", mine.number)}
        first = svc.search(s, me, value="evil.example", limit=2)
        rest = svc.search(s, me, value="evil.example", before=first[-1][0].id, limit=2)
        assert len(first) == 2 and len(rest) == 1 and rest[0][0].id not in {i.id for i, _ in first}
        seen = svc.also_seen_in(s, me, mine)
        assert sorted(seen.values()) == [[shared.number]]  # the domain only: the host has no twin
        assert sorted(svc.also_seen_in(s, system, shared).values()) == [[hidden.number, mine.number]]
        with pytest.raises(Conflict, match="already has the host web-7"):  # names match case-insensitively
            svc.add_asset(s, incident=mine, actor=system, now=clock.now(),
                          spec=svc.AssetSpec(kind=AssetKind.host, name="web-7"))
