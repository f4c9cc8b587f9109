"""Finance: the open-book ledger, the system position, transfers, contracts and settlement.

`wholesystem finance settle CONTRACTS.toml ACTUALS.csv --out SETTLEMENT.csv` settles every
contract component (docs/contracts.md); `wholesystem finance load-returns FINANCE.csv`,
`position`, `what-if` and `propose-settlement` work on the ledger (docs/finance.md). The
database side is `wholesystem.finance.services` (e.g. `load_returns_file`) and, for versioned
contracts and stored settlements (`load-contracts`, `run-settlement`),
`wholesystem.finance.store`.
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
from wholesystem.finance.ledger import (
    CHART_OF_ACCOUNTS,
    ReturnDraft,
    RowError,
    SubmissionError,
    parse_return_csv,
)
from wholesystem.finance.money import allocate, round_penny
from wholesystem.finance.position import (
    MonthReturn,
    OrgPosition,
    SystemPosition,
    VarianceBridge,
    system_position,
    variance_bridge,
)
from wholesystem.finance.settlement import (
    ComponentSettlement,
    PartyLine,
    Settlement,
    SettlementError,
    settle,
)
from wholesystem.finance.transfers import (
    NotNetNeutralError,
    TransferError,
    TransferKind,
    check_transfer_set,
)
from wholesystem.finance.whatif import Scenario, WhatIfError, WhatIfResult, run_what_if

__all__ = [
    "CHART_OF_ACCOUNTS",
    "Actual",
    "Actuals",
    "ActualsError",
    "ComponentSettlement",
    "Contract",
    "ContractSet",
    "ContractsError",
    "Measure",
    "Mechanism",
    "MonthReturn",
    "NotNetNeutralError",
    "OrgPosition",
    "PartyLine",
    "ReturnDraft",
    "RowError",
    "Scenario",
    "Settlement",
    "SettlementError",
    "SubmissionError",
    "SystemPosition",
    "TransferError",
    "TransferKind",
    "VarianceBridge",
    "WhatIfError",
    "WhatIfResult",
    "allocate",
    "check_transfer_set",
    "load_contracts",
    "parse_contracts",
    "parse_return_csv",
    "read_actuals",
    "round_penny",
    "run_what_if",
    "settle",
    "system_position",
    "variance_bridge",
]
