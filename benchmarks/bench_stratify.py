"""Benchmark ``stratify`` against a bare DuckDB scan of the event table, in the same run.

Usage::

    .venv/bin/python benchmarks/bench_stratify.py                  # 100,000 people
    .venv/bin/python benchmarks/bench_stratify.py --people 20000
    .venv/bin/python benchmarks/bench_stratify.py --keep /tmp/strat100k   # keep and reuse
    .venv/bin/python benchmarks/bench_stratify.py --demo-data /tmp/ics1m  # a built demo ICS

Generates a synthetic ICS, ingests it, builds the person index and the linked lake, loads
the footprint (all untimed), or reuses the data folder of a demo ICS that ``wholesystem
demo`` (or ``bench_dashboard_load.py``) built, with ``--demo-data``; then times in this one process:

* **reference**: a bare DuckDB per-person aggregation of the whole ``event`` table (count
  and last date by person): the least any per-person feature build must read;
* **features**: :func:`wholesystem.population.features.build_features` at the data end;
* **train**: ``stratify(retrain=True)``: features at two dates, training, calibration,
  validation, subgroups, baseline, registry, scoring, explanations, the lake write;
* **score**: ``stratify()`` with the active model: features, scoring, explanations,
  tiers, segments and the lake write (what a nightly run does).

Prints the times, each as a ratio to the reference, and the validation figures beside the
synthetic truth (true-probability AUROC on the same people) and the PARR-style baseline.
"""

from __future__ import annotations

import argparse
import math
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from wholesystem.footprint.pipeline import load_footprint_file
from wholesystem.population import features as feat
from wholesystem.population.pipeline import stratify
from wholesystem.record.ingest import ingest_path
from wholesystem.record.linkage.pipeline import build_person_index
from wholesystem.record.linked import build_linked_tables
from wholesystem.store.db import make_engine, make_session_factory, upgrade
from wholesystem.store.lake import Lake
from wholesystem.synth import SynthConfig, generate


def _f(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.3f}"


def oracle_bound(truth_dir: Path, year: int) -> tuple[float, float, float]:
    """How far any model can get on this synthetic ICS without the latent propensity.

    From the ground truth only (never used by the model): the AUROC, for the outcome year
    ``year``, of (1) the true probabilities; (2) the true log-odds less the person's latent
    admission propensity, i.e. a model that knows every other driver exactly (age, every
    condition including undiagnosed ones, the latent frailty score, isolation, deprivation,
    care home, last year's admissions); (3) that plus the true admission counts of the
    three years before, in a logistic regression fitted on the previous year: the most a
    history of admissions alone can tell about the propensity (A&E attendances, which
    the propensity drives too, tell more).
    """
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]

    con = duckdb.connect()
    risk = str(truth_dir / "risk.csv").replace("'", "''")
    people = str(truth_dir / "people.csv").replace("'", "''")

    def rows(y: int) -> dict[str, Any]:
        # quoted paths and year numbers only
        return con.sql(
            f"""
            WITH r AS (SELECT person_id, CAST(year AS INTEGER) AS y,
                              CAST(p_emergency_admission AS DOUBLE) AS p,
                              CAST(emergency_admissions AS INTEGER) AS k
                       FROM read_csv('{risk}', all_varchar = true)),
                 pp AS (SELECT person_id, CAST(admission_propensity AS DOUBLE) AS prop
                        FROM read_csv('{people}', all_varchar = true))
            SELECT ln(r.p / (1 - r.p)) AS eta, pp.prop, (r.k > 0)::INTEGER AS out,
                   coalesce(a.k, -1) AS k2, coalesce(b.k, -1) AS k3
            FROM r JOIN pp USING (person_id)
            LEFT JOIN r a ON a.person_id = r.person_id AND a.y = {y} - 2
            LEFT JOIN r b ON b.person_id = r.person_id AND b.y = {y} - 3
            WHERE r.y = {y}"""  # noqa: S608
        ).fetchnumpy()

    def design(d: dict[str, Any]) -> Any:
        k2, k3 = np.asarray(d["k2"]), np.asarray(d["k3"])
        return np.column_stack(
            [d["eta"] - d["prop"], np.clip(k2, 0, 3), np.clip(k3, 0, 3), k2 < 0, k3 < 0]
        )

    fit, val = rows(year - 1), rows(year)
    lr = LogisticRegression(max_iter=2000).fit(design(fit), fit["out"])
    return (
        float(roc_auc_score(val["out"], val["eta"])),
        float(roc_auc_score(val["out"], val["eta"] - val["prop"])),
        float(roc_auc_score(val["out"], lr.decision_function(design(val)))),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, default=None, help="work folder to keep/reuse")
    parser.add_argument(
        "--demo-data",
        type=Path,
        default=None,
        help="the data folder of a built demo ICS (wholesystem.db, lake/, demo/): its database "
        "is copied, its lake's population tables are rewritten",
    )
    args = parser.parse_args()
    if args.demo_data is not None:
        # `wholesystem demo`'s layout. The database is copied so the models registered here
        # (in a throwaway folder) never become the demo's active model.
        root = args.demo_data
        models = Path(tempfile.mkdtemp(prefix="bench-stratify-models-"))
        shutil.copyfile(root / "wholesystem.db", models / "bench.db")
        url = f"sqlite:///{models / 'bench.db'}"
        lake = Lake(root / "lake")
        ics = root / "demo"
        if not lake.exists("event"):
            parser.error(f"{root} holds no built lake (run the demo or the dashboard bench)")
    else:
        root = args.keep or Path(tempfile.mkdtemp(prefix="bench-stratify-"))
        root.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{root / 'bench.db'}"
        lake = Lake(root / "lake")
        ics = root / "ics"
        models = root / "models"
    try:
        if not lake.exists("event"):
            t = time.perf_counter()
            generate(SynthConfig(people=args.people, seed=args.seed), ics, progress=False)
            upgrade(url)
            factory = make_session_factory(make_engine(url))
            load_footprint_file(factory, ics / "footprint.json")
            ingest_path(factory, lake, ics / "extracts", actor="bench")
            build_person_index(factory, lake, actor="bench")
            build_linked_tables(factory, lake, "bench")
            print(f"setup (synth, ingest, link; untimed): {time.perf_counter() - t:.1f} s")
        factory = make_session_factory(make_engine(url))
        # the synthetic ICS's postcode -> IMD decile lookup (public reference data)
        deprivation = ics / "reference" / "postcode_deprivation.csv"
        events = lake.row_count("event")
        people = lake.row_count("person")

        con = duckdb.connect()
        path = str(lake.path("event")).replace("'", "''")
        t = time.perf_counter()
        con.execute(
            "SELECT count(*) FROM (SELECT person_id, count(*), max(start_date) "  # noqa: S608
            f"FROM read_parquet('{path}') GROUP BY person_id)"
        ).fetchall()
        reference = time.perf_counter() - t
        con.close()

        with lake.connect() as c:
            feat.prepare(c, deprivation)
            [(end,)] = c.execute("SELECT max(start_date) FROM event").fetchall()
            t = time.perf_counter()
            table = feat.build_features(c, end)
            features_s = time.perf_counter() - t

        t = time.perf_counter()
        trained = stratify(
            factory,
            lake,
            actor="bench",
            retrain=True,
            evaluate=True,
            model_dir=models,
            truth_dir=ics / "truth",
            deprivation=deprivation,
        )
        train_s = time.perf_counter() - t
        t = time.perf_counter()
        scored = stratify(factory, lake, actor="bench", model_dir=models, deprivation=deprivation)
        score_s = time.perf_counter() - t

        print(f"people in lake {people:,}; events {events:,}; scored {scored.people:,}")
        print(f"reference (bare DuckDB per-person scan of event): {reference:.2f} s")
        for name, secs in (
            ("features", features_s),
            ("train + score", train_s),
            ("score (active model)", score_s),
        ):
            print(f"{name:<22} {secs:7.2f} s   ratio {secs / reference:6.1f}x")
        print(f"feature rows {table.num_rows:,} x {table.num_columns} columns")
        st = scored.seconds
        everyone = st["features"] + st["scoring"]
        print(
            "score run by stage: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in st.items())
            + f"\nfeatures and scoring of everyone {everyone:.2f} s (target <= 30 s; ratio "
            f"{everyone / reference:.1f}x); with the explanations of the top 5%, assembly and "
            f"the lake write {sum(st.values()):.2f} s"
        )
        print(
            "training (features at the training dates, boosting, calibration, validation, "
            f"registry) {trained.seconds['train']:.2f} s (target <= 180 s)"
        )
        m = trained.model
        print(
            f"validation ({m.n_validate:,} people, {m.metrics.events:,} admitted): "
            f"AUROC {_f(m.metrics.auroc)} AUPRC {_f(m.metrics.auprc)} "
            f"slope {_f(m.metrics.calibration_slope)} "
            f"intercept {_f(m.metrics.calibration_intercept)} Brier {_f(m.metrics.brier)}"
        )
        if m.baseline is not None:
            print(
                f"PARR-style baseline AUROC {_f(m.baseline.auroc)} "
                f"(model - baseline {m.metrics.auroc - m.baseline.auroc:+.3f})"
            )
        if trained.truth is not None:
            tr = trained.truth
            print(
                f"synthetic truth on {tr.n:,} people: true AUROC {_f(tr.truth_auroc)}, "
                f"model {_f(tr.model_auroc)}, ratio {_f(tr.ratio)}"
            )
            year = (m.validation_index_date + timedelta(days=1)).year
            true_auc, no_prop, oracle = oracle_bound(ics / "truth", year)
            print(
                f"ground truth, all person-years of {year}: true AUROC {true_auc:.3f}; knowing "
                f"every driver but the latent propensity {no_prop:.3f}; that plus three years "
                f"of true admission counts {oracle:.3f} (what a history of admissions alone "
                "can tell; A&E attendances reveal more of the propensity)"
            )
        print("tiers", trained.tier_counts)
        print("segments", trained.segment_counts)
    finally:
        if args.demo_data is not None:
            shutil.rmtree(models, ignore_errors=True)
        elif args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
