"""ACTUALS.csv: good files parse; every bad row is named by line and column."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from wholesystem.finance.actuals import ActualsError, Measure, parse_actuals, read_actuals

D = Decimal
HEADER = "contract_id,line,measure,value\n"


def test_a_good_file() -> None:
    text = (
        "\ufeffContract_ID, Line ,measure,value,note\n"
        "C1,spells,delivered_units,10800,from SUS\n"
        "\n"
        "C1,cquin,achievement,0.8,\n"
        "C1,pool,actual_spend, 1234.50 ,\n"
    )
    actuals = parse_actuals(text, "ACTUALS.csv")
    assert [(a.contract_id, a.line, a.measure, a.value, a.line_no) for a in actuals.rows] == [
        ("C1", "spells", Measure.DELIVERED_UNITS, D(10800), 2),
        ("C1", "cquin", Measure.ACHIEVEMENT, D("0.8"), 4),
        ("C1", "pool", Measure.ACTUAL_SPEND, D("1234.50"), 5),
    ]
    row = actuals.get("C1", "spells", Measure.DELIVERED_UNITS)
    assert row is not None
    assert row.value == D(10800)
    assert actuals.get("C1", "spells", Measure.ACTUAL_SPEND) is None


@pytest.mark.parametrize(
    ("rows", "line", "column", "message"),
    [
        ("C1,spells,delivered_units,abc", 2, "value", "'abc' is not a number"),
        ('C1,spells,delivered_units,"12,000"', 2, "value", "'12,000' is not a number"),
        ("C1,pool,actual_spend,£100", 2, "value", "is not a number"),
        ("C1,pool,actual_spend,", 2, "value", "'' is not a number"),
        ("C1,spells,delivered_units,-3", 2, "value", "must not be negative"),
        ("C1,pool,actual_spend,1.005", 2, "value", "fraction of a penny"),
        ("C1,cquin,achievement,80", 2, "value", "fraction from 0 to 1"),
        ("C1,spells,units,3", 2, "measure", "'units' is not one of delivered_units"),
        (",spells,delivered_units,3", 2, "contract_id", "is blank"),
        ("C1,,delivered_units,3", 2, "line", "is blank"),
        ("C1,two words,delivered_units,3", 2, "line", "not a valid identifier"),
        ("C1,spells,delivered_units", 2, None, "has 3 fields, the header has 4"),
        ("C1,ok,delivered_units,1\nC1,spells,delivered_units,x", 3, "value", "not a number"),
        (
            "C1,spells,delivered_units,1\nC1,spells,delivered_units,2",
            3,
            None,
            "repeats line 2 (contract C1, line spells, measure delivered_units)",
        ),
    ],
)
def test_bad_rows_are_named_by_line_and_column(
    rows: str, line: int, column: str | None, message: str
) -> None:
    with pytest.raises(ActualsError) as caught:
        parse_actuals(HEADER + rows + "\n", "ACTUALS.csv")
    assert any(
        i.line == line and i.column == column and message in i.message for i in caught.value.issues
    ), [str(i) for i in caught.value.issues]
    prefix = f"ACTUALS.csv: line {line}" + (f", column {column}" if column else "")
    assert prefix in str(caught.value)


def test_every_bad_row_is_reported() -> None:
    text = HEADER + "C1,a,delivered_units,x\nC1,b,delivered_units,1\nC1,c,nope,1\n"
    with pytest.raises(ActualsError) as caught:
        parse_actuals(text)
    assert [(i.line, i.column) for i in caught.value.issues] == [(2, "value"), (4, "measure")]


def test_line_numbers_count_quoted_newlines() -> None:
    text = HEADER + 'C1,a,delivered_units,1\n"C\n1",b,delivered_units,1\nC1,c,delivered_units,x\n'
    with pytest.raises(ActualsError) as caught:
        parse_actuals(text)
    # The multi-line row is named by the line it starts on.
    assert [(i.line, i.column) for i in caught.value.issues] == [(3, "contract_id"), (5, "value")]


def test_malformed_csv_is_named_by_line() -> None:
    with pytest.raises(ActualsError, match="line 3: not valid CSV"):
        parse_actuals(HEADER + 'C1,a,delivered_units,1\n"C1,b,delivered_units,1\n')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: the file is empty"),
        ("contract_id,line,value\n", "line 1: missing column(s) measure"),
        ("contract_id,line,measure,value,value\n", "line 1, column value: the column appears"),
    ],
)
def test_bad_headers(text: str, message: str) -> None:
    with pytest.raises(ActualsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_actuals(text)


def test_read_actuals_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ACTUALS.csv"
    path.write_text(HEADER + "C1,a,delivered_units,x\n", encoding="utf-8")
    with pytest.raises(ActualsError, match=f"{path}: line 2, column value"):
        read_actuals(path)
    with pytest.raises(ActualsError, match="cannot read"):
        read_actuals(tmp_path / "missing.csv")
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ActualsError, match="cannot read"):
        read_actuals(path)
