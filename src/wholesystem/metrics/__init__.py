"""Metrics: statistical process control as Making Data Count (`spc`); the catalogue follows."""

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
