"""Configuration of a synthetic ICS: size, seed, reference date and identity noise.

Every rate in :class:`IdentityNoise` is a probability per *source record* (one
organisation's version of one person's demographics) unless its description says
otherwise. The rates are base rates: each kind of source applies a fixed multiplier
(:data:`SOURCE_KIND_MULTIPLIER`, documented in ``docs/synthetic-data.md``), and
``SynthConfig.noise_scale`` multiplies all record-level rates at once, so
``noise_scale=0`` gives perfectly clean demographics and ``noise_scale=2`` twice the
default error rates. Effective probabilities are capped at 1.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "MAX_PEOPLE",
    "RECORD_LEVEL_RATES",
    "SOURCE_KIND_MULTIPLIER",
    "IdentityNoise",
    "SynthConfig",
    "SynthError",
    "effective_rate",
]

MAX_PEOPLE = 10_000_000
"""Largest population the generator accepts (local identifiers have 8 digits)."""

Rate = Annotated[float, Field(ge=0.0, le=1.0)]


class SynthError(ValueError):
    """The generator was asked for something it cannot do (bad output folder, etc.)."""


class IdentityNoise(BaseModel):
    """How each source's copy of a person's demographics differs from the truth."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    nhs_missing: Rate = Field(0.03, description="NHS number blank.")
    nhs_invalid: Rate = Field(0.005, description="NHS number with a wrong check digit.")
    nhs_wrong: Rate = Field(
        0.004, description="Another person's (valid) NHS number recorded against this person."
    )
    nhs_wrong_relative_share: Rate = Field(
        0.5, description="Share of wrong NHS numbers taken from someone in the same household."
    )
    nhs_spaced: Rate = Field(0.15, description="NHS number written '943 476 5919'.")
    name_typo: Rate = Field(
        0.02,
        description="Typing error in the given name; same rate for "
        "the family name, drawn independently.",
    )
    nickname: Rate = Field(
        0.05, description="Given name recorded as a nickname (where one exists: William -> Bill)."
    )
    name_upper: Rate = Field(0.15, description="Names recorded in upper case.")
    dob_day_month_swap: Rate = Field(
        0.005, description="Day and month of birth swapped (only where the swap is a real date)."
    )
    dob_typo: Rate = Field(0.004, description="Date of birth off by one day (60%) or one year.")
    sex_missing: Rate = Field(0.005, description="Sex blank.")
    postcode_missing: Rate = Field(0.02, description="Postcode blank.")
    postcode_no_space: Rate = Field(0.10, description="Postcode written without its space.")
    postcode_lower: Rate = Field(0.05, description="Postcode written in lower case.")
    stale_after_change: Rate = Field(
        0.3,
        description="A source that knew a person before a move or a change of surname keeps "
        "the old postcode / surname.",
    )
    duplicate_record: Rate = Field(
        0.01, description="A second local record (new local id) for the same person at a source."
    )
    household_move: Rate = Field(
        0.06,
        description="Annual probability that a household moves address within the footprint "
        "(a change of the true world: not scaled by noise_scale).",
    )
    surname_change: Rate = Field(
        0.2,
        description="Share of couples with different surnames who marry during the five years, "
        "one partner taking the other's surname (a change of the true world: not scaled by "
        "noise_scale).",
    )


RECORD_LEVEL_RATES: tuple[str, ...] = (
    "nhs_missing",
    "nhs_invalid",
    "nhs_wrong",
    "nhs_spaced",
    "name_typo",
    "nickname",
    "name_upper",
    "dob_day_month_swap",
    "dob_typo",
    "sex_missing",
    "postcode_missing",
    "postcode_no_space",
    "postcode_lower",
    "stale_after_change",
    "duplicate_record",
)
"""The rates that ``noise_scale`` and the source-kind multipliers apply to."""

SOURCE_KIND_MULTIPLIER: dict[str, float] = {
    "gp": 0.5,
    "acute": 1.0,
    "community": 1.2,
    "mental_health": 1.5,
    "social_care": 2.0,
    "registry": 0.3,
}
"""Relative data quality of each kind of source (GP records are the cleanest)."""


def effective_rate(noise: IdentityNoise, name: str, kind: str, scale: float) -> float:
    """The probability actually used for rate ``name`` at a source of ``kind``."""
    base = float(getattr(noise, name))
    if name not in RECORD_LEVEL_RATES:
        return base
    return min(1.0, base * scale * SOURCE_KIND_MULTIPLIER[kind])


class SynthConfig(BaseModel):
    """What to generate. Same config (and generator version) => same bytes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    people: int = Field(
        20_000,
        description="Everyone resident in the footprint at any time in the five years "
        "(including those born, arriving, leaving or dying in that time).",
    )
    seed: int = Field(42, description="Root seed of every random draw.")
    end_date: dt.date = Field(
        dt.date(2026, 3, 31), description="Last day of the five years of history."
    )
    noise_scale: float = Field(1.0, description="Multiplier on every record-level noise rate.")
    identity_noise: IdentityNoise = Field(default_factory=IdentityNoise)
    fhir_share: float = Field(
        0.125, description="Share of GP practices whose system exports FHIR instead of CSV."
    )

    @field_validator("people")
    @classmethod
    def _people(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be at least 1 (got {value})")
        if value > MAX_PEOPLE:
            raise ValueError(f"must be at most {MAX_PEOPLE:,} (got {value:,})")
        return value

    @field_validator("seed")
    @classmethod
    def _seed(cls, value: int) -> int:
        if value < 0 or value >= 2**63:
            raise ValueError(f"must be between 0 and 2**63-1 (got {value})")
        return value

    @field_validator("end_date")
    @classmethod
    def _end_date(cls, value: dt.date) -> dt.date:
        if not dt.date(1990, 1, 1) <= value <= dt.date(2100, 12, 31):
            raise ValueError(f"must be between 1990-01-01 and 2100-12-31 (got {value})")
        return value

    @field_validator("noise_scale")
    @classmethod
    def _noise_scale(cls, value: float) -> float:
        if not 0.0 <= value <= 20.0 or value != value:
            raise ValueError(f"must be between 0 and 20 (got {value})")
        return value

    @field_validator("fhir_share")
    @classmethod
    def _fhir_share(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0 or value != value:
            raise ValueError(f"must be between 0 and 1 (got {value})")
        return value

    @property
    def start_date(self) -> dt.date:
        """First day of the five years of history."""
        return years_before(self.end_date, 5) + dt.timedelta(days=1)


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` earlier (28 February for 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)
