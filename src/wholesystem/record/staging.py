"""The staged lake tables: one Parquet part per (dataset, organisation, source file).

``staged_<dataset>`` is the folder ``<lake>/staged_<dataset>/`` holding
``<org>/<file key>.parquet``, read together with a glob. Adding a file's rows writes one
new part; a corrected file replaces its own part; nothing else is rewritten. Every part
is written beside its target under a hidden temporary name and renamed into place (the
same write-aside-rename as :class:`wholesystem.store.lake.Lake`), so a reader sees the
old part or the new one, never half a file.

``source_identity`` (a plain lake table) holds one row per distinct identity a source
holds for a person: the linkage input.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from wholesystem.record.schemas import IDENTITY_COLUMNS, staged_datasets
from wholesystem.store.lake import Lake

__all__ = [
    "SOURCE_IDENTITY",
    "SOURCE_IDENTITY_COLUMNS",
    "connect_staged",
    "part_path",
    "rebuild_source_identity",
    "remove_part",
    "staged_dir",
    "staged_glob",
    "staged_parts",
]

SOURCE_IDENTITY = "source_identity"
SOURCE_IDENTITY_COLUMNS = (
    "record_id",
    "source",
    "dataset",
    "local_patient_id",
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "postcode",
)
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def staged_dir(lake: Lake, dataset: str) -> Path:
    """The folder of ``staged_<dataset>``."""
    return lake.root / f"staged_{dataset}"


def _key(text: str) -> str:
    safe = _SAFE.sub("_", text).strip("._") or "file"
    if safe != text:
        safe = f"{safe[:80]}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return safe[:120]


def part_path(lake: Lake, dataset: str, org_code: str, file_key: str) -> Path:
    """Where the part for one source file of one organisation lives."""
    return staged_dir(lake, dataset) / _key(org_code) / f"{_key(file_key)}.parquet"


def staged_parts(lake: Lake, dataset: str) -> list[Path]:
    """Every part of ``staged_<dataset>``, sorted."""
    root = staged_dir(lake, dataset)
    return sorted(root.glob("*/*.parquet")) if root.exists() else []


def staged_glob(lake: Lake, dataset: str) -> str | None:
    """A glob DuckDB's read_parquet reads the table with; None when it has no rows yet."""
    if not staged_parts(lake, dataset):
        return None
    return str(staged_dir(lake, dataset) / "*" / "*.parquet")


@contextmanager
def _aside(target: Path) -> Iterator[Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def remove_part(path: Path) -> None:
    """Remove one part (its rows leave the staged table at once)."""
    with suppress(FileNotFoundError):
        path.unlink()


def connect_staged(
    lake: Lake, con: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with a view ``staged_<dataset>`` per staged table with rows."""
    con = con or duckdb.connect(":memory:")
    for ds in staged_datasets():
        glob = staged_glob(lake, ds.name)
        if glob is not None:
            con.execute(
                f"CREATE OR REPLACE VIEW staged_{ds.name} AS "  # noqa: S608
                f"SELECT * FROM read_parquet({_sql_path(Path(glob))}, union_by_name = true)"
            )
    return con


def rebuild_source_identity(lake: Lake) -> int:
    """Rewrite ``source_identity`` from every staged table; returns its row count.

    One row per distinct (source, dataset, local_patient_id, nhs_number, given_name,
    family_name, date_of_birth, sex, postcode). ``record_id`` is
    ``<org>:<dataset>:<local_patient_id>:<first 10 hex of the identity's SHA-256>``:
    stable across rebuilds, new for a new variant of a person's details.
    """
    con = connect_staged(lake)
    try:
        ident = ", ".join(IDENTITY_COLUMNS)
        selects = [
            f"SELECT DISTINCT org_code, '{ds.name}' AS dataset, {ident} FROM staged_{ds.name}"  # noqa: S608
            for ds in staged_datasets()
            if staged_glob(lake, ds.name) is not None
        ]
        if not selects:
            body = (
                "SELECT NULL::VARCHAR AS org_code, NULL::VARCHAR AS dataset, "
                + ", ".join(
                    f"NULL::{'DATE' if c == 'date_of_birth' else 'VARCHAR'} AS {c}"
                    for c in IDENTITY_COLUMNS
                )
                + " WHERE false"
            )
        else:
            body = " UNION ".join(selects)
        hashed = " || '|' || ".join(
            f"coalesce(CAST({c} AS VARCHAR), '')"
            for c in IDENTITY_COLUMNS
            if c != "local_patient_id"
        )
        # Every name here comes from the declarations, not from input.
        sql = (
            "SELECT org_code || ':' || dataset || ':' || local_patient_id || ':' || "  # noqa: S608
            f"left(sha256({hashed}), 10) AS record_id, org_code AS source, dataset, "
            "local_patient_id, nhs_number, given_name, family_name, "
            "CAST(date_of_birth AS DATE) AS date_of_birth, sex, postcode "
            f"FROM ({body}) ORDER BY source, dataset, local_patient_id, record_id"
        )
        target = lake.path(SOURCE_IDENTITY)
        with _aside(target) as tmp:
            con.execute(f"COPY ({sql}) TO {_sql_path(tmp)} (FORMAT parquet, COMPRESSION zstd)")
        return lake.row_count(SOURCE_IDENTITY)
    finally:
        con.close()
