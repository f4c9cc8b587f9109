"""File-level checks: readable, UTF-8, hashed, a sound header, not cut short.

Each fault raises :class:`~wholesystem.record.engine.FileRejected` with a reason a
partner's data manager can act on.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wholesystem.record.engine import FileRejected

__all__ = [
    "UNNAMED",
    "FileFacts",
    "Header",
    "RecordLines",
    "read_facts",
    "read_header",
    "record_lines",
]

_CHUNK = 4 * 1024 * 1024
# The Unicode space separators but U+0020, in UTF-8: U+00A0, U+1680, U+2000-U+200A,
# U+202F, U+205F, U+3000 (the characters DuckDB's trim strips, with U+0020).
_UNICODE_SPACES = re.compile(
    rb"\xc2\xa0|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xaf]|\xe2\x81\x9f|\xe3\x80\x80"
)
_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
_SPACE = 0x20
_LF, _CR, _QUOTE = 10, 13, 34
# A space beside one of these may start or end a CSV value: a delimiter, a quote, a line end.
_EDGES = np.frombuffer(b',"\n\r', dtype=np.uint8)


@dataclass(frozen=True)
class FileFacts:
    """What one streaming pass over a file learns."""

    sha256: str
    size: int
    lines: int  # count of line ends (LF)
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


UNNAMED = "_unnamed_"
"""The name given to a column at the end of the header left blank, with its position
(``_unnamed_12``): ``_``-prefixed, so that its value is kept with a quarantined row."""


@dataclass(frozen=True)
class Header:
    """The parsed header row of a CSV file.

    ``names`` are the columns to read, in order. A header ending in delimiters (a blank
    name or more at its end, as some exports write) keeps them as ``unnamed`` columns
    (see :data:`UNNAMED`) when the rows carry those fields too; when they do not (only
    the header ends so), they are left out and counted in ``blank_tail``.
    """

    names: tuple[str, ...]
    unnamed: tuple[str, ...] = ()
    blank_tail: int = 0


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


def _looks_utf16(head: bytes) -> bool:
    """Whether a file starting ``head`` is UTF-16: a UTF-16 byte order mark, or text
    whose every other byte is NUL (ASCII in UTF-16 without a mark)."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    sample = head[:64]
    return len(sample) >= 8 and any(sample[i::2].count(0) == len(sample[i::2]) for i in (0, 1))


def read_facts(path: Path) -> FileFacts:
    """Hash the file and prove it is UTF-8, in one pass; reject what cannot be read.

    Each chunk is hashed, and its line ends counted, on a second thread (hashlib lets
    go of the GIL) while this one looks through it.
    """
    digest = hashlib.sha256()

    def hash_and_count(chunk: bytes) -> int:
        digest.update(chunk)
        # numpy compares a chunk about three times as fast as bytes.count, without the GIL.
        return int(np.count_nonzero(np.frombuffer(chunk, dtype=np.uint8) == _LF))

    decoder = codecs.getincrementaldecoder("utf-8")()
    size = lines = 0
    last = b""
    problem: str | None = None
    spaces = padded = False
    # The last two bytes seen: a space at a chunk's seam is judged with both neighbours.
    # The file starts as if after a line end.
    seam = b"\n"
    try:
        with open(path, "rb") as fh, ThreadPoolExecutor(1, thread_name_prefix="sha256") as side:
            hashed: Future[int] | None = None
            while chunk := fh.read(_CHUNK):
                if hashed is not None:
                    lines += hashed.result()
                hashed = side.submit(hash_and_count, chunk)
                if not padded:
                    # The seam's bytes, then the chunk's own (not copied onto the seam).
                    padded = _space_at_an_edge(seam + chunk[:2]) or _space_at_an_edge(chunk)
                    seam = (seam + chunk)[-2:] if len(chunk) < 2 else chunk[-2:]
                if size == 0 and _looks_utf16(chunk):
                    problem = (
                        'not UTF-8: the file is UTF-16 (as a spreadsheet\'s "Unicode Text" '
                        "saves it); export it as CSV UTF-8 and send it again"
                    )
                is_ascii = chunk.isascii()
                # An ASCII chunk cannot hold (part of) one; else look across the seam too.
                if not spaces and not is_ascii:
                    spaces = _UNICODE_SPACES.search(last[-2:] + chunk) is not None
                # An ASCII chunk is valid UTF-8 unless a character began before it.
                if problem is None and not (is_ascii and not decoder.getstate()[0]):
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
                lines += hashed.result()
        if problem is None:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                problem = (
                    "not UTF-8: the file ends in the middle of a multi-byte character; "
                    "the file looks cut short"
                )
        ends = last.endswith(b"\n")
    except IsADirectoryError:
        raise FileRejected(f"unreadable: {path} is a folder, not a file") from None
    except OSError as exc:
        raise FileRejected(f"unreadable: {exc.strerror or exc}") from None
    body = last[:-1] if ends else last
    tail = body.rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace").rstrip("\r")
    padded = padded or seam.endswith(b" ")  # the file's last value ends in a space
    return FileFacts(digest.hexdigest(), size, lines, ends, tail, problem, spaces, padded)


@dataclass(frozen=True)
class RecordLines:
    """Where each record of a CSV file starts, for a file whose records are not one a line.

    Blank lines (which the reader skips) and line ends inside quoted values (a record
    over several lines) part a record's number from its line. ``first_line[j - 1]`` is
    the line, as an editor numbers them (header = 1), on which data record ``j``
    starts; records are numbered from 1 after the header, blank lines not counted, as
    the reader numbers its rows. ``record_at[n - 1]`` is the record the reader's reject
    store means by its line ``n`` (it counts blank lines but not line ends inside
    quotes), 0 for the header or a blank line.
    """

    first_line: np.ndarray
    record_at: np.ndarray


def record_lines(path: Path, *, quoted: bool = True) -> RecordLines:
    """Number ``path``'s lines and records (see :class:`RecordLines`), chunk by chunk.

    A line ends at LF, or at a CR not followed by LF. A line end ends a record when an
    even number of quotes comes before it (a quote inside a quoted value is doubled, so
    the parity tells whether the line end falls inside one); not ``quoted``: every line
    end does (for a file whose stray quotes the reader took as text). A record that
    holds nothing, or only the CR of a CRLF, is a blank line.
    """
    breaks: list[np.ndarray] = []  # each record end's index among all line ends
    blanks: list[np.ndarray] = []  # whether the record it ends is blank
    ends_before = quotes_before = size = 0
    last_end = -1  # offset of the last record end
    prev = np.array([_LF, _LF], dtype=np.uint8)  # as if the file began after a line end
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            data = np.frombuffer(chunk, dtype=np.uint8)
            after = np.empty_like(data)
            after[:-1] = data[1:]
            following = fh.peek(1)[:1]  # what comes after a CR at the chunk's end
            after[-1] = following[0] if following else 0
            is_end = (data == _LF) | ((data == _CR) & (after != _LF))
            ends = np.flatnonzero(is_end)
            quotes = np.flatnonzero(data == _QUOTE) if quoted else np.zeros(0, np.int64)
            outside = ((np.searchsorted(quotes, ends) + quotes_before) & 1) == 0
            at = ends[outside]
            breaks.append(np.flatnonzero(outside) + ends_before)
            # A record end right after another (no quote between them: both outside)
            # closes an empty record; so does one whose record is only a CRLF's CR.
            window = np.concatenate((prev, data))
            this, one, two = window[at + 2], window[at + 1], window[at]
            one_ends = (one == _LF) | ((one == _CR) & (this != _LF))
            crlf_alone = (one == _CR) & (this == _LF) & ((two == _LF) | (two == _CR))
            blanks.append(one_ends | crlf_alone)
            if at.size:
                last_end = size + int(at[-1])
            ends_before += ends.size
            quotes_before += quotes.size
            prev = window[-2:]
            size += data.size
    ended = np.concatenate(breaks) if breaks else np.zeros(0, dtype=np.int64)
    # Segment k ends at record end k; the last runs to the end of the file.
    blank = np.append(np.concatenate(blanks) if blanks else np.zeros(0, bool), last_end == size - 1)
    starts = np.concatenate(([1], ended + 2))  # line of each segment's first byte
    data_segments = np.flatnonzero(~blank[1:]) + 1  # segment 0 is the header
    record_at = np.zeros(blank.size, dtype=np.int64)
    record_at[data_segments] = np.arange(1, data_segments.size + 1)
    return RecordLines(starts[data_segments].astype(np.int64), record_at)


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
    tail = len(names) - len(_without_blank_tail(names))
    named = names[: len(names) - tail]
    if not named:
        raise FileRejected("the header row names no column: every name in it is blank")
    blank = [i + 1 for i, n in enumerate(named) if not n]
    if blank:
        where = ", ".join(str(i) for i in blank)
        raise FileRejected(f"blank column header at position {where}")
    seen: dict[str, int] = {}
    dupes: list[str] = []
    for i, n in enumerate(named, start=1):
        if n in seen:
            dupes.append(f"{n} (columns {seen[n]} and {i})")
        else:
            seen[n] = i
    if dupes:
        raise FileRejected("duplicated column header: " + "; ".join(dupes))
    if not tail:
        return Header(tuple(named))
    # Whether the rows end in as many delimiters as the header does, judged by the first
    # record: a row that does otherwise is quarantined for its count of fields, so a
    # misjudged file loses no row.
    if _first_record_fields(path) == len(named):
        return Header(tuple(named), blank_tail=tail)
    unnamed = tuple(f"{UNNAMED}{i}" for i in range(len(named) + 1, len(names) + 1))
    return Header(tuple(named) + unnamed, unnamed=unnamed)


def _without_blank_tail(names: list[str]) -> list[str]:
    end = len(names)
    while end and not names[end - 1]:
        end -= 1
    return names[:end]


def _first_record_fields(path: Path) -> int | None:
    """How many fields the first record after the header has, past blank lines (None: no
    record, or one the csv module cannot read)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = csv.reader(fh)
        try:
            next(rows)
            return next(len(row) for row in rows if row)
        except (StopIteration, csv.Error):
            return None


def _last_record(path: Path) -> str:
    """The text of the file's last record, from the line it starts on to the end."""
    lines = record_lines(path)
    first = int(lines.first_line[-1]) if lines.first_line.size else 1
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return "".join(line for n, line in enumerate(fh, start=1) if n >= first)


def check_not_truncated(path: Path, facts: FileFacts, header: Header) -> None:
    """Reject a file whose last record stops mid-row with no line end."""
    if facts.ends_with_newline or not facts.lines:
        return
    tail = facts.tail
    if tail.count('"') % 2:  # the end of a quoted value begun on a line above, or cut short
        tail = _last_record(path)
    fields: list[str] | None
    try:
        fields = next(csv.reader(io.StringIO(tail, newline=""), strict=True))
    except (csv.Error, StopIteration):
        fields = None
    open_quote = tail.count('"') % 2 == 1
    if fields is None or open_quote or len(fields) < len(header.names):
        count = 0 if fields is None else len(fields)
        raise FileRejected(
            f"truncated: the last line ({facts.lines + 1}) stops after {count} of "
            f"{len(header.names)} columns with no line end; the file looks cut short"
        )
