"""The model registry: versions newest first, one active, undefined figures as nan."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.dbstate import migrated
from wholesystem.population import model as mdl
from wholesystem.population import registry
from wholesystem.population.registry import ModelMetrics, ModelVersion, SubgroupMetrics, TopK
from wholesystem.store.db import make_engine, make_session_factory, session_scope


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    migrated(database_url)
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def _metrics(auroc: float) -> ModelMetrics:
    return ModelMetrics(
        auroc=auroc,
        auprc=0.2,
        calibration_slope=1.01,
        calibration_intercept=-0.02,
        brier=0.05,
        top=(TopK(0.005, 0.04, 0.6), TopK(0.01, math.nan, 0.5), TopK(0.05, 0.2, 0.3)),
        n=1000,
        events=60,
    )


def _version(name: str, hour: int, auroc: float) -> ModelVersion:
    return ModelVersion(
        version=name,
        created_at=datetime(2026, 4, 1, hour, tzinfo=UTC),
        created_by="tester",
        train_index_date=date(2024, 3, 31),
        validation_index_date=date(2025, 3, 31),
        features=("age", "charlson"),
        n_train=900,
        n_validate=1000,
        excluded_opted_out=3,
        metrics=_metrics(auroc),
        subgroups=(SubgroupMetrics("sex", "F", 500, _metrics(math.nan)),),
        active=True,
        algorithm="test",
        target="emergency_admission_12m",
        baseline=_metrics(0.6),
        path="/nowhere.json",
        sha256="0" * 64,
    )


def test_register_list_get_active(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        assert registry.list_versions(s) == []
        assert registry.active_version(s) is None
        registry.register(s, _version("v1", 1, 0.7))
        registry.register(s, _version("v2", 2, 0.8))
    with factory() as s:
        versions = registry.list_versions(s)
        assert [v.version for v in versions] == ["v2", "v1"]
        assert [v.active for v in versions] == [True, False]
        active = registry.active_version(s)
        assert active is not None
        assert active.version == "v2"
        got = registry.get_version(s, "v1")
        assert got is not None
        assert got.metrics.auroc == pytest.approx(0.7)
        assert math.isnan(got.metrics.top[1].sensitivity)
        assert math.isnan(got.subgroups[0].metrics.auroc)
        assert got.subgroups[0].dimension == "sex"
        assert got.subgroups[0].n == 500
        assert got.baseline is not None
        assert got.baseline.auroc == pytest.approx(0.6)
        assert got.created_at == datetime(2026, 4, 1, 1, tzinfo=UTC)
        assert registry.get_version(s, "nope") is None
    with session_scope(factory) as s:
        registry.activate(s, "v1")
    with factory() as s:
        active = registry.active_version(s)
        assert active is not None
        assert active.version == "v1"
    with session_scope(factory) as s, pytest.raises(KeyError):
        registry.activate(s, "nope")


def test_model_file_is_refused_when_changed(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 2))
    y = (rng.random(2000) < 1 / (1 + np.exp(-(x[:, 0] * 2 - 2)))).astype(float)
    ids = [f"WP{i:010d}" for i in range(2000)]
    trained = mdl.train(x, y, ids, ["a", "b"])
    path = tmp_path / "m.json"
    digest = mdl.save_model(trained, path)
    loaded = mdl.load_model(path, digest)
    assert np.allclose(loaded.predict(x), trained.predict(x))
    path.write_bytes(path.read_bytes() + b" ")
    with pytest.raises(mdl.ModelFileError, match="SHA-256"):
        mdl.load_model(path, digest)
    with pytest.raises(mdl.ModelFileError, match="cannot be read"):
        mdl.load_model(tmp_path / "absent.json", digest)
