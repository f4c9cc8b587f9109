# ruff: noqa: S608 - SQL here is built from this module's own fragments, constant code
# lists and ISO dates from date objects; no value read from data is spliced into SQL.
"""Compute every catalogue metric per footprint area and per organisation, in DuckDB.

Each metric is one SQL query over the linked lake tables (``person``, ``registration``,
``event``, ``condition``, ``care_package``) and the loaded returns (``return_finance``,
``return_workforce``, ``return_beds``), producing a numerator and a denominator per area
and period; the value is derived from them here, in Decimal, so every backend stores the
same digits. ``docs/metrics.md`` ("How each metric is computed") states each rule.

Conventions shared by every metric:

* **Periods** are calendar months (quarters where the catalogue says quarterly), labelled
  by their first day. A period is published only once it is complete by the data cut-off
  (and, for 30-day readmissions, once its 30-day follow-up is), and only within the
  metric's own data: from the first to the last period its source has rows in, never
  earlier than the start of the partner extracts' activity window.
* **Registered population** of an area in a month: people registered on the last day of
  the month at a practice of the area. A person's registrations are cleaned first: each
  runs from its registration date to the earliest of its deregistration, the person's
  next registration and the person's death, so nobody is counted twice.
* **Attribution** of person-level activity to an area: the practice the person was
  registered with on the day of the activity (the day before death for deaths).
* **Provider metrics** (lowest level ``organisation``) are counted by the organisation
  that reported the activity, and for the system as the sum over organisations.
* No value is produced below a metric's lowest level.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import duckdb
import pyarrow as pa

from wholesystem.metrics.catalogue import CATALOGUE, Frequency, Metric, MetricLevel, Unit
from wholesystem.store.lake import Lake

__all__ = [
    "CONDITION_CODES",
    "HIGH_RISK_TIERS",
    "LONG_TERM_SERVICES",
    "RESIDENTIAL_SERVICES",
    "RISING_RISK_TIERS",
    "ComputeResult",
    "ComputedValue",
    "Footprint",
    "PracticePlacement",
    "compute_metrics",
    "default_cut_off",
    "metric_value",
]

QUANTUM = Decimal("0.000001")

# SNOMED CT concepts that put a person on a condition's register when recorded in primary
# care. Abridged from the NHS Digital QOF business rules clusters (DM_COD, COPD_COD,
# HYP_COD, v49): the clusters' parent concepts and their commonest children.
CONDITION_CODES: dict[str, tuple[str, ...]] = {
    "diabetes": (
        "73211009",  # Diabetes mellitus
        "44054006",  # Type 2 diabetes mellitus
        "46635009",  # Type 1 diabetes mellitus
        "190388001",  # Multiple complications of type 1 diabetes mellitus
        "313436004",  # Type 2 diabetes mellitus without complication
        "237599002",  # Insulin treated type 2 diabetes mellitus
    ),
    "copd": (
        "13645005",  # Chronic obstructive lung disease
        "185086009",  # Chronic obstructive bronchitis
        "195951007",  # Acute exacerbation of chronic obstructive airways disease
        "87433001",  # Pulmonary emphysema
    ),
    "hypertension": (
        "38341003",  # Hypertensive disorder, systemic arterial
        "59621000",  # Essential hypertension
        "1201005",  # Benign essential hypertension
        "78975002",  # Malignant essential hypertension
    ),
}

# Long-term support as in the Short and Long Term (SALT) return, table LTS001: services
# that continue, as opposed to reablement (short term), equipment and carer support.
LONG_TERM_SERVICES = (
    "home_care",
    "residential_care",
    "nursing_care",
    "day_care",
    "direct_payment",
)
# Permanent admissions to care homes (ASCOF 2A): residential and nursing placements.
RESIDENTIAL_SERVICES = ("residential_care", "nursing_care")

# The population capability's tiers (population.segments.TIERS), by their stored names.
HIGH_RISK_TIERS = ("top_0_5", "p0_5_to_5")
RISING_RISK_TIERS = ("p5_to_20",)

# APC discharge destination 79: not applicable, patient died or stillbirth.
DIED_DESTINATION = "79"
READMISSION_DAYS = 30


@dataclass(frozen=True)
class PracticePlacement:
    """Where a practice sits in the footprint."""

    practice_code: str
    neighbourhood_code: str
    place_code: str


@dataclass(frozen=True)
class Footprint:
    """The footprint as the computation needs it: practices placed, organisations typed."""

    system_code: str
    practices: tuple[PracticePlacement, ...]
    organisations: tuple[tuple[str, str], ...]  # (code, type)


@dataclass(frozen=True)
class ComputedValue:
    """One metric value: numerator, denominator (None for counts and amounts), value."""

    metric_id: str
    area_code: str
    area_kind: str
    period: date
    numerator: Decimal | None
    denominator: Decimal | None
    value: Decimal | None


@dataclass
class ComputeResult:
    """Every value computed, sorted, and the metrics that could not be (with why)."""

    values: list[ComputedValue]
    cut_off: date
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def metric_ids(self) -> list[str]:
        return sorted({v.metric_id for v in self.values})


# --------------------------------------------------------------------------- helpers


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(_q(v) for v in values) + ")"


def _d(day: date) -> str:
    return f"DATE '{day.isoformat()}'"


def _month_end(day: date) -> date:
    first_next = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first_next - timedelta(days=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _period_step(frequency: Frequency) -> int:
    return {Frequency.monthly: 1, Frequency.quarterly: 3}.get(frequency, 1)


def _period_of(frequency: Frequency) -> str:
    """The DuckDB macro that maps a date to its period's first day."""
    if frequency is Frequency.quarterly:
        return "quarter_of"
    if frequency is Frequency.weekly:
        return "week_of"
    return "month_of"


def _last_complete_period(frequency: Frequency, cut_off: date, lag_days: int) -> date:
    """The first day of the latest period that ends (plus lag) on or before the cut-off."""
    latest = cut_off - timedelta(days=lag_days)
    if frequency is Frequency.weekly:
        monday = latest - timedelta(days=latest.weekday())
        return monday if monday + timedelta(days=6) <= latest else monday - timedelta(days=7)
    step = _period_step(frequency)
    start = date(latest.year, ((latest.month - 1) // step) * step + 1, 1)
    end = _add_months(start, step) - timedelta(days=1)
    return start if end <= latest else _add_months(start, -step)


_LEVELS_BY_LOWEST: dict[MetricLevel, tuple[str, ...]] = {
    MetricLevel.system: ("system",),
    MetricLevel.place: ("system", "place"),
    MetricLevel.neighbourhood: ("system", "place", "neighbourhood"),
}
_LEVEL_COLUMN = {
    "system": "system_code",
    "place": "place_code",
    "neighbourhood": "neighbourhood_code",
    "practice": "practice_code",
}

_SCALE = {
    Unit.percent: Decimal(100),
    Unit.per_1000: Decimal(1000),
    Unit.per_100k_65: Decimal(100_000),
    Unit.days: Decimal(1),
}


def metric_value(metric: Metric, numerator: Decimal, denominator: Decimal | None) -> Decimal | None:
    """The value from numerator and denominator; None where the denominator is zero."""
    if metric.unit in (Unit.number, Unit.pounds):
        return numerator.quantize(QUANTUM, ROUND_HALF_EVEN)
    if denominator is None or denominator == 0:
        return None
    return (numerator * _SCALE[metric.unit] / denominator).quantize(QUANTUM, ROUND_HALF_EVEN)


def _dec(x: object) -> Decimal | None:
    if x is None:
        return None
    d = x if isinstance(x, Decimal) else Decimal(str(x))
    return d.quantize(QUANTUM, ROUND_HALF_EVEN)


# --------------------------------------------------------------------------- metric SQL
#
# Two shapes of metric:
#   practice: SQL giving (practice_code, period, num, den) for periods with data; rolled up
#             the footprint (practices never published below the metric's lowest level).
#   provider: SQL giving (org_code, period, num, den); published per organisation and for
#             the system as the sum over organisations.
# ``den`` is NULL in the SQL where the denominator is a registered population: it is
# joined from the population tables after zero-filling.


@dataclass(frozen=True)
class MetricSql:
    shape: str  # practice, provider
    sql: Callable[[], str]
    tables: tuple[str, ...]
    population: str | None = None  # pop_all, pop_65, prev_<condition>: the denominator
    lag_days: int = 0
    # SQL giving one row (first, last): the span of dates the metric's source covers. A
    # period inside it with nothing to count is a zero, not a gap. None: the span of the
    # metric's own rows (returns: a month an organisation did not return is a gap).
    span: str | None = None
    zero_fill: bool = False


def _span(table: str, column: str, where: str = "TRUE") -> str:
    return f"SELECT min({column}) AS first, max({column}) AS last FROM {table} WHERE {where}"


def _setting_span(setting: str, column: str = "start_date") -> str:
    return _span("event", column, f"setting = {_q(setting)}")


_WINDOW_SPAN = "SELECT window_start() AS first, cut_off() AS last"
_BASE_SPAN = "SELECT min(period) AS first, max(period) AS last FROM base"


def _event_count(setting: str, extra: str = "") -> Callable[[], str]:
    def sql() -> str:
        return f"""
            SELECT r.practice_code, month_of(e.start_date) AS period, count(*) AS num
            FROM event e JOIN reg r ON r.person_id = e.person_id
              AND e.start_date >= r.start_date
              AND (r.end_date IS NULL OR e.start_date < r.end_date)
            WHERE e.setting = {_q(setting)} {extra}
              AND e.start_date BETWEEN window_start() AND cut_off()
            GROUP BY ALL
        """

    return sql


def _prevalence(condition: str) -> Callable[[], str]:
    def sql() -> str:
        return f"SELECT practice_code, period, n AS num FROM prev_{condition}"

    return sql


def _tier_share(tiers: Sequence[str]) -> Callable[[], str]:
    # A stratification at an index date describes the month that ends on or before it.
    def sql() -> str:
        return f"""
            SELECT practice_code,
                   CAST(month_of(index_date + INTERVAL 1 DAY) - INTERVAL 1 MONTH AS DATE)
                       AS period,
                   count(*) FILTER (WHERE tier IN {_in(tiers)}) AS num, count(*) AS den
            FROM population_person
            WHERE practice_code IS NOT NULL
            GROUP BY ALL
        """

    return sql


def _ae(threshold_hours: int, at_most: bool) -> Callable[[], str]:
    test = (
        f"e.end_time <= e.start_time + INTERVAL {threshold_hours} HOUR"
        if at_most
        else f"e.end_time >= e.start_time + INTERVAL {threshold_hours} HOUR"
    )

    def sql() -> str:
        # An attendance without a departure time cannot be timed: it is left out of both
        # numerator and denominator (and so visible as a data-quality gap, not a breach).
        return f"""
            SELECT e.source AS org_code, month_of(e.start_date) AS period,
                   count(*) FILTER (WHERE {test}) AS num, count(*) AS den
            FROM event e
            WHERE e.setting = 'ae' AND e.end_time IS NOT NULL
              AND e.start_date BETWEEN window_start() AND cut_off()
            GROUP BY ALL
        """

    return sql


def _readmissions() -> str:
    return f"""
        WITH spells AS (
            SELECT event_id, person_id, start_date, end_date, emergency,
                   discharge_destination
            FROM event WHERE setting = 'inpatient' AND start_date <= cut_off()
        ),
        discharges AS (
            SELECT s.* FROM spells s LEFT JOIN person p USING (person_id)
            WHERE s.end_date IS NOT NULL
              AND s.end_date BETWEEN window_start() AND cut_off()
              AND coalesce(s.discharge_destination, '') <> {_q(DIED_DESTINATION)}
              AND (p.date_of_death IS NULL OR p.date_of_death > s.end_date)
        ),
        flagged AS (
            SELECT d.event_id, d.person_id, d.end_date,
                   EXISTS (
                       SELECT 1 FROM spells n
                       WHERE n.person_id = d.person_id AND n.emergency
                         AND n.event_id <> d.event_id
                         AND n.start_date >= d.end_date
                         AND n.start_date <= d.end_date + INTERVAL {READMISSION_DAYS} DAY
                   ) AS readmitted
            FROM discharges d
        )
        SELECT r.practice_code, month_of(f.end_date) AS period,
               count(*) FILTER (WHERE f.readmitted) AS num, count(*) AS den
        FROM flagged f JOIN reg r ON r.person_id = f.person_id
          AND f.end_date >= r.start_date AND (r.end_date IS NULL OR f.end_date < r.end_date)
        GROUP BY ALL
    """


def _average_los() -> str:
    return """
        SELECT source AS org_code, month_of(end_date) AS period,
               sum(date_diff('day', start_date, end_date)) AS num, count(*) AS den
        FROM event
        WHERE setting = 'inpatient' AND emergency AND end_date IS NOT NULL
          AND end_date >= start_date
          AND end_date BETWEEN window_start() AND cut_off()
        GROUP BY ALL
    """


def _beds(numerator: str, denominator: str, org_types: Sequence[str] | None) -> Callable[[], str]:
    def sql() -> str:
        only = (
            f"AND org_code IN (SELECT code FROM fp_org WHERE type IN {_in(org_types)})"
            if org_types
            else ""
        )
        return f"""
            SELECT org_code, month AS period, sum({numerator}) AS num, sum({denominator}) AS den
            FROM return_beds WHERE month BETWEEN window_start() AND cut_off() {only}
            GROUP BY ALL
        """

    return sql


def _mh_out_of_area() -> str:
    # The organisations counted are those with mental-health inpatient activity at all, so
    # a month with no out-of-area placement is a published zero, not a gap.
    return """
        SELECT source AS org_code, month_of(start_date) AS period,
               count(*) FILTER (WHERE out_of_area) AS num, NULL AS den
        FROM event
        WHERE setting = 'mental_health' AND inpatient
          AND start_date BETWEEN window_start() AND cut_off()
        GROUP BY ALL
    """


def _care_starts(services: Sequence[str]) -> Callable[[], str]:
    def sql() -> str:
        # One start per person, service and start date: a service recorded twice (two
        # local records of one person) is one start.
        return f"""
            WITH starts AS (
                SELECT DISTINCT c.person_id, c.service_type, c.start_date
                FROM care_package c JOIN person p USING (person_id)
                WHERE c.service_type IN {_in(services)}
                  AND c.start_date BETWEEN window_start() AND cut_off()
                  AND p.date_of_birth IS NOT NULL
                  AND c.start_date >= CAST(p.date_of_birth + INTERVAL 65 YEAR AS DATE)
            )
            SELECT r.practice_code, month_of(s.start_date) AS period, count(*) AS num
            FROM starts s JOIN reg r ON r.person_id = s.person_id
              AND s.start_date >= r.start_date
              AND (r.end_date IS NULL OR s.start_date < r.end_date)
            GROUP BY ALL
        """

    return sql


def _deaths_in_hospital() -> str:
    return """
        WITH deaths AS (
            SELECT person_id, date_of_death FROM person
            WHERE date_of_death BETWEEN window_start() AND cut_off()
        ),
        judged AS (
            SELECT d.person_id, d.date_of_death,
                   EXISTS (
                       SELECT 1 FROM event s
                       WHERE s.person_id = d.person_id AND s.setting = 'inpatient'
                         AND s.start_date <= d.date_of_death
                         AND coalesce(s.end_date, d.date_of_death) >= d.date_of_death
                   ) AS in_hospital
            FROM deaths d
        )
        SELECT r.practice_code, quarter_of(j.date_of_death) AS period,
               count(*) FILTER (WHERE j.in_hospital) AS num, count(*) AS den
        FROM judged j JOIN reg r ON r.person_id = j.person_id
          AND j.date_of_death - 1 >= r.start_date
          AND (r.end_date IS NULL OR j.date_of_death - 1 < r.end_date)
        GROUP BY ALL
    """


# Income and expenditure: income less the four cost lines. Efficiency savings are a
# memorandum line and capital sits outside I&E, so neither moves the surplus.
_SURPLUS = (
    "CASE category WHEN 'income' THEN {col} "
    "WHEN 'pay_medical' THEN -{col} WHEN 'pay_nursing' THEN -{col} "
    "WHEN 'pay_other' THEN -{col} WHEN 'non_pay' THEN -{col} ELSE 0 END"
)


def _fy_of(column: str) -> str:
    # Financial years start in April: FY 2025 runs 2025-04-01 to 2026-03-31.
    return f"(year({column}) - CASE WHEN month({column}) < 4 THEN 1 ELSE 0 END)"


def _finance_ytd() -> str:
    return f"""
        WITH monthly AS (
            SELECT org_code, month, {_fy_of("month")} AS fy,
                   sum({_SURPLUS.format(col="actual")}) AS actual,
                   sum({_SURPLUS.format(col="plan")}) AS plan
            FROM return_finance WHERE month <= cut_off()
            GROUP BY ALL
        )
        SELECT * FROM (
            SELECT org_code, month AS period,
                   sum(actual - plan) OVER (PARTITION BY org_code, fy ORDER BY month) AS num,
                   NULL AS den
            FROM monthly
        ) WHERE period >= window_start()
    """


def _finance_forecast() -> str:
    # As at month m: the year's actuals to m plus the return's forecasts for the months
    # after m, less the full-year plan. Plans and forecasts for months after the cut-off
    # are known in advance and are used; actuals after the cut-off never are. A year
    # without all twelve months of plan has no full-year plan, so no value.
    return f"""
        WITH monthly AS (
            SELECT org_code, month, {_fy_of("month")} AS fy,
                   sum({_SURPLUS.format(col="actual")}) AS actual,
                   sum({_SURPLUS.format(col="plan")}) AS plan,
                   sum({_SURPLUS.format(col="forecast")}) AS forecast
            FROM return_finance GROUP BY ALL
        ),
        years AS (
            SELECT org_code, fy, sum(plan) AS plan_year, count(*) AS months
            FROM monthly GROUP BY ALL
        )
        SELECT m.org_code, m.month AS period,
               sum(CASE WHEN o.month <= m.month THEN o.actual ELSE o.forecast END)
                   - y.plan_year AS num,
               NULL AS den
        FROM monthly m
        JOIN years y ON y.org_code = m.org_code AND y.fy = m.fy AND y.months = 12
        JOIN monthly o ON o.org_code = m.org_code AND o.fy = m.fy
        WHERE m.month BETWEEN window_start() AND cut_off()
        GROUP BY m.org_code, m.month, y.plan_year
    """


def _efficiency() -> str:
    return f"""
        WITH monthly AS (
            SELECT org_code, month, {_fy_of("month")} AS fy, sum(actual) AS actual,
                   sum(plan) AS plan
            FROM return_finance
            WHERE category = 'efficiency_savings' AND month <= cut_off()
            GROUP BY ALL
        )
        SELECT * FROM (
            SELECT org_code, month AS period,
                   sum(actual) OVER (PARTITION BY org_code, fy ORDER BY month) AS num,
                   sum(plan) OVER (PARTITION BY org_code, fy ORDER BY month) AS den
            FROM monthly
        ) WHERE period >= window_start()
    """


def _agency() -> str:
    return """
        WITH pay AS (
            SELECT org_code, month, sum(actual) AS pay FROM return_finance
            WHERE category IN ('pay_medical', 'pay_nursing', 'pay_other')
              AND month BETWEEN window_start() AND cut_off()
            GROUP BY ALL
        ),
        agency AS (
            SELECT org_code, month, sum(agency_spend) AS agency FROM return_workforce
            WHERE month BETWEEN window_start() AND cut_off()
            GROUP BY ALL
        )
        SELECT a.org_code, a.month AS period, a.agency AS num, p.pay AS den
        FROM agency a JOIN pay p USING (org_code, month)
    """


def _vacancy() -> str:
    return """
        SELECT org_code, month AS period, sum(wte_vacancy) AS num,
               sum(wte_in_post + wte_vacancy) AS den
        FROM return_workforce WHERE month BETWEEN window_start() AND cut_off()
        GROUP BY ALL
    """


def _sickness() -> str:
    # FTE days: whole-time equivalents in post times the calendar days of the month; the
    # days lost are those times each staff group's sickness rate.
    return """
        SELECT org_code, month AS period,
               sum(sickness_rate * wte_in_post * day(last_day(month))) AS num,
               sum(wte_in_post * day(last_day(month))) AS den
        FROM return_workforce WHERE month BETWEEN window_start() AND cut_off()
        GROUP BY ALL
    """


def _const(sql: str) -> Callable[[], str]:
    return lambda: sql


_EVENT = ("event", "registration", "person")

METRIC_SQL: dict[str, MetricSql] = {
    "ae_4hr": MetricSql(
        "provider", _ae(4, at_most=True), ("event",), span=_setting_span("ae"), zero_fill=True
    ),
    "ae_12hr": MetricSql(
        "provider", _ae(12, at_most=False), ("event",), span=_setting_span("ae"), zero_fill=True
    ),
    "ae_attendances_rate": MetricSql(
        "practice", _event_count("ae"), _EVENT, "pop_all", span=_setting_span("ae")
    ),
    "emergency_admissions_rate": MetricSql(
        "practice",
        _event_count("inpatient", "AND e.emergency"),
        _EVENT,
        "pop_all",
        span=_setting_span("inpatient"),
    ),
    "readmissions_30d": MetricSql(
        "practice",
        _readmissions,
        _EVENT,
        lag_days=READMISSION_DAYS,
        span=_setting_span("inpatient", "end_date"),
    ),
    "average_los": MetricSql(
        "provider",
        _average_los,
        ("event",),
        span=_setting_span("inpatient", "end_date"),
        zero_fill=True,
    ),
    "bed_occupancy": MetricSql(
        "provider",
        _beds("occupied", "core_beds + escalation_beds", ("acute_trust",)),
        ("return_beds",),
    ),
    "nctr_share": MetricSql(
        "provider", _beds("no_criteria_to_reside", "occupied", None), ("return_beds",)
    ),
    "mh_out_of_area": MetricSql(
        "provider",
        _const(_mh_out_of_area()),
        ("event",),
        span=_setting_span("mental_health"),
        zero_fill=True,
    ),
    "new_long_term_care": MetricSql(
        "practice",
        _care_starts(LONG_TERM_SERVICES),
        (*_EVENT, "care_package"),
        "pop_65",
        span=_span("care_package", "start_date"),
    ),
    "care_home_admissions": MetricSql(
        "practice",
        _care_starts(RESIDENTIAL_SERVICES),
        (*_EVENT, "care_package"),
        "pop_65",
        span=_span("care_package", "start_date"),
    ),
    "deaths_in_hospital": MetricSql(
        "practice",
        _deaths_in_hospital,
        _EVENT,
        span=_span("person", "date_of_death"),
    ),
    "outpatient_dna": MetricSql(
        "provider",
        _const(
            """
            SELECT source AS org_code, month_of(start_date) AS period,
                   count(*) FILTER (WHERE NOT attended) AS num, count(*) AS den
            FROM event
            WHERE setting = 'outpatient' AND attended IS NOT NULL
              AND start_date BETWEEN window_start() AND cut_off()
            GROUP BY ALL
            """
        ),
        ("event",),
        span=_setting_span("outpatient"),
        zero_fill=True,
    ),
    "community_contacts_rate": MetricSql(
        "practice", _event_count("community"), _EVENT, "pop_all", span=_setting_span("community")
    ),
    "finance_ytd_variance": MetricSql("provider", _finance_ytd, ("return_finance",)),
    "finance_forecast_variance": MetricSql("provider", _finance_forecast, ("return_finance",)),
    "efficiency_delivery": MetricSql("provider", _efficiency, ("return_finance",)),
    "agency_share": MetricSql("provider", _agency, ("return_finance", "return_workforce")),
    "vacancy_rate": MetricSql("provider", _vacancy, ("return_workforce",)),
    "sickness_rate": MetricSql("provider", _sickness, ("return_workforce",)),
    "high_risk_share": MetricSql(
        "practice",
        _tier_share(HIGH_RISK_TIERS),
        ("population_person",),
        span=_BASE_SPAN,
    ),
    "rising_risk_share": MetricSql(
        "practice",
        _tier_share(RISING_RISK_TIERS),
        ("population_person",),
        span=_BASE_SPAN,
    ),
    **{
        f"{condition}_prevalence": MetricSql(
            "practice",
            _prevalence(condition),
            (*_EVENT, "condition"),
            "pop_all",
            span=_WINDOW_SPAN,
        )
        for condition in CONDITION_CODES
    },
}


# --------------------------------------------------------------------------- set-up


def _setup(con: duckdb.DuckDBPyConnection, footprint: Footprint) -> None:
    practices = pa.table(
        {
            "practice_code": [p.practice_code for p in footprint.practices],
            "neighbourhood_code": [p.neighbourhood_code for p in footprint.practices],
            "place_code": [p.place_code for p in footprint.practices],
            "system_code": [footprint.system_code] * len(footprint.practices),
        },
        schema=pa.schema(
            [
                ("practice_code", pa.string()),
                ("neighbourhood_code", pa.string()),
                ("place_code", pa.string()),
                ("system_code", pa.string()),
            ]
        ),
    )
    orgs = pa.table(
        {
            "code": pa.array([c for c, _ in footprint.organisations], pa.string()),
            "type": pa.array([t for _, t in footprint.organisations], pa.string()),
        }
    )
    con.register("fp_practice_arrow", practices)
    con.register("fp_org_arrow", orgs)
    con.execute("CREATE TEMP TABLE fp_practice AS SELECT * FROM fp_practice_arrow")
    con.execute("CREATE TEMP TABLE fp_org AS SELECT * FROM fp_org_arrow")
    con.execute("CREATE MACRO month_of(d) AS CAST(date_trunc('month', d) AS DATE)")
    con.execute("CREATE MACRO quarter_of(d) AS CAST(date_trunc('quarter', d) AS DATE)")
    con.execute("CREATE MACRO week_of(d) AS CAST(date_trunc('week', d) AS DATE)")


def _activity_window_start(con: duckdb.DuckDBPyConnection, tables: set[str]) -> date | None:
    """The first month of the partner extracts' activity (hospital, community, mental
    health and social care events; GP records reach back decades and do not count)."""
    if "event" not in tables:
        return None
    # Contacts (unlike spells and care packages) cannot start before the extracts do, so
    # the first contact marks the start; failing any, the first non-GP activity.
    row = con.execute(
        """
        SELECT coalesce(
            min(start_date) FILTER (
                WHERE setting IN ('ae', 'outpatient', 'community', 'mental_health')
            ),
            min(start_date) FILTER (WHERE setting NOT IN ('gp', 'death'))
        ) FROM event
        """
    ).fetchone()
    first = row[0] if row else None
    return first.replace(day=1) if isinstance(first, date) else None


def default_cut_off(lake: Lake, today: date | None = None) -> date:
    """The end of the month of the latest activity in the lake (not after today).

    Extracts cover whole months, so the month of the latest activity counts as complete;
    pass an explicit cut-off to publish otherwise.
    """
    today = today or date.today()
    latest: date | None = None
    with lake.connect() as con:
        present = set(lake.tables())
        queries = []
        if "event" in present:
            queries.append("SELECT max(start_date) FROM event WHERE setting <> 'death'")
        for table in ("return_finance", "return_workforce", "return_beds"):
            if table in present:
                queries.append(f"SELECT max(month) FROM {table}")
        for sql in queries:
            row = con.execute(sql, []).fetchone()
            value = row[0] if row else None
            if isinstance(value, date) and value <= today and (latest is None or value > latest):
                latest = value
    if latest is None:
        return today
    return min(_month_end(latest), today)


def _clean_registrations(con: duckdb.DuckDBPyConnection) -> None:
    # Registrations outside the footprint still end an earlier one (the person moved
    # away), so the next registration is found before keeping footprint practices only.
    con.execute(
        """
        CREATE TEMP TABLE reg AS
        WITH r AS (
            SELECT person_id, practice_code, registration_date AS s,
                   deregistration_date AS d,
                   lead(registration_date) OVER (
                       PARTITION BY person_id ORDER BY registration_date, practice_code
                   ) AS next_s
            FROM registration
            WHERE registration_date IS NOT NULL AND person_id IS NOT NULL
              AND registration_date <= cut_off()
        ),
        ended AS (
            SELECT r.person_id, r.practice_code, r.s AS start_date,
                   least(r.d, r.next_s, p.date_of_death) AS end_date, p.date_of_birth
            FROM r LEFT JOIN person p USING (person_id)
            WHERE r.practice_code IN (SELECT practice_code FROM fp_practice)
        )
        SELECT * FROM ended WHERE end_date IS NULL OR end_date > start_date
        """
    )


def _population(con: duckdb.DuckDBPyConnection, name: str, intervals: str) -> None:
    """Table ``name``(practice_code, period, n): people covered on each month's last day.

    ``intervals`` gives (practice_code, s, e): covered on day L when s <= L < e. Each
    interval adds one from the month of s and takes one away from the month of e, and a
    running sum over the months gives the count, so the cost is one pass over intervals.
    """
    con.execute(
        f"""
        CREATE TEMP TABLE {name} AS
        WITH iv AS (
            SELECT practice_code, month_of(s) AS ms, month_of(e) AS me FROM ({intervals})
            WHERE s IS NOT NULL AND (e IS NULL OR month_of(e) > month_of(s))
        ),
        deltas AS (
            SELECT practice_code, greatest(ms, window_start()) AS m, 1 AS delta FROM iv
            UNION ALL
            SELECT practice_code, greatest(me, window_start()), -1 FROM iv
            WHERE me IS NOT NULL
        ),
        summed AS (
            SELECT practice_code, m, sum(delta) AS delta FROM deltas
            WHERE m <= last_month() GROUP BY ALL
        ),
        grid AS (
            SELECT f.practice_code, CAST(g.m AS DATE) AS period
            FROM fp_practice f,
                 generate_series(window_start(), last_month(), INTERVAL 1 MONTH) AS g(m)
        )
        SELECT g.practice_code, g.period,
               CAST(sum(coalesce(s.delta, 0)) OVER (
                   PARTITION BY g.practice_code ORDER BY g.period
               ) AS BIGINT) AS n
        FROM grid g LEFT JOIN summed s ON s.practice_code = g.practice_code AND s.m = g.period
        """
    )


def _populations(con: duckdb.DuckDBPyConnection, needed: set[str]) -> None:
    if "pop_all" in needed:
        _population(con, "pop_all", "SELECT practice_code, start_date AS s, end_date AS e FROM reg")
    if "pop_65" in needed:
        _population(
            con,
            "pop_65",
            """
            SELECT practice_code,
                   greatest(start_date, CAST(date_of_birth + INTERVAL 65 YEAR AS DATE)) AS s,
                   end_date AS e
            FROM reg WHERE date_of_birth IS NOT NULL
            """,
        )
    for condition, codes in CONDITION_CODES.items():
        if f"prev_{condition}" not in needed:
            continue
        # Recorded in primary care: condition records from the footprint's practices.
        _population(
            con,
            f"prev_{condition}",
            f"""
            WITH first_coded AS (
                SELECT person_id, min(onset_date) AS coded
                FROM condition
                WHERE code IN {_in(codes)} AND onset_date IS NOT NULL
                  AND onset_date <= cut_off()
                  AND source IN (SELECT practice_code FROM fp_practice)
                GROUP BY person_id
            )
            SELECT r.practice_code, greatest(r.start_date, f.coded) AS s, r.end_date AS e
            FROM reg r JOIN first_coded f USING (person_id)
            WHERE r.end_date IS NULL OR r.end_date > f.coded
            """,
        )


# --------------------------------------------------------------------------- running


def _periods_clause(metric: Metric, spec: MetricSql, cut_off: date, window: date) -> str:
    step = _period_step(metric.frequency)
    last = _last_complete_period(metric.frequency, cut_off, spec.lag_days)
    return (
        f"generate_series({_d(window)}, {_d(last)}, INTERVAL {step} MONTH)"
        if metric.frequency is not Frequency.weekly
        else f"generate_series(week_of({_d(window)}), {_d(last)}, INTERVAL 7 DAY)"
    )


def _run_practice(
    con: duckdb.DuckDBPyConnection, metric: Metric, spec: MetricSql, cut_off: date, window: date
) -> list[tuple[object, ...]]:
    levels = _LEVELS_BY_LOWEST.get(metric.lowest_level, ("system",))
    period_of = _period_of(metric.frequency)
    population = spec.population
    den = "coalesce(p.n, 0)" if population else "coalesce(b.den, 0)"
    pop_join = (
        f"LEFT JOIN {population} p ON p.practice_code = g.practice_code AND p.period = g.period"
        if population
        else ""
    )
    rollups = " UNION ALL ".join(
        f"""
        SELECT f.{_LEVEL_COLUMN[level]} AS area_code, '{level}' AS area_kind, x.period,
               sum(x.num) AS num, sum(x.den) AS den
        FROM filled x JOIN fp_practice f USING (practice_code)
        GROUP BY ALL
        """
        for level in levels
    )
    sql = f"""
        WITH base AS ({spec.sql()}),
        source_span AS ({spec.span or _WINDOW_SPAN}),
        span AS (
            SELECT greatest({period_of}(first), {_d(window)}) AS first, {period_of}(last) AS last
            FROM source_span
        ),
        periods AS (
            SELECT CAST(g.p AS DATE) AS period
            FROM {_periods_clause(metric, spec, cut_off, window)} AS g(p), span
            WHERE CAST(g.p AS DATE) BETWEEN span.first AND span.last
        ),
        grid AS (SELECT f.practice_code, periods.period FROM fp_practice f, periods),
        filled AS (
            SELECT g.practice_code, g.period, coalesce(b.num, 0) AS num, {den} AS den
            FROM grid g
            LEFT JOIN base b ON b.practice_code = g.practice_code AND b.period = g.period
            {pop_join}
        )
        SELECT area_code, area_kind, period,
               CAST(num AS DECIMAL(38, 6)), CAST(den AS DECIMAL(38, 6))
        FROM ({rollups})
    """
    return con.execute(sql).fetchall()


def _run_provider(
    con: duckdb.DuckDBPyConnection, metric: Metric, spec: MetricSql, cut_off: date, window: date
) -> list[tuple[object, ...]]:
    period_of = _period_of(metric.frequency)
    # Organisations are those of the footprint with any rows for the metric; each gets
    # every period of the metric's span (a month without activity is zero, not missing).
    # The ICB's organisation code is the system's area code, and a value is keyed by
    # area code, so the ICB's own rows count in the system total but are not published
    # as an organisation of their own.
    sql = f"""
        WITH base AS (
            SELECT * FROM ({spec.sql()}) WHERE org_code IN (SELECT code FROM fp_org)
        ),
        system_code AS (SELECT any_value(system_code) AS code FROM fp_practice),
        source_span AS ({spec.span or _BASE_SPAN}),
        span AS (
            SELECT greatest({period_of}(first), {_d(window)}) AS first, {period_of}(last) AS last
            FROM source_span
        ),
        periods AS (
            SELECT CAST(g.p AS DATE) AS period
            FROM {_periods_clause(metric, spec, cut_off, window)} AS g(p), span
            WHERE CAST(g.p AS DATE) BETWEEN span.first AND span.last
        ),
        orgs AS (SELECT DISTINCT org_code FROM base),
        filled AS (
            SELECT o.org_code, p.period, b.num, b.den, b.org_code IS NOT NULL AS reported
            FROM orgs o CROSS JOIN periods p
            LEFT JOIN base b ON b.org_code = o.org_code AND b.period = p.period
        )
        SELECT org_code AS area_code, 'organisation' AS area_kind, period,
               CAST(num AS DECIMAL(38, 6)), CAST(den AS DECIMAL(38, 6)), reported
        FROM filled
        WHERE org_code <> (SELECT code FROM system_code)
        UNION ALL
        SELECT (SELECT code FROM system_code), 'system', period,
               CAST(sum(num) AS DECIMAL(38, 6)), CAST(sum(den) AS DECIMAL(38, 6)),
               bool_or(reported)
        FROM filled GROUP BY period
    """
    rows = con.execute(sql).fetchall()
    out: list[tuple[object, ...]] = []
    for area_code, area_kind, period, num, den, reported in rows:
        if not reported and not spec.zero_fill:
            continue  # a return not sent for a month is a gap, never a zero
        if spec.zero_fill:
            # an organisation's extract covering the month with nothing to count in it
            num = Decimal(0) if num is None else num
            den = Decimal(0) if den is None and metric.unit is not Unit.number else den
        out.append((area_code, area_kind, period, num, den))
    return out


def compute_metrics(
    lake: Lake,
    footprint: Footprint,
    cut_off: date,
    metrics: Sequence[Metric] = CATALOGUE,
) -> ComputeResult:
    """Every metric's values from the lake, for areas at or above its lowest level."""
    tables = set(lake.tables())
    values: list[ComputedValue] = []
    skipped: dict[str, str] = {}
    with lake.connect() as con:
        _setup(con, footprint)
        window = _activity_window_start(con, tables)
        if window is None:
            returns_months = [
                con.execute(f"SELECT min(month) FROM {t}").fetchone()
                for t in ("return_finance", "return_workforce", "return_beds")
                if t in tables
            ]
            firsts = [r[0] for r in returns_months if r and isinstance(r[0], date)]
            window = min(firsts) if firsts else cut_off.replace(day=1)
        con.execute(f"CREATE MACRO window_start() AS {_d(window)}")
        con.execute(f"CREATE MACRO cut_off() AS {_d(cut_off)}")
        con.execute(f"CREATE MACRO last_month() AS {_d(cut_off.replace(day=1))}")
        runnable: list[tuple[Metric, MetricSql]] = []
        for metric in metrics:
            spec = METRIC_SQL.get(metric.id)
            if spec is None:
                skipped[metric.id] = "no computation is defined for this metric"
                continue
            missing = [t for t in spec.tables if t not in tables]
            if missing:
                skipped[metric.id] = f"lake table(s) missing: {', '.join(missing)}"
                continue
            runnable.append((metric, spec))
        if any(spec.shape == "practice" for _, spec in runnable):
            _clean_registrations(con)
            needed = {spec.population for _, spec in runnable if spec.population}
            needed |= {
                f"prev_{c}"
                for c in CONDITION_CODES
                if any(m.id == f"{c}_prevalence" for m, _ in runnable)
            }
            _populations(con, needed)
        for metric, spec in runnable:
            run = _run_practice if spec.shape == "practice" else _run_provider
            rows = run(con, metric, spec, cut_off, window)
            if not rows:
                skipped[metric.id] = "no data in the lake for this metric's periods"
            for area_code, area_kind, period, num, den in rows:
                numerator = _dec(num)
                if numerator is None:
                    continue
                denominator = None if metric.unit in (Unit.number, Unit.pounds) else _dec(den)
                values.append(
                    ComputedValue(
                        metric_id=metric.id,
                        area_code=str(area_code),
                        area_kind=str(area_kind),
                        period=period
                        if isinstance(period, date)
                        else date.fromisoformat(str(period)),
                        numerator=numerator,
                        denominator=denominator,
                        value=metric_value(metric, numerator, denominator),
                    )
                )
    values.sort(key=lambda v: (v.metric_id, v.area_code, v.period))
    return ComputeResult(values=values, cut_off=cut_off, skipped=skipped)
