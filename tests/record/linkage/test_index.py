from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from wholesystem.record.linkage.index import (
    INDEX_TABLE,
    LOG_TABLE,
    IndexChange,
    _evidence,
    _number,
    assign_person_ids,
    format_person_id,
    load_person_index,
    update_person_index,
)
from wholesystem.store.lake import Lake


def _clusters(mapping: dict[str, int]) -> pa.Table:
    rids = sorted(mapping)
    return pa.table({"record_id": rids, "cluster": [mapping[r] for r in rids]})


P1, P2, P3 = (format_person_id(i) for i in (1, 2, 3))


def test_new_records_attach_to_existing_persons() -> None:
    prev = {"a": P1, "b": P1, "c": P2}
    up = assign_person_ids(_clusters({"a": 0, "b": 0, "c": 1, "d": 1, "e": 2}), prev)
    assert up.person_of == {"a": P1, "b": P1, "c": P2, "d": P2, "e": P3}
    assert up.changes == []
    assert up.new_persons == 1
    # The mapping is built once and kept: a lookup per record (as link-records makes)
    # rebuilding it made the command quadratic in the number of records.
    assert up.person_of is up.person_of


def test_merge_keeps_lower_id_and_logs() -> None:
    prev = {"a": P1, "b": P2}
    edges = pa.table(
        {
            "record_id_l": ["a"],
            "record_id_r": ["b"],
            "kind": ["model"],
            "match_weight": [20.0],
            "match_probability": [0.99],
            "detail": ["{}"],
        }
    )
    up = assign_person_ids(_clusters({"a": 0, "b": 0, "c": 0}), prev, edges=edges)
    assert set(up.person_of.values()) == {P1}
    [change] = up.changes
    assert (change.kind, change.person_id, change.other_person_id) == ("merge", P1, P2)
    assert change.record_ids == ["b"]
    assert change.evidence[0]["match_weight"] == 20.0


def test_split_mints_new_id_for_the_part_that_leaves() -> None:
    prev = {"a": P1, "b": P1, "c": P1, "z": P2}
    up = assign_person_ids(_clusters({"a": 0, "b": 0, "c": 1, "z": 2}), prev)
    assert up.person_of["a"] == up.person_of["b"] == P1
    assert up.person_of["z"] == P2
    assert up.person_of["c"] == P3  # minted after the highest id in use
    [change] = up.changes
    assert (change.kind, change.person_id, change.other_person_id) == ("split", P3, P1)


def test_retired_ids_are_never_reused() -> None:
    up = assign_person_ids(_clusters({"a": 0}), {}, retired={format_person_id(7)})
    assert up.person_of["a"] == format_person_id(8)


def test_stable_across_reruns_and_additions(synth_records: pa.Table, tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    cols = [
        "record_id",
        "source",
        "nhs_number",
        "given_name",
        "family_name",
        "date_of_birth",
        "sex",
        "postcode",
    ]
    records = synth_records.select(cols)
    first = records.slice(0, records.num_rows * 2 // 3)
    up1 = update_person_index(lake, first)
    before = load_person_index(lake)
    assert before == up1.person_of
    assert len(before) == first.num_rows
    # rerun on the same records: nothing changes
    up_same = update_person_index(lake, first)
    assert up_same.person_of == before
    assert up_same.changes == []
    # add the rest: no existing person renamed unless merged (and every merge logged)
    up2 = update_person_index(lake, records)
    after = load_person_index(lake)
    assert len(after) == records.num_rows
    retired = {c.other_person_id for c in up2.changes if c.kind == "merge"}
    for rid, pid in before.items():
        if after[rid] != pid:
            assert pid in retired or any(
                c.kind == "split" and rid in c.record_ids for c in up2.changes
            ), rid
    kept = set(before.values()) - retired
    assert kept <= set(after.values())
    assert lake.row_count(INDEX_TABLE) == records.num_rows
    if up2.changes:
        log = lake.read_arrow(LOG_TABLE).to_pylist()
        assert {r["kind"] for r in log} <= {"merge", "split"}
        assert all(json.loads(r["record_ids"]) for r in log)


def _reference_assign(
    clusters: pa.Table,
    previous: dict[str, str] | None = None,
    *,
    edges: pa.Table | None = None,
    pairs: pa.Table | None = None,
    retired: set[str] | None = None,
) -> tuple[dict[str, str], list[IndexChange], int]:
    """The rules of the module doc, one record at a time in Python (the implementation
    before the set-based one): the peer the set-based one is checked against."""
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
    return person_of, changes, new_persons


def _edges(rng: random.Random, rids: list[str], n: int) -> pa.Table:
    pairs = [tuple(rng.sample(rids, 2)) for _ in range(n)]
    return pa.table(
        {
            "record_id_l": [a for a, _ in pairs],
            "record_id_r": [b for _, b in pairs],
            "kind": ["model"] * n,
            "match_weight": pa.array([round(rng.uniform(-5, 25), 3) for _ in pairs], pa.float64()),
            "match_probability": [0.9] * n,
            "detail": ["{}"] * n,
        }
    )


@pytest.mark.parametrize("seed", range(60))
def test_set_based_ids_agree_with_the_record_by_record_rules(seed: int) -> None:
    """Random relinks (persons merged, split, shuffled, new records, retired ids, tied
    homes): the same person for every record, the same merges and splits with the same
    evidence, in the same order, as the rules applied record by record."""
    rng = random.Random(seed)
    rids = [f"r{i:03d}" for i in range(rng.randrange(1, 120))]
    n_prev = rng.randrange(0, 40)
    previous = {
        r: format_person_id(rng.randrange(1, n_prev + 1) * rng.choice((1, 1, 3)))
        for r in rids
        if n_prev and rng.random() < 0.8
    }
    clusters = {r: rng.randrange(0, max(1, len(rids) // rng.choice((1, 2, 4)))) for r in rids}
    retired = {format_person_id(rng.randrange(1, 200)) for _ in range(rng.randrange(3))}
    edges = _edges(rng, rids, rng.randrange(0, 60)) if len(rids) > 1 else None
    pairs = _edges(rng, rids, rng.randrange(0, 60)) if len(rids) > 1 else None
    table = _clusters(clusters)
    expected = _reference_assign(table, previous, edges=edges, pairs=pairs, retired=retired)
    got = assign_person_ids(table, previous, edges=edges, pairs=pairs, retired=retired)
    assert got.person_of == expected[0]
    assert got.changes == expected[1]
    assert got.new_persons == expected[2]
    assert got.index.column("record_id").to_pylist() == sorted(rids)
    assert got.persons == len(set(expected[0].values()))
    # the same from the previous index as a table, as the person-index step passes it
    prev_table = pa.table(
        {"record_id": list(previous), "person_id": list(previous.values())},
        schema=pa.schema([("record_id", pa.string()), ("person_id", pa.string())]),
    )
    again = assign_person_ids(table, prev_table, edges=edges, pairs=pairs, retired=retired)
    assert (again.person_of, again.changes) == (got.person_of, got.changes)
