"""Standardisation of identity fields, in DuckDB SQL (vectorised; no row-by-row Python).

Every function here has one SQL definition used by the engine, plus thin Python wrappers
for single values (used by tests and by the "why linked" explanations).

* names: accents stripped, upper case, letters only; given name = first word, family
  name = all words joined (``Smith-Jones`` -> ``SMITHJONES``);
* given_canon: the given name's canonical form from :mod:`.nicknames` (BILL -> WILLIAM);
* nhs_number: spaces, dashes and dots removed; kept only if ten digits passing modulus 11;
* date_of_birth: ISO ``YYYY-MM-DD`` (also ``DD/MM/YYYY`` and ``YYYYMMDD``); ``dob_swap``
  is the date with day and month exchanged when that is a different real date;
* sex: ``M``/``F`` (from M, MALE, 1, F, FEMALE, 2, any case); anything else is missing;
* postcode: upper case, letters and digits only; ``outward`` = all but the last three;
* address: upper case, accents and punctuation removed, single spaces.
"""

# SQL here is assembled from this module's own constants and checked identifiers; values
# come in as parameters, registered tables or quoted paths, never as user text.
# ruff: noqa: S608

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from wholesystem.record.linkage.nicknames import canonical_given_names

__all__ = [
    "IDENTITY_COLUMNS",
    "STANDARD_COLUMNS",
    "nhs_number_is_valid",
    "normalise_nhs_number",
    "register_nicknames",
    "standardise",
    "standardise_sql",
]

IDENTITY_COLUMNS = (
    "record_id",
    "source",
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "postcode",
    "address",
)

STANDARD_COLUMNS = (
    "record_id",
    "source",
    "nhs",
    "given",
    "given_canon",
    "family",
    "dob",
    "dob_swap",
    "sex",
    "postcode",
    "outward",
    "address",
)


def _letters(expr: str) -> str:
    return (
        f"nullif(regexp_replace(upper(strip_accents(translate({expr}, 'Łłß', 'Lls'))), "
        f"'[^A-Z]', '', 'g'), '')"
    )


def _nhs_digits(expr: str) -> str:
    text = f"trim(CAST({expr} AS VARCHAR))"
    # Nearly every value is ten digits already: only the others are rewritten, which is
    # what costs (about half the time over four million records).
    return (
        f"CASE WHEN regexp_full_match({text}, '[0-9]{{10}}') THEN {text} "
        f"ELSE regexp_replace({text}, '[\\s.\\-]', '', 'g') END"
    )


def _nhs_valid(digits: str) -> str:
    """SQL: whether ``digits`` is ten digits whose last is the modulus-11 check digit of
    the first nine (a check value of 10 is never valid). False, never an error, for any
    other text; NULL for NULL."""
    # Integer arithmetic on the number, not a cast of each digit's substring: several
    # times faster, and TRY_CAST cannot fail on the text the first test turns away.
    n = f"TRY_CAST({digits} AS UBIGINT)"
    weights = " + ".join(f"(({n} // {10 ** (10 - i)}) % 10) * {11 - i}" for i in range(1, 10))
    return (
        f"(regexp_full_match({digits}, '[0-9]{{10}}') "
        f"AND (11 - (({weights}) % 11)) % 11 = {n} % 10)"
    )


def standardise_sql(source: str, has_address: bool) -> str:
    """A SELECT standardising relation ``source`` (all identity columns as text).

    Needs the ``linkage_nickname(name, canon)`` table (see :func:`register_nicknames`).
    """
    address = (
        "nullif(trim(regexp_replace(regexp_replace(upper(strip_accents(CAST(address AS VARCHAR))),"
        " '[^A-Z0-9 ]', ' ', 'g'), ' +', ' ', 'g')), '')"
        if has_address
        else "CAST(NULL AS VARCHAR)"
    )
    return f"""
    WITH raw AS (
        SELECT
            CAST(record_id AS VARCHAR) AS record_id,
            nullif(trim(CAST(source AS VARCHAR)), '') AS source,
            {_nhs_digits("nhs_number")} AS nhs_digits,
            {_letters("split_part(trim(CAST(given_name AS VARCHAR)), ' ', 1)")} AS given,
            {_letters("CAST(family_name AS VARCHAR)")} AS family,
            CAST(coalesce(
                try_strptime(trim(CAST(date_of_birth AS VARCHAR)), '%Y-%m-%d'),
                try_strptime(trim(CAST(date_of_birth AS VARCHAR)), '%d/%m/%Y'),
                try_strptime(trim(CAST(date_of_birth AS VARCHAR)), '%Y%m%d')
            ) AS DATE) AS dob,
            CASE upper(trim(CAST(sex AS VARCHAR)))
                WHEN 'M' THEN 'M' WHEN 'MALE' THEN 'M' WHEN '1' THEN 'M'
                WHEN 'F' THEN 'F' WHEN 'FEMALE' THEN 'F' WHEN '2' THEN 'F'
            END AS sex,
            nullif(regexp_replace(upper(CAST(postcode AS VARCHAR)), '[^A-Z0-9]', '', 'g'), '')
                AS postcode,
            {address} AS address
        FROM {source}
    )
    SELECT
        record_id,
        source,
        CASE WHEN {_nhs_valid("nhs_digits")} THEN nhs_digits END AS nhs,
        given,
        coalesce(n.canon, given) AS given_canon,
        family,
        dob,
        CASE WHEN day(dob) <= 12 AND day(dob) <> month(dob)
             THEN make_date(year(dob), day(dob), month(dob)) END AS dob_swap,
        sex,
        postcode,
        CASE WHEN length(postcode) >= 5 THEN left(postcode, length(postcode) - 3) END AS outward,
        address
    FROM raw LEFT JOIN linkage_nickname AS n ON n.name = raw.given
    """


def register_nicknames(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``linkage_nickname`` table in ``con`` (idempotent)."""
    mapping = canonical_given_names()
    table = pa.table(
        {"name": list(mapping.keys()), "canon": list(mapping.values())},
    )
    con.register("linkage_nickname_arrow", table)
    con.execute("CREATE OR REPLACE TABLE linkage_nickname AS SELECT * FROM linkage_nickname_arrow")
    con.unregister("linkage_nickname_arrow")


def standardise(records: pa.Table) -> pa.Table:
    """Standardise a table of identity records (see :data:`IDENTITY_COLUMNS`)."""
    con = duckdb.connect()
    try:
        register_nicknames(con)
        con.register("linkage_input", records)
        sql = standardise_sql("linkage_input", "address" in records.column_names)
        result: pa.Table = con.sql(sql).to_arrow_table()
        return result
    finally:
        con.close()


def normalise_nhs_number(value: Any) -> str | None:
    """Ten digits with separators removed, if valid under modulus 11; else None."""
    if value is None:
        return None
    con = duckdb.connect()
    try:
        digits = _nhs_digits("$1")
        row = con.execute(
            f"SELECT CASE WHEN {_nhs_valid('d')} THEN d END FROM (SELECT {digits} AS d)",
            [str(value)],
        ).fetchall()[0]
    finally:
        con.close()
    return None if row[0] is None else str(row[0])


def nhs_number_is_valid(value: Any) -> bool:
    """True for an NHS number (separators allowed) with a correct modulus-11 check digit."""
    return normalise_nhs_number(value) is not None
