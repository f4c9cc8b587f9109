"""Metrics: the catalogue (`catalogue`), SPC as Making Data Count (`spc`), the computation in
DuckDB (`compute`), the monthly returns (`returns`), publishing (`pipeline`) and reading
(`snapshots`) immutable snapshots. Import those modules directly; this package exports SPC.
"""

from wholesystem.metrics.spc import (
    AssuranceIcon,
    Improvement,
    PointType,
    SpcError,
    SpcPoint,
    SpcResult,
    VariationIcon,
    analyse,
)

__all__ = [
    "AssuranceIcon",
    "Improvement",
    "PointType",
    "SpcError",
    "SpcPoint",
    "SpcResult",
    "VariationIcon",
    "analyse",
]
