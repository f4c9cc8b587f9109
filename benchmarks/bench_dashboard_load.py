"""Load benchmark: dashboard and metric pages under 20 concurrent signed-in clients.

Usage::

    .venv/bin/python benchmarks/bench_dashboard_load.py                    # 20,000 people
    .venv/bin/python benchmarks/bench_dashboard_load.py --people 1000000 --data-dir /tmp/ics1m
    .venv/bin/python benchmarks/bench_dashboard_load.py --data-dir /tmp/ics --reuse

Builds (or, with ``--reuse``, reuses) a demo ICS in ``--data-dir`` through the project's
own pipeline (:func:`wholesystem.demo.build_demo`: synthetic extracts, footprint, ingest,
linkage, demo users), loads the monthly returns and publishes a metric snapshot, then
serves the real app with uvicorn on loopback and drives it with **Locust** (headless,
``FastHttpUser``), a separate process, in two phases of equal length and concurrency:

* **reference**: ``GET /health`` only (the app, its middleware and one database query);
* **pages**: signed-in users cycling through the system dashboard, the dashboard of each
  place, neighbourhood and organisation, and metric pages (SPC chart, data table,
  drill-down) for every metric at the system and at each place.

Every client waits for its answer before sending the next request (no think time), so the
latencies include queueing behind the other 19. Prints p50, p95 and requests per second
for each phase, and the ratio of the pages' p95 to the reference's. The target is a p95 of
at most 200 ms for the pages; exit status 1 when it is missed.

Locust is not a dependency of the service: install it where you run the benchmark
(``pip install locust``) or point ``--locust`` at its executable.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

TARGET_P95_MS = 200.0
SECRET = "bench-dashboard-load-secret-0123456789abcdef"  # noqa: S105 - a throwaway demo

LOCUSTFILE = """
import json, os, random, re
from itertools import cycle
from locust import FastHttpUser, task, constant

CONFIG = json.loads(os.environ["WS_BENCH_CONFIG"])
PHASE = os.environ["WS_BENCH_PHASE"]
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Visitor(FastHttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.paths = cycle(random.Random(id(self)).sample(CONFIG["paths"], len(CONFIG["paths"])))
        if PHASE == "pages":
            page = self.client.get("/login", name="sign-in")
            token = TOKEN.search(page.text).group(1)
            r = self.client.post(
                "/login",
                data={"username": CONFIG["username"], "password": CONFIG["password"],
                      "csrf_token": token},
                name="sign-in", allow_redirects=False,
            )
            if r.status_code != 303:
                raise RuntimeError(f"sign-in failed: {r.status_code}")

    @task
    def visit(self):
        if PHASE == "health":
            self.client.get("/health", name="/health")
            return
        path, _kind = next(self.paths)
        with self.client.get(path, name="pages", catch_response=True) as r:
            if r.status_code != 200 or "data-as-at" not in r.text:
                r.failure(f"{r.status_code} on {path}")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _locust_command(given: str | None) -> list[str]:
    if given:
        return [given]
    found = shutil.which("locust")
    if found:
        return [found]
    return [sys.executable, "-m", "locust"]


def _prepare(data_dir: Path, people: int, seed: int, reuse: bool) -> tuple[str, str]:
    """Build the demo ICS and publish a snapshot; returns a demo username and password."""
    from wholesystem.config import Settings
    from wholesystem.demo import build_demo
    from wholesystem.metrics import snapshots
    from wholesystem.metrics.pipeline import load_returns_step, publish
    from wholesystem.store.db import open_database
    from wholesystem.store.lake import Lake

    settings = Settings(mode="demo", data_dir=data_dir, secret_key=SECRET)
    start = time.perf_counter()
    demo = build_demo(settings, people=people, seed=seed)
    print(f"demo ICS of {people:,} people ready in {time.perf_counter() - start:.1f} s")
    lake = Lake(settings.resolved_lake_dir)
    with open_database(settings.resolved_database_url) as factory:
        with factory() as s:
            current = snapshots.current_snapshot(s)
        if current is None or not reuse:
            returns = settings.demo_dir / "returns"
            if returns.exists():
                load_returns_step(factory, lake, returns, actor="bench")
            t = time.perf_counter()
            info = publish(factory, lake, actor="bench")
            print(
                f"published snapshot {info.id} ({info.value_count:,} values) "
                f"in {time.perf_counter() - t:.1f} s"
            )
    username, password, *_ = demo.logins[0]
    return username, password


def _paths(data_dir: Path) -> list[tuple[str, str]]:
    """The pages the clients cycle through: (path, the name Locust reports it under)."""
    from wholesystem.config import Settings
    from wholesystem.metrics.catalogue import CATALOGUE
    from wholesystem.metrics.presenters import area_index, valid_at
    from wholesystem.store.db import open_database

    settings = Settings(mode="demo", data_dir=data_dir, secret_key=SECRET)
    with open_database(settings.resolved_database_url) as factory, factory() as s:
        index = area_index(s)
    assert index.system is not None
    places = index.child_areas(index.system.code)
    hoods = [h for p in places for h in index.child_areas(p.code)]
    out: list[tuple[str, str]] = [("/dashboard", "dashboard")]
    out += [(f"/dashboard?area={a.code}", "dashboard?area") for a in [*places, *hoods]]
    out += [(f"/dashboard?area={o}", "dashboard?area") for o in list(index.organisations)[:5]]
    for metric in CATALOGUE:
        out.append((f"/dashboard/metrics/{metric.id}", "metric"))
        out += [
            (f"/dashboard/metrics/{metric.id}?area={p.code}", "metric?area")
            for p in places
            if valid_at(metric, p.kind)
        ]
    return out


def _wait_until_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the app did not start")


def _run_locust(
    command: list[str],
    locustfile: Path,
    url: str,
    phase: str,
    config: dict[str, object],
    *,
    users: int,
    seconds: int,
    out: Path,
) -> dict[str, dict[str, str]]:
    prefix = out / phase
    env = dict(os.environ, WS_BENCH_CONFIG=json.dumps(config), WS_BENCH_PHASE=phase)
    subprocess.run(
        [
            *command, "-f", str(locustfile), "--headless", "--host", url,
            "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
            "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
            "--reset-stats",
        ],
        check=True, env=env,
    )  # fmt: skip
    with open(f"{prefix}_stats.csv", newline="") as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def _figures(rows: dict[str, dict[str, str]], name: str) -> tuple[float, float, float, int, int]:
    row = rows[name]
    return (
        float(row["50%"]),
        float(row["95%"]),
        float(row["Requests/s"]),
        int(row["Request Count"]),
        int(row["Failure Count"]),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when the pages' p95 misses the target."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", type=Path, default=None, help="build here / reuse")
    parser.add_argument("--reuse", action="store_true", help="reuse a published snapshot")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=30, help="length of each phase")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--locust", default=None, help="the locust executable")
    args = parser.parse_args(argv)

    keep = args.data_dir is not None
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    out = Path(tempfile.mkdtemp(prefix="bench-dashboard-out-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        username, password = _prepare(data_dir, args.people, args.seed, args.reuse)
        paths = _paths(data_dir)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        env = dict(
            os.environ,
            WHOLESYSTEM_MODE="demo",
            WHOLESYSTEM_DATA_DIR=str(data_dir),
            WHOLESYSTEM_SECRET_KEY=SECRET,
            # Plain HTTP on loopback: a load client (unlike a browser) will not send back a
            # Secure cookie to http://127.0.0.1.
            WHOLESYSTEM_COOKIE_SECURE="false",
        )
        server = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "--factory", "wholesystem.web.app:create_app",
                "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers),
                "--log-level", "warning", "--no-access-log",
            ],
            env=env,
        )  # fmt: skip
        _wait_until_up(url)
        locustfile = out / "locustfile.py"
        locustfile.write_text(textwrap.dedent(LOCUST_FILE_HEADER) + LOCUSTFILE)
        config = {"paths": paths, "username": username, "password": password}
        command = _locust_command(args.locust)
        health, pages = (
            _run_locust(
                command, locustfile, url, phase, config,
                users=args.clients, seconds=args.seconds, out=out,
            )
            for phase in ("health", "pages")
        )  # fmt: skip
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)

    h50, h95, hrps, hn, hfail = _figures(health, "/health")
    print(
        f"\n{args.clients} concurrent clients, {args.seconds} s per phase, {args.workers} "
        f"uvicorn worker(s), {args.people:,}-person ICS, {len(paths)} pages"
    )
    print(f"{'':<14}{'p50 ms':>9}{'p95 ms':>9}{'req/s':>9}{'requests':>10}{'failed':>8}")
    print(f"{'/health':<14}{h50:>9.0f}{h95:>9.0f}{hrps:>9.1f}{hn:>10}{hfail:>8}")
    # Sign-ins (one per client, before the measured window) are reported apart.
    p50, p95, rps, n, fail = _figures(pages, "pages")
    print(f"{'pages':<14}{p50:>9.0f}{p95:>9.0f}{rps:>9.1f}{n:>10}{fail:>8}")
    ratio = p95 / h95 if h95 else float("inf")
    print(f"\npages p95 {p95:.0f} ms (target <= {TARGET_P95_MS:.0f} ms); "
          f"{ratio:.1f}x the p95 of /health in the same run; throughput ratio "
          f"{rps / hrps if hrps else 0:.2f}")  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)
    return 0 if p95 <= TARGET_P95_MS and fail == 0 else 1


LOCUST_FILE_HEADER = "# Generated by benchmarks/bench_dashboard_load.py\n"


if __name__ == "__main__":
    sys.exit(main())
