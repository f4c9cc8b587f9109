"""Page rows and CSV rows for the contracts and settlements pages.

Pages show money as ``£1,234.50``; CSV files carry plain pounds and pence (``1234.50``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wholesystem.finance.contracts import Contract, ContractSet, GainLossPool, PooledBudget
from wholesystem.finance.describe import (
    MECHANISM_LABELS,
    component_terms,
    describe_component,
    explain_line,
    plain_workings,
)
from wholesystem.finance.money import format_money
from wholesystem.finance.settlement import Settlement
from wholesystem.finance.store import ContractSetView, SettlementRecord
from wholesystem.times import uk_datetime

__all__ = [
    "CONTRACT_CSV_COLUMNS",
    "NET_CSV_COLUMNS",
    "SETTLEMENT_LINE_CSV_COLUMNS",
    "SETTLEMENT_LIST_CSV_COLUMNS",
    "TERMS_CSV_COLUMNS",
    "VERSION_CSV_COLUMNS",
    "contract_csv_rows",
    "contract_rows",
    "net_csv_rows",
    "net_rows",
    "parties_of",
    "settlement_line_csv_rows",
    "settlement_line_rows",
    "settlement_list_csv_rows",
    "settlement_list_rows",
    "terms_csv_rows",
    "terms_rows",
    "version_csv_rows",
    "version_rows",
]

CONTRACT_CSV_COLUMNS = (
    "version",
    "contract_id",
    "name",
    "commissioner",
    "provider",
    "component_id",
    "mechanism",
    "description",
)
VERSION_CSV_COLUMNS = (
    "version",
    "file_name",
    "sha256",
    "contracts",
    "loaded_at",
    "loaded_by",
    "current",
    "note",
)
TERMS_CSV_COLUMNS = ("version", "contract_id", "component_id", "mechanism", "term", "value")
SETTLEMENT_LINE_CSV_COLUMNS = (
    "settlement_id",
    "contract_id",
    "component_id",
    "mechanism",
    "transfer",
    "party",
    "role",
    "amount",
    "component_total",
    "workings",
    "notices",
)
NET_CSV_COLUMNS = ("settlement_id", "party", "net_amount")
SETTLEMENT_LIST_CSV_COLUMNS = (
    "settlement_id",
    "period_from",
    "period_to",
    "financial_year",
    "contracts_version",
    "actuals_file_name",
    "actuals_sha256",
    "inputs_sha256",
    "run_at",
    "run_by",
    "transfer_set_id",
    "transfer_set_status",
)


def _plain(value: Any) -> str:
    return f"{value:.2f}"


def parties_of(contract: Contract) -> list[str]:
    """Every organisation named in ``contract``, commissioner and provider first."""
    found: list[str] = [p for p in (contract.commissioner, contract.provider) if p]
    for component in contract.components:
        if isinstance(component, PooledBudget):
            found += [c.party for c in component.contributions]
            found += [k.party for k in component.key or ()]
        elif isinstance(component, GainLossPool):
            found += [p.party for p in component.partners]
    return list(dict.fromkeys(found))


def contract_rows(contracts: ContractSet, row_ids: dict[str, int]) -> list[dict[str, Any]]:
    """One row per contract: parties and each component's mechanism in plain words."""
    return [
        {
            "id": row_ids.get(c.id),
            "contract_id": c.id,
            "name": c.name,
            "parties": ", ".join(parties_of(c)),
            "components": [
                {
                    "id": component.id,
                    "label": MECHANISM_LABELS[component.mechanism],
                    "text": describe_component(c, component),
                }
                for component in c.components
            ],
        }
        for c in contracts.contracts
    ]


def contract_csv_rows(version: int, contracts: ContractSet) -> list[list[object]]:
    return [
        [
            version,
            c.id,
            c.name,
            c.commissioner or "",
            c.provider or "",
            component.id,
            component.mechanism.value,
            describe_component(c, component),
        ]
        for c in contracts.contracts
        for component in c.components
    ]


def version_rows(versions: Sequence[ContractSetView]) -> list[dict[str, Any]]:
    return [
        {
            "version": v.version,
            "file_name": v.file_name,
            "sha256": v.sha256[:12],
            "contracts": v.contract_count,
            "loaded_at": uk_datetime(v.loaded_at, "%d %b %Y %H:%M"),
            "loaded_by": v.loaded_by,
            "current": v.current,
            "note": v.note,
        }
        for v in versions
    ]


def version_csv_rows(versions: Sequence[ContractSetView]) -> list[list[object]]:
    return [
        [
            v.version,
            v.file_name,
            v.sha256,
            v.contract_count,
            v.loaded_at.isoformat(),
            v.loaded_by,
            "true" if v.current else "false",
            v.note,
        ]
        for v in versions
    ]


def terms_rows(contract: Contract) -> list[dict[str, Any]]:
    """One entry per component: its mechanism, a sentence and each term."""
    return [
        {
            "id": component.id,
            "label": MECHANISM_LABELS[component.mechanism],
            "text": describe_component(contract, component),
            "terms": component_terms(component),
        }
        for component in contract.components
    ]


def terms_csv_rows(version: int, contract: Contract) -> list[list[object]]:
    return [
        [version, contract.id, component.id, component.mechanism.value, term, value]
        for component in contract.components
        for term, value in component_terms(component)
    ]


def settlement_line_rows(
    settlement: Settlement, contract_id: str | None = None
) -> list[dict[str, Any]]:
    """One row per party per component (of one contract), with the arithmetic in words."""
    rows: list[dict[str, Any]] = []
    for component in settlement.components:
        if contract_id is not None and component.contract_id != contract_id:
            continue
        for k, line in enumerate(component.lines):
            rows.append(
                {
                    "first": k == 0,
                    "span": len(component.lines),
                    "contract_id": component.contract_id,
                    "component_id": component.component_id,
                    "mechanism": MECHANISM_LABELS[component.mechanism],
                    "party": line.party,
                    "role": line.role.value,
                    "amount": format_money(line.amount),
                    "negative": line.amount < 0,
                    "explanation": explain_line(component, line),
                    "workings": plain_workings(component.workings),
                    "notices": list(component.notices),
                }
            )
    return rows


def settlement_line_csv_rows(
    settlement_id: int, settlement: Settlement, contract_id: str | None = None
) -> list[list[object]]:
    return [
        [
            settlement_id,
            component.contract_id,
            component.component_id,
            component.mechanism.value,
            "true" if component.transfer else "false",
            line.party,
            line.role.value,
            _plain(line.amount),
            _plain(component.total),
            component.workings,
            "; ".join(component.notices),
        ]
        for component in settlement.components
        if contract_id is None or component.contract_id == contract_id
        for line in component.lines
    ]


def net_rows(settlement: Settlement) -> list[dict[str, Any]]:
    return [
        {"party": p.party, "amount": format_money(p.amount), "negative": p.amount < 0}
        for p in settlement.party_totals()
    ]


def net_csv_rows(settlement_id: int, settlement: Settlement) -> list[list[object]]:
    return [[settlement_id, p.party, _plain(p.amount)] for p in settlement.party_totals()]


def _proposal(record: SettlementRecord) -> tuple[int, str] | None:
    live = record.live_proposal
    if live is None:
        return record.proposals[-1] if record.proposals else None
    return next(p for p in record.proposals if p[0] == live)


def settlement_list_rows(records: Sequence[SettlementRecord]) -> list[dict[str, Any]]:
    rows = []
    for r in records:
        proposal = _proposal(r)
        rows.append(
            {
                "id": r.id,
                "period": r.period_label,
                "version": r.contract_version,
                "actuals_file_name": r.actuals_file_name,
                "run_at": uk_datetime(r.run_at, "%d %b %Y %H:%M"),
                "run_by": r.run_by,
                "parties": len(r.settlement.party_totals()),
                "transfer": f"Set {proposal[0]}: {proposal[1]}" if proposal else "Not proposed",
            }
        )
    return rows


def settlement_list_csv_rows(records: Sequence[SettlementRecord]) -> list[list[object]]:
    rows: list[list[object]] = []
    for r in records:
        proposal = _proposal(r)
        rows.append(
            [
                r.id,
                r.period_from.strftime("%Y-%m"),
                r.period_to.strftime("%Y-%m"),
                r.financial_year,
                r.contract_version,
                r.actuals_file_name,
                r.actuals_sha256,
                r.inputs_sha256,
                r.run_at.isoformat(),
                r.run_by,
                proposal[0] if proposal else "",
                proposal[1] if proposal else "",
            ]
        )
    return rows
