"""Benchmark building the linked lake tables against a bare DuckDB copy of the staged tables.

Usage::

    .venv/bin/python benchmarks/bench_linked.py                    # 100,000 people
    .venv/bin/python benchmarks/bench_linked.py --people 20000
    .venv/bin/python benchmarks/bench_linked.py --keep /tmp/lake100k   # keep the lake

Generates a synthetic ICS (``wholesystem synth``), ingests every extract, builds the person
index, then, in this one process:

* **linked**: :func:`wholesystem.record.linked.build_linked_tables` (every join, the event
  and identity derivations, the sort by person and the row-grouped Parquet writes, plus
  the run record and audit entry);
* **reference**: DuckDB ``COPY`` of every staged table (all its parts) to one zstd Parquet
  file each, unsorted and unjoined: the least any build must do to read and write the data.

Prints both times, their ratio (linked / reference), every table's rows and row groups, and
how many row groups a per-person lookup has to read (those whose person_id statistics
admit the person), averaged over 200 people. With ``--keep DIR`` the database, the synth
output and the lake stay under DIR (reused by the next run with the same DIR), so the
record-page benchmark can use a realistic lake: ``DIR/lake``, ``DIR/bench.db``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from wholesystem.record.ingest import ingest_path
from wholesystem.record.linkage.pipeline import build_person_index
from wholesystem.record.linked import LINKED_TABLES, UNLINKED_TABLE, build_linked_tables
from wholesystem.record.schemas import staged_datasets
from wholesystem.record.staging import staged_glob
from wholesystem.store.db import make_engine, make_session_factory, upgrade
from wholesystem.store.lake import Lake
from wholesystem.synth import SynthConfig, generate


def _bare_copy(lake: Lake, out: Path) -> tuple[float, int]:
    """Seconds and rows for DuckDB to copy every staged table to one Parquet file each."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(":memory:")
    rows = 0
    start = time.perf_counter()
    for ds in staged_datasets():
        glob = staged_glob(lake, ds.name)
        if glob is None:
            continue
        target = out / f"{ds.name}.parquet"
        sql = (
            "COPY (SELECT * FROM read_parquet(?, union_by_name = true)) "  # noqa: S608
            f"TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
        )
        con.execute(sql, [glob])
        rows += pq.ParquetFile(target).metadata.num_rows
    elapsed = time.perf_counter() - start
    con.close()
    shutil.rmtree(out, ignore_errors=True)
    return elapsed, rows


def _row_groups_per_person(path: Path, people: list[str]) -> float:
    """Mean number of row groups whose person_id min/max admits each of ``people``."""
    meta = pq.ParquetFile(path).metadata
    col = meta.schema.names.index("person_id")
    ranges = []
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(col).statistics
        ranges.append((stats.min, stats.max) if stats is not None else ("", "\uffff"))
    hits = [sum(1 for lo, hi in ranges if lo <= p <= hi) for p in people]
    return sum(hits) / len(hits) if hits else 0.0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--keep", type=Path, default=None, help="keep (and reuse) synth, database and lake here"
    )
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-linked-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        synth = work / "synth"
        if not (synth / "manifest.json").exists():
            print(f"generating a synthetic ICS of {args.people:,} people ...", flush=True)
            generate(SynthConfig(people=args.people, seed=args.seed), synth, progress=False)
        url = f"sqlite:///{work / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        lake = Lake(work / "lake")
        start = time.perf_counter()
        ingested = ingest_path(factory, lake, synth / "extracts", actor="benchmark")
        print(
            f"ingest: {ingested.rows[1]:,} rows loaded in {time.perf_counter() - start:.1f} s",
            flush=True,
        )
        start = time.perf_counter()
        update = build_person_index(factory, lake, actor="benchmark")
        print(
            f"person index: {len(update.person_of):,} records, "
            f"{len(set(update.person_of.values())):,} persons in "
            f"{time.perf_counter() - start:.1f} s",
            flush=True,
        )

        ref_s, ref_rows = _bare_copy(lake, work / "bare")  # also warms the page cache
        start = time.perf_counter()
        summary = build_linked_tables(factory, lake, "benchmark")
        linked_s = time.perf_counter() - start
        ref_s2, _ = _bare_copy(lake, work / "bare")
        ref_s = min(ref_s, ref_s2)
        engine.dispose()

        staged = sum(summary.staged.values())
        assert staged == ref_rows, f"linked read {staged:,} staged rows, the copy {ref_rows:,}"
        people = sorted(
            pq.read_table(lake.path("person"), columns=["person_id"])
            .column("person_id")
            .to_pylist()
        )
        sample = random.Random(1).sample(people, min(200, len(people)))
        print(f"staged rows: {staged:,}; unlinked: {summary.unlinked_total:,}")
        print(f"{'table':<16}{'rows':>12}{'row groups':>12}{'groups/person':>15}{'MB':>8}")
        for table in (*LINKED_TABLES, UNLINKED_TABLE):
            path = lake.path(table)
            meta = pq.ParquetFile(path).metadata
            per = _row_groups_per_person(path, sample) if table != UNLINKED_TABLE else 0.0
            print(
                f"{table:<16}{meta.num_rows:>12,}{meta.num_row_groups:>12}"
                f"{per:>15.2f}{path.stat().st_size / 1e6:>8.1f}"
            )
        print(f"build_linked_tables:        {linked_s:7.2f} s  {staged / linked_s:12,.0f} rows/s")
        print(f"bare DuckDB COPY of staged: {ref_s:7.2f} s  {ref_rows / ref_s:12,.0f} rows/s")
        print(f"time ratio (linked / bare copy): {linked_s / ref_s:.2f}x")
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
