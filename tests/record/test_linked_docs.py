"""docs/lake.md describes every column of every linked table, with its type."""

from __future__ import annotations

from pathlib import Path

from tests.record.conftest import LinkedICS
from wholesystem.record.linked import LINKED_TABLES, UNLINKED_TABLE

DOC = Path(__file__).parents[2] / "docs" / "lake.md"
_TYPES = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ"}


def _sections() -> dict[str, str]:
    parts = DOC.read_text().split("\n### ")
    return {p.split("`")[1]: p for p in parts[1:] if p.startswith("`")}


def _documented(section: str) -> dict[str, str]:
    """column -> type from the section's ``| `column` | TYPE | meaning |`` rows."""
    out = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0].endswith("`"):
            out[cells[0].strip("`")] = cells[1]
    return out


def test_every_built_table_and_column_is_documented(linked_ics: LinkedICS) -> None:
    sections = _sections()
    built = {*LINKED_TABLES, UNLINKED_TABLE}
    assert set(linked_ics.lake.tables()) >= built
    for table in sorted(built):
        assert table in sections, f"docs/lake.md has no section for {table}"
        documented = _documented(sections[table])
        with linked_ics.lake.connect() as con:
            actual = {
                name: _TYPES.get(kind, kind).replace(", ", ",")
                for name, kind, *_ in con.execute(f"DESCRIBE {table}").fetchall()
            }
        missing = sorted(set(actual) - set(documented))
        assert not missing, f"{table}: columns not in docs/lake.md: {missing}"
        stale = sorted(set(documented) - set(actual))
        assert not stale, f"{table}: docs/lake.md describes columns it lacks: {stale}"
        for name, kind in actual.items():
            assert documented[name] == kind, (
                f"{table}.{name} is {kind}, documented as {documented[name]}"
            )


def test_every_documented_section_is_a_built_table() -> None:
    assert set(_sections()) == {*LINKED_TABLES, UNLINKED_TABLE}
