"""Exercises under attack (issue 19): a scenario, its drill key and its auto-incident rule must not
reach real alerts or real people, a scenario file must not take the server down (YAML bombs, deep
nesting, absurd durations), and a participant must not earn points for steps nobody did.

Bob takes part in the exercise; Oscar is on call for the real checkout service."""

from __future__ import annotations

import pytest

SCENARIO = """
name: Probe
kind: operational
severity: SEV1
service: drill-db
participants:
  - {email: BOB, role: incident_commander}
injects:
  - {at: 0s, type: alert, summary: "db is down", severity: critical, dedup_key: db-down}
  - {at: 2m, type: customer_report, text: "Orders fail"}
expect:
  - {type: acknowledged, within: WITHIN}
  - {type: step, step: revoke, within: 10m}
"""


@pytest.fixture
def rb(runbook):
    runbook.person("Alice Admin", role="admin")
    runbook.person("Bob")
    runbook.person("Oscar")
    runbook.service("checkout", tier=1, paging_unit="alert")
    runbook.policy((5, ["Oscar"]), service="checkout")
    return runbook


def _yaml(rb, within: str = "3m") -> str:
    return SCENARIO.replace("BOB", rb.people["Bob"].email).replace("WITHIN", within)


def test_the_exercise_auto_incident_rule_never_declares_for_a_real_alert(rb):
    """The exercise's rule matches `service=<drill slug>`, and an alert's own labels win over the
    service label: a real alert carrying that label (anyone with a real integration key can send one)
    must not become a real incident by the exercise's rule."""
    from tocsin.inbound.types import Action, AlertSeverity, Event

    alice = rb.as_("Alice Admin")
    run = alice.post("/exercises", scenario=_yaml(rb))
    real = Event(action=Action.trigger, dedup_key="real-1", summary="checkout errors", severity=AlertSeverity.critical,
                 source="prometheus", labels={"service": run["service"]})
    (out,) = rb.ingest(real, service="checkout")
    rb.tick()
    assert alice.get(f"/alerts/{out.alert_id}").get("incident") is None
    assert alice.get("/incidents")["items"] == []
    # the drill's own alert still declares the drill incident
    rb.ingest(rb.event("db-down", summary="db is down"), service=run["service"])
    (inc,) = alice.get("/incidents")["items"]
    assert inc["drill"] is True


BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
"""


@pytest.mark.parametrize("text", [
    pytest.param(BOMB + "name: *g\n", id="alias bomb in a field the schema reports"),
    pytest.param(SCENARIO.replace("BOB", "bob@example.com").replace("WITHIN", "3m").replace("expect:", (
        "  - at: 1m\n    type: fault_webhook\n    url: https://chaos.example/fault\n    body:\n"
        + "".join(f"      {line}\n" for line in BOMB.splitlines()) + "      k: *g\nexpect:")),
        id="alias bomb in a fault webhook's body (valid: expanded by the JSON of the POST)"),
    pytest.param("name: " + "[" * 20_000 + "]" * 20_000 + "\n", id="deep nesting"),
    pytest.param("description: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n", id="deep mappings"),
])
def test_a_hostile_scenario_is_a_clear_422_not_a_blowup(text):
    """A scenario is a file people share: a billion-laughs alias bomb (small as YAML, millions of items
    once expanded by the schema's error message or the fault webhook's JSON body) or
    deep nesting (PyYAML's composer recurses) must be refused, quickly and in few bytes."""
    from tocsin.errors import InvalidInput
    from tocsin.exercises.scenario import parse

    with pytest.raises(InvalidInput) as caught:
        parse(text)
    assert len(str(caught.value.details)) < 10_000


@pytest.mark.parametrize("field", ["within", "at"])
def test_an_absurd_duration_is_a_422_and_never_breaks_the_exercise_list(rb, field):
    """`99999999999999999h` overflowed timedelta (a 500); `999999999h` parsed, but its deadline is past
    the year 9999, so every read of the run (the list every responder opens) answered 500."""
    alice = rb.as_("Alice Admin")
    for huge in ("99999999999999999h", "999999999h"):
        text = _yaml(rb) if field == "within" else _yaml(rb).replace("at: 2m,", f"at: {huge},")
        if field == "within":
            text = _yaml(rb, within=huge)
        refused = alice.post("/exercises", 422, scenario=text)
        assert "duration" in refused["error"]["message"]
    rb.as_("Bob").get("/exercises")


def test_a_participant_does_not_score_a_step_by_naming_it_done(rb):
    """The `step` expectation counted any checklist or runbook entry whose text said "step done": Bob
    adds a step titled "Step done: revoke the key" (or writes it in a note on a skipped runbook step)
    and is scored for revoking a key nobody revoked. Only a step marked done counts."""
    alice, bob = rb.as_("Alice Admin"), rb.as_("Bob")
    run = alice.post("/exercises", scenario=_yaml(rb).replace("kind: operational", "kind: security"))
    rb.ingest(rb.event("db-down", summary="db is down"), service=run["service"])
    ref = alice.get(f"/exercises/{run['id']}")["incident"]["ref"]
    step = bob.post(f"/incidents/{ref}/checklist/steps", kind="contain", title="Step done: revoke the key")
    rb.clock.advance(minutes=1)
    (result,) = [r for r in alice.get(f"/exercises/{run['id']}/score")["results"] if "step done" in r["description"]]
    assert result["status"] == "pending" and result["met_at"] is None
    bob.post(f"/incidents/{ref}/checklist/steps/{step['id']}/done", 200)
    (result,) = [r for r in alice.get(f"/exercises/{run['id']}/score")["results"] if "step done" in r["description"]]
    assert result["status"] == "met"


def test_an_exercise_never_pages_a_guest_nor_takes_a_role_the_schema_refuses(rb):
    """Guests (an outside IR firm, counsel) are never paged, but an exercise put any active user on its
    drill policy, guests included; and the API's and console's participants override skipped the
    schema's role list (any string became a bench credit's role)."""
    from tocsin.users.service import create_user

    with rb.db.unit_of_work() as s:
        create_user(s, actor=rb.principal("Alice Admin"), now=rb.now, email="ivy@firm.example", name="Ivy IR",
                    org_role="guest", guest=True)
    alice, bob = rb.as_("Alice Admin"), rb.people["Bob"].email
    refused = alice.post("/exercises", 422, scenario=_yaml(rb).replace(bob, "ivy@firm.example"))
    assert "ivy@firm.example" in refused["error"]["message"]
    alice.post("/exercises", 422, scenario=_yaml(rb), participants=[{"email": "ivy@firm.example"}])
    refused = alice.post("/exercises", 422, scenario=_yaml(rb), participants=[{"email": bob, "role": "<b>boss</b>"}])
    assert refused["error"]["details"]["field"] == "participants[0].role"
    assert alice.get("/exercises")["items"] == []


def _with_fault(rb, url: str) -> str:
    return _yaml(rb).replace("expect:", f"  - {{at: 1m, type: fault_webhook, url: '{url}', body: {{x: 1}}}}\nexpect:")


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://0xa9fea9fe/latest/",
                                 "http://[::ffff:10.0.0.1]/", "http://[fd00::1]:8080/"])
def test_a_fault_webhook_to_a_literal_internal_address_is_refused_when_the_scenario_is_started(rb, url):
    """As for every destination a user chooses (docs/security.md): a literal internal address (metadata, private,
    unique-local; the harness opens loopback for its receivers) is a 422
    when it is saved, not a surprise when the inject fires in the middle of a game day."""
    refused = rb.as_("Alice Admin").post("/exercises", 422, scenario=_with_fault(rb, url))
    assert "egress" in refused["error"]["message"]


def test_firing_an_inject_is_audited(rb):
    """An inject can POST to an outside system (the fault webhook), vacate the Incident Commander or
    page the participants: each firing is in the audit log, by whom and which."""
    from tocsin.audit.models import AuditEntry

    alice = rb.as_("Alice Admin")
    run = alice.post("/exercises", scenario=_with_fault(rb, "https://chaos.invalid/fault"))
    for n in range(3):
        alice.post(f"/exercises/{run['id']}/injects/{n}", 200)
    entries = rb.rows(AuditEntry, AuditEntry.action == "exercise.inject")
    assert sorted(e.details["inject"] for e in entries) == [0, 1, 2]
    assert {e.details["type"] for e in entries} == {"alert", "customer_report", "fault_webhook"}


def test_reading_the_runs_does_not_parse_every_scenario_again_and_again(rb, monkeypatch):
    """A scenario is up to 100,000 characters (~0.15 s to parse and check); the run list, which any
    responder opens, parsed each of up to 100 runs' scenarios twice per request (half a minute of CPU)."""
    import yaml

    from tocsin.exercises import scenario

    alice = rb.as_("Alice Admin")
    for _ in range(3):
        alice.post("/exercises", scenario=_yaml(rb))
    loads = []
    real = yaml.load

    def counting(*args, **kwargs):
        loads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(scenario.yaml, "load", counting)
    rb.as_("Bob").get("/exercises")
    rb.as_("Bob").get("/exercises")
    assert len(loads) <= 1
