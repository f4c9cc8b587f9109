"""The hash-chained audit log: canonical hashing, append, tamper detection, database triggers."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from tests.access.helpers import drop_audit_triggers
from wholesystem.access import audit
from wholesystem.access.audit import (
    GENESIS_HASH,
    AuditVerification,
    append,
    canonical_json,
    event_hash,
    verify,
)
from wholesystem.access.errors import AuditError
from wholesystem.access.models import AuditEvent, AuditHead
from wholesystem.store.db import session_scope

AT = datetime(2026, 11, 23, 19, 40, 0, 123456, tzinfo=UTC)


# ------------------------------------------------------------------------- pure logic


def test_canonical_json_sorts_keys_and_has_no_spaces() -> None:
    assert canonical_json({"b": 1, "a": [1, {"d": None, "c": "é"}]}) == (
        '{"a":[1,{"c":"é","d":null}],"b":1}'
    )


def test_canonical_json_refuses_nan() -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        canonical_json({"x": float("nan")})


def _hash(**changes: Any) -> str:
    fields: dict[str, Any] = {
        "seq": 7,
        "at": AT,
        "actor": "alice",
        "action": "view",
        "object_type": "person",
        "object_id": "P1",
        "detail": {"reason": "direct care", "n": 2},
        "prev_hash": "ab" * 32,
    }
    fields.update(changes)
    return event_hash(**fields)


def test_event_hash_is_sha256_of_the_canonical_fields() -> None:
    import hashlib

    payload = {
        "seq": 7,
        "at": "2026-11-23T19:40:00.123456+00:00",
        "actor": "alice",
        "action": "view",
        "object_type": "person",
        "object_id": "P1",
        "detail": {"n": 2, "reason": "direct care"},
        "prev_hash": "ab" * 32,
    }
    expected = hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    assert _hash() == expected


def test_event_hash_ignores_key_order_and_time_zone_but_not_content() -> None:
    from datetime import timedelta, timezone

    base = _hash()
    assert _hash(detail={"n": 2, "reason": "direct care"}) == base
    assert _hash(at=AT.astimezone(timezone(timedelta(hours=1)))) == base
    for change in (
        {"seq": 8},
        {"at": AT.replace(microsecond=123457)},
        {"actor": "bob"},
        {"action": "export"},
        {"object_type": "user"},
        {"object_id": "P2"},
        {"detail": {"reason": "direct care", "n": 3}},
        {"prev_hash": "cd" * 32},
    ):
        assert _hash(**change) != base, change


def test_event_hash_refuses_naive_times() -> None:
    with pytest.raises(AuditError, match="timezone-aware"):
        _hash(at=AT.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("detail", "message"),
    [
        ({"x": Decimal("1.5")}, "is a Decimal"),
        ({"x": datetime(2026, 1, 1, tzinfo=UTC)}, "is a datetime"),
        ({1: "a"}, "key 1 at detail must be a string"),
        ({"x": float("inf")}, "not a finite number"),
        ({"a": {"b": [1, {"c": object()}]}}, r"detail\.a\.b\[1\]\.c is a object"),
    ],
)
def test_detail_must_be_plain_json(detail: dict[Any, Any], message: str) -> None:
    with pytest.raises(AuditError, match=message):
        audit._normalise_detail(detail)


def test_summary_wording() -> None:
    assert AuditVerification(True, 3, 3).summary == "Audit log intact: 3 rows verified"
    assert AuditVerification(True, 1, 1).summary == "Audit log intact: 1 row verified"
    failed = AuditVerification(False, 2, 5, "row 2 was edited (hash mismatch)", 2)
    assert failed.summary == "Audit log check failed: row 2 was edited (hash mismatch)"


# ------------------------------------------------------------------------ integration


def _fill(factory: sessionmaker[Session], n: int) -> None:
    with session_scope(factory) as s:
        for i in range(1, n + 1):
            append(
                s,
                actor="alice" if i % 2 else "system",
                action="view",
                object_type="person",
                object_id=f"P{i}",
                detail={"i": i, "tags": ["a", "b"], "note": "naïve ☃", "ok": True, "x": 0.1},
            )


def _verify(factory: sessionmaker[Session]) -> AuditVerification:
    with factory() as s:
        return verify(s)


def test_a_clean_log_verifies(factory: sessionmaker[Session]) -> None:
    assert _verify(factory) == AuditVerification(True, 0, 0)
    _fill(factory, 5)
    result = _verify(factory)
    assert result.ok, result.problem
    assert (result.rows_checked, result.head_seq) == (5, 5)
    with factory() as s:
        events = s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        head = s.get(AuditHead, 1)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert head is not None
    assert (head.last_seq, head.last_hash) == (5, events[-1].hash)
    assert events[2].detail == {"i": 3, "tags": ["a", "b"], "note": "naïve ☃", "ok": True, "x": 0.1}
    assert events[2].at.tzinfo is not None


def test_append_returns_the_event_and_tuples_read_back_as_lists(
    factory: sessionmaker[Session],
) -> None:
    with session_scope(factory) as s:
        event = append(
            s,
            actor="system",
            action="load",
            object_type="footprint",
            object_id="QXX",
            detail={"codes": ("A", "B")},
        )
        assert (event.seq, event.detail) == (1, {"codes": ["A", "B"]})
    assert _verify(factory).ok


def test_an_append_rolled_back_leaves_no_trace(factory: sessionmaker[Session]) -> None:
    _fill(factory, 2)
    s = factory()
    append(s, actor="bob", action="write", object_type="plan", object_id="1")
    s.rollback()
    s.close()
    _fill(factory, 1)
    result = _verify(factory)
    assert result.ok, result.problem
    assert result.rows_checked == 3


def test_bad_fields_are_refused(factory: sessionmaker[Session]) -> None:
    with factory() as s:
        with pytest.raises(AuditError, match="actor must be a non-empty string"):
            append(s, actor="", action="view", object_type="person", object_id="P1")
        with pytest.raises(AuditError, match="action is longer than 64 characters"):
            append(s, actor="a", action="x" * 65, object_type="person", object_id="P1")


def test_orm_update_and_delete_are_refused_by_the_database(
    factory: sessionmaker[Session],
) -> None:
    _fill(factory, 3)
    with factory() as s:
        event = s.get(AuditEvent, 2)
        assert event is not None
        event.action = "nothing to see here"
        with pytest.raises(DBAPIError, match="append-only"):
            s.commit()
    with factory() as s:
        s.delete(s.get(AuditEvent, 3))
        with pytest.raises(DBAPIError, match="append-only"):
            s.commit()
    with factory() as s, pytest.raises(DBAPIError, match="append-only"):
        s.execute(update(AuditEvent).values(actor="mallory"))
    with factory() as s, pytest.raises(DBAPIError, match="append-only"):
        s.execute(delete(AuditEvent))
    with factory() as s, pytest.raises(DBAPIError, match="audit_head"):
        s.execute(delete(AuditHead))
    with factory() as s, pytest.raises(DBAPIError, match="audit_head"):
        s.execute(update(AuditHead).values(last_seq=1))
    result = _verify(factory)
    assert result.ok, result.problem
    assert result.rows_checked == 3


def test_emptying_the_table_in_sql_is_refused(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    _fill(factory, 2)
    emptying = ["DELETE FROM audit_event", "DELETE FROM audit_head"]
    if engine.dialect.name == "postgresql":
        emptying += ["TRUNCATE audit_event", "TRUNCATE audit_head"]
    for statement in emptying:
        with engine.begin() as con, pytest.raises(DBAPIError, match="audit_"):
            con.execute(text(statement))
    assert _verify(factory).ok


def test_editing_a_row_is_detected_and_named(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    _fill(factory, 20)
    drop_audit_triggers(engine)
    with engine.begin() as con:
        con.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE seq = 17"))
    result = _verify(factory)
    assert not result.ok
    assert result.problem == "row 17 was edited (hash mismatch)"
    assert result.bad_seq == 17
    assert result.rows_checked == 17


def test_editing_the_detail_json_is_detected(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    _fill(factory, 5)
    drop_audit_triggers(engine)
    with factory() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(detail={"i": 99}))
        s.commit()
    assert _verify(factory).problem == "row 3 was edited (hash mismatch)"


def test_rewriting_a_row_with_a_fresh_hash_breaks_the_next_link(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    _fill(factory, 20)
    drop_audit_triggers(engine)
    with factory() as s:
        row = s.get(AuditEvent, 16)
        assert row is not None
        new_hash = event_hash(
            seq=16,
            at=row.at,
            actor="mallory",
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            detail=row.detail,
            prev_hash=row.prev_hash,
        )
        s.execute(
            update(AuditEvent).where(AuditEvent.seq == 16).values(actor="mallory", hash=new_hash)
        )
        s.commit()
    result = _verify(factory)
    assert result.problem == "row 17's prev_hash does not match row 16"
    assert result.bad_seq == 17


def test_deleting_a_middle_row_is_detected_and_named(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    _fill(factory, 25)
    drop_audit_triggers(engine)
    with engine.begin() as con:
        con.execute(text("DELETE FROM audit_event WHERE seq = 18"))
    result = _verify(factory)
    assert result.problem == "row 18 is missing (sequence jumps from 17 to 19)"
    assert result.bad_seq == 18


def test_deleting_several_rows_and_the_first_row_are_named(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    _fill(factory, 10)
    drop_audit_triggers(engine)
    with engine.begin() as con:
        con.execute(text("DELETE FROM audit_event WHERE seq BETWEEN 4 AND 6"))
    assert _verify(factory).problem == "rows 4 to 6 are missing (sequence jumps from 3 to 7)"
    with engine.begin() as con:
        con.execute(text("DELETE FROM audit_event WHERE seq = 1"))
    assert _verify(factory).problem == "row 1 is missing (the log starts at row 2)"


def test_deleting_the_last_row_is_detected_by_the_head(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    _fill(factory, 42)
    drop_audit_triggers(engine)
    with engine.begin() as con:
        con.execute(text("DELETE FROM audit_event WHERE seq = 42"))
    result = _verify(factory)
    assert (
        result.problem == "the log ends at row 41 but the head says 42 (rows deleted from the end)"
    )
    assert result.rows_checked == 41


def test_emptying_the_log_is_detected(engine: Engine, factory: sessionmaker[Session]) -> None:
    _fill(factory, 3)
    drop_audit_triggers(engine)
    with engine.begin() as con:
        con.execute(text("DELETE FROM audit_event"))
    assert _verify(factory).problem == (
        "the log is empty but the head says 3 (rows deleted from the end)"
    )


def test_replacing_the_last_row_is_detected(engine: Engine, factory: sessionmaker[Session]) -> None:
    """Delete the last row and append a different one with a valid chain: the head knows."""
    _fill(factory, 5)
    drop_audit_triggers(engine)
    with factory() as s:
        last = s.get(AuditEvent, 5)
        assert last is not None
        prev = last.prev_hash
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 5))
        forged = {
            "seq": 5,
            "at": last.at,
            "actor": "mallory",
            "action": "view",
            "object_type": "person",
            "object_id": "P5",
            "detail": {},
            "prev_hash": prev,
        }
        s.add(AuditEvent(**forged, hash=event_hash(**forged)))
        s.commit()
    assert _verify(factory).problem == (
        "row 5's hash does not match the head (the last row was replaced)"
    )


def test_a_row_forged_beyond_the_head_is_detected(
    factory: sessionmaker[Session],
) -> None:
    _fill(factory, 3)
    with factory() as s:
        last = s.get(AuditEvent, 3)
        assert last is not None
        forged = {
            "seq": 4,
            "at": last.at,
            "actor": "mallory",
            "action": "view",
            "object_type": "person",
            "object_id": "P4",
            "detail": {},
            "prev_hash": last.hash,
        }
        s.add(AuditEvent(**forged, hash=event_hash(**forged)))  # INSERT is allowed
        s.commit()
    assert _verify(factory).problem == (
        "row 4 is beyond the head's row 3 (it was added outside the audit service)"
    )
    # And the next real append refuses to fork the chain rather than skip past it.
    with factory() as s, pytest.raises(DBAPIError):
        append(s, actor="alice", action="view", object_type="person", object_id="P9")


def test_a_missing_head_is_reported_and_blocks_appends(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    _fill(factory, 2)
    drop_audit_triggers(engine)
    with engine.begin() as con:
        con.execute(text("DELETE FROM audit_head"))
    assert _verify(factory).problem == (
        "the audit head row is missing, so rows deleted from the end cannot be ruled out"
    )
    with factory() as s, pytest.raises(AuditError, match="head row is missing"):
        append(s, actor="alice", action="view", object_type="person", object_id="P1")


def test_an_empty_log_without_a_head_starts_one(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    drop_audit_triggers(engine)
    with engine.begin() as con:
        con.execute(text("DELETE FROM audit_head"))
    _fill(factory, 2)
    assert _verify(factory).ok


def test_verify_streams_in_batches(factory: sessionmaker[Session]) -> None:
    _fill(factory, 30)
    with factory() as s:
        result = verify(s, batch_size=7)
    assert result.ok
    assert result.rows_checked == 30


def test_appends_from_two_sessions_stay_one_chain(factory: sessionmaker[Session]) -> None:
    """Interleaved transactions: each append reads the head only once it holds the lock."""
    import threading

    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            for i in range(10):
                with session_scope(factory) as s:
                    append(s, actor=name, action="view", object_type="person", object_id=str(i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"user{n}",)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    result = _verify(factory)
    assert result.ok, result.problem
    assert result.rows_checked == 30
    with factory() as s:
        assert s.execute(select(func.max(AuditEvent.seq))).scalar_one() == 30
