"""Composition root: settings → engine/sessionmaker → services → i18n, built once and
passed down. Nothing is created at import time, so tests build their own context."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.base import ChannelSender
from bot.channels.router import ChannelRouter
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.i18n import I18n, build_i18n
from bot.services.admin import AdminService
from bot.services.attachments import AttachmentStore
from bot.services.conversation import ConversationService
from bot.services.notice_import import NoticeImportService
from bot.services.registry import RegistryService
from bot.services.reminders import ReminderService
from bot.services.reports import ReportService
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
    # Outbound senders by platform; runtime and CLI register the configured ones.
    channels: ChannelRouter
    reminders: ReminderService
    # Progress reports, their review, admin use cases and the chat conversation (channel-
    # neutral; Telegram and Zalo adapters call them). Wired by `_wire_progress`.
    attachments: AttachmentStore = field(init=False)
    reports: ReportService = field(init=False)
    admin: AdminService = field(init=False)
    conversation: ConversationService = field(init=False)
    # Notice import: drafts read from a notice file, reviewed, then made live.
    notices: NoticeImportService = field(init=False)
    # Later pieces (reminder engine, channels) hang their services here.
    extras: dict[str, Any] = field(default_factory=dict)

    async def aclose(self) -> None:
        await self.reminders.aclose()
        await self.engine.dispose()


def build_context(
    settings: Settings, *, clock: Clock | None = None, i18n: I18n | None = None
) -> AppContext:
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    i18n = i18n or build_i18n(settings.bot_locale)
    channels = ChannelRouter()
    ctx = AppContext(
        settings=settings,
        clock=clock,
        engine=engine,
        sessionmaker=sessionmaker,
        i18n=i18n,
        registry=RegistryService(
            sessionmaker, clock, telegram_username=settings.telegram_bot_username
        ),
        tasks=TaskService(sessionmaker),
        seed=SeedService(sessionmaker, clock),
        channels=channels,
        reminders=ReminderService(sessionmaker, clock, settings, channels, i18n),
    )
    _wire_progress(ctx)
    _wire_notices(ctx)
    channels.on_register(lambda sender: _bind_sender(ctx, sender))
    return ctx


def _bind_sender(ctx: AppContext, sender: ChannelSender) -> None:
    """Senders that keep state in the database (the Zalo OA's tokens and 7-day window) get
    the app's services when the runtime or the CLI registers them."""
    bind = getattr(sender, "bind_context", None)
    if callable(bind):
        bind(ctx)


def _wire_notices(ctx: AppContext) -> None:
    """After progress: confirming a notice writes through the same write queue as reports."""
    ctx.notices = NoticeImportService(
        ctx.sessionmaker,
        ctx.clock,
        reminders=ctx.reminders,
        timezone=ctx.settings.tz,
        transaction=ctx.reports.writing,
    )


def _wire_progress(ctx: AppContext) -> None:
    """Reports → admin → conversation, over the reminder engine (their outbox and re-plan)."""
    settings = ctx.settings
    ctx.attachments = AttachmentStore(settings.attachments_dir)
    ctx.reports = ReportService(
        ctx.sessionmaker,
        ctx.clock,
        reminders=ctx.reminders,
        attachments=ctx.attachments,
        calendar=ctx.reminders.calendar,
        i18n=ctx.i18n,
        timezone=settings.tz,
        default_locale=settings.bot_locale,
        serialize_writes=ctx.engine.dialect.name == "sqlite",
    )
    ctx.admin = AdminService(
        ctx.sessionmaker,
        ctx.clock,
        reports=ctx.reports,
        tasks=ctx.tasks,
        registry=ctx.registry,
        reminders=ctx.reminders,
    )
    ctx.conversation = ConversationService(
        ctx.sessionmaker,
        ctx.clock,
        registry=ctx.registry,
        tasks=ctx.tasks,
        reports=ctx.reports,
        admin=ctx.admin,
        locator=ctx.reminders,
        admin_ids={
            "telegram": frozenset(str(i) for i in settings.admin_telegram_ids),
            "zalo": frozenset(settings.admin_zalo_ids),
            "zalo_oa": frozenset(settings.admin_zalo_ids),
        },
        default_locale=settings.bot_locale,
    )


async def prepare_database(ctx: AppContext) -> None:
    """Fail fast on an unreachable database, then bring the schema up to date."""
    await check_database(ctx.engine)
    await migrate.upgrade(ctx.engine)
