"""Routing by the scheme of delegation: every branch, as a table."""

from __future__ import annotations

from decimal import Decimal

import pytest

from wholesystem.governance.routing import (
    DecisionFacts,
    Level,
    RoutingError,
    authority_problem,
    route_decision,
)
from wholesystem.governance.scheme import (
    DecisionKind,
    SchemeError,
    load_scheme,
    parse_scheme,
)

SCHEME = load_scheme()
PLACES = ("PL1", "PL2")
K = DecisionKind


@pytest.mark.parametrize(
    ("kind", "value", "places", "reserved", "level", "place", "crg", "ratify"),
    [
        # one place, below its limit (default £2m): the place board
        (K.investment, "150000", ("PL1",), (), Level.place, "PL1", False, False),
        # one place, at the limit: system (the limit is not "below")
        (K.investment, "2000000", ("PL1",), (), Level.system, None, False, True),
        (K.investment, "1999999.99", ("PL2",), (), Level.place, "PL2", False, True),
        # several places
        (K.policy, "0", ("PL1", "PL2"), (), Level.system, None, False, False),
        # whole system (no place named)
        (K.commissioning, "10", (), (), Level.system, None, False, False),
        # reserved matter, even small and in one place
        (K.policy, "0", ("PL1",), ("risk_share",), Level.system, None, False, True),
        # changes to care need the CRG, at either level
        (K.pathway_change, "1000", ("PL1",), (), Level.place, "PL1", True, False),
        (K.service_change, "5000000", ("PL1",), (), Level.system, None, True, True),
        # duplicates of one place are one place
        (K.investment, "100", ("PL1", "PL1"), (), Level.place, "PL1", False, False),
    ],
)
def test_route_table(
    kind: DecisionKind,
    value: str,
    places: tuple[str, ...],
    reserved: tuple[str, ...],
    level: Level,
    place: str | None,
    crg: bool,
    ratify: bool,
) -> None:
    route = route_decision(DecisionFacts(kind, Decimal(value), places, reserved), SCHEME, PLACES)
    assert (route.level, route.place_code, route.needs_crg, route.needs_ratification) == (
        level,
        place,
        crg,
        ratify,
    )
    assert route.explanation


def test_a_place_specific_limit_overrides_the_default() -> None:
    data = {
        "scheme": {"patient_care_kinds": []},
        "place_limits": {"default": "1000", "PL2": "50000"},
        "quorum": {
            k: {"minimum_voting": 1}
            for k in (
                "system_board",
                "place_board",
                "clinical_reference_group",
                "neighbourhood_partnership",
                "provider_forum",
                "reference_group",
            )
        },
    }
    scheme = parse_scheme(data)
    facts = DecisionFacts(K.investment, Decimal("20000"), ("PL2",))
    assert route_decision(facts, scheme, PLACES).level is Level.place
    facts = DecisionFacts(K.investment, Decimal("20000"), ("PL1",))
    assert route_decision(facts, scheme, PLACES).level is Level.system


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        (DecisionFacts(K.policy, Decimal("-1"), ("PL1",)), "zero or more"),
        (DecisionFacts(K.policy, Decimal("1"), ("PL9",)), "PL9"),
        (DecisionFacts(K.policy, Decimal("1"), ("PL1",), ("not_a_matter",)), "reserved matter"),
    ],
)
def test_unroutable_facts_are_refused(facts: DecisionFacts, message: str) -> None:
    with pytest.raises(RoutingError, match=message):
        route_decision(facts, SCHEME, PLACES)


def test_authority_of_bodies() -> None:
    place = route_decision(DecisionFacts(K.investment, Decimal("1"), ("PL1",)), SCHEME, PLACES)
    system = route_decision(DecisionFacts(K.investment, Decimal("1"), ()), SCHEME, PLACES)
    assert authority_problem(place, body_level=Level.place, body_place_code="PL1") is None
    assert "PL1" in (authority_problem(place, body_level=Level.place, body_place_code="PL2") or "")
    assert authority_problem(place, body_level=Level.system, body_place_code=None)
    assert authority_problem(system, body_level=Level.system, body_place_code=None) is None
    assert authority_problem(system, body_level=Level.place, body_place_code="PL1")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, r"\[scheme\]"),
        ({"scheme": {}, "place_limits": {}}, "default"),
        ({"scheme": {"patient_care_kinds": ["x"]}, "place_limits": {"default": "1"}}, "kind"),
        ({"scheme": {}, "place_limits": {"default": 1.5}}, "string"),
        ({"scheme": {}, "place_limits": {"default": "-3"}}, "zero or more"),
        ({"scheme": {}, "place_limits": {"default": "1"}}, "no quorum"),
        (
            {
                "scheme": {},
                "place_limits": {"default": "1"},
                "quorum": {"place_board": {"minimum_voting": 0}},
            },
            "at least 1",
        ),
    ],
)
def test_malformed_schemes_are_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(SchemeError, match=message):
        parse_scheme(data)
