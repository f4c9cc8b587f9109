"""The ``stratify`` step: features, the risk model (trained or loaded), scores, tiers, segments.

Dates. ``data_end`` is the last day with activity in the lake's ``event`` table. A new model
is trained on features at ``data_end - 2 years`` with outcomes in the following 12 months,
and validated on features at ``data_end - 1 year`` with outcomes in the 12 months after
that (both outcome years are fully observed). Everyone alive at the scoring index date
(``data_end`` unless given) is then scored, and ``population_person`` is written.

Opted-out people (national data opt-out, matched on NHS number) are left out of training
and validation; they are still scored, because risk stratification for case-finding is
direct care, and carry ``opted_out = true`` so that analyst extracts can leave them out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session, sessionmaker

from wholesystem.population import features as feat
from wholesystem.population import model as mdl
from wholesystem.population import registry
from wholesystem.population.registry import ModelMetrics, ModelVersion, SubgroupMetrics
from wholesystem.population.segments import segment_sql, tiers
from wholesystem.store.db import session_scope, utcnow
from wholesystem.store.lake import Lake, LakeError
from wholesystem.store.runs import recorded_run

__all__ = [
    "OUTPUT_TABLE",
    "STEP",
    "StratifyError",
    "StratifyResult",
    "TruthComparison",
    "stratify",
    "truth_comparison",
]

STEP = "stratify"
OUTPUT_TABLE = "population_person"
TARGET = "emergency_admission_12m"
SUBGROUP_DIMENSIONS = ("age_band", "sex", "deprivation_quintile", "ethnicity_group")
BASELINE_FEATURES = ("age", "sex_female", "emergency_admissions_12m", "emergency_admissions_24m")
REQUIRED_TABLES = ("person", "event")
EXPLAIN_SHARE = 0.05
"""Reasons are given for the top 5% by risk: the high-risk tiers that case-finding works
from. TreeSHAP is the costliest part of scoring (about 0.5 ms a person at 1M people), so
explaining the 5-20% tier as well would quadruple it for people no list puts first."""
F64 = npt.NDArray[np.float64]


class StratifyError(RuntimeError):
    """The step cannot run (no linked lake, too little history to train)."""


@dataclass(frozen=True)
class TruthComparison:
    """The model beside the synthetic truth, on the same validation people."""

    n: int
    model_auroc: float
    truth_auroc: float
    """AUROC of the true probabilities: the best any model can reach on these data."""

    @property
    def ratio(self) -> float:
        return self.model_auroc / self.truth_auroc if self.truth_auroc else math.nan


@dataclass
class StratifyResult:
    index_date: date
    model: ModelVersion
    trained: bool
    people: int
    tier_counts: dict[str, int] = field(default_factory=dict)
    segment_counts: dict[str, int] = field(default_factory=dict)
    truth: TruthComparison | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each stage: train (when trained), features, scoring (the model's risk,
    ranks and tiers of everyone), explanations (the top EXPLAIN_SHARE), assemble, write."""

    def describe(self) -> str:
        how = "trained" if self.trained else "loaded"
        return (
            f"{self.people:,} people scored at {self.index_date} with model "
            f"{self.model.version} ({how}); validation AUROC {self.model.metrics.auroc:.3f}"
        )


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _column(table: pa.Table, name: str) -> F64:
    col = pc.cast(table.column(name), pa.float64())
    out: F64 = col.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    return out


def _matrix(table: pa.Table, names: Sequence[str]) -> F64:
    # filled column by column in place: column_stack would copy every column once more
    out: F64 = np.empty((table.num_rows, len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        out[:, j] = _column(table, name)
    return out


def _ids(table: pa.Table, name: str = "person_id") -> list[str]:
    return [str(v) for v in table.column(name).to_pylist()]


def _labelled(con: Any, index_date: date, opted_out: set[str]) -> tuple[pa.Table, F64, int]:
    """Features at ``index_date`` with the 0/1 outcome, opted-out people removed."""
    table = feat.build_features(con, index_date)
    out = feat.outcomes(con, index_date)
    admitted = set(_ids(out))
    nhs = table.column("nhs_number").to_pylist()
    keep = np.array([n is None or n not in opted_out for n in nhs], dtype=bool)
    excluded = int((~keep).sum())
    table = table.filter(pa.array(keep))
    y = np.array([1.0 if i in admitted else 0.0 for i in _ids(table)], dtype=np.float64)
    return table, y, excluded


def _subgroups(table: pa.Table, y: F64, p: F64) -> tuple[SubgroupMetrics, ...]:
    out: list[SubgroupMetrics] = []
    for dim in SUBGROUP_DIMENSIONS:
        values = ["unknown" if v is None else str(v) for v in table.column(dim).to_pylist()]
        arr = np.array(values, dtype=object)
        for group in sorted(set(values)):
            mask = arr == group
            out.append(SubgroupMetrics(dim, group, int(mask.sum()), mdl.evaluate(y[mask], p[mask])))
    return tuple(out)


def _baseline(train_t: pa.Table, y_train: F64, val_t: pa.Table, y_val: F64) -> ModelMetrics:
    """A PARR-style comparator: logistic regression on age (and its square), sex and prior
    emergency admissions, fitted on the training year, evaluated on the validation year."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    def design(t: pa.Table) -> F64:
        x = np.nan_to_num(_matrix(t, BASELINE_FEATURES), nan=0.5)
        age = x[:, :1] / 100.0
        return np.column_stack([age, age**2, x[:, 1:]])

    fit = LogisticRegression(max_iter=1000)
    fit.fit(design(train_t), y_train)
    return mdl.evaluate(y_val, fit.predict_proba(design(val_t))[:, 1])


def _train(
    factory: sessionmaker[Session],
    con: Any,
    data_end: date,
    opted_out: set[str],
    model_dir: Path,
    actor: str,
) -> ModelVersion:
    train_date = _years_before(data_end, 2)
    val_date = _years_before(data_end, 1)
    names = list(feat.MODEL_FEATURES)
    train_t, y_train, excl_train = _labelled(con, train_date, opted_out)
    if train_t.num_rows < 50 or y_train.sum() < 5:
        raise StratifyError(
            f"too little history to train: {train_t.num_rows} people and {int(y_train.sum())} "
            f"admitted at {train_date} (the lake's activity ends {data_end})"
        )
    trained = mdl.train(_matrix(train_t, names), y_train, _ids(train_t), names)
    val_t, y_val, excl_val = _labelled(con, val_date, opted_out)
    p_val = trained.predict(_matrix(val_t, names))
    created = utcnow()
    stamp = created.strftime("%Y%m%dT%H%M%S")
    tmp = model_dir / f".pending-{stamp}.json"
    digest = mdl.save_model(trained, tmp)
    version = f"{stamp}-{digest[:8]}"
    path = model_dir / f"risk-{version}.json"
    tmp.replace(path)
    result = ModelVersion(
        version=version,
        created_at=created,
        created_by=actor[:64],
        train_index_date=train_date,
        validation_index_date=val_date,
        features=tuple(names),
        n_train=train_t.num_rows,
        n_validate=val_t.num_rows,
        excluded_opted_out=excl_train + excl_val,
        metrics=mdl.evaluate(y_val, p_val, bins=mdl.CALIBRATION_BINS),
        subgroups=_subgroups(val_t, y_val, p_val),
        active=True,
        algorithm=mdl.ALGORITHM,
        target=TARGET,
        baseline=_baseline(train_t, y_train, val_t, y_val),
        path=str(path),
        sha256=digest,
    )
    from wholesystem.access import audit

    with session_scope(factory) as s:
        registry.register(s, result)
        audit.append(
            s,
            actor=actor[:64],
            action="risk_model_trained",
            object_type="population_model",
            object_id=version,
            detail={
                "train_index_date": train_date.isoformat(),
                "validation_index_date": val_date.isoformat(),
                "n_train": result.n_train,
                "auroc": None if math.isnan(result.metrics.auroc) else result.metrics.auroc,
            },
        )
    return result


def _footprint(factory: sessionmaker[Session]) -> dict[str, tuple[str | None, str | None]]:
    """Practice code -> (neighbourhood code, place code) from the footprint tree."""
    from wholesystem.footprint.queries import footprint_tree

    with factory() as s:
        tree = footprint_tree(s)
    if tree is None:
        return {}
    parent = {n.code: n.parent_code for n in tree.walk()}
    level = {
        n.code: str(n.level.value if hasattr(n.level, "value") else n.level) for n in tree.walk()
    }
    out: dict[str, tuple[str | None, str | None]] = {}
    for node in tree.walk():
        if level[node.code] != "practice":
            continue
        hood = node.parent_code
        place = parent.get(hood) if hood else None
        for key in {node.code, node.organisation_code}:
            if key:
                out[key] = (hood, place)
    return out


def _opted_out(factory: sessionmaker[Session]) -> set[str]:
    from wholesystem.access.opt_outs import opted_out_nhs_numbers

    with factory() as s:
        return set(opted_out_nhs_numbers(s))


def _data_end(con: Any) -> date:
    """The last day of the lake's activity: the last day with at least a tenth of the
    median day's events (and at least 2), so that a few mistyped dates past the real end
    (a day and month swapped in an extract) do not move the training and validation years;
    the plain last day when no day is that busy (a tiny lake)."""
    [row] = con.execute(
        """
        WITH daily AS (
            SELECT start_date AS day, count(*) AS n FROM event
            WHERE start_date <= current_date GROUP BY start_date
        ),
        usual AS (SELECT greatest(2, 0.1 * median(n)) AS floor FROM daily)
        SELECT coalesce(max(day) FILTER (WHERE n >= floor), max(day)) FROM daily, usual
        """
    ).fetchall()
    if row[0] is None:
        raise StratifyError("the lake's event table is empty: run `wholesystem link-lake` first")
    end: date = row[0]
    return end


def stratify(
    factory: sessionmaker[Session],
    lake: Lake,
    *,
    actor: str,
    index_date: date | None = None,
    evaluate: bool = False,
    retrain: bool = False,
    model_dir: Path | None = None,
    truth_dir: Path | None = None,
    deprivation: Path | None = None,
) -> StratifyResult:
    """Score everyone at ``index_date`` and write ``population_person`` (see module doc).

    Trains a new model when ``retrain`` or when none is active; otherwise loads the active
    one (refusing a model file whose SHA-256 has changed). With ``evaluate`` and a synthetic
    ``truth_dir``, compares the model with the true probabilities.
    """
    missing = [t for t in REQUIRED_TABLES if not lake.exists(t)]
    if missing:
        raise LakeError(
            f"lake tables missing under {lake.root}: {', '.join(missing)} "
            "(run `wholesystem link-lake` first)"
        )
    model_dir = model_dir if model_dir is not None else lake.root.parent / "models"
    with recorded_run(factory, STEP) as run, lake.connect() as con:
        try:
            feat.prepare(con, deprivation)
        except feat.DeprivationFileError as exc:
            raise StratifyError(str(exc)) from None
        data_end = _data_end(con)
        index = index_date or data_end
        opted_out = _opted_out(factory)
        with factory() as s:
            active = registry.active_version(s)
        trained = False
        seconds: dict[str, float] = {}
        if retrain or active is None:
            started = time.perf_counter()
            active = _train(factory, con, data_end, opted_out, model_dir, actor)
            seconds["train"] = time.perf_counter() - started
            trained = True
        if deprivation is None and _uses_deprivation(active):
            # without the lookup everyone's decile would be unknown, which the model never
            # saw in training: scores would drift silently
            raise StratifyError(
                f"model {active.version} was trained with deprivation (IMD deciles from a "
                "postcode lookup): give the same lookup (--deprivation FILE) to score with "
                "it, or retrain without one"
            )
        loaded = mdl.load_model(Path(active.path), active.sha256)
        table = _score(con, index, loaded, active, _footprint(factory), opted_out, seconds)
        started = time.perf_counter()
        lake.write_arrow(OUTPUT_TABLE, table)
        seconds["write"] = time.perf_counter() - started
        result = StratifyResult(
            index_date=index,
            model=active,
            trained=trained,
            people=table.num_rows,
            tier_counts=_counts(table, "tier"),
            segment_counts=_counts(table, "segment"),
            seconds=seconds,
        )
        if evaluate and truth_dir is not None:
            result.truth = truth_comparison(con, loaded, active, truth_dir, opted_out)
        run.summary = result.describe()
        run.details = {
            "index_date": index.isoformat(),
            "model_version": active.version,
            "trained": trained,
            "people": result.people,
            "tiers": result.tier_counts,
            "segments": result.segment_counts,
            "seconds": {k: round(v, 2) for k, v in seconds.items()},
        }
    return result


def _uses_deprivation(version: ModelVersion) -> bool:
    """Whether ``version`` was validated on people with a known deprivation quintile."""
    return any(
        s.dimension == "deprivation_quintile" and s.group != "unknown" for s in version.subgroups
    )


def _counts(table: pa.Table, column: str) -> dict[str, int]:
    counts = pc.value_counts(table.column(column)).to_pylist()
    return {str(c["values"]): int(c["counts"]) for c in counts}


def _score(
    con: Any,
    index: date,
    trained: mdl.TrainedModel,
    version: ModelVersion,
    footprint: dict[str, tuple[str | None, str | None]],
    opted_out: set[str],
    seconds: dict[str, float],
) -> pa.Table:
    started = time.perf_counter()
    table = feat.build_features(con, index)
    seconds["features"] = time.perf_counter() - started
    lap = time.perf_counter()
    x = _matrix(table, trained.features)
    risk = trained.predict(x) if table.num_rows else np.empty(0)
    ids = _ids(table)
    rank, tier = tiers(risk, ids)
    seconds["scoring"] = time.perf_counter() - lap
    # Explanations (TreeSHAP) are the costly part of scoring: they are worked out for the
    # people case-finding puts in front of a care team, the top EXPLAIN_SHARE by risk;
    # everyone else gets an empty list.
    lap = time.perf_counter()
    explained = np.flatnonzero(rank <= math.ceil(EXPLAIN_SHARE * len(ids)))
    reasons: list[list[str]] = [[] for _ in ids]
    if len(explained):
        for i, words in zip(explained, mdl.explain(trained, x[explained]), strict=True):
            reasons[i] = words
    seconds["explanations"] = time.perf_counter() - lap
    lap = time.perf_counter()
    practices = table.column("practice_code").to_pylist()
    area = {p: footprint.get(p, (None, None)) for p in set(practices) if p}
    hoods = [area[p][0] if p else None for p in practices]
    places = [area[p][1] if p else None for p in practices]
    nhs = table.column("nhs_number").to_pylist()
    extra = pa.table(
        {
            "person_id": pa.array(ids, pa.string()),
            "model_version": pa.array([version.version] * len(ids), pa.string()),
            "neighbourhood_code": pa.array(hoods, pa.string()),
            "place_code": pa.array(places, pa.string()),
            "risk": pa.array(risk, pa.float64()),
            "risk_rank": pa.array(rank, pa.int32()),
            "tier": pa.array(tier, pa.string()),
            "reasons": pa.array(reasons, pa.list_(pa.string())),
            "opted_out": pa.array([n is not None and n in opted_out for n in nhs], pa.bool_()),
        }
    )
    con.register("pop_scored_features", table)
    con.register("pop_scored_extra", extra)
    out: pa.Table = con.sql(
        # the segment rules are constants of this package
        f"""
        SELECT f.person_id, f.index_date, x.model_version, f.practice_code,
            x.neighbourhood_code, x.place_code, f.age, f.age_band, f.sex,
            f.deprivation_quintile, f.ethnicity_group, f.conditions, f.ltc_count,
            f.efi, f.efi_category, f.efi_deficits, f.hfrs, f.charlson, f.cms,
            f.coded_frailty,
            f.emergency_admissions_12m, f.ae_attendances_12m, f.outpatient_12m,
            f.community_contacts_12m, f.mental_health_contacts_12m, f.social_care_active,
            f.care_home, f.bed_days_12m, f.medication_count,
            x.risk, x.risk_rank, x.tier, {segment_sql()} AS segment, x.reasons, x.opted_out
        FROM pop_scored_features f JOIN pop_scored_extra x USING (person_id)
        ORDER BY f.person_id
        """  # noqa: S608
    ).to_arrow_table()
    con.unregister("pop_scored_features")
    con.unregister("pop_scored_extra")
    seconds["assemble"] = time.perf_counter() - lap
    return out


def truth_comparison(
    con: Any,
    trained: mdl.TrainedModel,
    version: ModelVersion,
    truth_dir: Path,
    opted_out: set[str],
) -> TruthComparison | None:
    """AUROC of the model and of the synthetic truth's probabilities on the same people.

    Each linked person is matched to the true person behind most of their source records
    (``truth/records.csv`` joined to the lake's ``source_record``); the true probability is
    the one for the 12 months after the validation index date (``truth/risk.csv``).
    """
    risk_csv, records_csv = truth_dir / "risk.csv", truth_dir / "records.csv"
    if not (risk_csv.exists() and records_csv.exists()):
        return None
    val_date = version.validation_index_date
    year = (val_date + timedelta(days=1)).year
    table, y, _excl = _labelled(con, val_date, opted_out)
    p_model = trained.predict(_matrix(table, trained.features))
    rq = str(records_csv).replace("'", "''")
    kq = str(risk_csv).replace("'", "''")
    rows = con.execute(
        # quoted paths and a year number only
        f"""
        WITH tr AS (SELECT * FROM read_csv('{rq}', all_varchar = true, header = true)),
        votes AS (
            SELECT s.person_id, tr.person_id AS true_id, count(*) AS n
            FROM source_record s JOIN tr
              ON tr.org_code = s.source AND tr.dataset = s.dataset
             AND tr.local_patient_id = s.local_patient_id
            GROUP BY ALL
        ),
        best AS (SELECT person_id, arg_max(true_id, n) AS true_id FROM votes GROUP BY person_id),
        risk AS (
            SELECT person_id AS true_id, CAST(p_emergency_admission AS DOUBLE) AS p
            FROM read_csv('{kq}', all_varchar = true, header = true)
            WHERE year = '{year}'
        )
        SELECT best.person_id, risk.p FROM best JOIN risk USING (true_id)
        """  # noqa: S608
    ).fetchall()
    truth = {str(pid): float(p) for pid, p in rows}
    ids = _ids(table)
    mask = np.array([i in truth for i in ids], dtype=bool)
    if mask.sum() == 0 or y[mask].min() == y[mask].max():
        return None
    p_true = np.array([truth[i] for i, m in zip(ids, mask, strict=True) if m], dtype=np.float64)
    model_m = mdl.evaluate(y[mask], p_model[mask])
    truth_m = mdl.evaluate(y[mask], p_true)
    return TruthComparison(int(mask.sum()), model_m.auroc, truth_m.auroc)
