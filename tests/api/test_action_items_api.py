"""Action items through the API: what a responder creates, follows up and closes, and what
people who may not see an incident do not see of its items."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.harness.incidents import declare
from tocsin.actions.models import ActionSync
from tocsin.audit.models import AuditEntry
from tocsin.ids import new_id
from tocsin.postmortems.models import Postmortem
from tocsin.problems.models import Problem

AI = "/api/v1/action-items"
INC = "/api/v1/incidents"


@pytest.fixture
def people(make_person, make_team):
    make_team("payments")
    make_team("web")
    return {
        "bob": make_person("responder", teams=["payments"], name="Bob"),
        "carol": make_person("responder", teams=["payments", "web"], name="Carol"),
        "olive": make_person("responder", name="Olive"),  # an outsider to restricted incidents
        "dave": make_person("viewer", name="Dave"),
        "admin": make_person("admin", name="Ada"),
    }


def at(text):
    return datetime.fromisoformat(text)


def create(client, who, **body):
    body.setdefault("title", "Add a retry budget to the payment client")
    body.setdefault("type", "prevent")
    r = client.post(AI, json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


def refs(client, who, path=AI, **params):
    r = client.get(path, params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    return sorted(i["ref"] for i in r.json()["items"])


def test_create_from_the_incident_room_with_a_due_day_in_the_owners_time_zone(client, people, db):
    bob = people["bob"]
    r = client.patch(f"/api/v1/users/{bob.email}", json={"time_zone": "Europe/Berlin"}, headers=bob.headers)
    assert r.status_code == 200, r.text
    inc = declare(client, bob)
    item = create(client, bob, incident=inc["ref"], owner="me", due_on="2026-01-20", type="detect",
                  description="Alert when the retry rate doubles")
    assert item["ref"].startswith("ACT-") and item["status"] == "open" and item["priority"] == "medium"
    assert item["owner"]["email"] == bob.email and item["created_by"]["email"] == bob.email
    assert item["team"]["slug"] == "payments", "the owner's only team is the default"
    # the end of 20 January in Berlin (UTC+1) is 22:59:59 UTC
    assert at(item["due_at"]) == at("2026-01-20T22:59:59+00:00")
    assert item["incident"]["ref"] == inc["ref"] and item["overdue"] is False

    for key in (item["ref"], item["ref"].lower(), item["id"]):
        got = client.get(f"{AI}/{key}", headers=people["dave"].headers)
        assert got.status_code == 200 and got.json()["id"] == item["id"]
    entries = client.get(f"{INC}/{inc['ref']}/timeline", headers=bob.headers).json()["items"]
    assert [e["text"] for e in entries if e["kind"] == "action_item"] == [
        f"Action item {item['ref']} created: Add a retry budget to the payment client, owner Bob"]
    assert refs(client, bob, f"{INC}/{inc['ref']}/action-items") == [item["ref"]]
    with db.unit_of_work() as s:
        assert s.execute(sa.select(AuditEntry.action).where(AuditEntry.target_id == item["id"])).scalars().all() \
            == ["action_item.create"]


def test_an_owner_in_several_teams_gets_no_default_team_and_due_at_is_kept(client, people):
    item = create(client, people["bob"], owner=people["carol"].email, due_at="2026-02-01T09:00:00-05:00",
                  priority="high")
    assert item["team"] is None and item["priority"] == "high"
    assert at(item["due_at"]) == at("2026-02-01T14:00:00+00:00")


@pytest.mark.parametrize("steps, completed", [
    (["in_progress", "done"], "stamped"),
    (["wont_do"], "stamped"),
    (["done", "open"], None),
    (["done", "in_progress"], None),
    (["in_progress"], None),
])
def test_finishing_stamps_completed_at_and_reopening_clears_it(client, people, clock, steps, completed):
    bob = people["bob"]
    inc = declare(client, bob)
    item = create(client, bob, incident=inc["ref"])
    for status in steps:
        clock.advance(hours=1)
        r = client.patch(f"{AI}/{item['ref']}", json={"status": status}, headers=bob.headers)
        assert r.status_code == 200, r.text
    final = r.json()
    assert final["status"] == steps[-1]
    assert (at(final["completed_at"]) == clock.now()) if completed else final["completed_at"] is None
    finishes = [e["data"]["status"] for e in client.get(f"{INC}/{inc['ref']}/timeline", headers=bob.headers)
                .json()["items"] if e["kind"] == "action_item" and e["data"]["event"] == "status"]
    # finishing and re-opening are on the incident's timeline; open <-> in_progress is not
    assert finishes == [s for i, s in enumerate(steps) if s in ("done", "wont_do")
                        or (i and steps[i - 1] in ("done", "wont_do"))]


def test_patch_changes_fields_and_is_audited(client, people, db):
    bob, carol = people["bob"], people["carol"]
    item = create(client, bob, owner="me")
    r = client.patch(f"{AI}/{item['id']}", json={"title": "Retry budget, 10%", "owner": carol.email,
                                                  "team": "web", "due_at": None, "priority": "low"},
                     headers=bob.headers)
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["title"], got["owner"]["name"], got["team"]["slug"], got["priority"]) == \
        ("Retry budget, 10%", "Carol", "web", "low")
    with db.unit_of_work() as s:
        details = s.execute(sa.select(AuditEntry.details).where(AuditEntry.action == "action_item.update")) \
            .scalar_one()
    assert set(details["changes"]) == {"title", "owner_id", "team_id", "priority"}
    # clearing the owner and team
    r = client.patch(f"{AI}/{item['id']}", json={"owner": None, "team": None}, headers=bob.headers)
    assert (r.json()["owner"], r.json()["team"]) == (None, None)


def test_filters(client, people, clock, db):
    bob, carol = people["bob"], people["carol"]
    inc = declare(client, bob)
    with db.unit_of_work() as s:
        pm = Postmortem(id=new_id(), incident_id=uuid.UUID(inc["id"]), title="PM", status="draft", body="", revision=1,
                        public_text="", created_at=clock.now(), updated_at=clock.now())
        prb = Problem(id=new_id(), number=7, title="Pool exhaustion", description="", root_cause="",
                      known_error="", workaround="", status="open", dedup_keys=[], labels={}, terms=[],
                      created_at=clock.now(), updated_at=clock.now())
        s.add_all([pm, prb])
        pm_id = str(pm.id)
    a = create(client, bob, owner="me", incident=inc["ref"], due_at="2026-01-01T13:00:00Z")
    b = create(client, bob, owner=carol.email, team="web", postmortem=pm_id, problem="PRB-7")
    c = create(client, carol, owner="me", team="payments", due_at="2026-01-01T11:00:00Z")
    client.patch(f"{AI}/{c['ref']}", json={"status": "done"}, headers=carol.headers)
    assert b["incident"]["ref"] == inc["ref"], "an item from a postmortem is linked to its incident"
    assert b["problem"]["ref"] == "PRB-7"

    assert refs(client, bob, owner="me") == [a["ref"]]
    assert refs(client, carol, owner="me") == sorted([b["ref"], c["ref"]])
    assert refs(client, bob, team="web") == [b["ref"]]
    assert refs(client, bob, incident=inc["id"]) == sorted([a["ref"], b["ref"]])
    assert refs(client, bob, postmortem=pm_id) == [b["ref"]]
    assert refs(client, bob, problem="prb-7") == [b["ref"]]
    assert refs(client, bob, status=["open", "done"]) == sorted([a["ref"], b["ref"], c["ref"]])
    assert refs(client, bob, status="done") == [c["ref"]]
    assert refs(client, bob, overdue="true") == []
    clock.advance(hours=2)
    assert refs(client, bob, overdue="true") == [a["ref"]], "the done one is not overdue"
    assert client.get(f"{AI}/{a['ref']}", headers=bob.headers).json()["overdue"] is True


def test_pages_follow_the_cursor(client, people):
    made = [create(client, people["bob"], title=f"item {n}")["ref"] for n in range(5)]
    seen, cursor = [], None
    while True:
        r = client.get(AI, params={"limit": 2, **({"cursor": cursor} if cursor else {})},
                       headers=people["bob"].headers).json()
        seen += [i["ref"] for i in r["items"]]
        cursor = r["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(made)), "newest first, each once"


def test_team_overdue_list(client, people, clock):
    bob = people["bob"]
    late = create(client, bob, owner="me", due_at="2026-01-01T08:00:00Z")
    later = create(client, bob, owner="me", due_at="2026-01-01T10:00:00Z")
    done = create(client, bob, owner="me", due_at="2026-01-01T09:00:00Z")
    client.patch(f"{AI}/{done['ref']}", json={"status": "wont_do"}, headers=bob.headers)
    create(client, bob, owner="me", due_at="2026-01-05T10:00:00Z")  # not yet due
    create(client, bob, team="web", due_at="2026-01-01T08:00:00Z")  # another team's
    r = client.get("/api/v1/teams/payments/action-items/overdue", params={"limit": 1}, headers=bob.headers).json()
    assert [i["ref"] for i in r["items"]] == [late["ref"]], "longest overdue first"
    r = client.get("/api/v1/teams/payments/action-items/overdue", params={"cursor": r["next_cursor"]},
                   headers=bob.headers).json()
    assert [i["ref"] for i in r["items"]] == [later["ref"]] and r["next_cursor"] is None
    assert client.get("/api/v1/teams/nope/action-items/overdue", headers=bob.headers).status_code == 404


def test_items_of_a_restricted_incident_are_need_to_know(client, people, make_team, make_person):
    bob, olive, admin = people["bob"], people["olive"], people["admin"]
    make_team("sec", is_security=True)
    sec = make_person("viewer", teams=["sec"], name="Sec")
    secret = declare(client, bob, restricted=True, title="Key leak")
    hidden = create(client, bob, incident=secret["ref"], owner="me", due_at="2026-01-01T08:00:00Z")
    shown = create(client, bob, owner="me", due_at="2026-01-01T08:00:00Z")
    for who in (bob, admin, sec):
        assert hidden["ref"] in refs(client, who), who.name
        assert client.get(f"{AI}/{hidden['ref']}", headers=who.headers).status_code == 200
    assert refs(client, olive) == [shown["ref"]]
    assert refs(client, olive, "/api/v1/teams/payments/action-items/overdue") == [shown["ref"]]
    assert refs(client, bob, "/api/v1/teams/payments/action-items/overdue") == sorted([hidden["ref"], shown["ref"]])
    for method, path, body in [("GET", f"{AI}/{hidden['ref']}", None), ("GET", f"{AI}/{hidden['id']}", None),
                               ("PATCH", f"{AI}/{hidden['ref']}", {"status": "done"}),
                               ("GET", f"{INC}/{secret['ref']}/action-items", None),
                               ("POST", f"{AI}/sync", {"ref": hidden["ref"], "status": "done"})]:
        r = client.request(method, path, json=body, headers=olive.headers)
        assert r.status_code == 404, (method, path, r.text)
        assert secret["title"] not in r.text
    # creating an item on it, or filtering by it, is refused as if it did not exist
    r = client.post(AI, json={"title": "x", "type": "prevent", "incident": secret["ref"]}, headers=olive.headers)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "incident"
    assert client.get(AI, params={"incident": secret["ref"]}, headers=olive.headers).status_code == 422
    assert client.get(f"{AI}/{hidden['ref']}", headers=bob.headers).json()["status"] == "open"


def test_an_owner_must_be_able_to_see_the_restricted_incident(client, people, clock, db):
    # Reminders would send an owner who may not see the incident the item's title and a link that 404s.
    bob, carol, olive = people["bob"], people["carol"], people["olive"]
    secret = declare(client, bob, restricted=True, title="Key leak")
    with db.unit_of_work() as s:
        pm = Postmortem(id=new_id(), incident_id=uuid.UUID(secret["id"]), title="PM", status="draft", body="",
                        revision=1, public_text="", created_at=clock.now(), updated_at=clock.now())
        s.add(pm)
        pm_id = str(pm.id)
    for link in ({"incident": secret["ref"]}, {"postmortem": pm_id}):
        r = client.post(AI, json={"title": "Rotate keys", "type": "prevent", **link,
                                  "owner": olive.email}, headers=bob.headers)
        assert r.status_code == 422, (link, r.text)
        assert r.json()["error"]["details"]["field"] == "owner" and "Key leak" not in r.text
    item = create(client, bob, incident=secret["ref"], owner="me")
    r = client.patch(f"{AI}/{item['ref']}", json={"owner": olive.email}, headers=bob.headers)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "owner", r.text
    assert client.get(f"{AI}/{item['ref']}", headers=bob.headers).json()["owner"]["email"] == bob.email
    # once a participant of the incident, the same person may own its items
    r = client.post(f"{INC}/{secret['ref']}/participants", json={"user": olive.email}, headers=bob.headers)
    assert r.status_code == 200, r.text
    r = client.patch(f"{AI}/{item['ref']}", json={"owner": olive.email}, headers=bob.headers)
    assert r.status_code == 200 and r.json()["owner"]["email"] == olive.email, r.text
    # an item on an incident everyone may see takes any owner
    open_item = create(client, bob, incident=declare(client, bob)["ref"], owner=carol.email)
    assert open_item["owner"]["email"] == carol.email


def test_viewers_read_but_do_not_write(client, people):
    item = create(client, people["bob"])
    dave = people["dave"].headers
    assert client.get(f"{AI}/{item['ref']}", headers=dave).status_code == 200
    for method, path, body in [("POST", AI, {"title": "x", "type": "process"}),
                               ("PATCH", f"{AI}/{item['ref']}", {"status": "done"}),
                               ("POST", f"{AI}/sync", {"ref": item["ref"], "status": "done"}),
                               ("GET", f"{AI}/sync-secret", None)]:
        r = client.request(method, path, json=body, headers=dave)
        assert r.status_code == 403, (method, path, r.text)
    assert client.get(f"{AI}/sync-secret", headers=people["bob"].headers).status_code == 403
    r = client.get(f"{AI}/sync-secret", headers=people["admin"].headers)
    assert r.status_code == 200 and r.json()["secret"].startswith("whsec_")


def test_reading_the_sync_secret_is_audited(client, people, db):
    with db.unit_of_work() as s:
        before = s.execute(sa.select(sa.func.count()).select_from(AuditEntry)
                           .where(AuditEntry.action == "action_item.sync_secret_read")).scalar_one()
    assert client.get(f"{AI}/sync-secret", headers=people["bob"].headers).status_code == 403
    assert client.get(f"{AI}/sync-secret", headers=people["admin"].headers).status_code == 200
    with db.unit_of_work() as s:
        rows = s.execute(sa.select(AuditEntry.actor_label).where(
            AuditEntry.action == "action_item.sync_secret_read")).scalars().all()
    assert before == 0 and rows == [people["admin"].email], "one entry, for the admin who was handed it"


@pytest.mark.parametrize("body, field", [
    ({"title": "x", "type": "fix"}, "type"),
    ({"title": "x", "type": "prevent", "priority": "urgent"}, "priority"),
    ({"title": "", "type": "prevent"}, "title"),
    ({"title": "   ", "type": "prevent"}, "title"),
    ({"title": "x" * 301, "type": "prevent"}, "title"),
    ({"title": "x", "type": "prevent", "due_at": "2026-02-01T09:00:00"}, "due_at"),
    ({"title": "x", "type": "prevent", "due_at": "2026-02-01T09:00:00Z", "due_on": "2026-02-01"}, None),
    ({"title": "x", "type": "prevent", "owner": "nobody@example.test"}, "owner"),
    ({"title": "x", "type": "prevent", "team": "nope"}, "team"),
    ({"title": "x", "type": "prevent", "incident": "INC-999"}, "incident"),
    ({"title": "x", "type": "prevent", "postmortem": "not-an-id"}, "postmortem"),
    ({"title": "x", "type": "prevent", "problem": "PRB-404"}, "problem"),
    ({"title": "x", "type": "prevent", "colour": "red"}, "colour"),
])
def test_bad_create_bodies_are_422_naming_the_field(client, people, body, field):
    r = client.post(AI, json=body, headers=people["bob"].headers)
    assert r.status_code == 422, r.text
    if field:
        assert field in r.text


@pytest.mark.parametrize("body", [{"status": None}, {"title": None}, {"status": "closed"},
                                  {"due_on": "2026-02-31"}, {"type": None},
                                  # an item's incident and postmortem are fixed at creation (need-to-know
                                  # follows the incident alone: see item_visibility)
                                  {"incident": "INC-1"}, {"postmortem": "7c9e6679-7425-40de-944b-e07fc1f97329"}])
def test_bad_patches_are_422(client, people, body):
    item = create(client, people["bob"])
    r = client.patch(f"{AI}/{item['ref']}", json=body, headers=people["bob"].headers)
    assert r.status_code == 422, r.text


def test_unknown_items_are_404(client, people):
    for key in ("ACT-999", "7c9e6679-7425-40de-944b-e07fc1f97329", "nonsense"):
        assert client.get(f"{AI}/{key}", headers=people["bob"].headers).status_code == 404


# --- the tracker's incoming status -------------------------------------------------------------

@pytest.mark.parametrize("word, status", [("closed", "done"), ("Resolved", "done"), ("done", "done"),
                                          ("wont_do", "wont_do"), ("in_progress", "in_progress"),
                                          ("reopened", "open")])
def test_tracker_status_words_map_to_ours(client, people, word, status):
    bob = people["bob"]
    item = create(client, bob, external_id="OPS-1")
    if status == "open":
        client.patch(f"{AI}/{item['ref']}", json={"status": "done"}, headers=bob.headers)
    r = client.post(f"{AI}/sync", json={"external_id": "OPS-1", "status": word}, headers=bob.headers)
    assert r.status_code == 200, r.text
    assert r.json()["changed"] is True and r.json()["action_item"]["status"] == status
    assert (r.json()["action_item"]["completed_at"] is not None) == (status in ("done", "wont_do"))


def test_tracker_update_links_by_ref_and_is_audited_but_not_echoed(db, clock, make_person, make_team):
    from fastapi.testclient import TestClient

    from tocsin.app import create_app
    from tocsin.config import Settings

    app = create_app(settings=Settings(secret_key="k", action_sync_url="https://tracker.example.test/hook"), db=db,
                     clock=clock)
    bob = make_person("responder", name="Bob")
    with TestClient(app, raise_server_exceptions=False) as client:
        inc = declare(client, bob)
        item = create(client, bob, incident=inc["ref"])
        client.patch(f"{AI}/{item['ref']}", json={"priority": "high"}, headers=bob.headers)
        with db.unit_of_work() as s:
            queued = [(r.event, r.payload["priority"]) for r in
                      s.execute(sa.select(ActionSync).order_by(ActionSync.id)).scalars()]
        assert queued == [("action_item.created", "medium"), ("action_item.updated", "high")]

        r = client.post(f"{AI}/sync", json={"ref": item["ref"], "external_id": "GH-12", "status": "closed",
                                            "external_url": "https://github.example.test/o/r/issues/12"},
                        headers=bob.headers)
        assert r.status_code == 200, r.text
        got = r.json()["action_item"]
        assert (got["status"], got["external_id"]) == ("done", "GH-12")
        again = client.post(f"{AI}/sync", json={"external_id": "GH-12", "status": "closed"}, headers=bob.headers)
        assert again.json()["changed"] is False
        texts = [e["text"] for e in client.get(f"{INC}/{inc['ref']}/timeline", headers=bob.headers).json()["items"]
                 if e["kind"] == "action_item"]
        assert texts[-1] == f"Action item {item['ref']} done (from the tracker): {item['title']}"
        app.state.ingest.close()
    with db.unit_of_work() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(ActionSync)).scalar_one() == 2, \
            "a change that came from the tracker is not sent back to it"
        assert s.execute(sa.select(sa.func.count()).select_from(AuditEntry)
                         .where(AuditEntry.action == "action_item.sync_in")).scalar_one() == 1


@pytest.mark.parametrize("body, code", [
    ({"status": "done"}, 422),
    ({"external_id": "NOPE-1", "status": "done"}, 404),
    ({"external_id": "OPS-2", "status": "shipped"}, 422),
    ({"external_id": "DUP", "status": "done"}, 409),
])
def test_bad_tracker_updates(client, people, body, code):
    bob = people["bob"]
    create(client, bob, external_id="OPS-2")
    create(client, bob, external_id="DUP")
    create(client, bob, external_id="DUP")
    r = client.post(f"{AI}/sync", json=body, headers=bob.headers)
    assert r.status_code == code, r.text


def test_no_sync_rows_without_a_tracker_url(client, people, db):
    item = create(client, people["bob"])
    client.patch(f"{AI}/{item['ref']}", json={"status": "done"}, headers=people["bob"].headers)
    with db.unit_of_work() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(ActionSync)).scalar_one() == 0


def test_due_on_follows_a_later_owner_change_only_when_given(client, people, clock):
    bob = people["bob"]
    client.patch(f"/api/v1/users/{bob.email}", json={"time_zone": "America/New_York"}, headers=bob.headers)
    item = create(client, bob)
    r = client.patch(f"{AI}/{item['ref']}", json={"owner": "me", "due_on": "2026-03-08"}, headers=bob.headers)
    # the end of 8 March in New York, the day clocks go forward (EDT, UTC-4 by then)
    assert at(r.json()["due_at"]) == at("2026-03-09T03:59:59+00:00")
    assert clock.now() < at(r.json()["due_at"]) - timedelta(days=60)
