"""The pure assembly of a joined-up record: table tests over rows written by hand."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.record.view.lakefixture import ADA, ADA_NHS, ADA_OLD_NHS, CAT, tiny_lake_rows
from wholesystem.record.view.assemble import (
    JoinedRecord,
    TimelineFilter,
    assemble,
    filter_timeline,
    pseudonymise_record,
)

TODAY = date(2026, 11, 23)


def _record(person_id: str = ADA, today: date = TODAY) -> JoinedRecord:
    rows = tiny_lake_rows()
    tables = {
        name: [r for r in table if r["person_id"] == person_id] for name, table in rows.items()
    }
    (person,) = tables.pop("person")
    return assemble(person_id, person, tables, today=today)


def test_conflicting_identity_values_are_shown_with_who_holds_them() -> None:
    demo = _record().demographics
    by_field = {f.field: f for f in demo.fields}
    dob = by_field["date_of_birth"]
    assert dob.conflicting
    assert dob.value == "1950-03-01"
    assert [(v.value, v.sources) for v in dob.values] == [
        ("1950-03-01", ("A00001 (gp_patients)", "E06000901 (asc)", "RC1 (csds)")),
        ("1950-01-03", ("RA1 (apc)",)),
    ]
    nhs = by_field["nhs_number"]
    assert nhs.conflicting
    assert {v.value for v in nhs.values} == {ADA_NHS, ADA_OLD_NHS}
    # Case and spacing are not conflicts: "ADA"/"Ada", "ts11aa"/"TS1 1AA".
    assert not by_field["given_name"].conflicting
    assert not by_field["family_name"].conflicting
    postcodes = by_field["postcode"]
    assert [v.value for v in postcodes.values] == ["TS1 1AA", "TS1 1AB"]
    assert {f.field for f in demo.conflicts} == {"date_of_birth", "nhs_number", "postcode"}
    assert demo.name == "Ada LOVELACE"


def test_timeline_is_newest_first_across_every_partner() -> None:
    record = _record()
    assert [e.event_id for e in record.timeline] == [
        "E-ADA-OP1",
        "E-ADA-CM1",
        "E-ADA-SC1",
        "E-ADA-IP1",
        "E-ADA-AE1",
        "E-ADA-GP1",
        "E-ADA-MH1",
    ]
    assert all(e.start is None or e.start.tzinfo is not None for e in record.timeline)


def test_undated_entries_go_last_and_ties_are_stable() -> None:
    person = tiny_lake_rows()["person"][0]
    events = [
        {"event_id": "b", "setting": "gp", "source": "X", "dataset": "gp_events",
         "start_time": datetime(2024, 1, 1, tzinfo=UTC)},
        {"event_id": "z", "setting": "gp", "source": "X", "dataset": "gp_events"},
        {"event_id": "a", "setting": "gp", "source": "X", "dataset": "gp_events",
         "start_time": datetime(2024, 1, 1, tzinfo=UTC)},
        {"event_id": "c", "setting": "gp", "source": "X", "dataset": "gp_events",
         "start_date": date(2024, 6, 1)},
    ]  # fmt: skip
    record = assemble(ADA, person, {"event": events}, today=TODAY)
    assert [e.event_id for e in record.timeline] == ["c", "a", "b", "z"]


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        (TimelineFilter(), 7),
        (TimelineFilter(settings=frozenset({"ae"})), ["E-ADA-AE1"]),
        (
            TimelineFilter(settings=frozenset({"ae", "inpatient"})),
            ["E-ADA-IP1", "E-ADA-AE1"],
        ),
        # The admission (6-12 March) overlaps 10-31 March; A&E on 5 March does not.
        (
            TimelineFilter(date_from=date(2024, 3, 10), date_to=date(2024, 3, 31)),
            ["E-ADA-CM1", "E-ADA-SC1", "E-ADA-IP1"],
        ),
        (TimelineFilter(date_to=date(2023, 12, 31)), ["E-ADA-MH1"]),
        (TimelineFilter(date_from=date(2024, 4, 1)), ["E-ADA-OP1"]),
        (TimelineFilter(settings=frozenset({"death"})), []),
    ],
)
def test_timeline_filter(chosen: TimelineFilter, expected: Any) -> None:
    kept = filter_timeline(_record().timeline, chosen)
    if isinstance(expected, int):
        assert len(kept) == expected
    else:
        assert [e.event_id for e in kept] == expected


def test_an_open_admission_runs_on_to_today_for_the_date_filter() -> None:
    record = _record(CAT)
    admission = next(e for e in record.timeline if e.setting == "inpatient")
    assert admission.is_open
    kept = filter_timeline(record.timeline, TimelineFilter(date_from=date(2026, 1, 1)))
    assert admission in kept
    assert [e.event_id for e in record.open_episodes] == ["E-CAT-IP1", "E-CAT-CM1"]


def test_problems_medications_observations_are_summarised() -> None:
    record = _record()
    problems = {p.code: p for p in record.problems}
    # Two GP records of hypertension: one line, earliest onset, both counted.
    assert problems["38341003"].onset_date == date(2012, 6, 1)
    assert problems["38341003"].records == 2
    assert problems["38341003"].sources == ("A00001 (gp_events)",)
    assert [p.code for p in record.problems] == ["J18.9", "38341003"]
    ramipril = next(m for m in record.medications if m.code == "318858000")
    assert (ramipril.first_date, ramipril.last_date, ramipril.issues) == (
        date(2023, 12, 1),
        date(2024, 1, 10),
        2,
    )
    latest = {o.code: o for o in record.latest_observations}
    sbp = latest["271649006"]
    assert sbp.latest.value == Decimal("138")
    assert sbp.latest.observed_date == date(2024, 1, 10)
    assert sbp.previous is not None
    assert sbp.previous.value == Decimal("152")
    assert sbp.count == 2
    assert latest["60621009"].previous is None
    assert len(record.observations) == 3


@pytest.mark.parametrize(
    ("today", "statuses"),
    [
        (date(2024, 3, 5), ["requested", "ended"]),  # home care asked for, not started
        (date(2024, 3, 15), ["active", "ended"]),
        (date(2023, 2, 1), ["requested", "active"]),
    ],
)
def test_care_package_status_as_at_today(today: date, statuses: list[str]) -> None:
    assert [p.status for p in _record(today=today).care_packages] == statuses


def test_registrations_current_and_past() -> None:
    record = _record()
    assert [(r.practice_code, r.current) for r in record.registrations] == [
        ("A00001", True),
        ("A00003", False),
    ]
    assert record.current_registration is not None
    assert record.current_registration.practice_code == "A00001"


def test_absent_tables_give_an_empty_record() -> None:
    person = {"person_id": "WP1", "nhs_number": None}
    record = assemble("WP1", person, {}, today=TODAY)
    assert record.timeline == ()
    assert record.problems == ()
    assert record.care_packages == ()
    assert record.demographics.name == "Name not recorded"
    assert all(not f.conflicting and f.values == () for f in record.demographics.fields)


def _strings(value: Any) -> list[str]:
    """Every string and date reachable from a dataclass value."""
    found: list[str] = []
    if hasattr(value, "__dataclass_fields__"):
        for f in fields(value):
            found += _strings(getattr(value, f.name))
    elif isinstance(value, tuple | list | frozenset):
        for v in value:
            found += _strings(v)
    elif isinstance(value, str | date):
        found.append(str(value))
    return found


def test_the_pseudonymised_record_holds_no_identifier() -> None:
    record = _record()
    pseudo = pseudonymise_record(record, "PS0123456789abcdef")
    text = _strings(pseudo)
    forbidden = [
        *(ADA, ADA_NHS, ADA_OLD_NHS, "Ada", "Lovelace", "TS1 1AA", "1950-03-01", "1950-01-03"),
        *("HS001", "RA1-77", "gp-1", "apc-1", "E-ADA-IP1", "r-E-ADA-IP1"),
    ]
    for value in forbidden:
        assert not any(value in s for s in text), value
    assert pseudo.year_of_birth == 1950
    assert pseudo.pseudonym == "PS0123456789abcdef"
    assert len(pseudo.timeline) == len(record.timeline)
    assert pseudo.problems == record.problems
