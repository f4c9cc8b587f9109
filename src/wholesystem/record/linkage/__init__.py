"""The person index: record linkage of partner records into persons.

Deterministic on a valid NHS number when demographics do not contradict it,
probabilistic (Splink, DuckDB backend) for the rest, clustered into persons with stable
ids. See docs/linkage.md.
"""

from __future__ import annotations

from wholesystem.record.linkage.engine import (
    BLOCKING_KEYS,
    LinkResult,
    LinkSettings,
    contradiction_sql,
    contradicts,
    link,
)
from wholesystem.record.linkage.evaluate import (
    LinkageMetrics,
    evaluate,
    source_records_from_synth,
)
from wholesystem.record.linkage.explain import explain_pair
from wholesystem.record.linkage.index import (
    EVIDENCE_TABLE,
    INDEX_TABLE,
    LOG_TABLE,
    IndexChange,
    IndexUpdate,
    assign_person_ids,
    format_person_id,
    load_person_index,
    update_person_index,
)
from wholesystem.record.linkage.records_io import (
    LinkInputError,
    read_link_input,
    write_link_output,
)
from wholesystem.record.linkage.standardise import (
    nhs_number_is_valid,
    normalise_nhs_number,
    standardise,
)

__all__ = [
    "BLOCKING_KEYS",
    "EVIDENCE_TABLE",
    "INDEX_TABLE",
    "LOG_TABLE",
    "IndexChange",
    "IndexUpdate",
    "LinkInputError",
    "LinkResult",
    "LinkSettings",
    "LinkageMetrics",
    "assign_person_ids",
    "contradiction_sql",
    "contradicts",
    "evaluate",
    "explain_pair",
    "format_person_id",
    "link",
    "load_person_index",
    "nhs_number_is_valid",
    "normalise_nhs_number",
    "read_link_input",
    "source_records_from_synth",
    "standardise",
    "update_person_index",
    "write_link_output",
]
