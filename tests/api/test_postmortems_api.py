"""Postmortems through the API: start from a resolved incident, edit with revisions, review and
publish, comments and approvals, the language check, export, templates, need-to-know, and the
gate that keeps an incident open until its postmortem is published or waived."""

from __future__ import annotations

import pytest

from tests.harness.incidents import declare
from tocsin.postmortems import templates
from tocsin.reports.page import CSP

API = "/api/v1"
INC = f"{API}/incidents"


@pytest.fixture
def people(make_person):
    return {
        "bob": make_person("responder", name="Bob Marsh"),
        "carol": make_person("responder", name="Carol Ng"),
        "vic": make_person("viewer", name="Vic Viewer"),
        "admin": make_person("admin", name="Ada Admin"),
    }


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json()


def resolved(client, who, **body):
    inc = declare(client, who, **body)
    ok(client.patch(f"{INC}/{inc['ref']}", json={"status": "resolved"}, headers=who.headers))
    return inc


def start(client, who, ref, **body):
    return ok(client.post(f"{INC}/{ref}/postmortem", json=body or None, headers=who.headers), 201)


def patch(client, who, pm, **body):
    return client.patch(f"{API}/postmortems/{pm['id']}", json=body, headers=who.headers)


def timeline(client, who, ref):
    return ok(client.get(f"{INC}/{ref}/timeline", headers=who.headers))["items"]


def audit_actions(client, admin):
    return [e["action"] for e in ok(client.get(f"{API}/audit", params={"limit": 500}, headers=admin.headers))["items"]]


DEFAULT_HEADINGS = ["Summary", "Impact", "Timeline", "Detection and response", "Root causes",
                    "Contributing factors", "What went well", "What went poorly", "Where we got lucky", "Action items"]


def headings(body: str) -> list[str]:
    return [line[3:] for line in body.splitlines() if line.startswith("## ")]


def test_starting_returns_the_draft_and_moves_the_incident_to_postmortem(client, people):
    bob = people["bob"]
    inc = resolved(client, bob, summary="Payments failed for EU customers.")
    pm = start(client, bob, inc["ref"])
    assert pm["status"] == "draft" and pm["revision"] == 1 and pm["title"] == "Postmortem: Checkout errors"
    assert pm["incident"]["ref"] == inc["ref"] and pm["incident"]["status"] == "postmortem"
    assert headings(pm["body"]) == DEFAULT_HEADINGS
    assert "Payments failed for EU customers." in pm["body"]
    assert ok(client.get(f"{INC}/{inc['ref']}", headers=bob.headers))["status"] == "postmortem"
    entries = timeline(client, bob, inc["ref"])
    assert [e["data"].get("to") for e in entries if e["kind"] == "status_changed"][-1] == "postmortem"
    assert entries[-1]["kind"] == "postmortem" and "started the postmortem" in entries[-1]["text"]
    # the same postmortem through the incident and by id; a second start is refused
    assert ok(client.get(f"{INC}/{inc['ref']}/postmortem", headers=bob.headers))["id"] == pm["id"]
    assert ok(client.get(f"{API}/postmortems/{pm['id']}", headers=people["vic"].headers))["body"] == pm["body"]
    r = client.post(f"{INC}/{inc['ref']}/postmortem", headers=bob.headers)
    assert r.status_code == 409 and "already has a postmortem" in r.json()["error"]["message"]
    assert "postmortem.start" in audit_actions(client, people["admin"])


@pytest.mark.parametrize("steps,status", [
    ([], "investigating"),
    ([{"status": "mitigated"}], "mitigated"),
    ([{"status": "resolved"}, {"status": "closed", "postmortem_waived_reason": "duplicate of INC-1"}], "closed"),
])
def test_only_a_resolved_incident_can_start_one(client, people, steps, status):
    bob = people["bob"]
    inc = declare(client, bob)
    for step in steps:
        ok(client.patch(f"{INC}/{inc['ref']}", json=step, headers=bob.headers))
    r = client.post(f"{INC}/{inc['ref']}/postmortem", headers=bob.headers)
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["details"] == {"status": status, "required_status": "resolved"}
    assert "resolved" in err["message"]
    assert client.get(f"{INC}/{inc['ref']}/postmortem", headers=bob.headers).status_code == 404


def test_an_incident_moved_to_postmortem_by_hand_can_still_start_one(client, people):
    bob = people["bob"]
    inc = resolved(client, bob)
    ok(client.patch(f"{INC}/{inc['ref']}", json={"status": "postmortem"}, headers=bob.headers))
    pm = start(client, bob, inc["ref"])
    assert pm["incident"]["status"] == "postmortem" and pm["status"] == "draft"
    moves = [e["data"]["to"] for e in timeline(client, bob, inc["ref"]) if e["kind"] == "status_changed"]
    assert moves == ["resolved", "postmortem"]


def test_viewers_read_but_may_not_start_edit_or_comment(client, people):
    bob, vic = people["bob"], people["vic"]
    inc = resolved(client, bob)
    assert client.post(f"{INC}/{inc['ref']}/postmortem", headers=vic.headers).status_code == 403
    pm = start(client, bob, inc["ref"])
    assert patch(client, vic, pm, body="mine now").status_code == 403
    assert client.post(f"{API}/postmortems/{pm['id']}/comments", json={"text": "hi"},
                       headers=vic.headers).status_code == 403
    assert ok(client.get(f"{API}/postmortems/{pm['id']}", headers=vic.headers))["revision"] == 1


def test_body_edits_keep_revisions_and_a_stale_edit_is_refused(client, people):
    bob, carol = people["bob"], people["carol"]
    pm = start(client, bob, resolved(client, bob)["ref"])
    first = pm["body"]
    edited = ok(patch(client, bob, pm, body=first + "\nMore detail.\n", base_revision=1))
    assert edited["revision"] == 2
    # Carol edits from revision 1 too: her change would overwrite Bob's, so it is refused
    r = patch(client, carol, pm, body="Carol's version", base_revision=1)
    assert r.status_code == 409 and r.json()["error"]["details"] == {"base_revision": 1, "revision": 2}
    # a change that leaves the body alone makes no revision
    assert ok(patch(client, carol, pm, title="Checkout outage review", body=edited["body"]))["revision"] == 2
    revs = ok(client.get(f"{API}/postmortems/{pm['id']}/revisions", headers=carol.headers))["items"]
    assert [(r["revision"], r["edited_by"]["name"]) for r in revs] == [(1, "Bob Marsh"), (2, "Bob Marsh")]
    assert revs[0]["body"] == first and revs[1]["body"].endswith("More detail.\n")
    assert ok(client.get(f"{API}/postmortems/{pm['id']}", headers=carol.headers))["title"] == "Checkout outage review"


@pytest.mark.parametrize("path,allowed", [
    (["published"], ["in_review"]),
    (["in_review", "in_review"], None),  # no change: nothing to refuse
    (["in_review", "published", "in_review"], ["draft"]),
])
def test_status_moves_follow_the_table(client, people, path, allowed):
    bob = people["bob"]
    pm = start(client, bob, resolved(client, bob)["ref"])
    *fine, last = path
    for status in fine:
        ok(patch(client, bob, pm, status=status))
    r = patch(client, bob, pm, status=last)
    if allowed is None:
        assert r.status_code == 200
        return
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "illegal_transition" and r.json()["error"]["details"]["allowed"] == allowed


def test_review_publish_and_amend(client, people, clock):
    bob, carol, admin = people["bob"], people["carol"], people["admin"]
    inc = resolved(client, bob)
    pm = start(client, bob, inc["ref"])
    meeting = "2030-01-05T15:00:00+01:00"
    pm = ok(patch(client, bob, pm, status="in_review", reviewers=[carol.email], review_meeting_at=meeting))
    assert pm["in_review_at"] is not None and pm["review_meeting_at"].startswith("2030-01-05T14:00")
    assert [(r["user"]["name"], r["approved_at"]) for r in pm["reviewers"]] == [("Carol Ng", None)]
    # Bob is not a reviewer; Carol is and approves (twice is fine, the first time stays)
    assert client.post(f"{API}/postmortems/{pm['id']}/approve", headers=bob.headers).status_code == 403
    first = ok(client.post(f"{API}/postmortems/{pm['id']}/approve", headers=carol.headers))["approved_at"]
    clock.advance(minutes=5)
    assert ok(client.post(f"{API}/postmortems/{pm['id']}/approve", headers=carol.headers))["approved_at"] == first
    c = ok(client.post(f"{API}/postmortems/{pm['id']}/comments", json={"text": "Add the DNS TTL", "section": "timeline"},
                       headers=carol.headers), 201)
    assert c["author"]["name"] == "Carol Ng" and c["section"] == "timeline"
    assert [x["text"] for x in ok(client.get(f"{API}/postmortems/{pm['id']}/comments",
                                             headers=people["vic"].headers))["items"]] == ["Add the DNS TTL"]

    pm = ok(patch(client, bob, pm, status="published"))
    assert pm["published_at"] is not None and pm["published_by"]["name"] == "Bob Marsh"
    assert pm["reviewers"][0]["approved_at"] == first
    published = [e for e in timeline(client, bob, inc["ref"]) if e["kind"] == "postmortem" and e["data"].get("to")]
    assert [e["data"]["to"] for e in published] == ["in_review", "published"] and published[-1]["key_event"]
    # amending: back to draft, no longer published, so the incident may not close on it
    pm = ok(patch(client, bob, pm, status="draft"))
    assert pm["published_at"] is None and pm["published_by"] is None
    assert client.post(f"{API}/postmortems/{pm['id']}/approve", headers=carol.headers).status_code == 409
    actions = audit_actions(client, admin)
    for action in ("postmortem.update", "postmortem.publish", "postmortem.comment", "postmortem.approve"):
        assert action in actions


def test_language_findings_for_body_and_public_text(client, people):
    bob = people["bob"]
    inc = resolved(client, bob)
    pm = start(client, bob, inc["ref"])
    assert pm["language_findings"] == [] and pm["public_language_findings"] == []
    body = pm["body"].replace("## Root causes\n", "## Root causes\n\nBob forgot to renew the certificate.\n")
    pm = ok(patch(client, bob, pm, body=body, public_text="The outage was caused by human error."))
    assert [(f["section"], f["phrase"], f["sentence"]) for f in pm["language_findings"]] == [
        ("Root causes", "Bob forgot", "Bob forgot to renew the certificate.")]
    assert pm["language_findings"][0]["suggestion"]
    assert [f["phrase"] for f in pm["public_language_findings"]] == ["human error"]
    # never blocking: it still goes to review and is published
    ok(patch(client, bob, pm, status="in_review"))
    assert ok(patch(client, bob, pm, status="published"))["language_findings"]


def test_export_markdown_html_and_public_version(client, people):
    bob = people["bob"]
    inc = resolved(client, bob)
    pm = start(client, bob, inc["ref"])
    body = pm["body"] + "\n<script>alert(1)</script> [click](javascript:alert(2))\n"
    ok(patch(client, bob, pm, title="Checkout <b>outage</b>", body=body))
    url = f"{API}/postmortems/{pm['id']}/export"

    r = client.get(url, headers=bob.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    assert r.text.startswith("# Checkout <b>outage</b>\n") and "## Root causes" in r.text
    assert f'{inc["ref"]}-postmortem.md' in r.headers["content-disposition"]

    r = client.get(url, params={"format": "html"}, headers=bob.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<h2>Root causes</h2>" in r.text and "<table>" in r.text
    assert "<script>" not in r.text and "&lt;script&gt;" in r.text
    assert "<b>outage</b>" not in r.text and 'href="javascript' not in r.text

    r = client.get(url, params={"version": "public"}, headers=bob.headers)
    assert r.status_code == 409 and r.json()["error"]["details"] == {"field": "public_text"}
    ok(patch(client, bob, pm, public_text="Payments were unavailable for 20 minutes. We have added capacity."))
    r = client.get(url, params={"version": "public", "format": "html"}, headers=bob.headers)
    assert "Payments were unavailable" in r.text
    assert "Root causes" not in r.text and inc["ref"] not in r.text, "internal details stay internal"
    assert client.get(url, params={"format": "pdf"}, headers=bob.headers).status_code == 422


@pytest.mark.parametrize("public_text,title", [
    ("Payments were unavailable for 20 minutes.", "Incident report: 2026-01-01 (UTC)"),
    ("\n# Card payments *outage*\n\nPayments were unavailable for 20 minutes.", "Card payments outage"),
    ("Card payments outage\n===\nPayments were unavailable for 20 minutes.", "Card payments outage"),
])
def test_public_export_never_shows_the_internal_title(client, people, public_text, title):
    bob = people["bob"]
    # impact began late on 31 December in New York, which is 1 January in UTC
    inc = resolved(client, bob, title="db-07 disk full on eu-west", impact_started_at="2025-12-31T20:30:00-05:00")
    pm = start(client, bob, inc["ref"])
    assert pm["title"] == "Postmortem: db-07 disk full on eu-west"
    ok(patch(client, bob, pm, public_text=public_text))
    url = f"{API}/postmortems/{pm['id']}/export"

    md = client.get(url, params={"version": "public"}, headers=bob.headers).text
    html = client.get(url, params={"version": "public", "format": "html"}, headers=bob.headers).text
    for text in (md, html):
        assert "db-07" not in text and "Postmortem" not in text, "the internal title stays internal"
        assert "Payments were unavailable for 20 minutes." in text
    assert md.startswith(f"# {title}\n\n_Not yet published_\n")
    assert [line for line in md.splitlines() if line.startswith("# ") or line.startswith("===")] == [f"# {title}"]
    assert f"<title>{title}</title>" in html and html.count("<h1>") == 1 and f"<h1>{title}</h1>" in html
    # the internal export keeps the internal title
    assert client.get(url, headers=bob.headers).text.startswith("# Postmortem: db-07 disk full on eu-west\n")


@pytest.mark.parametrize("version", ["internal", "public"])
def test_html_export_may_not_load_anything(client, people, version):
    bob = people["bob"]
    pm = start(client, bob, resolved(client, bob)["ref"])
    image = "![status](http://169.254.169.254/latest/meta-data/)"
    ok(patch(client, bob, pm, body=pm["body"] + "\n" + image + "\n", public_text="Some payments failed.\n\n" + image))
    r = client.get(f"{API}/postmortems/{pm['id']}/export", params={"format": "html", "version": version},
                   headers=bob.headers)
    assert r.status_code == 200 and '<img src="http://169.254.169.254' in r.text
    # the browser must not fetch that image (or anything else) when someone opens the page
    assert r.headers["content-security-policy"] == CSP and "img-src data:" in CSP
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["referrer-policy"] == "no-referrer"


def test_list_filters_by_status_and_pages(client, people):
    bob = people["bob"]
    ids = []
    for i in range(3):
        ids.append(start(client, bob, resolved(client, bob, title=f"incident {i}")["ref"])["id"])
    ok(patch(client, bob, {"id": ids[0]}, status="in_review"))
    page = ok(client.get(f"{API}/postmortems", params={"limit": 2}, headers=bob.headers))
    assert [p["id"] for p in page["items"]] == ids[::-1][:2] and page["next_cursor"]
    rest = ok(client.get(f"{API}/postmortems", params={"limit": 2, "cursor": page["next_cursor"]}, headers=bob.headers))
    assert [p["id"] for p in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    drafts = ok(client.get(f"{API}/postmortems", params={"status": "draft"}, headers=bob.headers))["items"]
    assert sorted(p["id"] for p in drafts) == sorted(ids[1:])


def test_restricted_incident_postmortem_is_invisible_to_outsiders(client, people, make_person):
    bob, carol, admin = people["bob"], people["carol"], people["admin"]
    inc = resolved(client, bob, restricted=True)
    pm = start(client, bob, inc["ref"])
    urls = [f"{API}/postmortems/{pm['id']}", f"{INC}/{inc['ref']}/postmortem",
            f"{API}/postmortems/{pm['id']}/revisions", f"{API}/postmortems/{pm['id']}/comments",
            f"{API}/postmortems/{pm['id']}/export"]
    for url in urls:
        assert client.get(url, headers=carol.headers).status_code == 404, url
        assert client.get(url, headers=admin.headers).status_code == 200, url
    assert patch(client, carol, pm, body="x").status_code == 404
    assert client.post(f"{API}/postmortems/{pm['id']}/comments", json={"text": "x"},
                       headers=carol.headers).status_code == 404
    assert ok(client.get(f"{API}/postmortems", headers=carol.headers))["items"] == []
    assert [p["id"] for p in ok(client.get(f"{API}/postmortems", headers=admin.headers))["items"]] == [pm["id"]]
    # once Carol joins the incident she sees it
    ok(client.post(f"{INC}/{inc['ref']}/participants", json={"user": carol.email}, headers=bob.headers))
    assert ok(client.get(urls[0], headers=carol.headers))["id"] == pm["id"]


def test_a_reviewer_must_be_able_to_see_a_restricted_incident(client, people):
    bob, carol, admin = people["bob"], people["carol"], people["admin"]
    inc = resolved(client, bob, restricted=True)
    pm = start(client, bob, inc["ref"])
    r = patch(client, bob, pm, status="in_review", reviewers=[admin.email, carol.email])
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert carol.email in err["message"] and err["details"] == {"field": "reviewers", "user": carol.email}
    after = ok(client.get(f"{API}/postmortems/{pm['id']}", headers=bob.headers))
    assert after["reviewers"] == [] and after["status"] == "draft", "nothing of the refused edit is kept"
    # an admin sees every incident; Carol may review once she is on the incident
    ok(client.post(f"{INC}/{inc['ref']}/participants", json={"user": carol.email}, headers=bob.headers))
    pm = ok(patch(client, bob, pm, status="in_review", reviewers=[admin.email, carol.email]))
    assert sorted(r["user"]["name"] for r in pm["reviewers"]) == ["Ada Admin", "Carol Ng"]
    assert ok(client.post(f"{API}/postmortems/{pm['id']}/approve", headers=carol.headers))["approved_at"]


# --- the close gate -------------------------------------------------------------------------------

GATE = [
    # severity, steps before closing, the close request, expected status
    pytest.param("SEV2", [], {}, 409, id="sev2-resolved-needs-postmortem"),
    pytest.param("SEV1", [], {"postmortem_waived_reason": "test incident"}, 200, id="sev1-waived"),
    pytest.param("SEV3", [], {}, 200, id="sev3-not-required"),
    pytest.param("SEV3", ["start"], {}, 409, id="in-postmortem-draft"),
    pytest.param("SEV2", ["start", "in_review"], {}, 409, id="in-postmortem-in-review"),
    pytest.param("SEV2", ["start", "in_review", "published"], {}, 200, id="published"),
    pytest.param("SEV2", ["start", "in_review", "published", "draft"], {}, 409, id="amended-back-to-draft"),
    pytest.param("SEV2", ["start"], {"postmortem_waived_reason": "covered by INC-7's review"}, 200,
                 id="draft-waived"),
]


@pytest.mark.parametrize("severity,steps,close,expected", GATE)
def test_close_gate(client, people, severity, steps, close, expected):
    bob = people["bob"]
    inc = resolved(client, bob, severity=severity)
    pm = None
    for step in steps:
        if step == "start":
            pm = start(client, bob, inc["ref"])
        else:
            ok(patch(client, bob, pm, status=step))
    r = client.patch(f"{INC}/{inc['ref']}", json={"status": "closed", **close}, headers=bob.headers)
    assert r.status_code == expected, r.text
    after = ok(client.get(f"{INC}/{inc['ref']}", headers=bob.headers))
    if expected == 409:
        err = r.json()["error"]
        assert err["details"]["field"] == "postmortem_waived_reason" and "postmortem_waived_reason" in err["message"]
        assert after["status"] != "closed" and after["closed_at"] is None
    else:
        assert after["status"] == "closed"
    waived = [e for e in timeline(client, bob, inc["ref"]) if e["kind"] == "postmortem" and e["data"].get("waived")]
    if close and expected == 200:
        assert [e["text"] for e in waived] == [f"Postmortem waived: {close['postmortem_waived_reason']}"]
        assert "incident.postmortem_waived" in audit_actions(client, people["admin"])
    else:
        assert waived == []


def test_required_severities_come_from_settings(app, client, people):
    bob = people["bob"]
    app.state.settings = app.state.settings.model_copy(update={"postmortem_required_severities": "SEV3"})
    sev3, sev2 = resolved(client, bob, severity="SEV3"), resolved(client, bob, severity="SEV2")
    assert client.patch(f"{INC}/{sev3['ref']}", json={"status": "closed"}, headers=bob.headers).status_code == 409
    assert client.patch(f"{INC}/{sev2['ref']}", json={"status": "closed"}, headers=bob.headers).status_code == 200


@pytest.mark.parametrize("body,status", [
    ({"postmortem_waived_reason": ""}, 422),
    ({"postmortem_waived_reason": "   "}, 422),
    ({"postmortem_waived_reason": None}, 422),
    ({"postmortem_waived_reason": "x" * 2001}, 422),
])
def test_a_waiver_needs_a_reason(client, people, body, status):
    bob = people["bob"]
    inc = resolved(client, bob)
    r = client.patch(f"{INC}/{inc['ref']}", json={"status": "closed", **body}, headers=bob.headers)
    assert r.status_code == status, r.text
    assert ok(client.get(f"{INC}/{inc['ref']}", headers=bob.headers))["status"] == "resolved"


def test_a_waiver_is_refused_while_the_incident_is_still_active(client, people):
    bob = people["bob"]
    inc = declare(client, bob)
    r = client.patch(f"{INC}/{inc['ref']}", json={"postmortem_waived_reason": "trivial"}, headers=bob.headers)
    assert r.status_code == 409 and "once the incident is resolved" in r.json()["error"]["message"]
    # given together with the move to resolved it is accepted, and the incident may then close
    ok(client.patch(f"{INC}/{inc['ref']}", json={"status": "resolved", "postmortem_waived_reason": "trivial"},
                    headers=bob.headers))
    assert ok(client.patch(f"{INC}/{inc['ref']}", json={"status": "closed"}, headers=bob.headers))["status"] == "closed"


# --- templates ------------------------------------------------------------------------------------

def test_default_template_ships_and_admins_edit_templates(client, people):
    bob, admin, vic = people["bob"], people["admin"], people["vic"]
    [default] = ok(client.get(f"{API}/postmortem-templates", headers=vic.headers))["items"]
    assert default["is_default"] and [s["title"] for s in default["sections"]] == DEFAULT_HEADINGS
    sections = [{"key": "summary", "title": "What happened"}, {"key": "customer_impact", "title": "Customer impact",
                                                              "prompt": "Which customers noticed?"},
                {"key": "timeline", "title": "Timeline"}]
    body = {"name": "Short", "sections": sections, "is_default": True}
    assert client.post(f"{API}/postmortem-templates", json=body, headers=bob.headers).status_code == 403
    short = ok(client.post(f"{API}/postmortem-templates", json=body, headers=admin.headers), 201)
    assert client.post(f"{API}/postmortem-templates", json=body, headers=admin.headers).status_code == 409
    listed = ok(client.get(f"{API}/postmortem-templates", headers=vic.headers))["items"]
    assert [(t["name"], t["is_default"]) for t in listed] == [("Blameless (default)", False), ("Short", True)]

    pm = start(client, bob, resolved(client, bob, summary="It broke.")["ref"])
    assert headings(pm["body"]) == ["What happened", "Customer impact", "Timeline"]
    assert "_Which customers noticed?_" in pm["body"] and "It broke." in pm["body"]
    # an explicit template wins over the default
    pm2 = start(client, bob, resolved(client, bob)["ref"], template_id=default["id"])
    assert headings(pm2["body"]) == DEFAULT_HEADINGS

    renamed = ok(client.patch(f"{API}/postmortem-templates/{short['id']}", json={"name": "Shorter"},
                              headers=admin.headers))
    assert renamed["name"] == "Shorter"
    r = client.patch(f"{API}/postmortem-templates/{short['id']}", json={"is_default": False}, headers=admin.headers)
    assert r.status_code == 409
    assert ok(client.get(f"{API}/postmortem-templates/{default['id']}", headers=vic.headers))["name"] == default["name"]
    assert "postmortem_template.update" in audit_actions(client, admin)


@pytest.mark.parametrize("sections", [
    [],
    [{"key": "a", "title": "A"}, {"key": "a", "title": "Again"}],
    [{"key": "Bad Key", "title": "A"}],
    [{"key": "a", "title": ""}],
])
def test_bad_template_sections_are_refused(client, people, sections):
    r = client.post(f"{API}/postmortem-templates", json={"name": "T", "sections": sections},
                    headers=people["admin"].headers)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("checked", [True, False], ids=["name-check", "unique-constraint"])
def test_a_template_name_in_use_is_409(client, people, monkeypatch, checked):
    admin = people["admin"]
    sections = [{"key": "summary", "title": "Summary"}]
    for name in ("Short", "Long"):
        ok(client.post(f"{API}/postmortem-templates", json={"name": name, "sections": sections},
                       headers=admin.headers), 201)
    long_id = [t["id"] for t in ok(client.get(f"{API}/postmortem-templates", headers=admin.headers))["items"]
               if t["name"] == "Long"][0]
    if not checked:
        # two requests racing for a name both pass the check; the database's unique constraint then
        # refuses the second, which must still be a 409 and not a 500
        monkeypatch.setattr(templates, "_name_free", lambda *args, **kwargs: None)
    requests = [client.post(f"{API}/postmortem-templates", json={"name": "Short", "sections": sections},
                            headers=admin.headers),
                client.patch(f"{API}/postmortem-templates/{long_id}", json={"name": " Short "}, headers=admin.headers)]
    for r in requests:
        assert r.status_code == 409, r.text
        assert r.json()["error"] == {"code": "conflict", "message": "a postmortem template named 'Short' exists",
                                     "details": {"field": "name"}}
    names = [t["name"] for t in ok(client.get(f"{API}/postmortem-templates", headers=admin.headers))["items"]]
    assert names == ["Blameless (default)", "Long", "Short"]


def test_the_draft_and_the_export_list_the_incidents_action_items(client, people):
    """Two items linked to the incident show in the draft's Action items section; the internal
    export lists them with their status now; the public export never does."""
    bob, carol = people["bob"], people["carol"]
    inc = resolved(client, bob)
    made = [ok(client.post(f"{API}/action-items", headers=bob.headers, json=body), 201) for body in (
        {"title": "Add a retry budget", "type": "prevent", "priority": "high", "owner": carol.email,
         "due_on": "2026-02-10", "incident": inc["ref"]},
        {"title": "Alert on pool saturation", "type": "detect", "incident": inc["ref"]})]
    pm = start(client, bob, inc["ref"])
    section = pm["body"].split("## Action items", 1)[1]
    assert f"| {made[0]['ref']} | Add a retry budget | Carol Ng | 2026-02-10 | high | open |" in section
    assert f"| {made[1]['ref']} | Alert on pool saturation | nobody yet | none | medium | open |" in section
    ok(client.patch(f"{API}/action-items/{made[0]['ref']}", json={"status": "done"}, headers=carol.headers))
    url = f"{API}/postmortems/{pm['id']}/export"
    md = client.get(url, headers=bob.headers).text
    status = md.split("## Action item status", 1)[1]
    assert f"| {made[0]['ref']} | Add a retry budget | Carol Ng | 2026-02-10 | high | done |" in status
    html = client.get(url, params={"format": "html"}, headers=bob.headers).text
    assert "Action item status" in html and "Alert on pool saturation" in html
    ok(patch(client, bob, pm, public_text="# Checkout outage\n\nWe fixed it."))
    public = client.get(url, params={"version": "public"}, headers=bob.headers).text
    assert "Action item" not in public and "retry budget" not in public
