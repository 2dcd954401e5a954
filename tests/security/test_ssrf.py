"""SSRF probes: every outbound path a user (or an admin, through the API) can point somewhere.

Each probe aims at an address that the default egress policy refuses (loopback, private, CGNAT,
unique-local, link-local and metadata, in every spelling a URL parser or resolver accepts) while a
real receiver listens on loopback; the probe must be refused with a clear 4xx when it is created,
or fail with tocsin's own short reason when it is sent, and the receiver must have received
nothing. Settings here never allow loopback (the rest of the suite does, for its fakes), except
where a test says so to show that a remote's answer is not echoed.
"""

from __future__ import annotations

import pytest

from tocsin.config import Settings

ME = "/api/v1/users/me"
SECRET_BODY = b"internal-secret-7f3a9c: root:x:0:0"


def strict(app, **extra):
    """The app's settings as production has them: nothing private allowed."""
    app.state.settings = Settings(secret_key="test-secret", outbound_allow="", **extra)
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
