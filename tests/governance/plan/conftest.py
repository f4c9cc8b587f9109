"""The demo governance data (with the plan and risks) in the app's database, and its ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.governance.conftest import gail_and_the_demo, over_app
from wholesystem.config import Settings
from wholesystem.governance.plan.models import PlanObjective, Risk
from wholesystem.store.db import make_engine, make_session_factory, session_scope


@pytest.fixture
def ids(app_settings: Settings, footprint_file: Path) -> dict[str, int]:
    over_app(app_settings, footprint_file, gail_and_the_demo)
    engine = make_engine(app_settings.resolved_database_url)
    with session_scope(make_session_factory(engine)) as s:
        objective = s.scalar(select(PlanObjective.id).where(PlanObjective.ref == "O1"))
        risk = s.scalar(select(Risk.id).where(Risk.reference == "R001"))
        assert objective is not None
        assert risk is not None
        out = {"objective": objective, "risk": risk}
    engine.dispose()
    return out
