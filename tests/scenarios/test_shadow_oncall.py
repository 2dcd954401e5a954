"""Shadow on-call and paging for an Incident Commander (issue 19, Roles).

A schedule has a shadow layer: whoever is on it gets the same page as the on-call person, marked
"[shadow]", without being the responder: the shadow's copy carries no acknowledge link and a
(forged) link for it acknowledges nothing, the escalation goes on as if the shadow were not there,
and the on-call person's acknowledgement is the one that counts. The room's "Page an IC" pages
the on-call of the IC schedule (TOCSIN_IC_SCHEDULE) through Add responders."""

import re

import pytest

from tests.harness.console import PASSWORD, csrf, login
from tests.harness.incidents import declare
from tests.harness.scenario import SECRET_KEY
from tocsin.escalation.models import Notification, ResponderRequest
from tocsin.notify import links
from tocsin.users.service import require_user, update_user

ACK_LINK = re.compile(r"^Ack: http://tocsin\.test(/n/[\w.-]+)\r?$", re.MULTILINE)


def body_of(mail):
    return mail.get_body(("plain",)).get_content()


@pytest.fixture
def rb(runbook):
    runbook.configure(ic_schedule="ic-bench")  # the schedule "Page an IC" pages (made by the test that uses it)
    for name in ("Alice", "Sam", "Bob"):
        runbook.person(name)
    runbook.person("Ada", "admin")
    runbook.service("checkout", tier=1)
    runbook.schedule("primary", "Alice")
    layer = runbook.as_("Ada").post("/schedules/primary/layers", name="shadow", kind="weekly", timezone="UTC",
                                    start=runbook.now.isoformat(), members=[runbook.people["Sam"].email], shadow=True)
    assert layer["shadow"] is True
    runbook.policy((5, ["schedule:primary"]), (5, ["Bob"]))
    return runbook


def test_the_shadow_gets_a_marked_copy_and_only_the_on_call_persons_ack_counts(rb):
    # Runbook: checkout fails → Alice (on call) and Sam (shadow) are emailed; Sam's copy says
    # [shadow] and has no ack link → Sam's answer acknowledges nothing → 5 minutes: Bob is paged
    # (the escalation ignored Sam) → Alice acknowledges from her page → the paging stops, and Sam's
    # delayed text with it.
    on_call = rb.as_("Bob").get("/schedules/primary/oncall")
    assert on_call["on_call"]["user"]["name"] == "Alice"
    assert [u["name"] for u in on_call["shadows"]] == ["Sam"]

    # Sam's rules: email at once, a text after 10 minutes (as a responder's would)
    rb.rules("Sam", (rb.contact("Sam", "email", "sam@example.test"), 0),
             (rb.contact("Sam", "sms", "+14155550111"), 10))
    alert = rb.trigger("checkout-5xx")
    rb.tick()
    page = rb.expect_email("Alice", "checkout-5xx")
    assert "[shadow]" not in page["Subject"] and ACK_LINK.search(body_of(page))
    copy = rb.expect_email("sam@example.test", "[shadow]", "checkout-5xx")
    assert copy["Subject"].startswith("[shadow] ")
    text = body_of(copy)
    assert text.startswith("[shadow] You are shadowing") and "not the responder" in text
    assert "/n/" not in text, "a shadow's copy has nothing to acknowledge with"
    assert "Acknowledging this page" in body_of(page) and "Acknowledging this page" not in text
    rb.expect_nothing_more()
    assert any("Sam shadows (level 1: shadowing schedule 'primary')" in d for d in rb.decisions(alert, "shadowed"))

    # even a validly signed link for the shadow's copy acts on nothing
    (shadow_row,) = rb.notifications(kind="shadow", channel="email")
    token = links.make_token(SECRET_KEY, shadow_row.id, "ack", rb.now)
    refused = rb.http.post(f"/n/{token}")
    assert refused.status_code == 409 and "cannot be acted on" in refused.text
    assert rb.alert(alert).status == "triggered"

    rb.tick(minutes=5)
    rb.expect_email("Bob", "checkout-5xx")  # level 2: the shadow did not stand in for the responder
    rb.expect_nothing_more()

    done = rb.http.post(ACK_LINK.search(body_of(page)).group(1))
    assert done.status_code == 200, done.text
    assert rb.alert(alert).status == "acknowledged" and "Acknowledged" in done.text
    rb.tick(minutes=30)
    rb.expect_nothing_more()  # Sam's text (due at 10 minutes) went with the page it copied
    sms = rb.notifications(user_id=rb.people["Sam"].id, channel="sms")
    assert [(n.kind, n.status) for n in sms] == [("shadow", "cancelled")]
    assert sms[0].last_error == "not sent: no alert of its group is triggered any more"
    # on-call load counts the responder's pages, not the shadow's copy
    assert {n.kind for n in rb.notifications(user_id=rb.people["Sam"].id)} == {"shadow"}


def test_page_an_ic_from_the_room_pages_the_ic_schedules_on_call(rb):
    # Runbook: TOCSIN_IC_SCHEDULE=ic-bench, Ivy on call there → Carol declares a SEV3 without a
    # commander → the room's Roles panel offers "Page an IC" → Ivy is asked to join.
    rb.person("Ivy")
    rb.person("Carol")
    rb.schedule("ic-bench", "Ivy")
    with rb.db.unit_of_work() as s:
        update_user(s, actor=rb.system, now=rb.now, user=require_user(s, rb.people["Carol"].id), password=PASSWORD)
    ref = declare(rb.http, rb.people["Carol"], severity="SEV3")["ref"]
    assert login(rb.http, rb.people["Carol"].email, PASSWORD).status_code == 303
    room = rb.http.get(f"/incidents/{ref}").text
    form = room[room.index('id="page-ic-form"'):]
    assert 'value="schedule:ic-bench"' in form[:form.index("</form>")]
    r = rb.http.post(f"/incidents/{ref}/responders", follow_redirects=False,
                     data={"csrf_token": csrf(rb.http, f"/incidents/{ref}"), "target": "schedule:ic-bench",
                           "message": "We need an Incident Commander."})
    assert r.status_code == 303, r.text
    rb.tick()
    rb.expect_email("Ivy", ref)
    (request,) = rb.rows(ResponderRequest)
    assert request.user_id == rb.people["Ivy"].id and request.message == "We need an Incident Commander."
    assert rb.rows(Notification, Notification.kind == "responder")[0].user_id == rb.people["Ivy"].id
