"""Loading the monthly returns: typed rows in, bad rows quarantined with file, line and reason."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.metrics.lakefixture import ORG_CODES, write_returns
from wholesystem.metrics.returns import QUARANTINE_TABLE, ReturnsError, load_returns
from wholesystem.store.lake import Lake

HEADER = "org_code,month,staff_group,wte_in_post,wte_vacancy,sickness_rate,bank_spend,agency_spend"


def _quarantine(lake: Lake) -> list[tuple[str, int, str]]:
    rows = lake.read_arrow(QUARANTINE_TABLE).to_pylist()
    return [(r["return_name"], r["line"], r["reason"]) for r in rows]


def test_good_returns_load_typed(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    outcomes = load_returns(lake, write_returns(tmp_path / "returns"), ORG_CODES)
    assert [(o.return_name, o.status, o.rows_loaded, o.rows_quarantined) for o in outcomes] == [
        ("finance", "loaded", 84, 0),
        ("workforce", "loaded", 4, 0),
        ("beds", "loaded", 3, 0),
    ]
    with lake.connect() as con:
        described = con.execute("DESCRIBE return_finance").fetchall()
        types = {row[0]: row[1] for row in described}
        first = con.execute(
            "SELECT month, plan FROM return_finance WHERE category = 'income' "
            "ORDER BY org_code DESC, month LIMIT 1"
        ).fetchone()
    assert types["plan"] == "DECIMAL(18,2)"
    assert types["month"] == "DATE"
    assert first is not None
    assert str(first[0]) == "2024-04-01"
    assert first[1] == Decimal("1000.00")
    assert _quarantine(lake) == []


def test_bad_rows_are_quarantined_and_good_rows_load(tmp_path: Path) -> None:
    folder = tmp_path / "returns"
    folder.mkdir()
    (folder / "workforce.csv").write_text(
        "\n".join(
            [
                HEADER,
                "RA1,2025-01,medical,10.00,2.00,0.0500,5.00,31.00",  # line 2: good
                "RA1,2025-13,medical,10.00,2.00,0.0500,5.00,31.00",  # 3: no such month
                "ZZ9,2025-01,medical,10.00,2.00,0.0500,5.00,31.00",  # 4: unknown org
                "RA1,2025-02,medical,-1.00,2.00,0.0500,5.00,31.00",  # 5: negative
                "RA1,2025-02,nursing,ten,2.00,0.0500,5.00,31.00",  # 6: not a number
                "RA1,2025-01,medical,11.00,2.00,0.0500,5.00,31.00",  # 7: duplicate of 2
                "RA1,2025-02,admin,1.00,0.00,1.5000,0.00,0.00",  # 8: a share above 1
                "RA1,2025-02,admin,1.00,0.00",  # 9: too few fields
                "",  # a blank line is skipped
                "RA1,2025-03,,1.00,0.00,0.0100,0.00,0.00",  # 11: blank key
                "RA1,2025-03,admin,1.001,0.00,0.0100,0.00,0.00",  # 12: too precise
                "RA1,2025-03,estates,1.00,0.00,0.0100,0.00,0.00",  # 13: good
            ]
        )
        + "\n"
    )
    lake = Lake(tmp_path / "lake")
    [outcome] = load_returns(lake, folder, ORG_CODES)
    assert (outcome.rows_read, outcome.rows_loaded, outcome.rows_quarantined) == (11, 2, 9)
    assert _quarantine(lake) == [
        ("workforce", 3, "month: 2025-13 is not a month (YYYY-MM)"),
        ("workforce", 4, "org_code: unknown organisation ZZ9"),
        ("workforce", 5, "wte_in_post: -1.00 is negative"),
        ("workforce", 6, "wte_in_post: ten is not a number"),
        ("workforce", 7, "duplicate org_code, month, staff_group: first given on line 2"),
        ("workforce", 8, "sickness_rate: 1.5000 is above 1 (a share)"),
        ("workforce", 9, "expected 8 fields, found 5"),
        ("workforce", 11, "staff_group: blank"),
        ("workforce", 12, "wte_in_post: 1.001 has more than 2 decimal places"),
    ]
    raw = json.loads(lake.read_arrow(QUARANTINE_TABLE).to_pylist()[1]["raw"])
    assert raw["org_code"] == "ZZ9"
    assert lake.read_arrow("return_workforce").column("source_line").to_pylist() == [2, 13]


def test_a_file_missing_a_column_is_rejected_and_writes_nothing(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    folder = write_returns(tmp_path / "returns")
    load_returns(lake, folder, ORG_CODES)
    before = lake.read_arrow("return_beds")
    (folder / "beds.csv").write_text("org_code,month,core_beds,occupied\nRA1,2025-03,1,1\n")
    outcomes = {o.return_name: o for o in load_returns(lake, folder, ORG_CODES)}
    beds = outcomes["beds"]
    assert beds.status == "rejected"
    assert beds.reason.startswith(
        "missing required column(s): escalation_beds, no_criteria_to_reside"
    )
    assert lake.read_arrow("return_beds").equals(before)
    assert outcomes["finance"].status == "loaded"


def test_loading_twice_gives_the_same_tables(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    folder = write_returns(tmp_path / "returns")
    (folder / "beds.csv").write_text((folder / "beds.csv").read_text() + "RA1,2025-3,1,1,1,1\n")
    load_returns(lake, folder, ORG_CODES)
    first = {t: lake.read_arrow(t) for t in lake.tables()}
    load_returns(lake, tmp_path, ORG_CODES)  # the parent folder: returns/ is found
    assert {t: lake.read_arrow(t) for t in lake.tables()} == first
    assert _quarantine(lake) == [("beds", 5, "month: 2025-3 is not a month (YYYY-MM)")]


def test_a_folder_without_returns_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ReturnsError, match="no return files found"):
        load_returns(Lake(tmp_path / "lake"), tmp_path, ORG_CODES)
    with pytest.raises(ReturnsError, match="not a folder"):
        load_returns(Lake(tmp_path / "lake"), tmp_path / "absent", ORG_CODES)


def test_cli_returns_load(
    tmp_path: Path, database_url: str, footprint_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wholesystem.cli import app
    from wholesystem.config import reset_settings
    from wholesystem.footprint.pipeline import load_footprint_file
    from wholesystem.store.db import open_database, upgrade

    upgrade(database_url)
    with open_database(database_url) as factory:
        load_footprint_file(factory, footprint_file)
    monkeypatch.setenv("WHOLESYSTEM_MODE", "test")
    monkeypatch.setenv("WHOLESYSTEM_DATABASE_URL", database_url)
    monkeypatch.setenv("WHOLESYSTEM_DATA_DIR", str(tmp_path / "data"))
    reset_settings()
    folder = write_returns(tmp_path / "returns")
    try:
        result = CliRunner().invoke(app, ["returns", "load", str(folder)])
        assert result.exit_code == 0, result.output
        assert "finance: 84 rows loaded, 0 quarantined" in result.output
        (folder / "beds.csv").write_text("org_code,month\n")
        result = CliRunner().invoke(app, ["returns", "load", str(folder)])
        assert result.exit_code == 1
        assert "beds: rejected, nothing written: missing required column(s)" in result.output
        result = CliRunner().invoke(app, ["returns", "load", str(tmp_path / "nowhere")])
        assert result.exit_code == 2
        assert "not a folder" in result.output
    finally:
        reset_settings()
