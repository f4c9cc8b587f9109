"""OMOP CDM v5.4 tables → the staged tables of the CSV datasets, in SQL.

Layout: ``<org>/omop/<table>.csv`` (``person.csv``, ``visit_occurrence.csv``...). Each
table is one ingest run (dataset ``omop_<table>``). Event tables take their identity
columns from ``person.csv`` in the same folder when it is there (joined on person_id);
otherwise only ``local_patient_id`` (the person_id) is known.

Mapping (concept ids are kept as codes with ``code_system`` ``omop``):

* person → ``gp_patients``: NHS number from person_source_value when it is ten digits,
  birth date from birth_datetime or year/month/day (a missing month or day becomes 1),
  sex from gender_concept_id (8507 M, 8532 F, 8570 I, else U); no practice or
  registration dates (OMOP has none).
* visit_occurrence → ``apc`` (visit_concept_id 9201, 262, 8717: spell_id, admission and
  discharge dates), ``ecds`` (9203: attendance_id, arrival and departure; OMOP times
  carry no zone and are read as UTC) or ``opa`` (anything else: appointment_date).
* condition_occurrence, drug_exposure, measurement, observation → ``gp_events`` with
  record_type condition, medication, observation, observation; value_as_number and the
  unit for measurements and observations.
* death → ``deaths``: underlying_cause from cause_source_value when it is an ICD-10 code.
"""

from __future__ import annotations

from dataclasses import dataclass

from wholesystem.record.validate import ICD10_PATTERN

__all__ = ["INPATIENT_VISITS", "OmopMapping", "mapping_for"]

INPATIENT_VISITS = ("9201", "262", "8717")
ER_VISITS = ("9203",)


@dataclass(frozen=True)
class OmopMapping:
    """SQL selecting target-dataset rows from ``src`` (the table) and ``person``."""

    targets: tuple[str, ...]
    select: str  # columns, given src s and person p; includes _target


def _date(expr: str) -> str:
    return f"left(trim({expr}), 10)"


def _when(expr: str) -> str:
    """An OMOP date or datetime as ISO 8601 with a UTC offset."""
    return (
        f"CASE WHEN NULLIF(trim({expr}), '') IS NULL THEN NULL "
        f"WHEN length(trim({expr})) = 10 THEN trim({expr}) || 'T00:00:00+00:00' "
        f"WHEN regexp_matches(trim({expr}), '(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$') THEN trim({expr}) "
        f"ELSE replace(left(trim({expr}), 19), ' ', 'T') || '+00:00' END"
    )


_IDENTITY_FROM_PERSON = """
    CASE WHEN regexp_full_match(ws_nhs(p.person_source_value), '[0-9]{10}')
         THEN p.person_source_value END AS nhs_number,
    s.person_id AS local_patient_id,
    NULL::VARCHAR AS given_name,
    NULL::VARCHAR AS family_name,
    CASE WHEN NULLIF(trim(p.birth_datetime), '') IS NOT NULL THEN left(trim(p.birth_datetime), 10)
         WHEN NULLIF(trim(p.year_of_birth), '') IS NOT NULL THEN
             trim(p.year_of_birth)
             || '-' || lpad(coalesce(NULLIF(trim(p.month_of_birth), ''), '1'), 2, '0')
             || '-' || lpad(coalesce(NULLIF(trim(p.day_of_birth), ''), '1'), 2, '0')
         END AS date_of_birth,
    CASE WHEN p.person_id IS NULL THEN NULL WHEN trim(p.gender_concept_id) = '8507' THEN 'M'
         WHEN trim(p.gender_concept_id) = '8532' THEN 'F'
         WHEN trim(p.gender_concept_id) = '8570' THEN 'I' ELSE 'U' END AS sex,
    NULL::VARCHAR AS postcode"""


def _event(
    record_type: str,
    id_col: str,
    concept: str,
    when: str,
    display: str,
    value: str = "NULL",
    unit: str = "NULL",
) -> OmopMapping:
    return OmopMapping(
        ("gp_events",),
        f"""'gp_events' AS _target, {_IDENTITY_FROM_PERSON},
    {_date("s." + when)} AS event_date, NULL::VARCHAR AS snomed_code,
    {value} AS value, {unit} AS unit, '{record_type}' AS record_type,
    s.{concept} AS code, 'omop' AS code_system, s.{display} AS display,
    'omop:{record_type}:' || s.{id_col} AS _key""",
    )


_MAPPINGS: dict[str, OmopMapping] = {
    "omop_person": OmopMapping(
        ("gp_patients",),
        f"""'gp_patients' AS _target, {_IDENTITY_FROM_PERSON},
    NULL::VARCHAR AS practice_code, NULL::VARCHAR AS registration_date,
    NULL::VARCHAR AS ethnicity, NULL::VARCHAR AS deregistration_date,
    'omop:person:' || s.person_id AS _key""",
    ),
    "omop_visit_occurrence": OmopMapping(
        ("apc", "ecds", "opa"),
        f"""CASE WHEN trim(s.visit_concept_id) IN {INPATIENT_VISITS} THEN 'apc'
         WHEN trim(s.visit_concept_id) IN ('{ER_VISITS[0]}') THEN 'ecds' ELSE 'opa' END AS _target,
    {_IDENTITY_FROM_PERSON},
    s.visit_occurrence_id AS spell_id, {_date("s.visit_start_date")} AS admission_date,
    {_date("s.visit_end_date")} AS discharge_date,
    s.visit_occurrence_id AS attendance_id,
    {_when("coalesce(s.visit_start_datetime, s.visit_start_date)")} AS arrival,
    {_when("coalesce(s.visit_end_datetime, s.visit_end_date)")} AS departure,
    {_date("s.visit_start_date")} AS appointment_date,
    'omop:visit:' || s.visit_occurrence_id AS _key""",
    ),
    "omop_condition_occurrence": _event(
        "condition",
        "condition_occurrence_id",
        "condition_concept_id",
        "condition_start_date",
        "condition_source_value",
    ),
    "omop_drug_exposure": _event(
        "medication",
        "drug_exposure_id",
        "drug_concept_id",
        "drug_exposure_start_date",
        "drug_source_value",
    ),
    "omop_measurement": _event(
        "observation",
        "measurement_id",
        "measurement_concept_id",
        "measurement_date",
        "measurement_source_value",
        "s.value_as_number",
        "coalesce(s.unit_source_value, s.unit_concept_id)",
    ),
    "omop_observation": _event(
        "observation",
        "observation_id",
        "observation_concept_id",
        "observation_date",
        "observation_source_value",
        "s.value_as_number",
        "s.unit_source_value",
    ),
    "omop_death": OmopMapping(
        ("deaths",),
        f"""'deaths' AS _target, {_IDENTITY_FROM_PERSON},
    {_date("s.death_date")} AS date_of_death,
    CASE WHEN regexp_full_match(trim(s.cause_source_value), '{ICD10_PATTERN}')
         THEN trim(s.cause_source_value) END AS underlying_cause,
    s.cause_concept_id AS code,
    CASE WHEN s.cause_concept_id IS NOT NULL THEN 'omop' END AS code_system,
    'omop:death:' || s.person_id AS _key""",
    ),
}


def mapping_for(dataset: str) -> OmopMapping:
    """The mapping of OMOP dataset ``dataset`` (``omop_<table>``)."""
    return _MAPPINGS[dataset]
