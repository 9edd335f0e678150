"""Zalo sends through the reminder engine's outbox: Zalo's own (configurable) limits,
transient failures retried, permanent ones switching the account off (both backends)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.zalo_support import ADMIN_ZALO, EIGHT_AM, GDDT_TASK, ZaloHarness, zalo, zalo_id

__all__ = ["zalo"]


@pytest.mark.parametrize("zalo", [{"zalo_rate_per_chat_per_second": 4.0}], indirect=True)
async def test_zalo_outbox_paces_one_chat_by_zalo_limits(zalo: ZaloHarness) -> None:
    sender = zalo.ctx.channels.get("zalo")
    assert sender is not None and sender.limits.per_chat_per_second == 4.0
    user = zalo_id()
    await zalo.bind(user)
    for code in (GDDT_TASK, "VHXH23-05", "VHXH23-10"):
        await zalo.ctx.reminders.remind_now(code, actor="test")
    before = len(zalo.zb.messages_to(user))
    loop = asyncio.get_running_loop()
    started = loop.time()
    await zalo.tick()
    elapsed = loop.time() - started
    assert len(zalo.zb.messages_to(user)) >= before + 3
    # Four a second in one chat: the third message starts at least ~0.5 s after the first.
    assert elapsed >= 0.45


async def test_zalo_outbox_retries_transient_failure(zalo: ZaloHarness) -> None:
    user = zalo_id()
    await zalo.bind(user)
    zalo.zb.fail_next("sendMessage", 502, "Bad Gateway")
    before = len(zalo.zb.messages_to(user))
    first = await zalo.tick()
    assert first.retried == 1 and first.sent == 0
    assert len(zalo.zb.messages_to(user)) == before
    second = await zalo.tick(EIGHT_AM + timedelta(minutes=5))
    assert second.sent == 1
    reminder = zalo.zb.texts_to(user)[before]
    assert GDDT_TASK in reminder and "30/6/2023" in reminder
    assert await zalo.ctx.registry.identify("zalo", user) is not None


async def test_zalo_outbox_permanent_failure_deactivates_and_tells_admins(
    zalo: ZaloHarness,
) -> None:
    await zalo.say(ADMIN_ZALO, "/help")
    user = zalo_id()
    await zalo.bind(user, name="Hoàng Văn Em")
    zalo.zb.block(user)
    summary = await zalo.tick()
    await zalo.settle()
    assert summary.deactivated >= 1
    assert await zalo.ctx.registry.identify("zalo", user) is None
    alerts = [t for t in zalo.zb.texts_to(ADMIN_ZALO) if "Không liên lạc được" in t]
    assert len(alerts) == 1 and "Hoàng Văn Em" in alerts[0] and "Zalo" in alerts[0]
    # Switched off: later ticks do not try again.
    calls = len(zalo.zb.calls)
    await zalo.tick(EIGHT_AM + timedelta(days=4))
    assert not [p for name, p in zalo.zb.calls[calls:] if p.get("chat_id") == user]
