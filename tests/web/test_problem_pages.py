"""Problems in the console: record one, edit its root cause and workaround, move its status,
link and unlink incidents (noted on their timelines), see the recurrence; viewers read only;
restricted incidents never show through a problem; bad input is a readable 4xx."""

from __future__ import annotations

import pytest

from tests.harness.console import new_incident, post_form
from tocsin.audit.models import AuditEntry


def api(client, method, path, **kw):
    return client.request(method, f"/api/v1{path}", headers=client.user.headers, **kw)


def test_record_edit_link_and_unlink(web_client, world, db, clock):
    alice, first = new_incident(web_client, title="Checkout pool exhausted", severity="SEV2")
    r = post_form(alice, "/problems", {"title": "DB connection pool exhaustion", "service": "checkout",
                                       "status": "open", "incidents": first,
                                       "workaround": "Restart the checkout pods"}, page="/problems")
    assert r.status_code == 303, r.text
    ref = r.headers["location"].rsplit("/", 1)[1]
    assert ref == "PRB-1"
    page = alice.get(f"/problems/{ref}").text
    assert page.count("<h1>") == 1 and "Restart the checkout pods" in page
    assert f'href="/incidents/{first}"' in page and "1 incident, 0 after it was recorded" in page
    listing = alice.get("/problems").text
    assert f'href="/problems/{ref}"' in listing and "DB connection pool exhaustion" in listing

    clock.advance(minutes=30)
    _, second = new_incident(web_client, title="Checkout slow again", severity="SEV3")
    r = post_form(alice, f"/problems/{ref}/link", {"incident": second}, page=f"/problems/{ref}")
    assert r.status_code == 303
    page = alice.get(f"/problems/{ref}").text
    assert "2 incidents, 1 after it was recorded" in page and f'href="/incidents/{second}"' in page
    assert "Known problem PRB-1" in alice.get(f"/incidents/{second}").text  # the workaround on its timeline

    r = post_form(alice, f"/problems/{ref}/edit", {"title": "DB connection pool exhaustion", "service": "checkout",
                                                   "root_cause": "Pool size 10 under Black Friday load",
                                                   "workaround": "Restart the checkout pods", "known_error": "",
                                                   "description": ""}, page=f"/problems/{ref}")
    assert r.status_code == 303
    r = post_form(alice, f"/problems/{ref}/status", {"status": "known_error"}, page=f"/problems/{ref}")
    assert r.status_code == 303
    page = alice.get(f"/problems/{ref}").text
    assert "Pool size 10 under Black Friday load" in page and "known error since" in page

    r = post_form(alice, f"/problems/{ref}/unlink", {"incident": first}, page=f"/problems/{ref}")
    assert r.status_code == 303
    page = alice.get(f"/problems/{ref}").text
    assert f'href="/incidents/{first}"' not in page and "1 incident, 1 after it was recorded" in page
    assert f"Unlinked from problem {ref}" in alice.get(f"/incidents/{first}").text
    with db.unit_of_work() as s:
        actions = [a for (a,) in s.query(AuditEntry.action).filter(AuditEntry.target_type == "problem")]
    assert actions == ["problem.create", "problem.link_incident", "problem.link_incident", "problem.update",
                       "problem.update", "problem.unlink_incident"]


def test_viewers_read_but_see_no_forms_and_are_refused(web_client, world):
    alice = web_client("responder")
    ref = api(alice, "POST", "/problems", json={"title": "Flaky DNS"}).json()["ref"]
    viewer = web_client("viewer")
    assert "Flaky DNS" in viewer.get("/problems").text and 'id="problem-new"' not in viewer.get("/problems").text
    page = viewer.get(f"/problems/{ref}").text
    assert "Flaky DNS" in page and 'id="problem-edit"' not in page and 'id="problem-link"' not in page
    for path, form in (("/problems", {"title": "x"}), (f"/problems/{ref}/status", {"status": "resolved"}),
                       (f"/problems/{ref}/edit", {"title": "y"})):
        assert post_form(viewer, path, form).status_code == 403, path


def test_restricted_incidents_do_not_show_through_a_problem(web_client, world):
    insider, outsider = web_client("responder"), web_client("responder")
    secret = api(insider, "POST", "/incidents", json={"title": "Credential stuffing", "severity": "SEV1",
                                                      "kind": "security"}).json()["ref"]
    ref = api(insider, "POST", "/problems", json={"title": "Weak rate limits", "incidents": [secret]}).json()["ref"]
    assert secret in insider.get(f"/problems/{ref}").text
    page = outsider.get(f"/problems/{ref}").text
    assert secret not in page and "Credential stuffing" not in page and "no incidents linked" in page
    assert outsider.get("/problems").text.count("Weak rate limits") == 1
    r = post_form(outsider, f"/problems/{ref}/unlink", {"incident": secret}, page=f"/problems/{ref}")
    assert r.status_code == 404 and "Credential stuffing" not in r.text


@pytest.mark.parametrize(("path", "form", "status"), [
    ("/problems", {"title": ""}, 422),
    ("/problems", {"title": "x", "status": "solved"}, 422),
    ("/problems", {"title": "x", "service": "nope"}, 404),
    ("/problems", {"title": "x", "incidents": "INC-999"}, 404),
    ("/problems/PRB-1/status", {"status": "known_error"}, 409),  # resolved -> open only
    ("/problems/PRB-1/link", {"incident": ""}, 422),
    ("/problems/PRB-999/edit", {"title": "x"}, 404),
])
def test_bad_input_is_a_readable_4xx(web_client, world, path, form, status):
    alice = web_client("responder")
    api(alice, "POST", "/problems", json={"title": "Existing", "status": "resolved"})
    r = post_form(alice, path, form, page="/problems")
    assert r.status_code == status, (path, r.status_code, r.text[:300])
    assert "<h1>" in r.text


def test_linking_twice_is_a_conflict_and_a_bad_filter_a_4xx(web_client, world):
    alice, inc = new_incident(web_client)
    ref = api(alice, "POST", "/problems", json={"title": "Twice", "incidents": [inc]}).json()["ref"]
    assert post_form(alice, f"/problems/{ref}/link", {"incident": inc}).status_code == 409
    assert alice.get("/problems?status=gone").status_code == 422
    assert alice.get("/problems/PRB-404").status_code == 404
