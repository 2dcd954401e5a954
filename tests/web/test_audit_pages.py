"""The audit log viewer: admins page through entries newest first and filter them by who, what and
when; "Verify chain" says OK, or names the first broken entry after someone edits one in the
database; everyone else gets 403, as from the API."""

from __future__ import annotations

import html
from datetime import timedelta

import sqlalchemy as sa

from tests.harness.console import csrf, post_form
from tocsin.audit.models import AuditEntry
from tocsin.audit.service import record


def entry_rows(page: str) -> list[str]:
    table = page[page.index('id="audit-entries"'):page.index("</table>", page.index('id="audit-entries"'))]
    return [html.unescape(row) for row in table.split("<tr>")[2:]]


def test_entries_filters_and_pages(web_client, world, db, clock, system):
    admin = web_client("admin")
    with db.unit_of_work() as s:
        for n in range(60):
            record(s, actor=system, action="test.bulk", target_type="thing", target_id=str(n),
                   now=clock.now() + timedelta(minutes=n), details={"n": n, "note": "x" * 400})
    post_form(admin, "/silences", {"matchers": "team=db", "duration": "1h", "reason": "upgrade"},
              token=csrf(admin, "/silences"))

    page = admin.get("/audit")
    assert page.status_code == 200
    rows = entry_rows(page.text)
    assert len(rows) == 50 and "silence.create" in rows[0], "newest first, 50 a page"
    assert admin.user.email in rows[0] and 'reason: upgrade' in rows[0]
    assert "…" in rows[1], "long details are cut short"
    assert 'rel="next"' in page.text
    older_link = html.unescape(page.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0])
    older = admin.get(older_link)
    assert older.status_code == 200 and "Newest entries" in older.text
    assert len(entry_rows(older.text)) > 0 and "silence.create" not in older.text.split('id="audit-entries"')[1]

    only = admin.get("/audit", params={"action": "silence"}).text
    assert [r for r in entry_rows(only) if "test.bulk" in r] == [] and len(entry_rows(only)) == 1
    assert len(entry_rows(admin.get("/audit", params={"actor": admin.user.email[:6].upper()}).text)) >= 1
    system_rows = entry_rows(admin.get("/audit", params={"actor": "system:tests", "action": "test.bulk"}).text)
    assert len(system_rows) == 50
    # since/until in the viewer's zone (UTC here; the clock starts at 12:00): minutes 10..14 of the bulk entries
    window = entry_rows(admin.get("/audit", params={"action": "test.bulk", "since": "2026-01-01T12:10",
                                                    "until": "2026-01-01T12:15"}).text)
    assert [r.split("thing ")[1].split("<")[0] for r in window] == ["14", "13", "12", "11", "10"]

    for bad in ({"since": "yesterday"}, {"before": "x"}, {"before": "-4"}):
        r = admin.get("/audit", params=bad)
        assert r.status_code == 422, (bad, r.status_code)


def test_verify_chain_ok_then_broken(web_client, world, db):
    admin = web_client("admin")
    ok = admin.get("/audit/verify")
    assert ok.status_code == 200
    assert '<strong>OK</strong>: all' in ok.text and "Broken" not in ok.text
    with db.unit_of_work() as s:
        seq = s.execute(sa.select(sa.func.min(AuditEntry.seq)).where(AuditEntry.action == "user.create")).scalar_one()
        s.execute(sa.update(AuditEntry).where(AuditEntry.seq == seq).values(actor_label="mallory@example.test"))
    broken = admin.get("/audit/verify").text
    assert "<strong>Broken</strong>" in broken and "<strong>OK</strong>" not in broken
    assert f"entry {seq}: content does not match its hash" in broken


def test_others_may_not_read_the_audit_log(web_client, world):
    for role in ("viewer", "responder"):
        client = web_client(role)
        for path in ("/audit", "/audit/verify", "/audit?before=5"):
            r = client.get(path)
            assert r.status_code == 403 and "admin role" in r.text, (role, path, r.status_code)
        assert 'href="/audit"' not in client.get("/configure").text


def test_api_filters_the_audit_log_too(web_client, world, client, make_web_user):
    admin = make_web_user("admin")
    everything = client.get("/api/v1/audit", headers=admin.headers).json()
    items = everything["items"] if isinstance(everything, dict) else everything
    assert {e["action"] for e in items} >= {"user.create", "escalation_policy.create"}
    found = client.get("/api/v1/audit", params={"action": "escalation_policy"}, headers=admin.headers).json()
    found = found["items"] if isinstance(found, dict) else found
    assert {e["action"] for e in found} == {"escalation_policy.create"}
    assert client.get("/api/v1/audit", params={"since": "not a time"}, headers=admin.headers).status_code == 422
