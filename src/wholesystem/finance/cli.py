"""`wholesystem finance settle CONTRACTS.toml ACTUALS.csv --out SETTLEMENT.csv`.

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
    help="Open-book finance: contracts and risk-share settlement.",
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


def register(parent: typer.Typer) -> None:
    """Add the `finance` commands to the top-level CLI."""
    parent.add_typer(app, name="finance")
