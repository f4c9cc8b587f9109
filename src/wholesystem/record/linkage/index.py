"""Stable person ids over successive linkage runs, stored in the lake.

Every run relinks all current source records (the model sees everything), then maps the
new clusters onto the previous index:

* each previous person's *home* is the new cluster holding most of its old records
  (ties: the cluster with the smallest record id);
* a cluster that is home to one previous person keeps that person's id; to several, they
  have **merged** -- the lowest id survives, the others are retired (logged);
* a previous person's records that land outside its home have **split** off: that part
  gets a newly minted id (logged);
* a cluster that is nobody's home gets a new id; new ids are minted in order of each
  cluster's smallest record id, so the same input gives the same ids.

So an existing id is only ever retired by a merge, and never renamed otherwise.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from wholesystem.record.linkage.engine import LinkResult, LinkSettings, link
from wholesystem.store.lake import Lake

__all__ = [
    "EVIDENCE_TABLE",
    "INDEX_TABLE",
    "LOG_TABLE",
    "IndexChange",
    "IndexUpdate",
    "assign_person_ids",
    "format_person_id",
    "load_person_index",
    "update_person_index",
]

INDEX_TABLE = "person_index"
"""record_id, person_id: the current person of every source record."""
LOG_TABLE = "person_index_log"
"""run_at, kind (merge/split), person_id, other_person_id, record_ids, evidence (JSON)."""
EVIDENCE_TABLE = "person_link_evidence"
"""The edges of the last run: record_id_l, record_id_r, kind, match_weight, ..."""

_PREFIX = "WP"
_WIDTH = 10


def format_person_id(number: int) -> str:
    """``WP0000000001`` style id for person number ``number``."""
    return f"{_PREFIX}{number:0{_WIDTH}d}"


def _number(person_id: str) -> int:
    return int(person_id[len(_PREFIX) :]) if person_id.startswith(_PREFIX) else 0


@dataclass
class IndexChange:
    """A merge or a split, with its evidence."""

    kind: str  # "merge" (other_person_id retired into person_id) or "split"
    person_id: str
    other_person_id: str
    record_ids: list[str]
    evidence: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class IndexUpdate:
    """Result of :func:`update_person_index` / :func:`assign_person_ids`."""

    person_of: dict[str, str]
    changes: list[IndexChange]
    new_persons: int
    link: LinkResult | None = None


def assign_person_ids(
    clusters: pa.Table,
    previous: dict[str, str] | None = None,
    *,
    edges: pa.Table | None = None,
    pairs: pa.Table | None = None,
    retired: set[str] | None = None,
) -> IndexUpdate:
    """Map ``clusters`` (record_id, cluster) onto stable person ids (see module doc)."""
    previous = previous or {}
    record_ids = clusters.column("record_id").to_pylist()
    cluster_ids = clusters.column(clusters.column_names[1]).to_pylist()
    members: dict[Any, list[str]] = defaultdict(list)
    for rid, c in zip(record_ids, cluster_ids, strict=True):
        members[c].append(rid)
    first_record = {c: min(rids) for c, rids in members.items()}
    # each previous person's home cluster
    counts: dict[str, Counter[Any]] = defaultdict(Counter)
    for rid, c in zip(record_ids, cluster_ids, strict=True):
        pid = previous.get(rid)
        if pid is not None:
            counts[pid][c] += 1
    home: dict[str, Any] = {}
    for pid, counter in counts.items():
        best = max(counter.values())
        home[pid] = min((c for c, k in counter.items() if k == best), key=first_record.__getitem__)
    homed: dict[Any, list[str]] = defaultdict(list)
    for pid, c in home.items():
        homed[c].append(pid)
    used = [_number(p) for p in previous.values()] + [_number(p) for p in (retired or set())]
    next_number = max(used, default=0) + 1
    changes: list[IndexChange] = []
    person_of_cluster: dict[Any, str] = {}
    new_persons = 0
    for c in sorted(members, key=first_record.__getitem__):
        owners = sorted(homed.get(c, []))
        if owners:
            survivor = owners[0]
            person_of_cluster[c] = survivor
            strays = sorted(
                {previous[r] for r in members[c] if r in previous and previous[r] not in owners}
            )
            for old in strays:
                recs = sorted(r for r in members[c] if previous.get(r) == old)
                changes.append(
                    IndexChange(
                        "split", survivor, old, recs, _evidence(edges, set(members[c]), set(recs))
                    )
                )
            for gone in owners[1:]:
                recs = sorted(r for r in members[c] if previous.get(r) == gone)
                changes.append(
                    IndexChange(
                        "merge", survivor, gone, recs, _evidence(edges, set(members[c]), set(recs))
                    )
                )
        else:
            pid = format_person_id(next_number)
            next_number += 1
            new_persons += 1
            person_of_cluster[c] = pid
            olds = sorted({previous[r] for r in members[c] if r in previous})
            for old in olds:
                recs = sorted(r for r in members[c] if previous.get(r) == old)
                home_records = set(members[home[old]])
                changes.append(
                    IndexChange("split", pid, old, recs, _evidence(pairs, home_records, set(recs)))
                )
    person_of = {rid: person_of_cluster[c] for rid, c in zip(record_ids, cluster_ids, strict=True)}
    return IndexUpdate(person_of=person_of, changes=changes, new_persons=new_persons)


def _evidence(table: pa.Table | None, side_a: set[str], side_b: set[str]) -> list[dict[str, Any]]:
    """Up to 10 pairs of ``table`` joining ``side_b`` to the rest of ``side_a``."""
    if table is None or table.num_rows == 0:
        return []
    import pyarrow.compute as pc

    b = pa.array(sorted(side_b), pa.string())
    rest = pa.array(sorted(side_a - side_b), pa.string())
    left, right = table.column("record_id_l"), table.column("record_id_r")
    mask = pc.or_(
        pc.and_(pc.is_in(left, b), pc.is_in(right, rest)),
        pc.and_(pc.is_in(right, b), pc.is_in(left, rest)),
    )
    rows: list[dict[str, Any]] = table.filter(mask).to_pylist()
    rows.sort(key=lambda r: -(r.get("match_weight") or 99.0))
    return rows[:10]


def load_person_index(lake: Lake) -> dict[str, str]:
    """The current record_id -> person_id map ({} when there is no index yet)."""
    if not lake.exists(INDEX_TABLE):
        return {}
    table = lake.read_arrow(INDEX_TABLE)
    return dict(
        zip(
            table.column("record_id").to_pylist(),
            table.column("person_id").to_pylist(),
            strict=True,
        )
    )


def _retired(lake: Lake) -> set[str]:
    if not lake.exists(LOG_TABLE):
        return set()
    log = lake.read_arrow(LOG_TABLE)
    return set(log.column("other_person_id").to_pylist()) | set(log.column("person_id").to_pylist())


def update_person_index(
    lake: Lake,
    records: pa.Table,
    settings: LinkSettings = LinkSettings(),
    *,
    now: datetime | None = None,
) -> IndexUpdate:
    """Relink ``records`` (every current source record) and update the lake's index.

    Writes :data:`INDEX_TABLE`, appends merges and splits to :data:`LOG_TABLE` and
    replaces :data:`EVIDENCE_TABLE`; each write is atomic (aside, then rename).
    """
    previous = load_person_index(lake)
    result = link(records, settings)
    update = assign_person_ids(
        result.clusters,
        previous,
        edges=result.edges,
        pairs=result.pairs,
        retired=_retired(lake),
    )
    update.link = result
    rids = sorted(update.person_of)
    lake.write_arrow(
        INDEX_TABLE,
        pa.table(
            {
                "record_id": pa.array(rids, pa.string()),
                "person_id": pa.array([update.person_of[r] for r in rids], pa.string()),
            }
        ),
    )
    lake.write_arrow(EVIDENCE_TABLE, result.edges)
    if update.changes:
        at = now or datetime.now(UTC)
        rows = pa.table(
            {
                "run_at": pa.array([at] * len(update.changes), pa.timestamp("us", tz="UTC")),
                "kind": [c.kind for c in update.changes],
                "person_id": [c.person_id for c in update.changes],
                "other_person_id": [c.other_person_id for c in update.changes],
                "record_ids": [json.dumps(c.record_ids) for c in update.changes],
                "evidence": [json.dumps(c.evidence, default=str) for c in update.changes],
            }
        )
        if lake.exists(LOG_TABLE):
            rows = pa.concat_tables([lake.read_arrow(LOG_TABLE), rows])
        lake.write_arrow(LOG_TABLE, rows)
    return update
