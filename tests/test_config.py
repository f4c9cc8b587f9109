"""Settings: one object, environment over TOML, no default secret outside demo/test."""

from __future__ import annotations

from pathlib import Path

import pytest

from wholesystem.config import DEV_SECRET, ConfigError, Mode, get_settings, reset_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in ("MODE", "DATA_DIR", "DATABASE_URL", "SECRET_KEY", "LAKE_DIR", "PORT"):
        monkeypatch.delenv(f"WHOLESYSTEM_{key}", raising=False)
    monkeypatch.setenv("WHOLESYSTEM_CONFIG", str(tmp_path / "absent.toml"))
    reset_settings()


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ConfigError, match="WHOLESYSTEM_SECRET_KEY is not set"):
        get_settings()


@pytest.mark.parametrize("mode", ["demo", "test"])
def test_demo_and_test_accept_the_default_secret(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("WHOLESYSTEM_MODE", mode)
    settings = get_settings()
    assert settings.secret_key.get_secret_value() == DEV_SECRET
    assert settings.data_dir == Path("data")
    assert settings.resolved_database_url.endswith("/data/wholesystem.db")
    assert settings.resolved_lake_dir == Path("data/lake")


def test_short_secret_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHOLESYSTEM_SECRET_KEY", "short")
    with pytest.raises(ConfigError, match="at least 32 characters"):
        get_settings()


def test_environment_overrides_toml(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    toml = tmp_path / "ws.toml"
    toml.write_text('mode = "demo"\ndata_dir = "/srv/ws"\nport = 9000\n')
    monkeypatch.setenv("WHOLESYSTEM_CONFIG", str(toml))
    monkeypatch.setenv("WHOLESYSTEM_PORT", "9100")
    settings = get_settings()
    assert settings.mode is Mode.demo
    assert settings.data_dir == Path("/srv/ws")
    assert settings.port == 9100
    assert settings.resolved_database_url == "sqlite:////srv/ws/wholesystem.db"


def test_bad_values_name_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHOLESYSTEM_MODE", "demo")
    monkeypatch.setenv("WHOLESYSTEM_PORT", "eighty")
    with pytest.raises(ConfigError, match="port"):
        get_settings()


def test_unknown_setting_in_toml_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    toml = tmp_path / "ws.toml"
    toml.write_text('mode = "demo"\ndatabse_url = "typo"\n')
    monkeypatch.setenv("WHOLESYSTEM_CONFIG", str(toml))
    with pytest.raises(ConfigError, match="databse_url"):
        get_settings()


def test_every_setting_is_documented() -> None:
    from wholesystem.config import Settings

    doc = (Path(__file__).parents[1] / "docs" / "configuration.md").read_text()
    for name in Settings.model_fields:
        assert f"| `{name}` | `WHOLESYSTEM_{name.upper()}` |" in doc, f"{name} is undocumented"
