"""A row is reported at the line of the file it starts on, as an editor numbers lines.

Blank lines (which the reader skips) and line ends inside quoted values (a record over
several lines) part a record's number from its line. Python's ``csv`` module is the
peer: the line a record starts on is one past the line its predecessor ended on
(``csv.reader.line_num``).
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.record.conftest import Ingest, parquet
from wholesystem.record import files, ingest
from wholesystem.record.models import QuarantineRow
from wholesystem.record.staging import part_path
from wholesystem.store.lake import Lake

HEADER = "nhs_number,local_patient_id,contact_date,team_type,contact_type,note"


def _starts(text: str) -> list[list[str | int]]:
    """Each non-blank record after the header with the line it starts on (the peer)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    out: list[list[str | int]] = []
    ended = 0
    for fields in reader:
        if fields:
            out.append([ended + 1, *fields])
        ended = reader.line_num
    return out[1:]


def _random_text(rng: random.Random, rows: int, newline: str, *, ragged: bool = True) -> str:
    """A file of ``rows`` records, some bad, some ``ragged`` (the careful read's path),
    with blank lines and notes that run over several lines (doubled quotes in them too)."""
    lines = [HEADER]
    for i in range(rows):
        if rng.random() < 0.15:
            lines.append("")  # a blank line
        note = rng.choice(["plain", '"two\nlines"', '"say ""hi""\n\nthen"', '"a\r\nb"', ""])
        nhs = "9434765918" if rng.random() < 0.2 else "9434765919"  # the first fails
        fields = [nhs, f"L{i}", "2024-01-01", "podiatry", "telephone", note]
        if ragged and rng.random() < 0.08:
            fields.append("extra")  # a line the reader cannot split
        lines.append(",".join(fields))
    return newline.join(lines) + rng.choice([newline, "", newline + newline])


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64, 4 << 20])
def test_record_lines_agree_with_pythons_csv_reader(
    chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "_CHUNK", chunk)
    rng = random.Random(chunk)
    path = tmp_path / "f.csv"
    for _ in range(40):
        text = _random_text(rng, rng.randint(0, 12), rng.choice(["\n", "\r\n", "\r"]))
        path.write_bytes(text.encode())
        lines = files.record_lines(path)
        assert lines.first_line.tolist() == [r[0] for r in _starts(text)], repr(text)
        assert sorted(set(lines.record_at.tolist()) - {0}) == list(
            range(1, lines.first_line.size + 1)
        )


def test_only_a_file_whose_records_are_not_one_a_line_is_renumbered(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text(HEADER + "\n9434765919,L1,2024-01-01,,,\n")
    assert ingest._record_lines(path, files.read_facts(path), 1) is None
    path.write_text(HEADER + "\n9434765919,L1,2024-01-01,,,")  # no last line end
    assert ingest._record_lines(path, files.read_facts(path), 1) is None
    path.write_text(HEADER + "\n\n9434765919,L1,2024-01-01,,,\n")
    found = ingest._record_lines(path, files.read_facts(path), 1)
    assert found is not None
    assert found.first_line.tolist() == [3]


@pytest.mark.parametrize("together", [False, True], ids=["alone", "together"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("seed", range(4))
def test_quarantine_and_parts_name_the_line_each_row_starts_on(
    seed: int,
    newline: str,
    together: bool,
    tmp_path: Path,
    ingest: Ingest,
    factory: sessionmaker[Session],
    lake: Lake,
) -> None:
    """One file alone (its checks shared with a second cursor) or two side by side; read
    at once (no ragged lines: even seeds) or carefully (odd seeds)."""
    rng = random.Random(seed)
    orgs = ["R9C", "R9D"][: 1 + together]
    texts = {org: _random_text(rng, 60, newline, ragged=seed % 2 == 1) for org in orgs}
    for org, text in texts.items():
        path = tmp_path / "in" / org / "csds" / "f.csv"
        path.parent.mkdir(parents=True)
        path.write_bytes(text.encode())
    outcomes = ingest(tmp_path / "in").outcomes
    assert [o.status for o in outcomes] == ["loaded"] * len(texts), outcomes
    for outcome, (org, text) in zip(outcomes, texts.items(), strict=True):
        starts = {str(r[2]): r[0] for r in _starts(text)}  # local_patient_id -> line
        assert outcome.rows_read == len(starts)
        good = parquet(
            "SELECT local_patient_id, source_line FROM read_parquet(?) ORDER BY source_line",
            part_path(lake, "csds", org, "f.csv"),
        )
        assert good == sorted(((k, starts[k]) for k, _ in good), key=lambda r: r[1])
        with factory() as s:
            bad = s.scalars(
                select(QuarantineRow)
                .where(QuarantineRow.run_id == outcome.run_id)
                .order_by(QuarantineRow.line)
            ).all()
        assert len(good) + len(bad) == len(starts)
        for row in bad:
            if "_line" in row.raw:  # a line the reader could not split: its raw text
                key = next(csv.reader(io.StringIO(row.raw["_line"], newline="")))[1]
            else:
                key = row.raw["local_patient_id"]
            assert row.line == starts[key], (row.rule, key)


def _ingested(
    tmp: Path, text: str, ingest: Ingest, lake: Lake
) -> tuple[int, list[tuple[str, int]]]:
    path = tmp / "in" / "R9C" / "csds" / "f.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(text.encode())
    [outcome] = ingest(path).outcomes
    assert outcome.status == "loaded", outcome.reason
    good = parquet(
        "SELECT local_patient_id, source_line FROM read_parquet(?) ORDER BY source_line",
        part_path(lake, "csds", "R9C", "f.csv"),
    )
    return outcome.rows_read, [(str(k), int(v)) for k, v in good]


def test_a_stray_quote_in_an_unquoted_value_keeps_true_lines(
    tmp_path: Path, ingest: Ingest, lake: Lake
) -> None:
    """The reader takes a quote inside an unquoted value as text; so must the numbering."""
    text = "\n".join([HEADER, "9434765919,L1,2024-01-01,,,", '9434765919,L"2,2024-01-01,,,', ""])
    text += "\n9434765919,L3,2024-01-01,,,\n"
    read, good = _ingested(tmp_path, text, ingest, lake)
    assert read == 3
    assert good == [("L1", 2), ('L"2', 3), ("L3", 5)]


def test_rows_whose_lines_cannot_be_told_are_kept_all_the_same(
    tmp_path: Path, ingest: Ingest, lake: Lake
) -> None:
    """A stray quote and a quoted value over two lines in one file: neither way of
    splitting the bytes gives the reader's records, so each row keeps its record number
    + 1 as its line; none is lost."""
    text = "\n".join(
        [
            HEADER,
            '9434765919,L"1,2024-01-01,,,',
            "",
            '9434765919,L2,2024-01-01,,,"two\nlines"',
            "9434765919,L3,2024-01-01,,,",
        ]
    )
    read, good = _ingested(tmp_path, text + "\n", ingest, lake)
    assert read == 3
    assert good == [('L"1', 2), ("L2", 3), ("L3", 4)]


@pytest.mark.parametrize("seed", range(8))
def test_no_row_is_lost_whatever_the_quotes_and_blank_lines(
    seed: int, tmp_path: Path, ingest: Ingest, factory: sessionmaker[Session], lake: Lake
) -> None:
    """Stray quotes, values over several lines, blank lines and ragged rows mixed at
    random: every row the file holds is in the part or in quarantine (whole, or inside a
    line the reader could not split), whatever line it is given. Even seeds send no
    ragged row, so the file is read at once (the fast read)."""
    rng = random.Random(1000 + seed)
    lines = [HEADER]
    for i in range(40):
        if rng.random() < 0.2:
            lines.append("")
        note = rng.choice(["", "x", 'a"b', '"two\nlines"', '"q""q"'])
        ident = f"ID{i}Z" + ('"' if rng.random() < 0.1 else "")  # a stray quote, at times
        fields = ["9434765919", ident, "2024-01-01", "", "", note]
        if seed % 2 and rng.random() < 0.1:
            fields.append("extra")
        lines.append(",".join(fields))
    text = "\n".join(lines) + "\n"
    path = tmp_path / "in" / "R9C" / "csds" / "f.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(text.encode())
    [outcome] = ingest(path).outcomes
    assert outcome.status == "loaded", outcome.reason
    assert outcome.rows_read == outcome.rows_loaded + outcome.rows_quarantined
    good = parquet(
        "SELECT local_patient_id FROM read_parquet(?)", part_path(lake, "csds", "R9C", "f.csv")
    )
    with factory() as s:
        raws = [str(q.raw) for q in s.scalars(select(QuarantineRow))]
    found = " ".join([str(g[0]) for g in good] + raws)
    missing = [i for i in range(40) if f"ID{i}Z" not in found]
    assert missing == []
