"""`tocsin exercise ...`: run a scored game day through the API and the real ingest endpoint.

`run` starts the exercise (POST /api/v1/exercises), fires each inject at its time (alerts to
/v2/enqueue with the drill key the API returned, everything else through
/api/v1/exercises/{id}/injects/{n}), shows the progress while the team responds, and finishes the
run when every expectation is settled or the last deadline has passed; then it prints the score."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.live import Live
from rich.table import Table

from tocsin.cli.api import DEFAULT_URL, Token, Url, call
from tocsin.cli.out import JsonFlag, console, err_console, fail, print_json, styled

exercise_app = typer.Typer(help="Scored exercises and game days (TOCSIN_URL, TOCSIN_TOKEN).", no_args_is_help=True)
POLL = 0.5  # seconds between progress reads


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {path}: {exc}", code=2)


def _validate(path: Path) -> Any:
    """The parsed scenario; exit 2 with each error's place in the file."""
    from tocsin.errors import InvalidInput  # lazy: only the exercise commands load the schema
    from tocsin.exercises.scenario import parse  # lazy: jsonschema and PyYAML load only for these commands

    try:
        return parse(_read(path))
    except InvalidInput as exc:
        for line in (exc.details or {}).get("errors") or [str(exc)]:
            err_console.print(styled((f"{path}:", "bold red"), f" {line}"), highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


@exercise_app.command("validate")
def validate(file: Annotated[Path, typer.Argument(help="Scenario YAML")]) -> None:
    """Check a scenario against the schema; exit 2 with the place of each error."""
    sc = _validate(file)
    console.print(f"{file}: valid ({sc.kind}, {sc.mode}, {len(sc.injects)} injects, {len(sc.expect)} expectations)", soft_wrap=True,
                  highlight=False)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    m, s = divmod(int(seconds), 60)
    return f"{m}m{s:02d}s"


def _rel(iso: str | None, started: str, speed: float) -> str:
    if not iso:
        return "-"
    return _clock((datetime.fromisoformat(iso) - datetime.fromisoformat(started)).total_seconds() * speed)


def score_table(run: dict[str, Any], score: dict[str, Any]) -> Table:
    speed = float(run.get("speed") or 1)
    table = Table(title=f"{run['name']} — score {score['total']}/100, "
                        f"{'PASSED' if score['passed'] else 'FAILED'} (pass mark {score['pass_score']})",
                  title_justify="left")
    for col in ("#", "expected", "deadline", "met at", "result", "points"):
        table.add_column(col)
    for r in score["results"]:
        table.add_row(str(r["n"] + 1), r["description"], _rel(r["deadline"], run["started_at"], speed),
                      _rel(r["met_at"], run["started_at"], speed), r["status"], f"{r['points']:g}/{r['weight']}")
    return table


def print_score(run: dict[str, Any], score: dict[str, Any]) -> None:
    console.print(score_table(run, score))
    t = score["times"]
    console.print(f"time to acknowledge {_clock(t['acknowledge'])} · to IC {_clock(t['commander'])} · "
                  f"to first update {_clock(t['first_update'])} · to mitigation {_clock(t['mitigated'])}",
                  highlight=False)
    console.print(f"expectations {score['expectations']:g}/100, guardrails tripped: "
                  f"{', '.join(score['guardrails']) or 'none'} (-{score['guardrail_penalty']})", highlight=False)
    console.print(f"SCORE {score['total']}/100 {'PASSED' if score['passed'] else 'FAILED'}", highlight=False)


def _progress(run: dict[str, Any], elapsed: float) -> Table:
    p = run["progress"]
    table = Table(title=f"{run['name']} ({run['mode']}) — {_clock(elapsed)} scenario time · injects "
                        f"{p['injects_fired']}/{p['injects']} · expectations met {p['met']}/{p['expectations']}",
                  title_justify="left")
    table.add_column("inject")
    table.add_column("at")
    table.add_column("sent")
    for i in run["injects"]:
        table.add_row(i["description"], i["at"], "✓" if i["fired_at"] else "")
    for r in run["score"]["results"]:
        table.add_row(f"expect: {r['description']}", "", r["status"])
    return table


def _send_alert(url: str, key: str, inject: Any) -> int:
    from tocsin.exercises.payloads import events_v2_body  # lazy: only the exercise commands need it

    body = events_v2_body(inject, key)
    try:
        return httpx.post(url.rstrip("/") + "/v2/enqueue", json=body, timeout=30).status_code
    except httpx.HTTPError as exc:
        fail(f"cannot reach tocsin's ingest endpoint at {url}: {exc}")


@exercise_app.command("run")
def run(
    file: Annotated[Path, typer.Argument(help="Scenario YAML")],
    speed: Annotated[float, typer.Option(min=1, max=3600, help="Compress time N-fold (demos, tests)")] = 1.0,
    tabletop: Annotated[bool, typer.Option("--tabletop", help="No real alerts: injects are recorded only")] = False,
    until: Annotated[float | None, typer.Option(help="Stop after this many scenario seconds")] = None,
    url: Url = DEFAULT_URL, token: Token = None, as_json: JsonFlag = False,
) -> None:
    """Run a scenario through the real pipeline, show the progress, and print the score."""
    scenario = _validate(file)
    body: dict[str, Any] = {"scenario": _read(file), "speed": speed}
    if tabletop:
        body["mode"] = "tabletop"
    started = call(url, token, "POST", "/api/v1/exercises", json=body)
    rid, key = started["id"], started.get("integration_key")
    err_console.print(f"exercise {rid} started ({started['mode']}), drill service {started['service']}",
                      highlight=False)
    t0 = time.monotonic()
    sent: set[int] = set()
    end = until if until is not None else scenario.last_deadline.total_seconds()
    state = started
    with Live(_progress(state, 0), console=err_console, refresh_per_second=4, transient=False) as live:
        while True:
            elapsed = (time.monotonic() - t0) * speed
            for inject in scenario.injects:
                if inject.n in sent or inject.at.total_seconds() > elapsed:
                    continue
                payload: dict[str, Any] = {}
                if key and inject.type in ("alert", "status_change"):
                    payload = {"delivered": True, "status_code": _send_alert(url, key, inject)}
                call(url, token, "POST", f"/api/v1/exercises/{rid}/injects/{inject.n}", json=payload)
                sent.add(inject.n)
            state = call(url, token, "GET", f"/api/v1/exercises/{rid}")
            live.update(_progress(state, elapsed))
            settled = all(r["status"] in ("met", "late") for r in state["score"]["results"])
            if (len(sent) == len(scenario.injects) and settled) or elapsed >= end:
                break
            time.sleep(POLL)
    final = call(url, token, "POST", f"/api/v1/exercises/{rid}/finish")
    if as_json:
        print_json(final)
        return
    print_score(final, final["score"])


@exercise_app.command("score")
def score(exercise_id: Annotated[str, typer.Argument(help="Exercise id")], url: Url = DEFAULT_URL,
          token: Token = None, as_json: JsonFlag = False) -> None:
    """Print an exercise's score (so far, while it runs)."""
    got = call(url, token, "GET", f"/api/v1/exercises/{exercise_id}")
    if as_json:
        print_json(got["score"])
        return
    print_score(got, got["score"])
