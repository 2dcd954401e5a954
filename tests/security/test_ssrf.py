"""SSRF probes: every outbound path a user (or an admin, through the API) can point somewhere.

Each probe aims at an address that the default egress policy refuses (loopback, private, CGNAT,
unique-local, link-local and metadata, in every spelling a URL parser or resolver accepts) while a
real receiver listens on loopback; the probe must be refused with a clear 4xx when it is created,
or fail with tocsin's own short reason when it is sent, and the receiver must have received
nothing. Settings here never allow loopback (the rest of the suite does, for its fakes), except
where a test says so to show that a remote's answer is not echoed.
"""

from __future__ import annotations

import http.server
import socket
import uuid
from datetime import UTC, datetime

import pytest

from tests.harness.webhook import LocalServer
from tocsin.actions import sync
from tocsin.checks.probe import CheckSpec, run_probe
from tocsin.clock import ManualClock
from tocsin.config import Settings
from tocsin.net.http import make_client
from tocsin.net.policy import check_policy
from tocsin.notify.dispatch import Dispatcher
from tocsin.notify.webhook import post_json

ME = "/api/v1/users/me"
SP = "/api/v1/status-pages"
CHECKS = "/api/v1/checks"

# Hosts that must never be reached by default, each spelled as an attacker would: loopback,
# private, CGNAT, unique-local, link-local and metadata, IPv6-mapped, decimal, hex, octal, short,
# and names that are always inward. (URL form: IPv6 in brackets.)
INWARD = [
    "127.0.0.1",
    "[::1]",
    "10.0.0.5",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "[fd00::1]",
    "169.254.169.254",
    "169.254.1.1",
    "[::ffff:127.0.0.1]",
    "[::ffff:a9fe:a9fe]",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "127.1",
    "localhost",
    "app.localhost",
    "metadata.google.internal",
]
SECRET_BODY = b"internal-secret-7f3a9c: root:x:0:0"


def strict(app, **extra):
    """The app's settings as production has them: nothing private allowed (unless `extra` says so)."""
    app.state.settings = Settings(**{"secret_key": "test-secret", "outbound_allow": "", **extra})
    return app


def add_method(client, person, type_, address):
    return client.post(f"{ME}/contact-methods", json={"type": type_, "address": address}, headers=person.headers)


# --- item 1: a viewer's webhook aimed at loopback, and its answer read back through send-code -----

def test_a_viewers_webhook_at_loopback_is_refused_and_nothing_is_sent(app, client, make_person, receiver):
    strict(app)
    viewer = make_person("viewer")
    r = add_method(client, viewer, "webhook", receiver.url())
    assert r.status_code == 422, r.text
    assert "loopback" in r.json()["error"]["message"]
    assert receiver.posts == [] and receiver.connections == 0


def test_send_code_never_echoes_the_receivers_answer(app, client, make_person, receiver):
    # Even where an operator has opened loopback on purpose, the caller learns the status, not the body.
    app.state.settings = Settings(secret_key="test-secret", outbound_allow="127.0.0.1/32")
    receiver.status, receiver.reply_body = 403, SECRET_BODY
    receiver.reply_headers = {"Location": "http://internal-secret-7f3a9c/"}
    viewer = make_person("viewer")
    method = add_method(client, viewer, "webhook", receiver.url()).json()
    r = client.post(f"/api/v1/contact-methods/{method['id']}/send-code", headers=viewer.headers)
    assert r.status_code == 200, r.text
    assert len(receiver.posts) == 1
    assert r.json()["sent"] is False
    assert "403" in r.json()["detail"]
    assert "internal-secret" not in r.text


# --- every URL a user or admin can give, refused when it is created --------------------------------

@pytest.mark.parametrize("type_, template", [
    ("webhook", "http://{host}:{port}/hooks/tocsin"),
    ("slack", "https://{host}:{port}/services/T000/B000/XXXX"),
    ("teams", "https://{host}:{port}/workflows/x/triggers/manual/paths/invoke?sig=s"),
    ("apprise", "json://{host}:{port}/hook"),
])
def test_contact_method_urls_aimed_inward_are_refused(app, client, make_person, receiver, type_, template):
    strict(app)
    alice = make_person("responder")
    for host in INWARD:
        r = add_method(client, alice, type_, template.format(host=host, port=receiver.port))
        assert r.status_code == 422, (host, r.text)
        assert r.json()["error"]["details"]["field"] == "address"
    assert client.get(f"{ME}/contact-methods", headers=alice.headers).json()["items"] == []
    assert receiver.connections == 0


# IPv6 forms that reach an internal IPv4 address (or an internal network) through a translator or
# tunnel: 6to4 (2002::/16), SIIT's IPv4-translated ::ffff:0:a.b.c.d, RFC 8215 local-use NAT64
# (64:ff9b:1::/48, whose translator sits in the operator's own network), and site-local fec0::/10.
TRANSLATED = ["[2002:7f00:1::]", "[2002:a00:5::1]", "[::ffff:0:127.0.0.1]", "[::ffff:0:a9fe:a9fe]",
              "[64:ff9b:1::a00:5]", "[64:ff9b:1:7f00:0:100::]", "[fec0::1]"]


@pytest.mark.parametrize("host", TRANSLATED)
def test_ipv6_forms_translated_to_internal_addresses_are_refused(app, client, make_person, receiver, host):
    strict(app)
    alice = make_person("responder")
    r = add_method(client, alice, "webhook", f"http://{host}:{receiver.port}/hooks/tocsin")
    assert r.status_code == 422, (host, r.text)
    assert r.json()["error"]["details"]["field"] == "address"


@pytest.mark.parametrize("url", [
    "mailto://user:pass@example.com?smtp={host}",  # item 4: smtp= sends the connection anywhere
    "mailtos://user:pass@{host}",
    "matrix://user:pass@example.com/#room",  # .well-known discovery picks the server
    "zulip://bot@example.com/token",
    "dbus://",
    "windows://",
])
def test_apprise_schemes_whose_targets_cannot_be_checked_are_refused(app, client, make_person, receiver, url):
    strict(app, outbound_allow="0.0.0.0/0")  # even with every range opened: the scheme is the problem
    alice = make_person("responder")
    r = add_method(client, alice, "apprise", url.format(host="127.0.0.1"))
    assert r.status_code == 422, r.text
    assert "not an Apprise service tocsin can check" in r.json()["error"]["message"]
    assert receiver.connections == 0


def test_status_page_webhooks_aimed_inward_are_refused(app, client, make_person, receiver):
    strict(app)
    admin = make_person("admin")
    assert client.post(SP, json={"slug": "acme", "name": "Acme"}, headers=admin.headers).status_code == 201
    for host in INWARD:
        r = client.post(f"{SP}/acme/webhooks", json={"url": f"http://{host}:{receiver.port}/status"},
                        headers=admin.headers)
        assert r.status_code == 422, (host, r.text)
        assert "egress policy" in r.json()["error"]["message"]
    assert client.get(f"{SP}/acme/subscribers", headers=admin.headers).json()["items"] == []
    assert receiver.connections == 0


@pytest.mark.parametrize("kind, template", [("http", "http://{host}:{port}/health"), ("tcp", "{host}:{port}")])
def test_checks_aimed_inward_are_refused(app, client, make_person, make_service, receiver, kind, template):
    strict(app)
    make_service("web")
    admin = make_person("admin")
    for host in INWARD:
        body = {"service": "web", "name": "probe", "kind": kind, "interval_seconds": 60, "timeout_seconds": 5,
                "target": template.format(host=host, port=receiver.port)}
        r = client.post(CHECKS, json=body, headers=admin.headers)
        assert r.status_code == 422, (host, r.text)
        assert r.json()["error"]["details"]["field"] == "target"
    assert client.get(CHECKS, headers=admin.headers).json()["items"] == []
    assert receiver.connections == 0


def test_check_allow_opens_ranges_for_checks_only(app, client, make_person, make_service, receiver):
    strict(app, check_allow="127.0.0.1/32")
    make_service("web")
    admin = make_person("admin")
    body = {"service": "web", "name": "internal", "kind": "http", "target": f"http://127.0.0.1:{receiver.port}/",
            "interval_seconds": 60, "timeout_seconds": 5}
    assert client.post(CHECKS, json=body, headers=admin.headers).status_code == 201
    assert add_method(client, admin, "webhook", receiver.url()).status_code == 422
    assert client.post(SP, json={"slug": "acme", "name": "Acme"}, headers=admin.headers).status_code == 201
    assert client.post(f"{SP}/acme/webhooks", json={"url": receiver.url()}, headers=admin.headers).status_code == 422
    # the metadata address stays refused, however wide the allowance
    body["target"] = "http://169.254.169.254/latest/meta-data/"
    assert client.post(CHECKS, json=body, headers=admin.headers).status_code == 422


def test_a_changed_check_target_is_judged_too(app, client, make_person, make_service, receiver):
    strict(app)
    make_service("web")
    admin = make_person("admin")
    body = {"service": "web", "name": "site", "kind": "http", "target": "https://example.test/",
            "interval_seconds": 60, "timeout_seconds": 5}
    check = client.post(CHECKS, json=body, headers=admin.headers).json()
    r = client.patch(f"{CHECKS}/{check['id']}", json={"target": "http://0x7f000001/"}, headers=admin.headers)
    assert r.status_code == 422, r.text
    assert client.get(f"{CHECKS}/{check['id']}", headers=admin.headers).json()["target"] == "https://example.test/"


# --- names that resolve inward, and redirects: refused when the connection is made ----------------

@pytest.fixture
def inward_dns(monkeypatch):
    """inward.tocsin.test resolves to 127.0.0.1 (a name that passes creation and points inside)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "inward.tocsin.test":
            return real("127.0.0.1", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.parametrize("type_, template", [
    ("webhook", "http://inward.tocsin.test:{port}/hooks/tocsin"),
    ("slack", "http://inward.tocsin.test:{port}/services/T000/B000/XXXX"),
    ("apprise", "json://inward.tocsin.test:{port}/hook"),
])
def test_a_name_resolving_inward_is_refused_at_send(app, client, make_person, receiver, inward_dns, type_, template):
    strict(app)
    alice = make_person("responder")
    method = add_method(client, alice, type_, template.format(port=receiver.port))
    assert method.status_code == 201, method.text
    r = client.post(f"/api/v1/contact-methods/{method.json()['id']}/send-code", headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["sent"] is False
    assert "inward.tocsin.test resolves to 127.0.0.1, which is loopback" in r.json()["detail"]
    assert receiver.connections == 0 and receiver.posts == []


class _Redirect(http.server.BaseHTTPRequestHandler):
    """Answers everything with a 307 to `target` (a POST is re-sent as a POST after a 307)."""

    target = ""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(307)
        self.send_header("Location", self.target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def redirector(receiver):
    """An allowed fake (loopback opened for it) that redirects to the receiver, an internal address."""
    handler = type("ToReceiver", (_Redirect,), {"target": receiver.url()})
    with LocalServer(handler) as server:
        yield f"127.0.0.1:{server.port}"


@pytest.mark.parametrize("type_, template", [
    ("webhook", "http://{at}/hooks/tocsin"),
    ("slack", "http://{at}/services/T000/B000/XXXX"),
    ("apprise", "json://{at}/hook"),
])
def test_a_redirect_to_an_internal_address_is_not_followed(app, client, make_person, receiver, redirector, type_,
                                                          template):
    strict(app, outbound_allow="127.0.0.1/32")
    alice = make_person("responder")
    method = add_method(client, alice, type_, template.format(at=redirector)).json()
    r = client.post(f"/api/v1/contact-methods/{method['id']}/send-code", headers=alice.headers)
    assert r.json()["sent"] is False
    assert "307" in r.json()["detail"] and receiver.url() not in r.json()["detail"]
    assert receiver.posts == [] and receiver.connections == 0


def test_a_checks_redirect_is_not_followed(redirector, receiver):
    spec = CheckSpec(kind="http", target=f"http://{redirector}/health", expected_statuses="200-299", timeout_seconds=5)
    policy = check_policy(Settings(outbound_allow="", check_allow="127.0.0.1/32"))
    with make_client(policy, timeout=5) as http_client:
        result = run_probe(spec, client=http_client, policy=policy, clock=ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    assert result.status_code == 307 and not result.ok
    assert receiver.connections == 0


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "localhost", "inward.tocsin.test"])
def test_the_tracker_sync_url_is_refused_when_aimed_inward(receiver, inward_dns, host):
    dispatcher = Dispatcher(Settings(secret_key="test-secret", outbound_allow=""))
    try:
        outcome = sync.post(dispatcher.client(), f"http://{host}:{receiver.port}/sync", secret="s", row_id=uuid.uuid4(),
                            event=sync.CREATED, item={}, sent_at=datetime(2026, 1, 1, tzinfo=UTC))
    finally:
        dispatcher.close()
    assert not outcome.ok and not outcome.retryable
    assert "blocked by the egress policy" in outcome.detail
    assert receiver.connections == 0


@pytest.mark.parametrize("host", ["127.0.0.1", "0x7f000001", "inward.tocsin.test"])
def test_a_status_page_webhook_stored_before_the_rule_is_refused_at_send(receiver, inward_dns, host):
    # Rows stored before this release (or straight into the database) meet the same guard when sent.
    dispatcher = Dispatcher(Settings(secret_key="test-secret", outbound_allow=""))
    try:
        result = post_json(dispatcher.client(), f"http://{host}:{receiver.port}/status", "statuspage:1", {"x": 1},
                           "secret", now=datetime(2026, 1, 1, tzinfo=UTC))
    finally:
        dispatcher.close()
    assert result.outcome.value == "permanent" and "egress policy" in result.detail
    assert receiver.connections == 0


@pytest.mark.parametrize("name", ["outbound_allow", "check_allow"])
def test_a_bad_allowance_stops_tocsin_at_start_rather_than_opening_nothing_silently(name):
    with pytest.raises(ValueError, match="bad CIDR '10.0.0.1/8'"):
        Settings(**{name: "127.0.0.1/32, 10.0.0.1/8"})
    assert getattr(Settings(**{name: " 10.0.0.0/8 , ,::1/128"}), name) == "10.0.0.0/8,::1/128"


# --- never the remote's answer ------------------------------------------------------------------------

@pytest.mark.parametrize("type_, template", [
    ("webhook", "http://127.0.0.1:{port}/hooks/tocsin"),
    ("slack", "http://127.0.0.1:{port}/services/T000/B000/XXXX"),
    ("apprise", "json://127.0.0.1:{port}/hook"),
])
@pytest.mark.parametrize("status", [200, 400, 500])
def test_no_send_repeats_the_receivers_answer(app, client, make_person, receiver, type_, template, status):
    strict(app, outbound_allow="127.0.0.1/32")
    receiver.status, receiver.reply_body = status, SECRET_BODY
    alice = make_person("responder")
    method = add_method(client, alice, type_, template.format(port=receiver.port)).json()
    r = client.post(f"/api/v1/contact-methods/{method['id']}/send-code", headers=alice.headers)
    assert r.status_code == 200 and len(receiver.posts) == 1
    assert "internal-secret" not in r.text and "root:x" not in r.text
