"""`wholesystem finance load-contracts` and `run-settlement`, end to end through the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.finance.test_store import WORKED, actuals
from wholesystem.cli import app


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from wholesystem.config import reset_settings

    monkeypatch.setenv("WHOLESYSTEM_MODE", "test")
    monkeypatch.setenv("WHOLESYSTEM_DATABASE_URL", database_url)
    monkeypatch.setenv("WHOLESYSTEM_DATA_DIR", str(tmp_path / "data"))
    reset_settings()
    try:
        yield
    finally:
        reset_settings()


def test_load_contracts_then_settle_a_period(cli_env: None, tmp_path: Path) -> None:
    runner = CliRunner()
    contracts = tmp_path / "contracts.toml"
    contracts.write_text(WORKED)
    first = runner.invoke(app, ["finance", "load-contracts", str(contracts)])
    assert first.exit_code == 0, first.output
    assert "contracts.toml: stored as version 1 (1 contracts)." in first.output
    again = runner.invoke(app, ["finance", "load-contracts", str(contracts)])
    assert "unchanged: it is already the current version 1" in again.output
    values = tmp_path / "actuals.csv"
    values.write_text(actuals(10800))
    args = ["finance", "run-settlement", str(values), "--from", "2024-04", "--to", "2025-03"]
    settled = runner.invoke(app, args)
    assert settled.exit_code == 0, settled.output
    assert "Settlement 1 stored." in settled.output
    repeat = runner.invoke(app, args)
    assert "Settlement 1 already stored" in repeat.output
    # The test database has no footprint: the proposal is refused naming the organisations.
    proposed = runner.invoke(app, [*args, "--propose"])
    assert proposed.exit_code == 2
    assert "'RA1' is not a partner organisation" in proposed.output


def test_bad_input_exits_2_naming_the_fault(cli_env: None, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.toml"
    bad.write_text(WORKED.replace("rate_below = 0.20", "rate_below = 2"))
    refused = runner.invoke(app, ["finance", "load-contracts", str(bad)])
    assert refused.exit_code == 2
    assert "contract RA1-ACUTE, component emergency, field rate_below" in refused.output
    values = tmp_path / "actuals.csv"
    values.write_text(actuals(10800))
    none_loaded = runner.invoke(
        app, ["finance", "run-settlement", str(values), "--from", "2024-04", "--to", "2025-03"]
    )
    assert none_loaded.exit_code == 2
    assert "no contracts have been loaded" in none_loaded.output
    month = runner.invoke(
        app, ["finance", "run-settlement", str(values), "--from", "April", "--to", "2025-03"]
    )
    assert month.exit_code == 2
    assert "--from: 'April' is not a month (YYYY-MM)" in month.output
