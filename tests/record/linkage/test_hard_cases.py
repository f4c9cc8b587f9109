"""Hand-built hard cases, linked among a small synthetic population (for training)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from tests.record.linkage.conftest import nhs
from wholesystem.record.linkage import explain_pair, link
from wholesystem.record.linkage.engine import LinkResult

COLS = (
    "record_id",
    "source",
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "postcode",
)

JACK, JACOB, DAD, MUM, EMMA, BILL, SWAP, ODD, LONE = (nhs(943_100_000 + 97 * i) for i in range(9))
INVALID = JACK[:9] + str((int(JACK[9]) + 1) % 10)

CASES: list[tuple[str, str | None, str, str, str, str | None, str | None]] = [
    # record_id, nhs, given, family, dob, sex, postcode
    ("twin-a1", JACK, "Jack", "Zebrowski", "2001-05-06", "M", "NS1 9ZZ"),
    ("twin-a2", JACK, "JACK", "ZEBROWSKI", "2001-05-06", "M", "NS19ZZ"),
    ("twin-b1", JACOB, "Jacob", "Zebrowski", "2001-05-06", "M", "NS1 9ZZ"),
    ("twin-b2", JACOB, "Jacob", "Zebrowski", "2001-05-06", "M", "NS1 9ZZ"),
    ("twin-b3", JACK, "Jacob", "Zebrowski", "2001-05-06", "M", "NS1 9ZZ"),  # twin's number
    ("dad-1", DAD, "Piotr", "Zebrowski", "1970-02-14", "M", "NS1 9ZZ"),
    ("dad-2", DAD, "Piotr", "Zebrowski", "1970-02-14", "M", "NS1 9ZZ"),
    ("mum-1", MUM, "Agata", "Zebrowski", "1972-08-30", "F", "NS1 9ZZ"),
    ("mum-2", None, "Agata", "Zebrowski", "1972-08-30", "F", "NS1 9ZZ"),  # no number
    ("mum-3", DAD, "Agata", "Zebrowski", "1972-08-30", "F", "NS1 9ZZ"),  # husband's number
    ("emma-1", EMMA, "Emma", "Quillfeather", "1990-10-21", "F", "NS4 1QQ"),
    ("emma-2", EMMA, "Emma", "Hartwright", "1990-10-21", "F", "NS7 3PL"),  # married, moved
    ("emma-3", None, "Emma", "Hartwright", "1990-10-21", "F", "NS7 3PL"),
    ("bill-1", BILL, "William", "Fothergill", "1948-01-09", "M", "NS2 4GG"),
    ("bill-2", None, "Bill", "Fothergill", "1948-01-09", "M", "NS2 4GG"),  # nickname
    ("swap-1", SWAP, "Imogen", "Pettigrew", "1983-03-07", "F", "NS3 5RT"),
    ("swap-2", None, "Imogen", "Pettigrew", "1983-07-03", "F", "NS3 5RT"),  # day/month swap
    ("odd-1", ODD, "Lysander", "Wetherell", "1961-12-01", "M", "NS5 6YU"),
    ("odd-2", INVALID, "Lysander", "Wetherell", "1961-12-01", "M", "NS5 6YU"),  # bad check
    ("lone-1", LONE, "Thaddeus", "Ormerod", "1955-04-17", "M", "NS6 7IO"),
    ("lone-2", None, "Thaddeus", "Ormerod", "1955-04-17", None, None),  # name + dob only
]

SAME = [
    ("twin-a1", "twin-a2"),
    ("twin-b1", "twin-b2"),
    ("twin-b1", "twin-b3"),
    ("dad-1", "dad-2"),
    ("mum-1", "mum-2"),
    ("mum-1", "mum-3"),
    ("emma-1", "emma-2"),
    ("emma-1", "emma-3"),
    ("bill-1", "bill-2"),
    ("swap-1", "swap-2"),
    ("odd-1", "odd-2"),
    ("lone-1", "lone-2"),
]
DIFFERENT = [
    ("twin-a1", "twin-b1"),
    ("twin-a1", "twin-b3"),
    ("twin-a1", "dad-1"),
    ("dad-1", "mum-1"),
    ("dad-1", "mum-3"),
    ("mum-1", "twin-b1"),
]


@pytest.fixture(scope="module")
def result(synth_records: pa.Table) -> LinkResult:
    background = synth_records.select(list(COLS))
    # each person's records come from different partners (suffix 1, 2, 3)
    rows: list[dict[str, Any]] = [
        dict(zip(COLS, (c[0], f"ORG{c[0][-1]}", *c[1:]), strict=True)) for c in CASES
    ]
    hand = pa.Table.from_pylist(rows, schema=background.schema)
    return link(pa.concat_tables([background, hand]))


def _cluster(result: LinkResult) -> dict[str, int]:
    return dict(
        zip(
            result.clusters.column("record_id").to_pylist(),
            result.clusters.column("cluster").to_pylist(),
            strict=True,
        )
    )


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_person(result: LinkResult, a: str, b: str) -> None:
    assert _cluster(result)[a] == _cluster(result)[b], explain_pair(result, a, b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_people(result: LinkResult, a: str, b: str) -> None:
    assert _cluster(result)[a] != _cluster(result)[b], explain_pair(result, a, b)


def test_hand_people_are_not_merged_with_background(result: LinkResult) -> None:
    cl = _cluster(result)
    hand = {cl[c[0]] for c in CASES}
    others = [
        rid
        for rid, c in cl.items()
        if c in hand
        and rid.split("-")[0] not in {"twin", "dad", "mum", "emma", "bill", "swap", "odd", "lone"}
    ]
    assert others == []


def test_why_linked(result: LinkResult) -> None:
    nick = explain_pair(result, "bill-1", "bill-2")
    assert nick["same_person"]
    assert nick["kind"] == "model"
    assert nick["match_probability"] >= 0.8
    assert nick["weights"]["given"] > 0  # nickname level carries positive evidence
    assert nick["weights"]["dob"] > 0
    det = explain_pair(result, "twin-b1", "twin-b2")
    assert det["kind"] in {"identical", "nhs"}
    twins = explain_pair(result, "twin-a1", "twin-b1")
    assert not twins["same_person"]
    with pytest.raises(KeyError):
        explain_pair(result, "twin-a1", "nobody")
