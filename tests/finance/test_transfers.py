"""Transfer sets: net-neutral or refused; settlements proposed as sets."""

from __future__ import annotations

from decimal import Decimal

import pytest

from wholesystem.finance.actuals import read_actuals
from wholesystem.finance.contracts import load_contracts
from wholesystem.finance.settlement import settle
from wholesystem.finance.transfers import (
    NotNetNeutralError,
    TransferError,
    TransferLegDraft,
    check_transfer_set,
    legs_from_settlement,
)
from wholesystem.finance.whatif import DEMO_ACTUALS, DEMO_CONTRACTS

D = Decimal


def legs(*pairs: tuple[str, str]) -> list[TransferLegDraft]:
    return [TransferLegDraft(org, D(amount)) for org, amount in pairs]


@pytest.mark.parametrize(
    "pairs",
    [
        (("QXX", "-100.00"), ("RA1", "100.00")),
        (("QXX", "-100.00"), ("RA1", "60.00"), ("RC1", "40.00")),
        (("QXX", "-0.01"), ("RA1", "0.01")),
    ],
)
def test_net_neutral_sets_pass(pairs: tuple[tuple[str, str], ...]) -> None:
    check_transfer_set(legs(*pairs), {"QXX", "RA1", "RC1"})


@pytest.mark.parametrize(
    ("pairs", "imbalance"),
    [
        ((("QXX", "-100.00"), ("RA1", "100.01")), "0.01"),
        ((("QXX", "-100.00"), ("RA1", "60.00"), ("RC1", "30.00")), "-10.00"),
        ((("QXX", "50.00"), ("RA1", "50.00")), "100.00"),
    ],
)
def test_unbalanced_sets_are_refused_with_the_imbalance(
    pairs: tuple[tuple[str, str], ...], imbalance: str
) -> None:
    with pytest.raises(NotNetNeutralError) as caught:
        check_transfer_set(legs(*pairs))
    assert caught.value.imbalance == D(imbalance)
    assert "not net-neutral" in str(caught.value)


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ((("QXX", "0.00"),), "at least two legs"),
        ((("QXX", "-1.00"), ("ZZZ", "1.00")), "not a partner"),
        ((("QXX", "-1.005"), ("RA1", "1.005")), "whole number of pennies"),
        ((("QXX", "0.00"), ("RA1", "0.00")), "the amount is zero"),
    ],
)
def test_malformed_sets_are_refused(pairs: tuple[tuple[str, str], ...], message: str) -> None:
    with pytest.raises(TransferError) as caught:
        check_transfer_set(legs(*pairs), {"QXX", "RA1"})
    assert not isinstance(caught.value, NotNetNeutralError)
    assert any(message in issue for issue in caught.value.issues)


def test_a_settlement_becomes_a_net_neutral_set() -> None:
    settlement = settle(load_contracts(DEMO_CONTRACTS), read_actuals(DEMO_ACTUALS))
    without_host = legs_from_settlement(settlement)
    check_transfer_set(without_host.legs)
    assert len(without_host.left_out) == 2  # the BCF pool and the system pool
    with_host = legs_from_settlement(settlement, pool_host="QNS")
    check_transfer_set(with_host.legs)
    assert with_host.left_out == ()
    amounts = {leg.org_code: leg.amount for leg in with_host.legs}
    # The Northam pool overspent by £350,000 (10,350,000 - 10,000,000): the council bears
    # 40% (£140,000) and QNS, as host, takes it back; the council's leg is its share.
    assert amounts["E06000990"] == D("-140000.00")
