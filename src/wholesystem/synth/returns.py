"""Monthly aggregate returns: finance, workforce and beds, one row per organisation and month.

The returns are driven by the patient-level activity so that they agree with the
extracts: an acute trust's income follows the value of its spells, attendances and
appointments; a council's care spend follows the weekly cost of its services; occupied
beds are the mean midnight occupancy of the spells (acute), community-hospital stays and
mental-health admissions; no-criteria-to-reside counts the days between a patient being
ready to leave and leaving. Plans are set each April from the previous year's outturn
plus growth; forecasts extend the year-to-date variance; pay splits into staff groups at
typical unit costs to give whole-time equivalents.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from wholesystem.synth.activity import BED_ORGS, Aggregates
from wholesystem.synth.columns import cat_array, number_text
from wholesystem.synth.footprint_gen import ICB_CODE, Footprint

__all__ = [
    "BEDS_COLUMNS",
    "FINANCE_CATEGORIES",
    "FINANCE_COLUMNS",
    "WORKFORCE_COLUMNS",
    "beds_return",
    "finance_return",
    "month_labels",
    "workforce_return",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

FINANCE_COLUMNS = ("org_code", "month", "category", "plan", "actual", "forecast")
WORKFORCE_COLUMNS = (
    "org_code",
    "month",
    "staff_group",
    "wte_in_post",
    "wte_vacancy",
    "sickness_rate",
    "bank_spend",
    "agency_spend",
)
BEDS_COLUMNS = (
    "org_code",
    "month",
    "core_beds",
    "escalation_beds",
    "occupied",
    "no_criteria_to_reside",
)
FINANCE_CATEGORIES = (
    "income",
    "pay_medical",
    "pay_nursing",
    "pay_other",
    "non_pay",
    "efficiency_savings",
    "capital",
)

# share of income spent on each cost category, by kind of organisation
_COST_SHARE = {
    "acute": (0.17, 0.24, 0.21, 0.34),
    "community": (0.05, 0.32, 0.30, 0.30),
    "mental_health": (0.09, 0.26, 0.33, 0.29),
    "social_care": (0.0, 0.01, 0.2, 0.78),
    "icb": (0.002, 0.004, 0.008, 0.985),
}
# staff groups: (name, pay category index 0 medical / 1 nursing / 2 other, share of that
# pay, annual cost per WTE in pounds, vacancy rate, extra sickness)
_STAFF = {
    "nhs": (
        ("medical_and_dental", 0, 1.0, 120_000, 0.07, -0.015),
        ("nursing_and_midwifery", 1, 1.0, 48_000, 0.09, 0.005),
        ("allied_health_professionals", 2, 0.25, 46_000, 0.08, 0.0),
        ("healthcare_support", 2, 0.3, 29_000, 0.1, 0.015),
        ("scientific_and_technical", 2, 0.15, 50_000, 0.07, -0.005),
        ("admin_and_estates", 2, 0.3, 33_000, 0.06, -0.005),
    ),
    "social_care": (
        ("social_workers", 2, 0.45, 48_000, 0.12, 0.01),
        ("care_workers", 2, 0.3, 27_000, 0.14, 0.02),
        ("occupational_therapists", 2, 0.1, 45_000, 0.1, 0.0),
        ("admin", 2, 0.15, 32_000, 0.06, -0.005),
    ),
    "icb": (
        ("clinical", 1, 1.0, 70_000, 0.08, -0.01),
        ("admin", 2, 1.0, 48_000, 0.07, -0.01),
    ),
}


def month_labels(start: int, months: int) -> tuple[str, ...]:
    first = np.array([start]).astype("datetime64[D]").astype("datetime64[M]")[0]
    return tuple(str(first + i) for i in range(months))


def _month_of_year(start: int, months: int) -> I64:
    first = np.array([start]).astype("datetime64[D]").astype("datetime64[M]")[0]
    m = (first + np.arange(months)).astype(np.int64) % 12 + 1
    return np.asarray(m, dtype=np.int64)


def _financial_year(start: int, months: int) -> I64:
    first = np.array([start]).astype("datetime64[D]").astype("datetime64[M]")[0]
    m = (first + np.arange(months)).astype(np.int64)
    return np.asarray((m - 3) // 12, dtype=np.int64)  # years starting in April


def _winter(start: int, months: int) -> F64:
    moy = _month_of_year(start, months)
    return np.isin(moy, [12, 1, 2, 3]).astype(np.float64)


def _orgs(fp: Footprint) -> list[tuple[str, str]]:
    out = [(ICB_CODE, "icb")]
    out += [(c, "acute") for c in fp.acute_codes]
    out += [(fp.community_code, "community"), (fp.mental_health_code, "mental_health")]
    out += [(c, "social_care") for c in fp.la_codes]
    return out


def _plan(actual: F64, fy: I64, growth: float) -> F64:
    """Each month's plan: last financial year's mean month plus growth (first year: flat)."""
    plan = np.zeros_like(actual)
    years = np.unique(fy)
    for i, y in enumerate(years):
        sel = fy == y
        if i == 0:
            base = actual[sel].mean() * 0.99
        else:
            base = actual[fy == years[i - 1]].mean() * (1 + growth)
        plan[sel] = base
    return plan


def _forecast(plan: F64, actual: F64, fy: I64) -> F64:
    """Forecast for each month made the month before: plan scaled by year-to-date variance."""
    out = plan.copy()
    for y in np.unique(fy):
        idx = np.flatnonzero(fy == y)
        for j, m in enumerate(idx):
            if j == 0:
                continue
            done = idx[:j]
            ratio = actual[done].sum() / max(plan[done].sum(), 1e-9)
            out[m] = plan[m] * ratio
    return out


def _money(pounds: F64) -> I64:
    return np.rint(pounds * 100).astype(np.int64)


def finance_return(
    fp: Footprint,
    agg: Aggregates,
    population: int,
    start: int,
    months: int,
    rng: np.random.Generator,
) -> tuple[pa.Table, dict[str, F64]]:
    """The finance return and, per organisation, monthly pay by category (for workforce)."""
    labels = month_labels(start, months)
    fy = _financial_year(start, months)
    winter = _winter(start, months)
    years_in = np.arange(months) / 12.0
    org_col: list[str] = []
    month_col: list[int] = []
    cat_col: list[int] = []
    plan_col: list[F64] = []
    actual_col: list[F64] = []
    fc_col: list[F64] = []
    pay: dict[str, F64] = {}
    zeros = np.zeros(months, dtype=np.int64)
    trust_income = np.zeros(months)
    rows_by_org = []
    for code, kind in _orgs(fp):
        if kind in ("acute", "community", "mental_health"):
            activity = agg.value.get(code, zeros) / 100.0
            uplift = {"acute": 1.18, "community": 1.35, "mental_health": 1.3}[kind]
            income = activity * uplift * rng.normal(1.0, 0.01, months)
            if kind != "acute":  # block contracts: smooth
                income = np.convolve(
                    np.pad(income, (2, 2), mode="edge"), np.ones(5) / 5, mode="valid"
                )
            trust_income += income
        elif kind == "social_care":
            care = agg.value.get(code, zeros) / 100.0
            income = care / 0.78 * 0.985 * rng.normal(1.0, 0.005, months)
        else:
            income = np.zeros(months)
        rows_by_org.append((code, kind, income))
    for code, kind, income in rows_by_org:
        if kind == "icb":
            allocation = population * 1950.0 / 12 * (1.03**years_in)
            primary = population * 330.0 / 12 * (1.03**years_in)
            spend = trust_income * 0.88 + primary
            income = allocation
            shares = _COST_SHARE["icb"]
            costs = [
                income * shares[0],
                income * shares[1],
                income * shares[2],
                spend * rng.normal(1.0, 0.004, months),
            ]
        else:
            shares = _COST_SHARE[kind]
            pressure = 1.0 + 0.04 * winter + rng.normal(0, 0.015, months)
            costs = [income * s * pressure for s in shares[:3]] + [
                income * shares[3] * (1.0 + 0.02 * winter + rng.normal(0, 0.02, months))
            ]
        pay[code] = np.stack(costs[:3])
        efficiency = income * 0.022 * rng.uniform(0.65, 1.0, months)
        capital = (
            income
            * 0.04
            * np.where(_month_of_year(start, months) == 3, 3.5, 0.77)
            * (rng.lognormal(0, 0.3, months))
        )
        actuals = [income, *costs, efficiency, capital]
        income_plan = _plan(income, fy, 0.035)
        for c_idx, actual in enumerate(actuals):
            if c_idx == 0:
                plan = income_plan
            elif c_idx == 5:  # savings are planned as a share of planned income
                plan = income_plan * 0.022
            else:
                plan = _plan(actual, fy, 0.035)
            forecast = _forecast(plan, actual, fy)
            org_col.extend([code] * months)
            month_col.extend(range(months))
            cat_col.extend([c_idx] * months)
            plan_col.append(plan)
            actual_col.append(actual)
            fc_col.append(forecast)
    table = pa.table(
        {
            "org_code": pa.array(org_col, pa.string()),
            "month": cat_array(np.array(month_col, dtype=np.int64), labels),
            "category": cat_array(np.array(cat_col, dtype=np.int64), FINANCE_CATEGORIES),
            "plan": number_text(_money(np.concatenate(plan_col)), 2),
            "actual": number_text(_money(np.concatenate(actual_col)), 2),
            "forecast": number_text(_money(np.concatenate(fc_col)), 2),
        }
    )
    return table, pay


def workforce_return(
    fp: Footprint, pay: dict[str, F64], start: int, months: int, rng: np.random.Generator
) -> pa.Table:
    labels = month_labels(start, months)
    winter = _winter(start, months)
    cols: dict[str, list[object]] = {c: [] for c in WORKFORCE_COLUMNS}
    for code, kind in _orgs(fp):
        groups = _STAFF["nhs" if kind in ("acute", "community", "mental_health") else kind]
        monthly_pay = pay[code]
        for name, cat, share, unit_cost, vacancy, sick_extra in groups:
            cost = monthly_pay[cat] * share
            in_post = cost / (unit_cost / 12.0) * 0.93  # the rest is bank and agency
            vac_rate = np.clip(
                vacancy * (1 + 0.15 * winter) + rng.normal(0, 0.01, months), 0.0, 0.4
            )
            vac = in_post * vac_rate / (1 - vac_rate)
            sickness = np.clip(
                0.045 + sick_extra + 0.012 * winter + rng.normal(0, 0.004, months), 0.01, 0.2
            )
            bank = vac * unit_cost / 12.0 * 0.55 * rng.uniform(0.8, 1.2, months)
            agency = vac * unit_cost / 12.0 * 0.3 * 1.6 * rng.uniform(0.6, 1.4, months)
            for m in range(months):
                cols["org_code"].append(code)
                cols["month"].append(labels[m])
                cols["staff_group"].append(name)
                cols["wte_in_post"].append(int(np.rint(in_post[m] * 100)))
                cols["wte_vacancy"].append(int(np.rint(vac[m] * 100)))
                cols["sickness_rate"].append(int(np.rint(sickness[m] * 10_000)))
                cols["bank_spend"].append(int(np.rint(bank[m] * 100)))
                cols["agency_spend"].append(int(np.rint(agency[m] * 100)))
    return pa.table(
        {
            "org_code": pa.array(cols["org_code"], pa.string()),
            "month": pa.array(cols["month"], pa.string()),
            "staff_group": pa.array(cols["staff_group"], pa.string()),
            "wte_in_post": number_text(np.array(cols["wte_in_post"], dtype=np.int64), 2),
            "wte_vacancy": number_text(np.array(cols["wte_vacancy"], dtype=np.int64), 2),
            "sickness_rate": number_text(np.array(cols["sickness_rate"], dtype=np.int64), 4),
            "bank_spend": number_text(np.array(cols["bank_spend"], dtype=np.int64), 2),
            "agency_spend": number_text(np.array(cols["agency_spend"], dtype=np.int64), 2),
        }
    )


def beds_return(agg: Aggregates, start: int, months: int) -> pa.Table:
    labels = month_labels(start, months)
    first = np.array([start]).astype("datetime64[D]").astype("datetime64[M]")[0]
    edges = (first + np.arange(months + 1)).astype("datetime64[D]").astype(np.int64) - start
    edges = np.clip(edges, 0, agg.days)  # the first and last months may be partial
    fy = _financial_year(start, months)
    out: dict[str, list[object]] = {c: [] for c in BEDS_COLUMNS}
    for b, code in enumerate(BED_ORGS):
        occ = np.cumsum(agg.beds[b])[: agg.days]
        nctr = np.cumsum(agg.nctr[b])[: agg.days]
        if code == "R9C":
            nctr = np.rint(occ * 0.25).astype(np.int64)
        elif code == "R9D":
            nctr = np.rint(occ * 0.1).astype(np.int64)
        core_by_fy: dict[int, int] = {}
        for y in np.unique(fy):
            months_y = np.flatnonzero(fy == y)
            lo, hi = int(edges[months_y[0]]), int(edges[months_y[-1] + 1])
            prev = np.flatnonzero(fy == y - 1)
            if len(prev):
                lo, hi = int(edges[prev[0]]), int(edges[prev[-1] + 1])
            window = occ[lo:hi]
            core_by_fy[int(y)] = (
                int(np.ceil(np.percentile(window, 80) / 0.95)) if len(window) else 0
            )
        for m in range(months):
            lo, hi = int(edges[m]), int(edges[m + 1])
            month_occ = occ[lo:hi]
            core = core_by_fy[int(fy[m])]
            escalation = max(0, int(month_occ.max()) - core) if len(month_occ) else 0
            out["org_code"].append(code)
            out["month"].append(labels[m])
            out["core_beds"].append(core)
            out["escalation_beds"].append(escalation)
            out["occupied"].append(int(np.rint(month_occ.mean())) if len(month_occ) else 0)
            out["no_criteria_to_reside"].append(
                int(np.rint(nctr[lo:hi].mean())) if len(month_occ) else 0
            )
    return pa.table(
        {
            "org_code": pa.array(out["org_code"], pa.string()),
            "month": pa.array(out["month"], pa.string()),
            **{
                c: pc.cast(pa.array(out[c], pa.int64()), pa.string())
                for c in ("core_beds", "escalation_beds", "occupied", "no_criteria_to_reside")
            },
        }
    )
