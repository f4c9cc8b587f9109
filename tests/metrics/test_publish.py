"""Publishing snapshots: one transaction, immutable, hashed, audited, readable through the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from tests.conftest import with_footprint
from tests.metrics.lakefixture import FOOTPRINT, ORG_CODES, write_returns, write_small_lake
from wholesystem.access.audit import verify
from wholesystem.access.models import AuditEvent
from wholesystem.metrics import pipeline
from wholesystem.metrics.compute import ComputedValue, compute_metrics
from wholesystem.metrics.models import MetricRebase, MetricSnapshot, MetricValue
from wholesystem.metrics.pipeline import (
    PublishError,
    content_hash,
    footprint_for_metrics,
    publish,
    stored_content_hash,
    write_snapshot,
)
from wholesystem.metrics.returns import load_returns
from wholesystem.metrics.snapshots import (
    MetricPoint,
    area_series,
    areas_with_values,
    compare,
    current_snapshot,
    get_snapshot,
    list_snapshots,
    rebase_dates,
    series,
)
from wholesystem.store.db import make_engine, make_session_factory, session_scope, upgrade
from wholesystem.store.lake import Lake
from wholesystem.store.models import PipelineRun

CUT_OFF = date(2025, 3, 31)


@pytest.fixture
def factory(database_url: str, footprint_file: Path) -> Iterator[sessionmaker[Session]]:
    with_footprint(database_url, footprint_file)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    yield factory
    engine.dispose()


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    lake = write_small_lake(tmp_path / "lake")
    load_returns(lake, write_returns(tmp_path / "returns"), ORG_CODES)
    return lake


def _count(factory: sessionmaker[Session], model: type) -> int:
    with session_scope(factory) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_the_footprint_is_read_from_the_database(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        fp = footprint_for_metrics(s)
    assert fp.system_code == FOOTPRINT.system_code
    assert fp.practices == FOOTPRINT.practices
    assert set(FOOTPRINT.organisations) <= set(fp.organisations)


def test_publish_writes_a_snapshot_everyone_reads(
    factory: sessionmaker[Session], lake: Lake
) -> None:
    assert _count(factory, MetricSnapshot) == 0
    info = publish(factory, lake, actor="analyst", data_cut_off=CUT_OFF, note="March board")
    expected = compute_metrics(lake, FOOTPRINT, CUT_OFF).values
    assert info.value_count == len(expected) == _count(factory, MetricValue)
    assert info.metric_count == 25  # every lake metric; no decision register here
    assert info.content_hash == content_hash(expected)
    assert (info.published_by, info.data_cut_off, info.note) == ("analyst", CUT_OFF, "March board")
    with session_scope(factory) as s:
        assert current_snapshot(s) == info
        assert stored_content_hash(s, info.id) == info.content_hash
        points = series(s, info.id, "ae_attendances_rate", "U00001")
        assert points[0] == MetricPoint(
            date(2025, 1, 1), Decimal("2.000000"), Decimal("2.000000"), Decimal("1000.000000")
        )
        assert [p.period for p in points] == sorted(p.period for p in points)
        by_metric = area_series(s, info.id, "RA1")
        assert "ae_4hr" in by_metric
        assert "ae_attendances_rate" not in by_metric
        assert areas_with_values(s, info.id, "readmissions_30d") == [
            ("PL1", "place"),
            ("PL2", "place"),
            ("QXX", "system"),
        ]
        run = s.scalars(select(PipelineRun).where(PipelineRun.step == "publish")).one()
        assert run.status == "succeeded"
        assert run.details["snapshot_id"] == info.id
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "metrics_published")).one()
        assert event.object_id == str(info.id)
        assert event.detail["content_hash"] == info.content_hash
        # The snapshot carries the audit log's head as it was before its own event.
        assert (info.audit_head_seq, info.audit_head_hash) == (event.seq - 1, event.prev_hash)
        assert verify(s).ok


def test_publishing_unchanged_data_gives_a_new_snapshot_with_the_same_hash(
    factory: sessionmaker[Session], lake: Lake
) -> None:
    first = publish(factory, lake, actor="analyst", data_cut_off=CUT_OFF)
    second = publish(factory, lake, actor="analyst", data_cut_off=CUT_OFF)
    assert second.id > first.id
    assert second.content_hash == first.content_hash
    with session_scope(factory) as s:
        assert [x.id for x in list_snapshots(s)] == [second.id, first.id]
        assert compare(s, first.id, second.id) == []
        assert get_snapshot(s, first.id) == first


def test_compare_lists_changed_added_and_removed_values(
    factory: sessionmaker[Session], lake: Lake
) -> None:
    first = publish(factory, lake, actor="analyst", data_cut_off=date(2025, 2, 28))
    second = publish(factory, lake, actor="analyst", data_cut_off=CUT_OFF)
    with session_scope(factory) as s:
        changes = compare(s, first.id, second.id)
        assert changes
        # A month more of data adds March, February's 30-day readmissions and the first
        # quarter's deaths in hospital; no value published for January or February changes.
        assert all(c.before is None for c in changes)
        added = {(c.metric_id, c.period) for c in changes}
        assert ("ae_4hr", date(2025, 3, 1)) in added
        assert ("readmissions_30d", date(2025, 2, 1)) in added
        assert ("deaths_in_hospital", date(2025, 1, 1)) in added
        assert ("ae_4hr", date(2025, 2, 1)) not in added
        assert changes == sorted(changes, key=lambda c: (c.metric_id, c.area_code, c.period))
        assert compare(s, first.id, second.id, limit=3) == changes[:3]
        reverse = compare(s, second.id, first.id)
        assert len(reverse) == len(changes)
        assert compare(s, first.id, 999) == [
            type(c)(c.metric_id, c.area_code, c.period, c.after, None)
            for c in compare(s, 999, first.id)
        ]


def test_a_failed_publish_leaves_the_previous_snapshot_and_nothing_new(
    factory: sessionmaker[Session], lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = publish(factory, lake, actor="analyst", data_cut_off=CUT_OFF)
    values_before = _count(factory, MetricValue)
    real_insert = pipeline._insert_values

    def insert_then_fail(session: Session, snapshot_id: int, values: list[ComputedValue]) -> None:
        real_insert(session, snapshot_id, values[: len(values) // 2])
        session.flush()
        raise OSError("disk full half-way through the values")

    monkeypatch.setattr(pipeline, "_insert_values", insert_then_fail)
    with pytest.raises(OSError, match="disk full"):
        publish(factory, lake, actor="analyst", data_cut_off=CUT_OFF, note="doomed")
    with session_scope(factory) as s:
        assert current_snapshot(s) == before
        assert [x.id for x in list_snapshots(s)] == [before.id]
        assert s.scalar(select(func.count()).select_from(MetricSnapshot)) == 1
        runs = s.scalars(
            select(PipelineRun).where(PipelineRun.step == "publish").order_by(PipelineRun.id)
        ).all()
        assert [r.status for r in runs] == ["succeeded", "failed"]
        assert "disk full" in runs[-1].summary
        actions = s.scalars(select(AuditEvent.action)).all()
        assert actions.count("metrics_published") == 1
    assert _count(factory, MetricValue) == values_before


def test_snapshots_cannot_be_changed_or_deleted(factory: sessionmaker[Session], lake: Lake) -> None:
    info = publish(factory, lake, actor="analyst", data_cut_off=CUT_OFF)
    attempts = [
        update(MetricValue).where(MetricValue.snapshot_id == info.id).values(value=Decimal(1)),
        delete(MetricValue).where(MetricValue.snapshot_id == info.id),
        update(MetricSnapshot).where(MetricSnapshot.id == info.id).values(note="edited"),
        delete(MetricSnapshot).where(MetricSnapshot.id == info.id),
    ]
    for statement in attempts:
        with pytest.raises(DBAPIError, match="immutable"), session_scope(factory) as s:
            s.execute(statement)
    with session_scope(factory) as s:
        assert get_snapshot(s, info.id) == info
        assert stored_content_hash(s, info.id) == info.content_hash


def test_unpublished_rows_are_never_read(factory: sessionmaker[Session], lake: Lake) -> None:
    values = compute_metrics(lake, FOOTPRINT, CUT_OFF).values
    with session_scope(factory) as s:
        info = write_snapshot(s, values, actor="analyst", data_cut_off=CUT_OFF)
        # A snapshot row that never reached 'published' (as a two-phase writer would leave
        # one) is invisible to every reader.
        draft = MetricSnapshot(
            published_by="analyst",
            data_cut_off=CUT_OFF,
            content_hash="0" * 64,
            metric_count=0,
            value_count=0,
            note="",
            status="publishing",
            audit_head_seq=0,
            audit_head_hash="0" * 64,
        )
        s.add(draft)
        s.flush()
        draft_id = draft.id
    with session_scope(factory) as s:
        assert current_snapshot(s) == info
        assert get_snapshot(s, draft_id) is None
        assert [x.id for x in list_snapshots(s)] == [info.id]
        assert series(s, draft_id, "ae_4hr", "RA1") == []


def test_rebase_dates_for_an_area_and_for_every_area(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        s.add_all(
            [
                MetricRebase(
                    metric_id="ae_4hr",
                    area_code=None,
                    rebase_date=date(2025, 4, 1),
                    reason="new streaming model",
                    agreed_by="board",
                ),
                MetricRebase(
                    metric_id="ae_4hr",
                    area_code="RA1",
                    rebase_date=date(2024, 10, 1),
                    reason="new department opened",
                    agreed_by="board",
                ),
                MetricRebase(
                    metric_id="ae_4hr",
                    area_code="RB9",
                    rebase_date=date(2024, 11, 1),
                    reason="elsewhere",
                    agreed_by="board",
                ),
            ]
        )
    with session_scope(factory) as s:
        assert rebase_dates(s, "ae_4hr", "RA1") == [date(2024, 10, 1), date(2025, 4, 1)]
        assert rebase_dates(s, "ae_4hr", "QXX") == [date(2025, 4, 1)]
        assert rebase_dates(s, "ae_12hr", "RA1") == []


def test_nothing_to_publish_is_an_error_and_writes_nothing(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with pytest.raises(PublishError, match="no metric could be computed"):
        publish(factory, Lake(tmp_path / "empty"), actor="analyst", data_cut_off=CUT_OFF)
    assert _count(factory, MetricSnapshot) == 0


def test_no_footprint_is_an_error(database_url: str, lake: Lake) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with pytest.raises(PublishError, match="no footprint"):
            publish(make_session_factory(engine), lake, actor="analyst")
    finally:
        engine.dispose()


def test_large_amounts_keep_every_digit(factory: sessionmaker[Session]) -> None:
    amount = Decimal("-123456789012345.123456")
    values = [
        ComputedValue("finance_ytd_variance", "RA1", "organisation", date(2025, 1, 1), amount,
                      None, amount),
    ]  # fmt: skip
    with session_scope(factory) as s:
        info = write_snapshot(s, values, actor="analyst", data_cut_off=CUT_OFF)
    with session_scope(factory) as s:
        assert series(s, info.id, "finance_ytd_variance", "RA1")[0].value == amount
        assert stored_content_hash(s, info.id) == info.content_hash


def test_cli_publish_list_show_compare(
    factory: sessionmaker[Session],
    lake: Lake,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wholesystem.cli import app
    from wholesystem.config import reset_settings

    monkeypatch.setenv("WHOLESYSTEM_MODE", "test")
    monkeypatch.setenv("WHOLESYSTEM_DATABASE_URL", database_url)
    monkeypatch.setenv("WHOLESYSTEM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WHOLESYSTEM_LAKE_DIR", str(lake.root))
    reset_settings()
    runner = CliRunner()
    try:
        result = runner.invoke(app, ["publish", "--cut-off", "2025-03-31", "--note", "first"])
        assert result.exit_code == 0, result.output
        assert "Published snapshot 1: 25 metrics" in result.output
        result = runner.invoke(app, ["publish", "--cut-off", "2025-03-31"])
        assert "identical to snapshot 1" in result.output
        result = runner.invoke(app, ["snapshots", "list"])
        assert result.exit_code == 0
        assert [line.split("\t")[0] for line in result.output.splitlines()] == ["id", "2", "1"]
        result = runner.invoke(app, ["snapshots", "show", "1"])
        assert result.exit_code == 0
        assert "the stored values match the content hash" in result.output
        result = runner.invoke(app, ["snapshots", "compare", "1", "2"])
        assert result.exit_code == 0
        assert result.stdout.strip() == "metric_id,area_code,period,before,after"
        result = runner.invoke(app, ["snapshots", "show", "9"])
        assert result.exit_code == 2
        assert "no published snapshot 9" in result.output
        result = runner.invoke(app, ["publish", "--cut-off", "March"])
        assert result.exit_code == 2
        assert "is not a date" in result.output
    finally:
        reset_settings()
