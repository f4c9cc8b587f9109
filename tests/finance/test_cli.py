"""`wholesystem finance settle CONTRACTS.toml ACTUALS.csv --out SETTLEMENT.csv`."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from wholesystem.cli import app as wholesystem
from wholesystem.finance.cli import SETTLEMENT_COLUMNS

D = Decimal
DOC = Path(__file__).parents[2] / "docs" / "contracts.md"

WORKED = """
format = "wholesystem-contracts/1"

[[contracts]]
id = "RN1-ACUTE"
commissioner = "QNS"
provider = "RN1"

  [[contracts.components]]
  id = "fixed"
  type = "fixed"
  amount = 15_000_000

  [[contracts.components]]
  id = "emergency"
  type = "variable"
  line = "emergency_spells"
  unit_price = 1500
  planned_units = 10000
  rate_above = 0.20
  rate_below = 0.20
"""


def doc_block(kind: str) -> str:
    return str(re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)[0])


def settle(*args: str | Path) -> Result:
    return CliRunner().invoke(wholesystem, ["finance", "settle", *map(str, args)])


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


@pytest.mark.parametrize(
    ("delivered", "provider_total", "shown"),
    [
        (10800, D("15240000.00"), "£15,240,000.00"),
        (9400, D("14820000.00"), "£14,820,000.00"),
    ],
)
def test_reproduces_the_worked_example_to_the_penny(
    tmp_path: Path, delivered: int, provider_total: Decimal, shown: str
) -> None:
    contracts = write(tmp_path / "contracts.toml", WORKED)
    actuals = write(
        tmp_path / "actuals.csv",
        f"contract_id,line,measure,value\nRN1-ACUTE,emergency_spells,delivered_units,{delivered}\n",
    )
    out = tmp_path / "settlement.csv"
    result = settle(contracts, actuals, "--out", out)
    assert result.exit_code == 0, result.output
    assert shown in result.output  # RN1's net
    written = rows(out)
    assert tuple(written[0]) == SETTLEMENT_COLUMNS
    provider = [r for r in written if r["role"] == "provider"]
    assert sum(D(r["amount"]) for r in provider) == provider_total
    assert all(r["transfer"] == "true" for r in written)
    assert sum(D(r["amount"]) for r in written) == 0


def test_the_documented_example_settles_as_documented(tmp_path: Path) -> None:
    contracts = write(tmp_path / "contracts.toml", doc_block("toml"))
    actuals = write(tmp_path / "actuals.csv", doc_block("csv"))
    out = tmp_path / "settlement.csv"
    result = settle(contracts, actuals, "--out", out)
    assert result.exit_code == 0, result.output
    amounts = {(r["component_id"], r["party"]): D(r["amount"]) for r in rows(out)}
    assert amounts == {
        ("emergency-fixed", "RN1"): D("15000000.00"),
        ("emergency-fixed", "QNS"): D("-15000000.00"),
        ("emergency", "RN1"): D("240000.00"),
        ("emergency", "QNS"): D("-240000.00"),
        ("elective-fixed", "RN1"): D("10400000.00"),
        ("elective-fixed", "QNS"): D("-10400000.00"),
        ("elective", "RN1"): D("450000.00"),
        ("elective", "QNS"): D("-450000.00"),
        ("cquin", "RN1"): D("-63500.00"),
        ("cquin", "QNS"): D("63500.00"),
        ("uec-share", "RN1"): D("550000.00"),
        ("uec-share", "QNS"): D("-550000.00"),
        ("bcf-pool", "QNS"): D("-360000.00"),
        ("bcf-pool", "E06000901"): D("-240000.00"),
        ("system-pool", "QNS"): D("514403.29"),
        ("system-pool", "RN1"): D("411522.63"),
        ("system-pool", "RX2"): D("205761.32"),
        ("system-pool", "E06000901"): D("102880.66"),
    }
    # Transfers net to zero; distributions sum to their totals.
    for row in rows(out):
        same = [r for r in rows(out) if r["component_id"] == row["component_id"]]
        total = sum(D(r["amount"]) for r in same)
        if row["transfer"] == "true":
            assert total == 0
        else:
            assert total == D(row["component_total"])
    assert "beyond the 5% tolerance" in result.output
    assert "bcf-pool" in next(r["notices"] and r["component_id"] for r in rows(out) if r["notices"])


def test_without_out_it_only_prints(tmp_path: Path) -> None:
    contracts = write(tmp_path / "contracts.toml", WORKED)
    actuals = write(
        tmp_path / "actuals.csv",
        "contract_id,line,measure,value\nRN1-ACUTE,emergency_spells,delivered_units,10000\n",
    )
    result = settle(contracts, actuals)
    assert result.exit_code == 0, result.output
    assert "exactly on plan" in result.output
    assert "£15,000,000.00" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["actuals.csv", "contracts.toml"]


def test_bad_toml_exits_2_naming_the_field_and_writes_nothing(tmp_path: Path) -> None:
    contracts = write(
        tmp_path / "contracts.toml", WORKED.replace("rate_above = 0.20", "rate_above = 1.20")
    )
    actuals = write(
        tmp_path / "actuals.csv",
        "contract_id,line,measure,value\nRN1-ACUTE,emergency_spells,delivered_units,10800\n",
    )
    out = tmp_path / "settlement.csv"
    result = settle(contracts, actuals, "--out", out)
    assert result.exit_code == 2
    assert (
        "contract RN1-ACUTE, component emergency, field rate_above: must be at most 1, got 1.20"
        in result.output
    )
    assert not out.exists()


def test_toml_that_is_not_toml_exits_2(tmp_path: Path) -> None:
    contracts = write(tmp_path / "contracts.toml", "format = [\n")
    actuals = write(tmp_path / "actuals.csv", "contract_id,line,measure,value\n")
    result = settle(contracts, actuals)
    assert result.exit_code == 2
    assert "not valid TOML" in result.output


def test_bad_csv_rows_exit_2_with_line_numbers(tmp_path: Path) -> None:
    contracts = write(tmp_path / "contracts.toml", WORKED)
    actuals = write(
        tmp_path / "actuals.csv",
        "contract_id,line,measure,value\n"
        "RN1-ACUTE,emergency_spells,delivered_units,10800\n"
        "RN1-ACUTE,emergency_spells,delivered_units,10900\n"
        "RN1-ACUTE,other,spend,12k\n",
    )
    out = tmp_path / "settlement.csv"
    result = settle(contracts, actuals, "--out", out)
    assert result.exit_code == 2
    assert f"{actuals}: line 3: repeats line 2" in result.output
    assert f"{actuals}: line 4, column measure: 'spend' is not one of" in result.output
    assert f"{actuals}: line 4, column value" not in result.output  # value needs a measure
    assert not out.exists()


def test_both_files_bad_reports_both(tmp_path: Path) -> None:
    contracts = write(
        tmp_path / "contracts.toml", WORKED.replace("amount = 15_000_000", "amount = -1")
    )
    actuals = write(
        tmp_path / "actuals.csv", "contract_id,line,measure,value\nRN1-ACUTE,x,delivered_units,y\n"
    )
    result = settle(contracts, actuals)
    assert result.exit_code == 2
    assert "component fixed, field amount: must be at least 0" in result.output
    assert "line 2, column value" in result.output


def test_actuals_that_do_not_fit_the_contracts_exit_2(tmp_path: Path) -> None:
    contracts = write(tmp_path / "contracts.toml", WORKED)
    actuals = write(
        tmp_path / "actuals.csv",
        "contract_id,line,measure,value\nRN1-ACUTE,emergncy_spells,delivered_units,10800\n",
    )
    result = settle(contracts, actuals)
    assert result.exit_code == 2
    assert "component emergency" in result.output
    assert "has no row with line emergency_spells and measure delivered_units" in result.output
    assert "line 2, column line: no component of contract RN1-ACUTE uses line emergncy_spells" in (
        result.output
    )


def test_missing_files_exit_2(tmp_path: Path) -> None:
    result = settle(tmp_path / "nope.toml", tmp_path / "nope.csv")
    assert result.exit_code == 2
    assert "nope.toml" in result.output
    assert "nope.csv" in result.output


def test_an_unwritable_out_exits_2(tmp_path: Path) -> None:
    contracts = write(tmp_path / "contracts.toml", WORKED)
    actuals = write(
        tmp_path / "actuals.csv",
        "contract_id,line,measure,value\nRN1-ACUTE,emergency_spells,delivered_units,10800\n",
    )
    result = settle(contracts, actuals, "--out", tmp_path / "no-such-dir" / "out.csv")
    assert result.exit_code == 2
    assert "cannot write" in result.output


def test_help_lists_settle() -> None:
    result = CliRunner().invoke(wholesystem, ["finance", "--help"])
    assert result.exit_code == 0
    assert "settle" in result.output
    result = CliRunner().invoke(wholesystem, ["finance", "settle", "--help"])
    assert "--out" in result.output
