"""Running an incident through the API: the things a responder does and sees."""

from datetime import datetime, timedelta

import pytest

from tests.harness.incidents import declare

INC = "/api/v1/incidents"


@pytest.fixture
def people(make_person, make_team):
    make_team("security", is_security=True)
    return {
        "bob": make_person("responder", name="Bob"),
        "carol": make_person("responder", name="Carol"),
        "dave": make_person("viewer", name="Dave"),
        "admin": make_person("admin", name="Ada"),
    }


def at(text):
    return datetime.fromisoformat(text)


def timeline(client, who, ref):
    r = client.get(f"{INC}/{ref}/timeline", headers=who.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_declare_makes_the_declarer_ic_and_records_it(client, people, make_service):
    make_service("checkout")
    inc = declare(client, people["bob"], services=["checkout"], summary="5xx on /pay")
    assert inc["status"] == "investigating" and inc["acknowledged_at"] == inc["declared_at"]
    assert [(r["role"], r["user"]["name"]) for r in inc["roles"]] == [("incident_commander", "Bob")]
    assert [s["slug"] for s in inc["services"]] == ["checkout"]
    kinds = [e["kind"] for e in timeline(client, people["bob"], inc["ref"])]
    assert kinds == ["declared", "participant_joined", "role_assigned"]


def test_someone_else_can_be_named_ic(client, people):
    inc = declare(client, people["bob"], incident_commander=people["carol"].email)
    assert [r["user"]["name"] for r in inc["roles"]] == ["Carol"]


def test_full_lifecycle_stamps_times(client, people, clock):
    bob = people["bob"]
    inc = declare(client, bob, status="triage")
    assert inc["acknowledged_at"] is None
    steps = ["investigating", "mitigated", "monitoring", "resolved", "closed"]
    for status in steps:
        clock.advance(minutes=10)
        change = {"status": status}
        if status == "closed":  # a SEV2 closes only with a published postmortem or a waiver
            change["postmortem_waived_reason"] = "lifecycle test"
        r = client.patch(f"{INC}/{inc['ref']}", json=change, headers=bob.headers)
        assert r.status_code == 200, r.text
    final = r.json()
    declared = clock.now() - timedelta(minutes=50)
    assert at(final["acknowledged_at"]) == declared + timedelta(minutes=10)
    assert at(final["mitigated_at"]) == declared + timedelta(minutes=20)
    assert at(final["resolved_at"]) == declared + timedelta(minutes=40)
    assert at(final["closed_at"]) == clock.now()
    changes = [e["data"]["to"] for e in timeline(client, bob, inc["ref"]) if e["kind"] == "status_changed"]
    assert changes == steps


def test_illegal_transition_is_409_naming_allowed(client, people):
    inc = declare(client, people["bob"])
    r = client.patch(f"{INC}/{inc['ref']}", json={"status": "closed"}, headers=people["bob"].headers)
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "illegal_transition"
    assert "resolved" in err["details"]["allowed"] and "closed" not in err["details"]["allowed"]


def test_declined_only_from_triage(client, people):
    inc = declare(client, people["bob"], status="triage")
    r = client.patch(f"{INC}/{inc['ref']}", json={"status": "declined"}, headers=people["bob"].headers)
    assert r.status_code == 200 and r.json()["closed_at"] is not None


def test_reopen_clears_resolution(client, people):
    bob = people["bob"]
    inc = declare(client, bob)
    client.patch(f"{INC}/{inc['ref']}", json={"status": "resolved"}, headers=bob.headers)
    r = client.patch(f"{INC}/{inc['ref']}", json={"status": "investigating"}, headers=bob.headers)
    assert r.status_code == 200 and r.json()["resolved_at"] is None
    assert timeline(client, bob, inc["ref"])[-1]["text"].startswith("Re-opened")


def test_suggested_severity_and_required_reason(client, people):
    bob = people["bob"]
    impact = {"customers_affected": 1, "revenue_at_risk_per_hour": 40000, "customer_facing": True}
    r = client.post(INC, json={"title": "BigCo down", "severity": "SEV3", "impact": impact}, headers=bob.headers)
    assert r.status_code == 422
    assert r.json()["error"]["details"]["suggested_severity"] == "SEV1"
    inc = declare(client, bob, title="BigCo down", severity="SEV3", impact=impact,
                  severity_reason="contractual SLA excludes this endpoint")
    assert inc["suggested_severity"] == "SEV1" and inc["severity_reason"].startswith("contractual")
    # raising to the suggestion needs no reason and clears the old one
    r = client.patch(f"{INC}/{inc['ref']}", json={"severity": "P0"}, headers=bob.headers)
    assert r.status_code == 200 and r.json()["severity"] == "SEV1" and r.json()["severity_reason"] is None


def test_role_handover_keeps_history(client, people, clock):
    bob, carol = people["bob"], people["carol"]
    inc = declare(client, bob)
    clock.advance(minutes=3)
    r = client.post(f"{INC}/{inc['ref']}/roles", json={"role": "incident_commander", "user": carol.email},
                    headers=bob.headers)
    assert r.status_code == 200
    roles = r.json()
    assert [(h["user"]["name"], h["ended_at"] is None) for h in roles["history"]] == [("Bob", False), ("Carol", True)]
    assert [c["user"]["name"] for c in roles["current"]] == ["Carol"]
    assert "handed over from Bob" in timeline(client, bob, inc["ref"])[-1]["text"]
    # SMEs can be many; vacating a role ends it
    for who in (bob, carol):
        client.post(f"{INC}/{inc['ref']}/roles", json={"role": "sme", "user": who.email}, headers=bob.headers)
    r = client.post(f"{INC}/{inc['ref']}/roles", json={"role": "scribe", "user": None}, headers=bob.headers)
    assert r.status_code == 200
    current = {(c["role"], c["user"]["name"]) for c in r.json()["current"]}
    assert current == {("incident_commander", "Carol"), ("sme", "Bob"), ("sme", "Carol")}


@pytest.mark.parametrize("role", ["forensics_lead", "legal", "privacy_officer"])
def test_security_roles_only_on_security_incidents(client, people, role):
    bob = people["bob"]
    ops = declare(client, bob)
    r = client.post(f"{INC}/{ops['ref']}/roles", json={"role": role, "user": bob.email}, headers=bob.headers)
    assert r.status_code == 422
    sec = declare(client, bob, kind="security")
    r = client.post(f"{INC}/{sec['ref']}/roles", json={"role": role, "user": bob.email}, headers=bob.headers)
    assert r.status_code == 200


def test_security_incidents_are_restricted_by_default(client, people):
    assert declare(client, people["bob"], kind="security")["restricted"] is True
    assert declare(client, people["bob"])["restricted"] is False


def test_viewer_can_observe_but_not_respond(client, people):
    bob, dave = people["bob"], people["dave"]
    inc = declare(client, bob)
    r = client.post(f"{INC}/{inc['ref']}/participants", json={"kind": "observer"}, headers=dave.headers)
    assert r.status_code == 200
    assert {(p["user"]["name"], p["kind"]) for p in r.json()["items"]} == {("Bob", "responder"), ("Dave", "observer")}
    r = client.post(f"{INC}/{inc['ref']}/participants", json={"kind": "responder"}, headers=dave.headers)
    assert r.status_code == 403
    r = client.post(f"{INC}/{inc['ref']}/notes", json={"text": "hi"}, headers=dave.headers)
    assert r.status_code == 403


def test_note_edits_keep_every_revision(client, people):
    bob = people["bob"]
    inc = declare(client, bob)
    note = client.post(f"{INC}/{inc['ref']}/notes", json={"text": "DB CPU 100%"}, headers=bob.headers).json()
    r = client.patch(f"{INC}/{inc['ref']}/notes/{note['id']}", json={"text": "DB CPU 100% on the primary"},
                     headers=bob.headers)
    assert r.status_code == 200 and r.json()["revisions"] == 2 and r.json()["edited_at"] is not None
    revs = client.get(f"{INC}/{inc['ref']}/notes/{note['id']}/revisions", headers=bob.headers).json()["items"]
    assert [v["text"] for v in revs] == ["DB CPU 100%", "DB CPU 100% on the primary"]
    # other entries are records, not editable
    declared = timeline(client, bob, inc["ref"])[0]
    r = client.patch(f"{INC}/{inc['ref']}/notes/{declared['id']}", json={"text": "rewrite history"},
                     headers=bob.headers)
    assert r.status_code == 422


def test_only_scribe_ic_or_admin_back_date(client, people, clock):
    bob, carol = people["bob"], people["carol"]
    inc = declare(client, bob)  # bob is IC
    client.post(f"{INC}/{inc['ref']}/participants", json={"user": carol.email}, headers=bob.headers)
    earlier_t = clock.now() - timedelta(minutes=30)
    earlier = earlier_t.isoformat()
    r = client.post(f"{INC}/{inc['ref']}/notes", json={"text": "paged", "occurred_at": earlier}, headers=carol.headers)
    assert r.status_code == 403
    client.post(f"{INC}/{inc['ref']}/roles", json={"role": "scribe", "user": carol.email}, headers=bob.headers)
    r = client.post(f"{INC}/{inc['ref']}/notes", json={"text": "paged", "occurred_at": earlier}, headers=carol.headers)
    assert r.status_code == 201
    assert at(r.json()["occurred_at"]) == earlier_t and at(r.json()["recorded_at"]) == clock.now()
    assert timeline(client, bob, inc["ref"])[0]["text"] == "paged"  # sorted by when it happened


def test_list_filters_and_pagination(client, people, make_service):
    bob = people["bob"]
    make_service("checkout")
    for i in range(7):
        declare(client, bob, title=f"incident {i}", severity="SEV1" if i % 2 else "SEV3",
                services=["checkout"] if i < 3 else [])
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(INC, params=params, headers=bob.headers).json()
        seen += [i["ref"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"INC-{n}" for n in range(7, 0, -1)]
    sev1 = client.get(INC, params={"severity": "P0"}, headers=bob.headers).json()["items"]
    assert {i["title"] for i in sev1} == {"incident 1", "incident 3", "incident 5"}
    svc = client.get(INC, params={"service": "checkout"}, headers=bob.headers).json()["items"]
    assert {i["title"] for i in svc} == {"incident 0", "incident 1", "incident 2"}
    found = client.get(INC, params={"q": "dent 4"}, headers=bob.headers).json()["items"]
    assert [i["title"] for i in found] == ["incident 4"]
    counts = client.get(f"{INC}/counts", headers=bob.headers).json()
    assert counts["total"] == 7 and counts["by_severity"] == {"SEV1": 3, "SEV3": 4}


def test_lookup_by_id_and_ref_case_insensitive(client, people):
    inc = declare(client, people["bob"])
    for key in (inc["id"], inc["ref"], inc["ref"].lower()):
        assert client.get(f"{INC}/{key}", headers=people["bob"].headers).json()["id"] == inc["id"]
