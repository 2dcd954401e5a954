"""The room's "Waiting for Legal" panel: a public update about a security incident is held, the
panel says who decides (or that nobody can yet), and only the Legal role holder gets the forms."""

from __future__ import annotations

from tests.harness.console import csrf, post_form

API = "/api/v1"


def test_the_room_holds_a_public_update_until_legal_approves_it(client, web_client):
    ic, legal = web_client("admin"), web_client("responder")
    ada = ic.user.headers
    client.post(f"{API}/status-pages", json={"slug": "public", "name": "Public status"}, headers=ada)
    ref = client.post(f"{API}/incidents", json={"title": "Leaked key", "severity": "SEV1", "kind": "security"},
                      headers=ada).json()["ref"]
    room = f"/incidents/{ref}"
    r = post_form(ic, f"{room}/public", {"page": "public", "title": "Login issue", "status": "investigating",
                                         "body": "We are investigating."}, page=room)
    assert r.status_code == 303
    page = ic.get(room).text
    assert "Held for Legal" in page and 'id="legal-no-holder"' in page  # and says nobody can approve yet
    assert client.get(f"{API}/status-pages/public/incidents", headers=ada).json()["items"] == []
    draft = client.get(f"{API}/incidents/{ref}/legal-drafts", headers=ada).json()["items"][0]["id"]
    approve = f"{room}/legal/{draft}/approve"
    assert f'action="{approve}"' not in page  # an admin is not Legal: no form
    refused = post_form(ic, approve, {"body": "x"}, page=room)
    assert refused.status_code == 403 and "Legal role holder" in refused.text
    client.post(f"{API}/incidents/{ref}/roles", json={"role": "legal", "user": legal.user.email}, headers=ada)
    assert f'action="{approve}"' in legal.get(room).text
    done = post_form(legal, approve, {"body": "We are investigating a login issue."}, page=room)
    assert done.status_code == 303
    [public] = client.get(f"{API}/status-pages/public/incidents", headers=ada).json()["items"]
    assert public["updates"][0]["body"] == "We are investigating a login issue."
    after = legal.get(room).text
    assert "Legal approved (edited) and published" in after and f'action="{approve}"' not in after
    again = post_form(legal, approve, {"body": "twice"}, token=csrf(legal, room))
    assert again.status_code == 409
