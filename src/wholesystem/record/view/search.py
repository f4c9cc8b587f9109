"""Finding a patient by name and date of birth: the query and its checks.

A clinician does not always have the NHS number to hand: the search also takes a family
name and a date of birth (and, to narrow it, the start of a given name), as a national
demographic search does. Only people the searcher has a care relationship with are ever
listed; that is the route's business. This module only says whether what was typed is a
search, and if not, what to put right, in the words of the NHS service manual's error
messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = [
    "DATE_PARTS",
    "EARLIEST_BIRTH",
    "NAME_MAX",
    "DetailsSearch",
    "FieldError",
    "details_search",
]

NAME_MAX = 100  # as the staged identity columns allow
EARLIEST_BIRTH = date(1900, 1, 1)  # as ingest allows


@dataclass(frozen=True)
class DetailsSearch:
    """A search by details: compared without case, spaces or punctuation."""

    family_name: str
    date_of_birth: date
    given_name: str | None = None  # the start of a given name


DATE_PARTS = ("dob-day", "dob-month", "dob-year")


@dataclass(frozen=True)
class FieldError:
    """What to put right: the id of the input the error summary links to, and the inputs
    to mark (that one, or every part of a date that is wrong as a whole)."""

    field: str
    text: str
    marks: tuple[str, ...] = ()

    @property
    def marked(self) -> tuple[str, ...]:
        """The inputs to mark as in error."""
        return self.marks or (self.field,)


def _name_error(value: str, what: str, field: str, *, required: bool) -> FieldError | None:
    if not value:
        return FieldError(field, f"Enter a {what}") if required else None
    if len(value) > NAME_MAX:
        return FieldError(field, f"{what.capitalize()} must be {NAME_MAX} characters or fewer")
    if not any(ch.isalpha() for ch in value):
        return FieldError(field, f"{what.capitalize()} must include a letter")
    return None


def _birth_date(day: str, month: str, year: str, today: date) -> date | FieldError:
    parts = {"day": day, "month": month, "year": year}
    missing = [name for name, value in parts.items() if not value]
    if len(missing) == 3:
        return FieldError("dob-day", "Enter a date of birth", DATE_PARTS)
    if missing:
        return FieldError(
            f"dob-{missing[0]}", "Date of birth must include a " + " and a ".join(missing)
        )
    if not all(value.isdigit() for value in parts.values()) or len(year) != 4:
        return FieldError("dob-day", "Date of birth must be a real date", DATE_PARTS)
    try:
        born = date(int(year), int(month), int(day))
    except ValueError:
        return FieldError("dob-day", "Date of birth must be a real date", DATE_PARTS)
    if born > today:
        return FieldError("dob-day", "Date of birth must be today or in the past", DATE_PARTS)
    if born < EARLIEST_BIRTH:
        return FieldError("dob-year", f"Date of birth must be in {EARLIEST_BIRTH.year} or later")
    return born


def details_search(
    family_name: str | None,
    given_name: str | None,
    day: str | None,
    month: str | None,
    year: str | None,
    *,
    today: date,
) -> DetailsSearch | list[FieldError]:
    """The search the form describes, or every error in it (in the form's order)."""
    family = (family_name or "").strip()
    given = (given_name or "").strip()
    errors = [
        e
        for e in (
            _name_error(family, "family name", "family_name", required=True),
            _name_error(given, "given name", "given_name", required=False),
        )
        if e is not None
    ]
    born = _birth_date((day or "").strip(), (month or "").strip(), (year or "").strip(), today)
    if isinstance(born, FieldError):
        errors.append(born)
    if errors or isinstance(born, FieldError):
        return errors
    return DetailsSearch(family, born, given or None)
