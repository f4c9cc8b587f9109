"""Finance: contracts and risk-share settlement (exact money); the open-book ledger follows.

`wholesystem finance settle CONTRACTS.toml ACTUALS.csv --out SETTLEMENT.csv` settles every
contract component; docs/contracts.md documents the files and every formula.
"""

from wholesystem.finance.actuals import Actual, Actuals, ActualsError, Measure, read_actuals
from wholesystem.finance.contracts import (
    Contract,
    ContractsError,
    ContractSet,
    Mechanism,
    load_contracts,
    parse_contracts,
)
from wholesystem.finance.money import allocate, round_penny
from wholesystem.finance.settlement import (
    ComponentSettlement,
    PartyLine,
    Settlement,
    SettlementError,
    settle,
)

__all__ = [
    "Actual",
    "Actuals",
    "ActualsError",
    "ComponentSettlement",
    "Contract",
    "ContractSet",
    "ContractsError",
    "Measure",
    "Mechanism",
    "PartyLine",
    "Settlement",
    "SettlementError",
    "allocate",
    "load_contracts",
    "parse_contracts",
    "read_actuals",
    "round_penny",
    "settle",
]
