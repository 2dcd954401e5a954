"""Indicators and affected assets (issue 17) against an outsider and against script payloads.

A restricted security incident carries SECRET in an indicator's value and notes and in an asset's
name, and shares one IP address with an incident of the outsider's own. The outsider (a responder
outside the circle) then reads every surface of this feature: the search, their own incident's list
("also seen in"), room and exports, and the restricted incident's routes, which must answer exactly
as a missing incident does. The insider's room renders payloads in every field of the panel inert.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness.console import csrf
from tests.security.test_xss import live_parts, payload

SECRET = "Zanzibar7Q"
API = "/api/v1"
IP = "198.51.100.7"


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:300]}"
    return r.json() if r.headers.get("content-type", "").startswith("application/json") else r


@pytest.fixture
def world(client, make_web_user, console_as):
    insider, outsider = make_web_user("responder", name="Ina"), make_web_user("responder", name="Otto")
    I, O = {"headers": insider.headers}, {"headers": outsider.headers}  # noqa: N806, E741
    secret = ok(client.post(f"{API}/incidents", json={"title": f"{SECRET} breach", "severity": "SEV1",
                                                      "kind": "security"}, **I), 201)["ref"]
    for body in ({"type": "ipv4", "value": IP, "notes": f"{SECRET} C2"}, {"type": "account", "value": SECRET}):
        ok(client.post(f"{API}/incidents/{secret}/indicators", json=body, **I), 201)
    ok(client.post(f"{API}/incidents/{secret}/assets", json={"kind": "data_store", "name": f"{SECRET}-db"}, **I), 201)
    own = ok(client.post(f"{API}/incidents", json={"title": "Port scan", "severity": "SEV3", "kind": "security",
                                                   "restricted": False},
                         **O), 201)["ref"]
    ok(client.post(f"{API}/incidents/{own}/indicators", json={"type": "ipv4", "value": IP}, **O), 201)
    return {"insider": insider, "outsider": outsider, "secret": secret, "own": own,
            "web": console_as(outsider), "insider_web": console_as(insider)}


def test_an_outsider_learns_nothing_of_a_restricted_incidents_indicators(client, world):
    w = world
    h, web, secret, own = w["outsider"].headers, w["web"], w["secret"], w["own"]
    reads = [client.get(f"{API}/indicators", params={"value": v}, headers=h) for v in (IP, SECRET)]
    reads += [client.get(f"{API}/incidents/{own}/{p}", headers=h) for p in ("indicators", "export/stix", "export/misp")]
    reads += [web.get(f"/incidents/{own}"), web.get(f"/incidents/{own}/iocs/export/stix"),
              web.get(f"/incidents/{own}/iocs/export/misp")]
    for r in reads:
        assert r.status_code == 200, r.request.url
        assert SECRET not in r.text and secret not in r.text, f"{r.request.url} leaks: {r.text[:300]}"
    assert [x["incident"] for x in reads[0].json()["items"]] == [own]
    assert reads[1].json()["items"] == []
    assert reads[2].json()["items"][0]["also_seen_in"] == []
    assert "Also seen in" not in reads[5].text

    # the restricted incident answers every route of this feature exactly as a missing one does
    differ = []
    probes = [("GET", f"{API}/incidents/{{}}/indicators", None), ("GET", f"{API}/incidents/{{}}/assets", None),
              ("GET", f"{API}/incidents/{{}}/export/stix", None), ("GET", f"{API}/incidents/{{}}/export/misp", None),
              ("POST", f"{API}/incidents/{{}}/indicators", {"type": "ipv4", "value": IP}),
              ("POST", f"{API}/incidents/{{}}/assets", {"kind": "host", "name": "h"})]
    for method, template, body in probes:
        answers = [client.request(method, template.format(k), json=body, headers=h) for k in (secret, "INC-999")]
        texts = [(a.status_code, a.text.replace(k, "<ref>")) for a, k in zip(answers, (secret, "INC-999"), strict=True)]
        if texts[0] != texts[1]:
            differ.append(f"{method} {template}: {texts}")
    for path, form in (("iocs/export/stix", None), ("iocs/indicator", {"type": "ipv4", "value": IP}),
                       ("iocs/asset", {"kind": "host", "name": "h"})):
        data = None if form is None else {**form, "csrf_token": csrf(web)}
        answers = [web.request("GET" if form is None else "POST", f"/incidents/{k}/{path}", data=data,
                               follow_redirects=False) for k in (secret, "INC-999")]
        if answers[0].status_code != 404 or answers[0].text.replace(secret, "<ref>") != \
                answers[1].text.replace("INC-999", "<ref>"):
            differ.append(f"console {path}: {answers[0].status_code} vs {answers[1].status_code}")
    assert not differ, "\n".join(differ)

    # the insider sees what the outsider may not: the walk above could not pass by reaching nothing
    mine = ok(client.get(f"{API}/incidents/{secret}/indicators", headers=w["insider"].headers))["items"]
    assert [i["also_seen_in"] for i in mine if i["type"] == "ipv4"] == [[own]]


def test_payloads_in_the_panel_render_inert(client, world):
    w = world
    h, ref = w["insider"].headers, w["secret"]
    ok(client.post(f"{API}/incidents/{ref}/indicators", json={
        "type": "account", "value": payload("iocvalue"), "source": payload("iocsource"), "notes": payload("iocnotes")},
        headers=h), 201)
    ok(client.post(f"{API}/incidents/{ref}/assets", json={
        "kind": "host", "name": payload("assetname"), "source": payload("assetsource")}, headers=h), 201)
    page = w["insider_web"].get(f"/incidents/{ref}")
    assert page.status_code == 200
    for marker in ("iocvalue", "iocsource", "iocnotes", "assetname", "assetsource"):
        assert f"xss{marker}" in page.text, marker
    assert live_parts(page.text) == []
