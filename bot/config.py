"""Settings from the environment and `.env`, validated once at start-up.

A bad value stops start-up with one line naming the setting (`describe_settings_error`);
tokens are `SecretStr` so they never reach a log line or an error message.
"""

from __future__ import annotations

from datetime import date, time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.dates import DateParseError, parse_vn_date
from bot.domain.policy import (
    OfficeHours,
    Recurrence,
    ReminderPolicy,
    parse_clock_time,
    parse_weekday,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/nhacviec.db"


def _split_csv(value: Any) -> Any:
    """Lists come from the environment as "1,2,3" (JSON would be unfriendly to admins)."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    # env_ignore_empty: `.env.example` leaves optional settings blank (`ZALO_WEBHOOK_URL=`);
    # blank means "not set", not an empty URL that fails validation.
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
        env_ignore_empty=True,
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
    # Per-user flood control: messages one user may send at once, then how many per second.
    telegram_throttle_burst: int = Field(default=20, ge=1)
    telegram_throttle_rate: float = Field(default=1.0, ge=0)
    # Seconds to wait for the rest of an album (several photos/files sent together).
    telegram_album_wait: float = Field(default=1.0, gt=0, le=10)

    # Zalo Bot Platform
    zalo_bot_token: SecretStr | None = None
    zalo_api_base: AnyHttpUrl = AnyHttpUrl("https://bot-api.zaloplatforms.com")
    # Public HTTPS base URL for webhook mode (Zalo posts to {URL}/webhooks/zalo); None = polling.
    zalo_webhook_url: AnyHttpUrl | None = None
    # Secret Zalo sends back in X-Bot-Api-Secret-Token (8-256 characters).
    zalo_webhook_secret: SecretStr | None = None
    # Photos officers send are fetched from Zalo's URL up to this size and within this time.
    zalo_photo_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=20 * 1024 * 1024)
    zalo_download_timeout: float = Field(default=30.0, gt=0, le=300)

    # Zalo Official Account (optional: the one way to receive files such as a signed PDF)
    zalo_oa_app_id: str | None = None
    zalo_oa_secret_key: SecretStr | None = None
    # The first token pair from the OA consent; used only while the database holds none.
    zalo_oa_access_token: SecretStr | None = None
    zalo_oa_refresh_token: SecretStr | None = None
    zalo_oa_api_base: AnyHttpUrl = AnyHttpUrl("https://openapi.zalo.me")
    zalo_oauth_base: AnyHttpUrl = AnyHttpUrl("https://oauth.zaloapp.com")

    # People and language
    bot_timezone: str = "Asia/Ho_Chi_Minh"
    bot_locale: Literal["vi", "en"] = "vi"
    admin_telegram_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    admin_zalo_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Web server (health check, webhooks)
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=1, le=65535)

    # Working calendar: extra days off and make-up working days (D/M/YYYY, comma-separated)
    extra_days_off: Annotated[list[date], NoDecode] = Field(default_factory=list)
    makeup_workdays: Annotated[list[date], NoDecode] = Field(default_factory=list)

    # Reminders (times are BOT_TIMEZONE local time; days before a deadline, comma-separated)
    reminder_offsets: Annotated[list[int], NoDecode] = Field(default_factory=lambda: [7, 3, 1, 0])
    reminder_cooperating_offsets: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [7, 0]
    )
    reminder_time: time = time(8, 0)
    office_hours: str = "07:30-17:00"
    overdue_every_working_days: int = Field(default=2, ge=1, le=30)
    escalate_unit_head_after: int = Field(default=1, ge=1, le=60)
    escalate_admins_after: int = Field(default=3, ge=1, le=60)
    conditional_checkin_weekday: str = "mon"
    recurring_default: str = "monthly:25"
    digest_weekday: str = "mon"
    digest_time: time = time(8, 0)
    admin_summary_time: time = time(16, 0)
    reminder_stale_after_hours: float = Field(default=4.0, gt=0, le=72)
    reminder_plan_days: int = Field(default=14, ge=1, le=90)
    tick_interval_seconds: int = Field(default=60, ge=5, le=3600)
    outbox_lease_seconds: int = Field(default=300, ge=30, le=3600)
    outbox_max_attempts: int = Field(default=12, ge=1, le=100)
    outbox_backoff_seconds: int = Field(default=30, ge=1, le=3600)
    outbox_backoff_max_seconds: int = Field(default=3600, ge=1, le=86400)
    # Sending ceilings (Telegram's published limits; Zalo publishes none)
    telegram_rate_global_per_second: float = Field(default=30.0, gt=0)
    telegram_rate_per_chat_per_second: float = Field(default=1.0, gt=0)
    telegram_rate_group_per_minute: float = Field(default=20.0, gt=0)
    zalo_rate_global_per_second: float = Field(default=10.0, gt=0)
    zalo_rate_per_chat_per_second: float = Field(default=1.0, gt=0)
    zalo_rate_group_per_minute: float = Field(default=20.0, gt=0)
    # Safety margin under each ceiling (0.02 = send at most 98% of it)
    rate_limit_margin: float = Field(default=0.02, ge=0, lt=0.5)

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

    @field_validator("reminder_offsets", "reminder_cooperating_offsets", mode="before")
    @classmethod
    def _csv_offsets(cls, value: Any) -> Any:
        value = _split_csv(value)
        if isinstance(value, list):
            try:
                numbers = [int(item) for item in value]
            except (TypeError, ValueError) as exc:
                raise ValueError("days before the deadline, e.g. 7,3,1,0") from exc
            if any(n < 0 or n > 366 for n in numbers):
                raise ValueError("days before the deadline must be 0..366")
            return sorted(set(numbers), reverse=True)
        return value

    @field_validator("reminder_time", "digest_time", "admin_summary_time", mode="before")
    @classmethod
    def _clock_time(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_clock_time(value)
        return value

    @field_validator("office_hours")
    @classmethod
    def _office_hours(cls, value: str) -> str:
        return str(OfficeHours.parse(value))

    @field_validator("conditional_checkin_weekday", "digest_weekday")
    @classmethod
    def _weekday(cls, value: str) -> str:
        return ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[parse_weekday(value)]

    @field_validator("recurring_default")
    @classmethod
    def _recurrence(cls, value: str) -> str:
        return str(Recurrence.parse(value))

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
    def zalo_oa_enabled(self) -> bool:
        """The OA channel runs when its app id and secret key are set."""
        return bool(self.zalo_oa_app_id) and self.zalo_oa_secret_key is not None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.bot_timezone)

    @property
    def office(self) -> OfficeHours:
        return OfficeHours.parse(self.office_hours)

    def reminder_policy(self) -> ReminderPolicy:
        """The global reminder policy; assignments may override it one field at a time."""
        return ReminderPolicy(
            offsets=tuple(self.reminder_offsets),
            cooperating_offsets=tuple(self.reminder_cooperating_offsets),
            send_time=self.reminder_time,
            overdue_every=self.overdue_every_working_days,
            escalate_head_after=self.escalate_unit_head_after,
            escalate_admins_after=self.escalate_admins_after,
            checkin_weekday=parse_weekday(self.conditional_checkin_weekday),
            recurrence=self.recurring_default,
        )


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
