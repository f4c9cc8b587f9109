"""Loading the footprint into SQLite and PostgreSQL: populations, idempotency, no half-writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.dbstate import migrated
from wholesystem.config import Settings
from wholesystem.footprint.models import Area, Level, Organisation
from wholesystem.footprint.pipeline import load_footprint, parse_footprint
from wholesystem.footprint.queries import footprint_tree, organisation_codes_by_type
from wholesystem.store.db import make_engine, make_session_factory, session_scope


@pytest.fixture
def factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    migrated(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_populations_add_up_the_tree(
    factory: sessionmaker[Session], footprint_data: dict[str, Any]
) -> None:
    with session_scope(factory) as s:
        summary = load_footprint(s, parse_footprint(json.dumps(footprint_data)))
    assert summary.population == 8000 + 7500 + 9100
    assert (summary.places, summary.neighbourhoods, summary.practices) == (2, 2, 3)
    with factory() as s:
        tree = footprint_tree(s)
    assert tree is not None
    assert tree.level is Level.system
    assert [p.population for p in tree.children] == [15500, 9100]
    assert tree.find("U00001").population == 15500  # type: ignore[union-attr]
    assert [n.code for n in tree.path_to("A00002")] == ["QXX", "PL1", "U00001", "A00002"]
    for node in tree.walk():
        if node.children:
            assert node.population == sum(c.population for c in node.children)


def test_loading_twice_changes_nothing(
    factory: sessionmaker[Session], footprint_data: dict[str, Any]
) -> None:
    fp = parse_footprint(json.dumps(footprint_data))
    with session_scope(factory) as s:
        assert load_footprint(s, fp).changed
    with session_scope(factory) as s:
        assert not load_footprint(s, fp).changed


def test_dropped_entries_are_deactivated_not_deleted(
    factory: sessionmaker[Session], footprint_data: dict[str, Any]
) -> None:
    with session_scope(factory) as s:
        load_footprint(s, parse_footprint(json.dumps(footprint_data)))
    footprint_data["organisations"] = [
        o for o in footprint_data["organisations"] if o["code"] != "VS001"
    ]
    hood = footprint_data["places"][0]["neighbourhoods"][0]
    hood["practices"] = hood["practices"][:1]
    with session_scope(factory) as s:
        assert load_footprint(s, parse_footprint(json.dumps(footprint_data))).changed
    with factory() as s:
        assert s.get_one(Organisation, "VS001").active is False
        assert s.get_one(Area, "A00002").active is False
        tree = footprint_tree(s)
        assert tree is not None
        assert tree.find("A00002") is None
        assert tree.population == 8000 + 9100
        assert "voluntary_sector" not in organisation_codes_by_type(s)


def test_a_failed_load_leaves_the_previous_footprint(
    factory: sessionmaker[Session], footprint_data: dict[str, Any]
) -> None:
    with session_scope(factory) as s:
        load_footprint(s, parse_footprint(json.dumps(footprint_data)))
    footprint_data["places"][0]["neighbourhoods"][0]["practices"][0]["population"] = 1

    def killed_mid_run() -> None:
        with session_scope(factory) as s:
            load_footprint(s, parse_footprint(json.dumps(footprint_data)))
            s.flush()
            raise RuntimeError("killed mid-run")

    with pytest.raises(RuntimeError):
        killed_mid_run()
    with factory() as s:
        assert s.get_one(Area, "A00001").population == 8000
        assert s.scalar(select(func.count()).select_from(Area)) == 8
