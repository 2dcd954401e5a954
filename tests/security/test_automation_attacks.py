"""Approved actions under attack (issue 19): what a second person approved is what runs, a disabled
action runs no more, an admin-only webhook URL (which may carry a token) is never shown to responders
through a run's output or the timeline, a parameter cannot smuggle an option into an allow-listed
command, and a command leaves nothing running behind it.

Ada is the admin who defines actions; Bob asks for runs; Cy approves; Dee is a viewer.
"""

from __future__ import annotations

import os
import time
import uuid

import orjson
import pytest

SECRET = "automation-signing-secret"
TOKEN = "tok3n-s3cret-in-the-url"


@pytest.fixture
def rb(runbook, tmp_path):
    allow = tmp_path / "commands.yaml"
    pidfile = tmp_path / "child.pid"
    allow.write_text('echo: ["/bin/echo", "restarting", "{host}"]\n'
                     'other: ["/bin/echo", "other", "{host}"]\n'
                     f'spawn: ["/bin/sh", "-c", "sleep 60 & echo $! > {pidfile}; echo started"]\n')
    runbook.configure(automation_commands=allow, automation_signing_secret=SECRET)
    runbook.person("Ada", role="admin")
    runbook.person("Bob")
    runbook.person("Cy")
    runbook.person("Dee", role="viewer")
    runbook.pidfile = pidfile
    return runbook


HOST = [{"name": "host", "type": "string", "required": True}]


def incident(rb):
    return rb.as_("Bob").post("/incidents", title="Checkout errors", severity="SEV2")["ref"]


def ask(rb, who, ref, expect=201, **body):
    r = rb.http.post(f"/api/v1/incidents/{ref}/automation/runs", json=body, headers=rb.people[who].headers)
    assert r.status_code == expect, r.text
    return r.json()


def run_of(rb, ref, run_id, who="Bob"):
    return rb.as_(who).get(f"/incidents/{ref}/automation/runs/{run_id}")


def texts(rb, ref):
    iid = rb.as_("Bob").get(f"/incidents/{ref}")["id"]
    return [e.text for e in rb.timeline(uuid.UUID(iid), "automation")]


# --- what was approved is what runs -----------------------------------------------------------------

def test_a_run_waiting_for_approval_cannot_be_approved_once_its_action_is_disabled(rb):
    rb.as_("Ada").post("/automation/actions", slug="restart", name="Restart", kind="command", command="echo",
                       requires_approval=True, params_schema=HOST)
    ref = incident(rb)
    run = ask(rb, "Bob", ref, action="restart", params={"host": "web-1"})
    rb.clock.advance(seconds=5)
    rb.as_("Ada").patch("/automation/actions/restart", enabled=False)  # the kill switch
    rb.clock.advance(seconds=5)
    r = rb.http.post(f"/api/v1/incidents/{ref}/automation/runs/{run['id']}/approve", headers=rb.people["Cy"].headers)
    assert r.status_code == 409, r.text
    rb.tick()
    assert run_of(rb, ref, run["id"])["status"] in ("requested", "refused")
    assert not any(t.startswith("Approved action started") for t in texts(rb, ref))


def test_an_approved_run_does_not_run_after_its_action_is_disabled(rb):
    rb.as_("Ada").post("/automation/actions", slug="restart", name="Restart", kind="command", command="echo",
                       params_schema=HOST)
    ref = incident(rb)
    run = ask(rb, "Bob", ref, action="restart", params={"host": "web-1"})
    assert run["status"] == "approved"
    rb.clock.advance(seconds=5)
    rb.as_("Ada").patch("/automation/actions/restart", enabled=False)
    rb.tick()
    done = run_of(rb, ref, run["id"])
    assert done["status"] == "refused" and done["exit_status"] is None, done
    assert "disabled" in done["output"]


def test_an_action_changed_after_the_request_is_not_what_runs(rb):
    """Cy approved "echo restarting web-1"; an edit to the action in between must not swap in another command
    (or webhook URL) under that approval."""
    rb.as_("Ada").post("/automation/actions", slug="restart", name="Restart", kind="command", command="echo",
                       requires_approval=True, params_schema=HOST)
    ref = incident(rb)
    run = ask(rb, "Bob", ref, action="restart", params={"host": "web-1"})
    rb.clock.advance(seconds=5)
    rb.as_("Cy").post(f"/incidents/{ref}/automation/runs/{run['id']}/approve", 200)
    rb.clock.advance(seconds=5)
    rb.as_("Ada").patch("/automation/actions/restart", command="other")
    rb.tick()
    done = run_of(rb, ref, run["id"])
    assert done["status"] == "refused" and "other web-1" not in done["output"], done
    assert "changed" in done["output"]

    # and a waiting run whose action changed cannot be approved under the old request
    second = ask(rb, "Bob", ref, action="restart", params={"host": "web-2"})
    rb.clock.advance(seconds=5)
    rb.as_("Ada").patch("/automation/actions/restart", command="echo")
    r = rb.http.post(f"/api/v1/incidents/{ref}/automation/runs/{second['id']}/approve",
                     headers=rb.people["Cy"].headers)
    assert r.status_code == 409 and "changed" in r.json()["error"]["message"], r.text


# --- the admin-only webhook URL ---------------------------------------------------------------------

def test_a_webhook_url_never_reaches_responders_through_a_run_or_the_timeline(rb):
    url = f"{rb.receiver.url()}/hooks/{TOKEN}?key={TOKEN}"
    rb.as_("Ada").post("/automation/actions", slug="flush", name="Flush CDN", kind="webhook", url=url)
    assert rb.as_("Bob").get("/automation/actions/flush")["url"] is None  # hidden from responders...
    ref = incident(rb)
    real = ask(rb, "Bob", ref, action="flush")
    dry = ask(rb, "Bob", ref, action="flush", dry_run=True)
    rb.tick()
    assert len(rb.webhook_posts()) == 1
    for who in ("Bob", "Dee"):  # ...and from their runs, whether real or dry
        for run in (real, dry):
            done = run_of(rb, ref, run["id"], who)
            assert done["status"] == "succeeded", done
            assert TOKEN not in done["output"], done["output"]
        listed = rb.as_(who).get(f"/incidents/{ref}/automation/runs")["items"]
        assert TOKEN not in str(listed)
        timeline = rb.as_(who).get(f"/incidents/{ref}/timeline")["items"]
        assert TOKEN not in str(timeline)
    assert TOKEN not in " ".join(texts(rb, ref))


# --- argv tricks ------------------------------------------------------------------------------------

def test_a_parameter_cannot_be_an_option_to_the_allow_listed_program(rb):
    """`{host}` stays one argv item, but an item that starts with "-" is an option to most programs
    (curl -o, rsync -e, find -exec ...): a free-text value may not start with one."""
    rb.as_("Ada").post("/automation/actions", slug="restart", name="Restart", kind="command", command="echo",
                       params_schema=HOST)
    ref = incident(rb)
    for hostile in ("-e", "--output=/etc/passwd", "-n"):
        r = rb.http.post(f"/api/v1/incidents/{ref}/automation/runs", json={"action": "restart",
                         "params": {"host": hostile}}, headers=rb.people["Bob"].headers)
        assert r.status_code == 422, (hostile, r.text)
        assert r.json()["error"]["details"]["field"] == "params.host"
    ok = ask(rb, "Bob", ref, action="restart", params={"host": "web-1"})
    assert ok["status"] == "approved"


def test_an_admin_may_allow_a_leading_dash_with_a_pattern(rb):
    rb.as_("Ada").post("/automation/actions", slug="restart", name="Restart", kind="command", command="echo",
                       params_schema=[{"name": "host", "type": "string", "required": True, "pattern": "-[a-z]"}])
    ref = incident(rb)
    assert ask(rb, "Bob", ref, action="restart", params={"host": "-x"})["status"] == "approved"


# --- nothing left running ---------------------------------------------------------------------------

def test_a_command_leaves_no_process_running_behind_it(rb):
    """The program exits at once but leaves a child in its process group: the run is over, so is the child
    (else anything the command forks outlives every timeout)."""
    rb.as_("Ada").post("/automation/actions", slug="spawn", name="Spawn", kind="command", command="spawn",
                       timeout_s=5)
    ref = incident(rb)
    run = ask(rb, "Bob", ref, action="spawn")
    rb.tick()
    done = run_of(rb, ref, run["id"])
    assert done["status"] == "succeeded", done
    pid = int(rb.pidfile.read_text().strip())
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        with open(f"/proc/{pid}/stat") as f:  # a zombie waiting for its reaper counts as gone
            if f.read().split(") ", 1)[1].startswith("Z"):
                break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        pytest.fail(f"the command's child {pid} is still running after the run finished")


# --- drills -----------------------------------------------------------------------------------------

def test_a_drill_incidents_action_tells_its_receiver_it_is_a_drill(rb, tmp_path):
    """Drills are marked everywhere (docs/exercises.md): a webhook action's payload says `drill`, and a
    command gets TOCSIN_DRILL, so an automation receiver can keep a game day off production."""
    rb.as_("Ada").post("/automation/actions", slug="flush", name="Flush CDN", kind="webhook", url=rb.receiver.url())
    drill = rb.as_("Bob").post("/incidents", title="Game day", severity="SEV2", drill=True)
    assert drill["drill"] is True
    ask(rb, "Bob", drill["ref"], action="flush")
    real = incident(rb)
    ask(rb, "Bob", real, action="flush")
    rb.tick()
    bodies = [orjson.loads(p.body) for p in rb.webhook_posts()]
    assert sorted((b["incident"], b["drill"]) for b in bodies) == sorted([(drill["ref"], True), (real, False)])


def test_a_drill_incidents_command_gets_tocsin_drill_and_no_other_environment(runbook, tmp_path):
    allow = tmp_path / "commands.yaml"
    allow.write_text('env: ["/usr/bin/env"]\n')
    runbook.configure(automation_commands=allow)
    runbook.person("Ada", role="admin")
    runbook.person("Bob")
    os.environ["TOCSIN_ATTACK2_CANARY"] = "must-not-leak"
    try:
        runbook.as_("Ada").post("/automation/actions", slug="env", name="Env", kind="command", command="env")
        ref = runbook.as_("Bob").post("/incidents", title="Game day", severity="SEV2", drill=True)["ref"]
        run = ask(runbook, "Bob", ref, action="env")
        runbook.tick()
    finally:
        del os.environ["TOCSIN_ATTACK2_CANARY"]
    out = run_of(runbook, ref, run["id"])["output"]
    assert "TOCSIN_DRILL=true" in out and f"TOCSIN_INCIDENT={ref}" in out
    assert "must-not-leak" not in out and "SECRET" not in out


# --- SSRF: held (regression) ------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://167772161/", "http://0xa.1/", "http://[::ffff:10.0.0.1]/",
                                 "http://[fd00::1]/", "http://169.254.169.254/", "http://[64:ff9b::a9fe:a9fe]/",
                                 "http://012.0.0.1/", "http://[2002:a00:1::]/", "file:///etc/passwd",
                                 "gopher://10.0.0.1:6379/_PING"])
def test_an_internal_webhook_url_is_refused_when_saved(runbook, url):
    """(The test settings open loopback for the harness's receiver, so internal means 10/8 and the like.)"""
    runbook.person("Ada", role="admin")
    r = runbook.http.post("/api/v1/automation/actions", json={"slug": "x", "name": "x", "kind": "webhook", "url": url},
                          headers=runbook.people["Ada"].headers)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "url", (url, r.text)
    r = runbook.http.post("/api/v1/automation/actions", json={"slug": "x", "name": "x", "kind": "webhook",
                                                              "url": "https://hooks.example/x"},
                          headers=runbook.people["Ada"].headers)
    assert r.status_code == 201
    r = runbook.http.patch("/api/v1/automation/actions/x", json={"url": url}, headers=runbook.people["Ada"].headers)
    assert r.status_code == 422, (url, r.text)


def test_saving_an_action_unchanged_keeps_its_waiting_runs(rb):
    rb.as_("Ada").post("/automation/actions", slug="restart", name="Restart", kind="command", command="echo",
                       requires_approval=True, params_schema=HOST)
    ref = incident(rb)
    run = ask(rb, "Bob", ref, action="restart", params={"host": "web-1"})
    rb.clock.advance(seconds=5)
    rb.as_("Ada").patch("/automation/actions/restart", command="echo", timeout_s=60)  # what it was
    rb.as_("Cy").post(f"/incidents/{ref}/automation/runs/{run['id']}/approve", 200)
    rb.tick()
    assert run_of(rb, ref, run["id"])["status"] == "succeeded"


@pytest.mark.both_backends  # PostgreSQL above all
def test_a_command_printing_nul_bytes_still_records_its_result(runbook, tmp_path):
    """Binary output (find -print0, a stray NUL): PostgreSQL's text refuses NUL, and a result that cannot
    be written would leave the run `running` for an hour."""
    allow = tmp_path / "commands.yaml"
    allow.write_text('nul: ["/usr/bin/printf", "a\\\\000b\\\\n"]\n')
    runbook.configure(automation_commands=allow)
    runbook.person("Ada", role="admin")
    runbook.person("Bob")
    runbook.as_("Ada").post("/automation/actions", slug="nul", name="Nul", kind="command", command="nul")
    ref = incident(runbook)
    run = ask(runbook, "Bob", ref, action="nul")
    runbook.tick()
    done = run_of(runbook, ref, run["id"])
    assert done["status"] == "succeeded" and done["exit_status"] == 0, done
    assert "\x00" not in done["output"] and done["output"].startswith("a") and done["output"].rstrip().endswith("b")
