"""The linkage engine: standardise, collapse, deterministic pass, probabilistic pass, cluster.

1. **Standardise** every record (:mod:`.standardise`) and collapse records whose
   standardised identity is identical into one *identity* (most of a person's records
   across partners are identical once spacing and case are normalised).
2. **Deterministic pass.** Identities sharing a valid NHS number are linked unless their
   demographics *contradict* (:func:`contradiction_sql`). Within an NHS number that has a
   contradiction, identities are grouped greedily (most records first) into clusters with
   no internal contradiction; the largest is the number's owner ("anchored"), the others
   go to the probabilistic pass.
3. **Probabilistic pass** (Splink, DuckDB backend) for identities without a valid NHS
   number and for contradicted ones ("needy"): candidate pairs are *needy x all* on
   several blocking keys, so two people each with their own uncontradicted NHS number are
   never compared and common-name blocks stay small. m probabilities are estimated from
   the deterministic pairs (labelled positives) when there are enough, otherwise by EM;
   u by random sampling.
4. **Clustering**: deterministic clusters plus model edges at or above the threshold,
   joined greedily from the strongest edge down, refusing any join that would put two
   anchored NHS numbers in one person.
"""

# SQL here is assembled from this module's own constants and checked identifiers; values
# come in as parameters, registered tables or quoted paths, never as user text.
# ruff: noqa: S608

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from wholesystem.record.linkage.model import (
    present_columns,
    quiet_splink,
    splink_settings,
)
from wholesystem.record.linkage.standardise import register_nicknames, standardise_sql

__all__ = [
    "BLOCKING_KEYS",
    "LinkResult",
    "LinkSettings",
    "contradiction_sql",
    "contradicts",
    "link",
]

BLOCKING_KEYS: tuple[tuple[str, str], ...] = (
    ("dob_given", "l.dob = r.dob AND l.given_canon = r.given_canon"),
    ("dob_family", "l.dob = r.dob AND l.family = r.family"),
    ("dob_swap_family", "l.dob_swap = r.dob AND l.family = r.family"),
    ("dob_swap_given", "l.dob_swap = r.dob AND l.given_canon = r.given_canon"),
    ("postcode_given", "l.postcode = r.postcode AND l.given_canon = r.given_canon"),
    ("postcode_dob", "l.postcode = r.postcode AND l.dob = r.dob"),
    ("given_family", "l.given_canon = r.given_canon AND l.family = r.family"),
    ("postcode_family", "l.postcode = r.postcode AND l.family = r.family"),
    ("names_swapped_dob", "l.given = r.family AND l.dob = r.dob"),
    ("names_swapped_postcode", "l.given = r.family AND l.postcode = r.postcode"),
    ("names_swapped", "l.given = r.family AND l.family = r.given"),
    (
        "address_start_postcode",
        "left(l.address, 10) = left(r.address, 10) AND l.postcode = r.postcode",
    ),
    ("address_start_dob", "left(l.address, 10) = left(r.address, 10) AND l.dob = r.dob"),
    (
        "address_start_given",
        "left(l.address, 10) = left(r.address, 10) AND l.given_canon = r.given_canon",
    ),
    ("address_start_family", "left(l.address, 10) = left(r.address, 10) AND l.family = r.family"),
    ("address_end_dob", "right(l.address, 12) = right(r.address, 12) AND l.dob = r.dob"),
    (
        "address_end_given",
        "right(l.address, 12) = right(r.address, 12) AND l.given_canon = r.given_canon",
    ),
    ("nhs", "l.nhs = r.nhs"),
)
"""Candidate-pair keys for the probabilistic pass: each joins needy identities to all
identities on two discriminating fields, so no block is one common name alone."""


@dataclass(frozen=True)
class LinkSettings:
    """Thresholds of the engine (see docs/linkage.md for how they were chosen)."""

    match_probability: float = 0.8
    """Model edges at or above this probability join two identities."""
    given_agree_jw: float = 0.88
    """Given names agree (for the contradiction rule) at this Jaro-Winkler or above."""
    family_agree_jw: float = 0.88
    max_nhs_group: int = 50
    """An NHS number on more identities than this is not trusted at all."""
    u_max_pairs: float = 2e6
    min_label_pairs: int = 300
    """Fewer deterministic pairs than this: train m by EM instead."""
    seed: int = 1
    memory_limit: str | None = "2GB"
    """DuckDB memory limit for a connection the engine opens (it spills to disk beyond)."""


@dataclass
class LinkResult:
    """What :func:`link` found."""

    clusters: pa.Table
    """record_id, cluster (int, 0..n-1 in order of each cluster's smallest record_id)."""
    edges: pa.Table
    """Why records are linked: record_id_l, record_id_r, kind ('identical', 'nhs', 'model'),
    match_weight, match_probability, detail (JSON text: weights per comparison)."""
    pairs: pa.Table
    """Every pair the model scored (same columns as edges, kind 'model'); includes the
    pairs below the threshold, so a "why not linked" question can be answered."""
    stats: dict[str, Any] = field(default_factory=dict)
    model_json: str = ""


def contradiction_sql(settings: LinkSettings = LinkSettings()) -> str:
    """SQL over aliases ``l``/``r`` (standardised identities): do they contradict?

    Two records sharing an NHS number contradict when any of:

    * given names disagree: both present, different canonical forms, Jaro-Winkler below
      ``given_agree_jw`` (twins: Jack/Jacob; a parent's or child's number keyed),
    * dates of birth disagree: both present and not equal, not a day/month swap, not one
      digit apart, not one day apart (a relative of another generation),
    * sex differs *and* family names disagree (both present, Jaro-Winkler below
      ``family_agree_jw``) -- a spouse's number.

    Missing values never contradict; a surname change or a move alone never does.
    """
    g, f = settings.given_agree_jw, settings.family_agree_jw
    given_dis = (
        "(l.given IS NOT NULL AND r.given IS NOT NULL AND l.given_canon <> r.given_canon "
        f"AND jaro_winkler_similarity(l.given, r.given) < {g})"
    )
    dob_dis = (
        "(l.dob IS NOT NULL AND r.dob IS NOT NULL AND l.dob <> r.dob "
        "AND coalesce(l.dob_swap <> r.dob, true) "
        "AND levenshtein(CAST(l.dob AS VARCHAR), CAST(r.dob AS VARCHAR)) > 1 "
        "AND abs(date_diff('day', l.dob, r.dob)) > 1)"
    )
    sex_dis = "(l.sex IS NOT NULL AND r.sex IS NOT NULL AND l.sex <> r.sex)"
    family_dis = (
        "(l.family IS NOT NULL AND r.family IS NOT NULL "
        f"AND jaro_winkler_similarity(l.family, r.family) < {f})"
    )
    return f"({given_dis} OR {dob_dis} OR ({sex_dis} AND {family_dis}))"


def contradicts(
    a: dict[str, Any], b: dict[str, Any], settings: LinkSettings = LinkSettings()
) -> bool:
    """Apply :func:`contradiction_sql` to two raw identity records (dicts of text)."""
    cols = ("nhs_number", "given_name", "family_name", "date_of_birth", "sex", "postcode")
    rows = [
        {"record_id": str(i), "source": "", **{c: _text(rec.get(c)) for c in cols}}
        for i, rec in enumerate((a, b))
    ]
    con = duckdb.connect()
    try:
        register_nicknames(con)
        con.register("raw_pair", pa.Table.from_pylist(rows, schema=_raw_schema(cols)))
        con.execute(f"CREATE TABLE s AS {standardise_sql('raw_pair', False)}")
        row = con.execute(
            f"SELECT {contradiction_sql(settings)} FROM s l, s r "
            "WHERE l.record_id = '0' AND r.record_id = '1'"
        ).fetchall()[0]
    finally:
        con.close()
    assert row is not None
    return bool(row[0])


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _raw_schema(cols: tuple[str, ...]) -> pa.Schema:
    return pa.schema([(c, pa.string()) for c in ("record_id", "source", *cols)])


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.anchor: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: int, b: int, *, guarded: bool) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        anc_a, anc_b = self.anchor.get(ra), self.anchor.get(rb)
        if guarded and anc_a is not None and anc_b is not None and anc_a != anc_b:
            return False
        lo, hi = (ra, rb) if ra < rb else (rb, ra)
        self.parent[hi] = lo
        anchor = anc_a if anc_a is not None else anc_b
        if anchor is not None:
            self.anchor[lo] = anchor
        self.anchor.pop(hi, None)
        return True


def link(
    records: pa.Table | duckdb.DuckDBPyRelation,
    settings: LinkSettings = LinkSettings(),
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> LinkResult:
    """Link identity records (columns as :data:`.standardise.IDENTITY_COLUMNS`, text).

    ``record_id`` must be unique. Returns the clusters and the evidence.
    """
    import tempfile

    own = con is None
    with tempfile.TemporaryDirectory(prefix="linkage-spill-") as spill:
        db = duckdb.connect() if con is None else con
        if own and settings.memory_limit:
            db.execute(f"SET memory_limit = '{settings.memory_limit}'")
            db.execute(f"SET temp_directory = '{spill}'")
            db.execute("SET preserve_insertion_order = false")
        try:
            return _link(db, records, settings)
        finally:
            if own:
                db.close()


def _link(
    con: duckdb.DuckDBPyConnection,
    records: pa.Table | duckdb.DuckDBPyRelation,
    settings: LinkSettings,
) -> LinkResult:
    stats: dict[str, Any] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stats[f"seconds_{stage}"] = round(now - clock, 2)
        clock = now

    register_nicknames(con)
    con.register("linkage_raw", records)
    names = records.column_names if isinstance(records, pa.Table) else records.columns
    con.execute(
        "CREATE OR REPLACE TABLE linkage_std AS SELECT *, hash(nhs, given, family, dob, sex, "
        f"postcode, address) AS ikey FROM ({standardise_sql('linkage_raw', 'address' in names)})"
    )
    con.unregister("linkage_raw")
    # 1. identities: one row per distinct standardised identity
    con.execute(
        """
        CREATE OR REPLACE TABLE ident AS
        SELECT CAST(row_number() OVER (ORDER BY rep) - 1 AS BIGINT) AS uid, *
        FROM (
            SELECT ikey, min(record_id) AS rep, count(*) AS n_records,
                   count(DISTINCT source) AS n_sources,
                   any_value(nhs) AS nhs, any_value(given) AS given,
                   any_value(given_canon) AS given_canon, any_value(family) AS family,
                   any_value(dob) AS dob, any_value(dob_swap) AS dob_swap,
                   any_value(sex) AS sex, any_value(postcode) AS postcode,
                   any_value(outward) AS outward, any_value(address) AS address
            FROM linkage_std GROUP BY ikey
        )
        """
    )
    n_ident = _scalar(con, "SELECT count(*) FROM ident")
    stats["records"] = _scalar(con, "SELECT count(*) FROM linkage_std")
    stats["identities"] = n_ident

    lap("standardise")
    # 2. deterministic pass
    det_cluster, anchored, needy = _deterministic(con, settings, n_ident, stats)
    con.execute("CREATE OR REPLACE TABLE ident_flags (uid BIGINT, det BIGINT, needy BOOLEAN)")
    flags = pa.table(
        {
            "uid": pa.array(range(n_ident), pa.int64()),
            "det": pa.array([d if d >= 0 else None for d in det_cluster], pa.int64()),
            "needy": pa.array(needy, pa.bool_()),
        }
    )
    con.register("flags_arrow", flags)
    con.execute(
        """
        CREATE OR REPLACE TABLE ident2 AS
        SELECT i.*, f.det, f.needy,
               CASE WHEN NOT f.needy AND count(*) OVER (PARTITION BY f.det) > 1
                    THEN f.det END AS det_label
        FROM ident i JOIN flags_arrow f USING (uid) ORDER BY uid
        """
    )
    con.unregister("flags_arrow")

    lap("deterministic")
    # 3. probabilistic pass
    model_json = _probabilistic(con, settings, stats)
    lap("probabilistic")

    # 4. clustering; its working lists are gone before the evidence is built
    clusters, edges_model = _cluster(con, settings, det_cluster, anchored, stats)
    lap("cluster")
    edges = _edges(con, det_cluster, edges_model)
    del edges_model
    lap("evidence")
    return LinkResult(
        clusters=clusters,
        edges=edges,
        pairs=_pairs_by_record(con),
        stats=stats,
        model_json=model_json,
    )


def _cluster(
    con: duckdb.DuckDBPyConnection,
    settings: LinkSettings,
    det_cluster: list[int],
    anchored: list[bool],
    stats: dict[str, Any],
) -> tuple[pa.Table, list[tuple[int, int, float]]]:
    """Each record's cluster, and the model's edges that joined clusters.

    Deterministic clusters first; then the scored pairs over the threshold, most
    probable first (ties by identity), each joining two clusters unless both hold
    different valid NHS numbers.
    """
    n_ident = len(det_cluster)
    uf = _UnionFind(n_ident)
    for uid, det in enumerate(det_cluster):
        if det >= 0 and anchored[uid]:
            uf.anchor[uid] = det
    for uid, det in enumerate(det_cluster):
        if det >= 0 and det != uid:
            uf.union(uid, det, guarded=False)
    edges_model: list[tuple[int, int, float]] = []
    refused = 0
    order = con.sql(
        f"SELECT uid_l, uid_r, match_probability FROM {_SCORED_PAIRS} "
        "WHERE match_probability >= ? ORDER BY match_probability DESC, uid_l, uid_r",
        params=[settings.match_probability],
    ).to_arrow_table()
    for a, b, p in zip(
        order.column("uid_l").to_pylist(),
        order.column("uid_r").to_pylist(),
        order.column("match_probability").to_pylist(),
        strict=True,
    ):
        if uf.union(a, b, guarded=True):
            edges_model.append((a, b, p))
        else:
            refused += 1
    del order
    stats["model_edges"] = len(edges_model)
    stats["model_edges_refused_two_nhs"] = refused
    roots = [uf.find(u) for u in range(n_ident)]
    # number clusters by their smallest uid (uids follow the smallest record_id)
    number: dict[int, int] = {}
    cluster_of_uid = []
    for r in roots:
        if r not in number:
            number[r] = len(number)
        cluster_of_uid.append(number[r])
    stats["clusters"] = len(number)
    con.register(
        "uid_cluster",
        pa.table(
            {
                "uid": pa.array(range(n_ident), pa.int64()),
                "cluster": pa.array(cluster_of_uid, pa.int64()),
            }
        ),
    )
    clusters = con.sql(
        """
        SELECT s.record_id, c.cluster
        FROM linkage_std s JOIN ident i USING (ikey) JOIN uid_cluster c USING (uid)
        ORDER BY s.record_id
        """
    ).to_arrow_table()
    con.unregister("uid_cluster")
    return clusters, edges_model


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchall()[0]
    assert row is not None
    return int(row[0])


def _deterministic(
    con: duckdb.DuckDBPyConnection, settings: LinkSettings, n_ident: int, stats: dict[str, Any]
) -> tuple[list[int], list[bool], list[bool]]:
    """det cluster (root uid, -1 if none), anchored flag and needy flag per identity."""
    det = [-1] * n_ident
    anchored = [False] * n_ident
    needy = [True] * n_ident
    groups = con.sql(
        f"""
        SELECT nhs, list(uid ORDER BY n_sources DESC, n_records DESC, uid) AS uids,
               list(n_sources ORDER BY n_sources DESC, n_records DESC, uid) AS sizes
        FROM ident WHERE nhs IS NOT NULL GROUP BY nhs
        HAVING count(*) <= {settings.max_nhs_group}
        """
    ).to_arrow_table()
    contra = con.execute(
        f"""
        SELECT l.uid AS a, r.uid AS b
        FROM ident l JOIN ident r ON l.nhs = r.nhs AND l.uid < r.uid
        WHERE {contradiction_sql(settings)}
        """
    ).fetchall()
    bad: dict[int, set[int]] = defaultdict(set)
    for a, b in contra:
        bad[a].add(b)
        bad[b].add(a)
    stats["nhs_numbers"] = groups.num_rows
    stats["contradicted_nhs_pairs"] = len(contra)
    contradicted_numbers = 0
    n_records: dict[int, int] = {}  # here: distinct sources per identity
    for uids, sizes in zip(
        groups.column("uids").to_pylist(), groups.column("sizes").to_pylist(), strict=True
    ):
        if not any(u in bad for u in uids):
            root = min(uids)
            for u in uids:
                det[u] = root
                anchored[u] = True
                needy[u] = False
            continue
        contradicted_numbers += 1
        n_records.update(zip(uids, sizes, strict=True))
        clusters: list[list[int]] = []
        for u in uids:  # most records first
            for members in clusters:
                if not any(m in bad[u] for m in members):
                    members.append(u)
                    break
            else:
                clusters.append([u])
        totals = sorted((sum(n_records[u] for u in members) for members in clusters), reverse=True)
        # the number's owner: the cluster with strictly the most records, if there is one
        owner_clear = len(totals) == 1 or totals[0] > totals[1]
        for k, members in enumerate(clusters):
            root = min(members)
            for u in members:
                det[u] = root
                anchored[u] = k == 0 and owner_clear
                needy[u] = True
    stats["contradicted_nhs_numbers"] = contradicted_numbers
    stats["needy_identities"] = sum(needy)
    return det, anchored, needy


_SCORED_PAIRS = "linkage_scored_pairs"


def _probabilistic(
    con: duckdb.DuckDBPyConnection, settings: LinkSettings, stats: dict[str, Any]
) -> str:
    """Score the candidate pairs into the table :data:`_SCORED_PAIRS`; the model's JSON.

    The scores stay in DuckDB (under its memory limit, spilled if need be) rather than
    in Python: with their evidence text they are the largest thing the linkage makes.
    """
    from splink import DuckDBAPI, Linker, block_on

    # candidate pairs: needy x all, never two identities of one deterministic cluster
    selects = [
        f"""SELECT least(l.uid, r.uid) AS uid_l, greatest(l.uid, r.uid) AS uid_r,
                   '{name}' AS match_key
            FROM ident2 l JOIN ident2 r ON {cond}
            WHERE l.needy AND l.uid <> r.uid AND (NOT r.needy OR l.uid < r.uid)
              AND (l.det IS NULL OR r.det IS NULL OR l.det <> r.det)"""
        for name, cond in BLOCKING_KEYS
    ]
    con.execute(
        "CREATE OR REPLACE TABLE cand AS SELECT uid_l, uid_r, min(match_key) AS match_key "
        f"FROM ({' UNION ALL '.join(selects)}) GROUP BY uid_l, uid_r"
    )
    n_cand = _scalar(con, "SELECT count(*) FROM cand")
    stats["candidate_pairs"] = n_cand
    if n_cand == 0:
        con.execute(
            f"CREATE OR REPLACE TABLE {_SCORED_PAIRS} (uid_l BIGINT, uid_r BIGINT, "
            "match_weight DOUBLE, match_probability DOUBLE, detail VARCHAR)"
        )
        return ""
    present = present_columns(con, "ident2")
    n_ident = stats["identities"]
    label_pairs = _scalar(
        con,
        "SELECT coalesce(sum(k * (k - 1) / 2), 0) FROM "
        "(SELECT count(*) AS k FROM ident2 WHERE det_label IS NOT NULL GROUP BY det_label)",
    )
    stats["label_pairs"] = label_pairs
    use_labels = label_pairs >= settings.min_label_pairs
    if use_labels:
        # matching pairs ~ labelled pairs scaled up for identities without a usable number
        covered = _scalar(con, "SELECT count(*) FROM ident2 WHERE det_label IS NOT NULL")
        share = max(covered / n_ident, 0.05)
        expected = (label_pairs + (n_ident - covered) * 0.5) / share
    else:
        expected = max(n_ident / 2.0, 1.0)
    lam = min(max(expected / max(n_ident * (n_ident - 1) / 2, 1), 1e-9), 0.5)
    stats["probability_two_random_records_match"] = lam

    cols = [
        "uid",
        "given",
        "given_canon",
        "family",
        "dob",
        "dob_swap",
        "sex",
        "postcode",
        "outward",
        "address",
        "nhs",
        "det_label",
    ]
    db_api = DuckDBAPI(connection=con)
    con.execute(
        f"CREATE OR REPLACE VIEW linkage_splink_input AS SELECT {', '.join(cols)} FROM ident2"
    )
    with quiet_splink():
        df = db_api.register("linkage_splink_input", table_name="linkage_model_input")
        linker = Linker(
            df,
            splink_settings(present, probability_two_random_records_match=lam),
            log_level=None,
        )
        linker.training.estimate_u_using_random_sampling(
            max_pairs=settings.u_max_pairs, seed=settings.seed
        )
        if use_labels:
            linker.training.estimate_m_from_label_column("det_label")
        else:
            for rule in (block_on("dob"), block_on("given_canon", "family")):
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule, max_pairs=5e6
                )
        con.execute(
            "CREATE OR REPLACE TABLE cand_pairs AS SELECT match_key, uid_l AS join_key_l, "
            "uid_r AS join_key_r FROM cand"
        )
        blocked = db_api.register("cand_pairs", table_name="linkage_blocked_pairs")
        linker.table_management.register_blocked_pairs_for_predict(blocked)
        predictions = linker.inference.predict()
        model_json = _model_json(linker)
    pred_name = predictions.physical_name
    comp_names = [c["output_column_name"] for c in splink_settings(present)["comparisons"]]
    detail = ", ".join(
        f"'{c}', round(mw_{c}"
        + (f" + coalesce(mw_tf_adj_{c}, 0)" if c in {"given", "family", "postcode"} else "")
        + ", 2)"
        for c in comp_names
    )
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {_SCORED_PAIRS} AS
        SELECT uid_l, uid_r, match_weight, match_probability,
               CAST(json_object({detail}) AS VARCHAR) AS detail
        FROM {pred_name}
        """
    )
    return model_json


def _model_json(linker: Any) -> str:
    import json

    settings = linker.misc.save_model_to_json()
    return json.dumps(settings, default=str)


def _edges(
    con: duckdb.DuckDBPyConnection,
    det_cluster: list[int],
    model_edges: list[tuple[int, int, float]],
) -> pa.Table:
    """Evidence per identity edge, expressed between representative record ids (in SQL)."""
    det_l = [d for u, d in enumerate(det_cluster) if d >= 0 and d != u]
    det_r = [u for u, d in enumerate(det_cluster) if d >= 0 and d != u]
    con.register(
        "det_edges", pa.table({"a": pa.array(det_l, pa.int64()), "b": pa.array(det_r, pa.int64())})
    )
    con.register(
        "model_edges",
        pa.table(
            {
                "a": pa.array([e[0] for e in model_edges], pa.int64()),
                "b": pa.array([e[1] for e in model_edges], pa.int64()),
                "p": pa.array([e[2] for e in model_edges], pa.float64()),
            }
        ),
    )
    edges = con.sql(
        """
        SELECT ia.rep AS record_id_l, ib.rep AS record_id_r, 'nhs' AS kind,
               CAST(NULL AS DOUBLE) AS match_weight, 1.0::DOUBLE AS match_probability,
               '{"rule": "same valid NHS number, demographics do not contradict"}' AS detail
        FROM det_edges e JOIN ident ia ON ia.uid = e.a JOIN ident ib ON ib.uid = e.b
        UNION ALL
        SELECT ia.rep, ib.rep, 'model', s.match_weight, e.p, s.detail
        FROM model_edges e JOIN {scored} s ON s.uid_l = e.a AND s.uid_r = e.b
        JOIN ident ia ON ia.uid = e.a JOIN ident ib ON ib.uid = e.b
        UNION ALL
        SELECT i.rep, s.record_id, 'identical', NULL, 1.0,
               '{"rule": "identical after standardisation"}'
        FROM linkage_std s JOIN ident i USING (ikey) WHERE s.record_id <> i.rep
        """.replace("{scored}", _SCORED_PAIRS)
    ).to_arrow_table()
    for name in ("det_edges", "model_edges"):
        con.unregister(name)
    return edges


def _pairs_by_record(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """Every scored pair, between representative record ids, with its evidence."""
    return con.sql(
        f"""
        SELECT a.rep AS record_id_l, b.rep AS record_id_r, 'model' AS kind,
               p.match_weight, p.match_probability, p.detail
        FROM {_SCORED_PAIRS} p JOIN ident a ON a.uid = p.uid_l JOIN ident b ON b.uid = p.uid_r
        ORDER BY 1, 2
        """
    ).to_arrow_table()
