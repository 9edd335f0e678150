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


class StartupError(Exception):
    """A chat channel cannot start as configured (a refused token, an unreachable API); the
    message is one translated line naming the setting to fix, never its value."""


def _channel_startup_errors() -> tuple[type[Exception], ...]:
    # Imported only when something failed: a Telegram-only run never loads Zalo, and back.
    from bot.channels.telegram_runtime import TelegramStartupError
    from bot.channels.zalo_runtime import ZaloStartupError
    from bot.web import WebStartupError

    return (TelegramStartupError, ZaloStartupError, WebStartupError)


def check_channels_configured(ctx: AppContext) -> None:
    settings = ctx.settings
    if (
        settings.telegram_bot_token is None
        and settings.zalo_bot_token is None
        and not settings.zalo_oa_enabled
    ):
        raise MissingTokenError()


async def build_components(ctx: AppContext, options: RunOptions) -> list[Component]:
    """Order matters: the web server first (webhooks need it), chat channels last."""
    web_server = WebServer(build_web_app(ctx), ctx.settings.web_host, ctx.settings.web_port)
    ctx.extras["web_app"] = web_server.app
    # Outbound senders for the outbox (Telegram when TELEGRAM_BOT_TOKEN is set); their HTTP
    # sessions close after every component that sends has stopped.
    senders = build_senders(ctx.settings)
    try:
        return _channel_components(ctx, options, web_server, senders)
    except BaseException:
        # Nothing has started yet, so nothing else would close the senders' sessions.
        await close_senders(senders)
        raise


def _channel_components(
    ctx: AppContext, options: RunOptions, web_server: WebServer, senders: list[ChannelSender]
) -> list[Component]:
    components: list[Component] = [web_server]
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
    zalo = [s for s in senders if s.kind in (ChannelKind.ZALO, ChannelKind.ZALO_OA)]
    if zalo:
        from bot.channels.zalo_runtime import ZaloBotChannel, ZaloOAChannel, ZaloRuntime

        # The outbox's Zalo senders also answer officers directly (one client each).
        components.append(
            ZaloRuntime(
                ctx,
                web_server.app,
                bot=next((s for s in zalo if isinstance(s, ZaloBotChannel)), None),
                oa=next((s for s in zalo if isinstance(s, ZaloOAChannel)), None),
            )
        )
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
    started: list[Component] = []
    try:
        try:
            for component in await build_components(ctx, options):
                await component.start()
                started.append(component)
        except Exception as exc:
            if isinstance(exc, _channel_startup_errors()):
                raise StartupError(str(exc)) from None
            raise
        log.info("Nhắc việc is running")
        await stop.wait()
    finally:
        for component in reversed(started):
            try:
                await component.stop()
            except Exception:  # one failing stop must not keep the others running
                log.exception("error while stopping %s", type(component).__name__)
