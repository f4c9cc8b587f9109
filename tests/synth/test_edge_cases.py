"""Tiny populations and unusual dates still give a complete, valid ICS."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from wholesystem.footprint.schema import FootprintFile
from wholesystem.synth import SynthConfig, generate


@pytest.mark.parametrize(
    "config",
    [
        SynthConfig(people=1, seed=1),
        SynthConfig(people=7, seed=2, fhir_share=0.0),
        SynthConfig(people=400, seed=3, end_date=dt.date(2024, 2, 29), noise_scale=20),
        SynthConfig(people=400, seed=4, end_date=dt.date(1999, 6, 15), fhir_share=1.0),
    ],
)
def test_small_and_odd_configs(tmp_path: Path, config: SynthConfig) -> None:
    manifest = generate(config, tmp_path / "ics", progress=False)
    root = tmp_path / "ics"
    fp = FootprintFile.model_validate_json((root / "footprint.json").read_text())
    assert (
        sum(pr.population for pl in fp.places for h in pl.neighbourhoods for pr in h.practices)
        == manifest.summary["registered_at_end"]
    )
    assert manifest.files["truth/people.csv"].rows == config.people
    end = config.end_date.isoformat()
    for path in root.glob("extracts/*/*/*.csv"):
        lines = path.read_text().splitlines()
        assert lines, path
        header = lines[0].split(",")
        date_cols = [i for i, c in enumerate(header) if c.endswith("_date")]
        for line in lines[1:]:
            cells = line.split(",")
            assert len(cells) == len(header)
            for i in date_cols:
                assert cells[i] <= end or cells[i] == ""
    months = {
        line.split(",")[1] for line in (root / "returns/beds.csv").read_text().splitlines()[1:]
    }
    assert len(months) == (
        (config.end_date.year - config.start_date.year) * 12
        + config.end_date.month
        - config.start_date.month
        + 1
    )
