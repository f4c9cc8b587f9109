"""File-level checks: readable, UTF-8, hashed, a sound header, not cut short.

Each fault raises :class:`~wholesystem.record.engine.FileRejected` with a reason a
partner's data manager can act on.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wholesystem.record.engine import FileRejected

__all__ = ["FileFacts", "Header", "read_facts", "read_header"]

_CHUNK = 4 * 1024 * 1024
# The Unicode space separators but U+0020, in UTF-8: U+00A0, U+1680, U+2000-U+200A,
# U+202F, U+205F, U+3000 (the characters DuckDB's trim strips, with U+0020).
_UNICODE_SPACES = re.compile(
    rb"\xc2\xa0|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xaf]|\xe2\x81\x9f|\xe3\x80\x80"
)
_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
_SPACE = 0x20
# A space beside one of these may start or end a CSV value: a delimiter, a quote, a line end.
_EDGES = np.frombuffer(b',"\n\r', dtype=np.uint8)


@dataclass(frozen=True)
class FileFacts:
    """What one streaming pass over a file learns."""

    sha256: str
    size: int
    lines: int | None  # count of line ends; None (not counted) when the file ends with one
    ends_with_newline: bool
    tail: str  # the last line (decoded), for the truncation check
    problem: str | None = None  # why the file is not UTF-8, when it is not
    # Whether any space separator other than U+0020 (what DuckDB's trim also strips)
    # occurs anywhere in the file; when none does, only values with a leading or
    # trailing U+0020 need trimming. True when unknown.
    unicode_spaces: bool = True
    # Whether any value may start or end with U+0020: a space beside a comma, a quote or
    # a line end anywhere in the file (a header "a, b" counts too). When none is, and
    # there are no other space separators, no value of the file needs trimming. True
    # when unknown.
    padded: bool = True


@dataclass(frozen=True)
class Header:
    """The parsed header row of a CSV file."""

    names: tuple[str, ...]


def _lines_before(path: Path, offset: int) -> int:
    """How many line ends ``path`` has before byte ``offset``: read again, for the rare
    file that needs it (the one pass does not count them)."""
    count = 0
    with open(path, "rb") as fh:
        while offset > 0 and (chunk := fh.read(min(_CHUNK, offset))):
            count += chunk.count(b"\n")
            offset -= len(chunk)
    return count


def _space_at_an_edge(window: bytes) -> bool:
    """Whether a space in ``window[1:-1]`` has a comma, quote or line end beside it."""
    data = np.frombuffer(window, dtype=np.uint8)
    at = np.flatnonzero(data[1:-1] == _SPACE) + 1
    return bool(at.size) and bool(
        np.isin(data[at - 1], _EDGES).any() or np.isin(data[at + 1], _EDGES).any()
    )


def read_facts(path: Path) -> FileFacts:
    """Hash the file and prove it is UTF-8, in one pass; reject what cannot be read.

    Each chunk is hashed on a second thread (hashlib lets go of the GIL) while this one
    looks through it.
    """
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    size = 0
    last = b""
    problem: str | None = None
    spaces = padded = False
    # The last two bytes seen: a space at a chunk's seam is judged with both neighbours.
    # The file starts as if after a line end.
    seam = b"\n"
    try:
        with open(path, "rb") as fh, ThreadPoolExecutor(1, thread_name_prefix="sha256") as side:
            hashed: Future[None] | None = None
            while chunk := fh.read(_CHUNK):
                if hashed is not None:
                    hashed.result()
                hashed = side.submit(digest.update, chunk)
                if not padded:
                    window = seam + chunk
                    padded = _space_at_an_edge(window)
                    seam = window[-2:]
                # An ASCII chunk cannot hold (part of) one; else look across the seam too.
                if not spaces and not chunk.isascii():
                    spaces = _UNICODE_SPACES.search(last[-2:] + chunk) is not None
                # An ASCII chunk is valid UTF-8 unless a character began before it.
                if problem is None and not (chunk.isascii() and not decoder.getstate()[0]):
                    # A character begun in the last chunk is decoded with this one.
                    pending = len(decoder.getstate()[0])
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError as exc:
                        offset = size - pending + exc.start
                        bad = exc.object[exc.start : exc.start + 1]
                        line = _lines_before(path, offset) + 1
                        latin = " (it looks like Latin-1 or Windows-1252)" if bad >= b"\x80" else ""
                        problem = (
                            f"not UTF-8: byte 0x{bad.hex()} at offset {offset} (line {line}) is "
                            f"not valid UTF-8{latin}; export the file as UTF-8 and send it again"
                        )
                size += len(chunk)
                last = (last + chunk[-65536:])[-65536:]
            if hashed is not None:
                hashed.result()
        if problem is None:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                problem = (
                    "not UTF-8: the file ends in the middle of a multi-byte character; "
                    "the file looks cut short"
                )
        ends = last.endswith(b"\n")
        # Only a file cut short mid-line needs its line ends counted (see check_not_truncated).
        lines = None if ends else _lines_before(path, size)
    except IsADirectoryError:
        raise FileRejected(f"unreadable: {path} is a folder, not a file") from None
    except OSError as exc:
        raise FileRejected(f"unreadable: {exc.strerror or exc}") from None
    body = last[:-1] if ends else last
    tail = body.rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace").rstrip("\r")
    padded = padded or seam.endswith(b" ")  # the file's last value ends in a space
    return FileFacts(digest.hexdigest(), size, lines, ends, tail, problem, spaces, padded)


def read_header(path: Path, facts: FileFacts) -> Header:
    """Parse and check the header row (delimiter, blanks, duplicates)."""
    if facts.size == 0:
        raise FileRejected("empty file: there is no header row")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        first = fh.readline()
    text = first.rstrip("\r\n")
    if not text.strip():
        raise FileRejected("the first line is blank: the header row must come first")
    names = [n.strip().lower() for n in next(csv.reader([text]))]
    if len(names) == 1:
        for delim, label in _DELIMITERS.items():
            if delim in text:
                raise FileRejected(
                    f"wrong delimiter: the header is separated by {label}, not commas; "
                    "extracts must be comma-separated (CSV)"
                )
    blank = [i + 1 for i, n in enumerate(names) if not n]
    if blank:
        where = ", ".join(str(i) for i in blank)
        raise FileRejected(f"blank column header at position {where}")
    seen: dict[str, int] = {}
    dupes: list[str] = []
    for i, n in enumerate(names, start=1):
        if n in seen:
            dupes.append(f"{n} (columns {seen[n]} and {i})")
        else:
            seen[n] = i
    if dupes:
        raise FileRejected("duplicated column header: " + "; ".join(dupes))
    return Header(tuple(names))


def check_not_truncated(facts: FileFacts, header: Header) -> None:
    """Reject a file whose last line stops mid-row with no line end."""
    if facts.ends_with_newline or not facts.lines:
        return
    tail = facts.tail
    fields: list[str] | None
    try:
        fields = next(csv.reader([tail], strict=True))
    except (csv.Error, StopIteration):
        fields = None
    open_quote = tail.count('"') % 2 == 1
    if fields is None or open_quote or len(fields) < len(header.names):
        count = 0 if fields is None else len(fields)
        raise FileRejected(
            f"truncated: the last line ({facts.lines + 1}) stops after {count} of "
            f"{len(header.names)} columns with no line end; the file looks cut short"
        )
