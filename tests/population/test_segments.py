"""Risk tiers (exact shares) and the Bridges to Health segment rules."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pytest

from wholesystem.population.segments import (
    SEGMENTS,
    TIERS,
    SegmentInput,
    segment,
    segment_sql,
    tier_of_rank,
    tiers,
)


@pytest.mark.parametrize("n", [1, 7, 200, 999, 1000, 12_345])
def test_tiers_cut_at_exact_shares(n: int) -> None:
    rng = np.random.default_rng(n)
    risk = rng.random(n)
    ids = [f"WP{i:010d}" for i in range(n)]
    rank, tier = tiers(risk, ids)
    assert sorted(rank.tolist()) == list(range(1, n + 1))
    counts = {t: tier.count(t) for t in TIERS}
    a, b, c = math.ceil(0.005 * n), math.ceil(0.05 * n), math.ceil(0.2 * n)
    assert counts["top_0_5"] == a
    assert counts["p0_5_to_5"] == b - a
    assert counts["p5_to_20"] == c - b
    assert counts["rest"] == n - c
    # the highest risk has rank 1 and tiers never invert
    assert rank[int(np.argmax(risk))] == 1
    order = np.argsort(rank)
    assert [TIERS.index(tier[i]) for i in order] == sorted(TIERS.index(tier[i]) for i in order)


def test_ties_are_broken_by_person_id() -> None:
    rank, _ = tiers(np.array([0.5, 0.5, 0.9]), ["WP3", "WP1", "WP2"])
    assert rank.tolist() == [3, 2, 1]


def test_tier_of_rank() -> None:
    assert tier_of_rank(1, 1000) == "top_0_5"
    assert tier_of_rank(5, 1000) == "top_0_5"
    assert tier_of_rank(6, 1000) == "p0_5_to_5"
    assert tier_of_rank(50, 1000) == "p0_5_to_5"
    assert tier_of_rank(51, 1000) == "p5_to_20"
    assert tier_of_rank(200, 1000) == "p5_to_20"
    assert tier_of_rank(201, 1000) == "rest"
    with pytest.raises(ValueError, match="outside"):
        tier_of_rank(0, 10)


CASES = [
    (SegmentInput(age=40), "generally_well"),
    (SegmentInput(age=0), "maternal_and_infant"),
    (SegmentInput(age=29, delivered_12m=True), "maternal_and_infant"),
    (SegmentInput(age=29, conditions=("asthma",), delivered_12m=True), "maternal_and_infant"),
    (SegmentInput(age=50, conditions=("asthma",)), "long_term_condition"),
    (SegmentInput(age=50, conditions=("asthma", "diabetes")), "long_term_condition"),
    (SegmentInput(age=60, conditions=("asthma", "diabetes", "ckd")), "complex_multimorbidity"),
    (
        SegmentInput(age=30, conditions=("a", "b", "c"), delivered_12m=True),
        "complex_multimorbidity",
    ),
    (SegmentInput(age=80, conditions=("dementia",)), "frailty_and_dementia"),
    (SegmentInput(age=80, efi_category="moderate"), "frailty_and_dementia"),
    (SegmentInput(age=80, efi_category="mild"), "generally_well"),
    (SegmentInput(age=80, coded_frailty=2), "frailty_and_dementia"),
    (SegmentInput(age=80, coded_frailty=1), "generally_well"),
    (SegmentInput(age=90, care_home=True), "frailty_and_dementia"),
    (SegmentInput(age=70, conditions=("dementia",), metastatic_cancer=True), "end_of_life"),
    (SegmentInput(age=70, palliative=True), "end_of_life"),
]


@pytest.mark.parametrize(("person", "expected"), CASES)
def test_segment_rules(person: SegmentInput, expected: str) -> None:
    assert segment(person) == expected
    assert expected in SEGMENTS


def test_sql_rules_match_python() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE f (age INTEGER, conditions VARCHAR[], efi_category VARCHAR, "
        "coded_frailty INTEGER, care_home BOOLEAN, palliative BOOLEAN, "
        "metastatic_cancer BOOLEAN, delivered_12m BOOLEAN)"
    )
    for p, _ in CASES:
        con.execute(
            "INSERT INTO f VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                p.age,
                list(p.conditions),
                p.efi_category,
                p.coded_frailty,
                p.care_home,
                p.palliative,
                p.metastatic_cancer,
                p.delivered_12m,
            ],
        )
    got = [r[0] for r in con.execute(f"SELECT {segment_sql()} FROM f").fetchall()]  # noqa: S608
    assert got == [e for _, e in CASES]
