"""The fast ingest path gives exactly what the careful one gives.

Ingest reads a CSV once without ``WITH ORDINALITY`` or a reject store (numbering rows by
their place in the read), flags failing rows with a cheap boolean and writes messages
for the failing rows alone, trims only values that can change, and stages the good rows
in the same pass as it checks them. These tests hold each of those shortcuts to the
slow, obvious form.
"""

from __future__ import annotations

import csv
import dataclasses
import random
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.record.conftest import CORPUS, Ingest, lake_files
from wholesystem.record import files, ingest
from wholesystem.record.engine import new_connection
from wholesystem.record.models import QuarantineRow
from wholesystem.record.schemas import DATASETS, ColumnType, Dataset
from wholesystem.record.staging import part_path
from wholesystem.record.validate import check_sql, errors_sql, normalised
from wholesystem.store.db import make_engine, make_session_factory, upgrade
from wholesystem.store.lake import Lake

TODAY = date(2025, 6, 1)
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

# Values meant to break (or only just pass) some rule, in every column.
PALETTE = [
    None, "x", "  x  ", "2024-13-01", "2024-02-30", "1899-12-31", "1900-01-01", "2999-01-01",
    "2024-1-1", "20240101", "2024-01-01", "2024-01-01T10:00:00Z", "2024-07-01T13:05:00+01:00",
    "2024-07-01 13:05:00+0100", "2024-07-01T13:05:00", "2099-07-01T13:05:00Z",
    "1850-07-01T13:05:00Z", "943 476 5919", "943-476-5919", "9434765919", "9434765918",
    "0000000000", "12345", "abcdefghij", "94347659190", "+943476591", "1_00000000",
    "0x12345678", "-5", "3.14159", "12.3", "1e5", "NaN", "Y", "N", "y", "M", "F", "X", "J44.1",
    "J441", "I10", "i10", "H22.1", "I22.1", "A00|B01.2", "A00||B01", "|A00", "22298006",
    "22298007", "022298006", "1234567890123456789", "73211009", "X" * 300, "ñandú", "a,b",
    "-1", "0", "999999999999999999", "1.0", "100.005", "-0.01", "11", "2A", "98", "100",
    "face_to_face", "physiotherapy", "active", "high", "R9A1",
]  # fmt: skip
CSV_DATASETS = [ds for ds in DATASETS.values() if ds.format == "csv"]


def _valid(ds: Dataset) -> dict[str, str | None]:
    """A row of ``ds`` that passes every rule (found, per column, from the palette)."""
    con = new_connection()
    try:
        row: dict[str, str | None] = {c.name: None for c in ds.columns}
        row["nhs_number"] = "9434765919"
        for col in ds.columns:
            if col.required and row[col.name] is None:
                row[col.name] = col.allowed[0] if col.allowed else "2024-01-01"
                if col.type is ColumnType.datetime:
                    row[col.name] = "2024-01-01T10:00:00Z"
                elif col.type is ColumnType.code:
                    row[col.name] = {"snomed": "22298006"}.get(str(col.code_system), "J44.1")
                elif col.type is ColumnType.string and not col.allowed:
                    row[col.name] = "x"
        assert _bad_and_errs(con, ds, [row]) == [(False, "")], (ds.name, row)
        return row
    finally:
        con.close()


def _bad_and_errs(
    con: duckdb.DuckDBPyConnection, ds: Dataset, rows: list[dict[str, str | None]]
) -> list[tuple[bool, str]]:
    """Each row's ``ws_bad`` flag and its ``errs`` (worked out for every row)."""
    names = [c.name for c in ds.columns]
    columns = ", ".join(["line BIGINT", *(f'"{n}" VARCHAR' for n in names)])
    con.execute(f"CREATE OR REPLACE TEMP TABLE src ({columns})")
    marks = ", ".join(["?"] * (len(names) + 1))
    con.executemany(
        f"INSERT INTO src VALUES ({marks})",  # noqa: S608
        [[i + 2, *(row.get(n) for n in names)] for i, row in enumerate(rows)],
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE chk AS {check_sql(ds, 'src', TODAY, NOW)}")
    every = errors_sql(ds, "chk", TODAY, NOW, where="true")
    result = con.execute(f"SELECT ws_bad, errs FROM ({every}) ORDER BY line").fetchall()  # noqa: S608
    return [(bool(bad), str(errs)) for bad, errs in result]


@pytest.mark.parametrize("ds", CSV_DATASETS, ids=lambda d: d.name)
def test_the_cheap_flag_agrees_with_the_messages(ds: Dataset) -> None:
    """A row is flagged exactly when it has a message, for every column and nasty value."""
    base = _valid(ds)
    rows = [base | {col.name: value} for col in ds.columns for value in PALETTE]
    for rule in ds.rules:  # both order rule values set, later before earlier and after
        for later, earlier in [("2024-01-01", "2024-02-01"), ("2024-02-01", "2024-01-01")]:
            if ds.column(rule.later).type is ColumnType.datetime:
                later, earlier = f"{later}T10:00:00Z", f"{earlier}T10:00:00Z"
            rows.append(base | {rule.later: later, rule.earlier: earlier})
    con = new_connection()
    try:
        results = _bad_and_errs(con, ds, rows)
    finally:
        con.close()
    mismatched = [
        (row, bad, errs)
        for row, (bad, errs) in zip(rows, results, strict=True)
        if bad != bool(errs)
    ]
    assert not mismatched, mismatched[:3]
    assert sum(bad for bad, _ in results) > len(ds.columns)  # the palette does break rules


def test_duckdb_trims_exactly_the_spaces_we_look_for() -> None:
    """The lazy trim relies on knowing every character DuckDB's trim strips."""
    con = duckdb.connect()
    try:
        trimmed = con.execute(
            "SELECT list(i ORDER BY i) FROM range(1, 1114112) t(i) "
            "WHERE (i < 55296 OR i > 57343) AND trim(chr(i::INTEGER) || 'a') = 'a'"
        ).fetchall()[0][0]
    finally:
        con.close()
    found = [i for i in trimmed if i != 0x20 and files._UNICODE_SPACES.search(chr(i).encode())]
    assert trimmed == [0x20, *found]
    assert len(found) == 16  # U+00A0, U+1680, U+2000-U+200A, U+202F, U+205F, U+3000


def test_lazy_trim_equals_trim() -> None:
    values = [None, "", " ", "  ", "x", " x", "x ", " x ", "a b", "\tx\t", "ñ ", " é", "x\n"]
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t (v VARCHAR)")
        con.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])
        got = con.execute(
            f"SELECT {normalised('v')} IS NOT DISTINCT FROM "  # noqa: S608
            f"{normalised('v', unicode_spaces=False)} FROM t"
        ).fetchall()
    finally:
        con.close()
    assert all(same for (same,) in got)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("plain ascii, with spaces ", False),
        ("accents ñandú and curly quotes O\u2019Brien \u2013 dash", False),
        ("a no-break\u00a0space", True),
        ("an ideographic\u3000space", True),
        ("a narrow\u202fno-break space", True),
    ],
)
def test_unicode_spaces_are_found_even_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, found: bool
) -> None:
    path = tmp_path / "f.csv"
    path.write_text("a\n" + "x" * 5 + text + "\n", encoding="utf-8")
    assert files.read_facts(path).unicode_spaces is found
    for chunk in range(1, 12):  # every seam position through the multi-byte characters
        monkeypatch.setattr(files, "_CHUNK", chunk)
        facts = files.read_facts(path)
        assert (facts.unicode_spaces, facts.problem) == (found, None)


@pytest.mark.parametrize(
    ("body", "padded"),
    [
        (b"x,y\nab,c d\n", False),
        (b"x,y\nab,c d", False),
        (b'x,y\n"a b","c"\r\n', False),
        (b"x,y\nab, c\n", True),  # a value starting with a space
        (b"x,y\nab ,c\n", True),  # ... ending with one
        (b"x,y\nab,c \n", True),  # ... at a line end
        (b"x,y\nab,c \r\n", True),
        (b"x,y\n ab,c\n", True),  # ... at a line start
        (b'x,y\n" ab",c\n', True),  # ... inside quotes
        (b'x,y\n"ab ",c\n', True),
        (b"x,y\nab,c ", True),  # the file's last value, with no line end
        (b"x, y\nab,c\n", True),  # the header counts too
    ],
)
def test_values_that_may_need_trimming_are_found_even_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: bytes, padded: bool
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(body)
    for chunk in (1, 2, 3, 5, 7, len(body), 4096):  # the space on every side of a seam
        monkeypatch.setattr(files, "_CHUNK", chunk)
        assert files.read_facts(path).padded is padded, chunk


def test_a_file_found_unpadded_reads_the_same_untrimmed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where read_facts finds no value that may start or end with a space, each value read
    as it is equals the value trimmed with blanks as NULL (what ``normalised`` promises):
    random files of awkward values, quoted or not, with either line end."""
    rng = random.Random(20261124)
    values = ["", " ", "  ", "x", " x", "x ", "a b", "a, b", 'say "hi"', "x\ny", "x\n y",
              "\u00a0x", "x\u3000", "x\t", "\tx", "ñandú", "O\u2019Brien", '"', ","]  # fmt: skip
    names = ["a", "b", "c"]
    found = {True: 0, False: 0}
    con = duckdb.connect()
    try:
        for i in range(150):
            pool = rng.sample(values, rng.randint(1, 6))
            path = tmp_path / f"f{i}.csv"
            with open(path, "w", newline="", encoding="utf-8") as fh:
                quoting = rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
                out = csv.writer(fh, lineterminator=rng.choice(["\n", "\r\n"]), quoting=quoting)
                out.writerow(names)
                out.writerows([rng.choice(pool) for _ in names] for _ in range(rng.randint(1, 8)))
            monkeypatch.setattr(files, "_CHUNK", rng.randint(1, 64))
            facts = files.read_facts(path)
            found[facts.padded or facts.unicode_spaces] += 1
            lazy = ", ".join(
                normalised(n, unicode_spaces=facts.unicode_spaces, padded=facts.padded)
                for n in names
            )
            full = ", ".join(normalised(n) for n in names)
            read = ingest._read_csv_sql(path, names, rejects=False)
            assert (
                con.execute(f"SELECT {lazy} FROM {read}").fetchall()  # noqa: S608
                == con.execute(f"SELECT {full} FROM {read}").fetchall()  # noqa: S608
            ), (pool, path.read_bytes())
    finally:
        con.close()
    assert min(found.values()) > 20, found  # both ways were tried, many times


def test_a_character_cut_by_an_ascii_chunk_is_still_bad_utf8(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\nx\xc3,plain ascii after\n")
    monkeypatch.setattr(files, "_CHUNK", 6)  # the chunk after the lead byte is ASCII
    problem = files.read_facts(path).problem
    assert problem is not None
    assert problem.startswith("not UTF-8: byte 0x")


def test_where_a_file_is_not_utf8_or_cut_short_is_told_whatever_the_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a file goes wrong is told by line, right across chunk seams."""
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"a,b\nx,y\nx,y\nJos\xe9,y\nx,y\n")
    cut = tmp_path / "cut.csv"
    cut.write_bytes(b"a,b\nx,y\n\nx")
    for chunk in (1, 2, 3, 7, 4096):
        monkeypatch.setattr(files, "_CHUNK", chunk)
        problem = files.read_facts(latin).problem
        assert problem is not None
        assert "byte 0xe9 at offset 15 (line 4)" in problem, chunk
        facts = files.read_facts(cut)
        assert (facts.lines, facts.ends_with_newline, facts.tail) == (3, False, "x")
        assert files.read_facts(latin).lines == 5


def _failing_fast_read(real: Callable[..., str]) -> Callable[..., str]:
    def read(
        path: Path, names: Sequence[str], *, rejects: bool = True, buffer_size: int | None = None
    ) -> str:
        if not rejects:
            return "read_csv('/no/such/file.csv')"
        return real(path, names, rejects=rejects, buffer_size=buffer_size)

    return read


def _ingest_everything(tmp: Path, source: Path, path: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Ingest ``source`` the ``path`` way: the fast read (one buffer for a small file, or
    buffers of 4 kB shared between threads), the slow (careful) read, or the fast read
    with every value trimmed."""
    tmp.mkdir()
    with monkeypatch.context() as patch:
        if path == "slow":
            patch.setattr(ingest, "_read_csv_sql", _failing_fast_read(ingest._read_csv_sql))
        elif path == "trimmed":  # every value trimmed, whatever the file holds
            real = files.read_facts
            patch.setattr(
                ingest,
                "read_facts",
                lambda p: dataclasses.replace(real(p), unicode_spaces=True, padded=True),
            )
        elif path == "split":
            patch.setattr(ingest, "_BUFFER_MIN", 4096)
        elif path == "two passes":  # checked into a table, then staged from it
            patch.setattr(ingest, "check_and_stage", lambda *args, **kwargs: None)
        outcome = _ingest_into(tmp, source)
    return outcome


def _ingest_into(tmp: Path, source: Path) -> Any:
    url = f"sqlite:///{tmp / 'db.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    lake = Lake(tmp / "lake")
    try:
        factory = make_session_factory(engine)
        summary = ingest.ingest_path(factory, lake, source, actor="t", today=TODAY)
        with factory() as s:
            quarantine = [
                (q.line, q.column_name, q.rule, q.message, q.raw)
                for q in s.scalars(select(QuarantineRow).order_by(QuarantineRow.id))
            ]
    finally:
        engine.dispose()
    outcomes = [
        (o.path, o.status, o.reason, o.rows_read, o.rows_loaded, o.rows_quarantined)
        for o in summary.outcomes
    ]
    # Names and types, not nullability: DuckDB marks a Parquet column required when its
    # statistics show no nulls, and a parallel read may or may not carry those statistics.
    parts = {
        name: ([(f.name, str(f.type)) for f in pq.read_schema(p)], pq.read_table(p).to_pylist())
        for name, p in lake_files(lake).items()
        if not name.startswith("source_identity")
    }
    return outcomes, quarantine, parts


def test_fast_read_equals_the_slow_careful_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every corpus CSV, plus one with every palette value, loads identically every way."""
    source = tmp_path / "in"
    for path in CORPUS.rglob("*.csv"):
        target = source / path.relative_to(CORPUS)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    apc = DATASETS["apc"]
    base = _valid(apc)
    nasty = source / "R9B" / "apc" / "nasty.csv"
    nasty.parent.mkdir(parents=True)
    with open(nasty, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow([c.name for c in apc.columns])
        for col in apc.columns:
            for value in [*PALETTE, " 9434765919\u00a0", "\u3000"]:
                row = base | {col.name: value}
                out.writerow(["" if row[c.name] is None else row[c.name] for c in apc.columns])
    slow = _ingest_everything(tmp_path / "slow", source, "slow", monkeypatch)
    assert slow[1]
    assert slow[2]
    for path in ("fast", "split", "trimmed", "two passes"):
        assert _ingest_everything(tmp_path / path, source, path, monkeypatch) == slow, path


def test_row_ids_number_a_big_file_read_by_several_threads(
    tmp_path: Path, ingest: Ingest, factory: sessionmaker[Session], lake: Lake
) -> None:
    """A file big enough for DuckDB to split between threads keeps every line number."""
    path = tmp_path / "in" / "R9C" / "csds" / "big.csv"
    path.parent.mkdir(parents=True)
    rows = 400_000
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("nhs_number,local_patient_id,contact_date,team_type,contact_type,note\n")
        for line in range(2, rows + 2):
            nhs = "9434765918" if line % 9973 == 0 else "9434765919"  # some fail the check
            fh.write(f"{nhs},L{line},2024-01-01,podiatry,telephone,{'x' * (line % 40)}\n")
    [outcome] = ingest(tmp_path / "in").outcomes
    assert (outcome.status, outcome.rows_read) == ("loaded", rows)
    part = part_path(lake, "csds", "R9C", "big.csv")
    con = duckdb.connect()
    try:
        wrong = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE 'L' || source_line <> local_patient_id) "
            "FROM read_parquet(?)",
            [str(part)],
        ).fetchall()
    finally:
        con.close()
    failing = [line for line in range(2, rows + 2) if line % 9973 == 0]
    assert wrong == [(rows - len(failing), 0)]
    with factory() as s:
        bad = s.scalars(select(QuarantineRow).order_by(QuarantineRow.id)).all()
    assert [q.line for q in bad] == failing
    assert all(q.raw["local_patient_id"] == f"L{q.line}" for q in bad)


@pytest.mark.parametrize("ds", CSV_DATASETS, ids=lambda d: d.name)
def test_the_checks_fill_their_table_in_file_order(ds: Dataset, tmp_path: Path) -> None:
    """The fast read numbers rows by their place in the checked table, so the checks
    must be planned as an order-keeping (batch) insert: a join anywhere in them (as
    DuckDB plans ``IN`` or ``list_contains`` over a list of constants) gives that up."""
    path = tmp_path / "f.csv"
    row = _valid(ds)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow([c.name for c in ds.extract_columns])
        out.writerow(["" if row[c.name] is None else row[c.name] for c in ds.extract_columns])
    names = [c.name for c in ds.extract_columns]
    source = ingest._read_fast(path, names, ingest._project(ds, names, {}, ""), 1 << 30)
    con = new_connection()
    try:
        sql = f"CREATE TEMP TABLE chk AS {check_sql(ds, source, TODAY, NOW)}"
        plan = "\n".join(str(r[1]) for r in con.execute(f"EXPLAIN {sql}").fetchall())
    finally:
        con.close()
    assert "Batch Create Table As" in plan, plan
    assert "Join" not in plan, plan


def test_constants_written_as_enums_read_back_as_text(
    tmp_path: Path, ingest: Ingest, lake: Lake
) -> None:
    """Provenance and implied columns are written as one-value ENUMs (cheaper): the part
    must still hold them as plain text, for every reader, DuckDB or pyarrow."""
    path = tmp_path / "in" / "N90001" / "gp_events" / "events.csv"
    path.parent.mkdir(parents=True)
    path.write_text(
        "nhs_number,local_patient_id,given_name,family_name,date_of_birth,sex,postcode,"
        "event_date,snomed_code,value,unit\n"
        "9434765919,P1,Ann,Smith,1950-02-03,F,NS1 1AA,2024-01-05,38341003,140,mm[Hg]\n",
        encoding="utf-8",
    )
    [outcome] = ingest(tmp_path / "in").outcomes
    assert outcome.status == "loaded", outcome.reason
    part = part_path(lake, "gp_events", "N90001", "events.csv")
    schema = pq.read_schema(part)
    texts = ("org_code", "source_file", "source_format", "record_type", "code_system")
    assert {c: str(schema.field(c).type) for c in texts} == dict.fromkeys(texts, "string")
    [row] = pq.read_table(part, columns=list(texts)).to_pylist()
    assert row == {
        "org_code": "N90001",
        "source_file": str(path),
        "source_format": "csv",
        "record_type": "event",
        "code_system": "snomed",
    }
    con = duckdb.connect()
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(part)]).fetchall()
        types = {name: kind for name, kind, *_ in described}
    finally:
        con.close()
    assert all(types[c] == "VARCHAR" for c in texts), types


def _one_pass_outcomes(
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """Spy on the one-pass check-and-stage: per file, whether it staged the file
    ("staged"), gave way to the two-pass way ("gave way") or failed to read it."""
    seen: dict[str, str] = {}
    real = ingest.check_and_stage

    def spy(*args: Any, **kwargs: Any) -> Any:
        name = Path(kwargs["source_file"]).name
        try:
            result = real(*args, **kwargs)
        except duckdb.Error:
            seen[name] = "read failed"
            raise
        seen[name] = "gave way" if result is None else "staged"
        return result

    monkeypatch.setattr(ingest, "check_and_stage", spy)
    return seen


def test_one_pass_gives_way_when_it_must(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ingest: Ingest, lake: Lake
) -> None:
    """A clean file is staged in one pass; blank lines and line ends in quoted values (a
    row's line needs the file's map), a good row's SNOMED CT code failing its check digit
    (a quarantined row, known only at the end) and a line the reader cannot split each
    leave it to the two-pass or the careful way, with nothing left behind."""
    seen = _one_pass_outcomes(monkeypatch)
    source = tmp_path / "in"
    for name in ("apc/clean.csv", "apc/ragged.csv"):
        (source / "R9A" / name).parent.mkdir(parents=True, exist_ok=True)
        (source / "R9A" / name).write_bytes((CORPUS / "R9A" / name).read_bytes())
    header, first, *rest = (CORPUS / "R9A" / "apc" / "clean.csv").read_text().splitlines()
    blank = source / "R9A" / "apc" / "blank_line.csv"
    blank.write_text("\n".join([header, first, "", *rest]) + "\n", encoding="utf-8")
    snomed = source / "R9A" / "ecds" / "check_digit.csv"
    snomed.parent.mkdir(parents=True)
    snomed.write_text(
        "nhs_number,local_patient_id,attendance_id,arrival,departure,acuity,chief_complaint,"
        "discharge_destination\n"
        "9434765919,A1,E1,2024-07-01T13:05:00Z,2024-07-01T15:00:00Z,3,267036007,306689006\n"
        "9434765919,A1,E2,2024-07-01T13:05:00Z,2024-07-01T15:00:00Z,3,267036008,306689006\n",
        encoding="utf-8",
    )
    summary = ingest(source)
    assert seen == {
        "clean.csv": "staged",
        "blank_line.csv": "gave way",
        "ragged.csv": "read failed",
        "check_digit.csv": "gave way",
    }
    assert {o.path.rsplit("/", 1)[1]: o.status for o in summary.outcomes} == dict.fromkeys(
        seen, "loaded"
    )
    [digit] = [o for o in summary.outcomes if o.path.endswith("check_digit.csv")]
    assert (digit.rows_read, digit.rows_loaded, digit.rows_quarantined) == (2, 1, 1)
    assert not [p for p in lake.root.rglob("*") if p.name.endswith(".tmp")]


def test_a_line_the_reader_cannot_split_late_in_a_big_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    ingest: Ingest,
    factory: sessionmaker[Session],
    lake: Lake,
) -> None:
    """The one pass has written several row groups when the reader meets a line it cannot
    split: what it wrote is dropped, and the careful read quarantines that line alone."""
    seen = _one_pass_outcomes(monkeypatch)
    path = tmp_path / "in" / "R9C" / "csds" / "big.csv"
    path.parent.mkdir(parents=True)
    rows, ragged = 300_000, 290_000
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("nhs_number,local_patient_id,contact_date,team_type,contact_type\n")
        for line in range(2, rows + 2):
            tail = ",x,y" if line == ragged else ""
            fh.write(f"9434765919,L{line},2024-01-01,podiatry,telephone{tail}\n")
    [outcome] = ingest(tmp_path / "in").outcomes
    assert seen == {"big.csv": "read failed"}
    assert (outcome.status, outcome.rows_read, outcome.rows_quarantined) == ("loaded", rows, 1)
    with factory() as s:
        [bad] = s.scalars(select(QuarantineRow)).all()
    assert bad.line == ragged
    part = part_path(lake, "csds", "R9C", "big.csv")
    assert pq.read_metadata(part).num_rows == rows - 1
    assert not [p for p in lake.root.rglob("*") if p.name.endswith(".tmp")]
