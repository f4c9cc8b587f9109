"""The analytical lake: Parquet tables under the lake directory, read with DuckDB.

A table is one Parquet file, ``<name>.parquet``, or, when written in parts
(:meth:`Lake.write_parts`), a folder of them: ``<name>`` is then a symbolic link to one
version of the folder, so that a new version whose parts are mostly the previous one's
costs only the parts that changed (each unchanged part is a hard link, not a copy).
Writes go to a hidden temporary file (or folder) beside the target and are renamed
into place, so a killed run leaves either the previous table or the new one, never a
half-written one.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["Lake", "LakeError"]

_TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_PART_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.parquet$")


def _link(source: Path, dest: Path) -> None:
    """``dest`` as another name for ``source``; a copy where hard links are not had."""
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)


class LakeError(ValueError):
    """A lake operation was asked for something it cannot do."""


class Lake:
    """Parquet tables in one directory, queried in-process with DuckDB."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, name: str) -> Path:
        """Where table ``name`` lives when written whole (see :meth:`files`)."""
        if not _TABLE_NAME.match(name):
            raise LakeError(
                f"bad table name {name!r}: use lower-case letters, digits and underscores"
            )
        return self.root / f"{name}.parquet"

    def _folder(self, name: str) -> Path:
        """The link to the current version of table ``name`` written in parts."""
        return self.path(name).with_suffix("")

    def _parted(self, name: str) -> Path | None:
        """The folder holding the current version of table ``name`` when it was written in
        parts: where its link points, or the folder itself in a copy of the lake that
        followed links."""
        folder = self._folder(name)
        return folder.resolve() if folder.is_dir() else None

    def _versions(self, name: str) -> Path:
        return self.root / f".{name}.versions"

    def tables(self) -> list[str]:
        """Names of the tables present, sorted."""
        if not self.root.exists():
            return []
        whole = {p.stem for p in self.root.glob("*.parquet") if _TABLE_NAME.match(p.stem)}
        parted = {
            p.name
            for p in self.root.iterdir()
            if _TABLE_NAME.match(p.name) and p.is_dir() and any(p.glob("*.parquet"))
        }
        return sorted(whole | parted)

    def exists(self, name: str) -> bool:
        return bool(self.files(name))

    def files(self, name: str) -> list[Path]:
        """The Parquet files holding table ``name``, in the table's order; none when absent.

        One file for a table written whole; for one written in parts, its parts in name
        order, as found in the current version (resolved once, so that a reader keeps
        one version even if a new one replaces it meanwhile).
        """
        parted = self._parted(name)
        if parted is not None:
            return sorted(parted.glob("*.parquet"))
        path = self.path(name)
        return [path] if path.exists() else []

    def scan_sql(self, name: str) -> str:
        """SQL reading table ``name`` (a ``read_parquet`` of its files, quoted)."""
        files = self.files(name)
        if not files:
            raise LakeError(f"lake table {name!r} does not exist under {self.root}")
        quoted = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        return f"read_parquet([{quoted}])"

    def state(self, name: str) -> tuple[object, ...]:
        """What tells one version of table ``name`` from another, cheaply; () when absent."""
        folder = self._folder(name)
        if folder.is_symlink():
            return ("parts", os.readlink(folder))
        if folder.is_dir():
            return ("parts", *((f.name, f.stat().st_mtime_ns) for f in self.files(name)))
        try:
            st = self.path(name).stat()
        except FileNotFoundError:
            return ()
        return ("file", st.st_ino, st.st_mtime_ns, st.st_size)

    def write_arrow(self, name: str, table: pa.Table) -> Path:
        """Replace table ``name`` with ``table`` atomically."""
        target = self.path(name)
        with self._aside(target) as tmp:
            pq.write_table(table, tmp, compression="zstd")
        self._drop_parts(name)
        return target

    def write_parts(self, name: str, parts: Sequence[tuple[str, Path | pa.Table]]) -> None:
        """Replace table ``name`` with the given parts, in name order, atomically.

        Each part is ``(file name, source)``: a Parquet file to take as it is (hard
        linked, so it must never be written in place afterwards: a part of the current
        version, from :meth:`files`, qualifies) or an Arrow table to write. The parts
        must share one schema; give at least one (an empty table) so that the table has
        its columns. Every part new to the table is synced to disk; one taken from the
        current version already was.
        """
        names = [n for n, _ in parts]
        bad = [n for n in names if not _PART_NAME.match(n)]
        if bad or len(set(names)) != len(names) or not names:
            raise LakeError(f"bad part names for {name!r}: {bad or names}")
        folder = self._folder(name)
        versions = self._versions(name)
        previous = self._parted(name)
        version = versions / uuid.uuid4().hex
        version.mkdir(parents=True)
        try:
            for part, source in parts:
                dest = version / part
                if isinstance(source, Path):
                    _link(source, dest)
                    if previous is not None and source.parent.resolve() == previous:
                        continue
                else:
                    pq.write_table(source, dest, compression="zstd")
                with open(dest, "rb") as fh:
                    os.fsync(fh.fileno())
            if previous is not None and not folder.is_symlink():
                # A copy of the lake that followed the link: its folder becomes a version.
                previous = versions / uuid.uuid4().hex
                os.replace(folder, previous)
            link = self.root / f".{name}.{uuid.uuid4().hex}.link"
            os.symlink(version.relative_to(self.root), link)
            os.replace(link, folder)
        except BaseException:
            shutil.rmtree(version, ignore_errors=True)
            raise
        with suppress(FileNotFoundError):
            self.path(name).unlink()
        # Keep the previous version a while: a reader may have resolved it just before.
        keep = {version.name} | ({previous.name} if previous is not None else set())
        for old in versions.iterdir():
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)

    def _drop_parts(self, name: str) -> None:
        """Forget the parts of ``name`` once it has been written whole."""
        folder = self._folder(name)
        if folder.is_symlink():
            folder.unlink()
        elif folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(self._versions(name), ignore_errors=True)

    def write_query(self, name: str, sql: str) -> Path:
        """Replace table ``name`` with the result of a DuckDB query over the lake."""
        target = self.path(name)
        with self._aside(target) as tmp, self.connect() as con:
            escaped = str(tmp).replace("'", "''")
            con.execute(f"COPY ({sql}) TO '{escaped}' (FORMAT parquet, COMPRESSION zstd)")
        self._drop_parts(name)
        return target

    def read_arrow(self, name: str) -> pa.Table:
        """Read a whole table."""
        files = self.files(name)
        if not files:
            raise LakeError(f"lake table {name!r} does not exist under {self.root}")
        if len(files) == 1:
            return pq.read_table(files[0])
        tables = [pq.read_table(f) for f in files]
        # Parts written by different writers differ in field nullability and metadata.
        schema = pa.schema([pa.field(f.name, f.type) for f in tables[0].schema.remove_metadata()])
        return pa.concat_tables([t.cast(schema) for t in tables])

    def row_count(self, name: str) -> int:
        """Rows in table ``name``, from its files' footers."""
        return sum(int(pq.ParquetFile(f).metadata.num_rows) for f in self.files(name))

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB connection with a view per lake table."""
        con = duckdb.connect(":memory:")
        try:
            for name in self.tables():
                # name is checked against _TABLE_NAME and the paths are quoted.
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM {self.scan_sql(name)}")  # noqa: S608
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
