"""Row-level validation: pure checks on single values, and their set-based SQL form.

The rules are written once, from the dataset declarations in
:mod:`wholesystem.record.schemas`, as DuckDB SQL that runs over a whole file at once:
:func:`check_sql` flags the failing rows cheaply, :func:`errors_sql` says what is wrong
with them and :func:`typed_sql` types the good ones. The pure-Python functions here are
used for what SQL does badly (the SNOMED CT Verhoeff check digit, applied to the
distinct codes only) and for messages about single values (forms, FHIR mapping).

A failing row carries one or more problems, each ``column``, ``rule`` and ``message``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
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
    "constant_text",
    "errors_sql",
    "install_macros",
    "nhs_number_problem",
    "normalise_nhs_number",
    "normalised",
    "parse_problems",
    "snomed_check",
    "snomed_valid",
    "typed_columns",
    "typed_sql",
    "unnamed_check",
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


_KEY_HASH = "ws_key_md5"  # a helper column (see check_sql)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _v(col: Column) -> str:
    # Sources hand over values already trimmed, with blanks as NULL (see normalised()).
    return _q(col.name)


def normalised(name: str, *, unicode_spaces: bool = True, padded: bool = True) -> str:
    """SQL for a raw text column trimmed, with a blank value as NULL.

    DuckDB's ``trim`` strips the Unicode space separators (U+0020, U+00A0, U+1680,
    U+2000-U+200A, U+202F, U+205F, U+3000) and is slow. When the text holds none but
    U+0020 (``unicode_spaces`` false: see :attr:`FileFacts.unicode_spaces`), only values
    that start or end with a space, or are empty, can change, and only those are trimmed.
    When, moreover, no value can start or end with a space (``padded`` false: see
    :attr:`FileFacts.padded`), the column is taken as it is: DuckDB's CSV reader already
    reads an empty value, quoted or not, as NULL.
    """
    q = _q(name)
    if unicode_spaces:
        return f"NULLIF(trim({q}), '')"
    if not padded:
        return q
    return (
        f"CASE WHEN prefix({q}, ' ') OR suffix({q}, ' ') OR {q} = '' "
        f"THEN NULLIF(trim({q}), '') ELSE {q} END"
    )


def _err(col: str, rule: str, message_sql: str) -> str:
    return f"{_lit(col + FIELD_SEP + rule + FIELD_SEP)} || {message_sql}"


@dataclass(frozen=True)
class _Check:
    """One check as SQL: unless ``guard`` holds, the first true condition gives its error.

    The same branches render two ways: :meth:`case` (the row's error text, or NULL), run
    only over the few failing rows, and :meth:`fails` (a cheap boolean: does :meth:`case`
    give an error?), run over every row. Each error expression is non-NULL whenever its
    condition holds, so ``fails`` is true exactly when ``case`` is not NULL.
    """

    branches: tuple[tuple[str, str], ...]
    guard: str | None = None

    def case(self) -> str:
        whens = " ".join(f"WHEN {cond} THEN {err}" for cond, err in self.branches)
        if self.guard is not None:
            whens = f"WHEN {self.guard} THEN NULL {whens}"
        return f"CASE {whens} END"

    def fails(self) -> str:
        # A NULL condition counts as false, as in CASE; check_sql coalesces the whole OR.
        conds = " OR ".join(f"({cond})" for cond, _ in self.branches)
        if self.guard is not None:
            return f"(({self.guard}) IS NOT TRUE AND ({conds}))"
        return f"({conds})"


def _one(cond: str, err: str) -> _Check:
    return _Check(((cond, err),))


def _helper(ds: Dataset, col: Column, what: str) -> str:
    # Not ``_``-prefixed, so never kept with a quarantined row's raw values.
    return f"ws_{ds.columns.index(col)}_{what}"


def _helpers(ds: Dataset) -> dict[str, str]:
    """Values several checks need, computed once per row: helper column name → SQL."""
    out: dict[str, str] = {}
    for col in ds.columns:
        v = _v(col)
        if col.type is ColumnType.date:
            out[_helper(ds, col, "t")] = f"TRY_CAST({v} AS DATE)"
        elif col.type is ColumnType.datetime:
            out[_helper(ds, col, "t")] = f"TRY_CAST({v} AS TIMESTAMPTZ)"
        elif col.type is ColumnType.nhs_number:
            # A macro repeats its argument: the digits are worked out once, here.
            out[_helper(ds, col, "d")] = f"ws_nhs({v})"
    return out


def _number_helpers(ds: Dataset) -> dict[str, str]:
    """Helpers over :func:`_helpers`' columns: an NHS number's digits as a number."""
    return {
        _helper(ds, col, "n"): f"TRY_CAST({_q(_helper(ds, col, 'd'))} AS UBIGINT)"
        for col in ds.columns
        if col.type is ColumnType.nhs_number
    }


def _cast(ds: Dataset, col: Column) -> str:
    """The column as a DATE or TIMESTAMPTZ (NULL when it is not one): a helper column."""
    if col.type not in (ColumnType.date, ColumnType.datetime):
        raise ValueError(f"{col.name} is not a date or time")
    return _q(_helper(ds, col, "t"))


def _when_checks(ds: Dataset, col: Column, today: date, now: datetime) -> list[tuple[str, str]]:
    """The branches of a date or date-time column's check."""
    v = _v(col)
    name = col.name
    show = _q(_helper(ds, col, "show"))  # ws_show of the value: see errors_sql
    t = _cast(ds, col)
    if col.type is ColumnType.date:
        ok = f"(length({v}) = 10 AND {v}[5] = '-' AND {v}[8] = '-' AND {t} IS NOT NULL)"
        rule, what = "not_a_date", "' is not a date (YYYY-MM-DD)'"
        latest = f"DATE {_lit(today.isoformat())}"
        earliest = f"DATE {_lit(_EARLIEST)}"
    else:
        ok = f"(regexp_full_match({v}, {_lit(_DATETIME_PATTERN)}) AND {t} IS NOT NULL)"
        rule = "not_a_datetime"
        what = "' is not an ISO 8601 date and time with a UTC offset (2024-07-01T13:05:00+01:00)'"
        latest = f"TIMESTAMPTZ {_lit(now.isoformat())}"
        earliest = f"TIMESTAMPTZ {_lit(_EARLIEST + ' 00:00:00+00')}"
    return [
        (f"NOT {ok}", _err(name, rule, f"{_lit(name + ' ')} || {show} || {what}")),
        (
            f"{t} > {latest}",
            _err(name, "future_date", f"{_lit(name + ' ')} || {show} || ' is in the future'"),
        ),
        (
            f"{t} < {earliest}",
            _err(name, "date_before_1900", f"{_lit(name + ' ')} || {show} || ' is before 1900'"),
        ),
    ]


def _column_checks(ds: Dataset, col: Column, today: date, now: datetime) -> list[_Check]:
    v = _v(col)
    name = col.name
    show = _q(_helper(ds, col, "show"))  # ws_show of the value: see errors_sql
    checks: list[_Check] = []
    if col.required:
        checks.append(_one(f"{v} IS NULL", _err(name, "required", _lit(f"{name} is blank"))))
    # A value's bytes (strlen, stored with it) are at least its characters (length, which
    # reads the whole value): only a value over the limit in bytes has them counted.
    longer = f"length({v}) > {col.max_length}"
    checks.append(
        _one(
            f"CASE WHEN strlen({v}) > {col.max_length} THEN {longer} ELSE false END",
            _err(
                name,
                "too_long",
                f"{_lit(name + ' is ')} || length({v}) || "
                f"{_lit(f' characters long; at most {col.max_length} allowed')}",
            ),
        )
    )
    kind = col.type
    if kind in (ColumnType.date, ColumnType.datetime):
        checks.append(_Check(tuple(_when_checks(ds, col, today, now)), guard=f"{v} IS NULL"))
    elif kind is ColumnType.integer:
        checks.append(
            _one(
                f"{v} IS NOT NULL AND NOT regexp_full_match({v}, '-?[0-9]{{1,18}}')",
                _err(
                    name,
                    "not_an_integer",
                    f"{_lit(name + ' ')} || {show} || ' is not a whole number'",
                ),
            )
        )
    elif kind is ColumnType.decimal:
        # Staged as DECIMAL(18, scale): more whole digits would overflow the cast and fail
        # the whole file, so such a value is this row's fault and goes to quarantine.
        whole = 18 - col.scale
        pattern = f"-?[0-9]{{1,{whole}}}(\\.[0-9]{{1,{col.scale}}})?"
        checks.append(
            _one(
                f"{v} IS NOT NULL AND NOT regexp_full_match({v}, {_lit(pattern)})",
                _err(
                    name,
                    "not_a_decimal",
                    f"{_lit(name + ' ')} || {show} || "
                    f"{_lit(f' is not a number with at most {col.scale} decimal places')}"
                    f" || {_lit(f' and {whole} whole digits')}",
                ),
            )
        )
        if col.minimum is not None:
            checks.append(
                _one(
                    f"TRY_CAST({v} AS DOUBLE) < {col.minimum}",
                    _err(
                        name,
                        "out_of_range",
                        f"{_lit(name + ' ')} || {show} || {_lit(f' is below {col.minimum:g}')}",
                    ),
                )
            )
    elif kind is ColumnType.boolean:
        checks.append(
            _one(
                f"{v} IS NOT NULL AND {v} NOT IN ('Y', 'N')",
                _err(name, "not_a_boolean", f"{_lit(name + ' ')} || {show} || ' is not Y or N'"),
            )
        )
    elif kind is ColumnType.nhs_number:
        digits, number = _q(_helper(ds, col, "d")), _q(_helper(ds, col, "n"))
        format_error = _err(
            name,
            "nhs_number_format",
            f"'NHS number ' || {show} || ' is not ten digits (spaces allowed, as 943 476 5919)'",
        )
        check_error = _err(
            name,
            "nhs_number_check_digit",
            f"'NHS number ' || {show} || ' fails the modulus-11 check digit'",
        )
        # The second branch is reached only for ten digits, where TRY_CAST is CAST.
        checks.append(
            _Check(
                (
                    (f"NOT regexp_full_match({digits}, '[0-9]{{10}}')", format_error),
                    (f"ws_nhs_bad({number})", check_error),
                ),
                guard=f"{v} IS NULL",
            )
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
            _one(
                f"{v} IS NOT NULL AND NOT regexp_full_match({v}, {_lit(pattern)})",
                _err(
                    name,
                    f"{col.code_system.value}_format",
                    f"{_lit(name + ' ')} || {show} || {_lit(what)}",
                ),
            )
        )
    if col.allowed:
        allowed = " ".join(f"WHEN {_lit(a)} THEN false" for a in col.allowed)
        listed = ", ".join(col.allowed)
        # A CASE, not IN nor list_contains: DuckDB plans a list of constants as a join,
        # which would give up the file order a checked table is filled in.
        checks.append(
            _one(
                f"CASE {v} {allowed} ELSE {v} IS NOT NULL END",
                _err(
                    name,
                    "not_allowed",
                    f"{_lit(name + ' ')} || {show} || {_lit(f' is not one of: {listed}')}",
                ),
            )
        )
    if col.pattern:
        checks.append(
            _one(
                f"{v} IS NOT NULL AND NOT regexp_full_match({v}, {_lit(col.pattern)})",
                _err(
                    name,
                    "bad_format",
                    f"{_lit(name + ' ')} || {show} || {_lit(' is not ' + col.pattern_hint)}",
                ),
            )
        )
    return checks


def _checks(ds: Dataset, today: date, now: datetime) -> list[_Check]:
    """Every check of ``ds`` in declaration order: columns, then the order rules."""
    checks: list[_Check] = []
    for col in ds.columns:
        checks.extend(_column_checks(ds, col, today, now))
    for rule in ds.rules:
        later, earlier = ds.column(rule.later), ds.column(rule.earlier)
        message = (
            f"{_lit(rule.message + ': ' + later.name + ' ')} || {_v(later)} || "
            f"{_lit(' is before ' + earlier.name + ' ')} || {_v(earlier)}"
        )
        checks.append(
            _one(f"{_cast(ds, later)} < {_cast(ds, earlier)}", _err(later.name, rule.name, message))
        )
    return checks


def snomed_check(col: Column, bad_codes: str) -> str:
    """SQL: the error for a code listed in table ``bad_codes`` (column ``v``), else NULL.

    The SNOMED CT Verhoeff check digit is worked out in Python over the distinct
    well-formed codes only (see :func:`snomed_valid`); the caller lists the failing
    ones in ``bad_codes`` and passes this to :func:`errors_sql`.
    """
    v = _v(col)
    prefix = _lit(f"{col.name}{FIELD_SEP}snomed_check_digit{FIELD_SEP}{col.name} '")
    error = f"{prefix} || {v} || ''' fails the SNOMED CT Verhoeff check digit'"
    return _one(f"{v} IN (SELECT v FROM {bad_codes})", error).case()  # noqa: S608


def unnamed_check(name: str, position: int) -> tuple[str, str]:
    """A row with a value in column ``name``, at ``position`` of a header that left it
    blank: SQL for the condition, and for its error (or NULL) as :func:`errors_sql`'s
    ``extra`` takes it. Such a value has nowhere to go: the row is quarantined rather
    than the value dropped."""
    q = _q(name)
    label = f"(column {position})"
    error = _err(
        label,
        "value_without_header",
        f"{_lit(f'column {position} has no header, but this row has a value there: ')} "
        f"|| ws_show({q})",
    )
    return f"{q} IS NOT NULL", f"CASE WHEN {q} IS NOT NULL THEN {error} END"


def check_sql(
    ds: Dataset, source: str, today: date, now: datetime, extra: Sequence[str] = ()
) -> str:
    """SELECT over ``source`` adding ``ws_bad``: whether the row breaks any rule, or
    meets any of the ``extra`` conditions (see :func:`unnamed_check`).

    ``source`` must have every column of ``ds`` (VARCHAR, NULL when absent) plus
    ``line`` and any extra columns to keep with a quarantined row. Only a cheap boolean
    is worked out for every row, with the helper columns ``ws_<i>_<what>`` it needs
    (values as dates, NHS number digits), which :func:`errors_sql` and
    :func:`typed_sql` use in turn: materialise this, then say what is wrong with the
    failing rows alone. The SNOMED CT check digit is left to the caller
    (:func:`snomed_check`).
    """
    fails = " OR\n  ".join([*(c.fails() for c in _checks(ds, today, now)), *extra])
    for helpers in (_helpers(ds), _number_helpers(ds)):
        if helpers:
            cols = "".join(f", {sql} AS {_q(name)}" for name, sql in helpers.items())
            source = f"(SELECT *{cols} FROM {source})"  # noqa: S608
    # The content hash behind a record key without one of its own, worked out here
    # rather than as the part is written: this pass runs on every thread the read does.
    # concat skips NULLs: the same text as concat_ws('|', coalesce(c, ''), ...), cheaper.
    content = ", '|', ".join(_q(c.name) for c in ds.columns)
    hashed = f"md5(concat({content}))"
    if ds.key_column:  # only a row without its natural key needs it
        hashed = f"CASE WHEN {_v(ds.column(ds.key_column))} IS NULL THEN {hashed} END"
    return (
        f"SELECT *, coalesce(\n  {fails}, false) AS ws_bad, "  # noqa: S608
        f"{hashed} AS {_KEY_HASH} FROM {source}"
    )


def errors_sql(
    ds: Dataset,
    table: str,
    today: date,
    now: datetime,
    *,
    extra: Sequence[str] = (),
    where: str = "ws_bad",
) -> str:
    """SELECT the rows of checked ``table`` (see :func:`check_sql`) where ``where`` holds,
    adding ``errs``: every problem.

    ``errs`` is '' for a good row; otherwise its problems in declaration order, then
    ``extra`` (SQL giving an error or NULL, as :func:`snomed_check` does), each problem
    ``column``, ``rule`` and ``message`` joined by :data:`FIELD_SEP` and the problems
    joined by :data:`ERROR_SEP`. Decode it with :func:`parse_problems`.
    """
    cases = ",\n  ".join([*(c.case() for c in _checks(ds, today, now)), *extra])
    # Each value as messages show it, worked out once per row rather than in every message.
    shows = "".join(f", ws_show({_v(c)}) AS {_q(_helper(ds, c, 'show'))}" for c in ds.columns)
    hidden = ", ".join(_q(_helper(ds, c, "show")) for c in ds.columns)
    return (
        f"SELECT * EXCLUDE ({hidden}), concat_ws({_lit(ERROR_SEP)},\n  {cases}) AS errs "  # noqa: S608
        f"FROM (SELECT *{shows} FROM {table} WHERE {where})"
    )


def _typed(ds: Dataset, col: Column, *, safe: bool = False) -> str:
    v = _v(col)
    kind = col.type
    cast = "TRY_CAST" if safe else "CAST"
    if kind in (ColumnType.date, ColumnType.datetime):
        # The helper's TRY_CAST, worked out while the file was read: a good row's value
        # casts, so it is the CAST's.
        return _cast(ds, col)
    if kind is ColumnType.integer:
        return f"{cast}({v} AS BIGINT)"
    if kind is ColumnType.decimal:
        return f"{cast}({v} AS DECIMAL(18, {col.scale}))"
    if kind is ColumnType.boolean:
        return f"({v} = 'Y')"
    if kind is ColumnType.nhs_number:
        return f"NULLIF({_q(_helper(ds, col, 'd'))}, '')"  # ws_nhs of the value
    if kind is ColumnType.code and col.multiple:
        return f"string_split({v}, '|')"
    return v


def constant_text(text: str) -> str:
    """SQL for a text the same in every row of a part, as an ENUM of that one value.

    DuckDB writes an ENUM to Parquet as the string column it stands for (dictionary
    encoded), so readers see text; but without hashing every row's value into a
    dictionary, about a sixth of the work of writing the same VARCHAR.
    """
    return f"CAST({_lit(text)} AS ENUM({_lit(text)}))"


def typed_sql(
    ds: Dataset, table: str, org_code: str, source_file: str, run_id: int, fmt: str
) -> str:
    """SELECT the good rows of checked ``table`` as typed columns plus provenance."""
    body = ",\n  ".join(typed_columns(ds, org_code, source_file, run_id, fmt))
    return f"SELECT\n  {body}\nFROM {table} WHERE NOT ws_bad"


def typed_columns(
    ds: Dataset, org_code: str, source_file: str, run_id: int, fmt: str, *, safe: bool = False
) -> list[str]:
    """The select list of a staged part over a checked relation: ``ds``'s columns typed,
    then the provenance columns. ``safe``: a failing row's values give NULL rather than an
    error, for a query over every row (a good row's values are the same either way)."""
    cols = [f"{_typed(ds, c, safe=safe)} AS {_q(c.name)}" for c in ds.columns]
    if ds.key_column:
        natural = f"{_lit(org_code + ':' + ds.name + ':')} || {_v(ds.column(ds.key_column))}"
    else:
        natural = "NULL"
    fallback = f"{_lit(org_code + ':' + ds.name + ':')} || {_KEY_HASH}"
    provenance = [
        f"{constant_text(org_code)} AS org_code",
        f"{constant_text(source_file)} AS source_file",
        "CAST(line AS BIGINT) AS source_line",
        f"CAST({run_id} AS BIGINT) AS ingest_run_id",
        f"coalesce(_key, {natural}, {fallback}) AS record_key",
        f"{constant_text(fmt)} AS source_format",
    ]
    return cols + provenance
