"""The ledger in the database: store versioned returns, read positions, record transfers.

Every write is audited (`wholesystem.access.audit.append`) in the caller's transaction, so
a write and its audit event are kept or lost together. Nothing is updated in place: a
resubmission is a new version, a decision on a transfer set is a new event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from wholesystem.access import audit
from wholesystem.finance.actuals import Actuals
from wholesystem.finance.contracts import ContractSet
from wholesystem.finance.ledger import (
    ACCOUNT_CODES,
    LineAmounts,
    ReturnDraft,
    add_months,
    due_date,
    financial_year,
    month_label,
    parse_return_csv,
)
from wholesystem.finance.models import (
    ControlTotal,
    FinanceSubmission,
    SubmissionLine,
    TransferEvent,
    TransferLeg,
    TransferSet,
)
from wholesystem.finance.position import MonthReturn, SystemPosition, system_position
from wholesystem.finance.settlement import settle
from wholesystem.finance.transfers import (
    TransferError,
    TransferKind,
    TransferLegDraft,
    check_transfer_set,
    legs_from_settlement,
)
from wholesystem.footprint.models import Organisation
from wholesystem.store.db import session_scope, utcnow

__all__ = [
    "FINANCE_ORG_TYPES",
    "LoadResult",
    "Partner",
    "ReturnStatus",
    "StoredVersion",
    "SubmissionView",
    "TransferSetView",
    "control_totals",
    "current_returns",
    "decide_transfer_set",
    "finance_partners",
    "latest_period",
    "latest_submission_at",
    "load_position",
    "load_returns_file",
    "propose_settlement",
    "propose_transfer_set",
    "return_statuses",
    "set_control_total",
    "store_drafts",
    "submission_history",
    "submission_lines",
    "submit_return_csv",
    "submit_return_xlsx",
    "transfer_sets",
]

# The organisation types that submit monthly finance returns.
FINANCE_ORG_TYPES = (
    "icb",
    "acute_trust",
    "community_trust",
    "mental_health_trust",
    "local_authority",
)


@dataclass(frozen=True, slots=True)
class Partner:
    code: str
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class StoredVersion:
    submission_id: int
    org_code: str
    period: date
    version: int


@dataclass(frozen=True, slots=True)
class LoadResult:
    created: tuple[StoredVersion, ...]
    unchanged: int

    def report(self) -> str:
        return (
            f"{len(self.created)} return version{'s' if len(self.created) != 1 else ''} stored, "
            f"{self.unchanged} unchanged"
        )


@dataclass(frozen=True, slots=True)
class SubmissionView:
    id: int
    org_code: str
    period: date
    version: int
    submitted_at: datetime
    received_on: date
    submitted_by: str
    source: str
    file_name: str
    note: str
    current: bool


@dataclass(frozen=True, slots=True)
class ReturnStatus:
    """Whether a partner's return for a month came in by its due date."""

    org_code: str
    period: date
    due: date
    status: str  # on_time, late, missing, not_yet_due
    received_on: date | None
    versions: int


# ------------------------------------------------------------------------------ partners


def finance_partners(session: Session) -> list[Partner]:
    """The organisations expected to submit returns, plus any other that has submitted."""
    orgs = {o.code: o for o in session.scalars(select(Organisation).where(Organisation.active))}
    out = [Partner(o.code, o.name, o.type) for o in orgs.values() if o.type in FINANCE_ORG_TYPES]
    listed = {p.code for p in out}
    for code in session.scalars(select(FinanceSubmission.org_code).distinct()):
        if code not in listed:
            org = orgs.get(code)
            out.append(Partner(code, org.name if org else code, org.type if org else "other"))
            listed.add(code)
    order = {t: k for k, t in enumerate(FINANCE_ORG_TYPES)}
    return sorted(out, key=lambda p: (order.get(p.type, len(order)), p.code))


def known_org_codes(session: Session) -> set[str]:
    """Every active organisation of the footprint."""
    return set(session.scalars(select(Organisation.code).where(Organisation.active)))


# ------------------------------------------------------------------------------ returns


def _next_version(session: Session, org_code: str, period: date) -> int:
    current = session.scalar(
        select(func.max(FinanceSubmission.version)).where(
            FinanceSubmission.org_code == org_code, FinanceSubmission.period == period
        )
    )
    return (current or 0) + 1


def _current_lines(session: Session, org_code: str, period: date) -> dict[str, LineAmounts]:
    sub_id = session.scalar(
        select(FinanceSubmission.id)
        .where(FinanceSubmission.org_code == org_code, FinanceSubmission.period == period)
        .order_by(FinanceSubmission.version.desc())
        .limit(1)
    )
    if sub_id is None:
        return {}
    return {
        line.account: LineAmounts(line.plan, line.actual, line.forecast)
        for line in session.scalars(
            select(SubmissionLine).where(SubmissionLine.submission_id == sub_id)
        )
    }


def store_drafts(
    session: Session,
    drafts: Sequence[ReturnDraft],
    *,
    actor: str,
    source: str,
    file_name: str = "",
    note: str = "",
    received_on: date | None = None,
    backfill: bool = False,
    skip_unchanged: bool = False,
) -> LoadResult:
    """Store each draft as the next version of its organisation's return for its month.

    ``backfill`` records each version as received on its due date (history loaded from
    another system, whose receipt dates are not known): the source says ``backfill`` so it
    is never mistaken for a real submission. ``skip_unchanged`` stores nothing for a draft
    identical to the current version (so loading the same file twice adds nothing).
    """
    now = utcnow()
    created: list[StoredVersion] = []
    unchanged = 0
    for draft in drafts:
        if skip_unchanged and _current_lines(session, draft.org_code, draft.period) == dict(
            draft.lines
        ):
            unchanged += 1
            continue
        version = _next_version(session, draft.org_code, draft.period)
        submission = FinanceSubmission(
            org_code=draft.org_code,
            period=draft.period,
            version=version,
            submitted_at=now,
            received_on=due_date(draft.period) if backfill else (received_on or now.date()),
            submitted_by=actor,
            source="backfill" if backfill else source,
            file_name=file_name[:200],
            note=note,
        )
        session.add(submission)
        session.flush()
        for account in ACCOUNT_CODES:
            amounts = draft.lines[account]
            session.add(
                SubmissionLine(
                    submission_id=submission.id,
                    account=account,
                    plan=amounts.plan,
                    actual=amounts.actual,
                    forecast=amounts.forecast,
                )
            )
        created.append(StoredVersion(submission.id, draft.org_code, draft.period, version))
    session.flush()
    if created:
        audit.append(
            session,
            actor=actor,
            action="finance.submit",
            object_type="finance_submission",
            object_id=",".join(str(c.submission_id) for c in created[:20])
            + ("..." if len(created) > 20 else ""),
            detail={
                "source": "backfill" if backfill else source,
                "file_name": file_name,
                "versions": len(created),
                "returns": sorted(
                    {f"{c.org_code} {month_label(c.period)} v{c.version}" for c in created}
                )[:50],
            },
        )
    return LoadResult(tuple(created), unchanged)


def submit_return_csv(
    session: Session,
    text: str,
    *,
    actor: str,
    organisation: str | None,
    source: str = "upload",
    file_name: str = "",
    today: date | None = None,
    period: date | None = None,
) -> LoadResult:
    """Validate a CSV return and store it as new versions (all or nothing).

    ``organisation`` limits the rows to one organisation (a partner's finance lead submits
    for their own organisation only); None allows any partner. Raises `SubmissionError`
    with every row-level fault and stores nothing when any row is bad.
    """
    today = today or utcnow().date()
    drafts = parse_return_csv(
        text,
        known_orgs=known_org_codes(session),
        allowed_orgs=None if organisation is None else {organisation},
        not_after=date(today.year, today.month, 1),
        period=period,
    )
    return store_drafts(
        session, drafts, actor=actor, source=source, file_name=file_name, received_on=today
    )


def submit_return_xlsx(
    session: Session,
    data: bytes,
    *,
    actor: str,
    organisation: str | None,
    file_name: str = "",
    today: date | None = None,
) -> LoadResult:
    """Validate an .xlsx return (its first sheet) and store it as new versions (all or nothing).

    Checked exactly like `submit_return_csv`, with faults located by the sheet's own row
    numbers. Raises `WorkbookError` for an unreadable workbook (corrupt, encrypted, .xls) and
    `SubmissionError` for every row-level fault, merged cell or formula; stores nothing then.
    """
    from wholesystem.finance.xlsx import parse_return_xlsx

    today = today or utcnow().date()
    drafts = parse_return_xlsx(
        data,
        known_orgs=known_org_codes(session),
        allowed_orgs=None if organisation is None else {organisation},
        not_after=date(today.year, today.month, 1),
    )
    return store_drafts(
        session, drafts, actor=actor, source="upload", file_name=file_name, received_on=today
    )


def load_returns_file(
    factory: sessionmaker[Session], path: Path, *, actor: str = "system", backfill: bool = True
) -> LoadResult:
    """Load a finance returns file (the synthetic ``returns/finance.csv``) as submissions.

    All or nothing; an unchanged return is not stored again, so reloading is harmless.
    With ``backfill`` (the default for history) each new version counts as received on its
    due date and is marked as backfilled. Raises `SubmissionError` for a bad file.
    """
    text = path.read_text(encoding="utf-8")
    with session_scope(factory) as session:
        drafts = parse_return_csv(text, known_orgs=None)
        return store_drafts(
            session,
            drafts,
            actor=actor,
            source="returns",
            file_name=path.name,
            note=f"loaded from {path.name}",
            backfill=backfill,
            skip_unchanged=True,
        )


def current_returns(session: Session) -> list[MonthReturn]:
    """The current (latest) version of every organisation's return for every month."""
    latest = (
        select(
            FinanceSubmission.org_code,
            FinanceSubmission.period,
            func.max(FinanceSubmission.version).label("version"),
        )
        .group_by(FinanceSubmission.org_code, FinanceSubmission.period)
        .subquery()
    )
    ids = select(FinanceSubmission.id, FinanceSubmission.org_code, FinanceSubmission.period).join(
        latest,
        (FinanceSubmission.org_code == latest.c.org_code)
        & (FinanceSubmission.period == latest.c.period)
        & (FinanceSubmission.version == latest.c.version),
    )
    heads = {row.id: (row.org_code, row.period) for row in session.execute(ids)}
    lines: dict[int, dict[str, LineAmounts]] = {k: {} for k in heads}
    if heads:
        rows = session.scalars(
            select(SubmissionLine).where(SubmissionLine.submission_id.in_(list(heads)))
        )
        for line in rows:
            lines[line.submission_id][line.account] = LineAmounts(
                line.plan, line.actual, line.forecast
            )
    return [MonthReturn(org, period, lines[k]) for k, (org, period) in heads.items()]


def latest_period(session: Session) -> date | None:
    """The latest month any partner has submitted a return for."""
    return session.scalar(select(func.max(FinanceSubmission.period)))


def latest_submission_at(session: Session) -> datetime | None:
    """When the latest return was stored (the ledger's "data as at")."""
    return session.scalar(select(func.max(FinanceSubmission.submitted_at)))


def submission_history(session: Session, org_code: str | None = None) -> list[SubmissionView]:
    """Every version of every return (of one organisation), newest month and version first."""
    query = select(FinanceSubmission)
    if org_code is not None:
        query = query.where(FinanceSubmission.org_code == org_code)
    subs = list(
        session.scalars(
            query.order_by(
                FinanceSubmission.period.desc(),
                FinanceSubmission.org_code,
                FinanceSubmission.version.desc(),
            )
        )
    )
    heads: dict[tuple[str, date], int] = {}
    for s in subs:
        heads[(s.org_code, s.period)] = max(heads.get((s.org_code, s.period), 0), s.version)
    return [
        SubmissionView(
            s.id,
            s.org_code,
            s.period,
            s.version,
            s.submitted_at,
            s.received_on,
            s.submitted_by,
            s.source,
            s.file_name,
            s.note,
            heads[(s.org_code, s.period)] == s.version,
        )
        for s in subs
    ]


def submission_lines(session: Session, submission_id: int) -> dict[str, LineAmounts]:
    """The lines of one stored version."""
    return {
        line.account: LineAmounts(line.plan, line.actual, line.forecast)
        for line in session.scalars(
            select(SubmissionLine).where(SubmissionLine.submission_id == submission_id)
        )
    }


def return_statuses(
    session: Session, partners: Iterable[str], year: int, today: date
) -> list[ReturnStatus]:
    """Each partner's return for each month of financial ``year`` whose due date has come.

    A return is on time when its first version was received on or before the due date
    (docs/finance.md), late when after it, missing when none has been received and the due
    date has passed; the month whose return is not yet due is shown as such.
    """
    first: dict[tuple[str, date], tuple[date, int]] = {}
    rows = session.execute(
        select(
            FinanceSubmission.org_code,
            FinanceSubmission.period,
            func.min(FinanceSubmission.received_on),
            func.count(),
        ).group_by(FinanceSubmission.org_code, FinanceSubmission.period)
    )
    for org, period, received, count in rows:
        first[(org, period)] = (received, count)
    months = [add_months(date(year, 4, 1), k) for k in range(12)]
    out: list[ReturnStatus] = []
    for org in partners:
        for month in months:
            if month > today:
                break
            due = due_date(month)
            got = first.get((org, month))
            if got is not None:
                status = "on_time" if got[0] <= due else "late"
                out.append(ReturnStatus(org, month, due, status, got[0], got[1]))
            else:
                status = "missing" if today > due else "not_yet_due"
                out.append(ReturnStatus(org, month, due, status, None, 0))
    return out


# ------------------------------------------------------------------------ control totals


def control_totals(session: Session, year: int) -> dict[str, Decimal]:
    """The control total held for each organisation for ``year`` (the latest set)."""
    out: dict[str, Decimal] = {}
    for row in session.scalars(
        select(ControlTotal)
        .where(ControlTotal.financial_year == year)
        .order_by(ControlTotal.set_at, ControlTotal.id)
    ):
        out[row.org_code] = row.amount
    return out


def set_control_total(
    session: Session, org_code: str, year: int, amount: Decimal, *, actor: str, note: str = ""
) -> None:
    """Hold ``amount`` as ``org_code``'s control total for ``year`` (a new row; audited)."""
    session.add(
        ControlTotal(org_code=org_code, financial_year=year, amount=amount, set_by=actor, note=note)
    )
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="finance.control_total",
        object_type="organisation",
        object_id=org_code,
        detail={"financial_year": year, "amount": str(amount), "note": note},
    )


def load_position(
    session: Session, year: int | None = None, as_at: date | None = None
) -> SystemPosition | None:
    """The system position for ``year`` as at ``as_at`` (default: the latest month's)."""
    latest = latest_period(session)
    if latest is None:
        return None
    if as_at is None:
        same_year = year is None or financial_year(latest) == year
        as_at = latest if same_year else date((year or latest.year) + 1, 3, 1)
    year = financial_year(as_at)
    partners = [p.code for p in finance_partners(session)]
    return system_position(
        current_returns(session), year, as_at, partners, control_totals(session, year)
    )


# ------------------------------------------------------------------------------ transfers


@dataclass(frozen=True, slots=True)
class TransferSetView:
    id: int
    kind: TransferKind
    title: str
    financial_year: int
    status: str
    proposed_by: str
    proposed_at: datetime
    source: str
    note: str
    legs: tuple[TransferLegDraft, ...]
    events: tuple[tuple[str, str, datetime, str], ...]  # (action, actor, at, note)


def propose_transfer_set(
    session: Session,
    *,
    kind: TransferKind,
    title: str,
    year: int,
    legs: Sequence[TransferLegDraft],
    actor: str,
    source: str = "manual",
    note: str = "",
) -> int:
    """Record a proposed transfer set; refused unless it is net-neutral (audited)."""
    if not title.strip():
        raise TransferError(["give the transfer set a title"])
    check_transfer_set(legs, known_org_codes(session))
    record = TransferSet(
        kind=kind.value,
        title=title.strip()[:200],
        financial_year=year,
        status="proposed",
        proposed_by=actor,
        source=source,
        note=note,
    )
    session.add(record)
    session.flush()
    for leg in legs:
        session.add(
            TransferLeg(set_id=record.id, org_code=leg.org_code, amount=leg.amount, memo=leg.memo)
        )
    session.add(TransferEvent(set_id=record.id, action="proposed", actor=actor, note=note))
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="finance.transfer.propose",
        object_type="finance_transfer_set",
        object_id=str(record.id),
        detail={"kind": kind.value, "legs": len(legs), "title": record.title},
    )
    return record.id


def decide_transfer_set(
    session: Session, set_id: int, *, approve: bool, actor: str, note: str = ""
) -> None:
    """Approve or reject a proposed set; the proposer may not decide their own (audited)."""
    record = session.get(TransferSet, set_id)
    if record is None:
        raise TransferError([f"there is no transfer set {set_id}"])
    if record.status != "proposed":
        raise TransferError([f"transfer set {set_id} is already {record.status}"])
    if record.proposed_by == actor:
        raise TransferError(
            [f"you proposed transfer set {set_id}: someone else must approve or reject it"]
        )
    action = "approved" if approve else "rejected"
    record.status = action
    session.add(TransferEvent(set_id=set_id, action=action, actor=actor, note=note))
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=f"finance.transfer.{'approve' if approve else 'reject'}",
        object_type="finance_transfer_set",
        object_id=str(set_id),
        detail={"note": note},
    )


def transfer_sets(session: Session, status: str | None = None) -> list[TransferSetView]:
    """Every transfer set (optionally of one status), newest first, with legs and history."""
    query = select(TransferSet).order_by(TransferSet.id.desc())
    if status:
        query = query.where(TransferSet.status == status)
    sets = list(session.scalars(query))
    ids = [s.id for s in sets]
    legs: dict[int, list[TransferLegDraft]] = {k: [] for k in ids}
    events: dict[int, list[tuple[str, str, datetime, str]]] = {k: [] for k in ids}
    if ids:
        for leg in session.scalars(
            select(TransferLeg).where(TransferLeg.set_id.in_(ids)).order_by(TransferLeg.id)
        ):
            legs[leg.set_id].append(TransferLegDraft(leg.org_code, leg.amount, leg.memo))
        for event in session.scalars(
            select(TransferEvent).where(TransferEvent.set_id.in_(ids)).order_by(TransferEvent.id)
        ):
            events[event.set_id].append((event.action, event.actor, event.at, event.note))
    return [
        TransferSetView(
            s.id,
            TransferKind(s.kind),
            s.title,
            s.financial_year,
            s.status,
            s.proposed_by,
            s.proposed_at,
            s.source,
            s.note,
            tuple(legs[s.id]),
            tuple(events[s.id]),
        )
        for s in sets
    ]


def propose_settlement(
    session: Session,
    contracts: ContractSet,
    actuals: Actuals,
    *,
    actor: str,
    year: int,
    title: str,
    pool_host: str | None = None,
) -> tuple[int, tuple[str, ...]]:
    """Settle ``contracts`` on ``actuals`` and propose each party's net as a transfer set.

    Returns the new set's id and the components left out (pools without a host).
    """
    proposed = legs_from_settlement(settle(contracts, actuals), pool_host)
    set_id = propose_transfer_set(
        session,
        kind=TransferKind.risk_share_settlement,
        title=title,
        year=year,
        legs=proposed.legs,
        actor=actor,
        source="settlement",
        note="; ".join(proposed.left_out),
    )
    return set_id, proposed.left_out
