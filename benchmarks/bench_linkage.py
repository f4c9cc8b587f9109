"""Benchmark: link a synthetic ICS, side by side with a plain Splink dedupe.

    python benchmarks/bench_linkage.py --people 200000
    python benchmarks/bench_linkage.py --synth /tmp/synth1m

Synthesises ``--people`` (default 1,000,000) into a temporary folder unless ``--synth``
names an existing synth output, builds the source records (one per distinct org,
dataset, local id and identity), then runs each engine in its own subprocess so peak
memory (``ru_maxrss``) is that engine's alone:

* **ours**: :func:`wholesystem.record.linkage.link` (collapse, deterministic NHS pass,
  needy x all blocking, Splink scoring, guarded clustering);
* **plain Splink**: one Splink 5 dedupe of every record with the same comparisons (NHS
  number as an ordinary exact-match comparison), blocking on given+family, dob+family,
  postcode+given and dob+postcode, u by random sampling, m by EM, predict and
  ``cluster_pairwise_predictions_at_threshold`` at the same threshold.

Prints time, peak memory and pairwise F1 of each and the ratios ours / plain. Targets
(issue 3): <= 2 min, <= 6 GB, F1 >= 0.995 at 1M people.
"""

# SQL here joins this script's own table names and a quoted temporary path.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 120.0
TARGET_GB = 6.0
TARGET_F1 = 0.995


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def _worker(
    engine: str, records_path: Path, synth_dir: Path, threshold: float
) -> dict[str, object]:
    import pyarrow.parquet as pq

    from wholesystem.record.linkage import LinkSettings, evaluate, link

    records = pq.read_table(records_path)
    started = time.perf_counter()
    if engine == "ours":
        result = link(records, LinkSettings(match_probability=threshold))
        clusters = result.clusters
        extra: dict[str, object] = {"stats": result.stats}
    else:
        clusters, extra = _plain_splink(records, threshold)
    seconds = time.perf_counter() - started
    peak = _peak_gb()
    metrics = evaluate(records, clusters, synth_dir)
    return {
        "engine": engine,
        "seconds": seconds,
        "peak_gb": peak,
        "f1": metrics.f1,
        "precision": metrics.precision,
        "recall": metrics.recall,
        "purity": metrics.purity,
        "records": metrics.records,
        **extra,
    }


def _plain_splink(records: object, threshold: float) -> tuple[object, dict[str, object]]:
    import duckdb
    from splink import DuckDBAPI, Linker, block_on

    from wholesystem.record.linkage.model import comparisons, present_columns, quiet_splink
    from wholesystem.record.linkage.standardise import register_nicknames, standardise_sql

    con = duckdb.connect()
    register_nicknames(con)
    con.register("raw", records)
    con.execute(
        "CREATE TABLE std AS SELECT CAST(row_number() OVER (ORDER BY record_id) AS BIGINT) "
        f"AS unique_id, * FROM ({standardise_sql('raw', False)})"
    )
    present = [c for c in present_columns(con, "std") if c != "nhs"]
    comps = comparisons(present)
    comps.append(
        {
            "output_column_name": "nhs",
            "comparison_levels": [
                {"sql_condition": "nhs_l IS NULL OR nhs_r IS NULL", "is_null_level": True},
                {"sql_condition": "nhs_l = nhs_r"},
                {"sql_condition": "ELSE"},
            ],
        }
    )
    rules = [
        block_on("given_canon", "family"),
        block_on("dob", "family"),
        block_on("postcode", "given_canon"),
        block_on("dob", "postcode"),
    ]
    settings = {
        "link_type": "dedupe_only",
        "comparisons": comps,
        "blocking_rules_to_generate_predictions": rules,
        "probability_two_random_records_match": 1e-6,
        "retain_matching_columns": False,
    }
    db_api = DuckDBAPI(connection=con)
    with quiet_splink():
        linker = Linker(db_api.register("std", table_name="plain_input"), settings, log_level=None)
        linker.training.estimate_probability_two_random_records_match(
            [block_on("given_canon", "family", "dob")], recall=0.7
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
        for rule in (block_on("given_canon", "family"), block_on("dob")):
            linker.training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=5e6)
        pred = linker.inference.predict(threshold_match_probability=threshold)
        n_pairs = con.execute(f"SELECT count(*) FROM {pred.physical_name}").fetchall()[0][0]
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(
            pred, threshold_match_probability=threshold
        )
        table = con.sql(
            f"SELECT s.record_id, c.cluster_id AS cluster FROM {clustered.physical_name} c "
            "JOIN std s USING (unique_id)"
        ).to_arrow_table()
    return table, {"pairs_above_threshold": int(n_pairs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--synth", type=Path, help="an existing synth output to use")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument(
        "--engines", default="ours,plain", help="comma-separated: ours, plain (default both)"
    )
    parser.add_argument("--worker", choices=["ours", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--records", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        report = _worker(args.worker, args.records, args.synth, args.threshold)
        args.out.write_text(json.dumps(report, default=str))
        return

    import pyarrow.parquet as pq

    from wholesystem.record.linkage import source_records_from_synth

    with tempfile.TemporaryDirectory(prefix="bench-linkage-") as tmp:
        synth_dir = args.synth
        if synth_dir is None:
            from wholesystem.synth import SynthConfig, generate

            synth_dir = Path(tmp) / "synth"
            t = time.perf_counter()
            generate(SynthConfig(people=args.people, seed=args.seed), synth_dir, progress=False)
            print(f"synth {args.people:,} people: {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        records = source_records_from_synth(synth_dir)
        records_path = Path(tmp) / "records.parquet"
        pq.write_table(records, records_path)
        print(f"source records: {records.num_rows:,} (built in {time.perf_counter() - t:.1f} s)")
        results = {}
        for engine in [e for e in ("ours", "plain") if e in args.engines.split(",")]:
            out = Path(tmp) / f"{engine}.json"
            cmd = [
                sys.executable,
                __file__,
                "--worker",
                engine,
                "--records",
                str(records_path),
                "--synth",
                str(synth_dir),
                "--threshold",
                str(args.threshold),
                "--out",
                str(out),
            ]
            proc = subprocess.run(cmd, check=False)
            if proc.returncode != 0:
                print(f"{engine}: failed with exit code {proc.returncode} (out of memory?)")
                continue
            results[engine] = json.loads(out.read_text())
    print()
    print(f"{'engine':<14}{'time s':>9}{'peak GB':>9}{'F1':>9}{'precision':>11}{'recall':>9}")
    for name, r in results.items():
        print(
            f"{name:<14}{r['seconds']:>9.1f}{r['peak_gb']:>9.2f}{r['f1']:>9.5f}"
            f"{r['precision']:>11.5f}{r['recall']:>9.5f}"
        )
    ours = results.get("ours")
    plain = results.get("plain")
    if ours and plain:
        print(
            f"ratio ours/plain: time {ours['seconds'] / plain['seconds']:.2f}x, "
            f"memory {ours['peak_gb'] / plain['peak_gb']:.2f}x, "
            f"F1 {ours['f1'] - plain['f1']:+.5f}"
        )
    if ours:
        print(
            f"targets: time {ours['seconds']:.0f}/{TARGET_SECONDS:.0f} s, "
            f"memory {ours['peak_gb']:.2f}/{TARGET_GB:.0f} GB, F1 {ours['f1']:.5f}/{TARGET_F1}"
        )
        print("engine stats:", json.dumps(ours.get("stats", {})))


if __name__ == "__main__":
    main()
