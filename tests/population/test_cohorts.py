"""The cohort filter: URL round trip, validation, and SQL that agrees with the rule."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.population.web.lakefixture import POPULATION_SCHEMA, population_row, write_population
from wholesystem.access.disclosure import protect_count, protect_series, protect_table
from wholesystem.population import presenters
from wholesystem.population.cohorts import (
    SEGMENTS,
    TIERS,
    CohortFilter,
    CohortFilterError,
    area_tier_segment_counts,
    filter_query,
    matches,
    parse_filter,
    tier_counts,
    where_sql,
)
from wholesystem.store.lake import Lake

CONDITIONS = ("asthma", "copd", "diabetes", "heart_failure")
PRACTICES = ("A00001", "A00002", "A00003")


def _params(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in pairs:
        out.setdefault(k, []).append(v)
    return out


filters = st.builds(
    CohortFilter,
    segments=st.lists(st.sampled_from(SEGMENTS), unique=True, max_size=3).map(
        lambda xs: tuple(s for s in SEGMENTS if s in xs)
    ),
    tiers=st.lists(st.sampled_from(TIERS), unique=True, max_size=2).map(
        lambda xs: tuple(t for t in TIERS if t in xs)
    ),
    conditions=st.lists(st.sampled_from(CONDITIONS), unique=True, max_size=2).map(
        lambda xs: tuple(sorted(xs))
    ),
    condition_match=st.sampled_from(("any", "all")),
    age_min=st.none() | st.integers(0, 60),
    age_max=st.none() | st.integers(60, 120),
    deprivation_quintiles=st.lists(st.integers(1, 5), unique=True, max_size=3).map(
        lambda xs: tuple(sorted(xs))
    ),
    area=st.none() | st.sampled_from(("PL1", "U00002", "A00002", "ZZZ")),
    min_emergency_admissions=st.none() | st.integers(0, 3),
    min_ae_attendances=st.none() | st.integers(0, 3),
)

people = st.lists(
    st.builds(
        lambda i, practice, age, quintile, conditions, tier, segment, em, ae: population_row(
            f"WP{i:010d}",
            practice,
            age=age,
            deprivation_quintile=quintile,
            conditions=conditions,
            tier=tier,
            segment=segment,
            emergency_admissions_12m=em,
            ae_attendances_12m=ae,
        ),
        st.integers(0, 10**9),
        st.sampled_from(PRACTICES),
        st.integers(0, 105),
        st.none() | st.integers(1, 5),
        st.lists(st.sampled_from(CONDITIONS), unique=True, max_size=3),
        st.sampled_from(TIERS),
        st.sampled_from(SEGMENTS),
        st.none() | st.integers(0, 4),
        st.integers(0, 4),
    ),
    max_size=40,
    unique_by=lambda r: r["person_id"],
)


@given(filters)
def test_filter_round_trips_through_the_query_string(cohort: CohortFilter) -> None:
    normal = parse_filter(_params(filter_query(cohort)))
    # Without conditions the match (any/all) means nothing and is not written.
    expected = cohort if cohort.conditions else replace(cohort, condition_match="any")
    assert normal == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"tier": ["top"]}, "not a risk tier"),
        ({"segment": ["everyone"]}, "not a segment"),
        ({"age_min": ["ten"]}, "whole number"),
        ({"age_min": ["90"], "age_max": ["20"]}, "swap them"),
        ({"age_max": ["200"]}, "from 0 to 120"),
        ({"imd": ["6"]}, "not a deprivation quintile"),
        ({"match": ["some"]}, "'any' or 'all'"),
        ({"area": ["PL1'; drop"]}, "not an area code"),
        ({"condition": ["a b"]}, "not a condition id"),
        ({"min_ae": ["-1"]}, "whole number"),
        ({"area": ["PL1", "PL2"]}, "give one value"),
    ],
)
def test_bad_filters_say_why(params: dict[str, list[str]], message: str) -> None:
    with pytest.raises(CohortFilterError, match=message):
        parse_filter(params)


def test_blank_values_are_no_filter() -> None:
    assert parse_filter({"tier": [""], "age_min": [" "], "area": [""]}).is_empty


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people, filters)
def test_sql_agrees_with_the_rule(rows: list[dict[str, Any]], cohort: CohortFilter) -> None:
    table = pa.Table.from_pylist(rows, POPULATION_SCHEMA)
    where, params = where_sql(cohort)
    con = duckdb.connect(":memory:")
    try:
        con.register("population_person", table)
        found = {
            r[0]
            for r in con.execute(
                f"SELECT person_id FROM population_person pp WHERE {where}",  # noqa: S608
                params,
            ).fetchall()
        }
    finally:
        con.close()
    assert found == {r["person_id"] for r in rows if matches(cohort, r)}


def _shown(values: list[str]) -> list[int]:
    return [int(v.replace(",", "")) for v in values if v not in ("*", "—")]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(people, filters)
def test_no_aggregate_view_reveals_one_to_seven(
    tmp_path: Path, rows: list[dict[str, Any]], cohort: CohortFilter
) -> None:
    """Whatever the population, every aggregate the pages and CSV files show is 0 or ≥ 8."""
    write_population(tmp_path, rows)
    lake = Lake(tmp_path)
    shown: list[str] = []
    counts = area_tier_segment_counts(lake, "place_code", "PL1", "neighbourhood_code")
    grid = [
        [sum(n for (_, t, s), n in counts.items() if t == tier and s == seg) for seg in SEGMENTS]
        for tier in TIERS
    ]
    mix = protect_table(grid)
    for bar in presenters.pyramid_bars(mix):
        shown.append(bar["text"])
    for mix_row in presenters.segment_mix_rows(mix):
        shown += [*mix_row["cells"], mix_row["total"]]
    shown += [str(r[-1]) for r in presenters.aggregate_csv_rows("PL1", "North", mix)]
    by_child = protect_table(
        [[sum(counts.get(("U00001", t, s), 0) for s in SEGMENTS) for t in TIERS]]
    )
    for child in presenters.child_rows([("U00001", "North PCN", "/x")], by_child):
        shown += [*child["cells"], child["total"]]
    tiers = tier_counts(lake, cohort)
    series = protect_series([tiers[t] for t in TIERS])
    shown += [c.text for c in series.cells[0]] + [series.grand_total.text]
    shown.append(protect_count(sum(tiers.values())).text)
    assert all(v == 0 or v >= 8 for v in _shown(shown)), shown
