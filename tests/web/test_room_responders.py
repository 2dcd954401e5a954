"""Add responders (issue 16, PagerDuty's): page a person, a team or a schedule's current on-call
into a running incident with a message, from the room or the API; each person's reply (the
signed acknowledge / decline links in their page) shows in the room, and acknowledging makes them
a responder. Audited; viewers, finished incidents and people who may not see a restricted
incident are refused.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from tests.harness.console import new_incident, post_form, room_of, timeline


def _notifications(db, user_id) -> list:
    from tocsin.escalation.models import Notification

    with db.unit_of_work() as s:
        rows = list(s.execute(sa.select(Notification).where(Notification.user_id == user_id,
                                                           Notification.kind == "responder")).scalars())
        s.expunge_all()
    return rows


def _reply(client, clock, notification_id, action: str):
    from tocsin.notify import links

    token = links.make_token("test-secret", notification_id, action, clock.now())
    shown = client.get(f"/n/{token}")
    assert shown.status_code == 200, shown.text
    return client.post(f"/n/{token}")


def _responders(html: str) -> str:
    start = html.index('id="responders-section"')
    return html[start:html.index("</details>", start)]


def test_page_a_person_and_their_acknowledgement_shows_in_the_room(web_client, make_web_user, client, db,
                                                                   clock) -> None:
    c, ref = new_incident(web_client)
    sam = make_web_user("responder", name="Sam Second")
    r = post_form(c, f"/incidents/{ref}/responders", {"target": f"user:{sam.id}", "message": "Need a DB expert"},
                  page=f"/incidents/{ref}")
    assert r.status_code == 303, r.text
    html = c.get(r.headers["location"]).text
    assert "Responders paged; their replies show here." in html
    panel = _responders(html)
    assert "<strong>Sam Second</strong>" in panel and "no answer yet" in panel
    assert "Paged to respond: Sam Second. Message: Need a DB expert" in timeline(html)

    [page] = _notifications(db, sam.id)
    assert page.status == "queued" and page.channel == "email" and "Need a DB expert" in page.body
    assert ref in page.subject
    done = _reply(client, clock, page.id, "ack")
    assert done.status_code == 200 and f"You joined {ref} as a responder" in done.text

    html = room_of(c, ref)
    assert 'data-status="acknowledged"' in _responders(html) and ">acknowledged</span>" in _responders(html)
    assert "Sam Second acknowledged: joining as a responder" in timeline(html)
    assert "Sam Second (responder)" in html
    again = _reply(client, clock, page.id, "decline")  # a second answer to the same request
    assert again.status_code == 409 and "already answered" in again.text

    audit = client.get("/api/v1/audit", headers=make_web_user("admin").headers)
    assert audit.status_code == 200
    entries = audit.json()["items"] if isinstance(audit.json(), dict) else audit.json()
    assert any(e["action"] == "incident.add_responders" and e["details"]["ref"] == ref for e in entries)


def test_a_declined_request_shows_as_declined_and_the_unsent_page_is_cancelled(web_client, make_web_user, client,
                                                                               db, clock) -> None:
    from tocsin.config import Settings
    from tocsin.engine.runner import Engine
    from tocsin.escalation.deliver import deliver

    c, ref = new_incident(web_client)
    rui = make_web_user("responder", name="Rui Busy")
    post_form(c, f"/incidents/{ref}/responders", {"target": f"user:{rui.id}", "message": ""}, page=f"/incidents/{ref}")
    [page] = _notifications(db, rui.id)
    assert _reply(client, clock, page.id, "decline").status_code == 200
    html = room_of(c, ref)
    assert 'data-status="declined"' in _responders(html) and "Rui Busy declined to respond" in timeline(html)
    assert "Rui Busy (responder)" not in html

    Engine(db, clock, settings=Settings(secret_key="test-secret"), modules=[("deliver", deliver)]).tick()
    [page] = _notifications(db, rui.id)
    assert page.status == "cancelled" and "already answered" in (page.last_error or "")


def test_a_team_and_a_schedules_on_call_are_paged_through_the_api(web_client, make_web_user, make_team, world,
                                                                  client, db) -> None:
    make_team("dba")
    ana = make_web_user("responder", name="Ana Dba", teams=["dba"])
    ben = make_web_user("responder", name="Ben Dba", teams=["dba"])
    vic = make_web_user("viewer", name="Vic Viewer", teams=["dba"])
    c, ref = new_incident(web_client)
    r = client.post(f"/api/v1/incidents/{ref}/responders", headers=c.user.headers,
                    json={"targets": [{"kind": "team", "key": "dba"}, {"kind": "schedule", "key": "primary"}],
                          "message": "All hands"})
    assert r.status_code == 201, r.text
    got = {i["user"]["name"]: (i["via"], i["status"]) for i in r.json()["items"]}
    assert got == {"Ana Dba": ("team Dba", "pending"), "Ben Dba": ("team Dba", "pending"),
                   "Olga Oncall": ("on-call of Primary", "pending")}
    assert r.json()["skipped"] == ["Vic Viewer has the viewer role and can only observe"]
    assert _notifications(db, ana.id) and _notifications(db, ben.id) and not _notifications(db, vic.id)

    again = client.post(f"/api/v1/incidents/{ref}/responders", headers=c.user.headers,
                        json={"targets": [{"kind": "user", "key": str(ana.id)}]})
    assert again.status_code == 409 and "already asked" in again.json()["error"]["message"]
    listed = client.get(f"/api/v1/incidents/{ref}/responders", headers=c.user.headers).json()["items"]
    assert len(listed) == 3
    html = room_of(c, ref)
    assert "via team Dba" in _responders(html) and "via on-call of Primary" in _responders(html)


def test_refusals_viewers_bad_targets_and_finished_incidents(web_client, make_web_user, client) -> None:
    c, ref = new_incident(web_client)
    sam = make_web_user("responder")
    viewer = make_web_user("viewer")
    r = client.post(f"/api/v1/incidents/{ref}/responders", headers=viewer.headers,
                    json={"targets": [{"kind": "user", "key": str(sam.id)}]})
    assert r.status_code == 403
    vc = web_client(viewer)
    assert 'id="responders-form"' not in room_of(vc, ref)
    assert post_form(vc, f"/incidents/{ref}/responders", {"target": f"user:{sam.id}"},
                     page=f"/incidents/{ref}").status_code == 403
    bad = post_form(c, f"/incidents/{ref}/responders", {"target": "planet:mars"}, page=f"/incidents/{ref}")
    assert bad.status_code == 422 and "choose a person, a team or a schedule" in bad.text
    assert client.post(f"/api/v1/incidents/{ref}/responders", headers=c.user.headers,
                       json={"targets": [{"kind": "user", "key": "nobody@example.test"}]}).status_code == 404
    assert client.post(f"/api/v1/incidents/{ref}/responders", headers=c.user.headers,
                       json={"targets": []}).status_code == 422

    post_form(c, f"/incidents/{ref}/status", {"status": "resolved"}, page=f"/incidents/{ref}")
    done = client.post(f"/api/v1/incidents/{ref}/responders", headers=c.user.headers,
                       json={"targets": [{"kind": "user", "key": str(sam.id)}]})
    assert done.status_code == 409 and "running incidents only" in done.json()["error"]["message"]
    assert 'id="responders-form"' not in room_of(c, ref)


def test_a_restricted_incident_pages_only_people_who_may_see_it(web_client, make_web_user, client, db) -> None:
    c, ref = new_incident(web_client, title="Leaked key", kind="security")
    outsider = make_web_user("responder", name="Out Sider")
    r = client.post(f"/api/v1/incidents/{ref}/responders", headers=c.user.headers,
                    json={"targets": [{"kind": "user", "key": str(outsider.id)}]})
    assert r.status_code == 409 and "Out Sider may not see this restricted incident" in r.json()["error"]["message"]
    admin = make_web_user("admin", name="Ada Admin")
    r = client.post(f"/api/v1/incidents/{ref}/responders", headers=c.user.headers,
                    json={"targets": [{"kind": "user", "key": str(admin.id)}]})
    assert r.status_code == 201
    [page] = _notifications(db, admin.id)
    assert "Leaked key" not in page.subject + page.body and "restricted" in page.subject


def test_the_page_carries_acknowledge_decline_and_view_links() -> None:
    import uuid
    from datetime import UTC

    from tocsin.notify.compose import Row, compose

    row = Row(id=uuid.uuid4(), idempotency_key="k", kind="responder", subject="[SEV2] INC-4: you are asked to help",
              body="Ada asks you to join.", created_at=datetime(2026, 1, 1, tzinfo=UTC), incident_id=uuid.uuid4())
    msg = compose([row], "email", to="x@example.test", public_url="https://t.example", secret="s",
                  now=datetime(2026, 1, 1, tzinfo=UTC))
    assert set(msg.data["links"]) == {"ack", "decline", "view"}
    assert "Ack: https://t.example/n/" in msg.body and "Decline: https://t.example/n/" in msg.body
    sms = compose([Row(**{**row.__dict__, "reply_code": "4821"})], "sms", to="+1", public_url="https://t.example",
                  secret="s", now=datetime(2026, 1, 1, tzinfo=UTC))
    assert sms.body.endswith("Reply '4821 ack' to join.")
