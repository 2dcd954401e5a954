"""The incident room's live timeline over server-sent events, against a real HTTP server.

The test app is served by uvicorn in a thread (TestClient cannot stream an endless response), and
viewers read `/incidents/{ref}/events` with httpx, logged in through the real login form. A change
made by someone else (through the API or a console form) must reach every viewer as a `timeline`
event carrying the new entry's HTML. The stream re-reads on its own only every 15 s (heartbeat),
so an event arriving within the 5 s these tests wait proves the change notice pushed it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.harness.console import Viewer, post_form, served
from tests.harness.incidents import declare

pytestmark = pytest.mark.both_backends  # on PostgreSQL, changes reach viewers by LISTEN/NOTIFY (tests/conftest.py)


@pytest.fixture
def server(app) -> Iterator[str]:
    """The test app served by uvicorn on a loopback port, in a thread."""
    with served(app) as base:
        yield base


@pytest.fixture
def viewers() -> Iterator[list[Viewer]]:
    made: list[Viewer] = []
    yield made
    for v in made:
        v.close()


@pytest.fixture
def open_viewer(server, viewers, make_web_user):
    def make(ref: str, who=None, **kw: Any) -> Viewer:  # noqa: ANN001 (a WebUser or a role)
        user = who if who is not None and not isinstance(who, str) else make_web_user(who or "viewer")
        v = Viewer(server, user.email)
        viewers.append(v)
        return v.open(ref, **kw)
    return make


def test_viewer_receives_a_note_another_user_adds(client, open_viewer, make_person) -> None:
    alice = make_person("responder")
    ref = declare(client, alice, title="Checkout errors")["ref"]
    viewer = open_viewer(ref)
    assert viewer.status == 200
    assert viewer.headers["content-type"].startswith("text/event-stream")
    assert "no-cache" in viewer.headers["cache-control"] and viewer.headers["x-accel-buffering"] == "no"
    first = viewer.next_timeline()
    assert "Checkout errors" in first["html"] and ref in first["header"]

    r = client.post(f"/api/v1/incidents/{ref}/notes", json={"text": "rolled back <b>v42</b>"}, headers=alice.headers)
    assert r.status_code == 201, r.text
    got = viewer.wait_for("rolled back")
    assert "rolled back &lt;b&gt;v42&lt;/b&gt;" in got["html"]  # escaped, as on the page
    assert f'data-id="{r.json()["id"]}"' in got["html"] and got["id"] == r.json()["id"]
    assert "Checkout errors" not in got["html"]  # only what the viewer lacks


def test_two_viewers_both_get_a_note_added_in_the_console(client, web_client, open_viewer, make_person) -> None:
    alice = make_person("responder")
    ref = declare(client, alice)["ref"]
    first, second = open_viewer(ref), open_viewer(ref, "responder")
    first.next_timeline(), second.next_timeline()
    bob = web_client("responder")
    r = post_form(bob, f"/incidents/{ref}/note", {"text": "db failover started"}, page=f"/incidents/{ref}")
    assert r.status_code == 303, r.text
    for v in (first, second):
        assert "db failover started" in v.wait_for("db failover started")["html"]


def test_status_change_updates_the_header(client, open_viewer, make_person) -> None:
    alice = make_person("responder")
    ref = declare(client, alice, severity="SEV3")["ref"]
    viewer = open_viewer(ref)
    viewer.next_timeline()
    r = client.patch(f"/api/v1/incidents/{ref}", json={"status": "mitigated"}, headers=alice.headers)
    assert r.status_code == 200, r.text
    got = viewer.wait_for("mitigated")
    assert '<dd id="room-status">mitigated</dd>' in got["header"]


def test_back_dated_note_reaches_the_viewer(client, clock, open_viewer, make_person) -> None:
    alice = make_person("responder")  # the declarer is the Incident Commander, who may back-date
    ref = declare(client, alice)["ref"]
    viewer = open_viewer(ref)
    viewer.next_timeline()
    clock.advance(timedelta(minutes=10))
    r = client.post(f"/api/v1/incidents/{ref}/notes", json={"text": "later note"}, headers=alice.headers)
    assert r.status_code == 201
    viewer.wait_for("later note")
    earlier = (clock.now() - timedelta(minutes=8)).isoformat()
    r = client.post(f"/api/v1/incidents/{ref}/notes", json={"text": "paged at 12:02", "occurred_at": earlier},
                    headers=alice.headers)
    assert r.status_code == 201, r.text
    got = viewer.wait_for("paged at 12:02")
    assert "back-dated" in got["html"]


def test_an_edited_note_reaches_the_viewer_with_its_new_text(client, clock, open_viewer, make_person) -> None:
    alice = make_person("responder")
    ref = declare(client, alice)["ref"]
    viewer = open_viewer(ref)
    viewer.next_timeline()
    r = client.post(f"/api/v1/incidents/{ref}/notes", json={"text": "failover to eu-west-1"}, headers=alice.headers)
    assert r.status_code == 201
    note_id = r.json()["id"]
    viewer.wait_for("failover to eu-west-1")
    clock.advance(timedelta(minutes=3))  # past the stream's look-back: the edit alone must bring it back
    r = client.patch(f"/api/v1/incidents/{ref}/notes/{note_id}", json={"text": "failover to eu-central-1"},
                     headers=alice.headers)
    assert r.status_code == 200, r.text
    got = viewer.wait_for("failover to eu-central-1")
    assert f'data-id="{note_id}"' in got["html"] and "edited" in got["html"]


def test_reconnect_with_last_event_id_sends_only_newer_entries(client, clock, open_viewer, make_person) -> None:
    alice = make_person("responder")
    ref = declare(client, alice, title="Resume me")["ref"]
    first = open_viewer(ref)
    last_id = first.next_timeline()["id"]
    first.close()
    clock.advance(timedelta(minutes=1))
    r = client.post(f"/api/v1/incidents/{ref}/notes", json={"text": "while away"}, headers=alice.headers)
    assert r.status_code == 201
    again = open_viewer(ref, headers={"Last-Event-ID": last_id})
    got = again.next_timeline()
    assert "while away" in got["html"] and "Resume me" not in got["html"]


def test_viewer_without_need_to_know_cannot_open_the_stream(client, make_person, open_viewer) -> None:
    lead = make_person("responder")
    ref = declare(client, lead, title="Credential leak", kind="security")["ref"]  # restricted
    outsider = open_viewer(ref, "responder")
    assert outsider.status == 404
    insider = open_viewer(ref, "admin")
    assert insider.status == 200 and "Credential leak" in insider.next_timeline()["html"]


def test_stream_ends_when_the_incident_becomes_restricted(client, make_person, open_viewer) -> None:
    admin = make_person("admin")
    ref = declare(client, admin)["ref"]
    viewer = open_viewer(ref)
    viewer.next_timeline()
    r = client.patch(f"/api/v1/incidents/{ref}", json={"restricted": True}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert viewer.next_timeline() is None  # the stream ended instead of showing the change


def test_stream_ends_after_logout(client, make_person, make_web_user, server, viewers) -> None:
    alice = make_person("responder")
    ref = declare(client, alice)["ref"]
    user = make_web_user("viewer")
    viewer = Viewer(server, user.email)
    viewers.append(viewer)
    viewer.open(ref)
    viewer.next_timeline()
    page = viewer.http.get(f"/incidents/{ref}")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    assert viewer.http.post("/logout", data={"csrf_token": token}).status_code == 303
    client.post(f"/api/v1/incidents/{ref}/notes", json={"text": "after logout"}, headers=alice.headers)
    assert viewer.next_timeline() is None


def test_stream_without_login_is_refused(server, client, make_person) -> None:
    alice = make_person("responder")
    ref = declare(client, alice)["ref"]
    r = httpx.get(f"{server}/incidents/{ref}/events", headers={"Accept": "text/event-stream"}, trust_env=False)
    assert r.status_code == 401

