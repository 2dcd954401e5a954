"""Two servers, one PostgreSQL database: a viewer on one sees a change made through the other, live.

Two real `tocsin serve --no-engine` processes share the test's PostgreSQL database. A viewer logs
in to server 2 and opens the incident room's event stream there; a responder adds a note through
server 1's API. Server 1's commit sends `NOTIFY tocsin_live`; server 2's listener hears it and its
stream sends the note. The stream re-reads on its own only every 15 s, so the note arriving within
the 5 s waited for shows the cross-process notice worked.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness.backends import only
from tests.harness.console import PASSWORD, Viewer
from tests.harness.processes import TocsinProcess, admin_token, tocsin_env

pytestmark = [pytest.mark.slow, only("postgresql")]
SECRET = "two-servers-live-secret"


@pytest.fixture
def servers(db_url: str, tmp_path: Path) -> Iterator[list[TocsinProcess]]:
    started = []
    try:
        for n in (1, 2):
            env = tocsin_env(tmp_path / f"data{n}", db_url)
            env.update(TOCSIN_ENGINE="false", TOCSIN_SECRET_KEY=SECRET)
            started.append(TocsinProcess(env, tmp_path / f"server{n}.log"))
        yield [s.wait_ready() for s in started]
    finally:
        for s in started:
            s.stop()


def make_viewer(db_url: str) -> str:
    """A viewer-role user with a password (made directly in the database); return the email."""
    from tocsin.clock import SystemClock
    from tocsin.db import Database
    from tocsin.principal import OrgRole, Principal
    from tocsin.users.service import create_user

    db, actor = Database(db_url), Principal.system("tests")
    try:
        with db.unit_of_work() as s:
            create_user(s, actor=actor, now=SystemClock().now(), email="watcher@example.test", name="Watcher",
                        org_role=OrgRole.viewer, password=PASSWORD)
    finally:
        db.dispose()
    return "watcher@example.test"


def test_note_through_server_one_reaches_a_viewer_on_server_two(db_url: str, servers: list[TocsinProcess]) -> None:
    one, two = servers
    token = admin_token(db_url)
    email = make_viewer(db_url)
    api = httpx.Client(base_url=one.url, headers={"Authorization": f"Bearer {token}"}, timeout=10, trust_env=False)
    viewer = Viewer(two.url, email)
    try:
        r = api.post("/api/v1/incidents", json={"title": "Cross-server", "severity": "SEV2"})
        assert r.status_code == 201, r.text
        ref = r.json()["ref"]
        viewer.open(ref)
        assert viewer.status == 200, two.log_text()
        assert "Cross-server" in viewer.next_timeline()["html"]

        r = api.post(f"/api/v1/incidents/{ref}/notes", json={"text": "written on server one"})
        assert r.status_code == 201, r.text
        got = viewer.wait_for("written on server one")
        assert got["id"] == r.json()["id"]

        r = api.patch(f"/api/v1/incidents/{ref}", json={"status": "monitoring"})
        assert r.status_code == 200, r.text
        assert '<dd id="room-status">monitoring</dd>' in viewer.wait_for("monitoring")["header"]
    finally:
        viewer.close()
        api.close()
