"""Benchmark ways of writing a staged part against a bare DuckDB ``read_csv`` of its file.

Usage::

    .venv/bin/python benchmarks/bench_part_write.py --synth /tmp/ingest-synth100k

Why: CSV ingest of one large file falls short of 0.4x a bare read (docs/performance.md),
and most of what it adds is writing the typed part. This takes one ``gp_events`` file
of ``--rows`` rows (the synthetic extracts' rows, repeated), reads it as text into a
table as ingest does, and times one typed projection of it written as: an in-memory
table (no file), Parquet (zstd level 1 with ingest's options, uncompressed, without a
dictionary), Arrow IPC (uncompressed, lz4) and a DuckDB database file. Each is the best
of ``--repeat`` runs, printed with its size and its ratio to the bare read (bare time /
write time; the read as text comes on top in ingest).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.ipc as ipc

from wholesystem.record.engine import parquet_options

_TYPED = """
SELECT nhs_number, local_patient_id, given_name, family_name,
       TRY_CAST(date_of_birth AS DATE) AS date_of_birth, sex, postcode,
       TRY_CAST(event_date AS DATE) AS event_date, snomed_code,
       TRY_CAST(value AS DECIMAL(18, 4)) AS value, unit,
       rowid + 2 AS source_line, 'N90099' AS org_code,
       md5(concat_ws('|', local_patient_id, event_date, snomed_code, rowid)) AS record_id
FROM v
"""


def _big_file(synth: Path, out: Path, rows: int) -> Path:
    sources = sorted((synth / "extracts").glob("*/gp_events/*.csv"))
    if not sources:
        raise SystemExit(f"no gp_events extracts under {synth / 'extracts'}")
    header = sources[0].open(encoding="utf-8").readline()
    written = 0
    with out.open("w", encoding="utf-8") as sink:
        sink.write(header)
        while written < rows:
            for src in sources:
                with src.open(encoding="utf-8") as fh:
                    fh.readline()
                    for line in fh:
                        sink.write(line)
                        written += 1
                        if written == rows:
                            return out
    return out


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synth", type=Path, required=True, help="a `wholesystem synth` output")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-part-") as tmp:
        work = Path(tmp)
        csv = _big_file(args.synth, work / "gp_events.csv", args.rows)
        con = duckdb.connect(config={"threads": 2})
        read = "read_csv('" + str(csv).replace("'", "''") + "'"
        bare = _best(
            lambda: con.execute("CREATE OR REPLACE TABLE b AS SELECT * FROM " + read + ")"),  # noqa: S608
            args.repeat,
        )
        con.execute("DROP TABLE b")
        con.execute("CREATE TABLE v AS SELECT * FROM " + read + ", all_varchar = true)")  # noqa: S608
        print(f"{args.rows:,} rows, {csv.stat().st_size / 1e6:.0f} MB of CSV")
        print(f"reference: bare read_csv into a table {bare:.3f} s\n")

        def parquet(options: str) -> Callable[[], object]:
            return lambda: con.execute(f"COPY ({_TYPED}) TO '{work / 'part'}' {options}")

        def ipc_file(compression: str | None) -> Callable[[], object]:
            def write() -> None:
                reader = con.sql(_TYPED).to_arrow_reader(122_880)
                options = ipc.IpcWriteOptions(compression=compression)
                with (
                    pa.OSFile(str(work / "part"), "wb") as sink,
                    ipc.new_file(sink, reader.schema, options=options) as writer,
                ):
                    for batch in reader:
                        writer.write_batch(batch)

            return write

        def database_file() -> None:
            (work / "part").unlink(missing_ok=True)
            con.execute(f"ATTACH '{work / 'part'}' AS part")
            con.execute(f"CREATE TABLE part.t AS {_TYPED}")
            con.execute("DETACH part")

        cases: list[tuple[str, Callable[[], object]]] = [
            (
                "in-memory table (no file)",
                lambda: con.execute(f"CREATE OR REPLACE TABLE t AS {_TYPED}"),
            ),
            ("Parquet, ingest's options", parquet(parquet_options(args.rows))),
            ("Parquet, uncompressed", parquet("(FORMAT parquet, COMPRESSION uncompressed)")),
            (
                "Parquet, zstd 1, no dictionary",
                parquet(
                    "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, "
                    "DICTIONARY_SIZE_LIMIT 1)"
                ),
            ),
            ("Arrow IPC, uncompressed", ipc_file(None)),
            ("Arrow IPC, lz4", ipc_file("lz4")),
            ("DuckDB database file", database_file),
        ]
        print(f"{'typed part written as':<34} {'best s':>7} {'MB':>6} {'ratio':>6}")
        for name, fn in cases:
            seconds = _best(fn, args.repeat)
            part = work / "part"
            size = part.stat().st_size / 1e6 if part.exists() else 0.0
            print(f"{name:<34} {seconds:7.3f} {size:6.0f} {bare / seconds:5.2f}x")
            part.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
