"""The metric catalogue: every metric's definition as code, and its agreed failure rule.

A metric is defined once, here, with everything a board paper needs to read it: what is
counted, over what, which way is better, how often, from which data, the lowest level of the
footprint it is valid at (no drill-down below it), the target with its basis, and the agreed
definition of failure. ``tests/metrics/test_catalogue.py`` fails if any metric lacks one of
these or is missing from ``docs/metrics.md``. Computation (from the lake and the returns)
reads these definitions; it does not restate them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from wholesystem.metrics.spc import Improvement, PointType

__all__ = [
    "CATALOGUE",
    "Comparison",
    "FailureKind",
    "FailureRule",
    "Frequency",
    "Metric",
    "MetricLevel",
    "Target",
    "Unit",
    "by_id",
    "is_failing",
    "meets_target",
]


class Frequency(StrEnum):
    weekly = "weekly"
    monthly = "monthly"
    quarterly = "quarterly"


class MetricLevel(StrEnum):
    """The lowest footprint level a metric is valid at, from the top."""

    system = "system"
    place = "place"
    organisation = "organisation"
    neighbourhood = "neighbourhood"


class Unit(StrEnum):
    percent = "percent"
    per_1000 = "per 1,000 registered people"
    per_100k_65 = "per 100,000 people aged 65+"
    days = "days"
    number = "count"
    pounds = "£"


class Comparison(StrEnum):
    at_least = "at_least"
    at_most = "at_most"


@dataclass(frozen=True)
class Target:
    value: Decimal
    comparison: Comparison
    basis: str

    @property
    def text(self) -> str:
        word = "at least" if self.comparison is Comparison.at_least else "at most"
        return f"{word} {self.value}"


class FailureKind(StrEnum):
    target_missed = "target_missed"
    special_cause_concern = "special_cause_concern"


@dataclass(frozen=True)
class FailureRule:
    """The agreed definition of failure: the last ``periods`` points all miss the target,
    or all show special-cause concern."""

    kind: FailureKind
    periods: int

    @property
    def text(self) -> str:
        if self.kind is FailureKind.target_missed:
            return f"misses the target for {self.periods} consecutive periods"
        return f"shows special-cause concern for {self.periods} consecutive periods"


@dataclass(frozen=True)
class Metric:
    id: str
    name: str
    domain: str
    definition: str
    numerator: str
    denominator: str
    unit: Unit
    improvement: Improvement
    frequency: Frequency
    sources: tuple[str, ...]
    lowest_level: MetricLevel
    target: Target
    failure: FailureRule
    reference: str


_NATIONAL_2526 = "NHS England 2025/26 priorities and operational planning guidance"
_OVERSIGHT = "NHS Oversight Framework 2025/26 technical metric specification"
_LOCAL = "Northshire system plan 2025/26 (local ambition, agreed by the system board)"
_ICS_REF = "NHS England ICS System Metrics Reference Guide (2021)"
_PREVALENCE = "local ambition: recorded prevalence rising to the modelled expected prevalence"

_TIERS = (
    "wholesystem population health: risk tiers are the top 0.5%, 0.5-5% and 5-20% of the "
    "system's scored registered people by predicted risk of an emergency admission in the "
    "next 12 months (docs/population.md)"
)
_SUBSIDIARITY = (
    "Health and Care Act 2022 statutory guidance on ICS arrangements: decisions taken as "
    "close to local communities as possible (subsidiarity)"
)

_TARGET_3 = FailureRule(FailureKind.target_missed, 3)
_TARGET_2 = FailureRule(FailureKind.target_missed, 2)
_CONCERN_2 = FailureRule(FailureKind.special_cause_concern, 2)


def _m(
    id: str,
    name: str,
    domain: str,
    definition: str,
    numerator: str,
    denominator: str,
    unit: Unit,
    improvement: Improvement,
    sources: tuple[str, ...],
    lowest_level: MetricLevel,
    target: tuple[str, Comparison, str],
    failure: FailureRule = _TARGET_3,
    reference: str = _ICS_REF,
    frequency: Frequency = Frequency.monthly,
) -> Metric:
    value, comparison, basis = target
    return Metric(
        id=id,
        name=name,
        domain=domain,
        definition=definition,
        numerator=numerator,
        denominator=denominator,
        unit=unit,
        improvement=improvement,
        frequency=frequency,
        sources=sources,
        lowest_level=lowest_level,
        target=Target(Decimal(value), comparison, basis),
        failure=failure,
        reference=reference,
    )


UP, DOWN = Improvement.up, Improvement.down
AT_LEAST, AT_MOST = Comparison.at_least, Comparison.at_most
ORG, PLACE, HOOD, SYSTEM = (
    MetricLevel.organisation,
    MetricLevel.place,
    MetricLevel.neighbourhood,
    MetricLevel.system,
)

CATALOGUE: tuple[Metric, ...] = (
    _m("ae_4hr", "A&E 4-hour performance", "urgent care",
       "Share of A&E attendances admitted, transferred or discharged within 4 hours of arrival.",
       "attendances with departure no more than 4 hours after arrival", "all attendances",
       Unit.percent, UP, ("ecds",), ORG, ("78", AT_LEAST, _NATIONAL_2526), reference=_OVERSIGHT),
    _m("ae_12hr", "12 hours or more in A&E", "urgent care",
       "Share of A&E attendances that spent 12 hours or more in the department.",
       "attendances with departure 12 hours or more after arrival", "all attendances",
       Unit.percent, DOWN, ("ecds",), ORG, ("2", AT_MOST, _LOCAL), reference=_OVERSIGHT),
    _m("ae_attendances_rate", "A&E attendances per 1,000 registered people", "urgent care",
       "A&E attendances by the registered population, per 1,000 registered people.",
       "A&E attendances of registered people", "registered population / 1,000",
       Unit.per_1000, DOWN, ("ecds", "gp_patients"), HOOD, ("30", AT_MOST, _LOCAL),
       failure=_CONCERN_2),
    _m("emergency_admissions_rate", "Emergency admissions per 1,000 registered people",
       "activity",
       "Emergency admissions (admission method 21-28) of the registered population, per "
       "1,000 registered people.",
       "emergency spells of registered people", "registered population / 1,000",
       Unit.per_1000, DOWN, ("apc", "gp_patients"), HOOD, ("9", AT_MOST, _LOCAL),
       failure=_CONCERN_2),
    _m("readmissions_30d", "Emergency readmissions within 30 days", "activity",
       "Share of discharges from hospital followed by an emergency admission within 30 days.",
       "discharges followed by an emergency admission within 30 days",
       "discharges (excluding deaths)", Unit.percent, DOWN, ("apc",), PLACE,
       ("14", AT_MOST, _LOCAL)),
    _m("average_los", "Average length of stay (emergency)", "flow",
       "Mean length of stay of emergency spells discharged in the period.",
       "sum of bed days of emergency spells discharged", "emergency spells discharged",
       Unit.days, DOWN, ("apc",), ORG, ("5.5", AT_MOST, _LOCAL)),
    _m("bed_occupancy", "General and acute bed occupancy", "flow",
       "Occupied general and acute beds as a share of available beds (core and escalation).",
       "occupied beds", "core plus escalation beds", Unit.percent, DOWN, ("beds",), ORG,
       ("92", AT_MOST, "NHS England planning ceiling for G&A occupancy")),
    _m("nctr_share", "Beds occupied by patients with no criteria to reside", "flow",
       "Share of occupied beds whose patients no longer meet the criteria to reside.",
       "patients with no criteria to reside still in hospital", "occupied beds",
       Unit.percent, DOWN, ("beds",), ORG, ("10", AT_MOST, _LOCAL)),
    _m("mh_out_of_area", "Inappropriate out-of-area mental health placements", "mental health",
       "Mental health inpatient contacts placed out of area.",
       "mental health inpatient contacts flagged out of area", "none (a count)",
       Unit.number, DOWN, ("mhsds",), ORG, ("0", AT_MOST, _NATIONAL_2526),
       reference=_OVERSIGHT),
    _m("new_long_term_care", "New long-term social care packages (65+)", "social care",
       "New long-term adult social care services starting for people aged 65 and over, per "
       "100,000 people aged 65+.",
       "long-term services starting for people aged 65+", "population aged 65+ / 100,000",
       Unit.per_100k_65, DOWN, ("asc", "gp_patients"), PLACE, ("45", AT_MOST, _LOCAL)),
    _m("care_home_admissions", "Permanent admissions to care homes (65+)", "social care",
       "Permanent admissions to residential or nursing care of people aged 65 and over, per "
       "100,000 people aged 65+.",
       "residential or nursing placements starting for people aged 65+",
       "population aged 65+ / 100,000", Unit.per_100k_65, DOWN, ("asc", "gp_patients"), PLACE,
       ("45", AT_MOST, _LOCAL), reference=_OVERSIGHT),
    _m("deaths_in_hospital", "Deaths in hospital", "end of life",
       "Share of deaths of registered people that happened during a hospital spell.",
       "deaths whose date falls within a hospital spell", "deaths of registered people",
       Unit.percent, DOWN, ("deaths", "apc"), PLACE, ("45", AT_MOST, _LOCAL),
       frequency=Frequency.quarterly),
    _m("outpatient_dna", "Outpatient appointments not attended", "elective",
       "Share of outpatient appointments the patient did not attend.",
       "appointments not attended", "appointments", Unit.percent, DOWN, ("opa",), ORG,
       ("7", AT_MOST, _LOCAL)),
    _m("community_contacts_rate", "Community health contacts per 1,000", "community",
       "Community health service contacts with the registered population, per 1,000.",
       "community contacts of registered people", "registered population / 1,000",
       Unit.per_1000, UP, ("csds", "gp_patients"), HOOD, ("60", AT_LEAST, _LOCAL),
       failure=_CONCERN_2),
    _m("finance_ytd_variance", "Position against plan, year to date", "finance",
       "Income and expenditure surplus or deficit year to date, less the planned position.",
       "actual surplus/(deficit) year to date minus planned surplus/(deficit) year to date",
       "none (an amount)", Unit.pounds, UP, ("finance",), ORG, ("0", AT_LEAST, _NATIONAL_2526),
       reference="NHS England financial framework: balanced system plan"),
    _m("finance_forecast_variance", "Forecast outturn against plan", "finance",
       "Forecast full-year surplus or deficit, less the planned full-year position.",
       "forecast outturn minus full-year plan", "none (an amount)", Unit.pounds, UP,
       ("finance",), ORG, ("0", AT_LEAST, _NATIONAL_2526),
       reference="NHS England financial framework: balanced system plan"),
    _m("efficiency_delivery", "Efficiency savings delivered against plan", "finance",
       "Efficiency savings delivered year to date as a share of those planned year to date.",
       "efficiency savings delivered year to date", "efficiency savings planned year to date",
       Unit.percent, UP, ("finance",), ORG, ("100", AT_LEAST, _NATIONAL_2526)),
    _m("agency_share", "Agency spend as a share of the pay bill", "workforce",
       "Agency staff spend as a share of total pay spend.",
       "agency spend", "total pay spend (substantive, bank and agency)", Unit.percent, DOWN,
       ("workforce", "finance"), ORG, ("3.2", AT_MOST, _NATIONAL_2526)),
    _m("vacancy_rate", "Vacancy rate", "workforce",
       "Vacant funded posts as a share of the funded establishment (whole-time equivalents).",
       "vacant WTE", "WTE in post plus vacant WTE", Unit.percent, DOWN, ("workforce",), ORG,
       ("8", AT_MOST, _LOCAL), reference=_OVERSIGHT),
    _m("sickness_rate", "Sickness absence", "workforce",
       "Full-time-equivalent days lost to sickness as a share of days available.",
       "FTE days sick", "FTE days available", Unit.percent, DOWN, ("workforce",), ORG,
       ("4.5", AT_MOST, _LOCAL), reference=_OVERSIGHT),
    _m("diabetes_prevalence", "Recorded diabetes prevalence", "long-term conditions",
       "Share of registered people with diabetes recorded in primary care; finding the "
       "undiagnosed raises it towards the expected prevalence.",
       "registered people with a diabetes code", "registered population", Unit.percent, UP,
       ("gp_events", "gp_patients"), HOOD, ("7", AT_LEAST, _PREVALENCE)),
    _m("copd_prevalence", "Recorded COPD prevalence", "long-term conditions",
       "Share of registered people with COPD recorded in primary care.",
       "registered people with a COPD code", "registered population", Unit.percent, UP,
       ("gp_events", "gp_patients"), HOOD, ("1.9", AT_LEAST, _PREVALENCE)),
    _m("hypertension_prevalence", "Recorded hypertension prevalence", "long-term conditions",
       "Share of registered people with hypertension recorded in primary care.",
       "registered people with a hypertension code", "registered population", Unit.percent, UP,
       ("gp_events", "gp_patients"), HOOD, ("14", AT_LEAST, _PREVALENCE)),
    _m("high_risk_share", "People in the highest risk tiers", "population health",
       "Share of the people scored at the latest risk stratification who are in the system's "
       "top 5% by predicted risk of an emergency admission (the very high and high risk tiers).",
       "people in the top 0.5% and 0.5-5% risk tiers",
       "registered people scored at the stratification date", Unit.percent, DOWN,
       ("population",), HOOD,
       ("5", AT_MOST, "the tiers hold 5% of the system's people by definition; above it an area "
        "carries more than its share of the system's highest-risk people"),
       reference=_TIERS),
    _m("rising_risk_share", "People at rising risk", "population health",
       "Share of the people scored at the latest risk stratification who are in the system's "
       "5-20% band by predicted risk of an emergency admission (the rising risk tier).",
       "people in the 5-20% risk tier", "registered people scored at the stratification date",
       Unit.percent, DOWN, ("population",), HOOD,
       ("15", AT_MOST, "the tier holds 15% of the system's people by definition; above it an "
        "area carries more than its share of the system's rising-risk people"),
       reference=_TIERS),
    _m("place_decision_share", "Decisions made at place", "governance",
       "Share of the decisions made in the quarter that a place board made, rather than the "
       "system board; the aim is about 80% at place and 20% at system.",
       "decisions made (approved or ratified) by a place board",
       "decisions made by a place board or the system board", Unit.percent, UP,
       ("governance",), SYSTEM,
       ("80", AT_LEAST, "system operating model: about 80% of decisions at place, 20% at "
        "system"),
       failure=_TARGET_2, reference=_SUBSIDIARITY, frequency=Frequency.quarterly),
)  # fmt: skip


def by_id(metric_id: str) -> Metric:
    """The metric with this id; a KeyError names the unknown id."""
    for metric in CATALOGUE:
        if metric.id == metric_id:
            return metric
    raise KeyError(f"unknown metric '{metric_id}'")


def meets_target(value: float | Decimal, target: Target) -> bool:
    """Whether one value meets the target (exactly on the target meets it)."""
    v = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return v >= target.value if target.comparison is Comparison.at_least else v <= target.value


_CONCERN = PointType.special_cause_concern


def is_failing(
    metric: Metric, values: Sequence[float | Decimal], point_types: Sequence[PointType]
) -> bool:
    """Whether the latest points meet the metric's agreed definition of failure.

    ``values`` and ``point_types`` are the series in date order (point types from SPC); a
    series shorter than the rule's window cannot be failing yet.
    """
    n = metric.failure.periods
    if metric.failure.kind is FailureKind.target_missed:
        if len(values) < n:
            return False
        return all(not meets_target(v, metric.target) for v in values[-n:])
    if len(point_types) < n:
        return False
    return all(p is _CONCERN for p in point_types[-n:])
