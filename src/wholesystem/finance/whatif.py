"""What-ifs (pure, no writes): change activity, prices, savings delivery or a contract term and
see each partner's settlement and forecast outturn move, beside the current position.

- **activity** (%): every ``delivered_units`` actual is scaled by (1 + % / 100);
- **prices** (%): every variable element's ``unit_price`` is scaled by (1 + % / 100) (fixed
  payments are agreed sums and do not move with price);
- **savings delivery** (%): each partner delivers that share of its planned efficiency
  savings for the year; the difference from its current forecast savings moves its surplus
  pound for pound (savings are already inside pay and non-pay);
- **contract terms**: ``CONTRACT:COMPONENT:field=value`` sets one numeric field of one
  component (a rate, share, price, planned units, amount, benchmark, cap...).

The current forecast outturn is taken to include the current settlement, so a partner's
forecast after the change is its forecast now plus the change in its settlement plus the
savings effect. The settlement is re-run with `settle`, exact to the penny.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from wholesystem.finance.actuals import Actuals, Measure
from wholesystem.finance.contracts import Component, Contract, ContractSet, VariableActivity
from wholesystem.finance.money import exact, round_penny
from wholesystem.finance.position import SystemPosition
from wholesystem.finance.settlement import Settlement, settle

__all__ = [
    "DEMO_ACTUALS",
    "DEMO_CONTRACTS",
    "Scenario",
    "TermChange",
    "WhatIfError",
    "WhatIfResult",
    "WhatIfRow",
    "apply_scenario",
    "parse_term_change",
    "run_what_if",
    "scenario_from",
]

ZERO = Decimal("0.00")
# The demo ICS's contracts and measured values (docs/finance.md), used when none are given.
DEMO_CONTRACTS = Path(__file__).parent / "examples" / "demo_contracts.toml"
DEMO_ACTUALS = Path(__file__).parent / "examples" / "demo_actuals.csv"
HUNDRED = Decimal(100)
# Fields a term change may set, and whether each is a fraction from 0 to 1.
_FRACTION_FIELDS = frozenset(
    {"rate_above", "rate_below", "share", "share_rate", "threshold", "tolerance"}
)
_MONEY_FIELDS = frozenset(
    {
        "amount",
        "unit_price",
        "planned_units",
        "contract_value",
        "benchmark",
        "cap",
        "expected_spend",
    }
)


class WhatIfError(ValueError):
    """A scenario that cannot be run; the message names the faulty change."""


@dataclass(frozen=True, slots=True)
class TermChange:
    """Set ``field`` of component ``component_id`` of contract ``contract_id`` to ``value``."""

    contract_id: str
    component_id: str
    field: str
    value: Decimal


@dataclass(frozen=True, slots=True)
class Scenario:
    """The changes to try; all zero or empty is the current position."""

    activity_pct: Decimal = ZERO
    price_pct: Decimal = ZERO
    savings_delivery_pct: Decimal | None = None  # None: leave savings as forecast
    terms: tuple[TermChange, ...] = ()

    @property
    def is_empty(self) -> bool:
        return (
            self.activity_pct == 0
            and self.price_pct == 0
            and self.savings_delivery_pct is None
            and not self.terms
        )


@dataclass(frozen=True, slots=True)
class WhatIfRow:
    """One partner (or the system) before and after the scenario."""

    org_code: str
    settlement_before: Decimal
    settlement_after: Decimal
    savings_effect: Decimal
    forecast_before: Decimal
    control_total: Decimal

    @property
    def settlement_change(self) -> Decimal:
        return self.settlement_after - self.settlement_before

    @property
    def forecast_after(self) -> Decimal:
        return self.forecast_before + self.settlement_change + self.savings_effect

    @property
    def variance_before(self) -> Decimal:
        return self.forecast_before - self.control_total

    @property
    def variance_after(self) -> Decimal:
        return self.forecast_after - self.control_total


@dataclass(frozen=True, slots=True)
class WhatIfResult:
    """Every partner's row, the system row, and both settlements."""

    scenario: Scenario
    rows: tuple[WhatIfRow, ...]
    system: WhatIfRow
    before: Settlement
    after: Settlement


def parse_term_change(text: str) -> TermChange:
    """``CONTRACT:COMPONENT:field=value`` (identifiers never contain ``:``)."""
    target, sep, raw = text.partition("=")
    parts = target.strip().split(":")
    if not sep or len(parts) != 3 or not all(parts):
        raise WhatIfError(
            f"{text!r}: write a contract term change as CONTRACT:COMPONENT:field=value"
        )
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise WhatIfError(f"{text!r}: {raw.strip()!r} is not a number") from None
    if not value.is_finite():
        raise WhatIfError(f"{text!r}: {raw.strip()!r} is not a number")
    return TermChange(parts[0], parts[1], parts[2], value)


def _scaled(value: Decimal, pct: Decimal) -> Decimal:
    result = exact(value) * (1 + exact(pct) / 100)
    return Decimal(result.numerator) / Decimal(result.denominator)


def _change_component(component: Component, change: TermChange) -> Component:
    names = {f.name for f in dataclasses.fields(component)}
    field = change.field
    if field == "share_rate":  # the single-band form of a gain/loss share
        raise WhatIfError(
            f"{change.contract_id}:{change.component_id}: share_rate is written as bands; "
            "change the contracts file instead"
        )
    if field not in names or field not in (_FRACTION_FIELDS | _MONEY_FIELDS):
        settable = sorted(names & (_FRACTION_FIELDS | _MONEY_FIELDS))
        raise WhatIfError(
            f"{change.contract_id}:{change.component_id}: {field!r} is not a term that can be "
            f"changed here (choose from {', '.join(settable) or 'nothing'})"
        )
    if field in _FRACTION_FIELDS and not 0 <= change.value <= 1:
        raise WhatIfError(
            f"{change.contract_id}:{change.component_id}: {field} must be a fraction from 0 to 1"
        )
    if field in _MONEY_FIELDS and change.value < 0:
        raise WhatIfError(
            f"{change.contract_id}:{change.component_id}: {field} must not be negative"
        )
    if field in ("benchmark", "expected_spend") and change.value == 0:
        raise WhatIfError(f"{change.contract_id}:{change.component_id}: {field} must be above 0")
    return dataclasses.replace(component, **{field: change.value})  # type: ignore[arg-type]


def apply_scenario(
    contracts: ContractSet, actuals: Actuals, scenario: Scenario
) -> tuple[ContractSet, Actuals]:
    """The contracts and actuals with the scenario's changes applied (inputs untouched)."""
    contract_ids = {c.id for c in contracts.contracts}
    for term in scenario.terms:
        if term.contract_id not in contract_ids:
            raise WhatIfError(f"{term.contract_id}: no such contract")
    changed: list[Contract] = []
    for contract in contracts.contracts:
        ids = {c.id for c in contract.components}
        for term in scenario.terms:
            if term.contract_id == contract.id and term.component_id not in ids:
                raise WhatIfError(f"{term.contract_id}:{term.component_id}: no such component")
        components: list[Component] = []
        for component in contract.components:
            for term in scenario.terms:
                if (term.contract_id, term.component_id) == (contract.id, component.id):
                    component = _change_component(component, term)
            if isinstance(component, VariableActivity) and scenario.price_pct != 0:
                component = dataclasses.replace(
                    component, unit_price=_scaled(component.unit_price, scenario.price_pct)
                )
            components.append(component)
        changed.append(dataclasses.replace(contract, components=tuple(components)))
    rows = tuple(
        dataclasses.replace(row, value=_scaled(row.value, scenario.activity_pct))
        if row.measure is Measure.DELIVERED_UNITS and scenario.activity_pct != 0
        else row
        for row in actuals.rows
    )
    return ContractSet(tuple(changed)), Actuals.of(rows, actuals.source)


def _nets(settlement: Settlement) -> dict[str, Decimal]:
    return {p.party: p.amount for p in settlement.party_totals()}


def run_what_if(
    position: SystemPosition,
    contracts: ContractSet,
    actuals: Actuals,
    scenario: Scenario,
) -> WhatIfResult:
    """Each partner's settlement and forecast outturn before and after ``scenario``.

    Partners are those of ``position`` followed by any other party of the contracts. Raises
    `WhatIfError` for a bad term change and the settlement's own errors for bad contracts.
    """
    if scenario.activity_pct <= -100:
        raise WhatIfError("activity cannot fall by 100% or more")
    if scenario.price_pct <= -100:
        raise WhatIfError("prices cannot fall by 100% or more")
    if scenario.savings_delivery_pct is not None and scenario.savings_delivery_pct < 0:
        raise WhatIfError("savings delivery cannot be negative")
    before = settle(contracts, actuals)
    changed_contracts, changed_actuals = apply_scenario(contracts, actuals, scenario)
    after = settle(changed_contracts, changed_actuals)
    nets_before, nets_after = _nets(before), _nets(after)
    orgs: list[str] = [p.org_code for p in position.partners]
    orgs += [o for o in list(nets_before) + list(nets_after) if o not in orgs]
    orgs = list(dict.fromkeys(orgs))
    rows: list[WhatIfRow] = []
    for org in orgs:
        partner = position.partner(org)
        savings = ZERO
        if partner is not None and scenario.savings_delivery_pct is not None:
            line = partner.line("efficiency_savings")
            if line is not None:
                target = round_penny(
                    exact(line.annual_plan) * exact(scenario.savings_delivery_pct) / 100
                )
                savings = target - line.forecast_outturn
        rows.append(
            WhatIfRow(
                org,
                nets_before.get(org, ZERO),
                nets_after.get(org, ZERO),
                savings,
                partner.forecast if partner else ZERO,
                partner.control_total if partner else ZERO,
            )
        )
    system = WhatIfRow(
        "system",
        sum((r.settlement_before for r in rows), ZERO),
        sum((r.settlement_after for r in rows), ZERO),
        sum((r.savings_effect for r in rows), ZERO),
        sum((r.forecast_before for r in rows), ZERO),
        sum((r.control_total for r in rows), ZERO),
    )
    return WhatIfResult(scenario, tuple(rows), system, before, after)


def scenario_from(
    activity_pct: Decimal = ZERO,
    price_pct: Decimal = ZERO,
    savings_delivery_pct: Decimal | None = None,
    terms: Sequence[str] = (),
) -> Scenario:
    """A scenario from plain inputs (term changes as ``CONTRACT:COMPONENT:field=value``)."""
    return Scenario(
        activity_pct, price_pct, savings_delivery_pct, tuple(parse_term_change(t) for t in terms)
    )
