"""Partner extracts: identity columns + dataset columns, one CSV per organisation and dataset.

The column lists here are the contract in ``DESIGN.md`` ("Partner extract formats"):
every patient-level file starts with :data:`IDENTITY_COLUMNS` and continues with the
dataset's own columns in :data:`DATASET_COLUMNS`.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pcsv

from wholesystem.synth.activity import Rows
from wholesystem.synth.columns import cat_array
from wholesystem.synth.fhir import FhirInput, build_bundles
from wholesystem.synth.footprint_gen import Footprint
from wholesystem.synth.health import Health
from wholesystem.synth.identity import IDENTITY_COLUMNS, Identities
from wholesystem.synth.people import FAR, Population
from wholesystem.synth.truth import person_ids

__all__ = [
    "DATASETS",
    "DATASET_COLUMNS",
    "IDENTITY_COLUMNS",
    "RECORD_COLUMNS",
    "assemble",
    "csv_bytes",
    "csv_header",
    "extract_path",
]

I64 = npt.NDArray[np.int64]

DATASET_COLUMNS: dict[str, tuple[str, ...]] = {
    "gp_patients": ("practice_code", "registration_date", "ethnicity", "deregistration_date"),
    "gp_events": ("event_date", "snomed_code", "value", "unit"),
    "apc": (
        "spell_id",
        "admission_date",
        "discharge_date",
        "admission_method",
        "primary_diagnosis",
        "secondary_diagnoses",
        "procedures",
        "discharge_destination",
        "cost",
    ),
    "ecds": (
        "attendance_id",
        "arrival",
        "departure",
        "acuity",
        "chief_complaint",
        "discharge_destination",
    ),
    "opa": ("appointment_date", "treatment_function", "first_attendance", "attended"),
    "csds": ("contact_date", "team_type", "contact_type"),
    "mhsds": ("contact_date", "service_type", "inpatient", "out_of_area"),
    "asc": ("request_date", "service_type", "start_date", "end_date", "weekly_cost"),
    "deaths": ("date_of_death", "underlying_cause"),
}
DATASETS = (
    "gp_patients",
    "gp_events",
    "gp_fhir",
    "apc",
    "ecds",
    "opa",
    "csds",
    "mhsds",
    "asc",
    "deaths",
)
RECORD_COLUMNS = ("dataset", "org_code", "local_patient_id", "person_id")
_WRITE = pcsv.WriteOptions(include_header=False, quoting_style="none")


def extract_path(org: str, dataset: str) -> str:
    ext = "ndjson" if dataset == "gp_fhir" else "csv"
    return f"extracts/{org}/{dataset}/{dataset}.{ext}"


def csv_header(columns: tuple[str, ...]) -> bytes:
    return (",".join(columns) + "\n").encode()


def csv_bytes(table: pa.Table) -> bytes:
    """CSV body (no header): UTF-8, ISO dates, empty cells for nulls, no quoting needed."""
    if table.num_rows == 0:
        return b""
    sink = pa.BufferOutputStream()
    pcsv.write_csv(table, sink, _WRITE)
    return bytes(sink.getvalue().to_pybytes())


def assemble(
    rows: list[Rows],
    ident: Identities,
    pop: Population,
    health: Health,
    fp: Footprint,
    end: int,
) -> tuple[list[tuple[str, bytes, int]], pa.Table]:
    """The chunk's extract bodies and its truth/records rows."""
    parts: list[tuple[str, bytes, int]] = []
    codes_ = tuple(s.code for s in fp.sources)
    is_fhir = np.array([s.fhir for s in fp.sources], dtype=bool)
    rec_ds: list[I64] = []
    rec_id: list[I64] = []
    fhir_patients: tuple[Rows, I64] | None = None
    fhir_events: tuple[Rows, I64] | None = None
    for r, rec in zip(rows, ident.row_record, strict=True):
        if r.dataset == "gp_patients" and len(ident.gp_dup_rows):
            r = _concat(r, r.take(ident.gp_dup_rows))
            rec = np.concatenate([rec, ident.gp_dup_records])
        order = np.lexsort((r.person, r.first, r.source))
        r = r.take(order)
        rec = rec[order]
        if r.dataset in ("gp_patients", "gp_events"):
            fh = is_fhir[r.source]
            if fh.any():
                sel = np.flatnonzero(fh)
                if r.dataset == "gp_patients":
                    fhir_patients = (r.take(sel), rec[sel])
                else:
                    fhir_events = (r.take(sel), rec[sel])
                rec_ds.append(np.full(len(sel), DATASETS.index("gp_fhir"), dtype=np.int64))
                rec_id.append(rec[sel])
                keep = np.flatnonzero(~fh)
                r = r.take(keep)
                rec = rec[keep]
        rec_ds.append(np.full(len(rec), DATASETS.index(r.dataset), dtype=np.int64))
        rec_id.append(rec)
        if len(r) == 0:
            continue
        take = pa.array(rec)
        arrays = [ident.columns[c].take(take) for c in IDENTITY_COLUMNS]
        arrays += [r.cols[c].build() for c in DATASET_COLUMNS[r.dataset]]
        table = pa.Table.from_arrays(arrays, names=[*IDENTITY_COLUMNS, *DATASET_COLUMNS[r.dataset]])
        bounds = np.flatnonzero(np.concatenate([[True], r.source[1:] != r.source[:-1], [True]]))
        for a, b in itertools.pairwise(bounds):
            org = codes_[int(r.source[a])]
            body = csv_bytes(table.slice(int(a), int(b - a)))
            parts.append((extract_path(org, r.dataset), body, int(b - a)))
    # FHIR practices
    if fhir_patients is not None:
        pr, prec = fhir_patients
        ev_rows, ev_rec = fhir_events if fhir_events is not None else (None, np.zeros(0, np.int64))
        death = health.death[pr.person]
        dereg = np.asarray(pr.cols["deregistration_date"].values)
        inp = FhirInput(
            p_record=prec,
            p_source=pr.source,
            p_start=np.asarray(pr.cols["registration_date"].values),
            p_end=dereg,
            p_ethnicity=np.asarray(pr.cols["ethnicity"].values),
            p_death=np.where((death <= end) & (dereg >= death), death, FAR),
            e_record=ev_rec,
            e_day=ev_rows.first if ev_rows is not None else np.zeros(0, np.int64),
            e_kind=ev_rows.hidden["kind"] if ev_rows is not None else np.zeros(0, np.int64),
            e_value=(
                ev_rows.cols["value"].build() if ev_rows is not None else pa.array([], pa.string())
            ),
        )
        for src, lines in build_bundles(inp, ident, codes_, end).items():
            buf = lines.buffers()
            offsets = np.frombuffer(
                buf[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4
            )
            data = buf[2]
            lo, hi = int(offsets[0]), int(offsets[-1])
            body = data.slice(lo, hi - lo).to_pybytes() if data is not None else b""
            parts.append((extract_path(codes_[src], "gp_fhir"), body, len(lines)))
    # truth/records: one row per (dataset, org, local id)
    ds = np.concatenate(rec_ds) if rec_ds else np.zeros(0, np.int64)
    rid = np.concatenate(rec_id) if rec_id else np.zeros(0, np.int64)
    key = np.unique(ds * (len(ident.person) + 1) + rid)
    ds_u = key // (len(ident.person) + 1)
    rid_u = key % (len(ident.person) + 1)
    order = np.lexsort((ident.local_number[rid_u], ident.source[rid_u], ds_u))
    ds_u, rid_u = ds_u[order], rid_u[order]
    records = pa.table(
        {
            "dataset": cat_array(ds_u, DATASETS),
            "org_code": cat_array(ident.source[rid_u], codes_),
            "local_patient_id": ident.columns["local_patient_id"].take(pa.array(rid_u)),
            "person_id": person_ids(pop.pid[ident.person[rid_u]]),
        }
    )
    return parts, records


def _concat(a: Rows, b: Rows) -> Rows:
    return Rows(
        a.dataset,
        np.concatenate([a.person, b.person]),
        np.concatenate([a.source, b.source]),
        np.concatenate([a.first, b.first]),
        np.concatenate([a.last, b.last]),
        {k: a.cols[k].concat(b.cols[k]) for k in a.cols},
        {k: np.concatenate([a.hidden[k], b.hidden[k]]) for k in a.hidden},
    )
