"""Settings from the environment and `.env`, validated once at start-up.

A bad value stops start-up with one line naming the setting (`describe_settings_error`);
tokens are `SecretStr` so they never reach a log line or an error message.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.dates import DateParseError, parse_vn_date

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/nhacviec.db"


def _split_csv(value: Any) -> Any:
    """Lists come from the environment as "1,2,3" (JSON would be unfriendly to admins)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", validate_default=True
    )

    # Storage
    database_url: str = DEFAULT_DATABASE_URL
    attachments_dir: Path = Path("data/attachments")

    # Telegram
    telegram_bot_token: SecretStr | None = None
    telegram_api_base: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org")
    # Shown in invite links (https://t.me/<username>?start=CODE); asked from getMe if empty.
    telegram_bot_username: str | None = None
    telegram_webhook_url: AnyHttpUrl | None = None
    telegram_webhook_secret: SecretStr | None = None

    # Zalo Bot Platform
    zalo_bot_token: SecretStr | None = None
    zalo_api_base: AnyHttpUrl = AnyHttpUrl("https://bot-api.zaloplatforms.com")

    # People and language
    bot_timezone: str = "Asia/Ho_Chi_Minh"
    bot_locale: Literal["vi", "en"] = "vi"
    admin_telegram_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    admin_zalo_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Web server (health check, webhooks, dashboard)
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)

    # Working calendar: extra days off and make-up working days (D/M/YYYY, comma-separated)
    extra_days_off: Annotated[list[date], NoDecode] = Field(default_factory=list)
    makeup_workdays: Annotated[list[date], NoDecode] = Field(default_factory=list)

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("admin_telegram_ids", "admin_zalo_ids", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("extra_days_off", "makeup_workdays", mode="before")
    @classmethod
    def _csv_dates(cls, value: Any) -> Any:
        value = _split_csv(value)
        if isinstance(value, list):
            out: list[Any] = []
            for item in value:
                if isinstance(item, str) and "/" in item:
                    try:
                        out.append(parse_vn_date(item))
                    except DateParseError as exc:
                        raise ValueError(f"{item!r} is not a D/M/YYYY date") from exc
                else:
                    out.append(item)
            return out
        return value

    @field_validator("bot_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(
                "not a database URL (e.g. sqlite+aiosqlite:///data/nhacviec.db)"
            ) from exc
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError("only SQLite and PostgreSQL are supported")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.bot_timezone)


def describe_settings_error(error: ValidationError) -> str:
    """One line per bad setting, naming the environment variable, never echoing its value."""
    lines = []
    for item in error.errors():
        name = "_".join(str(part) for part in item["loc"][:1]).upper() or "SETTINGS"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{name}: {message}")
    return "\n".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Cached so the composition root and the CLI share one instance; tests call cache_clear()."""
    return Settings()
