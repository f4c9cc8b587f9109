"""The analytical lake: one Parquet file per table under the lake directory, read with DuckDB.

Writes go to a hidden temporary file beside the target and are renamed into place, so a
killed run leaves either the previous table or the new one, never a half-written file.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["Lake", "LakeError"]

_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class LakeError(ValueError):
    """A lake operation was asked for something it cannot do."""


class Lake:
    """Parquet tables in one directory, queried in-process with DuckDB."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, name: str) -> Path:
        """Where table ``name`` lives."""
        if not _TABLE_NAME.match(name):
            raise LakeError(
                f"bad table name {name!r}: use lower-case letters, digits and underscores"
            )
        return self.root / f"{name}.parquet"

    def tables(self) -> list[str]:
        """Names of the tables present, sorted."""
        if not self.root.exists():
            return []
        return sorted(p.stem for p in self.root.glob("*.parquet") if _TABLE_NAME.match(p.stem))

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def write_arrow(self, name: str, table: pa.Table) -> Path:
        """Replace table ``name`` with ``table`` atomically."""
        target = self.path(name)
        with self._aside(target) as tmp:
            pq.write_table(table, tmp, compression="zstd")
        return target

    def write_query(self, name: str, sql: str) -> Path:
        """Replace table ``name`` with the result of a DuckDB query over the lake."""
        target = self.path(name)
        with self._aside(target) as tmp, self.connect() as con:
            escaped = str(tmp).replace("'", "''")
            con.execute(f"COPY ({sql}) TO '{escaped}' (FORMAT parquet, COMPRESSION zstd)")
        return target

    def read_arrow(self, name: str) -> pa.Table:
        """Read a whole table."""
        path = self.path(name)
        if not path.exists():
            raise LakeError(f"lake table {name!r} does not exist under {self.root}")
        return pq.read_table(path)

    def row_count(self, name: str) -> int:
        return int(pq.ParquetFile(self.path(name)).metadata.num_rows)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB connection with a view per lake table."""
        con = duckdb.connect(":memory:")
        try:
            for name in self.tables():
                escaped = str(self.path(name)).replace("'", "''")
                # name is checked against _TABLE_NAME and the path is quoted.
                sql = f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{escaped}')"  # noqa: S608
                con.execute(sql)
            yield con
        finally:
            con.close()

    @contextmanager
    def _aside(self, target: Path) -> Iterator[Path]:
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
