"""Row-level validation: pure checks on single values, and their set-based SQL form.

The rules are written once, from the dataset declarations in
:mod:`wholesystem.record.schemas`, as DuckDB SQL that runs over a whole file at once
(:func:`check_sql`, :func:`typed_sql`); the pure-Python functions here are used for what
SQL does badly (the SNOMED CT Verhoeff check digit, applied to the distinct codes only)
and for messages about single values (forms, FHIR mapping).

A failing row carries one or more problems, each ``column``, ``rule`` and ``message``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from wholesystem.record.schemas import CodeSystem, Column, ColumnType, Dataset
from wholesystem.synth.codes import snomed_valid

__all__ = [
    "ERROR_SEP",
    "FIELD_SEP",
    "ICD10_PATTERN",
    "OPCS4_PATTERN",
    "SNOMED_PATTERN",
    "Problem",
    "check_sql",
    "code_problem",
    "install_macros",
    "nhs_number_problem",
    "normalise_nhs_number",
    "normalised",
    "parse_problems",
    "snomed_valid",
    "typed_sql",
]

FIELD_SEP = "\x1f"
ERROR_SEP = "\x1e"

SNOMED_PATTERN = "[1-9][0-9]{5,17}"
ICD10_PATTERN = r"[A-Z][0-9]{2}(\.?[0-9A-Z]{1,2})?"
OPCS4_PATTERN = r"[A-HJ-Z][0-9]{2}(\.?[0-9])?"
_PATTERNS = {
    CodeSystem.snomed: SNOMED_PATTERN,
    CodeSystem.icd10: ICD10_PATTERN,
    CodeSystem.opcs4: OPCS4_PATTERN,
}
_NAMES = {
    CodeSystem.snomed: "SNOMED CT concept id",
    CodeSystem.icd10: "ICD-10 code",
    CodeSystem.opcs4: "OPCS-4 code",
}
_SHAPES = {
    CodeSystem.snomed: "6-18 digits, no leading zero",
    CodeSystem.icd10: "a letter, two digits, then optionally . and 1-2 characters, as J44.1 or I10",
    CodeSystem.opcs4: "a letter, two digits, then optionally . and a digit, as H22.1",
}
_DATETIME_PATTERN = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})"
)
_EARLIEST = "1900-01-01"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one row."""

    column: str
    rule: str
    message: str


def parse_problems(text: str) -> list[Problem]:
    """Decode the ``errs`` text the check SQL builds."""
    problems = []
    for part in text.split(ERROR_SEP):
        if part:
            column, rule, message = part.split(FIELD_SEP, 2)
            problems.append(Problem(column, rule, message))
    return problems


# --------------------------------------------------------------------------- pure checks


def normalise_nhs_number(text: str | None) -> str | None:
    """Ten digits with spaces and hyphens removed, or None when blank."""
    if text is None:
        return None
    digits = text.strip().replace(" ", "").replace("-", "")
    return digits or None


def nhs_number_problem(text: str | None) -> tuple[str, str] | None:
    """(rule, message) when ``text`` is not a valid NHS number; None when valid or blank."""
    digits = normalise_nhs_number(text)
    if digits is None:
        return None
    if len(digits) != 10 or not digits.isdigit():
        return (
            "nhs_number_format",
            f"NHS number {text!r} is not ten digits (spaces allowed as 943 476 5919)",
        )
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    if check == 10 or check != int(digits[9]):
        return (
            "nhs_number_check_digit",
            f"NHS number {text!r} fails the modulus-11 check digit",
        )
    return None


def code_problem(system: CodeSystem, code: str) -> tuple[str, str] | None:
    """(rule, message) when ``code`` is not a well-formed code of ``system``."""
    if not re.fullmatch(_PATTERNS[system], code):
        return (
            f"{system.value}_format",
            f"{code!r} is not a valid {_NAMES[system]} ({_SHAPES[system]})",
        )
    if system is CodeSystem.snomed and not snomed_valid(code):
        return "snomed_check_digit", f"{code!r} fails the SNOMED CT Verhoeff check digit"
    return None


# --------------------------------------------------------------------------- SQL


def install_macros(con: object) -> None:
    """Create the helper macros the generated SQL uses on a DuckDB connection."""
    execute = con.execute  # type: ignore[attr-defined]
    execute("CREATE OR REPLACE MACRO ws_nhs(v) AS replace(replace(trim(v), ' ', ''), '-', '')")
    # Integer arithmetic on the ten digits: much faster than slicing the string.
    weights = " + ".join(f"((n // {10 ** (10 - i)}) % 10) * {11 - i}" for i in range(1, 10))
    execute(f"CREATE OR REPLACE MACRO ws_nhs_bad(n) AS (11 - (({weights}) % 11)) % 11 <> n % 10")
    execute(
        "CREATE OR REPLACE MACRO ws_show(v) AS '''' || left(v, 60) || "
        "CASE WHEN length(v) > 60 THEN '...' ELSE '' END || ''''"
    )


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _v(col: Column) -> str:
    # Sources hand over values already trimmed, with blanks as NULL (see normalised()).
    return _q(col.name)


def normalised(name: str) -> str:
    """SQL for a raw text column trimmed, with a blank value as NULL."""
    return f"NULLIF(trim({_q(name)}), '')"


def _err(col: str, rule: str, message_sql: str) -> str:
    return f"{_lit(col + FIELD_SEP + rule + FIELD_SEP)} || {message_sql}"


def _cast(col: Column) -> str:
    v = _v(col)
    if col.type is ColumnType.date:
        return f"TRY_CAST({v} AS DATE)"
    if col.type is ColumnType.datetime:
        return f"TRY_CAST({v} AS TIMESTAMPTZ)"
    raise ValueError(f"{col.name} is not a date or time")


def _column_checks(col: Column, today: date, now: datetime) -> list[str]:
    v = _v(col)
    name = col.name
    show = f"ws_show({v})"
    checks: list[str] = []
    if col.required:
        checks.append(
            f"CASE WHEN {v} IS NULL THEN {_err(name, 'required', _lit(f'{name} is blank'))} END"
        )
    checks.append(
        f"CASE WHEN length({v}) > {col.max_length} THEN "
        + _err(
            name,
            "too_long",
            f"{_lit(name + ' is ')} || length({v}) || "
            f"{_lit(f' characters long; at most {col.max_length} allowed')}",
        )
        + " END"
    )
    kind = col.type
    if kind is ColumnType.date:
        ok = (
            f"(length({v}) = 10 AND {v}[5] = '-' AND {v}[8] = '-' "
            f"AND TRY_CAST({v} AS DATE) IS NOT NULL)"
        )
        d = f"TRY_CAST({v} AS DATE)"
        checks.append(
            f"CASE WHEN {v} IS NULL THEN NULL WHEN NOT {ok} THEN "
            + _err(
                name, "not_a_date", f"{_lit(name + ' ')} || {show} || ' is not a date (YYYY-MM-DD)'"
            )
            + f" WHEN {d} > DATE {_lit(today.isoformat())} THEN "
            + _err(name, "future_date", f"{_lit(name + ' ')} || {show} || ' is in the future'")
            + f" WHEN {d} < DATE {_lit(_EARLIEST)} THEN "
            + _err(name, "date_before_1900", f"{_lit(name + ' ')} || {show} || ' is before 1900'")
            + " END"
        )
    elif kind is ColumnType.datetime:
        ok = (
            f"(regexp_full_match({v}, {_lit(_DATETIME_PATTERN)}) "
            f"AND TRY_CAST({v} AS TIMESTAMPTZ) IS NOT NULL)"
        )
        t = f"TRY_CAST({v} AS TIMESTAMPTZ)"
        checks.append(
            f"CASE WHEN {v} IS NULL THEN NULL WHEN NOT {ok} THEN "
            + _err(
                name,
                "not_a_datetime",
                f"{_lit(name + ' ')} || {show} || "
                "' is not an ISO 8601 date and time with a UTC offset (2024-07-01T13:05:00+01:00)'",
            )
            + f" WHEN {t} > TIMESTAMPTZ {_lit(now.isoformat())} THEN "
            + _err(name, "future_date", f"{_lit(name + ' ')} || {show} || ' is in the future'")
            + f" WHEN {t} < TIMESTAMPTZ {_lit(_EARLIEST + ' 00:00:00+00')} THEN "
            + _err(name, "date_before_1900", f"{_lit(name + ' ')} || {show} || ' is before 1900'")
            + " END"
        )
    elif kind is ColumnType.integer:
        checks.append(
            f"CASE WHEN {v} IS NOT NULL AND NOT regexp_full_match({v}, '-?[0-9]{{1,18}}') THEN "
            + _err(
                name, "not_an_integer", f"{_lit(name + ' ')} || {show} || ' is not a whole number'"
            )
            + " END"
        )
    elif kind is ColumnType.decimal:
        pattern = f"-?[0-9]{{1,15}}(\\.[0-9]{{1,{col.scale}}})?"
        checks.append(
            f"CASE WHEN {v} IS NOT NULL AND NOT regexp_full_match({v}, {_lit(pattern)}) THEN "
            + _err(
                name,
                "not_a_decimal",
                f"{_lit(name + ' ')} || {show} || "
                f"{_lit(f' is not a number with at most {col.scale} decimal places')}",
            )
            + " END"
        )
        if col.minimum is not None:
            checks.append(
                f"CASE WHEN TRY_CAST({v} AS DOUBLE) < {col.minimum} THEN "
                + _err(
                    name,
                    "out_of_range",
                    f"{_lit(name + ' ')} || {show} || {_lit(f' is below {col.minimum:g}')}",
                )
                + " END"
            )
    elif kind is ColumnType.boolean:
        checks.append(
            f"CASE WHEN {v} IS NOT NULL AND {v} NOT IN ('Y', 'N') THEN "
            + _err(name, "not_a_boolean", f"{_lit(name + ' ')} || {show} || ' is not Y or N'")
            + " END"
        )
    elif kind is ColumnType.nhs_number:
        d = f"ws_nhs({_q(name)})"
        checks.append(
            f"CASE WHEN {v} IS NULL THEN NULL "
            f"WHEN NOT regexp_full_match({d}, '[0-9]{{10}}') THEN "
            + _err(
                name,
                "nhs_number_format",
                f"'NHS number ' || {show} || "
                "' is not ten digits (spaces allowed, as 943 476 5919)'",
            )
            + f" WHEN ws_nhs_bad(CAST({d} AS UBIGINT)) THEN "
            + _err(
                name,
                "nhs_number_check_digit",
                f"'NHS number ' || {show} || ' fails the modulus-11 check digit'",
            )
            + " END"
        )
    elif kind is ColumnType.code:
        assert col.code_system is not None
        one = _PATTERNS[col.code_system]
        pattern = f"({one})(\\|({one}))*" if col.multiple else one
        label, shape = _NAMES[col.code_system], _SHAPES[col.code_system]
        what = (
            f" is not a |-separated list of {label}s ({shape})"
            if col.multiple
            else f" is not a valid {label} ({shape})"
        )
        checks.append(
            f"CASE WHEN {v} IS NOT NULL AND NOT regexp_full_match({v}, {_lit(pattern)}) THEN "
            + _err(
                name,
                f"{col.code_system.value}_format",
                f"{_lit(name + ' ')} || {show} || {_lit(what)}",
            )
            + " END"
        )
    if col.allowed:
        allowed = ", ".join(_lit(a) for a in col.allowed)
        listed = ", ".join(col.allowed)
        checks.append(
            f"CASE WHEN {v} IS NOT NULL AND {v} NOT IN ({allowed}) THEN "
            + _err(
                name,
                "not_allowed",
                f"{_lit(name + ' ')} || {show} || {_lit(f' is not one of: {listed}')}",
            )
            + " END"
        )
    if col.pattern:
        checks.append(
            f"CASE WHEN {v} IS NOT NULL AND NOT regexp_full_match({v}, {_lit(col.pattern)}) THEN "
            + _err(
                name,
                "bad_format",
                f"{_lit(name + ' ')} || {show} || {_lit(' is not ' + col.pattern_hint)}",
            )
            + " END"
        )
    return checks


def check_sql(ds: Dataset, source: str, today: date, now: datetime) -> str:
    """SELECT over ``source`` adding ``errs``: the row's problems ('' when it is good).

    ``source`` must have every column of ``ds`` (VARCHAR, NULL when absent) plus
    ``line`` and any extra columns to keep with a quarantined row.
    """
    checks: list[str] = []
    for col in ds.columns:
        checks.extend(_column_checks(col, today, now))
    for rule in ds.rules:
        later, earlier = ds.column(rule.later), ds.column(rule.earlier)
        message = (
            f"{_lit(rule.message + ': ' + later.name + ' ')} || {_v(later)} || "
            f"{_lit(' is before ' + earlier.name + ' ')} || {_v(earlier)}"
        )
        checks.append(
            f"CASE WHEN {_cast(later)} < {_cast(earlier)} THEN "
            f"{_err(later.name, rule.name, message)} END"
        )
    joined = ",\n  ".join(checks)
    return f"SELECT *, concat_ws({_lit(ERROR_SEP)},\n  {joined}) AS errs FROM {source}"  # noqa: S608


def _typed(col: Column) -> str:
    v = _v(col)
    kind = col.type
    if kind is ColumnType.date:
        return f"CAST({v} AS DATE)"
    if kind is ColumnType.datetime:
        return f"CAST({v} AS TIMESTAMPTZ)"
    if kind is ColumnType.integer:
        return f"CAST({v} AS BIGINT)"
    if kind is ColumnType.decimal:
        return f"CAST({v} AS DECIMAL(18, {col.scale}))"
    if kind is ColumnType.boolean:
        return f"({v} = 'Y')"
    if kind is ColumnType.nhs_number:
        return f"NULLIF(ws_nhs({_q(col.name)}), '')"
    if kind is ColumnType.code and col.multiple:
        return f"string_split({v}, '|')"
    return v


def typed_sql(
    ds: Dataset, table: str, org_code: str, source_file: str, run_id: int, fmt: str
) -> str:
    """SELECT the good rows of checked ``table`` as typed columns plus provenance."""
    cols = [f"{_typed(c)} AS {_q(c.name)}" for c in ds.columns]
    if ds.key_column:
        natural = f"{_lit(org_code + ':' + ds.name + ':')} || {_v(ds.column(ds.key_column))}"
    else:
        natural = "NULL"
    content = ", ".join(f"coalesce({_q(c.name)}, '')" for c in ds.columns)
    fallback = f"{_lit(org_code + ':' + ds.name + ':')} || md5(concat_ws('|', {content}))"
    provenance = [
        f"{_lit(org_code)} AS org_code",
        f"{_lit(source_file)} AS source_file",
        "CAST(line AS BIGINT) AS source_line",
        f"CAST({run_id} AS BIGINT) AS ingest_run_id",
        f"coalesce(_key, {natural}, {fallback}) AS record_key",
        f"{_lit(fmt)} AS source_format",
    ]
    body = ",\n  ".join(cols + provenance)
    return f"SELECT\n  {body}\nFROM {table} WHERE errs = ''"
