"""`wholesystem spc INPUT.csv`: CSV of points out, icons to standard error, bad input exits 2."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from tests.metrics.rserialize import load_spc_snapshot
from wholesystem.metrics.cli import register, write_atomically
from wholesystem.metrics.spc import Improvement, analyse
from wholesystem.metrics.spc_io import (
    OUTPUT_COLUMNS,
    InputError,
    icon_lines,
    parse_date,
    parse_series,
)

FIXTURES = Path(__file__).parent / "fixtures" / "nhsr"


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """A stand-in for the top-level `wholesystem` app."""

    register(app)
    return app


def spc(*args: str | Path) -> Result:
    return CliRunner().invoke(make_app(), ["spc", *map(str, args)])


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def series_csv(values: list[float], start_month: int = 1) -> str:
    rows = ["date,value"]
    for k, value in enumerate(values):
        year, month = divmod(start_month - 1 + k, 12)
        rows.append(f"{2020 + year}-{month + 1:02d}-01,{value}")
    return "\n".join(rows) + "\n"


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# A year and a half of monthly values with a clear shift up for the last seven months.
VALUES = [10.0, 12, 11, 13, 10, 12, 11, 13, 12, 11, 20, 21, 19, 22, 20, 21, 20, 19]


def test_help_lists_exactly_the_options() -> None:
    result = spc("--help")
    assert result.exit_code == 0
    for option in ("--out", "--improvement", "--target", "--rebase-at", "--screen-outliers"):
        assert option in result.stdout
    assert "INPUT.csv" in result.stdout


def test_points_to_stdout_and_icons_to_stderr(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", series_csv(VALUES))
    result = spc(source, "--improvement", "up", "--target", "15")
    assert result.exit_code == 0, result.stderr
    table = rows(result.stdout)
    assert tuple(table[0]) == OUTPUT_COLUMNS
    assert len(table) == len(VALUES)
    expected = analyse(
        [parse_date(r["date"]) for r in table],
        VALUES,
        improvement=Improvement.up,
        target=15,
    )
    for row, point in zip(table, expected.points, strict=True):
        assert float(row["value"]) == point.value
        assert float(row["mean"]) == point.mean  # full precision: reads back exactly
        assert float(row["lpl"]) == point.lpl
        assert float(row["upl"]) == point.upl
        assert row["point_type"] == point.point_type.value
    assert table[-1]["point_type"] == "special_cause_improvement"
    assert result.stderr.splitlines() == [
        "variation: special_cause_improvement (H)",
        "assurance: inconsistent (?)",
    ]


def test_out_file(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", series_csv(VALUES))
    out = tmp_path / "out.csv"
    result = spc(source, "--out", out, "--improvement", "down")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert rows(out.read_text())[-1]["point_type"] == "special_cause_concern"
    assert result.stderr.splitlines() == [
        "variation: special_cause_concern (H)",
        "assurance: none",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_default_improvement_is_neither(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", series_csv(VALUES))
    result = spc(source, "--target", "15")
    assert rows(result.stdout)[-1]["point_type"] == "special_cause_neutral_high"
    assert result.stderr.splitlines() == [
        "variation: special_cause_neutral_high (H)",
        "assurance: none",
    ]


def test_rebase_at(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", series_csv(VALUES))
    result = spc(source, "--improvement", "up", "--rebase-at", "2020-11-01")
    assert result.exit_code == 0, result.stderr
    means = [float(r["mean"]) for r in rows(result.stdout)]
    assert len(set(means[:10])) == len(set(means[10:])) == 1
    assert means[0] == pytest.approx(11.5)
    assert means[-1] == pytest.approx(20.25)
    assert "trial limits for the group starting 2020-01-01: 10 points" in result.stderr
    assert "trial limits for the group starting 2020-11-01: 8 points" in result.stderr
    both = spc(source, "--rebase-at", "2020-04-01,2020-11-01")
    also = spc(source, "--rebase-at", "2020-04-01", "--rebase-at", "2020-11-01,")
    assert both.exit_code == also.exit_code == 0
    assert both.stdout == also.stdout
    assert len({r["mean"] for r in rows(both.stdout)}) == 3


def test_screen_outliers(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", series_csv([1.0, 2.0] * 6 + [30.0]))
    plain = rows(spc(source).stdout)
    screened = rows(spc(source, "--screen-outliers").stdout)
    assert float(screened[0]["upl"]) < float(plain[0]["upl"])
    assert screened[0]["mean"] == plain[0]["mean"]


def test_flat_series_warns(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", series_csv([4.0] * 13))
    result = spc(source, "--improvement", "up")
    assert result.exit_code == 0
    assert {r["point_type"] for r in rows(result.stdout)} == {"common_cause"}
    assert "does not vary (mean moving range 0)" in result.stderr


def test_input_tolerance(tmp_path: Path) -> None:
    """A byte-order mark, CRLF line ends, blank lines, extra columns in any order: all fine."""
    text = (
        "\ufeffValue,Date,note\r\n1.5,2021-01-01,a\r\n\r\n2,2021-02-01,b\r\n 3e0 , 2021-03-01 ,\r\n"
    )
    source = tmp_path / "in.csv"
    source.write_bytes(text.encode("utf-8"))
    result = spc(source)
    assert result.exit_code == 0, result.stderr
    assert [(r["date"], r["value"]) for r in rows(result.stdout)] == [
        ("2021-01-01", "1.5"),
        ("2021-02-01", "2.0"),
        ("2021-03-01", "3.0"),
    ]


def test_matches_the_reference_snapshot(tmp_path: Path) -> None:
    """The CLI on NHSRplotthedots' "plot arguments behave as expected" data
    (tests/testthat/test-integration_tests.R): ``ptd_spc(ae_all(), performance, period)`` with its
    defaults (increase, screen_outliers = TRUE) gives the snapshot's limits and point types."""
    snapshot = load_spc_snapshot(FIXTURES / "ae_all_performance_plot_args.b64")[0]
    lines = ["date,value"] + [
        f"{d.isoformat()},{y!r}" for d, y in zip(snapshot.dates, snapshot.y, strict=True)
    ]
    source = write(tmp_path / "ae_all_performance.csv", "\n".join(lines) + "\n")
    result = spc(source, "--improvement", "up", "--screen-outliers")
    assert result.exit_code == 0, result.stderr
    table = rows(result.stdout)
    assert [r["point_type"] for r in table] == snapshot.point_type
    assert [float(r["lpl"]) for r in table] == snapshot.lpl
    assert [float(r["upl"]) for r in table] == snapshot.upl
    assert [float(r["mean"]) for r in table] == snapshot.mean
    assert result.stderr.splitlines() == ["variation: common_cause", "assurance: none"]


# --- bad input: exit 2, a message naming the file and line, nothing written ------------------

GOOD = "date,value\n2020-01-01,1\n2020-02-01,2\n2020-03-01,3\n"


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        ("", (), "in.csv: the file is empty"),
        ("day,value\n2020-01-01,1\n", (), "in.csv:1: no 'date' column (the header has 'day'"),
        ("date,amount\n2020-01-01,1\n", (), "in.csv:1: no 'value' column"),
        ("date,value\n2020-01-01,1\n01/02/2020,2\n", (), "in.csv:3: date '01/02/2020' is not an"),
        (
            "date,value\n2020-01-01,1\n2020-02-30,2\n",
            (),
            "in.csv:3: date '2020-02-30' is not a valid",
        ),
        ("date,value\n2020-01-01,1\n2020-02-01,two\n", (), "in.csv:3: value 'two' is not a number"),
        ("date,value\n2020-01-01,1\n2020-02-01,\n", (), "in.csv:3: value '' is not a number"),
        ("date,value\n2020-01-01,nan\n", (), "in.csv:2: value 'nan' is not a number"),
        ("date,value\n2020-01-01,1e999\n", (), "in.csv:2: value '1e999' is too large"),
        ("date,value\n2020-01-01\n", (), "in.csv:2: expected 2 fields as in the header, found 1"),
        (
            "date,value\n2020-01-01,1,234\n",
            (),
            "in.csv:2: expected 2 fields as in the header, found 3",
        ),
        (
            "date,value\n2020-02-01,1\n2020-01-01,2\n",
            (),
            "in.csv:3: date 2020-01-01 comes before 2020-02-01 on line 2; dates must be sorted",
        ),
        ("date,value\n2020-01-01,1\n\n2020-01-01,2\n", (), "in.csv:4: date 2020-01-01 repeats"),
        ("date,value\n2020-01-01,1\n", (), "in.csv: the series has 1 point; SPC needs at least 2"),
        (GOOD, ("--rebase-at", "2020-01-15"), "--rebase-at: 2020-01-15 is not a date in"),
        (GOOD, ("--rebase-at", "soon"), "--rebase-at: 'soon' is not an ISO date"),
        (
            GOOD,
            ("--rebase-at", "2020-03-01"),
            "in.csv: the rebase group starting 2020-03-01 has 1 point",
        ),
        (GOOD, ("--target", "nan"), "--target: nan is not a finite number"),
    ],
)
def test_bad_input(tmp_path: Path, text: str, args: tuple[str, ...], message: str) -> None:
    source = write(tmp_path / "in.csv", text)
    out = write(tmp_path / "out.csv", "previous result\n")
    result = spc(source, "--out", out, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert out.read_text() == "previous result\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_missing_input_file(tmp_path: Path) -> None:
    result = spc(tmp_path / "absent.csv")
    assert result.exit_code == 2
    assert "absent.csv: cannot read" in result.stderr


def test_not_utf8(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(b"date,value\n2020-01-01,\xff\n")
    result = spc(source)
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_bad_improvement_is_a_usage_error(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", GOOD)
    result = spc(source, "--improvement", "sideways")
    assert result.exit_code == 2
    assert result.stdout == ""


def test_unwritable_out(tmp_path: Path) -> None:
    source = write(tmp_path / "in.csv", GOOD)
    result = spc(source, "--out", tmp_path / "missing" / "out.csv")
    assert result.exit_code == 2
    assert "out.csv: cannot write" in result.stderr


def test_write_atomically_leaves_nothing_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = write(tmp_path / "out.csv", "old\n")

    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("wholesystem.metrics.cli.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_parse_series_directly() -> None:
    series = parse_series(io.StringIO(GOOD), "x.csv")
    assert series.values == (1.0, 2.0, 3.0)
    assert series.lines == (2, 3, 4)
    with pytest.raises(InputError, match=r"x\.csv: the file is empty"):
        parse_series(io.StringIO(""), "x.csv")


def test_icon_lines_for_each_assurance() -> None:
    dates = [parse_date(f"2020-{m:02d}-01") for m in range(1, 13)]
    values = [10.0, 11.0] * 6
    for target, line in ((20.0, "consistent_fail (F)"), (0.0, "consistent_pass (P)")):
        result = analyse(dates, values, improvement=Improvement.up, target=target)
        assert icon_lines(result) == ["variation: common_cause", f"assurance: {line}"]
