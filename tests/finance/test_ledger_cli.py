"""`wholesystem finance load-returns / position / what-if / propose-settlement`, end to end."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow.csv as pacsv
import pytest
from typer.testing import CliRunner

from wholesystem.cli import app
from wholesystem.finance.ledger import CHART_OF_ACCOUNTS, SUBTOTALS
from wholesystem.finance.whatif import DEMO_ACTUALS, DEMO_CONTRACTS

DOC = Path(__file__).parents[2] / "docs" / "finance.md"


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


@pytest.fixture(scope="module")
def synthetic_finance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic generator's finance return for a small ICS (its real output)."""
    from wholesystem.synth import SynthConfig, generate

    out = tmp_path_factory.mktemp("synth")
    generate(SynthConfig(people=2000, seed=7), out, progress=False)
    return out / "returns" / "finance.csv"


def test_the_documented_chart_is_the_chart() -> None:
    text = DOC.read_text()
    for account in CHART_OF_ACCOUNTS:
        assert f"| `{account.code}` | {account.name} |" in text
    for code in SUBTOTALS:
        assert f"`{code}`" in text


def test_the_synthetic_returns_load_as_submissions(cli_env: None, synthetic_finance: Path) -> None:
    runner = CliRunner()
    table = pacsv.read_csv(synthetic_finance)
    groups = len(set(zip(table["org_code"].to_pylist(), table["month"].to_pylist(), strict=True)))
    result = runner.invoke(app, ["finance", "load-returns", str(synthetic_finance)])
    assert result.exit_code == 0, result.output
    assert f"{groups} return versions stored, 0 unchanged" in result.output
    again = runner.invoke(app, ["finance", "load-returns", str(synthetic_finance)])
    assert f"0 return versions stored, {groups} unchanged" in again.output
    position = runner.invoke(app, ["finance", "position"])
    assert position.exit_code == 0, position.output
    assert "System" in position.output
    assert re.search(r"Variance moved -?£[\d,.]+ since", position.output)
    whatif = runner.invoke(app, ["finance", "what-if", "--activity", "5", "--savings", "80"])
    assert whatif.exit_code == 0, whatif.output
    assert "R9A" in whatif.output


def test_a_bad_returns_file_is_refused_by_line(cli_env: None, tmp_path: Path) -> None:
    bad = tmp_path / "finance.csv"
    bad.write_text("org_code,month,category,plan,actual,forecast\nQNS,2024-04,income,1,one,1\n")
    result = CliRunner().invoke(app, ["finance", "load-returns", str(bad)])
    assert result.exit_code == 2
    assert "finance.csv: line 2, column actual: 'one' is not a number" in result.output


def test_propose_settlement_and_bad_terms(cli_env: None) -> None:
    runner = CliRunner()
    # The demo contracts name organisations not in this (empty) footprint: refused by name.
    result = runner.invoke(
        app,
        ["finance", "propose-settlement", str(DEMO_CONTRACTS), str(DEMO_ACTUALS), "--year", "2024"],
    )
    assert result.exit_code == 2
    assert "is not a partner organisation" in result.output
    bad = runner.invoke(app, ["finance", "what-if", "--term", "R9A-ACUTE-DEMO:emergency:share=2"])
    assert bad.exit_code == 2
    assert "not a term that can be changed" in bad.output
