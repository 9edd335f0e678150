"""One officer on Telegram and on Zalo at once (both backends): /kenh chooses where
reminders go, a report on either app lands on the same assignment, and the receipt goes
back on the app it came from. Both fakes run; one service context serves both apps."""

from __future__ import annotations

import pytest

from tests.fakes.telegram_api import FakeTelegramServer
from tests.telegram_support import tg_bot, tg_server
from tests.two_apps_support import AN, apps, bind_on_telegram, code_in, remind, tg_say
from tests.zalo_support import GDDT_TASK, ZaloHarness, zalo_id

__all__ = ["apps", "tg_bot", "tg_server"]

TG_USER = 7101
# The Zalo Bot Platform only, and no Telegram admin.
pytestmark = pytest.mark.parametrize(
    "apps", [{"zalo_oa": False, "admin_telegram_ids": []}], indirect=True, ids=["bot-platform"]
)


def _tg_texts(tg: FakeTelegramServer) -> list[str]:
    return [s.text or "" for s in tg.messages_to(TG_USER)]


async def test_zalo_and_telegram_same_officer(
    apps: ZaloHarness, tg_server: FakeTelegramServer
) -> None:
    h, tg = apps, tg_server
    officer_id = await bind_on_telegram(h, tg, TG_USER)
    # The officer links Zalo themselves: /lienket on Telegram, the code on Zalo.
    zalo_user = zalo_id()
    code = code_in(await tg_say(tg, TG_USER, "/lienket"))
    welcome = (await h.say(zalo_user, f"/start {code}")).text or ""
    assert f"Chào mừng {AN}" in welcome
    await h.settle()
    assert (await h.ctx.registry.identify("zalo", zalo_user)).id == officer_id  # type: ignore[union-attr]

    # /kenh telegram (sent on Zalo): the reminder goes to Telegram only.
    choice = await h.say_all(zalo_user, "/kenh telegram")
    assert "trên Telegram" in choice[0] and "chưa đăng ký" not in choice[0]
    tg_before, zalo_before = len(_tg_texts(tg)), len(h.zb.texts_to(zalo_user))
    await remind(h, 0)
    assert any(GDDT_TASK in t for t in _tg_texts(tg)[tg_before:])
    assert len(h.zb.texts_to(zalo_user)) == zalo_before

    # /kenh zalo (sent on Telegram): the next one goes to Zalo only.
    assert "Zalo" in await tg_say(tg, TG_USER, "/kenh zalo")
    tg_before, zalo_before = len(_tg_texts(tg)), len(h.zb.texts_to(zalo_user))
    await remind(h, 60)
    new_zalo = h.zb.texts_to(zalo_user)[zalo_before:]
    assert any(GDDT_TASK in t and "1 – ✅" in t for t in new_zalo)
    assert len(_tg_texts(tg)) == tg_before

    # /kenh ca-hai: both apps.
    assert "cả Telegram và Zalo" in (await h.say_all(zalo_user, "/kenh ca-hai"))[0]
    tg_before, zalo_before = len(_tg_texts(tg)), len(h.zb.texts_to(zalo_user))
    await remind(h, 120)
    assert any(GDDT_TASK in t for t in _tg_texts(tg)[tg_before:])
    assert any(GDDT_TASK in t for t in h.zb.texts_to(zalo_user)[zalo_before:])

    # A report on each app: same assignment, each receipt on its own app.
    tg_before, zalo_before = len(_tg_texts(tg)), len(h.zb.texts_to(zalo_user))
    tg_receipt = await tg_say(tg, TG_USER, "VHXH23-05 đã được 40%")
    assert "VHXH23-05" in tg_receipt and "40%" in tg_receipt
    zalo_receipt = (await h.say_all(zalo_user, "VHXH23-05 da duoc 70%"))[0]
    assert "VHXH23-05" in zalo_receipt and "70%" in zalo_receipt
    await h.settle()
    assert not any("40%" in t for t in h.zb.texts_to(zalo_user)[zalo_before:])
    assert not any("70%" in t for t in _tg_texts(tg)[tg_before + 1 :])
    task = await h.ctx.tasks.get_task("VHXH23-05")
    assert [(r.channel, r.percent) for r in task.reports] == [("telegram", 40), ("zalo", 70)]
    assert {r.officer for r in task.reports} == {"Nguyễn Văn An"}
