"""The emergency-admission risk model: gradient boosting, calibration, metrics, explanations.

* **Model.** LightGBM (binary log-loss, small trees, monotone constraints on counts of
  admissions, conditions and frailty) on the features of
  :data:`wholesystem.population.features.MODEL_FEATURES`. Boosting runs on 75% of the
  training people and stops early on the other 25% (a held-out fold, by a hash of the
  person id), which also fits the calibration: Platt scaling (a logistic fit on the
  margin). The model is then refitted on every training person for 4/3 of the
  early-stopped rounds; the calibration is applied to its margin.
* **Metrics.** AUROC, AUPRC (average precision), calibration slope (logistic regression of
  the outcome on the logit of the risk) and intercept (calibration-in-the-large: the same
  fit with the slope fixed at 1), Brier score, and sensitivity and PPV when the top 0.5%,
  1% and 5% by risk are flagged, and predicted against observed risk by tenth of risk.
* **Explanations.** LightGBM's exact TreeSHAP contributions (``pred_contrib=True``) on the
  log-odds scale; the features that raised a person's risk most, put into plain words.
* **Storage.** One JSON file (LightGBM's text model and the calibration map), never a
  pickle, so loading a file cannot run code; the registry keeps its SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score, roc_auc_score  # type: ignore[import-untyped]

from wholesystem.population import codelists
from wholesystem.population.registry import CalibrationBin, ModelMetrics, TopK

__all__ = [
    "ALGORITHM",
    "CALIBRATION_BINS",
    "TOP_SHARES",
    "ModelFileError",
    "TrainedModel",
    "calibration_bins",
    "calibration_fit",
    "describe",
    "evaluate",
    "explain",
    "load_model",
    "monotone_constraints",
    "save_model",
    "top_k",
    "train",
]

F64 = npt.NDArray[np.float64]
TOP_SHARES = (0.005, 0.01, 0.05)
CALIBRATION_BINS = 10
ALGORITHM = "LightGBM gradient boosting (binary log-loss, monotone constraints) + Platt calibration"
FORMAT = "wholesystem-risk-model/1"
MAX_ROUNDS = 1500
EARLY_STOPPING_ROUNDS = 60
_PARAMS: dict[str, Any] = {
    "objective": "binary",
    # small trees: the risk is close to additive on the log-odds scale (many weak drivers,
    # few strong interactions), and shallow trees keep TreeSHAP explanations cheap (their
    # cost grows with trees x leaves x depth^2). At 1M people a rate of 0.02 gave the same
    # validation AUROC (0.768) with 903 trees against 369 at 0.05, and scoring and
    # TreeSHAP cost grow with the trees.
    "learning_rate": 0.05,
    "num_leaves": 15,
    "max_depth": 4,
    "min_data_in_leaf": 200,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 2,
    "verbose": -1,
    "deterministic": True,
    "force_col_wise": True,
}


class ModelFileError(ValueError):
    """A model file is missing, changed since it was registered, or not a model file."""


@dataclass(frozen=True)
class TrainedModel:
    features: tuple[str, ...]
    booster: lgb.Booster
    calibration: dict[str, Any]
    """{"method": "isotonic", "x": [...], "y": [...]} or {"method": "platt", "a", "b"}."""

    def margin(self, x: F64) -> F64:
        out: F64 = np.asarray(self.booster.predict(x, raw_score=True), dtype=np.float64)
        return out

    def predict(self, x: F64) -> F64:
        """Calibrated probability of an emergency admission in the next 12 months."""
        return self._calibrate(self.margin(x))

    def _calibrate(self, margin: F64) -> F64:
        cal = self.calibration
        if cal["method"] == "isotonic":
            xs = np.asarray(cal["x"], dtype=np.float64)
            ys = np.asarray(cal["y"], dtype=np.float64)
            out: F64 = np.interp(margin, xs, ys)
        else:
            out = 1.0 / (1.0 + np.exp(-(float(cal["a"]) * margin + float(cal["b"]))))
        return np.clip(out, 1e-6, 1 - 1e-6)

    def contributions(self, x: F64) -> F64:
        """SHAP values on the log-odds scale, one column per feature (bias dropped).

        Identical feature rows (common: many people have no activity at all) are explained
        once.
        """
        if len(x) == 0:
            return np.empty((0, len(self.features)), dtype=np.float64)
        keyed = np.where(np.isnan(x), -1e300, x)
        unique, inverse = np.unique(keyed, axis=0, return_inverse=True)
        rows = np.where(unique == -1e300, np.nan, unique)
        raw = np.asarray(self.booster.predict(rows, pred_contrib=True), dtype=np.float64)
        out: F64 = raw[inverse.reshape(-1), : len(self.features)]
        return out


def _fold(ids: Sequence[str]) -> npt.NDArray[np.bool_]:
    """True for the held-out calibration fold: a stable 25% by a hash of the person id."""
    return np.array(
        [hashlib.blake2b(i.encode(), digest_size=2).digest()[0] < 64 for i in ids], dtype=bool
    )


def _platt(margin: F64, y: F64) -> tuple[float, float]:
    slope, intercept = _logistic(margin, y)
    return slope, intercept


def _loglik(x: F64, y: F64, a: float, b: float) -> float:
    eta = np.clip(a * x + b, -30, 30)
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def _logistic(x: F64, y: F64, *, offset_only: bool = False) -> tuple[float, float]:
    """Fit ``logit P(y) = a * x + b`` by damped Newton; with ``offset_only`` a is fixed at 1.

    Returns (a, b); nan when the outcome has a single class.
    """
    if len(y) == 0 or y.min() == y.max():
        return math.nan, math.nan
    a, b = 1.0, 0.0
    current = _loglik(x, y, a, b)
    for _ in range(200):
        eta = np.clip(a * x + b, -30, 30)
        p = 1.0 / (1.0 + np.exp(-eta))
        w = p * (1 - p) + 1e-12
        r = y - p
        if offset_only:
            step = np.array([0.0, r.sum() / w.sum()])
        else:
            g = np.array([(r * x).sum(), r.sum()])
            h = np.array([[(w * x * x).sum(), (w * x).sum()], [(w * x).sum(), w.sum()]])
            try:
                step = np.linalg.solve(h, g)
            except np.linalg.LinAlgError:
                return math.nan, math.nan
        # halve the step until the likelihood does not fall (Newton can overshoot)
        scale = 1.0
        while scale > 1e-6:
            na, nb = a + scale * float(step[0]), b + scale * float(step[1])
            new = _loglik(x, y, na, nb)
            if new >= current - 1e-12:
                break
            scale /= 2
        a, b, gain, current = na, nb, new - current, new
        if np.abs(step * scale).max() < 1e-9 or abs(gain) < 1e-12:
            break
    return a, b


def calibration_fit(y: F64, p: F64) -> tuple[float, float]:
    """Calibration slope and intercept (calibration-in-the-large) of risks ``p``."""
    lp = np.log(np.clip(p, 1e-9, 1 - 1e-9) / (1 - np.clip(p, 1e-9, 1 - 1e-9)))
    slope, _ = _logistic(lp, y)
    _, intercept = _logistic(lp, y, offset_only=True)
    return slope, intercept


def top_k(y: F64, p: F64, share: float) -> TopK:
    """Sensitivity and PPV when the top ``share`` by risk are flagged (ties by position)."""
    n = len(y)
    k = max(1, math.ceil(share * n)) if n else 0
    if n == 0:
        return TopK(share, math.nan, math.nan)
    order = np.argsort(-p, kind="stable")[:k]
    hits = float(y[order].sum())
    positives = float(y.sum())
    return TopK(share, hits / positives if positives else math.nan, hits / k)


def calibration_bins(y: F64, p: F64, bins: int = CALIBRATION_BINS) -> tuple[CalibrationBin, ...]:
    """People ranked by risk (ties by position) and cut into ``bins`` groups of equal size
    (the first groups one larger when the size does not divide): predicted against
    observed in each, lowest risk first. Empty when there are fewer people than bins."""
    if len(y) < bins or bins < 1:
        return ()
    order = np.argsort(p, kind="stable")
    out = []
    for idx in np.array_split(order, bins):
        risk = p[idx]
        out.append(
            CalibrationBin(
                lower=float(risk.min()),
                upper=float(risk.max()),
                n=len(idx),
                events=int(y[idx].sum()),
                mean_predicted=float(risk.mean()),
            )
        )
    return tuple(out)


def evaluate(y: F64, p: F64, *, bins: int = 0) -> ModelMetrics:
    """Every validation figure for outcomes ``y`` (0/1) and risks ``p``; with ``bins``, the
    calibration table too (:func:`calibration_bins`)."""
    n = len(y)
    both = n > 0 and 0 < y.sum() < n
    slope, intercept = calibration_fit(y, p) if both else (math.nan, math.nan)
    return ModelMetrics(
        auroc=float(roc_auc_score(y, p)) if both else math.nan,
        auprc=float(average_precision_score(y, p)) if both else math.nan,
        calibration_slope=slope,
        calibration_intercept=intercept,
        brier=float(np.mean((p - y) ** 2)) if n else math.nan,
        top=tuple(top_k(y, p, s) for s in TOP_SHARES),
        n=n,
        events=int(y.sum()),
        calibration=calibration_bins(y, p, bins) if bins else (),
    )


def monotone_constraints(features: Sequence[str]) -> list[int]:
    """+1 for each feature whose higher values can only raise the risk, else 0.

    Counts of emergency admissions, A&E attendances, bed days and frailty admissions, the
    long-term condition flags and counts, and the frailty and comorbidity indices are
    constrained: more of any of them never lowers a person's risk in the model. That is
    how clinicians read them, it keeps explanations coherent ("3 emergency admissions"
    never lowers a risk) and it stops the trees fitting noise in sparse cells.
    """
    rising = {
        "emergency_admissions_12m",
        "emergency_admissions_24m",
        "emergency_admissions_36m",
        "emergency_years_36m",
        "emergency_bed_days_24m",
        "frailty_admissions_36m",
        "ae_attendances_12m",
        "ae_attendances_3m",
        "ae_attendances_36m",
        "bed_days_12m",
        "ltc_count",
        "efi",
        "hfrs",
        "charlson",
        "cms",
        "coded_frailty",
    }
    return [1 if f in rising or f.startswith("ltc_") else 0 for f in features]


def train(
    x: F64, y: F64, ids: Sequence[str], features: Sequence[str], *, seed: int = 20260401
) -> TrainedModel:
    """Fit the boosted model and its calibration (see the module doc).

    1. Boost on 75% of the training people, stopping early on the other 25% (a held-out
       fold by a hash of the person id), with :func:`monotone_constraints`.
    2. Fit Platt scaling (logistic regression of the outcome on the boosted margin) on
       the held-out fold. Platt is strictly increasing, so it keeps the model's ranking
       (isotonic regression's flat steps tie people and cost AUROC).
    3. Refit on every training person for the early-stopped number of rounds scaled by
       4/3 (a third more people support a third more rounds at the same learning rate),
       and apply the calibration to the refitted margin. The temporal validation year
       checks that the calibration still holds.
    """
    if y.sum() == 0 or y.sum() == len(y):
        raise ValueError("cannot train: the outcome has a single class in the training year")
    held = _fold(ids)
    if held.all() or not held.any():
        held = np.arange(len(y)) % 4 == 0
    params = dict(
        _PARAMS,
        seed=seed,
        min_data_in_leaf=max(20, min(200, len(y) // 500)),
        monotone_constraints=monotone_constraints(features),
    )
    fit = lgb.Dataset(x[~held], label=y[~held], feature_name=list(features), free_raw_data=True)
    valid = lgb.Dataset(x[held], label=y[held], reference=fit)
    booster = lgb.train(
        params,
        fit,
        num_boost_round=MAX_ROUNDS,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )
    margin = np.asarray(booster.predict(x[held], raw_score=True), dtype=np.float64)
    a, b = _platt(margin, y[held])
    if math.isnan(a):
        raise ValueError("cannot calibrate: the held-out fold has a single class")
    rounds = max(1, round(booster.best_iteration * 4 / 3))
    everyone = lgb.Dataset(x, label=y, feature_name=list(features), free_raw_data=True)
    refit = lgb.train(params, everyone, num_boost_round=rounds)
    return TrainedModel(tuple(features), refit, {"method": "platt", "a": a, "b": b})


def save_model(model: TrainedModel, path: Path) -> str:
    """Write ``model`` to ``path`` (atomically); return the file's SHA-256."""
    body = json.dumps(
        {
            "format": FORMAT,
            "features": list(model.features),
            "calibration": model.calibration,
            "booster": model.booster.model_to_string(),
        }
    ).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(body)
    tmp.replace(path)
    return hashlib.sha256(body).hexdigest()


def load_model(path: Path, sha256: str) -> TrainedModel:
    """Read a model file, refusing it unless its SHA-256 is the registered one."""
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"model file {path} cannot be read: {exc}") from None
    digest = hashlib.sha256(body).hexdigest()
    if digest != sha256:
        raise ModelFileError(
            f"model file {path} has SHA-256 {digest}, not the registered {sha256}: refused"
        )
    data = json.loads(body)
    if data.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a {FORMAT} file")
    booster = lgb.Booster(model_str=data["booster"])
    return TrainedModel(tuple(data["features"]), booster, dict(data["calibration"]))


# ----------------------------------------------------------------------------- explanations

_LTC_LABELS = {f"ltc_{c.id}": c.label for c in codelists.ltc().concepts}
_SPECIALTY_WORDS = {
    "general_medicine": "general medicine",
    "diabetes": "diabetes",
    "cardiology": "cardiology",
    "stroke": "stroke",
    "respiratory": "respiratory",
    "nephrology": "kidney",
    "oncology": "cancer",
    "geriatric": "older people's medicine",
}
_TEAM_WORDS = {
    "district_nursing": "district nursing",
    "community_matron": "community matron",
    "rapid_response": "rapid response",
    "intermediate_care": "intermediate care",
    "podiatry": "podiatry",
}
_MH_WORDS = {
    "talking_therapies": "talking therapies",
    "community_mental_health": "community mental health team",
    "memory_assessment": "memory assessment",
}


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def describe(feature: str, value: float | None) -> str | None:
    """``feature`` at ``value`` in plain words, or None when there is nothing to say
    (an absent or zero finding is not a reason)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    v = float(value)
    n = round(v)
    counts = {
        "emergency_admissions_12m": ("emergency admission", "emergency admissions", "last year"),
        "emergency_admissions_24m": (
            "emergency admission",
            "emergency admissions",
            "last 2 years",
        ),
        "elective_admissions_12m": ("planned admission", "planned admissions", "last year"),
        "ae_attendances_12m": ("A&E attendance", "A&E attendances", "last year"),
        "ae_attendances_3m": ("A&E attendance", "A&E attendances", "last 3 months"),
        "outpatient_12m": ("outpatient appointment", "outpatient appointments", "last year"),
        "outpatient_missed_12m": (
            "missed outpatient appointment",
            "missed appointments",
            "last year",
        ),
        "community_contacts_12m": (
            "community health contact",
            "community health contacts",
            "last year",
        ),
        "mental_health_contacts_12m": (
            "mental health contact",
            "mental health contacts",
            "last year",
        ),
        "mental_health_crisis_12m": (
            "mental health crisis contact",
            "mental health crisis contacts",
            "last year",
        ),
        "social_care_contacts_12m": ("social care referral", "social care referrals", "last year"),
        "gp_contacts_12m": ("GP contact", "GP contacts", "last year"),
        "bed_days_12m": ("day in hospital", "days in hospital", "last year"),
        "emergency_admissions_36m": (
            "emergency admission",
            "emergency admissions",
            "last 3 years",
        ),
        "emergency_bed_days_24m": (
            "day in hospital after emergency admission",
            "days in hospital after emergency admissions",
            "last 2 years",
        ),
        "frailty_admissions_36m": (
            "emergency admission for a fall, fracture, infection or confusion",
            "emergency admissions for falls, fractures, infections or confusion",
            "last 3 years",
        ),
        "ae_attendances_36m": ("A&E attendance", "A&E attendances", "last 3 years"),
        "social_care_requests_36m": (
            "request for social care",
            "requests for social care",
            "last 3 years",
        ),
        **{
            f"outpatient_{k}_36m": (
                f"{label} outpatient appointment",
                f"{label} outpatient appointments",
                "last 3 years",
            )
            for k, label in _SPECIALTY_WORDS.items()
        },
        **{
            f"{k}_24m": (f"{label} contact", f"{label} contacts", "last 2 years")
            for k, label in _TEAM_WORDS.items()
        },
        **{
            f"{k}_36m": (f"{label} contact", f"{label} contacts", "last 3 years")
            for k, label in _MH_WORDS.items()
        },
    }
    if feature in counts:
        if n <= 0:
            return None
        one, many, when = counts[feature]
        return f"{_plural(n, one, many)} in the {when}"
    if feature in _LTC_LABELS:
        return _LTC_LABELS[feature] if n >= 1 else None
    if feature == "age":
        return f"aged {n}"
    if feature == "efi":
        if v <= 0.12:
            return None
        cat = "mild" if v <= 0.24 else "moderate" if v <= 0.36 else "severe"
        return f"{cat} frailty (eFI {v:.2f})"
    if feature == "coded_frailty":
        return {
            1: "mild frailty recorded by the GP",
            2: "moderate frailty recorded by the GP",
            3: "severe frailty recorded by the GP",
        }.get(n)
    if feature == "hfrs":
        return f"hospital frailty risk score {v:.1f}" if v >= 5 else None
    if feature == "charlson":
        return f"Charlson comorbidity index {n}" if n > 0 else None
    if feature == "cms":
        return f"Cambridge multimorbidity score {v:.2f}" if v > 0 else None
    if feature == "ltc_count":
        return _plural(n, "long-term condition", "long-term conditions") if n > 0 else None
    if feature == "medication_count":
        return f"{_plural(n, 'medicine', 'medicines')} in the last year" if n > 0 else None
    if feature == "days_since_emergency":
        return f"emergency admission {n} days ago"
    if feature == "days_since_ae":
        return f"A&E attendance {n} days ago"
    flags = {
        "social_care_active": "receiving adult social care",
        "care_home": "lives in a care home",
        "smoker": "smokes",
        "isolated": "socially isolated",
        "housebound": "housebound",
    }
    if feature in flags:
        return flags[feature] if n >= 1 else None
    if feature == "deprivation_quintile":
        return "lives in one of the most deprived areas" if n == 1 else None
    if feature == "imd_decile":
        return "lives in one of the most deprived areas" if n <= 2 else None
    if feature == "emergency_years_36m":
        return f"emergency admissions in each of the last {n} years" if n >= 2 else None
    labs = {
        "hba1c": ("HbA1c", "mmol/mol", 58.0, None),
        "egfr": ("eGFR", "mL/min", None, 60.0),
        "bmi": ("BMI", "", 35.0, None),
        "systolic_bp": ("systolic blood pressure", "mmHg", 160.0, None),
    }
    if feature in labs:
        label, unit, high, low = labs[feature]
        if (high is not None and v >= high) or (low is not None and v < low):
            return f"{label} {v:g}{' ' + unit if unit else ''}"
        return None
    return None


def explain(
    model: TrainedModel,
    x: F64,
    *,
    top: int = 3,
    threshold: float = 0.05,
) -> list[list[str]]:
    """Per person, up to ``top`` plain-words reasons that raised the risk most.

    A feature is a reason when its SHAP contribution is at least ``threshold`` (log-odds)
    and :func:`describe` has words for its value.
    """
    contrib = model.contributions(x)
    order = np.argsort(-contrib, axis=1)[:, : top * 3]
    names = model.features
    out: list[list[str]] = []
    for i in range(len(x)):
        reasons: list[str] = []
        for j in order[i]:
            if contrib[i, j] < threshold or len(reasons) >= top:
                break
            val = x[i, j]
            words = describe(names[j], None if math.isnan(val) else float(val))
            if words is not None and words not in reasons:
                reasons.append(words)
        out.append(reasons)
    return out
