"""Composition root: settings → engine/sessionmaker → services → i18n, built once and
passed down. Nothing is created at import time, so tests build their own context."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.i18n import I18n, build_i18n
from bot.services.registry import RegistryService
from bot.services.seed import SeedService
from bot.services.tasks import TaskService
from storage import migrate
from storage.db import check_database, create_engine, create_sessionmaker

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    i18n: I18n
    registry: RegistryService
    tasks: TaskService
    seed: SeedService
    # Later pieces (reminder engine, channels) hang their services here.
    extras: dict[str, Any] = field(default_factory=dict)

    async def aclose(self) -> None:
        await self.engine.dispose()


def build_context(
    settings: Settings, *, clock: Clock | None = None, i18n: I18n | None = None
) -> AppContext:
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    return AppContext(
        settings=settings,
        clock=clock,
        engine=engine,
        sessionmaker=sessionmaker,
        i18n=i18n or build_i18n(settings.bot_locale),
        registry=RegistryService(
            sessionmaker, clock, telegram_username=settings.telegram_bot_username
        ),
        tasks=TaskService(sessionmaker),
        seed=SeedService(sessionmaker, clock),
    )


async def prepare_database(ctx: AppContext) -> None:
    """Fail fast on an unreachable database, then bring the schema up to date."""
    await check_database(ctx.engine)
    await migrate.upgrade(ctx.engine)
