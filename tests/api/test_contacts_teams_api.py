"""The `teams` contact type over the API: a Teams Workflows webhook URL (https only, judged by the egress
policy) is accepted and shown in full to its owner and admins, masked for others; anything else is a
clear 422 and nothing is stored; a test card goes through the guarded client and its detail never
carries the URL's signature."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.harness.teams import cards, texts, trust_dispatchers, workflows_hook
from tocsin.config import Settings
from tocsin.contacts.mask import mask, scrub
from tocsin.contacts.models import ContactMethod

ME = "/api/v1/users/me"
WORKFLOW = ("https://prod-12.westus.logic.azure.com:443/workflows/5f1c0e/triggers/manual/paths/invoke"
            "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=Zm9vYmFyc2VjcmV0")
POWER_PLATFORM = ("https://default0a1b.02.environment.api.powerplatform.com:443/powerautomate/automations/direct/"
                  "workflows/5f1c0e/triggers/manual/paths/invoke?api-version=1&sig=Zm9vYmFyc2VjcmV0")


def stored(db) -> int:
    with db.unit_of_work() as s:
        return s.execute(sa.select(sa.func.count()).select_from(ContactMethod)).scalar_one()


def add(client, person, address):
    return client.post(f"{ME}/contact-methods", json={"type": "teams", "address": address}, headers=person.headers)


@pytest.mark.parametrize("url", [WORKFLOW, POWER_PLATFORM])
def test_a_workflows_url_is_accepted_and_shown_in_full_to_its_owner_and_admins(client, make_person, url):
    alice, admin = make_person("responder"), make_person("admin")
    r = add(client, alice, f"  {url} ")
    assert r.status_code == 201, r.text
    method = r.json()
    assert (method["type"], method["address"], method["verified"], method["webhook_secret"]) == \
        ("teams", url, False, None)
    for who in (alice, admin):
        got = client.get(f"/api/v1/contact-methods/{method['id']}", headers=who.headers)
        assert got.status_code == 200 and got.json()["address"] == url
    other = client.get(f"/api/v1/contact-methods/{method['id']}", headers=make_person("responder").headers)
    assert other.status_code in (403, 404) and "sig=" not in other.text
    assert add(client, alice, url).status_code == 409, "the same URL twice"


@pytest.mark.parametrize("address, says", [
    ("http://prod-12.westus.logic.azure.com/workflows/x?sig=y", "https URL"),
    ("prod-12.westus.logic.azure.com/workflows/x", "https URL"),
    ("https://", "http(s) URL"),
    ("https://169.254.169.254/latest/meta-data", "metadata"),
    ("https://metadata.google.internal/x", "metadata"),
    ("https://127.0.0.1/hook", "loopback"),
    ("https://10.0.0.5/hook", "private"),
])
def test_anything_but_an_outward_https_url_is_refused_and_nothing_is_stored(app, client, db, make_person, address,
                                                                            says):
    app.state.settings = Settings(secret_key="test-secret", outbound_allow="")
    alice = make_person("responder")
    r = add(client, alice, address)
    assert r.status_code == 422, r.text
    assert says in r.json()["error"]["message"] and r.json()["error"]["details"]["field"] == "address"
    assert stored(db) == 0


def test_others_see_the_host_only():
    masked = mask("teams", WORKFLOW)
    assert masked == "https://prod-12.westus.logic.azure.com:443/…"
    assert scrub(f"could not reach {WORKFLOW}", "teams", WORKFLOW) == f"could not reach {masked}"
    assert "Zm9vYmFyc2VjcmV0" not in (scrub("sig was Zm9vYmFyc2VjcmV0", "teams", WORKFLOW) or "")


def test_the_verification_code_arrives_as_a_card_and_verifies(app, client, make_person, tmp_path, monkeypatch):
    app.state.settings = Settings(secret_key="test-secret", outbound_allow="127.0.0.0/8,::1/128")
    alice = make_person("responder")
    with workflows_hook(tmp_path) as (hook, trust):
        trust_dispatchers(monkeypatch, trust)
        url = hook.url("localhost") + "?sig=c2VjcmV0c2ln"
        method = add(client, alice, url).json()
        sent = client.post(f"/api/v1/contact-methods/{method['id']}/send-code", headers=alice.headers)
        assert sent.status_code == 200 and sent.json()["sent"] is True, sent.text
        assert "202 Accepted" in sent.json()["detail"] and "c2VjcmV0c2ln" not in sent.json()["detail"]
        [card] = cards(hook)
        assert texts(card)[0] == "tocsin verification code"
        code = texts(card)[1].split("code is ")[1][:6]
        r = client.post(f"/api/v1/contact-methods/{method['id']}/verify", json={"code": code}, headers=alice.headers)
        assert r.json() == {"verified": True}

        hook.status, hook.reply_body = 400, b"BadRequest: flow schema of tenant contoso"
        test = client.post(f"/api/v1/contact-methods/{method['id']}/test", headers=alice.headers)
        assert test.status_code == 200 and test.json()["sent"] is False
        assert "HTTP 400" in test.json()["detail"] and "contoso" not in test.text and "c2VjcmV0c2ln" not in test.text
