"""Need-to-know in the console: an alert attached to a restricted incident the viewer may not see
shows no link and no hint of it, and moving it elsewhere says nothing about it; other people's
contact destinations are shown only to them and to admins."""

from __future__ import annotations

import re
import uuid

from tests.harness.console import post_form
from tocsin.contacts.models import ContactMethod
from tocsin.inbound.types import Action, AlertSeverity, Event
from tocsin.pipeline.ingest import Incoming, ingest
from tocsin.services.service import require_service

PHONE = "+14155550123"


def _alert(db, clock, summary: str) -> str:
    with db.unit_of_work() as s:
        svc = require_service(s, "checkout").id
        ev = Event(action=Action.trigger, dedup_key=f"k-{uuid.uuid4()}", summary=summary,
                   severity=AlertSeverity.critical, source="t", labels={})
        return str(ingest(s, [Incoming(ev, svc, None, "events_v2")], now=clock.now())[0].alert_id)


def test_an_alert_on_a_hidden_incident_shows_no_trace_of_it(web_client, world, db, clock):
    insider, outsider = web_client("responder"), web_client("responder")
    r = insider.post("/api/v1/incidents", json={"title": "Possible data exfiltration", "severity": "SEV1",
                                                "kind": "security"}, headers=insider.user.headers)
    secret = r.json()["ref"]
    alert_id = _alert(db, clock, "Unusual egress from db1")
    assert insider.post(f"/api/v1/alerts/{alert_id}/attach", json={"incident": secret},
                        headers=insider.user.headers).status_code == 200
    assert secret in insider.get(f"/alerts/{alert_id}").text

    page = outsider.get(f"/alerts/{alert_id}")
    assert page.status_code == 200
    assert not re.search(rf"{secret}\b", page.text), "no link to the hidden incident"
    for hint in ("may not see", "exfiltration", "attached"):
        assert hint not in page.text, hint
    mine = outsider.post("/api/v1/incidents", json={"title": "Slow checkout", "severity": "SEV3"},
                         headers=outsider.user.headers).json()["ref"]
    r = post_form(outsider, f"/alerts/{alert_id}/attach", {"incident": mine}, page=f"/alerts/{alert_id}")
    assert r.status_code == 409, r.text
    assert not re.search(rf"{secret}\b", r.text) and "may not see" not in r.text and "restricted" not in r.text


def test_a_persons_contact_methods_are_shown_only_to_them_and_admins(web_client, world, db, clock):
    alice = web_client("responder")
    with db.unit_of_work() as s:
        s.add(ContactMethod(user_id=alice.user.id, type="sms", address=PHONE, label="mobile",
                            created_at=clock.now(), verified_at=clock.now(), verify_attempts=0))
    page = f"/users/{alice.user.id}"
    assert PHONE in alice.get(page).text and PHONE in web_client("admin").get(page).text
    for who in ("viewer", "responder"):
        r = web_client(who).get(page)
        assert r.status_code == 200 and PHONE not in r.text and "5550123" not in r.text
