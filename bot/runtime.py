"""`nhacviec run`: start every component in order, stop them in reverse on a signal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass
from typing import Protocol

from bot.app import AppContext, prepare_database
from bot.channels.base import ChannelKind, ChannelSender
from bot.channels.router import build_senders, close_senders
from bot.web import WebServer, build_web_app

log = logging.getLogger(__name__)


class Component(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RunOptions:
    scheduler: bool = True


class MissingTokenError(Exception):
    """No chat platform is configured: the service would have nobody to talk to."""


def check_channels_configured(ctx: AppContext) -> None:
    settings = ctx.settings
    if settings.telegram_bot_token is None and settings.zalo_bot_token is None:
        raise MissingTokenError()


async def build_components(ctx: AppContext, options: RunOptions) -> list[Component]:
    """Order matters: the web server first (webhooks need it), chat channels last."""
    web_server = WebServer(build_web_app(ctx), ctx.settings.web_host, ctx.settings.web_port)
    components: list[Component] = [web_server]
    ctx.extras["web_app"] = web_server.app
    # Outbound senders for the outbox (Telegram when TELEGRAM_BOT_TOKEN is set); their HTTP
    # sessions close after every component that sends has stopped.
    senders = build_senders(ctx.settings)
    telegram_bot = None
    for sender in senders:
        ctx.channels.register(sender)
        if sender.kind == ChannelKind.TELEGRAM:
            telegram_bot = getattr(sender, "bot", None)
    components.append(SenderSessions(senders))
    if ctx.settings.telegram_bot_token is not None:
        # Imported here: aiogram takes seconds to import and Zalo-only runs do not need it.
        from bot.channels.telegram_runtime import TelegramRuntime

        # One aiogram Bot for polling and for the outbox's sends.
        components.append(TelegramRuntime(ctx, web_server.app, bot=telegram_bot))
    if options.scheduler:
        from bot.scheduler import ReminderScheduler

        components.append(ReminderScheduler(ctx.reminders, ctx.settings, ctx.clock))
    return components


class SenderSessions:
    """Closes the outbox senders' HTTP sessions at shutdown (started early, stopped late)."""

    def __init__(self, senders: list[ChannelSender]) -> None:
        self._senders = senders

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await close_senders(self._senders)


async def serve(ctx: AppContext, options: RunOptions, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set (or SIGINT/SIGTERM), then shut down cleanly."""
    check_channels_configured(ctx)
    await prepare_database(ctx)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not possible off the main thread or on Windows; Ctrl+C still ends asyncio.run.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    components = await build_components(ctx, options)
    started: list[Component] = []
    try:
        for component in components:
            await component.start()
            started.append(component)
        log.info("Nhắc việc is running")
        await stop.wait()
    finally:
        for component in reversed(started):
            try:
                await component.stop()
            except Exception:  # one failing stop must not keep the others running
                log.exception("error while stopping %s", type(component).__name__)
