"""CSV exports cannot attack whoever opens them in a spreadsheet (CSV/formula injection).

OWASP's "CSV Injection" guidance: a cell beginning with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return may be run as a formula by Excel, LibreOffice or Google Sheets; an
apostrophe in front makes it text. Numbers, negative ones included, stay numbers.
"""

from __future__ import annotations

import csv
import io

import pytest

from wholesystem.web.csvfiles import csv_response, csv_text, defused_csv_text


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        (
            '=HYPERLINK("http://evil.example","click")',
            '\'=HYPERLINK("http://evil.example","click")',
        ),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\n=1"),
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        # numbers stay numbers
        ("-12.50", "-12.50"),
        ("+3", "+3"),
        ("-1e3", "-1e3"),
        # ordinary text, and a formula sign that is not first
        ("Leeds = Bradford", "Leeds = Bradford"),
        ("A&E 4-hour", "A&E 4-hour"),
        ("", ""),
    ],
)
def test_a_formula_like_cell_is_made_inert(cell: str, written: str) -> None:
    rows = _cells(csv_text(["name"], [[cell]]))
    assert rows == [["name"], [written]]


@pytest.mark.parametrize("cell", ["a\rb", "a\r\nb", "a\nb", "a\r"])
def test_a_line_break_inside_a_value_cannot_forge_a_row(cell: str) -> None:
    text = csv_text(["name", "n"], [[cell, 1]])
    rows = _cells(text)
    assert rows == [["name", "n"], [cell.replace("\r\n", "\n").replace("\r", "\n"), "1"]]
    assert "\r" not in text


def test_none_is_an_empty_cell_and_values_are_text() -> None:
    assert csv_text(["a", "b", "c"], [[None, 3, -1.5]]) == "a,b,c\n,3,-1.5\n"


def test_a_response_is_a_named_utf8_csv_download() -> None:
    response = csv_response("x.csv", ["a"], [["=1"]])
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="x.csv"'
    assert bytes(response.body).decode() == "a\n'=1\n"


def test_stored_csv_text_that_is_safe_comes_back_byte_for_byte() -> None:
    text = 'contract_id,line,measure,value\nRA1,"a, b",units,-10800\n'
    assert defused_csv_text(text) is text


def test_stored_csv_text_has_its_formula_cells_made_inert() -> None:
    text = 'contract_id,value,note\nRA1,10800,=WEBSERVICE("http://x")\n\nQXX,-5,@A1\n'
    assert _cells(defused_csv_text(text)) == [
        ["contract_id", "value", "note"],
        ["RA1", "10800", '\'=WEBSERVICE("http://x")'],
        [],
        ["QXX", "-5", "'@A1"],
    ]
