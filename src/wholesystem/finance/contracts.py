"""Contracts and their payment components, read from a documented TOML file (docs/contracts.md).

A contract is a set of components, each one payment mechanism; they combine freely. Parsing
checks every field and collects every fault, each naming the contract, the component and the
field, so a finance lead can fix the whole file in one pass. Amounts are `Decimal` (TOML floats
are read as `Decimal`, never as binary floats); rates, shares and weights are `Decimal`
fractions between 0 and 1.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from wholesystem.finance.money import is_whole_pennies
from wholesystem.footprint.schema import CODE_PATTERN

__all__ = [
    "BILATERAL_MECHANISMS",
    "CONTRACTS_FORMAT",
    "IDENTIFIER_PATTERN",
    "Component",
    "Contract",
    "ContractIssue",
    "ContractSet",
    "ContractsError",
    "CorridorBasis",
    "Direction",
    "FixedPayment",
    "GainLossPool",
    "GainLossShare",
    "Mechanism",
    "PartyAmount",
    "PartyWeight",
    "PoolKey",
    "PooledBudget",
    "QualityIncentive",
    "QualityIndicator",
    "ShareBand",
    "VariableActivity",
    "load_contracts",
    "parse_contracts",
]

CONTRACTS_FORMAT = "wholesystem-contracts/1"

# Contract, component and activity-line identifiers: what a finance team writes in a
# spreadsheet, but nothing that would need quoting in a CSV or a URL.
IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,63}$")
_DECIMAL_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
ONE = Decimal(1)
ZERO = Decimal(0)


class Mechanism(StrEnum):
    """The payment mechanisms a component can use (the TOML ``type``)."""

    FIXED = "fixed"
    VARIABLE = "variable"
    QUALITY = "quality"
    GAIN_LOSS_SHARE = "gain_loss_share"
    POOLED_BUDGET = "pooled_budget"
    GAIN_LOSS_POOL = "gain_loss_pool"


# Mechanisms that move money between the contract's commissioner and provider.
BILATERAL_MECHANISMS = frozenset(
    {Mechanism.FIXED, Mechanism.VARIABLE, Mechanism.QUALITY, Mechanism.GAIN_LOSS_SHARE}
)


class Direction(StrEnum):
    """Whether a gain/loss share pays out on gains only or on gains and losses."""

    TWO_SIDED = "two_sided"
    UPSIDE_ONLY = "upside_only"


class CorridorBasis(StrEnum):
    """What is shared once a position is beyond the corridor."""

    EXCESS = "excess"  # only the part of the position beyond the corridor
    FIRST_POUND = "first_pound"  # the whole position, from the first pound


class PoolKey(StrEnum):
    """How a multilateral gain/loss pool is distributed."""

    EQUAL = "equal"
    BUDGET_SHARE = "budget_share"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class PartyAmount:
    """An amount of money belonging to one party (organisation code)."""

    party: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PartyWeight:
    """One party's weight in an allocation key."""

    party: str
    weight: Decimal


@dataclass(frozen=True, slots=True)
class FixedPayment:
    """A fixed (block) payment from the commissioner to the provider."""

    id: str
    amount: Decimal

    @property
    def mechanism(self) -> Mechanism:
        return Mechanism.FIXED


@dataclass(frozen=True, slots=True)
class VariableActivity:
    """The variable element of one activity line.

    Each unit delivered above plan is paid at ``rate_above`` of the unit price; each unit
    below plan is taken back at ``rate_below`` of it (0 means no claw-back).
    """

    id: str
    line: str
    unit_price: Decimal
    planned_units: Decimal
    rate_above: Decimal
    rate_below: Decimal

    @property
    def mechanism(self) -> Mechanism:
        return Mechanism.VARIABLE


@dataclass(frozen=True, slots=True)
class QualityIndicator:
    """One quality indicator and its weight in the incentive."""

    line: str
    weight: Decimal


@dataclass(frozen=True, slots=True)
class QualityIncentive:
    """A quality incentive held in the fixed payment (``share`` of ``contract_value``).

    What is not achieved is withdrawn: ``-(1 - achievement) x share x contract_value``, where
    achievement is the weighted mean of the indicators' achievement (each 0 to 1).
    """

    id: str
    contract_value: Decimal
    share: Decimal
    indicators: tuple[QualityIndicator, ...]

    @property
    def mechanism(self) -> Mechanism:
        return Mechanism.QUALITY


@dataclass(frozen=True, slots=True)
class ShareBand:
    """A band of the position, as fractions of the benchmark, and the share paid within it.

    ``upper`` is None for an open top band.
    """

    lower: Decimal
    upper: Decimal | None
    share: Decimal


@dataclass(frozen=True, slots=True)
class GainLossShare:
    """The provider's share of the position ``benchmark - actual spend``.

    The position's size, as a fraction of the benchmark, is shared band by band (like tax
    bands). Below ``threshold`` nothing at all is shared (a first-pound corridor). The shared
    amount is limited to ``cap``; losses are shared only when two-sided.
    """

    id: str
    line: str
    benchmark: Decimal
    bands: tuple[ShareBand, ...]
    threshold: Decimal
    cap: Decimal | None
    direction: Direction

    @property
    def mechanism(self) -> Mechanism:
        return Mechanism.GAIN_LOSS_SHARE


@dataclass(frozen=True, slots=True)
class PooledBudget:
    """A pooled budget (as a section 75 pool): contributions, spend, and the variance shared.

    ``key`` None means pro rata to contributions. A variance beyond ``tolerance`` (a fraction
    of the contributions) raises a notice.
    """

    id: str
    line: str
    contributions: tuple[PartyAmount, ...]
    key: tuple[PartyWeight, ...] | None
    tolerance: Decimal | None

    @property
    def mechanism(self) -> Mechanism:
        return Mechanism.POOLED_BUDGET


@dataclass(frozen=True, slots=True)
class GainLossPool:
    """A multilateral gain/loss pool: ``expected_spend - actual spend`` shared by a key.

    ``partners`` carries each party's weight: 1 each for an equal key, the party's budget for
    a budget-share key, the agreed weight (summing to 1) for a custom key.
    """

    id: str
    line: str
    expected_spend: Decimal
    key: PoolKey
    partners: tuple[PartyWeight, ...]

    @property
    def mechanism(self) -> Mechanism:
        return Mechanism.GAIN_LOSS_POOL


Component = (
    FixedPayment | VariableActivity | QualityIncentive | GainLossShare | PooledBudget | GainLossPool
)


@dataclass(frozen=True, slots=True)
class Contract:
    """A contract: its parties and its payment components, in file order."""

    id: str
    name: str
    commissioner: str | None
    provider: str | None
    components: tuple[Component, ...]


@dataclass(frozen=True, slots=True)
class ContractSet:
    """Every contract of one contracts file, in file order."""

    contracts: tuple[Contract, ...]


@dataclass(frozen=True, slots=True)
class ContractIssue:
    """One fault in a contracts file, located by contract, component and field."""

    contract: str | None
    component: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = []
        if self.contract is not None:
            where.append(f"contract {self.contract}")
        if self.component is not None:
            where.append(f"component {self.component}")
        where.append(f"field {self.field}")
        return f"{', '.join(where)}: {self.message}"


class ContractsError(ValueError):
    """A contracts file that cannot be used; ``issues`` lists every fault found."""

    def __init__(self, source: str, issues: list[ContractIssue]) -> None:
        self.source = source
        self.issues = tuple(issues)
        lines = [f"{source}: {issue}" for issue in issues]
        super().__init__("\n".join(lines))


# --------------------------------------------------------------------------- field reading

T = TypeVar("T")


class _Table:
    """Reads fields of one TOML table, recording each fault against its location."""

    def __init__(
        self,
        data: Mapping[str, Any],
        issues: list[ContractIssue],
        contract: str | None,
        component: str | None,
        prefix: str = "",
    ) -> None:
        self.data = data
        self.issues = issues
        self.contract = contract
        self.component = component
        self.prefix = prefix
        self.seen: set[str] = set()

    def fault(self, field: str, message: str) -> None:
        self.issues.append(
            ContractIssue(self.contract, self.component, self.prefix + field, message)
        )

    def raw(self, field: str, required: bool) -> Any:
        self.seen.add(field)
        if field not in self.data:
            if required:
                self.fault(field, "is required")
            return None
        return self.data[field]

    def text(
        self, field: str, required: bool = True, pattern: re.Pattern[str] | None = None
    ) -> str | None:
        value = self.raw(field, required)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fault(field, f"must be non-empty text, got {_show(value)}")
            return None
        if pattern is not None and not pattern.match(value):
            self.fault(field, f"{value!r} is not a valid {_pattern_name(pattern)}")
            return None
        return value

    def identifier(self, field: str, required: bool = True) -> str | None:
        return self.text(field, required, IDENTIFIER_PATTERN)

    def party(self, field: str, required: bool = True) -> str | None:
        return self.text(field, required, CODE_PATTERN)

    def number(
        self,
        field: str,
        required: bool = True,
        *,
        money: bool = False,
        minimum: Decimal | None = ZERO,
        maximum: Decimal | None = None,
        positive: bool = False,
    ) -> Decimal | None:
        value = self.raw(field, required)
        if value is None:
            return None
        return _check_number(
            value,
            lambda message: self.fault(field, message),
            money=money,
            minimum=minimum,
            maximum=maximum,
            positive=positive,
        )

    def rate(self, field: str, required: bool = True, *, below_one: bool = False) -> Decimal | None:
        value = self.number(field, required, minimum=ZERO, maximum=ONE)
        if value is not None and below_one and value == ONE:
            self.fault(field, "must be below 1")
            return None
        return value

    def choice(self, field: str, enum: Callable[[str], T], options: list[str], default: T) -> T:
        value = self.raw(field, False)
        if value is None:
            return default
        if not isinstance(value, str) or value not in options:
            self.fault(field, f"must be one of {', '.join(options)}, got {_show(value)}")
            return default
        return enum(value)

    def table(self, field: str, required: bool = True) -> Mapping[str, Any] | None:
        value = self.raw(field, required)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fault(field, f"must be a table, got {_show(value)}")
            return None
        return value

    def array(self, field: str, required: bool = True) -> list[Any] | None:
        value = self.raw(field, required)
        if value is None:
            return None
        if not isinstance(value, list):
            self.fault(field, f"must be an array, got {_show(value)}")
            return None
        return value

    def finish(self) -> None:
        for field in self.data:
            if field not in self.seen:
                self.fault(field, "is not a known field here")


def _check_number(
    value: Any,
    fault: Callable[[str], None],
    *,
    money: bool = False,
    minimum: Decimal | None = ZERO,
    maximum: Decimal | None = None,
    positive: bool = False,
) -> Decimal | None:
    number: Decimal | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and _DECIMAL_TEXT.match(value.strip()):
        number = Decimal(value.strip())
    if number is None or not number.is_finite():
        fault(f"must be a number, got {_show(value)}")
        return None
    if money and not is_whole_pennies(number):
        fault(f"{number} has a fraction of a penny (at most 2 decimal places)")
        return None
    if positive and number <= 0:
        fault(f"must be above 0, got {number}")
        return None
    if minimum is not None and number < minimum:
        fault(f"must be at least {minimum}, got {number}")
        return None
    if maximum is not None and number > maximum:
        fault(f"must be at most {maximum}, got {number}")
        return None
    return number


def _show(value: Any) -> str:
    """A TOML value as a message shows it."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _pattern_name(pattern: re.Pattern[str]) -> str:
    if pattern is CODE_PATTERN:
        return "organisation code (2-9 upper-case letters or digits)"
    return "identifier (letters, digits, _ . - /; up to 64 characters)"


# --------------------------------------------------------------------------- components


def _fixed(t: _Table, component_id: str) -> FixedPayment | None:
    amount = t.number("amount", money=True)
    return None if amount is None else FixedPayment(component_id, amount)


def _variable(t: _Table, component_id: str) -> VariableActivity | None:
    line = t.identifier("line", required=False) or component_id
    unit_price = t.number("unit_price", money=True)
    planned = t.number("planned_units")
    above = t.rate("rate_above")
    below = t.rate("rate_below")
    if unit_price is None or planned is None or above is None or below is None:
        return None
    return VariableActivity(component_id, line, unit_price, planned, above, below)


def _quality(t: _Table, component_id: str) -> QualityIncentive | None:
    # Faults are recorded on the table; the caller drops a contract with any fault, so the
    # component is built only from fields that were read successfully.
    contract_value = t.number("contract_value", money=True)
    share = t.rate("share")
    if "indicators" not in t.data:
        line = t.identifier("line", required=False) or component_id
        indicators = [QualityIndicator(line, ONE)]
    else:
        if "line" in t.data:
            t.seen.add("line")
            t.fault("line", "give either line or indicators, not both")
        indicators = _indicators(t, t.array("indicators") or [])
    if contract_value is None or share is None or not indicators:
        return None
    return QualityIncentive(component_id, contract_value, share, tuple(indicators))


def _indicators(t: _Table, entries: list[Any]) -> list[QualityIndicator]:
    if not entries:
        t.fault("indicators", "must list at least one indicator")
        return []
    indicators: list[QualityIndicator] = []
    ok = True
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict):
            t.fault(f"indicators[{k}]", f"must be a table, got {_show(entry)}")
            ok = False
            continue
        e = _Table(entry, t.issues, t.contract, t.component, f"indicators[{k}].")
        line = e.identifier("line")
        weight = e.rate("weight")
        e.finish()
        if line is not None and any(line == i.line for i in indicators):
            e.fault("line", f"{line!r} is listed twice")
            ok = False
        elif line is None or weight is None:
            ok = False
        else:
            indicators.append(QualityIndicator(line, weight))
    if not ok:
        return []
    total = sum((i.weight for i in indicators), ZERO)
    if total != ONE:
        t.fault("indicators", f"weights must sum to 1, they sum to {total}")
        return []
    return indicators


def _bands(t: _Table, entries: list[Any]) -> tuple[ShareBand, ...] | None:
    if not entries:
        t.fault("bands", "must list at least one band")
        return None
    bands: list[ShareBand] = []
    ok = True
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict):
            t.fault(f"bands[{k}]", f"must be a table, got {_show(entry)}")
            ok = False
            continue
        b = _Table(entry, t.issues, t.contract, t.component, f"bands[{k}].")
        lower = b.number("from", maximum=ONE)
        upper = b.number("to", required=False, maximum=ONE)
        share = b.rate("share")
        b.finish()
        if lower is None or share is None or ("to" in entry and upper is None):
            ok = False
            continue
        if upper is not None and upper <= lower:
            b.fault("to", f"must be above from ({lower}), got {upper}")
            ok = False
            continue
        if bands:
            previous = bands[-1]
            if previous.upper is None:
                b.fault("from", f"bands[{k - 1}] has no upper limit, so no band can follow it")
                ok = False
                continue
            if lower < previous.upper:
                b.fault(
                    "from",
                    f"band [{lower}, {upper if upper is not None else '...'}) overlaps "
                    f"bands[{k - 1}] [{previous.lower}, {previous.upper})",
                )
                ok = False
                continue
            if lower > previous.upper:
                b.fault(
                    "from", f"leaves a gap after bands[{k - 1}], which ends at {previous.upper}"
                )
                ok = False
                continue
        elif lower != ZERO:
            b.fault("from", f"the first band must start at 0, got {lower}")
            ok = False
            continue
        bands.append(ShareBand(lower, upper, share))
    return tuple(bands) if ok else None


def _gain_loss_share(t: _Table, component_id: str) -> GainLossShare | None:
    line = t.identifier("line", required=False) or component_id
    benchmark = t.number("benchmark", money=True, positive=True)
    cap = t.number("cap", required=False, money=True)
    direction = t.choice("direction", Direction, [d.value for d in Direction], Direction.TWO_SIDED)
    bands: tuple[ShareBand, ...] | None
    threshold = ZERO
    if "bands" in t.data:
        for clash in ("share_rate", "corridor", "corridor_basis"):
            if clash in t.data:
                t.seen.add(clash)
                t.fault(clash, "give either bands or share_rate/corridor, not both")
        entries = t.array("bands")
        bands = None if entries is None else _bands(t, entries)
    else:
        share_rate = t.rate("share_rate")
        corridor = t.rate("corridor", required=False, below_one=True) or ZERO
        basis = t.choice(
            "corridor_basis", CorridorBasis, [b.value for b in CorridorBasis], CorridorBasis.EXCESS
        )
        if share_rate is None:
            bands = None
        elif basis is CorridorBasis.FIRST_POUND:
            bands = (ShareBand(ZERO, None, share_rate),)
            threshold = corridor
        elif corridor > 0:
            bands = (ShareBand(ZERO, corridor, ZERO), ShareBand(corridor, None, share_rate))
        else:
            bands = (ShareBand(ZERO, None, share_rate),)
    if benchmark is None or bands is None:
        return None
    return GainLossShare(component_id, line, benchmark, bands, threshold, cap, direction)


def _parties(
    t: _Table, field: str, read: Callable[[Any, Callable[[str], None]], Decimal | None]
) -> tuple[tuple[str, Decimal], ...] | None:
    table = t.table(field)
    if table is None:
        return None
    if not table:
        t.fault(field, "must name at least one party")
        return None
    out: list[tuple[str, Decimal]] = []
    ok = True
    for party, value in table.items():
        where = f"{field}.{party}"
        if not CODE_PATTERN.match(party):
            t.fault(where, f"{party!r} is not a valid organisation code")
            ok = False
            continue
        number = read(value, _fault_at(t, where))
        if number is None:
            ok = False
            continue
        out.append((party, number))
    return tuple(out) if ok else None


def _fault_at(t: _Table, field: str) -> Callable[[str], None]:
    def fault(message: str) -> None:
        t.fault(field, message)

    return fault


def _key_sums_to_one(t: _Table, field: str, weights: tuple[tuple[str, Decimal], ...]) -> bool:
    total = sum((weight for _, weight in weights), ZERO)
    if total != ONE:
        t.fault(field, f"weights must sum to 1, they sum to {total}")
        return False
    return True


def _money_value(value: Any, fault: Callable[[str], None]) -> Decimal | None:
    return _check_number(value, fault, money=True)


def _weight_value(value: Any, fault: Callable[[str], None]) -> Decimal | None:
    return _check_number(value, fault, maximum=ONE)


def _pooled_budget(t: _Table, component_id: str) -> PooledBudget | None:
    line = t.identifier("line", required=False) or component_id
    contributions = _parties(t, "contributions", _money_value)
    if contributions is not None and sum((c for _, c in contributions), ZERO) <= 0:
        t.fault("contributions", "must add up to more than 0")
        contributions = None
    basis = t.choice("share_basis", str, ["contributions", "key"], "contributions")
    key: tuple[tuple[str, Decimal], ...] | None = None
    key_ok = True
    if basis == "key":
        key = _parties(t, "key", _weight_value)
        key_ok = key is not None and _key_sums_to_one(t, "key", key)
        if key is not None and contributions is not None:
            named = {party for party, _ in contributions}
            for party, _ in key:
                if party not in named:
                    t.fault(f"key.{party}", f"{party} makes no contribution to the pool")
                    key_ok = False
    elif "key" in t.data:
        t.seen.add("key")
        t.fault("key", 'a key is used only with share_basis = "key"')
        key_ok = False
    tolerance = t.rate("tolerance", required=False)
    if contributions is None or not key_ok or ("tolerance" in t.data and tolerance is None):
        return None
    return PooledBudget(
        component_id,
        line,
        tuple(PartyAmount(party, amount) for party, amount in contributions),
        None if key is None else tuple(PartyWeight(party, weight) for party, weight in key),
        tolerance,
    )


def _gain_loss_pool(t: _Table, component_id: str) -> GainLossPool | None:
    line = t.identifier("line", required=False) or component_id
    expected = t.number("expected_spend", money=True, positive=True)
    key = t.choice("key", PoolKey, [k.value for k in PoolKey], PoolKey.EQUAL)
    partners: tuple[tuple[str, Decimal], ...] | None = None
    fields = {PoolKey.EQUAL: "partners", PoolKey.BUDGET_SHARE: "budgets", PoolKey.CUSTOM: "weights"}
    wanted = fields[key]
    for other in fields.values():
        if other != wanted and other in t.data:
            t.seen.add(other)
            t.fault(other, f'is not used with key = "{key.value}" (give {wanted})')
    if key is PoolKey.EQUAL:
        names = t.array("partners")
        if names is not None:
            if not names:
                t.fault("partners", "must name at least one party")
            listed: list[tuple[str, Decimal]] = []
            for k, name in enumerate(names):
                if not isinstance(name, str) or not CODE_PATTERN.match(name):
                    t.fault(f"partners[{k}]", f"{_show(name)} is not a valid organisation code")
                elif any(name == p for p, _ in listed):
                    t.fault(f"partners[{k}]", f"{name} is listed twice")
                else:
                    listed.append((name, ONE))
            if names and len(listed) == len(names):
                partners = tuple(listed)
    elif key is PoolKey.BUDGET_SHARE:
        partners = _parties(t, "budgets", _money_value)
        if partners is not None and sum((b for _, b in partners), ZERO) <= 0:
            t.fault("budgets", "must add up to more than 0")
            partners = None
    else:
        partners = _parties(t, "weights", _weight_value)
        if partners is not None and not _key_sums_to_one(t, "weights", partners):
            partners = None
    if expected is None or partners is None:
        return None
    return GainLossPool(
        component_id,
        line,
        expected,
        key,
        tuple(PartyWeight(party, weight) for party, weight in partners),
    )


_READERS: dict[Mechanism, Callable[[_Table, str], Component | None]] = {
    Mechanism.FIXED: _fixed,
    Mechanism.VARIABLE: _variable,
    Mechanism.QUALITY: _quality,
    Mechanism.GAIN_LOSS_SHARE: _gain_loss_share,
    Mechanism.POOLED_BUDGET: _pooled_budget,
    Mechanism.GAIN_LOSS_POOL: _gain_loss_pool,
}


# --------------------------------------------------------------------------- the file


def _mechanism(c: _Table) -> Mechanism | None:
    value = c.raw("type", required=True)
    if value is None:
        return None
    options = [m.value for m in Mechanism]
    if not isinstance(value, str) or value not in options:
        c.fault("type", f"must be one of {', '.join(options)}, got {_show(value)}")
        return None
    return Mechanism(value)


def _contract(entry: Any, index: int, issues: list[ContractIssue]) -> Contract | None:
    label = f"contracts[{index}]"
    start = len(issues)
    if not isinstance(entry, dict):
        issues.append(
            ContractIssue(label, None, "contracts", f"must be a table, got {_show(entry)}")
        )
        return None
    raw_id = entry.get("id")
    name = raw_id if isinstance(raw_id, str) and IDENTIFIER_PATTERN.match(raw_id) else label
    t = _Table(entry, issues, name, None)
    contract_id = t.identifier("id")
    title = t.text("name", required=False)
    commissioner = t.party("commissioner", required=False)
    provider = t.party("provider", required=False)
    entries = t.array("components")
    t.finish()
    components: list[Component] = []
    ids: set[str] = set()
    bilateral = False
    for k, raw in enumerate(entries or []):
        label_k = f"components[{k}]"
        if not isinstance(raw, dict):
            issues.append(
                ContractIssue(name, label_k, "components", f"must be a table, got {_show(raw)}")
            )
            continue
        raw_cid = raw.get("id")
        cname = (
            raw_cid if isinstance(raw_cid, str) and IDENTIFIER_PATTERN.match(raw_cid) else label_k
        )
        c = _Table(raw, issues, name, cname)
        component_id = c.identifier("id")
        mechanism = _mechanism(c)
        if component_id is not None and component_id in ids:
            c.fault("id", f"{component_id!r} is used by another component of this contract")
            component_id = None
        if mechanism is None or component_id is None:
            continue
        ids.add(component_id)
        bilateral = bilateral or mechanism in BILATERAL_MECHANISMS
        component = _READERS[mechanism](c, component_id)
        c.finish()
        if component is not None:
            components.append(component)
    if entries is not None and not entries:
        t.fault("components", "must list at least one component")
    if bilateral:
        for field, value in (("commissioner", commissioner), ("provider", provider)):
            if value is None and field not in entry:
                t.fault(
                    field,
                    "is required when the contract has a fixed, variable, quality "
                    "or gain_loss_share component",
                )
        if commissioner is not None and commissioner == provider:
            t.fault("provider", f"must differ from the commissioner ({commissioner})")
    if len(issues) > start or contract_id is None or entries is None:
        return None
    return Contract(contract_id, title or contract_id, commissioner, provider, tuple(components))


def parse_contracts(text: str, source: str = "contracts") -> ContractSet:
    """Parse and validate a contracts TOML document; raise `ContractsError` listing every fault."""
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ContractsError(
            source, [ContractIssue(None, None, "(file)", f"not valid TOML: {exc}")]
        ) from None
    issues: list[ContractIssue] = []
    top = _Table(data, issues, None, None)
    fmt = top.text("format")
    if fmt is not None and fmt != CONTRACTS_FORMAT:
        top.fault("format", f"must be {CONTRACTS_FORMAT!r}, got {fmt!r}")
    entries = top.array("contracts")
    top.finish()
    contracts: list[Contract] = []
    seen: set[str] = set()
    for k, entry in enumerate(entries or []):
        contract = _contract(entry, k, issues)
        if contract is None:
            continue
        if contract.id in seen:
            issues.append(ContractIssue(contract.id, None, "id", "is used by another contract"))
            continue
        seen.add(contract.id)
        contracts.append(contract)
    if entries is not None and not entries:
        top.fault("contracts", "must list at least one contract")
    if issues:
        raise ContractsError(source, issues)
    return ContractSet(tuple(contracts))


def load_contracts(path: Path) -> ContractSet:
    """Read and validate a contracts TOML file (see docs/contracts.md)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractsError(
            str(path), [ContractIssue(None, None, "(file)", f"cannot read: {exc}")]
        ) from None
    return parse_contracts(text, str(path))
