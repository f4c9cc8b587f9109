"""The header row: what is read, what is refused, and a header ending in delimiters."""

from __future__ import annotations

from pathlib import Path

import pytest

from wholesystem.record.engine import FileRejected
from wholesystem.record.files import UNNAMED, Header, read_facts, read_header


def _header(tmp_path: Path, text: str) -> Header:
    path = tmp_path / "f.csv"
    path.write_text(text, encoding="utf-8")
    return read_header(path, read_facts(path))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b,c\n1,2,3\n", Header(("a", "b", "c"))),
        (" A , B ,c\n1,2,3\n", Header(("a", "b", "c"))),
        # Every line ends in a delimiter: the blank column is read, to be checked.
        ("a,b,c,\n1,2,3,\n", Header(("a", "b", "c", f"{UNNAMED}4"), (f"{UNNAMED}4",))),
        (
            "a,b,,\n1,2,,\n",
            Header(("a", "b", f"{UNNAMED}3", f"{UNNAMED}4"), (f"{UNNAMED}3", f"{UNNAMED}4")),
        ),
        # Only the header does: the rows are read as they are.
        ("a,b,c,\n1,2,3\n", Header(("a", "b", "c"), blank_tail=1)),
        ("a,b,c,,\n\n1,2,3\n", Header(("a", "b", "c"), blank_tail=2)),  # past a blank line
        ('a,b,c,\n"1\n2",2,3\n', Header(("a", "b", "c"), blank_tail=1)),  # a record over lines
        # No record to judge by: read as every line ends so (a header-only file).
        ("a,b,c,\n", Header(("a", "b", "c", f"{UNNAMED}4"), (f"{UNNAMED}4",))),
    ],
)
def test_header(tmp_path: Path, text: str, expected: Header) -> None:
    assert _header(tmp_path, text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty file: there is no header row"),
        ("\n1,2\n", "the first line is blank"),
        ("a,,c\n1,2,3\n", "blank column header at position 2"),
        (",b,,d,\n1,2,3,4,\n", "blank column header at position 1, 3"),
        (",,,\n1,2,3,\n", "the header row names no column: every name in it is blank"),
        ("a,b,a,\n1,2,3,\n", "duplicated column header: a (columns 1 and 3)"),
        ("a;b;c\n1;2;3\n", "wrong delimiter: the header is separated by semicolons"),
    ],
)
def test_header_refused(tmp_path: Path, text: str, reason: str) -> None:
    with pytest.raises(FileRejected) as refused:
        _header(tmp_path, text)
    assert reason in refused.value.reason
