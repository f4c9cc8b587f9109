"""Excel returns: the same rows and checks as CSV, row numbers as in the sheet, and the
workbooks a return must not be (corrupt, encrypted, merged headers, formulas)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.finance.conftest import csrf_from
from wholesystem.finance.ledger import RETURN_COLUMNS, SubmissionError
from wholesystem.finance.models import FinanceSubmission, SubmissionLine
from wholesystem.finance.xlsx import WorkbookError, parse_return_xlsx
from wholesystem.store.db import session_scope

SignIn = Callable[[str], TestClient]
CATEGORIES = ("income", "pay_medical", "pay_nursing", "pay_other", "non_pay",
              "efficiency_savings", "capital")  # fmt: skip
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def return_rows(org: str = "RA1", month: object = "2024-04") -> list[list[object]]:
    rows: list[list[object]] = [list(RETURN_COLUMNS)]
    for code in CATEGORIES:
        amount: object = 1000.5 if code == "income" else 100
        rows.append([org, month, code, amount, amount, amount])
    return rows


def workbook(rows: Sequence[Sequence[object]], edit: Callable[..., None] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    if edit is not None:
        edit(sheet)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def faults(data: bytes) -> list[str]:
    with pytest.raises(SubmissionError) as caught:
        parse_return_xlsx(data, known_orgs={"RA1", "QXX"})
    return [str(e) for e in caught.value.errors]


# ------------------------------------------------------------------------------ pure


def test_a_good_workbook_reads_like_the_csv() -> None:
    (draft,) = parse_return_xlsx(workbook(return_rows()), known_orgs={"RA1"})
    assert (draft.org_code, draft.period) == ("RA1", date(2024, 4, 1))
    assert draft.lines["income"].actual == Decimal("1000.50")
    assert draft.lines["capital"].plan == Decimal("100.00")


def test_a_month_that_excel_turned_into_a_date_is_that_month() -> None:
    (draft,) = parse_return_xlsx(workbook(return_rows(month=datetime(2024, 5, 1))))
    assert draft.period == date(2024, 5, 1)
    (fault, *_) = faults(workbook(return_rows(month=datetime(2024, 5, 17))))
    assert fault.startswith("line 2, column month:")
    assert "2024-05-17" in fault


def test_row_faults_carry_the_sheet_row_numbers() -> None:
    rows = return_rows()
    rows.insert(1, [None] * 6)  # a blank row 2: the data starts on row 3
    rows[4][3] = "£100"  # pay_nursing plan, on sheet row 5
    rows[6][2] = "capitol"  # non_pay → unknown, on sheet row 7
    found = faults(workbook(rows))
    assert any(
        f.startswith("line 5, column plan:") and "'£100' is not a number" in f for f in found
    )
    assert any(f.startswith("line 7, column category:") for f in found)


def test_a_duplicated_row_is_refused_by_row() -> None:
    rows = return_rows()
    rows.append(list(rows[3]))
    found = faults(workbook(rows))
    assert any(f.startswith(f"line {len(rows)},") for f in found), found


def test_a_missing_column_is_a_header_fault() -> None:
    rows = [r[:5] for r in return_rows()]
    assert faults(workbook(rows)) == [
        "line 1, column forecast: the header has no such column "
        "(expected org_code,month,category,plan,actual,forecast)"
    ]


def test_merged_header_cells_are_refused() -> None:
    def merge(sheet: object) -> None:
        sheet.merge_cells("D1:F1")  # type: ignore[attr-defined]

    found = faults(workbook(return_rows(), merge))
    assert found[0] == (
        "line 1, column plan: the header cells D1:F1 are merged: unmerge them so each column "
        "has its own heading"
    )


def test_merged_data_cells_are_refused_by_row() -> None:
    def merge(sheet: object) -> None:
        sheet.merge_cells("A3:A4")  # type: ignore[attr-defined]

    found = faults(workbook(return_rows(), merge))
    assert "line 3, column org_code: the cells A3:A4 are merged: give each cell its own value" in (
        found
    )


def test_formulas_are_refused_naming_the_cell() -> None:
    def formula(sheet: object) -> None:
        sheet["D2"] = "=100*10"  # type: ignore[index]

    found = faults(workbook(return_rows(), formula))
    assert found == ["line 2, column plan: cell D2 holds a formula (=100*10): paste values only"]


def test_a_corrupt_file_is_refused() -> None:
    good = workbook(return_rows())
    with pytest.raises(WorkbookError, match=r"not a valid \.xlsx workbook"):
        parse_return_xlsx(good[: len(good) // 2])
    with pytest.raises(WorkbookError, match=r"not a valid \.xlsx workbook"):
        parse_return_xlsx(b"org_code,month\nRA1,2024-04\n")
    # A zip that is not a workbook at all.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    with pytest.raises(WorkbookError, match=r"not a valid \.xlsx workbook"):
        parse_return_xlsx(buffer.getvalue())


def _compound_file(*streams: str) -> bytes:
    # An OLE compound file as Office writes for an encrypted workbook: the header magic, then
    # directory entries whose names are UTF-16 (only the names matter to the check).
    body = b"".join(name.encode("utf-16-le") + b"\x00\x00" for name in streams)
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + body


def test_a_password_protected_workbook_is_refused_as_such() -> None:
    with pytest.raises(WorkbookError, match="password-protected"):
        parse_return_xlsx(_compound_file("EncryptionInfo", "EncryptedPackage"))


def test_an_old_xls_workbook_is_refused_as_such() -> None:
    with pytest.raises(WorkbookError, match=r"Excel 97-2003 workbook \(\.xls\)"):
        parse_return_xlsx(_compound_file("Workbook", "SummaryInformation"))


def test_a_zip_bomb_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    import wholesystem.finance.xlsx as xlsx

    monkeypatch.setattr(xlsx, "MAX_UNPACKED_BYTES", 1000)
    with pytest.raises(WorkbookError, match="unpacks to more than"):
        parse_return_xlsx(workbook(return_rows()))


def _with_sheet_xml(data: bytes, sheet_xml: str) -> bytes:
    """The workbook ``data`` with its first sheet's XML replaced by ``sheet_xml``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = sheet_xml.encode()
            dst.writestr(info, body)
    return out.getvalue()


_SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@pytest.mark.parametrize(
    "doctype",
    [
        # entity expansion ("billion laughs"): each level ten times the one before
        '<!DOCTYPE worksheet [<!ENTITY a0 "AAAAAAAAAA">'
        + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 9))
        + "]>",
        # an external entity naming a file on the server
        '<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    ],
    ids=["entity-expansion", "external-entity"],
)
def test_a_workbook_with_xml_entities_is_refused(doctype: str) -> None:
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML, "openpyxl must parse uploads with defusedxml"
    entity = "&a8;" if "a8" in doctype else "&x;"
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?>{doctype}'
        f'<worksheet xmlns="{_SHEET_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr">'
        f"<is><t>{entity}</t></is></c></row></sheetData></worksheet>"
    )
    with pytest.raises(WorkbookError, match=r"not a valid \.xlsx workbook: its XML declares"):
        parse_return_xlsx(_with_sheet_xml(workbook(return_rows()), sheet))


# ------------------------------------------------------------------------------ the page


def upload(client: TestClient, data: bytes, name: str = "return.xlsx") -> object:
    token = csrf_from(client.get("/finance/submit").text)
    return client.post(
        "/finance/submit/upload",
        data={"csrf_token": token},
        files={"file": (name, data, XLSX_TYPE)},
    )


def test_an_xlsx_return_is_stored_like_a_csv_one(
    sign_in_as: SignIn, ledger_db: sessionmaker[Session]
) -> None:
    client = sign_in_as("fin_ra1")
    response = upload(client, workbook(return_rows()))
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    assert "2024-04 version 1" in response.text  # type: ignore[attr-defined]
    with session_scope(ledger_db) as s:
        (sub,) = s.scalars(select(FinanceSubmission))
        assert (sub.source, sub.file_name) == ("upload", "return.xlsx")
        income = s.get(SubmissionLine, (sub.id, "income"))
        assert income is not None
        assert income.actual == Decimal("1000.50")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            workbook(return_rows("QXX")),
            "return.xlsx: row 2, column org_code: you may submit returns only for RA1, not QXX",
        ),
        (
            _compound_file("EncryptionInfo", "EncryptedPackage"),
            "return.xlsx: the workbook is password-protected (encrypted)",
        ),
        (b"PK\x03\x04 broken", "return.xlsx: the file is not a valid .xlsx workbook"),
    ],
)
def test_a_bad_xlsx_upload_says_why_and_stores_nothing(
    sign_in_as: SignIn, ledger_db: sessionmaker[Session], data: bytes, message: str
) -> None:
    client = sign_in_as("fin_ra1")
    response = upload(client, data)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert message in response.text.replace("&#39;", "'")  # type: ignore[attr-defined]
    with session_scope(ledger_db) as s:
        assert list(s.scalars(select(FinanceSubmission))) == []


def test_another_file_type_is_refused(sign_in_as: SignIn) -> None:
    response = upload(sign_in_as("fin_ra1"), b"whatever", name="return.ods")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "a CSV file (.csv) or an Excel workbook (.xlsx)" in response.text  # type: ignore[attr-defined]
