"""Every metric on a hand-built lake, against values worked out by hand in the comments.

Registered population on each month's last day (see ``lakefixture``):

| month | A00001 | A00002 | A00003 | U00001 (PL1) | U00002 (PL2) | QXX | aged 65+ (PL1) |
|---|---|---|---|---|---|---|---|
| Jan 2025 | P1 | P2 | P3 | 2 | 1 | 3 | 1 (P1; P4 left) |
| Feb 2025 | P1 | - | P2, P3 | 1 | 2 | 3 | 1 |
| Mar 2025 | P1 | - | P2 (P3 died) | 1 | 1 | 2 | 1 |
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.metrics.lakefixture import (
    FOOTPRINT,
    ORG_CODES,
    write_returns,
    write_small_lake,
)
from wholesystem.metrics.catalogue import CATALOGUE, MetricLevel, by_id
from wholesystem.metrics.compute import (
    HIGH_RISK_TIERS,
    RISING_RISK_TIERS,
    ComputedValue,
    ComputeResult,
    compute_metrics,
    default_cut_off,
)
from wholesystem.metrics.registers import REGISTER_METRICS
from wholesystem.metrics.returns import load_returns
from wholesystem.population.segments import TIERS
from wholesystem.store.lake import Lake

JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)
CUT_OFF = date(2025, 3, 31)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("lake")
    lake = write_small_lake(root / "lake")
    load_returns(lake, write_returns(root / "returns"), ORG_CODES)
    return lake


@pytest.fixture(scope="module")
def result(lake: Lake) -> ComputeResult:
    return compute_metrics(lake, FOOTPRINT, CUT_OFF)


def _values(result: ComputeResult, metric_id: str) -> dict[tuple[str, date], ComputedValue]:
    return {(v.area_code, v.period): v for v in result.values if v.metric_id == metric_id}


def _v(result: ComputeResult, metric_id: str, area: str, period: date) -> Decimal | None:
    return _values(result, metric_id)[(area, period)].value


def _nd(result: ComputeResult, metric_id: str, area: str, period: date) -> tuple[object, ...]:
    v = _values(result, metric_id)[(area, period)]
    return (v.numerator, v.denominator, v.value)


def q(text: str) -> Decimal:
    return Decimal(text).quantize(Decimal("0.000001"))


def test_every_catalogue_metric_is_computed(result: ComputeResult) -> None:
    # the register metrics are computed from the database at publish (test_registers.py)
    assert result.skipped == {
        m: "no computation is defined for this metric" for m in REGISTER_METRICS
    }
    assert result.metric_ids == sorted(m.id for m in CATALOGUE if m.id not in REGISTER_METRICS)


def test_risk_tier_shares(result: ComputeResult) -> None:
    # lakefixture.POPULATION, scored on 31 March 2025 (so the March figure):
    # A00001 top_0_5, p5_to_20, rest, rest; A00002 p0_5_to_5, rest; A00003 rest, rest,
    # p5_to_20, p5_to_20. U00001 and PL1 are A00001 + A00002; U00002 and PL2 are A00003.
    high = {
        k: (v.numerator, v.denominator, v.value)
        for k, v in _values(result, "high_risk_share").items()
    }
    assert high == {
        ("QXX", MAR): (q("2"), q("10"), q("20")),
        ("PL1", MAR): (q("2"), q("6"), q("33.333333")),
        ("PL2", MAR): (q("0"), q("4"), q("0")),
        ("U00001", MAR): (q("2"), q("6"), q("33.333333")),
        ("U00002", MAR): (q("0"), q("4"), q("0")),
    }
    assert _nd(result, "rising_risk_share", "QXX", MAR) == (q("3"), q("10"), q("30"))
    assert _nd(result, "rising_risk_share", "U00001", MAR) == (q("1"), q("6"), q("16.666667"))
    assert _nd(result, "rising_risk_share", "U00002", MAR) == (q("2"), q("4"), q("50"))


def test_tier_names_are_the_population_capabilitys() -> None:
    assert set(HIGH_RISK_TIERS + RISING_RISK_TIERS) < set(TIERS)
    assert TIERS[:2] == HIGH_RISK_TIERS
    assert TIERS[2:3] == RISING_RISK_TIERS


def test_no_value_below_a_metrics_lowest_level(result: ComputeResult) -> None:
    allowed = {
        MetricLevel.system: {"system"},
        MetricLevel.place: {"system", "place"},
        MetricLevel.neighbourhood: {"system", "place", "neighbourhood"},
        MetricLevel.organisation: {"system", "organisation"},
    }
    for v in result.values:
        assert v.area_kind in allowed[by_id(v.metric_id).lowest_level], v
    kinds = {v.area_kind for v in result.values if v.metric_id == "ae_attendances_rate"}
    assert kinds == {"system", "place", "neighbourhood"}


def test_values_are_unique_per_metric_area_and_period(result: ComputeResult) -> None:
    keys = [(v.metric_id, v.area_code, v.period) for v in result.values]
    assert len(keys) == len(set(keys))


def test_ae_four_and_twelve_hours_by_trust_and_system(result: ComputeResult) -> None:
    # Jan: E1 3h, E2 5h; Feb: E3 13h, E4 1h; Mar: E5 has no departure, so is not timed.
    assert _nd(result, "ae_4hr", "RA1", JAN) == (q("1"), q("2"), q("50"))
    assert _nd(result, "ae_4hr", "QXX", FEB) == (q("1"), q("2"), q("50"))
    assert _nd(result, "ae_4hr", "RA1", MAR) == (q("0"), q("0"), None)
    assert _v(result, "ae_12hr", "RA1", JAN) == q("0")
    assert _v(result, "ae_12hr", "RA1", FEB) == q("50")


def test_ae_attendances_follow_the_practice_on_the_day(result: ComputeResult) -> None:
    # Jan: E1 (P1, A00001) and E2 (P2, A00002) in U00001, population 2.
    assert _nd(result, "ae_attendances_rate", "U00001", JAN) == (q("2"), q("2"), q("1000"))
    assert _nd(result, "ae_attendances_rate", "U00002", JAN) == (q("0"), q("1"), q("0"))
    assert _v(result, "ae_attendances_rate", "QXX", JAN) == q("666.666667")
    # Feb: P2 has moved to A00003 (U00002); E4 is an unregistered person's.
    assert _nd(result, "ae_attendances_rate", "U00002", FEB) == (q("1"), q("2"), q("500"))
    assert _nd(result, "ae_attendances_rate", "PL1", FEB) == (q("0"), q("1"), q("0"))
    # Mar: E5 is P3's, four days before death; P3 is not in March's population.
    assert _nd(result, "ae_attendances_rate", "QXX", MAR) == (q("1"), q("2"), q("500"))


def test_emergency_admissions_readmissions_and_length_of_stay(result: ComputeResult) -> None:
    assert _nd(result, "emergency_admissions_rate", "U00001", JAN) == (q("2"), q("2"), q("1000"))
    assert _nd(result, "emergency_admissions_rate", "U00001", FEB) == (q("0"), q("1"), q("0"))
    assert _nd(result, "emergency_admissions_rate", "U00002", MAR) == (q("1"), q("1"), q("1000"))
    # Discharges in January: S1 (readmitted by S2 14 days later), S2, S3 (elective, P4
    # still registered on the day). S4 ended in death and is excluded. March's 30 days of
    # follow-up run past the cut-off, so March is not published.
    assert _nd(result, "readmissions_30d", "PL1", JAN) == (q("1"), q("3"), q("33.333333"))
    assert _nd(result, "readmissions_30d", "PL1", FEB) == (q("0"), q("0"), None)
    assert (("PL1", MAR)) not in _values(result, "readmissions_30d")
    # Emergency spells discharged: Jan S1 (4 days) and S2 (5 days); Mar S4 (4 days).
    assert _nd(result, "average_los", "RA1", JAN) == (q("9"), q("2"), q("4.5"))
    assert _v(result, "average_los", "RA1", FEB) is None
    assert _v(result, "average_los", "QXX", MAR) == q("4")


def test_deaths_in_hospital_is_quarterly(result: ComputeResult) -> None:
    values = _values(result, "deaths_in_hospital")
    assert {period for _, period in values} == {JAN}
    assert _nd(result, "deaths_in_hospital", "PL2", JAN) == (q("1"), q("1"), q("100"))
    assert _nd(result, "deaths_in_hospital", "PL1", JAN) == (q("0"), q("0"), None)
    assert _v(result, "deaths_in_hospital", "QXX", JAN) == q("100")


def test_community_outpatients_and_mental_health(result: ComputeResult) -> None:
    assert _nd(result, "community_contacts_rate", "U00001", FEB) == (q("2"), q("1"), q("2000"))
    # O3 has no attendance status and is left out.
    assert _nd(result, "outpatient_dna", "RA1", JAN) == (q("1"), q("2"), q("50"))
    # A count: February has no out-of-area placement and is a zero, not a gap.
    oap = _values(result, "mh_out_of_area")
    assert [(k, oap[k].value) for k in sorted(oap)] == [
        (("QXX", JAN), q("1")),
        (("QXX", FEB), q("0")),
        (("QXX", MAR), q("0")),
        (("RC1", JAN), q("1")),
        (("RC1", FEB), q("0")),
        (("RC1", MAR), q("0")),
    ]
    assert all(v.denominator is None for v in oap.values())


def test_social_care_for_people_aged_65_and_over(result: ComputeResult) -> None:
    # P1 (75): residential care from Feb, home care from Mar; reablement is short term;
    # P2's home care is under 65. Population aged 65+ in PL1: P1.
    assert _nd(result, "care_home_admissions", "PL1", FEB) == (q("1"), q("1"), q("100000"))
    assert _nd(result, "care_home_admissions", "PL1", MAR) == (q("0"), q("1"), q("0"))
    assert _nd(result, "new_long_term_care", "PL1", JAN) == (q("0"), q("1"), q("0"))
    assert _nd(result, "new_long_term_care", "PL1", MAR) == (q("1"), q("1"), q("100000"))
    assert _nd(result, "new_long_term_care", "PL2", MAR) == (q("0"), q("0"), None)


def test_prevalence_counts_primary_care_codes_of_registered_people(
    result: ComputeResult,
) -> None:
    assert _nd(result, "diabetes_prevalence", "U00001", JAN) == (q("1"), q("2"), q("50"))
    assert _nd(result, "diabetes_prevalence", "U00001", FEB) == (q("1"), q("1"), q("100"))
    assert _v(result, "diabetes_prevalence", "QXX", MAR) == q("50")
    # P2's hypertension was coded on 15 February, after the move to A00003.
    assert _v(result, "hypertension_prevalence", "U00002", JAN) == q("0")
    assert _nd(result, "hypertension_prevalence", "U00002", FEB) == (q("1"), q("2"), q("50"))
    # P3's COPD was recorded in hospital only.
    assert {v.numerator for v in _values(result, "copd_prevalence").values()} == {q("0")}


def test_beds_from_the_return(result: ComputeResult) -> None:
    # General and acute occupancy: acute trusts only.
    assert _nd(result, "bed_occupancy", "RA1", JAN) == (q("99"), q("110"), q("90"))
    assert ("RC1", JAN) not in _values(result, "bed_occupancy")
    assert _v(result, "nctr_share", "RC1", JAN) == q("50")
    assert _nd(result, "nctr_share", "QXX", JAN) == (q("14"), q("109"), q("12.844037"))
    # RC1 sent no February return: a gap for RC1, and the system sums what was returned.
    assert ("RC1", FEB) not in _values(result, "nctr_share")
    assert _nd(result, "nctr_share", "QXX", FEB) == (q("18"), q("90"), q("20"))


def test_finance_year_to_date_forecast_and_efficiency(result: ComputeResult) -> None:
    # RA1 misses its planned surplus by 10 a month from April: January is month 10.
    assert _v(result, "finance_ytd_variance", "RA1", JAN) == q("-100")
    assert _v(result, "finance_ytd_variance", "RA1", MAR) == q("-120")
    # The ICB beats its plan by 10 a month: in the system total, not as an organisation.
    assert ("QXX", JAN) in _values(result, "finance_ytd_variance")
    assert _values(result, "finance_ytd_variance")[("QXX", JAN)].area_kind == "system"
    assert _v(result, "finance_ytd_variance", "QXX", JAN) == q("0")
    # Forecast outturn at month k: 90k + 95(12 - k) - 1,200.
    assert _v(result, "finance_forecast_variance", "RA1", JAN) == q("-110")
    assert _v(result, "finance_forecast_variance", "RA1", MAR) == q("-120")
    assert _v(result, "efficiency_delivery", "RA1", FEB) == q("50")
    v = _values(result, "finance_ytd_variance")[("RA1", JAN)]
    assert v.denominator is None
    assert v.numerator == v.value


def test_workforce(result: ComputeResult) -> None:
    assert _nd(result, "vacancy_rate", "RA1", JAN) == (q("2"), q("42"), q("4.761905"))
    # sickness: (0.05 x 10 + 0.03 x 30) / 40 FTE, over January's 31 days
    assert _nd(result, "sickness_rate", "RA1", JAN) == (q("43.4"), q("1240"), q("3.5"))
    assert _nd(result, "agency_share", "RA1", JAN) == (q("31"), q("310"), q("10"))
    assert ("RA1", MAR) not in _values(result, "vacancy_rate")


def test_the_cut_off_publishes_complete_periods_only(lake: Lake) -> None:
    early = compute_metrics(lake, FOOTPRINT, date(2025, 2, 27))
    periods = {v.period for v in early.values if v.metric_id != "deaths_in_hospital"}
    assert periods == {JAN}
    assert not [v for v in early.values if v.metric_id == "deaths_in_hospital"]
    # Nothing after the cut-off counts: the March death is not known on 27 February.
    assert _v(early, "diabetes_prevalence", "QXX", JAN) == q("33.333333")


def test_default_cut_off_is_the_end_of_the_latest_activity_month(lake: Lake) -> None:
    assert default_cut_off(lake, today=date(2026, 1, 1)) == date(2025, 3, 31)
    assert default_cut_off(lake, today=date(2025, 3, 20)) == date(2025, 3, 20)


def test_missing_tables_are_reported_not_faked(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    load_returns(lake, write_returns(tmp_path / "returns"), ORG_CODES)
    result = compute_metrics(lake, FOOTPRINT, CUT_OFF)
    assert "bed_occupancy" in result.metric_ids
    assert "ae_4hr" not in result.metric_ids
    assert result.skipped["ae_4hr"] == "lake table(s) missing: event"
    assert result.skipped["diabetes_prevalence"].startswith("lake table(s) missing:")
