"""Benchmark CSV ingest with full validation against a bare DuckDB ``read_csv``.

Usage::

    .venv/bin/python benchmarks/bench_ingest.py                  # 200,000 people
    .venv/bin/python benchmarks/bench_ingest.py --people 20000

Generates a synthetic ICS (``wholesystem synth``), then, in this one process:

* **ingest**: every CSV extract through :func:`wholesystem.record.ingest.ingest_path`
  (file hash and UTF-8 check, header checks, every row rule, quarantine, typed Parquet
  parts, the database records and the audit log, and ``source_identity`` rebuilt once);
* **reference**: DuckDB's ``read_csv`` of the same files with its own type detection,
  materialised into a table (``CREATE TABLE AS``), one file at a time.

Prints rows per second for each and the speed ratio (reference time / ingest time). The
target is at least 0.4: ingest with full validation at no less than 0.4x the speed of a
bare read.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from wholesystem.record.ingest import discover, ingest_path
from wholesystem.store.db import make_engine, make_session_factory, upgrade
from wholesystem.store.lake import Lake
from wholesystem.synth import SynthConfig, generate

TARGET_RATIO = 0.4


def _bare_read(files: list[Path]) -> tuple[float, int]:
    """Seconds and rows for DuckDB to read every file into a table."""
    con = duckdb.connect(":memory:", config={"threads": 2})
    rows = 0
    start = time.perf_counter()
    for path in files:
        con.execute("CREATE OR REPLACE TABLE t AS SELECT * FROM read_csv(?)", [str(path)])
        count = con.execute("SELECT count(*) FROM t").fetchall()
        rows += int(count[0][0])
        con.execute("DROP TABLE t")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed, rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when the ratio misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, default=None, help="reuse/keep the synth output here")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        synth = args.keep or work / "synth"
        if not (synth / "manifest.json").exists():
            print(f"generating a synthetic ICS of {args.people:,} people ...", flush=True)
            generate(SynthConfig(people=args.people, seed=args.seed), synth, progress=False)
        extracts = synth / "extracts"
        csv_files = [c.path for c in discover(extracts) if c.path.suffix == ".csv"]
        total_bytes = sum(p.stat().st_size for p in csv_files)

        # Only the CSV extracts: copy links into a tree without the FHIR files.
        tree = work / "csv"
        for path in csv_files:
            target = tree / path.relative_to(extracts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)

        url = f"sqlite:///{work / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        lake = Lake(work / "lake")

        ref_s, ref_rows = _bare_read(csv_files)  # also warms the page cache for both
        start = time.perf_counter()
        summary = ingest_path(factory, lake, tree, actor="benchmark")
        ingest_s = time.perf_counter() - start
        engine.dispose()
        ref_s2, _ = _bare_read(csv_files)
        ref_s = min(ref_s, ref_s2)

        read, loaded, quarantined = summary.rows
        assert read == ref_rows, f"ingest read {read:,} rows, DuckDB {ref_rows:,}"
        assert read == loaded + quarantined
        ratio = ref_s / ingest_s
        print(
            f"files: {len(csv_files)} CSV extracts, {ref_rows:,} rows, {total_bytes / 1e6:,.0f} MB"
        )
        print(f"rows quarantined: {quarantined:,} ({100 * quarantined / read:.2f}%)")
        print(f"ingest (full validation): {ingest_s:7.2f} s  {read / ingest_s:12,.0f} rows/s")
        print(f"bare DuckDB read_csv:     {ref_s:7.2f} s  {ref_rows / ref_s:12,.0f} rows/s")
        print(f"speed ratio (ingest / bare): {ratio:.2f}x  (target >= {TARGET_RATIO}x)")
        return 0 if ratio >= TARGET_RATIO else 1
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
        else:
            shutil.rmtree(work / "csv", ignore_errors=True)
            shutil.rmtree(work / "lake", ignore_errors=True)
            (work / "bench.db").unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
