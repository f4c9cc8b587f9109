"""Where one large file's ingest time goes: the checks and the part, and the identities.

Usage::

    .venv/bin/python benchmarks/bench_ingest_breakdown.py --synth /tmp/ingest-synth1m

Takes the largest ``apc`` extract of a synthetic ICS and, in this one process, ingests it
alone through :func:`wholesystem.record.ingest.ingest_path` two ways, each run after a
bare DuckDB ``read_csv`` of the same file (the reference, as ``bench_ingest.py`` reads it):

* ``as it is``: read, checked, quarantined and staged (in one pass), then the part's
  ``source_identity`` rows worked out and kept, and the run recorded;
* ``without the identities``: the same with the part's identities left out (as if the
  linkage step worked them out instead: a what-if, not a mode of the product; the lake it
  leaves has no ``source_identity``).

Prints each way's median time and its ratio to the bare read, so that the cost of the
identities, and what the per-file target would need, can be read off.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

import wholesystem.record.ingest as ingest_module
from wholesystem.store.db import make_engine, make_session_factory, upgrade
from wholesystem.store.lake import Lake


def _bare_read(path: Path) -> float:
    con = duckdb.connect(":memory:", config={"threads": 2})
    try:
        start = time.perf_counter()
        con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [str(path)])
        return time.perf_counter() - start
    finally:
        con.close()


@contextmanager
def _without_identities() -> Iterator[None]:
    saved = (ingest_module._STAGED, ingest_module.rebuild_source_identity)
    try:
        ingest_module._STAGED = frozenset()  # type: ignore[misc]
        ingest_module.rebuild_source_identity = lambda lake, con=None: 0  # type: ignore[assignment]
        yield
    finally:
        ingest_module._STAGED, ingest_module.rebuild_source_identity = saved  # type: ignore[misc]


def _ingest(root: Path, work: Path, n: int) -> float:
    url = f"sqlite:///{work / f'db{n}.db'}"
    upgrade(url)
    engine = make_engine(url)
    lake = Lake(work / f"lake{n}")
    try:
        start = time.perf_counter()
        summary = ingest_module.ingest_path(
            make_session_factory(engine), lake, root, actor="benchmark"
        )
        wall = time.perf_counter() - start
        assert summary.count("loaded") == 1, summary.outcomes
        return wall
    finally:
        engine.dispose()
        shutil.rmtree(lake.root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Run each way ``--repeat`` times, alternating, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synth", type=Path, required=True, help="a `wholesystem synth` output")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    found = list((args.synth / "extracts").glob("*/apc/*.csv"))
    path = max(found, key=lambda p: p.stat().st_size)
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-breakdown-"))
    root = work / "one" / path.parent.parent.name / "apc"
    root.mkdir(parents=True)
    (root / path.name).symlink_to(path)
    ways = ("as it is", "without the identities")
    walls: dict[str, list[float]] = {w: [] for w in ways}
    ratios: dict[str, list[float]] = {w: [] for w in ways}
    print(f"{path} ({path.stat().st_size / 1e6:.0f} MB), {args.repeat} runs a way", flush=True)
    n = 0
    try:
        _bare_read(path)  # the page cache, warm for every run
        for _ in range(args.repeat):
            for way in ways:  # alternating, so that a slow spell hits both
                bare = _bare_read(path)
                if way == "as it is":
                    wall = _ingest(work / "one", work, n)
                else:
                    with _without_identities():
                        wall = _ingest(work / "one", work, n)
                n += 1
                walls[way].append(wall)
                ratios[way].append(bare / wall)
        for way in ways:
            r = ratios[way]
            print(
                f"{way:24s} {statistics.median(walls[way]):5.2f} s, ratio "
                f"{statistics.median(r):.3f}x ({min(r):.3f}-{max(r):.3f}; target >= 0.4x)",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
