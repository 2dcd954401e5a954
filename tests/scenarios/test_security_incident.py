"""A credential leak, run end to end as a security team runs it (issue 17).

The secret scanner finds the deploy key of web-7 in a public repository → the alert pages Alice →
Alice declares a SEV2 security incident (restricted) and attaches the alert → roles: Alice commands,
Carol is Forensics Lead, Lena Legal, Pia Privacy Officer → the containment checklist: Carol marks
"inspect web-7" done before web-7 was snapshotted and the timeline warns her; then she preserves and
contains, and the phases move on → Carol uploads the memory image (its SHA-256 checked) and hands it
to the outside lab (custody entry) → GDPR and New York are chosen, aware_at and discovered_at set,
the deadlines are 72 h and the end of day 30 in New York → Alice's status page update is held (202)
until Lena approves it, then the public page shows it → 24 h before the GDPR deadline the engine
emails Lena; she files with a reference and the evidence → an outside IR responder is invited for
12 h, sees only this incident and loses access when the 12 h are over → resolved, postmortem started
→ the custody report and the obligations report hold the item, its ledger and the filing.

Written on the harness's runbook (tests/harness/scenario.py): SQLite and PostgreSQL, time moves
only with the ManualClock, the whole engine ticks and the pages arrive by email.
"""

from __future__ import annotations

import hashlib
import html
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.harness.console import login, post_form

INC = "/incidents"
PASSWORD = "a long enough password"


def words(page: str) -> str:
    """A page's text as a reader sees it: no tags, entities decoded, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture
def rb(runbook, tmp_path):
    """Alice (admin, on call for the scanner), the security team (Carol, Lena, Pia), and Acme's status page."""
    from tocsin.statuspage import service as sp
    from tocsin.users.service import require_user, update_user

    # the guardrails' nudges to the IC (no scribe, a quiet timeline) are tests/scenarios/test_guardrails.py's
    runbook.configure(evidence_dir=tmp_path / "evidence", guardrail_notify_severities="")
    runbook._make_team("secops", is_security=True)
    runbook.person("Alice Archer", role="admin")
    for name in ("Carol Chen", "Lena Lutz", "Pia Park"):
        runbook.person(name, teams=["secops"])
    runbook.person("Oscar Other")  # a responder outside the circle
    runbook.service("secret-scanner", tier=1)
    runbook.policy((5, ["Alice Archer"]), service="secret-scanner")
    with runbook.db.unit_of_work() as s:
        update_user(s, actor=runbook.system, now=runbook.now, user=require_user(s, runbook.people["Alice Archer"].id),
                    password=PASSWORD)
        sp.create_page(s, actor=runbook.system, now=runbook.now, slug="acme", name="Acme Status")
    return runbook


def test_a_leaked_credential_from_alert_to_counsel(rb):
    alice, carol, lena = rb.as_("Alice Archer"), rb.as_("Carol Chen"), rb.as_("Lena Lutz")
    oscar = rb.as_("Oscar Other")
    email = {name: rb.people[name].email for name in rb.people}
    t0 = rb.now

    # 1. the secret scanner finds the deploy key; the alert pages Alice
    alert_id = rb.trigger("leaked-deploy-key", service="secret-scanner",
                          summary="Deploy key of web-7 found in a public repository")
    rb.tick()
    rb.expect_email("Alice Archer", "Deploy key of web-7 found in a public repository")

    # 2. Alice declares a SEV2 security incident: restricted by default, invisible to Oscar
    rb.clock.advance(minutes=2)
    inc = alice.post(INC, title="Leaked deploy key", severity="SEV2", kind="security",
                     summary="The web-7 deploy key was pushed to a public repository.")
    ref = inc["ref"]
    assert inc["restricted"] is True and inc["kind"] == "security"
    alice.post(f"/alerts/{alert_id}/attach", 200, incident=ref)
    alice.post(f"/alerts/{alert_id}/acknowledge", 200)
    oscar.get(f"{INC}/{ref}", 404)
    assert ref not in str(oscar.get(INC))

    # 3. roles
    for role, name in (("forensics_lead", "Carol Chen"), ("legal", "Lena Lutz"), ("privacy_officer", "Pia Park")):
        alice.post(f"{INC}/{ref}/roles", 200, role=role, user=email[name])
    holders = alice.get(f"{INC}/{ref}/roles")
    assert {r["role"]: r["user"]["email"] for r in holders["current"]} == {
        "incident_commander": email["Alice Archer"], "forensics_lead": email["Carol Chen"],
        "legal": email["Lena Lutz"], "privacy_officer": email["Pia Park"]}

    # 4. containment: investigating web-7 before its snapshot raises the forensics warning
    assert alice.get(f"{INC}/{ref}/phase")["phase"] == "detection_analysis"
    carol.post(f"{INC}/{ref}/checklist", template="Default containment")
    snap = carol.post(f"{INC}/{ref}/checklist/steps", kind="preserve", title="Snapshot web-7", target="web-7")
    look = carol.post(f"{INC}/{ref}/checklist/steps", kind="investigate", title="Inspect web-7 for the key",
                      target="web-7")
    rb.clock.advance(minutes=3)
    done = carol.post(f"{INC}/{ref}/checklist/steps/{look['id']}/done", 200)
    assert any("investigating web-7 before it was preserved" in w for w in done["warnings"])
    [warning] = rb.timeline(inc_id := uuid.UUID(inc["id"]), "forensics")
    assert "web-7" in warning.text
    carol.post(f"{INC}/{ref}/checklist/steps/{snap['id']}/done", 200)
    alice.post(f"{INC}/{ref}/phase", 200, phase="containment", note="scoping done")
    revoke = next(st for st in carol.get(f"{INC}/{ref}/checklist")["items"] if st["kind"] == "contain"
                  and "credential" in st["title"].lower())
    rb.clock.advance(minutes=10)
    assert carol.post(f"{INC}/{ref}/checklist/steps/{revoke['id']}/done", 200)["warnings"] == []
    alice.post(f"{INC}/{ref}/phase", 200, phase="eradication", note="deploy key revoked")
    phase = alice.get(f"{INC}/{ref}/phase")
    assert phase["phase"] == "eradication" and [h["phase"] for h in phase["history"]] == [
        "detection_analysis", "containment", "eradication"]
    assert len(rb.timeline(inc_id, "forensics")) == 1, "preserved first: no new warning"

    # 5. evidence: the memory image is uploaded (streamed, hashed) and handed to the outside lab
    image = b"MEMIMAGE" + bytes(range(256)) * 512
    r = rb.http.post(f"/api/v1{INC}/{ref}/evidence/files", content=image, headers={
        **rb.people["Carol Chen"].headers, "Content-Type": "application/octet-stream"},
        params={"name": "web-7-mem.raw", "collected_where": "web-7", "reason": "the key was in memory"})
    assert r.status_code == 201, r.text
    item = r.json()
    assert (item["label"], item["size"]) == ("E-1", len(image))
    assert item["sha256"] == hashlib.sha256(image).hexdigest()
    rb.clock.advance(minutes=30)
    carol.post(f"{INC}/{ref}/evidence/E-1/custody", action="transferred", who="Dana Lab (Forensic Lab Ltd)",
               location="courier to the lab", reason="memory analysis")
    ledger = carol.get(f"{INC}/{ref}/evidence/E-1/custody")["items"]
    assert [(e["action"], e["who"]) for e in ledger] == [("collected", "Carol Chen"),
                                                         ("transferred", "Dana Lab (Forensic Lab Ltd)")]
    oscar.get(f"{INC}/{ref}/evidence", 404)

    # 6. GDPR and New York; the clocks start when the team became aware (the alert)
    for regime in ("gdpr", "us-ny"):
        alice.post(f"{INC}/{ref}/regimes", 200, regime=regime, reason="EU and New York customers")
    for clock in ("aware_at", "discovered_at"):
        alice.put(f"{INC}/{ref}/clocks/{clock}", at=t0.isoformat(), reason="the scanner's alert")
    due = {o["obligation"]: o for o in alice.get(f"{INC}/{ref}/obligations")["items"]}
    art33 = due["art33"]
    assert datetime.fromisoformat(art33["due_at"]) == t0 + timedelta(hours=72)
    # 30 calendar days in New York: day 0 is 1 Jan there, due at the end of 31 Jan (05:00 UTC on 1 Feb)
    assert datetime.fromisoformat(due["residents"]["due_at"]) == datetime(2026, 2, 1, 5, 0, tzinfo=UTC)
    assert art33["state"] == "open" and art33["countdown"]

    # 7. Alice's public update is held for Legal, then published as Lena approved it
    held = alice.post(f"{INC}/{ref}/status-updates", 202, page="acme", name="Sign-in trouble",
                      status="investigating", body="We are investigating a security issue.")
    assert held["state"] == "pending"
    # what the commander sees in the room now: the forensics warning, the countdown, the held update
    ic = TestClient(rb._app, raise_server_exceptions=False)
    assert login(ic, email["Alice Archer"], PASSWORD).status_code == 303
    room = words(ic.get(f"/incidents/{ref}").text)
    for text in ("investigating web-7 before it was preserved", "GDPR Art. 33 notice due in 71 h",
                 "Waiting for Legal", "We are investigating a security issue."):
        assert text in room, text
    assert rb.http.app.state.status_cache.wait_idle()
    public = rb.http.get("/status/acme")
    assert public.status_code == 200 and "Sign-in trouble" not in public.text
    rb.clock.advance(minutes=20)
    lena.post(f"{INC}/{ref}/legal-drafts/{held['id']}/approve", 200,
              body="We are investigating a problem with our deployment credentials.")
    assert rb.http.app.state.status_cache.wait_idle()  # the public page is re-rendered off the request path
    public = rb.http.get("/status/acme").text
    assert "Sign-in trouble" in public and "problem with our deployment credentials" in public
    assert "security issue" not in public and "Leaked deploy key" not in public

    # 8. 24 h before the GDPR deadline the engine emails Legal (and the Privacy Officer); Lena files
    rb.tick(at=t0 + timedelta(hours=47, minutes=59))
    assert not rb.emails("Lena Lutz")
    rb.tick(minutes=1)
    reminder = rb.expect_email("Lena Lutz", f"{ref}: GDPR Art. 33 notice due in 24 h")
    rb.expect_email("Pia Park", f"{ref}: GDPR Art. 33 notice due in 24 h")
    assert "Leaked deploy key" not in str(reminder), "a restricted incident is named by its reference only"
    rb.clock.advance(hours=2)
    filed = lena.post(f"{INC}/{ref}/obligations/{art33['id']}/filing", 200, reference="DPA-2026-0042",
                      evidence_ids=[item["id"]])
    assert (filed["state"], filed["filed_reference"], filed["evidence_ids"]) == (
        "filed", "DPA-2026-0042", [item["id"]])
    rb.tick(hours=21)  # the 1 h lead and the due time pass: a filed obligation is not reminded
    rb.expect_email("Alice Archer", f"{ref}: an update is due")  # but the IC is, of the overdue update (comms/)
    rb.expect_nothing_more()

    # 9. an outside IR responder is invited for 12 h: this incident only, then not at all
    assert login(ic, email["Alice Archer"], PASSWORD).status_code == 303  # two days on: a new console session
    invited = post_form(ic, f"/incidents/{ref}/guests", {"email": "ivy@irfirm.example", "name": "Ivy IR",
                                                         "organisation": "IR Firm", "duration": "12h"},
                        page=f"/incidents/{ref}")
    assert invited.status_code == 201, invited.text
    link = re.search(r'value="(http[^"]+/guest/[^"]+)"', invited.text).group(1)
    path = link[link.index("/guest/"):]
    guest = TestClient(rb._app, raise_server_exceptions=False)
    joined = guest.post(path, data={"name": "Ivy", "password": PASSWORD}, follow_redirects=False)
    assert joined.status_code == 303 and joined.headers["location"] == f"/incidents/{ref}"
    assert "Leaked deploy key" in guest.get(f"/incidents/{ref}").text
    custody = guest.get(f"/incidents/{ref}/evidence/report")  # the IR firm reads the chain of custody
    assert custody.status_code == 200 and "transferred" in custody.text
    for elsewhere in ("/incidents", "/obligations/report", f"/incidents/{ref}/obligations/report"):
        assert guest.get(elsewhere, follow_redirects=False).status_code == 404, elsewhere
    rb.clock.advance(hours=12)
    gone = guest.get(f"/incidents/{ref}", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")

    # 10. resolved; the postmortem starts
    alice.post(f"{INC}/{ref}/phase", 200, phase="recovery")
    alice.patch(f"{INC}/{ref}", status="resolved")
    pm = alice.post(f"{INC}/{ref}/postmortem")
    assert pm["status"] == "draft" and "Leaked deploy key" in pm["title"]

    # 11. what counsel gets: the custody report and the obligations report
    custody = rb.http.get(f"/api/v1{INC}/{ref}/evidence/report", headers=rb.people["Lena Lutz"].headers)
    assert custody.status_code == 200 and custody.headers["content-type"].startswith("text/html")
    for text in ("web-7-mem.raw", item["sha256"], item["sha512"], "Dana Lab (Forensic Lab Ltd)", "memory analysis"):
        assert text in custody.text, text
    assert login(ic, email["Alice Archer"], PASSWORD).status_code == 303  # a day later: a new console session
    report = ic.get(f"/incidents/{ref}/obligations/report")
    assert report.status_code == 200, report.text
    for text in ("GDPR Art. 33 notice", "DPA-2026-0042", "New York resident notice", f"{item['label']} web-7-mem.raw"):
        assert text in report.text, text
    oscar.get(f"{INC}/{ref}/evidence/report", 404)
