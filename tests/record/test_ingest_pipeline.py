"""Files side by side give what one file after another gives; kept identities stay right.

``ingest_path`` runs the DuckDB work of several files at once and records outcomes in
order; ``source_identity`` is gathered from identities kept per staged part. These tests
hold both to the plain forms: one file at a time, and the table worked out from every
staged table at once (the query ingest used before).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.record.conftest import CORPUS, lake_files
from wholesystem.access.models import AuditEvent
from wholesystem.record import ingest, staging
from wholesystem.record.engine import PART_ID_KEY
from wholesystem.record.models import IngestRun, QuarantineRow
from wholesystem.record.schemas import IDENTITY_COLUMNS, staged_datasets
from wholesystem.record.staging import (
    IDENTITY_DIR,
    SOURCE_IDENTITY,
    connect_staged,
    part_path,
    rebuild_source_identity,
    staged_glob,
    staged_parts,
)
from wholesystem.store.db import make_engine, make_session_factory, upgrade
from wholesystem.store.lake import Lake

APC = (CORPUS / "R9A/apc/clean.csv").read_text().splitlines()


def _reference_identity(lake: Lake) -> list[tuple[Any, ...]]:
    """``source_identity`` as the whole-lake query works it out, in its order."""
    con = connect_staged(lake)
    try:
        ident = ", ".join(IDENTITY_COLUMNS)
        selects = [
            f"SELECT DISTINCT org_code, '{ds.name}' AS dataset, {ident} FROM staged_{ds.name}"  # noqa: S608
            for ds in staged_datasets()
            if staged_glob(lake, ds.name) is not None
        ]
        if not selects:
            return []
        hashed = " || '|' || ".join(
            f"coalesce(CAST({c} AS VARCHAR), '')"
            for c in IDENTITY_COLUMNS
            if c != "local_patient_id"
        )
        return con.execute(
            "SELECT org_code || ':' || dataset || ':' || local_patient_id || ':' || "  # noqa: S608
            f"left(sha256({hashed}), 10) AS record_id, org_code AS source, dataset, "
            "local_patient_id, nhs_number, given_name, family_name, "
            "CAST(date_of_birth AS DATE) AS date_of_birth, sex, postcode "
            f"FROM ({' UNION '.join(selects)}) "
            "ORDER BY source, dataset, local_patient_id, record_id"
        ).fetchall()
    finally:
        con.close()


def _identity(lake: Lake) -> list[tuple[Any, ...]]:
    table = lake.read_arrow(SOURCE_IDENTITY)
    assert table.column_names == [
        "record_id",
        "source",
        "dataset",
        "local_patient_id",
        "nhs_number",
        "given_name",
        "family_name",
        "date_of_birth",
        "sex",
        "postcode",
    ]
    return [tuple(r.values()) for r in table.to_pylist()]


def _assert_identity_right(lake: Lake) -> None:
    """The kept identities give the reference table, and so does a rebuild from nothing."""
    expected = _reference_identity(lake)
    assert _identity(lake) == expected
    shutil.rmtree(lake.root / IDENTITY_DIR, ignore_errors=True)
    assert rebuild_source_identity(lake) == len(expected)
    assert _identity(lake) == expected


def _copy_tree(source: Path, target: Path) -> None:
    for path in source.rglob("*"):
        if path.is_file():
            dest = target / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(path.read_bytes())


def _everything(tmp: Path, source: Path) -> tuple[Any, ...]:
    """Ingest ``source`` into a fresh database and lake: every record it leaves."""
    url = f"sqlite:///{tmp / 'db.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    lake = Lake(tmp / "lake")
    try:
        factory = make_session_factory(engine)
        summary = ingest.ingest_path(factory, lake, source, actor="t")
        with factory() as s:
            runs = [
                (
                    r.id,
                    r.file_path,
                    r.status,
                    r.reason,
                    r.superseded_by,
                    r.details,
                    r.rows_read,
                    r.rows_loaded,
                    r.rows_quarantined,
                )
                for r in s.scalars(select(IngestRun).order_by(IngestRun.id))
            ]
            quarantine = [
                (q.id, q.run_id, q.line, q.column_name, q.rule, q.message, q.raw)
                for q in s.scalars(select(QuarantineRow).order_by(QuarantineRow.id))
            ]
            audit = [
                (a.action, a.object_id, a.detail)
                for a in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))
            ]
    finally:
        engine.dispose()
    parts = {name: pq.read_table(p).to_pylist() for name, p in lake_files(lake).items()}
    outcomes = [(o.path, o.status, o.reason, o.run_id, o.superseded) for o in summary.outcomes]
    _assert_identity_right(lake)
    return outcomes, runs, quarantine, audit, parts


def test_files_side_by_side_equal_one_after_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole corpus (CSV, FHIR, OMOP, rejected files), with a duplicate delivery."""
    source = tmp_path / "in"
    _copy_tree(CORPUS, source)
    # The same bytes under a second name: unchanged only if the first is recorded first.
    shutil.copyfile(source / "R9A/apc/clean.csv", source / "R9A/apc/clean_again.csv")
    together = _everything(tmp_path / "together", source)
    assert together[1]
    assert together[2]
    statuses = {o[0].rsplit("/", 1)[-1]: o[1] for o in together[0]}
    assert statuses["clean_again.csv"] == "unchanged"
    with monkeypatch.context() as patch:
        patch.setattr(ingest, "_IN_FLIGHT", 1)  # each file recorded before the next starts
        alone = _everything(tmp_path / "alone", source)
    assert together == alone


def test_kept_identities_follow_corrections_replays_and_removals(
    tmp_path: Path, factory: sessionmaker[Session], lake: Lake
) -> None:
    def run(path: Path) -> list[str]:
        summary = ingest.ingest_path(factory, lake, path, actor="t")
        _assert_identity_right(lake)
        return [o.status for o in summary.outcomes]

    apc = tmp_path / "in" / "R9A" / "apc"
    apc.mkdir(parents=True)
    (apc / "a.csv").write_text("\n".join(APC) + "\n")
    (apc / "b.csv").write_text("\n".join([APC[0], APC[1]]) + "\n")  # shares a row with a.csv
    for rel in ("R9A/ecds", "N90001/gp_fhir"):  # another dataset; FHIR-mapped parts
        shutil.copytree(CORPUS / rel, tmp_path / "in" / rel)
    assert "loaded" in run(tmp_path / "in")
    # A corrected a.csv: Cat's identity goes, Bob's stays (b.csv still holds it).
    (apc / "a.csv").write_text("\n".join([APC[0], APC[2].replace("Bob", "Robert")]) + "\n")
    assert run(tmp_path / "in").count("loaded") == 1
    # A part rewritten behind ingest's back is noticed by its stamp.
    part = part_path(lake, "apc", "R9A", "b.csv")
    con = duckdb.connect()
    try:
        con.execute(
            f"COPY (SELECT * REPLACE ('Roberta' AS given_name) FROM read_parquet('{part}')) "  # noqa: S608
            f"TO '{part}.new' (FORMAT parquet)"
        )
    finally:
        con.close()
    Path(f"{part}.new").replace(part)
    rebuild_source_identity(lake)
    assert ("Roberta",) in {(r[5],) for r in _identity(lake)}
    _assert_identity_right(lake)
    # A part removed takes its identities with it.
    part.unlink()
    rebuild_source_identity(lake)
    _assert_identity_right(lake)
    assert not (lake.root / IDENTITY_DIR / part.relative_to(lake.root)).exists()


def test_an_empty_lake_has_an_empty_identity_table(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    assert rebuild_source_identity(lake) == 0
    assert _identity(lake) == []


def test_a_table_out_of_file_order_is_sorted_when_staged() -> None:
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE kept AS SELECT range + 1 AS rec FROM range(5)")
        con.execute("CREATE TABLE shuffled AS SELECT * FROM (VALUES (2), (1), (3)) t(rec)")
        assert ingest._in_file_order(con, "kept")
        assert not ingest._in_file_order(con, "shuffled")
    finally:
        con.close()


def test_a_file_alone_keeps_its_parts_identities_stamped_with_its_id(
    tmp_path: Path, factory: sessionmaker[Session], lake: Lake
) -> None:
    """One file at a time (staged in one pass, or two, or read carefully), its part's
    identities are kept with the part's id, so that a rebuild keeps them, and are the
    rows worked out from the part."""
    csvs = sorted(p for p in CORPUS.rglob("*.csv") if p.parent.name in {"apc", "ecds", "csds"})
    assert len(csvs) > 2
    loaded = 0
    for n, path in enumerate(csvs):
        target = tmp_path / f"in{n}" / path.relative_to(CORPUS)
        target.parent.mkdir(parents=True)
        shutil.copyfile(path, target)
        [outcome] = ingest.ingest_path(factory, lake, tmp_path / f"in{n}", actor="t").outcomes
        if outcome.status != "loaded":
            continue
        loaded += 1
        part = part_path(lake, path.parent.name, path.parent.parent.name, path.name)
        kept = lake.root / IDENTITY_DIR / part.relative_to(lake.root)
        part_id = (pq.read_metadata(part).metadata or {})[PART_ID_KEY.encode()].decode()
        assert staging._kept(kept)[0] == staging._stamp(part) == f"id:{part_id}"
        _assert_identity_right(lake)
    assert loaded > 2


def test_kept_identities_follow_the_part_id(
    tmp_path: Path, factory: sessionmaker[Session], lake: Lake
) -> None:
    """Every part is written with an id of its own, which its kept identities carry: a
    copy of the lake (new inodes and times) keeps using them, a part written again gets
    a new id and its identities are worked out again, and a part without an id (written
    before parts had them) is stamped by its file as before."""
    source = tmp_path / "in"
    shutil.copytree(CORPUS / "R9A", source / "R9A")
    ingest.ingest_path(factory, lake, source, actor="t")
    parts = [p for ds in staged_datasets() for p in staged_parts(lake, ds.name)]
    assert parts
    ids = {p: (pq.read_metadata(p).metadata or {})[PART_ID_KEY.encode()] for p in parts}
    assert len(set(ids.values())) == len(parts)
    copy = Lake(tmp_path / "copy")
    shutil.copytree(lake.root, copy.root, symlinks=True)
    kept_before = {k: k.stat().st_mtime_ns for k in (copy.root / IDENTITY_DIR).rglob("*.parquet")}
    rebuild_source_identity(copy)
    for kept, mtime in kept_before.items():
        assert kept.stat().st_mtime_ns == mtime, kept  # not worked out again
    _assert_identity_right(copy)
    # The same part written again by another tool, without an id: stamped by its file.
    part = parts[0]
    kept = lake.root / IDENTITY_DIR / part.relative_to(lake.root)
    pq.write_table(pq.read_table(part).replace_schema_metadata(None), f"{part}.new")
    os.replace(f"{part}.new", part)
    assert staging._stamp(part).count(":") == 3  # size, time, inode and tail
    assert staging._kept(kept)[0] != staging._stamp(part)
    rebuild_source_identity(lake)
    assert staging._kept(kept)[0] == staging._stamp(part)
    _assert_identity_right(lake)


def test_a_rebuild_writes_only_what_changed(
    tmp_path: Path, factory: sessionmaker[Session], lake: Lake
) -> None:
    """``source_identity`` is written in parts, one per organisation and dataset: a
    rebuild links the kept identities of an organisation and dataset with one staged
    part, merges those with several once, and leaves every other part as it was."""

    def inodes() -> dict[str, int]:
        return {f.name: f.stat().st_ino for f in lake.files(SOURCE_IDENTITY)}

    apc = tmp_path / "in" / "R9A" / "apc"
    apc.mkdir(parents=True)
    (apc / "a.csv").write_text("\n".join(APC) + "\n")
    (apc / "b.csv").write_text("\n".join([APC[0], APC[1]]) + "\n")  # two parts: merged
    shutil.copytree(CORPUS / "R9A/ecds", tmp_path / "in" / "R9A/ecds")  # one part: linked
    shutil.copytree(CORPUS / "R9C/csds", tmp_path / "in2" / "R9C/csds")
    ingest.ingest_path(factory, lake, tmp_path / "in", actor="t")
    _assert_identity_right(lake)
    first = inodes()
    assert [n.split(".")[:2] for n in first] == [["R9A", "apc"], ["R9A", "ecds"]]
    rebuild_source_identity(lake)
    assert inodes() == first  # nothing changed: nothing written, not even the merge
    ingest.ingest_path(factory, lake, tmp_path / "in2", actor="t")
    after = inodes()
    assert {n: i for n, i in after.items() if n in first} == first
    [(name, inode)] = [(n, i) for n, i in after.items() if n not in first]
    assert name.startswith("R9C.csds.")
    [part] = staging.staged_parts(lake, "csds")
    assert inode == (lake.root / IDENTITY_DIR / part.relative_to(lake.root)).stat().st_ino
    _assert_identity_right(lake)


def test_a_part_holding_several_organisations_is_merged_with_the_rest(
    tmp_path: Path, factory: sessionmaker[Session], lake: Lake
) -> None:
    """Ingest writes one organisation a part; a part made otherwise still gives the
    table its order and distinct rows."""
    for rel in ("R9A/apc", "R9C/csds"):
        shutil.copytree(CORPUS / rel, tmp_path / "in" / rel)
    ingest.ingest_path(factory, lake, tmp_path / "in", actor="t")
    source = part_path(lake, "apc", "R9A", "clean.csv")
    mixed = source.with_name("mixed.parquet")
    con = duckdb.connect()
    try:
        con.execute(
            "COPY (SELECT * REPLACE (CASE WHEN source_line % 2 = 0 THEN 'R9C' "  # noqa: S608
            f"ELSE CAST(org_code AS VARCHAR) END AS org_code) FROM read_parquet('{source}')) "
            f"TO '{mixed}' (FORMAT parquet)"
        )
    finally:
        con.close()
    rebuild_source_identity(lake)
    assert [f.name.split(".")[:2] for f in lake.files(SOURCE_IDENTITY)] == [["all", "all"]]
    _assert_identity_right(lake)
