"""The data-quality pages on SQLite and PostgreSQL: counts, filters, CSVs, 404s, replay."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.record.conftest import CORPUS
from tests.web.conftest import PASSWORD, app_settings, csrf_from  # noqa: F401 (fixture)
from wholesystem.access.models import AuditEvent
from wholesystem.config import Settings
from wholesystem.record.ingest import ingest_path
from wholesystem.record.models import QuarantineRow
from wholesystem.record.routes import router
from wholesystem.store.db import make_engine, make_session_factory, session_scope
from wholesystem.store.lake import Lake
from wholesystem.web.app import create_app


@pytest.fixture
def loaded(app_settings: Settings, tmp_path: Path) -> Settings:  # noqa: F811
    from wholesystem.access.users import create_user

    src = tmp_path / "in"
    for rel in ("R9A/apc/nhs_numbers.csv", "R9A/apc/semicolons.csv", "R9C/csds/long_field.csv"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / rel, src / rel)
    engine = make_engine(app_settings.resolved_database_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as s:
        create_user(
            s,
            username="ana",
            display_name="Ana",
            role="analyst",
            organisation_code="QXX",
            password=PASSWORD,
            actor="test",
        )
    ingest_path(factory, Lake(app_settings.resolved_lake_dir), src, actor="loader")
    engine.dispose()
    return app_settings


@pytest.fixture
def client(loaded: Settings) -> Iterator[TestClient]:
    app = create_app(loaded)
    app.include_router(router)
    with TestClient(app, base_url="https://testserver") as c:
        yield c


@pytest.fixture
def sign_in(client: TestClient) -> Callable[[str], TestClient]:
    def _sign_in(username: str) -> TestClient:
        token = csrf_from(client.get("/login").text)
        response = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return client

    return _sign_in


def test_summary_page_filters_and_csv(sign_in: Callable[[str], TestClient]) -> None:
    client = sign_in("ana")
    page = client.get("/data-quality")
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="data-as-at"' in html
    assert "no load of this data" not in html
    assert "wrong delimiter: the header is separated by semicolons" in html
    assert 'href="/data-quality.csv"' in html
    csv = client.get("/data-quality.csv").text.splitlines()
    assert csv[0].startswith("org_code,dataset,files_loaded,files_rejected,rows_read")
    assert "R9A,apc,1,1,4,2,2,50.00%," in csv[1]
    assert csv[2].startswith("R9C,csds,1,0,3,2,1,33.33%,")
    filtered = client.get("/data-quality?org=R9C").text
    assert "semicolons" not in filtered
    assert "Clear filters" in filtered
    assert len(client.get("/data-quality.csv?org=R9C").text.splitlines()) == 2
    runs = client.get("/data-quality/runs.csv?status=rejected").text.splitlines()
    assert len(runs) == 2
    assert "wrong delimiter" in runs[1]
    bad = client.get("/data-quality?dataset=nope")
    assert bad.status_code == 400
    assert "is not a dataset" in bad.text


def test_run_page_withholds_identity_from_analysts(sign_in: Callable[[str], TestClient]) -> None:
    client = sign_in("ana")
    html = client.get("/data-quality/runs/1").text
    assert "NHS number &#39;9434765928&#39; fails the modulus-11 check digit" not in html
    assert "nhs_number_check_digit" in html
    assert "NHS number &#39;(withheld)&#39; fails the modulus-11 check digit" in html
    assert "nhs_number=(withheld)" in html
    assert "Bob" not in html
    assert "Re-play" not in html
    csv = client.get("/data-quality/runs/1/quarantine.csv").text
    assert "(withheld)" in csv
    assert "Bob" not in csv
    missing = client.get("/data-quality/runs/999")
    assert missing.status_code == 404
    assert "There is no ingest run 999." in missing.text


def test_admin_sees_rows_and_replays_a_fix(
    sign_in: Callable[[str], TestClient], loaded: Settings
) -> None:
    client = sign_in("admin")
    page = client.get("/data-quality/runs/1")
    assert "nhs_number=9434765928" in page.text
    assert "line" in page.text
    assert "Correct and re-play line 3" in page.text
    token = csrf_from(page.text)
    engine = make_engine(loaded.resolved_database_url)
    with make_session_factory(engine)() as s:
        row = s.scalars(
            select(QuarantineRow).where(QuarantineRow.run_id == 1, QuarantineRow.line == 3)
        ).one()
    response = client.post(
        "/data-quality/runs/1/replay",
        data={"csrf_token": token, "row_id": str(row.id), "fix__nhs_number": "9434765927"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/data-quality/runs/1?replayed=1-0"
    done = client.get(response.headers["location"]).text
    assert "1 rows passed and were loaded; 0 still fail." in done
    with make_session_factory(engine)() as s:
        assert s.get_one(QuarantineRow, row.id).status == "fixed"
        actions = set(s.scalars(select(AuditEvent.action)))
    engine.dispose()
    assert {"quarantine.view", "ingest.replay", "ingest.load", "ingest.reject"} <= actions
    no_csrf = client.post("/data-quality/runs/1/replay", data={}, follow_redirects=False)
    assert no_csrf.status_code == 403


def test_guards(sign_in: Callable[[str], TestClient], client: TestClient) -> None:
    assert client.get("/data-quality", follow_redirects=False).status_code in (302, 303)
    sign_in("carer")
    assert client.get("/data-quality").status_code == 403
    client.cookies.clear()
    analyst = sign_in("ana")
    token = csrf_from(analyst.get("/data-quality/runs/1").text)
    refused = analyst.post("/data-quality/runs/1/replay", data={"csrf_token": token})
    assert refused.status_code == 403


def test_partners_are_named_as_the_footprint_names_them(
    sign_in: Callable[[str], TestClient], loaded: Settings, tmp_path: Path
) -> None:
    """A partner the footprint names shows by its name and code (summary, filter, runs,
    run page); one it does not (R9A here), by its code alone."""
    src = tmp_path / "named"
    (src / "RA1" / "apc").mkdir(parents=True)
    shutil.copyfile(CORPUS / "R9A" / "apc" / "nhs_numbers.csv", src / "RA1" / "apc" / "a.csv")
    engine = make_engine(loaded.resolved_database_url)
    summary = ingest_path(
        make_session_factory(engine), Lake(loaded.resolved_lake_dir), src, actor="loader"
    )
    engine.dispose()
    [run_id] = [o.run_id for o in summary.outcomes]
    client = sign_in("ana")
    html = client.get("/data-quality").text
    named = "Testshire Hospitals NHS Foundation Trust (RA1)"
    assert f'<a href="/data-quality?org=RA1">{named}</a>' in html
    assert f'<option value="RA1">{named}</option>' in html
    assert f'<td class="nhsuk-table__cell">{named}</td>' in html  # the runs table
    assert '<a href="/data-quality?org=R9A">R9A</a>' in html
    assert named in client.get(f"/data-quality/runs/{run_id}").text
