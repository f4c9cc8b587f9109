"""Population, households, names, addresses, moves and GP registrations.

Generating process (per chunk of people, all vectorised):

1. *Families.* Sibling groups are drawn first (1-4 children; the youngest is aged -5 to
   17 at the start date, so some are born during the five years; gaps between siblings
   are 1 + Gamma(2, 1) years, or 0 for twins). Everyone else is an adult whose age is
   drawn from the England 2021 age pyramid (18 and over).
2. *Parents* are matched to sibling groups by age (mother's age at the eldest's birth
   ~ N(29.5, 5.5)); 22% of families have a lone parent. Matching is by rank: targets and
   candidates are sorted and paired, so the adult age pyramid is kept.
3. *Couples* form among the remaining adults with an age- and sex-dependent probability
   (women are more often widowed at older ages); the rest live alone, share a house
   (some 18-29s) or live in a care home (some 75+; about 35 residents per home).
4. *Place.* Each household lives in a small area drawn by population weight; the area
   fixes deprivation, ethnic mix and postcode sector. Names follow the household's
   origin (from ethnicity), sex and birth cohort; partners often share a surname,
   children take a parent's.
5. *Change over time.* Households arrive (8%) and leave (8%) during the five years and
   move address within the footprint at ``household_move`` a year; some couples marry
   and one partner takes the other's surname (``surname_change``). Registrations follow:
   registered at a practice near home, re-registered after a move to another
   neighbourhood, deregistered some weeks after leaving or dying.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wholesystem.synth import codes, names
from wholesystem.synth.config import SynthConfig
from wholesystem.synth.footprint_gen import Footprint

__all__ = ["FAR", "HH_TYPES", "Population", "Registrations", "build_population", "registrations"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

FAR = 100_000_000
"""A day number meaning 'never' (far beyond any end date)."""
YEAR = 365.25
HH_TYPES = ("family", "couple", "single", "shared", "care_home")

# England 2021 population by five-year band (per cent), 0-4 ... 85-89, 90+.
_PYRAMID = np.array(
    [5.4, 6.0, 6.0, 5.6, 6.0, 6.7, 6.9, 6.6, 6.3, 6.4, 6.9, 6.7, 5.8, 5.0, 5.0, 3.6, 2.5, 1.5, 0.9]
)
_LETTERS = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))


@dataclass
class Population:
    n: int
    pid: I64
    hh: I64
    """Global household number."""
    hh_type: I64
    dob: I64
    sex: I64
    """0 female, 1 male."""
    eth: I64
    origin: I64
    given: I64
    family: I64
    family_prev: I64
    family_changed: I64
    twin: B
    entry: I64
    leave: I64
    """First day not resident because the household moved away (FAR if it did not)."""
    move: I64
    area0: I64
    area1: I64
    unit0: I64
    unit1: I64
    practice0: I64
    practice1: I64
    registered: B
    nhs: I64
    relative: I64
    care_home: B
    lives_alone: B
    mother: I64
    smoker: I64
    """0 never, 1 ex, 2 current."""

    def area_at(self, day: I64) -> I64:
        """Area of every person on ``day`` (one day per person)."""
        return np.where(day >= self.move, self.area1, self.area0)

    def area_of(self, who: I64, day: I64) -> I64:
        """Area of persons ``who`` on the matching ``day``."""
        return np.where(day >= self.move[who], self.area1[who], self.area0[who])


@dataclass
class Registrations:
    """GP registrations: one row per (person, practice) spell."""

    person: I64
    practice: I64
    start: I64
    end: I64
    """Deregistration date, FAR if still registered at the extract date."""


def _pyramid_ages(rng: np.random.Generator, size: int, min_age: float) -> F64:
    lo = np.arange(len(_PYRAMID)) * 5.0
    hi = lo + 5.0
    hi[-1] = 104.0
    weight = _PYRAMID * np.clip((hi - min_age) / (hi - lo), 0.0, 1.0)
    band = rng.choice(len(_PYRAMID), size=size, p=weight / weight.sum())
    start = np.maximum(lo[band], min_age)
    span = hi[band] - start
    u = rng.random(size)
    # inside 90+, ages thin out: use a skew toward the lower end
    u = np.where(band == len(_PYRAMID) - 1, u**2.2, u)
    return np.asarray(start + u * span, dtype=np.float64)


def _match(targets: F64, pool_ages: F64) -> I64:
    """Rank-match each target age to a distinct member of the pool (indices into pool)."""
    m = len(targets)
    k = len(pool_ages)
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    if m > k:
        raise AssertionError("more targets than candidates")
    order_t = np.argsort(targets, kind="stable")
    order_p = np.argsort(pool_ages, kind="stable")
    sorted_pool = pool_ages[order_p]
    j = np.searchsorted(sorted_pool, targets[order_t])
    rank = np.arange(m)
    j = np.maximum.accumulate(j - rank) + rank  # strictly increasing
    j = np.minimum(j, k - m + rank)  # room for the rest
    j = np.maximum.accumulate(j - rank) + rank
    out = np.empty(m, dtype=np.int64)
    out[order_t] = order_p[j]
    return out


def build_population(
    rng: np.random.Generator,
    n: int,
    person_offset: int,
    household_offset: int,
    fp: Footprint,
    config: SynthConfig,
    start: int,
    end: int,
    nhs_numbers: I64,
) -> Population:
    """``n`` people living in households across the footprint."""
    noise = config.identity_noise
    # ---- 1. sibling groups -------------------------------------------------------------
    n_families = int(n * 0.152) if n >= 12 else 0
    kids_per = rng.choice(np.array([1, 2, 3, 4]), size=n_families, p=[0.42, 0.40, 0.13, 0.05])
    total_kids = int(kids_per.sum())
    while total_kids > n // 3 and n_families > 0:  # only bites for tiny n
        n_families -= 1
        kids_per = kids_per[:n_families]
        total_kids = int(kids_per.sum())
    fam_of_kid = np.repeat(np.arange(n_families), kids_per)
    first_kid = np.concatenate([[0], np.cumsum(kids_per)[:-1]]).astype(np.int64)
    pos_in_fam = np.arange(total_kids) - first_kid[fam_of_kid]
    twin_gap = (rng.random(total_kids) < 0.02) & (pos_in_fam > 0)
    gaps = np.where(twin_gap, 0.0, 1.0 + rng.gamma(2.0, 1.0, size=total_kids))
    gaps[pos_in_fam == 0] = 0.0
    cs = np.cumsum(gaps)
    cum_gap = cs - cs[first_kid][fam_of_kid] if total_kids else gaps
    span = np.maximum.reduceat(cum_gap, first_kid) if total_kids else np.zeros(n_families)
    youngest = rng.uniform(-4.99, 18.0, size=n_families)
    youngest = np.minimum(youngest, 22.0 - span)
    kid_age = youngest[fam_of_kid] + cum_gap  # position 0 is the youngest
    second_twin = np.flatnonzero(twin_gap)
    twin = np.zeros(n, dtype=bool)
    twin[second_twin] = True
    twin[second_twin - 1] = True
    # kids occupy indices [0, total_kids); adults follow
    n_adults = n - total_kids
    adult_age = _pyramid_ages(rng, n_adults, 18.0)
    age = np.concatenate([kid_age, adult_age])
    sex = np.empty(n, dtype=np.int64)
    female_p = np.where(age < 60, 0.49, np.where(age < 80, 0.53, np.where(age < 90, 0.6, 0.7)))
    sex[:] = (rng.random(n) >= female_p).astype(np.int64)
    same = rng.random(len(second_twin)) < 0.6  # twins: 60% same sex
    sex[second_twin[same]] = sex[second_twin[same] - 1]

    # ---- 2. parents --------------------------------------------------------------------
    adults = np.arange(total_kids, n)
    a_age = age[adults]
    a_sex = sex[adults]
    available = np.ones(n_adults, dtype=bool)
    eldest_age = youngest + span
    lone = rng.random(n_families) < 0.22
    lone_father = lone & (rng.random(n_families) < 0.1)
    mother_target = eldest_age + np.clip(rng.normal(29.5, 5.5, n_families), 17.0, 44.0)
    father_target = mother_target + rng.normal(2.5, 3.5, n_families)
    mother = np.full(n_families, -1, dtype=np.int64)
    father = np.full(n_families, -1, dtype=np.int64)
    need_m = np.flatnonzero(~lone_father)
    need_f = np.flatnonzero(~lone | lone_father)
    for need, target, s, out in (
        (need_m, mother_target, 0, mother),
        (need_f, father_target, 1, father),
    ):
        pool = np.flatnonzero(available & (a_sex == s) & (a_age < 75))
        if len(need) > len(pool):
            need = need[: len(pool)]
        pick = pool[_match(target[need], a_age[pool])]
        out[need] = adults[pick]
        available[pick] = False
    # ---- 3. couples, singles, shares, care homes ----------------------------------------
    rest = np.flatnonzero(available)
    r_age = a_age[rest]
    r_sex = a_sex[rest]
    bands = np.array([18, 25, 35, 45, 55, 65, 75, 85, 200])
    p_f = np.array([0.2, 0.68, 0.8, 0.8, 0.78, 0.72, 0.5, 0.24])
    p_m = np.array([0.14, 0.62, 0.8, 0.82, 0.82, 0.82, 0.75, 0.58])
    b_idx = np.clip(np.searchsorted(bands, r_age, side="right") - 1, 0, len(p_f) - 1)
    partnered = rng.random(len(rest)) < np.where(r_sex == 0, p_f[b_idx], p_m[b_idx])
    w_idx = rest[partnered & (r_sex == 0)]
    m_idx = rest[partnered & (r_sex == 1)]
    w_key = a_age[w_idx] + rng.normal(0, 2.0, len(w_idx))
    m_key = a_age[m_idx] - 2.0 + rng.normal(0, 2.0, len(m_idx))
    pairs = min(len(w_idx), len(m_idx))
    # the surplus of one sex stays single, dropped at random across ages
    if len(w_idx) > pairs:
        keep = np.sort(rng.choice(len(w_idx), size=pairs, replace=False))
        w_idx, w_key = w_idx[keep], w_key[keep]
    if len(m_idx) > pairs:
        keep = np.sort(rng.choice(len(m_idx), size=pairs, replace=False))
        m_idx, m_key = m_idx[keep], m_key[keep]
    w_sorted = w_idx[np.argsort(w_key, kind="stable")]
    m_sorted = m_idx[np.argsort(m_key, kind="stable")]
    couple_w = adults[w_sorted]
    couple_m = adults[m_sorted]
    in_couple = np.zeros(n_adults, dtype=bool)
    in_couple[w_sorted] = True
    in_couple[m_sorted] = True
    singles = rest[~in_couple[rest]]
    s_age = a_age[singles]
    care_p = np.where(
        s_age >= 95, 0.45, np.where(s_age >= 85, 0.22, np.where(s_age >= 75, 0.06, 0.0))
    )
    care = rng.random(len(singles)) < care_p
    share = (~care) & (
        rng.random(len(singles)) < np.where(s_age < 30, 0.5, np.where(s_age < 40, 0.2, 0.0))
    )
    alone = ~care & ~share

    # ---- households --------------------------------------------------------------------
    hh = np.full(n, -1, dtype=np.int64)
    hh_type = np.zeros(n, dtype=np.int64)
    next_h = 0
    # families
    fam_h = np.arange(n_families) + next_h
    next_h += n_families
    hh[:total_kids] = fam_h[fam_of_kid]
    for parent in (mother, father):
        ok = parent >= 0
        hh[parent[ok]] = fam_h[ok]
    hh_type[hh >= 0] = 0
    # couples
    c_h = np.arange(pairs) + next_h
    next_h += pairs
    hh[couple_w] = c_h
    hh[couple_m] = c_h
    hh_type[couple_w] = 1
    hh_type[couple_m] = 1
    # alone
    alone_idx = adults[singles[alone]]
    hh[alone_idx] = np.arange(len(alone_idx)) + next_h
    hh_type[alone_idx] = 2
    next_h += len(alone_idx)
    # shared houses: groups of 2-4 in random order
    share_idx = adults[singles[share]]
    share_idx = share_idx[rng.permutation(len(share_idx))]
    if len(share_idx):
        sizes = rng.choice(np.array([2, 3, 4]), size=len(share_idx), p=[0.45, 0.35, 0.2])
        group = np.repeat(np.arange(len(sizes)), sizes)[: len(share_idx)]
        hh[share_idx] = group + next_h
        hh_type[share_idx] = 3
        next_h += int(group.max()) + 1
    # care homes: ~35 residents each
    care_idx = adults[singles[care]]
    care_idx = care_idx[rng.permutation(len(care_idx))]
    if len(care_idx):
        homes = max(1, round(len(care_idx) / 35))
        hh[care_idx] = rng.integers(0, homes, size=len(care_idx)) + next_h
        hh_type[care_idx] = 4
        next_h += homes
    assert (hh >= 0).all()
    # renumber households densely in order of first member
    _, first_pos, dense = np.unique(hh, return_index=True, return_inverse=True)
    order = np.argsort(first_pos, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    hh_local = rank[dense.ravel()]
    n_h = len(order)
    h_type = np.zeros(n_h, dtype=np.int64)
    h_type[hh_local] = hh_type
    h_size = np.bincount(hh_local, minlength=n_h)

    # ---- dates of birth --------------------------------------------------------------
    dob = (start - np.floor(age * YEAR)).astype(np.int64)
    dob[second_twin] = dob[second_twin - 1]
    dob = np.minimum(dob, end)  # no one is born after the end date
    # ---- place ----------------------------------------------------------------------
    area_p = fp.area_weight / fp.area_weight.sum()
    h_area0 = rng.choice(fp.n_areas, size=n_h, p=area_p)
    # a drawn unit becomes one of the area's own unit postcodes (no extra random draws)
    h_unit0 = fp.area_units(h_area0, rng.integers(0, len(_LETTERS) ** 2, size=n_h))
    # ethnicity from the area mix; the recorded code comes later
    minority = fp.area_minority[h_area0]
    mix_codes = list(codes.ETHNIC_MINORITY_MIX)
    mix_p = np.array([codes.ETHNIC_MINORITY_MIX[c] for c in mix_codes])
    mix_p = mix_p / mix_p.sum()
    is_min = rng.random(n_h) < minority
    h_eth = np.zeros(n_h, dtype=np.int64)  # "A"
    eth_index = {c: i for i, c in enumerate(codes.ETHNIC_CODES)}
    minor_codes = np.array([eth_index[c] for c in mix_codes])
    h_eth[is_min] = minor_codes[rng.choice(len(mix_codes), size=int(is_min.sum()), p=mix_p)]
    eth = h_eth[hh_local]
    # care-home residents and house-sharers have their own ethnicity
    indiv = (hh_type == 4) | (hh_type == 3)
    ind_min = indiv & (rng.random(n) < fp.area_minority[h_area0[hh_local]])
    eth = np.where(indiv, 0, eth)
    eth[ind_min] = minor_codes[rng.choice(len(mix_codes), size=int(ind_min.sum()), p=mix_p)]
    origin_of_eth = np.array(
        [names.ORIGINS.index(codes.ETHNIC_ORIGIN[c]) for c in codes.ETHNIC_CODES]
    )
    origin = origin_of_eth[eth]
    # white-other: 30% have British names
    brit = (eth == eth_index["C"]) & (rng.random(n) < 0.3)
    origin = np.where(brit, 0, origin)

    # ---- names ----------------------------------------------------------------------
    birth_year = 1970 + dob / YEAR
    cohort = np.searchsorted(np.array(names.COHORT_BOUNDS), birth_year, side="right")
    given = np.zeros(n, dtype=np.int64)
    for o_idx, o_name in enumerate(names.ORIGINS):
        for s_val, s_name in ((0, "F"), (1, "M")):
            for c_val in (0, 1, 2):
                sel = np.flatnonzero((origin == o_idx) & (sex == s_val) & (cohort == c_val))
                if len(sel):
                    given[sel] = names.given_table(o_name, s_name, c_val).draw(rng, len(sel))
    # twins: the second twin of a same-sex pair gets a similar (alphabetically next) name
    if len(second_twin):
        tw = second_twin[sex[second_twin] == sex[second_twin - 1]]
        for o_idx, o_name in enumerate(names.ORIGINS):
            for s_val, s_name in ((0, "F"), (1, "M")):
                for c_val in (0, 1, 2):
                    sel = tw[(origin[tw] == o_idx) & (sex[tw] == s_val) & (cohort[tw] == c_val)]
                    if len(sel):
                        table = names.given_table(o_name, s_name, c_val)
                        given[sel] = table.neighbour(given[sel - 1])
    # surnames: one draw per household for its "family name", one per person for own name
    h_origin = np.zeros(n_h, dtype=np.int64)
    h_origin[hh_local] = origin  # last member wins; fine for shared origins
    fam_name = np.zeros(n_h, dtype=np.int64)
    own = np.zeros(n, dtype=np.int64)
    for o_idx, o_name in enumerate(names.ORIGINS):
        sel_h = np.flatnonzero(h_origin == o_idx)
        if len(sel_h):
            fam_name[sel_h] = names.surname_table(o_name).draw(rng, len(sel_h))
        sel = np.flatnonzero(origin == o_idx)
        if len(sel):
            own[sel] = names.surname_table(o_name).draw(rng, len(sel))
    family = own.copy()
    hf = fam_name[hh_local]
    # families: father carries the household name; mother takes it with p 0.7; children
    # take the father's (85%) or mother's name; lone-parent families use the parent's name.
    two_parent = (mother >= 0) & (father >= 0)
    if n_families:
        fa = father[two_parent]
        family[fa] = hf[fa]
        mo = mother[two_parent]
        takes = rng.random(len(mo)) < 0.7
        family[mo[takes]] = hf[mo[takes]]
        lone_parent = np.where(mother >= 0, mother, father)[~two_parent]
        family[lone_parent] = hf[lone_parent]
        kid_f = fam_of_kid
        father_name = np.where(father >= 0, family[np.maximum(father, 0)], -1)
        mother_name = np.where(mother >= 0, family[np.maximum(mother, 0)], -1)
        mums_name = rng.random(n_families) < 0.15  # decided per family: siblings match
        use_mum = (father_name[kid_f] < 0) | ((mother_name[kid_f] >= 0) & mums_name[kid_f])
        family[:total_kids] = np.where(use_mum, mother_name[kid_f], father_name[kid_f])
    # couples
    if pairs:
        family[couple_m] = hf[couple_m]
        older = a_age[w_sorted] >= 60
        takes = rng.random(pairs) < np.where(older, 0.85, 0.62)
        family[couple_w[takes]] = family[couple_m[takes]]
    # marriages during the window: women in couples with a different surname
    family_prev = np.full(n, -1, dtype=np.int64)
    family_changed = np.full(n, FAR, dtype=np.int64)
    wives = np.concatenate([mother[two_parent], couple_w])
    husbands = np.concatenate([father[two_parent], couple_m])
    differ = family[wives] != family[husbands]
    marry = differ & (rng.random(len(wives)) < noise.surname_change)
    mw = wives[marry]
    family_prev[mw] = family[mw]
    family[mw] = family[husbands[marry]]
    family_changed[mw] = rng.integers(start + 30, end - 30, size=len(mw)) if len(mw) else 0

    # ---- arrivals, departures, moves -----------------------------------------------
    window = end - start
    h_entry = np.full(n_h, start, dtype=np.int64)
    arrive = (rng.random(n_h) < 0.08) & (h_type != 4)
    h_entry[arrive] = start + rng.integers(1, window, size=int(arrive.sum()))
    h_leave = np.full(n_h, FAR, dtype=np.int64)
    depart = (rng.random(n_h) < 0.08) & (h_type != 4)
    lo = h_entry[depart] + 30
    h_leave[depart] = lo + (rng.random(int(depart.sum())) * np.maximum(end - lo, 1)).astype(
        np.int64
    )
    h_leave[h_leave > end] = FAR
    resident_years = (np.minimum(h_leave, end) - h_entry) / YEAR
    p_move = 1.0 - (1.0 - noise.household_move) ** np.maximum(resident_years, 0.0)
    moves = (rng.random(n_h) < p_move) & (h_type != 4) & (resident_years > 0.2)
    h_move = np.full(n_h, FAR, dtype=np.int64)
    m_lo = h_entry[moves] + 30
    m_hi = np.minimum(h_leave[moves], end) - 1
    h_move[moves] = m_lo + (rng.random(int(moves.sum())) * np.maximum(m_hi - m_lo, 1)).astype(
        np.int64
    )
    h_move = np.where(h_move > end, FAR, h_move)
    moves = h_move < FAR
    h_area1 = h_area0.copy()
    local_move = rng.random(n_h) < 0.6
    # a new area: 60% in the same neighbourhood, otherwise anywhere
    any_area = rng.choice(fp.n_areas, size=n_h, p=area_p)
    hood_of = fp.area_hood
    hood_counts = np.bincount(hood_of, minlength=len(fp.hood_codes))
    hood_start = np.concatenate([[0], np.cumsum(hood_counts)[:-1]])
    by_hood = np.argsort(hood_of, kind="stable")
    same_hood_pick = by_hood[
        hood_start[hood_of[h_area0]]
        + (rng.random(n_h) * hood_counts[hood_of[h_area0]]).astype(np.int64)
    ]
    h_area1[moves] = np.where(local_move, same_hood_pick, any_area)[moves]
    h_unit1 = np.where(
        moves, fp.area_units(h_area1, rng.integers(0, len(_LETTERS) ** 2, size=n_h)), h_unit0
    )

    # practices: the area's own practice (80%) or another in the same neighbourhood
    prac_of_area = fp.area_practice
    p_counts = np.bincount(fp.practice_hood, minlength=len(fp.hood_codes))
    p_start = np.concatenate([[0], np.cumsum(p_counts)[:-1]])
    p_by_hood = np.argsort(fp.practice_hood, kind="stable")

    def choose_practice(area: I64) -> I64:
        hood = hood_of[area]
        other = p_by_hood[p_start[hood] + (rng.random(len(area)) * p_counts[hood]).astype(np.int64)]
        return np.where(rng.random(len(area)) < 0.8, prac_of_area[area], other)

    h_prac0 = choose_practice(h_area0)
    h_prac1_choice = choose_practice(h_area1)
    changed_hood = hood_of[h_area1] != hood_of[h_area0]
    switch = moves & np.where(changed_hood, rng.random(n_h) < 0.85, rng.random(n_h) < 0.15)
    h_prac1 = np.where(switch, h_prac1_choice, h_prac0)

    # ---- per-person fields -------------------------------------------------------------
    entry = np.maximum(h_entry[hh_local], dob)
    # care-home residents: 30% admitted during the window
    ch = hh_type == 4
    late = ch & (rng.random(n) < 0.3)
    entry = np.where(late, start + rng.integers(1, window, size=n), entry)
    practice0 = h_prac0[hh_local]
    indiv_prac = rng.random(n) < 0.05  # a few people choose a different practice
    practice0 = np.where(indiv_prac & ~ch, choose_practice(h_area0[hh_local]), practice0)
    practice1 = np.where(switch[hh_local], h_prac1[hh_local], practice0)
    young_man = (sex == 1) & (age >= 18) & (age < 36)
    registered = rng.random(n) >= np.where(young_man, 0.025, 0.004)
    # relatives: the next member of the same household (not in care homes)
    by_h = np.argsort(hh_local, kind="stable")
    first = np.concatenate([[0], np.cumsum(h_size)[:-1]])
    pos = np.empty(n, dtype=np.int64)
    pos[by_h] = np.arange(n) - first[hh_local[by_h]]
    nxt_pos = (pos + 1) % h_size[hh_local]
    relative = by_h[first[hh_local] + nxt_pos]
    relative = np.where((h_size[hh_local] > 1) & ~ch, relative, -1)
    mother_of = np.full(n, -1, dtype=np.int64)
    if total_kids:
        mother_of[:total_kids] = mother[fam_of_kid]
    lives_alone = hh_type == 2
    # smoking: current smokers more common in deprived areas and middle age
    dep = (5.5 - fp.area_decile[h_area0[hh_local]]) / 4.5
    p_current = 1 / (1 + np.exp(-(-1.9 + 0.75 * dep - 0.012 * np.abs(age - 40))))
    p_ex = np.clip(0.08 + 0.006 * np.maximum(age - 25, 0), 0, 0.5)
    u = rng.random(n)
    smoker = np.where(age < 16, 0, np.where(u < p_current, 2, np.where(u < p_current + p_ex, 1, 0)))

    # shuffle person order so households are not contiguous by type, keeping determinism
    perm = rng.permutation(n)
    inv = np.empty(n, dtype=np.int64)
    inv[perm] = np.arange(n)

    def remap(idx: I64) -> I64:
        return np.where(idx >= 0, inv[np.maximum(idx, 0)], -1)

    return Population(
        n=n,
        pid=person_offset + np.arange(n, dtype=np.int64),
        hh=(household_offset + hh_local)[perm],
        hh_type=hh_type[perm],
        dob=dob[perm],
        sex=sex[perm],
        eth=eth[perm],
        origin=origin[perm],
        given=given[perm],
        family=family[perm],
        family_prev=family_prev[perm],
        family_changed=family_changed[perm],
        twin=twin[perm],
        entry=entry[perm],
        leave=h_leave[hh_local][perm],
        move=h_move[hh_local][perm],
        area0=h_area0[hh_local][perm],
        area1=h_area1[hh_local][perm],
        unit0=h_unit0[hh_local][perm],
        unit1=h_unit1[hh_local][perm],
        practice0=practice0[perm],
        practice1=practice1[perm],
        registered=registered[perm],
        nhs=nhs_numbers,
        relative=remap(relative[perm]),
        care_home=ch[perm],
        lives_alone=lives_alone[perm],
        mother=remap(mother_of[perm]),
        smoker=smoker[perm].astype(np.int64),
    )


def unit_letters() -> list[str]:
    """The two-letter inward-code endings, indexed by unit number."""
    return [a + b for a in _LETTERS.tolist() for b in _LETTERS.tolist()]


def registrations(
    pop: Population, death: I64, start: int, end: int, rng: np.random.Generator
) -> Registrations:
    """GP registration spells given who died when."""
    n = pop.n
    born_here = (pop.dob >= start) & (pop.entry == pop.dob)
    arrived = (pop.entry > start) & ~born_here
    start_reg = np.where(
        born_here,
        pop.dob + rng.integers(7, 43, size=n),
        np.where(
            arrived,
            pop.entry + 1 + rng.exponential(30.0, size=n).astype(np.int64),
            np.maximum(
                pop.entry - (rng.exponential(10.0, size=n) * YEAR).astype(np.int64), pop.dob + 7
            ),
        ),
    )
    gone = np.minimum(pop.leave, death)
    notify = np.where(
        death <= pop.leave, rng.integers(1, 22, size=n), rng.integers(14, 121, size=n)
    )
    dereg = np.where(gone < FAR, gone + notify, FAR)
    dereg = np.where(dereg > end, FAR, dereg)
    switch = pop.practice1 != pop.practice0
    switch_day = pop.move + rng.integers(0, 61, size=n)
    switch = switch & (switch_day <= end) & (switch_day < gone) & (switch_day > start_reg)
    ok = pop.registered & (start_reg <= end) & (start_reg < gone)
    first_end = np.where(switch, switch_day, dereg)
    persons = [np.flatnonzero(ok)]
    practices = [pop.practice0[ok]]
    starts = [start_reg[ok]]
    ends = [first_end[ok]]
    second = ok & switch
    persons.append(np.flatnonzero(second))
    practices.append(pop.practice1[second])
    starts.append(switch_day[second])
    ends.append(dereg[second])
    return Registrations(
        person=np.concatenate(persons).astype(np.int64),
        practice=np.concatenate(practices).astype(np.int64),
        start=np.concatenate(starts).astype(np.int64),
        end=np.concatenate(ends).astype(np.int64),
    )
