"""The legal gate through the API: a status update or public postmortem about a security incident
answers 202 with a draft, and reaches the status page only as the Legal role holder approved it."""

from __future__ import annotations

import pytest

API = "/api/v1"


@pytest.fixture
def team(client, make_person):
    """Ada (admin, sets things up), Bob (responder, drafts), Lou (responder, Legal) and a page "acme"."""
    people = {"ada": make_person("admin", name="Ada"), "bob": make_person("responder", name="Bob"),
              "lou": make_person("responder", name="Lou")}
    ada = people["ada"].headers
    assert client.post(f"{API}/status-pages", json={"slug": "acme", "name": "Acme"}, headers=ada).status_code == 201
    return people


def _incident(client, team, *, kind="security", severity="SEV2", legal=True):
    ada = team["ada"].headers
    body = {"title": "Leaked key", "severity": severity, "kind": kind, "restricted": False}
    ref = client.post(f"{API}/incidents", json=body, headers=ada).json()["ref"]
    assert client.post(f"{API}/incidents/{ref}/participants", json={"user": team["bob"].email, "kind": "responder"},
                       headers=ada).status_code == 200
    if legal:
        assert client.post(f"{API}/incidents/{ref}/roles", json={"role": "legal", "user": team["lou"].email},
                           headers=ada).status_code == 200
    return ref


def _post(client, who, ref, body="We are looking into a login problem."):
    return client.post(f"{API}/incidents/{ref}/status-updates", headers=who.headers, json={
        "page": "acme", "name": "Login problems", "status": "investigating", "body": body})


def _public(client, who):
    return client.get(f"{API}/status-pages/acme/incidents", headers=who.headers).json()["items"]


def _audit(client, team, action):
    return [e for e in client.get(f"{API}/audit?limit=200", headers=team["ada"].headers).json()["items"]
            if e["action"] == action]


def test_a_held_update_waits_for_legal_and_is_published_exactly_as_approved(client, team):
    ref = _incident(client, team)
    bob, lou, ada = team["bob"], team["lou"], team["ada"]
    held = _post(client, bob, ref)
    assert held.status_code == 202, held.text
    draft = held.json()
    assert (draft["state"], draft["body"], draft["requested_by"]) == (
        "pending", "We are looking into a login problem.", bob.email)
    assert _public(client, bob) == []  # nothing reached the page
    url = f"{API}/incidents/{ref}/legal-drafts/{draft['id']}"
    # neither the drafter nor an admin stands in for Legal
    for who in (bob, ada):
        refused = client.post(f"{url}/approve", json={}, headers=who.headers)
        assert refused.status_code == 403 and "Legal role holder" in refused.json()["error"]["message"]
    approved = client.post(f"{url}/approve", json={"body": "We are investigating reports of login failures."},
                           headers=lou.headers)
    assert approved.status_code == 200, approved.text
    assert approved.json()["state"] == "published"
    [public] = _public(client, bob)
    assert public["name"] == "Login problems"
    assert [u["body"] for u in public["updates"]] == ["We are investigating reports of login failures."]
    entries = client.get(f"{API}/incidents/{ref}/timeline", headers=bob.headers).json()["items"]
    legal_texts = [e["text"] for e in entries if e["kind"] == "legal"]
    assert any("held for Legal review" in t for t in legal_texts)
    assert any(t.startswith("Legal approved (edited)") and "login failures" in t for t in legal_texts)
    [audit] = _audit(client, team, "legal.approve")
    assert audit["details"]["approved_body"] == "We are investigating reports of login failures."
    assert audit["actor_label"] == lou.email
    again = client.post(f"{url}/approve", json={}, headers=lou.headers)
    assert again.status_code == 409  # published once, never twice


def test_a_rejected_draft_is_never_published_and_says_why(client, team):
    ref = _incident(client, team)
    draft = _post(client, team["bob"], ref).json()
    url = f"{API}/incidents/{ref}/legal-drafts/{draft['id']}/reject"
    assert client.post(url, json={"reason": ""}, headers=team["lou"].headers).status_code == 422
    rejected = client.post(url, json={"reason": "Do not confirm a breach yet."}, headers=team["lou"].headers)
    assert rejected.status_code == 200 and rejected.json()["reason"] == "Do not confirm a breach yet."
    assert _public(client, team["bob"]) == []
    listed = client.get(f"{API}/incidents/{ref}/legal-drafts?state=rejected", headers=team["bob"].headers).json()
    assert [d["id"] for d in listed["items"]] == [draft["id"]] and listed["next_cursor"] is None
    assert _audit(client, team, "legal.reject")[0]["details"]["reason"] == "Do not confirm a breach yet."
    assert client.get(f"{API}/incidents/{ref}/legal-drafts?state=bogus", headers=team["bob"].headers).status_code == 422


def test_which_incidents_are_gated(client, team, app):
    """Operational incidents never wait; security ones wait at the configured severities only; a
    draft is checked as a post would be (a bad one is refused at once, not held)."""
    operational = _incident(client, team, kind="operational", legal=False)
    assert _post(client, team["bob"], operational).status_code == 201
    sev4 = _incident(client, team, severity="SEV4", legal=False)
    assert _post(client, team["bob"], sev4).status_code == 202  # default: every severity; no Legal holder yet
    bad = client.post(f"{API}/incidents/{sev4}/status-updates", headers=team["bob"].headers, json={
        "page": "acme", "status": "investigating", "body": "x"})
    assert bad.status_code == 422 and "name" in bad.json()["error"]["message"]  # a first post needs a title
    app.state.settings = app.state.settings.model_copy(update={"legal_gate_severities": "SEV1"})
    assert _post(client, team["bob"], sev4).status_code == 201  # SEV4 no longer gated: posted at once


def test_a_public_postmortem_of_a_security_incident_waits_for_legal(client, team):
    ref = _incident(client, team)
    bob, lou, ada = team["bob"], team["lou"], team["ada"]
    draft = _post(client, bob, ref).json()
    assert client.post(f"{API}/incidents/{ref}/legal-drafts/{draft['id']}/approve", json={},
                       headers=lou.headers).status_code == 200
    public_id = _public(client, bob)[0]["id"]
    held = client.post(f"{API}/status-pages/acme/incidents/{public_id}/updates", headers=bob.headers,
                       json={"status": "resolved", "body": "Fixed."})
    assert held.status_code == 202  # an update to the linked public incident is gated too
    assert client.post(f"{API}/incidents/{ref}/legal-drafts/{held.json()['id']}/approve", json={},
                       headers=lou.headers).status_code == 200
    client.patch(f"{API}/incidents/{ref}", json={"status": "resolved"}, headers=ada.headers)
    pm = client.post(f"{API}/incidents/{ref}/postmortem", json={}, headers=bob.headers).json()
    client.patch(f"{API}/postmortems/{pm['id']}", json={"public_text": "A key leaked; we rotated it."},
                 headers=bob.headers)
    held = client.post(f"{API}/postmortems/{pm['id']}/publish-public", json={"page": "acme"}, headers=bob.headers)
    assert held.status_code == 202 and held.json()["purpose"] == "postmortem"
    assert [u["status"] for u in _public(client, bob)[0]["updates"]] == ["resolved", "investigating"]
    assert client.post(f"{API}/incidents/{ref}/legal-drafts/{held.json()['id']}/approve",
                       json={"body": "A key leaked; we rotated it within the hour."}, headers=lou.headers).status_code == 200
    updates = _public(client, bob)[0]["updates"]
    assert (updates[0]["status"], updates[0]["body"]) == ("postmortem", "A key leaked; we rotated it within the hour.")


def test_drafts_of_a_restricted_incident_are_invisible_outside_its_circle(client, team, make_person):
    ada = team["ada"].headers
    ref = client.post(f"{API}/incidents", json={"title": "Breach", "severity": "SEV1", "kind": "security"},
                      headers=ada).json()["ref"]  # restricted: a security incident's default
    draft = client.post(f"{API}/incidents/{ref}/status-updates", headers=ada, json={
        "page": "acme", "name": "Service notice", "status": "investigating", "body": "Notice."}).json()
    outsider = make_person("responder").headers
    assert client.get(f"{API}/incidents/{ref}/legal-drafts", headers=outsider).status_code == 404
    r = client.post(f"{API}/incidents/{ref}/legal-drafts/{draft['id']}/approve", json={}, headers=outsider)
    assert r.status_code == 404 and "Notice" not in r.text
