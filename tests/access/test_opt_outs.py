"""National data opt-outs: record, withdraw, load a file (all or nothing), the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import nhs_number
import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from wholesystem.access import audit
from wholesystem.access.cli import register
from wholesystem.access.models import AuditEvent, OptOut
from wholesystem.access.opt_outs import (
    AlreadyOptedOut,
    InvalidNhsNumber,
    NotOptedOut,
    OptOutError,
    OptOutFileError,
    current_opt_outs,
    is_opted_out,
    load_opt_outs,
    nhs_number_problem,
    opted_out_nhs_numbers,
    parse_opt_out_csv,
    record_opt_out,
    withdraw_opt_out,
)
from wholesystem.config import reset_settings
from wholesystem.record.validate import nhs_number_problem as record_nhs_number_problem
from wholesystem.store.db import session_scope

# 943 476 5919 is the NHS Data Dictionary's worked example of a valid NHS number; the
# others are synthetic numbers from the nhs-number package (REGION_SYNTHETIC, 999 range),
# whose validity that package confirms independently.
VALID = "9434765919"
SYNTHETIC = ["9990000026", "9990000034", "9990000042"]
BAD_CHECK = "9434765918"


def test_the_examples_are_valid_by_an_independent_implementation() -> None:
    for number in [VALID, *SYNTHETIC]:
        assert nhs_number.is_valid(number), number
        assert nhs_number_problem(number) is None
    assert not nhs_number.is_valid(BAD_CHECK)


@settings(max_examples=500, deadline=None)
@given(st.from_regex(r"[0-9]{10}", fullmatch=True))
def test_the_check_agrees_with_the_record_capability(number: str) -> None:
    assert (nhs_number_problem(number) is None) == (record_nhs_number_problem(number) is None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("123", "is not ten digits"),
        ("94347659190", "is not ten digits"),
        ("943476591X", "is not ten digits"),
        (BAD_CHECK, "fails the modulus-11 check digit"),
        ("1000000010", "fails the modulus-11 check digit"),  # check value 10: never valid
    ],
)
def test_bad_numbers_are_refused_with_the_reason(text: str, message: str) -> None:
    assert message in (nhs_number_problem(text) or "")


def test_record_withdraw_and_record_again_keeps_history(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        assert not is_opted_out(s, VALID)
        record_opt_out(s, "943 476 5919", actor="admin", source="patient letter")
        assert is_opted_out(s, "943-476-5919")
        assert is_opted_out(s, VALID)
        assert not is_opted_out(s, None)
        assert not is_opted_out(s, SYNTHETIC[0])
        with pytest.raises(AlreadyOptedOut, match="already opted out"):
            record_opt_out(s, VALID, actor="admin", source="again")
    with session_scope(factory) as s:
        withdraw_opt_out(s, VALID, actor="admin")
        assert not is_opted_out(s, VALID)
        with pytest.raises(NotOptedOut, match="no current opt-out"):
            withdraw_opt_out(s, VALID, actor="admin")
        record_opt_out(s, VALID, actor="admin", source="changed mind")
    with factory() as s:
        assert opted_out_nhs_numbers(s) == frozenset({VALID})
        history = current_opt_outs(s, include_withdrawn=True)
        assert len(history) == 2
        assert sum(1 for r in history if r.withdrawn_at is None) == 1
        actions = s.execute(
            select(AuditEvent.action).where(AuditEvent.object_id == VALID).order_by(AuditEvent.seq)
        ).scalars()
        assert list(actions) == ["opt_out.record", "opt_out.withdraw", "opt_out.record"]
        assert audit.verify(s).ok


def test_the_database_refuses_two_current_opt_outs_for_one_number(
    factory: sessionmaker[Session],
) -> None:
    from sqlalchemy.exc import IntegrityError

    from wholesystem.store.db import utcnow

    with factory() as s:
        for _ in range(2):
            s.add(OptOut(nhs_number=VALID, recorded_at=utcnow(), recorded_by="x", source="y"))
        with pytest.raises(IntegrityError):
            s.flush()


@pytest.mark.parametrize(
    ("number", "error"), [("", InvalidNhsNumber), (BAD_CHECK, InvalidNhsNumber)]
)
def test_invalid_numbers_are_not_recorded(
    factory: sessionmaker[Session], number: str, error: type[OptOutError]
) -> None:
    with factory() as s:
        with pytest.raises(error):
            record_opt_out(s, number, actor="admin", source="x")
        with pytest.raises(OptOutError, match="Say where"):
            record_opt_out(s, VALID, actor="admin", source="  ")
        assert s.execute(select(func.count()).select_from(OptOut)).scalar_one() == 0


def test_parsing_reports_bad_rows_by_line() -> None:
    text = (
        "name,NHS_Number\n"
        f"a,{VALID}\n"
        "\n"
        "b,123\n"
        f"c,{BAD_CHECK}\n"
        "d,\n"
        f'e,"{SYNTHETIC[0][:3]} {SYNTHETIC[0][3:6]} {SYNTHETIC[0][6:]}"\n'
    )
    good, bad = parse_opt_out_csv(text)
    assert good == [(2, VALID), (7, SYNTHETIC[0])]
    assert [line for line, _ in bad] == [4, 5, 6]
    assert "not ten digits" in bad[0][1]
    assert "modulus-11" in bad[1][1]
    assert bad[2][1] == "the NHS number is blank"


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "the file is empty"), ("number\n9434765919\n", "no nhs_number column")],
)
def test_files_without_the_column_are_refused(text: str, message: str) -> None:
    _good, bad = parse_opt_out_csv(text)
    assert message in bad[0][1]


def test_a_file_with_a_bad_row_loads_nothing(factory: sessionmaker[Session]) -> None:
    text = f"nhs_number\n{VALID}\n{SYNTHETIC[0]}\n12345\n"
    with factory() as s:
        with pytest.raises(OptOutFileError) as raised:
            load_opt_outs(s, text, actor="admin", source="list.csv")
        assert raised.value.problems == (
            (4, "NHS number '12345' is not ten digits (spaces allowed as 943 476 5919)"),
        )
        assert "Nothing was loaded: 1 bad row\nline 4:" in str(raised.value)
        s.rollback()
        assert s.execute(select(func.count()).select_from(OptOut)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == 0


def test_a_good_file_loads_skipping_repeats_and_existing(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        record_opt_out(s, SYNTHETIC[2], actor="admin", source="letter")
    text = "\ufeffnhs_number\n" + "\n".join([VALID, *SYNTHETIC, VALID]) + "\n"
    with session_scope(factory) as s:
        result = load_opt_outs(s, text, actor="admin", source="list.csv")
    assert (result.added, result.already, result.repeated, result.lines) == (3, 1, 1, 5)
    with factory() as s:
        assert opted_out_nhs_numbers(s) == frozenset([VALID, *SYNTHETIC])
        load_event = s.execute(
            select(AuditEvent).where(AuditEvent.action == "opt_out.load")
        ).scalar_one()
        assert load_event.detail == {"added": 3, "already": 1, "repeated": 1, "rows": 5}
        per_number = s.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "opt_out.record")
        ).scalar_one()
        assert per_number == 4


# ------------------------------------------------------------------------------- CLI


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[typer.Typer]:
    monkeypatch.setenv("WHOLESYSTEM_MODE", "test")
    monkeypatch.setenv("WHOLESYSTEM_DATABASE_URL", db_url)
    monkeypatch.setenv("WHOLESYSTEM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WHOLESYSTEM_SECRET_KEY", "cli-test-secret-0123456789abcdef0123")
    monkeypatch.setenv("WHOLESYSTEM_CONFIG", str(tmp_path / "absent.toml"))
    reset_settings()
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """wholesystem (test)"""

    register(app)
    yield app
    reset_settings()


def _run(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_add_list_remove(cli: typer.Typer, factory: sessionmaker[Session]) -> None:
    assert _run(cli, "opt-out", "add", "943 476 5919") == (
        0,
        "Recorded the opt-out of NHS number 9434765919.\n",
        "",
    )
    code, _out, err = _run(cli, "opt-out", "add", VALID)
    assert (code, err) == (1, "Error: NHS number 9434765919 has already opted out\n")
    code, _out, err = _run(cli, "opt-out", "add", BAD_CHECK)
    assert code == 1
    assert "fails the modulus-11 check digit" in err
    code, out, _err = _run(cli, "opt-out", "list")
    assert code == 0
    assert VALID in out
    assert out.rstrip().endswith("1 opt-out.")
    assert _run(cli, "opt-out", "remove", VALID)[0] == 0
    code, _out, err = _run(cli, "opt-out", "remove", VALID)
    assert (code, err) == (1, "Error: NHS number 9434765919 has no current opt-out to withdraw\n")
    assert _run(cli, "opt-out", "list")[1].rstrip().endswith("0 opt-outs.")
    assert VALID in _run(cli, "opt-out", "list", "--all")[1]
    with factory() as s:
        row = s.execute(select(OptOut)).scalar_one()
        assert (row.recorded_by, row.source, row.withdrawn_by) == ("system", "cli", "system")
        exports = s.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "export")
        ).scalar_one()
        assert exports == 3


def test_cli_load_reports_bad_lines_and_loads_nothing(
    cli: typer.Typer, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(f"nhs_number\n{VALID}\n123\n{BAD_CHECK}\n")
    code, out, err = _run(cli, "opt-out", "load", str(bad))
    assert code == 1
    assert out == ""
    assert "Nothing was loaded: 2 bad rows" in err
    assert "line 3: NHS number '123' is not ten digits" in err
    assert "line 4: NHS number '9434765918' fails the modulus-11 check digit" in err
    with factory() as s:
        assert s.execute(select(func.count()).select_from(OptOut)).scalar_one() == 0
    good = tmp_path / "national.csv"
    good.write_text("nhs_number\n" + "\n".join([VALID, *SYNTHETIC]) + "\n")
    assert _run(cli, "opt-out", "load", str(good)) == (
        0,
        "Loaded national.csv: 4 added, 0 already opted out, 0 repeated in the file.\n",
        "",
    )
    code, _out, err = _run(cli, "opt-out", "load", str(tmp_path / "missing.csv"))
    assert code == 1
    assert "cannot read" in err
    with factory() as s:
        assert opted_out_nhs_numbers(s) == frozenset([VALID, *SYNTHETIC])
        assert {r.source for r in current_opt_outs(s)} == {"national.csv"}
