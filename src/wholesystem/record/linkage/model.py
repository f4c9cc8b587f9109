"""The probabilistic model: Splink (DuckDB backend) comparisons, training and scoring.

The comparisons are written once here as Splink settings and used by both the engine and
the plain-Splink reference in the benchmarks, so the two differ only in what they feed
Splink (blocking, training labels, clustering), never in how a pair is scored.
"""

# SQL here is assembled from this module's own constants and checked identifiers; values
# come in as parameters, registered tables or quoted paths, never as user text.
# ruff: noqa: S608

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb

__all__ = [
    "COMPARED_COLUMNS",
    "NHS_DIFFERENT_M",
    "NHS_DIFFERENT_U",
    "comparisons",
    "present_columns",
    "quiet_splink",
    "splink_settings",
]

COMPARED_COLUMNS = ("given", "family", "dob", "sex", "postcode", "address", "nhs")
"""Columns that get a comparison when any record has a value."""

NHS_DIFFERENT_M = 0.02
"""P(two valid NHS numbers differ | same person): wrong numbers are keyed for ~0.4-1% of
records, so ~1-2% of a person's record pairs. Fixed, never trained."""
NHS_DIFFERENT_U = 0.98
"""P(two valid NHS numbers differ | different people): almost always."""


def _level(
    sql: str,
    label: str,
    *,
    tf: str | None = None,
    null: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    level: dict[str, Any] = {"sql_condition": sql, "label_for_charts": label}
    if null:
        level["is_null_level"] = True
    if tf is not None:
        level["tf_adjustment_column"] = tf
        level["tf_adjustment_weight"] = 1.0
    level.update(extra)
    return level


ELSE = _level("ELSE", "All other comparisons")


def comparisons(present: Sequence[str]) -> list[dict[str, Any]]:
    """Splink comparison dicts for the columns in ``present``."""
    out: list[dict[str, Any]] = []
    if "given" in present:
        out.append(
            {
                "output_column_name": "given",
                "comparison_description": "given name (nickname-aware)",
                "comparison_levels": [
                    _level("given_l IS NULL OR given_r IS NULL", "Null", null=True),
                    _level("given_l = given_r", "Exact match", tf="given"),
                    _level(
                        "given_canon_l = given_canon_r",
                        "Same canonical name (nickname)",
                        tf="given_canon",
                    ),
                    _level("jaro_winkler_similarity(given_l, given_r) >= 0.92", "JW >= 0.92"),
                    _level("jaro_winkler_similarity(given_l, given_r) >= 0.85", "JW >= 0.85"),
                    _level(
                        "jaro_winkler_similarity(given_l, family_r) >= 0.92",
                        "Given name matches the other's family name (names swapped)",
                    ),
                    _level("jaro_winkler_similarity(given_l, given_r) >= 0.7", "JW >= 0.7"),
                    ELSE,
                ],
            }
        )
    if "family" in present:
        out.append(
            {
                "output_column_name": "family",
                "comparison_description": "family name",
                "comparison_levels": [
                    _level("family_l IS NULL OR family_r IS NULL", "Null", null=True),
                    _level("family_l = family_r", "Exact match", tf="family"),
                    _level("jaro_winkler_similarity(family_l, family_r) >= 0.92", "JW >= 0.92"),
                    _level("jaro_winkler_similarity(family_l, family_r) >= 0.85", "JW >= 0.85"),
                    _level(
                        "jaro_winkler_similarity(family_l, given_r) >= 0.92",
                        "Family name matches the other's given name (names swapped)",
                    ),
                    _level("jaro_winkler_similarity(family_l, family_r) >= 0.7", "JW >= 0.7"),
                    ELSE,
                ],
            }
        )
    if "dob" in present:
        out.append(
            {
                "output_column_name": "dob",
                "comparison_description": "date of birth",
                "comparison_levels": [
                    _level("dob_l IS NULL OR dob_r IS NULL", "Null", null=True),
                    _level("dob_l = dob_r", "Exact match"),
                    _level("dob_swap_l = dob_r", "Day and month swapped"),
                    _level(
                        "levenshtein(CAST(dob_l AS VARCHAR), CAST(dob_r AS VARCHAR)) <= 1 "
                        "OR abs(date_diff('day', dob_l, dob_r)) <= 1",
                        "One digit or one day apart",
                    ),
                    _level("year(dob_l) = year(dob_r)", "Same year"),
                    ELSE,
                ],
            }
        )
    if "sex" in present:
        out.append(
            {
                "output_column_name": "sex",
                "comparison_description": "sex",
                "comparison_levels": [
                    _level("sex_l IS NULL OR sex_r IS NULL", "Null", null=True),
                    _level("sex_l = sex_r", "Exact match"),
                    ELSE,
                ],
            }
        )
    if "postcode" in present:
        out.append(
            {
                "output_column_name": "postcode",
                "comparison_description": "postcode",
                "comparison_levels": [
                    _level("postcode_l IS NULL OR postcode_r IS NULL", "Null", null=True),
                    _level("postcode_l = postcode_r", "Exact match", tf="postcode"),
                    _level("levenshtein(postcode_l, postcode_r) <= 1", "One character different"),
                    _level("outward_l = outward_r", "Same outward code"),
                    ELSE,
                ],
            }
        )
    if "address" in present:
        out.append(
            {
                "output_column_name": "address",
                "comparison_description": "address (free text)",
                "comparison_levels": [
                    _level("address_l IS NULL OR address_r IS NULL", "Null", null=True),
                    _level("address_l = address_r", "Exact match"),
                    _level("jaro_winkler_similarity(address_l, address_r) >= 0.95", "JW >= 0.95"),
                    _level("jaro_winkler_similarity(address_l, address_r) >= 0.85", "JW >= 0.85"),
                    _level("jaccard(address_l, address_r) >= 0.6", "Character-set Jaccard >= 0.6"),
                    ELSE,
                ],
            }
        )
    if "nhs" in present:
        out.append(
            {
                "output_column_name": "nhs",
                "comparison_description": "valid NHS number (evidence only when different)",
                "comparison_levels": [
                    _level(
                        "nhs_l IS NULL OR nhs_r IS NULL OR nhs_l = nhs_r",
                        "Missing, or equal (equal numbers are decided by the deterministic "
                        "pass, so give no credit here)",
                        null=True,
                    ),
                    _level(
                        "nhs_l <> nhs_r",
                        "Both valid and different",
                        m_probability=NHS_DIFFERENT_M,
                        u_probability=NHS_DIFFERENT_U,
                        fix_m_probability=True,
                        fix_u_probability=True,
                    ),
                    _level(
                        "ELSE",
                        "Unreachable (keeps Splink's two-level minimum)",
                        m_probability=0.5,
                        u_probability=0.5,
                        fix_m_probability=True,
                        fix_u_probability=True,
                    ),
                ],
            }
        )
    return out


def splink_settings(
    present: Sequence[str],
    *,
    probability_two_random_records_match: float = 1e-5,
    unique_id: str = "uid",
    blocking_rules: Sequence[Any] = (),
) -> dict[str, Any]:
    """A dedupe-only Splink settings dict over the standardised columns."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": unique_id,
        "comparisons": comparisons(present),
        "blocking_rules_to_generate_predictions": list(blocking_rules),
        "probability_two_random_records_match": probability_two_random_records_match,
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": True,
        "max_iterations": 20,
    }


def present_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Compared columns with at least one value in ``table``."""
    counts = con.execute(
        "SELECT " + ", ".join(f"count({c}) AS {c}" for c in COMPARED_COLUMNS) + f" FROM {table}"
    ).fetchall()[0]
    assert counts is not None
    return [c for c, n in zip(COMPARED_COLUMNS, counts, strict=True) if n]


@contextmanager
def quiet_splink() -> Iterator[None]:
    """Silence Splink's INFO/WARNING chatter for the duration."""
    logger = logging.getLogger("splink")
    before = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)
