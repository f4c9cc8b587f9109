"""Idempotent re-ingest, superseding a corrected file, replay of quarantined rows, the CLI."""

from __future__ import annotations

import csv
import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.record.conftest import CORPUS, Ingest, parquet
from wholesystem.access.models import AuditEvent
from wholesystem.config import Settings, reset_settings
from wholesystem.record.ingest import ReplayError, discover, replay
from wholesystem.record.models import IngestRun, QuarantineRow
from wholesystem.record.schemas import DATASETS
from wholesystem.record.staging import part_path
from wholesystem.store.db import upgrade
from wholesystem.store.lake import Lake
from wholesystem.store.models import PipelineRun

APC = (CORPUS / "R9A/apc/clean.csv").read_text().splitlines()


def _write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _spells(lake: Lake, name: str = "apc.csv") -> list[str]:
    part = part_path(lake, "apc", "R9A", name)
    rows = parquet("SELECT spell_id FROM read_parquet(?) ORDER BY 1", part)
    return [r[0] for r in rows]


def test_reingest_changes_nothing(
    tmp_path: Path, ingest: Ingest, factory: sessionmaker[Session], lake: Lake
) -> None:
    _write(tmp_path / "in" / "R9A" / "apc" / "apc.csv", APC)
    first = ingest(tmp_path / "in")
    assert [o.status for o in first.outcomes] == ["loaded"]
    part = part_path(lake, "apc", "R9A", "apc.csv")
    before = (part.stat().st_mtime_ns, part.read_bytes())
    second = ingest(tmp_path / "in")
    assert [o.status for o in second.outcomes] == ["unchanged"]
    assert second.outcomes[0].reason == f"already loaded as run {first.outcomes[0].run_id}"
    assert (part.stat().st_mtime_ns, part.read_bytes()) == before
    # The same bytes under another name are the same delivery: not loaded twice.
    shutil.copyfile(tmp_path / "in/R9A/apc/apc.csv", tmp_path / "in/R9A/apc/copy.csv")
    third = ingest(tmp_path / "in")
    assert {o.status for o in third.outcomes} == {"unchanged"}
    with factory() as s:
        assert len(s.scalars(select(IngestRun)).all()) == 1
        steps = s.scalars(select(PipelineRun).where(PipelineRun.step == "ingest")).all()
        assert [r.status for r in steps] == ["succeeded"] * 3
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "ingest.load")).all()


def test_corrected_file_supersedes_its_earlier_version(
    tmp_path: Path, ingest: Ingest, factory: sessionmaker[Session], lake: Lake
) -> None:
    path = _write(tmp_path / "in" / "R9A" / "apc" / "apc.csv", APC)
    first = ingest(tmp_path / "in").outcomes[0]
    assert _spells(lake) == ["S0000000001", "S0000000002", "S0000000003"]
    _write(path, [APC[0], APC[1], APC[2].replace("S0000000002", "S0000000009")])
    second = ingest(tmp_path / "in").outcomes[0]
    assert second.status == "loaded"
    assert second.superseded == [first.run_id]
    assert _spells(lake) == ["S0000000001", "S0000000009"]
    identities = parquet("SELECT count(*) FROM read_parquet(?)", lake.files("source_identity"))
    assert identities == [(2,)]  # Cat's identity went with the superseded version
    with factory() as s:
        old = s.get_one(IngestRun, first.run_id)
        assert (old.status, old.superseded_by) == ("superseded", second.run_id)
    # Going back to the first version supersedes the second.
    _write(path, APC)
    third = ingest(tmp_path / "in").outcomes[0]
    assert third.superseded == [second.run_id]
    assert _spells(lake) == ["S0000000001", "S0000000002", "S0000000003"]


def _bad_run(tmp_path: Path, ingest: Ingest) -> int:
    lines = [*APC, APC[1].replace("9434765919", "9434765918").replace("S0000000001", "S0000000004")]
    _write(tmp_path / "in" / "R9A" / "apc" / "apc.csv", lines)
    outcome = ingest(tmp_path / "in").outcomes[0]
    assert (outcome.rows_loaded, outcome.rows_quarantined) == (3, 1)
    assert outcome.run_id is not None
    return outcome.run_id


def test_replay_fixed_row_moves_to_staged(
    tmp_path: Path, ingest: Ingest, factory: sessionmaker[Session], lake: Lake
) -> None:
    run_id = _bad_run(tmp_path, ingest)
    with factory() as s:
        row = s.scalars(select(QuarantineRow)).one()
    # Unchanged, it still fails, with the same reason.
    assert replay(factory, lake, run_id, actor="fixer").still_failing == 1
    # A wrong correction keeps it in quarantine with its new reason.
    result = replay(factory, lake, run_id, actor="fixer", fixes={row.id: {"nhs_number": "12"}})
    assert (result.passed, result.still_failing) == (0, 1)
    with factory() as s:
        again = s.get_one(QuarantineRow, row.id)
        assert (again.status, again.rule) == ("open", "nhs_number_format")
        assert again.raw["nhs_number"] == "12"
    # A right one (the number blanked) passes and is staged.
    result = replay(factory, lake, run_id, actor="fixer", fixes={row.id: {"nhs_number": None}})
    assert (result.passed, result.still_failing) == (1, 0)
    assert _spells(lake) == ["S0000000001", "S0000000002", "S0000000003", "S0000000004"]
    line = parquet(
        "SELECT source_line FROM read_parquet(?) WHERE spell_id = 'S0000000004'",
        part_path(lake, "apc", "R9A", "apc.csv"),
    )
    assert line == [(5,)]
    with factory() as s:
        fixed = s.get_one(QuarantineRow, row.id)
        assert (fixed.status, fixed.resolved_by) == ("fixed", "fixer")
        run = s.get_one(IngestRun, run_id)
        assert (run.rows_read, run.rows_loaded, run.rows_quarantined) == (4, 4, 0)
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "ingest.replay")).all()


def test_replay_of_a_malformed_line(
    tmp_path: Path, ingest: Ingest, factory: sessionmaker[Session], lake: Lake
) -> None:
    _write(tmp_path / "in" / "R9A" / "apc" / "apc.csv", [*APC, "9434765927,A00000002,Bob,Jones"])
    run_id = ingest(tmp_path / "in").outcomes[0].run_id
    assert run_id is not None
    with factory() as s:
        row = s.scalars(select(QuarantineRow)).one()
    assert row.raw == {"_line": "9434765927,A00000002,Bob,Jones"}
    fixed_line = APC[2].replace("S0000000002", "S0000000005")
    result = replay(factory, lake, run_id, actor="fixer", fixes={row.id: {"_line": fixed_line}})
    assert result.passed == 1
    assert "S0000000005" in _spells(lake)


def test_replay_refuses_unknown_and_superseded_runs(
    tmp_path: Path, ingest: Ingest, factory: sessionmaker[Session], lake: Lake
) -> None:
    with pytest.raises(ReplayError, match="there is no ingest run 99"):
        replay(factory, lake, 99, actor="x")
    run_id = _bad_run(tmp_path, ingest)
    _write(tmp_path / "in" / "R9A" / "apc" / "apc.csv", APC)
    ingest(tmp_path / "in")
    with pytest.raises(ReplayError, match=f"run {run_id} is superseded"):
        replay(factory, lake, run_id, actor="x")


def test_discover_layouts(tmp_path: Path) -> None:
    _write(tmp_path / "out" / "extracts" / "R9A" / "apc" / "apc.csv", APC)
    _write(tmp_path / "out" / "extracts" / "N90001" / "gp_events" / "gp_events.csv", APC)
    root = discover(tmp_path / "out")  # a synth output
    assert [(c.org_code, c.dataset) for c in root] == [("N90001", "gp_events"), ("R9A", "apc")]
    assert [c.dataset for c in discover(tmp_path / "out" / "extracts" / "R9A")] == ["apc"]
    assert [c.org_code for c in discover(tmp_path / "out" / "extracts" / "R9A" / "apc")] == ["R9A"]
    single = tmp_path / "loose.csv"
    single.write_text("x\n")
    [cand] = discover(single, "RXX", "apc")
    assert (cand.org_code, cand.dataset, cand.file_key) == ("RXX", "apc", "loose.csv")


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    data = tmp_path / "data"
    monkeypatch.setenv("WHOLESYSTEM_MODE", "test")
    monkeypatch.setenv("WHOLESYSTEM_DATA_DIR", str(data))
    url = f"sqlite:///{data / 'w.db'}"
    monkeypatch.setenv("WHOLESYSTEM_DATABASE_URL", url)
    reset_settings()
    upgrade(url)
    yield Settings(mode="test", data_dir=data, database_url=url)
    reset_settings()


def test_cli_ingest_and_replay(tmp_path: Path, cli_env: Settings) -> None:
    import typer

    from wholesystem.record.cli import register

    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps `ingest` a sub-command
        pass

    runner = CliRunner()
    src = _write(tmp_path / "in" / "apc.csv", [*APC, APC[1].replace("9434765919", "9434765918")])
    result = runner.invoke(app, ["ingest", str(src), "--org", "R9A", "--dataset", "apc"])
    assert result.exit_code == 0, result.output
    assert (
        "1 loaded, 0 rejected, 0 unchanged: 4 rows read, 3 loaded, 1 quarantined." in result.output
    )
    bad = runner.invoke(app, ["ingest", str(CORPUS / "R9A/apc/semicolons.csv")])
    assert bad.exit_code == 1
    assert "wrong delimiter" in bad.output
    missing = runner.invoke(app, ["ingest", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output
    replayed = runner.invoke(app, ["ingest", "replay", "1", "--set", "1:nhs_number="])
    assert replayed.exit_code == 0, replayed.output
    assert "Run 1: 1 rows passed and were staged; 0 still fail." in replayed.output
    unknown = runner.invoke(app, ["ingest", "replay", "42"])
    assert unknown.exit_code == 2
    assert "there is no ingest run 42" in unknown.output


def test_a_value_too_large_to_stage_quarantines_its_row_not_the_file(
    tmp_path: Path, ingest: Ingest, factory: sessionmaker[Session]
) -> None:
    # gp_events.value is staged as DECIMAL(18, 6): 15 whole digits (a SNOMED code keyed into
    # the value column) used to pass the pattern, overflow the cast and reject the file.
    header = (
        "nhs_number,local_patient_id,given_name,family_name,date_of_birth,sex,postcode,"
        "event_date,snomed_code,value,unit"
    )
    row = "9434765919,P1,Ann,Smith,1950-02-03,F,NS1 1AA,2024-01-05,38341003,{value},mm[Hg]"
    _write(
        tmp_path / "in" / "N90001" / "gp_events" / "events.csv",
        [header, row.format(value="140"), row.format(value="999791000000106")],
    )
    outcome = ingest(tmp_path / "in").outcomes[0]
    assert outcome.status == "loaded", outcome.reason
    assert (outcome.rows_loaded, outcome.rows_quarantined) == (1, 1)
    with factory() as s:
        bad = s.scalars(select(QuarantineRow)).one()
        assert (bad.line, bad.column_name, bad.rule) == (3, "value", "not_a_decimal")
        assert "12 whole digits" in bad.message


def test_a_record_key_is_the_natural_key_or_the_hash_of_the_rows_trimmed_values(
    tmp_path: Path, ingest: Ingest, lake: Lake
) -> None:
    """``<org>:<dataset>:`` and the dataset's own key (an APC spell id) or, for a dataset
    without one, the MD5 of the row's values (trimmed, blanks empty) in declaration order
    joined by ``|``: the same row keeps its key in a corrected file."""
    root = tmp_path / "in"
    _write(root / "R9A" / "apc" / "apc.csv", APC)
    opa = root / "R9A" / "opa" / "opa.csv"
    opa.parent.mkdir(parents=True)
    shutil.copy(CORPUS / "R9A" / "opa" / "bad_values.csv", opa)
    assert [o.status for o in ingest(root).outcomes] == ["loaded", "loaded"]
    spells = parquet(
        "SELECT spell_id, record_key FROM read_parquet(?)", part_path(lake, "apc", "R9A", "apc.csv")
    )
    assert spells
    assert all(key == f"R9A:apc:{spell}" for spell, key in spells)
    ds = DATASETS["opa"]
    assert ds.key_column is None
    with open(opa, newline="", encoding="utf-8") as fh:
        raw = dict(enumerate(csv.DictReader(fh), start=2))
    keys = parquet(
        "SELECT source_line, record_key FROM read_parquet(?)",
        part_path(lake, "opa", "R9A", "opa.csv"),
    )
    assert keys
    for line, key in keys:
        values = [(raw[line].get(c.name) or "").strip() for c in ds.columns]
        content = "|".join(values).encode()
        assert key == "R9A:opa:" + hashlib.md5(content, usedforsecurity=False).hexdigest()


def test_an_extract_without_an_optional_column_a_staged_code_comes_from_loads(
    tmp_path: Path, ingest: Ingest, lake: Lake
) -> None:
    """A deaths extract may leave out ``underlying_cause`` (optional): the staged ``code``
    and ``code_system`` made from it are then blank."""
    _write(
        tmp_path / "in" / "ONS01" / "deaths" / "deaths.csv",
        [
            "nhs_number,local_patient_id,given_name,family_name,date_of_birth,sex,postcode,"
            "date_of_death",
            "9434765919,D1,Ann,Smith,1930-02-03,F,NS1 1AA,2024-01-05",
        ],
    )
    outcome = ingest(tmp_path / "in").outcomes[0]
    assert (outcome.status, outcome.rows_loaded) == ("loaded", 1), outcome.reason
    rows = parquet(
        "SELECT local_patient_id, underlying_cause, code, code_system FROM read_parquet(?)",
        part_path(lake, "deaths", "ONS01", "deaths.csv"),
    )
    assert rows == [("D1", None, None, None)]


def test_ingest_tells_how_far_it_has_got(tmp_path: Path, ingest: Ingest) -> None:
    """Files one by one, each file's outcome counted once, then the identities rebuild."""
    told: list[tuple[str, int, int]] = []
    summary = ingest(CORPUS, progress=lambda *step: told.append(step))
    files = len(summary.outcomes)
    assert files > 5
    assert summary.count("loaded")
    assert summary.count("rejected")
    assert told == [
        *(("files", done, files) for done in range(files + 1)),
        ("identities", 0, 1),
        ("identities", 1, 1),
    ]
    told.clear()
    ingest(CORPUS, progress=lambda *step: told.append(step))  # all unchanged: no rebuild
    assert told == [("files", done, files) for done in range(files + 1)]
