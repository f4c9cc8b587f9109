"""`wholesystem finance settle CONTRACTS.toml ACTUALS.csv --out SETTLEMENT.csv`, and the
ledger, contracts and settlement commands (`load-contracts`, `run-settlement`, ...).

Prints each party's amount per component and each party's net, and writes the same lines to
``--out`` (whole or not at all). Bad input exits with status 2, naming the contract,
component and field of a bad contract, or the line and column of a bad actuals row, and
writes nothing.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from wholesystem.finance.actuals import Actuals, ActualsError, read_actuals
from wholesystem.finance.contracts import ContractsError, ContractSet, load_contracts
from wholesystem.finance.money import format_money
from wholesystem.finance.settlement import Settlement, SettlementError, settle

__all__ = ["EXIT_BAD_INPUT", "SETTLEMENT_COLUMNS", "app", "register", "settlement_csv"]

EXIT_BAD_INPUT = 2
SETTLEMENT_COLUMNS = (
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
# Enough to fix a file in one go without drowning the terminal.
_MAX_ERRORS_SHOWN = 50

app = typer.Typer(
    name="finance",
    help="Open-book finance: the ledger, position, transfers, contracts and settlement.",
    no_args_is_help=True,
)


@app.callback()
def _finance() -> None:
    """Open-book finance: contracts and risk-share settlement."""


def settlement_csv(settlement: Settlement) -> str:
    """One CSV row per party per component (amounts as plain pounds and pence)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SETTLEMENT_COLUMNS)
    for component in settlement.components:
        for line in component.lines:
            writer.writerow(
                (
                    component.contract_id,
                    component.component_id,
                    component.mechanism.value,
                    "true" if component.transfer else "false",
                    line.party,
                    line.role.value,
                    f"{line.amount:.2f}",
                    f"{component.total:.2f}",
                    component.workings,
                    "; ".join(component.notices),
                )
            )
    return buffer.getvalue()


def _write_atomically(path: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _fail(messages: list[str]) -> typer.Exit:
    for message in messages[:_MAX_ERRORS_SHOWN]:
        typer.echo(f"error: {message}", err=True)
    if len(messages) > _MAX_ERRORS_SHOWN:
        typer.echo(f"error: ... and {len(messages) - _MAX_ERRORS_SHOWN} more", err=True)
    return typer.Exit(EXIT_BAD_INPUT)


def _print(settlement: Settlement, console: Console) -> None:
    # The mechanism is in the CSV and the workings; leaving it out keeps 80 columns readable.
    table = Table(title="Settlement", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("Contract", overflow="fold")
    table.add_column("Component", overflow="fold")
    table.add_column("Party", no_wrap=True)
    table.add_column("Role", no_wrap=True)
    table.add_column("Amount", justify="right", no_wrap=True)
    for component in settlement.components:
        for k, line in enumerate(component.lines):
            first = k == 0
            table.add_row(
                component.contract_id if first else "",
                component.component_id if first else "",
                line.party,
                line.role.value,
                format_money(line.amount),
                end_section=k == len(component.lines) - 1,
            )
    console.print(table)

    net = Table(title="Net per party", title_justify="left", box=box.SIMPLE_HEAD)
    net.add_column("Party", no_wrap=True)
    net.add_column("Net", justify="right", no_wrap=True)
    for party in settlement.party_totals():
        net.add_row(party.party, format_money(party.amount))
    console.print(net)

    console.print("Workings", style="bold")
    for component in settlement.components:
        console.print(
            f"  {component.contract_id} / {component.component_id}: {component.workings}",
            highlight=False,
            soft_wrap=True,
        )
    notices = settlement.notices()
    if notices:
        console.print("Notices", style="bold yellow")
        for notice in notices:
            console.print(f"  {notice}", highlight=False, soft_wrap=True)


@app.command("settle")
def settle_command(
    contracts_toml: Annotated[
        Path,
        typer.Argument(
            metavar="CONTRACTS.toml",
            help="The contracts (format: docs/contracts.md).",
            show_default=False,
        ),
    ],
    actuals_csv: Annotated[
        Path,
        typer.Argument(
            metavar="ACTUALS.csv",
            help="contract_id,line,measure,value rows (docs/contracts.md).",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="SETTLEMENT.csv",
            help="Also write each party's amount per component here.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Settle every contract component: each party's amount, printed and written as CSV."""
    errors: list[str] = []
    contracts: ContractSet | None = None
    actuals: Actuals | None = None
    try:
        contracts = load_contracts(contracts_toml)
    except ContractsError as exc:
        errors.extend(f"{exc.source}: {issue}" for issue in exc.issues)
    try:
        actuals = read_actuals(actuals_csv)
    except ActualsError as exc:
        errors.extend(f"{exc.source}: {issue}" for issue in exc.issues)
    if contracts is None or actuals is None:
        raise _fail(errors)
    try:
        settlement = settle(contracts, actuals)
    except SettlementError as exc:
        raise _fail(list(exc.issues)) from None
    if out is not None:
        try:
            _write_atomically(out, settlement_csv(settlement))
        except OSError as exc:
            raise _fail([f"{out}: cannot write: {exc}"]) from None
    _print(settlement, Console())
    if out is not None:
        typer.echo(f"Settlement written to {out}.")


# ------------------------------------------------------------------ the open-book ledger


def _actor() -> str:
    import getpass

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "system"
    return f"cli:{name}"[:64]


def _database_url() -> str:
    from wholesystem.config import ConfigError, get_settings

    try:
        return get_settings().resolved_database_url
    except ConfigError as exc:
        raise _fail([str(exc)]) from None


def _inputs(contracts_toml: Path | None, actuals_csv: Path | None) -> tuple[ContractSet, Actuals]:
    from wholesystem.finance.whatif import DEMO_ACTUALS, DEMO_CONTRACTS

    errors: list[str] = []
    contracts: ContractSet | None = None
    actuals: Actuals | None = None
    try:
        contracts = load_contracts(contracts_toml or DEMO_CONTRACTS)
    except ContractsError as exc:
        errors.extend(f"{exc.source}: {issue}" for issue in exc.issues)
    try:
        actuals = read_actuals(actuals_csv or DEMO_ACTUALS)
    except ActualsError as exc:
        errors.extend(f"{exc.source}: {issue}" for issue in exc.issues)
    if contracts is None or actuals is None:
        raise _fail(errors)
    return contracts, actuals


@app.command("load-returns")
def load_returns_command(
    returns_csv: Annotated[
        Path,
        typer.Argument(
            metavar="FINANCE.csv",
            help="org_code,month,category,plan,actual,forecast rows (docs/finance.md).",
            show_default=False,
        ),
    ],
    backfill: Annotated[
        bool,
        typer.Option(
            "--backfill/--received-now",
            help="Count each new version as received on its due date (history) or today.",
        ),
    ] = True,
) -> None:
    """Load a finance returns file as versioned submissions (all or nothing)."""
    from wholesystem.finance.ledger import SubmissionError
    from wholesystem.finance.services import load_returns_file
    from wholesystem.store.db import open_database, upgrade

    url = _database_url()
    upgrade(url)
    try:
        with open_database(url) as factory:
            result = load_returns_file(factory, returns_csv, actor=_actor(), backfill=backfill)
    except SubmissionError as exc:
        raise _fail([f"{returns_csv.name}: {error}" for error in exc.errors]) from None
    except OSError as exc:
        raise _fail([f"{returns_csv}: cannot read: {exc}"]) from None
    typer.echo(f"{returns_csv.name}: {result.report()}.")


def _month_option(value: str | None) -> date | None:
    from wholesystem.finance.ledger import parse_month

    if value is None:
        return None
    month = parse_month(value)
    if month is None:
        raise _fail([f"--as-at: {value!r} is not a month (YYYY-MM)"])
    return month


@app.command("position")
def position_command(
    as_at: Annotated[
        str | None,
        typer.Option("--as-at", metavar="YYYY-MM", help="The month (default: the latest)."),
    ] = None,
) -> None:
    """Print each partner's and the system's position and the variance bridge."""
    from wholesystem.finance.position import variance_bridge
    from wholesystem.finance.services import (
        control_totals,
        current_returns,
        finance_partners,
        load_position,
    )
    from wholesystem.store.db import open_database, session_scope

    month = _month_option(as_at)
    with open_database(_database_url()) as factory, session_scope(factory) as session:
        position = load_position(session, as_at=month)
        if position is None:
            raise _fail(["no finance returns have been loaded"])
        partners = [p.code for p in finance_partners(session)]
        bridge = variance_bridge(
            current_returns(session),
            position.as_at,
            partners,
            control_totals(session, position.financial_year),
        )
    from wholesystem.finance.ledger import fy_label, month_label

    console = Console()
    table = Table(
        title=f"Position {fy_label(position.financial_year)} as at {month_label(position.as_at)}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in ("Partner", "YTD plan", "YTD actual", "Forecast", "Control total", "Variance"):
        table.add_column(column, justify="left" if column == "Partner" else "right")
    for p in position.partners:
        table.add_row(
            p.org_code,
            format_money(p.ytd_plan),
            format_money(p.ytd_actual),
            format_money(p.forecast),
            format_money(p.control_total),
            format_money(p.variance),
        )
    table.add_row(
        "System",
        format_money(position.ytd_plan),
        format_money(position.ytd_actual),
        format_money(position.forecast),
        format_money(position.control_total),
        format_money(position.variance),
        style="bold",
    )
    console.print(table)
    console.print(
        f"Variance moved {format_money(bridge.change)} since "
        f"{month_label(bridge.previous) if bridge.previous else 'the start of the year'}:",
        highlight=False,
    )
    for item in bridge.items[:10]:
        console.print(
            f"  {item.org_code} {item.account}: {format_money(item.change)}", highlight=False
        )


@app.command("what-if")
def what_if_command(
    contracts_toml: Annotated[
        Path | None,
        typer.Option("--contracts", metavar="CONTRACTS.toml", help="Default: the demo file."),
    ] = None,
    actuals_csv: Annotated[
        Path | None,
        typer.Option("--actuals", metavar="ACTUALS.csv", help="Default: the demo file."),
    ] = None,
    activity: Annotated[str, typer.Option(help="Change in activity, %.")] = "0",
    price: Annotated[str, typer.Option(help="Change in unit prices, %.")] = "0",
    savings: Annotated[
        str | None, typer.Option(help="Share of planned efficiency savings delivered, %.")
    ] = None,
    term: Annotated[
        list[str] | None,
        typer.Option(help="A contract term: CONTRACT:COMPONENT:field=value (repeatable)."),
    ] = None,
) -> None:
    """Each partner's settlement and forecast outturn before and after a change (no writes)."""
    from decimal import Decimal, InvalidOperation

    from wholesystem.finance.position import SystemPosition
    from wholesystem.finance.services import load_position
    from wholesystem.finance.whatif import WhatIfError, run_what_if, scenario_from
    from wholesystem.store.db import open_database, session_scope

    def number(name: str, text: str) -> Decimal:
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise _fail([f"--{name}: {text!r} is not a number"]) from None
        if not value.is_finite():
            raise _fail([f"--{name}: {text!r} is not a number"])
        return value

    contracts, actuals = _inputs(contracts_toml, actuals_csv)
    with open_database(_database_url()) as factory, session_scope(factory) as session:
        position = load_position(session)
    if position is None:
        from wholesystem.finance.ledger import financial_year
        from wholesystem.store.db import utcnow

        today = utcnow().date().replace(day=1)
        position = SystemPosition(financial_year(today), today, ())
    try:
        scenario = scenario_from(
            number("activity", activity),
            number("price", price),
            None if savings is None else number("savings", savings),
            term or (),
        )
        result = run_what_if(position, contracts, actuals, scenario)
    except (WhatIfError, SettlementError) as exc:
        raise _fail([str(exc)]) from None
    table = Table(title="What-if", title_justify="left", box=box.SIMPLE_HEAD)
    for column in (
        "Partner",
        "Settlement now",
        "Settlement after",
        "Savings effect",
        "Forecast now",
        "Forecast after",
    ):
        table.add_column(column, justify="left" if column == "Partner" else "right")
    for row in (*result.rows, result.system):
        table.add_row(
            "System" if row is result.system else row.org_code,
            format_money(row.settlement_before),
            format_money(row.settlement_after),
            format_money(row.savings_effect),
            format_money(row.forecast_before),
            format_money(row.forecast_after),
            style="bold" if row is result.system else None,
        )
    Console().print(table)


@app.command("propose-settlement")
def propose_settlement_command(
    contracts_toml: Annotated[Path, typer.Argument(metavar="CONTRACTS.toml", show_default=False)],
    actuals_csv: Annotated[Path, typer.Argument(metavar="ACTUALS.csv", show_default=False)],
    year: Annotated[int, typer.Option(help="Financial year it settles (2024 is 2024/25).")],
    title: Annotated[str, typer.Option(help="A title for the transfer set.")] = (
        "Risk-share settlement"
    ),
    pool_host: Annotated[
        str | None,
        typer.Option("--pool-host", help="The organisation that holds pooled budgets."),
    ] = None,
) -> None:
    """Propose a settlement's net amounts as a transfer set, awaiting approval."""
    from wholesystem.finance.services import propose_settlement
    from wholesystem.finance.transfers import TransferError
    from wholesystem.store.db import open_database, session_scope, upgrade

    contracts, actuals = _inputs(contracts_toml, actuals_csv)
    url = _database_url()
    upgrade(url)
    try:
        with open_database(url) as factory, session_scope(factory) as session:
            set_id, left_out = propose_settlement(
                session,
                contracts,
                actuals,
                actor=_actor(),
                year=year,
                title=title,
                pool_host=pool_host,
            )
    except SettlementError as exc:
        raise _fail(list(exc.issues)) from None
    except TransferError as exc:
        raise _fail(list(exc.issues)) from None
    for note in left_out:
        typer.echo(f"left out: {note}")
    typer.echo(f"Transfer set {set_id} proposed; it needs approval by someone else.")


@app.command("load-contracts")
def load_contracts_command(
    contracts_toml: Annotated[
        Path,
        typer.Argument(
            metavar="CONTRACTS.toml",
            help="The contracts (format: docs/contracts.md).",
            show_default=False,
        ),
    ],
    note: Annotated[str, typer.Option(help="Why this version is loaded.")] = "",
) -> None:
    """Store a contracts file as the current version (unchanged file: nothing happens)."""
    from wholesystem.finance.store import load_contracts_file
    from wholesystem.store.db import open_database, upgrade

    url = _database_url()
    upgrade(url)
    try:
        with open_database(url) as factory:
            result = load_contracts_file(factory, contracts_toml, actor=_actor(), note=note)
    except ContractsError as exc:
        raise _fail([f"{exc.source}: {issue}" for issue in exc.issues]) from None
    typer.echo(f"{contracts_toml.name}: {result.report()}.")


@app.command("run-settlement")
def run_settlement_command(
    actuals_csv: Annotated[
        Path,
        typer.Argument(
            metavar="ACTUALS.csv",
            help="contract_id,line,measure,value rows (docs/contracts.md).",
            show_default=False,
        ),
    ],
    period_from: Annotated[
        str, typer.Option("--from", metavar="YYYY-MM", help="First month settled.")
    ],
    period_to: Annotated[str, typer.Option("--to", metavar="YYYY-MM", help="Last month settled.")],
    propose: Annotated[
        bool, typer.Option(help="Also propose the net amounts as a transfer set.")
    ] = False,
    pool_host: Annotated[
        str | None,
        typer.Option("--pool-host", help="The organisation that holds pooled budgets."),
    ] = None,
) -> None:
    """Settle the loaded contracts on ACTUALS.csv for a period and store the settlement."""
    from wholesystem.finance.ledger import parse_month
    from wholesystem.finance.store import propose_stored_settlement, run_settlement
    from wholesystem.finance.transfers import TransferError
    from wholesystem.store.db import open_database, session_scope, upgrade

    start, end = parse_month(period_from), parse_month(period_to)
    bad = [
        f"--{name}: {text!r} is not a month (YYYY-MM)"
        for name, text, month in (("from", period_from, start), ("to", period_to, end))
        if month is None
    ]
    if bad or start is None or end is None:
        raise _fail(bad)
    try:
        text = actuals_csv.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail([f"{actuals_csv}: cannot read: {exc}"]) from None
    url = _database_url()
    upgrade(url)
    try:
        with open_database(url) as factory, session_scope(factory) as session:
            run = run_settlement(
                session,
                actuals_text=text,
                actuals_name=actuals_csv.name,
                period_from=start,
                period_to=end,
                actor=_actor(),
            )
            proposed: tuple[int, tuple[str, ...]] | None = None
            if propose:
                proposed = propose_stored_settlement(
                    session, run.settlement_id, actor=_actor(), pool_host=pool_host
                )
    except ActualsError as exc:
        raise _fail([f"{exc.source}: {issue}" for issue in exc.issues]) from None
    except (SettlementError, TransferError) as exc:
        raise _fail(list(exc.issues)) from None
    state = "stored" if run.created else "already stored (same contracts, values and period)"
    typer.echo(f"Settlement {run.settlement_id} {state}.")
    if proposed is not None:
        for note in proposed[1]:
            typer.echo(f"left out: {note}")
        typer.echo(f"Transfer set {proposed[0]} proposed; it needs approval by someone else.")


def register(parent: typer.Typer) -> None:
    """Add the `finance` commands to the top-level CLI."""
    parent.add_typer(app, name="finance")
