"""The national data opt-out, by NHS number.

People who have opted out are left out of model training and analysts' extracts;
direct care (the shared record) is unaffected (``/work/shared/reference/nhs-rules.md``).
Opt-outs are kept as history: withdrawing one stamps ``withdrawn_at``, recording again
adds a new row. Every change is audited.

Loading a file is all or nothing: every row is checked first (ten digits, modulus-11
check digit) and any bad row stops the load with its line number, before anything is
written.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from wholesystem.access import audit
from wholesystem.access.errors import AccessError
from wholesystem.access.models import OptOut
from wholesystem.store.db import utcnow

__all__ = [
    "NHS_NUMBER_COLUMN",
    "SOURCE_LENGTH",
    "AlreadyOptedOut",
    "InvalidNhsNumber",
    "LoadResult",
    "NotOptedOut",
    "OptOutError",
    "OptOutFileError",
    "current_opt_outs",
    "is_opted_out",
    "load_opt_outs",
    "nhs_number_problem",
    "normalise_nhs_number",
    "opted_out_nhs_numbers",
    "parse_opt_out_csv",
    "record_opt_out",
    "valid_nhs_number",
    "withdraw_opt_out",
]

NHS_NUMBER_COLUMN = "nhs_number"
SOURCE_LENGTH = 100


def normalise_nhs_number(text: str | None) -> str | None:
    """The characters of ``text`` without spaces and hyphens, or None when blank."""
    if text is None:
        return None
    digits = text.strip().replace(" ", "").replace("-", "")
    return digits or None


def nhs_number_problem(text: str | None) -> str | None:
    """Why ``text`` is not an NHS number, or None when it is one (or is blank).

    Ten digits (spaces and hyphens allowed, as in 943 476 5919) whose last is the
    modulus-11 check digit of the first nine; a check value of 10 is never valid (NHS
    Data Dictionary, NHS number). The same rule as ``wholesystem.record.validate``,
    repeated here so that access does not import the record capability's schemas.
    """
    digits = normalise_nhs_number(text)
    if digits is None:
        return None
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return f"NHS number {text!r} is not ten digits (spaces allowed as 943 476 5919)"
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    if check == 10 or check != int(digits[9]):
        return f"NHS number {text!r} fails the modulus-11 check digit"
    return None


class OptOutError(AccessError, ValueError):
    """An opt-out cannot be recorded or withdrawn; the message says why."""


class InvalidNhsNumber(OptOutError):
    """Not ten digits, or the modulus-11 check digit is wrong."""


class AlreadyOptedOut(OptOutError):
    def __init__(self, nhs_number: str) -> None:
        super().__init__(f"NHS number {nhs_number} has already opted out")
        self.nhs_number = nhs_number


class NotOptedOut(OptOutError):
    def __init__(self, nhs_number: str) -> None:
        super().__init__(f"NHS number {nhs_number} has no current opt-out to withdraw")
        self.nhs_number = nhs_number


class OptOutFileError(OptOutError):
    """The file has bad rows; nothing was loaded. ``problems`` are (line, message)."""

    def __init__(self, problems: tuple[tuple[int, str], ...]) -> None:
        super().__init__(problems)
        self.problems = problems

    def __str__(self) -> str:
        shown = [f"line {line}: {message}" for line, message in self.problems[:20]]
        more = len(self.problems) - len(shown)
        if more > 0:
            shown.append(f"... and {more:,} more")
        count = len(self.problems)
        head = f"Nothing was loaded: {count:,} bad row{'s' if count != 1 else ''}"
        return head + "\n" + "\n".join(shown)


@dataclass(frozen=True)
class LoadResult:
    """What a load did: NHS numbers added, already opted out, and repeated in the file."""

    added: int
    already: int
    repeated: int
    lines: int = 0


def valid_nhs_number(text: str | None) -> str:
    """The ten digits of ``text`` (spaces and hyphens allowed), or InvalidNhsNumber."""
    problem = nhs_number_problem(text)
    digits = normalise_nhs_number(text)
    if digits is None:
        raise InvalidNhsNumber("Enter an NHS number")
    if problem is not None:
        raise InvalidNhsNumber(problem)
    return digits


def _current(session: Session, nhs_number: str) -> OptOut | None:
    return session.execute(
        select(OptOut).where(OptOut.nhs_number == nhs_number, OptOut.withdrawn_at.is_(None))
    ).scalar_one_or_none()


def is_opted_out(session: Session, nhs_number: str | None) -> bool:
    """Whether ``nhs_number`` has a current opt-out (False for None or a malformed number)."""
    digits = normalise_nhs_number(nhs_number)
    if digits is None:
        return False
    return _current(session, digits) is not None


def opted_out_nhs_numbers(session: Session) -> frozenset[str]:
    """Every NHS number with a current opt-out."""
    return frozenset(
        session.execute(select(OptOut.nhs_number).where(OptOut.withdrawn_at.is_(None))).scalars()
    )


def current_opt_outs(session: Session, *, include_withdrawn: bool = False) -> list[OptOut]:
    """Opt-out rows, newest first; only current ones unless ``include_withdrawn``."""
    query = select(OptOut).order_by(OptOut.recorded_at.desc(), OptOut.id.desc())
    if not include_withdrawn:
        query = query.where(OptOut.withdrawn_at.is_(None))
    return list(session.execute(query).scalars())


def _source(source: str) -> str:
    text = source.strip()
    if not text:
        raise OptOutError("Say where the opt-out came from")
    if len(text) > SOURCE_LENGTH:
        raise OptOutError(f"The source must be {SOURCE_LENGTH} characters or fewer")
    return text


def record_opt_out(
    session: Session,
    nhs_number: str,
    *,
    actor: str,
    source: str,
    now: datetime | None = None,
) -> OptOut:
    """Record a current opt-out for ``nhs_number``. Audited as ``opt_out.record``."""
    digits = valid_nhs_number(nhs_number)
    origin = _source(source)
    if _current(session, digits) is not None:
        raise AlreadyOptedOut(digits)
    moment = now or utcnow()
    row = OptOut(nhs_number=digits, recorded_at=moment, recorded_by=actor, source=origin)
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="opt_out.record",
        object_type="nhs_number",
        object_id=digits,
        detail={"opt_out_id": row.id, "source": origin},
        at=moment,
    )
    return row


def withdraw_opt_out(
    session: Session, nhs_number: str, *, actor: str, now: datetime | None = None
) -> OptOut:
    """Withdraw the current opt-out of ``nhs_number``. Audited as ``opt_out.withdraw``."""
    digits = valid_nhs_number(nhs_number)
    row = _current(session, digits)
    if row is None:
        raise NotOptedOut(digits)
    moment = now or utcnow()
    row.withdrawn_at = max(moment, row.recorded_at)
    row.withdrawn_by = actor
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="opt_out.withdraw",
        object_type="nhs_number",
        object_id=digits,
        detail={"opt_out_id": row.id},
        at=moment,
    )
    return row


def parse_opt_out_csv(text: str) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(line, NHS number) for each good row and (line, message) for each bad one.

    The file is CSV with a header row naming an ``nhs_number`` column (other columns are
    ignored). Blank rows are skipped. Line numbers count the header as line 1.
    """
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    good: list[tuple[int, str]] = []
    bad: list[tuple[int, str]] = []
    header: list[str] | None = None
    column = -1
    for row in reader:
        line = reader.line_num
        if header is None:
            if not any(cell.strip() for cell in row):
                continue
            header = [cell.strip().lower() for cell in row]
            if NHS_NUMBER_COLUMN not in header:
                bad.append((line, f"the header row has no {NHS_NUMBER_COLUMN} column"))
                return good, bad
            column = header.index(NHS_NUMBER_COLUMN)
            continue
        if not any(cell.strip() for cell in row):
            continue
        value = row[column] if column < len(row) else ""
        problem = nhs_number_problem(value)
        digits = normalise_nhs_number(value)
        if digits is None:
            bad.append((line, "the NHS number is blank"))
        elif problem is not None:
            bad.append((line, problem))
        else:
            good.append((line, digits))
    if header is None:
        bad.append((1, f"the file is empty; expected a header row with {NHS_NUMBER_COLUMN}"))
    return good, bad


def load_opt_outs(
    session: Session,
    text: str,
    *,
    actor: str,
    source: str,
    now: datetime | None = None,
) -> LoadResult:
    """Record every NHS number in a CSV file, or nothing if any row is bad.

    Numbers already opted out, and numbers repeated in the file, are counted and skipped.
    Each new opt-out is audited; so is the load as a whole (``opt_out.load``). The caller
    commits; on :class:`OptOutFileError` nothing has been written.
    """
    origin = _source(source)
    good, bad = parse_opt_out_csv(text)
    if bad:
        raise OptOutFileError(tuple(bad))
    moment = now or utcnow()
    current = opted_out_nhs_numbers(session)
    seen: set[str] = set()
    added = already = repeated = 0
    for _line, digits in good:
        if digits in seen:
            repeated += 1
            continue
        seen.add(digits)
        if digits in current:
            already += 1
            continue
        record_opt_out(session, digits, actor=actor, source=origin, now=moment)
        added += 1
    audit.append(
        session,
        actor=actor,
        action="opt_out.load",
        object_type="opt_out_list",
        object_id=origin,
        detail={"added": added, "already": already, "repeated": repeated, "rows": len(good)},
        at=moment,
    )
    return LoadResult(added=added, already=already, repeated=repeated, lines=len(good))
