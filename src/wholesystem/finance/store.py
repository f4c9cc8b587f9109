"""Contracts and settlements in the database: versioned contract sets, immutable settlements.

- Loading a contracts file validates it exactly as `parse_contracts` does (a fault names the
  contract, component and field, and nothing is written), then stores it whole as the next
  version with its SHA-256, who loaded it and when. Loading the file that is already current
  changes nothing; a changed file is a new version and earlier versions stay readable.
- Running a settlement settles the current contracts on measured values (an ACTUALS.csv,
  docs/contracts.md) for a period and stores each party's amount per component, once: the
  same contracts, values and period find the stored settlement instead of adding another.
- Proposing a stored settlement creates its net-neutral transfer set through the transfers
  flow (`propose_transfer_set`), to be approved by someone else.

Every write is audited in the caller's transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from wholesystem.access import audit
from wholesystem.finance.actuals import Actuals, parse_actuals
from wholesystem.finance.contracts import (
    Contract,
    ContractIssue,
    ContractsError,
    ContractSet,
    Mechanism,
    parse_contracts,
)
from wholesystem.finance.ledger import financial_year, fy_label, month_label
from wholesystem.finance.models import (
    ContractSetVersion,
    SettlementLineRecord,
    SettlementProposal,
    SettlementRun,
    StoredContract,
    TransferSet,
)
from wholesystem.finance.services import latest_period, propose_transfer_set
from wholesystem.finance.settlement import (
    ComponentSettlement,
    PartyLine,
    Role,
    Settlement,
    SettlementError,
    settle,
)
from wholesystem.finance.transfers import TransferError, TransferKind, legs_from_settlement
from wholesystem.store.db import session_scope, utcnow

__all__ = [
    "ContractLoad",
    "ContractSetView",
    "ContractView",
    "SettlementRecord",
    "SettlementRunResult",
    "check_period",
    "contract_set_versions",
    "contract_view",
    "contracts_of_set",
    "current_contract_set",
    "latest_settlement_of_set",
    "load_contract_text",
    "load_contracts_file",
    "load_demo_finance",
    "propose_stored_settlement",
    "run_settlement",
    "settlement_contracts",
    "settlement_record",
    "settlement_records",
    "sha256_text",
    "whatif_inputs",
]

MAX_CONTRACTS_BYTES = 1024 * 1024


def sha256_text(text: str) -> str:
    """The hex SHA-256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ContractLoad:
    """What loading a contracts file did: the version now current and whether it is new."""

    set_id: int
    version: int
    created: bool
    contracts: int

    def report(self) -> str:
        if not self.created:
            return f"unchanged: it is already the current version {self.version}"
        return f"stored as version {self.version} ({self.contracts} contracts)"


@dataclass(frozen=True, slots=True)
class ContractSetView:
    """One stored version of the contracts file."""

    id: int
    version: int
    file_name: str
    sha256: str
    contract_count: int
    loaded_at: datetime
    loaded_by: str
    note: str
    current: bool


@dataclass(frozen=True, slots=True)
class ContractView:
    """One stored contract with its parsed terms and the version it belongs to."""

    id: int
    contract: Contract
    version: ContractSetView


@dataclass(frozen=True, slots=True)
class SettlementRunResult:
    """A stored settlement's id and whether this run stored it (False: it was already there)."""

    settlement_id: int
    created: bool


@dataclass(frozen=True, slots=True)
class SettlementRecord:
    """A stored settlement: its inputs, who ran it, and the settlement itself."""

    id: int
    contract_set_id: int
    contract_version: int
    period_from: date
    period_to: date
    financial_year: int
    actuals_file_name: str
    actuals_text: str
    actuals_sha256: str
    inputs_sha256: str
    run_at: datetime
    run_by: str
    note: str
    settlement: Settlement
    proposals: tuple[tuple[int, str], ...]  # (transfer set id, its status)

    @property
    def period_label(self) -> str:
        """``2024-04 to 2025-03`` (or one month)."""
        start, end = month_label(self.period_from), month_label(self.period_to)
        return start if start == end else f"{start} to {end}"

    @property
    def live_proposal(self) -> int | None:
        """The transfer set proposed from this settlement that is not rejected, if any."""
        return next((sid for sid, status in self.proposals if status != "rejected"), None)


# ------------------------------------------------------------------------------ contracts


def _set_view(record: ContractSetVersion, current_id: int | None) -> ContractSetView:
    return ContractSetView(
        record.id,
        record.version,
        record.file_name,
        record.sha256,
        record.contract_count,
        record.loaded_at,
        record.loaded_by,
        record.note,
        record.id == current_id,
    )


def _current_record(session: Session) -> ContractSetVersion | None:
    return session.scalars(
        select(ContractSetVersion).order_by(ContractSetVersion.version.desc()).limit(1)
    ).first()


def load_contract_text(
    session: Session, text: str, *, file_name: str, actor: str, note: str = ""
) -> ContractLoad:
    """Validate a contracts TOML document and store it as the next version (audited).

    Raises `ContractsError` naming every faulty field, and writes nothing, for a bad file.
    A file identical to the current version stores nothing and returns that version.
    """
    contracts = parse_contracts(text, file_name)
    digest = sha256_text(text)
    current = _current_record(session)
    if current is not None and current.sha256 == digest:
        return ContractLoad(current.id, current.version, False, current.contract_count)
    record = ContractSetVersion(
        version=(current.version if current else 0) + 1,
        file_name=file_name[:200],
        sha256=digest,
        source_text=text,
        contract_count=len(contracts.contracts),
        loaded_at=utcnow(),
        loaded_by=actor,
        note=note,
    )
    session.add(record)
    session.flush()
    for position, contract in enumerate(contracts.contracts):
        session.add(
            StoredContract(
                set_id=record.id,
                position=position,
                contract_id=contract.id,
                name=contract.name[:200],
                commissioner=contract.commissioner,
                provider=contract.provider,
                mechanisms=",".join(dict.fromkeys(c.mechanism.value for c in contract.components))[
                    :200
                ],
            )
        )
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="finance.contracts.load",
        object_type="finance_contract_set",
        object_id=str(record.id),
        detail={
            "version": record.version,
            "file_name": file_name,
            "sha256": digest,
            "contracts": [c.id for c in contracts.contracts][:50],
        },
    )
    return ContractLoad(record.id, record.version, True, record.contract_count)


def load_contracts_file(
    factory: sessionmaker[Session], path: Path, *, actor: str, note: str = ""
) -> ContractLoad:
    """Read a contracts TOML file and store it (see `load_contract_text`); all or nothing."""
    try:
        if path.stat().st_size > MAX_CONTRACTS_BYTES:
            raise ContractsError(
                str(path), [ContractIssue(None, None, "(file)", "is larger than 1 MB")]
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractsError(
            str(path), [ContractIssue(None, None, "(file)", f"cannot read: {exc}")]
        ) from None
    with session_scope(factory) as session:
        return load_contract_text(session, text, file_name=path.name, actor=actor, note=note)


def _parse_stored(record: ContractSetVersion) -> ContractSet:
    # The text passed validation when it was loaded; should the rules tighten later, the
    # version is still shown, with the reason it no longer parses (ContractsError).
    return parse_contracts(record.source_text, f"contracts version {record.version}")


def current_contract_set(session: Session) -> tuple[ContractSetView, ContractSet] | None:
    """The current contracts version and its contracts, or None when none has been loaded."""
    record = _current_record(session)
    if record is None:
        return None
    return _set_view(record, record.id), _parse_stored(record)


def contract_set_versions(session: Session) -> list[ContractSetView]:
    """Every stored version of the contracts file, newest first."""
    records = list(
        session.scalars(select(ContractSetVersion).order_by(ContractSetVersion.version.desc()))
    )
    current_id = records[0].id if records else None
    return [_set_view(r, current_id) for r in records]


def contracts_of_set(session: Session, set_id: int) -> list[tuple[int, StoredContract]]:
    """The contracts of one version, in file order, as (row id, row)."""
    return [
        (row.id, row)
        for row in session.scalars(
            select(StoredContract)
            .where(StoredContract.set_id == set_id)
            .order_by(StoredContract.position)
        )
    ]


def contract_view(session: Session, contract_row_id: int) -> ContractView | None:
    """One stored contract with its terms, or None when there is no such row."""
    row = session.get(StoredContract, contract_row_id)
    if row is None:
        return None
    record = session.get(ContractSetVersion, row.set_id)
    if record is None:  # pragma: no cover - the foreign key guarantees it
        return None
    current = _current_record(session)
    contracts = _parse_stored(record)
    contract = next(c for c in contracts.contracts if c.id == row.contract_id)
    return ContractView(row.id, contract, _set_view(record, current.id if current else None))


# ------------------------------------------------------------------------------ settlements


def _inputs_hash(contracts_sha: str, actuals_sha: str, period_from: date, period_to: date) -> str:
    return sha256_text(
        f"contracts {contracts_sha}\nactuals {actuals_sha}\n"
        f"period {period_from.isoformat()} {period_to.isoformat()}\n"
    )


def check_period(period_from: date, period_to: date) -> None:
    """Refuse a period that runs backwards or crosses a financial year (`SettlementError`)."""
    if period_to < period_from:
        raise SettlementError(
            [
                f"the period ends ({month_label(period_to)}) before it starts "
                f"({month_label(period_from)})"
            ]
        )
    if financial_year(period_from) != financial_year(period_to):
        raise SettlementError(
            [
                f"the period {month_label(period_from)} to {month_label(period_to)} crosses "
                f"financial years ({fy_label(financial_year(period_from))} and "
                f"{fy_label(financial_year(period_to))}): settle each year separately"
            ]
        )


def run_settlement(
    session: Session,
    *,
    actuals_text: str,
    actuals_name: str,
    period_from: date,
    period_to: date,
    actor: str,
    note: str = "",
) -> SettlementRunResult:
    """Settle the current contracts on ``actuals_text`` for the period and store it (audited).

    Raises `SettlementError` when no contracts are loaded, the period is wrong or the values
    do not fit the contracts, and `ActualsError` for a bad actuals file; nothing is written
    then. The same contracts version, actuals and period return the stored settlement.
    """
    check_period(period_from, period_to)
    current = _current_record(session)
    if current is None:
        raise SettlementError(
            [
                "no contracts have been loaded: load a contracts file first "
                "(wholesystem finance load-contracts FILE)"
            ]
        )
    actuals = parse_actuals(actuals_text.lstrip("\ufeff"), actuals_name)
    result = settle(_parse_stored(current), actuals)
    actuals_sha = sha256_text(actuals_text)
    inputs = _inputs_hash(current.sha256, actuals_sha, period_from, period_to)
    existing = session.scalar(select(SettlementRun.id).where(SettlementRun.inputs_sha256 == inputs))
    if existing is not None:
        return SettlementRunResult(existing, False)
    run = SettlementRun(
        contract_set_id=current.id,
        period_from=period_from,
        period_to=period_to,
        financial_year=financial_year(period_to),
        actuals_file_name=actuals_name[:200],
        actuals_text=actuals_text,
        actuals_sha256=actuals_sha,
        inputs_sha256=inputs,
        run_at=utcnow(),
        run_by=actor,
        note=note,
    )
    session.add(run)
    session.flush()
    position = 0
    for component in result.components:
        for line in component.lines:
            session.add(
                SettlementLineRecord(
                    settlement_id=run.id,
                    position=position,
                    contract_id=component.contract_id,
                    component_id=component.component_id,
                    mechanism=component.mechanism.value,
                    transfer=component.transfer,
                    party=line.party,
                    role=line.role.value,
                    amount=line.amount,
                    component_total=component.total,
                    workings=component.workings,
                    notices="\n".join(component.notices),
                )
            )
            position += 1
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="finance.settlement.run",
        object_type="finance_settlement",
        object_id=str(run.id),
        detail={
            "contracts_version": current.version,
            "period_from": month_label(period_from),
            "period_to": month_label(period_to),
            "actuals_file_name": actuals_name,
            "inputs_sha256": inputs,
            "net": {p.party: str(p.amount) for p in result.party_totals()},
        },
    )
    return SettlementRunResult(run.id, True)


def _stored_settlement(lines: list[SettlementLineRecord]) -> Settlement:
    components: list[ComponentSettlement] = []
    groups: dict[tuple[str, str], list[SettlementLineRecord]] = {}
    for line in sorted(lines, key=lambda r: r.position):
        groups.setdefault((line.contract_id, line.component_id), []).append(line)
    for (contract_id, component_id), rows in groups.items():
        first = rows[0]
        components.append(
            ComponentSettlement(
                contract_id,
                component_id,
                Mechanism(first.mechanism),
                first.transfer,
                first.component_total,
                tuple(PartyLine(r.party, Role(r.role), r.amount) for r in rows),
                first.workings,
                tuple(n for n in first.notices.split("\n") if n),
            )
        )
    return Settlement(tuple(components))


def _records(session: Session, runs: list[SettlementRun]) -> list[SettlementRecord]:
    ids = [r.id for r in runs]
    if not ids:
        return []
    lines: dict[int, list[SettlementLineRecord]] = {k: [] for k in ids}
    for line in session.scalars(
        select(SettlementLineRecord).where(SettlementLineRecord.settlement_id.in_(ids))
    ):
        lines[line.settlement_id].append(line)
    proposals: dict[int, list[tuple[int, str]]] = {k: [] for k in ids}
    rows = session.execute(
        select(SettlementProposal.settlement_id, TransferSet.id, TransferSet.status)
        .join(TransferSet, TransferSet.id == SettlementProposal.transfer_set_id)
        .where(SettlementProposal.settlement_id.in_(ids))
        .order_by(SettlementProposal.id)
    )
    for settlement_id, set_id, status in rows:
        proposals[settlement_id].append((set_id, status))
    versions: dict[int, int] = {
        set_id: version
        for set_id, version in session.execute(
            select(ContractSetVersion.id, ContractSetVersion.version)
        )
    }
    return [
        SettlementRecord(
            r.id,
            r.contract_set_id,
            versions[r.contract_set_id],
            r.period_from,
            r.period_to,
            r.financial_year,
            r.actuals_file_name,
            r.actuals_text,
            r.actuals_sha256,
            r.inputs_sha256,
            r.run_at,
            r.run_by,
            r.note,
            _stored_settlement(lines[r.id]),
            tuple(proposals[r.id]),
        )
        for r in runs
    ]


def settlement_records(session: Session, year: int | None = None) -> list[SettlementRecord]:
    """Every stored settlement (of one financial year), newest first."""
    query = select(SettlementRun).order_by(SettlementRun.id.desc())
    if year is not None:
        query = query.where(SettlementRun.financial_year == year)
    return _records(session, list(session.scalars(query)))


def settlement_record(session: Session, settlement_id: int) -> SettlementRecord | None:
    """One stored settlement, or None."""
    run = session.get(SettlementRun, settlement_id)
    return _records(session, [run])[0] if run is not None else None


def latest_settlement_of_set(session: Session, set_id: int) -> SettlementRecord | None:
    """The newest settlement run on one contracts version, or None."""
    run = session.scalars(
        select(SettlementRun)
        .where(SettlementRun.contract_set_id == set_id)
        .order_by(SettlementRun.id.desc())
        .limit(1)
    ).first()
    return _records(session, [run])[0] if run is not None else None


def propose_stored_settlement(
    session: Session,
    settlement_id: int,
    *,
    actor: str,
    pool_host: str | None = None,
    title: str | None = None,
) -> tuple[int, tuple[str, ...]]:
    """Propose a stored settlement's net amounts as a transfer set awaiting approval.

    Refused (`TransferError`) when the settlement is already proposed and not rejected, or
    its legs are not a valid net-neutral set. Returns the set's id and the components left
    out (pools without a host).
    """
    record = settlement_record(session, settlement_id)
    if record is None:
        raise TransferError([f"there is no settlement {settlement_id}"])
    if record.live_proposal is not None:
        raise TransferError(
            [
                f"settlement {settlement_id} is already proposed as transfer set "
                f"{record.live_proposal}"
            ]
        )
    proposed = legs_from_settlement(record.settlement, pool_host or None)
    set_id = propose_transfer_set(
        session,
        kind=TransferKind.risk_share_settlement,
        title=title or f"Risk-share settlement {record.period_label} (settlement {record.id})",
        year=record.financial_year,
        legs=proposed.legs,
        actor=actor,
        source="settlement",
        note="; ".join(proposed.left_out),
    )
    session.add(
        SettlementProposal(
            settlement_id=settlement_id,
            transfer_set_id=set_id,
            pool_host=pool_host or None,
            proposed_at=utcnow(),
            proposed_by=actor,
        )
    )
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="finance.settlement.propose",
        object_type="finance_settlement",
        object_id=str(settlement_id),
        detail={
            "transfer_set": set_id,
            "pool_host": pool_host or "",
            "left_out": len(proposed.left_out),
        },
    )
    return set_id, proposed.left_out


def settlement_contracts(session: Session, record: SettlementRecord) -> ContractSet:
    """The contracts (as that version stood) a stored settlement was run on."""
    version = session.get(ContractSetVersion, record.contract_set_id)
    if version is None:  # pragma: no cover - the foreign key guarantees it
        raise ValueError(f"settlement {record.id} names no stored contracts version")
    return _parse_stored(version)


def whatif_inputs(session: Session) -> tuple[ContractSetView, ContractSet, Actuals] | None:
    """The current contracts and the measured values of the latest settlement run on them.

    The what-if starts from what was last settled; None when no contracts are loaded or no
    settlement has been run on the current version.
    """
    current = current_contract_set(session)
    if current is None:
        return None
    view, contracts = current
    latest = latest_settlement_of_set(session, view.id)
    if latest is None:
        return None
    actuals = parse_actuals(latest.actuals_text.lstrip("\ufeff"), latest.actuals_file_name)
    return view, contracts, actuals


def load_demo_finance(
    factory: sessionmaker[Session], *, actor: str = "demo", today: date | None = None
) -> tuple[ContractLoad, SettlementRunResult]:
    """Load the example contracts and settle them on the example values, year to date.

    The period runs from April to the latest month any partner has a return for (or this
    month). Idempotent: a second run stores nothing.
    """
    from wholesystem.finance.whatif import DEMO_ACTUALS, DEMO_CONTRACTS

    loaded = load_contracts_file(factory, DEMO_CONTRACTS, actor=actor, note="demo contracts")
    with session_scope(factory) as session:
        latest = latest_period(session) or (today or utcnow().date()).replace(day=1)
        start = date(financial_year(latest), 4, 1)
        run = run_settlement(
            session,
            actuals_text=DEMO_ACTUALS.read_text(encoding="utf-8"),
            actuals_name=DEMO_ACTUALS.name,
            period_from=start,
            period_to=latest,
            actor=actor,
            note="demo settlement on the example measured values",
        )
    return loaded, run
