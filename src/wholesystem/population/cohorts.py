"""The cohort builder: filters over the lake table ``population_person``.

Two halves. The pure half is :class:`CohortFilter` — parsed from a URL query string by
:func:`parse_filter`, written back by :func:`filter_query` — with :func:`matches` (the
rule for one row) and :func:`where_sql` (the same rule as DuckDB SQL with bound
parameters; a property test holds the two to agreement). The lake half runs the SQL:
:func:`cohort_count`, :func:`tier_counts`, :func:`area_tier_segment_counts`, and the two
list readers, :func:`identifiable_rows` (care team, only people the caller has decided
the user has a relationship with) and :func:`pseudonymised_rows` (analysts, opted-out
people left out).

Who may see what is decided by the routes with ``wholesystem.access``; see
docs/population-pages.md, "Cohorts and case-finding".
"""

# Every request value reaches SQL as a bound parameter; only this module's own column
# names and its `?` parameter markers are written into the query text.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from wholesystem.store.lake import Lake

__all__ = [
    "AGE_MAX",
    "CONDITION_MATCHES",
    "POPULATION_TABLE",
    "SEGMENTS",
    "TIERS",
    "CohortFilter",
    "CohortFilterError",
    "area_tier_segment_counts",
    "cohort_count",
    "condition_ids",
    "filter_query",
    "identifiable_rows",
    "index_date",
    "matches",
    "parse_filter",
    "pseudonymised_rows",
    "tier_counts",
    "where_sql",
]

POPULATION_TABLE = "population_person"
# The contract's vocabularies (tiers from highest risk down; Bridges to Health segments).
TIERS = ("top_0_5", "p0_5_to_5", "p5_to_20", "rest")
SEGMENTS = (
    "generally_well",
    "maternal_and_infant",
    "long_term_condition",
    "complex_multimorbidity",
    "frailty_and_dementia",
    "end_of_life",
)
CONDITION_MATCHES = ("any", "all")
AGE_MAX = 120
ACTIVITY_MAX = 365
QUINTILES = (1, 2, 3, 4, 5)
_CODE_LENGTH = 16
_CONDITION_LENGTH = 64
_MAX_CHOICES = 50


class CohortFilterError(ValueError):
    """A filter value is not allowed; the message says which and why."""


@dataclass(frozen=True)
class CohortFilter:
    """Who is in a cohort. Empty tuples and None mean "no filter on this"."""

    segments: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()
    condition_match: str = "any"
    age_min: int | None = None
    age_max: int | None = None
    deprivation_quintiles: tuple[int, ...] = ()
    area: str | None = None  # a place, neighbourhood or practice code
    min_emergency_admissions: int | None = None  # in the 12 months before the index date
    min_ae_attendances: int | None = None

    @property
    def is_empty(self) -> bool:
        return self == CohortFilter()


# ------------------------------------------------------------------------ URL round trip


def _one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = [v.strip() for v in params.get(name, ()) if v.strip()]
    if len(values) > 1:
        raise CohortFilterError(f"give one value for '{name}', not {len(values)}")
    return values[0] if values else None


def _whole(
    params: Mapping[str, Sequence[str]], name: str, label: str, low: int, high: int
) -> int | None:
    text = _one(params, name)
    if text is None:
        return None
    if not text.isdigit():
        raise CohortFilterError(f"{label} must be a whole number from {low} to {high}")
    value = int(text)
    if not low <= value <= high:
        raise CohortFilterError(f"{label} must be from {low} to {high} (got {value})")
    return value


def _choices(
    params: Mapping[str, Sequence[str]], name: str, allowed: Sequence[str], label: str
) -> tuple[str, ...]:
    values = [v.strip() for v in params.get(name, ()) if v.strip()]
    if len(values) > _MAX_CHOICES:
        raise CohortFilterError(f"too many values for {label}")
    for value in values:
        if value not in allowed:
            raise CohortFilterError(
                f"'{value}' is not a {label}. Choose from: {', '.join(allowed)}"
            )
    # Keep the vocabulary's order, once each, so equal filters have equal URLs.
    return tuple(a for a in allowed if a in values)


def parse_filter(params: Mapping[str, Sequence[str]]) -> CohortFilter:
    """The filter described by a query string (each name to its list of values).

    Names: ``segment``, ``tier``, ``condition`` (repeatable), ``match`` (any/all),
    ``age_min``, ``age_max``, ``imd`` (deprivation quintile, repeatable), ``area``,
    ``min_emergency``, ``min_ae``. Blank values are ignored; anything else that is not
    allowed raises :class:`CohortFilterError` with a message for the user.
    """
    conditions = sorted({v.strip() for v in params.get("condition", ()) if v.strip()})
    if len(conditions) > _MAX_CHOICES:
        raise CohortFilterError("too many conditions")
    for condition in conditions:
        if len(condition) > _CONDITION_LENGTH or not all(
            c.isalnum() or c in "_-." for c in condition
        ):
            raise CohortFilterError(f"'{condition[:_CONDITION_LENGTH]}' is not a condition id")
    match = _one(params, "match") or "any"
    if match not in CONDITION_MATCHES:
        raise CohortFilterError("condition match must be 'any' or 'all'")
    age_min = _whole(params, "age_min", "The lowest age", 0, AGE_MAX)
    age_max = _whole(params, "age_max", "The highest age", 0, AGE_MAX)
    if age_min is not None and age_max is not None and age_min > age_max:
        raise CohortFilterError(
            f"the lowest age ({age_min}) is above the highest age ({age_max}); swap them"
        )
    quintile_text = _choices(params, "imd", [str(q) for q in QUINTILES], "deprivation quintile")
    area = _one(params, "area")
    if area is not None and (
        len(area) > _CODE_LENGTH or not all(c.isalnum() or c in "_-" for c in area)
    ):
        raise CohortFilterError(f"'{area[:_CODE_LENGTH]}' is not an area code")
    return CohortFilter(
        segments=_choices(params, "segment", SEGMENTS, "segment"),
        tiers=_choices(params, "tier", TIERS, "risk tier"),
        conditions=tuple(conditions),
        condition_match=match,
        age_min=age_min,
        age_max=age_max,
        deprivation_quintiles=tuple(int(q) for q in quintile_text),
        area=area,
        min_emergency_admissions=_whole(
            params, "min_emergency", "The emergency admissions minimum", 0, ACTIVITY_MAX
        ),
        min_ae_attendances=_whole(params, "min_ae", "The A&E attendances minimum", 0, ACTIVITY_MAX),
    )


def filter_query(cohort: CohortFilter) -> list[tuple[str, str]]:
    """The query-string pairs that :func:`parse_filter` reads back as ``cohort``."""
    pairs: list[tuple[str, str]] = []
    pairs += [("segment", s) for s in cohort.segments]
    pairs += [("tier", t) for t in cohort.tiers]
    pairs += [("condition", c) for c in cohort.conditions]
    if cohort.conditions and cohort.condition_match != "any":
        pairs.append(("match", cohort.condition_match))
    if cohort.age_min is not None:
        pairs.append(("age_min", str(cohort.age_min)))
    if cohort.age_max is not None:
        pairs.append(("age_max", str(cohort.age_max)))
    pairs += [("imd", str(q)) for q in cohort.deprivation_quintiles]
    if cohort.area:
        pairs.append(("area", cohort.area))
    if cohort.min_emergency_admissions is not None:
        pairs.append(("min_emergency", str(cohort.min_emergency_admissions)))
    if cohort.min_ae_attendances is not None:
        pairs.append(("min_ae", str(cohort.min_ae_attendances)))
    return pairs


# ------------------------------------------------------------------------ the rule


def matches(cohort: CohortFilter, row: Mapping[str, Any]) -> bool:
    """Whether one ``population_person`` row is in the cohort (the rule, in Python).

    A filter on a value the row lacks (an unknown age or quintile) excludes the row.
    """
    if cohort.segments and row.get("segment") not in cohort.segments:
        return False
    if cohort.tiers and row.get("tier") not in cohort.tiers:
        return False
    if cohort.conditions:
        held = set(row.get("conditions") or ())
        wanted = set(cohort.conditions)
        if cohort.condition_match == "all" and not wanted <= held:
            return False
        if cohort.condition_match == "any" and not wanted & held:
            return False
    age = row.get("age")
    if cohort.age_min is not None and (age is None or age < cohort.age_min):
        return False
    if cohort.age_max is not None and (age is None or age > cohort.age_max):
        return False
    if cohort.deprivation_quintiles and row.get("deprivation_quintile") not in (
        cohort.deprivation_quintiles
    ):
        return False
    if cohort.area and cohort.area not in (
        row.get("place_code"),
        row.get("neighbourhood_code"),
        row.get("practice_code"),
    ):
        return False
    if cohort.min_emergency_admissions is not None and (
        (row.get("emergency_admissions_12m") or 0) < cohort.min_emergency_admissions
    ):
        return False
    return not (
        cohort.min_ae_attendances is not None
        and (row.get("ae_attendances_12m") or 0) < cohort.min_ae_attendances
    )


def _in(column: str, values: Sequence[object], params: list[Any]) -> str:
    params.extend(values)
    return f"{column} IN ({', '.join('?' for _ in values)})"


def where_sql(cohort: CohortFilter, alias: str = "pp") -> tuple[str, list[Any]]:
    """The rule of :func:`matches` as a SQL condition over ``alias`` and its parameters."""
    a = alias
    parts: list[str] = []
    params: list[Any] = []
    if cohort.segments:
        parts.append(_in(f"{a}.segment", cohort.segments, params))
    if cohort.tiers:
        parts.append(_in(f"{a}.tier", cohort.tiers, params))
    if cohort.conditions:
        function = "list_has_all" if cohort.condition_match == "all" else "list_has_any"
        parts.append(f"coalesce({function}({a}.conditions, ?::VARCHAR[]), false)")
        params.append(list(cohort.conditions))
    if cohort.age_min is not None:
        parts.append(f"{a}.age >= ?")
        params.append(cohort.age_min)
    if cohort.age_max is not None:
        parts.append(f"{a}.age <= ?")
        params.append(cohort.age_max)
    if cohort.deprivation_quintiles:
        parts.append(_in(f"{a}.deprivation_quintile", cohort.deprivation_quintiles, params))
    if cohort.area:
        parts.append(f"? IN ({a}.place_code, {a}.neighbourhood_code, {a}.practice_code)")
        params.append(cohort.area)
    if cohort.min_emergency_admissions is not None:
        parts.append(f"coalesce({a}.emergency_admissions_12m, 0) >= ?")
        params.append(cohort.min_emergency_admissions)
    if cohort.min_ae_attendances is not None:
        parts.append(f"coalesce({a}.ae_attendances_12m, 0) >= ?")
        params.append(cohort.min_ae_attendances)
    # coalesce: a comparison with a missing value is NULL in SQL; in the rule it is False.
    condition = " AND ".join(f"coalesce({p}, false)" for p in parts) if parts else "true"
    return condition, params


# ------------------------------------------------------------------------ lake reads


def _table_sql(lake: Lake, table: str) -> str | None:
    path = lake.path(table)
    if not path.exists():
        return None
    return "read_parquet('" + str(path).replace("'", "''") + "')"


def _run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET threads = 2")
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def index_date(lake: Lake) -> date | None:
    """The index date of the current stratification, or None before one has run."""
    source = _table_sql(lake, POPULATION_TABLE)
    if source is None:
        return None
    rows = _run(f"SELECT max(index_date) FROM {source}", [])
    value = rows[0][0] if rows else None
    return value if isinstance(value, date) else None


def condition_ids(lake: Lake) -> list[str]:
    """Every condition id anyone in the population has, sorted (the builder's choices)."""
    source = _table_sql(lake, POPULATION_TABLE)
    if source is None:
        return []
    sql = f"SELECT DISTINCT unnest(conditions) AS c FROM {source} ORDER BY c"
    return [str(r[0]) for r in _run(sql, []) if r[0] is not None]


def cohort_count(lake: Lake, cohort: CohortFilter) -> int:
    """How many people are in the cohort (a true count: protect it before showing it)."""
    source = _table_sql(lake, POPULATION_TABLE)
    if source is None:
        return 0
    where, params = where_sql(cohort)
    return int(_run(f"SELECT count(*) FROM {source} pp WHERE {where}", params)[0][0])


def tier_counts(lake: Lake, cohort: CohortFilter) -> dict[str, int]:
    """The cohort's true count in each tier (every tier present, zeros included)."""
    counts = dict.fromkeys(TIERS, 0)
    source = _table_sql(lake, POPULATION_TABLE)
    if source is None:
        return counts
    where, params = where_sql(cohort)
    sql = f"SELECT tier, count(*) FROM {source} pp WHERE {where} GROUP BY tier"
    for tier, n in _run(sql, params):
        if tier in counts:
            counts[tier] = int(n)
    return counts


def area_tier_segment_counts(
    lake: Lake, area_column: str | None, area_code: str | None, group_column: str | None
) -> dict[tuple[str | None, str, str], int]:
    """True counts by (child area, tier, segment) within one area (None: the system).

    ``area_column`` is the level column the area is matched on and ``group_column`` the
    level column of its children (None at the bottom of the tree).
    """
    allowed = {None, "place_code", "neighbourhood_code", "practice_code"}
    if area_column not in allowed or group_column not in allowed:
        raise ValueError("area and group columns must be footprint level columns")
    source = _table_sql(lake, POPULATION_TABLE)
    if source is None:
        return {}
    group = group_column or "NULL"
    where = f"{area_column} = ?" if area_column and area_code else "true"
    params = [area_code] if area_column and area_code else []
    sql = f"SELECT {group} AS g, tier, segment, count(*) FROM {source} WHERE {where} GROUP BY ALL"
    return {(g, str(t), str(s)): int(n) for g, t, s, n in _run(sql, params)}


# The columns of a list, in order: care teams see who the person is; analysts do not.
IDENTIFIABLE_COLUMNS = (
    "person_id",
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "age",
    "sex",
    "practice_code",
    "neighbourhood_code",
    "segment",
    "tier",
    "risk",
    "risk_rank",
    "ltc_count",
    "emergency_admissions_12m",
    "ae_attendances_12m",
    "reasons",
)
PSEUDONYMISED_COLUMNS = (
    "person_id",
    "age_band",
    "sex",
    "deprivation_quintile",
    "neighbourhood_code",
    "segment",
    "tier",
    "risk",
    "risk_rank",
    "ltc_count",
    "conditions",
    "emergency_admissions_12m",
    "ae_attendances_12m",
)
_PERSON_COLUMNS = frozenset({"nhs_number", "given_name", "family_name", "date_of_birth"})


def _select(columns: Iterable[str]) -> str:
    return ", ".join(f"p.{c}" if c in _PERSON_COLUMNS else f"pp.{c}" for c in columns)


def identifiable_rows(
    lake: Lake,
    cohort: CohortFilter,
    person_ids: Iterable[str],
    *,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Cohort members among ``person_ids``, with names and NHS numbers, highest risk first.

    ``person_ids`` are the people the caller has already decided the user may see
    (a legitimate relationship); nobody else is ever read into the answer.
    """
    source = _table_sql(lake, POPULATION_TABLE)
    people = _table_sql(lake, "person")
    allowed = sorted(set(person_ids))
    if source is None or people is None or not allowed:
        return []
    where, params = where_sql(cohort)
    sql = (
        f"SELECT {_select(IDENTIFIABLE_COLUMNS)} FROM {source} pp "
        f"JOIN {people} p USING (person_id) "
        f"WHERE list_contains(?::VARCHAR[], pp.person_id) AND {where} "
        "ORDER BY pp.risk_rank, pp.person_id"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = _run(sql, [allowed, *params])
    return [dict(zip(IDENTIFIABLE_COLUMNS, r, strict=True)) for r in rows]


def pseudonymised_rows(
    lake: Lake,
    cohort: CohortFilter,
    opted_out: Iterable[str],
    *,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Cohort members without a national data opt-out, highest risk first, no identifiers.

    The rows still carry ``person_id`` for the caller to replace with a pseudonym; a
    person without a row in the ``person`` table (so no NHS number to check) is left out.
    """
    source = _table_sql(lake, POPULATION_TABLE)
    people = _table_sql(lake, "person")
    if source is None or people is None:
        return []
    where, params = where_sql(cohort)
    sql = (
        f"SELECT {_select(PSEUDONYMISED_COLUMNS)} FROM {source} pp "
        f"JOIN {people} p USING (person_id) "
        f"WHERE (p.nhs_number IS NULL OR NOT list_contains(?::VARCHAR[], p.nhs_number)) "
        f"AND {where} ORDER BY pp.risk_rank, pp.person_id"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = _run(sql, [sorted(set(opted_out)), *params])
    return [dict(zip(PSEUDONYMISED_COLUMNS, r, strict=True)) for r in rows]


# ------------------------------------------------------- relationship facts, in bulk

# Settings where an event with no end means the person is still under that organisation's
# care (the record capability's rule, wholesystem.record.view.queries).
_OPEN_EPISODE_SETTINGS = ("inpatient", "community", "mental_health")


def open_episode_person_ids(lake: Lake, organisation_code: str, today: date) -> set[str]:
    """People with an episode open at ``organisation_code`` on ``today``.

    The same rule as the record view's ``context_from_rows`` (an inpatient, community or
    mental health event started and without an end, or a current care package), run over
    the whole lake for one organisation instead of over one person's rows.
    """
    found: set[str] = set()
    events = _table_sql(lake, "event")
    if events is not None:
        sql = (
            f"SELECT DISTINCT person_id FROM {events} WHERE source = ? "
            f"AND setting IN ({', '.join('?' for _ in _OPEN_EPISODE_SETTINGS)}) "
            "AND end_time IS NULL AND end_date IS NULL "
            "AND (start_date IS NULL OR start_date <= ?)"
        )
        found.update(
            str(r[0]) for r in _run(sql, [organisation_code, *_OPEN_EPISODE_SETTINGS, today])
        )
    packages = _table_sql(lake, "care_package")
    if packages is not None:
        sql = (
            f"SELECT DISTINCT person_id FROM {packages} WHERE source = ? "
            "AND start_date IS NOT NULL AND start_date <= ? "
            "AND (end_date IS NULL OR end_date >= ?)"
        )
        found.update(str(r[0]) for r in _run(sql, [organisation_code, today, today]))
    return found


@dataclass(frozen=True)
class RegistrationFacts:
    """One person's identity and current registrations, as a relationship decision needs."""

    person_id: str
    nhs_number: str | None
    registered_practices: frozenset[str]


def registration_facts(
    lake: Lake,
    cohort: CohortFilter,
    *,
    practices: Iterable[str],
    person_ids: Iterable[str],
    today: date,
) -> list[RegistrationFacts]:
    """Cohort members who may have a relationship with a user, with their registrations.

    A member is a candidate when currently registered at one of ``practices`` (the
    user's practice and the practices of their neighbourhood) or listed in
    ``person_ids`` (their organisation's caseload and open episodes). Current
    registrations are the ``registration`` rows without a deregistration on or before
    ``today``, plus the ``person`` table's practice, as the record view counts them. The
    caller decides each candidate with ``relationship_basis``; this only gathers facts,
    in one query instead of one per person.
    """
    source = _table_sql(lake, POPULATION_TABLE)
    people = _table_sql(lake, "person")
    if source is None or people is None:
        return []
    registrations = _table_sql(lake, "registration")
    regs = f"SELECT person_id, practice_code FROM {people} WHERE practice_code IS NOT NULL"
    reg_params: list[Any] = []
    if registrations is not None:
        regs += (
            f" UNION SELECT person_id, practice_code FROM {registrations} "
            "WHERE practice_code IS NOT NULL "
            "AND (registration_date IS NULL OR registration_date <= ?) "
            "AND (deregistration_date IS NULL OR deregistration_date > ?)"
        )
        reg_params = [today, today]
    where, params = where_sql(cohort)
    sql = (
        f"WITH regs AS ({regs}), "
        "candidates AS ("
        "  SELECT person_id FROM regs WHERE list_contains(?::VARCHAR[], practice_code)"
        "  UNION SELECT unnest(?::VARCHAR[]) AS person_id) "
        f"SELECT pp.person_id, any_value(p.nhs_number), list(DISTINCT r.practice_code) "
        f"FROM {source} pp JOIN candidates c ON c.person_id = pp.person_id "
        f"JOIN {people} p ON p.person_id = pp.person_id "
        "LEFT JOIN regs r ON r.person_id = pp.person_id "
        f"WHERE {where} GROUP BY pp.person_id ORDER BY pp.person_id"
    )
    rows = _run(
        sql,
        [*reg_params, sorted(set(practices)), sorted(set(person_ids)), *params],
    )
    return [
        RegistrationFacts(
            person_id=str(pid),
            nhs_number=None if nhs is None else str(nhs),
            registered_practices=frozenset(str(p) for p in (practices_ or ()) if p is not None),
        )
        for pid, nhs, practices_ in rows
    ]
