"""How fast the `tocsin` command starts, against `python -c pass` measured in the same run.

    .venv/bin/python bench/cli_start.py [--runs 15]

Scripts call the client verbs in loops (an ack per alert, a list every minute), so their start-up
is what a person waits for. Timed, each as a fresh process, interleaved with the reference so that
machine load hits both alike (median and best of --runs):

  * `python -c pass` (the reference: the interpreter's own start);
  * `tocsin --version`;
  * `tocsin alert --help` (loads the client verbs and the HTTP client);
  * `tocsin alert list` against a closed local port (a client verb end to end, up to the
    connection refusal it reports as one line);
  * `tocsin db --help` (a command that loads the database code, for comparison).

Target (issue 20): the client verbs in at most 0.3 s on the CI machine; a miss prints MISS.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
TOCSIN = [sys.executable, "-c", "from tocsin.cli.main import main; main()"]
CASES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "tocsin --version": [*TOCSIN, "--version"],
    "tocsin alert --help": [*TOCSIN, "alert", "--help"],
    "tocsin alert list (closed port)": [*TOCSIN, "alert", "list", "--url", "http://127.0.0.1:9", "--token", "x"],
    "tocsin db --help": [*TOCSIN, "db", "--help"],
}
CLIENT = ("tocsin --version", "tocsin alert --help", "tocsin alert list (closed port)")
TARGET = 0.3


def once(argv: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(HERE / "src")}
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    for argv in CASES.values():  # warm the page cache and the bytecode
        once(argv)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        for name, argv in CASES.items():
            times[name].append(once(argv))
    print(f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{args.runs} runs each, interleaved")
    ref = statistics.median(times["python -c pass"])
    print(f"{'command':36} {'median':>8} {'best':>8} {'x python':>9}")
    missed = False
    for name, values in times.items():
        med = statistics.median(values)
        flag = ""
        if name in CLIENT and med > TARGET:
            flag, missed = f"  MISS (target {TARGET:.1f} s)", True
        print(f"{name:36} {med:8.3f} {min(values):8.3f} {med / ref:8.1f}x{flag}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
