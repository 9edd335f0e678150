"""Shared plumbing for the Zalo end-to-end tests: the fake Zalo Bot API and fake OA servers
on 127.0.0.1, a seeded app context on a fresh database, the service's aiohttp app (the
webhooks) on a random port, and the Zalo runtime polling the fake. Helpers play officers.

Everything goes over real HTTP; time is the injected `FrozenClock` (the OA fake reads it
too, so token expiry and the 7-day window move with it). Waiting is on the fakes' events.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.app import AppContext, build_context
from bot.channels.router import close_senders
from bot.channels.zalo_runtime import (
    ZaloBotChannel,
    ZaloOAChannel,
    ZaloRuntime,
    build_zalo_senders,
)
from bot.clock import FrozenClock
from bot.domain.enums import Role
from bot.i18n import I18n
from bot.web import build_web_app
from tests.conftest import make_settings
from tests.fakes.zalo_bot_api import FakeZaloBotServer, SentMessage, new_id
from tests.fakes.zalo_oa_api import FakeZaloOAServer, OASent

BOT_TOKEN = "2718281828459045235:zalo-fake-secret-Xyz"
GDDT_TASK = "VHXH23-04"  # Phòng GD&ĐT, due 30/6/2023
PDF = b"%PDF-1.4\n% signed plan\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 16 + b"\xff\xd9"
ADMIN_ZALO = "a0a0a0a0a0a0a0a0a0a0"
# The tests start at 07:00 in Hà Nội, before any reminder is due: reminders come only from
# a tick (08:00, when the 30/6/2023 deadline is 7 days away).
SEVEN_AM = datetime(2023, 6, 23, 0, 0, tzinfo=UTC)
EIGHT_AM = datetime(2023, 6, 23, 1, 0, tzinfo=UTC)
WEBHOOK_SECRET = "zalo-webhook-secret-123"


@dataclass
class ZaloHarness:
    zb: FakeZaloBotServer
    oa: FakeZaloOAServer
    ctx: AppContext
    runtime: ZaloRuntime
    clock: FrozenClock
    web_url: str
    settings: Any
    i18n: I18n
    service: Service
    officers: dict[str, str] = field(default_factory=dict)

    async def restart(self) -> None:
        """Stop the service and start a new one on the same database and settings: nothing
        survives but what was stored (the OA's tokens, the outbox, the registry)."""
        await self.service.stop()
        self.service = await start_service(self.settings, self.clock, self.i18n, seed=False)
        self.ctx, self.runtime = self.service.ctx, self.service.runtime
        self.web_url = self.service.url
        self.oa.webhook_url = self.service.url + "/webhooks/zalo-oa"

    async def oa_answers(self, user_id: str, before: int) -> list[str]:
        """Texts the OA sent `user_id` after the first `before`, once the runtime is idle."""
        await self.settle()
        return [m.text or "" for m in self.oa.messages_to(user_id)[before:]]

    async def reply(self, chat_id: str, after: int = 0, *, timeout: float = 10.0) -> SentMessage:  # noqa: ASYNC109
        """The first message sent to `chat_id` after the first `after` ones."""
        sent = await self.zb.wait_for_sent(after + 1, chat_id=chat_id, timeout=timeout)
        return sent[after]

    async def say(self, user_id: str, text: str) -> SentMessage:
        """The officer writes; returns the bot's first answer."""
        before = len(self.zb.messages_to(user_id))
        await self.zb.user_sends_text(user_id, text, display_name=self.officers.get(user_id, "An"))
        return await self.reply(user_id, before)

    async def say_all(self, user_id: str, text: str) -> list[str]:
        """The officer writes; every text the bot answers with (once it is idle)."""
        before = len(self.zb.messages_to(user_id))
        await self.say(user_id, text)
        return await self.answers(user_id, before)

    async def answers(self, user_id: str, before: int) -> list[str]:
        """Texts sent to `user_id` after the first `before`: waits for the first, then for
        the runtime to finish the message it is handling."""
        await self.reply(user_id, before)
        await self.settle()
        return self.zb.texts_to(user_id)[before:]

    async def settle(self) -> None:
        """Until the runtime has answered everything it received and the outbox has sent
        what those answers queued (a binding wakes the reminder engine)."""
        await self.runtime.idle()
        await self.ctx.reminders.drain()

    async def invite(self, unit: str = "GDDT", name: str = "Nguyễn Văn An", **kw: Any) -> str:
        invite = await self.ctx.registry.create_invite(
            unit_code=unit, officer_name=name, role=kw.pop("role", Role.OFFICER), actor="test", **kw
        )
        return invite.code

    async def bind(self, user_id: str, unit: str = "GDDT", name: str = "Nguyễn Văn An") -> str:
        """Invite and bind an officer on the Bot Platform with "/start CODE"; the welcome."""
        code = await self.invite(unit, name)
        self.officers[user_id] = name
        welcome = await self.say(user_id, f"/start {code}")
        assert "Chào mừng" in (welcome.text or ""), welcome.text
        await self.settle()
        return welcome.text or ""

    async def oa_bind(self, user_id: str, name: str = "Nguyễn Văn An", **kw: Any) -> str:
        """Invite and bind an officer on the OA with the code alone; the welcome."""
        code = await self.invite(name=name, **kw)
        welcome = await self.oa_say(user_id, code)
        assert f"Chào mừng {name}" in (welcome.text or ""), welcome
        await self.settle()
        return welcome.text or ""

    async def oa_say(self, user_id: str, text: str) -> OASent:
        before = len(self.oa.messages_to(user_id))
        assert await self.oa.user_sends_text(user_id, text) == 200
        return await self.oa_reply(user_id, before)

    async def oa_reply(self, user_id: str, before: int) -> OASent:
        await self.settle()
        sent = self.oa.messages_to(user_id)
        assert len(sent) > before, f"no OA answer to {user_id}"
        return sent[before]

    async def officer_id(self, channel: str, user_id: str) -> int:
        officer = await self.ctx.registry.identify(channel, user_id)
        assert officer is not None
        return officer.id

    async def tick(self, at: datetime | None = None) -> Any:
        """One reminder-engine tick (at `at`, default 08:00 of the test's day)."""
        self.clock.set(at or EIGHT_AM)
        return await self.ctx.reminders.tick(self.clock.now())


def zalo_settings(
    db_url: str, tmp_path: Path, zb: FakeZaloBotServer, oa: FakeZaloOAServer, **overrides: object
) -> Any:
    values: dict[str, object] = {
        "zalo_bot_token": BOT_TOKEN,
        "zalo_api_base": zb.base_url,
        "zalo_oa_app_id": oa.app_id,
        "zalo_oa_secret_key": oa.secret_key,
        "zalo_oa_api_base": oa.base_url,
        "zalo_oauth_base": oa.base_url,
        "admin_zalo_ids": [ADMIN_ZALO],
        "zalo_download_timeout": 5.0,
        # Zalo's pacing is tested on its own (test_zalo_outbox); here it would only wait.
        "zalo_rate_per_chat_per_second": 50.0,
    }
    values.update(overrides)
    return make_settings(db_url, tmp_path, **values)


@dataclass
class Service:
    """The pieces `nhacviec run` would start, started here on 127.0.0.1."""

    ctx: AppContext
    runtime: ZaloRuntime
    runner: web.AppRunner
    senders: list[Any]
    url: str
    telegram: Any = None

    async def stop(self) -> None:
        if self.telegram is not None:
            await self.telegram.stop()
            self.ctx.channels.unregister("telegram")
        await self.runtime.stop()
        await self.ctx.reminders.drain()
        await self.runner.cleanup()
        for sender in self.senders:
            self.ctx.channels.unregister(sender.kind)
        await close_senders(self.senders)
        await self.ctx.aclose()


async def start_service(
    settings: Any,
    clock: FrozenClock,
    i18n: I18n,
    *,
    seed: bool = True,
    port: int = 0,
    telegram_bot: Any = None,
) -> Service:
    """Context → Zalo senders (registered, so bound to the app) → web app → runtimes.

    With `telegram_bot` (an aiogram Bot on the fake Telegram server) the Telegram runtime
    runs too, on the same context: one officer, two apps."""
    ctx = build_context(settings, clock=clock, i18n=i18n)
    if seed:
        await ctx.seed.load(actor="test")
    app = build_web_app(ctx)
    senders = build_zalo_senders(settings)
    for sender in senders:
        ctx.channels.register(sender)
    runtime = ZaloRuntime(
        ctx,
        app,
        bot=next((s for s in senders if isinstance(s, ZaloBotChannel)), None),
        oa=next((s for s in senders if isinstance(s, ZaloOAChannel)), None),
        poll_timeout=10,  # 0.1 s on the fake (poll_timeout_scale=0.01)
    )
    telegram = None
    if telegram_bot is not None:
        from bot.channels.telegram_runtime import TelegramRuntime

        telegram = TelegramRuntime(ctx, bot=telegram_bot)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    host, bound_port = runner.addresses[0][:2]
    await runtime.start()
    if telegram is not None:
        await telegram.start()
    return Service(ctx, runtime, runner, senders, f"http://{host}:{bound_port}", telegram)


def free_port() -> int:
    """A port for the service's web server, known before it starts: the webhook URL given
    to setWebhook must name it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_oa_tokens(settings: Any, oa: FakeZaloOAServer) -> Any:
    """`settings` holding a fresh pair of the fake OA's tokens, as the admin's OAuth grant
    leaves them."""
    tokens = oa.grant_tokens()
    return settings.model_copy(
        update={
            "zalo_oa_access_token": SecretStr(tokens.access_token),
            "zalo_oa_refresh_token": SecretStr(tokens.refresh_token),
        }
    )


@asynccontextmanager
async def serving(
    settings: Any,
    zb: FakeZaloBotServer,
    oa: FakeZaloOAServer,
    clock: FrozenClock,
    i18n: I18n,
    *,
    port: int = 0,
    telegram_bot: Any = None,
    oa_webhook: bool = True,
) -> AsyncIterator[ZaloHarness]:
    """The service on `settings`, in Vietnamese, the fake OA's webhook pointed at it (unless
    `oa_webhook` is false); stopped at the end, whichever one a restart left running."""
    with i18n.context(), i18n.use_locale("vi"):
        service = await start_service(settings, clock, i18n, port=port, telegram_bot=telegram_bot)
        if oa_webhook:
            oa.webhook_url = service.url + "/webhooks/zalo-oa"
        harness = ZaloHarness(
            zb, oa, service.ctx, service.runtime, clock, service.url, settings, i18n, service
        )
        try:
            yield harness
        finally:
            await harness.service.stop()


@pytest.fixture
async def zalo(
    db_url: str, tmp_path: Path, clock: FrozenClock, i18n: I18n, request: pytest.FixtureRequest
) -> AsyncIterator[ZaloHarness]:
    """A seeded service on the Bot Platform (polling the fake, or its webhook when the
    test's params say `webhook=True`) and the OA (its webhook). Other params are settings."""
    overrides = dict(getattr(request, "param", {}) or {})
    webhook = bool(overrides.pop("webhook", False))
    clock.set(SEVEN_AM)
    async with (
        FakeZaloBotServer(
            BOT_TOKEN, poll_timeout_scale=0.01, clock=clock, allow_private_webhooks=webhook
        ) as zb,
        FakeZaloOAServer(clock=clock) as oa,
    ):
        port = 0
        if webhook:
            port = free_port()
            overrides.setdefault("zalo_webhook_url", f"http://127.0.0.1:{port}")
            overrides.setdefault("zalo_webhook_secret", WEBHOOK_SECRET)
        settings = with_oa_tokens(zalo_settings(db_url, tmp_path, zb, oa, **overrides), oa)
        async with serving(settings, zb, oa, clock, i18n, port=port) as harness:
            yield harness


def number_for(question: str, code: str) -> str:
    """The number a "which task?" question gives `code` ("2 – VHXH23-05 · …")."""
    match = re.search(rf"^(\d+) – {re.escape(code)}\b", question, re.MULTILINE)
    assert match is not None, question
    return match.group(1)


def zalo_id() -> str:
    return new_id()
