"""Helpers for the reminder engine's tests: virtual transport time, officers, groups.

`VirtualTimer` lets the send pacer "wait" without the wall clock: sleeping advances its
clock at once. Handing the same timer to the fake Telegram server's flood limiter makes
strict rate-limit checks exact and instant.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from sqlalchemy import select, update

from bot.app import AppContext, build_context
from bot.channels.telegram import TelegramSender
from bot.clock import FrozenClock
from bot.config import Settings
from bot.domain.enums import ChatPurpose, Role
from bot.i18n import I18n
from bot.services.reminders import ReminderService
from storage.models import Assignment, GroupChat, Officer, OutboxMessage
from tests.conftest import make_settings
from tests.fakes.telegram_api import FakeTelegramServer, RateLimits

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def local(year: int, month: int, day: int, hour: int = 8, minute: int = 0) -> datetime:
    """An instant in Hà Nội time, as the office reads it."""
    return datetime(year, month, day, hour, minute, tzinfo=HCM)


class VirtualTimer:
    """Transport time that moves only when someone sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.now += seconds
            self.slept += seconds
        await asyncio.sleep(0)


def telegram_settings(
    db_url: str, tmp_path: Path, tg: FakeTelegramServer, **extra: Any
) -> Settings:
    return make_settings(
        db_url,
        tmp_path,
        telegram_bot_token=tg.token,
        telegram_api_base=tg.base_url,
        **extra,
    )


def make_bot(tg: FakeTelegramServer) -> Bot:
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.enums import ParseMode

    return Bot(
        token=tg.token,
        session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


class Harness:
    """An app context wired to the fake Telegram server, on virtual transport time."""

    def __init__(
        self, ctx: AppContext, tg: FakeTelegramServer, clock: FrozenClock, timer: VirtualTimer
    ) -> None:
        self.ctx = ctx
        self.tg = tg
        self.clock = clock
        self.timer = timer
        self._next_user = 5000

    @property
    def reminders(self) -> ReminderService:
        return self.ctx.reminders

    async def bind(
        self,
        unit: str,
        name: str,
        *,
        role: Role = Role.OFFICER,
        user_id: int | None = None,
        started: bool = True,
        locale: str | None = None,
    ) -> tuple[int, int]:
        """Invite and bind a Telegram user to `unit`: (officer id, Telegram user id)."""
        if user_id is None:
            self._next_user += 1
            user_id = self._next_user
        self.tg.add_user(user_id, first_name=name.split()[-1], started=started)
        invite = await self.ctx.registry.create_invite(
            unit_code=unit, officer_name=name, role=role, actor="test"
        )
        result = await self.ctx.registry.redeem_invite(
            invite.code,
            channel="telegram",
            user_id=str(user_id),
            chat_id=str(user_id),
            locale=locale,
        )
        if locale is not None:
            async with self.ctx.sessionmaker() as session, session.begin():
                await session.execute(
                    update(Officer).where(Officer.id == result.officer.id).values(locale=locale)
                )
        return result.officer.id, user_id

    async def add_group(
        self,
        chat_id: int,
        title: str,
        *,
        unit: str | None = None,
        purpose: str = ChatPurpose.DIGEST,
    ) -> int:
        self.tg.add_group(chat_id, title)
        async with self.ctx.sessionmaker() as session, session.begin():
            unit_id = None
            if unit is not None:
                from storage.models import Unit

                unit_id = await session.scalar(select(Unit.id).where(Unit.code == unit))
            group = GroupChat(
                channel="telegram",
                chat_id=str(chat_id),
                title=title,
                purpose=purpose,
                unit_id=unit_id,
                active=True,
                bound_at=self.clock.now(),
                settings={},
            )
            session.add(group)
            await session.flush()
            return group.id

    async def set_task(self, code: str, **values: Any) -> None:
        """Change an assignment the way another service would, and tell the engine."""
        async with self.ctx.sessionmaker() as session, session.begin():
            assignment_id = await session.scalar(
                select(Assignment.id).where(Assignment.code == code)
            )
            assert assignment_id is not None
            await session.execute(
                update(Assignment)
                .where(Assignment.id == assignment_id)
                .values(updated_at=self.clock.now(), **values)
            )
            await self.reminders.on_assignment_changed(session, assignment_id)

    async def tick(self, at: datetime) -> Any:
        self.clock.set(at)
        return await self.reminders.tick()

    async def rows(self, **filters: Any) -> list[OutboxMessage]:
        async with self.ctx.sessionmaker() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.due_at, OutboxMessage.id)
            for name, value in filters.items():
                query = query.where(getattr(OutboxMessage, name) == value)
            return list(await session.scalars(query))


@pytest.fixture(scope="session")
async def tg_shared() -> AsyncIterator[FakeTelegramServer]:
    """One fake Telegram server for the reminder tests (reset before each); its flood
    limits are off because the tests' pacer runs on virtual time (see test_dispatch for
    the strict limits)."""
    async with FakeTelegramServer(rate_limits=RateLimits.off()) as tg:
        yield tg


@pytest.fixture(scope="session")
async def shared_bot(tg_shared: FakeTelegramServer) -> AsyncIterator[Bot]:
    bot = make_bot(tg_shared)
    yield bot
    await bot.session.close()


@asynccontextmanager
async def open_harness(
    db_url: str,
    tmp_path: Path,
    tg: FakeTelegramServer,
    bot: Bot,
    i18n: I18n,
    *,
    seed: bool = True,
    **settings: Any,
) -> AsyncIterator[Harness]:
    """The seed loaded, Telegram wired, the clock at Friday 23/6/2023 07:00 in Hà Nội."""
    clock = FrozenClock(local(2023, 6, 23, 7, 0))
    timer = VirtualTimer()
    ctx = build_context(telegram_settings(db_url, tmp_path, tg, **settings), clock=clock, i18n=i18n)
    ctx.reminders.dispatcher.timer = timer
    ctx.channels.register(TelegramSender(bot))
    try:
        with i18n.context(), i18n.use_locale("vi"):
            if seed:
                await ctx.seed.load()
            yield Harness(ctx, tg, clock, timer)
    finally:
        await ctx.aclose()


@pytest.fixture
async def harness(
    db_url: str,
    tmp_path: Path,
    tg_shared: FakeTelegramServer,
    shared_bot: Bot,
    i18n: I18n,
) -> AsyncIterator[Harness]:
    await tg_shared.reset()
    async with open_harness(db_url, tmp_path, tg_shared, shared_bot, i18n) as h:
        yield h
