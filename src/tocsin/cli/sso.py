"""`tocsin sso scim-token create|list|revoke`: the bearer tokens an identity provider provisions users with.

The operator's commands work on the database directly (like `tocsin token`), audited as `system:cli`.
The console's Configure > Single sign-on page does the same for an admin.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tocsin.cli.common import DatabaseUrl, DataDir, JsonFlag, console, database, print_json, settings
from tocsin.clock import SystemClock
from tocsin.principal import Principal

sso_app = typer.Typer(help="Single sign-on: SCIM provisioning tokens.", no_args_is_help=True)
scim_app = typer.Typer(help="SCIM bearer tokens for the identity provider.", no_args_is_help=True)
sso_app.add_typer(scim_app, name="scim-token")


@scim_app.command("create")
def scim_token_create(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. the identity provider's name")],
    database_url: DatabaseUrl = None, data_dir: DataDir = None,
) -> None:
    """Make a SCIM token; the token is the last line of output (shown once)."""
    from tocsin.sso import tokens  # lazy: the SSO modules load only for the command that runs them

    cfg = settings(database_url, data_dir)
    db = database(cfg)
    try:
        with db.unit_of_work() as s:
            row, plaintext = tokens.create_token(s, actor=Principal.system("cli"), now=SystemClock().now(), name=name)
            row_id = row.id
    finally:
        db.dispose()
    console.print(f"SCIM token {row_id} (shown once); base URL {cfg.resolved_public_url()}/scim/v2:",
                  highlight=False, soft_wrap=True)
    print(plaintext)


@scim_app.command("list")
def scim_token_list(database_url: DatabaseUrl = None, data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """The SCIM tokens: id, name, prefix, made, last used, revoked."""
    from tocsin.sso import tokens  # lazy: the SSO modules load only for the command that runs them

    db = database(settings(database_url, data_dir))
    try:
        with db.read() as s:
            rows = [{"id": str(t.id), "name": t.name, "prefix": t.prefix, "created_at": t.created_at,
                     "created_by": t.created_by, "last_used_at": t.last_used_at, "revoked_at": t.revoked_at}
                    for t in tokens.list_tokens(s)]
    finally:
        db.dispose()
    if as_json:
        print_json(rows)
        return
    for r in rows:
        state = f"revoked {r['revoked_at']:%Y-%m-%d %H:%M}" if r["revoked_at"] else "live"
        console.print(f"{r['id']}  {r['prefix']}…  {r['name']}  ({state})", highlight=False, soft_wrap=True)
    if not rows:
        console.print("no SCIM tokens", highlight=False)


@scim_app.command("revoke")
def scim_token_revoke(token: Annotated[str, typer.Argument(help="Token id, or its prefix (scim_xxxxx)")],
                      database_url: DatabaseUrl = None, data_dir: DataDir = None) -> None:
    """Revoke a SCIM token; the identity provider's next request with it is refused."""
    from tocsin.sso import tokens  # lazy: the SSO modules load only for the command that runs them

    db = database(settings(database_url, data_dir))
    try:
        with db.unit_of_work() as s:
            tokens.revoke_token(s, actor=Principal.system("cli"), now=SystemClock().now(), token_id=token[:64])
    finally:
        db.dispose()
    console.print(f"revoked {token}", highlight=False)
