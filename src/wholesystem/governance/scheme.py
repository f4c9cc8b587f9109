"""The scheme of delegation as data: parse and validate it. Pure: no database, no web."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_SCHEME_PATH",
    "BodyKind",
    "DecisionKind",
    "QuorumRule",
    "Scheme",
    "SchemeError",
    "load_scheme",
    "parse_scheme",
]

DEFAULT_SCHEME_PATH = Path(__file__).resolve().parent / "data" / "scheme_of_delegation.toml"


class SchemeError(ValueError):
    """The scheme of delegation is malformed; the message says where."""


class BodyKind(StrEnum):
    """Kinds of governance body (issue 7, part 2)."""

    system_board = "system_board"
    place_board = "place_board"
    neighbourhood_partnership = "neighbourhood_partnership"
    provider_forum = "provider_forum"
    clinical_reference_group = "clinical_reference_group"
    reference_group = "reference_group"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class DecisionKind(StrEnum):
    """Kinds of decision (issue 7, part 4)."""

    pathway_change = "pathway_change"
    service_change = "service_change"
    investment = "investment"
    policy = "policy"
    commissioning = "commissioning"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


@dataclass(frozen=True)
class QuorumRule:
    """At least ``minimum_voting`` voting members present, one from each required group."""

    minimum_voting: int
    required_groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scheme:
    """A parsed scheme of delegation."""

    name: str
    version: str
    patient_care_kinds: frozenset[DecisionKind]
    accountable_organisation_type: str
    ratification_levels: frozenset[str]
    ratification_threshold: Decimal
    reserved_matters: frozenset[str]
    default_place_limit: Decimal
    place_limits: Mapping[str, Decimal] = field(default_factory=dict)
    quorum: Mapping[BodyKind, QuorumRule] = field(default_factory=dict)

    def place_limit(self, place_code: str) -> Decimal:
        """The delegated financial limit of ``place_code``'s board."""
        return self.place_limits.get(place_code, self.default_place_limit)

    def quorum_for(self, kind: BodyKind) -> QuorumRule:
        """The quorum rule of a kind of body (a body kind the scheme omits is an error)."""
        try:
            return self.quorum[kind]
        except KeyError:
            raise SchemeError(f"the scheme sets no quorum for {kind.label.lower()}") from None


def _money(value: Any, where: str) -> Decimal:
    if not isinstance(value, str | int):
        raise SchemeError(f'{where}: write money as a string of pounds, e.g. "2000000"')
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise SchemeError(f"{where}: {value!r} is not an amount of money") from None
    if not amount.is_finite() or amount < 0:
        raise SchemeError(f"{where}: {value!r} must be zero or more")
    return amount


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SchemeError(f"{where}: expected a list of names")
    return tuple(value)


def parse_scheme(data: Mapping[str, Any]) -> Scheme:
    """Build a :class:`Scheme` from the parsed TOML mapping, refusing anything malformed."""
    head = data.get("scheme")
    if not isinstance(head, Mapping):
        raise SchemeError("the [scheme] table is missing")
    kinds: set[DecisionKind] = set()
    for name in _strings(head.get("patient_care_kinds", []), "scheme.patient_care_kinds"):
        try:
            kinds.add(DecisionKind(name))
        except ValueError:
            raise SchemeError(
                f"scheme.patient_care_kinds: unknown decision kind {name!r}"
            ) from None
    levels = frozenset(_strings(head.get("ratification_levels", []), "scheme.ratification_levels"))
    if not levels <= {"system", "place"}:
        raise SchemeError("scheme.ratification_levels: only 'system' and 'place' are levels")
    limits_table = data.get("place_limits", {})
    if not isinstance(limits_table, Mapping) or "default" not in limits_table:
        raise SchemeError("the [place_limits] table needs a default limit")
    default_limit = _money(limits_table["default"], "place_limits.default")
    limits = {
        str(code): _money(v, f"place_limits.{code}")
        for code, v in limits_table.items()
        if code != "default"
    }
    quorum: dict[BodyKind, QuorumRule] = {}
    for name, rule in dict(data.get("quorum", {})).items():
        try:
            kind = BodyKind(name)
        except ValueError:
            raise SchemeError(f"quorum.{name}: unknown kind of body") from None
        if not isinstance(rule, Mapping):
            raise SchemeError(f"quorum.{name}: expected a table")
        minimum = rule.get("minimum_voting")
        if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < 1:
            raise SchemeError(f"quorum.{name}.minimum_voting: a whole number of at least 1")
        groups = _strings(rule.get("required_groups", []), f"quorum.{name}.required_groups")
        quorum[kind] = QuorumRule(minimum, groups)
    for kind in BodyKind:
        if kind not in quorum:
            raise SchemeError(f"the scheme sets no quorum for {kind.value} ([quorum.{kind.value}])")
    return Scheme(
        name=str(head.get("name", "Scheme of delegation")),
        version=str(head.get("version", "")),
        patient_care_kinds=frozenset(kinds),
        accountable_organisation_type=str(head.get("accountable_organisation_type", "icb")),
        ratification_levels=levels,
        ratification_threshold=_money(
            head.get("ratification_threshold", "0"), "scheme.ratification_threshold"
        ),
        reserved_matters=frozenset(
            _strings(head.get("reserved_matters", []), "scheme.reserved_matters")
        ),
        default_place_limit=default_limit,
        place_limits=limits,
        quorum=quorum,
    )


def load_scheme(path: Path = DEFAULT_SCHEME_PATH) -> Scheme:
    """Read and validate a scheme of delegation TOML file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SchemeError(f"{path.name}: not valid TOML ({exc})") from None
    return parse_scheme(data)
