"""The shell: home, health, API document, error pages with specific messages."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient


def test_health_reports_database_and_assets(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["checks"]["database"] == "ok"
    assert body["status"] in ("ok", "degraded")


def test_openapi_lists_the_footprint_api(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/footprint" in doc["paths"]
    assert "/api/v1/organisations/{code}" in doc["paths"]


def test_signed_out_page_redirects_to_sign_in_keeping_the_address(client: TestClient) -> None:
    response = client.get("/footprint?place=PL1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Ffootprint%3Fplace%3DPL1"


def test_signed_out_api_gets_401_json(client: TestClient) -> None:
    response = client.get("/api/v1/footprint")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")


def test_signed_out_fhir_gets_a_401_operation_outcome(client: TestClient) -> None:
    response = client.get("/fhir/Patient/WP0000000001/$everything", follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "login"


def test_fhir_for_a_role_without_the_permission_is_a_403_operation_outcome(
    client: TestClient, sign_in: Callable[[str], TestClient]
) -> None:
    sign_in("admin")
    response = client.get("/fhir/Patient/WP0000000001/$everything")
    assert response.status_code == 403
    assert response.json()["issue"][0]["code"] == "forbidden"


def test_unknown_route_is_an_nhs_style_404(
    client: TestClient, sign_in: Callable[[str], TestClient]
) -> None:
    sign_in("carer")
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "nhsuk-header" in response.text


def test_unknown_api_route_is_json_404(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code in (401, 404)
    assert response.headers["content-type"].startswith("application/json")


def test_home_shows_the_footprint_and_state_of_the_data(
    client: TestClient, sign_in: Callable[[str], TestClient]
) -> None:
    sign_in("carer")
    html = client.get("/").text
    assert "Testshire Integrated Care System" in html
    assert "24,600" in html
    assert "State of the data" in html


def test_the_cached_header_belongs_to_whoever_is_signed_in(
    client: TestClient, sign_in: Callable[[str], TestClient]
) -> None:
    import re

    from tests.web.conftest import csrf_from

    def header(html: str) -> str:
        return html.split("<header", 1)[1].split("</header>", 1)[0]

    sign_in("admin")
    first = client.get("/footprint").text
    admin_header = header(first)
    assert "Admin (" in admin_header
    assert (
        'aria-current="page"' in admin_header
        or "nhsuk-header__navigation-item--current" in admin_header
    )
    # the same page again: the same header, from the cache
    assert header(client.get("/footprint").text) == admin_header
    token = re.search(r'name="csrf_token" value="([^"]+)"', admin_header)
    assert token is not None
    client.post("/logout", data={"csrf_token": csrf_from(first)}, follow_redirects=False)
    sign_in("carer")
    carer_header = header(client.get("/footprint").text)
    assert "Carer (" in carer_header
    assert "Admin (" not in carer_header
    assert token.group(1) not in carer_header  # never another session's sign-out token
