"""The `wholesystem` command offers every verb the foundation promises."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from wholesystem.cli import app


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            [],
            (
                "synth",
                "db",
                "users",
                "audit",
                "serve",
                "demo",
                "footprint",
                "spc",
                "ingest",
                "link-records",
                "link-eval",
                "link-index",
                "link-lake",
                "finance",
            ),
        ),
        (["db"], ("upgrade",)),
        (["users"], ("create", "list", "deactivate", "set-password")),
        (["audit"], ("verify",)),
        (["serve", "--help"], ("--host", "--port")),
        (["demo", "--help"], ("--people", "--seed", "--no-serve")),
        (["synth", "--help"], ("--people", "--seed", "--out")),
        (["finance", "settle", "--help"], ("--out",)),
        (["link-lake", "--help"], ("--relink",)),
        (["spc", "--help"], ("--out", "--improvement", "--target", "--rebase-at")),
    ],
)
def test_verbs_and_options(args: list[str], expected: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*args, "--help"] if "--help" not in args else args)
    assert result.exit_code == 0, result.output
    for word in expected:
        assert word in result.output


def test_production_without_a_secret_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from wholesystem.config import reset_settings

    monkeypatch.setenv("WHOLESYSTEM_MODE", "production")
    monkeypatch.delenv("WHOLESYSTEM_SECRET_KEY", raising=False)
    reset_settings()
    result = CliRunner().invoke(app, ["db", "upgrade"])
    reset_settings()
    assert result.exit_code == 2
    assert "WHOLESYSTEM_SECRET_KEY is not set" in result.output


@pytest.mark.parametrize(
    ("workers", "expected_app", "expected_extra"),
    [
        # one process: the app object itself
        ("1", "object", {}),
        # several: uvicorn needs an import string to start each worker's app
        ("2", "wholesystem.web.app:create_app", {"factory": True, "workers": 2}),
    ],
)
def test_serve_runs_the_configured_number_of_workers(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: object,
    workers: str,
    expected_app: str,
    expected_extra: dict[str, object],
) -> None:
    import uvicorn

    from wholesystem.config import reset_settings

    calls: list[tuple[object, dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append((target, kw)))
    monkeypatch.setenv("WHOLESYSTEM_MODE", "test")
    monkeypatch.setenv("WHOLESYSTEM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WHOLESYSTEM_WORKERS", workers)
    reset_settings()
    result = CliRunner().invoke(app, ["serve", "--port", "8123"])
    reset_settings()
    assert result.exit_code == 0, result.output
    [(target, kwargs)] = calls
    if expected_app == "object":
        assert not isinstance(target, str)
    else:
        assert target == expected_app
    assert kwargs["port"] == 8123
    for key, value in expected_extra.items():
        assert kwargs[key] == value


def test_workers_must_be_at_least_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from wholesystem.config import reset_settings

    monkeypatch.setenv("WHOLESYSTEM_MODE", "test")
    monkeypatch.setenv("WHOLESYSTEM_WORKERS", "0")
    reset_settings()
    result = CliRunner().invoke(app, ["db", "upgrade"])
    reset_settings()
    assert result.exit_code == 2
    assert "workers" in result.output


@pytest.mark.parametrize("args", [["ingest", "/nonexistent"], ["link-index"], ["db", "upgrade"]])
def test_a_bad_configuration_is_said_plainly_by_every_verb(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    """Through the console script, not only the verbs that ask for settings themselves: a
    message and exit status 2, no traceback."""
    from wholesystem.cli import main
    from wholesystem.config import reset_settings

    monkeypatch.setenv("WHOLESYSTEM_MODE", "production")
    monkeypatch.delenv("WHOLESYSTEM_SECRET_KEY", raising=False)
    monkeypatch.setattr("sys.argv", ["wholesystem", *args])
    reset_settings()
    try:
        with pytest.raises(SystemExit) as stopped:
            main()
    finally:
        reset_settings()
    assert stopped.value.code == 2
    said = capsys.readouterr()
    assert "WHOLESYSTEM_SECRET_KEY is not set" in said.err
    assert "Traceback" not in said.err + said.out


def test_a_database_not_set_up_is_said_plainly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    from wholesystem.cli import main
    from wholesystem.config import reset_settings

    monkeypatch.setenv("WHOLESYSTEM_MODE", "test")
    monkeypatch.setenv("WHOLESYSTEM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("WHOLESYSTEM_DATABASE_URL", raising=False)
    monkeypatch.setattr("sys.argv", ["wholesystem", "ingest", str(tmp_path)])
    reset_settings()
    try:
        with pytest.raises(SystemExit) as stopped:
            main()
        said = capsys.readouterr()
        assert stopped.value.code == 2
        assert "has no tables yet: run `wholesystem db upgrade` first" in said.err
        assert "Traceback" not in said.err + said.out
        for args in (["db", "upgrade"], ["ingest", str(tmp_path)]):  # then it gets past it
            monkeypatch.setattr("sys.argv", ["wholesystem", *args])
            with pytest.raises(SystemExit) as done:
                main()
            assert done.value.code == 0, capsys.readouterr()
        assert "0 loaded, 0 rejected, 0 unchanged" in capsys.readouterr().out
    finally:
        reset_settings()
