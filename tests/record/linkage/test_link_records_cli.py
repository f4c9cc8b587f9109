from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pytest
import typer
from typer.testing import CliRunner

from wholesystem.record.linkage.cli import register

HEADER = [
    "record_id",
    "source",
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "postcode",
]


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _input_from(records: pa.Table, path: Path, extra: bool = True) -> Path:
    rows = records.select(HEADER).to_pylist()
    header = [*HEADER, "address", "notes"] if extra else HEADER
    return _write(
        path, header, [[r[c] or "" for c in HEADER] + (["", "x"] if extra else []) for r in rows]
    )


def test_contract(app: typer.Typer, synth_records: pa.Table, tmp_path: Path) -> None:
    sample = synth_records.slice(0, 3000)
    inp = _input_from(sample, tmp_path / "in.csv")
    # blank rows except the record id are allowed
    with open(inp, "a", newline="") as fh:
        csv.writer(fh).writerow(["blank-1", "", "", "", "", "", "", "", "", ""])
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["link-records", str(inp), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    with open(out, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["record_id", "person_id"]
    got = dict((r[0], r[1]) for r in rows[1:])
    assert len(rows) - 1 == len(got) == sample.num_rows + 1
    assert set(got) == {*sample.column("record_id").to_pylist(), "blank-1"}
    assert all(p.startswith("WP") for p in got.values())
    assert got["blank-1"] not in {got[r] for r in got if r != "blank-1"}
    # determinism: same input, same person ids
    out2 = tmp_path / "out2.csv"
    again = CliRunner().invoke(app, ["link-records", str(inp), "--out", str(out2), "--quiet"])
    assert again.exit_code == 0
    assert out.read_bytes() == out2.read_bytes()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("record_id,source,given_name\n1,A,Ann\n", "missing required column(s): nhs_number"),
        (",".join(HEADER) + "\n1,A,,Ann,Lee,,,\n1,B,,Ann,Lee,,,\n", "duplicate record_id: '1'"),
        (",".join(HEADER) + "\n,A,,Ann,Lee,,,\n", "line 2: record_id is blank"),
        ("", "empty file"),
        (",".join(HEADER) + ",sex\n", "duplicated column"),
    ],
)
def test_bad_input(app: typer.Typer, tmp_path: Path, content: str, message: str) -> None:
    inp = tmp_path / "in.csv"
    inp.write_text(content)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["link-records", str(inp), "--out", str(out)])
    assert result.exit_code == 2
    assert message in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [inp]


def test_unreadable_and_missing(app: typer.Typer, tmp_path: Path) -> None:
    binary = tmp_path / "in.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 20)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(app, ["link-records", str(binary), "--out", str(out)])
    assert result.exit_code == 2
    assert "not UTF-8" in result.output
    result = CliRunner().invoke(
        app, ["link-records", str(tmp_path / "nope.csv"), "--out", str(out)]
    )
    assert result.exit_code == 2
    assert "no such file" in result.output
    assert not out.exists()


def test_link_eval(app: typer.Typer, synth_dir: Path) -> None:
    result = CliRunner().invoke(app, ["link-eval", "--truth", str(synth_dir), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["f1"] >= 0.998
    assert set(report) >= {"precision", "recall", "purity", "false_merges", "false_splits"}
    table = CliRunner().invoke(app, ["link-eval", "--truth", str(synth_dir), "--quiet"])
    assert table.exit_code == 0
    assert "pairwise F1" in table.output
    assert "Hard cases" in table.output
    bad = CliRunner().invoke(app, ["link-eval", "--truth", str(synth_dir / "extracts")])
    assert bad.exit_code == 2
    assert "not a synth output" in bad.output
