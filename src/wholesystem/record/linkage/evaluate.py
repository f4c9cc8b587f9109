"""Evaluation of linkage against the ground truth written by ``wholesystem synth``.

:func:`source_records_from_synth` builds one source record per distinct
(org, dataset, local_patient_id, identity values) from every CSV extract and every FHIR
Patient; :func:`evaluate` scores a clustering of those records against
``truth/records.csv`` (pairwise precision, recall, F1, cluster purity) and counts the
false merges and false splits by cause using ``truth/people.csv``.
"""

# SQL here is assembled from this module's own constants and checked identifiers; values
# come in as parameters, registered tables or quoted paths, never as user text.
# ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

__all__ = [
    "LinkageMetrics",
    "evaluate",
    "source_records_from_synth",
]

_IDENT = (
    "nhs_number",
    "local_patient_id",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "postcode",
)
_NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _fhir_patients(path: Path, org: str) -> list[dict[str, Any]]:
    """Identity of the Patient in each Bundle line (the Patient is decoded alone)."""
    decoder = json.JSONDecoder()
    out: list[dict[str, Any]] = []
    marker = '"resource":'
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            patient: dict[str, Any] | None = None
            at = line.find(marker)
            if at >= 0:
                obj, _ = decoder.raw_decode(line, at + len(marker))
                if isinstance(obj, dict) and obj.get("resourceType") == "Patient":
                    patient = obj
            if patient is None:
                bundle = json.loads(line)
                for entry in bundle.get("entry", []):
                    res = entry.get("resource", {})
                    if res.get("resourceType") == "Patient":
                        patient = res
                        break
            if patient is None:
                continue
            nhs = local = None
            for ident in patient.get("identifier", []):
                if ident.get("system") == _NHS_SYSTEM:
                    nhs = ident.get("value")
                elif local is None:
                    local = ident.get("value")
            names = patient.get("name") or [{}]
            name = next((n for n in names if n.get("use") == "official"), names[0])
            addresses = patient.get("address") or [{}]
            gender = patient.get("gender")
            out.append(
                {
                    "org": org,
                    "dataset": "gp_fhir",
                    "local_patient_id": local or patient.get("id"),
                    "nhs_number": nhs,
                    "given_name": " ".join(name.get("given") or []) or None,
                    "family_name": name.get("family"),
                    "date_of_birth": patient.get("birthDate"),
                    "sex": {"male": "M", "female": "F"}.get(gender or ""),
                    "postcode": addresses[0].get("postalCode"),
                }
            )
    return out


def source_records_from_synth(
    synth_dir: Path, progress: Callable[[str], None] | None = None
) -> pa.Table:
    """One record per distinct (org, dataset, local_patient_id, identity values).

    Columns: record_id, source, dataset, local_patient_id, nhs_number, given_name,
    family_name, date_of_birth, sex, postcode (all text). ``source`` is the org code.
    """
    extracts = Path(synth_dir) / "extracts"
    csvs = sorted(extracts.glob("*/*/*.csv"))
    if not csvs and not list(extracts.glob("*/gp_fhir/*.ndjson")):
        raise FileNotFoundError(f"no extracts under {extracts}")
    con = duckdb.connect()
    try:
        parts: list[str] = []
        for i, path in enumerate(csvs):
            if progress:
                progress(f"reading {path.parent.parent.name}/{path.parent.name}")
            org, dataset = path.parent.parent.name, path.parent.name
            cols = ", ".join(f'"{c}"' for c in _IDENT)
            con.execute(
                f"CREATE TABLE part{i} AS SELECT DISTINCT '{org}' AS org, '{dataset}' AS dataset, "
                f"{cols} FROM read_csv('{_sql_path(path)}', all_varchar=true, header=true)"
            )
            parts.append(f"SELECT * FROM part{i}")
        fhir_rows: list[dict[str, Any]] = []
        for path in sorted(extracts.glob("*/gp_fhir/*.ndjson")):
            if progress:
                progress(f"reading {path.parent.parent.name}/gp_fhir")
            fhir_rows.extend(_fhir_patients(path, path.parent.parent.name))
        if fhir_rows:
            schema = pa.schema(
                [("org", pa.string()), ("dataset", pa.string())]
                + [(c, pa.string()) for c in _IDENT]
            )
            con.register("fhir", pa.Table.from_pylist(fhir_rows, schema=schema))
            parts.append("SELECT DISTINCT org, dataset, " + ", ".join(_IDENT) + " FROM fhir")
        union = " UNION ALL ".join(parts)
        table: pa.Table = con.sql(
            f"""
            SELECT org || ':' || dataset || ':' || local_patient_id || ':' ||
                   CAST(row_number() OVER (PARTITION BY org, dataset, local_patient_id
                        ORDER BY nhs_number, given_name, family_name, date_of_birth, sex,
                                 postcode) AS VARCHAR) AS record_id,
                   org AS source, dataset, local_patient_id, nhs_number, given_name,
                   family_name, date_of_birth, sex, postcode
            FROM ({union})
            ORDER BY record_id
            """
        ).to_arrow_table()
        return table
    finally:
        con.close()


@dataclass
class LinkageMetrics:
    """Pairwise and cluster measures of a clustering against the truth."""

    records: int
    true_persons: int
    predicted_persons: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    precision: float
    recall: float
    f1: float
    purity: float
    false_merges: dict[str, int] = field(default_factory=dict)
    false_splits: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def evaluate(records: pa.Table, clusters: pa.Table, synth_dir: Path) -> LinkageMetrics:
    """Score ``clusters`` (record_id, cluster or person_id) for ``records`` (from
    :func:`source_records_from_synth`) against ``synth_dir``/truth."""
    truth_dir = Path(synth_dir) / "truth"
    con = duckdb.connect()
    try:
        con.register("recs", records)
        con.register("clus", clusters)
        cluster_col = clusters.column_names[1]
        con.execute(
            f"""
            CREATE TABLE lab AS
            SELECT r.record_id, CAST(c."{cluster_col}" AS VARCHAR) AS pred, t.person_id AS truth,
                   r.nhs_number, r.given_name, r.family_name, r.date_of_birth, r.postcode
            FROM recs r
            JOIN clus c USING (record_id)
            JOIN read_csv('{_sql_path(truth_dir / "records.csv")}', all_varchar=true) t
              ON t.org_code = r.source AND t.dataset = r.dataset
             AND t.local_patient_id = r.local_patient_id
            """
        )
        row = con.sql(
            """
            WITH
            p AS (SELECT count(*) k FROM lab GROUP BY pred),
            t AS (SELECT count(*) k FROM lab GROUP BY truth),
            pt AS (SELECT count(*) k FROM lab GROUP BY pred, truth),
            pur AS (SELECT max(k) m FROM (SELECT pred, truth, count(*) k FROM lab
                                          GROUP BY pred, truth) GROUP BY pred)
            SELECT (SELECT count(*) FROM lab),
                   (SELECT count(*) FROM t), (SELECT count(*) FROM p),
                   (SELECT sum(k*(k-1)/2) FROM t), (SELECT sum(k*(k-1)/2) FROM p),
                   (SELECT sum(k*(k-1)/2) FROM pt), (SELECT sum(m) FROM pur)
            """
        ).fetchall()[0]
        assert row is not None
        n, tp_n, pp_n, tpairs, ppairs, correct, pure = (int(x or 0) for x in row)
        precision = correct / ppairs if ppairs else 1.0
        recall = correct / tpairs if tpairs else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        merges, splits = _hard_cases(con, truth_dir / "people.csv")
        return LinkageMetrics(
            records=n,
            true_persons=tp_n,
            predicted_persons=pp_n,
            true_pairs=tpairs,
            predicted_pairs=ppairs,
            correct_pairs=correct,
            precision=precision,
            recall=recall,
            f1=f1,
            purity=pure / n if n else 1.0,
            false_merges=merges,
            false_splits=splits,
        )
    finally:
        con.close()


def _hard_cases(
    con: duckdb.DuckDBPyConnection, people_csv: Path
) -> tuple[dict[str, int], dict[str, int]]:
    """False-merge and false-split record pairs, each counted under its first cause."""
    if not people_csv.exists():
        return {}, {}
    con.execute(
        f"""
        CREATE TABLE ppl AS SELECT person_id, household_id, nhs_number, twin, date_of_birth,
               previous_family_name, previous_postcode
        FROM read_csv('{_sql_path(people_csv)}', all_varchar=true)
        """
    )
    nhs = "regexp_replace(coalesce({}, ''), '[^0-9]', '', 'g')"
    merges = con.execute(
        f"""
        SELECT CASE
            WHEN pa.twin = 'Y' AND pb.twin = 'Y' AND pa.household_id = pb.household_id
                 AND pa.date_of_birth = pb.date_of_birth THEN 'twins'
            WHEN ({nhs.format("a.nhs_number")} = pb.nhs_number
                  OR {nhs.format("b.nhs_number")} = pa.nhs_number)
                 AND pa.household_id = pb.household_id THEN 'relative_nhs_number'
            WHEN {nhs.format("a.nhs_number")} = pb.nhs_number
                 OR {nhs.format("b.nhs_number")} = pa.nhs_number THEN 'other_wrong_nhs_number'
            WHEN pa.household_id = pb.household_id THEN 'same_household'
            ELSE 'other' END AS cause, count(*) AS n
        FROM lab a JOIN lab b ON a.pred = b.pred AND a.record_id < b.record_id
             AND a.truth <> b.truth
        JOIN ppl pa ON pa.person_id = a.truth JOIN ppl pb ON pb.person_id = b.truth
        GROUP BY cause ORDER BY cause
        """
    ).fetchall()
    up = "upper(regexp_replace(coalesce({}, ''), '[^A-Za-z]', '', 'g'))"
    pc = "upper(regexp_replace(coalesce({}, ''), '[^A-Za-z0-9]', '', 'g'))"
    swap = (
        "(a.date_of_birth IS NOT NULL AND b.date_of_birth IS NOT NULL AND "
        "substr(a.date_of_birth, 1, 4) = substr(b.date_of_birth, 1, 4) AND "
        "substr(a.date_of_birth, 6, 2) = substr(b.date_of_birth, 9, 2) AND "
        "substr(a.date_of_birth, 9, 2) = substr(b.date_of_birth, 6, 2))"
    )
    splits = con.execute(
        f"""
        SELECT CASE
            WHEN {up.format("a.family_name")} <> {up.format("b.family_name")}
                 AND p.previous_family_name IS NOT NULL THEN 'surname_change'
            WHEN {swap} THEN 'day_month_swap'
            WHEN {pc.format("a.postcode")} <> {pc.format("b.postcode")}
                 AND p.previous_postcode IS NOT NULL THEN 'moved'
            WHEN {nhs.format("a.nhs_number")} <> {nhs.format("b.nhs_number")}
                 AND {nhs.format("a.nhs_number")} <> '' AND {nhs.format("b.nhs_number")} <> ''
                 THEN 'nhs_number_differs'
            WHEN a.nhs_number IS NULL OR b.nhs_number IS NULL THEN 'nhs_number_missing'
            WHEN {up.format("a.given_name")} <> {up.format("b.given_name")}
                 THEN 'given_name_differs'
            ELSE 'other' END AS cause, count(*) AS n
        FROM lab a JOIN lab b ON a.truth = b.truth AND a.record_id < b.record_id
             AND a.pred <> b.pred
        JOIN ppl p ON p.person_id = a.truth
        GROUP BY cause ORDER BY cause
        """
    ).fetchall()
    return {str(c): int(k) for c, k in merges}, {str(c): int(k) for c, k in splits}
