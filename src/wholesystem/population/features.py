"""Features per person at an index date, from the linked lake only, in DuckDB SQL.

Nothing dated after the index date ``D`` is read: events count only when they started on
or before ``D`` (bed days are cut at ``D``), a hospital diagnosis counts only once its
spell has ended on or before ``D`` (it is coded at discharge), GP codes, observations and
medications only when dated on or before ``D``, registrations and care packages as they
stood on ``D``. A death after ``D`` does not remove anyone. A test adds activity after
``D`` to a lake and checks every feature is unchanged.

The population at ``D``: everyone in the person index born on or before ``D``, not dead
by ``D``, and registered with a practice on ``D`` or seen by any service in the 12 months
to ``D``.

Deprivation: the linked lake carries postcodes but no deprivation measure; an ICS derives
it from public reference data (the ONS postcode directory maps each unit postcode to its
LSOA, the English Indices of Deprivation give each LSOA's IMD decile). Given that lookup
(``deprivation``: a CSV with columns ``postcode, imd_decile``; the synthetic ICS writes
``reference/postcode_deprivation.csv``), ``imd_decile`` is the decile of the person's
postcode and ``deprivation_quintile`` is ``ceil(decile / 2)`` (1 = most deprived);
otherwise both are null. The person index keeps one, the latest known, postcode.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from wholesystem.population import codelists
from wholesystem.population.codelists import Concept

__all__ = [
    "AGE_BANDS",
    "ETHNICITY_GROUPS",
    "MODEL_FEATURES",
    "OBSERVATIONS",
    "DeprivationFileError",
    "build_features",
    "outcomes",
    "prepare",
]

AGE_BANDS = ("0-17", "18-39", "40-64", "65-74", "75-84", "85+")

# NHS Data Dictionary ethnic category (2001 census) letters to the five high-level groups.
ETHNICITY_GROUPS = {
    "A": "white",
    "B": "white",
    "C": "white",
    "D": "mixed",
    "E": "mixed",
    "F": "mixed",
    "G": "mixed",
    "H": "asian",
    "J": "asian",
    "K": "asian",
    "L": "asian",
    "M": "black",
    "N": "black",
    "P": "black",
    "R": "other",
    "S": "other",
}

OBSERVATIONS = {
    # feature -> SNOMED CT observable (the latest value on or before D)
    "bmi": "60621009",
    "hba1c": "999791000000106",
    "systolic_bp": "271649006",
    "egfr": "1011481000000105",
}

FRAILTY_CODES = {"925791000000100": 1, "925831000000107": 2, "925861000000102": 3}
SMOKER_CODE = "77176002"
ISOLATION_CODE = "422650009"
HOUSEBOUND_CODE = "160689007"
PALLIATIVE_CODES = ("103735009", "1290301000000109")
CARE_HOME_SERVICES = ("residential_care", "nursing_care")

# Activity by kind, for the drivers of emergency admission that no code list records:
# outpatient care by specialty (conditions under hospital follow-up, including ones not
# yet coded by the GP), community teams that look after frail and housebound people,
# and mental health services by type.
OUTPATIENT_SPECIALTIES = {
    # feature key -> treatment function code (NHS Data Dictionary)
    "general_medicine": "300",
    "diabetes": "307",
    "cardiology": "320",
    "stroke": "328",
    "respiratory": "340",
    "nephrology": "361",
    "oncology": "370",
    "geriatric": "430",
}
COMMUNITY_TEAMS = (
    "district_nursing",
    "community_matron",
    "rapid_response",
    "intermediate_care",
    "podiatry",
)
MENTAL_HEALTH_SERVICES = (
    "talking_therapies",
    "community_mental_health",
    "memory_assessment",
)
FRAILTY_SYNDROMES = ("R296", "S720", "N390", "R410", "W19", "R54")
"""ICD-10 (dot-less prefixes) of the emergency presentations of frailty: falls, hip
fracture, urinary infection, delirium/confusion, senility (Clegg 2013; Gilbert 2018)."""

MODEL_FEATURES: tuple[str, ...] = (
    "age",
    "sex_female",
    "ethnicity_code",
    "imd_decile",
    "registered",
    *(f"ltc_{c.id}" for c in codelists.ltc().concepts),
    "ltc_count",
    "efi",
    "coded_frailty",
    "hfrs",
    "charlson",
    "cms",
    "emergency_admissions_12m",
    "emergency_admissions_24m",
    "emergency_admissions_36m",
    "emergency_years_36m",
    "days_since_emergency",
    "emergency_bed_days_24m",
    "frailty_admissions_36m",
    "elective_admissions_12m",
    "ae_attendances_12m",
    "ae_attendances_3m",
    "ae_attendances_36m",
    "days_since_ae",
    "outpatient_12m",
    "outpatient_missed_12m",
    *(f"outpatient_{k}_36m" for k in OUTPATIENT_SPECIALTIES),
    "community_contacts_12m",
    *(f"{k}_24m" for k in COMMUNITY_TEAMS),
    "mental_health_contacts_12m",
    "mental_health_crisis_12m",
    *(f"{k}_36m" for k in MENTAL_HEALTH_SERVICES),
    "social_care_contacts_12m",
    "social_care_requests_36m",
    "social_care_active",
    "care_home",
    "gp_contacts_12m",
    "bed_days_12m",
    "medication_count",
    "smoker",
    "isolated",
    "housebound",
    "history_days",
    *OBSERVATIONS,
)
"""The columns the risk model reads, in order."""


def _lit(day: date) -> str:
    return f"DATE '{day.isoformat()}'"


def _concept_rows(list_id: str, concepts: Sequence[Concept]) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    for c in concepts:
        rows.extend((list_id, c.id, "snomed", s) for s in sorted(c.snomed))
        rows.extend((list_id, c.id, "icd10", p) for p in c.icd10)
    return rows


def _code_tables() -> dict[str, pa.Table]:
    rows = (
        _concept_rows("ltc", codelists.ltc().concepts)
        + _concept_rows("efi", codelists.efi().concepts)
        + _concept_rows("cms", codelists.cms().concepts)
    )
    cats, pairs, _version = codelists.charlson()
    for cat in cats:
        rows.extend(("charlson", cat.id, "icd10", p) for p in cat.prefixes)
    concepts = pa.table(
        {
            "list_id": [r[0] for r in rows],
            "concept_id": [r[1] for r in rows],
            "system": [r[2] for r in rows],
            "code": [r[3] for r in rows],
        }
    )
    weights = [("charlson", c.id, float(c.weight)) for c in cats]
    weights += [("cms", c.id, c.weight) for c in codelists.cms().concepts]
    weights += [
        ("cms_lookback", c.id, float(c.lookback_years or 0)) for c in codelists.cms().concepts
    ]
    weight = pa.table(
        {
            "list_id": [w[0] for w in weights],
            "concept_id": [w[1] for w in weights],
            "weight": [w[2] for w in weights],
        }
    )
    hierarchy = pa.table({"severe": [p[0] for p in pairs], "mild": [p[1] for p in pairs]})
    hfrs = codelists.hfrs()
    points = pa.table(
        {"category": list(hfrs.points), "points": [float(v) for v in hfrs.points.values()]}
    )
    ethnic = pa.table(
        {"code": list(ETHNICITY_GROUPS), "ethnicity_group": list(ETHNICITY_GROUPS.values())}
    )
    return {
        "pop_concept": concepts,
        "pop_weight": weight,
        "pop_hierarchy": hierarchy,
        "pop_hfrs_points": points,
        "pop_ethnic_group": ethnic,
    }


_EMPTY = {
    "condition": "person_id VARCHAR, code VARCHAR, code_system VARCHAR, onset_date DATE, "
    "event_id VARCHAR",
    "observation": "person_id VARCHAR, code VARCHAR, value DECIMAL(18,6), observed_date DATE",
    "medication": "person_id VARCHAR, code VARCHAR, date DATE",
    "care_package": "person_id VARCHAR, service_type VARCHAR, start_date DATE, end_date DATE",
    "registration": "person_id VARCHAR, practice_code VARCHAR, registration_date DATE, "
    "deregistration_date DATE",
}


class DeprivationFileError(ValueError):
    """The postcode to IMD decile lookup is missing, malformed or inconsistent."""


def prepare(con: duckdb.DuckDBPyConnection, deprivation: Path | None = None) -> None:
    """Register the code-list tables (and empty stand-ins for absent optional lake tables),
    and the postcode to IMD decile lookup when ``deprivation`` names one (a CSV with at
    least ``postcode`` and ``imd_decile`` columns; :class:`DeprivationFileError` when it
    cannot be read, has a decile outside 1-10 or lists a postcode twice)."""
    present = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    for name, columns in _EMPTY.items():
        if name not in present:
            con.execute(f"CREATE TEMP TABLE {name} ({columns})")
    for name, table in _code_tables().items():
        con.register(name, table)
    if deprivation is not None:
        path = str(deprivation).replace("'", "''")
        try:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE pop_deprivation AS SELECT "  # noqa: S608
                "upper(replace(CAST(postcode AS VARCHAR), ' ', '')) AS pc, "
                "TRY_CAST(imd_decile AS INTEGER) AS imd_decile "
                f"FROM read_csv('{path}', header = true, all_varchar = true)"
            )
        except duckdb.Error as exc:
            raise DeprivationFileError(
                f"deprivation file {deprivation} cannot be read as CSV with columns "
                f"postcode, imd_decile: {str(exc).splitlines()[0]}"
            ) from None
        [(bad, dupes)] = con.execute(
            "SELECT count(*) FILTER (WHERE imd_decile IS NULL OR imd_decile NOT BETWEEN 1 AND 10),"
            " count(*) - count(DISTINCT pc) FROM pop_deprivation"
        ).fetchall()
        if bad or dupes:
            con.execute("DROP TABLE pop_deprivation")
            raise DeprivationFileError(
                f"deprivation file {deprivation}: {bad} rows with an imd_decile that is not "
                f"1-10 and {dupes} postcodes listed more than once; nothing was used"
            )
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE pop_deprivation (pc VARCHAR, imd_decile INTEGER)")


def _features_sql(d: date) -> str:
    D = _lit(d)
    y1 = f"({D} - INTERVAL 1 YEAR)"
    y2 = f"({D} - INTERVAL 2 YEAR)"
    y3 = f"({D} - INTERVAL 3 YEAR)"
    m3 = f"({D} - INTERVAL 3 MONTH)"
    emergency = "setting = 'inpatient' AND emergency"
    kind_cols = ",\n            ".join(
        [
            f"count(*) FILTER (WHERE setting = 'outpatient' AND service_type = '{tf}' "
            f"AND start_date > {y3} AND coalesce(attended, true)) AS outpatient_{k}_36m"
            for k, tf in OUTPATIENT_SPECIALTIES.items()
        ]
        + [
            f"count(*) FILTER (WHERE setting = 'community' AND service_type = '{t}' "
            f"AND start_date > {y2}) AS {t}_24m"
            for t in COMMUNITY_TEAMS
        ]
        + [
            f"count(*) FILTER (WHERE setting = 'mental_health' AND service_type = '{m}' "
            f"AND start_date > {y3}) AS {m}_36m"
            for m in MENTAL_HEALTH_SERVICES
        ]
    )
    kind_names = [
        *(f"outpatient_{k}_36m" for k in OUTPATIENT_SPECIALTIES),
        *(f"{t}_24m" for t in COMMUNITY_TEAMS),
        *(f"{m}_36m" for m in MENTAL_HEALTH_SERVICES),
    ]
    kind_out = ",\n            ".join(f"coalesce(ev.{k}, 0)::INTEGER AS {k}" for k in kind_names)
    frailty_syndrome = " OR ".join(
        f"starts_with(upper(replace(code, '.', '')), '{c}')" for c in FRAILTY_SYNDROMES
    )
    ltc_cols = ",\n        ".join(
        f"coalesce(list_contains(l.conditions, '{c.id}'), false)::INTEGER AS ltc_{c.id}"
        for c in codelists.ltc().concepts
    )
    obs_cols = ",\n        ".join(f"o.{k}" for k in OBSERVATIONS)
    obs_pivot = ",\n            ".join(
        f"arg_max(value, observed_date) FILTER (WHERE code = '{code}')::DOUBLE AS {k}"
        for k, code in OBSERVATIONS.items()
    )
    frailty_case = " ".join(f"WHEN '{k}' THEN {v}" for k, v in FRAILTY_CODES.items())
    palliative = ", ".join(f"'{c}'" for c in PALLIATIVE_CODES)
    care_home = ", ".join(f"'{s}'" for s in CARE_HOME_SERVICES)
    # Only date literals and constants of this module are interpolated.
    return f"""
    WITH first_reg AS (
        SELECT person_id, min(registration_date) AS first_registered
        FROM registration WHERE registration_date <= {D} GROUP BY person_id
    ),
    reg AS (
        SELECT person_id, arg_max(practice_code, registration_date) AS practice_code
        FROM registration
        WHERE registration_date <= {D}
          AND (deregistration_date IS NULL OR deregistration_date > {D})
        GROUP BY person_id
    ),
    ev AS (
        SELECT person_id,
            count(*) FILTER (WHERE setting = 'inpatient' AND emergency AND start_date > {y1})
                AS emergency_admissions_12m,
            count(*) FILTER (WHERE setting = 'inpatient' AND emergency AND start_date > {y2})
                AS emergency_admissions_24m,
            count(*) FILTER (WHERE {emergency} AND start_date > {y3}) AS emergency_admissions_36m,
            -- each 12-month band before D with at least one emergency admission: a lasting
            -- tendency to be admitted, beyond last year's count
            count(DISTINCT CAST(floor(date_diff('day', start_date, {D}) / 365.25) AS INTEGER))
                FILTER (WHERE {emergency} AND start_date > {y3}) AS emergency_years_36m,
            sum(CASE WHEN {emergency} AND start_date > {y2}
                THEN date_diff('day', start_date, coalesce(least(end_date, {D}), {D}))
                ELSE 0 END) AS emergency_bed_days_24m,
            count(*) FILTER (WHERE {emergency} AND start_date > {y3}
                AND ({frailty_syndrome})) AS frailty_admissions_36m,
            count(*) FILTER (WHERE setting = 'ae' AND start_date > {y3}) AS ae_attendances_36m,
            count(*) FILTER (WHERE setting = 'social_care' AND start_date > {y3})
                AS social_care_requests_36m,
            min(start_date) AS first_seen,
            {kind_cols},
            date_diff('day', max(start_date) FILTER (WHERE setting = 'inpatient' AND emergency),
                {D}) AS days_since_emergency,
            count(*) FILTER (WHERE setting = 'inpatient' AND NOT coalesce(emergency, false)
                AND start_date > {y1}) AS elective_admissions_12m,
            count(*) FILTER (WHERE setting = 'ae' AND start_date > {y1}) AS ae_attendances_12m,
            count(*) FILTER (WHERE setting = 'ae' AND start_date > {m3}) AS ae_attendances_3m,
            date_diff('day', max(start_date) FILTER (WHERE setting = 'ae'), {D}) AS days_since_ae,
            count(*) FILTER (WHERE setting = 'outpatient' AND start_date > {y1}
                AND coalesce(attended, true)) AS outpatient_12m,
            count(*) FILTER (WHERE setting = 'outpatient' AND start_date > {y1}
                AND attended = false) AS outpatient_missed_12m,
            count(*) FILTER (WHERE setting = 'community' AND start_date > {y1})
                AS community_contacts_12m,
            count(*) FILTER (WHERE setting = 'mental_health' AND start_date > {y1})
                AS mental_health_contacts_12m,
            count(*) FILTER (WHERE setting = 'mental_health' AND start_date > {y1}
                AND service_type IN ('crisis_home_treatment', 'adult_acute_inpatient'))
                AS mental_health_crisis_12m,
            count(*) FILTER (WHERE setting = 'social_care' AND start_date > {y1})
                AS social_care_contacts_12m,
            count(*) FILTER (WHERE setting = 'gp' AND start_date > {y1}) AS gp_contacts_12m,
            sum(CASE WHEN setting = 'inpatient'
                     AND coalesce(least(end_date, {D}), {D}) > {y1}
                THEN date_diff('day', greatest(start_date, {y1}),
                               coalesce(least(end_date, {D}), {D}))
                ELSE 0 END) AS bed_days_12m,
            count(*) FILTER (WHERE start_date > {y1}) AS contacts_12m,
            bool_or(setting = 'inpatient' AND list_has_any(codes, ['O80', 'O80.0', 'O81',
                'O82', 'O82.0', 'O82.1', 'O84']) AND start_date > {y1}) AS delivered_12m
        FROM event
        WHERE start_date <= {D} AND setting <> 'death'
        GROUP BY person_id
    ),
    cond AS (
        -- a hospital diagnosis is known once its spell has ended; a GP code when coded
        SELECT c.person_id, c.code_system,
            CASE WHEN c.code_system = 'icd10'
                 THEN upper(replace(c.code, '.', '')) ELSE c.code END AS code,
            c.onset_date,
            greatest(c.onset_date, coalesce(e.end_date, e.start_date, c.onset_date)) AS known
        FROM condition c LEFT JOIN event e ON e.event_id = c.event_id
        WHERE c.onset_date <= {D}
    ),
    cond_d AS (SELECT * FROM cond WHERE known <= {D}),
    codes_distinct AS (SELECT DISTINCT code_system, code FROM cond_d),
    code_map AS (
        SELECT d.code_system, d.code, k.list_id, k.concept_id
        FROM codes_distinct d JOIN pop_concept k
          ON k.system = d.code_system
         AND (CASE WHEN d.code_system = 'icd10' THEN starts_with(d.code, k.code)
                   ELSE d.code = k.code END)
    ),
    hits AS (
        SELECT DISTINCT c.person_id, m.list_id, m.concept_id
        FROM cond_d c JOIN code_map m USING (code_system, code)
        LEFT JOIN pop_weight lb ON lb.list_id = 'cms_lookback' AND lb.concept_id = m.concept_id
        WHERE m.list_id <> 'cms' OR coalesce(lb.weight, 0) = 0
           OR c.known > {D} - to_years(CAST(lb.weight AS INTEGER))
    ),
    charl AS (
        SELECT h.person_id, sum(w.weight)::INTEGER AS charlson
        FROM hits h JOIN pop_weight w ON w.list_id = 'charlson' AND w.concept_id = h.concept_id
        WHERE h.list_id = 'charlson' AND NOT EXISTS (
            SELECT 1 FROM pop_hierarchy y JOIN hits s
              ON s.person_id = h.person_id AND s.list_id = 'charlson' AND s.concept_id = y.severe
            WHERE y.mild = h.concept_id)
        GROUP BY h.person_id
    ),
    cmsc AS (
        SELECT h.person_id, round(sum(w.weight), 2) AS cms
        FROM hits h JOIN pop_weight w ON w.list_id = 'cms' AND w.concept_id = h.concept_id
        WHERE h.list_id = 'cms' GROUP BY h.person_id
    ),
    ltcs AS (
        SELECT person_id, list(concept_id ORDER BY concept_id) AS conditions
        FROM hits WHERE list_id = 'ltc' GROUP BY person_id
    ),
    efi_coded AS (
        SELECT person_id, list(concept_id) AS deficits FROM hits WHERE list_id = 'efi'
        GROUP BY person_id
    ),
    hfrs AS (
        SELECT person_id, round(sum(p.points), 1) AS hfrs
        FROM (SELECT DISTINCT person_id, left(code, 3) AS category FROM cond_d
              WHERE code_system = 'icd10' AND known > {y2}) c
        JOIN pop_hfrs_points p USING (category)
        GROUP BY person_id
    ),
    meta AS (
        -- secondary (metastatic) malignant neoplasm, ICD-10 C77-C79, for the end-of-life segment
        SELECT DISTINCT person_id, true AS metastatic_cancer FROM cond_d
        WHERE code_system = 'icd10' AND (code LIKE 'C77%' OR code LIKE 'C78%' OR code LIKE 'C79%')
    ),
    gp AS (
        SELECT person_id,
            arg_max(CASE code {frailty_case} END, onset_date)
                FILTER (WHERE code IN ({", ".join(f"'{k}'" for k in FRAILTY_CODES)}))
                AS coded_frailty,
            arg_max(code = '{SMOKER_CODE}', onset_date)
                FILTER (WHERE code IN ('266919005', '8517006', '{SMOKER_CODE}')) AS smoker,
            bool_or(code = '{ISOLATION_CODE}') AS isolated,
            bool_or(code = '{HOUSEBOUND_CODE}') AS housebound,
            bool_or(code IN ({palliative})) AS palliative
        FROM cond_d WHERE code_system = 'snomed' GROUP BY person_id
    ),
    obs AS (
        SELECT person_id,
            {obs_pivot}
        FROM observation WHERE observed_date <= {D} GROUP BY person_id
    ),
    meds AS (
        SELECT person_id, count(DISTINCT code) AS medication_count
        FROM medication WHERE date <= {D} AND date > {y1} GROUP BY person_id
    ),
    care AS (
        SELECT person_id, true AS social_care_active,
            bool_or(service_type IN ({care_home})) AS care_home
        FROM care_package
        WHERE start_date <= {D} AND (end_date IS NULL OR end_date >= {D})
        GROUP BY person_id
    ),
    pop AS (
        SELECT p.person_id, p.nhs_number, p.date_of_birth, p.sex, p.postcode, p.ethnicity,
            r.practice_code
        FROM person p
        LEFT JOIN reg r USING (person_id)
        LEFT JOIN ev USING (person_id)
        WHERE p.date_of_birth <= {D}
          AND (p.date_of_death IS NULL OR p.date_of_death > {D})
          AND (r.person_id IS NOT NULL OR coalesce(ev.contacts_12m, 0) > 0)
    ),
    base AS (
        SELECT pop.person_id, pop.nhs_number, {D} AS index_date, pop.practice_code,
            (date_diff('year', pop.date_of_birth, {D})
             - CASE WHEN strftime(pop.date_of_birth, '%m%d') > strftime({D}, '%m%d')
                    THEN 1 ELSE 0 END)::INTEGER AS age,
            coalesce(nullif(pop.sex, ''), 'U') AS sex,
            coalesce(eg.ethnicity_group, 'unknown') AS ethnicity_group,
            CASE WHEN pop.ethnicity IS NULL OR pop.ethnicity IN ('', 'Z', '99') THEN NULL
                 ELSE ascii(pop.ethnicity) END AS ethnicity_code,
            dep.imd_decile::INTEGER AS imd_decile,
            CAST(ceil(dep.imd_decile / 2.0) AS INTEGER) AS deprivation_quintile,
            (pop.practice_code IS NOT NULL)::INTEGER AS registered,
            coalesce(l.conditions, []::VARCHAR[]) AS conditions,
            coalesce(len(l.conditions), 0)::INTEGER AS ltc_count,
            {ltc_cols},
            coalesce(ec.deficits, []::VARCHAR[]) AS efi_coded_deficits,
            coalesce(m.medication_count, 0)::INTEGER AS medication_count,
            coalesce(care.social_care_active, false) AS social_care_active,
            coalesce(care.care_home, false) AS care_home,
            coalesce(h.hfrs, 0.0)::DOUBLE AS hfrs,
            coalesce(ch.charlson, 0)::INTEGER AS charlson,
            coalesce(cm.cms, 0.0)::DOUBLE AS cms,
            g.coded_frailty::INTEGER AS coded_frailty,
            coalesce(g.smoker, false)::INTEGER AS smoker,
            coalesce(g.isolated, false)::INTEGER AS isolated,
            coalesce(g.housebound, false)::INTEGER AS housebound,
            coalesce(g.palliative, false) AS palliative,
            coalesce(meta.metastatic_cancer, false) AS metastatic_cancer,
            coalesce(ev.emergency_admissions_12m, 0)::INTEGER AS emergency_admissions_12m,
            coalesce(ev.emergency_admissions_24m, 0)::INTEGER AS emergency_admissions_24m,
            coalesce(ev.emergency_admissions_36m, 0)::INTEGER AS emergency_admissions_36m,
            coalesce(ev.emergency_years_36m, 0)::INTEGER AS emergency_years_36m,
            coalesce(ev.emergency_bed_days_24m, 0)::INTEGER AS emergency_bed_days_24m,
            coalesce(ev.frailty_admissions_36m, 0)::INTEGER AS frailty_admissions_36m,
            coalesce(ev.ae_attendances_36m, 0)::INTEGER AS ae_attendances_36m,
            coalesce(ev.social_care_requests_36m, 0)::INTEGER AS social_care_requests_36m,
            {kind_out},
            -- how long the person has been known to services (capped at three years, the
            -- longest window above): no activity says less over a shorter history
            least(date_diff('day', least(coalesce(ev.first_seen, {D}),
                                         coalesce(fr.first_registered, {D})), {D}),
                  1095)::INTEGER AS history_days,
            ev.days_since_emergency::INTEGER AS days_since_emergency,
            coalesce(ev.elective_admissions_12m, 0)::INTEGER AS elective_admissions_12m,
            coalesce(ev.ae_attendances_12m, 0)::INTEGER AS ae_attendances_12m,
            coalesce(ev.ae_attendances_3m, 0)::INTEGER AS ae_attendances_3m,
            ev.days_since_ae::INTEGER AS days_since_ae,
            coalesce(ev.outpatient_12m, 0)::INTEGER AS outpatient_12m,
            coalesce(ev.outpatient_missed_12m, 0)::INTEGER AS outpatient_missed_12m,
            coalesce(ev.community_contacts_12m, 0)::INTEGER AS community_contacts_12m,
            coalesce(ev.mental_health_contacts_12m, 0)::INTEGER AS mental_health_contacts_12m,
            coalesce(ev.mental_health_crisis_12m, 0)::INTEGER AS mental_health_crisis_12m,
            coalesce(ev.social_care_contacts_12m, 0)::INTEGER AS social_care_contacts_12m,
            coalesce(ev.gp_contacts_12m, 0)::INTEGER AS gp_contacts_12m,
            coalesce(ev.bed_days_12m, 0)::INTEGER AS bed_days_12m,
            coalesce(ev.delivered_12m, false) AS delivered_12m,
            {obs_cols}
        FROM pop
        LEFT JOIN ev USING (person_id)
        LEFT JOIN first_reg fr USING (person_id)
        LEFT JOIN ltcs l USING (person_id)
        LEFT JOIN efi_coded ec USING (person_id)
        LEFT JOIN meds m USING (person_id)
        LEFT JOIN care USING (person_id)
        LEFT JOIN hfrs h USING (person_id)
        LEFT JOIN charl ch USING (person_id)
        LEFT JOIN cmsc cm USING (person_id)
        LEFT JOIN gp g USING (person_id)
        LEFT JOIN meta USING (person_id)
        LEFT JOIN obs o USING (person_id)
        LEFT JOIN pop_ethnic_group eg ON eg.code = pop.ethnicity
        LEFT JOIN pop_deprivation dep
          ON dep.pc = upper(replace(pop.postcode, ' ', ''))
    ),
    frail AS (
        SELECT *,
            list_sort(list_distinct(efi_coded_deficits
                || CASE WHEN medication_count >= 5 THEN ['polypharmacy'] ELSE [] END
                || CASE WHEN social_care_active THEN ['requirement_for_care'] ELSE [] END
            )) AS efi_deficits
        FROM base
    )
    SELECT * EXCLUDE (efi_coded_deficits),
        len(efi_deficits) / 36.0 AS efi,
        CASE WHEN len(efi_deficits) / 36.0 <= 0.12 THEN 'fit'
             WHEN len(efi_deficits) / 36.0 <= 0.24 THEN 'mild'
             WHEN len(efi_deficits) / 36.0 <= 0.36 THEN 'moderate'
             ELSE 'severe' END AS efi_category,
        CASE WHEN age < 18 THEN '0-17' WHEN age < 40 THEN '18-39' WHEN age < 65 THEN '40-64'
             WHEN age < 75 THEN '65-74' WHEN age < 85 THEN '75-84' ELSE '85+' END AS age_band,
        CASE sex WHEN 'F' THEN 1 WHEN 'M' THEN 0 END AS sex_female
    FROM frail
    ORDER BY person_id
    """  # noqa: S608


def build_features(con: duckdb.DuckDBPyConnection, index_date: date) -> pa.Table:
    """Every person's features at ``index_date`` (call :func:`prepare` on ``con`` first)."""
    table: pa.Table = con.sql(_features_sql(index_date)).to_arrow_table()
    return table


def outcomes(con: duckdb.DuckDBPyConnection, index_date: date) -> pa.Table:
    """Emergency admissions in the 12 months after ``index_date`` (the model's target)."""
    D = _lit(index_date)
    sql = f"""
        SELECT person_id, count(*)::INTEGER AS emergency_admissions_next_12m
        FROM event
        WHERE setting = 'inpatient' AND emergency
          AND start_date > {D} AND start_date <= {D} + INTERVAL 1 YEAR
        GROUP BY person_id ORDER BY person_id
    """  # noqa: S608 (a date literal only)
    table: pa.Table = con.sql(sql).to_arrow_table()
    return table
