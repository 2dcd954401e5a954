"""A status page exported as static files and served by a real nginx, with no tocsin running,
answers with the bytes tocsin itself serves; publishing on change keeps the export current."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.harness.processes import wait_http_ready
from tocsin.app import create_app
from tocsin.clock import ManualClock
from tocsin.config import Settings
from tocsin.db import Database
from tocsin.principal import Principal
from tocsin.statuspage import service
from tocsin.statuspage.export import MARKER, file_path, nginx_config, remove_site
from tocsin.statuspage.incidents import post_incident_update
from tocsin.statuspage.models import StatusPage

pytestmark = pytest.mark.slow  # starts nginx and `tocsin statuspage export` subprocesses

NGINX = "/usr/sbin/nginx"
TOCSIN = Path(sys.executable).parent / "tocsin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real nginx serving tmp/www (the export goes to tmp/www/status); yields (base url, www)."""
    www, prefix = tmp_path / "www", tmp_path / "nginx"
    (www / "status").mkdir(parents=True)
    prefix.mkdir()
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(root=www, port=port, prefix=prefix, run_as_root=os.geteuid() == 0))
    log = prefix / "stderr.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                                stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        (www / "status" / "ready.txt").write_text("ok")
        wait_http_ready(f"http://127.0.0.1:{port}/status/ready.txt", proc, "nginx",
                        lambda: log.read_text() + (prefix / "error.log").read_text(errors="replace")
                        if (prefix / "error.log").exists() else "", 15)
        (www / "status" / "ready.txt").unlink()
        yield f"http://127.0.0.1:{port}", www
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def simple_page(db: Database, now: datetime) -> uuid.UUID:
    """A page whose rendering does not depend on the exact minute: operational components, a
    resolved incident without component changes, a scheduled maintenance."""
    actor = Principal.system("tests")
    with db.unit_of_work() as s:
        page = service.create_page(s, actor=actor, now=now - timedelta(days=120), slug="acme", name="Acme & Co",
                                   description="Status of <Acme>", time_zone="Asia/Kolkata")
        api = service.create_component(s, actor=actor, now=now - timedelta(days=120), page=page, name="API")
        service.create_component(s, actor=actor, now=now - timedelta(days=120), page=page, name="Web")
        inc = post_incident_update(s, actor=actor, now=now - timedelta(days=2), page=page, name="Slow search",
                                   status="investigating", body="Looking.")
        post_incident_update(s, actor=actor, now=now - timedelta(days=2, hours=-1), page=page, status_incident=inc,
                             status="resolved", body="Fixed.")
        service.schedule_maintenance(s, actor=actor, now=now - timedelta(days=1), page=page, name="Upgrade",
                                     body="Planned.", scheduled_for=now + timedelta(days=3),
                                     scheduled_until=now + timedelta(days=3, hours=1), component_ids=[api.id])
        return page.id


def test_cli_export_served_by_nginx_matches_tocsin(db: Database, db_url: str, tmp_path: Path,
                                                   nginx: tuple[str, Path]) -> None:
    base, www = nginx
    now = datetime.now(UTC)
    simple_page(db, now)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(TOCSIN_DATABASE_URL=db_url, TOCSIN_DATA_DIR=str(tmp_path / "data"))
    done = subprocess.run([str(TOCSIN), "statuspage", "export", str(www / "status")], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "acme:" in done.stdout
    assert (www / "status" / "acme" / "index.html").is_file()
    assert (www / "status" / "acme" / "api" / "v2" / "summary.json").is_file()

    # tocsin serves the same page (same default public URL, so the same absolute links)
    app = create_app(settings=Settings(secret_key="t", data_dir=tmp_path / "data"), db=db,
                     clock=ManualClock(datetime.now(UTC)))
    try:
        with TestClient(app) as client:
            paths = list(app.state.status_cache.sites["acme"])
            with httpx.Client(base_url=base, trust_env=False) as web:
                for path in paths:
                    ours = client.get(f"/status/acme/{path}")
                    theirs = web.get(f"/status/acme/{path}")
                    assert theirs.status_code == 200, path
                    assert theirs.content == ours.content, path
                    assert theirs.headers["content-security-policy"] == ours.headers["content-security-policy"]
                    assert theirs.headers["cache-control"] == "public, max-age=10"
                assert web.get("/status/acme").content == client.get("/status/acme").content
                assert web.get("/status/acme/").content == client.get("/status/acme/").content
                summary = web.get("/status/acme/api/v2/summary.json")
                assert summary.headers["access-control-allow-origin"] == "*"
                assert summary.json()["page"]["name"] == "Acme & Co"
                assert summary.json()["page"]["updated_at"].endswith("+05:30")
    finally:
        app.state.ingest.close()

    single = subprocess.run([str(TOCSIN), "statuspage", "export", str(tmp_path / "one"), "--page", "nope"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert single.returncode == 1 and "no status page" in single.stderr


def test_publish_on_change_keeps_the_export_equal_to_what_tocsin_serves(
        db: Database, tmp_path: Path, nginx: tuple[str, Path]) -> None:
    base, www = nginx
    clock = ManualClock(datetime(2026, 11, 27, 12, tzinfo=UTC))
    page_id = simple_page(db, clock.now())
    settings = Settings(secret_key="t", statuspage_publish_dir=www / "status")
    app = create_app(settings=settings, db=db, clock=clock)
    try:
        with TestClient(app) as client, httpx.Client(base_url=base, trust_env=False) as web:
            cache = app.state.status_cache
            actor = Principal.system("tests")
            with db.unit_of_work() as s:
                page = s.get(StatusPage, page_id)
                post_incident_update(s, actor=actor, now=clock.now(), page=page, name="Checkout errors",
                                     status="investigating", body="We are *on it*.")
            assert cache.wait_idle()
            for path in cache.sites["acme"]:
                ours = client.get(f"/status/acme/{path}").content
                assert (www / "status" / "acme" / file_path(path)).read_bytes() == ours, path
                assert web.get(f"/status/acme/{path}").content == ours, path
            assert web.get("/status/acme/api/v2/incidents/unresolved.json").json()["incidents"][0]["name"] \
                == "Checkout errors"
            # no temporary files are left behind
            assert not [p for p in (www / "status").rglob(".tmp-*")]
    finally:
        app.state.ingest.close()


def foreign_things(base: Path, outside: Path) -> None:
    """Things in the export directory tocsin did not write: a directory without the marker, and a
    symlink out of the directory to one that even carries it."""
    (base / "foreign").mkdir(parents=True)
    (base / "foreign" / "index.html").write_text("not ours")
    outside.mkdir()
    (outside / MARKER).write_text("looks like ours")
    (outside / "index.html").write_text("outside")
    (base / "linked").symlink_to(outside, target_is_directory=True)


def assert_foreign_things_intact(base: Path, outside: Path) -> None:
    assert (base / "foreign" / "index.html").read_text() == "not ours"
    assert (base / "linked").is_symlink() and (outside / "index.html").read_text() == "outside"
    assert (outside / MARKER).is_file()


def test_publish_dir_drops_deleted_and_renamed_pages(db: Database, tmp_path: Path,
                                                     nginx: tuple[str, Path]) -> None:
    base, www = nginx
    publish, outside = www / "status", tmp_path / "outside"
    foreign_things(publish, outside)
    clock = ManualClock(datetime(2026, 11, 27, 12, tzinfo=UTC))
    simple_page(db, clock.now())
    actor = Principal.system("tests")
    with db.unit_of_work() as s:
        service.create_page(s, actor=actor, now=clock.now(), slug="beta", name="Beta")
    app = create_app(settings=Settings(secret_key="t", statuspage_publish_dir=publish), db=db, clock=clock)
    try:
        with TestClient(app), httpx.Client(base_url=base, trust_env=False) as web:
            cache = app.state.status_cache
            assert (publish / "beta" / MARKER).is_file() and (publish / "acme" / MARKER).is_file()
            assert web.get("/status/beta/").status_code == 200
            with db.unit_of_work() as s:
                service.update_page(s, actor=actor, now=clock.now(), page=service.require_page(s, "beta"),
                                    changes={"slug": "gamma"})
            assert cache.wait_idle()
            assert not (publish / "beta").exists() and web.get("/status/beta/").status_code == 404
            assert web.get("/status/gamma/api/v2/status.json").json()["page"]["name"] == "Beta"
            with db.unit_of_work() as s:
                service.delete_page(s, actor=actor, now=clock.now(), page=service.require_page(s, "gamma"))
            assert cache.wait_idle()
            assert not (publish / "gamma").exists() and web.get("/status/gamma/").status_code == 404
            assert web.get("/status/acme/").status_code == 200
            assert_foreign_things_intact(publish, outside)
            assert not [p for p in publish.iterdir() if p.name.startswith(".tmp-")]
    finally:
        app.state.ingest.close()
    # a symlink is never followed out of the directory, even with a marker behind it
    assert remove_site(publish, "linked") is False and remove_site(publish, "foreign") is False
    assert_foreign_things_intact(publish, outside)


def test_full_cli_export_prunes_the_pages_it_wrote_that_are_gone(db: Database, db_url: str,
                                                                 tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    now = datetime.now(UTC)
    simple_page(db, now)
    actor = Principal.system("tests")
    with db.unit_of_work() as s:
        service.create_page(s, actor=actor, now=now, slug="beta", name="Beta")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOCSIN_")}
    env.update(TOCSIN_DATABASE_URL=db_url, TOCSIN_DATA_DIR=str(tmp_path / "data"))

    def export(*extra: str) -> str:
        done = subprocess.run([str(TOCSIN), "statuspage", "export", str(out), *extra], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    export()
    assert (out / "beta" / MARKER).is_file() and (out / "acme" / "index.html").is_file()
    foreign_things(out, outside)
    with db.unit_of_work() as s:
        service.delete_page(s, actor=actor, now=now, page=service.require_page(s, "beta"))
    assert "removed" not in export("--page", "acme"), "exporting one page prunes nothing"
    assert (out / "beta" / "index.html").is_file()
    printed = export()
    assert "beta: removed" in printed
    assert not (out / "beta").exists() and (out / "acme" / "index.html").is_file()
    assert_foreign_things_intact(out, outside)
