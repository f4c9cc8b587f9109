""" "Why linked": the evidence for any pair of records from a :class:`LinkResult`."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from wholesystem.record.linkage.engine import LinkResult

__all__ = ["explain_pair"]


def _find(table: pa.Table, a: str, b: str) -> dict[str, Any] | None:
    left, right = table.column("record_id_l"), table.column("record_id_r")
    mask = pc.or_(
        pc.and_(pc.equal(left, a), pc.equal(right, b)),
        pc.and_(pc.equal(left, b), pc.equal(right, a)),
    )
    rows = table.filter(mask).to_pylist()
    return rows[0] if rows else None


def explain_pair(result: LinkResult, record_a: str, record_b: str) -> dict[str, Any]:
    """Whether two records are one person, and why.

    Returns ``{"linked": bool, "same_person": bool, "kind": ..., "match_weight": ...,
    "match_probability": ..., "weights": {comparison: log2 Bayes factor}, "path": [...]}``.
    ``kind`` is ``identical`` (same after standardisation), ``nhs`` (deterministic),
    ``model`` (Splink pair score), or ``not compared``. ``path`` lists the direct edges
    from ``record_a`` to ``record_b`` through the cluster when they are joined only
    through other records.
    """
    cl = dict(
        zip(
            result.clusters.column("record_id").to_pylist(),
            result.clusters.column("cluster").to_pylist(),
            strict=True,
        )
    )
    for rid in (record_a, record_b):
        if rid not in cl:
            raise KeyError(f"record {rid!r} was not in the linked input")
    same = cl[record_a] == cl[record_b]
    # map each record to its identity representative through "identical" edges
    ident = result.edges.filter(pc.equal(result.edges.column("kind"), "identical"))
    rep = dict(
        zip(
            ident.column("record_id_r").to_pylist(),
            ident.column("record_id_l").to_pylist(),
            strict=True,
        )
    )
    ra, rb = rep.get(record_a, record_a), rep.get(record_b, record_b)
    out: dict[str, Any] = {"same_person": same, "linked": same}
    if ra == rb:
        out.update(kind="identical", match_weight=None, match_probability=1.0, weights={})
        return out
    row = _find(result.edges, ra, rb) or _find(result.pairs, ra, rb)
    if row is None:
        out.update(kind="not compared", match_weight=None, match_probability=None, weights={})
    else:
        out.update(
            kind=row["kind"],
            match_weight=row["match_weight"],
            match_probability=row["match_probability"],
            weights=json.loads(row["detail"]) if row["detail"] else {},
        )
    if (same and row is None) or (
        row is not None and row["kind"] == "model" and same and _find(result.edges, ra, rb) is None
    ):
        out["path"] = _path(result, ra, rb)
    return out


def _path(result: LinkResult, a: str, b: str) -> list[dict[str, Any]]:
    """Edges on a shortest path from a to b over the result's edges."""
    from collections import deque

    adj: dict[str, list[dict[str, Any]]] = {}
    edges = result.edges.filter(pc.not_equal(result.edges.column("kind"), "identical"))
    for row in edges.to_pylist():
        adj.setdefault(row["record_id_l"], []).append(row)
        adj.setdefault(row["record_id_r"], []).append(row)
    prev: dict[str, dict[str, Any] | None] = {a: None}
    queue = deque([a])
    while queue:
        node = queue.popleft()
        if node == b:
            break
        for row in adj.get(node, []):
            nxt = row["record_id_r"] if row["record_id_l"] == node else row["record_id_l"]
            if nxt not in prev:
                prev[nxt] = row
                queue.append(nxt)
    if b not in prev:
        return []
    path: list[dict[str, Any]] = []
    node = b
    while prev[node] is not None:
        row = prev[node]
        assert row is not None
        path.append(row)
        node = row["record_id_r"] if row["record_id_l"] == node else row["record_id_l"]
    return list(reversed(path))
