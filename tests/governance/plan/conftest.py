"""The demo governance data (with the plan and risks) in the app's database, and its ids."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.web.conftest import PASSWORD
from wholesystem.access.users import create_user
from wholesystem.config import Settings
from wholesystem.governance.demo import load_demo_governance
from wholesystem.governance.plan.models import PlanObjective, Risk
from wholesystem.store.db import make_engine, make_session_factory, session_scope


@pytest.fixture
def ids(app_settings: Settings) -> dict[str, int]:
    engine = make_engine(app_settings.resolved_database_url)
    with session_scope(make_session_factory(engine)) as s:
        create_user(
            s,
            username="gail",
            display_name="Gail",
            role="governance_lead",
            organisation_code="QXX",
            password=PASSWORD,
            actor="test",
        )
        load_demo_governance(s)
        s.flush()
        objective = s.scalar(select(PlanObjective.id).where(PlanObjective.ref == "O1"))
        risk = s.scalar(select(Risk.id).where(Risk.reference == "R001"))
        assert objective is not None
        assert risk is not None
        out = {"objective": objective, "risk": risk}
    engine.dispose()
    return out
