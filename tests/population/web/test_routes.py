"""The population pages over a small population lake: what each role sees, and the audit."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from tests.population.web.conftest import Audit, SignIn, csrf_from, sign_in_as
from tests.population.web.lakefixture import ALF, BEA, CAL, DOT, EVE, FAY, GUS, NAMES, nhs_for
from wholesystem.access.pseudonyms import is_pseudonym

PAGES = ("/population", "/population/cohorts", "/population/case-finding")


def _absent(text: str, person_id: str) -> None:
    family = NAMES[person_id][1]
    nhs = nhs_for(person_id)
    assert person_id not in text
    assert family.upper() not in text
    assert family not in text
    assert nhs not in text
    assert f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}" not in text


def _present(text: str, person_id: str) -> None:
    assert NAMES[person_id][1].upper() in text


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --------------------------------------------------------------------- empty states


@pytest.mark.parametrize("path", PAGES)
def test_pages_before_any_stratification_say_so(empty_client: TestClient, path: str) -> None:
    sign_in_as(empty_client, "carer")
    response = empty_client.get(path)
    assert response.status_code == 200
    assert 'data-testid="empty-state"' in response.text
    assert "wholesystem stratify" in response.text


def test_csv_before_any_stratification_is_a_clear_404(empty_client: TestClient) -> None:
    sign_in_as(empty_client, "analyst")
    response = empty_client.get("/population.csv")
    assert response.status_code == 404
    assert "No risk stratification" in response.text


# ------------------------------------------------------------------- the overview


def test_overview_shows_protected_pyramid_and_mix(sign_in: SignIn) -> None:
    client = sign_in("cllr")
    response = client.get("/population")
    assert response.status_code == 200
    text = response.text
    assert "Risk pyramid" in text
    assert "<svg" in text
    assert "102 people" not in text  # 102 rounds to 100
    assert "100 people registered" in text
    assert "Data as at 31 March 2025" in text
    rows = _csv(client.get("/population.csv").text)
    grand = next(r for r in rows if r["tier"] == "all" and r["segment"] == "all")
    assert grand["people"] == "100"
    top = next(r for r in rows if r["tier"] == "top_0_5" and r["segment"] == "all")
    assert top["people"] == "*"  # 4 people: suppressed
    for row in rows:
        assert row["people"] == "*" or int(row["people"].replace(",", "")) not in range(1, 8)


def test_overview_drills_down_with_breadcrumbs(sign_in: SignIn) -> None:
    client = sign_in("carer")
    text = client.get("/population?area=U00001").text
    assert 'href="/population"' in text
    assert 'href="/population?area=PL1"' in text
    assert "North PCN" in text
    assert "Risk tiers by practice" in text
    assert 'href="/population?area=A00001"' in text
    assert client.get("/population?area=NOPE").status_code == 404
    assert client.get("/population.csv?area=U00002").status_code == 200


# ------------------------------------------------------------------------- cohorts


def test_cohort_counts_for_everyone_lists_for_nobody_without_rights(sign_in: SignIn) -> None:
    client = sign_in("cllr")
    response = client.get("/population/cohorts?tier=top_0_5&tier=p0_5_to_5")
    assert response.status_code == 200
    assert 'data-testid="no-list"' in response.text
    assert '<span data-testid="cohort-count">*</span>' in response.text  # 6 people
    assert client.get("/population/cohorts?show=list").status_code == 200
    assert client.get("/population/cohorts.csv").status_code == 403
    for person in (ALF, BEA, CAL, DOT):
        _absent(client.get("/population/cohorts?show=list").text, person)


def test_bad_filter_is_a_specific_400(sign_in: SignIn) -> None:
    client = sign_in("carer")
    response = client.get("/population/cohorts?age_min=80&age_max=20")
    assert response.status_code == 400
    assert "swap them" in response.text
    assert client.get("/population/cohorts?tier=top").status_code == 400


def test_care_team_list_only_has_people_with_a_relationship(
    sign_in: SignIn, audit_rows: Audit
) -> None:
    client = sign_in("carer")  # A00001: own practice and North PCN (A00002)
    url = "/population/cohorts?tier=top_0_5&tier=p0_5_to_5&show=list"
    text = client.get(url).text
    for person in (ALF, BEA, DOT, EVE, GUS):
        _present(text, person)
    _absent(text, CAL)  # Harbour PCN: no relationship
    events = audit_rows("population.cohort_list")
    assert len(events) == 1
    assert events[0].actor == "carer"
    assert events[0].detail["kind"] == "identifiable"
    assert events[0].detail["rows"] == 5

    rows = _csv(client.get("/population/cohorts.csv?tier=top_0_5&tier=p0_5_to_5").text)
    assert {r["person_id"] for r in rows} == {ALF, BEA, DOT, EVE, GUS}
    assert len(audit_rows("population.cohort_export")) == 1

    quay = sign_in("quay")
    text = quay.get(url).text
    _present(text, CAL)
    for person in (ALF, BEA, DOT, EVE, GUS):
        _absent(text, person)


def test_trust_user_without_relationships_sees_nobody(sign_in: SignIn) -> None:
    client = sign_in("acute")
    text = client.get("/population/cohorts?show=list").text
    assert 'data-testid="list-empty"' in text
    for person in (ALF, BEA, CAL, DOT, EVE, FAY, GUS):
        _absent(text, person)
    assert _csv(client.get("/population/cohorts.csv").text) == []


def test_analyst_list_is_pseudonymised_without_opted_out(
    sign_in: SignIn, audit_rows: Audit
) -> None:
    client = sign_in("analyst")
    url = "/population/cohorts?tier=top_0_5&tier=p0_5_to_5"
    text = client.get(url + "&show=list").text
    for person in (ALF, BEA, CAL, DOT, EVE, GUS):
        _absent(text, person)
    rows = _csv(client.get("/population/cohorts.csv?tier=top_0_5&tier=p0_5_to_5").text)
    assert len(rows) == 5  # six high-risk people less GUS, who opted out
    assert all(is_pseudonym(r["pseudonym"]) for r in rows)
    assert "person_id" not in rows[0]
    assert "nhs_number" not in rows[0]
    for row in rows:
        assert not set(row.values()) & {ALF, BEA, CAL, DOT, EVE, GUS, nhs_for(GUS)}
    assert audit_rows("population.cohort_list")[0].detail["kind"] == "pseudonymised"
    assert audit_rows("population.cohort_export")[0].detail["rows"] == 5


def test_cohort_filters_round_trip_in_the_url(sign_in: SignIn) -> None:
    client = sign_in("analyst")
    text = client.get("/population/cohorts?condition=copd&area=PL1&min_emergency=2").text
    # Only ALF (COPD, PL1, 3 admissions): one person is suppressed in the count.
    assert '<span data-testid="cohort-count">*</span>' in text
    assert "counts.csv?condition=copd&amp;area=PL1&amp;min_emergency=2" in text
    rows = _csv(client.get("/population/cohorts.csv?condition=copd&area=PL1&min_emergency=2").text)
    assert len(rows) == 1


# ------------------------------------------------------------------- case-finding


def test_case_finding_for_a_practice_user(sign_in: SignIn, audit_rows: Audit) -> None:
    client = sign_in("carer")
    response = client.get("/population/case-finding")  # defaults to their neighbourhood
    assert response.status_code == 200
    text = response.text
    for person in (ALF, DOT, GUS):
        _present(text, person)
    assert f'href="/records/{ALF}"' in text
    assert "3 emergency admissions in the last 12 months" in text
    assert "Severe frailty" in text  # the model's reasons
    for person in (BEA, CAL, EVE, FAY):  # other practice, other PCN, no criterion, low risk
        _absent(text, person)
    assert "Add to MDT caseload" not in text  # care-team members cannot add
    assert audit_rows("population.case_finding_view")[0].detail["rows"] == 3
    rows = _csv(client.get("/population/case-finding.csv").text)
    assert [r["person_id"] for r in rows] == [ALF, DOT, GUS]  # by risk
    assert len(audit_rows("population.case_finding_export")) == 1


def test_case_finding_for_a_pcn_user_and_another_neighbourhood(sign_in: SignIn) -> None:
    client = sign_in("pcn")
    text = client.get("/population/case-finding?neighbourhood=U00001").text
    for person in (ALF, BEA, DOT, GUS):
        _present(text, person)
    _absent(text, CAL)
    # Another neighbourhood: nobody there is theirs to see.
    text = client.get("/population/case-finding?neighbourhood=U00002").text
    assert 'data-testid="no-cases"' in text
    _absent(text, CAL)
    assert client.get("/population/case-finding?neighbourhood=ZZZ").status_code == 404


def test_case_finding_is_for_care_teams_only(sign_in: SignIn) -> None:
    for user in ("analyst", "cllr", "board"):
        client = sign_in(user)
        assert client.get("/population/case-finding").status_code == 403
        assert client.get("/population/case-finding.csv").status_code == 403


def test_add_to_caseload_drops_them_from_the_list(sign_in: SignIn, audit_rows: Audit) -> None:
    client = sign_in("pcn")
    page = client.get("/population/case-finding?neighbourhood=U00001")
    token = csrf_from(page.text)
    response = client.post(
        "/population/case-finding/caseload",
        data={"person_id": ALF, "neighbourhood": "U00001", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    text = client.get(response.headers["location"]).text
    assert 'data-testid="added"' in text
    _absent(text, ALF)
    _present(text, BEA)
    added = audit_rows("care_relationship.add")
    assert [(e.object_id, e.detail["kind"], e.actor) for e in added] == [(ALF, "caseload", "pcn")]
    # Someone not on their list (another PCN): refused, nothing written.
    response = client.post(
        "/population/case-finding/caseload",
        data={"person_id": CAL, "neighbourhood": "U00001", "csrf_token": token},
    )
    assert response.status_code == 404
    assert len(audit_rows("care_relationship.add")) == 1


def test_care_team_member_cannot_add_to_caseload(sign_in: SignIn) -> None:
    client = sign_in("carer")
    token = csrf_from(client.get("/population/case-finding").text)
    response = client.post(
        "/population/case-finding/caseload",
        data={"person_id": ALF, "neighbourhood": "U00001", "csrf_token": token},
    )
    assert response.status_code == 403
