"""Guest responders in SQL, on both backends: a guest sees the incidents of live grants only, and is
never among the people a page or reminder about an incident may reach (even in the security team)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from tocsin.incidents import guests
from tocsin.incidents.access import need_to_know, visible, who_may_see
from tocsin.incidents.service import Declaration, declare
from tocsin.incidents.types import Kind
from tocsin.severities import Severity
from tocsin.teams.service import require_team, set_members
from tocsin.users.service import principal_for


def test_a_guest_sees_live_grants_only_and_is_never_paged(db, clock, system, make_team):
    make_team("secops", is_security=True)
    with db.unit_of_work() as s:
        spec = {"severity": Severity.SEV2, "kind": Kind.security}
        mine, other = (declare(s, actor=system, now=clock.now(), spec=Declaration(title=t, **spec))
                       for t in ("Leak", "Other"))
        open_one = declare(s, actor=system, now=clock.now(), spec=Declaration(title="Open", severity=Severity.SEV3))
        _grant, token = guests.invite(s, actor=system, now=clock.now(), incident=mine, email="ivy@ir.example",
                                      name="Ivy", duration=timedelta(hours=2), max_days=30)
        guest, _ = guests.accept(s, now=clock.now(), token=token, name="Ivy", password="long enough pw")
        set_members(s, actor=system, now=clock.now(), team=require_team(s, "secops"), users=[guest])
        ids = guests.live_incident_ids(s, guest.id, clock.now())
        assert ids == {mine.id}
        principal = dataclasses.replace(principal_for(s, guest), guest_incidents=ids)
        assert principal.security_team  # a team membership does not widen what a guest sees
        assert [i.title for i in s.execute(visible(principal)).scalars()] == ["Leak"]
        for incident in (mine, other, open_one):
            assert who_may_see(s, incident, [guest.id]) == set()
        assert guest.id not in {u.id for u in need_to_know(s)}
    with db.unit_of_work() as s:
        assert guests.live_incident_ids(s, guest.id, clock.now() + timedelta(hours=2)) == frozenset()
