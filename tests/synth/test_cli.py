"""The ``synth`` command and configuration errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import typer
from pydantic import ValidationError
from typer.testing import CliRunner

from wholesystem.synth import SynthConfig
from wholesystem.synth.cli import register


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """wholesystem"""

    register(app)
    return app


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--people", "0"], "--people must be at least 1 (got 0)"),
        (["--people", "-5"], "--people must be at least 1 (got -5)"),
        (["--people", "20000000"], "--people must be at most"),
        (["--seed", "-1"], "--seed must be between 0 and 2**63-1"),
        (["--noise-scale", "-0.5"], "--noise-scale must be between 0 and 20"),
        (["--end-date", "31/03/2026"], "--end-date must be a date written YYYY-MM-DD"),
        (["--end-date", "1900-01-01"], "--end-date must be between 1990-01-01"),
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "ics"
    result = CliRunner().invoke(_app(), ["synth", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_folder_that_is_not_a_previous_output(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    result = CliRunner().invoke(_app(), ["synth", "--out", str(tmp_path), "--people", "50"])
    assert result.exit_code == 2
    assert "refusing to overwrite" in result.output
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_missing_out_is_a_usage_error() -> None:
    result = CliRunner().invoke(_app(), ["synth", "--people", "50"])
    assert result.exit_code == 2


def test_generates_quietly(tmp_path: Path) -> None:
    out = tmp_path / "ics"
    result = CliRunner().invoke(
        _app(),
        [
            "synth",
            "--out",
            str(out),
            "--people",
            "400",
            "--seed",
            "9",
            "--quiet",
            "--end-date",
            "2025-12-31",
            "--noise-scale",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output == ""
    manifest = (out / "manifest.json").read_text()
    assert '"end_date": "2025-12-31"' in manifest
    assert '"start_date": "2021-01-01"' in manifest
    assert '"noise_scale": 2.0' in manifest


def test_generates_with_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["synth", "--out", str(tmp_path / "x"), "--people", "300"])
    assert result.exit_code == 0, result.output
    assert "truth/people.csv" in result.output
    assert "people/s" in result.output


def test_config_defaults_and_errors() -> None:
    config = SynthConfig()
    assert config.people == 20_000
    assert config.seed == 42
    assert config.end_date == dt.date(2026, 3, 31)
    assert config.start_date == dt.date(2021, 4, 1)
    assert SynthConfig(end_date=dt.date(2024, 2, 29)).start_date == dt.date(2019, 3, 1)
    with pytest.raises(ValidationError, match=r"people\n.*must be at least 1"):
        SynthConfig(people=0)
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        SynthConfig(peple=10)  # type: ignore[call-arg]
