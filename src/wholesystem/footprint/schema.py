"""The footprint file: the contract for describing an ICS's tree and partners.

A footprint file is JSON::

    {
      "format": "wholesystem-footprint/1",
      "system": {"code": "QNS", "name": "Northshire Integrated Care System"},
      "organisations": [{"code": "RX1", "name": "...", "type": "acute_trust",
                         "serves": ["PL1", "PL2"]}, ...],
      "places": [{"code": "PL1", "name": "...", "local_authority": "E06000901",
                  "neighbourhoods": [{"code": "U10001", "name": "...",
                                      "practices": [{"code": "N10001", "population": 8123}]}]}]
    }

A neighbourhood's code is its primary care network's organisation code and a practice's
code is its GP practice organisation code: both must be listed in ``organisations`` with
that type. Populations are registered-list sizes and add up the tree.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = [
    "FOOTPRINT_FORMAT",
    "FootprintFile",
    "NeighbourhoodSpec",
    "OrgSpec",
    "OrgType",
    "PlaceSpec",
    "PracticeSpec",
    "SystemSpec",
]

FOOTPRINT_FORMAT = "wholesystem-footprint/1"

# ODS codes are 3-6 characters, ONS local-authority codes 9; both upper-case alphanumeric.
CODE_PATTERN = re.compile(r"^[A-Z0-9]{2,9}$")
Code = Annotated[str, StringConstraints(pattern=CODE_PATTERN.pattern)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class OrgType(StrEnum):
    """Kinds of partner organisation in an ICS."""

    icb = "icb"
    acute_trust = "acute_trust"
    community_trust = "community_trust"
    mental_health_trust = "mental_health_trust"
    local_authority = "local_authority"
    gp_practice = "gp_practice"
    pcn = "pcn"
    voluntary_sector = "voluntary_sector"

    @property
    def label(self) -> str:
        return _ORG_LABELS[self]


_ORG_LABELS = {
    OrgType.icb: "Integrated care board",
    OrgType.acute_trust: "Acute trust",
    OrgType.community_trust: "Community trust",
    OrgType.mental_health_trust: "Mental health trust",
    OrgType.local_authority: "Local authority",
    OrgType.gp_practice: "GP practice",
    OrgType.pcn: "Primary care network",
    OrgType.voluntary_sector: "Voluntary sector",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SystemSpec(_Strict):
    code: Code
    name: Name


class OrgSpec(_Strict):
    code: Code
    name: Name
    type: OrgType
    serves: tuple[Code, ...] = Field(
        default=(), description="Place codes a provider serves; empty means the whole system."
    )


class PracticeSpec(_Strict):
    code: Code
    population: int = Field(ge=0, description="Registered list size.")


class NeighbourhoodSpec(_Strict):
    code: Code
    name: Name
    practices: tuple[PracticeSpec, ...] = Field(min_length=1)


class PlaceSpec(_Strict):
    code: Code
    name: Name
    local_authority: Code
    neighbourhoods: tuple[NeighbourhoodSpec, ...] = Field(min_length=1)


class FootprintFile(_Strict):
    """A whole footprint file, checked for internal consistency."""

    format: str = FOOTPRINT_FORMAT
    system: SystemSpec
    organisations: tuple[OrgSpec, ...] = Field(min_length=1)
    places: tuple[PlaceSpec, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> FootprintFile:
        if self.format != FOOTPRINT_FORMAT:
            raise ValueError(f"unsupported format {self.format!r}; expected {FOOTPRINT_FORMAT!r}")
        orgs: dict[str, OrgSpec] = {}
        for org in self.organisations:
            if org.code in orgs:
                raise ValueError(f"organisation code {org.code} is listed twice")
            orgs[org.code] = org
        place_codes = {p.code for p in self.places}
        seen_areas: set[str] = {self.system.code}

        def expect(code: str, kind: OrgType, where: str) -> None:
            org = orgs.get(code)
            if org is None:
                raise ValueError(f"{where} refers to unknown organisation code {code}")
            if org.type is not kind:
                raise ValueError(
                    f"{where} refers to {code} ({org.name}), which is a "
                    f"{org.type.label.lower()}, not a {kind.label.lower()}"
                )

        for place in self.places:
            if place.code in seen_areas:
                raise ValueError(f"place code {place.code} is used twice")
            seen_areas.add(place.code)
            expect(place.local_authority, OrgType.local_authority, f"place {place.code}")
            for hood in place.neighbourhoods:
                if hood.code in seen_areas:
                    raise ValueError(f"neighbourhood code {hood.code} is used twice")
                seen_areas.add(hood.code)
                expect(hood.code, OrgType.pcn, f"neighbourhood {hood.code}")
                for practice in hood.practices:
                    if practice.code in seen_areas:
                        raise ValueError(f"practice code {practice.code} is used twice")
                    seen_areas.add(practice.code)
                    expect(practice.code, OrgType.gp_practice, f"practice {practice.code}")
        for org in self.organisations:
            for served in org.serves:
                if served not in place_codes:
                    raise ValueError(f"organisation {org.code} serves unknown place {served}")
        return self
