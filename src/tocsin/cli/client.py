"""`tocsin incident ...`: a client of the HTTP API, configured by TOCSIN_URL and TOCSIN_TOKEN."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from tocsin.cli.api import DEFAULT_URL, Token, Url, call, when
from tocsin.cli.out import JsonFlag, console, print_json

incident_app = typer.Typer(help="Declare and run incidents through the API (TOCSIN_URL, TOCSIN_TOKEN).",
                           no_args_is_help=True)

def _commander(inc: dict[str, Any]) -> str:
    return next((r["user"]["name"] for r in inc["roles"] if r["role"] == "incident_commander"), "-")


def _show(inc: dict[str, Any]) -> None:
    table = Table(show_header=False, title=f"{inc['ref']}  {inc['title']}", title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    rows = [
        ("severity", inc["severity"] + (f" (suggested {inc['suggested_severity']})" if inc["suggested_severity"]
                                        and inc["suggested_severity"] != inc["severity"] else "")),
        ("status", inc["status"]), ("kind", inc["kind"] + (" · restricted" if inc["restricted"] else "")),
        ("services", ", ".join(s["slug"] for s in inc["services"]) or "-"),
        ("roles", "; ".join(f"{r['role']}: {r['user']['name']}" for r in inc["roles"]) or "-"),
        ("declared", when(inc["declared_at"])), ("acknowledged", when(inc["acknowledged_at"])),
        ("mitigated", when(inc["mitigated_at"])), ("resolved", when(inc["resolved_at"])),
    ]
    if inc["summary"]:
        rows.insert(0, ("summary", inc["summary"]))
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)


@incident_app.command("declare")
def declare(
    title: Annotated[str, typer.Argument(help="What is wrong, in a few words")],
    sev: Annotated[str, typer.Option("--sev", "--severity", help="SEV1..SEV4 or P0..P3")] = "SEV3",
    kind: Annotated[str, typer.Option(help="operational or security")] = "operational",
    service: Annotated[list[str] | None, typer.Option("--service", help="Affected service slug (repeatable)")] = None,
    summary: Annotated[str, typer.Option(help="Longer description")] = "",
    ic: Annotated[str | None, typer.Option("--ic", help="Incident Commander (email); default: you")] = None,
    restricted: Annotated[bool | None, typer.Option("--restricted/--not-restricted", help="Need-to-know")] = None,
    url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False,
) -> None:
    """Declare an incident."""
    body: dict[str, Any] = {"title": title, "severity": sev, "kind": kind, "services": service or [],
                            "summary": summary}
    if ic:
        body["incident_commander"] = ic
    if restricted is not None:
        body["restricted"] = restricted
    inc = call(url, token, "POST", "/api/v1/incidents", json=body)
    if as_json:
        print_json(inc)
    else:
        console.print(f"declared {inc['ref']} ({inc['severity']}, {inc['status']}), IC {_commander(inc)}",
                      highlight=False)


@incident_app.command("list")
def list_(
    status: Annotated[list[str] | None, typer.Option("--status", help="Filter by status (repeatable)")] = None,
    sev: Annotated[list[str] | None, typer.Option("--sev", help="Filter by severity (repeatable)")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only incidents still being worked on")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False,
) -> None:
    """List incidents, newest first."""
    params: list[tuple[str, Any]] = [("limit", limit)] + [("status", s) for s in status or []]
    params += [("severity", s) for s in sev or []]
    if open_only:
        params.append(("open", "true"))
    page = call(url, token, "GET", "/api/v1/incidents", params=params)
    if as_json:
        print_json(page["items"])
        return
    table = Table()
    for col in ("ref", "sev", "status", "title", "IC", "declared"):
        table.add_column(col, overflow="fold")
    for inc in page["items"]:
        table.add_row(inc["ref"], inc["severity"], inc["status"], inc["title"], _commander(inc),
                      when(inc["declared_at"]))
    console.print(table)


@incident_app.command("show")
def show(ref: Annotated[str, typer.Argument(help="INC-42 or id")], url: Url = DEFAULT_URL, token: Token = None,
         as_json: JsonFlag = False) -> None:
    """Show one incident."""
    inc = call(url, token, "GET", f"/api/v1/incidents/{ref}")
    print_json(inc) if as_json else _show(inc)


def _patch(url: str, token: str | None, ref: str, body: dict[str, Any], as_json: bool) -> None:
    inc = call(url, token, "PATCH", f"/api/v1/incidents/{ref}", json=body)
    if as_json:
        print_json(inc)
    else:
        console.print(f"{inc['ref']} is {inc['severity']}, {inc['status']}", highlight=False)


@incident_app.command("status")
def status(ref: Annotated[str, typer.Argument()], new_status: Annotated[str, typer.Argument(metavar="STATUS")],
           url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Move an incident to STATUS (investigating, identified, mitigated, monitoring, resolved, ...)."""
    _patch(url, token, ref, {"status": new_status}, as_json)


@incident_app.command("sev")
def sev(ref: Annotated[str, typer.Argument()], severity: Annotated[str, typer.Argument(metavar="SEVERITY")],
        reason: Annotated[str | None, typer.Option(help="Why, when it differs from the suggested severity")] = None,
        url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Change an incident's severity."""
    body: dict[str, Any] = {"severity": severity}
    if reason:
        body["severity_reason"] = reason
    _patch(url, token, ref, body, as_json)


@incident_app.command("note")
def note(ref: Annotated[str, typer.Argument()], text: Annotated[str, typer.Argument()],
         at: Annotated[str | None, typer.Option("--at", help="Back-date (ISO 8601 with offset; scribe/IC)")] = None,
         key: Annotated[bool, typer.Option("--key", help="Mark as a key event")] = False,
         url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Add a note to the timeline."""
    body: dict[str, Any] = {"text": text, "key_event": key}
    if at:
        body["occurred_at"] = at
    entry = call(url, token, "POST", f"/api/v1/incidents/{ref}/notes", json=body)
    print_json(entry) if as_json else console.print(f"note added to {ref.upper()}", highlight=False)


@incident_app.command("role")
def role(ref: Annotated[str, typer.Argument()],
         role_name: Annotated[str, typer.Argument(metavar="ROLE", help="incident_commander, scribe, comms_lead, ...")],
         user: Annotated[str, typer.Argument(help="User email, or '-' to vacate the role")],
         url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Assign (or hand over) a role; USER '-' vacates it."""
    roles = call(url, token, "POST", f"/api/v1/incidents/{ref}/roles",
                 json={"role": role_name, "user": None if user == "-" else user})
    if as_json:
        print_json(roles)
        return
    holders = [r["user"]["name"] for r in roles["current"] if r["role"] == role_name]
    console.print(f"{ref.upper()} {role_name}: {', '.join(holders) or 'vacant'}", highlight=False)


@incident_app.command("timeline")
def timeline(ref: Annotated[str, typer.Argument()], url: Url = DEFAULT_URL, token: Token = None,
             as_json: JsonFlag = False) -> None:
    """Show the timeline in the order things happened."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = call(url, token, "GET", f"/api/v1/incidents/{ref}/timeline", params=params)
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    if as_json:
        print_json(items)
        return
    table = Table(title=f"{ref.upper()} timeline", title_justify="left")
    for col in ("time", "who", "what", ""):
        table.add_column(col, overflow="fold")
    for e in items:
        flag = "★" if e["key_event"] else ""
        if e["occurred_at"] != e["recorded_at"] and e["kind"] == "note":
            flag += f" (recorded {when(e['recorded_at'])})"
        table.add_row(when(e["occurred_at"]), e["actor"]["name"] if e["actor"] else "system", e["text"], flag)
    console.print(table)


@incident_app.command("join")
def join(ref: Annotated[str, typer.Argument()],
         observer: Annotated[bool, typer.Option("--observer", help="Follow without taking part")] = False,
         user: Annotated[str | None, typer.Option(help="Add someone else (email; IC or admin)")] = None,
         url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Join an incident as a responder (or --observer)."""
    kind = "observer" if observer else "responder"
    out = call(url, token, "POST", f"/api/v1/incidents/{ref}/participants", json={"user": user, "kind": kind})
    print_json(out) if as_json else console.print(f"joined {ref.upper()} as {kind}", highlight=False)


@incident_app.command("page")
def page(ref: Annotated[str, typer.Argument()],
         user: Annotated[list[str] | None, typer.Option("--user", help="Page this person (email; repeatable)")] = None,
         schedule: Annotated[list[str] | None, typer.Option("--schedule", help="Page this schedule's on-call")] = None,
         team: Annotated[list[str] | None, typer.Option("--team", help="Page this team (repeatable)")] = None,
         message: Annotated[str, typer.Option(help="Why they are needed (in the page)")] = "",
         url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Add responders: page people, a schedule's on-call or a team to join the incident."""
    targets = ([{"kind": "user", "key": u} for u in user or []] + [{"kind": "schedule", "key": s} for s in schedule or []]
               + [{"kind": "team", "key": t} for t in team or []])
    if not targets:
        raise typer.BadParameter("name whom to page: --user, --schedule or --team")
    out = call(url, token, "POST", f"/api/v1/incidents/{ref}/responders", json={"targets": targets, "message": message})
    asked = out if isinstance(out, list) else out.get("items", out.get("requests", []))
    print_json(out) if as_json else console.print(f"paged {len(asked)} responder(s) for {ref.upper()}", highlight=False)


@incident_app.command("update")
def public_update(ref: Annotated[str, typer.Argument()],
                  body: Annotated[str, typer.Argument(help="What the public update says")],
                  page_slug: Annotated[str, typer.Option("--page", help="Status page slug")],
                  status: Annotated[str, typer.Option(help="investigating, identified, monitoring, resolved")] = "investigating",
                  name: Annotated[str | None, typer.Option(help="Public title (required for the first post)")] = None,
                  component: Annotated[list[str] | None, typer.Option("--component", help="component=status (repeatable)")] = None,
                  quiet: Annotated[bool, typer.Option("--no-notify", help="Do not send it to subscribers")] = False,
                  url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Post a public status page update for an incident (a security incident's waits for Legal)."""
    statuses: dict[str, str] = {}
    for item in component or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r}: write component=status")
        statuses[key] = value
    out = call(url, token, "POST", f"/api/v1/incidents/{ref}/status-updates",
               json={"page": page_slug, "status": status, "body": body, "name": name, "component_statuses": statuses,
                     "deliver_notifications": not quiet})
    print_json(out) if as_json else console.print(f"public update for {ref.upper()} on {page_slug}: {status}",
                                                  highlight=False)
