"""The responder verbs: `tocsin alert|silence|override|action-item|problem ...`, each one API call
(TOCSIN_URL, TOCSIN_TOKEN) with `--json` for scripts. What the server allows is what the API allows:
these commands only shape requests and print answers. Only the HTTP client is imported (cli/main.py)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from tocsin.cli.api import DEFAULT_URL, Token, Url, call, request, when
from tocsin.cli.out import JsonFlag, console, print_json

alert_app = typer.Typer(help="Alerts: list, acknowledge, resolve, attach, escalate, reassign (through the API).",
                        no_args_is_help=True)
silence_app = typer.Typer(help="Silences: hold back alerts matching labels for a while (through the API).",
                          no_args_is_help=True)
override_app = typer.Typer(help="Schedule overrides: cover someone's shifts (through the API).", no_args_is_help=True)
action_app = typer.Typer(help="Action items: list, add, update, close (through the API).", no_args_is_help=True)
problem_app = typer.Typer(help="Problems: recurring incidents under one record (through the API).",
                          no_args_is_help=True)

Id = Annotated[str, typer.Argument(help="The id (as `list` shows it)")]


def _table(columns: tuple[str, ...], rows: list[tuple[str, ...]], title: str | None = None) -> None:
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console.print(table)


def _done(value: Any, as_json: bool, text: str) -> None:
    print_json(value) if as_json else console.print(text, highlight=False)


def _pages(url: str, token: str | None, path: str, params: list[tuple[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Up to `limit` items of a cursor-paged list."""
    items: list[dict[str, Any]] = []
    cursor = None
    while len(items) < limit:
        page = call(url, token, "GET", path, params=params + [("limit", min(500, limit - len(items)))]
                    + ([("cursor", cursor)] if cursor else []))
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return items


# --- alerts ------------------------------------------------------------------------------------

def _alert_line(a: dict[str, Any]) -> str:
    return f"alert {a['id']} ({a['service']}) is {a['status']}" + (f", on {a['incident']}" if a.get("incident") else "")


@alert_app.command("list")
def alert_list(
    status: Annotated[list[str] | None, typer.Option("--status", help="triggered, acknowledged, resolved (repeatable)")] = None,
    service: Annotated[str | None, typer.Option(help="Service slug")] = None,
    incident: Annotated[str | None, typer.Option(help="Only alerts attached to this incident (INC-42)")] = None,
    label: Annotated[list[str] | None, typer.Option("--label", help="name=value (repeatable)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=5000)] = 50,
    url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False,
) -> None:
    """List alerts, newest first."""
    params: list[tuple[str, Any]] = [("status", s) for s in status or []] + [("label", x) for x in label or []]
    params += [(k, v) for k, v in (("service", service), ("incident", incident)) if v]
    items = _pages(url, token, "/api/v1/alerts", params, limit)
    if as_json:
        print_json(items)
        return
    _table(("id", "service", "status", "sev", "summary", "last seen", "incident"),
           [(a["id"], a["service"], a["status"], a["severity"], a["summary"], when(a["last_seen_at"]),
             a.get("incident") or "-") for a in items])


@alert_app.command("show")
def alert_show(alert_id: Id, url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Show one alert with the decisions taken on it (why it paged or did not)."""
    a = call(url, token, "GET", f"/api/v1/alerts/{alert_id}")
    if as_json:
        print_json(a)
        return
    console.print(f"{a['summary']}\n{_alert_line(a)}, {a['severity']}/{a['urgency']}, "
                  f"first seen {when(a['first_seen_at'])}, {a['occurrences']} occurrence(s)", highlight=False)
    _table(("time", "decision"), [(when(d.get("at") or d.get("created_at")), d.get("text") or d.get("kind", ""))
                                  for d in a.get("decisions", [])])


@alert_app.command("ack")
def alert_ack(alert_id: Id, url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Acknowledge an alert (stops its paging)."""
    a = call(url, token, "POST", f"/api/v1/alerts/{alert_id}/acknowledge")
    _done(a, as_json, _alert_line(a))


@alert_app.command("resolve")
def alert_resolve(alert_id: Id, url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Resolve an alert."""
    a = call(url, token, "POST", f"/api/v1/alerts/{alert_id}/resolve")
    _done(a, as_json, _alert_line(a))


@alert_app.command("attach")
def alert_attach(alert_id: Id, incident: Annotated[str, typer.Argument(help="INC-42")],
                 url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Attach an alert to an incident (shown on its timeline)."""
    a = call(url, token, "POST", f"/api/v1/alerts/{alert_id}/attach", json={"incident": incident})
    _done(a, as_json, _alert_line(a))


@alert_app.command("escalate")
def alert_escalate(alert_id: Id,
                   level: Annotated[int | None, typer.Option(help="Jump to this level (1 = first); default: the next")] = None,
                   url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Escalate an alert's paging now instead of waiting for the level's delay."""
    e = call(url, token, "POST", f"/api/v1/alerts/{alert_id}/escalate", json={"level": level})
    _done(e, as_json, f"alert {alert_id} escalated to level {e['level'] + 1}")


@alert_app.command("reassign")
def alert_reassign(alert_id: Id,
                   user: Annotated[list[str] | None, typer.Option("--user", help="Page this person (email; repeatable)")] = None,
                   schedule: Annotated[list[str] | None, typer.Option("--schedule", help="Page this schedule's on-call (repeatable)")] = None,
                   team: Annotated[list[str] | None, typer.Option("--team", help="Page this team (repeatable)")] = None,
                   policy: Annotated[str | None, typer.Option(help="Restart paging with this escalation policy")] = None,
                   url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Hand an alert's paging to other people, a schedule, a team or another escalation policy."""
    targets = ([{"type": "user", "id": u} for u in user or []] + [{"type": "schedule", "id": s} for s in schedule or []]
               + [{"type": "team", "id": t} for t in team or []])
    body: dict[str, Any] = {"policy": policy} if policy else {"targets": targets}
    e = call(url, token, "POST", f"/api/v1/alerts/{alert_id}/reassign", json=body)
    _done(e, as_json, f"alert {alert_id} reassigned")


# --- silences ----------------------------------------------------------------------------------

@silence_app.command("list")
def silence_list(state: Annotated[str | None, typer.Option(help="active, pending or expired")] = None,
                 limit: Annotated[int, typer.Option(min=1, max=5000)] = 100,
                 url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """List silences."""
    items = _pages(url, token, "/api/v1/silences", [("state", state)] if state else [], limit)
    if as_json:
        print_json(items)
        return
    _table(("id", "matchers", "from", "until", "by", "reason"),
           [(s["id"], ", ".join(f"{m['name']}{m.get('op', '=')}{m['value']}" for m in s["matchers"]),
             when(s["starts_at"]), when(s["ends_at"]), s.get("author", ""), s["reason"]) for s in items])


def _matcher(text: str) -> dict[str, str]:
    for op in ("!~", "=~", "!=", "="):
        name, sep, value = text.partition(op)
        if sep and name:
            return {"name": name.strip(), "op": op, "value": value.strip()}
    raise typer.BadParameter(f"{text!r}: write name=value, name!=value, name=~regex or name!~regex")


@silence_app.command("add")
def silence_add(matcher: Annotated[list[str], typer.Argument(help="name=value, name!=value, name=~regex (all must match)")],
                until: Annotated[str, typer.Option("--until", help="End (ISO 8601 with offset)")],
                reason: Annotated[str, typer.Option("--reason", help="Why (shown to whoever wonders why nothing paged)")],
                start: Annotated[str | None, typer.Option("--from", help="Start (default now)")] = None,
                url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Silence alerts matching every MATCHER until --until."""
    body: dict[str, Any] = {"matchers": [_matcher(m) for m in matcher], "ends_at": until, "reason": reason}
    if start:
        body["starts_at"] = start
    s = call(url, token, "POST", "/api/v1/silences", json=body)
    _done(s, as_json, f"silence {s['id']} until {when(s['ends_at'])}")


@silence_app.command("expire")
def silence_expire(silence_id: Id, url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """End a silence now."""
    s = call(url, token, "POST", f"/api/v1/silences/{silence_id}/expire")
    _done(s, as_json, f"silence {s['id']} expired")


# --- overrides ---------------------------------------------------------------------------------

@override_app.command("list")
def override_list(schedule: Annotated[str, typer.Argument(help="Schedule slug")],
                  past: Annotated[bool, typer.Option("--past", help="Include overrides that have ended")] = False,
                  url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """List a schedule's overrides."""
    page = call(url, token, "GET", f"/api/v1/schedules/{schedule}/overrides",
                params={"include_past": "true" if past else "false", "limit": 500})
    items = page["items"] if isinstance(page, dict) else page
    if as_json:
        print_json(items)
        return
    _table(("id", "who", "instead of", "from", "until"),
           [(o["id"], o["user"]["email"], (o.get("replaces") or {}).get("email", "-"), when(o["starts_at"]),
             when(o["ends_at"])) for o in items], title=f"{schedule} overrides")


@override_app.command("add")
def override_add(schedule: Annotated[str, typer.Argument(help="Schedule slug")],
                 start: Annotated[str, typer.Option("--from", help="Start (ISO 8601 with offset)")],
                 end: Annotated[str, typer.Option("--until", help="End (ISO 8601 with offset)")],
                 user: Annotated[str | None, typer.Option(help="Who covers (email); default: you")] = None,
                 replaces: Annotated[str | None, typer.Option(help="Whom they replace (email); default: whoever is on")] = None,
                 url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Put someone (you by default) on call in a schedule for a while."""
    body = {"starts_at": start, "ends_at": end, "user": user, "replaces": replaces}
    o = call(url, token, "POST", f"/api/v1/schedules/{schedule}/overrides", json=body)
    _done(o, as_json, f"override {o['id']}: {o['user']['email']} on call in {schedule} "
                      f"from {when(o['starts_at'])} until {when(o['ends_at'])}")


@override_app.command("delete")
def override_delete(schedule: Annotated[str, typer.Argument(help="Schedule slug")], override_id: Id,
                    url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Remove an override."""
    request(url, token, "DELETE", f"/api/v1/schedules/{schedule}/overrides/{override_id}")
    _done({"deleted": override_id}, as_json, f"override {override_id} removed")


# --- action items ------------------------------------------------------------------------------

def _item_line(i: dict[str, Any]) -> str:
    owner = (i.get("owner") or {}).get("email") or "no owner"
    return f"action item {i['ref']} ({i['status']}, {owner}): {i['title']}"


@action_app.command("list")
def action_list(status: Annotated[str | None, typer.Option(help="open, in_progress, done, wont_do")] = None,
                owner: Annotated[str | None, typer.Option(help="Owner email, or 'me'")] = None,
                team: Annotated[str | None, typer.Option(help="Team slug")] = None,
                incident: Annotated[str | None, typer.Option(help="INC-42")] = None,
                overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue items")] = False,
                limit: Annotated[int, typer.Option(min=1, max=5000)] = 100,
                url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """List action items."""
    params: list[tuple[str, Any]] = [(k, v) for k, v in (("status", status), ("owner", owner), ("team", team),
                                                          ("incident", incident)) if v]
    if overdue:
        params.append(("overdue", "true"))
    items = _pages(url, token, "/api/v1/action-items", params, limit)
    if as_json:
        print_json(items)
        return
    _table(("id", "ref", "status", "priority", "title", "owner", "due"),
           [(i["id"], i["ref"], i["status"], i["priority"], i["title"], (i["owner"] or {}).get("email") or "-",
             when(i["due_at"]) + (" (overdue)" if i["overdue"] else "")) for i in items])


@action_app.command("add")
def action_add(title: Annotated[str, typer.Argument()],
               kind: Annotated[str, typer.Option("--type", help="mitigate, prevent, detect, process, ...")] = "prevent",
               priority: Annotated[str | None, typer.Option(help="high, medium, low")] = None,
               owner: Annotated[str | None, typer.Option(help="Owner email")] = None,
               team: Annotated[str | None, typer.Option(help="Team slug")] = None,
               due: Annotated[str | None, typer.Option("--due", help="Due date (YYYY-MM-DD)")] = None,
               incident: Annotated[str | None, typer.Option(help="INC-42")] = None,
               description: Annotated[str, typer.Option(help="Longer text")] = "",
               url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Add an action item (on an incident with --incident)."""
    body: dict[str, Any] = {"title": title, "type": kind, "description": description}
    body |= {k: v for k, v in (("priority", priority), ("owner", owner), ("team", team), ("due_on", due),
                               ("incident", incident)) if v}
    i = call(url, token, "POST", "/api/v1/action-items", json=body)
    _done(i, as_json, _item_line(i))


@action_app.command("update")
def action_update(item_id: Id,
                  status: Annotated[str | None, typer.Option(help="open, in_progress, done, wont_do")] = None,
                  owner: Annotated[str | None, typer.Option(help="Owner email")] = None,
                  priority: Annotated[str | None, typer.Option(help="high, medium, low")] = None,
                  due: Annotated[str | None, typer.Option("--due", help="Due date (YYYY-MM-DD)")] = None,
                  title: Annotated[str | None, typer.Option()] = None,
                  url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Change an action item."""
    body = {k: v for k, v in (("status", status), ("owner", owner), ("priority", priority), ("due_on", due),
                              ("title", title)) if v}
    if not body:
        raise typer.BadParameter("say what to change (--status, --owner, --priority, --due, --title)")
    i = call(url, token, "PATCH", f"/api/v1/action-items/{item_id}", json=body)
    _done(i, as_json, _item_line(i))


@action_app.command("done")
def action_done(item_id: Id, url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Mark an action item done."""
    i = call(url, token, "PATCH", f"/api/v1/action-items/{item_id}", json={"status": "done"})
    _done(i, as_json, _item_line(i))


# --- problems ----------------------------------------------------------------------------------

@problem_app.command("list")
def problem_list(status: Annotated[str | None, typer.Option(help="Filter by status")] = None,
                 service: Annotated[str | None, typer.Option(help="Service slug")] = None,
                 limit: Annotated[int, typer.Option(min=1, max=5000)] = 100,
                 url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """List problems."""
    params = [(k, v) for k, v in (("status", status), ("service", service)) if v]
    items = _pages(url, token, "/api/v1/problems", params, limit)
    if as_json:
        print_json(items)
        return
    _table(("id", "status", "title", "incidents"),
           [(p["id"], p["status"], p["title"], str(p.get("incident_count", len(p.get("incidents", []))))) for p in items])


@problem_app.command("create")
def problem_create(title: Annotated[str, typer.Argument()],
                   incident: Annotated[list[str] | None, typer.Option("--incident", help="INC-42 (repeatable)")] = None,
                   service: Annotated[str | None, typer.Option(help="Service slug")] = None,
                   description: Annotated[str, typer.Option(help="Longer text")] = "",
                   url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Open a problem, linking incidents to it."""
    body: dict[str, Any] = {"title": title, "description": description, "incidents": incident or []}
    if service:
        body["service"] = service
    p = call(url, token, "POST", "/api/v1/problems", json=body)
    _done(p, as_json, f"problem {p['id']}: {p['title']}")


@problem_app.command("link")
def problem_link(problem_id: Id, incident: Annotated[str, typer.Argument(help="INC-42")],
                 url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Link an incident to a problem."""
    p = call(url, token, "POST", f"/api/v1/problems/{problem_id}/incidents", json={"incident": incident})
    _done(p, as_json, f"{incident.upper()} linked to problem {problem_id}")


@problem_app.command("unlink")
def problem_unlink(problem_id: Id, incident: Annotated[str, typer.Argument(help="INC-42")],
                   url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False) -> None:
    """Unlink an incident from a problem."""
    request(url, token, "DELETE", f"/api/v1/problems/{problem_id}/incidents/{incident}")
    _done({"unlinked": incident}, as_json, f"{incident.upper()} unlinked from problem {problem_id}")
