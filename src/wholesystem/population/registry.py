"""The model registry: every trained risk model, its validation figures, and the active one.

Read by the model-card page and the cohort tools; written by the ``stratify`` pipeline.
Undefined figures (an AUROC in a subgroup with no admissions) are ``nan``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wholesystem.population.models import RiskModel

__all__ = [
    "CalibrationBin",
    "ModelMetrics",
    "ModelVersion",
    "SubgroupMetrics",
    "TopK",
    "activate",
    "active_version",
    "get_version",
    "list_versions",
    "metrics_from_json",
    "metrics_to_json",
    "register",
]


@dataclass(frozen=True)
class TopK:
    """Flagging the top ``share`` of people by risk: how many admitted were caught, and how
    many of those flagged were admitted."""

    share: float
    sensitivity: float
    ppv: float


@dataclass(frozen=True)
class CalibrationBin:
    """One group of people with similar predicted risk (a tenth of the validation year
    ranked by risk): what the model predicted for them and what happened."""

    lower: float
    """Lowest predicted risk in the group."""
    upper: float
    """Highest predicted risk in the group."""
    n: int
    events: int
    """People in the group with an emergency admission in the outcome year."""
    mean_predicted: float

    @property
    def observed(self) -> float:
        return self.events / self.n if self.n else math.nan


@dataclass(frozen=True)
class ModelMetrics:
    auroc: float
    auprc: float
    calibration_slope: float
    calibration_intercept: float
    brier: float
    top: tuple[TopK, ...]
    n: int = 0
    events: int = 0
    """People with at least one emergency admission in the outcome year."""
    calibration: tuple[CalibrationBin, ...] = ()
    """Predicted against observed by tenth of risk (overall figures only)."""


@dataclass(frozen=True)
class SubgroupMetrics:
    dimension: str
    """'age_band', 'sex', 'deprivation_quintile' or 'ethnicity_group'."""
    group: str
    n: int
    metrics: ModelMetrics


@dataclass(frozen=True)
class ModelVersion:
    version: str
    created_at: datetime
    created_by: str
    train_index_date: date
    validation_index_date: date
    features: tuple[str, ...]
    n_train: int
    n_validate: int
    excluded_opted_out: int
    metrics: ModelMetrics
    subgroups: tuple[SubgroupMetrics, ...]
    active: bool
    algorithm: str = ""
    target: str = ""
    baseline: ModelMetrics | None = None
    """A PARR-style comparator (age, sex, prior emergency admissions) on the same people."""
    path: str = ""
    sha256: str = ""


def _num(value: float) -> float | None:
    return None if math.isnan(value) else value


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def metrics_to_json(m: ModelMetrics) -> dict[str, Any]:
    """JSON-safe (``nan`` becomes null, which PostgreSQL's JSON accepts)."""
    data = asdict(m)
    for key in ("auroc", "auprc", "calibration_slope", "calibration_intercept", "brier"):
        data[key] = _num(data[key])
    data["top"] = [
        {"share": t.share, "sensitivity": _num(t.sensitivity), "ppv": _num(t.ppv)} for t in m.top
    ]
    data["calibration"] = list(data["calibration"])
    return data


def metrics_from_json(data: dict[str, Any]) -> ModelMetrics:
    return ModelMetrics(
        auroc=_float(data.get("auroc")),
        auprc=_float(data.get("auprc")),
        calibration_slope=_float(data.get("calibration_slope")),
        calibration_intercept=_float(data.get("calibration_intercept")),
        brier=_float(data.get("brier")),
        top=tuple(
            TopK(float(t["share"]), _float(t.get("sensitivity")), _float(t.get("ppv")))
            for t in data.get("top", [])
        ),
        n=int(data.get("n", 0)),
        events=int(data.get("events", 0)),
        calibration=tuple(
            CalibrationBin(
                lower=float(b["lower"]),
                upper=float(b["upper"]),
                n=int(b["n"]),
                events=int(b["events"]),
                mean_predicted=float(b["mean_predicted"]),
            )
            for b in data.get("calibration", [])
        ),
    )


def _version(row: RiskModel) -> ModelVersion:
    return ModelVersion(
        version=row.version,
        created_at=row.created_at,
        created_by=row.created_by,
        train_index_date=row.train_index_date,
        validation_index_date=row.validation_index_date,
        features=tuple(row.features),
        n_train=row.n_train,
        n_validate=row.n_validate,
        excluded_opted_out=row.excluded_opted_out,
        metrics=metrics_from_json(row.metrics),
        subgroups=tuple(
            SubgroupMetrics(
                dimension=str(s["dimension"]),
                group=str(s["group"]),
                n=int(s["n"]),
                metrics=metrics_from_json(s["metrics"]),
            )
            for s in row.subgroups
        ),
        active=row.active,
        algorithm=row.algorithm,
        target=row.target,
        baseline=metrics_from_json(row.baseline) if row.baseline else None,
        path=row.path,
        sha256=row.sha256,
    )


def list_versions(session: Session) -> list[ModelVersion]:
    """Every model version, newest first."""
    rows = session.scalars(
        select(RiskModel).order_by(RiskModel.created_at.desc(), RiskModel.version.desc())
    )
    return [_version(r) for r in rows]


def get_version(session: Session, version: str) -> ModelVersion | None:
    row = session.get(RiskModel, version)
    return _version(row) if row is not None else None


def active_version(session: Session) -> ModelVersion | None:
    """The model ``stratify`` scores with, or None before one has been trained."""
    row = session.scalars(select(RiskModel).where(RiskModel.active.is_(True))).first()
    return _version(row) if row is not None else None


def register(session: Session, model: ModelVersion, *, activate_it: bool = True) -> None:
    """Add ``model`` to the registry (and make it the active one)."""
    if activate_it:
        session.execute(update(RiskModel).values(active=False))
    session.add(
        RiskModel(
            version=model.version,
            created_at=model.created_at,
            created_by=model.created_by,
            target=model.target,
            algorithm=model.algorithm,
            train_index_date=model.train_index_date,
            validation_index_date=model.validation_index_date,
            features=list(model.features),
            n_train=model.n_train,
            n_validate=model.n_validate,
            excluded_opted_out=model.excluded_opted_out,
            metrics=metrics_to_json(model.metrics),
            subgroups=[
                {
                    "dimension": s.dimension,
                    "group": s.group,
                    "n": s.n,
                    "metrics": metrics_to_json(s.metrics),
                }
                for s in model.subgroups
            ],
            baseline=metrics_to_json(model.baseline) if model.baseline else {},
            path=model.path,
            sha256=model.sha256,
            active=activate_it,
        )
    )
    session.flush()


def activate(session: Session, version: str) -> None:
    """Make ``version`` the active model (the others inactive)."""
    if session.get(RiskModel, version) is None:
        raise KeyError(f"no model version {version!r}")
    session.execute(update(RiskModel).values(active=False))
    session.execute(update(RiskModel).where(RiskModel.version == version).values(active=True))
    session.flush()
