"""`wholesystem demo`: the whole chain on a small ICS, and a second run reuses it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import TEST_SECRET
from tests.web.conftest import csrf_from
from wholesystem.access.models import User
from wholesystem.access.permissions import Role
from wholesystem.config import Settings
from wholesystem.demo import build_demo
from wholesystem.footprint.models import Area
from wholesystem.footprint.queries import footprint_tree
from wholesystem.store.db import make_engine, make_session_factory
from wholesystem.store.lake import Lake
from wholesystem.web.app import create_app


@pytest.mark.slow
def test_demo_builds_everything_then_reuses_it(tmp_path: Path) -> None:
    settings = Settings(mode="demo", data_dir=tmp_path / "data", secret_key=TEST_SECRET)
    first = build_demo(settings, people=2_000, seed=7)
    assert not first.synth_reused
    assert {role for _, _, role, _ in first.logins} == {r.label for r in Role}
    report = first.report()
    for username, password, _, _ in first.logins:
        assert username in report
        assert password in report

    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        tree = footprint_tree(s)
        assert tree is not None
        assert len(tree.children) == 3
        assert tree.population > 0
        users = s.scalar(select(func.count()).select_from(User))
    engine.dispose()

    _care_team_sees_joined_records_and_others_get_404(settings, first.logins)
    _dashboard_shows_the_published_snapshot(settings, first.logins)

    manifest = settings.demo_dir / "manifest.json"
    stamp = manifest.stat().st_mtime_ns
    second = build_demo(settings, people=2_000, seed=7)
    assert second.synth_reused
    assert manifest.stat().st_mtime_ns == stamp
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(User)) == users
    engine.dispose()


def test_demo_refuses_production_mode(tmp_path: Path) -> None:
    settings = Settings(mode="production", data_dir=tmp_path, secret_key=TEST_SECRET)
    with pytest.raises(ValueError, match="only built in demo or test mode"):
        build_demo(settings, people=100, seed=1)


def _signed_in(settings: Settings, logins: list[tuple[str, str, str, str]], who: str) -> TestClient:
    client = TestClient(create_app(settings), base_url="https://testserver")
    password = next(p for u, p, *_ in logins if u == who)
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": who, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def _care_team_sees_joined_records_and_others_get_404(
    settings: Settings, logins: list[tuple[str, str, str, str]]
) -> None:
    gp_practice = next(org for u, _, _, org in logins if u == "gp")
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        areas = {a.code: a for a in s.scalars(select(Area))}
    engine.dispose()
    ours_pcn = next(a.parent_code for a in areas.values() if a.organisation_code == gp_practice)
    elsewhere = sorted(
        a.organisation_code
        for a in areas.values()
        if a.level == "practice" and a.parent_code != ours_pcn and a.organisation_code
    )
    assert elsewhere
    with Lake(settings.resolved_lake_dir).connect() as con:
        ours = con.execute(
            "SELECT person_id FROM person WHERE practice_code = ? AND date_of_death IS NULL "
            "ORDER BY person_id LIMIT 1",
            [gp_practice],
        ).fetchone()
        theirs = con.execute(
            "SELECT p.person_id FROM person p WHERE list_contains(?, p.practice_code) "
            "AND NOT EXISTS (SELECT 1 FROM event e WHERE e.person_id = p.person_id "
            "AND e.end_time IS NULL AND e.setting = 'inpatient') "
            "ORDER BY p.person_id LIMIT 1",
            [elsewhere],
        ).fetchone()
    assert ours is not None
    assert theirs is not None
    with _signed_in(settings, logins, "gp") as client:
        page = client.get(f"/records/{ours[0]}")
        assert page.status_code == 200, page.text
        assert "Timeline" in page.text
        bundle = client.get(f"/fhir/Patient/{ours[0]}/$everything")
        assert bundle.status_code == 200
        assert bundle.json()["resourceType"] == "Bundle"
        refused = client.get(f"/records/{theirs[0]}")
        missing = client.get("/records/WP9999999999")
        assert refused.status_code == missing.status_code == 404


def _dashboard_shows_the_published_snapshot(
    settings: Settings, logins: list[tuple[str, str, str, str]]
) -> None:
    with _signed_in(settings, logins, "board") as client:
        page = client.get("/dashboard")
        assert page.status_code == 200
        assert "A&amp;E 4-hour performance" in page.text
        assert client.get("/dashboard/metrics/ae_4hr").status_code == 200
        population = client.get("/population")
        assert population.status_code == 200
        assert "Risk pyramid" in population.text
        assert client.get("/population/cohorts?tier=top_0_5").status_code == 200
    with _signed_in(settings, logins, "gp") as client:
        finding = client.get("/population/case-finding")
        assert finding.status_code == 200
        assert 'data-testid="empty-state"' not in finding.text
    public = TestClient(create_app(settings), base_url="https://testserver")
    assert public.get("/public/dashboard").status_code == 200
