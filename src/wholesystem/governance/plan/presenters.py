"""Turn plan and risk views into what templates and CSV files show."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape

from wholesystem.governance.plan.scoring import (
    CONSEQUENCE_LABELS,
    LIKELIHOOD_LABELS,
    Band,
    RiskScore,
    Trend,
)
from wholesystem.governance.plan.services import ObjectiveView, PlanView, RiskView
from wholesystem.governance.plan.trajectory import Status

__all__ = [
    "OBJECTIVE_CSV_COLUMNS",
    "PUBLIC_RISK_CSV_COLUMNS",
    "RISK_ACTION_CSV_COLUMNS",
    "RISK_CSV_COLUMNS",
    "RISK_HISTORY_CSV_COLUMNS",
    "TRAJECTORY_CSV_COLUMNS",
    "band_tag",
    "heat_map_rows",
    "objective_csv_rows",
    "objective_table_rows",
    "risk_action_csv_rows",
    "risk_csv_rows",
    "risk_history_csv_rows",
    "risk_table_rows",
    "score_text",
    "status_tag",
    "trajectory_csv_rows",
    "trajectory_rows",
]

OBJECTIVE_CSV_COLUMNS = (
    "plan_version",
    "priority",
    "objective_ref",
    "objective",
    "level",
    "place",
    "owner_organisation",
    "owner",
    "metric_id",
    "metric",
    "latest_period_end",
    "latest_value",
    "target_due",
    "status",
)
TRAJECTORY_CSV_COLUMNS = ("objective_ref", "metric_id", "metric", "due_on", "target")
RISK_CSV_COLUMNS = (
    "reference",
    "title",
    "status",
    "owner_organisation",
    "owner",
    "likelihood",
    "consequence",
    "score",
    "band",
    "target_score",
    "target_band",
    "trend",
    "last_scored",
    "objectives",
    "open_actions",
)
RISK_HISTORY_CSV_COLUMNS = (
    "reference",
    "scored_on",
    "likelihood",
    "consequence",
    "score",
    "band",
    "rationale",
    "recorded_by",
)
RISK_ACTION_CSV_COLUMNS = ("reference", "action", "owner", "due_on", "done_on")
PUBLIC_RISK_CSV_COLUMNS = (
    "reference",
    "title",
    "owner_organisation",
    "score",
    "band",
    "target_score",
    "trend",
    "last_scored",
)

_BAND_COLOUR = {
    Band.low: "green",
    Band.moderate: "yellow",
    Band.high: "orange",
    Band.extreme: "red",
}
_STATUS_COLOUR = {Status.on_track: "green", Status.off_track: "red", Status.no_data: "grey"}


def _day(value: date | None) -> str:
    return value.strftime("%-d %b %Y") if value else ""


def _num(value: Decimal | None) -> str:
    return "" if value is None else f"{value.normalize():f}"


def band_tag(s: RiskScore) -> Markup:
    """The score and its band in words (never colour alone)."""
    return Markup('<strong class="nhsuk-tag nhsuk-tag--{}">{} {}</strong>').format(
        _BAND_COLOUR[s.band], s.value, s.band.label
    )


def status_tag(status: Status) -> Markup:
    return Markup('<strong class="nhsuk-tag nhsuk-tag--{}">{}</strong>').format(
        _STATUS_COLOUR[status], status.label
    )


def score_text(s: RiskScore) -> str:
    return (
        f"{s.value} ({s.band.label}): likelihood {s.likelihood} "
        f"{LIKELIHOOD_LABELS[s.likelihood].lower()}, consequence {s.consequence} "
        f"{CONSEQUENCE_LABELS[s.consequence].lower()}"
    )


def _link(href: str, text: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(escape(href), escape(text))


def _where(o: ObjectiveView) -> str:
    return f"Place: {o.place.name}" if o.place else "System"


def objective_table_rows(
    objectives: Sequence[ObjectiveView], base: str | None
) -> list[list[dict[str, Any]]]:
    """One row per objective; ``base`` links the reference to its page (None: no link)."""
    rows = []
    for o in objectives:
        ref = o.objective.ref
        statuses = [
            f"{m.metric.name}: {m.assessment.status.label.lower()}"
            for m in o.metrics
            if m.assessment is not None
        ]
        rows.append(
            [
                {"html": _link(f"{base}/{o.objective.id}", ref)} if base else {"text": ref},
                {"text": o.objective.title},
                {"text": _where(o)},
                {"text": f"{o.owner.name}, {o.owner_org.name}"},
                {"text": "; ".join(statuses) or ", ".join(m.metric.name for m in o.metrics)},
            ]
        )
    return rows


def objective_csv_rows(view: PlanView) -> list[list[object]]:
    rows: list[list[object]] = []
    for p in view.priorities:
        for o in p.objectives:
            for m in o.metrics:
                a = m.assessment
                rows.append(
                    [
                        view.version.number,
                        p.priority.title,
                        o.objective.ref,
                        o.objective.title,
                        o.objective.level,
                        o.objective.place_code or "",
                        o.objective.owner_org_code,
                        o.owner.name,
                        m.metric.id,
                        m.metric.name,
                        a.period.isoformat() if a and a.period else "",
                        _num(a.value) if a else "",
                        _num(a.due_target) if a else "",
                        a.status.value if a else "",
                    ]
                )
    return rows


def trajectory_rows(o: ObjectiveView) -> list[dict[str, Any]]:
    """Per metric: the latest value against the target due, and the trajectory table."""
    out = []
    for m in o.metrics:
        a = m.assessment
        out.append(
            {
                "metric": m.metric,
                "status": status_tag(a.status) if a else None,
                "latest": (
                    f"{_num(a.value)} ({m.metric.unit.value}) for the period to {_day(a.period)}"
                    if a and a.value is not None
                    else "No value in the current published snapshot"
                ),
                "due": _num(a.due_target) if a and a.due_target is not None else "",
                "better": "higher" if m.metric.improvement.value == "up" else "lower",
                "rows": [
                    [
                        {"text": _day(ms.due_on)},
                        {"text": _num(ms.target), "format": "numeric"},
                    ]
                    for ms in m.milestones
                ],
            }
        )
    return out


def trajectory_csv_rows(o: ObjectiveView) -> list[list[object]]:
    return [
        [o.objective.ref, m.metric.id, m.metric.name, ms.due_on.isoformat(), _num(ms.target)]
        for m in o.metrics
        for ms in m.milestones
    ]


def _trend_text(t: Trend) -> str:
    return t.label


def risk_table_rows(views: Sequence[RiskView], base: str, *, public: bool) -> list[list[Any]]:
    rows = []
    for v in views:
        row: list[dict[str, Any]] = [
            {"html": _link(f"{base}/{v.risk.id}", v.risk.reference)}
            if not public
            else {"text": v.risk.reference},
            {"text": v.risk.title},
            {"text": v.owner_org.name},
        ]
        if not public:
            row.append({"text": v.owner.name})
        row += [
            {"html": band_tag(v.current)},
            {"html": band_tag(v.target)},
            {"text": _trend_text(v.trend)},
        ]
        if not public:
            row.append({"text": ", ".join(v.objective_refs) or "None"})
        rows.append(row)
    return rows


def risk_csv_rows(views: Sequence[RiskView], *, public: bool) -> list[list[object]]:
    if public:
        return [
            [
                v.risk.reference,
                v.risk.title,
                v.risk.owner_org_code,
                v.current.value,
                v.current.band.value,
                v.target.value,
                v.trend.value,
                v.scores[-1].scored_on.isoformat(),
            ]
            for v in views
        ]
    return [
        [
            v.risk.reference,
            v.risk.title,
            v.risk.status,
            v.risk.owner_org_code,
            v.owner.name,
            v.current.likelihood,
            v.current.consequence,
            v.current.value,
            v.current.band.value,
            v.target.value,
            v.target.band.value,
            v.trend.value,
            v.scores[-1].scored_on.isoformat(),
            " ".join(v.objective_refs),
            sum(1 for a, _ in v.actions if a.done_on is None),
        ]
        for v in views
    ]


def risk_history_csv_rows(v: RiskView) -> list[list[object]]:
    """Every score of the risk, oldest first (for the CSV and the JSON alike)."""
    return [
        [
            v.risk.reference,
            s.scored_on,
            s.likelihood,
            s.consequence,
            s.likelihood * s.consequence,
            RiskScore(s.likelihood, s.consequence).band.value,
            s.rationale,
            s.recorded_by,
        ]
        for s in v.scores
    ]


def risk_action_csv_rows(v: RiskView) -> list[list[object]]:
    """The risk's actions with owners and due dates; ``done_on`` is None while open."""
    return [[v.risk.reference, a.description, p.name, a.due_on, a.done_on] for a, p in v.actions]


def heat_map_rows(counts: dict[tuple[int, int], int], link: str) -> list[dict[str, Any]]:
    """Rows of the 5x5 table, likelihood 5 at the top (as the NPSA matrix is drawn)."""
    rows = []
    for lk in range(5, 0, -1):
        cells = []
        for c in range(1, 6):
            s = RiskScore(lk, c)
            n = counts[(lk, c)]
            count = (
                _link(
                    f"{link}?likelihood={lk}&consequence={c}", f"{n} risk" + ("" if n == 1 else "s")
                )
                if n
                else Markup("0 risks")
            )
            cells.append(
                {
                    "count": count,
                    "score": s.value,
                    "band": s.band.label,
                    "colour": _BAND_COLOUR[s.band],
                }
            )
        rows.append({"likelihood": lk, "label": LIKELIHOOD_LABELS[lk], "cells": cells})
    return rows
