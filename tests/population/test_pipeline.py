# ruff: noqa: S608 -- the SQL here is built from test constants and dates only
"""``stratify`` end to end on a small synthetic ICS: the contract table, the registry, opt-outs,
no leakage past the index date, SQL indices equal to the reference functions, the CLI."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from tests.population.conftest import PopulationICS
from wholesystem.population import features as feat
from wholesystem.population import indices, registry
from wholesystem.population.pipeline import OUTPUT_TABLE, stratify
from wholesystem.population.segments import SEGMENTS, TIERS
from wholesystem.store.lake import Lake, LakeError

CONTRACT = {
    "person_id": pa.string(),
    "index_date": pa.date32(),
    "model_version": pa.string(),
    "practice_code": pa.string(),
    "neighbourhood_code": pa.string(),
    "place_code": pa.string(),
    "age": pa.int32(),
    "age_band": pa.string(),
    "sex": pa.string(),
    "deprivation_quintile": pa.int32(),
    "ethnicity_group": pa.string(),
    "conditions": pa.list_(pa.string()),
    "ltc_count": pa.int32(),
    "efi": pa.float64(),
    "efi_category": pa.string(),
    "hfrs": pa.float64(),
    "charlson": pa.int32(),
    "cms": pa.float64(),
    "emergency_admissions_12m": pa.int32(),
    "ae_attendances_12m": pa.int32(),
    "outpatient_12m": pa.int32(),
    "community_contacts_12m": pa.int32(),
    "mental_health_contacts_12m": pa.int32(),
    "social_care_active": pa.bool_(),
    "bed_days_12m": pa.int32(),
    "medication_count": pa.int32(),
    "risk": pa.float64(),
    "risk_rank": pa.int32(),
    "tier": pa.string(),
    "segment": pa.string(),
    "reasons": pa.list_(pa.string()),
}


def _lookup(ics: PopulationICS) -> Path:
    """The synthetic ICS's postcode to IMD decile lookup."""
    return ics.synth / "reference" / "postcode_deprivation.csv"


@pytest.fixture(scope="module")
def stratified(population_ics: PopulationICS) -> PopulationICS:
    factory = population_ics.factory()
    result = stratify(
        factory,
        population_ics.lake,
        actor="tester",
        evaluate=True,
        retrain=True,
        model_dir=population_ics.models,
        truth_dir=population_ics.synth / "truth",
        deprivation=_lookup(population_ics),
    )
    assert result.trained
    assert result.people > 1000
    assert result.truth is not None
    assert result.truth.n > 1000
    return population_ics


def test_population_person_honours_the_contract(stratified: PopulationICS) -> None:
    table = stratified.lake.read_arrow(OUTPUT_TABLE)
    for name, kind in CONTRACT.items():
        assert table.schema.field(name).type == kind, name
    ids = table.column("person_id").to_pylist()
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert set(table.column("tier").to_pylist()) <= set(TIERS)
    assert set(table.column("segment").to_pylist()) <= set(SEGMENTS)
    ranks = sorted(table.column("risk_rank").to_pylist())
    assert ranks == list(range(1, table.num_rows + 1))
    risk = table.column("risk").to_numpy()
    assert ((risk > 0) & (risk < 1)).all()
    # every registered person is placed in the footprint
    practice = table.column("practice_code")
    placed = pc.and_(pc.is_valid(practice), pc.is_null(table.column("neighbourhood_code")))
    assert pc.sum(placed).as_py() in (0, None)
    # the highest-risk people have reasons in plain words
    top = table.filter(pc.equal(table.column("tier"), "top_0_5"))
    assert all(r for r in top.column("reasons").to_pylist())
    # ...and only the high-risk tiers are explained (TreeSHAP is the cost of scoring)
    explained = table.filter(pc.greater(pc.list_value_length(table.column("reasons")), 0))
    assert set(explained.column("tier").to_pylist()) <= {"top_0_5", "p0_5_to_5"}


def test_registry_holds_the_model(stratified: PopulationICS) -> None:
    with stratified.factory()() as s:
        active = registry.active_version(s)
        assert active is not None
        assert active.validation_index_date == date(2025, 3, 31)
        assert active.train_index_date == date(2024, 3, 31)
        assert 0.5 < active.metrics.auroc < 1
        assert [t.share for t in active.metrics.top] == [0.005, 0.01, 0.05]
        dims = {g.dimension for g in active.subgroups}
        assert dims == {"age_band", "sex", "deprivation_quintile", "ethnicity_group"}
        assert Path(active.path).exists()
        # predicted against observed by tenth of risk, over everyone validated
        bins = active.metrics.calibration
        assert len(bins) == 10
        assert sum(b.n for b in bins) == active.n_validate
        assert sum(b.events for b in bins) == active.metrics.events
        assert [b.mean_predicted for b in bins] == sorted(b.mean_predicted for b in bins)
        # the top tenth of risk is admitted far more often than the bottom tenth
        assert bins[-1].observed > 3 * bins[0].observed


def test_second_run_loads_the_active_model(stratified: PopulationICS) -> None:
    factory = stratified.factory()
    with factory() as s:
        before = registry.active_version(s)
    result = stratify(
        factory,
        stratified.lake,
        actor="tester",
        model_dir=stratified.models,
        deprivation=_lookup(stratified),
    )
    assert not result.trained
    assert before is not None
    assert result.model.version == before.version


def test_opted_out_people_are_left_out_of_training(
    stratified: PopulationICS, tmp_path: Path
) -> None:
    from wholesystem.access.opt_outs import record_opt_out

    factory = stratified.factory()
    with stratified.lake.connect() as con:
        nhs = [
            r[0]
            for r in con.execute(
                "SELECT p.nhs_number FROM person p JOIN population_person USING (person_id) "
                "WHERE p.nhs_number IS NOT NULL ORDER BY person_id LIMIT 25"
            ).fetchall()
        ]
    with factory() as s:
        for n in nhs:
            record_opt_out(s, n, actor="tester", source="test")
        s.commit()
    result = stratify(
        factory, stratified.lake, actor="tester", retrain=True, model_dir=tmp_path / "models"
    )
    assert result.model.excluded_opted_out >= 25
    table = stratified.lake.read_arrow(OUTPUT_TABLE)
    flagged = {
        p
        for p, o in zip(
            table.column("person_id").to_pylist(),
            table.column("opted_out").to_pylist(),
            strict=True,
        )
        if o
    }
    assert len(flagged) == 25  # still scored for direct care, flagged for analysts


def _append(lake: Lake, name: str, sql: str) -> None:
    """Replace lake table ``name`` with itself plus the rows of ``sql``."""
    lake.write_query(name, f"SELECT * FROM {name} UNION ALL BY NAME ({sql})")


def test_no_information_after_the_index_date(population_ics: PopulationICS, tmp_path: Path) -> None:
    index = date(2024, 9, 30)
    lake = Lake(tmp_path / "lake")
    shutil.copytree(population_ics.lake.root, lake.root)
    with lake.connect() as con:
        feat.prepare(con)
        before = feat.build_features(con, index)
    d = f"DATE '{index.isoformat()}'"
    after = f"DATE '{(index + timedelta(days=1)).isoformat()}'"
    # a copy of everyone's whole history, dated the day after the index date onwards
    _append(
        lake,
        "event",
        f"""SELECT * REPLACE (event_id || '-late' AS event_id,
        {after} + date_diff('day', DATE '2021-04-01', start_date)::INTEGER AS start_date,
        {after} + date_diff('day', DATE '2021-04-01', coalesce(end_date, start_date))::INTEGER
            AS end_date)
        FROM event""",
    )
    _append(
        lake,
        "condition",
        f"""SELECT * REPLACE ({after} AS onset_date,
        event_id || '-late' AS event_id) FROM condition""",
    )
    _append(lake, "observation", f"SELECT * REPLACE ({after} AS observed_date) FROM observation")
    _append(lake, "medication", f"SELECT * REPLACE ({after} AS date) FROM medication")
    _append(
        lake,
        "care_package",
        f"""SELECT * REPLACE ({after} AS start_date,
        {after} AS request_date) FROM care_package""",
    )
    _append(
        lake,
        "registration",
        f"""SELECT * REPLACE ({after} AS registration_date)
        FROM registration""",
    )
    # and a spell that started before D but ended after it: its diagnoses are not yet known
    _append(
        lake,
        "event",
        f"""SELECT * REPLACE (event_id || '-open' AS event_id,
        {d} - 2 AS start_date, {d} + 20 AS end_date, true AS emergency)
        FROM event WHERE setting = 'inpatient' LIMIT 5""",
    )
    _append(
        lake,
        "condition",
        """SELECT c.* REPLACE (c.event_id || '-open' AS event_id,
        'F00.1' AS code, 'icd10' AS code_system)
        FROM condition c JOIN event e ON e.event_id = c.event_id || '-open'""",
    )
    with lake.connect() as con:
        feat.prepare(con)
        later = feat.build_features(con, index)
        grew = con.execute(f"SELECT count(*) FROM event WHERE start_date > {d}").fetchall()
    assert grew[0][0] > 1000
    changed = [
        c
        for c in before.column_names
        if c
        not in (
            "bed_days_12m",
            "emergency_admissions_12m",
            "emergency_admissions_24m",
            "emergency_admissions_36m",
            "emergency_years_36m",
            "emergency_bed_days_24m",
            "frailty_admissions_36m",
            "days_since_emergency",
            "contacts_12m",
        )
        and before.column(c).to_pylist() != later.column(c).to_pylist()
    ]
    assert changed == []
    # the open spells count as admissions before D (they started before it) but their
    # bed days stop at D, and their diagnoses (dementia F00) are not used
    assert before.column("hfrs").to_pylist() == later.column("hfrs").to_pylist()


def test_sql_indices_equal_the_reference_functions(population_ics: PopulationICS) -> None:
    index = date(2026, 3, 31)
    with population_ics.lake.connect() as con:
        feat.prepare(con)
        table = feat.build_features(con, index)
        codes = con.execute(f"""
            SELECT c.person_id, c.code_system, list(c.code),
                   list(c.code) FILTER (WHERE coalesce(e.end_date, c.onset_date)
                                        > DATE '{index}' - INTERVAL 2 YEAR)
            FROM condition c LEFT JOIN event e USING (event_id)
            WHERE greatest(c.onset_date, coalesce(e.end_date, c.onset_date)) <= DATE '{index}'
            GROUP BY ALL""").fetchall()
    icd: dict[str, list[str]] = {}
    recent: dict[str, list[str]] = {}
    snomed: dict[str, list[str]] = {}
    for pid, system, allc, rec in codes:
        if system == "icd10":
            icd[pid], recent[pid] = allc, rec or []
        else:
            snomed[pid] = allc
    rows = table.select(["person_id", "charlson", "hfrs", "conditions", "cms"]).to_pylist()
    checked = 0
    for r in rows:
        pid = r["person_id"]
        assert r["charlson"] == indices.charlson_score(icd.get(pid, [])), pid
        assert r["hfrs"] == pytest.approx(indices.hfrs_score(recent.get(pid, []))), pid
        assert sorted(r["conditions"]) == sorted(
            indices.ltc_conditions(snomed.get(pid, []), icd.get(pid, []))
        ), pid
        checked += bool(r["charlson"] or r["conditions"])
    assert checked > 200


def test_missing_lake_is_a_clear_error(tmp_path: Path, population_ics: PopulationICS) -> None:
    with pytest.raises(LakeError, match="link-lake"):
        stratify(population_ics.factory(), Lake(tmp_path / "empty"), actor="tester")


def test_cli_stratify_evaluate(
    stratified: PopulationICS, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from wholesystem.cli import app
    from wholesystem.config import reset_settings

    monkeypatch.setenv("WHOLESYSTEM_MODE", "test")
    monkeypatch.setenv("WHOLESYSTEM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WHOLESYSTEM_DATABASE_URL", stratified.url)
    monkeypatch.setenv("WHOLESYSTEM_LAKE_DIR", str(stratified.lake.root))
    reset_settings()
    try:
        out = CliRunner().invoke(
            app,
            [
                "stratify",
                "--evaluate",
                "--truth",
                str(stratified.synth / "truth"),
                "--deprivation",
                str(_lookup(stratified)),
            ],
        )
        bad = CliRunner().invoke(app, ["stratify", "--index-date", "31/03/2026"])
    finally:
        reset_settings()
    assert out.exit_code == 0, out.output
    assert "AUROC" in out.output
    assert "Synthetic truth" in out.output
    assert "top 0.5%" in out.output
    assert "age_band=85+" in out.output
    assert bad.exit_code == 2
    assert "YYYY-MM-DD" in bad.output
