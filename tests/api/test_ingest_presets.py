"""Generic integrations set up from a preset take their sender's payload over HTTP, and AWS SNS
subscriptions are confirmed only at SNS's own address."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.api.test_ingest import create_integration, list_alerts, stored
from tocsin.inbound.presets import PRESETS
from tocsin.ingest import sns
from tocsin.net.policy import user_policy

FIXTURES = Path(__file__).parent.parent / "fixtures" / "presets"
SUBSCRIBE = ("https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:"
             "123456789012:MyTopic&Token=2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a")

@pytest.fixture
def admin(make_person):
    return make_person("admin", name="Ada")



def test_each_preset_turns_its_senders_sample_into_an_alert(client, admin, make_service):
    make_service("checkout")
    for name in PRESETS:
        integ = create_integration(client, admin, "generic", preset=name)
        body = (FIXTURES / f"{name}.json").read_bytes()
        # SNS posts text/plain; the others JSON: the body is what counts
        r = client.post(f"/integrations/generic/{integ['key']}", content=body,
                        headers={"Content-Type": "text/plain; charset=UTF-8" if name == "aws-sns" else
                                 "application/json"})
        assert r.status_code == 202, (name, r.text)
    alerts = list_alerts(client, admin, limit=50)
    summaries = {a["summary"] for a in alerts}
    assert {"HighCPU", "CPU usage high", "ReferenceError: heck is not defined", "Slow checkout requests"} <= summaries
    # Microsoft's sample is a resolve of an alert tocsin never saw: accepted, nothing to resolve
    assert len(alerts) == len(PRESETS) - 1


def test_sns_subscription_is_confirmed_after_storing_and_bad_addresses_refused(app, client, db, admin, make_service):
    make_service("checkout")
    visited: list[str] = []
    app.state.ingest.confirm = visited.append
    key = create_integration(client, admin, "generic", preset="aws-sns")["key"]
    confirmation = {"Type": "SubscriptionConfirmation", "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
                    "Token": "2336412f37", "TopicArn": "arn:aws:sns:us-west-2:123456789012:MyTopic",
                    "Message": "You have chosen to subscribe to the topic ...", "SubscribeURL": SUBSCRIBE,
                    "Timestamp": "2012-04-26T20:45:04.751Z", "SignatureVersion": "1", "Signature": "EXAMPLE",
                    "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ec.pem"}
    before = stored(db)
    r = client.post(f"/integrations/generic/{key}", content=json.dumps(confirmation))
    assert r.status_code == 202 and r.json()["events"] == 0
    assert visited == [SUBSCRIBE]

    r = client.post(f"/integrations/generic/{key}",
                    content=json.dumps({**confirmation, "SubscribeURL": "https://attacker.example/?Action=ConfirmSubscription"}))
    assert r.status_code == 400 and "Amazon SNS endpoint" in r.text
    assert visited == [SUBSCRIBE] and stored(db) == before  # nothing visited, nothing stored


def test_sns_visit_goes_through_the_egress_guard():
    # A SubscribeURL that resolves to an internal address is refused by the guard, not fetched.
    class Settings:
        outbound_allow = ""

    assert sns.visit("https://127.0.0.1/?Action=ConfirmSubscription", user_policy(Settings())) is None


@pytest.mark.both_backends  # PostgreSQL is the one that cannot store NUL
def test_what_parse_json_unpacks_is_cleaned_and_depth_checked(client, db, admin, make_service):
    # the body is cleaned of NUL and lone surrogates (unstorable) and depth-checked before mapping; a JSON
    # string inside it, unpacked by parse_json, was not: the SNS preset took its summary from there
    make_service("checkout")
    key = create_integration(client, admin, "generic", preset="aws-sns")["key"]
    message = '{"AlarmName": "disk \\u0000full \\ud800", "NewStateValue": "ALARM", "AlarmArn": "arn:1"}'
    r = client.post(f"/integrations/generic/{key}", content=json.dumps({"Type": "Notification", "Message": message}))
    assert r.status_code == 202, r.text
    (alert,) = list_alerts(client, admin)
    assert alert["summary"] == "disk \ufffdfull \ufffd"
    # an admin's `alerts` expression over parse_json: a sender nests 500 deep, inside a 7-character field
    deep = create_integration(client, admin, "generic", mapping={"engine": "jmespath", "summary": "'x'", "alerts": "parse_json(m)"})["key"]
    r = client.post(f"/integrations/generic/{deep}", content=json.dumps({"m": "[" * 500 + "]" * 500}))
    assert r.status_code == 400 and "deeper than" in r.text


def test_sns_visits_are_bounded_however_many_confirmations_arrive():
    # each confirmation used to start its own thread, waiting up to 10 s on the network: a flood of them
    # (from anyone with the integration's URL) was a flood of threads
    import threading
    release, started = threading.Event(), []
    lock = threading.Lock()

    def slow_visit(url, policy):
        with lock:
            started.append(url)
        release.wait(5)

    confirm = sns.background_confirm(user_policy(type("S", (), {"outbound_allow": ""})()), visit=slow_visit)
    before = threading.active_count()
    for n in range(50):
        confirm(f"{SUBSCRIBE}&n={n}")
    assert threading.active_count() - before <= sns.MAX_IN_FLIGHT
    release.set()
    for t in [t for t in threading.enumerate() if t.name == "tocsin-sns-confirm"]:
        t.join(5)
    assert len(started) == sns.MAX_IN_FLIGHT
    confirm(SUBSCRIBE)  # the slots are free again
    for t in [t for t in threading.enumerate() if t.name == "tocsin-sns-confirm"]:
        t.join(5)
    assert started[-1] == SUBSCRIBE
