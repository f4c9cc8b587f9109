"""The dispute state machine as table tests: every transition, skips refused, clocks, overdue."""

from __future__ import annotations

import copy
import tomllib
from datetime import date

import pytest

from wholesystem.governance.concerns.rules import (
    DEFAULT_RULES_PATH,
    Action,
    ConcernState,
    DisputeError,
    Outcome,
    Stage,
    StageEvent,
    add_working_days,
    escalate,
    fold,
    is_overdue,
    load_rules,
    next_stages,
    parse_rules,
    raise_concern,
    resolve,
)

RULES = load_rules()
MON = date(2026, 3, 2)  # a Monday
L, C, M, A, E = (
    Stage.local_resolution,
    Stage.chief_executives,
    Stage.mediation,
    Stage.board_arbitration,
    Stage.expert_determination,
)


def _at(path: tuple[Stage, ...]) -> ConcernState:
    """A concern escalated along ``path`` (starting at local resolution), still open."""
    events = raise_concern(RULES, 1, MON)
    for i, stage in enumerate(path[1:], start=2):
        events += escalate(RULES, fold(events), to=stage, owner_id=i, reason="stuck", on=MON)
    return fold(events)


def test_the_packaged_rules_state_their_source_and_the_agreed_order() -> None:
    assert "local default" in RULES.source.lower()
    assert [RULES.rule(s).position for s in Stage] == [1, 2, 3, 4, 4]
    assert RULES.answer_days == 20


@pytest.mark.parametrize(
    ("current", "allowed"),
    [
        (None, (L,)),
        (L, (C,)),
        (C, (M,)),
        (M, (A, E)),
        (A, ()),
        (E, ()),
    ],
)
def test_next_stages(current: Stage | None, allowed: tuple[Stage, ...]) -> None:
    assert next_stages(RULES, current) == allowed


def test_a_raised_concern_starts_at_local_resolution_with_owner_and_clock() -> None:
    state = fold(raise_concern(RULES, 7, MON))
    current = state.current
    assert current is not None
    assert (current.stage, current.owner_id, current.days) == (L, 7, 20)
    assert current.due_on == date(2026, 3, 30)  # 20 working days after Monday 2 March
    assert state.is_open
    assert not state.resolved


@pytest.mark.parametrize(
    ("path", "to"),
    [
        ((L,), C),
        ((L, C), M),
        ((L, C, M), A),
        ((L, C, M), E),
    ],
)
def test_every_allowed_escalation(path: tuple[Stage, ...], to: Stage) -> None:
    state = _at(path)
    events = escalate(RULES, state, to=to, owner_id=9, reason="no agreement", on=MON)
    assert [(e.stage, e.action, e.outcome) for e in events] == [
        (path[-1], Action.close, Outcome.escalated),
        (to, Action.enter, None),
    ]
    after = fold([*_events(path), *events])
    assert after.current is not None
    assert after.current.stage is to
    assert after.current.owner_id == 9
    assert after.stages[-2].outcome is Outcome.escalated
    assert after.stages[-2].reason == "no agreement"


def _events(path: tuple[Stage, ...]) -> list[StageEvent]:
    events = raise_concern(RULES, 1, MON)
    for i, stage in enumerate(path[1:], start=2):
        events += escalate(RULES, fold(events), to=stage, owner_id=i, reason="stuck", on=MON)
    return events


@pytest.mark.parametrize(
    ("path", "to", "why"),
    [
        ((L,), M, "cannot be skipped"),
        ((L,), A, "cannot be skipped"),
        ((L,), E, "cannot be skipped"),
        ((L, C), A, "cannot be skipped"),
        ((L, C), E, "cannot be skipped"),
        ((L,), L, "not back to"),
        ((L, C), L, "not back to"),
        ((L, C, M), C, "not back to"),
        ((L, C, M), M, "not back to"),
        ((L, C, M, A), E, "last stage"),
        ((L, C, M, E), A, "last stage"),
    ],
)
def test_skips_backwards_moves_and_escalation_past_the_end_are_refused(
    path: tuple[Stage, ...], to: Stage, why: str
) -> None:
    state = _at(path)
    with pytest.raises(DisputeError, match=why):
        escalate(RULES, state, to=to, owner_id=2, reason="x", on=MON)


def test_a_skip_names_the_stage_it_would_skip() -> None:
    with pytest.raises(DisputeError, match="skip Escalation to chief executives"):
        escalate(RULES, _at((L,)), to=M, owner_id=2, reason="x", on=MON)


@pytest.mark.parametrize("path", [(L,), (L, C), (L, C, M), (L, C, M, A), (L, C, M, E)])
def test_every_stage_can_resolve_and_a_closed_concern_is_final(path: tuple[Stage, ...]) -> None:
    events = [*_events(path), *resolve(_at(path), outcome="agreed a plan", on=MON)]
    state = fold(events)
    assert state.resolved
    assert not state.is_open
    assert state.current is not None
    assert state.current.reason == "agreed a plan"
    with pytest.raises(DisputeError, match="closed"):
        resolve(state, outcome="again", on=MON)
    with pytest.raises(DisputeError, match="closed"):
        escalate(RULES, state, to=C, owner_id=2, reason="x", on=MON)


@pytest.mark.parametrize("blank", ["", "   "])
def test_closing_needs_an_outcome(blank: str) -> None:
    with pytest.raises(DisputeError, match="outcome"):
        resolve(_at((L,)), outcome=blank, on=MON)
    with pytest.raises(DisputeError, match="reason"):
        escalate(RULES, _at((L,)), to=C, owner_id=2, reason=blank, on=MON)


def test_a_stage_cannot_close_before_it_opened() -> None:
    with pytest.raises(DisputeError, match="before it was entered"):
        resolve(_at((L,)), outcome="done", on=date(2026, 3, 1))


def test_an_unraised_concern_cannot_move() -> None:
    with pytest.raises(DisputeError, match="never raised"):
        resolve(ConcernState(), outcome="x", on=MON)


@pytest.mark.parametrize(
    ("events", "why"),
    [
        ([StageEvent(L, Action.close, MON, outcome=Outcome.resolved)], "not open"),
        ([*raise_concern(RULES, 1, MON), *raise_concern(RULES, 1, MON)], "while a stage"),
        ([StageEvent(L, Action.enter, MON)], "lacks owner"),
        ([*raise_concern(RULES, 1, MON), StageEvent(L, Action.close, MON)], "without an outcome"),
        ([*raise_concern(RULES, 1, MON), StageEvent(C, Action.close, MON)], "not open"),
    ],
)
def test_a_broken_history_is_refused(events: list[StageEvent], why: str) -> None:
    with pytest.raises(DisputeError, match=why):
        fold(events)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (date(2026, 3, 2), 0, date(2026, 3, 2)),
        (date(2026, 3, 2), 1, date(2026, 3, 3)),
        (date(2026, 3, 6), 1, date(2026, 3, 9)),  # Friday + 1 is Monday
        (date(2026, 3, 7), 1, date(2026, 3, 9)),  # Saturday + 1 is Monday
        (date(2026, 3, 2), 5, date(2026, 3, 9)),
        (date(2026, 3, 2), 20, date(2026, 3, 30)),
    ],
)
def test_working_days(start: date, days: int, due: date) -> None:
    assert add_working_days(start, days) == due


def test_a_clock_cannot_run_backwards() -> None:
    with pytest.raises(ValueError, match="backwards"):
        add_working_days(MON, -1)


@pytest.mark.parametrize(
    ("today", "overdue"),
    [(date(2026, 3, 29), False), (date(2026, 3, 30), False), (date(2026, 3, 31), True)],
)
def test_overdue_is_the_clock_passed(today: date, overdue: bool) -> None:
    assert is_overdue(_at((L,)).current, today) is overdue


def test_a_resolved_concern_is_never_overdue() -> None:
    state = fold([*_events((L,)), *resolve(_at((L,)), outcome="done", on=MON)])
    assert not is_overdue(state.current, date(2027, 1, 1))
    assert not is_overdue(None, MON)


def _raw() -> dict[str, object]:
    with DEFAULT_RULES_PATH.open("rb") as fh:
        return tomllib.load(fh)


def test_malformed_rules_are_refused_with_where() -> None:
    good = _raw()
    cases: list[tuple[str, object]] = []
    bad = copy.deepcopy(good)
    bad["stage"][0]["code"] = "shouting"  # type: ignore[index]
    cases.append(("unknown stage code", bad))
    bad = copy.deepcopy(good)
    bad["stage"][1]["position"] = 3  # type: ignore[index]
    cases.append(("stage 2 of the agreed order", bad))
    bad = copy.deepcopy(good)
    bad["stage"][0]["days"] = 0  # type: ignore[index]
    cases.append(("at least one working day", bad))
    bad = copy.deepcopy(good)
    bad["stage"].pop()  # type: ignore[attr-defined]
    cases.append(("missing: expert_determination", bad))
    bad = copy.deepcopy(good)
    bad["questions"]["answer_days"] = True  # type: ignore[index]
    cases.append(("answer_days", bad))
    for why, data in cases:
        with pytest.raises(DisputeError, match=why):
            parse_rules(data)  # type: ignore[arg-type]
    assert parse_rules(good).version == RULES.version
