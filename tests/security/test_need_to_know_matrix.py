"""Authorization matrix for need-to-know (restricted) incidents.

Who may see and change an incident, checked endpoint by endpoint for every kind of
principal against restricted, security (restricted by default) and unrestricted
incidents; plus lists, searches, counts and the CSV export, lifting and setting the
restriction, how participation and security-team membership grant visibility, the
admin-only audit log. (401 on every route without valid credentials, and the role of each principal on
every route: tests/security/test_principals.py.)

Every test gets a fresh database (on SQLite and on PostgreSQL), which costs more than
the requests themselves, so the matrix is parametrized by principal and each case
declares one target incident per visibility in the same database and walks every
per-incident endpoint for each. Mismatches are collected rather than stopping at the
first, and each one names the principal, the visibility and the endpoint.
"""

from __future__ import annotations

import csv
import io

import pytest

pytestmark = pytest.mark.both_backends  # need-to-know is enforced in SQL (tests/conftest.py)

INC = "/api/v1/incidents"

# Principal kinds under test. "owner" (declarer, incident commander, so a participant
# responder) and "helper" (a responder) set the scene and are not themselves under test.
ADMIN = "admin"
SEC_RESPONDER = "security_responder"
SEC_VIEWER = "security_viewer"
PART_RESPONDER = "participant_responder"
PART_OBSERVER = "participant_observer"  # viewer org role, added to the incident as an observer
OUT_RESPONDER = "outsider_responder"  # responder, not a participant, not in a security team
OUT_VIEWER = "outsider_viewer"
PRINCIPALS = [ADMIN, SEC_RESPONDER, SEC_VIEWER, PART_RESPONDER, PART_OBSERVER, OUT_RESPONDER, OUT_VIEWER]

SEES_RESTRICTED = {ADMIN, SEC_RESPONDER, SEC_VIEWER, PART_RESPONDER, PART_OBSERVER}
WRITERS = {ADMIN, SEC_RESPONDER, PART_RESPONDER, OUT_RESPONDER}  # org role responder or admin

RESTRICTED = "restricted"  # operational, restricted=true given explicitly
SECURITY = "security-by-default"  # kind=security, restricted left to its default
UNRESTRICTED = "unrestricted"  # operational, restricted left to its default
VISIBILITIES = [RESTRICTED, SECURITY, UNRESTRICTED]


@pytest.fixture
def world(make_person, make_team):
    make_team("security", is_security=True)
    make_team("ops")
    return {
        "owner": make_person("responder", teams=["ops"], name="Owner"),
        "helper": make_person("responder", name="Helper"),
        ADMIN: make_person("admin", name="Admin"),
        SEC_RESPONDER: make_person("responder", teams=["security"], name="SecResponder"),
        SEC_VIEWER: make_person("viewer", teams=["security"], name="SecViewer"),
        PART_RESPONDER: make_person("responder", teams=["ops"], name="PartResponder"),
        PART_OBSERVER: make_person("viewer", name="PartObserver"),
        OUT_RESPONDER: make_person("responder", teams=["ops"], name="OutResponder"),
        OUT_VIEWER: make_person("viewer", name="OutViewer"),
    }


def ok(r, status, what):
    assert r.status_code == status, f"{what}: expected {status}, got {r.status_code}: {r.text}"
    return r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text


def declare(client, who, **body):
    body.setdefault("title", "Checkout errors")
    body.setdefault("severity", "SEV2")
    return ok(client.post(INC, json=body, headers=who.headers), 201, f"declare {body['title']}")


def target_incident(client, world, visibility, title=None, note=True, participants=True):
    """An incident declared by the owner, with a participant responder, a participant observer and a note."""
    owner = world["owner"]
    spec = {"title": title or f"Zebra leak ({visibility})", "summary": f"need-to-know details ({visibility})"}
    if visibility == RESTRICTED:
        spec["restricted"] = True
    elif visibility == SECURITY:
        spec["kind"] = "security"
    inc = declare(client, owner, **spec)
    assert inc["restricted"] is (visibility != UNRESTRICTED), inc
    for who, kind in ((PART_RESPONDER, "responder"), (PART_OBSERVER, "observer")) if participants else ():
        ok(client.post(f"{INC}/{inc['ref']}/participants", json={"user": world[who].email, "kind": kind},
                       headers=owner.headers), 200, f"add {who}")
    if note:
        inc["note_id"] = ok(client.post(f"{INC}/{inc['ref']}/notes", json={"text": "owner's note"},
                                        headers=owner.headers), 201, "owner's note")["id"]
    return inc


def refs_in_csv(text):
    return {row["ref"] for row in csv.DictReader(io.StringIO(text))}


def admin_view(client, world, key):
    inc = ok(client.get(f"{INC}/{key}", headers=world[ADMIN].headers), 200, "admin reads incident")
    tl = ok(client.get(f"{INC}/{key}/timeline", headers=world[ADMIN].headers), 200, "admin reads timeline")
    return inc, tl["items"]


def sees(kind, visibility):
    return visibility == UNRESTRICTED or kind in SEES_RESTRICTED


# --- the matrix -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", PRINCIPALS)
def test_need_to_know_matrix(client, world, kind):
    me = world[kind]
    control = declare(client, world["owner"], title="Control outage", summary="everyone may read this")
    targets = {v: target_incident(client, world, v) for v in VISIBILITIES}
    visible = {v for v in VISIBILITIES if sees(kind, v)}
    failures: list[str] = []

    def expect(what, got, want):
        if got != want:
            failures.append(f"{what}: expected {want}, got {got}")

    def refs(r):
        return sorted(i["ref"] for i in r.json()["items"]) if r.status_code == 200 else r.status_code

    # Lists, searches, counts and the export, before any write.
    want_targets = sorted(targets[v]["ref"] for v in visible)
    expect(f"GET {INC} (list)", refs(client.get(INC, headers=me.headers)), sorted([control["ref"], *want_targets]))
    expect(f"GET {INC}?q=zebra (title search)", refs(client.get(INC, params={"q": "zebra"}, headers=me.headers)),
           want_targets)
    expect(f"GET {INC}?q=need-to-know (summary search)",
           refs(client.get(INC, params={"q": "need-to-know"}, headers=me.headers)), want_targets)
    r = client.get(f"{INC}/counts", headers=me.headers)
    counts = r.json() if r.status_code == 200 else {"total": r.status_code, "by_status": {}, "by_severity": {}}
    expect(f"GET {INC}/counts total", counts["total"], 1 + len(visible))
    expect(f"GET {INC}/counts by_status sum", sum(counts["by_status"].values()), 1 + len(visible))
    expect(f"GET {INC}/counts by_severity sum", sum(counts["by_severity"].values()), 1 + len(visible))
    r = client.get(f"{INC}/export", headers=me.headers)
    expect(f"GET {INC}/export (CSV refs)", sorted(refs_in_csv(r.text)) if r.status_code == 200 else r.status_code,
           sorted([control["ref"], *want_targets]))
    for v in set(VISIBILITIES) - visible:
        if f"({v})" in r.text:
            failures.append(f"GET {INC}/export: leaks the text of the {v} incident")

    missing = client.get(f"{INC}/INC-999", headers=me.headers)
    assert missing.status_code == 404

    for visibility in VISIBILITIES:
        inc = targets[visibility]
        iid, ref, note = inc["id"], inc["ref"], inc["note_id"]
        seen = visibility in visible
        writer = kind in WRITERS
        read = 200 if seen else 404

        def write(success, seen=seen, writer=writer):
            return (success if writer else 403) if seen else 404

        def check(label, method, path, expected, json=None, visibility=visibility):
            r = client.request(method, path, json=json, headers=me.headers)
            if r.status_code != expected:
                failures.append(f"{visibility}: {label} ({method} {path}): expected {expected}, "
                                f"got {r.status_code}: {r.text[:200]}")
            return r

        r = check("GET incident by ref", "GET", f"{INC}/{ref}", read)
        if not seen and r.status_code == 404:
            # indistinguishable from an incident that does not exist
            want = missing.text.replace("INC-999", ref)
            if r.text != want:
                failures.append(f"{visibility}: GET {INC}/{ref}: 404 body {r.text} is not that of a missing "
                                f"incident ({want})")
        check("GET incident by id", "GET", f"{INC}/{iid}", read)
        check("GET timeline", "GET", f"{INC}/{ref}/timeline", read)
        check("GET note revisions", "GET", f"{INC}/{ref}/notes/{note}/revisions", read)
        check("GET roles", "GET", f"{INC}/{ref}/roles", read)
        check("GET participants", "GET", f"{INC}/{ref}/participants", read)

        check("PATCH incident by id", "PATCH", f"{INC}/{iid}", write(200), json={"summary": f"by {kind}"})
        check("PATCH incident by ref", "PATCH", f"{INC}/{ref}", write(200), json={"severity": "SEV3"})
        r = check("POST notes", "POST", f"{INC}/{ref}/notes", write(201), json={"text": f"note by {kind}"})
        if r.status_code == 201:
            check("PATCH notes/{entry_id} (own note)", "PATCH", f"{INC}/{ref}/notes/{r.json()['id']}", 200,
                  json={"text": f"edited by {kind}"})
        # Someone else's note: only its author, the scribe, the IC or an admin may edit it.
        check("PATCH notes/{entry_id} (the owner's note)", "PATCH", f"{INC}/{ref}/notes/{note}",
              (200 if kind == ADMIN else 403) if seen else 404, json={"key_event": True})
        check("POST participants (add someone else)", "POST", f"{INC}/{ref}/participants", write(200),
              json={"user": world["helper"].email, "kind": "responder"})
        check("POST roles (assign)", "POST", f"{INC}/{ref}/roles", write(200),
              json={"role": "sme", "user": world["helper"].email})
        # Anyone who can see an incident may join it as an observer, viewers included.
        check("POST participants (join as observer)", "POST", f"{INC}/{ref}/participants", read,
              json={"kind": "observer"})

        # What this principal left on the timeline: a 404 or a 403 changes nothing (and every change
        # to the incident is on its timeline); a viewer who sees it may only have joined as an observer.
        timeline = ok(client.get(f"{INC}/{ref}/timeline", headers=world[ADMIN].headers), 200, "timeline")["items"]
        mine = sorted(e["kind"] for e in timeline if e["actor"] and e["actor"]["id"] == str(me.id))
        if seen and writer:
            want = ["field_changed", "note", "participant_joined", "role_assigned", "severity_changed"]
            if kind != PART_RESPONDER:
                want.append("participant_joined")  # joined as an observer
            else:
                want.append("participant_changed")  # from responder to observer
        else:
            want = ["participant_joined"] if seen and kind != PART_OBSERVER else []
        expect(f"{visibility}: timeline entries by {kind}", mine, sorted(want))
        owners_note = next(e for e in timeline if e["id"] == note)
        expect(f"{visibility}: the owner's note (key_event, text)", (owners_note["key_event"], owners_note["text"]),
               (kind == ADMIN and seen, "owner's note"))
        if seen and writer:
            expect(f"{visibility}: own note edited", sorted(e["text"] for e in timeline if e["kind"] == "note"),
                   sorted(["owner's note", f"edited by {kind}"]))

    assert not failures, f"{kind}:\n  " + "\n  ".join(failures)


def test_notes_of_a_restricted_incident_are_not_reachable_through_a_visible_one(client, world):
    """A restricted incident's note id under a visible incident's key must not expose or change the note."""
    control = declare(client, world["owner"], title="Control outage")
    target = target_incident(client, world, RESTRICTED)
    for kind in (OUT_RESPONDER, SEC_RESPONDER, ADMIN):
        for method, suffix, body in (("GET", "/revisions", None), ("PATCH", "", {"text": "hijacked"})):
            path = f"{INC}/{control['ref']}/notes/{target['note_id']}{suffix}"
            r = client.request(method, path, json=body, headers=world[kind].headers)
            assert r.status_code == 404, f"{kind} {method} {path}: {r.status_code} {r.text}"
    _inc, tl = admin_view(client, world, target["ref"])
    assert [e["text"] for e in tl if e["kind"] == "note"] == ["owner's note"]


# --- declaring ------------------------------------------------------------------------------------

def test_declaring_needs_the_responder_role_and_security_incidents_are_restricted(client, world):
    expected = {ADMIN: 201, SEC_RESPONDER: 201, OUT_RESPONDER: 201, SEC_VIEWER: 403, OUT_VIEWER: 403,
                PART_OBSERVER: 403}
    failures = []
    made = 0
    for kind, status in expected.items():
        for incident_kind in ("operational", "security"):
            r = client.post(INC, json={"title": f"{incident_kind} by {kind}", "severity": "SEV3",
                                       "kind": incident_kind}, headers=world[kind].headers)
            if r.status_code != status:
                failures.append(f"{kind} declaring {incident_kind}: expected {status}, got {r.status_code}")
            elif status == 201:
                made += 1
                if r.json()["restricted"] is not (incident_kind == "security"):
                    failures.append(f"{kind} declared {incident_kind}: restricted={r.json()['restricted']}")
    assert not failures, "\n".join(failures)
    assert ok(client.get(f"{INC}/counts", headers=world[ADMIN].headers), 200, "counts")["total"] == made == 6
    # outsiders see the three operational ones only
    listed = ok(client.get(INC, headers=world[OUT_VIEWER].headers), 200, "list")["items"]
    assert sorted(i["title"] for i in listed) == sorted(f"operational by {k}" for k in (ADMIN, SEC_RESPONDER,
                                                                                          OUT_RESPONDER))


def test_changing_kind_to_security_restricts(client, world):
    inc = declare(client, world["owner"])
    outsider = world[OUT_RESPONDER]
    assert client.get(f"{INC}/{inc['ref']}", headers=outsider.headers).status_code == 200
    r = client.patch(f"{INC}/{inc['ref']}", json={"kind": "security"}, headers=world["owner"].headers)
    assert r.status_code == 200 and r.json()["restricted"] is True, r.text
    assert client.get(f"{INC}/{inc['ref']}", headers=outsider.headers).status_code == 404
    assert client.get(f"{INC}/counts", headers=outsider.headers).json()["total"] == 0


# --- lifting and setting the restriction ---------------------------------------------------------

LIFT = {
    ADMIN: 200,
    SEC_RESPONDER: 200,
    SEC_VIEWER: 403,  # sees it, but changing incidents needs the responder role
    PART_RESPONDER: 403,
    "owner": 403,  # the declarer and incident commander is still only a participant
    PART_OBSERVER: 403,
    OUT_RESPONDER: 404,
    OUT_VIEWER: 404,
}

RESTRICT = {ADMIN: 200, SEC_RESPONDER: 200, PART_RESPONDER: 200, "owner": 200, OUT_RESPONDER: 200,
            SEC_VIEWER: 403, PART_OBSERVER: 403, OUT_VIEWER: 403}


def test_lifting_a_restriction(client, world, make_person):
    """Each principal tries to lift the restriction of its own restricted and its own security incident."""
    probe = make_person("viewer")  # a non-participant outside the security team
    incs = {(kind, v): target_incident(client, world, v, title=f"lift by {kind}", note=False,
                                       participants=kind in (PART_RESPONDER, PART_OBSERVER))
            for kind in LIFT for v in (RESTRICTED, SECURITY)}
    failures = []
    for (kind, visibility), inc in incs.items():
        status = LIFT[kind]
        r = client.patch(f"{INC}/{inc['ref']}", json={"restricted": False}, headers=world[kind].headers)
        if r.status_code != status:
            failures.append(f"{kind} on {visibility}: PATCH restricted=false: expected {status}, "
                            f"got {r.status_code}: {r.text}")
            continue
        lifted = status == 200
        if lifted and r.json()["restricted"] is not False:
            failures.append(f"{kind} on {visibility}: PATCH answered restricted={r.json()['restricted']}")
        got = client.get(f"{INC}/{inc['ref']}", headers=probe.headers).status_code
        if got != (200 if lifted else 404):
            failures.append(f"{kind} on {visibility}: a non-participant viewer gets {got} after the {status}")
    assert not failures, "\n".join(failures)
    assert client.get(f"{INC}/counts", headers=probe.headers).json()["total"] == 4  # admin's and security's


def test_a_refused_lift_changes_nothing_else_in_the_same_request(client, world):
    for visibility in (RESTRICTED, SECURITY):
        target = target_incident(client, world, visibility, note=False)
        r = client.patch(f"{INC}/{target['ref']}", json={"title": "Renamed", "severity": "SEV4", "restricted": False},
                         headers=world[PART_RESPONDER].headers)
        assert r.status_code == 403, (visibility, r.text)
        inc, tl = admin_view(client, world, target["ref"])
        assert (inc["title"], inc["severity"], inc["restricted"]) == (target["title"], "SEV2", True), visibility
        assert not [e for e in tl if e["kind"] in ("field_changed", "severity_changed", "visibility_changed")]


def test_restricting_an_incident(client, world, make_person):
    """Each principal tries to restrict its own unrestricted incident."""
    probe = make_person("responder")  # a non-participant outside the security team
    incs = {kind: target_incident(client, world, UNRESTRICTED, title=f"restrict by {kind}", note=False)
            for kind in RESTRICT}
    failures = []
    for kind, status in RESTRICT.items():
        ref = incs[kind]["ref"]
        r = client.patch(f"{INC}/{ref}", json={"restricted": True}, headers=world[kind].headers)
        if r.status_code != status:
            failures.append(f"{kind}: PATCH restricted=true: expected {status}, got {r.status_code}: {r.text}")
            continue
        restricted = status == 200
        if r.status_code == 200 and r.json()["restricted"] is not True:
            failures.append(f"{kind}: PATCH answered restricted={r.json()['restricted']}")
        # non-participants lose sight of it at once (an outsider responder even of the one it restricted);
        # participants keep it
        for other, want in ((probe, 404 if restricted else 200), (world[PART_OBSERVER], 200)):
            got = client.get(f"{INC}/{ref}", headers=other.headers).status_code
            if got != want:
                failures.append(f"{kind} restricted it ({status}); {other.name} gets {got}, expected {want}")
    assert not failures, "\n".join(failures)
    # the outsider responder restricted an incident it was not part of, and so can no longer see it
    assert client.get(f"{INC}/{incs[OUT_RESPONDER]['ref']}", headers=world[OUT_RESPONDER].headers).status_code == 404


# --- what grants visibility ----------------------------------------------------------------------

def test_taking_part_grants_visibility(client, world, make_person):
    """A participant responder (neither admin nor security) brings someone in, each into their own incident."""
    adder = world[PART_RESPONDER]
    ways = {  # how: (visibility, newcomer, request)
        "participant responder": (RESTRICTED, make_person("responder"), "participants", {"kind": "responder"}),
        "participant observer": (SECURITY, make_person("viewer"), "participants", {"kind": "observer"}),
        "scribe": (RESTRICTED, make_person("responder"), "roles", {"role": "scribe"}),
        "forensics lead": (SECURITY, make_person("responder"), "roles", {"role": "forensics_lead"}),
    }
    incs = {how: target_incident(client, world, v, title=f"Zebra via {how}", note=False)
            for how, (v, *_rest) in ways.items()}
    bystander = world[OUT_RESPONDER]
    for how, (_v, newcomer, what, body) in ways.items():
        ref = incs[how]["ref"]
        assert client.get(f"{INC}/{ref}", headers=newcomer.headers).status_code == 404, how
        r = client.post(f"{INC}/{ref}/{what}", json={**body, "user": newcomer.email}, headers=adder.headers)
        assert r.status_code == 200, (how, r.text)
    for how, (_v, newcomer, _what, _body) in ways.items():
        ref, h = incs[how]["ref"], newcomer.headers
        assert client.get(f"{INC}/{ref}", headers=h).status_code == 200, how
        assert client.get(f"{INC}/{ref}/timeline", headers=h).status_code == 200, how
        assert [i["ref"] for i in client.get(INC, params={"q": "zebra"}, headers=h).json()["items"]] == [ref], how
        assert client.get(f"{INC}/counts", headers=h).json()["total"] == 1, how
        assert refs_in_csv(client.get(f"{INC}/export", headers=h).text) == {ref}, how
    # granted to them only
    assert client.get(f"{INC}/counts", headers=bystander.headers).json()["total"] == 0


def test_outsiders_cannot_add_themselves_to_a_restricted_incident(client, world):
    target = target_incident(client, world, RESTRICTED)
    for kind, body in ((OUT_RESPONDER, {"kind": "responder"}), (OUT_VIEWER, {"kind": "observer"}),
                       (OUT_RESPONDER, {"user": world[OUT_RESPONDER].email, "kind": "responder"}),
                       (OUT_RESPONDER, {"role": "scribe", "user": world[OUT_RESPONDER].email})):
        what = "roles" if "role" in body else "participants"
        r = client.post(f"{INC}/{target['ref']}/{what}", json=body, headers=world[kind].headers)
        assert r.status_code == 404, (kind, body, r.text)
        assert client.get(f"{INC}/{target['ref']}", headers=world[kind].headers).status_code == 404, kind
    parts = ok(client.get(f"{INC}/{target['ref']}/participants", headers=world[ADMIN].headers), 200, "participants")["items"]
    assert {p["user"]["name"] for p in parts} == {"Owner", "PartResponder", "PartObserver"}


def test_security_team_visibility_follows_membership(client, world, make_person):
    target = target_incident(client, world, SECURITY, note=False)
    url = f"{INC}/{target['ref']}"
    teammate = make_person("responder", teams=["ops"])  # a team, but not a security team: grants nothing
    assert client.get(url, headers=teammate.headers).status_code == 404
    sec, sec_viewer, admin = world[SEC_RESPONDER], world[SEC_VIEWER], world[ADMIN].headers
    assert client.get(url, headers=sec.headers).status_code == 200
    # taken out of the team: the next request no longer sees it
    r = client.put("/api/v1/teams/security/members", json={"users": [sec_viewer.email]}, headers=admin)
    assert r.status_code == 200, r.text
    assert client.get(url, headers=sec.headers).status_code == 404
    assert client.get(f"{INC}/counts", headers=sec.headers).json()["total"] == 0
    assert client.get(url, headers=sec_viewer.headers).status_code == 200
    # the team stops being a security team: its members no longer see it
    r = client.patch("/api/v1/teams/security", json={"is_security": False}, headers=admin)
    assert r.status_code == 200, r.text
    assert client.get(url, headers=sec_viewer.headers).status_code == 404
    # and a team made a security team grants it
    r = client.patch("/api/v1/teams/ops", json={"is_security": True}, headers=admin)
    assert r.status_code == 200, r.text
    assert client.get(url, headers=teammate.headers).status_code == 200


# --- audit log: admins only ----------------------------------------------------------------------

def test_audit_is_admin_only(client, world):
    declare(client, world["owner"], kind="security")
    failures = []
    for kind in [ADMIN, SEC_RESPONDER, SEC_VIEWER, OUT_RESPONDER, OUT_VIEWER, "owner"]:
        expected = 200 if kind == ADMIN else 403
        for path in ("/api/v1/audit", "/api/v1/audit/verify"):
            r = client.get(path, headers=world[kind].headers)
            if r.status_code != expected:
                failures.append(f"{kind} GET {path}: expected {expected}, got {r.status_code}: {r.text}")
            elif expected == 403 and r.json()["error"]["code"] != "forbidden":
                failures.append(f"{kind} GET {path}: {r.text}")
    assert not failures, "\n".join(failures)
    admin = world[ADMIN].headers
    assert "incident.declare" in {e["action"] for e in client.get("/api/v1/audit", headers=admin).json()["items"]}
    assert client.get("/api/v1/audit/verify", headers=admin).json()["ok"] is True
