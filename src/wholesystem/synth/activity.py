"""Service use: the rows each partner records about the people in one chunk.

Every function returns :class:`Rows` (one per dataset) whose columns are still numpy
codes; :mod:`wholesystem.synth.identity` adds each source's version of the person's
demographics and :mod:`wholesystem.synth.extracts` writes them. Aggregates needed by
the monthly returns (bed occupancy, activity value by organisation and month) are
accumulated in :class:`Aggregates`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from wholesystem.synth import codes
from wholesystem.synth.columns import NULL, Col, number_text
from wholesystem.synth.footprint_gen import Footprint
from wholesystem.synth.health import (
    ADMIT_PROPENSITY_SD,
    CONDITION_PARAMS,
    KEYS,
    Health,
    Seasonal,
    deprivation,
    frailty_at,
)
from wholesystem.synth.people import FAR, YEAR, Population, Registrations

__all__ = ["Aggregates", "Context", "Rows", "generate_activity"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
CI = codes.CONDITION_INDEX

# Non-admitted A&E attendances: log-rate per unit of the latent admission propensity
# (SD 0.45, so the rate varies about 18-fold between the 10th and 90th centiles), and
# the relative rise at full isolation.
AE_PROPENSITY = 2.5
AE_ISOLATION = 0.6

BED_ORGS = ("R9A", "R9B", "R9C", "R9D")
"""Organisations with beds in the beds return, in this order."""


@dataclass
class Rows:
    """Rows of one dataset: who, which source, when, plus the dataset's own columns."""

    dataset: str
    person: I64
    source: I64
    first: I64
    """Day of first contact this row represents (used for sorting and staleness)."""
    last: I64
    """Day of last contact this row represents."""
    cols: dict[str, Col]
    hidden: dict[str, I64] = field(default_factory=dict)
    """Extra per-row values that are not written (used to build FHIR)."""

    def __len__(self) -> int:
        return len(self.person)

    def take(self, order: I64) -> Rows:
        return Rows(
            self.dataset,
            self.person[order],
            self.source[order],
            self.first[order],
            self.last[order],
            {k: v.take(order) for k, v in self.cols.items()},
            {k: v[order] for k, v in self.hidden.items()},
        )


@dataclass
class Context:
    start: int
    end: int
    bounds: I64
    seasonal: Seasonal
    chunk: int
    id_base: int
    """Row identifiers (spell, attendance) in this chunk start here."""


@dataclass
class Aggregates:
    """Chunk totals feeding the returns (summed over chunks)."""

    days: int
    beds: I64 = field(init=False)
    """(4, days + 1) daily change in occupied beds for BED_ORGS."""
    nctr: I64 = field(init=False)
    value: dict[str, I64] = field(default_factory=dict)
    """Activity value in pence per organisation and month index."""

    def __post_init__(self) -> None:
        self.beds = np.zeros((len(BED_ORGS), self.days + 2), dtype=np.int64)
        self.nctr = np.zeros((len(BED_ORGS), self.days + 2), dtype=np.int64)

    def add(self, other: Aggregates) -> None:
        self.beds += other.beds
        self.nctr += other.nctr
        for k, v in other.value.items():
            if k in self.value:
                self.value[k] = self.value[k] + v
            else:
                self.value[k] = v.copy()


def _month_index(day: I64, start: int) -> I64:
    d = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    s = np.array([start]).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)[0]
    return np.asarray(d - s, dtype=np.int64)


def _add_value(agg: Aggregates, org: str, day: I64, pence: I64, start: int, months: int) -> None:
    m = _month_index(day, start)
    ok = (m >= 0) & (m < months) & (pence > 0)
    totals = np.bincount(m[ok], weights=pence[ok].astype(np.float64), minlength=months)
    v = np.rint(totals).astype(np.int64)
    agg.value[org] = agg.value.get(org, np.zeros(months, dtype=np.int64)) + v


def _occupy(agg: Aggregates, which: int, arrive: I64, depart: I64, start: int) -> None:
    """Count a bed occupied each midnight from ``arrive`` to ``depart`` (exclusive)."""
    lo = np.clip(arrive - start, 0, agg.days + 1)
    hi = np.clip(depart - start, 0, agg.days + 1)
    ok = hi > lo
    np.add.at(agg.beds[which], lo[ok], 1)
    np.add.at(agg.beds[which], hi[ok], -1)


def _occupy_nctr(agg: Aggregates, which: int, ready: I64, depart: I64, start: int) -> None:
    lo = np.clip(ready - start, 0, agg.days + 1)
    hi = np.clip(depart - start, 0, agg.days + 1)
    ok = hi > lo
    np.add.at(agg.nctr[which], lo[ok], 1)
    np.add.at(agg.nctr[which], hi[ok], -1)


def _choice(
    rng: np.random.Generator,
    options: tuple[tuple[str, float], ...],
    size: int,
) -> tuple[I64, tuple[str, ...]]:
    labels = tuple(o[0] for o in options)
    w = np.array([o[1] for o in options], dtype=np.float64)
    return rng.choice(len(labels), size=size, p=w / w.sum()).astype(np.int64), labels


def _weekday(day: I64) -> I64:
    """Move Saturdays and Sundays to the following Monday (1970-01-01 was a Thursday)."""
    dow = (day + 3) % 7  # 0 Monday
    return np.where(dow == 5, day + 2, np.where(dow == 6, day + 1, day)).astype(np.int64)


def _residence(pop: Population, health: Health, end: int) -> tuple[I64, I64]:
    """[first, last+1) days each person is resident and alive within the window."""
    stop = np.minimum(np.minimum(pop.leave, health.death + 1), end + 1)
    return pop.entry, stop


def _yearly_events(
    rng: np.random.Generator,
    ctx: Context,
    lo_all: I64,
    hi_all: I64,
    rate_fn: Callable[[int, I64], F64],
) -> tuple[I64, I64, I64]:
    """Poisson events per person-year at ``rate_fn(y, day) -> rate per year``.

    Returns (person, day, year index)."""
    who_parts: list[I64] = []
    day_parts: list[I64] = []
    year_parts: list[I64] = []
    for y in range(5):
        t0, t1 = int(ctx.bounds[y]), min(int(ctx.bounds[y + 1]), ctx.end + 1)
        lo = np.maximum(lo_all, t0)
        hi = np.minimum(hi_all, t1)
        span = np.maximum(hi - lo, 0)
        mid = lo + span // 2
        rate = rate_fn(y, mid)
        k = rng.poisson(np.asarray(rate) * span / YEAR)
        who = np.repeat(np.arange(len(lo)), k)
        day = lo[who] + (rng.random(len(who)) * span[who]).astype(np.int64)
        who_parts.append(who)
        day_parts.append(day)
        year_parts.append(np.full(len(who), y, dtype=np.int64))
    return np.concatenate(who_parts), np.concatenate(day_parts), np.concatenate(year_parts)


# ---------------------------------------------------------------------------------------
# primary care
# ---------------------------------------------------------------------------------------

GP_EVENT_KINDS: tuple[tuple[str, str, str], ...] = tuple(
    [(c.snomed, c.snomed_display, "") for c in codes.CONDITIONS]
    + [(codes.SMI_BIPOLAR[0], codes.SMI_BIPOLAR[1], "")]
    + [(o.snomed, o.display, o.unit) for o in codes.OBSERVATIONS.values()]
    + [(c, d, "") for c, d in codes.FRAILTY_CODES]
    + [(c, d, "") for c, d in codes.SMOKING_CODES]
    + [(*codes.ISOLATION_CODE, ""), (*codes.HOUSEBOUND_CODE, "")]
)
"""(SNOMED code, display, UCUM unit) for each kind of GP event, indexed by event kind."""
_K_BIPOLAR = len(codes.CONDITIONS)
_K_OBS = {key: _K_BIPOLAR + 1 + i for i, key in enumerate(codes.OBSERVATIONS)}
_K_FRAIL = _K_BIPOLAR + 1 + len(codes.OBSERVATIONS)
_K_SMOKE = _K_FRAIL + 3
_K_ISOLATION = _K_SMOKE + 3
_K_HOUSEBOUND = _K_ISOLATION + 1
GP_EVENT_IS_CONDITION = np.zeros(len(GP_EVENT_KINDS), dtype=bool)
GP_EVENT_IS_CONDITION[: _K_BIPOLAR + 1] = True
GP_EVENT_IS_CONDITION[_K_FRAIL:] = True
"""Events written as FHIR Condition (the rest are Observations with values)."""
ETHNICITY_LABELS = (*codes.ETHNIC_CODES, "Z")

_REVIEW_CONDITIONS = np.array(
    [
        CI[k]
        for k in (
            "hypertension",
            "diabetes",
            "copd",
            "asthma",
            "chd",
            "heart_failure",
            "af",
            "stroke",
            "ckd",
        )
    ]
)
_BP_CONDITIONS = np.array(
    [CI[k] for k in ("hypertension", "diabetes", "chd", "heart_failure", "af", "stroke", "ckd")]
)


def _gp(
    pop: Population,
    health: Health,
    regs: Registrations,
    fp: Footprint,
    ctx: Context,
    rng: np.random.Generator,
) -> tuple[Rows, Rows]:
    end = ctx.end
    n_reg = len(regs.person)
    p = regs.person
    reg_last = np.minimum(np.minimum(regs.end, health.death[p] + 1), end + 1)  # exclusive
    # ---- gp_patients -------------------------------------------------------------------
    u = rng.random(n_reg)
    eth = np.where(u < 0.85, pop.eth[p], np.where(u < 0.93, len(codes.ETHNIC_CODES), -1))
    patients = Rows(
        "gp_patients",
        p,
        regs.practice,
        regs.start,
        np.minimum(regs.end, end),
        {
            "practice_code": Col("cat", regs.practice, fp.practice_codes),
            "registration_date": Col("date", regs.start),
            "ethnicity": Col("cat", eth.astype(np.int64), ETHNICITY_LABELS),
            "deregistration_date": Col("date", regs.end),
        },
    )
    # ---- gp_events ---------------------------------------------------------------------
    parts_r: list[I64] = []  # registration index
    parts_d: list[I64] = []  # day
    parts_k: list[I64] = []  # event kind
    parts_v: list[I64] = []  # value * 10 (NULL when none)
    # a. coded conditions (history travels with the record: GP2GP)
    coded = health.coded[p]  # (n_reg, C)
    r_idx, c_idx = np.nonzero(coded < reg_last[:, None])
    kind = c_idx.copy()
    smi = c_idx == CI["smi"]
    kind[smi & health.bipolar[p[r_idx]]] = _K_BIPOLAR
    parts_r.append(r_idx)
    parts_d.append(coded[r_idx, c_idx])
    parts_k.append(kind)
    parts_v.append(np.full(len(r_idx), NULL, dtype=np.int64))
    # b. annual reviews inside the registration
    person_bp = rng.normal(0, 8, pop.n)
    person_a1c = rng.normal(0, 8, pop.n)
    person_bmi = rng.normal(0, 3.5, pop.n)
    for y in range(5):
        t0, t1 = int(ctx.bounds[y]), int(ctx.bounds[y + 1])
        day = t0 + (rng.random(n_reg) * (t1 - t0)).astype(np.int64)
        ok = (day >= regs.start) & (day < reg_last)
        pr = p[ok]
        rr = np.flatnonzero(ok)
        dd = day[ok]
        cod = health.coded[pr] <= dd[:, None]
        age = (dd - pop.dob[pr]) / YEAR
        reviewed = cod[:, _REVIEW_CONDITIONS].any(axis=1)
        check = (~reviewed) & (age >= 40) & (age < 75) & (rng.random(len(pr)) < 0.08)
        bp = cod[:, _BP_CONDITIONS].any(axis=1) | check
        hyp = cod[:, CI["hypertension"]]
        dia = cod[:, CI["diabetes"]]
        ckd = cod[:, CI["ckd"]]
        resp = cod[:, CI["asthma"]] | cod[:, CI["copd"]]
        sys_v = np.clip(
            np.rint(128 + 0.25 * (age - 50) + 6 * hyp + person_bp[pr] + rng.normal(0, 11, len(pr))),
            85,
            220,
        )
        dia_v = np.clip(
            np.rint(
                78 + 3 * hyp - 0.1 * (age - 60) + 0.5 * person_bp[pr] + rng.normal(0, 7, len(pr))
            ),
            45,
            130,
        )
        dep = deprivation(fp, pop.area_of(pr, dd))
        a1c = np.clip(np.rint(56 + 4 * dep + person_a1c[pr] + rng.normal(0, 8, len(pr))), 35, 140)
        egfr = np.where(
            ckd,
            np.clip(np.rint(45 + rng.normal(0, 9, len(pr))), 8, 59),
            np.clip(
                np.rint(92 - 0.6 * np.maximum(age - 40, 0) + rng.normal(0, 10, len(pr))), 60, 130
            ),
        )
        bmi_show = dia | (reviewed & (rng.random(len(pr)) < 0.3))
        bmi = np.clip(
            np.rint(
                (27.5 + 3 * dia + 1.0 * dep + person_bmi[pr] + rng.normal(0, 1.0, len(pr))) * 10
            ),
            150,
            600,
        )
        copd = cod[:, CI["copd"]]
        pefr = np.clip(
            np.rint(430 - 2.2 * np.maximum(age - 40, 0) - 90 * copd + rng.normal(0, 60, len(pr))),
            80,
            750,
        )
        for mask, key, val in (
            (bp, "systolic", sys_v * 10),
            (bp, "diastolic", dia_v * 10),
            (dia, "hba1c", a1c * 10),
            (dia | ckd, "egfr", egfr * 10),
            (bmi_show, "bmi", bmi),
            (resp & (age >= 6), "pefr", pefr * 10),
        ):
            parts_r.append(rr[mask])
            parts_d.append(dd[mask])
            parts_k.append(np.full(int(mask.sum()), _K_OBS[key], dtype=np.int64))
            parts_v.append(val[mask].astype(np.int64))
        # frailty, recorded at the review by practices that code it
        frail = frailty_at(pop, health.onset[pr], health.frailty_z[pr], dd, dep, pr)
        cat = np.searchsorted(np.array([0.12, 0.24, 0.36]), frail, side="right") - 1
        fr = (age >= 65) & (cat >= 0) & health.frailty_coder[pr] & (reviewed | (cat >= 1))
        parts_r.append(rr[fr])
        parts_d.append(dd[fr])
        parts_k.append(_K_FRAIL + cat[fr].astype(np.int64))
        parts_v.append(np.full(int(fr.sum()), NULL, dtype=np.int64))
        if y == 0 or y == 3:
            iso = (health.isolation[pr] > 0.65) & (rng.random(len(pr)) < 0.06)
            hb = (frail >= 0.36) & (rng.random(len(pr)) < 0.4)
            for mask, code_kind in ((iso, _K_ISOLATION), (hb, _K_HOUSEBOUND)):
                parts_r.append(rr[mask])
                parts_d.append(dd[mask])
                parts_k.append(np.full(int(mask.sum()), code_kind, dtype=np.int64))
                parts_v.append(np.full(int(mask.sum()), NULL, dtype=np.int64))
    # c. smoking status at registration (adults)
    sday = regs.start + rng.integers(0, 90, size=n_reg)
    ok = (sday < reg_last) & ((sday - pop.dob[p]) / YEAR >= 16)
    parts_r.append(np.flatnonzero(ok))
    parts_d.append(sday[ok])
    parts_k.append(_K_SMOKE + pop.smoker[p[ok]])
    parts_v.append(np.full(int(ok.sum()), NULL, dtype=np.int64))

    r = np.concatenate(parts_r)
    d = np.concatenate(parts_d)
    k = np.concatenate(parts_k)
    v = np.concatenate(parts_v)
    unit_idx = np.array([-1 if not GP_EVENT_KINDS[i][2] else i for i in range(len(GP_EVENT_KINDS))])
    # values are held * 10; BMI and weight keep one decimal place, the rest none
    one_dp = np.isin(k, [_K_OBS["bmi"], _K_OBS["weight"]])
    value_text = pc.if_else(
        pa.array(one_dp),
        number_text(v, 1),
        number_text(np.where(v == NULL, NULL, v // 10), 0),
    )
    events = Rows(
        "gp_events",
        p[r],
        regs.practice[r],
        d,
        d,
        {
            "event_date": Col("date", d),
            "snomed_code": Col("cat", k, tuple(e[0] for e in GP_EVENT_KINDS)),
            "value": Col("text", value_text),
            "unit": Col("cat", unit_idx[k], tuple(e[2] for e in GP_EVENT_KINDS)),
        },
        {"kind": k},
    )
    return patients, events


# ---------------------------------------------------------------------------------------
# acute care
# ---------------------------------------------------------------------------------------


def _acute_source(pop: Population, fp: Footprint, day: I64, who: I64, loyalty: F64) -> I64:
    """Index into fp.acute_codes of the trust a person uses on ``day``."""
    place = fp.area_place[np.where(day >= pop.move[who], pop.area1[who], pop.area0[who])]
    p0 = fp.acute_by_place[place, 0]
    return np.asarray(loyalty[who] >= p0, dtype=np.int64)


def _secondary_mask(health: Health, who: I64, day: I64, rng: np.random.Generator) -> I64:
    active = health.onset[who] <= day[:, None]
    recorded = active & (rng.random(active.shape) < 0.85)
    bits = (1 << np.arange(len(KEYS))).astype(np.int64)
    return np.asarray((recorded.astype(np.int64) * bits).sum(axis=1), dtype=np.int64)


def _mask_strings(mask: I64, cancer_site: I64, bipolar: B) -> tuple[I64, tuple[str, ...]]:
    """Map condition bitmasks to '|'-joined ICD-10 strings (as category codes)."""
    # cancer site and bipolar change the code: fold them into the key
    key = mask * 16 + cancer_site * 2 + bipolar.astype(np.int64)
    uniq, inv = np.unique(key, return_inverse=True)
    labels = []
    for k in uniq.tolist():
        m, rest = divmod(k, 16)
        site, bp = divmod(rest, 2)
        parts = []
        for c, cond in enumerate(codes.CONDITIONS):
            if m >> c & 1:
                if cond.key == "cancer":
                    parts.append(codes.CANCER_SITES[site][0])
                elif cond.key == "smi" and bp:
                    parts.append(codes.SMI_BIPOLAR[2])
                else:
                    parts.append(cond.icd10)
        labels.append("|".join(parts))
    idx = inv.ravel().astype(np.int64)
    # empty string -> null
    lab = tuple(labels)
    empty = np.array([s == "" for s in lab], dtype=bool)
    return np.where(empty[idx], -1, idx), lab


def _emergency_diagnoses(
    pop: Population, health: Health, who: I64, day: I64, rng: np.random.Generator
) -> tuple[I64, tuple[str, ...], I64]:
    """Primary diagnosis (category codes, labels) and the condition behind it (-1 none)."""
    n = len(who)
    active = health.onset[who] <= day[:, None]
    beta = np.array([CONDITION_PARAMS[k].admit_beta for k in KEYS])
    w = active * (np.exp(beta) - 1.0)
    age = (day - pop.dob[who]) / YEAR
    dep = np.zeros(n)
    frail = frailty_at(pop, health.onset[who], health.frailty_z[who], day, dep, who) if n else dep
    frail_w = np.where(age >= 65, 1.5 * frail, 0.0)
    general_w = np.full(n, 0.9)
    allw = np.concatenate([w, frail_w[:, None], general_w[:, None]], axis=1)
    cum = np.cumsum(allw, axis=1)
    u = rng.random(n) * cum[:, -1]
    driver = (cum < u[:, None]).sum(axis=1)
    driver = np.minimum(driver, allw.shape[1] - 1)
    labels: list[str] = []
    index: dict[str, int] = {}

    def lab(code: str) -> int:
        if code not in index:
            index[code] = len(labels)
            labels.append(code)
        return index[code]

    out = np.zeros(n, dtype=np.int64)
    u2 = rng.random(n)
    group = np.where(age < 18, 0, np.where(age < 65, 1, 2))
    for c, condition in enumerate(codes.CONDITIONS):
        sel = np.flatnonzero(driver == c)
        if not len(sel):
            continue
        opts = list(condition.emergency)
        cw = np.cumsum([o[1] for o in opts])
        pick = np.minimum(np.searchsorted(cw / cw[-1], u2[sel], side="right"), len(opts) - 1)
        for j, (code, _w) in enumerate(opts):
            s = sel[pick == j]
            if not len(s):
                continue
            if code == "SITE":
                site_lab = np.array([lab(site[0]) for site in codes.CANCER_SITES])
                out[s] = site_lab[health.cancer_site[who[s]]]
            elif code == "SMI":
                out[s] = np.where(health.bipolar[who[s]], lab(codes.SMI_BIPOLAR[2]), lab("F20.9"))
            else:
                out[s] = lab(code)
    sel = np.flatnonzero(driver == len(KEYS))
    if len(sel):
        opts = list(codes.FRAILTY_EMERGENCY)
        cw = np.cumsum([o[1] for o in opts])
        pick = np.minimum(np.searchsorted(cw / cw[-1], u2[sel], side="right"), len(opts) - 1)
        out[sel] = np.array([lab(o[0]) for o in opts])[pick]
    for g, gname in enumerate(("child", "adult", "older")):
        sel = np.flatnonzero((driver == len(KEYS) + 1) & (group == g))
        if not len(sel):
            continue
        opts = list(codes.GENERAL_EMERGENCY[gname])
        cw = np.cumsum([o[1] for o in opts])
        pick = np.minimum(np.searchsorted(cw / cw[-1], u2[sel], side="right"), len(opts) - 1)
        out[sel] = np.array([lab(o[0]) for o in opts])[pick]
    cond = np.where(driver < len(KEYS), driver, -1).astype(np.int64)
    return out, tuple(labels), cond


def _overlaps(who: I64, adm: I64, dis: I64, o_who: I64, o_adm: I64, o_dis: I64) -> B:
    """Whether each stay [adm, dis] overlaps one of the same person's other stays.

    The other stays must be sorted by (person, admission) and not overlap each other."""
    if len(o_who) == 0 or len(who) == 0:
        return np.zeros(len(who), dtype=bool)
    scale = np.int64(1) << np.int64(32)
    o_key = o_who * scale + o_adm
    key = who * scale + adm
    before = np.searchsorted(o_key, key, side="right") - 1  # last stay starting <= adm
    b_ok = before >= 0
    b = np.maximum(before, 0)
    hit = b_ok & (o_who[b] == who) & (o_dis[b] >= adm)
    after = np.minimum(before + 1, len(o_who) - 1)  # next stay starting after adm
    nxt = (before + 1 < len(o_who)) & (o_who[after] == who) & (o_adm[after] <= dis)
    return np.asarray(hit | nxt, dtype=bool)


@dataclass
class _Spells:
    person: I64
    trust: I64
    adm: I64
    dis: I64
    """Discharge day; FAR when still in hospital at the end date."""
    method: I64
    diag: list[str]
    proc: list[str]
    dest: I64
    cost: I64
    nctr_days: I64
    sec_mask: I64


_METHODS = ("11", "12", "13", "21", "22", "23", "24", "25", "28", "31", "32", "81")
_M = {m: i for i, m in enumerate(_METHODS)}
_DESTS = ("19", "29", "51", "54", "65", "85", "88", "79")
_D = {d: i for i, d in enumerate(_DESTS)}


def _acute(
    pop: Population,
    health: Health,
    fp: Footprint,
    ctx: Context,
    rng: np.random.Generator,
    agg: Aggregates,
    months: int,
) -> tuple[Rows, Rows, Rows, I64, I64]:
    end, start = ctx.end, ctx.start
    loyalty = rng.random(pop.n)
    res_lo, res_hi = _residence(pop, health, end)
    # ---- emergency spells ------------------------------------------------------------
    who = health.adm_person
    adm = health.adm_date
    ne = len(who)
    trust = _acute_source(pop, fp, adm, who, loyalty)
    m_idx, _ = _choice(
        rng,
        (("21", 0.72), ("22", 0.13), ("23", 0.03), ("24", 0.05), ("25", 0.01), ("28", 0.06)),
        ne,
    )
    method = np.array([_M[x] for x in ("21", "22", "23", "24", "25", "28")])[m_idx]
    diag_idx, diag_labels, _cond = _emergency_diagnoses(pop, health, who, adm, rng)
    diag = [diag_labels[i] for i in diag_idx.tolist()]
    age = (adm - pop.dob[who]) / YEAR
    dep = deprivation(fp, pop.area_of(who, adm)) if ne else np.zeros(0)
    frail = frailty_at(pop, health.onset[who], health.frailty_z[who], adm, dep, who) if ne else dep
    mean_los = 2.0 + 0.07 * np.maximum(age - 50, 0) + 10.0 * frail
    zero = rng.random(ne) < np.where(age < 65, 0.3, 0.12)
    los = np.where(zero, 0, 1 + rng.exponential(mean_los).astype(np.int64))
    older = age >= 65
    d_idx, d_lab = _choice(rng, codes.APC_DESTINATIONS_OLDER, ne)
    dest = np.where(older, np.array([_D[x] for x in d_lab])[d_idx], _D["19"])
    dest = np.where(pop.care_home[who], _D["85"], dest)
    needs_care = older & (frail >= 0.24) & ((dest != _D["19"]) | (rng.random(ne) < 0.25))
    nctr = np.where(needs_care, rng.poisson(2 + 12 * frail), 0)
    los = los + nctr
    dis = adm + los
    # no overlap with the same person's next admission
    nxt_same = np.zeros(ne, dtype=bool)
    if ne > 1:
        nxt_same[:-1] = who[1:] == who[:-1]
    nxt_adm = np.where(nxt_same, np.roll(adm, -1), FAR)
    dis = np.minimum(dis, nxt_adm)
    nctr = np.minimum(nctr, dis - adm)
    # death: during the stay, or shortly after the last admission (half die in hospital)
    death = health.death[who]
    last_of_person = ~nxt_same
    in_hosp = (death < FAR) & (
        ((death >= adm) & (death <= dis))
        | (last_of_person & (death >= adm) & (death - adm <= 30) & (rng.random(ne) < 0.5))
    )
    dis = np.where(in_hosp, death, dis)
    dest = np.where(in_hosp, _D["79"], dest)
    nctr = np.where(in_hosp, 0, np.minimum(nctr, dis - adm))
    # transfers out for a few longer stays
    transfer = (~in_hosp) & (dis - adm >= 2) & (rng.random(ne) < 0.03) & (dis < nxt_adm - 3)
    dest = np.where(transfer, _D["51"], dest)
    proc = [codes.EMERGENCY_PROCEDURES.get(dg, "") for dg in diag]
    proc_keep = rng.random(ne) < 0.75
    proc = [p if k else "" for p, k in zip(proc, proc_keep.tolist(), strict=True)]
    has_proc = np.array([bool(p_) for p_ in proc], dtype=bool)
    cost = np.rint(
        (1400 + 380 * (dis - adm) + 1800 * has_proc) * rng.lognormal(0, 0.15, ne) * 100
    ).astype(np.int64)
    emergency = _Spells(
        who,
        trust,
        adm,
        dis,
        method,
        diag,
        proc,
        dest,
        cost,
        nctr,
        _secondary_mask(health, who, adm, rng),
    )
    # transfer-in spells at the other trust (method 81)
    t_sel = np.flatnonzero(transfer)
    t_los = 2 + rng.integers(0, 9, size=len(t_sel))
    t_dis = np.minimum(dis[t_sel] + t_los, np.where(nxt_same, np.roll(adm, -1), FAR)[t_sel])
    t_death = death[t_sel]
    t_died = (t_death < FAR) & (t_death <= t_dis)
    t_dis = np.where(t_died, t_death, t_dis)
    transfers = _Spells(
        who[t_sel],
        1 - trust[t_sel],
        dis[t_sel],
        t_dis,
        np.full(len(t_sel), _M["81"]),
        [diag[i] for i in t_sel.tolist()],
        ["" for _ in t_sel.tolist()],
        np.where(t_died, _D["79"], _D["19"]),
        np.rint((2500 + 450 * (t_dis - dis[t_sel])) * 100).astype(np.int64),
        np.zeros(len(t_sel), dtype=np.int64),
        emergency.sec_mask[t_sel],
    )
    # ---- elective spells ------------------------------------------------------------
    procs = codes.ELECTIVE_PROCEDURES

    def elective_rate(y: int, day: I64) -> F64:
        a = (day - pop.dob) / YEAR
        return np.where(a < 16, 0.03, 0.035 + 0.0022 * np.maximum(a - 30, 0))

    ew, eday, _ey = _yearly_events(rng, ctx, res_lo, res_hi, elective_rate)
    eday = _weekday(eday)
    e_age = (eday - pop.dob[ew]) / YEAR
    e_sex = pop.sex[ew]
    weights = np.zeros((len(ew), len(procs)))
    for j, pr in enumerate(procs):
        ok = (e_age >= pr.min_age) & (e_age < pr.max_age)
        if pr.sex == "M":
            ok &= e_sex == 1
        elif pr.sex == "F":
            ok &= e_sex == 0
        weights[:, j] = ok * pr.weight
    has_any = weights.sum(axis=1) > 0
    ew, eday, weights = ew[has_any], eday[has_any], weights[has_any]
    cum = np.cumsum(weights, axis=1)
    pick = np.minimum(
        (cum < (rng.random(len(ew)) * cum[:, -1])[:, None]).sum(axis=1), len(procs) - 1
    )
    inpatient = rng.random(len(ew)) < np.array([pr.inpatient_share for pr in procs])[pick]
    e_los = np.where(inpatient, 1 + rng.integers(0, 4, size=len(ew)), 0)
    # chemotherapy for recent cancers, PCI after a CHD diagnosis
    ci = CI["cancer"]
    recent = (health.onset[:, ci] >= start - 365) & (health.onset[:, ci] <= end)
    n_chemo = np.where(recent & (rng.random(pop.n) < 0.5), rng.poisson(5, pop.n), 0)
    cw = np.repeat(np.arange(pop.n), n_chemo)
    cday = _weekday(health.onset[cw, ci] + 30 + (rng.random(len(cw)) * 180).astype(np.int64))
    chd = CI["chd"]
    pci = (
        (health.onset[:, chd] >= start) & (health.onset[:, chd] <= end) & (rng.random(pop.n) < 0.3)
    )
    pw = np.flatnonzero(pci)
    pday = _weekday(health.onset[pw, chd] + rng.integers(14, 120, size=len(pw)))
    el_who = np.concatenate([ew, cw, pw])
    el_adm = np.concatenate([eday, cday, pday])
    el_los = np.concatenate(
        [e_los, np.zeros(len(cw), dtype=np.int64), rng.integers(0, 2, size=len(pw))]
    )
    el_diag = (
        [procs[i].diagnosis for i in pick.tolist()]
        + [codes.CANCER_SITES[int(s)][0] for s in health.cancer_site[cw].tolist()]
        + [codes.PCI.diagnosis] * len(pw)
    )
    el_proc = (
        [procs[i].procedures for i in pick.tolist()]
        + [codes.CHEMOTHERAPY.procedures] * (len(cw))
        + [codes.PCI.procedures] * len(pw)
    )
    el_cost = np.concatenate(
        [
            np.array([procs[i].cost for i in pick.tolist()]) * rng.lognormal(0, 0.1, len(ew)),
            np.full(len(cw), codes.CHEMOTHERAPY.cost),
            np.full(len(pw), codes.PCI.cost),
        ]
    )
    mt, _ = _choice(rng, (("11", 0.6), ("12", 0.25), ("13", 0.15)), len(el_who))
    el_method = np.array([_M["11"], _M["12"], _M["13"]])[mt]
    el_method[len(ew) : len(ew) + len(cw)] = _M["13"]
    el_method[len(ew) + len(cw) :] = _M["11"]
    # keep planned activity while the person is alive and resident
    ok = (el_adm >= res_lo[el_who]) & (el_adm < res_hi[el_who]) & (el_adm <= end)
    el_dis = el_adm + el_los
    ok &= el_dis <= np.minimum(health.death[el_who], FAR)
    ok &= ~_overlaps(el_who, el_adm, el_dis, who, adm, dis)
    sel = np.flatnonzero(ok)
    elective = _Spells(
        el_who[sel],
        _acute_source(pop, fp, el_adm[sel], el_who[sel], loyalty),
        el_adm[sel],
        el_dis[sel],
        el_method[sel],
        [el_diag[i] for i in sel.tolist()],
        [el_proc[i] for i in sel.tolist()],
        np.full(len(sel), _D["19"]),
        np.rint(el_cost[sel] * 100).astype(np.int64),
        np.zeros(len(sel), dtype=np.int64),
        _secondary_mask(health, el_who[sel], el_adm[sel], rng),
    )
    # ---- maternity ---------------------------------------------------------------------
    born = np.flatnonzero((pop.dob > start) & (pop.dob <= end) & (pop.mother >= 0))
    mum = pop.mother[born]
    ok = (
        (health.death[mum] > pop.dob[born])
        & (pop.entry[mum] <= pop.dob[born])
        & (pop.leave[mum] > pop.dob[born])
    )
    born, mum = born[ok], mum[ok]
    kind = rng.choice(
        len(codes.DELIVERY), size=len(born), p=np.array([d[2] for d in codes.DELIVERY])
    )
    m_adm = pop.dob[born] - rng.integers(0, 2, size=len(born))
    m_los = np.where(
        kind == 0, rng.integers(0, 3, size=len(born)), 2 + rng.integers(0, 3, size=len(born))
    )
    m_dis = pop.dob[born] + m_los
    post = rng.random(len(born)) < 0.03
    pw2 = np.flatnonzero(post)
    p_adm = m_dis[pw2] + rng.integers(3, 40, size=len(pw2))
    p_dis = p_adm + rng.integers(1, 4, size=len(pw2))
    mat_diag_all = [codes.DELIVERY[k][1] for k in kind.tolist()] + [codes.POSTNATAL[1]] * len(pw2)
    mat_proc_all = [codes.DELIVERY[k][0] for k in kind.tolist()] + [""] * len(pw2)
    mat_who = np.concatenate([mum, mum[pw2]])
    mat_adm = np.concatenate([m_adm, p_adm])
    mat_dis = np.concatenate([m_dis, p_dis])
    keep = (mat_dis <= end) & (mat_dis < health.death[mat_who])
    mat_sel = np.flatnonzero(keep)
    mat = _Spells(
        mat_who[mat_sel],
        _acute_source(pop, fp, mat_adm[mat_sel], mat_who[mat_sel], loyalty),
        mat_adm[mat_sel],
        mat_dis[mat_sel],
        np.concatenate([np.full(len(born), _M["31"]), np.full(len(pw2), _M["32"])])[mat_sel],
        [mat_diag_all[i] for i in mat_sel.tolist()],
        [mat_proc_all[i] for i in mat_sel.tolist()],
        np.full(len(mat_sel), _D["19"]),
        np.rint(
            np.concatenate(
                [
                    np.array([codes.DELIVERY[k][3] for k in kind.tolist()]),
                    np.full(len(pw2), codes.POSTNATAL[2]),
                ]
            )[mat_sel]
            * 100
        ).astype(np.int64),
        np.zeros(len(mat_sel), dtype=np.int64),
        np.zeros(len(mat_sel), dtype=np.int64),
    )
    spells = [emergency, transfers, elective, mat]
    sp_person = np.concatenate([s.person for s in spells])
    sp_trust = np.concatenate([s.trust for s in spells])
    sp_adm = np.concatenate([s.adm for s in spells])
    sp_dis = np.concatenate([s.dis for s in spells])
    sp_method = np.concatenate([s.method for s in spells])
    sp_diag = [d for s in spells for d in s.diag]
    sp_proc = [d for s in spells for d in s.proc]
    sp_dest = np.concatenate([s.dest for s in spells])
    sp_cost = np.concatenate([s.cost for s in spells])
    sp_nctr = np.concatenate([s.nctr_days for s in spells])
    sp_sec = np.concatenate([s.sec_mask for s in spells])
    # still in hospital at the end date: no discharge, destination or cost yet
    open_ = sp_dis > end
    sp_dest = np.where(open_, -1, sp_dest)
    sp_cost = np.where(open_, NULL, sp_cost)
    sp_dis_out = np.where(open_, FAR, sp_dis)
    # beds: acute occupancy and no-criteria-to-reside days
    for t in range(2):
        sel_t = sp_trust == t
        _occupy(agg, t, sp_adm[sel_t], np.minimum(sp_dis[sel_t], end + 1), start)
        _occupy_nctr(
            agg, t, sp_dis[sel_t] - sp_nctr[sel_t], np.minimum(sp_dis[sel_t], end + 1), start
        )
        _add_value(
            agg,
            fp.acute_codes[t],
            sp_adm[sel_t],
            np.where(sp_cost[sel_t] == NULL, 0, sp_cost[sel_t]),
            start,
            months,
        )
    sec_idx, sec_labels = _mask_strings(
        sp_sec, health.cancer_site[sp_person], health.bipolar[sp_person]
    )
    diag_u, diag_i = np.unique(np.array(sp_diag, dtype=object).astype(str), return_inverse=True)
    proc_u, proc_i = np.unique(
        np.array([*sp_proc, ""], dtype=object).astype(str), return_inverse=True
    )
    proc_i = proc_i.ravel()[:-1]
    proc_labels = tuple(proc_u.tolist())
    proc_i = np.where(np.array(proc_labels)[proc_i] == "", -1, proc_i)
    n_sp = len(sp_person)
    spell_num = ctx.id_base + np.arange(n_sp, dtype=np.int64)
    src_acute = np.array([fp.source_index(c) for c in fp.acute_codes])
    apc = Rows(
        "apc",
        sp_person,
        src_acute[sp_trust],
        sp_adm,
        np.minimum(sp_dis, end),
        {
            "spell_id": Col("id", spell_num, ("S",), 10),
            "admission_date": Col("date", sp_adm),
            "discharge_date": Col("date", sp_dis_out),
            "admission_method": Col("cat", sp_method, _METHODS),
            "primary_diagnosis": Col(
                "cat", diag_i.ravel().astype(np.int64), tuple(diag_u.tolist())
            ),
            "secondary_diagnoses": Col("cat", sec_idx, sec_labels),
            "procedures": Col("cat", proc_i.astype(np.int64), proc_labels),
            "discharge_destination": Col("cat", sp_dest, _DESTS),
            "cost": Col("money", sp_cost),
        },
    )
    # ---- A&E attendances --------------------------------------------------------------
    via_ae = np.flatnonzero(method == _M["21"])
    a_who = who[via_ae]
    a_trust = trust[via_ae]
    dep_min = rng.integers(0, 1440, size=len(via_ae))
    dur = np.clip(rng.lognormal(np.log(330), 0.5, len(via_ae)), 60, 1440).astype(np.int64)
    a_depart = adm[via_ae] * 1440 + dep_min
    # never before the person was here (a newborn, the first day of the window)
    a_arrive = np.maximum(a_depart - dur, res_lo[who[via_ae]] * 1440)
    a_depart = np.maximum(a_depart, a_arrive + 30)
    a_acuity = rng.choice(5, size=len(via_ae), p=[0.05, 0.35, 0.48, 0.11, 0.01])
    a_dest = np.full(len(via_ae), 1)  # ward

    # People who attend often are the people admitted often: the same latent propensity
    # drives both (mean one, so the overall attendance rate is unchanged), which is how
    # an A&E history reveals part of it, as in real populations.
    attender = np.exp(
        AE_PROPENSITY * health.propensity - (AE_PROPENSITY * ADMIT_PROPENSITY_SD) ** 2 / 2
    )

    def ae_rate(y: int, day: I64) -> F64:
        a = (day - pop.dob) / YEAR
        dep_ = deprivation(fp, pop.area_at(day))
        base = np.where(
            a < 5, 0.42, np.where(a < 18, 0.22, np.where(a < 30, 0.3, np.where(a < 80, 0.22, 0.5)))
        )
        act = health.onset <= day[:, None]
        return np.asarray(
            base
            * (1 + 0.35 * dep_)
            * (
                1
                + 0.8 * act[:, CI["smi"]]
                + 0.3 * act[:, CI["depression"]]
                + 0.5 * act[:, CI["copd"]]
            )
            * (1 + AE_ISOLATION * health.isolation)
            * attender
        )

    nw, nday, _ny = _yearly_events(rng, ctx, res_lo, res_hi, ae_rate)
    n_trust = _acute_source(pop, fp, nday, nw, loyalty)
    hour_w = np.array(
        [2, 1.5, 1, 1, 1, 1.2, 2, 3, 5, 6, 6.5, 6.5, 6, 6, 6, 6, 6, 6, 6, 5.5, 5, 4, 3.5, 2.5]
    )
    hours = rng.choice(24, size=len(nw), p=hour_w / hour_w.sum())
    n_arrive = nday * 1440 + hours * 60 + rng.integers(0, 60, size=len(nw))
    n_dur = np.clip(rng.lognormal(np.log(200), 0.55, len(nw)), 20, 1200).astype(np.int64)
    # everyone leaves the department before the day they die or move away ends
    last_minute = res_hi[nw] * 1440 - 1
    n_arrive = np.minimum(n_arrive, last_minute - 20)
    n_depart = np.minimum(n_arrive + n_dur, last_minute)
    n_acuity = rng.choice(5, size=len(nw), p=[0.005, 0.08, 0.45, 0.37, 0.095])
    n_dest_choice = rng.choice(3, size=len(nw), p=[0.9, 0.08, 0.02])
    n_dest = np.where(n_dest_choice == 1, 5, np.where(n_dest_choice == 2, 4, 0))
    n_dest = np.where(pop.care_home[nw] & (n_dest == 0), 2, n_dest)
    e_who = np.concatenate([a_who, nw])
    e_trust = np.concatenate([a_trust, n_trust])
    e_arr = np.concatenate([a_arrive, n_arrive])
    e_dep = np.concatenate([a_depart, n_depart])
    keep = (e_dep // 1440) <= end
    e_acu = np.concatenate([a_acuity, n_acuity]) + 1
    e_dest = np.concatenate([a_dest, n_dest])
    e_age = (e_arr // 1440 - pop.dob[e_who]) / YEAR
    complaint = np.zeros(len(e_who), dtype=np.int64)
    comp_labels: list[str] = []
    for g, gname in enumerate(("child", "adult", "older")):
        opts = codes.ECDS_COMPLAINTS[gname]
        base = len(comp_labels)
        comp_labels.extend(o[0] for o in opts)
        grp = np.where(e_age < 16, 0, np.where(e_age < 75, 1, 2))
        sel = np.flatnonzero(grp == g)
        ci_, _ = _choice(rng, opts, len(sel))
        complaint[sel] = base + ci_
    # admitted patients: the complaint follows the admitting diagnosis where it can
    for j, i in enumerate(via_ae.tolist()):
        mapped = codes.COMPLAINT_FOR_DIAGNOSIS.get(diag[i][:3])
        if mapped is not None:
            if mapped not in comp_labels:
                comp_labels.append(mapped)
            complaint[j] = comp_labels.index(mapped)
    keep_idx = np.flatnonzero(keep)
    dest_labels = (
        codes.ECDS_DESTINATIONS["home"],
        codes.ECDS_DESTINATIONS["ward"],
        codes.ECDS_DESTINATIONS["residential_home"],
        codes.ECDS_DESTINATIONS["nursing_home"],
        codes.ECDS_DESTINATIONS["transfer"],
        codes.ECDS_DESTINATIONS["ambulatory"],
    )
    acuity_value = np.array([0, 450, 350, 250, 150, 100]) * 100
    for t in range(2):
        sel_t = keep_idx[e_trust[keep_idx] == t]
        _add_value(
            agg, fp.acute_codes[t], e_arr[sel_t] // 1440, acuity_value[e_acu[sel_t]], start, months
        )
    ecds = Rows(
        "ecds",
        e_who[keep_idx],
        src_acute[e_trust[keep_idx]],
        e_arr[keep_idx] // 1440,
        e_dep[keep_idx] // 1440,
        {
            "attendance_id": Col(
                "id", ctx.id_base + np.arange(len(keep_idx), dtype=np.int64), ("E",), 10
            ),
            "arrival": Col("dtz", e_arr[keep_idx]),
            "departure": Col("dtz", e_dep[keep_idx]),
            "acuity": Col("cat", e_acu[keep_idx] - 1, ("1", "2", "3", "4", "5")),
            "chief_complaint": Col("cat", complaint[keep_idx], tuple(comp_labels)),
            "discharge_destination": Col("cat", e_dest[keep_idx], dest_labels),
        },
    )
    # ---- outpatients -----------------------------------------------------------------
    specialty = np.array([c.treatment_function for c in codes.CONDITIONS])

    def opa_rate(y: int, day: I64) -> F64:
        a = (day - pop.dob) / YEAR
        act = health.onset <= day[:, None]
        recent = act & (health.onset > day[:, None] - 3 * 365)
        return np.asarray(
            np.where(a < 16, 0.25, 0.3 + 0.012 * np.maximum(a - 30, 0))
            + 0.12 * act.sum(axis=1)
            + 0.5 * recent.sum(axis=1)
        )

    ow, oday, _oy = _yearly_events(rng, ctx, res_lo, res_hi, opa_rate)
    oday = _weekday(oday)
    keep = (oday <= end) & (oday < res_hi[ow])
    ow, oday = ow[keep], oday[keep]
    act = health.onset[ow] <= oday[:, None]
    o_age = (oday - pop.dob[ow]) / YEAR
    w = act * 0.6
    general = np.full(len(ow), 1.0)
    allw = np.concatenate([w, general[:, None]], axis=1)
    cum = np.cumsum(allw, axis=1)
    drv = np.minimum((cum < (rng.random(len(ow)) * cum[:, -1])[:, None]).sum(axis=1), len(KEYS))
    gen_tf = np.array(["110", "130", "101", "330", "100", "120", "301", "502", "320", "400"])
    gen_w = np.array([0.18, 0.15, 0.08, 0.1, 0.1, 0.09, 0.1, 0.08, 0.07, 0.05])
    gpick = rng.choice(len(gen_tf), size=len(ow), p=gen_w / gen_w.sum())
    tf = np.where(drv < len(KEYS), specialty[np.minimum(drv, len(KEYS) - 1)], gen_tf[gpick])
    tf = np.where(o_age < 16, "420", tf)
    tf = np.where((tf == "502") & (pop.sex[ow] == 1), "101", tf)
    tf_u, tf_i = np.unique(tf, return_inverse=True)
    first = rng.choice(4, size=len(ow), p=[0.33, 0.57, 0.03, 0.07])
    dep_o = deprivation(fp, pop.area_of(ow, oday)) if len(ow) else np.zeros(0)
    dna_p = np.clip(0.06 + 0.03 * dep_o + 0.04 * ((o_age >= 16) & (o_age < 30)), 0.01, 0.3)
    u = rng.random(len(ow))
    att = np.where(
        u < dna_p,
        3,
        np.where(
            u < dna_p + 0.035,
            1,
            np.where(
                u < dna_p + 0.065,
                2,
                np.where(u < dna_p + 0.085, 4, np.where(u < dna_p + 0.09, 5, 0)),
            ),
        ),
    )
    att_labels = ("5", "2", "4", "3", "6", "7")
    o_trust = _acute_source(pop, fp, oday, ow, loyalty)
    attended = (att == 0) | (att == 4)
    o_value = np.where(attended, np.array([160, 95, 45, 45])[first] * 100, 0)
    for t in range(2):
        sel_t = o_trust == t
        _add_value(agg, fp.acute_codes[t], oday[sel_t], o_value[sel_t], start, months)
    opa = Rows(
        "opa",
        ow,
        src_acute[o_trust],
        oday,
        oday,
        {
            "appointment_date": Col("date", oday),
            "treatment_function": Col("cat", tf_i.ravel().astype(np.int64), tuple(tf_u.tolist())),
            "first_attendance": Col("cat", first.astype(np.int64), ("1", "2", "3", "4")),
            "attended": Col("cat", att.astype(np.int64), att_labels),
        },
    )
    return (
        apc,
        ecds,
        opa,
        emergency.person[(emergency.dis <= end)],
        np.minimum(emergency.dis[(emergency.dis <= end)], end),
    )


# ---------------------------------------------------------------------------------------
# community, mental health, social care, deaths
# ---------------------------------------------------------------------------------------

_TEAMS = (
    "district_nursing",
    "community_matron",
    "physiotherapy",
    "podiatry",
    "health_visiting",
    "school_nursing",
    "speech_and_language_therapy",
    "rapid_response",
    "intermediate_care",
    "community_hospital",
)
_CONTACT_TYPES = (
    "face_to_face_home",
    "face_to_face_clinic",
    "face_to_face_other",
    "telephone",
    "video",
    "inpatient",
)


def _episodes(
    rng: np.random.Generator, prob: F64, mean_contacts: float, lo: I64, hi: I64, spread_days: int
) -> tuple[I64, I64]:
    """People entering an episode (with ``prob``) and their contact days."""
    start_ok = hi > lo
    ep = start_ok & (rng.random(len(prob)) < prob)
    who = np.flatnonzero(ep)
    epi_start = lo[who] + (rng.random(len(who)) * (hi[who] - lo[who])).astype(np.int64)
    k = 1 + rng.poisson(mean_contacts, size=len(who))
    w = np.repeat(who, k)
    s = np.repeat(epi_start, k)
    day = s + (rng.random(len(w)) * spread_days).astype(np.int64)
    return w, day


def _community(
    pop: Population,
    health: Health,
    fp: Footprint,
    ctx: Context,
    rng: np.random.Generator,
    agg: Aggregates,
    months: int,
    discharged: I64,
    discharge_day: I64,
) -> Rows:
    end, start = ctx.end, ctx.start
    res_lo, res_hi = _residence(pop, health, end)
    parts: list[tuple[I64, I64, int, I64]] = []
    for y in range(5):
        t0, t1 = int(ctx.bounds[y]), min(int(ctx.bounds[y + 1]), end + 1)
        lo = np.maximum(res_lo, t0)
        hi = np.minimum(res_hi, t1)
        age = (lo - pop.dob) / YEAR
        dep = deprivation(fp, pop.area_at(lo))
        frail = frailty_at(pop, health.onset, health.frailty_z, lo, dep)
        dia = health.onset[:, CI["diabetes"]] <= lo
        specs = (
            (0, 1 / (1 + np.exp(-(-4.5 + 9 * frail + 0.02 * np.maximum(age - 70, 0)))), 9.0, 200),
            (1, np.where(frail >= 0.36, 0.3, 0.0), 5.0, 240),
            (2, 0.015 + 0.0004 * np.clip(age, 0, 100), 3.0, 90),
            (3, np.where(dia, 0.25, np.where(age >= 65, 0.04, 0.0)), 2.0, 300),
            (4, np.where(age < 1, 0.95, np.where(age < 5, 0.5, 0.0)), 2.0, 300),
            (5, np.where((age >= 5) & (age < 16), 0.05, 0.0), 0.3, 60),
            (6, np.where((age >= 2) & (age < 11), 0.02, 0.0), 4.0, 120),
            (7, np.where(frail >= 0.24, 0.06, 0.0), 1.5, 10),
        )
        for team, prob, mean_c, spread in specs:
            w, d = _episodes(rng, np.asarray(prob, dtype=np.float64), mean_c, lo, hi, spread)
            ok = (d < res_hi[w]) & (d <= end)
            parts.append((w[ok], d[ok], team, np.zeros(int(ok.sum()), dtype=np.int64)))
    # intermediate care after an emergency discharge (70+), some in a community bed
    age_d = (discharge_day - pop.dob[discharged]) / YEAR
    sel = (age_d >= 70) & (rng.random(len(discharged)) < 0.2)
    who = discharged[sel]
    dday = discharge_day[sel]
    bed = rng.random(len(who)) < 0.25
    k = 1 + rng.poisson(6, size=len(who))
    w = np.repeat(who, np.where(bed, 1, k))
    s = np.repeat(dday, np.where(bed, 1, k))
    isbed = np.repeat(bed, np.where(bed, 1, k))
    d = s + np.where(isbed, 0, (rng.random(len(w)) * 42).astype(np.int64))
    ok = (d < res_hi[w]) & (d <= end)
    ic_team = np.where(isbed, 9, 8).astype(np.int64)
    bed_los = np.where(isbed, 5 + rng.exponential(18, len(w)).astype(np.int64), 0)
    parts.append((w[ok], d[ok], -1, ic_team[ok]))
    # community beds
    bsel = ok & isbed
    _occupy(
        agg,
        2,
        d[bsel],
        np.minimum(np.minimum(d[bsel] + bed_los[bsel], res_hi[w[bsel]]), end + 1),
        start,
    )
    who_l, day_l, team_l = [], [], []
    for w_, d_, t_, extra in parts:
        who_l.append(w_)
        day_l.append(d_)
        team_l.append(np.full(len(w_), t_, dtype=np.int64) if t_ >= 0 else extra)
    cw = np.concatenate(who_l)
    cd = np.concatenate(day_l)
    ct = np.concatenate(team_l)
    # contact type by team
    u = rng.random(len(cw))
    home_p = np.array([0.85, 0.7, 0.2, 0.1, 0.5, 0.0, 0.05, 0.9, 0.85, 0.0])[ct]
    clinic_p = np.array([0.0, 0.0, 0.65, 0.9, 0.45, 0.0, 0.85, 0.0, 0.0, 0.0])[ct]
    ctype = np.where(
        u < home_p,
        0,
        np.where(
            u < home_p + clinic_p,
            1,
            np.where(ct == 5, 2, np.where(rng.random(len(cw)) < 0.8, 3, 4)),
        ),
    )
    ctype = np.where(ct == 9, 5, ctype)
    ctype = np.where(ct == 5, 2, ctype)
    value = np.array([65, 50, 60, 30, 30, 0])[ctype] * 100
    _add_value(agg, "R9C", cd, value, start, months)
    src = np.full(len(cw), fp.source_index(fp.community_code))
    return Rows(
        "csds",
        cw,
        src,
        cd,
        cd,
        {
            "contact_date": Col("date", cd),
            "team_type": Col("cat", ct, _TEAMS),
            "contact_type": Col("cat", ctype.astype(np.int64), _CONTACT_TYPES),
        },
    )


_MH_SERVICES = (
    "talking_therapies",
    "community_mental_health",
    "early_intervention_psychosis",
    "crisis_home_treatment",
    "adult_acute_inpatient",
    "older_adult_inpatient",
    "memory_assessment",
    "camhs",
)


def _mental_health(
    pop: Population,
    health: Health,
    fp: Footprint,
    ctx: Context,
    rng: np.random.Generator,
    agg: Aggregates,
    months: int,
) -> Rows:
    end, start = ctx.end, ctx.start
    res_lo, res_hi = _residence(pop, health, end)
    ws, ds, ss = [], [], []
    for y in range(5):
        t0, t1 = int(ctx.bounds[y]), min(int(ctx.bounds[y + 1]), end + 1)
        lo = np.maximum(res_lo, t0)
        hi = np.minimum(res_hi, t1)
        age = (lo - pop.dob) / YEAR
        act = health.onset <= lo[:, None]
        smi = act[:, CI["smi"]]
        depr = act[:, CI["depression"]] & (age >= 16)
        recent_smi = smi & (health.onset[:, CI["smi"]] > lo - 3 * 365)
        specs = (
            (0, np.where(depr, 0.12, 0.0), 5.0, 120),
            (1, np.where(smi, 0.7, 0.0), 8.0, 330),
            (2, np.where(recent_smi, 0.9, 0.0), 12.0, 330),
            (3, np.where(smi, 0.06, np.where(depr, 0.01, 0.0)), 6.0, 21),
            (4, np.where(smi, 0.05, np.where(depr, 0.003, 0.0)), -1.0, 0),
            (5, np.where(act[:, CI["dementia"]] & (age >= 65), 0.01, 0.0), -1.0, 0),
            (7, np.where((age >= 5) & (age < 18), 0.025, 0.0), 5.0, 150),
        )
        for svc, prob, mean_c, spread in specs:
            if mean_c < 0:  # one admission row
                ep = (hi > lo) & (rng.random(pop.n) < prob)
                w = np.flatnonzero(ep)
                d = lo[w] + (rng.random(len(w)) * (hi[w] - lo[w])).astype(np.int64)
            else:
                w, d = _episodes(rng, np.asarray(prob, dtype=np.float64), mean_c, lo, hi, spread)
            ok = (d < res_hi[w]) & (d <= end)
            ws.append(w[ok])
            ds.append(d[ok])
            ss.append(np.full(int(ok.sum()), svc, dtype=np.int64))
    # memory assessment before a dementia diagnosis is coded
    dc = health.coded[:, CI["dementia"]]
    mem = np.flatnonzero((dc >= start) & (dc <= end) & (rng.random(pop.n) < 0.7))
    for lag in (90, 30):
        d = dc[mem] - lag + rng.integers(-10, 10, size=len(mem))
        ok = (d >= res_lo[mem]) & (d < res_hi[mem])
        ws.append(mem[ok])
        ds.append(d[ok])
        ss.append(np.full(int(ok.sum()), 6, dtype=np.int64))
    mw = np.concatenate(ws)
    md = np.concatenate(ds)
    msvc = np.concatenate(ss)
    inpatient = (msvc == 4) | (msvc == 5)
    out_area = inpatient & (rng.random(len(mw)) < 0.18)
    los = np.where(inpatient, 3 + rng.exponential(32, len(mw)).astype(np.int64), 0)
    ip = np.flatnonzero(inpatient & ~out_area)
    _occupy(
        agg, 3, md[ip], np.minimum(np.minimum(md[ip] + los[ip], res_hi[mw[ip]]), end + 1), start
    )
    value = np.where(inpatient, 450 * los, 150) * 100
    _add_value(agg, "R9D", md, value, start, months)
    src = np.full(len(mw), fp.source_index(fp.mental_health_code))
    return Rows(
        "mhsds",
        mw,
        src,
        md,
        md,
        {
            "contact_date": Col("date", md),
            "service_type": Col("cat", msvc, _MH_SERVICES),
            "inpatient": Col("cat", inpatient.astype(np.int64), ("N", "Y")),
            "out_of_area": Col("cat", out_area.astype(np.int64), ("N", "Y")),
        },
    )


_ASC_SERVICES = (
    "home_care",
    "residential_care",
    "nursing_care",
    "day_care",
    "direct_payment",
    "equipment",
    "carer_support",
    "reablement",
)
_ASC_WEEKLY = np.array([340.0, 900.0, 1150.0, 150.0, 320.0, 0.0, 0.0, 380.0])
_ASC_MEAN_DAYS = np.array([400, 100_000, 100_000, 300, 500, 0, 180, 35])


def _social_care(
    pop: Population,
    health: Health,
    fp: Footprint,
    ctx: Context,
    rng: np.random.Generator,
    agg: Aggregates,
    months: int,
    discharged: I64,
    discharge_day: I64,
) -> Rows:
    end, start = ctx.end, ctx.start
    res_lo, res_hi = _residence(pop, health, end)

    def asc_rate(y: int, day: I64) -> F64:
        a = (day - pop.dob) / YEAR
        dep = deprivation(fp, pop.area_at(day))
        frail = frailty_at(pop, health.onset, health.frailty_z, day, dep)
        dem = health.onset[:, CI["dementia"]] <= day
        x = (
            -5.9
            + 9.0 * frail
            + 0.035 * np.maximum(a - 65, 0)
            + 0.9 * dem
            + 0.7 * health.isolation
            + 0.4 * pop.lives_alone
        )
        return np.asarray(np.where((a >= 18) & ~pop.care_home, 1 / (1 + np.exp(-x)), 0.0))

    rw, rday, _ry = _yearly_events(rng, ctx, res_lo, res_hi, asc_rate)
    r_age = (rday - pop.dob[rw]) / YEAR
    dep = deprivation(fp, pop.area_of(rw, rday)) if len(rw) else np.zeros(0)
    frail = frailty_at(pop, health.onset[rw], health.frailty_z[rw], rday, dep, rw)
    w_home = np.full(len(rw), 0.42)
    w_res = np.where(frail >= 0.36, 0.12, 0.02)
    w_nur = np.where(frail >= 0.36, 0.08, 0.01)
    w_day = np.full(len(rw), 0.07)
    w_dp = np.where(r_age < 65, 0.2, 0.08)
    w_eq = np.full(len(rw), 0.14)
    w_car = np.full(len(rw), 0.06)
    wm = np.stack([w_home, w_res, w_nur, w_day, w_dp, w_eq, w_car], axis=1)
    cum = np.cumsum(wm, axis=1)
    svc = np.minimum((cum < (rng.random(len(rw)) * cum[:, -1])[:, None]).sum(axis=1), 6)
    # reablement after emergency discharges of people aged 65+
    age_d = (discharge_day - pop.dob[discharged]) / YEAR
    re = (age_d >= 65) & (rng.random(len(discharged)) < 0.05) & ~pop.care_home[discharged]
    # care-home residents already funded before the window (or on arrival)
    ch = np.flatnonzero(pop.care_home & (res_hi > res_lo))
    ch_req = np.where(
        pop.entry[ch] > start,
        pop.entry[ch] - rng.integers(7, 60, len(ch)),
        start - rng.integers(30, 5 * 365, len(ch)),
    )
    ch_svc = np.where(rng.random(len(ch)) < 0.65, 1, 2)
    a_who = np.concatenate([rw, discharged[re], ch])
    a_req = np.concatenate([rday, discharge_day[re], ch_req])
    a_svc = np.concatenate([svc, np.full(int(re.sum()), 7), ch_svc]).astype(np.int64)
    n = len(a_who)
    group = np.concatenate(
        [
            np.zeros(len(rw), dtype=np.int64),
            np.ones(int(re.sum()), dtype=np.int64),
            np.full(len(ch), 2, dtype=np.int64),
        ]
    )
    wait = np.where(
        group == 0, rng.exponential(21, n).astype(np.int64), np.where(group == 1, 0, 28)
    )
    provided = (group > 0) | (rng.random(n) < 0.75)
    a_start = np.where(provided, a_req + wait, FAR)
    dur = np.where(
        _ASC_MEAN_DAYS[a_svc] >= 100_000,
        FAR,
        rng.exponential(np.maximum(_ASC_MEAN_DAYS[a_svc], 1)).astype(np.int64),
    )
    dur = np.where(a_svc == 7, np.minimum(dur, 42), dur)
    dur = np.where(a_svc == 5, 0, dur)
    a_end = np.where(dur >= FAR, FAR, a_start + dur)
    stop = np.minimum(pop.leave[a_who] - 1, health.death[a_who])  # FAR-1 if neither
    a_end = np.minimum(a_end, stop)
    a_end = np.where(a_end > end, FAR, a_end)
    a_end = np.where(a_start >= FAR, FAR, a_end)
    a_start = np.where(a_start > end, FAR, a_start)
    a_end = np.where(a_start >= FAR, FAR, a_end)
    keep = (a_req <= end) & (a_req < res_hi[a_who]) & ((a_start >= FAR) | (a_start < res_hi[a_who]))
    idx = np.flatnonzero(keep)
    a_who, a_req, a_svc, a_start, a_end = (
        a_who[idx],
        a_req[idx],
        a_svc[idx],
        a_start[idx],
        a_end[idx],
    )
    weekly = _ASC_WEEKLY[a_svc] * rng.lognormal(0, 0.2, len(a_who))
    weekly_p = np.where(
        (a_start >= FAR) | (_ASC_WEEKLY[a_svc] == 0), NULL, np.rint(weekly * 100).astype(np.int64)
    )
    # local authority from where the person lives when asking
    place = fp.area_place[np.where(a_req >= pop.move[a_who], pop.area1[a_who], pop.area0[a_who])]
    la = fp.place_la[place]
    src = np.array([fp.source_index(c) for c in fp.la_codes])[la]
    # spend by month (weekly cost spread over the days the service runs)
    for la_i, la_code in enumerate(fp.la_codes):
        sel = np.flatnonzero((la == la_i) & (weekly_p != NULL))
        if not len(sel):
            continue
        s0 = np.maximum(a_start[sel], start)
        s1 = np.minimum(np.where(a_end[sel] >= FAR, end, a_end[sel]), end) + 1
        daily = weekly_p[sel] / 7.0
        total = np.zeros(months, dtype=np.float64)
        month_edges = _month_edges(start, months)
        for m in range(months):
            ov = np.clip(
                np.minimum(s1, month_edges[m + 1]) - np.maximum(s0, month_edges[m]), 0, None
            )
            total[m] = float((ov * daily).sum())
        agg.value[la_code] = agg.value.get(la_code, np.zeros(months, dtype=np.int64)) + np.rint(
            total
        ).astype(np.int64)
    return Rows(
        "asc",
        a_who,
        src,
        a_req,
        np.minimum(np.where(a_end >= FAR, end, a_end), end),
        {
            "request_date": Col("date", a_req),
            "service_type": Col("cat", a_svc, _ASC_SERVICES),
            "start_date": Col("date", a_start),
            "end_date": Col("date", a_end),
            "weekly_cost": Col("money", weekly_p),
        },
    )


def _month_edges(start: int, months: int) -> I64:
    first = np.array([start]).astype("datetime64[D]").astype("datetime64[M]")[0]
    edges = (first + np.arange(months + 1)).astype("datetime64[D]").astype(np.int64)
    return np.asarray(edges, dtype=np.int64)


def _deaths(pop: Population, health: Health, fp: Footprint, ctx: Context) -> Rows:
    dead = np.flatnonzero(health.death <= ctx.end)
    cause = [health.death_cause[i] for i in dead.tolist()]
    cu, ci = np.unique(np.array([*cause, "I21.9"], dtype=object).astype(str), return_inverse=True)
    src = np.full(len(dead), fp.source_index("X26"))
    d = health.death[dead]
    return Rows(
        "deaths",
        dead,
        src,
        d,
        d,
        {
            "date_of_death": Col("date", d),
            "underlying_cause": Col("cat", ci.ravel()[:-1].astype(np.int64), tuple(cu.tolist())),
        },
    )


def generate_activity(
    pop: Population,
    health: Health,
    regs: Registrations,
    fp: Footprint,
    ctx: Context,
    rngs: list[np.random.Generator],
    months: int,
) -> tuple[list[Rows], Aggregates]:
    """All patient-level rows for one chunk, in dataset order, plus return aggregates."""
    agg = Aggregates(days=ctx.end - ctx.start + 1)
    patients, events = _gp(pop, health, regs, fp, ctx, rngs[0])
    apc, ecds, opa, discharged, dis_day = _acute(pop, health, fp, ctx, rngs[1], agg, months)
    csds = _community(pop, health, fp, ctx, rngs[2], agg, months, discharged, dis_day)
    mhsds = _mental_health(pop, health, fp, ctx, rngs[3], agg, months)
    asc = _social_care(pop, health, fp, ctx, rngs[4], agg, months, discharged, dis_day)
    deaths = _deaths(pop, health, fp, ctx)
    return [patients, events, apc, ecds, opa, csds, mhsds, asc, deaths], agg
