"""Benchmark ``wholesystem synth``: a whole synthetic ICS against raw CSV writing.

Usage::

    .venv/bin/python benchmarks/bench_synth.py                 # 1,000,000 people
    .venv/bin/python benchmarks/bench_synth.py --people 20000

Prints people per second, total seconds, the rows written per dataset and two ratios
against references measured in the same process: the time pyarrow (one writer, like the
generator's) and DuckDB (its parallel COPY) take to write a trivial CSV of the same
total number of bytes to the same disk. The ratio is the generator's overhead over raw
I/O. The target is 1,000,000 people in at most 180 seconds on a 2-core machine.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from wholesystem.synth import SynthConfig, generate
from wholesystem.synth.pipeline import manifest_summary

TARGET_SECONDS_PER_MILLION = 180.0


def _pyarrow_reference(path: Path, total_bytes: int) -> float:
    """Seconds for pyarrow to write ``total_bytes`` of a trivial CSV."""
    rows = 200_000
    batch = pa.table(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64) + 1_000_000_000),
            "name": pa.array(["Margaret"] * rows),
            "day": pa.array(np.full(rows, 19_000, dtype=np.int32)).cast(pa.date32()),
            "code": pa.array(["44054006"] * rows),
        }
    )
    sink = pa.BufferOutputStream()
    pcsv.write_csv(batch, sink, pcsv.WriteOptions(include_header=False, quoting_style="none"))
    per_batch = len(sink.getvalue())
    repeats = max(1, round(total_bytes / per_batch))
    started = time.perf_counter()
    with pcsv.CSVWriter(
        str(path), batch.schema, write_options=pcsv.WriteOptions(quoting_style="none")
    ) as writer:
        for _ in range(repeats):
            writer.write_table(batch)
    return time.perf_counter() - started


def _duckdb_reference(path: Path, total_bytes: int) -> float:
    """Seconds for DuckDB to COPY a generated trivial CSV of about ``total_bytes``."""
    row_bytes = len("1000000000,Margaret,2022-01-08,44054006\n")
    rows = max(1, total_bytes // row_bytes)
    con = duckdb.connect()
    started = time.perf_counter()
    # the path is our own temporary file and rows an int: nothing user-supplied
    sql = (
        "COPY (SELECT 1000000000 + range AS id, 'Margaret' AS name, "  # noqa: S608
        f"DATE '2022-01-08' AS day, '44054006' AS code FROM range({int(rows)})) "
        f"TO '{path}' (HEADER, DELIMITER ',')"
    )
    con.execute(sql)
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: temp)")
    args = parser.parse_args(argv)

    base = Path(tempfile.mkdtemp(prefix="bench-synth-", dir=args.dir))
    try:
        out = base / "ics"
        started = time.perf_counter()
        manifest = generate(
            SynthConfig(people=args.people, seed=args.seed),
            out,
            progress=False,
            workers=args.workers,
        )
        seconds = time.perf_counter() - started
        total_bytes = sum(entry.bytes for entry in manifest.files.values())
        total_rows = sum(entry.rows for entry in manifest.files.values())
        shutil.rmtree(out)

        ref_pa = _pyarrow_reference(base / "reference-pyarrow.csv", total_bytes)
        (base / "reference-pyarrow.csv").unlink()
        ref_duck = _duckdb_reference(base / "reference-duckdb.csv", total_bytes)
        (base / "reference-duckdb.csv").unlink()
    finally:
        shutil.rmtree(base, ignore_errors=True)

    print(f"people:            {args.people:,} (seed {args.seed})")
    print(f"total seconds:     {seconds:.1f}")
    print(f"people per second: {args.people / seconds:,.0f}")
    print(f"written:           {total_rows:,} rows, {total_bytes / 1e9:.2f} GB")
    print("rows per dataset:")
    for name, rows in manifest_summary(manifest).items():
        print(f"  {name:<24} {rows:>12,}")
    print(f"reference (pyarrow CSV, same bytes): {ref_pa:.1f} s -> ratio {seconds / ref_pa:.1f}x")
    print(
        f"reference (DuckDB COPY, same bytes): {ref_duck:.1f} s -> ratio {seconds / ref_duck:.1f}x"
    )
    budget = TARGET_SECONDS_PER_MILLION * args.people / 1_000_000
    verdict = "within" if seconds <= budget else "OVER"
    print(f"target: {budget:.0f} s for {args.people:,} people -> {verdict} target")
    return 0 if seconds <= budget else 1


if __name__ == "__main__":
    sys.exit(main())
