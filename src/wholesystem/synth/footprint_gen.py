"""The Northshire footprint: places, neighbourhoods (PCNs), practices, small areas, partners.

Sizes follow the population asked for: about 40,000 people per neighbourhood and
8,000 per practice, never fewer than one neighbourhood per place and two practices per
neighbourhood. Each practice has small areas ("LSOA-ish", about 1,500 people each)
around it; areas carry the deprivation decile, ethnic mix and postcode sector that
households living there inherit. The footprint file itself is written once the list
sizes at the end date are known (:func:`footprint_file`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wholesystem.footprint.schema import (
    FootprintFile,
    NeighbourhoodSpec,
    OrgSpec,
    OrgType,
    PlaceSpec,
    PracticeSpec,
    SystemSpec,
)

__all__ = ["Footprint", "Source", "build_footprint", "footprint_file"]

SYSTEM_CODE = "QNS"
UNITS = 400
"""Unit postcodes per sector: two letters of 20 (``people.unit_letters``)."""
ICB_CODE = "QNS"
REGISTRY_CODE = "X26"
LOCAL_ID_MODULUS = 99_999_989
"""A prime below 10**8: local ids are an affine bijection of (person, slot) modulo this."""

_PLACES = (
    # code, name, share of population, mean deprivation decile (1 = most deprived),
    # minority-ethnic share, local authority index
    ("NSP1", "Northam", 0.40, 4.2, 0.24, 0),
    ("NSP2", "Ashvale", 0.33, 6.6, 0.07, 1),
    ("NSP3", "Saltmarsh Coast", 0.27, 4.9, 0.05, 1),
)
_LOCAL_AUTHORITIES = (
    ("E06000990", "Northam City Council"),
    ("E10000990", "Northshire County Council"),
)
_HOOD_SUFFIXES = (
    "Central",
    "North",
    "South",
    "East",
    "West",
    "Riverside",
    "Hillside",
    "Parkway",
    "Old Town",
    "Valley",
    "Harbour",
    "Market",
    "Meadows",
    "Abbey",
    "Castle",
    "Bridge",
    "Forest",
    "Moor",
    "Downs",
    "Marsh",
    "Heath",
    "Vale",
    "Lakes",
    "Fields",
    "Docks",
    "Cross",
)
_PRACTICE_WORDS = (
    "Elm Tree",
    "Castle Street",
    "Riverside",
    "The Willows",
    "Oakwood",
    "Station Road",
    "Church Lane",
    "Beechfield",
    "Market Square",
    "Parkside",
    "Hollybank",
    "Meadowbrook",
    "Kingsway",
    "Victoria",
    "Abbey Road",
    "Ashgrove",
    "Brookfield",
    "Cedar House",
    "Fernlea",
    "Greenbank",
    "Harbour View",
    "Highfield",
    "Lime Grove",
    "Millbrook",
    "Northgate",
    "Orchard",
    "Priory",
    "Queens Road",
    "Rosemount",
    "St Mary's",
    "Southgate",
    "Thornbury",
    "Upton",
    "Westfield",
    "Woodlands",
    "Yew Tree",
    "Bridge Street",
    "Hilltop",
    "Lakeside",
    "Moorland",
    "Seaview",
    "Valley",
    "Whitehall",
    "Windmill",
    "Alder",
    "Birch",
    "Chestnut",
    "Hawthorn",
    "Larch",
    "Maple",
    "Rowan",
    "Sycamore",
    "Willow",
    "Heathfield",
)
_PRACTICE_KINDS = ("Surgery", "Medical Centre", "Health Centre", "Medical Practice", "Practice")
_VOLUNTARY = (
    ("VNS01", "Northshire Older People's Forum"),
    ("VNS02", "Northshire Carers Trust"),
    ("VNS03", "Northam Mental Health Alliance"),
    ("VNS04", "Saltmarsh Community Foundation"),
)


@dataclass(frozen=True)
class Source:
    """An organisation that holds patient-level records (and so its own demographics)."""

    code: str
    kind: str  # gp, acute, community, mental_health, social_care, registry
    id_prefix: str
    id_a: int
    id_b: int
    fhir: bool = False


@dataclass(frozen=True)
class Footprint:
    place_codes: tuple[str, ...]
    place_names: tuple[str, ...]
    place_la: npt.NDArray[np.int64]
    la_codes: tuple[str, ...]
    hood_codes: tuple[str, ...]
    hood_names: tuple[str, ...]
    hood_place: npt.NDArray[np.int64]
    practice_codes: tuple[str, ...]
    practice_names: tuple[str, ...]
    practice_hood: npt.NDArray[np.int64]
    practice_fhir: npt.NDArray[np.bool_]
    area_codes: tuple[str, ...]
    area_practice: npt.NDArray[np.int64]
    area_hood: npt.NDArray[np.int64]
    area_place: npt.NDArray[np.int64]
    area_weight: npt.NDArray[np.float64]
    area_decile: npt.NDArray[np.int64]
    area_minority: npt.NDArray[np.float64]
    area_outward: tuple[str, ...]
    area_sector: npt.NDArray[np.int64]
    area_unit_share: npt.NDArray[np.int64]
    """Number of areas sharing this area's postcode sector."""
    area_unit_slot: npt.NDArray[np.int64]
    """This area's position among them (its units are slot, slot + share, ...)."""
    acute_codes: tuple[str, ...]
    acute_by_place: npt.NDArray[np.float64]
    """Row per place: probability that a resident's main acute trust is each acute trust."""
    community_code: str
    mental_health_code: str
    sources: tuple[Source, ...]
    organisations: tuple[OrgSpec, ...]

    @property
    def n_areas(self) -> int:
        return len(self.area_codes)

    def area_units(
        self, area: npt.NDArray[np.int64], unit: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """Map drawn unit numbers (0 .. 399) to units that belong to ``area`` alone.

        Areas of a neighbourhood share its postcode sectors when it has more than nine
        areas; each such area takes the units ``slot, slot + share, ...`` of its sector, so
        every unit postcode lies in exactly one area (as in the ONS postcode directory,
        where a unit postcode belongs to one LSOA). A sector with one area keeps the drawn
        unit unchanged. No random numbers are used.
        """
        share = self.area_unit_share[area]
        slot = self.area_unit_slot[area]
        usable = (UNITS - slot + share - 1) // share
        return np.asarray(slot + share * (unit % usable), dtype=np.int64)

    def source_index(self, code: str) -> int:
        for i, source in enumerate(self.sources):
            if source.code == code:
                return i
        raise KeyError(code)


def build_footprint(people: int, rng: np.random.Generator, fhir_share: float) -> Footprint:
    """The tree and partners for a population of ``people``."""
    place_codes = tuple(p[0] for p in _PLACES)
    hood_codes: list[str] = []
    hood_names: list[str] = []
    hood_place: list[int] = []
    practice_hood: list[int] = []
    practice_size: list[float] = []
    for p_idx, (_code, name, share, _dep, _min, _la) in enumerate(_PLACES):
        place_pop = people * share
        n_hoods = max(1, round(place_pop / 40_000))
        for h in range(n_hoods):
            h_idx = len(hood_codes)
            hood_codes.append(f"U9{h_idx + 1:04d}")
            suffix = _HOOD_SUFFIXES[h % len(_HOOD_SUFFIXES)]
            if h >= len(_HOOD_SUFFIXES):
                suffix = f"{suffix} {h // len(_HOOD_SUFFIXES) + 1}"
            hood_names.append(f"{name} {suffix} PCN")
            hood_place.append(p_idx)
            hood_pop = place_pop / n_hoods
            n_practices = max(2, round(hood_pop / 8_000))
            sizes = rng.lognormal(0.0, 0.35, size=n_practices)
            sizes = sizes / sizes.sum() * hood_pop
            for size in sizes:
                practice_hood.append(h_idx)
                practice_size.append(float(size))
    n_practices = len(practice_hood)
    practice_codes = tuple(f"N9{i + 1:04d}" for i in range(n_practices))
    name_order = rng.permutation(len(_PRACTICE_WORDS) * len(_PRACTICE_KINDS))
    practice_names = tuple(
        f"{_PRACTICE_WORDS[k // len(_PRACTICE_KINDS)]} {_PRACTICE_KINDS[k % len(_PRACTICE_KINDS)]}"
        if i < len(name_order)
        else f"Practice {i + 1}"
        for i, k in enumerate(np.resize(name_order, n_practices))
    )
    n_fhir = 0 if fhir_share <= 0 else max(1, round(n_practices * fhir_share))
    fhir = np.zeros(n_practices, dtype=bool)
    fhir[rng.choice(n_practices, size=min(n_fhir, n_practices), replace=False)] = True

    # small areas around each practice
    area_practice: list[int] = []
    area_weight: list[float] = []
    for p_idx, size in enumerate(practice_size):
        n_areas = max(1, round(size / 1_500))
        w = rng.gamma(8.0, 1.0, size=n_areas)
        for share in w / w.sum():
            area_practice.append(p_idx)
            area_weight.append(size * float(share))
    a_practice = np.array(area_practice, dtype=np.int64)
    p_hood = np.array(practice_hood, dtype=np.int64)
    h_place = np.array(hood_place, dtype=np.int64)
    a_hood = p_hood[a_practice]
    a_place = h_place[a_hood]
    place_dep = np.array([p[3] for p in _PLACES])
    hood_centre = place_dep[h_place] + rng.normal(0.0, 1.4, size=len(hood_codes))
    a_decile = np.clip(
        np.rint(hood_centre[a_hood] + rng.normal(0.0, 1.7, size=len(a_hood))), 1, 10
    ).astype(np.int64)
    place_min = np.array([p[4] for p in _PLACES])
    a_minority = np.clip(
        place_min[a_place] * (1.0 + 0.12 * (5.5 - a_decile)) * rng.lognormal(0, 0.4, len(a_hood)),
        0.01,
        0.85,
    )
    # postcode: district per neighbourhood, sector digit per area
    a_outward = tuple(f"NS{h + 1}" for h in a_hood)
    a_sector = np.zeros(len(a_hood), dtype=np.int64)
    for h in range(len(hood_codes)):
        idx = np.flatnonzero(a_hood == h)
        a_sector[idx] = np.arange(len(idx)) % 9 + 1
    area_codes = tuple(f"E01{990001 + i:06d}" for i in range(len(a_hood)))
    # areas sharing a sector split its unit postcodes between them (see area_units)
    sector_key = a_hood * 10 + a_sector
    a_share = np.zeros(len(a_hood), dtype=np.int64)
    a_slot = np.zeros(len(a_hood), dtype=np.int64)
    for key in np.unique(sector_key):
        idx = np.flatnonzero(sector_key == key)
        a_share[idx] = len(idx)
        a_slot[idx] = np.arange(len(idx))

    acute_codes = ("R9A", "R9B")
    acute_by_place = np.array([[0.95, 0.05], [0.7, 0.3], [0.08, 0.92]])

    def ids() -> tuple[int, int]:
        return int(rng.integers(1, LOCAL_ID_MODULUS)), int(rng.integers(0, LOCAL_ID_MODULUS))

    sources: list[Source] = []
    for i, code in enumerate(practice_codes):
        a, b = ids()
        sources.append(Source(code, "gp", "F" if fhir[i] else "", a, b, bool(fhir[i])))
    for code, prefix in zip(acute_codes, ("A", "K"), strict=True):
        a, b = ids()
        sources.append(Source(code, "acute", prefix, a, b))
    a, b = ids()
    sources.append(Source("R9C", "community", "CH", a, b))
    a, b = ids()
    sources.append(Source("R9D", "mental_health", "MH", a, b))
    for (code, _name), prefix in zip(_LOCAL_AUTHORITIES, ("NC", "SC"), strict=True):
        a, b = ids()
        sources.append(Source(code, "social_care", prefix, a, b))
    a, b = ids()
    sources.append(Source(REGISTRY_CODE, "registry", "DR", a, b))

    place_la = np.array([p[5] for p in _PLACES], dtype=np.int64)
    serves_la = [tuple(place_codes[i] for i in range(3) if place_la[i] == la) for la in range(2)]
    orgs: list[OrgSpec] = [
        OrgSpec(code=ICB_CODE, name="NHS Northshire Integrated Care Board", type=OrgType.icb),
        OrgSpec(
            code="R9A",
            name="Northam University Hospitals NHS Trust",
            type=OrgType.acute_trust,
            serves=("NSP1", "NSP2"),
        ),
        OrgSpec(
            code="R9B",
            name="Ashvale and Saltmarsh Hospitals NHS Foundation Trust",
            type=OrgType.acute_trust,
            serves=("NSP2", "NSP3"),
        ),
        OrgSpec(
            code="R9C", name="Northshire Community Health NHS Trust", type=OrgType.community_trust
        ),
        OrgSpec(
            code="R9D",
            name="Northshire Mental Health NHS Foundation Trust",
            type=OrgType.mental_health_trust,
        ),
    ]
    for (code, name), serves in zip(_LOCAL_AUTHORITIES, serves_la, strict=True):
        orgs.append(OrgSpec(code=code, name=name, type=OrgType.local_authority, serves=serves))
    for code, name in _VOLUNTARY:
        orgs.append(OrgSpec(code=code, name=name, type=OrgType.voluntary_sector))
    for h, code in enumerate(hood_codes):
        orgs.append(
            OrgSpec(
                code=code,
                name=hood_names[h],
                type=OrgType.pcn,
                serves=(place_codes[hood_place[h]],),
            )
        )
    for p, code in enumerate(practice_codes):
        orgs.append(
            OrgSpec(
                code=code,
                name=practice_names[p],
                type=OrgType.gp_practice,
                serves=(place_codes[h_place[p_hood[p]]],),
            )
        )

    return Footprint(
        place_codes=place_codes,
        place_names=tuple(p[1] for p in _PLACES),
        place_la=place_la,
        la_codes=tuple(la[0] for la in _LOCAL_AUTHORITIES),
        hood_codes=tuple(hood_codes),
        hood_names=tuple(hood_names),
        hood_place=h_place,
        practice_codes=practice_codes,
        practice_names=practice_names,
        practice_hood=p_hood,
        practice_fhir=fhir,
        area_codes=area_codes,
        area_practice=a_practice,
        area_hood=a_hood,
        area_place=a_place,
        area_weight=np.array(area_weight, dtype=np.float64),
        area_decile=a_decile,
        area_minority=a_minority,
        area_outward=a_outward,
        area_sector=a_sector,
        area_unit_share=a_share,
        area_unit_slot=a_slot,
        acute_codes=acute_codes,
        acute_by_place=acute_by_place,
        community_code="R9C",
        mental_health_code="R9D",
        sources=tuple(sources),
        organisations=tuple(orgs),
    )


def footprint_file(fp: Footprint, list_sizes: npt.NDArray[np.int64]) -> FootprintFile:
    """The footprint file with each practice's registered list size at the end date."""
    places = []
    for p_idx, code in enumerate(fp.place_codes):
        hoods = []
        for h_idx in np.flatnonzero(fp.hood_place == p_idx):
            practices = tuple(
                PracticeSpec(code=fp.practice_codes[i], population=int(list_sizes[i]))
                for i in np.flatnonzero(fp.practice_hood == h_idx)
            )
            hoods.append(
                NeighbourhoodSpec(
                    code=fp.hood_codes[h_idx], name=fp.hood_names[h_idx], practices=practices
                )
            )
        places.append(
            PlaceSpec(
                code=code,
                name=fp.place_names[p_idx],
                local_authority=fp.la_codes[int(fp.place_la[p_idx])],
                neighbourhoods=tuple(hoods),
            )
        )
    return FootprintFile(
        system=SystemSpec(code=SYSTEM_CODE, name="Northshire Integrated Care System"),
        organisations=fp.organisations,
        places=tuple(places),
    )
