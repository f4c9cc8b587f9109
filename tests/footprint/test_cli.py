"""`wholesystem footprint load`: good files load; bad ones say why and change nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from wholesystem.cli import app
from wholesystem.config import Settings, reset_settings
from wholesystem.footprint.models import Area
from wholesystem.store.db import make_engine, make_session_factory


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("WHOLESYSTEM_MODE", "test")
    monkeypatch.setenv("WHOLESYSTEM_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("WHOLESYSTEM_DATABASE_URL", settings.resolved_database_url)
    reset_settings()
    yield settings
    reset_settings()


def _areas(settings: Settings) -> int:
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        count = s.scalar(select(func.count()).select_from(Area)) or 0
    engine.dispose()
    return count


def test_load_then_reload_is_unchanged(cli_env: Settings, footprint_file: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    first = runner.invoke(app, ["footprint", "load", str(footprint_file)])
    assert first.exit_code == 0, first.output
    assert "2 places, 2 neighbourhoods, 3 practices" in first.output
    assert "population 24,600" in first.output
    second = runner.invoke(app, ["footprint", "load", str(footprint_file)])
    assert "(unchanged)" in second.output
    shown = runner.invoke(app, ["footprint", "show"])
    assert "Hill Surgery (A00001)" in shown.output


def test_bad_file_says_why_and_changes_nothing(
    cli_env: Settings, footprint_file: Path, footprint_data: dict[str, Any], tmp_path: Path
) -> None:
    runner = CliRunner()
    runner.invoke(app, ["db", "upgrade"])
    runner.invoke(app, ["footprint", "load", str(footprint_file)])
    before = _areas(cli_env)
    footprint_data["places"][0]["neighbourhoods"][0]["practices"].append(
        {"code": "B99999", "population": 5}
    )
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(footprint_data))
    result = runner.invoke(app, ["footprint", "load", str(bad)])
    assert result.exit_code == 1
    assert "refers to unknown organisation code B99999" in result.output
    assert _areas(cli_env) == before
