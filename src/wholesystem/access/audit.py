"""The append-only, hash-chained audit log.

Each event's ``hash`` is the SHA-256 of the canonical JSON of its own fields and the
previous event's hash, so editing, removing or reordering any row breaks the chain at
that row. The single ``audit_head`` row holds the last sequence number and hash and is
updated in the same transaction as every append, so deleting rows from the end is caught
too. The database itself refuses UPDATE and DELETE on ``audit_event`` (triggers created
by migration 0003); :func:`verify` catches what someone with the power to drop those
triggers does anyway.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from wholesystem.access.errors import AuditError
from wholesystem.access.models import USERNAME_LENGTH, AuditEvent, AuditHead
from wholesystem.store.db import utcnow

__all__ = [
    "GENESIS_HASH",
    "SYSTEM_ACTOR",
    "AuditVerification",
    "append",
    "canonical_json",
    "event_hash",
    "verify",
]

GENESIS_HASH = "0" * 64
SYSTEM_ACTOR = "system"
HEAD_ID = 1
_LIMITS = {"actor": USERNAME_LENGTH, "action": 64, "object_type": 64, "object_id": 200}


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no spaces and no NaN/Infinity: one text for one value."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise AuditError("audit times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    detail: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 (hex) of the canonical JSON of one event's fields and the previous hash."""
    payload = {
        "seq": seq,
        "at": _iso(at),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def _normalise_detail(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """``detail`` as it will read back from the database (lists for tuples, str keys)."""
    if detail is None:
        return {}
    if not isinstance(detail, Mapping):
        raise AuditError(f"audit detail must be a mapping, not {type(detail).__name__}")

    def check(value: Any, where: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise AuditError(f"audit detail key {key!r} at {where} must be a string")
                check(item, f"{where}.{key}")
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                check(item, f"{where}[{i}]")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise AuditError(f"audit detail at {where} is not a finite number")
        elif not (value is None or isinstance(value, str | int | bool)):
            raise AuditError(
                f"audit detail at {where} is a {type(value).__name__}; "
                "convert it to a string or number first"
            )

    check(detail, "detail")
    normalised: dict[str, Any] = json.loads(canonical_json(detail))
    return normalised


def _check_field(name: str, value: str) -> str:
    if not isinstance(value, str) or not value:
        raise AuditError(f"audit {name} must be a non-empty string")
    if len(value) > _LIMITS[name]:
        raise AuditError(f"audit {name} is longer than {_LIMITS[name]} characters: {value[:40]!r}…")
    return value


def _lock_head(session: Session) -> AuditHead:
    """The head row, locked for this transaction so appends are strictly serial."""
    if session.get_bind().dialect.name == "postgresql":
        stmt = select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()
    else:
        # SQLite has no row locks: a no-op UPDATE takes the database write lock first,
        # so the head is read only once no other writer can change it.
        session.execute(
            update(AuditHead)
            .where(AuditHead.id == HEAD_ID)
            .values(last_seq=AuditHead.last_seq)
            .execution_options(synchronize_session=False)
        )
        stmt = select(AuditHead).where(AuditHead.id == HEAD_ID)
    head = session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()
    if head is not None:
        return head
    if session.execute(select(func.count()).select_from(AuditEvent)).scalar_one():
        raise AuditError(
            "the audit log's head row is missing although the log has entries; "
            "nothing more can be appended until an administrator runs `wholesystem audit verify`"
        )
    head = AuditHead(id=HEAD_ID, last_seq=0, last_hash=GENESIS_HASH)
    session.add(head)
    session.flush()
    return head


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction (it is kept only if the caller commits).

    ``actor`` is a username or ``"system"``. ``detail`` must be JSON: strings, numbers,
    booleans, None, lists and mappings with string keys.
    """
    fields = {
        "actor": _check_field("actor", actor),
        "action": _check_field("action", action),
        "object_type": _check_field("object_type", object_type),
        "object_id": _check_field("object_id", str(object_id)),
    }
    clean_detail = _normalise_detail(detail)
    moment = (at or utcnow()).astimezone(UTC)
    head = _lock_head(session)
    seq = head.last_seq + 1
    digest = event_hash(seq=seq, at=moment, detail=clean_detail, prev_hash=head.last_hash, **fields)
    event = AuditEvent(
        seq=seq,
        at=moment,
        detail=clean_detail,
        prev_hash=head.last_hash,
        hash=digest,
        **fields,
    )
    session.add(event)
    head.last_seq = seq
    head.last_hash = digest
    session.flush()
    return event


@dataclass(frozen=True)
class AuditVerification:
    """The outcome of :func:`verify`: ``problem`` names the first bad row, if any."""

    ok: bool
    rows_checked: int
    head_seq: int | None
    problem: str | None = None
    bad_seq: int | None = None

    @property
    def summary(self) -> str:
        if self.ok:
            noun = "row" if self.rows_checked == 1 else "rows"
            return f"Audit log intact: {self.rows_checked} {noun} verified"
        return f"Audit log check failed: {self.problem}"


def _missing(prev_seq: int, seq: int) -> str:
    first, last = prev_seq + 1, seq - 1
    which = f"row {first} is missing" if first == last else f"rows {first} to {last} are missing"
    if prev_seq == 0:
        return f"{which} (the log starts at row {seq})"
    return f"{which} (sequence jumps from {prev_seq} to {seq})"


def _row_problem(row: Any, prev_seq: int, prev_hash: str) -> tuple[str, int] | None:
    """What is wrong with ``row`` given the row before it, naming the row, or None."""
    if row.seq <= prev_seq:
        return f"row {row.seq} is out of sequence", row.seq
    if row.seq != prev_seq + 1:
        return _missing(prev_seq, row.seq), prev_seq + 1
    recomputed = event_hash(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        detail=row.detail if row.detail is not None else {},
        prev_hash=row.prev_hash,
    )
    if recomputed != row.hash:
        return f"row {row.seq} was edited (hash mismatch)", row.seq
    if row.prev_hash != prev_hash:
        if row.seq == 1:
            return "row 1's prev_hash is not the genesis value", 1
        return f"row {row.seq}'s prev_hash does not match row {row.seq - 1}", row.seq
    return None


def verify(session: Session, *, batch_size: int = 1000) -> AuditVerification:
    """Walk the whole chain and the head; report the first problem, naming its row."""
    head = session.execute(
        select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == HEAD_ID)
    ).one_or_none()
    head_seq = None if head is None else int(head.last_seq)

    def failed(problem: str, bad_seq: int | None, checked: int) -> AuditVerification:
        return AuditVerification(False, checked, head_seq, problem, bad_seq)

    columns = select(
        AuditEvent.seq,
        AuditEvent.at,
        AuditEvent.actor,
        AuditEvent.action,
        AuditEvent.object_type,
        AuditEvent.object_id,
        AuditEvent.detail,
        AuditEvent.prev_hash,
        AuditEvent.hash,
    ).order_by(AuditEvent.seq)
    if head_seq is not None:
        # Rows appended after the head was read belong to the next check.
        columns = columns.where(AuditEvent.seq <= head_seq)

    prev_seq, prev_hash, checked = 0, GENESIS_HASH, 0
    rows = session.execute(columns.execution_options(yield_per=batch_size))
    try:
        for row in rows:
            checked += 1
            problem = _row_problem(row, prev_seq, prev_hash)
            if problem is not None:
                return failed(problem[0], problem[1], checked)
            prev_seq, prev_hash = row.seq, row.hash
    finally:
        rows.close()  # a server-side cursor on PostgreSQL when we stop early

    if head is None:
        if checked:
            return failed(
                "the audit head row is missing, so rows deleted from the end cannot be ruled out",
                None,
                checked,
            )
        return AuditVerification(True, 0, None)
    if prev_seq < head.last_seq:
        where = "the log is empty" if prev_seq == 0 else f"the log ends at row {prev_seq}"
        return failed(
            f"{where} but the head says {head.last_seq} (rows deleted from the end)",
            prev_seq + 1,
            checked,
        )
    if prev_hash != head.last_hash:
        return failed(
            f"row {prev_seq}'s hash does not match the head (the last row was replaced)",
            prev_seq,
            checked,
        )

    # Rows beyond the head: either appended since we read it (fine) or forged around it.
    beyond = session.execute(
        select(func.min(AuditEvent.seq)).where(AuditEvent.seq > head.last_seq)
    ).scalar_one_or_none()
    if beyond is not None:
        latest = session.execute(
            select(AuditHead.last_seq).where(AuditHead.id == HEAD_ID)
        ).scalar_one_or_none()
        if latest is None or latest < beyond:
            return failed(
                f"row {beyond} is beyond the head's row {head.last_seq} "
                "(it was added outside the audit service)",
                beyond,
                checked,
            )
    return AuditVerification(True, checked, head_seq)
