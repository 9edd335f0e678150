"""The Zalo components of `nhacviec run`, and the Zalo senders of `nhacviec tick`.

- The Bot Platform (ZALO_BOT_TOKEN): long polling by default; with ZALO_WEBHOOK_URL, a
  webhook at {ZALO_WEBHOOK_URL}/webhooks/zalo on the service's web server, checked against
  ZALO_WEBHOOK_SECRET.
- The Official Account (ZALO_OA_APP_ID + ZALO_OA_SECRET_KEY): its webhook at
  /webhooks/zalo-oa, signature-checked; its rotating OAuth tokens kept in the database.

Senders are built from settings alone (`build_zalo_senders`, called by `build_senders`)
and receive the app's services when registered on `ctx.channels` (`bind_context`): the
OA's token store and its 7-day window bookkeeping need the database.

Updates are handled concurrently (CONCURRENT_UPDATES at most), one at a time per chat.
Nothing here logs a URL of the Bot API: its token sits in the path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.base import (
    ChannelError,
    ChannelKind,
    ChannelSender,
    OutgoingMessage,
    RateLimits,
    Recipient,
    SendResult,
)
from bot.channels.ratelimit import limits_for
from bot.channels.zalo_bot import (
    ChannelConfigError,
    ZaloBotClient,
    ZaloBotSender,
    ZaloInbound,
    fetch_photo,
    poll,
    webhook_handler,
)
from bot.channels.zalo_oa import (
    InteractionWindowClosed,
    OATokens,
    ZaloOAClient,
    ZaloOAInbound,
    ZaloOASender,
    oa_webhook_handler,
)
from bot.clock import Clock
from bot.config import Settings
from bot.i18n import I18n, _
from bot.services.oa_window import OAWindow
from storage.repositories import oauth as oauth_repo

if TYPE_CHECKING:
    from bot.app import AppContext
    from handlers.zalo import ZaloDispatcher, ZaloMessage

log = logging.getLogger(__name__)

BOT_WEBHOOK_PATH = "/webhooks/zalo"
OA_WEBHOOK_PATH = "/webhooks/zalo-oa"
# Updates handled at once; more wait (polling pauses), like Telegram's limit.
CONCURRENT_UPDATES = 16
# A token pair taken from the settings has an unknown age: use its access token for at
# most this long (or until Zalo rejects it), then refresh and learn the real expiry.
SEEDED_TOKEN_TRUST = timedelta(hours=1)


class ZaloStartupError(Exception):
    """Zalo cannot be used as configured; the message names the setting to fix."""


# ---------------------------------------------------------------------- rendering choices


class LocalizedChoices:
    """The numbered-choices block, in the language of the message it ends.

    The outbox renders a message in its recipient's language but the sender formats the
    choices later, outside that language; the reminder's answers ("✅ Đã hoàn thành") tell
    which language it was. Other choices (a "which task?" question, answered directly)
    are formatted inside the officer's language already.
    """

    def __init__(self, i18n: I18n) -> None:
        self._i18n = i18n
        self._labels: dict[str, frozenset[str]] = {}

    def _known(self, locale: str) -> frozenset[str]:
        labels = self._labels.get(locale)
        if labels is None:
            from bot.services.conversation import report_buttons as task_buttons
            from bot.services.messages import report_buttons as reminder_buttons

            with self._i18n.context(), self._i18n.use_locale(locale):
                rows = [*reminder_buttons("X"), *task_buttons("X")]
            labels = frozenset(button.label for row in rows for button in row)
            self._labels[locale] = labels
        return labels

    def locale_of(self, labels: Sequence[str]) -> str:
        scores = {
            locale: sum(label in self._known(locale) for label in labels)
            for locale in self._i18n.available_locales
        }
        best = max(scores.values(), default=0)
        current = self._i18n.current_locale
        if best == 0 or scores.get(current) == best:
            return current
        return next(locale for locale, score in scores.items() if score == best)

    def __call__(self, choices: Sequence[tuple[int, str]]) -> str:
        locale = self.locale_of([label for _number, label in choices])
        with self._i18n.context(), self._i18n.use_locale(locale):
            header = _("Reply with a number:")
        return "\n".join([header, *(f"{number} – {label}" for number, label in choices)])


# --------------------------------------------------------------------------- Bot Platform


class ZaloBotChannel(ZaloBotSender):
    """The Bot Platform sender, owning its client (closed at shutdown) and rendering the
    choices in the recipient's language once bound to the app."""

    def __init__(self, client: ZaloBotClient, *, limits: RateLimits) -> None:
        super().__init__(client, limits=limits)
        self.client = client

    def bind_context(self, ctx: AppContext) -> None:
        self._choices = LocalizedChoices(ctx.i18n)

    async def aclose(self) -> None:
        await self.client.close()


# ------------------------------------------------------------------------ Official Account


class DatabaseTokenStore:
    """The OA's token pair in `oauth_tokens`; `save` commits before it returns, because the
    refresh token it stores is the only one Zalo will accept next time.

    `seed` (the pair from ZALO_OA_ACCESS_TOKEN / ZALO_OA_REFRESH_TOKEN) is taken over only
    while the database holds none: after the first refresh the settings' refresh token is
    spent, and using it again would lock the OA out.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        provider: str,
        clock: Clock,
        *,
        seed: OATokens | None = None,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._provider = provider
        self._clock = clock
        self._seed = seed

    async def load(self) -> OATokens | None:
        async with self._sessionmaker() as session:
            row = await oauth_repo.get(session, self._provider)
            if row is not None:
                return OATokens(row.access_token, row.refresh_token, row.expires_at)
        if self._seed is None:
            return None
        await self.save(self._seed)
        log.info("Zalo OA tokens taken over from the settings into the database")
        return self._seed

    async def save(self, tokens: OATokens) -> None:
        async with self._sessionmaker() as session, session.begin():
            await oauth_repo.put(
                session,
                self._provider,
                access_token=tokens.access_token,
                refresh_token=tokens.refresh_token,
                expires_at=tokens.expires_at,
                now=self._clock.now(),
            )


def oa_provider(app_id: str) -> str:
    return f"zalo_oa:{app_id}"[:64]


def seed_tokens(settings: Settings, now: datetime) -> OATokens | None:
    access, refresh = settings.zalo_oa_access_token, settings.zalo_oa_refresh_token
    if access is None or refresh is None:
        return None
    return OATokens(
        access_token=access.get_secret_value(),
        refresh_token=refresh.get_secret_value(),
        expires_at=now + SEEDED_TOKEN_TRUST,
    )


class ZaloOAChannel:
    """`ChannelSender` for the OA: CS messages with the tokens kept in the database, and
    error -230 (the 7-day window closed) handled by `OAWindow` instead of retried."""

    def __init__(self, settings: Settings, *, limits: RateLimits) -> None:
        self.kind: ChannelKind = ChannelKind.ZALO_OA
        self.limits: RateLimits = limits
        self._settings = settings
        self.client: ZaloOAClient | None = None
        self.sender: ZaloOASender | None = None
        self._window: OAWindow | None = None

    def bind_context(self, ctx: AppContext) -> None:
        if self.sender is not None:
            return
        settings = self._settings
        assert settings.zalo_oa_app_id is not None
        assert settings.zalo_oa_secret_key is not None
        store = DatabaseTokenStore(
            ctx.sessionmaker,
            oa_provider(settings.zalo_oa_app_id),
            ctx.clock,
            seed=seed_tokens(settings, ctx.clock.now()),
        )
        self.client = ZaloOAClient(
            app_id=settings.zalo_oa_app_id,
            secret_key=settings.zalo_oa_secret_key.get_secret_value(),
            token_store=store,
            api_base=str(settings.zalo_oa_api_base),
            oauth_base=str(settings.zalo_oauth_base),
            clock=ctx.clock,
        )
        self.sender = ZaloOASender(
            self.client, limits=self.limits, choices=LocalizedChoices(ctx.i18n)
        )
        self._window = OAWindow(ctx)

    @property
    def window(self) -> OAWindow:
        if self._window is None:
            raise ChannelConfigError("the Zalo OA channel is not bound to the app yet")
        return self._window

    async def send(self, recipient: Recipient, message: OutgoingMessage) -> SendResult:
        if self.sender is None:
            raise ChannelConfigError("the Zalo OA channel is not bound to the app yet")
        if recipient.chat_id in self.window.closed_chats:
            raise InteractionWindowClosed(recipient.chat_id, "Zalo OA window closed (-230)")
        try:
            return await self.sender.send(recipient, message)
        except InteractionWindowClosed:
            # Switch the account off first: the outbox then finds nothing to deactivate and
            # sends no generic "cannot reach" alert on top of ours.
            await self.window.closed(recipient.chat_id)
            raise

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.close()


def build_zalo_senders(settings: Settings) -> list[ChannelSender]:
    """The Zalo senders the settings configure (Bot Platform, OA), each with Zalo's limits."""
    senders: list[ChannelSender] = []
    limits = limits_for(ChannelKind.ZALO, settings)
    if settings.zalo_bot_token is not None:
        client = ZaloBotClient(
            str(settings.zalo_api_base), settings.zalo_bot_token.get_secret_value()
        )
        senders.append(ZaloBotChannel(client, limits=limits))
    if settings.zalo_oa_enabled:
        senders.append(ZaloOAChannel(settings, limits=limits))
    return senders


# ------------------------------------------------------------------------------ repliers


class BotReplier:
    """Direct answers on the Bot Platform: the outbox's rendering, sent at once."""

    def __init__(self, channel: ZaloBotChannel, timeout: float) -> None:
        self._channel = channel
        self._timeout = timeout

    async def reply(self, message: ZaloMessage, replies: Sequence[OutgoingMessage]) -> None:
        recipient = Recipient(ChannelKind.ZALO, message.chat_id, is_group=message.is_group)
        for reply in replies:
            await self._channel.send(recipient, reply)

    async def download(self, url: str, max_bytes: int) -> tuple[bytes, str, str]:
        return await fetch_photo(
            self._channel.client.session, url, max_bytes, self._timeout, default_name="photo"
        )


class OAReplier:
    """Direct answers on the OA quote the officer's message: Zalo counts a quoted reply as
    an answer (free of charge), not as a proactive message."""

    def __init__(self, channel: ZaloOAChannel, timeout: float) -> None:
        self._channel = channel
        self._timeout = timeout

    async def reply(self, message: ZaloMessage, replies: Sequence[OutgoingMessage]) -> None:
        sender, recipient = self._channel.sender, Recipient(ChannelKind.ZALO_OA, message.chat_id)
        assert sender is not None
        for reply in replies:
            await sender.send(
                recipient, replace(reply, reply_to=reply.reply_to or message.message_id)
            )

    async def download(self, url: str, max_bytes: int) -> tuple[bytes, str, str]:
        client = self._channel.client
        assert client is not None
        return await client.download_attachment(url, max_bytes, self._timeout)


# ------------------------------------------------------------------------------ component


class ZaloRuntime:
    """Start/stop component for `bot.runtime`: Bot Platform polling or webhook, OA webhook."""

    def __init__(
        self,
        ctx: AppContext,
        web_app: web.Application | None,
        *,
        bot: ZaloBotChannel | None = None,
        oa: ZaloOAChannel | None = None,
        poll_timeout: int = 30,
    ) -> None:
        from handlers.zalo import ZaloDispatcher

        settings = ctx.settings
        self._ctx = ctx
        self.bot = bot
        self.oa = oa
        self.dispatcher: ZaloDispatcher = ZaloDispatcher(ctx)
        self.bot_names: tuple[str, ...] = ()
        self._poll_timeout = poll_timeout
        self._stop = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(CONCURRENT_UPDATES)
        self._webhook_url: str | None = None
        self._secret = ""
        timeout = settings.zalo_download_timeout
        self._bot_replier = BotReplier(bot, timeout) if bot is not None else None
        self._oa_replier = OAReplier(oa, timeout) if oa is not None else None
        if bot is not None and settings.zalo_webhook_url is not None:
            secret = settings.zalo_webhook_secret
            if secret is None or not 8 <= len(secret.get_secret_value()) <= 256:
                raise ZaloStartupError(
                    "ZALO_WEBHOOK_SECRET: 8-256 characters, required when ZALO_WEBHOOK_URL is set"
                )
            if web_app is None:
                raise ZaloStartupError("ZALO_WEBHOOK_URL: the web server is not running")
            self._webhook_url = str(settings.zalo_webhook_url).rstrip("/") + BOT_WEBHOOK_PATH
            self._secret = secret.get_secret_value()
            # Routes must exist before the web server starts (its router freezes then).
            web_app.router.add_post(BOT_WEBHOOK_PATH, webhook_handler(self._secret, self.on_update))
        if oa is not None:
            if web_app is None:
                raise ZaloStartupError("ZALO_OA_APP_ID: the web server is not running")
            assert settings.zalo_oa_secret_key is not None
            web_app.router.add_post(
                OA_WEBHOOK_PATH,
                oa_webhook_handler(
                    settings.zalo_oa_secret_key.get_secret_value(),
                    self.on_oa_event,
                    app_id=settings.zalo_oa_app_id,
                ),
            )

    @property
    def webhook_mode(self) -> bool:
        return self._webhook_url is not None

    async def start(self) -> None:
        if self.oa is not None:
            self.oa.bind_context(self._ctx)
        if self.bot is None:
            return
        self.bot.bind_context(self._ctx)
        client = self.bot.client
        try:
            me = await client.get_me()
        except ChannelConfigError as exc:
            raise ZaloStartupError(
                _("ZALO_BOT_TOKEN: Zalo refused the token (getMe). Check the token in .env.")
            ) from exc
        except ChannelError as exc:
            raise ZaloStartupError(
                _(
                    "ZALO_API_BASE: cannot reach the Zalo Bot API ({error}). Check the address "
                    "and the network."
                ).format(error=type(exc).__name__)
            ) from exc
        self.bot_names = tuple(n for n in (me.display_name, me.account_name) if n)
        if self._webhook_url is not None:
            try:
                await client.set_webhook(self._webhook_url, self._secret)
            except ChannelError as exc:
                raise ZaloStartupError(
                    _("ZALO_WEBHOOK_URL: Zalo refused the webhook ({error})").format(error=exc)
                ) from exc
            log.info("Zalo webhook set for bot %s", me.id)
            return
        # A webhook left from an earlier run would make getUpdates fail.
        await client.delete_webhook()
        self._stop.clear()
        self._poller = asyncio.create_task(self._poll(client), name="zalo-polling")
        log.info("Zalo polling started for bot %s", me.id)

    async def _poll(self, client: ZaloBotClient) -> None:
        try:
            await poll(client, self.on_update, self._stop, poll_timeout=self._poll_timeout)
        except ChannelConfigError as exc:
            log.error("Zalo polling stopped: %s", exc)

    async def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            # Never cancelled mid-poll: Zalo has already dequeued what that poll returns.
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=10)

    async def on_update(self, update: ZaloInbound) -> None:
        """One Bot Platform update (polling or webhook): handled in the background."""
        from handlers.zalo.inbound import from_bot_update

        message = from_bot_update(update, self.bot_names)
        if message is None or self._bot_replier is None:
            return
        await self._spawn(message, self._bot_replier)

    async def on_oa_event(self, event: ZaloOAInbound) -> None:
        """One signed OA event: answered within Zalo's 2 s, handled in the background."""
        from handlers.zalo.inbound import from_oa_event

        message = from_oa_event(event)
        if message is None or self._oa_replier is None or self.oa is None:
            return
        await self._spawn(message, self._oa_replier, prepare=self.oa.window.reopen)

    async def _spawn(
        self,
        message: ZaloMessage,
        replier: BotReplier | OAReplier,
        *,
        prepare: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        await self._slots.acquire()  # back-pressure: polling waits when every slot is busy
        task = asyncio.create_task(self._handle(message, replier, prepare))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _handle(
        self,
        message: ZaloMessage,
        replier: BotReplier | OAReplier,
        prepare: Callable[[str], Awaitable[None]] | None,
    ) -> None:
        try:
            await self.dispatcher.handle(message, replier, prepare=prepare)
        except Exception:  # the dispatcher's boundary answers; this is the last net
            log.exception("error while handling a Zalo %s message", message.channel)
        finally:
            self._slots.release()

    async def idle(self) -> None:
        """Until every update received so far has been answered (tests, shutdown)."""
        while self._inflight:
            await asyncio.wait(set(self._inflight))
