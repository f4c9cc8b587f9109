"""The partner extract formats, declared once as data.

Every dataset a partner may send is one :class:`Dataset`: its columns (type, whether
required, code system, allowed values, maximum length) and its per-row rules. The same
declarations drive validation (:mod:`wholesystem.record.validate`), the documentation
page ``docs/extracts.md`` (a test proves every dataset and column is described there),
and are plain enough for ``synth`` or any partner to read.

Three kinds of dataset:

* ``csv`` — the patient-level extracts of ``DESIGN.md`` (``gp_patients`` ... ``deaths``),
  which start with :data:`IDENTITY_COLUMNS`;
* ``fhir`` — ``gp_fhir``: files of FHIR R4 Bundles, mapped into ``gp_patients``,
  ``gp_events`` and ``allergies``;
* ``omop`` — OMOP CDM v5.4 tables (``omop_person`` ...), mapped into the CSV datasets'
  staged tables.

Columns marked ``staged_only`` are not part of an extract: mappers from FHIR and OMOP fill
them, CSV rows get their default.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

__all__ = [
    "DATASETS",
    "IDENTITY_COLUMNS",
    "CodeSystem",
    "Column",
    "ColumnType",
    "Dataset",
    "OrderRule",
    "dataset",
    "extract_datasets",
    "staged_datasets",
]


class ColumnType(StrEnum):
    """How a column's text is read."""

    string = "string"
    date = "date"  # ISO YYYY-MM-DD, not in the future, not before 1900
    datetime = "datetime"  # ISO 8601 with a UTC offset (2024-07-01T13:05:00+01:00)
    integer = "integer"
    decimal = "decimal"  # at most ``scale`` decimal places
    boolean = "boolean"  # Y or N
    code = "code"  # a clinical code of ``code_system``; ``multiple`` codes separated by |
    nhs_number = "nhs_number"  # ten digits (spaces allowed), modulus-11 check digit


class CodeSystem(StrEnum):
    """Clinical code systems whose format is checked."""

    snomed = "snomed"  # SNOMED CT: 6-18 digits, Verhoeff check digit
    icd10 = "icd10"  # ICD-10: letter, two digits, optional . and 1-2 characters
    opcs4 = "opcs4"  # OPCS-4: letter, two digits, optional . and a digit


@dataclass(frozen=True)
class Column:
    """One column of a dataset."""

    name: str
    type: ColumnType
    description: str
    required: bool = False
    code_system: CodeSystem | None = None
    multiple: bool = False  # |-separated list of codes
    allowed: tuple[str, ...] = ()  # the only values accepted (empty: any)
    max_length: int = 200
    scale: int = 2  # decimal places kept for decimals
    minimum: float | None = None
    pattern: str | None = None  # a regular expression the whole value must match
    pattern_hint: str = ""  # what the pattern means, for messages
    staged_only: bool = False  # filled by FHIR/OMOP mappers; never in an extract


@dataclass(frozen=True)
class OrderRule:
    """``later`` must not be before ``earlier`` when both are present."""

    name: str
    later: str
    earlier: str
    message: str  # e.g. "discharge is before admission"


@dataclass(frozen=True)
class Dataset:
    """One dataset of the extract contract."""

    name: str
    held_by: str
    rows_are: str
    format: str  # csv, fhir or omop
    columns: tuple[Column, ...] = ()
    rules: tuple[OrderRule, ...] = ()
    key_column: str | None = None  # a natural key used for record_key
    maps_to: tuple[str, ...] = ()  # fhir/omop: the staged datasets rows go to
    patient_level: bool = True

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def extract_columns(self) -> tuple[Column, ...]:
        """Columns a partner's file carries (not the staged-only ones)."""
        return tuple(c for c in self.columns if not c.staged_only)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns whose header must be present in a file."""
        return tuple(c.name for c in self.extract_columns if c.required)

    def relaxed(self, *names: str) -> Dataset:
        """A copy where ``names`` are optional (mappers that cannot always fill them)."""
        cols = tuple(replace(c, required=False) if c.name in names else c for c in self.columns)
        return replace(self, columns=cols)


_S = ColumnType.string
_D = ColumnType.date
_I = ColumnType.integer

IDENTITY: tuple[Column, ...] = (
    Column("nhs_number", ColumnType.nhs_number, "NHS number; may be blank", max_length=20),
    Column(
        "local_patient_id",
        _S,
        "the partner's own patient identifier (hospital number, practice id...)",
        required=True,
        max_length=64,
    ),
    Column("given_name", _S, "given (first) name", max_length=100),
    Column("family_name", _S, "family name (surname)", max_length=100),
    Column("date_of_birth", _D, "date of birth"),
    Column(
        "sex",
        _S,
        "M male, F female, I indeterminate, U not known",
        allowed=("M", "F", "I", "U"),
        max_length=1,
    ),
    Column("postcode", _S, "postcode of usual address, any spacing or case", max_length=10),
)
IDENTITY_COLUMNS: tuple[str, ...] = tuple(c.name for c in IDENTITY)

_ETHNIC = (*"ABCDEFGHJKLMNPRSZ", "99")
_ADMISSION_METHODS = (
    "11",
    "12",
    "13",
    "21",
    "22",
    "23",
    "24",
    "25",
    "2A",
    "2B",
    "2C",
    "2D",
    "28",
    "31",
    "32",
    "81",
    "82",
    "83",
    "99",
)
_APC_DESTINATIONS = (
    "19",
    "29",
    "30",
    "37",
    "38",
    "48",
    "49",
    "50",
    "51",
    "52",
    "53",
    "54",
    "65",
    "66",
    "79",
    "84",
    "85",
    "87",
    "88",
    "98",
    "99",
)
_CODE_KINDS = "code_system: snomed, icd10, opcs4, omop or the FHIR coding system's URL"
_STAGED_CODE = (
    Column(
        "record_type",
        _S,
        "condition, observation, medication, encounter, event",
        staged_only=True,
        max_length=32,
    ),
    Column(
        "code",
        _S,
        "the event's code in its own system (SNOMED CT for CSV rows)",
        staged_only=True,
        max_length=200,
    ),
    Column("code_system", _S, _CODE_KINDS, staged_only=True, max_length=200),
    Column(
        "display",
        _S,
        "the code's text where the source gave one",
        staged_only=True,
        max_length=1000,
    ),
)


def _ds(
    name: str,
    held_by: str,
    rows_are: str,
    columns: tuple[Column, ...],
    rules: tuple[OrderRule, ...] = (),
    key: str | None = None,
) -> Dataset:
    return Dataset(name, held_by, rows_are, "csv", IDENTITY + columns, rules, key)


_CSV: tuple[Dataset, ...] = (
    _ds(
        "gp_patients",
        "GP practice",
        "registrations",
        (
            Column(
                "practice_code",
                _S,
                "ODS code of the practice",
                pattern="[A-Z0-9]{3,8}",
                pattern_hint="an ODS code (3-8 capital letters or digits)",
                max_length=8,
            ),
            Column("registration_date", _D, "date the registration started"),
            Column(
                "ethnicity",
                _S,
                "NHS ethnic category letter (A-S), Z not stated or 99 not known",
                allowed=_ETHNIC,
                max_length=2,
            ),
            Column("deregistration_date", _D, "date the registration ended; blank if current"),
        ),
        (
            OrderRule(
                "deregistration_before_registration",
                "deregistration_date",
                "registration_date",
                "deregistration is before registration",
            ),
        ),
    ),
    _ds(
        "gp_events",
        "GP practice",
        "coded events (diagnoses, observations, medications)",
        (
            Column("event_date", _D, "date of the event", required=True),
            Column(
                "snomed_code",
                ColumnType.code,
                "SNOMED CT concept of the event",
                required=True,
                code_system=CodeSystem.snomed,
                max_length=18,
            ),
            Column("value", ColumnType.decimal, "numeric value of an observation", scale=6),
            Column("unit", _S, "UCUM unit of the value", max_length=40),
            *_STAGED_CODE,
        ),
    ),
    _ds(
        "allergies",
        "GP practice (FHIR AllergyIntolerance)",
        "allergies and intolerances",
        (
            Column("recorded_date", _D, "date the allergy was recorded"),
            Column("code", _S, "code of the substance or allergy", required=True, max_length=200),
            Column("code_system", _S, _CODE_KINDS, max_length=200),
            Column("display", _S, "text of the allergy", max_length=1000),
            Column(
                "clinical_status",
                _S,
                "active, inactive or resolved",
                allowed=("active", "inactive", "resolved"),
                max_length=16,
            ),
            Column(
                "criticality",
                _S,
                "low, high or unable-to-assess",
                allowed=("low", "high", "unable-to-assess"),
                max_length=20,
            ),
        ),
    ),
    _ds(
        "apc",
        "acute trust",
        "hospital spells (admitted patient care)",
        (
            Column(
                "spell_id",
                _S,
                "the trust's spell identifier",
                required=True,
                max_length=64,
            ),
            Column("admission_date", _D, "start of the spell", required=True),
            Column("discharge_date", _D, "end of the spell; blank while still in hospital"),
            Column(
                "admission_method",
                _S,
                "NHS admission method (11-13 elective, 21-2D emergency, 31/32 maternity, "
                "81-83 transfer)",
                allowed=_ADMISSION_METHODS,
                max_length=2,
            ),
            Column(
                "primary_diagnosis",
                ColumnType.code,
                "primary diagnosis, ICD-10 (J44.1)",
                code_system=CodeSystem.icd10,
                max_length=8,
            ),
            Column(
                "secondary_diagnoses",
                ColumnType.code,
                "other diagnoses, ICD-10, separated by |",
                code_system=CodeSystem.icd10,
                multiple=True,
                max_length=2000,
            ),
            Column(
                "procedures",
                ColumnType.code,
                "procedures, OPCS-4, separated by | (W37.1|Z94.1)",
                code_system=CodeSystem.opcs4,
                multiple=True,
                max_length=2000,
            ),
            Column(
                "discharge_destination",
                _S,
                "NHS discharge destination (19 home, 51 other hospital, 54/85 care home, "
                "79 died...)",
                allowed=_APC_DESTINATIONS,
                max_length=2,
            ),
            Column("cost", ColumnType.decimal, "cost of the spell in pounds", minimum=0),
        ),
        (
            OrderRule(
                "discharge_before_admission",
                "discharge_date",
                "admission_date",
                "discharge is before admission",
            ),
        ),
        key="spell_id",
    ),
    _ds(
        "ecds",
        "acute trust",
        "A&E attendances (Emergency Care Data Set)",
        (
            Column(
                "attendance_id",
                _S,
                "the trust's attendance identifier",
                required=True,
                max_length=64,
            ),
            Column("arrival", ColumnType.datetime, "arrival time with UTC offset", required=True),
            Column("departure", ColumnType.datetime, "departure time with UTC offset"),
            Column(
                "acuity",
                _S,
                "1 (most urgent) to 5",
                allowed=("1", "2", "3", "4", "5"),
                max_length=1,
            ),
            Column(
                "chief_complaint",
                ColumnType.code,
                "chief complaint, SNOMED CT",
                code_system=CodeSystem.snomed,
                max_length=18,
            ),
            Column(
                "discharge_destination",
                ColumnType.code,
                "discharge destination, SNOMED CT (306689006 home, 306706006 ward...)",
                code_system=CodeSystem.snomed,
                max_length=18,
            ),
        ),
        (
            OrderRule(
                "departure_before_arrival",
                "departure",
                "arrival",
                "departure is before arrival",
            ),
        ),
        key="attendance_id",
    ),
    _ds(
        "opa",
        "acute trust",
        "outpatient appointments",
        (
            Column("appointment_date", _D, "date of the appointment", required=True),
            Column(
                "treatment_function",
                _S,
                "NHS treatment function code (three digits)",
                pattern="[0-9]{3}",
                pattern_hint="three digits",
                max_length=3,
            ),
            Column(
                "first_attendance",
                _S,
                "1 first, 2 follow-up, 3 first by telephone, 4 follow-up by telephone, "
                "5 administrative",
                allowed=("1", "2", "3", "4", "5"),
                max_length=1,
            ),
            Column(
                "attended",
                _S,
                "5 seen, 6 late but seen, 7 late not seen, 3 did not attend, "
                "2 cancelled by patient, 4 by hospital, 0 not applicable",
                allowed=("0", "2", "3", "4", "5", "6", "7"),
                max_length=1,
            ),
        ),
    ),
    _ds(
        "csds",
        "community trust",
        "community contacts (Community Services Data Set)",
        (
            Column("contact_date", _D, "date of the contact", required=True),
            Column(
                "team_type",
                _S,
                "the community team",
                allowed=(
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
                ),
                max_length=40,
            ),
            Column(
                "contact_type",
                _S,
                "how the contact happened",
                allowed=(
                    "face_to_face_home",
                    "face_to_face_clinic",
                    "face_to_face_other",
                    "telephone",
                    "video",
                    "inpatient",
                ),
                max_length=40,
            ),
        ),
    ),
    _ds(
        "mhsds",
        "mental health trust",
        "mental health contacts and admissions (Mental Health Services Data Set)",
        (
            Column("contact_date", _D, "date of the contact or admission", required=True),
            Column(
                "service_type",
                _S,
                "the mental health service",
                allowed=(
                    "talking_therapies",
                    "community_mental_health",
                    "early_intervention_psychosis",
                    "crisis_home_treatment",
                    "adult_acute_inpatient",
                    "older_adult_inpatient",
                    "memory_assessment",
                    "camhs",
                ),
                max_length=40,
            ),
            Column("inpatient", ColumnType.boolean, "Y for an inpatient admission, else N"),
            Column("out_of_area", ColumnType.boolean, "Y for an out-of-area placement, else N"),
        ),
    ),
    _ds(
        "asc",
        "local authority",
        "adult social care requests and services",
        (
            Column("request_date", _D, "date care was requested", required=True),
            Column(
                "service_type",
                _S,
                "the service provided",
                allowed=(
                    "home_care",
                    "residential_care",
                    "nursing_care",
                    "day_care",
                    "direct_payment",
                    "equipment",
                    "carer_support",
                    "reablement",
                ),
                max_length=40,
            ),
            Column("start_date", _D, "start of the service; blank if none followed"),
            Column("end_date", _D, "end of the service; blank while it runs"),
            Column("weekly_cost", ColumnType.decimal, "weekly cost in pounds", minimum=0),
        ),
        (
            OrderRule(
                "start_before_request", "start_date", "request_date", "start is before request"
            ),
            OrderRule("end_before_start", "end_date", "start_date", "end is before start"),
        ),
    ),
    _ds(
        "deaths",
        "death registry",
        "registered deaths",
        (
            Column("date_of_death", _D, "date of death", required=True),
            Column(
                "underlying_cause",
                ColumnType.code,
                "underlying cause of death, ICD-10",
                code_system=CodeSystem.icd10,
                max_length=8,
            ),
            Column(
                "code",
                _S,
                "cause in another vocabulary (OMOP concept id)",
                staged_only=True,
                max_length=200,
            ),
            Column("code_system", _S, _CODE_KINDS, staged_only=True, max_length=200),
        ),
    ),
)

_FHIR = Dataset(
    "gp_fhir",
    "GP practice",
    "FHIR R4 Bundles (a JSON Bundle, or NDJSON with one Bundle a line)",
    "fhir",
    maps_to=("gp_patients", "gp_events", "allergies"),
)


def _omop(
    name: str, rows_are: str, maps_to: tuple[str, ...], columns: tuple[Column, ...]
) -> Dataset:
    return Dataset(
        f"omop_{name}",
        "any partner on an OMOP platform",
        rows_are,
        "omop",
        columns,
        maps_to=maps_to,
    )


def _oc(name: str, description: str, required: bool = False) -> Column:
    return Column(name, _S, description, required=required, max_length=2000)


_PERSON_ID = _oc("person_id", "OMOP person id (becomes local_patient_id)", required=True)
_OMOP: tuple[Dataset, ...] = (
    _omop(
        "person",
        "people",
        ("gp_patients",),
        (
            _PERSON_ID,
            _oc("gender_concept_id", "8507 male, 8532 female (else U)", required=True),
            _oc("year_of_birth", "year of birth", required=True),
            _oc("month_of_birth", "month of birth"),
            _oc("day_of_birth", "day of birth"),
            _oc("birth_datetime", "date and time of birth (used first when present)"),
            _oc("person_source_value", "source identifier; an NHS number when it is one"),
            _oc("care_site_id", "care site (becomes practice_code)"),
        ),
    ),
    _omop(
        "visit_occurrence",
        "visits",
        ("apc", "ecds", "opa"),
        (
            _oc("visit_occurrence_id", "visit id (spell_id / attendance_id)", required=True),
            _PERSON_ID,
            _oc(
                "visit_concept_id",
                "9201/262/8717 inpatient → apc, 9203 ER → ecds, else opa",
                required=True,
            ),
            _oc("visit_start_date", "start date", required=True),
            _oc("visit_start_datetime", "start date and time"),
            _oc("visit_end_date", "end date"),
            _oc("visit_end_datetime", "end date and time"),
        ),
    ),
    _omop(
        "condition_occurrence",
        "conditions",
        ("gp_events",),
        (
            _oc("condition_occurrence_id", "row id", required=True),
            _PERSON_ID,
            _oc("condition_concept_id", "condition concept (code, vocabulary omop)", required=True),
            _oc("condition_start_date", "onset or record date", required=True),
            _oc("condition_source_value", "source code text (display)"),
        ),
    ),
    _omop(
        "drug_exposure",
        "medications",
        ("gp_events",),
        (
            _oc("drug_exposure_id", "row id", required=True),
            _PERSON_ID,
            _oc("drug_concept_id", "drug concept (code, vocabulary omop)", required=True),
            _oc("drug_exposure_start_date", "start date", required=True),
            _oc("drug_source_value", "source code text (display)"),
        ),
    ),
    _omop(
        "measurement",
        "measurements",
        ("gp_events",),
        (
            _oc("measurement_id", "row id", required=True),
            _PERSON_ID,
            _oc(
                "measurement_concept_id",
                "measurement concept (code, vocabulary omop)",
                required=True,
            ),
            _oc("measurement_date", "date", required=True),
            _oc("value_as_number", "numeric value"),
            _oc("unit_source_value", "unit as sent (else unit_concept_id)"),
            _oc("unit_concept_id", "unit concept"),
            _oc("measurement_source_value", "source code text (display)"),
        ),
    ),
    _omop(
        "observation",
        "observations",
        ("gp_events",),
        (
            _oc("observation_id", "row id", required=True),
            _PERSON_ID,
            _oc(
                "observation_concept_id",
                "observation concept (code, vocabulary omop)",
                required=True,
            ),
            _oc("observation_date", "date", required=True),
            _oc("value_as_number", "numeric value"),
            _oc("unit_source_value", "unit as sent"),
            _oc("observation_source_value", "source code text (display)"),
        ),
    ),
    _omop(
        "death",
        "deaths",
        ("deaths",),
        (
            _PERSON_ID,
            _oc("death_date", "date of death", required=True),
            _oc("cause_concept_id", "cause concept (code, vocabulary omop)"),
            _oc("cause_source_value", "cause as sent; used as underlying_cause when ICD-10"),
        ),
    ),
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (*_CSV, _FHIR, *_OMOP)}


def dataset(name: str) -> Dataset:
    """The declaration of dataset ``name``; a clear error for an unknown one."""
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(DATASETS)
        raise KeyError(f"unknown dataset {name!r}; known datasets: {known}") from None


def extract_datasets() -> tuple[Dataset, ...]:
    """Every dataset a partner may send, in contract order."""
    return tuple(DATASETS.values())


def staged_datasets() -> tuple[Dataset, ...]:
    """Datasets with a staged lake table (``staged_<name>``): the CSV kinds."""
    return tuple(d for d in DATASETS.values() if d.format == "csv")
