from __future__ import annotations

import datetime as dt
import random

import pyarrow as pa
import pytest

from wholesystem.record.linkage.nicknames import canonical_given_names, plain_name
from wholesystem.record.linkage.standardise import (
    nhs_number_is_valid,
    normalise_nhs_number,
    standardise,
)
from wholesystem.synth.nhs import is_valid


def _one(**fields: str | None) -> dict[str, object]:
    row = {
        "record_id": "1",
        "source": "X",
        "nhs_number": None,
        "given_name": None,
        "family_name": None,
        "date_of_birth": None,
        "sex": None,
        "postcode": None,
    }
    row.update(fields)
    table = pa.Table.from_pylist([row], schema=pa.schema([(k, pa.string()) for k in row]))
    out: dict[str, object] = standardise(table).to_pylist()[0]
    return out


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("943 476 5919", "9434765919"),
        ("943-476-5919", "9434765919"),
        (" 9434765919 ", "9434765919"),
        ("9434765918", None),  # wrong check digit
        ("943476591", None),  # nine digits
        ("94347659199", None),
        ("ABCDEFGHIJ", None),
        ("", None),
        ("943.476.5919", "9434765919"),
        ("\t9434765919\n", "9434765919"),
        ("0000000000", "0000000000"),  # the check digit of nine zeros is 0
        ("1000000100", None),  # the first nine give a check value of 10: never valid
        ("1000000101", None),
        ("943476591a", None),
        ("+943476591", None),
        ("٩٤٣٤٧٦٥٩١٩", None),  # Arabic-Indic digits are not NHS number digits
    ],
)
def test_nhs_number(raw: str, expected: str | None) -> None:
    assert normalise_nhs_number(raw) == expected
    assert nhs_number_is_valid(raw) is (expected is not None)
    assert _one(nhs_number=raw)["nhs"] == expected


@pytest.mark.parametrize(
    ("given", "family", "g", "canon", "f"),
    [
        ("Bill", "O'Brien", "BILL", "WILLIAM", "OBRIEN"),
        ("  zoë  anne", "Smith-Jones", "ZOE", "ZOE", "SMITHJONES"),
        ("Liz", "MCDONALD", "LIZ", "ELIZABETH", "MCDONALD"),
        ("Kate", "de la Cruz", "KATE", "CATHERINE", "DELACRUZ"),
        ("Emma", "Brown", "EMMA", "EMMA", "BROWN"),
        ("Łukasz", "Wójcik", "LUKASZ", "LUKASZ", "WOJCIK"),
        ("", "  ", None, None, None),
    ],
)
def test_names(given: str, family: str, g: str | None, canon: str | None, f: str | None) -> None:
    row = _one(given_name=given, family_name=family)
    assert (row["given"], row["given_canon"], row["family"]) == (g, canon, f)


@pytest.mark.parametrize(
    ("raw", "dob", "swap"),
    [
        ("1980-03-07", dt.date(1980, 3, 7), dt.date(1980, 7, 3)),
        ("07/03/1980", dt.date(1980, 3, 7), dt.date(1980, 7, 3)),
        ("19800307", dt.date(1980, 3, 7), dt.date(1980, 7, 3)),
        ("1980-03-25", dt.date(1980, 3, 25), None),  # day > 12: no swap
        ("1980-05-05", dt.date(1980, 5, 5), None),  # same day and month
        ("1980-02-30", None, None),
        ("yesterday", None, None),
    ],
)
def test_dates(raw: str, dob: dt.date | None, swap: dt.date | None) -> None:
    row = _one(date_of_birth=raw)
    assert (row["dob"], row["dob_swap"]) == (dob, swap)


@pytest.mark.parametrize(
    ("raw", "sex"),
    [
        ("M", "M"),
        ("male", "M"),
        ("1", "M"),
        ("F", "F"),
        ("Female", "F"),
        ("2", "F"),
        ("U", None),
        ("", None),
    ],
)
def test_sex(raw: str, sex: str | None) -> None:
    assert _one(sex=raw)["sex"] == sex


@pytest.mark.parametrize(
    ("raw", "postcode", "outward"),
    [
        ("ns12 3ab", "NS123AB", "NS12"),
        ("NS123AB", "NS123AB", "NS12"),
        ("SW1A 1AA", "SW1A1AA", "SW1A"),
        ("M1 1AE", "M11AE", "M1"),
        ("2250", "2250", None),
        ("", None, None),
    ],
)
def test_postcode(raw: str, postcode: str | None, outward: str | None) -> None:
    row = _one(postcode=raw)
    assert (row["postcode"], row["outward"]) == (postcode, outward)


def test_nickname_table_keeps_formal_names_apart() -> None:
    names = canonical_given_names()
    assert names["BILL"] == names["WILL"] == "WILLIAM"
    assert names["EMILY"] == "EMILY"
    assert names["EMMA"] == "EMMA"
    assert names["JACK"] == "JOHN"
    assert plain_name("Siobhán") == "SIOBHAN"


def test_nhs_numbers_in_bulk_agree_with_the_modulus_11_rule() -> None:
    """The set-based check (integer arithmetic over a column) against the rule written
    out digit by digit in Python (``synth.nhs.is_valid``, the NHS Data Dictionary's
    modulus 11), over random numbers with and without separators."""
    rng = random.Random(11)
    raws = []
    for _ in range(3000):
        digits = "".join(rng.choice("0123456789") for _ in range(10))
        style = rng.randrange(4)
        raws.append(
            digits
            if style == 0
            else f"{digits[:3]} {digits[3:6]} {digits[6:]}"
            if style == 1
            else f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
            if style == 2
            else digits[: rng.randrange(11)]
        )
    rows = [
        {
            "record_id": str(i),
            "source": "X",
            "nhs_number": raw,
            "given_name": None,
            "family_name": None,
            "date_of_birth": None,
            "sex": None,
            "postcode": None,
        }
        for i, raw in enumerate(raws)
    ]
    table = pa.Table.from_pylist(rows, schema=pa.schema([(k, pa.string()) for k in rows[0]]))
    got = {r["record_id"]: r["nhs"] for r in standardise(table).to_pylist()}
    for i, raw in enumerate(raws):
        digits = raw.replace(" ", "").replace("-", "")
        expected = digits if len(digits) == 10 and is_valid(digits) else None
        assert got[str(i)] == expected, raw
    assert sum(v is not None for v in got.values()) > 100  # valid ones among them
