"""The staged lake tables: one Parquet part per (dataset, organisation, source file).

``staged_<dataset>`` is the folder ``<lake>/staged_<dataset>/`` holding
``<org>/<file key>.parquet``, read together with a glob. Adding a file's rows writes one
new part; a corrected file replaces its own part; nothing else is rewritten. Every part
is written beside its target under a hidden temporary name and renamed into place (the
same write-aside-rename as :class:`wholesystem.store.lake.Lake`), so a reader sees the
old part or the new one, never half a file.

``source_identity`` (a plain lake table) holds one row per distinct identity a source
holds for a person: the linkage input. Each part's identities are also kept under
``<lake>/_identity/`` (a folder, not a table), stamped with the part's version, so that
rebuilding ``source_identity`` after an ingest reads only the parts that changed.
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
import pyarrow as pa
import pyarrow.parquet as pq

from wholesystem.record.engine import PART_ID_KEY
from wholesystem.record.schemas import IDENTITY_COLUMNS, staged_datasets
from wholesystem.store.lake import Lake

__all__ = [
    "IDENTITY_DIR",
    "SOURCE_IDENTITY",
    "SOURCE_IDENTITY_COLUMNS",
    "connect_staged",
    "identity_path",
    "part_path",
    "rebuild_source_identity",
    "remove_part",
    "staged_dir",
    "staged_glob",
    "staged_parts",
    "write_identities",
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
# The per-part identities rebuild_source_identity keeps: a folder, not a lake table.
IDENTITY_DIR = "_identity"
_STAMP_KEY = b"ws_part_stamp"
_TAIL = 64 * 1024
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
def _aside(target: Path, *, durable: bool = True) -> Iterator[Path]:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    try:
        yield tmp
        if durable:
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


def _identity_sql(dataset: str, relation: str) -> str:
    """The ``source_identity`` rows of one staged part's rows, ``relation`` (a
    ``read_parquet`` of the part, or a subquery of its columns), in the table's order.

    One row per distinct (source, dataset, local_patient_id, nhs_number, given_name,
    family_name, date_of_birth, sex, postcode). ``record_id`` is
    ``<org>:<dataset>:<local_patient_id>:<first 10 hex of the identity's SHA-256>``:
    stable across rebuilds, new for a new variant of a person's details.
    """
    hashed = " || '|' || ".join(
        f"coalesce(CAST({c} AS VARCHAR), '')" for c in IDENTITY_COLUMNS if c != "local_patient_id"
    )
    ident = ", ".join(IDENTITY_COLUMNS)
    # Every name here comes from the declarations, not from input; source is quoted.
    # The order is _ORDER's: the dataset is one, and within a local id the record ids
    # differ only in their hashes, so sorting by the hash rather than the whole id (long,
    # and alike for its first dozens of characters) gives the same order, faster.
    return (
        "SELECT org_code || ':' || dataset || ':' || local_patient_id || ':' || h "  # noqa: S608
        "AS record_id, org_code AS source, dataset, "
        "local_patient_id, nhs_number, given_name, family_name, "
        "CAST(date_of_birth AS DATE) AS date_of_birth, sex, postcode "
        f"FROM (SELECT *, left(sha256({hashed}), 10) AS h FROM ("
        # org_code as text: a part not yet written has it as an ENUM (see typed_sql).
        f"SELECT DISTINCT CAST(org_code AS VARCHAR) AS org_code, "
        f"{_sql_text(dataset)} AS dataset, {ident} "
        f"FROM {relation})) "
        "ORDER BY source, local_patient_id, h"
    )


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def identity_path(lake: Lake, part: Path) -> Path:
    """Where the identities of one staged part are kept (see :func:`write_identities`)."""
    return lake.root / IDENTITY_DIR / part.relative_to(lake.root)


def _stamp(part: Path) -> str:
    """What tells one version of a part from another, cheaply.

    Its id (see :data:`~wholesystem.record.engine.PART_ID_KEY`), new for every part
    written, from the Parquet footer. A part without one (written before parts had ids):
    size, modification time and inode (a part is only replaced by renaming a newly
    written file onto it; the rename keeps them), and a hash of the file's tail, which
    holds the footer: every column chunk's offsets and statistics.
    """
    try:
        part_id: bytes | None = (pq.read_metadata(part).metadata or {}).get(PART_ID_KEY.encode())
    except (OSError, pa.ArrowException):
        part_id = None
    if part_id is not None:
        return "id:" + part_id.decode()
    st = part.stat()
    with open(part, "rb") as fh:
        fh.seek(max(st.st_size - _TAIL, 0))
        tail = hashlib.sha256(fh.read(_TAIL)).hexdigest()[:16]
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}:{tail}"


def _kept(path: Path) -> tuple[str | None, int, str | None]:
    """A kept identities file's stamp, rows and its one source (None when it holds
    several, or cannot be read), from its footer alone."""
    try:
        meta = pq.read_metadata(path)
    except (OSError, pa.ArrowException):
        return None, 0, None
    stamp = (meta.metadata or {}).get(_STAMP_KEY)
    return (stamp.decode() if stamp is not None else None), meta.num_rows, _one_source(meta)


def _one_source(meta: pq.FileMetaData) -> str | None:
    """The value of column ``source`` when its statistics show one value throughout."""
    index = meta.schema.names.index("source")
    found: set[object] = set()
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(index).statistics
        if stats is None or not stats.has_min_max or stats.null_count:
            return None
        found.update((stats.min, stats.max))
    return str(found.pop()) if len(found) == 1 else None


def write_identities(
    con: duckdb.DuckDBPyConnection, lake: Lake, dataset: str, part: Path, written: Path
) -> None:
    """Keep the ``source_identity`` rows of one staged part, for the next rebuild.

    ``part`` is where the part lives (or will, once committed); ``written`` is its file
    now (its temporary name before the commit renames it, which keeps its stamp). The
    rows are stored with the part's stamp: :func:`rebuild_source_identity` uses them
    while the part is unchanged and works them out again otherwise.
    """
    _keep(con, lake, dataset, part, f"read_parquet({_sql_path(written)})", _stamp(written))


def _keep(
    con: duckdb.DuckDBPyConnection, lake: Lake, dataset: str, part: Path, rows: str, stamp: str
) -> None:
    target = identity_path(lake, part)
    # Not synced to disk: a file lost or cut short in a crash is worked out again.
    with _aside(target, durable=False) as tmp:
        con.execute(
            f"COPY ({_identity_sql(dataset, rows)}) TO {_sql_path(tmp)} "
            f"(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, "
            f"KV_METADATA {{{_STAMP_KEY.decode()}: {_sql_text(stamp)}}})"
        )


def _identity_schema() -> pa.Schema:
    return pa.schema(
        pa.field(c, pa.date32() if c == "date_of_birth" else pa.string())
        for c in SOURCE_IDENTITY_COLUMNS
    )


_ORDER = "ORDER BY source, dataset, local_patient_id, record_id"


def _merged(con: duckdb.DuckDBPyConnection, files: list[Path]) -> pa.Table:
    """The identities kept in ``files`` as one table, duplicates dropped, in the table's
    order."""
    schema = _identity_schema()
    con.register("ws_identities", pa.concat_tables(pq.read_table(f).cast(schema) for f in files))
    try:
        merged: pa.Table = con.sql(
            f"SELECT DISTINCT * FROM ws_identities {_ORDER}"  # noqa: S608
        ).to_arrow_table()
    finally:
        con.unregister("ws_identities")
    return merged.cast(schema)


def rebuild_source_identity(lake: Lake, con: duckdb.DuckDBPyConnection | None = None) -> int:
    """Bring ``source_identity`` up to date with every staged part; returns its row count.

    Each part's identities (see :func:`_identity_sql`) are worked out once and kept
    beside the lake (:func:`write_identities`; ingest does it as it stages a part), so a
    rebuild reads only the parts added or replaced since. The table is written in parts
    (:meth:`Lake.write_parts`), one per organisation and dataset, named for the versions
    of the staged parts behind it, in (organisation, dataset) order: each part's rows are
    in the table's order. An organisation and dataset with one staged part takes that
    part's kept identities as they are (a hard link); one with several has them merged,
    duplicates dropped, and sorted, once for each new set of versions. Nothing else is
    read or written, so the cost of a rebuild follows what changed, not the lake's size.
    ``con``: a DuckDB connection to work on (through a cursor of its own) rather than a
    new database, which costs about as much to start as a small rebuild.
    """
    # Per organisation and dataset, each staged part's kept identities: file, stamp, rows.
    groups: dict[tuple[str, str], list[tuple[Path, str, int]]] = {}
    mixed: list[tuple[Path, str, int]] = []  # parts of several organisations (none ingest writes)
    parts: list[tuple[str, Path | pa.Table]] = []
    rows = 0
    con = con.cursor() if con is not None else duckdb.connect(":memory:")
    try:
        for ds in staged_datasets():
            for part in staged_parts(lake, ds.name):
                kept, stamp = identity_path(lake, part), _stamp(part)
                kept_stamp, count, source = _kept(kept)
                if kept_stamp != stamp:
                    write_identities(con, lake, ds.name, part, part)
                    _, count, source = _kept(kept)
                if count == 0:
                    continue
                if source is None:
                    mixed.append((kept, stamp, count))
                else:
                    groups.setdefault((source, ds.name), []).append((kept, stamp, count))
        _drop_stale_identities(lake)
        if mixed:  # one part of everything, merged
            groups = {("all", "all"): [*mixed, *(m for ms in groups.values() for m in ms)]}
        current = {f.name: f for f in lake.files(SOURCE_IDENTITY)}
        for (source, dataset), members in sorted(groups.items()):
            digest = hashlib.sha256("\n".join(sorted(s for _, s, _ in members)).encode())
            name = f"{_key(source)}.{_key(dataset)}.{digest.hexdigest()[:16]}.parquet"
            if len(members) == 1:
                kept, _, count = members[0]
                parts.append((name, current.get(name, kept)))
                rows += count
            elif name in current:
                parts.append((name, current[name]))
                rows += int(pq.read_metadata(current[name]).num_rows)
            else:
                merged = _merged(con, [kept for kept, _, _ in members])
                parts.append((name, merged))
                rows += merged.num_rows
    finally:
        con.close()
    if not parts:
        parts.append(("empty.parquet", _identity_schema().empty_table()))
    lake.write_parts(SOURCE_IDENTITY, parts)
    return rows


def _drop_stale_identities(lake: Lake) -> None:
    """Remove kept identities whose part is gone."""
    root = lake.root / IDENTITY_DIR
    if not root.exists():
        return
    for kept in root.glob("*/*/*.parquet"):
        if not (lake.root / kept.relative_to(root)).exists():
            remove_part(kept)
