"""The Telegram component of `nhacviec run`: Bot + Dispatcher, command menus, and either
long polling (default) or the webhook on the service's aiohttp server.

Start-up fails fast: getMe must answer before anything else happens (a wrong token is
named, never echoed). Pending updates are never dropped: officers' reports sent while the
service was down are handled when it comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.app import AppContext
from bot.channels.telegram_session import create_bot
from bot.i18n import LOCALES, _

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher, Router
    from aiogram.types import BotCommand

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Updates handled at once. More only queue behind the database's single writer and slow
# every handler's awaits (measured: unbounded concurrency cut throughput tenfold; with the
# reports' group commit, 32 gives the same replies/s as 16 and four times the p95).
CONCURRENT_UPDATES = 16


class TelegramStartupError(Exception):
    """Telegram cannot be used as configured; the message names the setting to fix."""


_RESPONSE_MODELS: list[type[Any]] = []


def keep_response_models() -> None:
    """Hold aiogram's `Response[T]` models so pydantic stops rebuilding one per API call.

    aiogram parses every Bot API answer with `Response[method.__returning__]`; pydantic
    caches parametrised models in a WeakValueDictionary, so without a strong reference the
    model is collected and rebuilt on the next call (measured: ~20 ms of CPU per call, the
    largest single cost of answering a progress reply).
    """
    if _RESPONSE_MODELS:
        return
    import aiogram.methods as methods
    from aiogram.methods.base import Response, TelegramMethod

    for name in dir(methods):
        method = getattr(methods, name)
        if isinstance(method, type) and issubclass(method, TelegramMethod):
            returning = method.__dict__.get("__returning__")
            if returning is not None and method is not TelegramMethod:
                _RESPONSE_MODELS.append(Response[returning])  # type: ignore[valid-type]


def freeze_startup_heap() -> None:
    """Keep the garbage collector's full passes off the objects loaded at start-up.

    What is alive once the bot is ready — modules, aiogram's pydantic models, SQLAlchemy
    mappers, catalogs: some 300,000 objects — lives until the process exits, yet every
    full collection walked it again: a 100-300 ms stop of the event loop every few
    seconds under load, the largest part of the slowest replies' latency. Frozen, they are
    skipped; what handling creates and drops is still collected as before.
    """
    gc.collect()
    gc.freeze()


def build_dispatcher(ctx: AppContext) -> Dispatcher:
    """A fresh Dispatcher with our middlewares and router tree (one per Bot run or test)."""
    from aiogram import Dispatcher

    from handlers.telegram import build_router
    from handlers.telegram.middlewares import install

    dp = Dispatcher()
    install(dp, ctx)
    dp.include_router(build_router(album_wait=ctx.settings.telegram_album_wait))
    run_sync_filters_inline(dp)
    return dp


def run_sync_filters_inline(root: Router) -> None:
    """Evaluate plain (non-async) filters on the event loop instead of in a thread.

    aiogram awaits every synchronous filter — `F.text`, `F.chat.type == "private"`,
    `F.data.func(...)` — through `asyncio.to_thread`. Ours are attribute checks of a few
    microseconds, yet each costs a thread hand-off and a GIL switch, and an officer's
    message passes a dozen of them before reaching its handler (measured: a third of the
    handling latency of a progress reply under load). Blocking work never belongs in a
    filter, so running them inline changes no behaviour.
    """
    for router in root.chain_tail:
        for observer in router.observers.values():
            # `_handler` holds the observer-wide filters (`router.message.filter(...)`).
            for handler in (observer._handler, *observer.handlers):
                for event_filter in handler.filters or ():
                    if not event_filter.awaitable:
                        event_filter.callback = _inline(event_filter.callback)
                        event_filter.awaitable = True


def _inline(callback: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return callback(*args, **kwargs)

    return call


def _officer_commands() -> list[tuple[str, str]]:
    return [
        ("tasks", _("Your unit's open tasks")),
        ("task", _("One task and its progress log")),
        ("report", _("Report on a task")),
        ("lang", _("Language: vi or en")),
        ("kenh", _("Where reminders reach you: Telegram, Zalo or both")),
        ("lienket", _("Link your Zalo account too")),
        ("help", _("What I can do")),
        ("start", _("Register with an invite code")),
    ]


def _admin_commands() -> list[tuple[str, str]]:
    return [
        ("overdue", _("Overdue tasks")),
        ("due", _("Tasks due within N days")),
        ("units", _("Units and who is registered")),
        ("approve", _("Confirm a result or approve an extension")),
        ("reject", _("Send back a result or refuse an extension")),
        ("extend", _("Move a deadline")),
        ("setdate", _("Date a conditional task")),
        ("pause", _("Pause a task")),
        ("resume", _("Resume a paused task")),
        ("huy", _("Cancel a task (with a reason)")),
        ("assign", _("Hand out a new task")),
        ("import", _("Import a conclusion notice (.docx, .pdf, .txt)")),
        ("remind", _("Send a task's reminder now")),
        ("invite", _("Invite an officer")),
        ("bindgroup", _("Send digests to this group")),
        ("digest", _("Send the digest now")),
        ("export", _("Progress report as CSV")),
        ("cancel", _("Stop a guided dialogue")),
    ]


class CommandMenus:
    """setMyCommands per scope (officers: default; each admin: their chat) and language."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx

    def _commands(self, locale: str, *, admin: bool) -> list[BotCommand]:
        from aiogram.types import BotCommand

        with self._ctx.i18n.context(), self._ctx.i18n.use_locale(locale):
            pairs = _officer_commands() + (_admin_commands() if admin else [])
        return [BotCommand(command=c, description=d) for c, d in pairs]

    def _languages(self) -> list[tuple[str | None, str]]:
        """(language_code, locale): the default (BOT_LOCALE) and each shipped locale."""
        return [(None, self._ctx.settings.bot_locale), *((loc, loc) for loc in LOCALES)]

    async def set_all(self, bot: Bot) -> None:
        from aiogram.types import BotCommandScopeDefault

        for language, locale in self._languages():
            await bot.set_my_commands(
                self._commands(locale, admin=False),
                scope=BotCommandScopeDefault(),
                language_code=language,
            )
        for chat_id in await self._admin_chats():
            await self.admin_bound(bot, chat_id)

    async def admin_bound(self, bot: Bot, chat_id: int) -> None:
        """Give one admin's private chat the admin menu (after binding, or at start-up)."""
        from aiogram.exceptions import TelegramAPIError
        from aiogram.types import BotCommandScopeChat

        for language, locale in self._languages():
            try:
                await bot.set_my_commands(
                    self._commands(locale, admin=True),
                    scope=BotCommandScopeChat(chat_id=chat_id),
                    language_code=language,
                )
            except TelegramAPIError as exc:  # the admin has not opened the bot yet
                log.info("no admin menu for chat %s yet: %s", chat_id, exc.message)
                return

    async def _admin_chats(self) -> list[int]:
        chats = {int(i) for i in self._ctx.settings.admin_telegram_ids}
        for unit in await self._ctx.registry.list_officers():
            if unit.role == "admin":
                chats.update(
                    int(a.chat_id)
                    for a in unit.accounts
                    if a.channel == "telegram" and a.active and a.chat_id.lstrip("-").isdigit()
                )
        return sorted(chats)


class TelegramRuntime:
    """Start/stop component for `bot.runtime`: polling, or a webhook on `web_app`."""

    def __init__(
        self,
        ctx: AppContext,
        web_app: web.Application | None = None,
        *,
        bot: Bot | None = None,
    ) -> None:
        settings = ctx.settings
        self._ctx = ctx
        self._own_bot = bot is None
        keep_response_models()
        try:
            self.bot = bot or create_bot(settings)
        except ValueError as exc:
            raise TelegramStartupError(str(exc)) from exc
        self.dp = build_dispatcher(ctx)
        self.menus = CommandMenus(ctx)
        ctx.extras["telegram_menus"] = self.menus
        self._webhook_url: str | None = None
        self._secret: str | None = None
        self._polling: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        if settings.telegram_webhook_url is not None:
            if settings.telegram_webhook_secret is None:
                raise TelegramStartupError(
                    "TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_WEBHOOK_URL is set"
                )
            if web_app is None:
                raise TelegramStartupError("TELEGRAM_WEBHOOK_URL: the web server is not running")
            self._webhook_url = str(settings.telegram_webhook_url).rstrip("/") + WEBHOOK_PATH
            self._secret = settings.telegram_webhook_secret.get_secret_value()
            # Routes must exist before the web server starts (its router freezes then).
            web_app.router.add_post(WEBHOOK_PATH, self.handle_webhook)

    @property
    def webhook_mode(self) -> bool:
        return self._webhook_url is not None

    async def start(self) -> None:
        from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError

        try:
            me = await self.bot.get_me()
        except TelegramUnauthorizedError as exc:
            raise TelegramStartupError(
                _(
                    "TELEGRAM_BOT_TOKEN: Telegram refused the token (getMe). Check the token "
                    "@BotFather gave you in .env."
                )
            ) from exc
        except (TelegramAPIError, OSError, TimeoutError) as exc:
            raise TelegramStartupError(
                _(
                    "TELEGRAM_API_BASE: cannot reach the Telegram Bot API ({error}). Check the "
                    "address and the network."
                ).format(error=type(exc).__name__)
            ) from exc
        if me.username and not self._ctx.registry.telegram_username:
            self._ctx.registry.telegram_username = me.username
        self._register_sender()
        await self.menus.set_all(self.bot)
        allowed = self.dp.resolve_used_update_types()
        if self._webhook_url is not None:
            await self.bot.set_webhook(
                self._webhook_url,
                secret_token=self._secret,
                allowed_updates=allowed,
                drop_pending_updates=False,
            )
            log.info("Telegram webhook set for @%s", me.username)
            freeze_startup_heap()
            return
        # A webhook left from an earlier run would make getUpdates fail with 409.
        await self.bot.delete_webhook(drop_pending_updates=False)
        freeze_startup_heap()
        self._polling = asyncio.create_task(
            self.dp.start_polling(
                self.bot,
                allowed_updates=allowed,
                handle_signals=False,
                close_bot_session=False,
                tasks_concurrency_limit=CONCURRENT_UPDATES,
            ),
            name="telegram-polling",
        )
        log.info("Telegram polling started for @%s", me.username)

    def _register_sender(self) -> None:
        """Let the outbox send through this bot (reminders, review requests, digests)."""
        from bot.channels.telegram import TelegramSender

        if "telegram" not in self._ctx.channels:
            self._ctx.channels.register(TelegramSender(self.bot))

    async def stop(self) -> None:
        if self._polling is not None:
            with contextlib.suppress(RuntimeError):  # polling already ended
                await self.dp.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=10)
        if self._own_bot:
            await self.bot.session.close()

    async def handle_webhook(self, request: web.Request) -> web.Response:
        """POST /webhooks/telegram: only Telegram knows the secret; others get 401."""
        given = request.headers.get(SECRET_HEADER, "")
        assert self._secret is not None
        if not hmac.compare_digest(given.encode(), self._secret.encode()):
            log.warning(
                "rejected a Telegram webhook call without the right secret from %s",
                request.remote,
            )
            return web.Response(status=401, text="unauthorized")
        try:
            data = await request.json()
        except ValueError:
            return web.Response(status=400, text="bad request")
        from aiogram.types import Update

        try:
            update = Update.model_validate(data, context={"bot": self.bot})
        except ValueError:
            log.warning("ignored a malformed webhook update")
            return web.json_response({})
        # Answer at once and handle in the background: album parts arrive one request at
        # a time and must be gathered, and Telegram retries slow answers.
        task = asyncio.create_task(self._feed(update))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return web.json_response({})

    async def _feed(self, update: Any) -> None:
        try:
            await self.dp.feed_update(self.bot, update)
        except Exception:  # our boundary handles handler errors; this is the last net
            log.exception("error while handling webhook update %s", update.update_id)
