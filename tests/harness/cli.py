"""The real `tocsin` command, run as a subprocess.

- `cli_env(tmp_path, database_url=None, **extra)`: the environment for it (no inherited TOCSIN_*,
  no proxies, 80 plain columns).
- `run(env, *args)` / `run_parallel((env, args), ...)`: run it (independent calls at once).
- `ok(result)`, `fails(result, *words)`, `last_line(result)`: read what it did.
- The `serve` fixture (tests/harness/plugin.py) starts `tocsin serve` processes
  (`processes.TocsinProcess`) and stops them at teardown.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from tests.harness.backends import CHEAP_PASSWORD_HASHING, TEST_EGRESS
from tests.harness.processes import TOCSIN

CLI_TIMEOUT = 60


def cli_env(tmp_path: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """The inherited environment minus any TOCSIN_* settings, plus the given ones.

    Output is a pipe, so rich prints plain text at its default 80 columns; pin that against
    a developer's COLUMNS or FORCE_COLOR. Proxy settings are dropped: every server is on loopback.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TOCSIN_") and not k.lower().endswith("_proxy")
           and k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
    env["COLUMNS"] = "80"
    env.update(CHEAP_PASSWORD_HASHING)
    env.update(TEST_EGRESS)
    env["TOCSIN_DATA_DIR"] = str(tmp_path / "data")
    if database_url is not None:
        env["TOCSIN_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TOCSIN), *args], env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                          stdin=subprocess.DEVNULL)


def run_parallel(*calls: tuple[dict[str, str], Sequence[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Run independent CLI calls at the same time; return their results in order."""
    procs = [subprocess.Popen([str(TOCSIN), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True) for env, args in calls]
    results = []
    try:
        for p, (_env, args) in zip(procs, calls, strict=True):
            out, err = p.communicate(timeout=CLI_TIMEOUT)
            results.append(subprocess.CompletedProcess([str(TOCSIN), *args], p.returncode, out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return results


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"{result.args[1:]} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    return result


def fails(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """Assert a clean failure: non-zero exit, one `error:` line on stderr, no traceback; return that line."""
    assert result.returncode != 0, f"{result.args[1:]} unexpectedly succeeded\n{result.stdout}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert lines[0].startswith("error: "), lines[0]
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    return lines[0]


def last_line(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout.strip().splitlines()[-1]
