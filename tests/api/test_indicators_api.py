"""Indicators of compromise and affected assets through /api/v1 (issue 17): recording with
normalised values and clear 422s, who may read and change them (need-to-know: 404 outside the
circle), asset state changes on the timeline and in the audit log, the search across incidents
that never reveals a restricted incident, and the STIX 2.1 / MISP exports parsed back."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stix2

API = "/api/v1"
INC = f"{API}/incidents"


@pytest.fixture
def people(make_person):
    return {
        "bob": make_person("responder", name="Bob"),  # declares, so he is in the circle
        "carol": make_person("responder", name="Carol"),  # outside the circle
        "vera": make_person("viewer", name="Vera"),  # added to the circle as an observer
        "ada": make_person("admin", name="Ada"),
    }


def ok(r, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def declare(client, who, **body: Any) -> str:
    body = {"title": "Credential leak", "severity": "SEV2", "kind": "security", **body}
    return ok(client.post(INC, json=body, headers=who.headers), 201)["ref"]


def add(client, who, ref: str, status: int = 201, **body: Any) -> Any:
    return ok(client.post(f"{INC}/{ref}/indicators", json=body, headers=who.headers), status)


def test_indicators_are_normalised_validated_and_kept_to_the_circle(client, people):
    bob, carol, vera, ada = people["bob"], people["carol"], people["vera"], people["ada"]
    ref = declare(client, bob)  # security incidents are restricted by default
    ok(client.post(f"{INC}/{ref}/participants", json={"user": vera.email, "kind": "observer"}, headers=bob.headers))

    ip = add(client, bob, ref, type="ipv4", value=" 198.51.100[.]7 ", tlp="amber+strict", source="EDR")
    assert (ip["value"], ip["tlp"], ip["incident"], ip["also_seen_in"]) == ("198.51.100.7", "amber+strict", ref, [])
    url = add(client, bob, ref, type="url", value="hxxps://EVIL.example:443/Login?next=A")
    assert url["value"] == "https://evil.example/Login?next=A"

    bad = add(client, bob, ref, 422, type="ipv4", value="198.51.100.300")
    assert bad["error"]["details"]["field"] == "value" and "not a valid IPv4" in bad["error"]["message"]
    assert "ipv6" in add(client, bob, ref, 422, type="ipv4", value="2001:db8::1")["error"]["message"]
    assert add(client, bob, ref, 422, type="sha256", value="abc")["error"]["message"] == \
        "a sha256 hash is 64 hexadecimal digits"
    add(client, bob, ref, 422, type="ipv4", value="198.51.100.8", tlp="amber-ish")
    add(client, bob, ref, 422, type="ipv4", value="198.51.100.8", first_seen="2026-01-01T10:00:00Z",
        last_seen="2026-01-01T09:00:00Z")
    assert add(client, bob, ref, 409, type="ipv4", value="198.51.100.7")["error"]["code"] == "conflict"

    # the viewer in the circle reads, may not change; the responder outside it finds nothing at all
    assert [i["value"] for i in ok(client.get(f"{INC}/{ref}/indicators", headers=vera.headers))["items"]] == \
        ["198.51.100.7", "https://evil.example/Login?next=A"]
    add(client, vera, ref, 403, type="ipv4", value="198.51.100.9")
    for method, path in (("GET", "indicators"), ("POST", "indicators"), ("GET", "assets"), ("GET", "export/stix"),
                         ("GET", "export/misp"), ("PATCH", f"indicators/{ip['id']}")):
        r = client.request(method, f"{INC}/{ref}/{path}", headers=carol.headers,
                           json={"type": "ipv4", "value": "1.2.3.4"} if method == "POST" else
                           {"tlp": "red"} if method == "PATCH" else None)
        assert r.status_code == 404 and ref in r.json()["error"]["message"], (method, path, r.text)

    changed = ok(client.patch(f"{INC}/{ref}/indicators/{ip['id']}", json={"tlp": "red", "notes": "C2"},
                              headers=bob.headers))
    assert (changed["tlp"], changed["notes"], changed["value"]) == ("red", "C2", "198.51.100.7")
    ok(client.patch(f"{INC}/{ref}/indicators/{ip['id']}", json={"value": "1.2.3.4"}, headers=bob.headers), 422)
    ok(client.delete(f"{INC}/{ref}/indicators/{url['id']}", headers=bob.headers), 204)
    texts = [e["text"] for e in ok(client.get(f"{INC}/{ref}/timeline", headers=bob.headers))["items"]]
    assert "Indicator recorded: ipv4 198.51.100.7 (TLP:AMBER+STRICT)" in texts
    assert "Indicator removed: url https://evil.example/Login?next=A" in texts
    actions = [e["action"] for e in ok(client.get(f"{API}/audit", headers=ada.headers))["items"]]
    assert {"indicator.create", "indicator.update", "indicator.delete"} <= set(actions)

    operational = declare(client, bob, kind="operational")
    assert "not a security incident" in add(client, bob, operational, 409, type="ipv4", value="1.2.3.4")["error"][
        "message"]


def test_asset_state_changes_go_on_the_timeline_and_into_the_audit_chain(client, people):
    bob, ada = people["bob"], people["ada"]
    ref = declare(client, bob)
    asset = ok(client.post(f"{INC}/{ref}/assets", json={"kind": "host", "name": "web-7", "source": "SIEM"},
                           headers=bob.headers), 201)
    assert (asset["state"], asset["tlp"]) == ("suspected", "amber")
    ok(client.post(f"{INC}/{ref}/assets", json={"kind": "host", "name": "WEB-7"}, headers=bob.headers), 409)
    ok(client.post(f"{INC}/{ref}/assets", json={"kind": "laptop", "name": "x"}, headers=bob.headers), 422)
    for state in ("affected", "contained"):
        asset = ok(client.patch(f"{INC}/{ref}/assets/{asset['id']}", json={"state": state}, headers=bob.headers))
    assert asset["state"] == "contained"
    ok(client.patch(f"{INC}/{ref}/assets/{asset['id']}", json={"state": "gone"}, headers=bob.headers), 422)
    texts = [e["text"] for e in ok(client.get(f"{INC}/{ref}/timeline", headers=bob.headers))["items"]]
    assert ["web-7 (host): suspected \u2192 affected", "web-7 (host): affected \u2192 contained"] == \
        [t for t in texts if t.startswith("web-7 (host)")]
    changes = [e["details"]["changes"]["state"] for e in ok(client.get(f"{API}/audit", headers=ada.headers))["items"]
               if e["action"] == "asset.update"]
    assert sorted(c["to"] for c in changes) == ["affected", "contained"]


def test_search_across_incidents_lists_only_incidents_the_caller_may_see(client, people):
    bob, carol, ada = people["bob"], people["carol"], people["ada"]
    secret = declare(client, bob, title="Restricted breach")
    shared = declare(client, carol, title="Phishing wave", restricted=False)
    mine = declare(client, carol, title="Carol's restricted case")
    for ref, who in ((secret, bob), (shared, carol), (mine, carol)):
        add(client, who, ref, type="domain", value="evil.example")

    # Carol sees her two incidents; Bob's restricted one does not exist for her, not even as a count
    hits = ok(client.get(f"{API}/indicators", params={"value": "EVIL[.]example."}, headers=carol.headers))["items"]
    assert sorted(h["incident"] for h in hits) == sorted([shared, mine])
    assert "Restricted breach" not in json.dumps(hits)
    mine_list = ok(client.get(f"{INC}/{mine}/indicators", headers=carol.headers))["items"]
    assert mine_list[0]["also_seen_in"] == [shared]
    # Bob (in his circle, not Carol's) sees his own and the unrestricted one
    assert ok(client.get(f"{INC}/{secret}/indicators", headers=bob.headers))["items"][0]["also_seen_in"] == [shared]
    # an admin sees all three, and pages through them
    first = ok(client.get(f"{API}/indicators", params={"value": "evil.example", "type": "domain", "limit": 2},
                          headers=ada.headers))
    rest = ok(client.get(f"{API}/indicators", params={"value": "evil.example", "cursor": first["next_cursor"]},
                         headers=ada.headers))
    assert sorted(h["incident"] for h in first["items"] + rest["items"]) == sorted([secret, shared, mine])
    assert rest["next_cursor"] is None
    bad = ok(client.get(f"{API}/indicators", params={"value": "abc", "type": "sha256"}, headers=ada.headers), 422)
    assert bad["error"]["details"]["field"] == "value"
    ok(client.get(f"{API}/indicators", params={"value": "evil.example", "type": "ipv4"}, headers=ada.headers), 422)


def test_exports_parse_back_as_stix_and_misp(client, people):
    bob = people["bob"]
    ref = declare(client, bob)
    add(client, bob, ref, type="ipv4", value="198.51.100.7", tlp="amber", first_seen="2026-01-01T00:00:00Z",
        last_seen="2026-01-01T00:05:00Z")
    add(client, bob, ref, type="sha256", value="A" * 64, tlp="red")
    add(client, bob, ref, type="account", value="CORP\\o'brien", tlp="green")

    r = client.get(f"{INC}/{ref}/export/stix", headers=bob.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/stix+json")
    assert f'filename="{ref}-indicators.stix.json"' in r.headers["content-disposition"]
    bundle = stix2.parse(r.text)
    by_type: dict[str, list[Any]] = {}
    for obj in bundle.objects:
        by_type.setdefault(obj.type, []).append(obj)
    patterns = sorted(i.pattern for i in by_type["indicator"])
    assert patterns == ["[file:hashes.'SHA-256' = '" + "a" * 64 + "']", "[ipv4-addr:value = '198.51.100.7']",
                        "[user-account:account_login = 'CORP\\\\o\\'brien']"]
    assert by_type["ipv4-addr"][0].id == "ipv4-addr--12592121-be4c-5a93-a813-5a5af16e50db"  # the reference's
    assert by_type["observed-data"][0].object_refs == [by_type["ipv4-addr"][0].id]
    red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
    assert {m.id: m.name for m in by_type["marking-definition"]}[red] == "TLP:RED"
    assert [i.object_marking_refs for i in by_type["indicator"] if "SHA-256" in i.pattern] == [[red]]
    assert by_type["grouping"][0].name == f"{ref} indicators"

    shared = stix2.parse(client.get(f"{INC}/{ref}/export/stix", params={"max_tlp": "amber"},
                                    headers=bob.headers).text)
    assert len([o for o in shared.objects if o.type == "indicator"]) == 2  # the TLP:RED hash stays home

    event = ok(client.get(f"{INC}/{ref}/export/misp", headers=bob.headers))["Event"]
    assert (event["info"], event["distribution"], event["Tag"], event["published"]) == \
        (f"{ref} Credential leak", "0", [{"name": "tlp:red"}], False)
    attrs = {a["type"]: a for a in event["Attribute"]}
    assert attrs["ip-dst"]["category"] == "Network activity" and attrs["ip-dst"]["to_ids"] is True
    assert attrs["ip-dst"]["first_seen"] == "2026-01-01T00:00:00.000000+00:00"
    assert attrs["sha256"]["Tag"] == [{"name": "tlp:red"}] and attrs["sha256"]["distribution"] == "5"
    assert attrs["target-user"]["to_ids"] is False
    green = ok(client.get(f"{INC}/{ref}/export/misp", params={"max_tlp": "green"}, headers=bob.headers))["Event"]
    assert (green["distribution"], [a["type"] for a in green["Attribute"]]) == ("1", ["target-user"])
