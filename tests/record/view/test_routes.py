"""The record routes under information governance, on SQLite and PostgreSQL.

Every rule of DESIGN.md "Information governance" that touches the record: who sees what
and on which basis, 404s that are identical for "missing" and "not yours", break-glass,
analysts' pseudonymised view and the opt-out, and an audit row for every view.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.record.view.conftest import Audit, Clock, SignIn, csrf_from
from tests.record.view.lakefixture import (
    ADA,
    ADA_NHS,
    ADA_OLD_NHS,
    BEN,
    BEN_NHS,
    CAT,
    CAT_NHS,
    DAN,
    UNKNOWN_NHS,
)
from wholesystem.access.opt_outs import record_opt_out
from wholesystem.access.pseudonyms import pseudonym_key, pseudonymise
from wholesystem.access.relationships import add_care_relationship
from wholesystem.config import Settings
from wholesystem.record.view.routes import NOT_FOUND
from wholesystem.store.db import session_scope

_NONCE = re.compile(r"nonce-[A-Za-z0-9_-]+|nonce=\"[A-Za-z0-9_-]+\"")


def _normalised(html: str) -> str:
    """The page without its per-request CSP nonce (everything else must match)."""
    return _NONCE.sub("nonce", html)


def _views(person_id: str) -> dict[str, str]:
    return {
        "page": f"/records/{person_id}",
        "csv": f"/records/{person_id}/timeline.csv",
        "json": f"/api/v1/records/{person_id}",
        "fhir": f"/fhir/Patient/{person_id}/$everything",
        "fhir_patient": f"/fhir/Patient/{person_id}",
    }


# ------------------------------------------------------------------------ who sees what


@pytest.mark.parametrize(
    ("username", "person_id", "basis"),
    [
        ("carer", ADA, "registered_practice"),  # registered at the carer's practice
        ("carer", BEN, "registered_in_neighbourhood"),  # another practice in the same PCN
        ("pcn", ADA, "registered_in_neighbourhood"),  # a PCN-level user
        ("acute", CAT, "open_episode"),  # in hospital now at the user's trust
        ("community", CAT, "open_episode"),  # open community episode
        ("council", ADA, "open_episode"),  # current care package from the council
        ("quay", DAN, "registered_practice"),
    ],
)
def test_a_care_relationship_shows_the_record_and_audits_the_basis(
    sign_in: SignIn, audit_rows: Audit, username: str, person_id: str, basis: str
) -> None:
    client = sign_in(username)
    response = client.get(f"/records/{person_id}")
    assert response.status_code == 200, response.text
    views = audit_rows("record.view")
    assert [(v.actor, v.object_id, v.detail["basis"], v.detail["view"]) for v in views] == [
        (username, person_id, basis, "page")
    ]


@pytest.mark.parametrize(
    ("username", "person_id"),
    [
        ("carer", CAT),  # Harbour PCN, no episode at the carer's practice
        ("carer", DAN),
        ("acute", BEN),  # never at the trust
        ("acute", ADA),  # Ada's admission at RA1 has ended
        ("quay", ADA),  # Ada left Quay in 2001
        ("community", ADA),  # a finished community contact is no open episode
    ],
)
def test_no_relationship_is_a_404_identical_to_a_missing_person(
    sign_in: SignIn, audit_rows: Audit, username: str, person_id: str
) -> None:
    client = sign_in(username)
    for view, path in _views(person_id).items():
        refused = client.get(path)
        missing = client.get(path.replace(person_id, "WP9999999999"))
        assert refused.status_code == missing.status_code == 404, view
        assert refused.headers["content-type"] == missing.headers["content-type"], view
        assert _normalised(refused.text.replace(person_id, "X")) == _normalised(
            missing.text.replace("WP9999999999", "X")
        ), view
        fhir = view.startswith("fhir") and "not-found" in refused.text
        assert NOT_FOUND in refused.text or fhir
    assert audit_rows("record.view") == []
    assert len(audit_rows("record.view_refused")) == 10


def test_fhir_404_is_an_operation_outcome(sign_in: SignIn) -> None:
    response = sign_in("carer").get(f"/fhir/Patient/{CAT}/$everything")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "not-found"


def test_a_caseload_relationship_opens_the_record(
    sign_in: SignIn, factory: sessionmaker[Session], audit_rows: Audit, clock: Clock
) -> None:
    client = sign_in("carer")
    assert client.get(f"/records/{DAN}").status_code == 404
    with session_scope(factory) as s:
        add_care_relationship(
            s,
            person_id=DAN,
            organisation_code="A00001",
            kind="caseload",
            actor="coordinator",
            started_at=clock.now,
        )
    assert client.get(f"/records/{DAN}").status_code == 200
    assert audit_rows("record.view")[-1].detail["basis"] == "caseload"


@pytest.mark.parametrize("username", ["analyst", "admin", "governor", "cllr"])
def test_roles_without_identifiable_access_get_403_on_every_view(
    sign_in: SignIn, audit_rows: Audit, username: str
) -> None:
    client = sign_in(username)
    searches = [
        "/records",
        f"/records?nhs_number={ADA_NHS}",
        f"/fhir/Patient?identifier={ADA_NHS}",
        f"/api/v1/records?nhs_number={ADA_NHS}",
    ]
    for path in [*_views(ADA).values(), *searches]:
        assert client.get(path).status_code == 403, path
    token = csrf_from(client.get("/").text)
    posted = client.post(
        "/records/break-glass",
        data={"nhs_number": CAT_NHS, "reason": "x" * 40, "csrf_token": token},
    )
    assert posted.status_code == 403
    assert audit_rows("record.view") == []
    assert audit_rows("break_glass.start") == []


def test_signed_out_people_are_sent_to_sign_in(client: TestClient) -> None:
    response = client.get(f"/records/{ADA}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    assert client.get(f"/api/v1/records/{ADA}").status_code == 401


# -------------------------------------------------------------------------- the page


def test_the_page_shows_the_joined_up_record(sign_in: SignIn) -> None:
    html = sign_in("carer").get(f"/records/{ADA}").text
    assert "Ada LOVELACE" in html
    assert "943 476 5919" in html
    # The two partners' dates of birth, each with who holds it.
    assert "Conflicting" in html
    assert "1 Mar 1950" in html
    assert "3 Jan 1950" in html
    assert "Testshire Hospitals NHS Foundation Trust (RA1), apc" in html
    # Every setting appears in the timeline, newest first.
    timeline = html.split('data-testid="timeline"')[1].split("</table>")[0]
    newest_first = (
        *("20 Apr 2024", "20 Mar 2024", "6 Mar 2024 03:00", "5 Mar 2024 22:15"),
        *("10 Jan 2024 09:30", "2 Nov 2023"),
    )
    order = [timeline.find(text) for text in newest_first]
    assert order == sorted(order)
    assert -1 not in order
    settings = ("A&amp;E", "Hospital admission", "Outpatients", "Community", "Mental health")
    for label in (*settings, "Social care", "GP"):
        assert label in timeline
    assert "did not attend" in timeline
    assert "Hypertension" in html
    assert "SNOMED CT 38341003" in html
    assert "Ramipril 5mg capsules" in html
    assert "Allergy to penicillin" in html
    assert "138 mm[Hg]" in html
    assert "152 mm[Hg] on 1 Jun 2023" in html
    assert "home care" in html
    assert "£312.40" in html
    assert "active" in html
    assert "Hill Surgery (A00001)" in html
    assert 'data-testid="data-as-at"' in html
    assert "Find a record" in html  # the navigation entry for care roles


def test_timeline_filters_live_in_the_url(sign_in: SignIn) -> None:
    client = sign_in("carer")
    html = client.get(f"/records/{ADA}?setting=ae&setting=inpatient").text
    timeline = html.split('data-testid="timeline"')[1].split("</table>")[0]
    assert "Shortness of breath" in timeline
    assert "Pneumonia" in timeline
    assert "Hypertension review" not in timeline
    assert "Showing 2 of 7 entries" in html
    assert f"/records/{ADA}/timeline.csv?setting=ae&amp;setting=inpatient" in html
    dated = client.get(f"/records/{ADA}?from=2024-03-10&to=2024-03-31").text
    timeline = dated.split('data-testid="timeline"')[1].split("</table>")[0]
    # The admission (6 to 12 Mar) overlaps the range; A&E on 5 Mar does not.
    assert "Pneumonia" in timeline
    assert "Shortness of breath" not in timeline
    assert "district nursing" in timeline
    assert "home care" in timeline


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("setting=dentist", "&#39;dentist&#39; is not a care setting"),
        ("from=31/03/2024", "is not a date"),
        ("from=2024-04-01&to=2024-03-01", "after the"),
    ],
)
def test_bad_filters_say_what_is_wrong(sign_in: SignIn, query: str, message: str) -> None:
    response = sign_in("carer").get(f"/records/{ADA}?{query}")
    assert response.status_code == 400
    assert message in response.text


def test_the_timeline_csv_is_an_audited_export(sign_in: SignIn, audit_rows: Audit) -> None:
    response = sign_in("carer").get(f"/records/{ADA}/timeline.csv?setting=ae&setting=inpatient")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["setting"] for r in rows] == ["inpatient", "ae"]
    assert rows[0]["cost"] == "4210.50"
    assert rows[0]["code"] == "J18.9"
    assert rows[0]["partner_name"] == "Testshire Hospitals NHS Foundation Trust"
    (export,) = audit_rows("record.export")
    assert export.object_id == ADA
    assert export.detail["rows"] == 2
    assert export.detail["basis"] == "registered_practice"


def test_json_api(sign_in: SignIn, audit_rows: Audit) -> None:
    response = sign_in("carer").get(f"/api/v1/records/{ADA}")
    assert response.status_code == 200
    body = response.json()
    assert body["person_id"] == ADA
    assert body["access"]["basis"] == "registered_practice"
    assert body["demographics"]["nhs_number"] == ADA_NHS
    conflicts = {c["field"]: c for c in body["demographics"]["conflicts"]}
    assert {v["value"] for v in conflicts["date_of_birth"]["values"]} == {
        "1950-03-01",
        "1950-01-03",
    }
    assert len(body["timeline"]) == 7
    assert body["timeline"][0]["setting"] == "outpatient"  # newest first
    assert body["care_packages"][0]["weekly_cost"] == "312.40"
    assert audit_rows("record.view")[-1].detail["view"] == "json"


def test_fhir_everything(sign_in: SignIn, audit_rows: Audit) -> None:
    response = sign_in("carer").get(f"/fhir/Patient/{ADA}/$everything")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "searchset"
    patient = bundle["entry"][0]["resource"]
    assert patient["identifier"][0] == {
        "system": "https://fhir.nhs.uk/Id/nhs-number",
        "value": ADA_NHS,
    }
    assert bundle["entry"][0]["fullUrl"] == f"https://testserver/fhir/Patient/{ADA}"
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds == {
        "Patient",
        "Encounter",
        "Condition",
        "Observation",
        "MedicationStatement",
        "AllergyIntolerance",
        "EpisodeOfCare",
    }
    assert audit_rows("record.view")[-1].detail["view"] == "fhir"


# -------------------------------------------------------------------------- search


def test_search_finds_only_people_in_a_relationship(sign_in: SignIn, audit_rows: Audit) -> None:
    client = sign_in("carer")
    found = client.get(f"/records?nhs_number={ADA_NHS[:3]} {ADA_NHS[3:6]} {ADA_NHS[6:]}")
    assert found.status_code == 200
    assert f'href="/records/{ADA}"' in found.text
    assert "Registered at your practice" in found.text
    # A partner's older NHS number for Ada finds her too.
    assert f'href="/records/{ADA}"' in client.get(f"/records?nhs_number={ADA_OLD_NHS}").text
    # Cat exists but is not the carer's: the answer is the same as for nobody.
    hidden = client.get(f"/records?nhs_number={CAT_NHS}")
    nobody = client.get(f"/records?nhs_number={UNKNOWN_NHS}")
    assert CAT not in hidden.text
    assert 'data-testid="no-record"' in hidden.text
    assert _normalised(hidden.text).replace(CAT_NHS, "N") == _normalised(nobody.text).replace(
        UNKNOWN_NHS, "N"
    )
    searches = audit_rows("record.search")
    assert [(s.object_id, s.detail["results"]) for s in searches] == [
        (ADA_NHS, [ADA]),
        (ADA_OLD_NHS, [ADA]),
        (CAT_NHS, []),
        (UNKNOWN_NHS, []),
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [("12345", "NHS number must be 10 digits"), ("9434765918", "fails the check digit")],
)
def test_search_explains_a_bad_nhs_number(sign_in: SignIn, value: str, message: str) -> None:
    response = sign_in("carer").get(f"/records?nhs_number={value}")
    assert response.status_code == 400
    assert message in response.text


def _details(family: str, born: str, given: str = "") -> str:
    year, month, day = born.split("-")
    return (
        f"/records?family_name={family}&given_name={given}"
        f"&dob-day={day}&dob-month={month}&dob-year={year}"
    )


@pytest.mark.parametrize(
    ("family", "born", "given"),
    [
        ("Lovelace", "1950-03-01", ""),
        ("LOVE-lace", "1950-03-01", "a"),  # case, hyphens and the start of a given name
        ("lovelace", "1950-01-03", ""),  # the hospital's record has day and month swapped
    ],
)
def test_search_by_details_finds_people_in_a_relationship(
    sign_in: SignIn, audit_rows: Audit, family: str, born: str, given: str
) -> None:
    found = sign_in("carer").get(_details(family, born, given))
    assert found.status_code == 200, found.text
    assert f'href="/records/{ADA}"' in found.text
    assert "Registered at your practice" in found.text
    assert f'value="{family}"' in found.text  # the form keeps what was typed
    [search] = audit_rows("record.search")
    assert (search.object_type, search.object_id) == ("demographics", f"{family} {born}")
    assert search.detail == {"given_name": given or None, "results": [ADA], "too_many": False}


def test_search_by_details_hides_people_outside_a_relationship(sign_in: SignIn) -> None:
    client = sign_in("carer")
    # Cat exists but is not the carer's: the answer is the same as for nobody.
    hidden = client.get(_details("Chen", "1988-11-30"))
    nobody = client.get(_details("Chen", "1988-11-29"))
    assert hidden.status_code == nobody.status_code == 200
    assert CAT not in hidden.text
    assert 'data-testid="no-record"' in hidden.text
    assert _normalised(hidden.text).replace('value="30"', "D") == _normalised(nobody.text).replace(
        'value="29"', "D"
    )
    assert ADA not in client.get(_details("Lovelace", "1950-03-01", "Bob")).text


def test_search_by_details_says_what_to_put_right(sign_in: SignIn, audit_rows: Audit) -> None:
    client = sign_in("carer")
    response = client.get(_details("", "1950-02-31"))
    assert response.status_code == 400
    assert response.text.count("Enter a family name") == 2  # the summary and the field
    assert 'href="#family_name"' in response.text
    assert "Date of birth must be a real date" in response.text
    assert response.text.count("nhsuk-input--error") == 4  # family name and all of the date
    assert 'value="31"' in response.text  # what was typed is kept
    assert audit_rows("record.search") == []


def test_a_details_search_matching_too_many_people_lists_nobody(
    sign_in: SignIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("wholesystem.record.view.routes.DETAILS_LIMIT", 0)
    response = sign_in("carer").get(_details("Lovelace", "1950-03-01"))
    assert response.status_code == 200
    assert ADA not in response.text
    assert 'data-testid="too-many"' in response.text


def _fhir_search(client: TestClient, query: str) -> list[str]:
    response = client.get(f"/fhir/Patient?{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    bundle = response.json()
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "searchset")
    assert bundle["total"] == len(bundle["entry"])
    return [e["resource"]["id"] for e in bundle["entry"]]


def test_fhir_patient_search_finds_only_people_in_a_relationship(
    sign_in: SignIn, audit_rows: Audit
) -> None:
    client = sign_in("carer")
    nhs = "https://fhir.nhs.uk/Id/nhs-number"
    assert _fhir_search(client, f"identifier={nhs}|{ADA_NHS}") == [ADA]
    assert _fhir_search(client, f"identifier={ADA_OLD_NHS}") == [ADA]  # a partner's number
    assert _fhir_search(client, "family=lovelace&birthdate=1950-01-03&given=a") == [ADA]
    assert _fhir_search(client, f"identifier={ADA_NHS}&family=Lovelace&birthdate=1950-03-01") == [
        ADA
    ]
    assert _fhir_search(client, f"identifier={ADA_NHS}&family=Brown&birthdate=1961-07-15") == []
    assert _fhir_search(client, f"identifier=https://example.org/mrn|{ADA_NHS}") == []
    # Cat exists but is not the carer's: left out, as somebody who does not exist.
    assert _fhir_search(client, f"identifier={CAT_NHS}") == []
    assert _fhir_search(client, "family=Chen&birthdate=1988-11-30") == []
    searches = audit_rows("record.search")
    assert [(s.object_type, s.detail["results"]) for s in searches] == [
        ("fhir_patient", [ADA]),
        ("fhir_patient", [ADA]),
        ("fhir_patient", [ADA]),
        ("fhir_patient", [ADA]),
        ("fhir_patient", []),
        ("fhir_patient", []),
        ("fhir_patient", []),
        ("fhir_patient", []),
    ]
    assert searches[0].object_id == urlencode({"identifier": f"{nhs}|{ADA_NHS}"})


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "search by identifier"),
        ("identifier=9434765918", "is not a valid NHS number"),
        ("family=Lovelace&birthdate=1950", "birthdate: give a whole date"),
    ],
)
def test_fhir_patient_search_explains_a_bad_query(
    sign_in: SignIn, query: str, message: str
) -> None:
    response = sign_in("carer").get(f"/fhir/Patient?{query}")
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "invalid"
    assert message in outcome["issue"][0]["diagnostics"]


def test_json_search_finds_only_people_in_a_relationship(
    sign_in: SignIn, audit_rows: Audit
) -> None:
    client = sign_in("carer")
    response = client.get(f"/api/v1/records?nhs_number={ADA_NHS}")
    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {
                "person_id": ADA,
                "nhs_number": ADA_NHS,
                "given_name": "Ada",
                "family_name": "Lovelace",
                "date_of_birth": "1950-03-01",
                "practice_code": "A00001",
                "basis": "registered_practice",
                "break_glass_expires_at": None,
            }
        ]
    }
    by_details = client.get("/api/v1/records?family_name=LOVELACE&date_of_birth=1950-01-03")
    assert [r["person_id"] for r in by_details.json()["results"]] == [ADA]
    assert client.get(f"/api/v1/records?nhs_number={CAT_NHS}").json() == {"results": []}
    bad = client.get("/api/v1/records?family_name=Lovelace")
    assert bad.status_code == 400
    assert bad.json()["detail"] == (
        "search by nhs_number (an NHS number), or by family_name and date_of_birth together"
    )
    searches = audit_rows("record.search")
    assert [(s.object_type, s.detail["results"]) for s in searches] == [
        ("api", [ADA]),
        ("api", [ADA]),
        ("api", []),
    ]


def test_fhir_patient_read(sign_in: SignIn, audit_rows: Audit) -> None:
    response = sign_in("carer").get(f"/fhir/Patient/{ADA}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/fhir+json")
    patient = response.json()
    assert (patient["resourceType"], patient["id"]) == ("Patient", ADA)
    assert patient["identifier"][0] == {
        "system": "https://fhir.nhs.uk/Id/nhs-number",
        "value": ADA_NHS,
    }
    assert patient["birthDate"] == "1950-03-01"
    [view] = audit_rows("record.view")
    assert (view.object_id, view.detail["view"]) == (ADA, "fhir_patient")


# ---------------------------------------------------------------------- break-glass


def _break_glass(client: TestClient, nhs_number: str, reason: str) -> object:
    token = csrf_from(client.get("/records").text)
    return client.post(
        "/records/break-glass",
        data={"nhs_number": nhs_number, "reason": reason, "csrf_token": token},
        follow_redirects=False,
    )


REASON = "Unconscious in the surgery car park; need allergies and medicines now."


def test_break_glass_opens_the_record_until_it_expires(
    sign_in: SignIn, audit_rows: Audit, clock: Clock, view_settings: Settings
) -> None:
    client = sign_in("carer")
    assert client.get(f"/records/{CAT}").status_code == 404
    response = _break_glass(client, CAT_NHS, REASON)
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == f"/records/{CAT}"  # type: ignore[attr-defined]
    page = client.get(f"/records/{CAT}")
    assert page.status_code == 200
    assert 'data-testid="break-glass-banner"' in page.text
    ends = clock.now + timedelta(minutes=view_settings.break_glass_minutes)
    expires = ends.astimezone(ZoneInfo("Europe/London")).strftime("%-d %b %Y at %H:%M")
    assert expires in page.text.split('data-testid="break-glass-banner"')[1][:400]
    (start,) = audit_rows("break_glass.start")
    assert start.object_id == CAT
    assert start.detail["reason"] == REASON
    view = audit_rows("record.view")[-1]
    assert view.detail["basis"] == "break_glass"
    assert view.detail["break_glass_id"] == start.detail["grant_id"]
    assert client.get(f"/api/v1/records/{CAT}").json()["access"]["basis"] == "break_glass"
    # Time-boxed: still open near the end (the session kept alive by use), gone after.
    assert view_settings.break_glass_minutes == 60
    for minutes, status in ((20, 200), (20, 200), (19, 200), (2, 404)):
        clock.advance(minutes=minutes)
        assert client.get(f"/records/{CAT}", follow_redirects=False).status_code == status


def test_break_glass_needs_a_reason(sign_in: SignIn, audit_rows: Audit) -> None:
    client = sign_in("carer")
    response = _break_glass(client, CAT_NHS, "need to see")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "20" in response.text  # type: ignore[attr-defined]
    assert audit_rows("break_glass.start") == []
    assert client.get(f"/records/{CAT}").status_code == 404


def test_break_glass_needs_a_valid_nhs_number(sign_in: SignIn, audit_rows: Audit) -> None:
    response = _break_glass(sign_in("carer"), "123", REASON)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "10 digits" in response.text  # type: ignore[attr-defined]
    assert audit_rows("break_glass.start") == []


def test_break_glass_for_nobody_grants_nothing_and_is_audited(
    sign_in: SignIn, audit_rows: Audit
) -> None:
    response = _break_glass(sign_in("carer"), UNKNOWN_NHS, REASON)
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert 'data-testid="glass-no-match"' in response.text  # type: ignore[attr-defined]
    assert audit_rows("break_glass.start") == []
    (attempt,) = audit_rows("break_glass.no_match")
    assert attempt.object_id == UNKNOWN_NHS


def test_break_glass_without_the_csrf_token_is_refused(sign_in: SignIn, audit_rows: Audit) -> None:
    client = sign_in("carer")
    response = client.post("/records/break-glass", data={"nhs_number": CAT_NHS, "reason": REASON})
    assert response.status_code == 403
    assert audit_rows("break_glass.start") == []


# --------------------------------------------------------------- analysts (secondary use)


def _pseudonym(settings: Settings, person_id: str) -> str:
    return pseudonymise(person_id, pseudonym_key(settings))


IDENTIFIERS = (
    *(ADA, ADA_NHS, "943 476 5919", "Lovelace", "LOVELACE", "TS1", "1950-03-01"),
    *("1 Mar 1950", "HS001", "RA1-77", "E-ADA-"),
)


def test_analysts_see_a_pseudonymised_record_only(
    sign_in: SignIn, audit_rows: Audit, view_settings: Settings
) -> None:
    client = sign_in("analyst")
    pseudonym = _pseudonym(view_settings, ADA)
    page = client.get(f"/pseudonymised/records/{pseudonym}")
    assert page.status_code == 200
    data = client.get(f"/api/v1/pseudonymised/records/{pseudonym}")
    assert data.status_code == 200
    for text in (page.text, data.text):
        for identifier in IDENTIFIERS:
            assert identifier not in text, identifier
    assert pseudonym in page.text
    assert "1950" in page.text
    assert "Pneumonia" in page.text
    body = data.json()
    assert body["pseudonym"] == pseudonym
    assert body["year_of_birth"] == 1950
    assert all(e["event_id"] is None and e["record_id"] is None for e in body["timeline"])
    views = audit_rows("record.view_pseudonymised")
    assert [(v.object_type, v.object_id, v.detail["view"]) for v in views] == [
        ("pseudonym", pseudonym, "page"),
        ("pseudonym", pseudonym, "json"),
    ]


def test_opted_out_people_are_excluded_from_secondary_use_only(
    sign_in: SignIn, factory: sessionmaker[Session], view_settings: Settings
) -> None:
    with session_scope(factory) as s:
        record_opt_out(s, BEN_NHS, actor="admin", source="national data opt-out list")
    pseudonym = _pseudonym(view_settings, BEN)
    analyst = sign_in("analyst")
    missing = analyst.get("/pseudonymised/records/PS0000000000000000")
    opted_out = analyst.get(f"/pseudonymised/records/{pseudonym}")
    assert opted_out.status_code == missing.status_code == 404
    assert _normalised(opted_out.text).replace(pseudonym, "P") == _normalised(missing.text).replace(
        "PS0000000000000000", "P"
    )
    assert analyst.get(f"/api/v1/pseudonymised/records/{pseudonym}").status_code == 404
    # Direct care is unaffected.
    assert sign_in("carer").get(f"/records/{BEN}").status_code == 200


@pytest.mark.parametrize("username", ["carer", "admin", "cllr"])
def test_only_analysts_have_the_pseudonymised_view(
    sign_in: SignIn, view_settings: Settings, username: str
) -> None:
    pseudonym = _pseudonym(view_settings, ADA)
    assert sign_in(username).get(f"/pseudonymised/records/{pseudonym}").status_code == 403


def test_a_malformed_pseudonym_is_a_404(sign_in: SignIn) -> None:
    assert sign_in("analyst").get("/pseudonymised/records/WP0000000001").status_code == 404
