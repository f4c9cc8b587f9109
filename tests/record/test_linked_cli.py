"""``wholesystem link-lake``: builds the linked tables, says what is missing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.conftest import TEST_SECRET
from tests.record.conftest import LinkedICS
from wholesystem.config import reset_settings
from wholesystem.record.linked import LINKED_TABLES
from wholesystem.record.linked_cli import register


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("noop")
    def noop() -> None:  # a second command keeps Typer from flattening the app
        """Nothing."""

    return app


@pytest.fixture
def env(linked_ics: LinkedICS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Settings pointing at a copy of the linked ICS's lake and database."""
    lake = tmp_path / "lake"
    shutil.copytree(linked_ics.lake.root, lake)
    shutil.copy(linked_ics.root / "linked.db", tmp_path / "linked.db")
    monkeypatch.setenv("WHOLESYSTEM_MODE", "test")
    monkeypatch.setenv("WHOLESYSTEM_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("WHOLESYSTEM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WHOLESYSTEM_LAKE_DIR", str(lake))
    monkeypatch.setenv("WHOLESYSTEM_DATABASE_URL", f"sqlite:///{tmp_path / 'linked.db'}")
    reset_settings()
    yield lake
    reset_settings()


def test_link_lake_rebuilds_the_same_tables(app: typer.Typer, env: Path) -> None:
    before = {t: (env / f"{t}.parquet").read_bytes() for t in LINKED_TABLES}
    result = CliRunner().invoke(app, ["link-lake"])
    assert result.exit_code == 0, result.output
    assert "Linked lake:" in result.output
    assert "person" in result.output
    assert "event" in result.output
    assert {t: (env / f"{t}.parquet").read_bytes() for t in LINKED_TABLES} == before
    relinked = CliRunner().invoke(app, ["link-lake", "--relink", "--quiet"])
    assert relinked.exit_code == 0, relinked.output
    assert relinked.output == ""
    assert {t: (env / f"{t}.parquet").read_bytes() for t in LINKED_TABLES} == before


def test_link_lake_without_an_index_says_what_to_run(app: typer.Typer, env: Path) -> None:
    (env / "person_index.parquet").unlink()
    result = CliRunner().invoke(app, ["link-lake"])
    assert result.exit_code == 2
    assert "link-index" in result.output
