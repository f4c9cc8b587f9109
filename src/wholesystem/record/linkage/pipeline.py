"""The person-index pipeline step: link every ingested source identity, keep ids stable."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from wholesystem.access.audit import append
from wholesystem.record.linkage.index import IndexUpdate, update_person_index
from wholesystem.record.linkage.report import write_working_tables
from wholesystem.store.db import session_scope
from wholesystem.store.lake import Lake, LakeError
from wholesystem.store.runs import recorded_run

__all__ = ["PERSON_INDEX_STEP", "build_person_index"]

PERSON_INDEX_STEP = "person_index"
SOURCE_TABLE = "source_identity"


def build_person_index(
    factory: sessionmaker[Session], lake: Lake, *, actor: str = "system"
) -> IndexUpdate:
    """Relink the lake's ``source_identity`` into ``person_index`` as one recorded step.

    Merges and splits go to the lake's log with their evidence; the step is audited. The
    linkage page's working tables are kept too (:func:`report.write_working_tables`).
    """
    if not lake.exists(SOURCE_TABLE):
        raise LakeError("no source_identity table yet: run `wholesystem ingest` first")
    records = lake.read_arrow(SOURCE_TABLE)
    with recorded_run(factory, PERSON_INDEX_STEP) as run:
        update = update_person_index(lake, records)
        write_working_tables(lake)
        persons = update.persons
        merges = sum(1 for c in update.changes if c.kind == "merge")
        splits = sum(1 for c in update.changes if c.kind == "split")
        run.summary = (
            f"{records.num_rows:,} source records linked into {persons:,} persons "
            f"({update.new_persons:,} new, {merges} merges, {splits} splits)"
        )
        run.details = {
            "records": records.num_rows,
            "persons": persons,
            "new_persons": update.new_persons,
            "merges": merges,
            "splits": splits,
        }
        with session_scope(factory) as session:
            append(
                session,
                actor=actor,
                action="person_index_built",
                object_type="lake_table",
                object_id="person_index",
                detail=run.details,
            )
    return update
