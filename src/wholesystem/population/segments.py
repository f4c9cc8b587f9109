"""Risk tiers and Bridges to Health segments: documented rules, plain functions.

**Tiers** rank the whole population by risk (highest first; ties broken by person id so the
ranking is reproducible) and cut at fixed shares: the top 0.5% (``top_0_5``), the next
4.5% (``p0_5_to_5``), the next 15% (``p5_to_20``) and the rest. With ``n`` people the
first ``ceil(0.005 n)`` ranks are ``top_0_5``, ranks up to ``ceil(0.05 n)`` are
``p0_5_to_5`` and ranks up to ``ceil(0.2 n)`` are ``p5_to_20``.

**Segments** follow the spirit of "Bridges to Health" (Lynn et al., Milbank Q 2007;
85(2):185-208), as NHS population health management uses it. Each person gets exactly
one segment, the first rule that holds, in this order of need:

1. ``end_of_life``: a palliative-care code, or a metastatic solid tumour (Charlson
   category C77-C80) coded in the hospital record.
2. ``frailty_and_dementia``: dementia, or eFI moderate or severe, or moderate or severe
   frailty coded by the GP, or living in a care home (residential or nursing package).
3. ``complex_multimorbidity``: three or more long-term conditions.
4. ``maternal_and_infant``: under 1 year old, or a delivery in the last 12 months.
5. ``long_term_condition``: one or two long-term conditions.
6. ``generally_well``: everyone else.

Only facts on or before the index date are used (they come from the features).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "SEGMENTS",
    "TIERS",
    "TIER_SHARES",
    "SegmentInput",
    "segment",
    "segment_sql",
    "tier_of_rank",
    "tiers",
]

TIERS = ("top_0_5", "p0_5_to_5", "p5_to_20", "rest")
TIER_SHARES = (0.005, 0.05, 0.20)
SEGMENTS = (
    "end_of_life",
    "frailty_and_dementia",
    "complex_multimorbidity",
    "maternal_and_infant",
    "long_term_condition",
    "generally_well",
)


def _cuts(n: int) -> tuple[int, int, int]:
    a, b, c = (math.ceil(s * n) for s in TIER_SHARES)
    return a, b, c


def tier_of_rank(rank: int, n: int) -> str:
    """The tier of risk rank ``rank`` (1 = highest) among ``n`` people."""
    if not 1 <= rank <= n:
        raise ValueError(f"rank {rank} outside 1..{n}")
    a, b, c = _cuts(n)
    if rank <= a:
        return TIERS[0]
    if rank <= b:
        return TIERS[1]
    return TIERS[2] if rank <= c else TIERS[3]


def tiers(risk: npt.NDArray[np.float64], ids: list[str]) -> tuple[npt.NDArray[np.int64], list[str]]:
    """Risk ranks (1 = highest; ties by person id) and tiers for the whole population."""
    n = len(risk)
    order = np.lexsort((np.array(ids, dtype=object).astype(str), -risk))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    a, b, c = _cuts(n)
    labels = np.select([rank <= a, rank <= b, rank <= c], list(TIERS[:3]), default=TIERS[3])
    return rank, [str(t) for t in labels]


@dataclass(frozen=True)
class SegmentInput:
    age: int
    conditions: tuple[str, ...] = ()
    efi_category: str = "fit"
    coded_frailty: int | None = None
    care_home: bool = False
    palliative: bool = False
    metastatic_cancer: bool = False
    delivered_12m: bool = False


def segment(p: SegmentInput) -> str:
    """The one Bridges to Health segment of a person (rules in the module docstring)."""
    if p.palliative or p.metastatic_cancer:
        return "end_of_life"
    if (
        "dementia" in p.conditions
        or p.efi_category in ("moderate", "severe")
        or (p.coded_frailty or 0) >= 2
        or p.care_home
    ):
        return "frailty_and_dementia"
    if len(p.conditions) >= 3:
        return "complex_multimorbidity"
    if p.age < 1 or p.delivered_12m:
        return "maternal_and_infant"
    if p.conditions:
        return "long_term_condition"
    return "generally_well"


def segment_sql() -> str:
    """The same rules as a DuckDB CASE over the features table's columns."""
    return """CASE
        WHEN palliative OR metastatic_cancer THEN 'end_of_life'
        WHEN list_contains(conditions, 'dementia') OR efi_category IN ('moderate', 'severe')
             OR coalesce(coded_frailty, 0) >= 2 OR care_home THEN 'frailty_and_dementia'
        WHEN len(conditions) >= 3 THEN 'complex_multimorbidity'
        WHEN age < 1 OR delivered_12m THEN 'maternal_and_infant'
        WHEN len(conditions) >= 1 THEN 'long_term_condition'
        ELSE 'generally_well' END"""
