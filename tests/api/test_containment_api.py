"""A security incident's phases, containment checklist and the forensics-first nudge through the API,
as responders, viewers, outsiders and admins use them."""

import pytest

from tests.harness.incidents import declare

INC = "/api/v1/incidents"
TPL = "/api/v1/checklist-templates"


@pytest.fixture
def people(make_person):
    return {
        "bob": make_person("responder", name="Bob"),
        "carol": make_person("responder", name="Carol"),  # not in the incident's circle
        "dave": make_person("viewer", name="Dave"),
        "admin": make_person("admin", name="Ada"),
    }


def security(client, who, **body):
    return declare(client, who, kind="security", title="Leaked deploy key", **body)


def kinds(client, who, ref):
    r = client.get(f"{INC}/{ref}/timeline", headers=who.headers)
    assert r.status_code == 200, r.text
    return [(e["kind"], e["text"]) for e in r.json()["items"]]


def test_phases_move_forward_on_the_timeline_and_never_back(client, people, clock):
    bob, admin = people["bob"], people["admin"]
    ref = security(client, bob)["ref"]
    start = client.get(f"{INC}/{ref}/phase", headers=bob.headers).json()
    assert start["phase"] == "detection_analysis" and start["next"] == "containment"
    assert start["csf"]["functions"] == ["detect", "respond"]

    clock.advance(minutes=20)
    r = client.post(f"{INC}/{ref}/phase", json={"phase": "containment", "note": "key revoked next"},
                    headers=bob.headers)
    assert r.status_code == 200, r.text
    now = r.json()
    assert now["phase"] == "containment" and now["csf"]["functions"] == ["respond"]
    assert now["entered_by"]["name"] == "Bob" and now["entered_at"].startswith(clock.now().isoformat()[:19])
    assert [h["phase"] for h in now["history"]] == ["detection_analysis", "containment"]
    assert ("phase_changed", "Phase: Detection & analysis → Containment (CSF 2.0: Respond). key revoked next") \
        in kinds(client, bob, ref)

    back = client.post(f"{INC}/{ref}/phase", json={"phase": "detection_analysis"}, headers=bob.headers)
    assert back.status_code == 409 and "only move forward" in back.json()["error"]["message"]
    same = client.post(f"{INC}/{ref}/phase", json={"phase": "containment"}, headers=bob.headers)
    assert same.status_code == 409
    skip = client.post(f"{INC}/{ref}/phase", json={"phase": "recovery"}, headers=bob.headers)
    assert skip.status_code == 200 and skip.json()["csf"]["functions"] == ["recover"]

    audit = client.get("/api/v1/audit", params={"action": "incident.phase"}, headers=admin.headers)
    assert audit.status_code == 200
    assert [e["details"] for e in audit.json()["items"]] == [{"from": "detection_analysis", "to": "containment"},
                                                             {"from": "containment", "to": "recovery"}]


def test_who_may_change_a_phase(client, people):
    bob = people["bob"]
    ref = security(client, bob)["ref"]
    # Dave (viewer) and Carol (responder outside the restricted incident's circle)
    viewer = client.post(f"{INC}/{ref}/phase", json={"phase": "containment"}, headers=people["dave"].headers)
    assert viewer.status_code == 404  # outside the circle too: not even its existence shows
    outsider = client.post(f"{INC}/{ref}/phase", json={"phase": "containment"}, headers=people["carol"].headers)
    assert outsider.status_code == 404 and "Leaked" not in outsider.text
    assert client.get(f"{INC}/{ref}/checklist", headers=people["carol"].headers).status_code == 404
    ops = declare(client, bob)["ref"]
    refused = client.post(f"{INC}/{ops}/phase", json={"phase": "containment"}, headers=bob.headers)
    assert refused.status_code == 409 and "security incidents" in refused.json()["error"]["message"]
    bad = client.post(f"{INC}/{ref}/phase", json={"phase": "panic"}, headers=bob.headers)
    assert bad.status_code == 422


def test_viewers_in_the_circle_read_but_do_not_tick(client, people):
    bob, dave = people["bob"], people["dave"]
    ref = declare(client, bob, kind="security", restricted=False)["ref"]  # an unrestricted one viewers may see
    steps = client.post(f"{INC}/{ref}/checklist", json={}, headers=bob.headers).json()["items"]
    assert client.get(f"{INC}/{ref}/checklist", headers=dave.headers).status_code == 200
    r = client.post(f"{INC}/{ref}/checklist/steps/{steps[0]['id']}/done", headers=dave.headers)
    assert r.status_code == 403


def test_investigating_before_preserving_warns_on_the_timeline(client, people):
    bob = people["bob"]
    ref = security(client, bob)["ref"]
    r = client.post(f"{INC}/{ref}/checklist", json={}, headers=bob.headers)
    assert r.status_code == 201, r.text
    shipped = r.json()["items"]
    assert [s["kind"] for s in shipped] == ["preserve", "preserve", "contain", "contain", "contain"]
    assert "Snapshot" in shipped[0]["title"] and "Revoke" in shipped[2]["title"]
    assert client.post(f"{INC}/{ref}/checklist", json={}, headers=bob.headers).status_code == 409

    def add(kind, title, target):
        r = client.post(f"{INC}/{ref}/checklist/steps", json={"kind": kind, "title": title, "target": target},
                        headers=bob.headers)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    snap, look = add("preserve", "Snapshot web-7", "web-7"), add("investigate", "Read auth logs", "web-7")
    db_snap = add("preserve", "Snapshot db-3", "db-3")
    done = client.post(f"{INC}/{ref}/checklist/steps/{look}/done", headers=bob.headers)
    assert done.status_code == 200 and done.json()["warnings"] == ["investigating web-7 before it was preserved"]
    assert done.json()["done_by"]["name"] == "Bob"
    timeline = kinds(client, bob, ref)
    assert any(k == "forensics" and "investigating web-7 before it was preserved" in t for k, t in timeline)
    listed = client.get(f"{INC}/{ref}/checklist", headers=bob.headers).json()
    assert [w["target"] for w in listed["warnings"]] == ["web-7"]

    # a note that logs into db-3 before its snapshot warns; once preserved, web-7 no longer does
    assert client.post(f"{INC}/{ref}/checklist/steps/{snap}/done", headers=bob.headers).json()["warnings"] == []
    note = client.post(f"{INC}/{ref}/notes", json={"text": "I'll SSH into web-7 now. Then logged into DB-3."},
                       headers=bob.headers)
    assert note.status_code == 201
    warned = [t for k, t in kinds(client, bob, ref) if k == "forensics"]
    assert len(warned) == 2 and "investigating db-3 before it was preserved" in warned[-1]
    client.post(f"{INC}/{ref}/checklist/steps/{db_snap}/done", headers=bob.headers)
    client.post(f"{INC}/{ref}/notes", json={"text": "inspecting db-3"}, headers=bob.headers)
    assert len([k for k, _ in kinds(client, bob, ref) if k == "forensics"]) == 2

    # un-doing needs a reason, which goes on the timeline
    assert client.post(f"{INC}/{ref}/checklist/steps/{snap}/undo", json={"reason": ""},
                       headers=bob.headers).status_code == 422
    undo = client.post(f"{INC}/{ref}/checklist/steps/{snap}/undo", json={"reason": "snapshot was corrupt"},
                       headers=bob.headers)
    assert undo.status_code == 200 and undo.json()["done_at"] is None
    assert any("snapshot was corrupt" in t for k, t in kinds(client, bob, ref) if k == "checklist")
    again = client.post(f"{INC}/{ref}/checklist/steps/{snap}/undo", json={"reason": "x"}, headers=bob.headers)
    assert again.status_code == 409


def test_the_nudge_can_be_turned_off(client, people, app):
    app.state.settings.forensics_nudge = False  # TOCSIN_FORENSICS_NUDGE=off
    bob = people["bob"]
    ref = security(client, bob)["ref"]
    look = client.post(f"{INC}/{ref}/checklist/steps", json={"kind": "investigate", "title": "Read logs",
                                                             "target": "web-7"}, headers=bob.headers).json()["id"]
    assert client.post(f"{INC}/{ref}/checklist/steps/{look}/done", headers=bob.headers).json()["warnings"] == []
    client.post(f"{INC}/{ref}/notes", json={"text": "ssh into web-7"}, headers=bob.headers)
    assert "forensics" not in [k for k, _ in kinds(client, bob, ref)]


def test_admins_edit_templates_and_responders_start_checklists_from_them(client, people):
    admin, bob = people["admin"], people["bob"]
    listed = client.get(TPL, headers=bob.headers).json()["items"]
    assert [(t["name"], t["is_default"]) for t in listed] == [("Default containment", True)]
    body = {"name": "Web host", "steps": [{"kind": "preserve", "title": "Snapshot", "target": "web-7"},
                                          {"kind": "investigate", "title": "Read logs", "target": "web-7"}]}
    assert client.post(TPL, json=body, headers=bob.headers).status_code == 403
    made = client.post(TPL, json=body, headers=admin.headers)
    assert made.status_code == 201, made.text
    tid = made.json()["id"]
    assert client.post(TPL, json=body, headers=admin.headers).status_code == 409  # the name is taken
    bad = client.post(TPL, json={**body, "steps": [{"kind": "pray", "title": "x"}]}, headers=admin.headers)
    assert bad.status_code == 422
    patched = client.patch(f"{TPL}/{tid}", json={"name": "Web host v2", "is_default": True}, headers=admin.headers)
    assert patched.status_code == 200 and patched.json()["is_default"] is True
    assert client.delete(f"{TPL}/{tid}", headers=admin.headers).status_code == 409  # the default stays

    ref = security(client, bob)["ref"]
    steps = client.post(f"{INC}/{ref}/checklist", json={}, headers=bob.headers).json()["items"]
    assert [(s["kind"], s["target"], s["template_name"]) for s in steps] == [
        ("preserve", "web-7", "Web host v2"), ("investigate", "web-7", "Web host v2")]

    shipped = next(t for t in client.get(TPL, headers=bob.headers).json()["items"] if t["name"] != "Web host v2")
    assert client.delete(f"{TPL}/{shipped['id']}", headers=bob.headers).status_code == 403
    assert client.delete(f"{TPL}/{shipped['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"{TPL}/{shipped['id']}", headers=admin.headers).status_code == 404


def test_reports_show_time_to_contain_and_eradicate(client, people, clock):
    bob = people["bob"]
    ref = security(client, bob)["ref"]
    declare(client, bob)  # an operational incident has neither figure
    for minutes, phase in ((10, "containment"), (30, "eradication"), (60, "recovery")):
        clock.advance(minutes=minutes)
        assert client.post(f"{INC}/{ref}/phase", json={"phase": phase}, headers=bob.headers).status_code == 200
    clock.advance(minutes=1)
    overall = client.get("/api/v1/reports/incidents", params={"since": "7d"}, headers=bob.headers).json()["overall"]
    assert overall["incidents"] == 2
    assert overall["time_to_contain"]["count"] == 1 and overall["time_to_contain"]["median_seconds"] == 40 * 60
    assert overall["time_to_eradicate"]["median_seconds"] == 100 * 60
    page = client.get("/api/v1/reports/page", params={"since": "7d"}, headers=bob.headers)
    assert "Time to contain" in page.text and "Time to eradicate" in page.text
