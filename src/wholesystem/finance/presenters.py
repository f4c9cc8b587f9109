"""Finance page rows and CSV rows: positions, bridges, returns, transfers and what-ifs.

Pages show money as ``£1,234.50``; CSV files carry plain pounds and pence (``1234.50``) so
a spreadsheet reads them as numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from wholesystem.finance.ledger import ACCOUNTS, CHART_OF_ACCOUNTS, LineAmounts, month_label
from wholesystem.finance.money import format_money
from wholesystem.finance.position import (
    CONTROL_TOTAL_LINE,
    LinePosition,
    OrgPosition,
    SystemPosition,
    VarianceBridge,
)
from wholesystem.finance.services import ReturnStatus, SubmissionView, TransferSetView
from wholesystem.finance.whatif import WhatIfResult, WhatIfRow
from wholesystem.times import uk_datetime

__all__ = [
    "BRIDGE_CSV_COLUMNS",
    "LINE_CSV_COLUMNS",
    "POSITION_CSV_COLUMNS",
    "PUBLIC_CSV_COLUMNS",
    "STATUS_CSV_COLUMNS",
    "TRANSFER_CSV_COLUMNS",
    "VERSION_CSV_COLUMNS",
    "WHATIF_CSV_COLUMNS",
    "account_name",
    "bridge_csv_rows",
    "bridge_rows",
    "line_csv_rows",
    "line_rows",
    "money",
    "org_summary",
    "position_csv_rows",
    "position_rows",
    "public_csv_rows",
    "status_csv_rows",
    "status_grid",
    "submission_line_rows",
    "system_summary",
    "transfer_csv_rows",
    "version_csv_rows",
    "version_rows",
    "whatif_csv_rows",
    "whatif_rows",
]

STATUS_LABELS = {
    "on_time": ("On time", "nhsuk-tag--green"),
    "late": ("Late", "nhsuk-tag--orange"),
    "missing": ("Missing", "nhsuk-tag--red"),
    "not_yet_due": ("Not yet due", "nhsuk-tag--grey"),
}
POSITION_CSV_COLUMNS = (
    "financial_year",
    "as_at",
    "org_code",
    "months_reported",
    "ytd_plan",
    "ytd_actual",
    "ytd_variance",
    "annual_plan",
    "forecast_outturn",
    "control_total",
    "control_total_basis",
    "variance",
)
LINE_CSV_COLUMNS = (
    "org_code",
    "account",
    "ytd_plan",
    "ytd_actual",
    "ytd_variance",
    "annual_plan",
    "forecast_outturn",
    "forecast_variance",
)
BRIDGE_CSV_COLUMNS = ("from_month", "to_month", "org_code", "line", "before", "after", "effect")
STATUS_CSV_COLUMNS = ("org_code", "month", "due", "status", "received_on", "versions")
VERSION_CSV_COLUMNS = (
    "submission_id",
    "org_code",
    "month",
    "version",
    "current",
    "submitted_at",
    "received_on",
    "submitted_by",
    "source",
    "file_name",
)
TRANSFER_CSV_COLUMNS = (
    "set_id",
    "kind",
    "title",
    "financial_year",
    "status",
    "proposed_by",
    "org_code",
    "amount",
    "memo",
)
WHATIF_CSV_COLUMNS = (
    "org_code",
    "settlement_before",
    "settlement_after",
    "savings_effect",
    "forecast_before",
    "forecast_after",
    "control_total",
    "variance_before",
    "variance_after",
)
PUBLIC_CSV_COLUMNS = ("financial_year", "as_at", "measure", "amount")


def money(value: Decimal) -> str:
    """``£1,234.50``."""
    return format_money(value)


def _plain(value: Decimal) -> str:
    return f"{value:.2f}"


def account_name(code: str) -> str:
    if code == CONTROL_TOTAL_LINE:
        return "Control total"
    account = ACCOUNTS.get(code)
    return account.name if account else code


def position_rows(position: SystemPosition, names: Mapping[str, str]) -> list[dict[str, Any]]:
    """One row per partner for the partners table."""
    return [
        {
            "org_code": p.org_code,
            "name": names.get(p.org_code, p.org_code),
            "href": f"/finance/partners/{p.org_code}",
            "as_at": month_label(p.as_at) if p.as_at else "No returns",
            "ytd_plan": money(p.ytd_plan),
            "ytd_actual": money(p.ytd_actual),
            "ytd_variance": money(p.ytd_variance),
            "plan": money(p.plan),
            "forecast": money(p.forecast),
            "control_total": money(p.control_total),
            "control_basis": "set" if p.control_total_set else "plan",
            "variance": money(p.variance),
            "adverse": p.variance < 0,
        }
        for p in position.partners
    ]


def position_csv_rows(position: SystemPosition) -> list[list[object]]:
    rows: list[list[object]] = []
    for p in position.partners:
        rows.append(
            [
                position.financial_year,
                month_label(p.as_at) if p.as_at else "",
                p.org_code,
                p.months_reported,
                _plain(p.ytd_plan),
                _plain(p.ytd_actual),
                _plain(p.ytd_variance),
                _plain(p.plan),
                _plain(p.forecast),
                _plain(p.control_total),
                "set" if p.control_total_set else "plan",
                _plain(p.variance),
            ]
        )
    rows.append(
        [
            position.financial_year,
            month_label(position.as_at),
            "system",
            "",
            _plain(position.ytd_plan),
            _plain(position.ytd_actual),
            _plain(position.ytd_variance),
            _plain(position.plan),
            _plain(position.forecast),
            _plain(position.control_total),
            "sum",
            _plain(position.variance),
        ]
    )
    return rows


def line_rows(lines: Sequence[LinePosition]) -> list[dict[str, Any]]:
    """One row per account line (amounts as reported)."""
    return [
        {
            "account": line.account,
            "name": account_name(line.account),
            "section": ACCOUNTS[line.account].section.value.replace("_", "-"),
            "ytd_plan": money(line.ytd_plan),
            "ytd_actual": money(line.ytd_actual),
            "ytd_variance": money(line.ytd_variance),
            "plan": money(line.annual_plan),
            "forecast": money(line.forecast_outturn),
            "forecast_variance": money(line.forecast_variance),
        }
        for line in lines
    ]


def line_csv_rows(org_code: str, lines: Sequence[LinePosition]) -> list[list[object]]:
    return [
        [
            org_code,
            line.account,
            _plain(line.ytd_plan),
            _plain(line.ytd_actual),
            _plain(line.ytd_variance),
            _plain(line.annual_plan),
            _plain(line.forecast_outturn),
            _plain(line.forecast_variance),
        ]
        for line in lines
    ]


def bridge_rows(bridge: VarianceBridge, limit: int = 15) -> list[dict[str, Any]]:
    """The largest items of the bridge."""
    return [
        {
            "org_code": item.org_code,
            "href": f"/finance/partners/{item.org_code}",
            "line": account_name(item.account),
            "before": money(item.before),
            "after": money(item.after),
            "effect": money(item.change),
            "adverse": item.change < 0,
        }
        for item in bridge.items[:limit]
    ]


def bridge_csv_rows(bridge: VarianceBridge) -> list[list[object]]:
    start = month_label(bridge.previous) if bridge.previous else ""
    return [
        [
            start,
            month_label(bridge.current),
            item.org_code,
            item.account,
            _plain(item.before),
            _plain(item.after),
            _plain(item.change),
        ]
        for item in bridge.items
    ]


def status_grid(
    statuses: Sequence[ReturnStatus], names: Mapping[str, str]
) -> tuple[list[str], list[dict[str, Any]]]:
    """(month headings, one row per partner with a tag per month)."""
    months: list[date] = sorted({s.period for s in statuses})
    by_org: dict[str, dict[date, ReturnStatus]] = {}
    for s in statuses:
        by_org.setdefault(s.org_code, {})[s.period] = s
    rows = []
    for org, cells in by_org.items():
        tags = []
        for month in months:
            status = cells.get(month)
            if status is None:
                tags.append({"text": "", "classes": ""})
                continue
            text, classes = STATUS_LABELS[status.status]
            tags.append({"text": text, "classes": classes})
        rows.append({"org_code": org, "name": names.get(org, org), "cells": tags})
    return [month_label(m) for m in months], rows


def status_csv_rows(statuses: Sequence[ReturnStatus]) -> list[list[object]]:
    return [
        [
            s.org_code,
            month_label(s.period),
            s.due.isoformat(),
            s.status,
            s.received_on.isoformat() if s.received_on else "",
            s.versions,
        ]
        for s in statuses
    ]


def version_rows(versions: Sequence[SubmissionView]) -> list[dict[str, Any]]:
    return [
        {
            "id": v.id,
            "month": month_label(v.period),
            "version": v.version,
            "current": v.current,
            "submitted_at": uk_datetime(v.submitted_at, "%d %b %Y %H:%M"),
            "received_on": v.received_on.isoformat(),
            "submitted_by": v.submitted_by,
            "source": v.source,
            "file_name": v.file_name,
            "href": f"/finance/submissions/{v.id}",
        }
        for v in versions
    ]


def version_csv_rows(versions: Sequence[SubmissionView]) -> list[list[object]]:
    return [
        [
            v.id,
            v.org_code,
            month_label(v.period),
            v.version,
            "true" if v.current else "false",
            v.submitted_at.isoformat(),
            v.received_on.isoformat(),
            v.submitted_by,
            v.source,
            v.file_name,
        ]
        for v in versions
    ]


def submission_line_rows(lines: Mapping[str, LineAmounts]) -> list[dict[str, str]]:
    return [
        {
            "account": account.code,
            "name": account.name,
            "plan": money(lines[account.code].plan),
            "actual": money(lines[account.code].actual),
            "forecast": money(lines[account.code].forecast),
        }
        for account in CHART_OF_ACCOUNTS
        if account.code in lines
    ]


def transfer_csv_rows(sets: Sequence[TransferSetView]) -> list[list[object]]:
    return [
        [
            s.id,
            s.kind.value,
            s.title,
            s.financial_year,
            s.status,
            s.proposed_by,
            leg.org_code,
            _plain(leg.amount),
            leg.memo,
        ]
        for s in sets
        for leg in s.legs
    ]


def _whatif_row(row: WhatIfRow, label: str) -> dict[str, Any]:
    return {
        "org_code": label,
        "settlement_before": money(row.settlement_before),
        "settlement_after": money(row.settlement_after),
        "settlement_change": money(row.settlement_change),
        "savings_effect": money(row.savings_effect),
        "forecast_before": money(row.forecast_before),
        "forecast_after": money(row.forecast_after),
        "variance_before": money(row.variance_before),
        "variance_after": money(row.variance_after),
        "adverse": row.variance_after < row.variance_before,
    }


def whatif_rows(result: WhatIfResult) -> list[dict[str, Any]]:
    """Every partner's row then the system's."""
    return [_whatif_row(r, r.org_code) for r in result.rows] + [
        _whatif_row(result.system, "System")
    ]


def whatif_csv_rows(result: WhatIfResult) -> list[list[object]]:
    return [
        [
            r.org_code,
            _plain(r.settlement_before),
            _plain(r.settlement_after),
            _plain(r.savings_effect),
            _plain(r.forecast_before),
            _plain(r.forecast_after),
            _plain(r.control_total),
            _plain(r.variance_before),
            _plain(r.variance_after),
        ]
        for r in (*result.rows, result.system)
    ]


def public_csv_rows(position: SystemPosition) -> list[list[object]]:
    """The system summary only: no partner's figures."""
    as_at = month_label(position.as_at)
    return [
        [position.financial_year, as_at, measure, _plain(value)]
        for measure, value in (
            ("ytd_plan_surplus", position.ytd_plan),
            ("ytd_actual_surplus", position.ytd_actual),
            ("ytd_variance", position.ytd_variance),
            ("forecast_outturn_surplus", position.forecast),
            ("system_control_total", position.control_total),
            ("variance_to_control_total", position.variance),
        )
    ]


def org_summary(p: OrgPosition) -> dict[str, str]:
    return {
        "ytd_plan": money(p.ytd_plan),
        "ytd_actual": money(p.ytd_actual),
        "ytd_variance": money(p.ytd_variance),
        "plan": money(p.plan),
        "forecast": money(p.forecast),
        "control_total": money(p.control_total),
        "control_basis": "set for the year" if p.control_total_set else "from the plan",
        "variance": money(p.variance),
    }


def system_summary(position: SystemPosition) -> dict[str, str]:
    """The system's totals (the public page shows only these)."""
    return {
        "ytd_plan": money(position.ytd_plan),
        "ytd_actual": money(position.ytd_actual),
        "ytd_variance": money(position.ytd_variance),
        "plan": money(position.plan),
        "forecast": money(position.forecast),
        "control_total": money(position.control_total),
        "variance": money(position.variance),
    }
