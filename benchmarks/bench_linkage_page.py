"""Benchmark the linkage page's first view: figures and lists worked out, or kept.

Usage::

    .venv/bin/python benchmarks/bench_linkage_page.py --lake /tmp/ics1m/lake

The lake must hold a person index (``wholesystem ingest`` then ``link-index``). Nothing
in it is changed: the work is done on a scratch lake beside it (hard links to its files,
``source_identity`` written again), whose working tables are written as the
person-index step writes them (timed once). Then, in one process, each ``--repeat``
times (median reported), the first view reading the page's figures and the first page
of each list:

* **reference**: a bare DuckDB join of ``source_identity`` to ``person_index`` counting
  the records and the indexed ones, the one pass any of the page's figures needs;
* **afresh**: every working table worked out and every figure and list read, as the
  first view did before the tables were kept, and still does when they are stale (an
  ingest that took an indexed record away);
* **kept, after a relink**: the tables the person-index step keeps, loaded, and every
  figure and list read;
* **kept, after an ingest that only added records**: the same once ``source_identity``
  has ``--added`` records more (not indexed yet): only those are counted again;
* **kept, after an ingest that took records away**: the same once ``--removed`` indexed
  records have gone from ``source_identity`` (a corrected file), among them members of
  the shared-NHS and duplicate lists: what they touch is worked out again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from wholesystem.record.linkage import report
from wholesystem.record.linkage.index import INDEX_TABLE
from wholesystem.record.linkage.routes import PAGE_SIZE
from wholesystem.record.staging import SOURCE_IDENTITY
from wholesystem.store.lake import Lake


def _page(con: duckdb.DuckDBPyConnection) -> None:
    """Everything the page's first view reads."""
    report.summary(con)
    report.match_rates(con)
    report.sources_and_datasets(con)
    report.shared_nhs_totals(con)
    report.shared_nhs_numbers(con, limit=PAGE_SIZE)
    report.duplicates_by_source(con)
    report.duplicates(con, limit=PAGE_SIZE)


def _reference(lake: Lake) -> None:
    with lake.connect() as con:
        con.execute(
            f"SELECT count(*), count(p.record_id) FROM {SOURCE_IDENTITY} s "  # noqa: S608
            f"LEFT JOIN {INDEX_TABLE} p USING (record_id)"
        ).fetchall()


def _afresh(lake: Lake) -> None:
    with lake.connect() as con:
        report.prepare(con)
        _page(con)


def _kept(lake: Lake) -> None:
    with lake.connect() as con:
        if not report.load_working_tables(con, lake):
            raise SystemExit(f"{lake.root}: the kept working tables do not hold")
        _page(con)


def _scratch(lake: Lake, root: Path) -> Lake:
    """A lake at ``root`` whose tables are ``lake``'s (hard links, so the same versions;
    ``source_identity`` written again) and its working tables written afresh."""
    root.mkdir(parents=True)
    for path in lake.root.glob("*.parquet"):
        os.link(path, root / path.name)
    scratch = Lake(root)
    scratch.write_arrow(SOURCE_IDENTITY, lake.read_arrow(SOURCE_IDENTITY))
    start = time.perf_counter()
    report.write_working_tables(scratch)
    print(
        f"working tables written by the person-index step: {time.perf_counter() - start:.2f} s",
        flush=True,
    )
    return scratch


def _add_records(lake: Lake, added: int) -> None:
    """``added`` records more in ``source_identity``, of a new source: an ingest."""
    identities = lake.read_arrow(SOURCE_IDENTITY)
    first = identities.slice(0, 1).to_pylist()[0]
    extra = [
        {
            **first,
            "record_id": f"ZZ999:gp_events:L{i}:{i:010d}",
            "source": "ZZ999",
            "dataset": "gp_events",
            "local_patient_id": f"L{i}",
        }
        for i in range(added)
    ]
    lake.write_arrow(
        SOURCE_IDENTITY,
        pa.concat_tables([identities, pa.Table.from_pylist(extra, identities.schema)]),
    )


def _remove_records(lake: Lake, removed: int) -> None:
    """``removed`` indexed records gone from ``source_identity``: a corrected file. A third
    are members of the shared-NHS list, a third of the duplicates list, the rest any."""
    third = max(removed // 3, 1)
    picks = (
        f"SELECT DISTINCT record_id FROM lk_nhs ORDER BY record_id LIMIT {third}",  # noqa: S608
        f"SELECT record_id FROM lk_dup_records ORDER BY record_id LIMIT {third}",  # noqa: S608
        f"SELECT record_id FROM {INDEX_TABLE} ORDER BY hash(record_id) LIMIT {removed}",  # noqa: S608
    )
    gone: list[str] = []
    with lake.connect() as con:
        report.prepare(con)
        for sql in picks:
            found = [r[0] for r in con.execute(sql).fetchall() if r[0] not in gone]
            gone += found[: removed - len(gone)]
    identities = lake.read_arrow(SOURCE_IDENTITY)
    keep = pc.invert(pc.is_in(identities.column("record_id"), pa.array(gone)))
    lake.write_arrow(SOURCE_IDENTITY, identities.filter(keep))


def _timed(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--added", type=int, default=200, help="records the ingest adds")
    parser.add_argument("--removed", type=int, default=30, help="records a later one removes")
    args = parser.parse_args(argv)
    lake = Lake(args.lake)
    if not report.index_present(lake):
        parser.error(f"{args.lake}: no person index (run wholesystem link-index)")
    work = Path(tempfile.mkdtemp(prefix="bench-linkage-page-", dir=args.lake.parent))
    medians: dict[str, float] = {}

    def run(name: str, fn: Callable[[], object]) -> None:
        times = _timed(fn, args.repeat)
        medians[name] = statistics.median(times)
        spread = f"{min(times):.2f}-{max(times):.2f}"
        print(f"{name:38s} {medians[name]:7.2f} s  ({spread})", flush=True)

    try:
        scratch = _scratch(lake, work / "lake")
        run("reference (bare join)", lambda: _reference(scratch))
        run("afresh (stale tables)", lambda: _afresh(scratch))
        run("kept, after a relink", lambda: _kept(scratch))
        _add_records(scratch, args.added)
        run(f"kept, after an ingest adding {args.added}", lambda: _kept(scratch))
        _remove_records(scratch, args.removed)
        run(f"kept, after one removing {args.removed}", lambda: _kept(scratch))
        run("afresh, after it", lambda: _afresh(scratch))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    reference = medians["reference (bare join)"]
    print()
    for name, value in medians.items():
        print(f"{name:38s} {value / reference:6.2f}x the bare join")
    return 0


if __name__ == "__main__":
    sys.exit(main())
