"""Postmortems in the console: start from the room, edit with the blameless check, stale edits,
review and publish (which opens the close gate), comments, need-to-know, escaping, and posting
the public text to a status page.

Real login, CSRF and url-encoded form posts through TestClient, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import html as htmllib
import re
from typing import Any

from tests.harness.console import csrf, post_form
from tests.harness.incidents import declare

BODY_RE = re.compile(r'<textarea id="pm-body" name="body"[^>]*>(.*?)</textarea>', re.S)


def resolved_incident(client: Any, who: Any, **body: Any) -> str:
    """Declare a SEV2 through the API and resolve it; return its ref."""
    ref = declare(client, who, **body)["ref"]
    r = client.patch(f"/api/v1/incidents/{ref}", json={"status": "resolved"}, headers=who.headers)
    assert r.status_code == 200, r.text
    return ref


def start_from_room(c: Any, ref: str) -> str:
    """Press "Start the postmortem" in the room; return the postmortem's page path."""
    room = c.get(f"/incidents/{ref}").text
    assert 'id="postmortem-start-form"' in room and "Start the postmortem" in room
    r = post_form(c, f"/incidents/{ref}/postmortem", page=f"/incidents/{ref}")
    assert r.status_code == 303, r.text
    path = r.headers["location"]
    assert re.fullmatch(r"/postmortems/[0-9a-f-]{36}", path)
    return path


def body_of(page: str) -> str:
    match = BODY_RE.search(page)
    assert match, "no body editor"
    return htmllib.unescape(match.group(1))


def revision_of(page: str) -> str:
    match = re.search(r'name="base_revision" value="(\d+)"', page)
    assert match
    return match.group(1)


def move(c: Any, path: str, status: str) -> Any:
    return post_form(c, f"{path}/status", {"status": status}, page=path)


def test_a_sev2_runs_from_start_to_close_in_the_browser(client, web_client, make_web_user) -> None:
    me = make_web_user("responder")
    c = web_client(me)
    ref = declare(client, me, severity="SEV2")["ref"]
    room = c.get(f"/incidents/{ref}").text
    assert "The postmortem starts once the incident is resolved" in room
    early = post_form(c, f"/incidents/{ref}/postmortem", page=f"/incidents/{ref}")
    assert early.status_code == 409
    assert "a postmortem starts once the incident is resolved" in early.text and 'id="room-error"' in early.text

    client.patch(f"/api/v1/incidents/{ref}", json={"status": "resolved"}, headers=me.headers)
    refused = post_form(c, f"/incidents/{ref}/status", {"status": "closed"}, page=f"/incidents/{ref}")
    assert refused.status_code == 409 and "close only with a published postmortem" in refused.text

    path = start_from_room(c, ref)
    page = c.get(path).text
    assert "Postmortem started" in page  # the flash
    assert '<h1 id="pm-title">Postmortem: Checkout errors</h1>' in page
    assert f'href="/incidents/{ref}"' in page and '<dd id="pm-status">draft</dd>' in page
    assert revision_of(page) == "1" and body_of(page).strip()
    room = c.get(f"/incidents/{ref}").text
    assert 'id="postmortem-link"' in room and 'id="postmortem-start-form"' not in room
    assert c.get(f"/incidents/{ref}/postmortem", follow_redirects=False).headers["location"] == path
    again = post_form(c, f"/incidents/{ref}/postmortem", page=f"/incidents/{ref}")
    assert again.status_code == 409 and "already has a postmortem" in again.text

    # an edit with a blaming sentence is saved and the check points at it
    blamed = body_of(page) + "\n\nBob forgot to renew the certificate.\n"
    r = post_form(c, f"{path}/edit", {"title": "Certificate expiry", "body": blamed, "base_revision": "1"}, page=path)
    assert r.status_code == 303
    page = c.get(path).text
    assert "Saved (revision 2)" in page and revision_of(page) == "2"
    assert '<h1 id="pm-title">Certificate expiry</h1>' in page
    findings = page[page.index('id="pm-findings"'):page.index('id="pm-preview-section"')]
    assert "Bob forgot to renew the certificate." in findings and 'class="suggestion"' in findings
    assert "<p>Bob forgot to renew the certificate.</p>" in page  # the rendered preview

    # a stale edit (based on revision 1) is refused with 409 and keeps the user's text
    mine = "# My careful rewrite\n\nThe renewal job had no alert."
    stale = post_form(c, f"{path}/edit", {"title": "Certificate expiry", "body": mine, "base_revision": "1"},
                      page=path)
    assert stale.status_code == 409
    assert body_of(stale.text) == mine and 'id="pm-stale"' in stale.text
    assert "Bob forgot to renew" in stale.text[stale.text.index('id="pm-saved"'):]  # the saved text beside it
    assert revision_of(stale.text) == "2"  # saving again from here is not stale
    assert "Bob forgot to renew" in body_of(c.get(path).text)

    # review, publish; then the room's status form closes the incident
    assert move(c, path, "published").status_code == 409  # no skipping review
    assert move(c, path, "in_review").status_code == 303
    page = c.get(path).text
    assert "Sent for review" in page and '<dd id="pm-status">in review</dd>' in page
    assert 'id="pm-move-published"' in page and 'id="pm-move-draft"' in page
    blocked = post_form(c, f"/incidents/{ref}/status", {"status": "closed"}, page=f"/incidents/{ref}")
    assert blocked.status_code == 409 and "in_review" in blocked.text
    assert move(c, path, "published").status_code == 303
    page = c.get(path).text
    assert '<dd id="pm-status">published</dd>' in page and 'id="pm-move-draft"' in page
    assert 'id="pm-move-in_review"' not in page
    closed = post_form(c, f"/incidents/{ref}/status", {"status": "closed"}, page=f"/incidents/{ref}")
    assert closed.status_code == 303, closed.text
    assert client.get(f"/api/v1/incidents/{ref}", headers=me.headers).json()["status"] == "closed"
    assert 'id="postmortem-link"' in c.get(f"/incidents/{ref}").text


def test_list_filters_by_status(client, web_client, make_web_user) -> None:
    me = make_web_user("responder")
    c = web_client(me)
    first = start_from_room(c, resolved_incident(client, me, title="Disk full"))
    start_from_room(c, resolved_incident(client, me, title="DNS flap"))
    move(c, first, "in_review")
    everything = c.get("/postmortems").text
    assert "Postmortem: Disk full" in everything and "Postmortem: DNS flap" in everything
    review = c.get("/postmortems", params={"status": "in_review"}).text
    assert "Postmortem: Disk full" in review and "Postmortem: DNS flap" not in review
    assert "No postmortems published" in c.get("/postmortems", params={"status": "published"}).text
    assert c.get("/postmortems", params={"status": "bogus"}).status_code == 200


def test_comments_reviewers_and_approval(client, web_client, make_web_user) -> None:
    me, reviewer = make_web_user("responder"), make_web_user("responder", name="Rita Reviewer")
    c = web_client(me)
    path = start_from_room(c, resolved_incident(client, me))
    empty = post_form(c, f"{path}/comments", {"text": "  ", "section": "impact"}, page=path)
    assert empty.status_code == 422 and "a comment needs text" in empty.text
    assert 'id="pm-comment-section" name="section" maxlength="64" value="impact"' in empty.text
    assert post_form(c, f"{path}/comments", {"text": "Add the timeline gap", "section": "timeline"},
                     page=path).status_code == 303
    page = c.get(path).text
    assert "Comment added" in page and "Add the timeline gap" in page and "<em>timeline</em>" in page
    bad = post_form(c, f"{path}/reviewers", {"reviewers": "nobody@example.invalid"}, page=path)
    assert bad.status_code in (404, 422) and "nobody@example.invalid" in bad.text
    assert post_form(c, f"{path}/reviewers", {"reviewers": reviewer.email}, page=path).status_code == 303
    move(c, path, "in_review")
    rc = web_client(reviewer)
    page = rc.get(path).text
    assert "Rita Reviewer" in page and "not approved yet" in page and 'id="pm-approve-form"' in page
    assert post_form(rc, f"{path}/approve", page=path).status_code == 303
    assert "approved " in rc.get(path).text
    not_reviewer = post_form(c, f"{path}/approve", page=path)
    assert not_reviewer.status_code == 403 and "only a reviewer" in not_reviewer.text


def test_viewer_reads_but_has_no_forms_and_cannot_post(client, web_client, make_web_user) -> None:
    me = make_web_user("responder")
    c = web_client(me)
    ref = resolved_incident(client, me)
    viewer = web_client("viewer")
    assert 'id="postmortem-start-form"' not in viewer.get(f"/incidents/{ref}").text
    token = csrf(viewer, f"/incidents/{ref}")
    assert post_form(viewer, f"/incidents/{ref}/postmortem", token=token).status_code == 403
    path = start_from_room(c, ref)
    assert f'href="/incidents/{ref}/postmortem" id="postmortem-link"' in viewer.get(f"/incidents/{ref}").text
    page = viewer.get(path).text
    assert "Postmortem: Checkout errors" in page and 'id="pm-preview"' in page
    assert f'action="{path}' not in page and 'name="body"' not in page
    for action in ("edit", "public", "status", "comments", "reviewers", "approve", "publish-public"):
        r = post_form(viewer, f"{path}/{action}", {"body": "x", "text": "x", "status": "in_review"}, token=token)
        assert r.status_code == 403, (action, r.status_code)
    assert "<dd id=\"pm-status\">draft</dd>" in c.get(path).text


def test_restricted_incidents_postmortem_is_404_for_outsiders(client, web_client, make_web_user) -> None:
    insider = make_web_user("responder")
    ref = resolved_incident(client, insider, title="Key leak", restricted=True)
    path = start_from_room(web_client(insider), ref)
    outsider = web_client("responder")
    assert outsider.get(path).status_code == 404
    assert outsider.get(f"/incidents/{ref}/postmortem").status_code == 404
    assert "Key leak" not in outsider.get("/postmortems").text
    token = csrf(outsider, "/postmortems")
    assert post_form(outsider, f"{path}/comments", {"text": "peek"}, token=token).status_code == 404
    assert post_form(outsider, f"/incidents/{ref}/postmortem", token=token).status_code == 404
    assert "Key leak" in web_client("admin").get(path).text


def test_user_text_is_escaped(client, web_client, make_web_user) -> None:
    me = make_web_user("responder")
    c = web_client(me)
    path = start_from_room(c, resolved_incident(client, me, title='<script>alert("t")</script>'))
    body = '<script>alert(1)</script>\n\n[click](javascript:alert(2))\n\n<img src=x onerror=alert(3)>'
    post_form(c, f"{path}/edit", {"body": body, "base_revision": "1"}, page=path)
    post_form(c, f"{path}/comments", {"text": "<img src=y onerror=alert(4)>", "section": "<b>s</b>"}, page=path)
    post_form(c, f"{path}/public", {"public_text": "</textarea><script>alert(5)</script>"}, page=path)
    page = c.get(path).text
    for raw in ("<script>alert", "<img src=x", "<img src=y", 'href="javascript:', "<b>s</b>", "</textarea><script>"):
        assert raw not in page, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=y onerror=alert(4)&gt;" in page
    assert body_of(page) == body  # the editor still holds exactly what was written
    assert "script-src 'self'" in c.get(path).headers["content-security-policy"]


def test_public_text_is_posted_to_the_status_page(client, db, web_client, make_web_user, world) -> None:
    from tocsin.statuspage import service as sp
    from tocsin.statuspage.types import StatusIncidentKind

    me = make_web_user("responder")
    c = web_client(me)
    ref = declare(client, me, severity="SEV2")["ref"]
    r = post_form(c, f"/incidents/{ref}/public", {"page": "public", "title": "Checkout is slow",
                                                  "status": "investigating", "body": "Looking into it."},
                  page=f"/incidents/{ref}")
    assert r.status_code == 303, r.text
    client.patch(f"/api/v1/incidents/{ref}", json={"status": "resolved"}, headers=me.headers)
    path = start_from_room(c, ref)
    assert 'id="pm-publish-public-form"' not in c.get(path).text  # not published yet
    early = post_form(c, f"{path}/publish-public", {"page": "public"}, page=path)
    assert early.status_code == 409 and "publish the postmortem before" in early.text

    public = "# Checkout slowdown on Monday\n\nA certificate expired; we now renew and alert automatically."
    assert post_form(c, f"{path}/public", {"public_text": public}, page=path).status_code == 303
    move(c, path, "in_review")
    move(c, path, "published")
    page = c.get(path).text
    assert 'id="pm-publish-public-form"' in page and '<option value="public">Public status</option>' in page
    unknown = post_form(c, f"{path}/publish-public", {"page": "nope"}, page=path)
    assert unknown.status_code == 404 and 'id="pm-error"' in unknown.text
    open_still = post_form(c, f"{path}/publish-public", {"page": "public"}, page=path)
    assert open_still.status_code == 409 and "once the public incident is resolved" in open_still.text
    r = post_form(c, f"/incidents/{ref}/public", {"page": "public", "title": "Checkout is slow", "status": "resolved",
                                                  "body": "Fixed."}, page=f"/incidents/{ref}")
    assert r.status_code == 303, r.text
    done = post_form(c, f"{path}/publish-public", {"page": "public"}, page=path)
    assert done.status_code == 303, re.findall(r'id="pm-error">([^<]*)', done.text)
    page = c.get(path).text
    assert "Posted to the status page Public status" in page and "On the status page" in page

    with db.unit_of_work() as s:
        page_row = sp.require_page(s, "public")
        [si] = sp.list_status_incidents(s, page=page_row, kind=StatusIncidentKind.incident)
        updates = sp.updates_of(s, [si.id])[si.id]
        assert si.name == "Checkout is slow"
        assert [(u.status, u.body) for u in updates if u.status == "postmortem"] == [("postmortem", public)]


def test_bad_requests_are_readable(client, web_client, make_web_user) -> None:
    me = make_web_user("responder")
    c = web_client(me)
    path = start_from_room(c, resolved_incident(client, me))
    assert c.get("/postmortems/not-a-uuid").status_code == 404
    assert c.get("/postmortems/00000000-0000-0000-0000-000000000000").status_code == 404
    assert post_form(c, f"{path}/explode", page=path).status_code == 404
    assert c.post(f"{path}/comments", data={"text": "no token"}, follow_redirects=False).status_code == 403
    r = post_form(c, f"{path}/edit", {"body": "x", "base_revision": "one"}, page=path)
    assert r.status_code == 422 and "base revision must be a number" in r.text and body_of(r.text) == "x"
    r = post_form(c, f"{path}/status", {"status": "launched"}, page=path)
    assert r.status_code == 422 and "choose draft, in_review or published" in r.text
    r = post_form(c, f"{path}/edit", {"title": " ", "body": "kept", "base_revision": "1"}, page=path)
    assert r.status_code == 422 and body_of(r.text) == "kept" and 'id="pm-stale"' not in r.text
