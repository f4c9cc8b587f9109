"""Benchmark ``publish`` (every metric computed and written as a snapshot) on a synthetic ICS.

Usage::

    .venv/bin/python benchmarks/bench_publish.py                      # 100,000 people
    .venv/bin/python benchmarks/bench_publish.py --people 1000000 --keep /tmp/ics1m
    .venv/bin/python benchmarks/bench_publish.py --lake DIR --database-url URL   # reuse

Without ``--lake`` it builds the ICS first (synth, footprint, ingest, person index, linked
lake tables, returns), timing each step for information; with ``--keep DIR`` the build is
kept in DIR and reused by the next run. Then, in this one process:

* **publish**: :func:`wholesystem.metrics.pipeline.publish`, end to end: read the
  footprint, compute all catalogue metrics in DuckDB, hash, and write the snapshot and its
  values in one transaction (timed twice; the compute alone is also timed);
* **reference**: a bare DuckDB scan of the ``event`` table (count, distinct people, sum of
  cost, earliest start) with ``--threads`` threads (publish's DuckDB uses every core; run
  on a 2-core machine, or under ``taskset -c 0,1``, for the issue's figure).

Prints the times and the ratio publish / reference. The issue's target is an absolute one:
at most 60 s for a 1,000,000-person ICS on 2 cores; exit status 1 if publish takes longer
than ``--target`` seconds.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from wholesystem.footprint.pipeline import load_footprint_file
from wholesystem.metrics.compute import compute_metrics, default_cut_off
from wholesystem.metrics.pipeline import footprint_for_metrics, load_returns_step, publish
from wholesystem.record.ingest import ingest_path
from wholesystem.record.linkage.pipeline import build_person_index
from wholesystem.record.linked import build_linked_tables
from wholesystem.store.db import make_engine, make_session_factory, session_scope, upgrade
from wholesystem.store.lake import Lake
from wholesystem.synth import SynthConfig, generate


def _timed(label: str, func: object, *args: object, **kwargs: object) -> tuple[float, object]:
    start = time.perf_counter()
    result = func(*args, **kwargs)  # type: ignore[operator]
    elapsed = time.perf_counter() - start
    print(f"  {label:<28} {elapsed:8.1f} s", flush=True)
    return elapsed, result


def _build(work: Path, people: int, seed: int) -> tuple[Path, str]:
    synth, lake_dir = work / "synth", work / "lake"
    url = f"sqlite:///{work / 'bench.db'}"
    if (work / "built").exists():
        print(f"reusing the ICS built in {work}")
        return lake_dir, url
    print(f"building a synthetic ICS of {people:,} people in {work} ...", flush=True)
    if not (synth / "manifest.json").exists():
        _timed("synth", generate, SynthConfig(people=people, seed=seed), synth, progress=False)
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    lake = Lake(lake_dir)
    try:
        load_footprint_file(factory, synth / "footprint.json")
        _timed("ingest", ingest_path, factory, lake, synth / "extracts", actor="bench")
        _timed("person index", build_person_index, factory, lake, actor="bench")
        _timed("linked lake tables", build_linked_tables, factory, lake, actor="bench")
        _timed("returns", load_returns_step, factory, lake, synth / "returns", actor="bench")
    finally:
        engine.dispose()
    (work / "built").touch()
    return lake_dir, url


def _reference(lake: Lake, threads: int) -> float:
    con = duckdb.connect(":memory:", config={"threads": threads})
    path = str(lake.path("event")).replace("'", "''")
    start = time.perf_counter()
    con.execute(
        f"SELECT count(*), count(DISTINCT person_id), sum(cost), min(start_time) "  # noqa: S608
        f"FROM read_parquet('{path}')"
    ).fetchall()
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when publish takes longer than the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, default=None, help="build in / reuse this folder")
    parser.add_argument("--lake", type=Path, default=None, help="an existing lake to publish")
    parser.add_argument("--database-url", default=None, help="its database (with --lake)")
    parser.add_argument(
        "--threads", type=int, default=2, help="DuckDB threads of the reference scan"
    )
    parser.add_argument("--target", type=float, default=60.0, help="seconds allowed")
    args = parser.parse_args(argv)

    if args.lake is not None:
        if args.database_url is None:
            parser.error("--lake needs --database-url")
        lake_dir, url = args.lake, args.database_url
    else:
        work = args.keep or Path(tempfile.gettempdir()) / f"bench-publish-{args.people}"
        work.mkdir(parents=True, exist_ok=True)
        lake_dir, url = _build(work, args.people, args.seed)

    lake = Lake(lake_dir)
    events = lake.row_count("event")
    people = lake.row_count("person")
    print(f"\nlake: {people:,} people, {events:,} events; database {url.split('?')[0]}")
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        with session_scope(factory) as s:
            footprint = footprint_for_metrics(s)
        cut_off = default_cut_off(lake)
        print("timings:")
        reference = min(_reference(lake, args.threads) for _ in range(3))
        print(f"  {'reference: scan of event':<28} {reference:8.2f} s")
        compute_s, result = _timed("compute only", compute_metrics, lake, footprint, cut_off)
        runs = []
        for i in (1, 2):
            elapsed, _ = _timed(f"publish (run {i})", publish, factory, lake, actor="bench")
            runs.append(elapsed)
    finally:
        engine.dispose()
    best = min(runs)
    values = len(result.values)  # type: ignore[attr-defined]
    print(
        f"\npublish: {best:.1f} s for {values:,} values of {len(result.metric_ids)} metrics "  # type: ignore[attr-defined]
        f"(compute {compute_s:.1f} s); reference scan {reference:.2f} s; "
        f"ratio publish/reference {best / reference:.0f}x; target <= {args.target:.0f} s"
    )
    return 0 if best <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
