"""Each source's own, imperfect version of a person's demographics.

A *source record* is what one organisation holds about one person (a practice's
registration, a trust's patient master index entry, a council's client record). For
every source record the generator decides, independently:

* which surname and postcode the source knows: the ones current at the source's last
  contact with the person; if the person moved or changed surname *between* the
  source's first and last contact, the source still holds the old value with
  probability ``stale_after_change``;
* NHS number: blank, wrong check digit, someone else's (a household member's for
  ``nhs_wrong_relative_share`` of them), or right; written with spaces sometimes;
* names: nickname, typing errors (given and family name independently), upper case;
* date of birth: day and month swapped, or off by one day / year;
* sex blank; postcode blank, without its space or in lower case;
* a second, duplicate record (new local id, independently noised, errors more likely)
  which some of the person's rows at that source are filed under.

All rates are :class:`~wholesystem.synth.config.IdentityNoise` base rates times the
source kind's multiplier times ``noise_scale``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from wholesystem.synth import names, nhs
from wholesystem.synth.activity import Rows
from wholesystem.synth.columns import cat_array, date_array, id_array
from wholesystem.synth.config import SynthConfig, effective_rate
from wholesystem.synth.footprint_gen import LOCAL_ID_MODULUS, Footprint
from wholesystem.synth.people import Population, unit_letters

__all__ = ["IDENTITY_COLUMNS", "Identities", "build_identities"]

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

IDENTITY_COLUMNS = (
    "nhs_number",
    "local_patient_id",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "postcode",
)
DUPLICATE_BOOST = 3.0
"""Duplicate records are made in a hurry: these error rates are this many times higher."""
BOOSTED = frozenset({"nhs_missing", "name_typo", "dob_typo", "postcode_missing"})


@dataclass
class Identities:
    """Source records (including duplicates) and, per row, which record it is filed under."""

    person: I64
    source: I64
    slot: I64
    local_number: I64
    columns: dict[str, pa.Array]
    nhs_status: I64
    """0 right, 1 blank, 2 invalid, 3 someone else's."""
    row_record: list[I64]
    """Per dataset (same order as the rows given), the record index of each row."""
    gp_dup_rows: I64
    """gp_patients rows whose record has a duplicate: each is written twice."""
    gp_dup_records: I64
    """The duplicate record for each of those rows."""


def _rates(config: SynthConfig, fp: Footprint, name: str) -> npt.NDArray[np.float64]:
    return np.array(
        [
            effective_rate(config.identity_noise, name, s.kind, config.noise_scale)
            for s in fp.sources
        ]
    )


def _area_prefixes(fp: Footprint) -> tuple[pa.Array, pa.Array]:
    spaced = [f"{o} {s}" for o, s in zip(fp.area_outward, fp.area_sector.tolist(), strict=True)]
    tight = [f"{o}{s}" for o, s in zip(fp.area_outward, fp.area_sector.tolist(), strict=True)]
    return pa.array(spaced, pa.string()), pa.array(tight, pa.string())


def postcode_strings(
    fp: Footprint, area: I64, unit: I64, no_space: B | None = None, lower: B | None = None
) -> pa.Array:
    spaced, tight = _area_prefixes(fp)
    units = pa.array(unit_letters(), pa.string())
    area_a = pa.array(area)
    head = spaced.take(area_a)
    if no_space is not None and no_space.any():
        head = pc.if_else(pa.array(no_space), tight.take(area_a), head)
    text = pc.binary_join_element_wise(head, units.take(pa.array(unit)), "")
    if lower is not None and lower.any():
        text = pc.if_else(pa.array(lower), pc.utf8_lower(text), text)
    return text


def _swap_day_month(days: I64) -> tuple[I64, B]:
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    month = (m - y.astype("datetime64[M]")).astype(np.int64) + 1
    day = (d - m.astype("datetime64[D]")).astype(np.int64) + 1
    ok = (day <= 12) & (day != month)
    new_month = np.where(ok, day, month)
    new_day = np.where(ok, month, day)
    swapped = (y.astype("datetime64[M]") + (new_month - 1)).astype("datetime64[D]") + (new_day - 1)
    return np.where(ok, swapped.astype(np.int64), days).astype(np.int64), ok


def build_identities(
    rows: list[Rows],
    pop: Population,
    fp: Footprint,
    config: SynthConfig,
    rng: np.random.Generator,
    end: int,
) -> Identities:
    n = pop.n
    # ---- source records: unique (source, person) over all rows --------------------------
    key = np.concatenate([r.source * n + r.person for r in rows])
    first = np.concatenate([r.first for r in rows])
    last = np.concatenate([r.last for r in rows])
    order = np.argsort(key, kind="stable")
    sk = key[order]
    boundary = np.concatenate([[True], sk[1:] != sk[:-1]]) if len(sk) else np.zeros(0, bool)
    starts = np.flatnonzero(boundary)
    rec_of_sorted = np.cumsum(boundary) - 1
    rec_of_row = np.empty(len(key), dtype=np.int64)
    rec_of_row[order] = rec_of_sorted
    rec_key = sk[starts]
    r_first = np.minimum.reduceat(first[order], starts) if len(starts) else starts
    r_last = np.maximum.reduceat(last[order], starts) if len(starts) else starts
    r_source = rec_key // n
    r_person = rec_key % n
    n_rec = len(rec_key)
    # ---- duplicates ---------------------------------------------------------------------
    dup_rate = _rates(config, fp, "duplicate_record")
    is_registry = np.array([s.kind == "registry" for s in fp.sources])
    has_dup = (rng.random(n_rec) < dup_rate[r_source]) & ~is_registry[r_source]
    dup_of = np.flatnonzero(has_dup)
    dup_index = np.full(n_rec, -1, dtype=np.int64)
    dup_index[dup_of] = n_rec + np.arange(len(dup_of))
    person = np.concatenate([r_person, r_person[dup_of]])
    source = np.concatenate([r_source, r_source[dup_of]])
    slot = np.concatenate([np.zeros(n_rec, dtype=np.int64), np.ones(len(dup_of), np.int64)])
    first_i = np.concatenate([r_first, r_first[dup_of]])
    last_i = np.concatenate([r_last, r_last[dup_of]])
    total = len(person)

    def draw(name: str) -> B:
        p = _rates(config, fp, name)[source]
        if name in BOOSTED:
            p = np.minimum(p * np.where(slot == 1, DUPLICATE_BOOST, 1.0), 1.0)
        return np.asarray(rng.random(total) < p)

    # ---- what the source knows -------------------------------------------------------
    stale_p = _rates(config, fp, "stale_after_change")[source]
    changed = pop.family_changed[person]
    fam_now = pop.family[person]
    fam_old = np.where(pop.family_prev[person] >= 0, pop.family_prev[person], fam_now)
    knows_new = (changed <= last_i) & ~((changed > first_i) & (rng.random(total) < stale_p))
    family = np.where(knows_new, fam_now, fam_old)
    moved = pop.move[person]
    knows_move = (moved <= last_i) & ~((moved > first_i) & (rng.random(total) < stale_p))
    area = np.where(knows_move, pop.area1[person], pop.area0[person])
    unit = np.where(knows_move, pop.unit1[person], pop.unit0[person])
    # ---- names ----------------------------------------------------------------------------
    given = pop.given[person]
    nick, has_nick = names.nickname_of(given, rng.random(total))
    use_nick = draw("nickname") & has_nick
    given = np.where(use_nick, nick, given)
    g_var = np.where(draw("name_typo"), rng.integers(1, names.TYPO_VARIANTS + 1, total), 0)
    f_var = np.where(draw("name_typo"), rng.integers(1, names.TYPO_VARIANTS + 1, total), 0)
    upper = draw("name_upper")
    g_form = names.GIVEN.form(given, g_var, upper)
    f_form = names.SURNAMES.form(family, f_var, upper)
    # ---- date of birth, sex --------------------------------------------------------------
    dob = pop.dob[person].copy()
    swapped, can_swap = _swap_day_month(dob)
    do_swap = draw("dob_day_month_swap") & can_swap
    dob = np.where(do_swap, swapped, dob)
    typo = draw("dob_typo") & ~do_swap
    shift = np.where(
        rng.random(total) < 0.6,
        rng.choice(np.array([-1, 1]), total),
        rng.choice(np.array([-365, 365, -366, 366]), total),
    )
    dob = np.where(typo, dob + shift, dob)
    dob = np.where(dob > end, pop.dob[person], dob)  # no one is recorded as born in future
    sex_missing = draw("sex_missing")
    sex_idx = np.where(sex_missing, -1, pop.sex[person])
    # ---- NHS number ----------------------------------------------------------------------
    missing = draw("nhs_missing")
    invalid = draw("nhs_invalid") & ~missing
    wrong = draw("nhs_wrong") & ~missing & ~invalid
    relative = pop.relative[person]
    share = config.identity_noise.nhs_wrong_relative_share
    use_rel = wrong & (relative >= 0) & (rng.random(total) < share)
    other = rng.integers(0, max(n - 1, 1), total)
    other = np.where(other >= person, other + 1, other) if n > 1 else person
    wrong_person = np.where(use_rel, relative, other)
    wrong = wrong & (wrong_person != person)
    number = pop.nhs[person]
    number = np.where(wrong, pop.nhs[np.where(wrong, wrong_person, 0)], number)
    number = np.where(invalid, nhs.invalidate(number, rng.integers(1, 10, total)), number)
    spaced = draw("nhs_spaced")
    status = np.where(missing, 1, np.where(invalid, 2, np.where(wrong, 3, 0)))
    # ---- postcode ------------------------------------------------------------------------
    pc_missing = draw("postcode_missing")
    no_space = draw("postcode_no_space")
    lower = draw("postcode_lower")
    postcode = postcode_strings(fp, area, unit, no_space, lower)
    if pc_missing.any():
        postcode = pc.if_else(pa.array(pc_missing), pa.scalar(None, pa.string()), postcode)
    # ---- local ids: an affine bijection of (person, slot) per source -----------------------
    a = np.array([s.id_a for s in fp.sources], dtype=np.int64)
    b = np.array([s.id_b for s in fp.sources], dtype=np.int64)
    gkey = pop.pid[person] * 2 + slot
    local = (a[source] * gkey + b[source]) % LOCAL_ID_MODULUS
    prefixes = tuple(s.id_prefix for s in fp.sources)
    digits = id_array("", local, 8)
    prefix = cat_array(source, prefixes)
    local_text = pc.binary_join_element_wise(prefix, digits, "")
    columns = {
        "nhs_number": nhs.format_numbers(number, spaced, missing),
        "local_patient_id": local_text,
        "given_name": names.GIVEN.strings.take(pa.array(g_form)),
        "family_name": names.SURNAMES.strings.take(pa.array(f_form)),
        "date_of_birth": date_array(dob),
        "sex": cat_array(sex_idx, ("F", "M")),
        "postcode": postcode,
    }
    # ---- rows -> records -------------------------------------------------------------------
    # a duplicate GP record is a second registration row; other rows are filed under
    # either record at random
    row_record: list[I64] = []
    gp_dup_rows = np.zeros(0, dtype=np.int64)
    gp_dup_records = np.zeros(0, dtype=np.int64)
    pos = 0
    for r in rows:
        rec = rec_of_row[pos : pos + len(r)]
        pos += len(r)
        d = dup_index[rec]
        if r.dataset == "gp_patients":
            row_record.append(rec)
            gp_dup_rows = np.flatnonzero(d >= 0)
            gp_dup_records = d[gp_dup_rows]
            continue
        use_dup = (d >= 0) & (rng.random(len(rec)) < 0.5)
        row_record.append(np.where(use_dup, d, rec))
    return Identities(
        person, source, slot, local, columns, status, row_record, gp_dup_rows, gp_dup_records
    )
