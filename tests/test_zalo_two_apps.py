"""One officer on Telegram and on Zalo at once (both backends): /kenh chooses where
reminders go, a report on either app lands on the same assignment, and the receipt goes
back on the app it came from. Both fakes run; one service context serves both apps."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiogram import Bot

from bot.clock import FrozenClock
from bot.i18n import I18n
from tests.fakes.telegram_api import FakeTelegramServer
from tests.fakes.zalo_bot_api import FakeZaloBotServer
from tests.fakes.zalo_oa_api import FakeZaloOAServer
from tests.telegram_support import TOKEN, _end_long_poll, tg_bot, tg_server
from tests.zalo_support import (
    BOT_TOKEN,
    EIGHT_AM,
    GDDT_TASK,
    SEVEN_AM,
    ZaloHarness,
    start_service,
    zalo_id,
    zalo_settings,
)

__all__ = ["tg_bot", "tg_server"]

TG_USER = 7101
CODE = re.compile(r"\b[A-Z0-9]{5}-[A-Z0-9]{5}\b")


@pytest.fixture
async def both(
    tg_server: FakeTelegramServer,
    tg_bot: Bot,
    db_url: str,
    tmp_path: Path,
    clock: FrozenClock,
    i18n: I18n,
) -> AsyncIterator[ZaloHarness]:
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
            zalo_oa_app_id=None,
            telegram_bot_token=TOKEN,
            telegram_api_base=tg_server.base_url,
            telegram_album_wait=0.3,
        )
        with i18n.context(), i18n.use_locale("vi"):
            service = await start_service(settings, clock, i18n, telegram_bot=tg_bot)
            try:
                yield ZaloHarness(
                    zb,
                    oa,
                    service.ctx,
                    service.runtime,
                    clock,
                    service.url,
                    settings,
                    i18n,
                    service,
                )
            finally:
                await service.stop()
                await _end_long_poll(tg_server)


def _tg_texts(tg: FakeTelegramServer) -> list[str]:
    return [s.text or "" for s in tg.messages_to(TG_USER)]


async def _tg_say(h: ZaloHarness, tg: FakeTelegramServer, text: str) -> str:
    seen = {id(s) for s in tg.messages_to(TG_USER)}
    tg.user_sends_text(TG_USER, text)
    answer = await tg.wait_for_sent(lambda s: s.chat_id == TG_USER and id(s) not in seen)
    return answer.text or ""


async def _remind(h: ZaloHarness, at_minutes: int) -> None:
    """The office's manual reminder of the 30/6 task, delivered by a tick."""
    moment = EIGHT_AM + timedelta(minutes=at_minutes)
    h.clock.set(moment)
    await h.ctx.reminders.remind_now(GDDT_TASK, actor="test")
    await h.tick(moment)
    await h.settle()


async def test_zalo_and_telegram_same_officer(
    both: ZaloHarness, tg_server: FakeTelegramServer
) -> None:
    h, tg = both, tg_server
    invite = await h.ctx.registry.create_invite(
        unit_code="GDDT", officer_name="Nguyễn Văn An", actor="test"
    )
    tg.add_user(TG_USER, "An", language_code="vi")
    assert "Chào mừng" in await _tg_say(h, tg, f"/start {invite.code}")
    officer = await h.ctx.registry.identify("telegram", str(TG_USER))
    assert officer is not None
    # The officer links Zalo themselves: /lienket on Telegram, the code on Zalo.
    zalo_user = zalo_id()
    link = await _tg_say(h, tg, "/lienket")
    code = CODE.search(link)
    assert code is not None, link
    welcome = (await h.say(zalo_user, f"/start {code.group(0)}")).text or ""
    assert "Chào mừng Nguyễn Văn An" in welcome
    await h.settle()
    assert (await h.ctx.registry.identify("zalo", zalo_user)).id == officer.id  # type: ignore[union-attr]

    # /kenh telegram (sent on Zalo): the reminder goes to Telegram only.
    choice = await h.say_all(zalo_user, "/kenh telegram")
    assert "trên Telegram" in choice[0] and "chưa đăng ký" not in choice[0]
    tg_before, zalo_before = len(_tg_texts(tg)), len(h.zb.texts_to(zalo_user))
    await _remind(h, 0)
    assert any(GDDT_TASK in t for t in _tg_texts(tg)[tg_before:])
    assert len(h.zb.texts_to(zalo_user)) == zalo_before

    # /kenh zalo (sent on Telegram): the next one goes to Zalo only.
    assert "Zalo" in await _tg_say(h, tg, "/kenh zalo")
    tg_before, zalo_before = len(_tg_texts(tg)), len(h.zb.texts_to(zalo_user))
    await _remind(h, 60)
    new_zalo = h.zb.texts_to(zalo_user)[zalo_before:]
    assert any(GDDT_TASK in t and "1 – ✅" in t for t in new_zalo)
    assert len(_tg_texts(tg)) == tg_before

    # /kenh ca-hai: both apps.
    assert "cả Telegram và Zalo" in (await h.say_all(zalo_user, "/kenh ca-hai"))[0]
    tg_before, zalo_before = len(_tg_texts(tg)), len(h.zb.texts_to(zalo_user))
    await _remind(h, 120)
    assert any(GDDT_TASK in t for t in _tg_texts(tg)[tg_before:])
    assert any(GDDT_TASK in t for t in h.zb.texts_to(zalo_user)[zalo_before:])

    # A report on each app: same assignment, each receipt on its own app.
    tg_before, zalo_before = len(_tg_texts(tg)), len(h.zb.texts_to(zalo_user))
    tg_receipt = await _tg_say(h, tg, "VHXH23-05 đã được 40%")
    assert "VHXH23-05" in tg_receipt and "40%" in tg_receipt
    zalo_receipt = (await h.say_all(zalo_user, "VHXH23-05 da duoc 70%"))[0]
    assert "VHXH23-05" in zalo_receipt and "70%" in zalo_receipt
    await h.settle()
    assert not any("40%" in t for t in h.zb.texts_to(zalo_user)[zalo_before:])
    assert not any("70%" in t for t in _tg_texts(tg)[tg_before + 1 :])
    task = await h.ctx.tasks.get_task("VHXH23-05")
    assert [(r.channel, r.percent) for r in task.reports] == [("telegram", 40), ("zalo", 70)]
    assert {r.officer for r in task.reports} == {"Nguyễn Văn An"}
