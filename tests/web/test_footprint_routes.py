"""Footprint page, CSVs and JSON API, including unknown codes."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from fastapi.testclient import TestClient


def test_page_shows_tree_with_populations(
    client: TestClient, sign_in: Callable[[str], TestClient]
) -> None:
    sign_in("carer")
    html = client.get("/footprint").text
    for text in ("Testshire North", "North PCN", "Hill Surgery", "24,600", "15,500", "9,100"):
        assert text in html
    assert "Data as at" in html


def test_filter_is_kept_in_the_csv_link_and_applied(
    client: TestClient, sign_in: Callable[[str], TestClient]
) -> None:
    sign_in("carer")
    html = client.get("/footprint?place=PL2&type=gp_practice").text
    assert 'href="/footprint.csv?place=PL2&amp;type=gp_practice"' in html
    rows = list(csv.DictReader(io.StringIO(client.get("/footprint.csv?place=PL2").text)))
    assert [r["code"] for r in rows] == ["QXX", "PL2", "U00002", "A00003"]
    assert rows[-1]["population"] == "9100"
    orgs = list(
        csv.DictReader(io.StringIO(client.get("/footprint/organisations.csv?type=pcn").text))
    )
    assert {r["code"] for r in orgs} == {"U00001", "U00002"}


def test_unknown_place_or_type_is_a_specific_400(
    client: TestClient, sign_in: Callable[[str], TestClient]
) -> None:
    sign_in("carer")
    response = client.get("/footprint?place=ZZ9")
    assert response.status_code == 400
    assert "There is no place with code &#39;ZZ9&#39;" in response.text
    response = client.get("/footprint?type=hospital")
    assert response.status_code == 400
    assert "is not an organisation type" in response.text


def test_area_page_and_unknown_area(
    client: TestClient, sign_in: Callable[[str], TestClient]
) -> None:
    sign_in("carer")
    html = client.get("/footprint/areas/U00001").text
    assert "North PCN" in html
    assert "Mill Practice" in html
    rows = list(csv.DictReader(io.StringIO(client.get("/footprint/areas/U00001.csv").text)))
    assert [r["code"] for r in rows] == ["U00001", "A00001", "A00002"]
    assert client.get("/footprint/areas/NOPE1.csv").status_code == 404
    missing = client.get("/footprint/areas/NOPE1")
    assert missing.status_code == 404
    assert "There is no area with code &#39;NOPE1&#39;" in missing.text


def test_api_tree_and_organisations(
    client: TestClient, sign_in: Callable[[str], TestClient]
) -> None:
    sign_in("carer")
    tree = client.get("/api/v1/footprint").json()
    assert tree["population"] == 24600
    assert [p["code"] for p in tree["children"]] == ["PL1", "PL2"]
    assert tree["children"][0]["children"][0]["children"][1]["code"] == "A00002"
    assert client.get("/api/v1/footprint/areas/PL2").json()["population"] == 9100
    org = client.get("/api/v1/organisations/RC1").json()
    assert org == {
        "code": "RC1",
        "name": "Testshire Community Health",
        "type": "community_trust",
        "serves": ["PL1"],
    }
    assert len(client.get("/api/v1/organisations?type=gp_practice").json()) == 3


def test_api_unknown_codes_are_specific_404s(
    client: TestClient, sign_in: Callable[[str], TestClient]
) -> None:
    sign_in("carer")
    response = client.get("/api/v1/organisations/ZZZ")
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown organisation code 'ZZZ'"}
    response = client.get("/api/v1/footprint/areas/ZZZ")
    assert response.json() == {"detail": "unknown area code 'ZZZ'"}
    response = client.get("/api/v1/organisations?type=castle")
    assert response.status_code == 400
    assert "is not an organisation type" in response.json()["detail"]
