"""The figures of the linkage page, computed with DuckDB over the lake's linkage tables.

Every function takes a DuckDB connection with the views :meth:`Lake.connect` gives
(``source_identity``, ``person_index``, ``person_link_evidence`` and, once a merge or
split has happened, ``person_index_log``) and returns plain dataclasses; nothing here
knows about the web or about who is looking. Identity values are always returned: the
presenters decide what a viewer may see.

A record is one row of ``source_identity``; "indexed" means it is in ``person_index``
(records ingested after the last linkage run are not yet).
"""

# SQL here is assembled from this module's own constants; filter values come in as
# parameters, never as text.
# ruff: noqa: S608

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from wholesystem.record.linkage.engine import LinkResult, contradiction_sql, contradicts
from wholesystem.record.linkage.explain import explain_pair
from wholesystem.record.linkage.index import EVIDENCE_TABLE, INDEX_TABLE, LOG_TABLE
from wholesystem.record.linkage.standardise import (
    _nhs_digits,
    _nhs_valid,
    register_nicknames,
    standardise_sql,
)
from wholesystem.record.staging import SOURCE_IDENTITY
from wholesystem.store.lake import Lake

__all__ = [
    "GP_REGISTRATION_DATASET",
    "LINK_METHODS",
    "SIZE_BUCKETS",
    "WORKING_TABLES",
    "ChangeCounts",
    "Contradiction",
    "Duplicate",
    "DuplicatesBySource",
    "Filters",
    "LinkMethod",
    "MatchRate",
    "MemberRecord",
    "PairExplanation",
    "PathEdge",
    "SharedNhsNumber",
    "SharedNhsTotals",
    "SizeBucket",
    "Summary",
    "changes_since",
    "duplicates",
    "duplicates_by_source",
    "explain_records",
    "index_present",
    "lake_state",
    "listed_record_ids",
    "load_working_tables",
    "match_rate_cells",
    "match_rates",
    "member_record",
    "prepare",
    "roll_up",
    "shared_nhs_numbers",
    "shared_nhs_totals",
    "sources_and_datasets",
    "summary",
    "write_working_tables",
]

GP_REGISTRATION_DATASET = "gp_patients"
"""The staged dataset of GP registrations (CSV extracts and FHIR Patients both land here)."""

SIZE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("1", 1, 1),
    ("2", 2, 2),
    ("3", 3, 3),
    ("4", 4, 4),
    ("5", 5, 5),
    ("6 to 10", 6, 10),
    ("11 to 20", 11, 20),
    ("21 or more", 21, None),
)
"""Records-per-person bands of the distribution: (label, lowest, highest or None)."""

LINK_METHODS: tuple[tuple[str, str], ...] = (
    ("nhs", "NHS number (deterministic)"),
    ("model", "Probabilistic (at least one model link)"),
    ("identical", "Identical details only"),
    ("singleton", "Singleton (one record)"),
)
"""How a person's records were joined, strongest evidence last: a person with any model
link is probabilistic; else with any NHS-number link deterministic; else all its records
are identical after standardisation; a person of one record is a singleton."""

_NHS_DIGITS = _nhs_digits("s.nhs_number")


_INDEXED = f"""
    SELECT s.record_id, s.source, s.dataset, s.local_patient_id, s.nhs_number, s.given_name,
           s.family_name, s.date_of_birth, s.sex, s.postcode, p.person_id
    FROM {SOURCE_IDENTITY} s JOIN {INDEX_TABLE} p USING (record_id)
"""


def _state_of(nhs_number: str, digits: str) -> str:
    return (
        f"CASE WHEN nullif(trim(CAST({nhs_number} AS VARCHAR)), '') IS NULL THEN 'missing' "
        f"WHEN coalesce({_nhs_valid(digits)}, false) THEN 'valid' ELSE 'invalid' END"
    )


def _nhs_state(alias: str) -> str:
    """SQL: whether the NHS number of ``alias``'s row is missing, invalid or valid.

    For a few rows (it repeats the digits' expression in every check-digit term): over
    many, :func:`_with_nhs` works the digits out once.
    """
    return _state_of(f"{alias}.nhs_number", _nhs_digits(f"{alias}.nhs_number"))


def _with_nhs(columns: str = "s.*", join: str = "LEFT JOIN") -> str:
    """Every source record (``columns`` of it) with its person (NULL: not indexed yet;
    ``join`` "JOIN": indexed records only), its NHS number's digits and whether the
    number is missing, invalid or valid.

    The digits are worked out once, in the innermost query, and the state from them
    before the join: repeating the regular expression in every check-digit term, or
    carrying every column through the join, cost several times over (8.9 s against
    0.8 s for the states of 4.2M records).
    """
    return f"""
    SELECT s.*, p.person_id FROM (
        SELECT *, {_state_of("nhs_number", "nhs_digits")} AS nhs_state
        FROM (SELECT {columns}, {_NHS_DIGITS} AS nhs_digits FROM {SOURCE_IDENTITY} s)
    ) s {join} {INDEX_TABLE} p USING (record_id)
"""


def index_present(lake: Lake) -> bool:
    """Whether the lake holds a person index and its input (so the page has figures)."""
    return all(lake.exists(t) for t in (SOURCE_IDENTITY, INDEX_TABLE, EVIDENCE_TABLE))


def _rows(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    return con.execute(sql, params or {}).fetchall()


def _one(
    con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None
) -> tuple[Any, ...]:
    row = con.execute(sql, params or {}).fetchone()
    assert row is not None
    return row


def _has(con: duckdb.DuckDBPyConnection, view: str) -> bool:
    return bool(
        _one(
            con,
            "SELECT count(*) FROM information_schema.tables WHERE table_name = $t",
            {"t": view},
        )[0]
    )


@dataclass(frozen=True)
class Filters:
    """The page's filters (from the URL): one source (organisation) and/or one dataset."""

    source: str | None = None
    dataset: str | None = None

    def params(self) -> dict[str, Any]:
        return {"f_source": self.source, "f_dataset": self.dataset}


_FILTER = (
    "($f_source IS NULL OR {t}source = $f_source) "
    "AND ($f_dataset IS NULL OR {t}dataset = $f_dataset)"
)


def _where(alias: str = "") -> str:
    return _FILTER.format(t=f"{alias}." if alias else "")


# --- summary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkMethod:
    """Persons (and their records) by how their records were joined."""

    key: str
    label: str
    persons: int
    records: int


@dataclass(frozen=True)
class SizeBucket:
    """Persons with a number of records in ``label``'s band."""

    label: str
    persons: int
    records: int


@dataclass(frozen=True)
class Summary:
    """The index as a whole."""

    source_records: int
    indexed_records: int
    not_indexed: int
    persons: int
    largest_person: int
    methods: list[LinkMethod]
    sizes: list[SizeBucket]

    @property
    def records_per_person(self) -> float:
        return self.indexed_records / self.persons if self.persons else 0.0


def _methods_table(con: duckdb.DuckDBPyConnection) -> None:
    """Build ``lk_methods`` (persons and records by link method) and ``lk_sizes``
    (persons by their number of records) once: the index and its evidence alone."""
    if _has(con, "lk_methods"):
        return
    con.execute(
        f"""
        CREATE TABLE lk_sizes_work AS
        SELECT n, count(*) AS persons
        FROM (SELECT count(*) AS n FROM {INDEX_TABLE} GROUP BY person_id) GROUP BY n
        """
    )
    con.execute(
        f"""
        CREATE TABLE lk_methods_work AS
        WITH n AS (SELECT person_id, count(*) AS n FROM {INDEX_TABLE} GROUP BY person_id),
        k AS (
            SELECT p.person_id, bool_or(e.kind = 'model') AS model, bool_or(e.kind = 'nhs') AS nhs
            FROM {EVIDENCE_TABLE} e JOIN {INDEX_TABLE} p ON p.record_id = e.record_id_l
            GROUP BY p.person_id
        )
        SELECT CASE WHEN n.n = 1 THEN 'singleton' WHEN k.model THEN 'model'
                    WHEN k.nhs THEN 'nhs' ELSE 'identical' END AS method,
               count(*) AS persons, sum(n.n) AS records
        FROM n LEFT JOIN k USING (person_id) GROUP BY method
        """
    )
    con.execute("ALTER TABLE lk_sizes_work RENAME TO lk_sizes")
    con.execute("ALTER TABLE lk_methods_work RENAME TO lk_methods")


def summary(con: duckdb.DuckDBPyConnection) -> Summary:
    """Records, persons, records per person and how persons were linked."""
    _methods_table(con)
    _cells_tables(con)
    indexed, not_indexed = _one(
        con,
        """SELECT (SELECT coalesce(sum(records), 0) FROM lk_cells),
                  (SELECT coalesce(sum(records), 0) FROM lk_unindexed)""",
    )
    method_rows = _rows(con, "SELECT method, persons, records FROM lk_methods")
    by_method = {m: (int(p), int(r)) for m, p, r in method_rows}
    methods = [LinkMethod(key, label, *by_method.get(key, (0, 0))) for key, label in LINK_METHODS]
    size_rows = {
        int(n): (int(p), int(n) * int(p)) for n, p in _rows(con, "SELECT n, persons FROM lk_sizes")
    }
    sizes = []
    for label, low, high in SIZE_BUCKETS:
        inside = [v for n, v in size_rows.items() if n >= low and (high is None or n <= high)]
        sizes.append(SizeBucket(label, sum(v[0] for v in inside), sum(v[1] for v in inside)))
    return Summary(
        source_records=int(indexed) + int(not_indexed),
        indexed_records=sum(m.records for m in methods),
        not_indexed=int(not_indexed),
        persons=sum(m.persons for m in methods),
        largest_person=max(size_rows, default=0),
        methods=methods,
        sizes=sizes,
    )


@dataclass(frozen=True)
class ChangeCounts:
    """Merges and splits logged since a moment (the start of the last linkage run)."""

    merges: int
    splits: int
    records_moved: int


def changes_since(con: duckdb.DuckDBPyConnection, since: datetime | None) -> ChangeCounts:
    """Counts of ``person_index_log`` entries at or after ``since`` (all when None)."""
    if not _has(con, LOG_TABLE):
        return ChangeCounts(0, 0, 0)
    merges, splits, moved = _one(
        con,
        f"""SELECT count(*) FILTER (WHERE kind = 'merge'), count(*) FILTER (WHERE kind = 'split'),
                   coalesce(sum(json_array_length(record_ids)), 0)
            FROM {LOG_TABLE} WHERE $since IS NULL OR run_at >= $since""",
        {"since": since},
    )
    return ChangeCounts(int(merges), int(splits), int(moved))


# --- match rates by source and dataset ------------------------------------------------


@dataclass(frozen=True)
class MatchRate:
    """One source and dataset (``dataset`` None: all the source's datasets; ``source``
    None too: everything)."""

    source: str | None
    dataset: str | None
    records: int
    indexed: int
    gp_elsewhere: int
    """Records whose person has a GP registration record from another source."""
    other_source: int
    """Records whose person also has a record from any other source."""
    nhs_missing: int
    nhs_invalid: int
    """NHS number present but not ten digits with a valid check digit."""

    @property
    def without_nhs(self) -> int:
        return self.nhs_missing + self.nhs_invalid


def _cells_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Build ``lk_cells`` (per source and dataset, its indexed records) and
    ``lk_unindexed`` (the rest) once; see :func:`_unindexed_table`."""
    _unindexed_table(con)
    if _has(con, "lk_cells"):
        return
    # Who else holds a record of the person: per person, its sources, and whether each
    # holds a GP registration; one row per person and source first, which is far cheaper
    # than counting distinct sources over every record.
    con.execute(
        f"""
        CREATE TABLE lk_cells_work AS
        WITH r AS MATERIALIZED (
            {_with_nhs("s.record_id, s.source, s.dataset, s.nhs_number", join="JOIN")}
        ),
        ps AS (
            SELECT person_id, source, bool_or(dataset = $gp) AS gp
            FROM r GROUP BY person_id, source
        ),
        pp AS (
            SELECT person_id, count(*) AS n_src, count(*) FILTER (WHERE gp) AS n_gp,
                   min(source) FILTER (WHERE gp) AS gp_src
            FROM ps GROUP BY person_id
        )
        SELECT s.source, s.dataset, count(*) AS records,
               count(*) FILTER (WHERE pp.n_gp > 1 OR (pp.n_gp = 1 AND pp.gp_src <> s.source))
                   AS gp_elsewhere,
               count(*) FILTER (WHERE pp.n_src > 1) AS other_source,
               count(*) FILTER (WHERE s.nhs_state = 'missing') AS nhs_missing,
               count(*) FILTER (WHERE s.nhs_state = 'invalid') AS nhs_invalid
        FROM r s JOIN pp USING (person_id)
        GROUP BY s.source, s.dataset
        """,
        {"gp": GP_REGISTRATION_DATASET},
    )
    con.execute("ALTER TABLE lk_cells_work RENAME TO lk_cells")


def _unindexed_table(con: duckdb.DuckDBPyConnection) -> None:
    """Build ``lk_unindexed`` once: per source and dataset, the records of
    ``source_identity`` not in the index (ingested since the last relink) and their NHS
    numbers' states, and how many of its records are indexed.

    The one figure that follows every ingest: everything else the page shows is the
    index's (its persons, and the records in it), so it holds until the next relink as
    long as every indexed record is still there (see :func:`load_working_tables`).
    """
    if _has(con, "lk_unindexed"):
        return
    con.execute(
        f"""
        CREATE TABLE lk_unindexed_work AS
        SELECT source, dataset, count(*) FILTER (WHERE indexed) AS indexed,
               count(*) FILTER (WHERE NOT indexed) AS records,
               count(*) FILTER (WHERE nhs_state = 'missing') AS nhs_missing,
               count(*) FILTER (WHERE nhs_state = 'invalid') AS nhs_invalid
        FROM (
            -- The state of the records not indexed alone: CASE leaves the others be.
            SELECT s.source, s.dataset, p.record_id IS NOT NULL AS indexed,
                   CASE WHEN p.record_id IS NULL THEN {_nhs_state("s")} END AS nhs_state
            FROM {SOURCE_IDENTITY} s LEFT JOIN {INDEX_TABLE} p USING (record_id)
        )
        GROUP BY source, dataset
        """
    )
    con.execute("ALTER TABLE lk_unindexed_work RENAME TO lk_unindexed")


def match_rate_cells(con: duckdb.DuckDBPyConnection) -> list[MatchRate]:
    """One row per source and dataset, every source (see :func:`match_rates`)."""
    _cells_tables(con)
    rows = _rows(
        con,
        """
        SELECT source, dataset,
               coalesce(c.records, 0) + coalesce(u.records, 0), coalesce(c.records, 0),
               coalesce(c.gp_elsewhere, 0), coalesce(c.other_source, 0),
               coalesce(c.nhs_missing, 0) + coalesce(u.nhs_missing, 0),
               coalesce(c.nhs_invalid, 0) + coalesce(u.nhs_invalid, 0)
        FROM lk_cells c FULL JOIN lk_unindexed u USING (source, dataset)
        WHERE coalesce(c.records, 0) + coalesce(u.records, 0) > 0
        ORDER BY source, dataset
        """,
    )
    return [MatchRate(src, ds, *(int(x) for x in rest)) for src, ds, *rest in rows]


def _add(source: str | None, rows: list[MatchRate]) -> MatchRate:
    return MatchRate(
        source,
        None,
        *(
            sum(getattr(r, f) for r in rows)
            for f in (
                "records",
                "indexed",
                "gp_elsewhere",
                "other_source",
                "nhs_missing",
                "nhs_invalid",
            )
        ),
    )


def roll_up(cells: list[MatchRate], filters: Filters = Filters()) -> list[MatchRate]:
    """The cells the filters keep, each source's total after its datasets, then the total.

    Every count is a count of records, so totals are sums of cells.
    """
    kept = [
        c
        for c in cells
        if (filters.source is None or c.source == filters.source)
        and (filters.dataset is None or c.dataset == filters.dataset)
    ]
    out: list[MatchRate] = []
    by_source: dict[str | None, list[MatchRate]] = {}
    for c in sorted(kept, key=lambda c: (c.source or "", c.dataset or "")):
        by_source.setdefault(c.source, []).append(c)
    for source, rows in by_source.items():
        out += [*rows, _add(source, rows)]
    if kept:
        out.append(_add(None, kept))
    return out


def match_rates(con: duckdb.DuckDBPyConnection, filters: Filters = Filters()) -> list[MatchRate]:
    """Per source and dataset, per source, and overall (filters pick the rows counted).

    Who else holds a record is judged over every source, whatever the filters.
    """
    return roll_up(match_rate_cells(con), filters)


def sources_and_datasets(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str]]:
    """The sources and datasets present in ``source_identity`` (for the filter lists)."""
    cells = match_rate_cells(con)
    sources = sorted({c.source for c in cells if c.source})
    datasets = sorted({c.dataset for c in cells if c.dataset})
    return sources, datasets


# --- records --------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRecord:
    """One source record with its person and identity values (identifiable)."""

    record_id: str
    source: str
    dataset: str
    local_patient_id: str | None
    nhs_number: str | None
    given_name: str | None
    family_name: str | None
    date_of_birth: date | None
    sex: str | None
    postcode: str | None
    person_id: str | None


_MEMBER_COLUMNS = (
    "record_id, source, dataset, local_patient_id, nhs_number, given_name, family_name, "
    "date_of_birth, sex, postcode, person_id"
)


def _members(rows: list[tuple[Any, ...]]) -> list[MemberRecord]:
    return [MemberRecord(*r) for r in rows]


def member_record(con: duckdb.DuckDBPyConnection, record_id: str) -> MemberRecord | None:
    """One source record and its person (None when ``source_identity`` has no such record)."""
    rows = _rows(
        con,
        f"""SELECT {_MEMBER_COLUMNS} FROM (
                SELECT s.*, p.person_id FROM {SOURCE_IDENTITY} s
                LEFT JOIN {INDEX_TABLE} p USING (record_id) WHERE s.record_id = $id)""",
        {"id": record_id},
    )
    return _members(rows)[0] if rows else None


# --- NHS numbers shared by incompatible demographics ----------------------------------


@dataclass(frozen=True)
class SharedNhsNumber:
    """An NHS number on records the index placed in different persons, or whose
    demographics the contradiction rule found incompatible."""

    nhs_number: str
    records: int
    persons: tuple[str, ...]
    sources: tuple[str, ...]
    contradicted: bool
    pair: tuple[str, str]
    """Two of its records to explain: in different persons when it is split, else a
    contradicting pair."""
    members: list[MemberRecord] = field(default_factory=list)

    @property
    def split(self) -> bool:
        return len(self.persons) > 1


@dataclass(frozen=True)
class SharedNhsTotals:
    numbers: int
    in_different_persons: int
    contradicted_one_person: int
    """Contradicted, but the probabilistic pass joined the records into one person."""


def _shared_table(con: duckdb.DuckDBPyConnection) -> None:
    """Build ``lk_shared`` (one row per shared number) and ``lk_nhs`` (their records) once.

    Plain tables of the connection's database, so its cursors share them; the working
    tables are dropped, and ``lk_nhs`` keeps only the shared numbers' records.
    """
    if _has(con, "lk_shared"):
        return
    _build_shared(con, "lk_shared_work", "lk_nhs")
    # created last, so a connection that has lk_shared has everything
    con.execute("ALTER TABLE lk_shared_work RENAME TO lk_shared")


def _build_shared(
    con: duckdb.DuckDBPyConnection, shared: str, members: str, records: str | None = None
) -> None:
    """Build ``shared`` (as ``lk_shared``) and ``members`` (as ``lk_nhs``) from
    ``records`` (SQL giving rows as ``lk_nhs`` holds them: every indexed record with a
    valid NHS number, or all those of some numbers), or from every indexed record."""
    every = f"""SELECT {_MEMBER_COLUMNS}, nhs_digits AS nhs
                FROM ({_with_nhs(join="JOIN")}) WHERE nhs_state = 'valid'"""
    con.execute(f"CREATE TABLE lk_nhs_all AS {records or every}")
    # Only numbers with more than one set of demographics can contradict.
    con.execute(
        """
        CREATE TABLE lk_cand AS
        SELECT nhs FROM lk_nhs_all GROUP BY nhs
        HAVING count(DISTINCT person_id) > 1
            OR count(DISTINCT concat_ws('|', given_name, family_name,
                                        CAST(date_of_birth AS VARCHAR), sex)) > 1
        """
    )
    con.execute(
        "CREATE TABLE lk_cand_nhs AS SELECT * FROM lk_nhs_all SEMI JOIN lk_cand USING (nhs)"
    )
    con.execute("DROP TABLE lk_nhs_all")
    register_nicknames(con)
    con.execute(f"CREATE TABLE lk_std AS {standardise_sql('lk_cand_nhs', False)}")
    con.execute(
        f"""
        CREATE TABLE lk_contra AS
        SELECT l.nhs, min([l.record_id, r.record_id]) AS pair
        FROM lk_std l JOIN lk_std r ON l.nhs = r.nhs AND l.record_id < r.record_id
        WHERE {contradiction_sql()}
        GROUP BY l.nhs
        """
    )
    con.execute(
        f"""
        CREATE TABLE {shared} AS
        WITH g AS (
            SELECT n.nhs, count(*) AS records,
                   list(DISTINCT n.person_id ORDER BY n.person_id) AS persons,
                   list(DISTINCT n.source ORDER BY n.source) AS sources,
                   min(n.record_id) AS first_record,
                   arg_min(n.person_id, n.record_id) AS first_person
            FROM lk_cand_nhs n GROUP BY n.nhs
        ),
        other AS (
            SELECT n.nhs, min(n.record_id) AS second FROM lk_cand_nhs n JOIN g USING (nhs)
            WHERE n.person_id <> g.first_person GROUP BY n.nhs
        )
        SELECT g.nhs, g.records, g.persons, g.sources, c.pair IS NOT NULL AS contradicted,
               CASE WHEN other.second IS NOT NULL THEN [g.first_record, other.second]
                    ELSE c.pair END AS pair
        FROM g LEFT JOIN lk_contra c USING (nhs) LEFT JOIN other USING (nhs)
        WHERE len(g.persons) > 1 OR c.pair IS NOT NULL
        """
    )
    con.execute(
        f"CREATE TABLE {members} AS SELECT * FROM lk_cand_nhs SEMI JOIN {shared} USING (nhs)"
    )
    for table in ("lk_cand", "lk_cand_nhs", "lk_std", "lk_contra"):
        con.execute(f"DROP TABLE {table}")


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Build every working table the page's figures and lists need (otherwise each is
    built on first use)."""
    _shared_table(con)
    _dup_table(con)
    _methods_table(con)
    _cells_tables(con)


WORKING_TABLES: dict[str, str] = {
    "linkage_shared_nhs_records": "lk_nhs",
    "linkage_shared_nhs": "lk_shared",
    "linkage_duplicate_records": "lk_dup_records",
    "linkage_duplicates": "lk_dup",
    "linkage_persons_by_size": "lk_sizes",
    "linkage_persons_by_method": "lk_methods",
    "linkage_indexed_by_source": "lk_cells",
    "linkage_unindexed_by_source": "lk_unindexed",
}
"""The lake tables keeping the page's working tables (lake name: working name), in the
order they are loaded: each list's summary table last, as :func:`prepare` builds them,
since its presence says the list is ready. All but the last are the index's: see
:func:`load_working_tables`."""
_FOLLOWS_INGESTS = "lk_unindexed"
_INDEX_KEY = b"ws_linkage_index"
_SOURCES_KEY = b"ws_linkage_sources"


def _state(lake: Lake, *names: str) -> bytes:
    return json.dumps([[n, *map(str, lake.state(n))] for n in names]).encode()


def _index_state(lake: Lake) -> bytes:
    """The versions of the index's tables the working tables are worked out from."""
    return _state(lake, INDEX_TABLE, EVIDENCE_TABLE)


def write_working_tables(lake: Lake) -> None:
    """Work out the page's working tables and keep them in the lake.

    Each is stamped with the versions of ``person_index`` (and its evidence) and of
    ``source_identity`` it came from. The person-index step calls this, so that the
    linkage page's first view after a relink reads them rather than working them out
    (about 25 s at 1M people).
    """
    stamp = {_INDEX_KEY: _index_state(lake), _SOURCES_KEY: _state(lake, SOURCE_IDENTITY)}
    with lake.connect() as con:
        con.execute("SET enable_progress_bar = false")  # inside a CLI step's own output
        prepare(con)
        for name, table in WORKING_TABLES.items():
            rows = con.sql(f"SELECT * FROM {table}").to_arrow_table()
            lake.write_arrow(name, rows.replace_schema_metadata(stamp))


def load_working_tables(con: duckdb.DuckDBPyConnection, lake: Lake) -> bool:
    """Take the page's working tables from the lake into ``con`` when they hold for its
    current tables; False when any is missing or stale, and they will be worked out on
    first use.

    They hold when they came from the current ``person_index``. The lists and figures
    other than :data:`_FOLLOWS_INGESTS` are worked out from the indexed records alone,
    whose identity values their record ids fix: an ingest since the relink that only
    added records (they are not indexed yet) leaves them as they were, and only the
    records not indexed are counted again (one pass, about 1 s at 1M people, against 25 s
    for everything). An ingest that took indexed records away (a corrected file) has
    what those records touch worked out again (see :func:`_without_removed_records`).
    """
    index, sources = _index_state(lake), _state(lake, SOURCE_IDENTITY)
    found: dict[str, str] = {}
    current = True
    for name in WORKING_TABLES:
        files = lake.files(name)
        if len(files) != 1:
            return False
        try:
            stamp = pq.read_metadata(files[0]).metadata or {}
        except (OSError, pa.ArrowException):
            return False
        if stamp.get(_INDEX_KEY) != index:
            return False
        current = current and stamp.get(_SOURCES_KEY) == sources
        found[name] = "'" + str(files[0]).replace("'", "''") + "'"
    loaded = [t for t in WORKING_TABLES.values() if current or t != _FOLLOWS_INGESTS]
    for name, table in WORKING_TABLES.items():
        if table in loaded:
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_parquet({found[name]})")
    if current:
        return True
    _unindexed_table(con)
    still, indexed = _one(
        con,
        f"""SELECT (SELECT coalesce(sum(indexed), 0) FROM lk_unindexed),
                   (SELECT count(*) FROM {INDEX_TABLE})""",
    )
    if still != indexed:
        _without_removed_records(con)
    return True


def _without_removed_records(con: duckdb.DuckDBPyConnection) -> None:
    """Put the kept tables right after an ingest took indexed records away (a corrected
    file), as if they were worked out afresh, by working out again only what those
    records touch.

    Taking a record away never makes a number shared, or a person a duplicate, that was
    not one; and the lists keep every record of the numbers and persons they name. So the
    shared NHS numbers the records were members of, and the within-source duplicates of
    their persons (the index is unchanged), are worked out again from the kept lists'
    own records less those gone, without reading ``source_identity``. The figures by link
    method and size are the index's alone and stand. The match-rate cells are counts
    over every person's sources and are counted again in one pass.
    """
    con.execute(
        f"""CREATE TEMP TABLE lk_gone AS SELECT record_id, person_id
            FROM {INDEX_TABLE} ANTI JOIN {SOURCE_IDENTITY} USING (record_id)"""
    )
    con.execute(
        "CREATE TEMP TABLE lk_gone_nhs AS "
        "SELECT DISTINCT nhs FROM lk_nhs SEMI JOIN lk_gone USING (record_id)"
    )
    refreshes = (
        ("lk_shared", "lk_nhs", "nhs", "lk_gone_nhs", _build_shared),
        ("lk_dup", "lk_dup_records", "person_id", "lk_gone", _build_dup),
    )
    for table, members, key, keys, build in refreshes:
        kept = (
            f"SELECT * FROM {members} WHERE {key} IN (SELECT {key} FROM {keys}) "
            "AND record_id NOT IN (SELECT record_id FROM lk_gone)"
        )
        build(con, f"{table}_new", f"{members}_new", kept)
        for name in (table, members):
            con.execute(f"DELETE FROM {name} WHERE {key} IN (SELECT {key} FROM {keys})")
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM {name}_new")
            con.execute(f"DROP TABLE {name}_new")
    con.execute("DROP TABLE lk_cells")
    _cells_tables(con)
    con.execute("DROP TABLE lk_gone")
    con.execute("DROP TABLE lk_gone_nhs")


def listed_record_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every indexed record of the persons the problem lists name.

    The lists' pairs, their members and the paths between them all lie within these
    persons, so this is every record a "why linked" link from a list can name.
    """
    prepare(con)
    rows = _rows(
        con,
        f"""SELECT record_id FROM {INDEX_TABLE} WHERE person_id IN (
                SELECT person_id FROM lk_nhs UNION SELECT person_id FROM lk_dup_records)
            ORDER BY record_id""",
    )
    return [str(r[0]) for r in rows]


def lake_state(lake: Lake) -> tuple[tuple[object, ...], ...]:
    """What identifies the linkage tables' current contents (see :meth:`Lake.state`)."""
    states = (
        (name, lake.state(name))
        for name in (SOURCE_IDENTITY, INDEX_TABLE, EVIDENCE_TABLE, LOG_TABLE)
    )
    return tuple((name, *state) for name, state in states if state)


_SHARED_FILTER = f"""
    ($f_source IS NULL AND $f_dataset IS NULL OR nhs IN (
        SELECT nhs FROM lk_nhs WHERE {_where()}))
"""


def shared_nhs_totals(
    con: duckdb.DuckDBPyConnection, filters: Filters = Filters()
) -> SharedNhsTotals:
    """How many NHS numbers are shared by incompatible demographics."""
    _shared_table(con)
    total, split, joined = _one(
        con,
        f"""SELECT count(*), count(*) FILTER (WHERE len(persons) > 1),
                   count(*) FILTER (WHERE len(persons) = 1)
            FROM lk_shared WHERE {_SHARED_FILTER}""",
        filters.params(),
    )
    return SharedNhsTotals(int(total), int(split), int(joined))


def shared_nhs_numbers(
    con: duckdb.DuckDBPyConnection,
    filters: Filters = Filters(),
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[SharedNhsNumber]:
    """The shared numbers, split ones first, then most records; each with its records."""
    _shared_table(con)
    rows = _rows(
        con,
        f"""SELECT nhs, records, persons, sources, contradicted, pair FROM lk_shared
            WHERE {_SHARED_FILTER}
            ORDER BY len(persons) > 1 DESC, records DESC, nhs
            LIMIT $limit OFFSET $offset""",
        {"limit": limit, "offset": offset, **filters.params()},
    )
    if not rows:
        return []
    con.register("lk_page", pa.table({"nhs": [r[0] for r in rows]}))
    try:
        members: dict[str, list[MemberRecord]] = {}
        for nhs, *rest in _rows(
            con,
            f"""SELECT nhs, {_MEMBER_COLUMNS} FROM lk_nhs SEMI JOIN lk_page USING (nhs)
                ORDER BY nhs, person_id, record_id""",
        ):
            members.setdefault(nhs, []).append(MemberRecord(*rest))
    finally:
        con.unregister("lk_page")
    return [
        SharedNhsNumber(
            nhs_number=nhs,
            records=int(records),
            persons=tuple(persons),
            sources=tuple(sources),
            contradicted=bool(contradicted),
            pair=(pair[0], pair[1]),
            members=members.get(nhs, []),
        )
        for nhs, records, persons, sources, contradicted, pair in rows
    ]


# --- within-source duplicates ---------------------------------------------------------


@dataclass(frozen=True)
class DuplicatesBySource:
    """Persons holding more than one local patient id at one source."""

    source: str
    persons: int
    extra_ids: int
    """Local ids beyond the first, summed over those persons."""


@dataclass(frozen=True)
class Duplicate:
    source: str
    person_id: str
    local_ids: int
    pair: tuple[str, str]
    members: list[MemberRecord] = field(default_factory=list)


def _dup_table(con: duckdb.DuckDBPyConnection) -> None:
    """Build ``lk_dup`` (one row per person and source with several local ids) and
    ``lk_dup_records`` (their records at that source) once, like :func:`_shared_table`."""
    if _has(con, "lk_dup"):
        return
    _build_dup(con, "lk_dup_work", "lk_dup_records")
    con.execute("ALTER TABLE lk_dup_work RENAME TO lk_dup")


def _build_dup(
    con: duckdb.DuckDBPyConnection, dup: str, records: str, indexed: str = _INDEXED
) -> None:
    """Build ``dup`` (as ``lk_dup``) and ``records`` (as ``lk_dup_records``) from
    ``indexed`` (SQL giving rows as ``lk_dup_records`` holds them: every indexed record,
    or all those of some persons)."""
    con.execute(
        f"""
        CREATE TABLE {records} AS
        WITH r AS ({indexed})
        SELECT r.* FROM r SEMI JOIN (
            SELECT source, person_id FROM r GROUP BY source, person_id
            HAVING count(DISTINCT local_patient_id) > 1
        ) USING (source, person_id)
        """
    )
    con.execute(
        f"""
        CREATE TABLE {dup} AS
        WITH g AS (
            SELECT source, person_id, count(DISTINCT local_patient_id) AS local_ids,
                   list(DISTINCT dataset) AS datasets, min(record_id) AS first_record,
                   arg_min(local_patient_id, record_id) AS first_local
            FROM {records} GROUP BY source, person_id
        )
        SELECT g.source, g.person_id, g.local_ids, g.datasets,
               [g.first_record, min(r.record_id)] AS pair
        FROM g JOIN {records} r USING (source, person_id)
        WHERE r.local_patient_id IS DISTINCT FROM g.first_local
        GROUP BY g.source, g.person_id, g.local_ids, g.datasets, g.first_record
        """
    )


_DUP_FILTER = (
    "($f_source IS NULL OR source = $f_source) "
    "AND ($f_dataset IS NULL OR list_contains(datasets, $f_dataset))"
)


def duplicates_by_source(
    con: duckdb.DuckDBPyConnection, filters: Filters = Filters()
) -> list[DuplicatesBySource]:
    """Per source: persons with several local patient ids there, and the extra ids.

    The filters keep the persons with a record of that source and dataset.
    """
    _dup_table(con)
    rows = _rows(
        con,
        f"""SELECT source, count(*), sum(local_ids - 1) FROM lk_dup WHERE {_DUP_FILTER}
            GROUP BY source ORDER BY source""",
        filters.params(),
    )
    return [DuplicatesBySource(s, int(p), int(x)) for s, p, x in rows]


def duplicates(
    con: duckdb.DuckDBPyConnection,
    filters: Filters = Filters(),
    *,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[Duplicate], int]:
    """One page of within-source duplicates (most local ids first) and how many in all."""
    _dup_table(con)
    total = int(_one(con, f"SELECT count(*) FROM lk_dup WHERE {_DUP_FILTER}", filters.params())[0])
    rows = _rows(
        con,
        f"""SELECT source, person_id, local_ids, pair FROM lk_dup WHERE {_DUP_FILTER}
            ORDER BY local_ids DESC, source, person_id LIMIT $limit OFFSET $offset""",
        {"limit": limit, "offset": offset, **filters.params()},
    )
    if not rows:
        return [], total
    con.register(
        "lk_page",
        pa.table({"source": [r[0] for r in rows], "person_id": [r[1] for r in rows]}),
    )
    try:
        members: dict[tuple[str, str], list[MemberRecord]] = {}
        for rec in _members(
            _rows(
                con,
                f"""SELECT {_MEMBER_COLUMNS} FROM lk_dup_records SEMI JOIN lk_page
                    USING (source, person_id) ORDER BY source, person_id, local_patient_id,
                    record_id""",
            )
        ):
            assert rec.person_id is not None
            members.setdefault((rec.source, rec.person_id), []).append(rec)
    finally:
        con.unregister("lk_page")
    return [
        Duplicate(s, p, int(n), (pair[0], pair[1]), members.get((s, p), []))
        for s, p, n, pair in rows
    ], total


# --- why linked -----------------------------------------------------------------------


@dataclass(frozen=True)
class PathEdge:
    """One direct link on the way from one record to the other."""

    record_id_l: str
    record_id_r: str
    kind: str
    match_weight: float | None
    match_probability: float | None


@dataclass(frozen=True)
class Contradiction:
    """The contradiction rule over two records sharing a valid NHS number, clause by clause."""

    given_names: bool
    dates_of_birth: bool
    sex_and_family_names: bool

    @property
    def any(self) -> bool:
        return self.given_names or self.dates_of_birth or self.sex_and_family_names


@dataclass(frozen=True)
class PairExplanation:
    """Whether two records are one person and the evidence, from the last linkage run."""

    a: MemberRecord
    b: MemberRecord
    same_person: bool
    kind: str
    """identical, nhs, model, or "not compared" (no direct evidence was kept)."""
    match_weight: float | None
    match_probability: float | None
    weights: list[tuple[str, float]]
    rule: str | None
    path: list[PathEdge]
    shared_nhs_number: bool
    contradiction: Contradiction | None


def _identity(rec: MemberRecord, *columns: str) -> dict[str, Any]:
    return {c: getattr(rec, c) for c in columns}


def _contradiction(a: MemberRecord, b: MemberRecord) -> Contradiction:
    # Missing values never contradict, so each clause is the whole rule over its fields.
    def clause(*cols: str) -> bool:
        return contradicts(_identity(a, *cols), _identity(b, *cols))

    return Contradiction(
        given_names=clause("given_name"),
        dates_of_birth=clause("date_of_birth"),
        sex_and_family_names=clause("sex", "family_name"),
    )


def explain_records(
    con: duckdb.DuckDBPyConnection, record_a: str, record_b: str
) -> PairExplanation | None:
    """Why two indexed records are (or are not) one person; None if either is not indexed.

    Uses the evidence of the last run (``person_link_evidence``) for the records of the
    two persons only, through :func:`explain_pair`. Pairs scored below the threshold are
    not kept in the lake, so a pair that was not linked shows "not compared" and, when
    the two share a valid NHS number, the contradiction rule clause by clause.
    """
    a, b = member_record(con, record_a), member_record(con, record_b)
    if a is None or b is None or a.person_id is None or b.person_id is None:
        return None
    persons = pa.table({"person_id": sorted({a.person_id, b.person_id})})
    con.register("lk_persons", persons)
    try:
        clusters = con.sql(
            f"""SELECT record_id, CAST(dense_rank() OVER (ORDER BY person_id) - 1 AS BIGINT)
                       AS cluster
                FROM {INDEX_TABLE} SEMI JOIN lk_persons USING (person_id) ORDER BY record_id"""
        ).to_arrow_table()
        con.register("lk_records", clusters.select(["record_id"]))
        edges = con.sql(
            f"""SELECT * FROM {EVIDENCE_TABLE}
                WHERE record_id_l IN (SELECT record_id FROM lk_records)
                  AND record_id_r IN (SELECT record_id FROM lk_records)"""
        ).to_arrow_table()
        con.unregister("lk_records")
    finally:
        con.unregister("lk_persons")
    result = LinkResult(clusters=clusters, edges=edges, pairs=edges.slice(0, 0))
    found = explain_pair(result, record_a, record_b)
    weights: list[tuple[str, float]] = []
    rule = None
    for key, value in found.get("weights", {}).items():
        if isinstance(value, int | float):
            weights.append((str(key), float(value)))
        elif key == "rule":
            rule = str(value)
    if found["kind"] == "identical":
        rule = "identical after standardisation"
    shared = _shared_valid_nhs(con, record_a, record_b)
    return PairExplanation(
        a=a,
        b=b,
        same_person=bool(found["same_person"]),
        kind=str(found["kind"]),
        match_weight=found.get("match_weight"),
        match_probability=found.get("match_probability"),
        weights=weights,
        rule=rule,
        path=[
            PathEdge(
                e["record_id_l"],
                e["record_id_r"],
                e["kind"],
                e["match_weight"],
                e["match_probability"],
            )
            for e in found.get("path", [])
        ],
        shared_nhs_number=shared,
        contradiction=_contradiction(a, b) if shared else None,
    )


def _shared_valid_nhs(con: duckdb.DuckDBPyConnection, record_a: str, record_b: str) -> bool:
    digits = _NHS_DIGITS
    row = _one(
        con,
        f"""SELECT count(DISTINCT {digits}), count(*) FROM {SOURCE_IDENTITY} s
            WHERE s.record_id IN ($a, $b) AND {_nhs_valid(digits)}""",
        {"a": record_a, "b": record_b},
    )
    return int(row[0]) == 1 and int(row[1]) == 2
