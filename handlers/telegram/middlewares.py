"""Outer middlewares on `dp.update`, in the order `install` registers them:

1. services   — the app context reaches handlers as `ctx` (no globals, no imports of state);
2. throttle   — one user's flood is dropped before it costs a database query;
3. identity   — `actor`: the bound officer (or an admin from ADMIN_TELEGRAM_IDS);
4. locale     — the officer's /lang choice → BOT_LOCALE (a stranger: Telegram's language_code), and
                `_()` translates into it for the rest of the update;
5. boundary   — a refusal (`ServiceError`) becomes its polite message; anything else is
                logged and answered with an apology, so one bad update never stops the bot.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, Update, User

from bot.app import AppContext
from bot.channels.base import OutgoingMessage
from bot.i18n import _, normalize_locale
from bot.services.conversation import resolve_locale
from bot.services.errors import ServiceError
from bot.services.reports import Actor
from handlers.telegram.render import send

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
CHANNEL = "telegram"


def display_name(user: User) -> str:
    return " ".join(part for part in (user.first_name, user.last_name) if part)


class ServicesMiddleware(BaseMiddleware):
    """Puts the application context in every handler's data."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data["ctx"] = self._ctx
        return await handler(event, data)


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False
    last_album: str | None = None


@dataclass
class ThrottleMiddleware(BaseMiddleware):
    """A token bucket per Telegram user: `burst` messages at once, then `rate` per second.

    An album counts once (its parts arrive as separate updates). The first dropped update
    gets one polite notice; the rest of the flood is dropped silently. Time comes from the
    app clock so tests decide when the bucket refills.
    """

    ctx: AppContext
    rate: float
    burst: int
    _buckets: dict[int, _Bucket] = field(default_factory=dict)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or self.rate <= 0 or not isinstance(event, Update):
            return await handler(event, data)
        now = self.ctx.clock.now().timestamp()
        bucket = self._buckets.get(user.id)
        if bucket is None:
            bucket = self._buckets[user.id] = _Bucket(tokens=float(self.burst), updated=now)
            if len(self._buckets) > 50_000:
                self._forget_idle(now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        album = event.message.media_group_id if event.message else None
        if album is not None and album == bucket.last_album:
            return await handler(event, data)
        bucket.last_album = album
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return await handler(event, data)
        log.info("throttled an update from user %s", user.id)
        if not bucket.warned:
            bucket.warned = True
            await self._warn(data, user)
        return None

    def _forget_idle(self, now: float) -> None:
        full = [uid for uid, b in self._buckets.items() if now - b.updated > self.burst / self.rate]
        for uid in full:
            del self._buckets[uid]

    async def _warn(self, data: dict[str, Any], user: User) -> None:
        chat: Chat | None = data.get("event_chat")
        bot: Bot | None = data.get("bot")
        if chat is None or bot is None or chat.type != "private":
            return
        i18n = self.ctx.i18n
        locale = normalize_locale(user.language_code, self.ctx.settings.bot_locale)
        with i18n.context(), i18n.use_locale(locale):
            text = _(
                "You are sending messages faster than I can record them. Please wait a "
                "moment, then send your report again."
            )
        try:
            await send(bot, chat.id, [OutgoingMessage(text=text)])
        except TelegramAPIError:
            log.warning("could not tell user %s to slow down", user.id)


class IdentityMiddleware(BaseMiddleware):
    """`actor`: who is talking, resolved once per update."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        ctx: AppContext = data["ctx"]
        if user is None or user.is_bot:
            data["actor"] = None
            return await handler(event, data)
        data["actor"] = await ctx.conversation.identify(
            CHANNEL,
            str(user.id),
            str(chat.id if chat is not None else user.id),
            display_name(user),
        )
        return await handler(event, data)


class LocaleMiddleware(BaseMiddleware):
    """Translate everything this update produces into the actor's language."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        ctx: AppContext = data["ctx"]
        actor: Actor | None = data.get("actor")
        user: User | None = data.get("event_from_user")
        locale = resolve_locale(
            actor.officer if actor else None,
            user.language_code if user else None,
            ctx.settings.bot_locale,
        )
        data["locale"] = locale
        with ctx.i18n.context(), ctx.i18n.use_locale(locale):
            return await handler(event, data)


class ErrorBoundaryMiddleware(BaseMiddleware):
    """Refusals become their message; crashes are logged and apologised for."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except ServiceError as error:
            await self._tell(event, data, error.message())
        except Exception:
            update_id = event.update_id if isinstance(event, Update) else None
            log.exception("error while handling update %s", update_id)
            await self._tell(event, data, _("Sorry, something went wrong. Nothing was changed."))
        return None

    @staticmethod
    async def _tell(event: TelegramObject, data: dict[str, Any], text: str) -> None:
        bot: Bot | None = data.get("bot")
        chat: Chat | None = data.get("event_chat")
        if bot is None or chat is None:
            return
        inner = event.event if isinstance(event, Update) else event
        if isinstance(inner, CallbackQuery):
            # Stops the button's spinner; fails harmlessly if the handler answered already.
            with contextlib.suppress(TelegramAPIError):
                await bot.answer_callback_query(inner.id)
        try:
            reply_to = inner.message_id if isinstance(inner, Message) else None
            await send(bot, chat.id, [OutgoingMessage(text=text)], reply_to=reply_to)
        except TelegramAPIError:
            log.warning("could not send a refusal to chat %s", chat.id)
        except Exception:  # the apology itself must never raise out of the boundary
            log.exception("could not send a refusal to chat %s", chat.id)


def install(dp: Dispatcher, ctx: AppContext) -> None:
    """Register the middlewares in the order the module docstring explains."""
    settings = ctx.settings
    dp.update.outer_middleware(ServicesMiddleware(ctx))
    dp.update.outer_middleware(
        ThrottleMiddleware(ctx, settings.telegram_throttle_rate, settings.telegram_throttle_burst)
    )
    dp.update.outer_middleware(IdentityMiddleware())
    dp.update.outer_middleware(LocaleMiddleware())
    dp.update.outer_middleware(ErrorBoundaryMiddleware())
