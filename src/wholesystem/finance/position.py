"""The system financial position: each partner against its control total, and the system's.

Pure functions over plain data (the current version of each monthly return). Definitions
(docs/finance.md):

- the **surplus** is income less pay and non-pay (efficiency savings are a memorandum line
  already inside pay and non-pay; capital is outside income and expenditure);
- **year to date** (YTD) sums the months of the financial year (April to March) up to and
  including the month the position is taken at;
- a partner's **annual plan** is its YTD plan plus its latest month's plan for each month
  left in the year, and its **forecast outturn** is its YTD actual plus its latest month's
  forecast for each month left (a run-rate forecast: the synthetic returns' forecast is
  the plan scaled by the year-to-date variance);
- a partner's **control total** is the surplus it has agreed to deliver: the amount set
  for the year when one is held, else its annual plan surplus; the system's control total is
  the sum of the partners';
- the **variance** is forecast outturn less control total (positive is better than agreed);
- the **variance bridge** explains the change in the system's variance since the month
  before, one item per partner and line (and per changed control total), summing exactly to
  the change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from wholesystem.finance.ledger import (
    ACCOUNTS,
    CHART_OF_ACCOUNTS,
    LineAmounts,
    add_months,
    financial_year,
)

__all__ = [
    "BridgeItem",
    "LinePosition",
    "MonthReturn",
    "OrgPosition",
    "SystemPosition",
    "VarianceBridge",
    "months_elapsed",
    "org_position",
    "system_position",
    "variance_bridge",
]

ZERO = Decimal("0.00")
CONTROL_TOTAL_LINE = "control_total"


@dataclass(frozen=True, slots=True)
class MonthReturn:
    """The current version of one partner's return for one month."""

    org_code: str
    period: date
    lines: Mapping[str, LineAmounts]


@dataclass(frozen=True, slots=True)
class LinePosition:
    """One account line of a partner's position (amounts as reported: positive)."""

    account: str
    ytd_plan: Decimal
    ytd_actual: Decimal
    annual_plan: Decimal
    forecast_outturn: Decimal

    @property
    def ytd_variance(self) -> Decimal:
        """Actual less plan, year to date, in the line's own terms (not signed for surplus)."""
        return self.ytd_actual - self.ytd_plan

    @property
    def forecast_variance(self) -> Decimal:
        """Forecast outturn less annual plan, in the line's own terms."""
        return self.forecast_outturn - self.annual_plan


@dataclass(frozen=True, slots=True)
class OrgPosition:
    """A partner's position for a financial year as at a month."""

    org_code: str
    financial_year: int
    as_at: date | None  # the partner's latest month in the year, None when it has none
    months_reported: int
    lines: tuple[LinePosition, ...]
    control_total: Decimal
    control_total_set: bool  # True when held as data, False when taken from the plan

    def _surplus(self, field: str) -> Decimal:
        return sum(
            (
                ACCOUNTS[line.account].ie_sign * getattr(line, field)
                for line in self.lines
                if line.account in ACCOUNTS
            ),
            ZERO,
        )

    @property
    def ytd_plan(self) -> Decimal:
        return self._surplus("ytd_plan")

    @property
    def ytd_actual(self) -> Decimal:
        return self._surplus("ytd_actual")

    @property
    def ytd_variance(self) -> Decimal:
        return self.ytd_actual - self.ytd_plan

    @property
    def plan(self) -> Decimal:
        return self._surplus("annual_plan")

    @property
    def forecast(self) -> Decimal:
        return self._surplus("forecast_outturn")

    @property
    def variance(self) -> Decimal:
        """Forecast outturn less control total: positive is better than agreed."""
        return self.forecast - self.control_total

    def line(self, account: str) -> LinePosition | None:
        return next((line for line in self.lines if line.account == account), None)


@dataclass(frozen=True, slots=True)
class SystemPosition:
    """Every partner's position and the system's (their sum) for a year as at a month."""

    financial_year: int
    as_at: date
    partners: tuple[OrgPosition, ...]

    def _total(self, field: str) -> Decimal:
        return sum((getattr(p, field) for p in self.partners), ZERO)

    @property
    def ytd_plan(self) -> Decimal:
        return self._total("ytd_plan")

    @property
    def ytd_actual(self) -> Decimal:
        return self._total("ytd_actual")

    @property
    def ytd_variance(self) -> Decimal:
        return self._total("ytd_variance")

    @property
    def plan(self) -> Decimal:
        return self._total("plan")

    @property
    def forecast(self) -> Decimal:
        return self._total("forecast")

    @property
    def control_total(self) -> Decimal:
        """The system control total: the sum of the partners' control totals."""
        return self._total("control_total")

    @property
    def variance(self) -> Decimal:
        return self.forecast - self.control_total

    def partner(self, org_code: str) -> OrgPosition | None:
        return next((p for p in self.partners if p.org_code == org_code), None)

    def line_totals(self) -> tuple[LinePosition, ...]:
        """Each account line summed over the partners."""
        out = []
        for account in CHART_OF_ACCOUNTS:
            found = [p.line(account.code) for p in self.partners]
            lines = [line for line in found if line is not None]
            out.append(
                LinePosition(
                    account.code,
                    sum((x.ytd_plan for x in lines), ZERO),
                    sum((x.ytd_actual for x in lines), ZERO),
                    sum((x.annual_plan for x in lines), ZERO),
                    sum((x.forecast_outturn for x in lines), ZERO),
                )
            )
        return tuple(out)


def months_elapsed(period: date) -> int:
    """How many months of its financial year ``period`` completes (April 1 ... March 12)."""
    return (period.month - 4) % 12 + 1


def org_position(
    org_code: str,
    year: int,
    returns: Iterable[MonthReturn],
    as_at: date,
    control_total: Decimal | None = None,
) -> OrgPosition:
    """``org_code``'s position for financial ``year`` using its returns up to ``as_at``.

    ``control_total`` is the amount held for the year, or None to take the annual plan
    surplus. Returns of other organisations, years or later months are ignored.
    """
    own = sorted(
        (
            r
            for r in returns
            if r.org_code == org_code and financial_year(r.period) == year and r.period <= as_at
        ),
        key=lambda r: r.period,
    )
    lines: list[LinePosition] = []
    latest = own[-1] if own else None
    remaining = 12 - months_elapsed(latest.period) if latest else 0
    for account in CHART_OF_ACCOUNTS:
        ytd_plan = sum((r.lines[account.code].plan for r in own if account.code in r.lines), ZERO)
        ytd_actual = sum(
            (r.lines[account.code].actual for r in own if account.code in r.lines), ZERO
        )
        last = latest.lines.get(account.code) if latest else None
        plan_rate = last.plan if last else ZERO
        forecast_rate = last.forecast if last else ZERO
        lines.append(
            LinePosition(
                account.code,
                ytd_plan,
                ytd_actual,
                ytd_plan + remaining * plan_rate,
                ytd_actual + remaining * forecast_rate,
            )
        )
    position = OrgPosition(
        org_code,
        year,
        latest.period if latest else None,
        len(own),
        tuple(lines),
        ZERO,
        control_total is not None,
    )
    held = control_total if control_total is not None else position.plan
    return OrgPosition(
        org_code,
        year,
        position.as_at,
        position.months_reported,
        position.lines,
        held,
        control_total is not None,
    )


def system_position(
    returns: Sequence[MonthReturn],
    year: int,
    as_at: date,
    partners: Sequence[str],
    control_totals: Mapping[str, Decimal] | None = None,
) -> SystemPosition:
    """Each of ``partners`` (in order) and the system, for financial ``year`` as at ``as_at``.

    ``control_totals`` holds the amounts set for the year by organisation; a partner without
    one is held to its plan.
    """
    held = control_totals or {}
    return SystemPosition(
        year,
        as_at,
        tuple(org_position(org, year, returns, as_at, held.get(org)) for org in partners),
    )


@dataclass(frozen=True, slots=True)
class BridgeItem:
    """One partner's line's contribution to the change in the system's variance."""

    org_code: str
    account: str  # an account code, or "control_total"
    before: Decimal  # the line's forecast outturn (or the control total) last month
    after: Decimal
    change: Decimal  # the effect on the variance: positive improves it


@dataclass(frozen=True, slots=True)
class VarianceBridge:
    """From last month's system variance to this month's, item by item."""

    financial_year: int
    previous: date | None  # None when this is the first month of the year
    current: date
    variance_before: Decimal
    variance_after: Decimal
    items: tuple[BridgeItem, ...]  # non-zero items, largest effect first

    @property
    def change(self) -> Decimal:
        return self.variance_after - self.variance_before

    def by_partner(self) -> tuple[tuple[str, Decimal], ...]:
        """Each partner's total effect, largest first."""
        totals: dict[str, Decimal] = {}
        for item in self.items:
            totals[item.org_code] = totals.get(item.org_code, ZERO) + item.change
        return tuple(sorted(totals.items(), key=lambda kv: (-abs(kv[1]), kv[0])))


def variance_bridge(
    returns: Sequence[MonthReturn],
    as_at: date,
    partners: Sequence[str],
    control_totals: Mapping[str, Decimal] | None = None,
) -> VarianceBridge:
    """Which partner and which line moved the system's variance since the month before.

    Both positions use the current version of every return. In the first month of a
    financial year there is no month before in the year: the bridge runs from nothing (a
    variance of zero) and every line is new.
    """
    year = financial_year(as_at)
    after = system_position(returns, year, as_at, partners, control_totals)
    previous = add_months(as_at, -1)
    has_previous = financial_year(previous) == year
    before = (
        system_position(returns, year, previous, partners, control_totals) if has_previous else None
    )
    items: list[BridgeItem] = []
    for now in after.partners:
        then = before.partner(now.org_code) if before else None
        for account in CHART_OF_ACCOUNTS:
            if account.ie_sign == 0:
                continue
            line_now = now.line(account.code)
            line_then = then.line(account.code) if then else None
            a = line_now.forecast_outturn if line_now else ZERO
            b = line_then.forecast_outturn if line_then else ZERO
            if a != b:
                items.append(
                    BridgeItem(now.org_code, account.code, b, a, account.ie_sign * (a - b))
                )
        ct_before = then.control_total if then else ZERO
        if now.control_total != ct_before:
            items.append(
                BridgeItem(
                    now.org_code,
                    CONTROL_TOTAL_LINE,
                    ct_before,
                    now.control_total,
                    -(now.control_total - ct_before),
                )
            )
    items.sort(key=lambda i: (-abs(i.change), i.org_code, i.account))
    return VarianceBridge(
        year,
        previous if has_previous else None,
        as_at,
        before.variance if before else ZERO,
        after.variance,
        tuple(items),
    )
