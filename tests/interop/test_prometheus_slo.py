"""An SLO read from a real Prometheus (Debian's `prometheus`, installed by scripts/test-deps.sh).

A tiny exporter on loopback counts 95 good and 5 failed requests a second; Prometheus scrapes it
every second. The SLO's queries are what an operator writes (`sum(increase(...[$window]))`); after a
few scrapes the engine's minute evaluation reads one minute of counts: an SLI of 95 %, a burn rate
of 5 against a 99 % target. A query Prometheus rejects leaves a summary in our own words on the SLO
(its error text is never shown), and nothing is counted.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.harness.ports import free_port
from tests.harness.processes import READY_TIMEOUT, terminate, wait_http_ready

pytestmark = pytest.mark.slow
PROMETHEUS = "prometheus"
GOOD = 'sum(increase(demo_requests_total{code!="500"}[$window]))'
TOTAL = "sum(increase(demo_requests_total[$window]))"


class _Exporter(BaseHTTPRequestHandler):
    started = time.monotonic()

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        seconds = time.monotonic() - self.started
        body = ("# TYPE demo_requests_total counter\n"
                f'demo_requests_total{{code="200"}} {95 * seconds:.3f}\n'
                f'demo_requests_total{{code="500"}} {5 * seconds:.3f}\n').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which(PROMETHEUS)
    if binary is None:
        pytest.fail(f"{PROMETHEUS} is not installed; run scripts/test-deps.sh (make test does)")
    exporter = ThreadingHTTPServer(("127.0.0.1", free_port()), _Exporter)
    threading.Thread(target=exporter.serve_forever, daemon=True).start()
    port = free_port()
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
        f"  - job_name: demo\n    static_configs:\n      - targets: ['127.0.0.1:{exporter.server_port}']\n")
    log = tmp_path / "prometheus.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([binary, f"--config.file={tmp_path / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
                                stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http_ready(f"{url}/-/ready", proc, "prometheus", lambda: log.read_text(errors="replace")[-5000:],
                        READY_TIMEOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until a 5 s increase has samples to work with
            r = httpx.get(f"{url}/api/v1/query", params={"query": TOTAL.replace("$window", "5s")}, trust_env=False)
            if r.json()["data"]["result"] and float(r.json()["data"]["result"][0]["value"][1]) > 0:
                break
            time.sleep(0.5)
        else:
            pytest.fail("prometheus never scraped the exporter:\n" + log.read_text(errors="replace")[-5000:])
        yield url
    finally:
        terminate(proc)
        exporter.shutdown()


def test_an_slo_reads_its_counts_from_prometheus(runbook, prometheus):
    rb = runbook
    rb.configure(slo_prometheus_url=prometheus)
    rb.clock.set(datetime.now(UTC))
    rb.person("Ada", role="admin")
    rb.service("api")
    slo = rb.as_("Ada").post("/services/api/slos", name="api requests", target=99.0, window_days=7,
                             source="prometheus", good_query=GOOD, total_query=TOTAL)
    broken = rb.as_("Ada").post("/services/api/slos", name="broken", target=99.0, source="prometheus",
                                good_query="sum(increase(demo_requests_total[$window]) ((", total_query=TOTAL)
    time.sleep(3)  # three more scrapes inside the first minute's window
    rb.clock.set(datetime.now(UTC))
    assert rb.tick()["slos"] == 2

    got = rb.as_("Ada").get(f"/slos/{slo['id']}")
    assert got["last_error"] is None
    assert got["budget"]["total"] > 100  # about 100 requests a second over the minute read
    assert got["budget"]["sli"] == pytest.approx(0.95, abs=0.005)
    burn = {b["window"]: b["burn_rate"] for b in got["burn"]}
    assert burn["5m"] == pytest.approx(5.0, abs=0.5)

    bad = rb.as_("Ada").get(f"/slos/{broken['id']}")
    assert bad["last_error"] == "Prometheus refused the query (bad_data)"
    assert bad["budget"]["total"] == 0
