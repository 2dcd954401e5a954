"""Incident room extras: notes posted as incident updates (and what counts as an update for the
"Last update" clock and the next-update deadline), and the known-problems panel.

Through the real login, CSRF and form posts, on SQLite and PostgreSQL; time moves only with the
ManualClock, and every check reads what a responder sees on the page.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from tests.harness.console import csrf, new_incident, post_form, room_of, timeline

API = "/api/v1"


def header(html: str) -> str:
    return html[html.index('<header id="room-header"'):html.index("</header>", html.index('<header id="room-header"'))]


def due_of(html: str) -> str:
    return re.search(r'id="room-target" data-due="([^"]+)"', header(html)).group(1)


def last_update_of(html: str) -> str:
    return re.search(r'id="room-last-update" datetime="([^"]+)"', header(html)).group(1)


def entry_of(html: str, text: str) -> str:
    """The <li> of the timeline entry whose text is `text`."""
    tl = timeline(html)
    end = tl.index(text)
    return tl[tl.rindex("<li ", 0, end):tl.index("</li>", end)]


def test_a_plain_note_does_not_reset_the_update_clock_but_an_update_does(web_client, clock) -> None:
    c, ref = new_incident(web_client, severity="SEV1")
    room = f"/incidents/{ref}"
    declared = clock.now()
    html = room_of(c, ref)
    assert 'name="update" value="1"' in html and "Post as an incident update (also sent to its stakeholders)" in html
    assert due_of(html) == (declared + timedelta(minutes=30)).isoformat()

    clock.advance(minutes=10)
    r = post_form(c, f"{room}/note", {"text": "Looking at the db graphs"}, page=room)
    assert r.status_code == 303 and r.headers["location"] == room
    html = room_of(c, ref)
    assert due_of(html) == (declared + timedelta(minutes=30)).isoformat()  # unchanged by a plain note
    assert last_update_of(html) == declared.isoformat()
    plain = entry_of(html, "Looking at the db graphs")
    assert "entry-update" not in plain and '<span class="entry-kind">Note</span>' in plain

    clock.advance(minutes=21)  # 31 min after declaring (SEV1: every 30 min), one plain note later: overdue
    assert '<strong class="overdue" id="room-overdue">update overdue</strong>' in room_of(c, ref)

    r = post_form(c, f"{room}/note", {"text": "Checkout <degraded>; rollback under way", "update": "1"}, page=room)
    assert r.status_code == 303 and r.headers["location"] == room
    html = c.get(r.headers["location"]).text
    assert "Update posted." in html
    assert 'id="room-overdue" hidden' in html
    assert last_update_of(html) == clock.now().isoformat()
    assert due_of(html) == (clock.now() + timedelta(minutes=30)).isoformat()
    update = entry_of(html, "Checkout &lt;degraded&gt;; rollback under way")
    assert 'class="entry entry-note entry-update key-event"' in update
    assert '<span class="entry-kind">Update</span>' in update


def test_status_changes_count_as_updates_paging_does_not(web_client, db, clock, system) -> None:
    from tocsin.incidents import timeline as tl
    from tocsin.incidents.access import require_incident
    from tocsin.incidents.types import TimelineKind

    c, ref = new_incident(web_client, severity="SEV1")
    room = f"/incidents/{ref}"
    declared = clock.now()
    clock.advance(minutes=5)
    with db.unit_of_work() as s:  # what the escalation trail writes while paging
        tl.append(s, incident=require_incident(s, system, ref), kind=TimelineKind.paging, actor=system,
                  now=clock.now(), text="Paged Bob (SMS)")
    html = room_of(c, ref)
    assert "Paged Bob (SMS)" in timeline(html)
    assert last_update_of(html) == declared.isoformat()

    clock.advance(minutes=5)
    assert post_form(c, f"{room}/status", {"status": "mitigated"}, page=room).status_code == 303
    html = room_of(c, ref)
    assert last_update_of(html) == clock.now().isoformat()
    assert due_of(html) == (clock.now() + timedelta(minutes=30)).isoformat()


def test_a_public_status_page_update_counts_as_an_update(web_client, db, clock, system) -> None:
    from tocsin.statuspage import service as statuspages

    with db.unit_of_work() as s:
        statuspages.create_page(s, actor=system, now=clock.now(), slug="acme", name="Acme status")
    c, ref = new_incident(web_client, severity="SEV2")
    room = f"/incidents/{ref}"
    clock.advance(minutes=20)
    r = post_form(c, f"{room}/public", {"page": "acme", "title": "Checkout is slow", "status": "investigating",
                                         "body": "We are looking into it."}, page=room)
    assert r.status_code == 303, r.text[:500]
    html = room_of(c, ref)
    assert last_update_of(html) == clock.now().isoformat()
    assert due_of(html) == (clock.now() + timedelta(minutes=60)).isoformat()


def _alertmanager(client: Any, admin: Any) -> str:
    r = client.post(f"{API}/integrations", json={"service": "checkout", "type": "alertmanager", "name": "am"},
                    headers=admin.headers)
    assert r.status_code == 201, r.text
    return r.json()["key"]


def _fire(client: Any, key: str) -> None:
    group = {"version": "4", "status": "firing", "alerts": [{
        "status": "firing", "fingerprint": "00000000000000aa",
        "labels": {"alertname": "PoolExhausted", "env": "prod"},
        "annotations": {"summary": "Checkout DB connection pool at 100%"}}]}
    assert client.post(f"/integrations/alertmanager/{key}", json=group).status_code == 202


def test_known_problems_are_suggested_with_reasons_and_linking_puts_the_workaround_on_the_timeline(
        client, web_client, make_person, make_service, clock) -> None:
    make_service("checkout")
    ada = make_person("admin")
    key = _alertmanager(client, ada)
    workaround = "kubectl rollout restart deploy/checkout <fast>"
    r = client.post(f"{API}/problems", headers=ada.headers, json={
        "title": "Checkout pool <exhausted>", "service": "checkout", "workaround": workaround,
        "match": {"labels": {"alertname": "PoolExhausted"}, "terms": ["connection pool"]}})
    assert r.status_code == 201, r.text
    r = client.post(f"{API}/problems", headers=ada.headers, json={"title": "Search index lag", "match": {
        "terms": ["index lag"]}})
    assert r.status_code == 201, r.text
    clock.advance(hours=1)

    c, ref = new_incident(web_client, title="Checkout connection pool errors", severity="SEV2")
    room = f"/incidents/{ref}"
    html = room_of(c, ref)
    assert '<details open id="problems-section"' in html
    assert 'data-ref="PRB-1"' in html and 'data-ref="PRB-2"' not in html  # only what matches
    assert 'text contains the terms &#34;connection pool&#34;' in html
    assert "Checkout pool &lt;exhausted&gt;" in html and "<exhausted>" not in html
    assert "kubectl rollout restart deploy/checkout &lt;fast&gt;" in html

    # the alert attached through the room's link form adds the label reason
    _fire(client, key)
    (alert,) = client.get(f"{API}/alerts", headers=ada.headers).json()["items"]
    assert post_form(c, f"{room}/link", {"alert": alert["id"]}, page=room).status_code == 303
    html = room_of(c, ref)
    suggestion = html[html.index('id="suggested-problems"'):]
    assert "same service checkout and labels alertname=PoolExhausted" in suggestion
    assert f'action="{room}/link-problem"' in suggestion and 'name="problem" value="PRB-1"' in suggestion

    # a viewer sees the panel but no Link button, and cannot post the link
    viewer = web_client("viewer")
    seen = room_of(viewer, ref)
    assert 'data-ref="PRB-1"' in seen and "link-problem" not in seen
    assert post_form(viewer, f"{room}/link-problem", {"problem": "PRB-1"}, page=room).status_code == 403

    r = post_form(c, f"{room}/link-problem", {"problem": "PRB-1"}, page=room)
    assert r.status_code == 303 and r.headers["location"] == room
    html = c.get(r.headers["location"]).text
    entry = entry_of(html, "Known problem PRB-1")
    assert 'data-kind="problem"' in entry
    assert "Workaround: kubectl rollout restart deploy/checkout &lt;fast&gt;" in entry
    linked = html[html.index('id="linked-problems"'):html.index("</ul>", html.index('id="linked-problems"'))]
    assert 'data-ref="PRB-1"' in linked and "deploy/checkout &lt;fast&gt;" in linked
    assert 'id="suggested-problems"' not in html  # linked problems are no longer suggested

    again = post_form(c, f"{room}/link-problem", {"problem": "PRB-1"}, page=room)
    assert again.status_code == 409 and "already linked" in again.text
    missing = post_form(c, f"{room}/link-problem", {"problem": "PRB-99"}, page=room)
    assert missing.status_code == 422 and "no problem" in missing.text
    empty = post_form(c, f"{room}/link-problem", {"problem": ""}, page=room)
    assert empty.status_code == 422 and "problem is required" in empty.text


def test_no_problems_panel_when_there_is_nothing_to_show(web_client) -> None:
    c, ref = new_incident(web_client, title="Something new")
    html = room_of(c, ref)
    assert 'id="problems-section"' not in html and "Known problems" not in html


def test_update_flag_must_be_a_tick(web_client) -> None:
    c, ref = new_incident(web_client)
    token = csrf(c, f"/incidents/{ref}")
    r = c.post(f"/incidents/{ref}/note", data={"text": "x", "update": "yes", "csrf_token": token},
               follow_redirects=False)
    assert r.status_code == 422 and "ticked or not" in r.text
    assert "entry-update" not in timeline(room_of(c, ref))
