"""Turn population outputs into what the population pages and CSV files show. Pure.

Every aggregate count passes through ``wholesystem.access.disclosure`` here before it
reaches a page or a CSV: the presenters take the protected tables, never raw counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from wholesystem.access.disclosure import Protected, ProtectedTable
from wholesystem.population.casefinding import Case
from wholesystem.population.cohorts import SEGMENTS, TIERS
from wholesystem.population.registry import (
    CalibrationBin,
    ModelMetrics,
    ModelVersion,
    SubgroupMetrics,
)

__all__ = [
    "AGGREGATE_CSV_COLUMNS",
    "CALIBRATION_CSV_COLUMNS",
    "CASE_CSV_COLUMNS",
    "IDENTIFIABLE_CSV_COLUMNS",
    "MODEL_CARD_TABLES",
    "PSEUDONYMISED_CSV_COLUMNS",
    "SEGMENT_LABELS",
    "SUBGROUP_CSV_COLUMNS",
    "TIER_LABELS",
    "TOP_CSV_COLUMNS",
    "VALIDATION_CSV_COLUMNS",
    "aggregate_csv_rows",
    "calibration_rows",
    "case_csv_rows",
    "case_rows",
    "child_rows",
    "condition_label",
    "identifiable_csv_rows",
    "identifiable_rows",
    "metric_rows",
    "model_card_csv",
    "pseudonymised_csv_rows",
    "pseudonymised_rows",
    "pyramid_bars",
    "segment_mix_rows",
    "subgroup_rows",
    "top_rows",
    "validation_rows",
]

TIER_LABELS = {
    "top_0_5": "Highest risk: top 0.5%",
    "p0_5_to_5": "High risk: 0.5% to 5%",
    "p5_to_20": "Rising risk: 5% to 20%",
    "rest": "Lower risk: the other 80%",
}
TIER_SHORT = {
    "top_0_5": "Top 0.5%",
    "p0_5_to_5": "0.5 to 5%",
    "p5_to_20": "5 to 20%",
    "rest": "Other 80%",
}
SEGMENT_LABELS = {
    "generally_well": "Generally well",
    "maternal_and_infant": "Maternal and infant health",
    "long_term_condition": "Long-term condition",
    "complex_multimorbidity": "Complex multimorbidity",
    "frailty_and_dementia": "Frailty and dementia",
    "end_of_life": "End of life",
}
SUBGROUP_LABELS = {
    "age_band": "Age band",
    "sex": "Sex",
    "deprivation_quintile": "Deprivation quintile (1 = most deprived)",
    "ethnicity_group": "Ethnic group",
}
# The pyramid's widest bar, in SVG user units (the chart scales to its container).
BAR_WIDTH = 600


def condition_label(condition_id: str) -> str:
    """'atrial_fibrillation' → 'Atrial fibrillation'."""
    words = condition_id.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _pct(part: Protected, whole: Protected) -> str:
    if part.value is None or not whole.value:
        return "*" if part.suppressed else "—"
    return f"{100 * part.value / whole.value:.1f}%"


# ------------------------------------------------------------------ the risk pyramid


def pyramid_bars(table: ProtectedTable) -> list[dict[str, Any]]:
    """One bar per tier, top of the pyramid first, from a tier x segment protected table.

    Widths are proportional to the square root of the count, so the highest-risk tiers
    (a fraction of a percent) stay visible beside the rest; the numbers beside the bars
    and in the table are the (protected) counts themselves.
    """
    values = [t.value or 0 for t in table.row_totals]
    top = max((v**0.5 for v in values), default=0.0) or 1.0
    bars = []
    for i, (tier, total) in enumerate(zip(TIERS, table.row_totals, strict=True)):
        width = round(BAR_WIDTH * ((total.value or 0) ** 0.5) / top)
        bars.append(
            {
                "tier": tier,
                "label": TIER_SHORT[tier],
                "text": total.text,
                "width": width,
                "x": (BAR_WIDTH - width) // 2 + 120,
                "y": 10 + i * 44,
                "text_y": 10 + i * 44 + 24,
            }
        )
    return bars


def segment_mix_rows(table: ProtectedTable) -> list[dict[str, Any]]:
    """Rows of the tier x segment table: one per tier with its cells and total."""
    rows = []
    for tier, cells, total in zip(TIERS, table.cells, table.row_totals, strict=True):
        rows.append(
            {
                "tier": tier,
                "label": TIER_LABELS[tier],
                "cells": [c.text for c in cells],
                "total": total.text,
                "share": _pct(total, table.grand_total),
            }
        )
    return rows


def child_rows(
    children: Sequence[tuple[str, str, str]], table: ProtectedTable
) -> list[dict[str, Any]]:
    """Drill-down rows: (code, name, href) for each child area with its tier counts."""
    return [
        {
            "code": code,
            "name": name,
            "href": href,
            "cells": [c.text for c in cells],
            "total": total.text,
        }
        for (code, name, href), cells, total in zip(
            children, table.cells, table.row_totals, strict=True
        )
    ]


AGGREGATE_CSV_COLUMNS = ("area_code", "area_name", "tier", "segment", "people")


def aggregate_csv_rows(
    area_code: str, area_name: str, table: ProtectedTable
) -> list[tuple[object, ...]]:
    """The tier x segment table in long form, totals included, every count protected."""
    rows: list[tuple[object, ...]] = []
    for tier, cells, total in zip(TIERS, table.cells, table.row_totals, strict=True):
        for segment, cell in zip(SEGMENTS, cells, strict=True):
            rows.append((area_code, area_name, tier, segment, cell.text))
        rows.append((area_code, area_name, tier, "all", total.text))
    for segment, total in zip(SEGMENTS, table.column_totals, strict=True):
        rows.append((area_code, area_name, "all", segment, total.text))
    rows.append((area_code, area_name, "all", "all", table.grand_total.text))
    return rows


# ------------------------------------------------------------------------ lists


def _name(row: Mapping[str, Any]) -> str:
    parts = [row.get("given_name"), (row.get("family_name") or "").upper()]
    return " ".join(p for p in parts if p) or "Name not recorded"


def _nhs(value: object) -> str:
    digits = str(value or "")
    if len(digits) == 10 and digits.isdigit():
        return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
    return digits or "Not recorded"


def _dob(value: object) -> str:
    return value.strftime("%-d %b %Y") if isinstance(value, date) else "Not recorded"


def _risk(value: object) -> str:
    return f"{100 * float(value):.1f}%" if isinstance(value, (int, float)) else "—"


def identifiable_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Cohort list rows for the care team: who, where, and why they are high risk."""
    return [
        {
            "person_id": r["person_id"],
            "href": f"/records/{r['person_id']}",
            "name": _name(r),
            "nhs_number": _nhs(r.get("nhs_number")),
            "date_of_birth": _dob(r.get("date_of_birth")),
            "practice": r.get("practice_code") or "—",
            "segment": SEGMENT_LABELS.get(str(r.get("segment")), str(r.get("segment"))),
            "tier": TIER_SHORT.get(str(r.get("tier")), str(r.get("tier"))),
            "risk": _risk(r.get("risk")),
            "emergency": r.get("emergency_admissions_12m") or 0,
            "ae": r.get("ae_attendances_12m") or 0,
            "reasons": list(r.get("reasons") or ()),
        }
        for r in rows
    ]


IDENTIFIABLE_CSV_COLUMNS = (
    "person_id",
    "nhs_number",
    "name",
    "date_of_birth",
    "age",
    "sex",
    "practice_code",
    "neighbourhood_code",
    "segment",
    "tier",
    "risk",
    "emergency_admissions_12m",
    "ae_attendances_12m",
    "reasons",
)


def identifiable_csv_rows(rows: Sequence[Mapping[str, Any]]) -> list[tuple[object, ...]]:
    return [
        (
            r["person_id"],
            r.get("nhs_number"),
            _name(r),
            r.get("date_of_birth"),
            r.get("age"),
            r.get("sex"),
            r.get("practice_code"),
            r.get("neighbourhood_code"),
            r.get("segment"),
            r.get("tier"),
            None if r.get("risk") is None else f"{float(r['risk']):.4f}",
            r.get("emergency_admissions_12m"),
            r.get("ae_attendances_12m"),
            "; ".join(r.get("reasons") or ()),
        )
        for r in rows
    ]


def pseudonymised_rows(
    rows: Sequence[Mapping[str, Any]], pseudonym: Callable[[str], str]
) -> list[dict[str, Any]]:
    """Cohort list rows for analysts: a pseudonym in place of the person, no identifiers."""
    return [
        {
            "pseudonym": pseudonym(str(r["person_id"])),
            "age_band": r.get("age_band") or "—",
            "sex": r.get("sex") or "—",
            "imd": r.get("deprivation_quintile") or "Unknown",
            "neighbourhood": r.get("neighbourhood_code") or "—",
            "segment": SEGMENT_LABELS.get(str(r.get("segment")), str(r.get("segment"))),
            "tier": TIER_SHORT.get(str(r.get("tier")), str(r.get("tier"))),
            "risk": _risk(r.get("risk")),
            "ltc_count": r.get("ltc_count") or 0,
            "emergency": r.get("emergency_admissions_12m") or 0,
            "ae": r.get("ae_attendances_12m") or 0,
        }
        for r in rows
    ]


PSEUDONYMISED_CSV_COLUMNS = (
    "pseudonym",
    "age_band",
    "sex",
    "deprivation_quintile",
    "neighbourhood_code",
    "segment",
    "tier",
    "risk",
    "ltc_count",
    "conditions",
    "emergency_admissions_12m",
    "ae_attendances_12m",
)


def pseudonymised_csv_rows(
    rows: Sequence[Mapping[str, Any]], pseudonym: Callable[[str], str]
) -> list[tuple[object, ...]]:
    return [
        (
            pseudonym(str(r["person_id"])),
            r.get("age_band"),
            r.get("sex"),
            r.get("deprivation_quintile"),
            r.get("neighbourhood_code"),
            r.get("segment"),
            r.get("tier"),
            None if r.get("risk") is None else f"{float(r['risk']):.4f}",
            r.get("ltc_count"),
            "; ".join(r.get("conditions") or ()),
            r.get("emergency_admissions_12m"),
            r.get("ae_attendances_12m"),
        )
        for r in rows
    ]


def case_rows(cases: Sequence[Case], bases: Mapping[str, str]) -> list[dict[str, Any]]:
    """Case-finding rows: the person, their risk, which criteria fired and the reasons."""
    rows = []
    for case in cases:
        row = identifiable_rows([case.row])[0]
        row["criteria"] = list(case.criteria)
        row["reasons"] = list(case.reasons)
        row["basis"] = bases.get(case.person_id, "")
        rows.append(row)
    return rows


CASE_CSV_COLUMNS = (*IDENTIFIABLE_CSV_COLUMNS, "criteria")


def case_csv_rows(cases: Sequence[Case]) -> list[tuple[object, ...]]:
    rows = identifiable_csv_rows([c.row for c in cases])
    return [(*row, "; ".join(c.criteria)) for row, c in zip(rows, cases, strict=True)]


# ---------------------------------------------------------------------- model card


def _num(value: float | None, places: int = 3) -> str:
    if value is None or value != value:  # NaN: not computable for this group
        return "—"
    return f"{value:.{places}f}"


def _share(value: float) -> str:
    return f"{100 * value:g}%"


def metric_rows(metrics: ModelMetrics) -> list[dict[str, str]]:
    """Summary-list rows of one set of validation metrics."""
    rows = [
        {"key": "AUROC (discrimination)", "value": _num(metrics.auroc)},
        {"key": "AUPRC", "value": _num(metrics.auprc)},
        {"key": "Calibration slope (ideal 1)", "value": _num(metrics.calibration_slope)},
        {"key": "Calibration intercept (ideal 0)", "value": _num(metrics.calibration_intercept)},
        {"key": "Brier score (lower is better)", "value": _num(metrics.brier, 4)},
    ]
    for top in metrics.top:
        rows.append(
            {
                "key": f"Top {_share(top.share)}: sensitivity and PPV",
                "value": f"{_num(top.sensitivity)} and {_num(top.ppv)}",
            }
        )
    return rows


def _top_value(metrics: ModelMetrics, share: float, field: str) -> str:
    for top in metrics.top:
        if abs(top.share - share) < 1e-9:
            return _num(float(getattr(top, field)))
    return "—"


TOP_SHARES = (0.005, 0.01, 0.05)


def subgroup_rows(
    subgroups: Sequence[SubgroupMetrics], protect: Callable[[int], Protected]
) -> list[dict[str, Any]]:
    """One table per subgroup dimension; group sizes pass disclosure control."""
    tables: dict[str, list[dict[str, Any]]] = {}
    for sub in subgroups:
        m = sub.metrics
        n = protect(int(sub.n))
        tables.setdefault(sub.dimension, []).append(
            {
                "group": sub.group,
                "n": n.text,
                # Figures for a group too small to publish would describe a handful of people.
                "suppressed": n.suppressed,
                "auroc": _num(m.auroc),
                "auprc": _num(m.auprc),
                "slope": _num(m.calibration_slope),
                "intercept": _num(m.calibration_intercept),
                "brier": _num(m.brier, 4),
                "top": [
                    (_top_value(m, s, "sensitivity"), _top_value(m, s, "ppv")) for s in TOP_SHARES
                ],
            }
        )
    return [
        {"dimension": d, "label": SUBGROUP_LABELS.get(d, d), "rows": rows}
        for d, rows in tables.items()
    ]


# ------------------------------------------------------------------ model card tables

VALIDATION_CSV_COLUMNS = ("measure", "model", "baseline_parr_style")
TOP_CSV_COLUMNS = (
    "top_share",
    "model_sensitivity",
    "model_ppv",
    "baseline_sensitivity",
    "baseline_ppv",
)
CALIBRATION_CSV_COLUMNS = (
    "risk_group",
    "risk_from",
    "risk_to",
    "people",
    "admitted",
    "mean_predicted_risk",
    "observed_rate",
)
SUBGROUP_CSV_COLUMNS = (
    "group",
    "people",
    "auroc",
    "auprc",
    "calibration_slope",
    "calibration_intercept",
    "brier",
    *(f"top_{100 * s:g}pct_{k}" for s in TOP_SHARES for k in ("sensitivity", "ppv")),
)
MODEL_CARD_TABLES = ("validation", "top", "calibration", *SUBGROUP_LABELS)
"""The tables of a model card, each with a CSV download of the same name."""


def _raw(value: float | None) -> float | None:
    """A figure for a CSV cell: full precision (6 dp); undefined figures are empty."""
    if value is None or value != value:
        return None
    return round(float(value), 6)


_MEASURES: tuple[tuple[str, str, int], ...] = (
    ("AUROC (discrimination)", "auroc", 3),
    ("AUPRC", "auprc", 3),
    ("Calibration slope (ideal 1)", "calibration_slope", 3),
    ("Calibration intercept (ideal 0)", "calibration_intercept", 3),
    ("Brier score (lower is better)", "brier", 4),
)


def validation_rows(metrics: ModelMetrics, baseline: ModelMetrics | None) -> list[dict[str, str]]:
    """The validation table: each measure for the model and the PARR-style baseline."""
    return [
        {
            "measure": label,
            "model": _num(getattr(metrics, attr), places),
            "baseline": _num(getattr(baseline, attr), places) if baseline else "—",
        }
        for label, attr, places in _MEASURES
    ]


def top_rows(metrics: ModelMetrics, baseline: ModelMetrics | None) -> list[dict[str, str]]:
    """Flagging the top 0.5%, 1% and 5% by risk: sensitivity and PPV, model and baseline."""
    return [
        {
            "share": f"Top {_share(s)}",
            "sensitivity": _top_value(metrics, s, "sensitivity"),
            "ppv": _top_value(metrics, s, "ppv"),
            "baseline_sensitivity": _top_value(baseline, s, "sensitivity") if baseline else "—",
            "baseline_ppv": _top_value(baseline, s, "ppv") if baseline else "—",
        }
        for s in TOP_SHARES
    ]


def _risk_pct(value: float) -> str:
    return "—" if value != value else f"{100 * value:.1f}%"


def calibration_rows(
    bins: Sequence[CalibrationBin], protect: Callable[[int], Protected]
) -> list[dict[str, Any]]:
    """Predicted against observed by tenth of risk. Counts pass disclosure control; the
    observed rate of a group whose admitted count is suppressed is not shown (with the
    group size it would give the count away)."""
    rows = []
    for i, b in enumerate(bins, start=1):
        n, events = protect(b.n), protect(b.events)
        hidden = n.suppressed or events.suppressed
        rows.append(
            {
                "group": f"{i} of {len(bins)}",
                "range": f"{_risk_pct(b.lower)} to {_risk_pct(b.upper)}",
                "n": n.text,
                "events": events.text,
                "predicted": _risk_pct(b.mean_predicted),
                "observed": "—" if hidden else _risk_pct(b.observed),
                "hidden": hidden,
            }
        )
    return rows


def _count_cell(count: Protected) -> object:
    """A protected count for a CSV cell: ``*`` when suppressed, else a plain number."""
    return "*" if count.suppressed or count.value is None else count.value


def _top_raw(metrics: ModelMetrics | None, share: float, attr: str) -> float | None:
    for top in metrics.top if metrics else ():
        if abs(top.share - share) < 1e-9:
            return _raw(float(getattr(top, attr)))
    return None


def model_card_csv(
    version: ModelVersion, table: str, protect: Callable[[int], Protected]
) -> tuple[tuple[str, ...], list[tuple[object, ...]]]:
    """Header and rows of one model-card table (one of :data:`MODEL_CARD_TABLES`) at full
    precision, with the same disclosure control as the page. KeyError for another name."""
    m, base = version.metrics, version.baseline
    if table == "validation":
        rows: list[tuple[object, ...]] = [
            (attr, _raw(getattr(m, attr)), _raw(getattr(base, attr)) if base else None)
            for _label, attr, _places in _MEASURES
        ]
        return VALIDATION_CSV_COLUMNS, rows
    if table == "top":
        return TOP_CSV_COLUMNS, [
            (
                s,
                _top_raw(m, s, "sensitivity"),
                _top_raw(m, s, "ppv"),
                _top_raw(base, s, "sensitivity"),
                _top_raw(base, s, "ppv"),
            )
            for s in TOP_SHARES
        ]
    if table == "calibration":
        rows = []
        for i, b in enumerate(m.calibration, start=1):
            n, events = protect(b.n), protect(b.events)
            hidden = n.suppressed or events.suppressed
            rows.append(
                (
                    i,
                    _raw(b.lower),
                    _raw(b.upper),
                    _count_cell(n),
                    _count_cell(events),
                    _raw(b.mean_predicted),
                    None if hidden else _raw(b.observed),
                )
            )
        return CALIBRATION_CSV_COLUMNS, rows
    if table in SUBGROUP_LABELS:
        rows = []
        for sub in version.subgroups:
            if sub.dimension != table:
                continue
            n = protect(int(sub.n))
            sm = sub.metrics
            figures: list[object] = [
                _raw(sm.auroc),
                _raw(sm.auprc),
                _raw(sm.calibration_slope),
                _raw(sm.calibration_intercept),
                _raw(sm.brier),
                *(_top_raw(sm, s, k) for s in TOP_SHARES for k in ("sensitivity", "ppv")),
            ]
            # a group too small to publish gets its (protected) size and no figures
            rows.append(
                (sub.group, _count_cell(n), *([None] * len(figures) if n.suppressed else figures))
            )
        return SUBGROUP_CSV_COLUMNS, rows
    raise KeyError(table)
