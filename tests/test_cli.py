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
