"""Webhook mode: setWebhook at start, updates served on the service's aiohttp server, and a
request without the right secret rejected (401), logged, and not processed."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiogram import Bot

from bot.app import AppContext, build_context
from bot.channels.telegram_runtime import SECRET_HEADER, WEBHOOK_PATH, TelegramRuntime
from bot.clock import FrozenClock
from bot.i18n import I18n
from bot.web import WebServer, build_web_app
from tests.fakes.telegram_api import FakeTelegramServer
from tests.telegram_support import harness_settings, tg_bot, tg_server

__all__ = ["tg_bot", "tg_server"]

SECRET = "s3cret-Webhook_token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def webhook_service(
    tg_server: FakeTelegramServer,
    tg_bot: Bot,
    db_url: str,
    tmp_path: Path,
    clock: FrozenClock,
    i18n: I18n,
) -> AsyncIterator[tuple[AppContext, str]]:
    await tg_server.reset()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = harness_settings(
        db_url,
        tmp_path,
        tg_server.base_url,
        telegram_webhook_url=base,
        telegram_webhook_secret=SECRET,
        web_port=port,
    )
    ctx = build_context(settings, clock=clock, i18n=i18n)
    with i18n.context(), i18n.use_locale("vi"):
        await ctx.seed.load(actor="test")
        web = WebServer(build_web_app(ctx), "127.0.0.1", port)
        runtime = TelegramRuntime(ctx, web.app, bot=tg_bot)
        await web.start()
        await runtime.start()
        try:
            yield ctx, base + WEBHOOK_PATH
        finally:
            await runtime.stop()
            await ctx.reminders.drain()
            ctx.channels.unregister("telegram")
            await web.stop()
            await ctx.aclose()
            await tg_server.reset()


async def test_telegram_webhook_serves_updates_with_the_right_secret(
    tg_server: FakeTelegramServer, webhook_service: tuple[AppContext, str]
) -> None:
    ctx, url = webhook_service
    call = await tg_server.wait_for_call("setWebhook")
    assert call.params["url"] == url and call.params["secret_token"] == SECRET
    assert not call.params.get("drop_pending_updates")
    assert set(call.params["allowed_updates"]) >= {"message", "callback_query"}
    invite = await ctx.registry.create_invite(unit_code="GDDT", officer_name="Võ An", actor="t")
    tg_server.add_user(5001, "An")
    tg_server.user_starts(5001, invite.code)
    welcome = await tg_server.wait_for_sent(5001)
    assert "Võ An" in (welcome.text or "")
    delivery = await tg_server.wait_for_delivery()
    assert delivery.secret_header == SECRET and delivery.status == 200
    assert tg_server.calls_to("getUpdates") == []


async def test_telegram_webhook_rejects_a_wrong_or_missing_secret(
    tg_server: FakeTelegramServer,
    webhook_service: tuple[AppContext, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _ctx, url = webhook_service
    update = {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": 1687482000,
            "chat": {"id": 5002, "type": "private", "first_name": "X"},
            "from": {"id": 5002, "is_bot": False, "first_name": "X"},
            "text": "/start",
        },
    }
    caplog.set_level(logging.WARNING, logger="bot.channels.telegram_runtime")
    async with aiohttp.ClientSession() as http:
        for headers in ({SECRET_HEADER: "wrong"}, {}):
            async with http.post(url, json=update, headers=headers) as response:
                assert response.status == 401
        # The right secret with an update of a kind we do not know: accepted, ignored.
        unknown = {"update_id": 2, "future_update_kind": {"x": 1}}
        async with http.post(url, json=unknown, headers={SECRET_HEADER: SECRET}) as response:
            assert response.status == 200
    assert sum("without the right secret" in r.getMessage() for r in caplog.records) == 2
    assert SECRET not in caplog.text
    assert tg_server.messages_to(5002) == []
    # Still serving real updates.
    tg_server.add_user(5003, "B")
    tg_server.user_starts(5003)
    assert "mã mời" in ((await tg_server.wait_for_sent(5003)).text or "")
