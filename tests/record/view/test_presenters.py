"""The joined-up record's presenters: what the page shows for each kind of item."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.record.view.lakefixture import timeline_entry
from wholesystem.record.view.assemble import (
    Allergy,
    MedicationLine,
    Problem,
    Registration,
    TimelineEntry,
)
from wholesystem.record.view.presenters import (
    allergy_rows,
    current_registration,
    format_moment,
    held_by,
    medication_rows,
    problem_rows,
    registration_rows,
    timeline_rows,
)

NAMES = {"A00001": "Hill Surgery"}


def _registration(code: str, start: date | None, end: date | None = None) -> Registration:
    return Registration(code, start, end, current=end is None, record_id="r1")


@pytest.mark.parametrize(
    ("registration", "shown"),
    [
        (None, None),
        (
            _registration("A00001", date(2020, 3, 1)),
            {"practice": "Hill Surgery (A00001)", "since": "1 Mar 2020"},
        ),
        # A practice the footprint does not name shows its code alone; no date, no "since".
        (_registration("Z99999", None), {"practice": "Z99999", "since": ""}),
    ],
)
def test_the_current_registration(
    registration: Registration | None, shown: dict[str, str] | None
) -> None:
    assert current_registration(registration, NAMES) == shown


def test_registrations_keep_their_order_and_say_which_is_current() -> None:
    rows = registration_rows(
        [
            _registration("A00001", date(2019, 1, 5), date(2020, 2, 29)),
            _registration("Z99999", date(2020, 3, 1)),
        ],
        NAMES,
    )
    assert rows == [
        {
            "practice": "Hill Surgery (A00001)",
            "from": "5 Jan 2019",
            "to": "29 Feb 2020",
            "current": False,
        },
        {"practice": "Z99999", "from": "1 Mar 2020", "to": "", "current": True},
    ]


def test_coded_items_show_their_display_or_else_their_code() -> None:
    """Each item names the partners that recorded it, and the dataset: a partner the
    footprint does not name by its code and the kind of partner that sends the dataset."""
    problems = [
        Problem("44054006", "snomed", "Diabetes mellitus type 2", date(2015, 6, 1), None,
                ("A00001 (gp_events)", "RA1 (apc)"), 3,
                (("A00001", "gp_events"), ("RA1", "apc"))),
        Problem("J45.9", None, None, None, None, ("RA1 (apc)",), 1, (("RA1", "apc"),)),
    ]  # fmt: skip
    assert problem_rows(problems, NAMES) == [
        {
            "display": "Diabetes mellitus type 2",
            "code": "44054006",
            "system": "SNOMED CT",
            "onset": "1 Jun 2015",
            "sources": "Hill Surgery (A00001), gp_events; RA1 (acute trust), apc",
        },
        {
            "display": "J45.9",
            "code": "J45.9",
            "system": "",
            "onset": "",
            "sources": "RA1 (acute trust), apc",
        },
    ]
    medicines = [
        MedicationLine("322236009", "snomed", None, date(2024, 1, 2), date(2024, 6, 30), 6,
                       ("A00001 (gp_events)",), (("A00001", "gp_events"),)),
    ]  # fmt: skip
    assert medication_rows(medicines, NAMES) == [
        {
            "display": "322236009",
            "code": "322236009",
            "system": "SNOMED CT",
            "first": "2 Jan 2024",
            "last": "30 Jun 2024",
            "issues": 6,
            "sources": "Hill Surgery (A00001), gp_events",
        }
    ]
    allergies = [
        Allergy("r9", "A00001", "allergies", "91936005", "snomed", "Penicillin allergy",
                date(2010, 5, 17), None),
        Allergy("r10", "B00002", "allergies", "91936005", "snomed", None, None, "active"),
    ]  # fmt: skip
    assert allergy_rows(allergies, NAMES) == [
        {
            "display": "Penicillin allergy",
            "code": "91936005",
            "system": "SNOMED CT",
            "recorded": "17 May 2010",
            "status": "",
            "source": "Hill Surgery (A00001), allergies",
        },
        {
            "display": "91936005",
            "code": "91936005",
            "system": "SNOMED CT",
            "recorded": "",
            "status": "active",
            "source": "B00002 (GP practice), allergies",
        },
    ]


@pytest.mark.parametrize(
    ("moment", "day", "shown"),
    [
        # A date-only extract's row in summer: midnight UK time is 23:00 UTC the day
        # before; the page shows the day the partner sent, not the day before.
        (datetime(2021, 10, 9, 23, 0, tzinfo=UTC), date(2021, 10, 10), "10 Oct 2021"),
        # ... and in winter, when UK time is UTC.
        (datetime(2021, 12, 1, 0, 0, tzinfo=UTC), date(2021, 12, 1), "1 Dec 2021"),
        # An ECDS arrival sent as 18:31+01:00 is shown at 18:31, UK time.
        (datetime(2021, 4, 1, 17, 31, tzinfo=UTC), date(2021, 4, 1), "1 Apr 2021 18:31"),
        (datetime(2021, 4, 1, 18, 31, tzinfo=ZoneInfo("Europe/London")), None, "1 Apr 2021 18:31"),
        # 23:30 UTC on 31 Mar in summer time is already 1 Apr in the UK.
        (datetime(2021, 3, 31, 23, 30, tzinfo=UTC), None, "1 Apr 2021 00:30"),
        # Winter: UK time is UTC.
        (datetime(2021, 1, 5, 9, 5, tzinfo=UTC), None, "5 Jan 2021 09:05"),
        # A moment without a zone is taken as UTC.
        (datetime(2021, 7, 1, 12, 0), None, "1 Jul 2021 13:00"),
        # No moment: the day alone, or nothing.
        (None, date(2020, 2, 29), "29 Feb 2020"),
        (None, None, ""),
    ],
)
def test_moments_are_shown_in_uk_time(
    moment: datetime | None, day: date | None, shown: str
) -> None:
    assert format_moment(moment, day) == shown


@pytest.mark.parametrize(
    ("entry", "what", "other_codes", "procedures", "detail"),
    [
        # A spell: its codes and its Data Dictionary codes named, the unknown code kept.
        (
            timeline_entry(
                "apc",
                code="J18.9",
                code_system="icd10",
                display="Pneumonia, unspecified",
                diagnoses=("J18.9", "J45.9", "Z99.9"),
                procedures=("W37.1",),
                codes=("J18.9", "J45.9", "Z99.9", "W37.1"),
                emergency=True,
                inpatient=True,
                admission_method="21",
                discharge_destination="19",
            ),
            "Pneumonia, unspecified (ICD-10 J18.9)",
            "Asthma, unspecified (J45.9); Z99.9",
            "Primary total prosthetic replacement of hip joint using cement (W37.1)",
            "Emergency admission: via Emergency Care Department (21); inpatient; "
            "discharge: Usual place of residence (19)",
        ),
        # An attendance: its destination is SNOMED CT.
        (
            timeline_entry(
                "ecds",
                code="1912002",
                code_system="snomed",
                display="Fall",
                codes=("1912002",),
                emergency=True,
                acuity="3",
                discharge_destination="306689006",
            ),
            "Fall (SNOMED CT 1912002)",
            "",
            "",
            "emergency; acuity 3; discharge: Discharge to home (306689006)",
        ),
        # Codes and destinations not in the terms file are shown as sent.
        (
            timeline_entry(
                "ecds",
                code="999999999",
                code_system="snomed",
                codes=("999999999",),
                emergency=True,
                discharge_destination="123456",
            ),
            "999999999",
            "",
            "",
            "emergency; discharge: 123456",
        ),
    ],
)
def test_timeline_rows_name_their_codes(
    entry: TimelineEntry, what: str, other_codes: str, procedures: str, detail: str
) -> None:
    [row] = timeline_rows([entry], NAMES)
    assert (row["what"], row["other_codes"], row["procedures"], row["detail"]) == (
        what,
        other_codes,
        procedures,
        detail,
    )


@pytest.mark.parametrize(
    ("entry", "detail"),
    [
        (timeline_entry("opa", service_type="370", contact_type="face_to_face",
                        first_attendance=True),
         "Medical Oncology (370); Face to face; first appointment"),
        (timeline_entry("csds", service_type="rapid_response", contact_type="face_to_face_home"),
         "Rapid response; Face to face at home"),
        # An inpatient contact is said once, not also as the inpatient flag.
        (timeline_entry("csds", service_type="community_hospital", contact_type="inpatient",
                inpatient=True),
         "Community hospital; Inpatient"),
        (timeline_entry("mhsds", service_type="camhs", out_of_area=True),
         "Children and young people's mental health services (CAMHS); out of area"),
        # A value of no declared list is shown as sent.
        (timeline_entry("opa", service_type="999", contact_type="carrier_pigeon"),
         "999; carrier_pigeon"),
    ],
)  # fmt: skip
def test_timeline_details_in_words(entry: TimelineEntry, detail: str) -> None:
    assert timeline_rows([entry], NAMES)[0]["detail"] == detail


@pytest.mark.parametrize(
    ("sources", "shown"),
    [
        (["A00001"], "Held by 1 partner: Hill Surgery (A00001)."),
        (["A00001", "RA1"], "Held by 2 partners: Hill Surgery (A00001), RA1."),
    ],
)
def test_who_holds_the_record_is_named(sources: list[str], shown: str) -> None:
    assert held_by(sources, NAMES) == shown


@pytest.mark.parametrize(
    ("entry", "partner"),
    [
        (timeline_entry("apc", source="A00001"), "Hill Surgery (A00001)"),
        # A source the footprint does not name: its code and the kind that sends the data.
        (timeline_entry("deaths", source="X26"), "X26 (death registry)"),
        (timeline_entry("apc", source="RZZ"), "RZZ (acute trust)"),
    ],
)
def test_timeline_partners(entry: TimelineEntry, partner: str) -> None:
    assert timeline_rows([entry], NAMES)[0]["partner"] == partner
