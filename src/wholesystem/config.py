"""The one settings object: ``WHOLESYSTEM_*`` environment variables over an optional TOML file."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["DEV_SECRET", "ConfigError", "Mode", "Settings", "get_settings", "reset_settings"]

# Published in the source on purpose: it is only accepted in demo and test mode,
# so a production deployment that forgets to set a secret refuses to start.
DEV_SECRET = "wholesystem-demo-secret-not-for-production"  # noqa: S105


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says which setting and why."""


class Mode(StrEnum):
    demo = "demo"
    test = "test"
    production = "production"


def _toml_file() -> Path:
    return Path(os.environ.get("WHOLESYSTEM_CONFIG", "wholesystem.toml"))


class Settings(BaseSettings):
    """Every setting of the service, read once.

    Precedence: explicit arguments, then ``WHOLESYSTEM_*`` environment variables,
    then ``wholesystem.toml`` (or the file named by ``WHOLESYSTEM_CONFIG``), then defaults.
    """

    model_config = SettingsConfigDict(
        env_prefix="WHOLESYSTEM_",
        extra="forbid",
        validate_default=True,
    )

    mode: Mode = Field(default=Mode.production, description="demo, test or production.")
    data_dir: Path = Field(
        default=Path("data"), description="Where the database file, the lake and demo data live."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the operational database; default a SQLite file "
        "in the data directory.",
    )
    lake_dir: Path | None = Field(
        default=None, description="Parquet lake; default <data_dir>/lake."
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEV_SECRET),
        description="Key for signing and keyed hashes; must be set outside demo/test mode.",
    )
    session_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="Idle minutes before a session expires."
    )
    session_max_hours: int = Field(
        default=12, ge=1, le=72, description="Absolute lifetime of a session in hours."
    )
    cookie_secure: bool = Field(
        default=True, description="Send the session cookie over HTTPS only (localhost counts)."
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins allowed per user or address in the window."
    )
    login_window_minutes: int = Field(
        default=15, ge=1, description="Window and lock-out length for login throttling."
    )
    break_glass_minutes: int = Field(
        default=60,
        ge=5,
        le=24 * 60,
        description="Minutes a break-glass grant to one person's record lasts.",
    )
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="Key for analysts' pseudonyms; default derived from secret_key. "
        "Changing it changes every pseudonym.",
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` listens on.")
    code_terms_file: Path | None = Field(
        default=None,
        description="A CSV (system,code,display) of further code terms, such as the full "
        "ICD-10 and OPCS-4 from NHS England's TRUD: added to the packaged terms, taking "
        "precedence.",
    )
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Web server processes `serve` runs; one per core meets the dashboard "
        "load target (docs/performance.md).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=_toml_file()),
        )

    @field_validator("code_terms_file")
    @classmethod
    def _read_code_terms(cls, path: Path | None) -> Path | None:
        if path is not None:
            from wholesystem.record.terms import read_terms

            read_terms(path)  # a bad file fails here, naming the line
        return path

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.mode is Mode.production and secret == DEV_SECRET:
            raise ValueError(
                "WHOLESYSTEM_SECRET_KEY is not set: the built-in demo secret is refused "
                "outside demo/test mode. Set a random secret of at least 32 characters."
            )
        if len(secret) < 32:
            raise ValueError("WHOLESYSTEM_SECRET_KEY must be at least 32 characters long.")
        if self.pseudonym_key is not None and len(self.pseudonym_key.get_secret_value()) < 32:
            raise ValueError("WHOLESYSTEM_PSEUDONYM_KEY must be at least 32 characters long.")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to ``<data_dir>/wholesystem.db``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'wholesystem.db').resolve()}"

    @property
    def resolved_lake_dir(self) -> Path:
        """The lake directory, defaulting to ``<data_dir>/lake``."""
        return self.lake_dir if self.lake_dir is not None else self.data_dir / "lake"

    @property
    def demo_dir(self) -> Path:
        """Where `demo` writes the synthetic ICS it builds."""
        return self.data_dir / "demo"


_cached: Settings | None = None


def get_settings(**overrides: Any) -> Settings:
    """Load the settings once, failing fast with a message that names the bad setting."""
    global _cached
    if overrides:
        return _load(**overrides)
    if _cached is None:
        _cached = _load()
    return _cached


def reset_settings() -> None:
    """Forget the cached settings (tests and the CLI's --data-dir use this)."""
    global _cached
    _cached = None


def _load(**overrides: Any) -> Settings:
    from pydantic import ValidationError

    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "settings"
            lines.append(f"{where}: {err['msg']}")
        raise ConfigError("Bad configuration:\n  " + "\n  ".join(lines)) from exc
