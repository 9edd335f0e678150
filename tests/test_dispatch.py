"""Durable delivery: crashes, concurrent dispatchers, 429 storms, outages, blocked users,
downtime, and the platform's flood limits, against the fake Telegram server."""

from __future__ import annotations

import asyncio
import itertools
from datetime import date, timedelta
from pathlib import Path

import pytest
from aiogram import Bot
from sqlalchemy import func, insert, select

from bot.app import build_context
from bot.channels.base import ChannelKind, OutgoingMessage, RateLimits
from bot.channels.ratelimit import ChatKey, SendPacer
from bot.channels.telegram import TelegramSender
from bot.domain.enums import Role, UnitKind
from bot.i18n import I18n
from storage.models import (
    Assignment,
    ChannelAccount,
    OutboxMessage,
    OutboxStatus,
    SentMessage,
)
from storage.repositories import outbox as repo
from tests import reminder_support
from tests.fakes.telegram_api import FakeTelegramServer
from tests.fakes.telegram_ratelimit import RateLimits as FakeLimits
from tests.reminder_support import (
    Harness,
    VirtualTimer,
    local,
    make_bot,
    open_harness,
    telegram_settings,
)

# Fixtures, by the names the tests ask for.
harness = reminder_support.harness
shared_bot = reminder_support.shared_bot
tg_shared = reminder_support.tg_shared


async def _bind_many(h: Harness, unit: str, count: int) -> list[int]:
    return [(await h.bind(unit, f"Cán bộ {i:02d}"))[1] for i in range(count)]


async def test_dispatch_crash_between_claim_and_send_is_retried_not_lost(
    harness: Harness,
) -> None:
    _, uid = await harness.bind("GDDT", "Nguyễn Văn An")
    moment = local(2023, 6, 23, 8, 0)
    await harness.reminders.sweep(moment)
    # A dispatcher claims the row and dies before sending (its lease is 5 minutes).
    async with harness.ctx.sessionmaker() as session, session.begin():
        claimed = await repo.claim(
            session,
            now=moment,
            channels=["telegram"],
            office_open=True,
            limit=10,
            lease_until=moment + timedelta(minutes=5),
        )
    assert len(claimed) == 1
    assert (await harness.tick(moment)).sent == 0  # still leased to the dead dispatcher
    summary = await harness.tick(moment + timedelta(minutes=5, seconds=1))
    assert summary.sent == 1
    assert len(harness.tg.messages_to(uid)) == 1
    [row] = await harness.rows(kind="reminder", status=OutboxStatus.SENT)
    assert row.attempts == 2 and row.claim_token is None
    assert (await harness.tick(moment + timedelta(minutes=10))).sent == 0


async def test_dispatch_two_dispatchers_never_send_twice(
    harness: Harness, db_url: str, tmp_path: Path, i18n: I18n, shared_bot: Bot
) -> None:
    users = await _bind_many(harness, "GDDT", 40)
    # A second instance of the service: its own engine and pool, the same database.
    other = build_context(
        telegram_settings(db_url, tmp_path, harness.tg), clock=harness.clock, i18n=i18n
    )
    other.reminders.dispatcher.timer = VirtualTimer()
    other.channels.register(TelegramSender(shared_bot))
    for service in (harness.reminders, other.reminders):
        service.dispatcher.config.batch_size = 7  # many small claims, interleaved
        service.dispatcher.config.concurrency = 2
    harness.tg.set_delay(0.05)  # sends take time, as they do, so the two overlap
    try:
        moment = local(2023, 6, 23, 8, 0)
        harness.clock.set(moment)
        await harness.reminders.sweep(moment)
        await other.reminders.sweep(moment)  # both planned: the ticks go straight to sending
        first, second = await asyncio.gather(
            harness.reminders.tick(moment), other.reminders.tick(moment)
        )
    finally:
        await other.aclose()
    assert first.sent + second.sent == 40
    assert first.sent and second.sent  # both worked, on different rows
    assert sorted(m.chat_id for m in harness.tg.sent) == sorted(users)
    assert harness.tg.stats.repeated_messages == 0


async def test_dispatch_429_storm_waits_exactly_retry_after(harness: Harness) -> None:
    users = await _bind_many(harness, "GDDT", 10)
    harness.tg.fail_next("sendMessage", 429, retry_after=7, times=4)
    moment = local(2023, 6, 23, 8, 0)
    first = await harness.tick(moment)
    assert first.sent == 6 and first.rate_limited == 4
    waiting = await harness.rows(kind="reminder", status=OutboxStatus.PENDING)
    due_now = [r for r in waiting if r.due_at == moment]
    assert {r.next_attempt_at for r in due_now} == {moment + timedelta(seconds=7)}
    assert {r.attempts for r in due_now} == {0}  # a 429 is not a failed attempt
    assert (await harness.tick(moment + timedelta(seconds=6))).sent == 0
    assert (await harness.tick(moment + timedelta(seconds=7))).sent == 4
    assert sorted(m.chat_id for m in harness.tg.sent) == sorted(users)
    # Three 429s in a row paused the whole channel for retry_after (on transport time).
    assert harness.timer.slept >= 7


async def test_dispatch_transient_errors_back_off(harness: Harness) -> None:
    _, uid = await harness.bind("GDDT", "Nguyễn Văn An")
    harness.tg.fail_next("sendMessage", 502)
    moment = local(2023, 6, 23, 8, 0)
    assert (await harness.tick(moment)).retried == 1
    [row] = [r for r in await harness.rows(kind="reminder") if r.due_at == moment]
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at == moment + timedelta(seconds=30)
    assert (await harness.tick(moment + timedelta(seconds=29))).sent == 0
    assert (await harness.tick(moment + timedelta(seconds=30))).sent == 1
    # The second failure would have waited twice as long.
    assert len(harness.tg.messages_to(uid)) == 1


async def test_dispatch_outage_pauses_the_channel_and_loses_nothing(harness: Harness) -> None:
    users = await _bind_many(harness, "GDDT", 8)
    harness.reminders.dispatcher.config.concurrency = 1  # one probe at a time
    harness.tg.set_outage(True)
    moment = local(2023, 6, 23, 8, 0)
    down = await harness.tick(moment)
    assert down.sent == 0
    assert len(harness.tg.calls_to("sendMessage")) == 3  # then the channel sits out the run
    harness.tg.set_outage(False)
    up = await harness.tick(moment + timedelta(seconds=30))
    assert up.sent == 8
    assert sorted(m.chat_id for m in harness.tg.sent) == sorted(users)


async def test_dispatch_blocked_user_is_switched_off_and_admins_told(harness: Harness) -> None:
    officer_id, blocked = await harness.bind("GDDT", "Nguyễn Văn An")
    _, admin = await harness.bind("VP", "Chánh Văn phòng", role=Role.ADMIN)
    harness.tg.block(blocked)
    summary = await harness.tick(local(2023, 6, 23, 8, 0))
    assert summary.deactivated == 1 and summary.failed == 1
    async with harness.ctx.sessionmaker() as session:
        account = await session.scalar(
            select(ChannelAccount).where(ChannelAccount.officer_id == officer_id)
        )
        assert account is not None and not account.active
        assert "blocked" in (account.deactivated_reason or "")
    [alert] = harness.tg.messages_to(admin)
    assert "Nguyễn Văn An" in (alert.text or "") and "chặn bot" in (alert.text or "")
    assert await harness.rows(officer_id=officer_id, status=OutboxStatus.PENDING) == []
    assert (await harness.tick(local(2023, 6, 27, 8, 0))).sent == 0


async def test_dispatch_unknown_chat_is_permanent(harness: Harness) -> None:
    officer_id, _ = await harness.bind("GDDT", "Nguyễn Văn An", started=False)
    summary = await harness.tick(local(2023, 6, 23, 8, 0))
    assert summary.deactivated == 1 and summary.sent == 0
    [row] = await harness.rows(officer_id=officer_id, status=OutboxStatus.FAILED)
    assert "chat not found" in (row.last_error or "")


async def test_dispatch_restart_after_three_days_down_coalesces(harness: Harness) -> None:
    users = await _bind_many(harness, "GDDT", 2)
    # Two more GDDT tasks due this week, so the downtime hides many reminders.
    async with harness.ctx.sessionmaker() as session, session.begin():
        source = await session.scalar(select(Assignment).where(Assignment.code == "VHXH23-04"))
        assert source is not None
        for code, due in (("GDDT-T1", date(2023, 6, 28)), ("GDDT-T2", date(2023, 6, 29))):
            await session.execute(
                insert(Assignment).values(
                    code=code,
                    notice_id=source.notice_id,
                    section="",
                    title=f"Nhiệm vụ thử {code}",
                    action="Báo cáo",
                    deliverable="",
                    lead_unit_id=source.lead_unit_id,
                    deadline_kind="date",
                    due_date=due,
                    deadline_text="",
                    status="not_started",
                    source_text="",
                    created_at=harness.clock.now(),
                    updated_at=harness.clock.now(),
                )
            )
    await harness.tick(local(2023, 6, 23, 8, 0))
    await harness.tick(local(2023, 6, 26, 16, 0))  # last tick, Monday afternoon
    before = len(harness.tg.sent)
    # Down Tuesday to Thursday; back Thursday 29/6 at 13:00.
    summary = await harness.tick(local(2023, 6, 29, 13, 0))
    assert summary.coalesced >= 8
    new = harness.tg.sent[before:]
    assert sorted(m.chat_id for m in new) == sorted(users)  # ONE message per person
    text = new[0].text or ""
    assert "cần lưu ý" in text
    for code in ("VHXH23-04", "GDDT-T1", "GDDT-T2"):
        assert code in text
    assert await harness.rows(status=OutboxStatus.PENDING, due_at=local(2023, 6, 27, 8, 0)) == []
    # Tomorrow is normal again: the due-day reminder, not another catch-up.
    after = await harness.tick(local(2023, 6, 30, 8, 0))
    assert after.coalesced == 0 and after.sent >= 2


async def test_dispatch_strict_limits_never_earn_a_429(
    db_url: str, tmp_path: Path, i18n: I18n
) -> None:
    timer = VirtualTimer()
    async with FakeTelegramServer(rate_limits=FakeLimits.exact(), monotonic=timer.monotonic) as tg:
        bot = make_bot(tg)
        try:
            async with open_harness(db_url, tmp_path, tg, bot, i18n, seed=False) as h:
                h.ctx.reminders.dispatcher.timer = timer
                # One in flight at a time: on virtual time a request must land before the
                # clock moves on, or arrival times would bunch up.
                h.ctx.reminders.dispatcher.config.concurrency = 1
                h.clock.set(local(2023, 6, 23, 9, 0))
                await h.ctx.registry.add_unit(
                    code="VP", name="Văn phòng", kind=UnitKind.PHONG_BAN, actor="test"
                )
                officers = [await h.bind("VP", f"Cán bộ {i}") for i in range(12)]
                group = await h.add_group(-2001, "Giao ban")
                async with h.ctx.sessionmaker() as session, session.begin():
                    for officer_id, _ in officers:
                        for n in range(3):
                            await h.reminders.enqueue_message(
                                session,
                                message=OutgoingMessage(f"Thông báo {n}"),
                                dedupe_key=f"t{n}",
                                officer_id=officer_id,
                            )
                    for n in range(22):  # more than 20 a minute into one group
                        await h.reminders.enqueue_message(
                            session,
                            message=OutgoingMessage(f"Tin nhóm {n}"),
                            dedupe_key=f"g{n}",
                            group_chat_id=group,
                        )
                summary = await h.tick(local(2023, 6, 23, 9, 0))
                assert summary.sent == 12 * 3 + 22
                assert tg.stats.rate_limited == 0
                assert tg.stats.messages_accepted == 58
                # 22 group messages at most 20 a minute: more than a minute of pacing.
                assert timer.now - 1000.0 > 60
        finally:
            await bot.session.close()


def test_dispatch_pacer_keeps_every_window_under_its_limit() -> None:
    timer = VirtualTimer(start=0.0)
    pacer = SendPacer(RateLimits(30.0, 1.0, 20.0), margin=0.02, timer=timer)
    alice, group = ChatKey("1", False), ChatKey("-1", True)
    assert pacer.ready_at(alice) == 0.0
    ticket = pacer.take(alice)
    assert pacer.chat_ready_at(alice) == float("inf")  # until Telegram has answered
    timer.now = 0.01
    pacer.finish(ticket)
    assert pacer.chat_ready_at(alice) == pytest.approx(0.01 + 1.02)
    # Overall: each start comes a window after the answer thirty sends back.
    starts, answers = [], []
    for n in range(90):
        chat = ChatKey(str(100 + n), False)
        timer.now = max(timer.now, pacer.ready_at(chat))
        ticket = pacer.take(chat)
        starts.append(timer.now)
        timer.now += 0.005  # the answer comes 5 ms later
        pacer.finish(ticket)
        answers.append(timer.now)
    assert all(b - a >= 1 / 60 - 1e-9 for a, b in itertools.pairwise(starts))
    assert all(s - a >= 1.02 - 1e-9 for a, s in zip(answers, starts[30:], strict=False))
    assert 90 / (starts[-1] - starts[0] + 1 / 30) > 0.95 * 30
    # A late start is caught up within the window rather than lost.
    late = pacer.global_ready_at() + 0.1
    timer.now = late
    pacer.finish(pacer.take(ChatKey("late", False)))
    assert pacer.global_ready_at() - late < 1 / 30
    # Groups: twenty in any 61.2 s, never two within the per-chat gap.
    timer.now = 1000.0
    group_starts = []
    for _ in range(25):
        timer.now = max(timer.now, pacer.ready_at(group))
        pacer.finish(pacer.take(group))
        group_starts.append(timer.now)
    assert all(b - a >= 61.2 - 1e-9 for a, b in zip(group_starts, group_starts[20:], strict=False))
    assert all(b - a >= 1.02 - 1e-9 for a, b in itertools.pairwise(group_starts))
    pacer.pause(5.0, alice)
    assert pacer.chat_ready_at(alice) >= timer.now + 5.0
    pacer.pause(2.0)
    assert pacer.global_ready_at() >= timer.now + 2.0


async def test_dispatch_counts_match_the_database(harness: Harness) -> None:
    await _bind_many(harness, "GDDT", 3)
    summary = await harness.tick(local(2023, 6, 23, 8, 0))
    async with harness.ctx.sessionmaker() as session:
        sent = await session.scalar(
            select(func.count()).where(OutboxMessage.status == OutboxStatus.SENT)
        )
        messages = await session.scalar(select(func.count()).select_from(SentMessage))
    assert summary.sent == sent == messages == 3
    assert ChannelKind.TELEGRAM in harness.ctx.channels
