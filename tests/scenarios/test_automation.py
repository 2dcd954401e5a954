"""Approved actions run by the engine (issue 19): an admin defines a command from the operator's
allow-list and a signed webhook; responders run them from the incident, a second person approves
when the action says so; the output, exit status or HTTP status land on the timeline.

Written on the runbook: real commands (/bin/echo, /bin/sleep) run without a shell, and the webhook
goes to the harness's receiver through the egress guard (TEST_EGRESS opens loopback).
"""

from __future__ import annotations

import orjson
import pytest

from tocsin.notify.webhook import verify_webhook

SECRET = "automation-signing-secret"


@pytest.fixture
def rb(runbook, tmp_path):
    allow = tmp_path / "commands.yaml"
    allow.write_text('echo: ["/bin/echo", "restarting", "{host}"]\nnap: ["/bin/sleep", "{seconds}"]\n')
    runbook.configure(automation_commands=allow, automation_signing_secret=SECRET)
    runbook.person("Ada", role="admin")
    runbook.person("Bob")
    runbook.person("Cy")
    return runbook


def incident(rb, who="Bob"):
    return rb.as_(who).post("/incidents", title="Checkout errors", severity="SEV2")["ref"]


def ask(rb, who, ref, expect=201, **body):
    """POST a run request (`params` is a body field here, not the Caller's query parameters)."""
    r = rb.http.post(f"/api/v1/incidents/{ref}/automation/runs", json=body, headers=rb.people[who].headers)
    assert r.status_code == expect, r.text
    return r.json()


def automation_texts(rb, ref):
    iid = rb.as_("Bob").get(f"/incidents/{ref}")["id"]
    import uuid
    return [e.text for e in rb.timeline(uuid.UUID(iid), "automation")]


def test_a_command_waits_for_a_second_person_then_runs_with_its_output_on_the_timeline(rb):
    ada = rb.as_("Ada")
    ada.post("/automation/actions", slug="restart", name="Restart web", kind="command", command="echo",
             requires_approval=True, params_schema=[{"name": "host", "type": "string", "required": True}])
    ref = incident(rb)
    hostile = "web-1; rm -rf /"
    run = ask(rb, "Bob", ref, action="restart", params={"host": hostile})
    assert run["status"] == "requested"
    rb.tick()
    assert rb.as_("Bob").get(f"/incidents/{ref}/automation/runs/{run['id']}")["status"] == "requested"  # waits
    rb.as_("Bob").post(f"/incidents/{ref}/automation/runs/{run['id']}/approve", 403)  # not the requester
    rb.as_("Cy").post(f"/incidents/{ref}/automation/runs/{run['id']}/approve", 200, reason="go")
    rb.tick()
    done = rb.as_("Bob").get(f"/incidents/{ref}/automation/runs/{run['id']}")
    # the hostile value stayed one argument: echo printed it, no shell ran `rm`
    assert (done["status"], done["exit_status"], done["output"]) == ("succeeded", 0, f"restarting {hostile}\n")
    assert done["approved_by"]["name"] == "Cy"
    texts = automation_texts(rb, ref)
    assert [t.split(":")[0] for t in texts] == ["Approved action requested", "Approved action approved",
                                                 "Approved action started", "Approved action succeeded"]
    assert "exit status 0" in texts[-1] and hostile in texts[-1]


def test_a_command_past_its_timeout_is_killed(rb):
    rb.as_("Ada").post("/automation/actions", slug="nap", name="Nap", kind="command", command="nap", timeout_s=1,
                       params_schema=[{"name": "seconds", "type": "integer", "required": True}])
    ref = incident(rb)
    run = ask(rb, "Bob", ref, action="nap", params={"seconds": 30})
    rb.tick()
    done = rb.as_("Bob").get(f"/incidents/{ref}/automation/runs/{run['id']}")
    assert done["status"] == "timed_out" and "killed after 1 s" in done["output"]
    assert "Approved action timed out" in automation_texts(rb, ref)[-1]


def test_a_dry_run_shows_the_argv_and_runs_nothing(rb):
    rb.as_("Ada").post("/automation/actions", slug="restart", name="Restart web", kind="command", command="echo",
                       requires_approval=True, params_schema=[{"name": "host", "type": "string"}])
    ref = incident(rb)
    run = ask(rb, "Bob", ref, action="restart", params={"host": "a b"},
                             dry_run=True)
    assert run["status"] == "approved"  # nothing runs: no second person needed
    rb.tick()
    done = rb.as_("Bob").get(f"/incidents/{ref}/automation/runs/{run['id']}")
    assert done["output"] == "would run: /bin/echo restarting 'a b'" and done["exit_status"] is None
    assert automation_texts(rb, ref)[-1].startswith("Dry run: “Restart web” (dry run) with host=a b")


def test_a_webhook_is_signed_and_only_its_status_is_kept(rb):
    rb.receiver.reply_body = b"secret internals of the receiver"
    rb.as_("Ada").post("/automation/actions", slug="flush", name="Flush CDN", kind="webhook",
                       url=rb.receiver.url(), params_schema=[{"name": "zone", "type": "choice",
                                                              "choices": ["eu", "us"]}])
    ref = incident(rb)
    run = ask(rb, "Bob", ref, action="flush", params={"zone": "eu"})
    rb.tick()
    [post] = rb.webhook_posts()
    assert verify_webhook(SECRET, post.body, post.headers["X-Tocsin-Timestamp"], post.headers["X-Tocsin-Signature"],
                          now=rb.now)
    assert orjson.loads(post.body) == {"action": "flush", "run_id": run["id"], "incident": ref,
                                       "params": {"zone": "eu"}, "dry_run": False, "drill": False}
    done = rb.as_("Bob").get(f"/incidents/{ref}/automation/runs/{run['id']}")
    assert (done["status"], done["http_status"]) == ("succeeded", 200)
    assert "secret internals" not in done["output"] and "secret internals" not in " ".join(automation_texts(rb, ref))


def test_a_webhook_without_a_signing_secret_is_refused(runbook):
    runbook.person("Ada", role="admin")
    runbook.person("Bob")
    runbook.as_("Ada").post("/automation/actions", slug="flush", name="Flush", kind="webhook",
                            url=runbook.receiver.url())
    ref = incident(runbook)
    run = ask(runbook, "Bob", ref, action="flush")
    runbook.tick()
    done = runbook.as_("Bob").get(f"/incidents/{ref}/automation/runs/{run['id']}")
    assert done["status"] == "refused" and "TOCSIN_AUTOMATION_SIGNING_SECRET" in done["output"]
    assert runbook.webhook_posts() == []


def test_a_webhook_to_the_metadata_service_is_stopped_by_the_egress_guard(rb):
    """Even an action stored around the API's check (an older row, a restored backup) cannot reach it."""
    from tocsin.automation.models import ApprovedAction

    with rb.db.unit_of_work() as s:
        s.add(ApprovedAction(slug="meta", name="Metadata", description="", kind="webhook",
                             url="http://169.254.169.254/latest/meta-data/", params_schema=[], requires_approval=False,
                             timeout_s=5, enabled=True, created_at=rb.now, updated_at=rb.now))
    ref = incident(rb)
    run = ask(rb, "Bob", ref, action="meta")
    rb.tick()
    done = rb.as_("Bob").get(f"/incidents/{ref}/automation/runs/{run['id']}")
    assert done["status"] == "refused" and "blocked by the egress guard" in done["output"]
    assert done["http_status"] is None
