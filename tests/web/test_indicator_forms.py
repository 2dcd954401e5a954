"""The room's "Indicators and assets" panel (issue 17) without a browser: a refused form comes back
with the reason beside it, a 422, and what was typed; first and last seen are read in the viewer's
time zone; viewers see the panel without forms and are refused; operational incidents have no panel."""

from __future__ import annotations

from tests.harness.console import new_incident, post_form, room_of
from tocsin.incidents.access import require_incident
from tocsin.incidents.roles import set_participant
from tocsin.incidents.types import ParticipantKind
from tocsin.indicators.models import Indicator
from tocsin.users.service import require_user, update_user


def _panel(html: str) -> str:
    start = html.index('id="iocs-section"')
    return html[start:html.index('<section class="room-timeline"', start)]


def test_refusals_come_back_beside_the_form_and_viewers_only_read(web_client, make_web_user, db, system, clock):
    c, ref = new_incident(web_client, kind="security")
    with db.unit_of_work() as s:  # Rui works in Berlin: 10:30 there is 09:30 UTC in winter
        update_user(s, actor=system, now=clock.now(), user=require_user(s, c.user.id), time_zone="Europe/Berlin")
    room = f"/incidents/{ref}"
    r = post_form(c, f"{room}/iocs/indicator", {"type": "sha256", "value": "abc123", "source": "EDR"}, page=room)
    assert r.status_code == 422
    assert "a sha256 hash is 64 hexadecimal digits" in r.text
    assert 'value="abc123"' in r.text and 'value="EDR"' in r.text  # what was typed is kept

    r = post_form(c, f"{room}/iocs/indicator", {"type": "ipv4", "value": "198.51.100.7", "first_seen": "2025-12-31T10:30",
                                                "last_seen": "2025-12-31T09:00"}, page=room)
    assert r.status_code == 422 and "last seen cannot be before first seen" in r.text
    r = post_form(c, f"{room}/iocs/indicator", {"type": "ipv4", "value": "198.51.100.7", "first_seen": "2025-12-31T10:30",
                                                "tlp": "red"}, page=room)
    assert r.status_code == 303 and r.headers["location"] == f"{room}#iocs-section"
    with db.unit_of_work() as s:
        stored = s.query(Indicator).one()
        stored_id = stored.id
        assert (stored.value, stored.tlp, stored.first_seen.isoformat()) == ("198.51.100.7", "red",
                                                                             "2025-12-31T09:30:00+00:00")
    panel = _panel(room_of(c, ref))
    assert "seen 2025-12-31 10:30" in panel and "TLP:RED" in panel and 'id="indicator-form"' in panel
    assert post_form(c, f"{room}/iocs/asset", {"kind": "printer", "name": "p1"}, page=room).status_code == 422
    removed = post_form(c, f"{room}/iocs/indicators/{stored_id}/remove", {}, page=room)
    assert removed.status_code == 303
    assert "198.51.100.7" not in _panel(room_of(c, ref))
    assert "Indicator removed: ipv4 198.51.100.7" in room_of(c, ref)
    assert post_form(c, f"{room}/iocs/indicators/{stored_id}/remove", {}, page=room).status_code == 404
    post_form(c, f"{room}/iocs/indicator", {"type": "ipv4", "value": "198.51.100.7"}, page=room)

    viewer = make_web_user("viewer")
    v = web_client(viewer)
    with db.unit_of_work() as s:
        set_participant(s, incident=require_incident(s, system, ref), user=require_user(s, viewer.id),
                        kind=ParticipantKind.observer, actor=system, now=clock.now())
    panel = _panel(room_of(v, ref))
    assert "198.51.100.7" in panel and "<form" not in panel
    assert post_form(v, f"{room}/iocs/indicator", {"type": "ipv4", "value": "198.51.100.8"}, page=room).status_code \
        == 403

    c2, operational = new_incident(web_client)
    assert 'id="iocs-section"' not in room_of(c2, operational)
