"""A tiny linked lake, in the schema of the lake contract, whose metric values are known by hand.

The footprint is ``tests.conftest.SMALL_FOOTPRINT``: system QXX; place PL1 holds neighbourhood
U00001 (practices A00001, A00002); place PL2 holds U00002 (A00003). RA1 is the acute trust,
RC1 the community trust, E06000901 a council. Activity runs January to March 2025.

People (registered population on each month's last day is worked out in the tests):

* P1, born 1950: A00001 since 2010.
* P2, born 1990: A00002 since 2010, moves to A00003 on 2025-02-10.
* P3, born 1980: A00003 since 2000, dies in hospital on 2025-03-05.
* P4, born 1955: A00001 since 2000, leaves on 2025-01-20.
* P5: never registered (activity of an unregistered person).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from wholesystem.metrics.compute import Footprint, PracticePlacement
from wholesystem.store.lake import Lake

FOOTPRINT = Footprint(
    system_code="QXX",
    practices=(
        PracticePlacement("A00001", "U00001", "PL1"),
        PracticePlacement("A00002", "U00001", "PL1"),
        PracticePlacement("A00003", "U00002", "PL2"),
    ),
    organisations=(
        ("QXX", "icb"),
        ("RA1", "acute_trust"),
        ("RC1", "community_trust"),
        ("E06000901", "local_authority"),
        ("E06000902", "local_authority"),
        ("U00001", "pcn"),
        ("U00002", "pcn"),
        ("A00001", "gp_practice"),
        ("A00002", "gp_practice"),
        ("A00003", "gp_practice"),
    ),
)

D = date


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


PERSON_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("date_of_birth", pa.date32()),
        ("sex", pa.string()),
        ("practice_code", pa.string()),
        ("date_of_death", pa.date32()),
    ]
)
REGISTRATION_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("record_id", pa.string()),
        ("practice_code", pa.string()),
        ("registration_date", pa.date32()),
        ("deregistration_date", pa.date32()),
    ]
)
EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("person_id", pa.string()),
        ("record_id", pa.string()),
        ("source", pa.string()),
        ("dataset", pa.string()),
        ("setting", pa.string()),
        ("start_time", pa.timestamp("us", tz="UTC")),
        ("end_time", pa.timestamp("us", tz="UTC")),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
        ("emergency", pa.bool_()),
        ("admission_method", pa.string()),
        ("discharge_destination", pa.string()),
        ("attended", pa.bool_()),
        ("inpatient", pa.bool_()),
        ("out_of_area", pa.bool_()),
        ("cost", pa.decimal128(18, 2)),
    ]
)
CONDITION_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("record_id", pa.string()),
        ("source", pa.string()),
        ("dataset", pa.string()),
        ("code", pa.string()),
        ("code_system", pa.string()),
        ("display", pa.string()),
        ("onset_date", pa.date32()),
    ]
)
CARE_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("record_id", pa.string()),
        ("source", pa.string()),
        ("service_type", pa.string()),
        ("request_date", pa.date32()),
        ("start_date", pa.date32()),
        ("end_date", pa.date32()),
        ("weekly_cost", pa.decimal128(18, 2)),
    ]
)

PEOPLE = [
    ("P1", D(1950, 1, 1), "F", "A00001", None),
    ("P2", D(1990, 6, 1), "M", "A00003", None),
    ("P3", D(1980, 6, 1), "F", "A00003", D(2025, 3, 5)),
    ("P4", D(1955, 6, 1), "M", None, None),
    ("P5", D(1970, 6, 1), "M", None, None),
]
REGISTRATIONS = [
    ("P1", "r1", "A00001", D(2010, 1, 1), None),
    ("P2", "r2", "A00002", D(2010, 1, 1), None),
    ("P2", "r3", "A00003", D(2025, 2, 10), None),
    ("P3", "r4", "A00003", D(2000, 1, 1), None),
    ("P4", "r5", "A00001", D(2000, 1, 1), D(2025, 1, 20)),
]


def _event(
    event_id: str,
    person: str,
    source: str,
    setting: str,
    start: datetime | date,
    end: datetime | date | None = None,
    **flags: Any,
) -> dict[str, Any]:
    start_dt = start if isinstance(start, datetime) else _t(start.isoformat())
    end_dt = None if end is None else end if isinstance(end, datetime) else _t(end.isoformat())
    return {
        "event_id": event_id,
        "person_id": person,
        "record_id": f"rec-{person}",
        "source": source,
        "dataset": {"ae": "ecds", "inpatient": "apc", "outpatient": "opa"}.get(setting, setting),
        "setting": setting,
        "start_time": start_dt,
        "end_time": end_dt,
        "start_date": start_dt.date(),
        "end_date": None if end_dt is None else end_dt.date(),
        "emergency": flags.get("emergency", setting == "ae"),
        "admission_method": flags.get("admission_method"),
        "discharge_destination": flags.get("discharge_destination"),
        "attended": flags.get("attended"),
        "inpatient": flags.get("inpatient"),
        "out_of_area": flags.get("out_of_area"),
        "cost": Decimal("100.00"),
    }


EVENTS = [
    # A&E at RA1
    _event("E1", "P1", "RA1", "ae", _t("2025-01-05T10:00"), _t("2025-01-05T13:00")),
    _event("E2", "P2", "RA1", "ae", _t("2025-01-15T10:00"), _t("2025-01-15T15:00")),
    _event("E3", "P2", "RA1", "ae", _t("2025-02-15T10:00"), _t("2025-02-15T23:00")),
    _event("E4", "P5", "RA1", "ae", _t("2025-02-20T10:00"), _t("2025-02-20T11:00")),
    _event("E5", "P3", "RA1", "ae", _t("2025-03-01T09:00"), None),
    # hospital spells at RA1
    _event("S1", "P1", "RA1", "inpatient", D(2025, 1, 2), D(2025, 1, 6), emergency=True,
           admission_method="21", discharge_destination="19"),
    _event("S2", "P1", "RA1", "inpatient", D(2025, 1, 20), D(2025, 1, 25), emergency=True,
           admission_method="21", discharge_destination="19"),
    _event("S3", "P4", "RA1", "inpatient", D(2025, 1, 10), D(2025, 1, 12), emergency=False,
           admission_method="11", discharge_destination="19"),
    _event("S4", "P3", "RA1", "inpatient", D(2025, 3, 1), D(2025, 3, 5), emergency=True,
           admission_method="21", discharge_destination="79"),
    # community contacts at RC1
    _event("C1", "P1", "RC1", "community", D(2025, 2, 3)),
    _event("C2", "P1", "RC1", "community", D(2025, 2, 4)),
    # outpatients at RA1
    _event("O1", "P1", "RA1", "outpatient", D(2025, 1, 8), attended=True),
    _event("O2", "P2", "RA1", "outpatient", D(2025, 1, 9), attended=False),
    _event("O3", "P1", "RA1", "outpatient", D(2025, 1, 10), attended=None),
    # mental health at RC1
    _event("M1", "P2", "RC1", "mental_health", D(2025, 1, 11), inpatient=True, out_of_area=True),
    _event("M2", "P2", "RC1", "mental_health", D(2025, 3, 12), inpatient=True, out_of_area=False),
    _event("M3", "P1", "RC1", "mental_health", D(2025, 2, 1), inpatient=False, out_of_area=False),
    # the death registration
    _event("X1", "P3", "ZZ1", "death", D(2025, 3, 5)),
]  # fmt: skip

CONDITIONS = [
    ("P1", "c1", "A00001", "gp_events", "44054006", "snomed", "Type 2 diabetes", D(2020, 1, 1)),
    ("P2", "c2", "A00002", "gp_events", "38341003", "snomed", "Hypertension", D(2025, 2, 15)),
    # recorded in hospital only: not on a primary-care register
    ("P3", "c3", "RA1", "apc", "13645005", "snomed", "COPD", D(2019, 1, 1)),
]
CARE = [
    ("P1", "k1", "E06000901", "residential_care", D(2025, 1, 20), D(2025, 2, 1), None),
    ("P1", "k2", "E06000901", "reablement", D(2025, 1, 10), D(2025, 1, 15), D(2025, 1, 30)),
    ("P2", "k3", "E06000901", "home_care", D(2025, 1, 5), D(2025, 1, 10), None),
    ("P1", "k4", "E06000901", "home_care", D(2025, 3, 1), D(2025, 3, 2), None),
]


# The columns of the population capability's ``population_person`` that the tier metrics
# read (docs/lake.md), for people scored at 31 March 2025: ten people in three practices.
POPULATION_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("index_date", pa.date32()),
        ("practice_code", pa.string()),
        ("tier", pa.string()),
    ]
)
STRATIFIED_ON = D(2025, 3, 31)
POPULATION = [
    (f"S{i:02d}", STRATIFIED_ON, practice, tier)
    for i, (practice, tier) in enumerate(
        [
            ("A00001", "top_0_5"),
            ("A00001", "p5_to_20"),
            ("A00001", "rest"),
            ("A00001", "rest"),
            ("A00002", "p0_5_to_5"),
            ("A00002", "rest"),
            ("A00003", "rest"),
            ("A00003", "rest"),
            ("A00003", "p5_to_20"),
            ("A00003", "p5_to_20"),
        ]
    )
]


def _rows(schema: pa.Schema, rows: list[tuple[Any, ...]]) -> pa.Table:
    return pa.table({f.name: [r[i] for r in rows] for i, f in enumerate(schema)}, schema=schema)


def write_small_lake(root: Path) -> Lake:
    """Write the hand-built lake tables under ``root`` and return the lake."""
    lake = Lake(root)
    lake.write_arrow("person", _rows(PERSON_SCHEMA, PEOPLE))
    lake.write_arrow("registration", _rows(REGISTRATION_SCHEMA, REGISTRATIONS))
    lake.write_arrow("event", pa.Table.from_pylist(EVENTS, schema=EVENT_SCHEMA))
    lake.write_arrow("condition", _rows(CONDITION_SCHEMA, CONDITIONS))
    care = [(p, r, s, t, req, st, en, Decimal("500.00")) for p, r, s, t, req, st, en in CARE]
    lake.write_arrow("care_package", _rows(CARE_SCHEMA, care))
    lake.write_arrow("population_person", _rows(POPULATION_SCHEMA, POPULATION))
    return lake


BEDS_CSV = """org_code,month,core_beds,escalation_beds,occupied,no_criteria_to_reside
RA1,2025-01,100,10,99,9
RA1,2025-02,100,0,90,18
RC1,2025-01,20,0,10,5
"""


def finance_csv() -> str:
    """Twelve months (April 2024 to March 2025) for RA1 and the ICB (QXX).

    RA1 plans a surplus of 100 a month, makes 90 and forecasts 95; the ICB plans 0 and
    makes 10. Efficiency: 20 planned, 10 delivered. Capital moves no surplus.
    """
    lines = ["org_code,month,category,plan,actual,forecast"]
    months = [f"2024-{m:02d}" for m in range(4, 13)] + [f"2025-{m:02d}" for m in (1, 2, 3)]
    for month in months:
        lines += [
            f"RA1,{month},income,1000.00,1000.00,1000.00",
            f"RA1,{month},pay_medical,300.00,310.00,305.00",
            f"RA1,{month},non_pay,600.00,600.00,600.00",
            f"RA1,{month},efficiency_savings,20.00,10.00,15.00",
            f"RA1,{month},capital,50.00,80.00,50.00",
            f"QXX,{month},income,500.00,500.00,500.00",
            f"QXX,{month},non_pay,500.00,490.00,490.00",
        ]
    return "\n".join(lines) + "\n"


def workforce_csv() -> str:
    lines = [
        "org_code,month,staff_group,wte_in_post,wte_vacancy,sickness_rate,bank_spend,agency_spend"
    ]
    for month in ("2025-01", "2025-02"):
        lines += [
            f"RA1,{month},medical,10.00,2.00,0.0500,5.00,31.00",
            f"RA1,{month},nursing,30.00,0.00,0.0300,0.00,0.00",
        ]
    return "\n".join(lines) + "\n"


def write_returns(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "beds.csv").write_text(BEDS_CSV)
    (folder / "finance.csv").write_text(finance_csv())
    (folder / "workforce.csv").write_text(workforce_csv())
    return folder


ORG_CODES = [code for code, _ in FOOTPRINT.organisations]
