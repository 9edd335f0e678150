"""Settings: defaults, friendly one-line errors, secrets that never leak."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from pydantic import ValidationError

from bot.config import Settings, describe_settings_error
from bot.logs import RedactSecrets, secret_values

TOKEN = "123456:AAH-very-secret-token"


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_config_defaults_are_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "BOT_TIMEZONE", "BOT_LOCALE", "ATTACHMENTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = _settings()
    assert settings.database_url == "sqlite+aiosqlite:///data/nhacviec.db"
    assert settings.bot_timezone == "Asia/Ho_Chi_Minh"
    assert settings.bot_locale == "vi"
    assert str(settings.attachments_dir) == "data/attachments"


def test_config_reads_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_TELEGRAM_IDS", "111, 222")
    monkeypatch.setenv("ADMIN_ZALO_IDS", "e4ea2cd5189df1c3a88c")
    monkeypatch.setenv("EXTRA_DAYS_OFF", "2/9/2025,1/9/2025")
    settings = _settings()
    assert settings.admin_telegram_ids == [111, 222]
    assert settings.admin_zalo_ids == ["e4ea2cd5189df1c3a88c"]
    assert settings.extra_days_off == [date(2025, 9, 2), date(2025, 9, 1)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"bot_timezone": "Asia/Hanoii"}, "BOT_TIMEZONE: unknown time zone 'Asia/Hanoii'"),
        ({"telegram_api_base": "not a url"}, "TELEGRAM_API_BASE: "),
        ({"database_url": "mysql://x/y"}, "DATABASE_URL: only SQLite and PostgreSQL are supported"),
        ({"web_port": 70000}, "WEB_PORT: "),
    ],
)
def test_config_bad_value_names_the_setting(values: dict[str, object], expected: str) -> None:
    with pytest.raises(ValidationError) as error:
        _settings(**values)
    message = describe_settings_error(error.value)
    assert len(message.splitlines()) == 1
    assert message.startswith(expected)


def test_config_tokens_never_show_in_errors_or_repr() -> None:
    settings = _settings(telegram_bot_token=TOKEN)
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings.model_dump())
    with pytest.raises(ValidationError) as error:
        _settings(telegram_bot_token=TOKEN, bot_timezone="nowhere")
    assert TOKEN not in describe_settings_error(error.value)


def test_logs_redact_tokens(caplog: pytest.LogCaptureFixture) -> None:
    settings = _settings(telegram_bot_token=TOKEN, zalo_bot_token="zalo-secret-123")
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactSecrets(secret_values(settings)))
    try:
        with caplog.at_level(logging.INFO, logger="test.redaction"):
            logger.info("GET https://api.telegram.org/bot%s/getMe failed", TOKEN)
            logger.info("zalo token %s", "zalo-secret-123")
    finally:
        logger.filters.clear()
    assert TOKEN not in caplog.text
    assert "zalo-secret-123" not in caplog.text
    assert "bot***/getMe" in caplog.text


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    """`.env.example` is the operator's reference: it must stay true to `Settings`."""
    import re
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / ".env.example"
    lines = example.read_text(encoding="utf-8").splitlines()
    listed = {m.group(1) for line in lines if (m := re.match(r"#?\s*([A-Z][A-Z0-9_]+)=", line))}
    fields = {name.upper() for name in Settings.model_fields}
    assert sorted(fields - listed) == [], "settings missing from .env.example"
    assert sorted(listed - fields) == [], ".env.example names settings that do not exist"
    for index, line in enumerate(lines):
        if re.match(r"[A-Z][A-Z0-9_]+=", line):
            above = index - 1  # a block of related settings shares one comment
            while above >= 0 and re.match(r"[A-Z][A-Z0-9_]+=", lines[above]):
                above -= 1
            assert above >= 0 and lines[above].startswith("#"), f"no comment above {line}"
