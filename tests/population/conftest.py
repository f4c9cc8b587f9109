"""A small synthetic ICS through ingest, person index, linked lake and footprint (P1's tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from wholesystem.store.db import make_engine, make_session_factory, upgrade
from wholesystem.store.lake import Lake

POPULATION_PEOPLE = 2000
POPULATION_SEED = 11


class PopulationICS:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.synth = root / "ics"
        self.lake = Lake(root / "lake")
        self.url = f"sqlite:///{root / 'population.db'}"
        self.models = root / "models"

    def factory(self) -> sessionmaker[Session]:
        return make_session_factory(make_engine(self.url))


@pytest.fixture(scope="session")
def population_ics(tmp_path_factory: pytest.TempPathFactory) -> PopulationICS:
    """A 2,000-person synthetic ICS (fixed seed), linked, with its footprint loaded."""
    from wholesystem.footprint.pipeline import load_footprint_file
    from wholesystem.record.ingest import ingest_path
    from wholesystem.record.linkage.pipeline import build_person_index
    from wholesystem.record.linked import build_linked_tables
    from wholesystem.synth import SynthConfig, generate

    ics = PopulationICS(tmp_path_factory.mktemp("population"))
    generate(SynthConfig(people=POPULATION_PEOPLE, seed=POPULATION_SEED), ics.synth, progress=False)
    upgrade(ics.url)
    engine = make_engine(ics.url)
    factory = make_session_factory(engine)
    try:
        load_footprint_file(factory, ics.synth / "footprint.json")
        ingest_path(factory, ics.lake, ics.synth / "extracts", actor="tester")
        build_person_index(factory, ics.lake, actor="tester")
        build_linked_tables(factory, ics.lake, "tester")
    finally:
        engine.dispose()
    return ics
