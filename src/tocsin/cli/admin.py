"""Operator commands that work on the database directly: serve, db, demo, user, token, audit."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Annotated

import typer

from tocsin.audit.service import Anchor, anchor, verify
from tocsin.cli.common import (
    DatabaseUrl,
    DataDir,
    JsonFlag,
    console,
    database,
    fail,
    port_in_use,
    print_json,
    self_command,
    settings,
    styled,
)
from tocsin.clock import SystemClock
from tocsin.config import Settings
from tocsin.db import Database, migrate
from tocsin.errors import SchemaMismatch
from tocsin.principal import OrgRole, Principal
from tocsin.users import service as users

db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
user_app = typer.Typer(help="Create users (operator access to the database).", no_args_is_help=True)
token_app = typer.Typer(help="Create and revoke API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)

WORKER_HEALTHCHECK_SECONDS = 30  # how long a server worker may take to start and to answer



def serve(
    database_url: DatabaseUrl = None,
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(envvar="TOCSIN_HOST", help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(envvar="TOCSIN_PORT", help="Port to listen on")] = None,
    migrate_first: Annotated[bool, typer.Option("--migrate", help="Upgrade the schema before serving")] = False,
    run_engine: Annotated[bool, typer.Option("--engine/--no-engine", envvar="TOCSIN_ENGINE",
                                             help="Also run the engine (checks, heartbeats) in this process")] = True,
    workers: Annotated[int | None, typer.Option(envvar="TOCSIN_WORKERS", min=1, max=64,
                                                help="Server processes (default 1); the engine runs once")] = None,
) -> None:
    """Serve the API and ingestion endpoints, and run the engine unless --no-engine."""
    import uvicorn  # lazy: the server's modules load only for the command that runs them (a fast `tocsin --help`)

    from tocsin.app import (
        create_app,  # lazy: the server's modules load only for the command that runs them (a fast `tocsin --help`)
    )

    cfg = settings(database_url, data_dir, host=host, port=port, workers=workers)
    url = cfg.resolved_database_url()
    if migrate_first:
        migrate.upgrade(url)
    db = database(cfg)
    try:
        migrate.check_schema(db.engine)
    except SchemaMismatch as exc:
        db.dispose()
        fail(exc.message, code=2)
    if port_in_use(cfg.host, cfg.port):
        db.dispose()
        fail(f"port {cfg.port} on {cfg.host} is in use (another tocsin?): stop that program, or choose another "
             f"port with --port or TOCSIN_PORT", code=2)
    cfg.resolved_secret_key()  # generate and keep it on first start
    clock = SystemClock()
    app = create_app(settings=cfg, db=db, clock=clock)
    eng = None
    if run_engine:
        from tocsin.engine.lock import (
            EngineLocked,  # lazy: the server's modules load only for the command that runs them (a fast `tocsin --help`)
        )
        from tocsin.engine.runner import (
            Engine,  # lazy: the server's modules load only for the command that runs them (a fast `tocsin --help`)
        )

        eng = Engine(db, clock, settings=cfg, interval=cfg.engine_interval)
        try:
            eng.start()
        except EngineLocked as exc:
            app.state.ingest.close()
            db.dispose()
            fail(str(exc), code=2)
    listener = None
    if cfg.mail_listen:
        from tocsin.mailin.server import (
            from_settings,  # lazy: the server's modules load only for the command that runs them (a fast `tocsin --help`)
        )

        try:
            listener = from_settings(db, app.state.ingest, cfg)
        except (ValueError, OSError) as exc:
            if eng is not None:
                eng.stop()
            app.state.ingest.close()
            db.dispose()
            fail(f"mail listener: {exc}", code=2)
        console.print(f"tocsin receiving alert mail on {cfg.mail_listen} for *@{cfg.mail_domain}", highlight=False)
    console.print(f"tocsin serving on http://{cfg.host}:{cfg.port} (database: {db.dialect}; "
                  f"engine {'on' if eng else 'off'}; {cfg.workers} worker{'s' if cfg.workers > 1 else ''})",
                  highlight=False, soft_wrap=True)
    _print_setup_link(db, cfg)
    try:
        if cfg.workers == 1:
            # open incident-room streams must not hold shutdown; proxy_headers=False: tocsin reads
            # X-Forwarded-For itself, and only from TOCSIN_TRUSTED_PROXIES (http/requests.client_address)
            uvicorn.run(app, host=cfg.host, port=cfg.port, log_level=cfg.log_level, access_log=False,
                        timeout_graceful_shutdown=5, proxy_headers=False)
        else:
            # Each worker builds its own app from the environment; this process supervises them
            # and runs the engine, so there is one engine whatever the number of workers.
            os.environ.update(TOCSIN_DATABASE_URL=url, TOCSIN_DATA_DIR=str(cfg.data_dir),
                              TOCSIN_SECRET_KEY=cfg.resolved_secret_key(), TOCSIN_AUDIT_KEY=cfg.resolved_audit_key())
            # A worker answers the supervisor's health check only once Python and the app are loaded:
            # uvicorn's 5 s would kill and restart workers in a loop on a busy machine.
            uvicorn.run("tocsin.app:app_from_env", factory=True, workers=cfg.workers, host=cfg.host,
                        port=cfg.port, log_level=cfg.log_level, access_log=False, timeout_graceful_shutdown=5,
                        proxy_headers=False, timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS)
    finally:
        if listener is not None:
            listener.stop()
        if eng is not None:
            eng.stop()
        app.state.ingest.close()


def _print_setup_link(db: Database, cfg: Settings) -> None:
    """While there are no users, print the first-run link that creates the first admin in the browser."""
    from tocsin.web import (
        sessions,  # lazy: the server's modules load only for the command that runs them (a fast `tocsin --help`)
    )

    with db.unit_of_work() as s:
        empty = sessions.needs_setup(s)
    if empty:
        console.print(f"No users yet: create the first admin at {cfg.resolved_public_url()}/setup/"
                      f"{sessions.setup_token(cfg)} (the link works until the first user exists)",
                      highlight=False, soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None, data_dir: DataDir = None,
               revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Migrate the database schema up to the newest revision (or REVISION)."""
    cfg = settings(database_url, data_dir)
    migrate.upgrade(cfg.resolved_database_url(), revision)
    console.print(f"database at revision {revision if revision != 'head' else migrate.head_revision()}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="Target revision, or 'base' to drop everything")],
                 database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Migrate the schema down to REVISION (take a backup first)."""
    cfg = settings(database_url, data_dir)
    migrate.downgrade(cfg.resolved_database_url(), revision)
    console.print(f"database at revision {revision}")


@db_app.command("current")
def db_current(database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Show the database's schema revision and this tocsin's."""
    cfg = settings(database_url, data_dir)
    db = database(cfg)
    try:
        console.print(f"database: {migrate.current_revision(db.engine) or 'none'}; code: {migrate.head_revision()}")
    finally:
        db.dispose()


def demo(database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Load the demo organisation into an empty database and print its credentials."""
    from tocsin import (
        demo as demo_data,  # lazy: the demo data loads only for `tocsin demo`
    )

    cfg = settings(database_url, data_dir)
    db = database(cfg)
    try:
        migrate.check_schema(db.engine)
        with db.unit_of_work() as s:
            if not demo_data.is_empty(s):
                console.print("The database already has users; demo data not loaded.")
                return
            creds, keys = demo_data.load(s, SystemClock(), cfg)
    except SchemaMismatch as exc:
        fail(exc.message, code=2)
    finally:
        db.dispose()
    cfg.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = (cfg.data_dir / "demo-credentials.txt").resolve()
    console.print(f"Demo users (shown once; also saved to {path}):", highlight=False, soft_wrap=True)
    lines = [f"{c.email}\t{c.role}\tpassword={c.password}\ttoken={c.token}" for c in creds]
    print("\n".join(lines))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    console.print("Demo integration keys (routing keys for /v2/enqueue, or /integrations/alertmanager/<key>):",
                  soft_wrap=True)
    key_lines = [f"{k.service}\t{k.type}\tkey={k.key}" for k in keys]
    print("\n".join(key_lines))
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    with os.fdopen(fd, "a") as fh:
        fh.write("\n".join(key_lines) + "\n")
    me = self_command()
    console.print(f"Try: TOCSIN_TOKEN={creds[1].token} {me} incident list", highlight=False, soft_wrap=True)
    base = cfg.resolved_public_url()
    console.print(f"After `{me} serve`: the console at {base}/ (log in as {creds[1].email} with the password "
                  f"above) and the public status page at {base}/status/demo", highlight=False, soft_wrap=True)


def _open(database_url: str | None, data_dir: str | None) -> Database:
    db = database(settings(database_url, data_dir))
    try:
        migrate.check_schema(db.engine)
    except SchemaMismatch as exc:
        db.dispose()
        fail(exc.message, code=2)
    return db


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="Login email")],
    name: Annotated[str, typer.Option(help="Display name")],
    role: Annotated[OrgRole, typer.Option(help="Organisation role")] = OrgRole.responder,
    password: Annotated[str | None, typer.Option(envvar="TOCSIN_NEW_PASSWORD",
                                                 help="Password for the web login (or set TOCSIN_NEW_PASSWORD)")] = None,
    token: Annotated[bool, typer.Option("--token", help="Also create an API token; printed as the last line")] = False,
    database_url: DatabaseUrl = None, data_dir: DataDir = None,
) -> None:
    """Create a user; with --token, the new API token is the last line of output."""
    db = _open(database_url, data_dir)
    clock = SystemClock()
    try:
        with db.unit_of_work() as s:
            actor = Principal.system("cli")
            user = users.create_user(s, actor=actor, now=clock.now(), email=email, name=name, org_role=role,
                                     password=password)
            plaintext = users.create_token(s, actor=actor, now=clock.now(), user=user, name="cli")[1] if token else None
    finally:
        db.dispose()
    console.print(f"created user {user.email} ({user.org_role}) id {user.id}", highlight=False, soft_wrap=True)
    if plaintext:
        print(plaintext)


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option("--user", help="User email or id")],
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
    database_url: DatabaseUrl = None, data_dir: DataDir = None,
) -> None:
    """Create an API token for a user; the token is the last line of output."""
    db = _open(database_url, data_dir)
    clock = SystemClock()
    try:
        with db.unit_of_work() as s:
            owner = users.require_user(s, user)
            row, plaintext = users.create_token(s, actor=Principal.system("cli"), now=clock.now(), user=owner,
                                                name=name)
    finally:
        db.dispose()
    console.print(f"token {row.id} for {owner.email} (shown once):", highlight=False, soft_wrap=True)
    print(plaintext)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(help="Token id")],
                 database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Revoke an API token; it stops working at once."""
    try:
        tid = uuid.UUID(token_id)
    except ValueError:
        fail(f"not a token id: {token_id}")
    db = _open(database_url, data_dir)
    clock = SystemClock()
    try:
        with db.unit_of_work() as s:
            users.revoke_token(s, actor=Principal.system("cli"), now=clock.now(), token=users.require_token(s, tid))
    finally:
        db.dispose()
    console.print(f"token {tid} revoked", soft_wrap=True)


def _read_anchor(path: Path) -> Anchor:
    """The newest anchor in `path` (one JSON anchor a line, as `tocsin audit anchor --file` appends them)."""
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read the anchor file {path}: {getattr(exc, 'strerror', None) or exc}")
    if not lines:
        fail(f"the anchor file {path} is empty")
    try:
        return Anchor.from_json(lines[-1])
    except ValueError as exc:
        fail(f"{path}: {exc}")


@audit_app.command("verify")
def audit_verify(database_url: DatabaseUrl = None, data_dir: DataDir = None, as_json: JsonFlag = False,
                 since_anchor: Annotated[Path | None, typer.Option(
                     "--since-anchor", help="Also check that the chain still holds the head recorded in this file "
                                            "(by `tocsin audit anchor --file`) and continues validly from it")] = None,
                 ) -> None:
    """Check the audit hash chain; exit 1 if any entry was edited or deleted."""
    kept = _read_anchor(since_anchor) if since_anchor is not None else None
    db = _open(database_url, data_dir)
    try:
        with db.unit_of_work() as s:
            result = verify(s, since_anchor=kept)
    finally:
        db.dispose()
    if as_json:
        print_json({"ok": result.ok, "entries": result.entries, "head_seq": result.head_seq,
                    "head_hash": result.head_hash, "keyed_from": result.keyed_from, "problems": result.problems})
    elif result.ok:
        console.print(f"audit log intact: {result.entries} entries; head hash {result.head_hash}", highlight=False,
                      soft_wrap=True)
        if kept is not None:
            console.print(f"it still holds the anchored entry {kept.seq} of {kept.at.isoformat()}", highlight=False,
                          soft_wrap=True)
    else:
        for p in result.problems:
            console.print(styled(("TAMPERED", "red"), f" {p}"), highlight=False, soft_wrap=True)
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor(
    file: Annotated[Path | None, typer.Option("--file", help="Append the anchor (one JSON line) to this file; "
                                                             "keep it where the database's writers cannot reach")] = None,
    webhook: Annotated[str | None, typer.Option("--webhook", help="POST the anchor as JSON to this URL "
                                                                  "(through the outbound guard)")] = None,
    database_url: DatabaseUrl = None, data_dir: DataDir = None,
) -> None:
    """Record the head of the audit chain (sequence number, hash, time) outside the database.

    Prints it, and with --file or --webhook also keeps it there. `tocsin audit verify --since-anchor FILE`
    then detects a log cut back below it or rewritten before it.
    """
    cfg = settings(database_url, data_dir)
    db = _open(database_url, data_dir)
    try:
        with db.unit_of_work() as s:
            head = anchor(s, now=SystemClock().now())
    finally:
        db.dispose()
    line = head.to_json()
    print(line)
    if file is not None:
        try:
            fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:
            fail(f"cannot write the anchor file {file}: {exc.strerror or exc}")
        console.print(f"anchored entry {head.seq} in {file}", highlight=False, soft_wrap=True)
    if webhook is not None:
        _post_anchor(webhook, line, cfg.outbound_allow)
        console.print(f"anchored entry {head.seq} at the webhook", highlight=False, soft_wrap=True)


def _post_anchor(url: str, document: str, outbound_allow: str) -> None:
    """POST the anchor through the guarded client; a refusal says why, never what the remote answered."""
    import httpx  # lazy: the HTTP client loads only for `tocsin audit anchor --webhook`

    from tocsin.net.guard import (
        Blocked,  # lazy: the HTTP client loads only for `tocsin audit anchor --webhook`
        EgressPolicy,  # lazy: the HTTP client loads only for `tocsin audit anchor --webhook`
    )
    from tocsin.net.http import make_client  # lazy: the HTTP client loads only for `tocsin audit anchor --webhook`

    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        fail("--webhook must be an http(s) URL")
    if target.scheme not in ("http", "https") or not target.host:
        fail("--webhook must be an http(s) URL")
    try:
        policy = EgressPolicy.from_settings(outbound_allow)
    except ValueError as exc:
        fail(f"TOCSIN_OUTBOUND_ALLOW: {exc}")
    try:
        with make_client(policy) as client:
            reply = client.post(target, content=document.encode(), headers={"Content-Type": "application/json"})
    except Blocked as exc:
        fail(f"the webhook was not called: {exc}")
    except httpx.HTTPError as exc:
        fail(f"the webhook could not be reached ({type(exc).__name__})")
    if not reply.is_success:
        fail(f"the webhook refused the anchor (HTTP {reply.status_code})")
