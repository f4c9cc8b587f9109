"""What-if: would a leaner part format bring one large file's ingest to 0.4x a bare read?

Usage::

    .venv/bin/python benchmarks/bench_part_format.py --synth /tmp/ingest-synth1m

Takes the largest ``apc`` extract of a synthetic ICS and, in this one process, ingests it
alone through :func:`wholesystem.record.ingest.ingest_path` several ways, each run after a
bare DuckDB ``read_csv`` of the same file (the reference, as ``bench_ingest.py`` reads it):

* ``today``: the ingest as it is (Parquet part, identities worked out beside it);
* ``parquet, no identities``: the same without the part's identities (as if the linkage
  step worked them out instead);
* ``ipc ...``: no identities, and the typed part written as an Arrow IPC file (through
  DuckDB's Arrow stream and pyarrow's writer) instead of ``COPY ... TO parquet``.

The last two replace ingest internals for the run (a what-if, not a mode of the product):
the parts they write are not readable by the rest of the system. Prints each way's median
time, the ratio to the bare read, and the part's size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.ipc as ipc

import wholesystem.record.ingest as ingest_module
from wholesystem.record.engine import PendingPart, StageResult
from wholesystem.record.staging import staged_dir
from wholesystem.record.validate import typed_sql
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


def _ipc_stage(compression: str | None) -> Callable[..., StageResult]:
    """A stand-in for :func:`wholesystem.record.engine.stage` writing Arrow IPC."""

    def stage(
        con: duckdb.DuckDBPyConnection, ds: Any, checked: Any, target: Path, **kw: Any
    ) -> StageResult:
        table = checked.relation
        sql = typed_sql(ds, table, kw["org_code"], kw["source_file"], kw["run_id"], kw["fmt"])
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
        [(read, loaded)] = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE NOT ws_bad) FROM {table}"  # noqa: S608
        ).fetchall()
        reader = con.cursor().sql(sql).to_arrow_reader(122_880)
        options = ipc.IpcWriteOptions(compression=compression)
        with (
            pa.OSFile(str(tmp), "wb") as sink,
            ipc.new_file(sink, reader.schema, options=options) as out,
        ):
            for batch in reader:
                out.write_batch(batch)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        part = PendingPart(ds.name, target, tmp, int(loaded))
        return StageResult(
            part=part, read=int(read), loaded=int(loaded), quarantined=checked.quarantined
        )

    return stage


@contextmanager
def _patched(identities: bool, stage: Callable[..., StageResult] | None) -> Iterator[None]:
    saved = (ingest_module._STAGED, ingest_module.rebuild_source_identity, ingest_module.stage)
    try:
        if not identities:
            ingest_module._STAGED = frozenset()  # type: ignore[misc]
            ingest_module.rebuild_source_identity = lambda lake, con=None: 0  # type: ignore[assignment]
        if stage is not None:
            ingest_module.stage = stage  # type: ignore[assignment]
        yield
    finally:
        ingest_module._STAGED, ingest_module.rebuild_source_identity, ingest_module.stage = saved  # type: ignore[misc]


def _ingest(root: Path, work: Path, n: int) -> tuple[float, int]:
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
        size = sum(p.stat().st_size for p in staged_dir(lake, "apc").rglob("*") if p.is_file())
        return wall, size
    finally:
        engine.dispose()
        shutil.rmtree(lake.root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Run each way ``--repeat`` times and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synth", type=Path, required=True, help="a `wholesystem synth` output")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    found = list((args.synth / "extracts").glob("*/apc/*.csv"))
    path = max(found, key=lambda p: p.stat().st_size)
    work = Path(tempfile.mkdtemp(prefix="bench-part-format-"))
    root = work / "one" / path.parent.parent.name / "apc"
    root.mkdir(parents=True)
    (root / path.name).symlink_to(path)
    ways: list[tuple[str, bool, Callable[..., StageResult] | None]] = [
        ("today (Parquet, identities beside)", True, None),
        ("Parquet, no identities", False, None),
        ("Arrow IPC uncompressed, no identities", False, _ipc_stage(None)),
        ("Arrow IPC lz4, no identities", False, _ipc_stage("lz4")),
        ("Arrow IPC zstd, no identities", False, _ipc_stage("zstd")),
    ]
    print(f"{path} ({path.stat().st_size / 1e6:.0f} MB), {args.repeat} runs a way", flush=True)
    n = 0
    try:
        for label, identities, stage in ways:
            ratios, walls, size = [], [], 0
            for _ in range(args.repeat):
                bare = _bare_read(path)
                with _patched(identities, stage):
                    wall, size = _ingest(work / "one", work, n)
                n += 1
                ratios.append(bare / wall)
                walls.append(wall)
            wall, ratio = statistics.median(walls), statistics.median(ratios)
            print(
                f"{label:40s} {wall:5.2f} s, ratio {ratio:.3f}x "
                f"({min(ratios):.3f}-{max(ratios):.3f}), staged {size / 1e6:5.1f} MB",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
