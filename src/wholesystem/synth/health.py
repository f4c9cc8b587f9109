"""Long-term conditions, frailty, isolation, emergency admissions and deaths.

* **Conditions.** For condition *c* the probability of having developed it by age *a* is
  ``cap_c * sigmoid((a - a50_c) / s_c + shift)`` where ``shift`` adds deprivation, sex
  and smoking effects. Each person has a latent uniform ``u_c`` (from a Gaussian copula
  with shared general, cardiovascular, respiratory and mental-health factors, so
  conditions cluster); they develop *c* at the age where the curve crosses ``u_c``.
  Prevalence therefore rises with age and deprivation by construction, and onset dates
  fall before, during or after the five years.
* **Diagnosis.** A condition is coded in the GP record with a condition-specific
  probability after a diagnostic delay (dementia and hypertension are often missed);
  uncoded conditions stay latent.
* **Frailty** (an eFI-like score, 0-1) rises with age, condition count, dementia,
  stroke, heart failure, deprivation and a latent general-health factor.
* **Isolation** (0-1) rises with living alone, old and young adult age, deprivation and
  depression. It is latent except for a rare code.
* **Emergency admissions.** For each year (12 months from the anniversary of the start
  date) and each person alive and resident at its start, the probability of at least one
  emergency admission is ``p = sigmoid(eta)`` with ``eta`` a logistic model of age,
  conditions, frailty, isolation, deprivation, care-home residence, admissions in the
  previous 12 months and a latent personal propensity. ``p`` (rounded to 6 dp) is what
  ``truth/risk.csv`` holds and what the admissions are drawn from: ``K = 0`` with
  probability ``1 - p``, otherwise ``1 + Poisson(0.2 + p)``. Dates follow a winter-peaked
  seasonal curve within the part of the year the person is alive and resident. People
  who arrive or are born during a year are drawn for that part-year with
  ``1 - (1 - p) ** fraction`` and have no risk row for it.
* **Deaths** follow a Gompertz-like logistic hazard with condition, frailty and
  same-year-admission effects, drawn in the same yearly loop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wholesystem.synth import codes
from wholesystem.synth.footprint_gen import Footprint
from wholesystem.synth.people import FAR, YEAR, Population

__all__ = [
    "CONDITION_PARAMS",
    "Health",
    "Risk",
    "simulate_health",
    "year_starts",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class ConditionParams:
    a50: float
    scale: float
    cap: float
    dep: float
    male: float
    smoke: float
    factor: int  # 0 general, 1 cardiovascular, 2 respiratory, 3 mental health
    load: float
    min_age: float
    coded: float
    delay_days: float
    admit_beta: float
    death_beta: float
    death_cause_weight: float


CONDITION_PARAMS: dict[str, ConditionParams] = {
    "hypertension": ConditionParams(
        62, 10, 0.75, 0.25, 0.15, 0.1, 1, 0.5, 18, 0.68, 400, 0.05, 0.0, 0.4
    ),
    "diabetes": ConditionParams(68, 12, 0.32, 0.5, 0.3, 0.1, 1, 0.5, 12, 0.9, 120, 0.25, 0.2, 0.6),
    "copd": ConditionParams(78, 9, 0.17, 0.7, 0.1, 1.3, 2, 0.5, 35, 0.82, 200, 0.75, 0.45, 3.0),
    "asthma": ConditionParams(9, 7, 0.10, 0.2, 0.0, 0.2, 2, 0.4, 1, 0.95, 60, 0.25, 0.0, 0.2),
    "chd": ConditionParams(80, 9, 0.30, 0.45, 0.6, 0.5, 1, 0.6, 30, 0.9, 60, 0.3, 0.25, 3.0),
    "heart_failure": ConditionParams(
        87, 7, 0.32, 0.4, 0.3, 0.4, 1, 0.6, 30, 0.8, 120, 0.7, 0.55, 3.0
    ),
    "af": ConditionParams(82, 7, 0.32, 0.05, 0.35, 0.1, 1, 0.4, 30, 0.8, 120, 0.25, 0.1, 0.5),
    "stroke": ConditionParams(85, 9, 0.25, 0.35, 0.2, 0.5, 1, 0.5, 30, 0.95, 20, 0.35, 0.2, 2.0),
    "ckd": ConditionParams(78, 9, 0.40, 0.3, -0.1, 0.1, 1, 0.5, 30, 0.7, 300, 0.25, 0.25, 1.0),
    "cancer": ConditionParams(76, 10, 0.32, 0.15, 0.1, 0.5, 0, 0.3, 15, 0.95, 45, 0.55, 0.8, 5.0),
    "dementia": ConditionParams(
        91, 5.5, 0.55, 0.3, -0.1, 0.2, 0, 0.4, 50, 0.65, 700, 0.5, 0.6, 4.0
    ),
    "depression": ConditionParams(
        36, 14, 0.22, 0.5, -0.6, 0.3, 3, 0.6, 12, 0.8, 180, 0.3, 0.0, 0.1
    ),
    "smi": ConditionParams(30, 8, 0.013, 0.9, 0.2, 0.3, 3, 0.6, 15, 0.95, 200, 0.55, 0.3, 0.3),
}
KEYS = tuple(c.key for c in codes.CONDITIONS)
assert tuple(CONDITION_PARAMS) == KEYS
C = len(KEYS)

# Emergency-admission model (logit scale)
ADMIT_INTERCEPT = -4.25
ADMIT_AGE_SLOPE = 0.03  # per year over 40
ADMIT_FRAILTY = 2.2
ADMIT_ISOLATION = 0.55
ADMIT_DEPRIVATION = 0.35
ADMIT_PRIOR = 0.55  # per admission in the previous 12 months, up to 3
ADMIT_CARE_HOME = 0.35
ADMIT_PROPENSITY_SD = 0.45
SEASON_AMPLITUDE = 0.22


@dataclass
class Risk:
    """One row per person-year present at the start of the year."""

    person: I64
    year: I64
    p: F64
    count: I64


@dataclass
class Health:
    onset: I64
    """(n, C) day of onset, FAR if never."""
    coded: I64
    """(n, C) day first coded in primary care, FAR if not coded by the end date."""
    cancer_site: I64
    bipolar: B
    frailty_z: F64
    isolation: F64
    propensity: F64
    frailty_coder: B
    """Whether this person's practice codes frailty when it sees it."""
    death: I64
    death_cause: list[str]
    """Underlying cause (ICD-10) per person; '' for people who did not die."""
    risk: Risk
    adm_person: I64
    adm_date: I64
    adm_counted: B
    year_bounds: I64


def year_starts(start: dt.date) -> list[int]:
    """Day numbers of the six yearly boundaries from ``start`` (the last is the day after)."""
    out = []
    for y in range(6):
        try:
            day = start.replace(year=start.year + y)
        except ValueError:
            day = start.replace(year=start.year + y, day=28)
        out.append((day - EPOCH).days)
    return out


def _phi(z: F64) -> F64:
    """Standard normal CDF (logistic approximation, error < 2e-4)."""
    return 1.0 / (1.0 + np.exp(-1.5976 * z * (1.0 + 0.04417 * z * z)))


def _sigmoid(x: F64) -> F64:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: F64) -> F64:
    return np.log(p / (1.0 - p))


def deprivation(fp: Footprint, area: I64) -> F64:
    """Deprivation on a -1 (least) .. +1 (most deprived) scale from the area decile."""
    return np.asarray((5.5 - fp.area_decile[area]) / 4.5, dtype=np.float64)


def frailty_at(
    pop: Population, h_onset: I64, frailty_z: F64, day: I64, dep: F64, who: I64 | None = None
) -> F64:
    """eFI-like frailty on ``day``; ``who`` selects persons when the arrays are a subset."""
    dob = pop.dob if who is None else pop.dob[who]
    care_home = pop.care_home if who is None else pop.care_home[who]
    age = (day - dob) / YEAR
    active = h_onset <= day[:, None]
    n_cond = active.sum(axis=1)
    i = codes.CONDITION_INDEX
    f = (
        0.015
        + 0.034 * n_cond
        + 0.24 * _sigmoid((age - 84.0) / 6.0)
        + 0.02 * dep
        + 0.05 * active[:, i["dementia"]]
        + 0.03 * active[:, i["stroke"]]
        + 0.02 * active[:, i["heart_failure"]]
        + 0.05 * frailty_z * _sigmoid((age - 60.0) / 10.0)
        + 0.06 * care_home
    )
    return np.asarray(np.clip(f, 0.0, 0.95), dtype=np.float64)


class Seasonal:
    """Inverse-CDF sampling of days with a winter peak (mid January)."""

    def __init__(self, first_day: int, last_day: int) -> None:
        self.first = first_day
        days = np.arange(first_day, last_day + 2, dtype=np.int64)
        doy = (
            days.astype("datetime64[D]") - days.astype("datetime64[D]").astype("datetime64[Y]")
        ).astype(np.int64)
        weight = 1.0 + SEASON_AMPLITUDE * np.cos(2 * np.pi * (doy - 15) / 365.25)
        self.cum = np.concatenate([[0.0], np.cumsum(weight)])

    def sample(self, lo: I64, hi: I64, u: F64) -> I64:
        """A day in [lo, hi] for each row (inclusive)."""
        a = self.cum[lo - self.first]
        b = self.cum[hi - self.first + 1]
        target = a + u * (b - a)
        day = np.searchsorted(self.cum, target, side="right") - 1 + self.first
        return np.asarray(np.clip(day, lo, hi), dtype=np.int64)


def simulate_health(
    pop: Population,
    fp: Footprint,
    rng: np.random.Generator,
    start_date: dt.date,
    end: int,
    seasonal: Seasonal,
) -> Health:
    n = pop.n
    # ---- conditions --------------------------------------------------------------------
    factors = rng.standard_normal((n, 4))
    factors[:, 1] = 0.5 * factors[:, 0] + np.sqrt(0.75) * factors[:, 1]
    dep0 = deprivation(fp, pop.area0)
    smoke = np.where(pop.smoker == 2, 1.0, np.where(pop.smoker == 1, 0.5, 0.0))
    onset = np.full((n, C), FAR, dtype=np.int64)
    coded = np.full((n, C), FAR, dtype=np.int64)
    for c, key in enumerate(KEYS):
        prm = CONDITION_PARAMS[key]
        z = prm.load * factors[:, prm.factor] + np.sqrt(1 - prm.load**2) * rng.standard_normal(n)
        u = _phi(z)
        has = u < prm.cap
        shift = prm.dep * dep0 + prm.male * pop.sex + prm.smoke * smoke
        ratio = np.clip(u / prm.cap, 1e-9, 1 - 1e-9)
        age_on = prm.a50 + prm.scale * (_logit(ratio) - shift)
        age_on = np.where(age_on < prm.min_age, prm.min_age + rng.random(n) * 10.0, age_on)
        day = pop.dob + (age_on * YEAR).astype(np.int64)
        onset[:, c] = np.where(has & (age_on < 115), day, FAR)
        code_it = rng.random(n) < prm.coded
        delay = rng.exponential(prm.delay_days, size=n).astype(np.int64)
        cday = onset[:, c] + delay
        coded[:, c] = np.where(code_it & (onset[:, c] < FAR) & (cday <= end), cday, FAR)
    cancer_site = np.zeros(n, dtype=np.int64)
    w_f = np.array([s[2] for s in codes.CANCER_SITES])
    w_m = np.array([s[3] for s in codes.CANCER_SITES])
    site_f = rng.choice(len(w_f), size=n, p=w_f / w_f.sum())
    site_m = rng.choice(len(w_m), size=n, p=w_m / w_m.sum())
    cancer_site = np.where(pop.sex == 1, site_m, site_f)
    bipolar = rng.random(n) < 0.3
    frailty_z = factors[:, 0]
    # ---- isolation (latent) ---------------------------------------------------------
    age0 = (np.maximum(pop.entry, pop.dob) - pop.dob) / YEAR
    depressed = onset[:, codes.CONDITION_INDEX["depression"]] <= pop.entry
    isolation = _sigmoid(
        -2.2
        + 1.5 * pop.lives_alone
        + 1.0 * (age0 >= 75)
        + 0.6 * ((age0 >= 18) & (age0 < 25))
        + 0.35 * dep0
        + 0.6 * depressed
        + 0.5 * pop.care_home
        + 0.9 * rng.standard_normal(n)
    )
    propensity = ADMIT_PROPENSITY_SD * rng.standard_normal(n)
    frailty_coder = rng.random(n) < 0.55

    # ---- yearly loop: admissions and deaths ------------------------------------------
    bounds = np.array(year_starts(start_date), dtype=np.int64)
    death = np.full(n, FAR, dtype=np.int64)
    admit_beta = np.array([CONDITION_PARAMS[k].admit_beta for k in KEYS])
    death_beta = np.array([CONDITION_PARAMS[k].death_beta for k in KEYS])

    def eta(day: I64, prior: I64) -> F64:
        age = (day - pop.dob) / YEAR
        dep = deprivation(fp, pop.area_at(day))
        active = onset <= day[:, None]
        frail = frailty_at(pop, onset, frailty_z, day, dep)
        age_term = np.where(
            age < 1, 1.6, np.where(age < 5, 0.6, np.where(age < 16, 0.0, 0.1))
        ) + ADMIT_AGE_SLOPE * np.maximum(age - 40, 0)
        return np.asarray(
            ADMIT_INTERCEPT
            + age_term
            + active @ admit_beta
            + ADMIT_FRAILTY * frail
            + ADMIT_ISOLATION * isolation
            + ADMIT_DEPRIVATION * dep
            + ADMIT_PRIOR * np.minimum(prior, 3)
            + ADMIT_CARE_HOME * pop.care_home
            + propensity,
            dtype=np.float64,
        )

    # admissions in the 12 months before the start (latent prior for year one)
    before = np.full(n, bounds[0] - 365, dtype=np.int64)
    p_before = _sigmoid(eta(before, np.zeros(n, dtype=np.int64)))
    prior = np.where(rng.random(n) < p_before, 1 + rng.poisson(0.2 + p_before), 0)

    risk_parts: list[tuple[I64, I64, F64, I64]] = []
    adm_p: list[I64] = []
    adm_d: list[I64] = []
    adm_c: list[B] = []
    for y in range(5):
        t0, t1 = int(bounds[y]), int(bounds[y + 1])
        t1 = min(t1, end + 1)
        alive = death == FAR
        present = alive & (pop.entry <= t0) & (pop.leave > t0)
        arrives = alive & (pop.entry > t0) & (pop.entry < t1)
        w0 = np.where(present, t0, pop.entry)
        w1 = np.minimum(pop.leave, t1)
        inyear = (present | arrives) & (w1 > w0)
        frac = np.clip((w1 - w0) / (t1 - t0), 0.0, 1.0)
        p = np.clip(np.round(_sigmoid(eta(np.where(inyear, w0, t0), prior)), 6), 1e-6, 1 - 1e-6)
        # people present at the start keep p (a leaver's admissions fit in their window);
        # arrivals are drawn for the part of the year they are here
        p_eff = np.where(present, p, 1.0 - (1.0 - p) ** frac)
        k = np.where(inyear & (rng.random(n) < p_eff), 1 + rng.poisson(0.2 + p), 0)
        # deaths
        age = (np.where(inyear, w0, t0) - pop.dob) / YEAR
        dep = deprivation(fp, pop.area_at(np.where(inyear, w0, t0)))
        frail = frailty_at(pop, onset, frailty_z, np.where(inyear, w0, t0), dep)
        active = onset <= np.where(inyear, w0, t0)[:, None]
        recent_cancer = (onset[:, codes.CONDITION_INDEX["cancer"]] > w0 - 2 * 365) & active[
            :, codes.CONDITION_INDEX["cancer"]
        ]
        zeta = (
            -11.4
            + 0.095 * age
            + np.where(age < 1, 5.2, 0.0)
            + active @ death_beta
            + 0.9 * recent_cancer
            + 1.6 * frail
            + 1.0 * (k > 0)
            + 0.4 * pop.care_home
            + 0.15 * dep
        )
        q = _sigmoid(zeta)
        q_eff = 1.0 - (1.0 - q) ** frac
        dies = inyear & (rng.random(n) < q_eff)
        # admission dates across the part of the year the person is here; someone who
        # dies after being admitted dies some days after the last admission
        who = np.repeat(np.arange(n), k)
        days = seasonal.sample(w0[who], w1[who] - 1, rng.random(len(who)))
        last_adm = np.full(n, -1, dtype=np.int64)
        np.maximum.at(last_adm, who, days)
        span = np.maximum(w1 - w0, 1)
        dday = np.where(
            last_adm >= 0,
            np.minimum(last_adm + rng.exponential(25.0, size=n).astype(np.int64), w1 - 1),
            w0 + (rng.random(n) * span).astype(np.int64),
        )
        dday = np.minimum(dday, end)
        death = np.where(dies, dday, death)
        if len(who):
            adm_p.append(who)
            adm_d.append(days)
            adm_c.append(present[who])
        rows = np.flatnonzero(present)
        risk_parts.append((rows, np.full(len(rows), y, dtype=np.int64), p[rows], k[rows]))
        prior = k
    risk = Risk(
        person=np.concatenate([r[0] for r in risk_parts]),
        year=np.concatenate([r[1] for r in risk_parts]),
        p=np.concatenate([r[2] for r in risk_parts]),
        count=np.concatenate([r[3] for r in risk_parts]),
    )
    adm_person = np.concatenate(adm_p) if adm_p else np.zeros(0, dtype=np.int64)
    adm_date = np.concatenate(adm_d) if adm_d else np.zeros(0, dtype=np.int64)
    adm_counted = np.concatenate(adm_c) if adm_c else np.zeros(0, dtype=bool)
    order = np.lexsort((adm_date, adm_person))
    death_cause = _death_causes(pop, onset, death, cancer_site, rng)
    return Health(
        onset=onset,
        coded=coded,
        cancer_site=cancer_site,
        bipolar=bipolar,
        frailty_z=frailty_z,
        isolation=isolation,
        propensity=propensity,
        frailty_coder=frailty_coder,
        death=death,
        death_cause=death_cause,
        risk=risk,
        adm_person=adm_person[order],
        adm_date=adm_date[order],
        adm_counted=adm_counted[order],
        year_bounds=bounds,
    )


_GENERAL_DEATH = {
    "child": (("P07.3", 0.4), ("Q24.9", 0.3), ("V89.2", 0.3)),
    "adult": (
        ("I21.9", 0.3),
        ("X42", 0.15),
        ("V89.2", 0.15),
        ("K70.3", 0.2),
        ("J18.9", 0.1),
        ("I26.9", 0.1),
    ),
    "older": (("J18.9", 0.35), ("I21.9", 0.3), ("A41.9", 0.15), ("K92.2", 0.1), ("N39.0", 0.1)),
}


def _pick(options: tuple[tuple[str, float], ...], u: F64) -> list[str]:
    labels = [o[0] for o in options]
    w = np.array([o[1] for o in options])
    cum = np.cumsum(w / w.sum())
    idx = np.minimum(np.searchsorted(cum, u, side="right"), len(labels) - 1)
    return [labels[i] for i in idx.tolist()]


def _death_causes(
    pop: Population, onset: I64, death: I64, cancer_site: I64, rng: np.random.Generator
) -> list[str]:
    out = [""] * pop.n
    dead = np.flatnonzero(death < FAR)
    if len(dead) == 0:
        return out
    active = onset[dead] <= death[dead, None]
    weights = active * np.array([CONDITION_PARAMS[k].death_cause_weight for k in KEYS])
    general = np.full(len(dead), 1.5)
    allw = np.concatenate([weights, general[:, None]], axis=1)
    cum = np.cumsum(allw, axis=1)
    u = rng.random(len(dead)) * cum[:, -1]
    choice = (cum < u[:, None]).sum(axis=1)
    age = (death[dead] - pop.dob[dead]) / YEAR
    group = np.where(age < 18, "child", np.where(age < 65, "adult", "older"))
    u2 = rng.random(len(dead))
    for j, i in enumerate(dead.tolist()):
        c = int(choice[j])
        if c == C:
            out[i] = _pick(_GENERAL_DEATH[str(group[j])], u2[j : j + 1])[0]
        elif KEYS[c] == "cancer":
            out[i] = codes.CANCER_SITES[int(cancer_site[i])][0]
        else:
            out[i] = codes.CONDITIONS[c].icd10_death
    return out
