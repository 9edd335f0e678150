"""Building an aiogram `Bot` that honours TELEGRAM_API_BASE (a local Bot API server, or
the tests' fake), with HTML as the default parse mode."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import aiohttp

from bot.config import Settings

if TYPE_CHECKING:
    from aiogram import Bot

log = logging.getLogger(__name__)


def create_bot(settings: Settings) -> Bot:
    # aiogram takes seconds to import; only the Telegram runtime pays for it.
    from aiogram import Bot
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.enums import ParseMode

    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    base = str(settings.telegram_api_base).rstrip("/")
    session = AiohttpSession(api=TelegramAPIServer.from_base(base))
    return Bot(
        token=settings.telegram_bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


async def fetch_bot_username(settings: Settings) -> str | None:
    """The bot's @username for invite links; None (and a warning) if Telegram can't say."""
    if settings.telegram_bot_username:
        return settings.telegram_bot_username.lstrip("@")
    if settings.telegram_bot_token is None:
        return None
    # A plain getMe over aiohttp: the CLI should not import aiogram for one call.
    base = str(settings.telegram_api_base).rstrip("/")
    url = f"{base}/bot{settings.telegram_bot_token.get_secret_value()}/getMe"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
            session.get(url) as response,
        ):
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        log.warning("could not ask Telegram for the bot's username: %s", type(exc).__name__)
        return None
    if not isinstance(body, dict) or not body.get("ok"):
        log.warning("Telegram refused getMe; check TELEGRAM_BOT_TOKEN")
        return None
    username = body.get("result", {}).get("username")
    return str(username) if username else None
