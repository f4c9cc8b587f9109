"""Orchestration: footprint, then people in fixed-size chunks, then returns and manifest.

Determinism: every random draw comes from a ``numpy`` Generator seeded by a
``SeedSequence(seed, spawn_key=...)`` that depends only on the stage and chunk number,
chunks have a fixed size, and their output is appended in chunk order. Two processes
may generate chunks concurrently; the bytes written are the same as with one.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import shutil
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from wholesystem import __version__
from wholesystem.synth import activity, health, identity, people, returns, truth
from wholesystem.synth.config import SynthConfig
from wholesystem.synth.extracts import (
    DATASET_COLUMNS,
    IDENTITY_COLUMNS,
    RECORD_COLUMNS,
    assemble,
    csv_bytes,
    csv_header,
    extract_path,
)
from wholesystem.synth.footprint_gen import UNITS, Footprint, build_footprint, footprint_file
from wholesystem.synth.nhs import number_pool
from wholesystem.synth.output import MANIFEST, Sink, prepare_output, publish

__all__ = [
    "CHUNK_SIZE",
    "DEPRIVATION_FILE",
    "GENERATOR_VERSION",
    "FileEntry",
    "SynthManifest",
    "deprivation_table",
    "generate",
]

I64 = npt.NDArray[np.int64]
EPOCH = dt.date(1970, 1, 1)
CHUNK_SIZE = 50_000
GENERATOR_VERSION = "1.1.0"
"""Bumped whenever the same config would produce different bytes."""
MANIFEST_FORMAT = "wholesystem-synth-manifest/1"


class FileEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rows: int
    bytes: int
    sha256: str


class SynthManifest(BaseModel):
    """What was generated, from what, and a fingerprint of every file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = MANIFEST_FORMAT
    generator: str = "wholesystem.synth"
    generator_version: str = GENERATOR_VERSION
    package_version: str = __version__
    seed: int
    people: int
    start_date: dt.date
    end_date: dt.date
    noise_scale: float
    fhir_share: float
    identity_noise: dict[str, float]
    summary: dict[str, int]
    files: dict[str, FileEntry]


@dataclass
class _Job:
    config: SynthConfig
    fp: Footprint
    chunk: int
    offset: int
    size: int
    nhs: I64
    months: int
    id_base: int
    """First household number and spell/attendance number of this chunk."""


@dataclass
class _Result:
    parts: list[tuple[str, bytes, int]]
    truth: list[tuple[str, bytes, int]]
    list_sizes: I64
    agg: activity.Aggregates
    summary: dict[str, int]


def _days(day: dt.date) -> int:
    return (day - EPOCH).days


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _months(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _run_chunk(job: _Job) -> _Result:
    config = job.config
    seed = config.seed
    start, end = _days(config.start_date), _days(config.end_date)
    fp = job.fp
    pop = people.build_population(
        _rng(seed, 2, job.chunk, 0),
        job.size,
        job.offset,
        job.offset,
        fp,
        config,
        start,
        end,
        job.nhs,
    )
    seasonal = health.Seasonal(start - 800, end + 2)
    hl = health.simulate_health(
        pop, fp, _rng(seed, 2, job.chunk, 1), config.start_date, end, seasonal
    )
    regs = people.registrations(pop, hl.death, start, end, _rng(seed, 2, job.chunk, 2))
    ctx = activity.Context(start, end, hl.year_bounds, seasonal, job.chunk, job.id_base)
    rows, agg = activity.generate_activity(
        pop, hl, regs, fp, ctx, [_rng(seed, 2, job.chunk, 3 + i) for i in range(5)], job.months
    )
    ident = identity.build_identities(rows, pop, fp, config, _rng(seed, 2, job.chunk, 8), end)
    parts, records = assemble(rows, ident, pop, hl, fp, end)
    first_year = config.start_date.year
    truth_parts = [
        ("truth/people.csv", truth.people_table(pop, hl, regs, fp, end)),
        ("truth/conditions.csv", truth.conditions_table(pop, hl, end)),
        ("truth/risk.csv", truth.risk_table(pop, hl, first_year)),
        ("truth/records.csv", records),
    ]
    active = (regs.start <= end) & (regs.end > end)
    list_sizes = np.bincount(regs.practice[active], minlength=len(fp.practice_codes))
    summary = {
        "households": len(np.unique(pop.hh)),
        "deaths": int((hl.death <= end).sum()),
        "emergency_admissions": len(hl.adm_person),
        "person_years": len(hl.risk.person),
        "source_records": len(ident.person),
        "duplicate_records": int(ident.slot.sum()),
    }
    return _Result(
        parts,
        [(p, csv_bytes(t), t.num_rows) for p, t in truth_parts],
        list_sizes.astype(np.int64),
        agg,
        summary,
    )


def _init_worker() -> None:
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)


def _results(jobs: list[_Job], workers: int) -> Iterator[_Result]:
    """Chunk results in chunk order, computing up to ``workers`` chunks at once."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield _run_chunk(job)
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker) as pool:
        pending: deque[Future[_Result]] = deque()
        todo = iter(jobs)
        for job in todo:
            pending.append(pool.submit(_run_chunk, job))
            if len(pending) >= workers + 1:
                break
        while pending:
            result = pending.popleft().result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(pool.submit(_run_chunk, nxt))
            yield result


DEPRIVATION_FILE = "reference/postcode_deprivation.csv"
DEPRIVATION_COLUMNS = ("postcode", "lsoa_code", "imd_decile")


def deprivation_table(fp: Footprint) -> pa.Table:
    """Every unit postcode of the footprint with its small area and that area's decile.

    Public reference data, not a partner extract: what an ICS builds from the ONS postcode
    directory (postcode to LSOA) and the English Indices of Deprivation (LSOA to IMD
    decile, 1 = most deprived). Each unit postcode belongs to one area
    (:meth:`Footprint.area_units`); rows are in area order, then unit order.
    """
    areas: list[I64] = []
    units: list[I64] = []
    for a in range(fp.n_areas):
        share, slot = int(fp.area_unit_share[a]), int(fp.area_unit_slot[a])
        own = np.arange(slot, UNITS, share, dtype=np.int64)
        areas.append(np.full(len(own), a, dtype=np.int64))
        units.append(own)
    area = np.concatenate(areas)
    unit = np.concatenate(units)
    return pa.table(
        {
            "postcode": identity.postcode_strings(fp, area, unit),
            "lsoa_code": pa.array(fp.area_codes).take(pa.array(area)),
            "imd_decile": pa.array(fp.area_decile[area], pa.int64()),
        }
    )


def _expected_extracts(fp: Footprint) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for s in fp.sources:
        if s.kind == "gp":
            out += (
                [(s.code, "gp_fhir")]
                if s.fhir
                else [(s.code, "gp_patients"), (s.code, "gp_events")]
            )
        elif s.kind == "acute":
            out += [(s.code, "apc"), (s.code, "ecds"), (s.code, "opa")]
        elif s.kind == "community":
            out.append((s.code, "csds"))
        elif s.kind == "mental_health":
            out.append((s.code, "mhsds"))
        elif s.kind == "social_care":
            out.append((s.code, "asc"))
        else:
            out.append((s.code, "deaths"))
    return out


def generate(
    config: SynthConfig,
    out_dir: Path | str,
    progress: bool = True,
    *,
    workers: int | None = None,
) -> SynthManifest:
    """Write a whole synthetic ICS under ``out_dir`` and return its manifest.

    ``out_dir`` must be absent, empty, or a previous output (it is replaced atomically;
    a failed run leaves it as it was). ``workers`` is the number of processes generating
    chunks (default: 1 for up to three chunks of :data:`CHUNK_SIZE` people, otherwise up
    to 2); worker processes are spawned, so a calling script needs the usual
    ``if __name__ == "__main__":`` guard. The bytes written do not depend on ``workers``.
    """
    out_dir = Path(out_dir)
    staging = prepare_output(out_dir)
    try:
        manifest = _generate(config, staging, progress, workers)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    publish(staging, out_dir)
    return manifest


def _generate(
    config: SynthConfig, root: Path, progress: bool, workers: int | None
) -> SynthManifest:
    start, end = _days(config.start_date), _days(config.end_date)
    months = _months(config.start_date, config.end_date)
    n_chunks = (config.people + CHUNK_SIZE - 1) // CHUNK_SIZE
    if workers is None:
        # starting worker processes only pays off beyond a few chunks
        workers = 1 if n_chunks <= 3 else min(2, os.cpu_count() or 1)
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, disable=not progress) as bar:
        t_setup = bar.add_task("Footprint & NHS numbers", total=2)
        t_chunks = bar.add_task("People, health & extracts", total=n_chunks)
        t_returns = bar.add_task("Returns", total=3)
        t_final = bar.add_task("Footprint file & manifest", total=2)
        fp = build_footprint(config.people, _rng(config.seed, 0), config.fhir_share)
        bar.advance(t_setup)
        pool = number_pool(config.people, _rng(config.seed, 1))
        bar.advance(t_setup)
        jobs = [
            _Job(
                config,
                fp,
                k,
                k * CHUNK_SIZE,
                min(CHUNK_SIZE, config.people - k * CHUNK_SIZE),
                pool[k * CHUNK_SIZE : (k + 1) * CHUNK_SIZE],
                months,
                k * 10_000_000,
            )
            for k in range(n_chunks)
        ]
        sink = Sink(root)
        try:
            headers = {
                ds: csv_header((*IDENTITY_COLUMNS, *cols)) for ds, cols in DATASET_COLUMNS.items()
            }
            truth_headers = {
                "truth/people.csv": csv_header(truth.PEOPLE_COLUMNS),
                "truth/conditions.csv": csv_header(truth.CONDITION_COLUMNS),
                "truth/risk.csv": csv_header(truth.RISK_COLUMNS),
                "truth/records.csv": csv_header(RECORD_COLUMNS),
            }
            for rel, header in truth_headers.items():
                sink.ensure(rel, header)
            list_sizes = np.zeros(len(fp.practice_codes), dtype=np.int64)
            agg = activity.Aggregates(days=end - start + 1)
            summary: dict[str, int] = {"people": config.people}
            for result in _results(jobs, workers):
                for rel, body, rows in result.parts:
                    dataset = rel.split("/")[2]
                    sink.append(rel, body, rows, headers.get(dataset, b""))
                for rel, body, rows in result.truth:
                    sink.append(rel, body, rows, truth_headers[rel])
                list_sizes += result.list_sizes
                agg.add(result.agg)
                for k, v in result.summary.items():
                    summary[k] = summary.get(k, 0) + v
                bar.advance(t_chunks)
            for org, dataset in _expected_extracts(fp):
                sink.ensure(extract_path(org, dataset), headers.get(dataset, b""))
            sink.close()

            rng = _rng(config.seed, 3)
            population = int(list_sizes.sum())
            finance, pay = returns.finance_return(fp, agg, population, start, months, rng)
            sink.write_whole(
                "returns/finance.csv",
                csv_header(returns.FINANCE_COLUMNS) + csv_bytes(finance),
                finance.num_rows,
            )
            bar.advance(t_returns)
            workforce = returns.workforce_return(fp, pay, start, months, rng)
            sink.write_whole(
                "returns/workforce.csv",
                csv_header(returns.WORKFORCE_COLUMNS) + csv_bytes(workforce),
                workforce.num_rows,
            )
            bar.advance(t_returns)
            beds = returns.beds_return(agg, start, months)
            sink.write_whole(
                "returns/beds.csv",
                csv_header(returns.BEDS_COLUMNS) + csv_bytes(beds),
                beds.num_rows,
            )
            bar.advance(t_returns)

            fp_json = footprint_file(fp, list_sizes).model_dump_json(indent=2) + "\n"
            sink.write_whole("footprint.json", fp_json.encode(), 1)
            reference = deprivation_table(fp)
            sink.write_whole(
                DEPRIVATION_FILE,
                csv_header(DEPRIVATION_COLUMNS) + csv_bytes(reference),
                reference.num_rows,
            )
            bar.advance(t_final)
            summary["registered_at_end"] = population
            summary["practices"] = len(fp.practice_codes)
            summary["fhir_practices"] = int(fp.practice_fhir.sum())
            summary["neighbourhoods"] = len(fp.hood_codes)
            manifest = SynthManifest(
                seed=config.seed,
                people=config.people,
                start_date=config.start_date,
                end_date=config.end_date,
                noise_scale=config.noise_scale,
                fhir_share=config.fhir_share,
                identity_noise=config.identity_noise.model_dump(),
                summary=dict(sorted(summary.items())),
                files={
                    rel: FileEntry(rows=info.rows, bytes=info.bytes, sha256=info.sha256)
                    for rel, info in sorted(sink.files.items())
                },
            )
            (root / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n")
            bar.advance(t_final)
        finally:
            sink.close()
    return manifest


def manifest_summary(manifest: SynthManifest) -> dict[str, int]:
    """Rows written per dataset (summed over organisations)."""
    totals: dict[str, int] = {}
    for rel, entry in manifest.files.items():
        parts = rel.split("/")
        key = parts[2] if parts[0] == "extracts" else rel
        totals[key] = totals.get(key, 0) + entry.rows
    return dict(sorted(totals.items()))
