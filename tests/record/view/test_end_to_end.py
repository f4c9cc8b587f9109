"""End to end: a synthetic ICS through ingest, the person index and the real linked-lake
builder (``tests/record/conftest.py`` ``linked_ics``), then the record page, JSON and FHIR."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_SECRET
from tests.record.conftest import LinkedICS
from tests.record.view.conftest import PASSWORD, csrf_from
from wholesystem.config import Settings
from wholesystem.footprint.pipeline import load_footprint_file
from wholesystem.store.db import make_engine, make_session_factory, session_scope, upgrade

pytestmark = pytest.mark.slow


@pytest.fixture
def e2e(linked_ics: LinkedICS, tmp_path: Path) -> Iterator[tuple[TestClient, str, str]]:
    """A client signed in at the practice of a person with the most events in the lake."""
    from wholesystem.access.users import create_user
    from wholesystem.web.app import create_app

    (person_id, practice), *_ = linked_ics.sql(
        "SELECT p.person_id, p.practice_code FROM person p JOIN event e USING (person_id) "
        "WHERE p.practice_code IS NOT NULL GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1"
    )
    settings = Settings(
        mode="test",
        data_dir=tmp_path,
        lake_dir=linked_ics.lake.root,
        database_url=f"sqlite:///{tmp_path / 'e2e.db'}",
        secret_key=TEST_SECRET,
    )
    upgrade(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    factory = make_session_factory(engine)
    load_footprint_file(factory, linked_ics.synth / "footprint.json")
    with session_scope(factory) as s:
        create_user(
            s,
            username="gp",
            display_name="GP",
            role="care_team_member",
            organisation_code=practice,
            password=PASSWORD,
            actor="test",
        )
    engine.dispose()
    app = create_app(settings)
    with TestClient(app, base_url="https://testserver") as client:
        token = csrf_from(client.get("/login").text)
        signed = client.post(
            "/login",
            data={"username": "gp", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert signed.status_code == 303
        yield client, person_id, practice
    app.state.engine.dispose()


def test_the_real_lake_renders_as_page_json_and_fhir(
    e2e: tuple[TestClient, str, str], linked_ics: LinkedICS
) -> None:
    client, person_id, _practice = e2e
    page = client.get(f"/records/{person_id}")
    assert page.status_code == 200, page.text
    assert "Registered at your practice" in page.text
    body = client.get(f"/api/v1/records/{person_id}").json()
    [(events,)] = linked_ics.sql("SELECT count(*) FROM event WHERE person_id = ?", [person_id])
    assert len(body["timeline"]) == events
    [(conditions,)] = linked_ics.sql(
        "SELECT count(DISTINCT (code_system, code)) FROM condition WHERE person_id = ?",
        [person_id],
    )
    assert len(body["problems"]) == conditions
    bundle = client.get(f"/fhir/Patient/{person_id}/$everything").json()
    assert bundle["entry"][0]["resource"]["id"] == person_id
    resources = pytest.importorskip("fhir.resources.R4B.bundle")
    resources.Bundle.model_validate(bundle)


def test_the_real_lake_refuses_people_elsewhere(
    e2e: tuple[TestClient, str, str], linked_ics: LinkedICS
) -> None:
    client, _person_id, practice = e2e
    others = linked_ics.sql(
        "SELECT person_id FROM person WHERE practice_code IS NOT NULL AND practice_code <> ? "
        "ORDER BY person_id LIMIT 50",
        [practice],
    )
    statuses = {client.get(f"/records/{pid}").status_code for (pid,) in others}
    # Some share the practice's PCN (200); the rest are refused with the 404.
    assert 404 in statuses
    assert statuses <= {200, 404}
