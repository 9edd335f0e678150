"""Shared plumbing for the tests of one officer on two apps: the fake Telegram server (the
module's, from telegram_support) and the fake Zalo Bot Platform and OA servers, all served
by one service context; helpers that play the officer on Telegram.

A test module imports `apps` with telegram_support's `tg_bot` and `tg_server` (which it
asks for) and names them in `__all__`."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from aiogram import Bot

from bot.clock import FrozenClock
from bot.i18n import I18n
from tests.fakes.telegram_api import FakeTelegramServer
from tests.fakes.zalo_bot_api import FakeZaloBotServer
from tests.fakes.zalo_oa_api import FakeZaloOAServer
from tests.telegram_support import ADMIN_ID, TOKEN, _end_long_poll
from tests.zalo_support import (
    BOT_TOKEN,
    EIGHT_AM,
    GDDT_TASK,
    SEVEN_AM,
    ZaloHarness,
    serving,
    with_oa_tokens,
    zalo_settings,
)

CODE = re.compile(r"\b[A-Z0-9]{5}-[A-Z0-9]{5}\b")
AN = "Nguyễn Văn An"


@pytest.fixture
async def apps(
    tg_server: FakeTelegramServer,
    tg_bot: Bot,
    db_url: str,
    tmp_path: Path,
    clock: FrozenClock,
    i18n: I18n,
    request: pytest.FixtureRequest,
) -> AsyncIterator[ZaloHarness]:
    """Telegram, the Zalo Bot Platform and the Zalo OA, all on one service context, with
    ADMIN_ID the Telegram admin. Params: `zalo_oa=False` leaves the OA unset; the others
    are settings."""
    overrides: dict[str, object] = {"admin_telegram_ids": [ADMIN_ID]}
    overrides.update(getattr(request, "param", {}) or {})
    with_oa = bool(overrides.pop("zalo_oa", True))
    if not with_oa:
        overrides["zalo_oa_app_id"] = None
    await tg_server.reset()
    clock.set(SEVEN_AM)
    async with (
        FakeZaloBotServer(BOT_TOKEN, poll_timeout_scale=0.01, clock=clock) as zb,
        FakeZaloOAServer(clock=clock) as oa,
    ):
        settings = zalo_settings(
            db_url,
            tmp_path,
            zb,
            oa,
            telegram_bot_token=TOKEN,
            telegram_api_base=tg_server.base_url,
            telegram_album_wait=0.3,
            **overrides,
        )
        if with_oa:
            settings = with_oa_tokens(settings, oa)
        async with serving(
            settings, zb, oa, clock, i18n, telegram_bot=tg_bot, oa_webhook=with_oa
        ) as harness:
            yield harness
        await _end_long_poll(tg_server)


async def tg_say(tg: FakeTelegramServer, user: int, text: str) -> str:
    """A Telegram user writes; the bot's first answer."""
    return await _first_answer(tg, user, lambda: tg.user_sends_text(user, text))


async def tg_start(tg: FakeTelegramServer, user: int, payload: str) -> str:
    """The t.me/<bot>?start=<code> deep link, as Telegram delivers it."""
    return await _first_answer(tg, user, lambda: tg.user_starts(user, payload))


async def _first_answer(tg: FakeTelegramServer, user: int, act: Callable[[], object]) -> str:
    seen = {id(s) for s in tg.messages_to(user)}
    act()
    answer = await tg.wait_for_sent(lambda s: s.chat_id == user and id(s) not in seen)
    return answer.text or ""


async def bind_on_telegram(h: ZaloHarness, tg: FakeTelegramServer, user: int) -> int:
    """An admin's invite for An of GDDT, redeemed on Telegram; the officer's id."""
    invite = await h.ctx.registry.create_invite(unit_code="GDDT", officer_name=AN, actor="test")
    tg.add_user(user, "An", language_code="vi")
    assert "Chào mừng" in await tg_say(tg, user, f"/start {invite.code}")
    return await h.officer_id("telegram", str(user))


def code_in(text: str) -> str:
    """The link code a message gives."""
    found = CODE.search(text)
    assert found is not None, text
    return found.group(0)


async def remind(h: ZaloHarness, at_minutes: int) -> None:
    """The office's manual reminder of the 30/6 task, delivered by a tick."""
    moment = EIGHT_AM + timedelta(minutes=at_minutes)
    h.clock.set(moment)
    await h.ctx.reminders.remind_now(GDDT_TASK, actor="test")
    await h.tick(moment)
    await h.settle()
