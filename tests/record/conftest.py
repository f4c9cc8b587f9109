"""Fixtures for record ingest: a migrated database, a lake and an ingest helper."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.dbstate import migrated
from wholesystem.record.ingest import IngestSummary, ingest_path
from wholesystem.store.db import make_engine, make_session_factory, upgrade
from wholesystem.store.lake import Lake

CORPUS = Path(__file__).parent / "corpus"


def parquet(sql: str, path: Path | str | list[Path]) -> list[tuple[Any, ...]]:
    """Run ``sql``, whose ``read_parquet(?)`` reads ``path`` (a file, a glob, or the
    files of a lake table: :meth:`Lake.files`)."""
    param = [str(p) for p in path] if isinstance(path, list) else str(path)
    return duckdb.execute(sql, [param]).fetchall()


def lake_files(lake: Lake) -> dict[str, Path]:
    """Every Parquet file of ``lake`` by a name that does not change between runs: its
    path under the lake, or ``<table>/<n>`` for the n-th part of a table written in
    parts (the versions folder's name is random; the parts' names hold file stamps)."""
    found: dict[str, Path] = {}
    for path in sorted(lake.root.rglob("*.parquet")):
        top = path.relative_to(lake.root).parts[0]
        if not (top.startswith(".") and top.endswith(".versions")):
            found[str(path.relative_to(lake.root))] = path
    for table in lake.tables():
        if lake.state(table)[:1] == ("parts",):
            found.update((f"{table}/{n}", p) for n, p in enumerate(lake.files(table)))
    return dict(sorted(found.items()))


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A migrated SQLite database (the route tests also run on PostgreSQL)."""
    url = f"sqlite:///{tmp_path / 'ingest.db'}"
    migrated(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


Ingest = Callable[..., IngestSummary]


@pytest.fixture
def ingest(factory: sessionmaker[Session], lake: Lake) -> Ingest:
    def _ingest(path: Path, **kwargs: object) -> IngestSummary:
        return ingest_path(factory, lake, path, actor="tester", **kwargs)  # type: ignore[arg-type]

    return _ingest


# --------------------------------------------------------------------------- linked lake


LINKED_PEOPLE = 300
LINKED_SEED = 23


class LinkedICS:
    """A small synthetic ICS, ingested, indexed and built into the linked lake."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.synth = root / "ics"
        self.lake = Lake(root / "lake")
        self.url = f"sqlite:///{root / 'linked.db'}"
        self.allergy_org = ""
        self.allergy_patient = ""

    def factory(self) -> sessionmaker[Session]:
        return make_session_factory(make_engine(self.url))

    def sql(self, query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run ``query`` with a view per lake table and truth_records/truth_people."""
        with self.lake.connect() as con:
            for name in ("records", "people", "conditions"):
                path = str(self.synth / "truth" / f"{name}.csv").replace("'", "''")
                con.execute(
                    f"CREATE VIEW truth_{name} AS SELECT * FROM "  # noqa: S608
                    f"read_csv('{path}', all_varchar = true, header = true)"
                )
            return con.execute(query, params or []).fetchall()


def _add_fhir_allergy(ics: LinkedICS) -> None:
    """Give the first patient of the first FHIR practice an AllergyIntolerance."""
    import json

    [ndjson, *_] = sorted((ics.synth / "extracts").glob("*/gp_fhir/*.ndjson"))
    bundle = json.loads(ndjson.read_text().splitlines()[0])
    patient = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    allergy = {
        "fullUrl": "urn:uuid:allergy-1",
        "resource": {
            "resourceType": "AllergyIntolerance",
            "id": "allergy-1",
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "criticality": "high",
            "code": {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "91936005",
                        "display": "Allergy to penicillin",
                    }
                ]
            },
            "patient": {"reference": patient["fullUrl"]},
            "recordedDate": "2015-04-01",
        },
    }
    extra = {"resourceType": "Bundle", "type": "collection", "entry": [patient, allergy]}
    (ndjson.parent / "allergies.ndjson").write_text(json.dumps(extra) + "\n")
    ics.allergy_org = ndjson.parent.parent.name
    ics.allergy_patient = str(patient["resource"]["id"])


@pytest.fixture(scope="session")
def linked_ics(tmp_path_factory: pytest.TempPathFactory) -> LinkedICS:
    """A 300-person synthetic ICS (fixed seed) through ingest, link-index and link-lake."""
    from wholesystem.record.linkage.pipeline import build_person_index
    from wholesystem.record.linked import build_linked_tables
    from wholesystem.synth import SynthConfig, generate

    ics = LinkedICS(tmp_path_factory.mktemp("linked"))
    generate(SynthConfig(people=LINKED_PEOPLE, seed=LINKED_SEED), ics.synth, progress=False)
    _add_fhir_allergy(ics)
    upgrade(ics.url)
    engine = make_engine(ics.url)
    factory = make_session_factory(engine)
    try:
        ingested = ingest_path(factory, ics.lake, ics.synth / "extracts", actor="tester")
        rejected = [o.reason for o in ingested.outcomes if o.status == "rejected"]
        assert not rejected, rejected
        build_person_index(factory, ics.lake, actor="tester")
        build_linked_tables(factory, ics.lake, "tester")
    finally:
        engine.dispose()
    return ics
