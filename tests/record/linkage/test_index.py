from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from wholesystem.record.linkage.index import (
    INDEX_TABLE,
    LOG_TABLE,
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
