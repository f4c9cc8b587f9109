"""The NHS 5x5 risk matrix: likelihood x consequence, rating bands and the trend of scores.

Source: National Patient Safety Agency, "A risk matrix for risk managers" (NPSA, January
2008). Likelihood and consequence are each scored 1 to 5; the risk score is their product;
the grading is low (1-3), moderate (4-6), high (8-12) and extreme (15-25). Products 7, 11,
13, 14, 17-19 and 21-24 cannot occur on a 5x5 matrix, so they have no band. Pure functions: no
database, no web.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CONSEQUENCE_LABELS",
    "LIKELIHOOD_LABELS",
    "Band",
    "RiskScore",
    "ScoreError",
    "Trend",
    "band_for",
    "check_target",
    "score",
    "trend",
]

# NPSA 2008, table 1 (consequence) and table 2 (likelihood) descriptors.
LIKELIHOOD_LABELS = {1: "Rare", 2: "Unlikely", 3: "Possible", 4: "Likely", 5: "Almost certain"}
CONSEQUENCE_LABELS = {1: "Negligible", 2: "Minor", 3: "Moderate", 4: "Major", 5: "Catastrophic"}


class ScoreError(ValueError):
    """A score refused; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class Band(StrEnum):
    """NPSA 2008 risk grading."""

    low = "low"
    moderate = "moderate"
    high = "high"
    extreme = "extreme"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def range_text(self) -> str:
        return {
            Band.low: "1 to 3",
            Band.moderate: "4 to 6",
            Band.high: "8 to 12",
            Band.extreme: "15 to 25",
        }[self]


class Trend(StrEnum):
    """How the latest score compares with the one before it."""

    new = "new"
    rising = "rising"
    falling = "falling"
    stable = "stable"

    @property
    def label(self) -> str:
        return {
            Trend.new: "New (one score so far)",
            Trend.rising: "Rising",
            Trend.falling: "Falling",
            Trend.stable: "Stable",
        }[self]


@dataclass(frozen=True)
class RiskScore:
    """One point on the matrix."""

    likelihood: int
    consequence: int

    @property
    def value(self) -> int:
        return self.likelihood * self.consequence

    @property
    def band(self) -> Band:
        return band_for(self.value)

    @property
    def text(self) -> str:
        return (
            f"{self.value} ({self.band.label}: {LIKELIHOOD_LABELS[self.likelihood].lower()} "
            f"by {CONSEQUENCE_LABELS[self.consequence].lower()})"
        )


def _one_to_five(field: str, value: object, labels: dict[int, str]) -> int:
    # bool is an int subclass; True is not a likelihood.
    if not isinstance(value, int) or isinstance(value, bool) or value not in labels:
        scale = ", ".join(f"{k} {v.lower()}" for k, v in labels.items())
        raise ScoreError(field, f"must be a whole number from 1 to 5 ({scale}), not {value!r}")
    return value


def score(likelihood: object, consequence: object, *, prefix: str = "") -> RiskScore:
    """A validated score; ``prefix`` ("target " say) goes into the field named on refusal."""
    return RiskScore(
        _one_to_five(f"{prefix}likelihood", likelihood, LIKELIHOOD_LABELS),
        _one_to_five(f"{prefix}consequence", consequence, CONSEQUENCE_LABELS),
    )


def band_for(value: int) -> Band:
    """The NPSA 2008 band of a matrix score; a product the matrix cannot give is refused."""
    if value in (1, 2, 3):
        return Band.low
    if value in (4, 5, 6):
        return Band.moderate
    if value in (8, 9, 10, 12):
        return Band.high
    if value in (15, 16, 20, 25):
        return Band.extreme
    raise ScoreError("score", f"{value} is not a product of two scores from 1 to 5")


def check_target(current: RiskScore, target: RiskScore) -> None:
    """A target is where the actions should bring the risk: never above the current score."""
    if target.value > current.value:
        raise ScoreError(
            "target score",
            f"{target.value} is above the current score {current.value}; a target is the "
            "score once the actions are done, so it cannot be higher",
        )


def trend(values: Sequence[int]) -> Trend:
    """Trend of a score history (oldest first): the latest against the one before."""
    if not values:
        raise ScoreError("score history", "a risk has at least one score")
    if len(values) == 1:
        return Trend.new
    last, before = values[-1], values[-2]
    if last > before:
        return Trend.rising
    if last < before:
        return Trend.falling
    return Trend.stable
