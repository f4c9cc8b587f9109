"""FHIR R4 export for practices whose system sends FHIR instead of CSV.

One ``Bundle`` of type ``collection`` per patient record per line (NDJSON), holding:

* ``Patient``: UK Core NHS number identifier (``https://fhir.nhs.uk/Id/nhs-number``, with
  the NHSNumberVerificationStatus extension), the practice's local identifier, name,
  gender, birth date, postcode, ethnic category (UK Core extension), registering
  practice, death date, and the registration period (an extension,
  :data:`REGISTRATION_EXTENSION`, since R4 Patient has no element for it);
* ``Condition`` for diagnoses and coded findings (frailty, smoking, isolation...),
  SNOMED CT coded;
* ``Observation`` for measurements, SNOMED CT coded, ``valueQuantity`` in UCUM;
* ``MedicationStatement`` for the first-line treatment of each coded condition;
* ``Encounter`` for each review at which observations were taken.

The JSON text is assembled column-wise with Arrow string kernels (no per-patient Python),
which is safe because every value is generated here: codes, dates, numbers and names
from a vocabulary that contains no characters needing JSON escapes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from wholesystem.synth import codes
from wholesystem.synth.activity import GP_EVENT_IS_CONDITION, GP_EVENT_KINDS
from wholesystem.synth.columns import cat_array, date_array
from wholesystem.synth.identity import Identities

__all__ = ["NHS_NUMBER_SYSTEM", "REGISTRATION_EXTENSION", "FhirInput", "build_bundles"]

I64 = npt.NDArray[np.int64]

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
VERIFICATION_EXTENSION = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
)
VERIFICATION_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland"
ETHNIC_EXTENSION = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
ETHNIC_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
REGISTRATION_EXTENSION = "https://fhir.northshire.example/StructureDefinition/registration-period"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"

_MEDICATION = {i: c.medication for i, c in enumerate(codes.CONDITIONS) if c.medication}
_VITAL = {codes.OBSERVATIONS[k].snomed for k in ("systolic", "diastolic", "bmi", "weight")}


@dataclass
class FhirInput:
    """Patient rows and event rows of the FHIR practices in one chunk."""

    p_record: I64
    p_source: I64
    p_start: I64
    p_end: I64
    p_ethnicity: I64
    p_death: I64
    e_record: I64
    e_day: I64
    e_kind: I64
    e_value: pa.Array


def _j(*parts: object) -> pa.Array:
    """Concatenate strings/arrays element-wise (nulls propagate)."""
    return pc.binary_join_element_wise(*parts, "")


def _opt(*parts: object) -> pa.Array:
    """Like :func:`_j` but a null anywhere gives an empty string (optional JSON member)."""
    return pc.fill_null(_j(*parts), "")


def build_bundles(
    inp: FhirInput, ident: Identities, source_codes: tuple[str, ...], end_day: int
) -> dict[int, pa.Array]:
    """NDJSON lines (one Bundle per patient record) per source index."""
    if len(inp.p_record) == 0:
        return {}
    # patients in (source, local number) order
    p_order = np.lexsort((ident.local_number[inp.p_record], inp.p_source))
    rec = inp.p_record[p_order]
    src = inp.p_source[p_order]
    start = inp.p_start[p_order]
    stop = inp.p_end[p_order]
    eth = inp.p_ethnicity[p_order]
    death = inp.p_death[p_order]
    n_p = len(rec)
    position = np.full(int(rec.max()) + 1, -1, dtype=np.int64)
    position[rec] = np.arange(n_p)

    take = pa.array(rec)
    cols = {k: v.take(take) for k, v in ident.columns.items()}
    lid = cols["local_patient_id"]
    org = cat_array(src, source_codes)
    base = _j("https://fhir.", pc.utf8_lower(org), ".northshire.example/R4/")
    status = ident.nhs_status[rec]
    nhs_digits = pc.replace_substring(cols["nhs_number"], " ", "")
    verification = cat_array(np.where(status == 0, 0, 1), ("01", "02"))
    v_display = cat_array(
        np.where(status == 0, 0, 1),
        ("Number present and verified", "Number present but not traced"),
    )
    nhs_ident = _opt(
        '{"extension":[{"url":"',
        VERIFICATION_EXTENSION,
        '","valueCodeableConcept":{"coding":[{"system":"',
        VERIFICATION_SYSTEM,
        '","code":"',
        verification,
        '","display":"',
        v_display,
        '"}]}}],"system":"',
        NHS_NUMBER_SYSTEM,
        '","value":"',
        nhs_digits,
        '"},',
    )
    gender = pc.fill_null(
        cat_array(
            np.where(
                pc.is_null(cols["sex"]).to_numpy(zero_copy_only=False),
                2,
                np.where(pc.equal(cols["sex"], "M").to_numpy(zero_copy_only=False), 0, 1),
            ),
            ("male", "female", "unknown"),
        ),
        "unknown",
    )
    dob = pc.cast(cols["date_of_birth"], pa.string())
    address = _opt(',"address":[{"use":"home","postalCode":"', cols["postcode"], '"}]')
    eth_code = cat_array(eth, (*codes.ETHNIC_CODES, "Z"))
    ethnic = _opt(
        '{"url":"',
        ETHNIC_EXTENSION,
        '","valueCodeableConcept":{"coding":[{"system":"',
        ETHNIC_SYSTEM,
        '","code":"',
        eth_code,
        '"}]}},',
    )
    period_end = _opt(',"end":"', pc.cast(date_array(stop), pa.string()), '"')
    extension = _j(
        ',"extension":[',
        ethnic,
        '{"url":"',
        REGISTRATION_EXTENSION,
        '","valuePeriod":{"start":"',
        pc.cast(date_array(start), pa.string()),
        '"',
        period_end,
        "}}]",
    )
    active = cat_array((stop < 50_000_000).astype(np.int64), ("true", "false"))
    deceased = _opt(',"deceasedDateTime":"', pc.cast(date_array(death), pa.string()), '"')
    patient = _j(
        '{"fullUrl":"',
        base,
        "Patient/",
        lid,
        '","resource":{"resourceType":"Patient","id":"',
        lid,
        '","meta":{"profile":["https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"]}',
        extension,
        ',"identifier":[',
        nhs_ident,
        '{"system":"',
        base,
        'Id/local-patient-id","value":"',
        lid,
        '"}],"active":',
        active,
        ',"name":[{"use":"official","family":"',
        cols["family_name"],
        '","given":["',
        cols["given_name"],
        '"]}],"gender":"',
        gender,
        '","birthDate":"',
        dob,
        '"',
        deceased,
        address,
        ',"generalPractitioner":[{"identifier":{"system":"',
        ODS_SYSTEM,
        '","value":"',
        org,
        '"}}]}}',
    )
    # ---- clinical resources -------------------------------------------------------------
    e_pos = position[inp.e_record]
    e_order = np.lexsort((inp.e_kind, inp.e_day, e_pos))
    e_pos = e_pos[e_order]
    e_day = inp.e_day[e_order]
    e_kind = inp.e_kind[e_order]
    e_value = inp.e_value.take(pa.array(e_order))
    e_lid = lid.take(pa.array(e_pos))
    e_base = base.take(pa.array(e_pos))
    e_date = pc.cast(date_array(e_day), pa.string())
    code = cat_array(e_kind, tuple(k[0] for k in GP_EVENT_KINDS))
    display = cat_array(e_kind, tuple(k[1] for k in GP_EVENT_KINDS))
    unit = cat_array(e_kind, tuple(k[2] for k in GP_EVENT_KINDS))
    seq = pc.cast(pa.array(np.arange(len(e_pos))), pa.string())
    is_cond = GP_EVENT_IS_CONDITION[e_kind]
    coding = _j(
        '{"coding":[{"system":"', SNOMED, '","code":"', code, '","display":"', display, '"}]}'
    )
    subject = _j('"subject":{"reference":"Patient/', e_lid, '"}')
    condition = _j(
        '{"fullUrl":"',
        e_base,
        "Condition/",
        e_lid,
        "-c",
        seq,
        '","resource":{"resourceType":"Condition","id":"',
        e_lid,
        "-c",
        seq,
        '","clinicalStatus":{"coding":[{"system":'
        '"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},'
        '"verificationStatus":{"coding":[{"system":'
        '"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]},'
        '"category":[{"coding":[{"system":'
        '"http://terminology.hl7.org/CodeSystem/condition-category",'
        '"code":"problem-list-item"}]}],"code":',
        coding,
        ",",
        subject,
        ',"onsetDateTime":"',
        e_date,
        '","recordedDate":"',
        e_date,
        '"}}',
    )
    # encounters: one per (patient, day) with observations
    obs_rows = np.flatnonzero(~is_cond)
    enc_key = e_pos[obs_rows] * 100_000 + e_day[obs_rows]
    _, enc_first, enc_inv = np.unique(enc_key, return_index=True, return_inverse=True)
    enc_row = obs_rows[enc_first]  # representative event row per encounter
    enc_of_obs = np.full(len(e_pos), -1, dtype=np.int64)
    enc_of_obs[obs_rows] = enc_inv.ravel()
    enc_id_all = pc.cast(pa.array(np.maximum(enc_of_obs, 0)), pa.string())
    category = cat_array(
        np.isin(code.to_numpy(zero_copy_only=False), list(_VITAL)).astype(np.int64),
        ("laboratory", "vital-signs"),
    )
    observation = _j(
        '{"fullUrl":"',
        e_base,
        "Observation/",
        e_lid,
        "-o",
        seq,
        '","resource":{"resourceType":"Observation","id":"',
        e_lid,
        "-o",
        seq,
        '","status":"final","category":[{"coding":[{"system":'
        '"http://terminology.hl7.org/CodeSystem/observation-category","code":"',
        category,
        '"}]}],"code":',
        coding,
        ",",
        subject,
        ',"encounter":{"reference":"Encounter/',
        e_lid,
        "-e",
        enc_id_all,
        '"},"effectiveDateTime":"',
        e_date,
        '","valueQuantity":{"value":',
        e_value,
        ',"unit":"',
        unit,
        '","system":"',
        UCUM,
        '","code":"',
        unit,
        '"}}}',
    )
    clinical = pc.if_else(pa.array(is_cond), condition, observation)
    # medication statements for coded conditions with a first-line drug
    med_rows = np.flatnonzero(np.isin(e_kind, list(_MEDICATION)))
    med_kind = e_kind[med_rows]
    med_code = cat_array(
        med_kind, tuple(_MEDICATION.get(i, ("", ""))[0] for i in range(len(GP_EVENT_KINDS)))
    )
    med_disp = cat_array(
        med_kind, tuple(_MEDICATION.get(i, ("", ""))[1] for i in range(len(GP_EVENT_KINDS)))
    )
    m_lid = e_lid.take(pa.array(med_rows))
    m_seq = seq.take(pa.array(med_rows))
    m_date = e_date.take(pa.array(med_rows))
    medication = _j(
        '{"fullUrl":"',
        e_base.take(pa.array(med_rows)),
        "MedicationStatement/",
        m_lid,
        "-m",
        m_seq,
        '","resource":{"resourceType":"MedicationStatement","id":"',
        m_lid,
        "-m",
        m_seq,
        '","status":"active","medicationCodeableConcept":{"coding":[{"system":"',
        SNOMED,
        '","code":"',
        med_code,
        '","display":"',
        med_disp,
        '"}]},"subject":{"reference":"Patient/',
        m_lid,
        '"},"effectivePeriod":{"start":"',
        m_date,
        '"},"dateAsserted":"',
        m_date,
        '"}}',
    )
    en_lid = e_lid.take(pa.array(enc_row))
    en_date = e_date.take(pa.array(enc_row))
    en_id = pc.cast(pa.array(np.arange(len(enc_row))), pa.string())
    encounter = _j(
        '{"fullUrl":"',
        e_base.take(pa.array(enc_row)),
        "Encounter/",
        en_lid,
        "-e",
        en_id,
        '","resource":{"resourceType":"Encounter","id":"',
        en_lid,
        "-e",
        en_id,
        '","status":"finished","class":{"system":'
        '"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB",'
        '"display":"ambulatory"},"type":[{"coding":[{"system":"',
        SNOMED,
        '","code":"',
        codes.ENCOUNTER_TYPE[0],
        '","display":"',
        codes.ENCOUNTER_TYPE[1],
        '"}]}],"subject":{"reference":"Patient/',
        en_lid,
        '"},"period":{"start":"',
        en_date,
        '","end":"',
        en_date,
        '"}}}',
    )
    # ---- assemble: Patient, then clinical (by date), medications, encounters -------------
    entries = pa.concat_arrays([patient, clinical, medication, encounter])
    owner = np.concatenate([np.arange(n_p), e_pos, e_pos[med_rows], e_pos[enc_row]])
    rank = np.concatenate(
        [
            np.zeros(n_p, np.int64),
            np.ones(len(e_pos), np.int64),
            np.full(len(med_rows), 2, np.int64),
            np.full(len(enc_row), 3, np.int64),
        ]
    )
    within = np.concatenate([np.zeros(n_p, np.int64), np.arange(len(e_pos)), med_rows, enc_row])
    order = np.lexsort((within, rank, owner))
    entries = entries.take(pa.array(order))
    counts = np.bincount(owner, minlength=n_p)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), entries), ",")
    stamp = np.datetime64(end_day, "D").astype(str) + "T23:59:59+00:00"
    lines = _j(
        '{"resourceType":"Bundle","id":"',
        lid,
        '","type":"collection","timestamp":"',
        stamp,
        '","entry":[',
        joined,
        "]}\n",
    )
    out: dict[int, pa.Array] = {}
    bounds = np.flatnonzero(np.concatenate([[True], src[1:] != src[:-1], [True]]))
    for a, b in itertools.pairwise(bounds):
        out[int(src[a])] = lines.slice(int(a), int(b - a))
    return out
