"""Benchmark CSV ingest with full validation against a bare DuckDB ``read_csv``.

Usage::

    .venv/bin/python benchmarks/bench_ingest.py                       # 100,000 people
    .venv/bin/python benchmarks/bench_ingest.py --people 20000 --repeat 3 --big-rows 0

Generates a synthetic ICS (``wholesystem synth``), then, in this one process, for each
case (every CSV extract together; the largest ``apc`` and ``gp_events`` extracts alone;
one ``gp_events`` file of ``--big-rows`` rows made by repeating the extracts' rows):

* **ingest**: the files through :func:`wholesystem.record.ingest.ingest_path` into a fresh
  database and lake (file hash and UTF-8 check, header checks, every row rule,
  quarantine, typed Parquet parts, the database records and the audit log, and
  ``source_identity`` rebuilt once), several files at once as ``ingest_path`` does;
* **floor** (for information): the files read as ingest reads them (every column text)
  and written to a Parquet file (zstd level 1, as parts are), with nothing checked,
  typed, keyed, hashed or recorded: about the ratio ingest would have if all that were
  free;
* **reference**: DuckDB's ``read_csv`` of the same files with its own type detection
  (``auto_detect``, the default), materialised into a table (``CREATE TABLE AS``), one
  file at a time, on a connection with the same 2 threads. A read with every column
  declared VARCHAR (what ingest asks for) is timed too, for information.

Each case runs ``--repeat`` times, alternating reference and ingest; the median of the
per-run ratios (reference time / ingest time) is reported with the spread, wall-clock and
process CPU seconds. The target is at least 0.4: ingest with full validation at no less
than 0.4x the speed of a bare read. Exit status 1 when the all-extracts median misses it.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from wholesystem.record.files import read_facts, read_header
from wholesystem.record.ingest import discover, ingest_path
from wholesystem.record.staging import IDENTITY_DIR, rebuild_source_identity
from wholesystem.store.db import make_engine, make_session_factory, upgrade
from wholesystem.store.lake import Lake
from wholesystem.synth import SynthConfig, generate

TARGET_RATIO = 0.4


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), _cpu()
    fn()
    return time.perf_counter() - wall, _cpu() - cpu


def _bare_read(files: list[Path], *, varchar: bool = False) -> int:
    """Read every file into a table, as DuckDB does by itself; the rows read."""
    con = duckdb.connect(":memory:", config={"threads": 2})
    rows = 0
    try:
        for path in files:
            if varchar:
                names = read_header(path, read_facts(path)).names
                columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
                sql = f"SELECT * FROM read_csv(?, header = true, columns = {columns})"  # noqa: S608
            else:
                sql = "SELECT * FROM read_csv(?)"
            con.execute(f"CREATE OR REPLACE TABLE t AS {sql}", [str(path)])
            rows += int(con.execute("SELECT count(*) FROM t").fetchall()[0][0])
            con.execute("DROP TABLE t")
    finally:
        con.close()
    return rows


def _read_and_write(files: list[Path], out: Path) -> int:
    """Read every file as ingest asks for it (every column text, as :func:`_bare_read`
    with ``varchar``) and write it as a Parquet file (zstd level 1, as ingest writes its
    parts), checking, hashing and recording nothing. The rows written."""
    con = duckdb.connect(":memory:", config={"threads": 2})
    rows = 0
    try:
        for path in files:
            names = read_header(path, read_facts(path)).names
            columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
            read = f"read_csv(?, header = true, columns = {columns})"
            con.execute(
                f"COPY (SELECT * FROM {read}) TO '{out}' "  # noqa: S608
                "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)",
                [str(path)],
            )
            [(count,)] = con.execute("SELECT count(*) FROM read_parquet(?)", [str(out)]).fetchall()
            rows += int(count)
    finally:
        con.close()
        out.unlink(missing_ok=True)
    return rows


@dataclass
class Case:
    """One benchmark case: files under ``root`` (laid out ``<org>/<dataset>/``)."""

    name: str
    root: Path
    files: list[Path]
    runs: list[dict[str, float]] = field(default_factory=list)
    rows: int = 0
    quarantined: int = 0
    identity_s: float = 0.0
    identity_full_s: float = 0.0
    one_more_s: float = 0.0  # one more small file into the lake this case made


def _ingest_once(case: Case, work: Path, run: int) -> tuple[float, float]:
    url = f"sqlite:///{work / f'{case.name}-{run}.db'}"
    upgrade(url)
    engine = make_engine(url)
    lake = Lake(work / f"lake-{case.name}-{run}")
    try:
        factory = make_session_factory(engine)
        wall, cpu = time.perf_counter(), _cpu()
        summary = ingest_path(factory, lake, case.root, actor="benchmark")
        wall, cpu = time.perf_counter() - wall, _cpu() - cpu
        read, loaded, quarantined = summary.rows
        assert summary.count("loaded") == len(case.files), summary.outcomes
        assert read == loaded + quarantined
        case.rows, case.quarantined = read, quarantined
        if run == 0:  # what the source_identity rebuild inside ingest_path costs
            case.identity_s = _timed(lambda: rebuild_source_identity(lake))[0]
            # What a partner's small correction costs once the lake holds this case:
            # should follow the file's size, not the lake's.
            small = _small_file(work, case.files[0])
            case.one_more_s = _timed(lambda: ingest_path(factory, lake, small, actor="benchmark"))[
                0
            ]
            # ... and from nothing, each part's identities worked out again.
            shutil.rmtree(lake.root / IDENTITY_DIR)
            case.identity_full_s = _timed(lambda: rebuild_source_identity(lake))[0]
    finally:
        engine.dispose()
        shutil.rmtree(lake.root, ignore_errors=True)
    return wall, cpu


def _run_case(case: Case, work: Path, repeat: int) -> None:
    _bare_read(case.files)  # warm the page cache for both
    for run in range(repeat):
        ref_wall, ref_cpu = _timed(lambda: _bare_read(case.files))
        var_wall, _ = _timed(lambda: _bare_read(case.files, varchar=True))
        written = work / f"{case.name}-read-and-write.parquet"
        write_wall, _ = _timed(lambda: _read_and_write(case.files, written))  # noqa: B023
        ing_wall, ing_cpu = _ingest_once(case, work, run)
        case.runs.append(
            {
                "ref": ref_wall,
                "ref_cpu": ref_cpu,
                "varchar": var_wall,
                "read_write": write_wall,
                "ingest": ing_wall,
                "ingest_cpu": ing_cpu,
                "ratio": ref_wall / ing_wall,
                "ratio_varchar": var_wall / ing_wall,
                "ratio_read_write": ref_wall / write_wall,
            }
        )
        print(
            f"  {case.name} run {run + 1}: ingest {ing_wall:6.2f} s, read_csv {ref_wall:6.2f} s "
            f"(all VARCHAR {var_wall:5.2f} s), ratio {ref_wall / ing_wall:.3f}",
            flush=True,
        )


def _small_file(work: Path, like: Path, rows: int = 200) -> Path:
    """A folder holding one file of ``rows`` rows of ``like`` from an organisation of its
    own (a new part and a new ``source_identity`` part)."""
    root = work / "small"
    shutil.rmtree(root, ignore_errors=True)
    target = root / "ZZ999" / like.parent.name / "small.csv"
    target.parent.mkdir(parents=True)
    with open(like, encoding="utf-8") as src, open(target, "w", encoding="utf-8") as out:
        for n, line in enumerate(src):
            if n > rows:
                break
            out.write(line)
    return root


def _report(case: Case) -> float:
    def med(key: str) -> float:
        return statistics.median(r[key] for r in case.runs)

    ratios = [r["ratio"] for r in case.runs]
    size = sum(p.stat().st_size for p in case.files) / 1e6
    print(
        f"{case.name}: {len(case.files)} file(s), {case.rows:,} rows, {size:,.0f} MB, "
        f"{case.quarantined:,} quarantined ({100 * case.quarantined / max(case.rows, 1):.2f}%)"
    )
    print(
        f"  ingest (full validation): {med('ingest'):7.2f} s wall, {med('ingest_cpu'):6.2f} s CPU, "
        f"{case.rows / med('ingest'):10,.0f} rows/s  (source_identity rebuild in it: "
        f"{case.identity_s:.2f} s; from nothing {case.identity_full_s:.2f} s)"
    )
    print(f"  one more 200-row file into the lake this case made: {case.one_more_s:.2f} s")
    print(
        f"  bare DuckDB read_csv:     {med('ref'):7.2f} s wall, {med('ref_cpu'):6.2f} s CPU, "
        f"{case.rows / med('ref'):10,.0f} rows/s  (all VARCHAR: {med('varchar'):.2f} s)"
    )
    print(
        f"  speed ratio (bare / ingest), median of {len(ratios)}: {med('ratio'):.3f}x "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f}; against the all-VARCHAR read "
        f"{med('ratio_varchar'):.3f}x; target >= {TARGET_RATIO}x)"
    )
    print(
        f"  floor: read as text, written to Parquet, nothing else: {med('read_write'):.2f} s, "
        f"ratio {med('ratio_read_write'):.3f}x"
    )
    return med("ratio")


def _tree(work: Path, name: str, files: list[Path], extracts: Path) -> Case:
    """Links to ``files`` under ``work/name`` keeping the ``<org>/<dataset>/`` layout."""
    root = work / name
    links = []
    for path in files:
        target = root / path.relative_to(extracts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path)
        links.append(target)
    return Case(name, root, links)


def _big_file(work: Path, sources: list[Path], rows: int) -> Case:
    """One gp_events file of ``rows`` rows: the extracts' rows, repeated as needed."""
    path = work / "big" / "N90099" / "gp_events" / "gp_events.csv"
    path.parent.mkdir(parents=True)
    written = 0
    with open(path, "w", encoding="utf-8") as out:
        header = sources[0].open(encoding="utf-8").readline()
        out.write(header)
        while written < rows:
            for src in sources:
                with open(src, encoding="utf-8") as fh:
                    assert fh.readline() == header
                    for line in fh:
                        out.write(line)
                        written += 1
                        if written == rows:
                            break
                if written == rows:
                    break
    return Case(f"gp_events_{rows // 1000}k_rows", work / "big", [path])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 when the all-extracts ratio misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, default=None, help="reuse/keep the synth output here")
    parser.add_argument("--repeat", type=int, default=5, help="runs per case (median reported)")
    parser.add_argument("--big-rows", type=int, default=1_000_000, help="0 to skip that case")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        synth = args.keep or work / "synth"
        if not (synth / "manifest.json").exists():
            print(f"generating a synthetic ICS of {args.people:,} people ...", flush=True)
            generate(SynthConfig(people=args.people, seed=args.seed), synth, progress=False)
        extracts = synth / "extracts"
        csv_files = [c.path for c in discover(extracts) if c.path.suffix == ".csv"]

        def largest(dataset: str) -> list[Path]:
            found = [p for p in csv_files if p.parent.name == dataset]
            return [max(found, key=lambda p: p.stat().st_size)]

        cases = [
            _tree(work, "all_extracts", csv_files, extracts),
            _tree(work, "largest_apc", largest("apc"), extracts),
            _tree(work, "largest_gp_events", largest("gp_events"), extracts),
        ]
        if args.big_rows:
            events = [p for p in csv_files if p.parent.name == "gp_events"]
            cases.append(_big_file(work, events, args.big_rows))
        print(
            f"{args.repeat} runs per case, reference first; DuckDB {duckdb.__version__}, 2 threads",
            flush=True,
        )
        headline = 0.0
        for case in cases:
            _run_case(case, work, args.repeat)
        print()
        for case in cases:
            ratio = _report(case)
            if case.name == "all_extracts":
                headline = ratio
        return 0 if headline >= TARGET_RATIO else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
