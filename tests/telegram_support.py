"""Shared plumbing for the Telegram end-to-end tests: one fake Bot API server and one aiogram
Bot per test module (closing a Bot costs 0.25 s), a fresh database, app context and
Dispatcher per test, and small helpers that play officers and admins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot

from bot.app import AppContext, build_context
from bot.channels.telegram_runtime import TelegramRuntime
from bot.channels.telegram_session import create_bot
from bot.clock import FrozenClock
from bot.i18n import I18n
from tests.conftest import make_settings
from tests.fakes.telegram_api import FakeTelegramServer, RateLimits, SentMessage

TOKEN = "123456:TEST-fake-token"
ADMIN_ID = 9001
GDDT_TASK = "VHXH23-04"  # Phòng GD&ĐT, due 30/6/2023
PDF = b"%PDF-1.4\n% signed plan\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


@dataclass
class Harness:
    tg: FakeTelegramServer
    ctx: AppContext
    runtime: TelegramRuntime
    clock: FrozenClock
    officers: dict[int, str] = field(default_factory=dict)

    async def reply(self, chat_id: int) -> SentMessage:
        return await self.tg.wait_for_sent(chat_id)

    async def say(self, user_id: int, text: str, **kwargs: Any) -> SentMessage:
        self.tg.user_sends_text(user_id, text, **kwargs)
        return await self.reply(user_id)

    async def bind(
        self,
        user_id: int,
        unit: str = "GDDT",
        name: str = "Nguyễn Văn An",
        *,
        role: str = "officer",
        language_code: str | None = "vi",
    ) -> SentMessage:
        """Invite and bind an officer through /start CODE; returns the welcome."""
        from bot.domain.enums import Role

        invite = await self.ctx.registry.create_invite(
            unit_code=unit, officer_name=name, role=Role(role), actor="test"
        )
        self.tg.add_user(user_id, name.split()[-1], language_code=language_code)
        self.tg.user_starts(user_id, invite.code)
        welcome = await self.reply(user_id)
        assert "Chào mừng" in (welcome.text or "") or "Welcome" in (welcome.text or ""), welcome
        self.officers[user_id] = name
        return welcome

    async def admin_hello(self, user_id: int = ADMIN_ID) -> SentMessage:
        """The settings admin's first contact (creates their record)."""
        self.tg.add_user(user_id, "Quản trị", language_code="vi")
        return await self.say(user_id, "/help")

    async def deliver_outbox(self) -> Any:
        """One reminder-engine tick at the frozen clock: sends what the outbox holds."""
        return await self.ctx.reminders.tick(self.clock.now())


@pytest.fixture(scope="module")
async def tg_server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(TOKEN, rate_limits=RateLimits.off()) as tg:
        yield tg


@pytest.fixture(scope="module")
async def tg_bot(
    tg_server: FakeTelegramServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Bot]:
    settings = make_settings(
        "sqlite+aiosqlite:///unused.db",
        tmp_path_factory.mktemp("bot"),
        telegram_bot_token=TOKEN,
        telegram_api_base=tg_server.base_url,
    )
    bot = create_bot(settings)
    yield bot
    await bot.session.close()


def harness_settings(db_url: str, tmp_path: Path, base_url: str, **overrides: object) -> Any:
    values: dict[str, object] = {
        "telegram_bot_token": TOKEN,
        "telegram_api_base": base_url,
        "admin_telegram_ids": [ADMIN_ID],
        "telegram_album_wait": 0.3,
        "telegram_bot_username": "nhacviec_test_bot",
    }
    values.update(overrides)
    return make_settings(db_url, tmp_path, **values)


@pytest.fixture
async def harness(
    tg_server: FakeTelegramServer,
    tg_bot: Bot,
    db_url: str,
    tmp_path: Path,
    clock: FrozenClock,
    i18n: I18n,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Harness]:
    """A seeded service whose Telegram side polls the module's fake server."""
    await tg_server.reset()
    overrides = getattr(request, "param", {}) or {}
    settings = harness_settings(db_url, tmp_path, tg_server.base_url, **overrides)
    ctx = build_context(settings, clock=clock, i18n=i18n)
    with i18n.context(), i18n.use_locale("vi"):
        await ctx.seed.load(actor="test")
        async with polling(tg_server, tg_bot, ctx, clock) as h:
            yield h


@asynccontextmanager
async def polling(
    tg_server: FakeTelegramServer, tg_bot: Bot, ctx: AppContext, clock: FrozenClock
) -> AsyncIterator[Harness]:
    """The Telegram runtime on `ctx`, polling the module's fake; afterwards the context is
    closed and the fake must have seen no call it did not expect."""
    runtime = TelegramRuntime(ctx, bot=tg_bot)
    await runtime.start()
    try:
        yield Harness(tg_server, ctx, runtime, clock)
    finally:
        await runtime.stop()
        await ctx.reminders.drain()
        ctx.channels.unregister("telegram")
        await ctx.aclose()
        await _end_long_poll(tg_server)
    tg_server.assert_no_unexpected_calls()


async def _end_long_poll(tg: FakeTelegramServer) -> None:
    """Let the stopped bot's last getUpdates finish before the next test resets the fake."""
    waiting = [c for c in tg.calls if c.method == "getUpdates" and c.status == 0]
    if not waiting:
        return
    # An update wakes the parked poll (the stopped bot never confirms it; reset drops it).
    tg.add_user(1, "wake-up")
    tg.user_sends_text(1, ".")
    await tg.wait_for_call(lambda c: c is waiting[-1])
