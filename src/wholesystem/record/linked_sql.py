"""The SQL that builds the linked lake tables from the staged tables and the person index.

Pure text: every function returns a DuckDB statement assembled from this module's own
constants and the dataset declarations of :mod:`wholesystem.record.schemas` (never from
input). :mod:`wholesystem.record.linked` runs them and writes the results.

The relations the statements read (created by :func:`wholesystem.record.linked`):

* ``ws_who``: every ``source_identity`` row with its ``person_id`` (NULL when the record is
  not in ``person_index``);
* ``ws_<dataset>``: every staged row of that dataset without its identity columns, plus
  ``record_id`` and ``person_id`` of the source record it belongs to (NULL when none), and
  for ``gp_events`` its ``class`` (condition, observation, medication or encounter);
* ``ws_codes``: ``record/data/gp_event_codes.csv`` (code, class, display, hierarchy).
* ``ws_term(system, code)``: a macro giving the code's term from
  ``record/data/code_terms.csv`` (:mod:`wholesystem.record.terms`), or NULL.

Dates without a time (most extracts) become times at midnight UK time (Europe/London) at the
start of that day; times with an offset (ECDS) keep their instant and give their UK date.
"""

# ruff: noqa: S608 -- SQL from constants and declarations only.

from __future__ import annotations

from wholesystem.record.schemas import IDENTITY_COLUMNS, ColumnType, Dataset

__all__ = [
    "EMERGENCY_ADMISSION_METHODS",
    "EVENT_DATASETS",
    "SETTINGS",
    "TABLE_ORDER",
    "empty_staged_sql",
    "event_raw_sql",
    "event_sql",
    "gp_events_sql",
    "keyed_sql",
    "person_sql",
    "table_sql",
    "unlinked_sql",
]

UK_TIME = "Europe/London"
SETTINGS = (
    "gp",
    "ae",
    "inpatient",
    "outpatient",
    "community",
    "mental_health",
    "social_care",
    "death",
)
"""The allowed values of ``event.setting``."""
EMERGENCY_ADMISSION_METHODS = ("21", "22", "23", "24", "25", "2A", "2B", "2C", "2D", "28")
"""NHS Data Dictionary, Admission Method: the emergency admissions (21-28, 2A-2D)."""
EVENT_DATASETS = ("gp_events", "apc", "ecds", "opa", "csds", "mhsds", "asc", "deaths")
"""Staged datasets with rows in ``event`` (gp_events: its encounters only)."""
_PROVENANCE: tuple[tuple[str, str], ...] = (
    ("org_code", "VARCHAR"),
    ("source_file", "VARCHAR"),
    ("source_line", "BIGINT"),
    ("ingest_run_id", "BIGINT"),
    ("record_key", "VARCHAR"),
    ("source_format", "VARCHAR"),
)


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


def _uk_midnight(date_sql: str) -> str:
    """The instant a UK calendar day starts (TIMESTAMPTZ)."""
    return f"timezone({_lit(UK_TIME)}, CAST({date_sql} AS TIMESTAMP))"


def _uk_date(time_sql: str) -> str:
    """The UK calendar date of an instant."""
    return f"CAST(timezone({_lit(UK_TIME)}, {time_sql}) AS DATE)"


def _sql_type(kind: ColumnType, scale: int, multiple: bool) -> str:
    """The staged Parquet type of a declared column (as ``validate.typed_sql`` writes it)."""
    if kind is ColumnType.date:
        return "DATE"
    if kind is ColumnType.datetime:
        return "TIMESTAMPTZ"
    if kind is ColumnType.integer:
        return "BIGINT"
    if kind is ColumnType.decimal:
        return f"DECIMAL(18, {scale})"
    if kind is ColumnType.boolean:
        return "BOOLEAN"
    if kind is ColumnType.code and multiple:
        return "VARCHAR[]"
    return "VARCHAR"


def empty_staged_sql(ds: Dataset) -> str:
    """A relation with the staged table's columns and no rows (a dataset nobody sent)."""
    cols = [
        f'CAST(NULL AS {_sql_type(c.type, c.scale, c.multiple)}) AS "{c.name}"' for c in ds.columns
    ]
    cols += [f"CAST(NULL AS {t}) AS {n}" for n, t in _PROVENANCE]
    return "SELECT " + ", ".join(cols) + " WHERE false"


def keyed_sql(dataset: str, staged: str) -> str:
    """``ws_<dataset>``: staged rows with their source record and person, identity dropped.

    The match is on the whole identity (null-safe), the same values ``source_identity`` was
    built from, so it does not depend on how record ids are spelt.
    """
    same = " AND ".join(
        f"w.{c} IS NOT DISTINCT FROM s.{c}" for c in IDENTITY_COLUMNS if c != "local_patient_id"
    )
    dropped = ", ".join(c for c in IDENTITY_COLUMNS if c != "local_patient_id")
    return (
        f"SELECT s.* EXCLUDE ({dropped}), w.record_id, w.person_id "
        f"FROM {staged} s LEFT JOIN ws_who w ON w.source = s.org_code "
        f"AND w.dataset = {_lit(dataset)} AND w.local_patient_id = s.local_patient_id AND {same}"
    )


def gp_events_sql(staged: str) -> str:
    """``ws_gp_events``: :func:`keyed_sql` plus each row's class and a display.

    FHIR and OMOP rows say what they are (``record_type``); a CSV row (``event``) with a
    value is an observation, else its code's class in ``ws_codes``, else a condition.
    """
    return (
        "SELECT k.*, CASE WHEN k.record_type IN "
        "('condition', 'observation', 'medication', 'encounter') THEN k.record_type "
        "WHEN k.value IS NOT NULL THEN 'observation' "
        "WHEN c.class IS NOT NULL THEN c.class ELSE 'condition' END AS class, "
        "coalesce(k.display, c.display) AS display_text "
        f"FROM ({keyed_sql('gp_events', staged)}) k "
        "LEFT JOIN ws_codes c ON c.code = coalesce(k.code, k.snomed_code)"
    )


# --------------------------------------------------------------------------- event

_EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_id", "VARCHAR"),
    ("person_id", "VARCHAR"),
    ("record_id", "VARCHAR"),
    ("source", "VARCHAR"),
    ("dataset", "VARCHAR"),
    ("setting", "VARCHAR"),
    ("start_time", "TIMESTAMPTZ"),
    ("end_time", "TIMESTAMPTZ"),
    ("start_date", "DATE"),
    ("end_date", "DATE"),
    ("code", "VARCHAR"),
    ("code_system", "VARCHAR"),
    ("display", "VARCHAR"),
    ("codes", "VARCHAR[]"),
    ("diagnoses", "VARCHAR[]"),
    ("procedures", "VARCHAR[]"),
    ("emergency", "BOOLEAN"),
    ("admission_method", "VARCHAR"),
    ("discharge_destination", "VARCHAR"),
    ("acuity", "VARCHAR"),
    ("attended", "BOOLEAN"),
    ("first_attendance", "BOOLEAN"),
    ("inpatient", "BOOLEAN"),
    ("out_of_area", "BOOLEAN"),
    ("service_type", "VARCHAR"),
    ("contact_type", "VARCHAR"),
    ("cost", "DECIMAL(18, 2)"),
    ("record_key", "VARCHAR"),
)
_EVENT_DEFAULTS = {
    "person_id": "person_id",
    "record_id": "record_id",
    "source": "org_code",
    "record_key": "record_key",
    "emergency": "false",
    "inpatient": "false",
    "codes": "list_filter([{code}], lambda x: x IS NOT NULL)",
    "diagnoses": "[]",
    "procedures": "[]",
}


def _one_day(day: str) -> dict[str, str]:
    return {
        "start_date": day,
        "end_date": day,
        "start_time": _uk_midnight(day),
    }


_EVENT_SOURCES: dict[str, dict[str, str]] = {
    "gp_events": {
        "setting": "'gp'",
        **_one_day("event_date"),
        "code_": "coalesce(code, snomed_code)",
        "code_system": "code_system",
        "display": "display_text",
        "attended": "true",
    },
    "apc": {
        "setting": "'inpatient'",
        "start_date": "admission_date",
        "end_date": "discharge_date",
        "start_time": _uk_midnight("admission_date"),
        "end_time": _uk_midnight("discharge_date"),
        "code_": "primary_diagnosis",
        "code_system": "CASE WHEN primary_diagnosis IS NOT NULL THEN 'icd10' END",
        "diagnoses": (
            "list_filter(list_concat([primary_diagnosis], coalesce(secondary_diagnoses, [])), "
            "lambda x: x IS NOT NULL)"
        ),
        "procedures": "coalesce(procedures, [])",
        "codes": (
            "list_concat(list_filter(list_concat([primary_diagnosis], "
            "coalesce(secondary_diagnoses, [])), lambda x: x IS NOT NULL), "
            "coalesce(procedures, []))"
        ),
        "emergency": f"coalesce(admission_method IN {_in(EMERGENCY_ADMISSION_METHODS)}, false)",
        "admission_method": "admission_method",
        "discharge_destination": "discharge_destination",
        "attended": "true",
        "inpatient": "true",
        "cost": "cost",
    },
    "ecds": {
        "setting": "'ae'",
        "start_time": "arrival",
        "end_time": "departure",
        "start_date": _uk_date("arrival"),
        "end_date": _uk_date("departure"),
        "code_": "chief_complaint",
        "code_system": "CASE WHEN chief_complaint IS NOT NULL THEN 'snomed' END",
        "emergency": "true",
        "discharge_destination": "discharge_destination",
        "acuity": "acuity",
        "attended": "true",
    },
    "opa": {
        "setting": "'outpatient'",
        **_one_day("appointment_date"),
        "code_": "NULL",
        "service_type": "treatment_function",
        "first_attendance": (
            "CASE WHEN first_attendance IN ('1', '3') THEN true "
            "WHEN first_attendance IN ('2', '4') THEN false END"
        ),
        "attended": (
            "CASE WHEN attended IN ('5', '6') THEN true WHEN attended IN ('3', '7') THEN false END"
        ),
        "contact_type": (
            "CASE WHEN first_attendance IN ('1', '2') THEN 'face_to_face' "
            "WHEN first_attendance IN ('3', '4') THEN 'telephone_or_video' "
            "WHEN first_attendance = '5' THEN 'administrative' END"
        ),
    },
    "csds": {
        "setting": "'community'",
        **_one_day("contact_date"),
        "code_": "NULL",
        "service_type": "team_type",
        "contact_type": "contact_type",
        "attended": "true",
        "inpatient": "coalesce(contact_type = 'inpatient', false)",
    },
    "mhsds": {
        "setting": "'mental_health'",
        **_one_day("contact_date"),
        "code_": "NULL",
        "service_type": "service_type",
        "attended": "true",
        "inpatient": "coalesce(inpatient, false)",
        "out_of_area": "out_of_area",
    },
    "asc": {
        "setting": "'social_care'",
        "start_date": "coalesce(start_date, request_date)",
        "end_date": "end_date",
        "start_time": _uk_midnight("coalesce(start_date, request_date)"),
        "end_time": _uk_midnight("end_date"),
        "code_": "NULL",
        "service_type": "service_type",
    },
    "deaths": {
        "setting": "'death'",
        **_one_day("date_of_death"),
        "code_": "coalesce(code, underlying_cause)",
        "code_system": (
            "CASE WHEN code IS NOT NULL THEN code_system "
            "WHEN underlying_cause IS NOT NULL THEN 'icd10' END"
        ),
    },
}
assert set(_EVENT_SOURCES) == set(EVENT_DATASETS)
assert all(s["setting"].strip("'") in SETTINGS for s in _EVENT_SOURCES.values())


def _event_select(dataset: str) -> str:
    spec = _EVENT_SOURCES[dataset]
    code = spec["code_"]
    cols = []
    for name, sql_type in _EVENT_COLUMNS:
        if name == "event_id":
            # The staged record key (the source's natural key where it has one: spell,
            # attendance, FHIR resource) prefixed with the organisation.
            expr = (
                "CASE WHEN starts_with(record_key, org_code || ':') THEN record_key "
                "ELSE org_code || ':' || record_key END"
            )
        elif name == "dataset":
            expr = _lit(dataset)
        elif name == "code":
            expr = code
        elif name == "display" and name not in spec:
            # Extracts send codes without text: the code's term, where it is listed.
            system = spec.get("code_system", "NULL")
            expr = f"ws_term({system}, {code})"
        else:
            expr = spec.get(name, _EVENT_DEFAULTS.get(name, "NULL"))
        expr = expr.replace("{code}", f"({code})")
        cols.append(f"CAST({expr} AS {sql_type}) AS {name}")
    cols += ["source_file AS _file", "source_line AS _line"]
    where = "person_id IS NOT NULL" + (" AND class = 'encounter'" if dataset == "gp_events" else "")
    return f"SELECT {', '.join(cols)} FROM ws_{dataset} WHERE {where}"


def event_raw_sql() -> str:
    """``ws_event_raw``: every event of every dataset, ids not yet made unique."""
    return " UNION ALL ".join(_event_select(d) for d in EVENT_DATASETS)


def event_sql() -> str:
    """``ws_event`` from ``ws_event_raw``: a key sent more than once is numbered.

    Only the repeated keys (found with a hash aggregate) go through the window, numbered
    in file order, then by the row's content, so the ids are the same run to run.
    """
    return """
        WITH dups AS (
            SELECT event_id FROM ws_event_raw GROUP BY event_id HAVING count(*) > 1
        ),
        numbered AS (
            SELECT e.rowid AS rid, row_number() OVER (
                PARTITION BY e.event_id ORDER BY e._file, e._line, md5(CAST(e AS VARCHAR))
            ) AS dup
            FROM ws_event_raw e SEMI JOIN dups USING (event_id)
        )
        SELECT e.* EXCLUDE (_file, _line) REPLACE (
            e.event_id || CASE WHEN n.dup > 1 THEN '#' || n.dup ELSE '' END AS event_id)
        FROM ws_event_raw e LEFT JOIN numbered n ON n.rid = e.rowid"""


# --------------------------------------------------------------------------- other tables

_FACT_SQL: dict[str, str] = {
    "source_record": """
        SELECT record_id, person_id, source, dataset, local_patient_id, nhs_number, given_name,
               family_name, date_of_birth, sex, postcode
        FROM ws_who WHERE person_id IS NOT NULL""",
    "registration": """
        SELECT r.person_id, r.record_id, r.org_code AS source, r.practice_code,
               r.registration_date, r.deregistration_date, r.ethnicity,
               coalesce(r.record_key = c.record_key AND r.record_id = c.record_id, false)
                   AS current,
               r.record_key
        FROM ws_gp_patients r LEFT JOIN ws_current c ON c.person_id = r.person_id
        WHERE r.person_id IS NOT NULL""",
    "condition": """
        SELECT person_id, record_id, org_code AS source, 'gp_events' AS dataset,
               coalesce(code, snomed_code) AS code, code_system, display_text AS display,
               event_date AS onset_date, CAST(NULL AS VARCHAR) AS event_id, record_key
        FROM ws_gp_events WHERE person_id IS NOT NULL AND class = 'condition'
        UNION ALL
        SELECT person_id, record_id, source, dataset, code, 'icd10' AS code_system,
               ws_term('icd10', code) AS display, onset_date, event_id, record_key
        FROM (SELECT DISTINCT person_id, record_id, source, dataset,
                     unnest(diagnoses) AS code, start_date AS onset_date, event_id, record_key
              FROM ws_event WHERE dataset = 'apc')""",
    "observation": """
        SELECT person_id, record_id, org_code AS source, 'gp_events' AS dataset,
               coalesce(code, snomed_code) AS code, code_system, display_text AS display,
               CAST(value AS DECIMAL(18, 6)) AS value, unit, event_date AS observed_date,
               record_key
        FROM ws_gp_events WHERE person_id IS NOT NULL AND class = 'observation'""",
    "medication": """
        SELECT person_id, record_id, org_code AS source, 'gp_events' AS dataset,
               coalesce(code, snomed_code) AS code, code_system, display_text AS display,
               event_date AS date, record_key
        FROM ws_gp_events WHERE person_id IS NOT NULL AND class = 'medication'""",
    "allergy": """
        SELECT person_id, record_id, org_code AS source, 'allergies' AS dataset, code,
               code_system, display, recorded_date, clinical_status, criticality, record_key
        FROM ws_allergies WHERE person_id IS NOT NULL""",
    "care_package": """
        SELECT person_id, record_id, org_code AS source, service_type, request_date,
               start_date, end_date, CAST(weekly_cost AS DECIMAL(18, 2)) AS weekly_cost,
               record_key
        FROM ws_asc WHERE person_id IS NOT NULL""",
    "event": "SELECT * FROM ws_event",
}
_SORT: dict[str, str] = {
    "person": "person_id",
    "source_record": "person_id, record_id",
    "registration": (
        "person_id, registration_date NULLS FIRST, deregistration_date NULLS LAST, source, "
        "practice_code, record_id, record_key, ethnicity"
    ),
    "event": "person_id, start_time NULLS LAST, event_id",
    "condition": "person_id, onset_date NULLS LAST, code, ALL",
    "observation": "person_id, observed_date NULLS LAST, code, ALL",
    "medication": "person_id, date NULLS LAST, code, ALL",
    "allergy": "person_id, recorded_date NULLS LAST, code, ALL",
    "care_package": "person_id, request_date, ALL",
    "unlinked_record": "dataset, source, local_patient_id, record_key, source_file, source_line",
}
TABLE_ORDER = (
    "person",
    "source_record",
    "registration",
    "event",
    "condition",
    "observation",
    "medication",
    "allergy",
    "care_package",
)
"""The linked tables, in the order ``docs/lake.md`` describes them."""


def _sorted(body: str, table: str) -> str:
    order = _SORT[table]
    if order.endswith(", ALL"):
        # A total order (every column last) makes the file's content the same run to run.
        cols = order.removesuffix(", ALL")
        return f"SELECT * FROM ({body}) ORDER BY {cols}, COLUMNS(*)"
    return f"SELECT * FROM ({body}) ORDER BY {order}"


def table_sql(table: str) -> str:
    """The sorted query of one linked table (other than ``person``)."""
    return _sorted(_FACT_SQL[table], table)


def unlinked_sql(datasets: tuple[str, ...]) -> str:
    """Staged rows and source records that have no person (sorted)."""
    parts = [
        f"SELECT {_lit(d)} AS dataset, org_code AS source, local_patient_id, record_key, "
        "source_file, source_line, record_id, CASE WHEN record_id IS NULL THEN "
        "'the row matches no source_identity record: run wholesystem ingest' ELSE "
        "'its source record is not in the person index: run wholesystem link-index' END "
        f"AS reason FROM ws_{d} WHERE person_id IS NULL"
        for d in datasets
    ]
    parts.append(
        "SELECT dataset, source, local_patient_id, CAST(NULL AS VARCHAR) AS record_key, "
        "CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS BIGINT) AS source_line, record_id, "
        "'the source record is not in the person index: run wholesystem link-index' AS reason "
        "FROM ws_who WHERE person_id IS NULL"
    )
    return _sorted(" UNION ALL ".join(parts), "unlinked_record")


# --------------------------------------------------------------------------- person

_POSTCODE = "upper(regexp_replace(coalesce({}, ''), '[^A-Za-z0-9]', '', 'g'))"
_POSTCODE_OK = "[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}"
_NAME = "upper(regexp_replace(trim({}), '\\s+', ' ', 'g'))"
_FIELDS = ("nhs_number", "given_name", "family_name", "date_of_birth", "sex", "postcode")


def current_registration_sql() -> str:
    """``ws_current``: each person's current GP registration.

    The latest registration (by registration date, an undated one last) that has a
    practice and no deregistration date; ties go to the lowest practice code, then record.
    """
    # arg_min over a tuple key: one pass, no per-group sort (the key has no NULLs).
    return """
        SELECT person_id, chosen.practice_code, chosen.registration_date, chosen.record_id,
               chosen.record_key
        FROM (
            SELECT person_id,
                   arg_min(struct_pack(practice_code, registration_date, record_id, record_key),
                           (registration_date IS NULL,
                            -coalesce(date_diff('day', DATE '1900-01-01', registration_date), 0),
                            practice_code, record_id, record_key)) AS chosen
            FROM ws_gp_patients
            WHERE person_id IS NOT NULL AND practice_code IS NOT NULL
              AND deregistration_date IS NULL
            GROUP BY person_id
        )"""


def person_sql() -> str:
    """The ``person`` table (sorted): chosen identity, registration, sources.

    Each identity value is chosen from the person's source records: the value held by the
    most records wins; a tie goes to the value a GP registration holds, then to the
    smallest value. Values compare after normalising (names upper-cased with single
    spaces, postcodes without spaces); the form shown is the one a GP record holds, else
    the smallest. Only valid values take part: an NHS number of ten digits with a good
    check digit, a postcode shaped like a UK postcode, sex M, F or I (U is used only when
    no record says more).
    """
    pc = _POSTCODE.format("postcode")
    nhs = "regexp_replace(coalesce(nhs_number, ''), '[^0-9]', '', 'g')"
    values = f"""
        SELECT person_id, 'nhs_number' AS field, nhs AS k, nhs AS v, gp
        FROM (SELECT person_id, gp, {nhs} AS nhs FROM recs WHERE nhs_number IS NOT NULL)
        WHERE regexp_full_match(nhs, '[0-9]{{10}}') AND NOT ws_nhs_bad(CAST(nhs AS UBIGINT))
        UNION ALL
        SELECT person_id, 'given_name', {_NAME.format("given_name")}, trim(given_name), gp
        FROM recs WHERE NULLIF(trim(given_name), '') IS NOT NULL
        UNION ALL
        SELECT person_id, 'family_name', {_NAME.format("family_name")}, trim(family_name), gp
        FROM recs WHERE NULLIF(trim(family_name), '') IS NOT NULL
        UNION ALL
        SELECT person_id, 'date_of_birth', CAST(date_of_birth AS VARCHAR),
               CAST(date_of_birth AS VARCHAR), gp
        FROM recs WHERE date_of_birth IS NOT NULL
        UNION ALL
        SELECT person_id, 'sex', sex, sex, gp FROM recs WHERE sex IN ('M', 'F', 'I')
        UNION ALL
        SELECT person_id, 'postcode', pc, left(pc, length(pc) - 3) || ' ' || right(pc, 3), gp
        FROM (SELECT person_id, gp, {pc} AS pc FROM recs WHERE postcode IS NOT NULL)
        WHERE regexp_full_match(pc, '{_POSTCODE_OK}')"""
    pivot = ",\n".join(f"max(CASE WHEN field = '{f}' THEN v END) AS {f}" for f in _FIELDS)
    body = f"""
        WITH recs AS (
            SELECT *, dataset = 'gp_patients' AS gp FROM ws_who WHERE person_id IS NOT NULL
        ),
        vals AS MATERIALIZED ({values}),
        per_key AS (
            SELECT person_id, field, k, count(*) AS n, bool_or(gp) AS gp,
                   coalesce(min(v) FILTER (WHERE gp), min(v)) AS v
            FROM vals GROUP BY person_id, field, k
        ),
        chosen AS (
            SELECT person_id, field, arg_min(v, (-n, NOT gp, k)) AS v, count(*) AS keys
            FROM per_key GROUP BY person_id, field
        ),
        ident AS (
            SELECT person_id, {pivot},
                   list_sort(list(field) FILTER (WHERE keys > 1))
                       AS conflicts_raw
            FROM chosen GROUP BY person_id
        ),
        ethnic AS (
            SELECT person_id,
                   arg_min(ethnicity, (ethnicity IN ('Z', '99'), -n, ethnicity)) AS ethnicity
            FROM (SELECT person_id, ethnicity, count(*) AS n FROM ws_gp_patients
                  WHERE person_id IS NOT NULL AND ethnicity IS NOT NULL
                  GROUP BY person_id, ethnicity)
            GROUP BY person_id
        ),
        died AS (
            SELECT person_id, arg_min(date_of_death, (-n, date_of_death)) AS date_of_death
            FROM (SELECT person_id, date_of_death, count(*) AS n FROM ws_deaths
                  WHERE person_id IS NOT NULL GROUP BY person_id, date_of_death)
            GROUP BY person_id
        ),
        counts AS (
            SELECT person_id, CAST(count(*) AS INTEGER) AS record_count
            FROM ws_index GROUP BY person_id
        ),
        srcs AS (
            SELECT person_id, list_sort(list(DISTINCT source)) AS sources,
                   list_sort(list(DISTINCT dataset)) AS datasets
            FROM ws_who WHERE person_id IS NOT NULL GROUP BY person_id
        )
        SELECT c.person_id, i.nhs_number, i.given_name, i.family_name,
               CAST(i.date_of_birth AS DATE) AS date_of_birth,
               coalesce(i.sex, 'U') AS sex, i.postcode,
               g.practice_code, g.registration_date, e.ethnicity, d.date_of_death,
               c.record_count, coalesce(s.sources, []) AS sources,
               coalesce(s.datasets, []) AS datasets,
               coalesce(i.conflicts_raw, []) AS conflicts
        FROM counts c
        LEFT JOIN ident i USING (person_id)
        LEFT JOIN ws_current g USING (person_id)
        LEFT JOIN ethnic e USING (person_id)
        LEFT JOIN died d USING (person_id)
        LEFT JOIN srcs s USING (person_id)"""
    return _sorted(body, "person")
