"""Contract components and settlement lines in plain words (pure, for pages and CSV files).

A finance lead reading a contract page should not need the TOML format to know what a
component does: `describe_component` says it in a sentence, `component_terms` lists each
term with its value, and `explain_line` says what one party gets from one settled component
and why, from the engine's own workings.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from wholesystem.finance.contracts import (
    Component,
    Contract,
    Direction,
    FixedPayment,
    GainLossPool,
    GainLossShare,
    Mechanism,
    PooledBudget,
    PoolKey,
    QualityIncentive,
    VariableActivity,
)
from wholesystem.finance.money import exact, format_money, round_penny
from wholesystem.finance.settlement import ComponentSettlement, PartyLine

__all__ = [
    "MECHANISM_LABELS",
    "component_terms",
    "describe_component",
    "explain_line",
    "percent",
    "plain_workings",
    "units",
]

_TIMES = "\N{MULTIPLICATION SIGN}"
_MINUS = "\N{MINUS SIGN}"
MECHANISM_LABELS = {
    Mechanism.FIXED: "Fixed (block) payment",
    Mechanism.VARIABLE: "Variable payment per unit of activity",
    Mechanism.QUALITY: "Quality incentive",
    Mechanism.GAIN_LOSS_SHARE: "Gain/loss share against a benchmark",
    Mechanism.POOLED_BUDGET: "Pooled budget",
    Mechanism.GAIN_LOSS_POOL: "Multilateral gain/loss pool",
}


def percent(rate: Decimal | Fraction) -> str:
    """``0.2`` as ``20%``, ``0.0125`` as ``1.25%`` (at most two decimal places)."""
    value = exact(rate) * 100
    if value.denominator == 1:
        return f"{value.numerator}%"
    return f"{round_penny(value).normalize():f}%"


def units(value: Decimal) -> str:
    """A count with thousands separators, without a needless ``.0``."""
    number = exact(value)
    if number.denominator == 1:
        return f"{number.numerator:,}"
    return f"{value.normalize():,f}"


def _parties(contract: Contract) -> tuple[str, str]:
    return contract.commissioner or "the commissioner", contract.provider or "the provider"


def describe_component(contract: Contract, component: Component) -> str:
    """One sentence saying what ``component`` of ``contract`` pays, to whom and on what."""
    commissioner, provider = _parties(contract)
    if isinstance(component, FixedPayment):
        return f"{commissioner} pays {provider} a fixed {format_money(component.amount)}."
    if isinstance(component, VariableActivity):
        below = (
            f"each unit below plan is taken back at {percent(component.rate_below)} of the price"
            if component.rate_below > 0
            else "activity below plan is not clawed back"
        )
        return (
            f"{units(component.planned_units)} units of {component.line} are planned at "
            f"{format_money(component.unit_price)} each; each unit above plan is paid at "
            f"{percent(component.rate_above)} of the price and {below}."
        )
    if isinstance(component, QualityIncentive):
        held = round_penny(exact(component.share) * exact(component.contract_value))
        indicators = ", ".join(f"{i.line} ({percent(i.weight)})" for i in component.indicators)
        return (
            f"{format_money(held)} ({percent(component.share)} of the "
            f"{format_money(component.contract_value)} contract value) is held for quality on "
            f"{indicators}; what is not achieved is withdrawn from {provider} in proportion."
        )
    if isinstance(component, GainLossShare):
        return _describe_share(provider, component)
    if isinstance(component, PooledBudget):
        contributions = ", ".join(
            f"{c.party} {format_money(c.amount)}" for c in component.contributions
        )
        basis = (
            "pro rata to contributions"
            if component.key is None
            else "by the agreed key "
            + ", ".join(f"{k.party} {percent(k.weight)}" for k in component.key)
        )
        tolerance = (
            f"; a variance beyond {percent(component.tolerance)} of the pool raises a notice"
            if component.tolerance is not None
            else ""
        )
        return (
            f"A pooled budget for {component.line} ({contributions}); an under- or overspend "
            f"is shared {basis}{tolerance}."
        )
    return _describe_pool(component)


def _describe_share(provider: str, component: GainLossShare) -> str:
    bands = []
    for band in component.bands:
        upper = "upwards" if band.upper is None else f"to {percent(band.upper)}"
        bands.append(f"{percent(band.share)} from {percent(band.lower)} {upper}")
    gain = "gain" if component.direction is Direction.UPSIDE_ONLY else "gain or loss"
    text = (
        f"{provider} shares the {gain} "
        f"of {component.line} spend against a benchmark of {format_money(component.benchmark)}: "
        f"{'; '.join(bands)} of the benchmark"
    )
    if component.threshold > 0:
        text += (
            f"; nothing is shared unless the position is at least "
            f"{percent(component.threshold)} of the benchmark"
        )
    if component.cap is not None:
        text += f"; capped at {format_money(component.cap)}"
    if component.direction is Direction.UPSIDE_ONLY:
        text += "; losses are not shared (upside only)"
    return text + "."


def _describe_pool(component: GainLossPool) -> str:
    if component.key is PoolKey.EQUAL:
        key = "equally among " + ", ".join(p.party for p in component.partners)
    elif component.key is PoolKey.BUDGET_SHARE:
        key = (
            "by budget share ("
            + ", ".join(f"{p.party} {format_money(p.weight)}" for p in component.partners)
            + ")"
        )
    else:
        key = (
            "by the agreed key ("
            + ", ".join(f"{p.party} {percent(p.weight)}" for p in component.partners)
            + ")"
        )
    return (
        f"Expected {component.line} spend of {format_money(component.expected_spend)} less "
        f"actual spend is a system gain or loss, shared {key}."
    )


def component_terms(component: Component) -> list[tuple[str, str]]:
    """Each term of ``component`` as (field, value in words), in the TOML's field names."""
    if isinstance(component, FixedPayment):
        return [("amount", format_money(component.amount))]
    if isinstance(component, VariableActivity):
        return [
            ("line", component.line),
            ("unit_price", format_money(component.unit_price)),
            ("planned_units", units(component.planned_units)),
            ("rate_above", percent(component.rate_above)),
            ("rate_below", percent(component.rate_below)),
        ]
    if isinstance(component, QualityIncentive):
        return [
            ("contract_value", format_money(component.contract_value)),
            ("share", percent(component.share)),
            *((f"indicator {i.line}", f"weight {percent(i.weight)}") for i in component.indicators),
        ]
    if isinstance(component, GainLossShare):
        terms = [
            ("line", component.line),
            ("benchmark", format_money(component.benchmark)),
            *(
                (
                    f"band {k + 1}",
                    f"{percent(b.lower)} to "
                    f"{'no limit' if b.upper is None else percent(b.upper)}: {percent(b.share)}",
                )
                for k, b in enumerate(component.bands)
            ),
            ("direction", component.direction.value.replace("_", " ")),
        ]
        if component.threshold > 0:
            terms.append(("first-pound corridor", percent(component.threshold)))
        if component.cap is not None:
            terms.append(("cap", format_money(component.cap)))
        return terms
    if isinstance(component, PooledBudget):
        terms = [("line", component.line)]
        terms += [
            (f"contribution {c.party}", format_money(c.amount)) for c in component.contributions
        ]
        if component.key is not None:
            terms += [(f"key {k.party}", percent(k.weight)) for k in component.key]
        if component.tolerance is not None:
            terms.append(("tolerance", percent(component.tolerance)))
        return terms
    weights = [
        (
            f"partner {p.party}",
            format_money(p.weight)
            if component.key is PoolKey.BUDGET_SHARE
            else percent(p.weight)
            if component.key is PoolKey.CUSTOM
            else "equal share",
        )
        for p in component.partners
    ]
    return [
        ("line", component.line),
        ("expected_spend", format_money(component.expected_spend)),
        ("key", component.key.value.replace("_", " ")),
        *weights,
    ]


def plain_workings(workings: str) -> str:
    """The engine's workings with a real multiplication and minus sign, for reading."""
    return workings.replace(" x ", f" {_TIMES} ").replace(" - ", f" {_MINUS} ")


def explain_line(component: ComponentSettlement, line: PartyLine) -> str:
    """What ``line.party`` gets from ``component`` and why, in one sentence."""
    amount = format_money(abs(line.amount))
    why = plain_workings(component.workings)
    if line.amount == 0:
        return f"{line.party}: nothing moves ({why})."
    if component.transfer:
        other = next((p.party for p in component.lines if p.party != line.party), "the other party")
        verb = "receives" if line.amount > 0 else "pays"
        direction = "from" if line.amount > 0 else "to"
        return f"{line.party} {verb} {amount} {direction} {other}: {why}."
    verb = "gains" if line.amount > 0 else "bears a loss of"
    return f"{line.party} {verb} {amount} as its share ({line.role.value}): {why}."
