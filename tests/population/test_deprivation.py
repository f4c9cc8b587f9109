# ruff: noqa: S608 -- the SQL here is built from test paths only
"""Deprivation from the postcode: the synthetic ICS's reference lookup (each unit postcode
in one small area, with that area's IMD decile), the features that use it, bad files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.population.conftest import PopulationICS
from wholesystem.population import features as feat
from wholesystem.population.pipeline import StratifyError, stratify

INDEX = date(2026, 3, 31)


def _lookup(ics: PopulationICS) -> Path:
    return ics.synth / "reference" / "postcode_deprivation.csv"


def test_every_postcode_lies_in_one_area_with_its_decile(population_ics: PopulationICS) -> None:
    path, truth = _lookup(population_ics), population_ics.synth / "truth" / "people.csv"
    con = duckdb.connect()
    [(rows, postcodes, bad)] = con.execute(f"""
        SELECT count(*), count(DISTINCT postcode),
               count(*) FILTER (WHERE imd_decile NOT BETWEEN 1 AND 10)
        FROM read_csv('{path}', header = true)""").fetchall()
    assert rows == postcodes > 100
    assert bad == 0
    # every person's postcode (and the one before a move) is in the lookup, in their area
    [(people, found, same_area, same_decile, previous_missing)] = con.execute(f"""
        WITH t AS (SELECT * FROM read_csv('{truth}', header = true, all_varchar = true)),
             r AS (SELECT * FROM read_csv('{path}', header = true, all_varchar = true))
        SELECT count(*), count(r.postcode), count(*) FILTER (WHERE r.lsoa_code = t.lsoa_code),
               count(*) FILTER (WHERE r.imd_decile = t.deprivation_decile),
               count(*) FILTER (WHERE t.previous_postcode IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM r r2 WHERE r2.postcode = t.previous_postcode))
        FROM t LEFT JOIN r ON r.postcode = t.postcode""").fetchall()
    assert people == found == same_area == same_decile
    assert previous_missing == 0


def test_features_carry_the_decile_and_quintile_of_the_postcode(
    population_ics: PopulationICS,
) -> None:
    with population_ics.lake.connect() as con:
        feat.prepare(con, _lookup(population_ics))
        rows = feat.build_features(con, INDEX).select(
            ["person_id", "imd_decile", "deprivation_quintile"]
        )
        postcodes = dict(con.execute("SELECT person_id, postcode FROM person").fetchall())
    lookup = {
        pc.replace(" ", ""): int(d)
        for pc, d in duckdb.sql(
            f"SELECT postcode, imd_decile FROM read_csv('{_lookup(population_ics)}')"
        ).fetchall()
    }
    known = 0
    for r in rows.to_pylist():
        pc = (postcodes.get(r["person_id"]) or "").upper().replace(" ", "")
        # a postcode recorded in lower case or without its space still matches
        assert r["imd_decile"] == lookup.get(pc), r
        if r["imd_decile"] is None:
            assert r["deprivation_quintile"] is None
        else:
            assert r["deprivation_quintile"] == (r["imd_decile"] + 1) // 2
            known += 1
    # only people whose records carry no postcode at all are unknown
    assert known > 0.95 * rows.num_rows
    # the small ICS has six areas in three quintiles
    assert len({r["deprivation_quintile"] for r in rows.to_pylist()} - {None}) >= 2


def test_without_a_lookup_deprivation_is_unknown(population_ics: PopulationICS) -> None:
    with population_ics.lake.connect() as con:
        feat.prepare(con)
        table = feat.build_features(con, INDEX)
    assert table.column("imd_decile").null_count == table.num_rows
    assert table.column("deprivation_quintile").null_count == table.num_rows


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "cannot be read"),
        ("postcode,imd_decile\nNS1 1AA,11\n", "1 rows with an imd_decile that is not 1-10"),
        ("postcode,imd_decile\nNS1 1AA,x\n", "1 rows with an imd_decile that is not 1-10"),
        ("postcode,imd_decile\nNS1 1AA,3\nns11aa,4\n", "1 postcodes listed more than once"),
        ("postcode,decile\nNS1 1AA,3\n", "postcode, imd_decile"),
    ],
)
def test_a_bad_lookup_is_refused_with_the_reason(
    population_ics: PopulationICS, tmp_path: Path, body: str | None, message: str
) -> None:
    path = tmp_path / "lookup.csv"
    if body is not None:
        path.write_text(body)
    with pytest.raises(StratifyError, match=message):
        stratify(
            population_ics.factory(),
            population_ics.lake,
            actor="tester",
            model_dir=tmp_path / "models",
            deprivation=path,
        )


def test_a_model_trained_with_deprivation_needs_the_lookup_to_score(
    population_ics: PopulationICS, tmp_path: Path
) -> None:
    factory = population_ics.factory()
    trained = stratify(
        factory,
        population_ics.lake,
        actor="tester",
        retrain=True,
        model_dir=tmp_path / "models",
        deprivation=_lookup(population_ics),
    )
    quintiles = {s.group for s in trained.model.subgroups if s.dimension == "deprivation_quintile"}
    assert len(quintiles - {"unknown"}) >= 2
    assert "imd_decile" in trained.model.features
    with pytest.raises(StratifyError, match="trained with deprivation"):
        stratify(factory, population_ics.lake, actor="tester", model_dir=tmp_path / "models")
    scored = population_ics.lake.read_arrow("population_person")
    known = scored.num_rows - scored.column("deprivation_quintile").null_count
    assert known > 0.95 * scored.num_rows  # the refused run left the last good table
