"""Writes the bad-input corpus under corpus/ (run once; the files are kept in the repository).

Usage: .venv/bin/python tests/record/make_corpus.py
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).parent / "corpus"
ID = "nhs_number,local_patient_id,given_name,family_name,date_of_birth,sex,postcode"
APC = ID + (
    ",spell_id,admission_date,discharge_date,admission_method,primary_diagnosis,"
    "secondary_diagnoses,procedures,discharge_destination,cost"
)
ECDS = ID + ",attendance_id,arrival,departure,acuity,chief_complaint,discharge_destination"
OPA = ID + ",appointment_date,treatment_function,first_attendance,attended"
CSDS = ID + ",contact_date,team_type,contact_type"
T0 = "2024-07-01T12:00:00+01:00"
T1 = "2024-07-01T13:05:00+01:00"
T2 = "2024-07-01T15:00:00+01:00"
P1 = "9434765919,A00000001,Ann,Smith,1950-02-03,F,NS1 1AA"
P2 = "9434765927,A00000002,Bob,Jones,1960-04-05,M,NS1 2BB"
P3 = "9434765935,A00000003,Cat,Brown,1970-06-07,F,NS2 3CC"


def apc(
    p: str,
    spell: str,
    adm: str = "2024-01-01",
    dis: str = "2024-01-03",
    diag: str = "J44.1",
    procs: str = "",
) -> str:
    return f"{p},{spell},{adm},{dis},21,{diag},I10|E11.9,{procs},19,1500.00"


def write(rel: str, text: str | bytes) -> None:
    path = ROOT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)


def main() -> None:
    good = [apc(P1, "S0000000001"), apc(P2, "S0000000002"), apc(P3, "S0000000003")]
    write("R9A/apc/clean.csv", "\n".join([APC, *good]) + "\n")
    write("R9A/apc/truncated.csv", "\n".join([APC, *good[:2], good[2][:40]]))
    write(
        "R9A/apc/semicolons.csv",
        "\n".join([APC.replace(",", ";"), *(g.replace(",", ";") for g in good)]) + "\n",
    )
    latin = "\n".join([APC, good[0], apc(P2.replace("Bob", "José"), "S0000000002")]) + "\n"
    write("R9A/apc/latin1.csv", latin.encode("latin-1"))
    write(
        "R9A/apc/duplicated_header.csv",
        "\n".join([APC.replace("discharge_date", "admission_date"), *good]) + "\n",
    )
    dropped = APC.replace("spell_id,admission_date,", "")
    write(
        "R9A/apc/missing_columns.csv",
        "\n".join([dropped, P1 + ",2024-01-03,21,J44.1,,,19,1.00"]) + "\n",
    )
    write("R9A/apc/empty.csv", "")
    write("R9A/apc/header_only.csv", APC + "\n")
    write(
        "R9A/apc/bad_dates.csv",
        "\n".join(
            [
                APC,
                apc(P1, "S0000000011", adm="2024-13-01"),
                apc(P2, "S0000000012", adm="2099-01-01", dis=""),
                apc(P3, "S0000000013", adm="1899-12-31"),
                apc(P1, "S0000000014"),
            ]
        )
        + "\n",
    )
    write(
        "R9A/apc/bad_codes.csv",
        "\n".join(
            [
                APC,
                apc(P1, "S0000000021", diag="J4"),
                apc(P2, "S0000000022", procs="W37.1|XX"),
                apc(P3, "S0000000023", procs="W37.1|Z94.1"),
            ]
        )
        + "\n",
    )
    write(
        "R9A/apc/discharge_before_admission.csv",
        "\n".join(
            [
                APC,
                apc(P1, "S0000000031", adm="2024-02-10", dis="2024-02-01"),
                apc(P2, "S0000000032"),
            ]
        )
        + "\n",
    )
    write(
        "R9A/apc/nhs_numbers.csv",
        "\n".join(
            [
                APC,
                apc(P1.replace("9434765919", "943 476 5919"), "S0000000041"),
                apc(P2.replace("9434765927", "9434765928"), "S0000000042"),
                apc(P3.replace("9434765935", "123"), "S0000000043"),
                apc(P3.replace("9434765935", ""), "S0000000044"),
            ]
        )
        + "\n",
    )
    # Two different people sharing one NHS number: a linkage matter; both rows load.
    write(
        "R9A/apc/shared_nhs_number.csv",
        "\n".join(
            [
                APC,
                apc(P1, "S0000000051"),
                apc(P2.replace("9434765927", "9434765919"), "S0000000052"),
            ]
        )
        + "\n",
    )
    # A trailing delimiter on every line, as some exports write: the blank column is
    # read, and the one row with a value in it is quarantined rather than the value lost.
    write(
        "R9A/apc/trailing_commas.csv",
        "\n".join([APC + ",", good[0] + ",", good[1] + ",late value", good[2] + ","]) + "\n",
    )
    # Only the header ends in delimiters: the rows load as they are.
    write("R9A/apc/header_trailing_commas.csv", "\n".join([APC + ",,", *good]) + "\n")
    # A blank name inside the header: which column a value belongs to is unknown.
    write(
        "R9A/apc/blank_header_inside.csv",
        "\n".join([APC.replace(",given_name,", ",,"), *good]) + "\n",
    )
    # UTF-16, as a spreadsheet's "Unicode Text" saves it (with a byte order mark).
    write("R9A/apc/utf16.csv", ("\n".join([APC, *good]) + "\n").encode("utf-16"))
    # Blank lines and a value over two lines (CRLF, as a spreadsheet saves it): each row
    # is reported at the line it starts on.
    write(
        "R9A/apc/blank_and_multiline.csv",
        "\r\n".join(
            [
                APC,
                good[0],
                "",
                apc(P1.replace("Ann", '"Ann\r\nMarie"'), "S0000000081"),
                apc(P2, "S0000000082", adm="2024-01-05"),
                good[2] + ",extra",
                apc(P3, "S0000000083"),
                "",
            ]
        )
        + "\r\n",
    )
    write(
        "R9A/apc/ragged.csv",
        "\n".join(
            [
                APC,
                good[0],
                "9434765927,A00000002,Bob,Jones",
                good[1],
                good[2] + ",extra,fields",
                apc(P1, "S0000000061"),
            ]
        )
        + "\n",
    )
    write(
        "R9A/apc/blank_required.csv",
        "\n".join([APC, apc(P1, ""), apc(P2, "S0000000071")]) + "\n",
    )
    write(
        "R9A/ecds/bad_snomed.csv",
        "\n".join(
            [
                ECDS,
                P1 + f",E0000000001,{T1},{T2},3,267036008,306689006",
                P2 + f",E0000000002,{T1},{T2},3,12345,306689006",
                P3 + f",E0000000003,{T1},{T0},3,267036007,306689006",
                P1 + ",E0000000004,2024-07-01 13:05,,3,267036007,306689006",
                P2 + f",E0000000005,{T1},{T2},3,267036007,306689006",
            ]
        )
        + "\n",
    )
    write(
        "R9A/opa/bad_values.csv",
        "\n".join(
            [
                OPA,
                P1 + ",2024-03-01,502,1,X",
                P2 + ",2024-03-01,5020,1,5",
                P3 + ",2024-03-01,502,1,5",
            ]
        )
        + "\n",
    )
    long_name = "A" * 100_000
    write(
        "R9C/csds/long_field.csv",
        "\n".join(
            [
                CSDS,
                P1 + ",2024-05-01,podiatry,telephone",
                P2.replace("Bob", long_name) + ",2024-05-02,podiatry,telephone",
                P3 + ",2024-05-03,podiatry,telephone",
            ]
        )
        + "\n",
    )
    write(
        "N90001/gp_fhir/invalid.json",
        '{"resourceType": "Bundle",\n "type": "collection",\n "entry": [\n',
    )
    write("N90001/gp_fhir/not_a_bundle.json", json.dumps({"resourceType": "Patient", "id": "p1"}))
    unknown = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:1",
                "resource": {
                    "resourceType": "Practitioner",
                    "id": "pr1",
                    "name": [{"family": "Who"}],
                },
            },
            {
                "fullUrl": "urn:uuid:2",
                "resource": {"resourceType": "Organization", "id": "o1", "name": "Somewhere"},
            },
            {"fullUrl": "urn:uuid:3", "resource": {"resourceType": "Location", "id": "l1"}},
        ],
    }
    write("N90001/gp_fhir/unknown_resources.json", json.dumps(unknown, indent=1))
    good_bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "resource": {
                    "resourceType": "Patient",
                    "id": "F1",
                    "gender": "female",
                    "birthDate": "1950-02-03",
                }
            }
        ],
    }
    write("N90001/gp_fhir/bad_line.ndjson", json.dumps(good_bundle) + "\n{not json\n")


if __name__ == "__main__":
    main()
