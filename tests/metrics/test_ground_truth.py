"""Published numbers against an independent recomputation from the synthetic ICS's own files.

A 400-person synthetic ICS with clean identities (noise scale 0, so every record carries its
person's NHS number) goes through the real pipeline: footprint, ingest, person index, linked
lake tables, returns, publish. Then plain Python, reading only the partner extract CSVs and
the returns (never the lake or the metrics code), recomputes:

* A&E 4-hour and 12-hour performance per trust and month (from ``ecds.csv``);
* A&E attendances per 1,000 registered people and recorded diabetes prevalence per
  neighbourhood and month (registrations from ``gp_patients.csv`` joined by NHS number,
  deaths from ``deaths.csv``, diabetes codes from ``gp_events.csv``), for neighbourhoods
  whose practices all send CSV (a FHIR practice's bundles are not re-parsed here);
* the position against plan year to date per organisation (from ``finance.csv``) and G&A
  bed occupancy (from ``beds.csv``).
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from wholesystem.footprint.pipeline import load_footprint_file
from wholesystem.metrics.compute import CONDITION_CODES
from wholesystem.metrics.models import MetricValue
from wholesystem.metrics.pipeline import load_returns_step, publish
from wholesystem.record.ingest import ingest_path
from wholesystem.record.linkage.pipeline import build_person_index
from wholesystem.record.linked import build_linked_tables
from wholesystem.store.db import make_engine, make_session_factory, session_scope, upgrade
from wholesystem.store.lake import Lake
from wholesystem.synth import SynthConfig, generate

pytestmark = pytest.mark.slow
Q = Decimal("0.000001")
Key = tuple[str, str, date]  # metric, area, period


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


def _ratio(num: int | Decimal, den: int | Decimal, scale: int) -> Decimal | None:
    if den == 0:
        return None
    return (Decimal(num) * scale / Decimal(den)).quantize(Q, ROUND_HALF_EVEN)


def _month(day: date) -> date:
    return day.replace(day=1)


def _month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


class Ics:
    def __init__(self, root: Path, published: dict[Key, Decimal | None], cut_off: date) -> None:
        self.root = root
        self.published = published
        self.cut_off = cut_off
        self.footprint = json.loads((root / "footprint.json").read_text())

    def extracts(self, dataset: str) -> Iterator[tuple[str, dict[str, str]]]:
        for path in sorted((self.root / "extracts").glob(f"*/{dataset}/*.csv")):
            org = path.parent.parent.name
            for row in _rows(path):
                yield org, row


@pytest.fixture(scope="module")
def ics(tmp_path_factory: pytest.TempPathFactory) -> Ics:
    root = tmp_path_factory.mktemp("truth")
    synth = root / "ics"
    generate(SynthConfig(people=400, seed=7, noise_scale=0.0), synth)
    url = f"sqlite:///{root / 'db.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    lake = Lake(root / "lake")
    try:
        load_footprint_file(factory, synth / "footprint.json")
        ingest_path(factory, lake, synth / "extracts", actor="test")
        build_person_index(factory, lake, actor="test")
        build_linked_tables(factory, lake, actor="test")
        load_returns_step(factory, lake, synth / "returns", actor="test")
        info = publish(factory, lake, actor="test")
        with session_scope(factory) as s:
            published = {
                (v.metric_id, v.area_code, v.period): v.value
                for v in s.scalars(select(MetricValue).where(MetricValue.snapshot_id == info.id))
            }
    finally:
        engine.dispose()
    return Ics(synth, published, info.data_cut_off)


def _check(ics: Ics, expected: dict[Key, Decimal | None]) -> None:
    assert expected
    missing = [k for k in expected if k not in ics.published]
    assert not missing, missing[:5]
    wrong = {k: (v, ics.published[k]) for k, v in expected.items() if ics.published[k] != v}
    assert not wrong, list(wrong.items())[:5]


def test_ae_four_and_twelve_hours_per_trust(ics: Ics) -> None:
    counts: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0, 0])
    for org, row in ics.extracts("ecds"):
        if not row["departure"]:
            continue
        arrival = datetime.fromisoformat(row["arrival"])
        stay = datetime.fromisoformat(row["departure"]) - arrival
        c = counts[(org, _month(arrival.date()))]
        c[0] += stay <= timedelta(hours=4)
        c[1] += stay >= timedelta(hours=12)
        c[2] += 1
    expected: dict[Key, Decimal | None] = {}
    for (org, month), (four, twelve, n) in counts.items():
        if _month_end(month) <= ics.cut_off:
            expected[("ae_4hr", org, month)] = _ratio(four, n, 100)
            expected[("ae_12hr", org, month)] = _ratio(twelve, n, 100)
    _check(ics, expected)


def _csv_neighbourhoods(ics: Ics) -> dict[str, str]:
    """practice -> neighbourhood, for neighbourhoods whose practices all send CSV."""
    fhir = {p.parent.parent.name for p in (ics.root / "extracts").glob("*/gp_fhir/*")}
    out: dict[str, str] = {}
    for place in ics.footprint["places"]:
        for hood in place["neighbourhoods"]:
            codes = [p["code"] for p in hood["practices"]]
            if not fhir & set(codes):
                out |= {code: hood["code"] for code in codes}
    assert out
    return out


def _registrations(ics: Ics) -> dict[str, list[tuple[str, date, date | None]]]:
    """NHS number -> [(practice, start, end)], each ended by the next one or death."""
    deaths = {
        row["nhs_number"]: date.fromisoformat(row["date_of_death"])
        for _, row in ics.extracts("deaths")
    }
    raw: dict[str, list[tuple[date, str, date | None]]] = defaultdict(list)
    for _, row in ics.extracts("gp_patients"):
        end = row["deregistration_date"]
        raw[row["nhs_number"]].append(
            (
                date.fromisoformat(row["registration_date"]),
                row["practice_code"],
                date.fromisoformat(end) if end else None,
            )
        )
    out: dict[str, list[tuple[str, date, date | None]]] = {}
    for nhs, regs in raw.items():
        regs.sort()
        spans = []
        for i, (start, practice, end) in enumerate(regs):
            ends = [e for e in (end, deaths.get(nhs)) if e is not None]
            if i + 1 < len(regs):
                ends.append(regs[i + 1][0])
            stop = min(ends) if ends else None
            if stop is None or stop > start:
                spans.append((practice, start, stop))
        out[nhs] = spans
    return out


def _practice_on(spans: list[tuple[str, date, date | None]], day: date) -> str | None:
    for practice, start, stop in spans:
        if start <= day and (stop is None or day < stop):
            return practice
    return None


def _months(ics: Ics, first: date) -> list[date]:
    months, m = [], first
    while _month_end(m) <= ics.cut_off:
        months.append(m)
        m = (m + timedelta(days=32)).replace(day=1)
    return months


def test_registered_population_rates_and_prevalence(ics: Ics) -> None:
    hood_of = _csv_neighbourhoods(ics)
    regs = _registrations(ics)
    attendances = [
        (row["nhs_number"], datetime.fromisoformat(row["arrival"]).date())
        for _, row in ics.extracts("ecds")
    ]
    first_ae = min(day for _, day in attendances)
    codes = set(CONDITION_CODES["diabetes"])
    coded: dict[str, date] = {}
    for _org, row in ics.extracts("gp_events"):
        if row["snomed_code"] in codes:
            day = date.fromisoformat(row["event_date"])
            coded[row["nhs_number"]] = min(day, coded.get(row["nhs_number"], day))
    expected: dict[Key, Decimal | None] = {}
    for month in _months(ics, _month(first_ae)):
        last = _month_end(month)
        population: dict[str, int] = defaultdict(int)
        diabetic: dict[str, int] = defaultdict(int)
        ae: dict[str, int] = defaultdict(int)
        for nhs, spans in regs.items():
            hood = hood_of.get(_practice_on(spans, last) or "")
            if hood:
                population[hood] += 1
                diabetic[hood] += nhs in coded and coded[nhs] <= last
        for nhs, day in attendances:
            if _month(day) == month:
                hood = hood_of.get(_practice_on(regs.get(nhs, []), day) or "")
                if hood:
                    ae[hood] += 1
        for hood in set(hood_of.values()):
            expected[("ae_attendances_rate", hood, month)] = _ratio(
                ae[hood], population[hood], 1000
            )
            expected[("diabetes_prevalence", hood, month)] = _ratio(
                diabetic[hood], population[hood], 100
            )
    _check(ics, expected)


def test_finance_position_and_bed_occupancy_from_the_returns(ics: Ics) -> None:
    signs = {"income": 1, "pay_medical": -1, "pay_nursing": -1, "pay_other": -1, "non_pay": -1}
    monthly: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for row in _rows(ics.root / "returns" / "finance.csv"):
        sign = signs.get(row["category"], 0)
        month = date.fromisoformat(row["month"] + "-01")
        monthly[(row["org_code"], month)] += sign * (Decimal(row["actual"]) - Decimal(row["plan"]))
    system = ics.footprint["system"]["code"]
    expected: dict[Key, Decimal | None] = {}
    running: dict[str, Decimal] = defaultdict(Decimal)
    system_total: dict[date, Decimal] = defaultdict(Decimal)
    for (org, month), variance in sorted(monthly.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        if month.month == 4:
            running[org] = Decimal(0)
        running[org] += variance
        system_total[month] += running[org]
        if org != system:
            expected[("finance_ytd_variance", org, month)] = running[org].quantize(Q)
    for month, total in system_total.items():
        expected[("finance_ytd_variance", system, month)] = total.quantize(Q)
    acute = {o["code"] for o in ics.footprint["organisations"] if o["type"] == "acute_trust"}
    for row in _rows(ics.root / "returns" / "beds.csv"):
        if row["org_code"] in acute:
            month = date.fromisoformat(row["month"] + "-01")
            beds = int(row["core_beds"]) + int(row["escalation_beds"])
            expected[("bed_occupancy", row["org_code"], month)] = _ratio(
                int(row["occupied"]), beds, 100
            )
    _check(ics, expected)
