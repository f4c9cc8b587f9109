"""Ground truth: who everyone really is, what drives their health, and their real risk.

``truth/people.csv`` holds each person's true identity and latent drivers,
``truth/conditions.csv`` every condition's true onset and (if any) first GP coding,
``truth/risk.csv`` the probability each emergency admission count was drawn from, and
``truth/records.csv`` (built in :mod:`wholesystem.synth.extracts`) the true person behind
every patient-level record key.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from wholesystem.synth import codes, names
from wholesystem.synth.columns import cat_array, date_array, id_array, number_text
from wholesystem.synth.footprint_gen import Footprint
from wholesystem.synth.health import KEYS, Health, deprivation, frailty_at
from wholesystem.synth.identity import postcode_strings
from wholesystem.synth.people import FAR, HH_TYPES, Population, Registrations

__all__ = [
    "CONDITION_COLUMNS",
    "PEOPLE_COLUMNS",
    "RISK_COLUMNS",
    "conditions_table",
    "people_table",
    "person_ids",
    "risk_table",
]

I64 = npt.NDArray[np.int64]

PEOPLE_COLUMNS = (
    "person_id",
    "household_id",
    "household_type",
    "nhs_number",
    "given_name",
    "family_name",
    "previous_family_name",
    "family_name_changed_on",
    "date_of_birth",
    "sex",
    "ethnicity",
    "twin",
    "entered_on",
    "left_on",
    "left_reason",
    "date_of_death",
    "cause_of_death",
    "lsoa_code",
    "postcode",
    "previous_postcode",
    "moved_on",
    "place_code",
    "neighbourhood_code",
    "practice_code",
    "deprivation_decile",
    "smoking",
    "care_home",
    "lives_alone",
    "frailty",
    "frailty_category",
    "frailty_coded_by_practice",
    "isolation",
    "admission_propensity",
    "conditions",
    "coded_conditions",
)
CONDITION_COLUMNS = ("person_id", "condition", "onset_date", "coded_date")
RISK_COLUMNS = ("person_id", "year", "p_emergency_admission", "emergency_admissions")
FRAILTY_CATEGORIES = ("fit", "mild", "moderate", "severe")


def person_ids(pid: I64) -> pa.Array:
    return id_array("P", pid, 8)


def _yn(flag: npt.NDArray[np.bool_]) -> pa.Array:
    return cat_array(flag.astype(np.int64), ("N", "Y"))


def _condition_lists(mask: npt.NDArray[np.bool_]) -> pa.Array:
    bits = (mask.astype(np.int64) * (1 << np.arange(len(KEYS)))).sum(axis=1)
    uniq, inv = np.unique(bits, return_inverse=True)
    labels = tuple(
        "|".join(k for c, k in enumerate(KEYS) if int(m) >> c & 1) for m in uniq.tolist()
    )
    idx = inv.ravel().astype(np.int64)
    empty = np.array([lab == "" for lab in labels])
    return cat_array(np.where(empty[idx], -1, idx), labels)


def people_table(
    pop: Population, health: Health, regs: Registrations, fp: Footprint, end: int
) -> pa.Table:
    n = pop.n
    died = health.death <= end
    left = np.minimum(pop.leave, np.where(died, health.death, FAR))
    ref = np.minimum(np.where(left < FAR, left, end), end)  # state at exit or the end date
    area = pop.area_at(ref)
    moved = pop.move <= ref
    unit = np.where(moved, pop.unit1, pop.unit0)
    dep = deprivation(fp, area)
    frail = frailty_at(pop, health.onset, health.frailty_z, ref, dep)
    frail_cat = np.searchsorted(np.array([0.12, 0.24, 0.36]), frail, side="right")
    has = health.onset <= ref[:, None]
    coded = health.coded <= ref[:, None]
    # last practice each person was registered with
    practice = np.full(n, -1, dtype=np.int64)
    order = np.lexsort((regs.start, regs.person))
    practice[regs.person[order]] = regs.practice[order]
    reason = np.where(died, 1, np.where(pop.leave <= end, 2, 0))
    family_prev = np.where(pop.family_prev >= 0, pop.family_prev, 0)
    cols = {
        "person_id": person_ids(pop.pid),
        "household_id": id_array("H", pop.hh, 8),
        "household_type": cat_array(pop.hh_type, HH_TYPES),
        "nhs_number": pc.cast(pa.array(pop.nhs), pa.string()),
        "given_name": names.GIVEN.strings.take(
            pa.array(names.GIVEN.form(pop.given, np.zeros(n, np.int64), np.zeros(n, bool)))
        ),
        "family_name": names.SURNAMES.strings.take(
            pa.array(names.SURNAMES.form(pop.family, np.zeros(n, np.int64), np.zeros(n, bool)))
        ),
        "previous_family_name": pc.if_else(
            pa.array(pop.family_prev >= 0),
            names.SURNAMES.strings.take(
                pa.array(names.SURNAMES.form(family_prev, np.zeros(n, np.int64), np.zeros(n, bool)))
            ),
            pa.scalar(None, pa.string()),
        ),
        "family_name_changed_on": date_array(pop.family_changed),
        "date_of_birth": date_array(pop.dob),
        "sex": cat_array(pop.sex, ("F", "M")),
        "ethnicity": cat_array(pop.eth, codes.ETHNIC_CODES),
        "twin": _yn(pop.twin),
        "entered_on": date_array(pop.entry),
        "left_on": date_array(np.where(left <= end, left, FAR)),
        "left_reason": cat_array(reason - 1, ("died", "moved_away")),
        "date_of_death": date_array(np.where(died, health.death, FAR)),
        "cause_of_death": pa.array(
            [c if c else None for c in health.death_cause], type=pa.string()
        ),
        "lsoa_code": cat_array(area, fp.area_codes),
        "postcode": postcode_strings(fp, area, unit),
        "previous_postcode": pc.if_else(
            pa.array(moved),
            postcode_strings(fp, pop.area0, pop.unit0),
            pa.scalar(None, pa.string()),
        ),
        "moved_on": date_array(np.where(moved, pop.move, FAR)),
        "place_code": cat_array(fp.area_place[area], fp.place_codes),
        "neighbourhood_code": cat_array(fp.area_hood[area], fp.hood_codes),
        "practice_code": cat_array(practice, fp.practice_codes),
        "deprivation_decile": pc.cast(pa.array(fp.area_decile[area]), pa.string()),
        "smoking": cat_array(pop.smoker, ("never", "ex", "current")),
        "care_home": _yn(pop.care_home),
        "lives_alone": _yn(pop.lives_alone),
        "frailty": number_text(np.rint(frail * 1000).astype(np.int64), 3),
        "frailty_category": cat_array(frail_cat.astype(np.int64), FRAILTY_CATEGORIES),
        "frailty_coded_by_practice": _yn(health.frailty_coder),
        "isolation": number_text(np.rint(health.isolation * 1000).astype(np.int64), 3),
        "admission_propensity": number_text(np.rint(health.propensity * 1000).astype(np.int64), 3),
        "conditions": _condition_lists(has),
        "coded_conditions": _condition_lists(coded),
    }
    assert tuple(cols) == PEOPLE_COLUMNS
    return pa.table(cols)


def conditions_table(pop: Population, health: Health, end: int) -> pa.Table:
    person, cond = np.nonzero(health.onset <= end)
    coded = health.coded[person, cond]
    return pa.table(
        {
            "person_id": person_ids(pop.pid[person]),
            "condition": cat_array(cond.astype(np.int64), KEYS),
            "onset_date": date_array(health.onset[person, cond]),
            "coded_date": date_array(coded),
        }
    )


def risk_table(pop: Population, health: Health, first_year: int) -> pa.Table:
    r = health.risk
    order = np.lexsort((r.year, r.person))
    return pa.table(
        {
            "person_id": person_ids(pop.pid[r.person[order]]),
            "year": pc.cast(pa.array(first_year + r.year[order]), pa.string()),
            "p_emergency_admission": number_text(np.rint(r.p[order] * 1e6).astype(np.int64), 6),
            "emergency_admissions": pc.cast(pa.array(r.count[order]), pa.string()),
        }
    )
