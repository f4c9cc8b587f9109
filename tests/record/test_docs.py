"""docs/extracts.md describes every dataset and every column the schemas declare."""

from __future__ import annotations

from pathlib import Path

from wholesystem.record.schemas import DATASETS

DOC = Path(__file__).parents[2] / "docs" / "extracts.md"


def test_every_dataset_and_column_is_documented() -> None:
    text = DOC.read_text()
    sections = text.split("\n### ")
    by_name = {s.split("`")[1]: s for s in sections[1:] if s.startswith("`")}
    for name, ds in DATASETS.items():
        assert name in by_name, f"docs/extracts.md has no section for {name}"
        section = by_name[name]
        for col in ds.columns:
            row = f"| `{col.name}` |"
            assert row in section, f"{name}.{col.name} is not documented"
            line = next(line for line in section.splitlines() if line.startswith(row))
            assert ("| yes |" in line) == col.required, f"{name}.{col.name}: required differs"
            for value in col.allowed:
                assert f"`{value}`" in line, f"{name}.{col.name}: value {value} not listed"
