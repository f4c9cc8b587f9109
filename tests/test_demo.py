"""`wholesystem demo`: the whole chain on a small ICS, and a second run reuses it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import TEST_SECRET
from wholesystem.access.models import User
from wholesystem.access.permissions import Role
from wholesystem.config import Settings
from wholesystem.demo import build_demo
from wholesystem.footprint.queries import footprint_tree
from wholesystem.store.db import make_engine, make_session_factory


@pytest.mark.slow
def test_demo_builds_everything_then_reuses_it(tmp_path: Path) -> None:
    settings = Settings(mode="demo", data_dir=tmp_path / "data", secret_key=TEST_SECRET)
    first = build_demo(settings, people=2_000, seed=7)
    assert not first.synth_reused
    assert {role for _, _, role, _ in first.logins} == {r.label for r in Role}
    report = first.report()
    for username, password, _, _ in first.logins:
        assert username in report
        assert password in report

    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        tree = footprint_tree(s)
        assert tree is not None
        assert len(tree.children) == 3
        assert tree.population > 0
        users = s.scalar(select(func.count()).select_from(User))
    engine.dispose()

    manifest = settings.demo_dir / "manifest.json"
    stamp = manifest.stat().st_mtime_ns
    second = build_demo(settings, people=2_000, seed=7)
    assert second.synth_reused
    assert manifest.stat().st_mtime_ns == stamp
    engine = make_engine(settings.resolved_database_url)
    with make_session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(User)) == users
    engine.dispose()


def test_demo_refuses_production_mode(tmp_path: Path) -> None:
    settings = Settings(mode="production", data_dir=tmp_path, secret_key=TEST_SECRET)
    with pytest.raises(ValueError, match="only built in demo or test mode"):
        build_demo(settings, people=100, seed=1)
