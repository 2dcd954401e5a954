"""/me offers the Teams contact type: a Workflows webhook URL is added from the form and listed as
Teams; a plain-http URL is refused in the page's words and nothing is stored."""

from __future__ import annotations

import sqlalchemy as sa

from tests.harness.console import post_form
from tocsin.contacts.models import ContactMethod

WORKFLOW = "https://prod-12.westus.logic.azure.com:443/workflows/5f1c0e/triggers/manual/paths/invoke?sig=c2lnbmF0dXJl"


def _methods(db, user_id) -> list[tuple[str, str]]:
    with db.unit_of_work() as s:
        return [(m.type, m.address) for m in s.execute(sa.select(ContactMethod).where(
            ContactMethod.user_id == user_id)).scalars()]


def test_a_responder_adds_a_teams_channel_from_the_contact_form(web_client, db):
    c = web_client("responder")
    page = c.get("/me").text
    assert '<option value="teams">teams</option>' in page and "Teams workflow URL" in page
    r = post_form(c, "/me/contacts", {"type": "teams", "address": WORKFLOW}, page="/me")
    assert r.status_code == 303, r.text
    assert ("teams", WORKFLOW) in _methods(db, c.user.id)
    page = c.get("/me").text
    assert "Teams" in page and "not verified" in page

    refused = post_form(c, "/me/contacts", {"type": "teams", "address": WORKFLOW.replace("https:", "http:")},
                        page="/me")
    assert refused.status_code == 422 and "https URL" in refused.text
    assert [t for t, _ in _methods(db, c.user.id)].count("teams") == 1
