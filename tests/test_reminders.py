"""The reminder engine on the seed notice, through the fake Telegram server, on SQLite and
PostgreSQL: who gets what and when, re-planning on changes, digests and summaries."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.channels.base import (
    Button,
    ChannelKind,
    FileRef,
    OutgoingMessage,
    RateLimits,
    Recipient,
    SendResult,
)
from bot.domain.enums import AssignmentStatus, DeadlineKind, Role
from bot.services.errors import UnknownTaskError
from bot.services.reminders import TaskClosedError
from storage.models import ChannelAccount, GroupChat, Officer, OutboxStatus
from tests import reminder_support
from tests.reminder_support import (
    Harness,
    local,
)

# Fixtures, by the names the tests ask for.
harness = reminder_support.harness
shared_bot = reminder_support.shared_bot
tg_shared = reminder_support.tg_shared

BUTTONS_VI = ["✅ Đã hoàn thành", "🔄 Đang thực hiện", "⏳ Xin gia hạn"]


async def test_reminders_seed_sends_the_7_day_reminder_once(harness: Harness) -> None:
    _, uid = await harness.bind("GDDT", "Nguyễn Văn An")
    summary = await harness.tick(local(2023, 6, 23, 8, 0))
    assert summary.sent == 1
    [message] = harness.tg.messages_to(uid)
    assert message.text is not None
    assert "VHXH23-04" in message.text
    assert "30/6/2023 (thứ Sáu)" in message.text
    assert message.callback_data == ["done:VHXH23-04", "prog:VHXH23-04", "ext:VHXH23-04"]
    assert [b["text"] for b in message.buttons] == BUTTONS_VI
    assert message.parse_mode == "HTML" and message.raw_text is not None
    assert message.raw_text.startswith("<b>")

    again = await harness.tick(local(2023, 6, 23, 8, 0))
    assert again.sent == 0 and again.planned == 0
    assert len(harness.tg.sent) == 1

    reminders = harness.reminders
    found = await reminders.assignment_for_message("telegram", str(uid), str(message.message_id))
    assert found == "VHXH23-04"
    assert await reminders.assignment_for_message("telegram", str(uid), "999999") is None
    assert await reminders.latest_reminder_in_chat("telegram", str(uid)) == "VHXH23-04"
    assert await reminders.latest_reminder_in_chat("telegram", "42") is None


async def test_reminders_follow_the_officers_language(harness: Harness) -> None:
    _, uid = await harness.bind("GDDT", "Lê Thị Hoa", locale="en")
    await harness.tick(local(2023, 6, 23, 8, 0))
    [message] = harness.tg.messages_to(uid)
    assert message.text is not None
    assert message.text.startswith("Reminder: VHXH23-04 is due in 7 days")
    assert "30/6/2023 (Friday)" in message.text
    assert [b["text"] for b in message.buttons] == [
        "✅ Done",
        "🔄 In progress",
        "⏳ Ask for an extension",
    ]


async def test_reminders_cooperating_units_get_7_day_and_due_day(harness: Harness) -> None:
    _, lead = await harness.bind("TTYT", "Trần Văn Y")
    _, coop = await harness.bind("VP", "Phạm Thị Vân")
    # VHXH23-07 (TTYT, with VP) is due Saturday 15/7/2023: D-7 (Saturday 8/7) → Friday 7/7.
    await harness.tick(local(2023, 7, 7, 8, 0))
    coop_messages = [m for m in harness.tg.messages_to(coop) if "VHXH23-07" in (m.text or "")]
    assert len(coop_messages) == 1
    assert "phối hợp" in (coop_messages[0].text or "")
    assert coop_messages[0].callback_data == ["prog:VHXH23-07"]
    assert any("VHXH23-07" in (m.text or "") for m in harness.tg.messages_to(lead))
    # D-3 (Wednesday 12/7) goes to the lead unit only.
    harness.tg.sent.clear()
    await harness.tick(local(2023, 7, 12, 8, 0))
    assert [m for m in harness.tg.messages_to(coop) if "VHXH23-07" in (m.text or "")] == []
    assert any("VHXH23-07" in (m.text or "") for m in harness.tg.messages_to(lead))


async def test_reminders_nothing_outside_office_hours(harness: Harness) -> None:
    _, uid = await harness.bind("GDDT", "Nguyễn Văn An")
    await harness.set_task("VHXH23-04", reminder_policy={"time": "06:30"})
    early = await harness.tick(local(2023, 6, 23, 6, 45))
    assert early.sent == 0 and early.waiting == 1
    opened = await harness.tick(local(2023, 6, 23, 7, 30))
    assert opened.sent == 1 and len(harness.tg.messages_to(uid)) == 1
    reminders = harness.reminders
    assert not reminders.office_open(local(2023, 6, 24, 9, 0))  # Saturday
    assert not reminders.office_open(local(2023, 9, 4, 9, 0))  # observed National Day
    assert not reminders.office_open(local(2023, 6, 26, 17, 0))
    assert reminders.office_open(local(2023, 6, 26, 16, 59))


async def test_reminders_extension_replans_the_rest(harness: Harness) -> None:
    _, uid = await harness.bind("GDDT", "Nguyễn Văn An")
    await harness.tick(local(2023, 6, 23, 8, 0))
    harness.clock.set(local(2023, 6, 26, 10, 0))
    await harness.set_task("VHXH23-04", due_date=date(2023, 7, 14))
    plan = await harness.reminders.plan(task_code="VHXH23-04")
    pending = [p for p in plan if p.status == OutboxStatus.PENDING and p.kind == "reminder"]
    assert [p.due_at.date() for p in pending] == [
        date(2023, 7, 7),
        date(2023, 7, 11),
        date(2023, 7, 13),
        date(2023, 7, 14),
    ]
    assert [p.status for p in plan if p.due_at.date() == date(2023, 6, 23)] == ["sent"]
    quiet = await harness.tick(local(2023, 6, 27, 8, 0))  # the old D-3: cancelled
    assert quiet.sent == 0
    await harness.tick(local(2023, 7, 7, 8, 0))
    latest = harness.tg.messages_to(uid)[-1]
    assert "14/7/2023" in (latest.text or "") and "còn 7 ngày" in (latest.text or "")


async def test_reminders_completion_cancels_and_sending_back_resumes(harness: Harness) -> None:
    _, uid = await harness.bind("GDDT", "Nguyễn Văn An")
    await harness.tick(local(2023, 6, 23, 8, 0))
    harness.clock.set(local(2023, 6, 26, 10, 0))
    await harness.set_task("VHXH23-04", status=AssignmentStatus.AWAITING_CONFIRMATION)
    rows = await harness.rows(kind="reminder", status=OutboxStatus.PENDING)
    assert [r for r in rows if r.occurrence.startswith("2023-06-30")] == []
    assert (await harness.tick(local(2023, 6, 27, 8, 0))).sent == 0
    # The office sends the result back: reminders resume for what is still ahead.
    harness.clock.set(local(2023, 6, 28, 10, 0))
    await harness.set_task("VHXH23-04", status=AssignmentStatus.REOPENED)
    await harness.tick(local(2023, 6, 29, 8, 0))
    assert "còn 1 ngày" in (harness.tg.messages_to(uid)[-1].text or "")


async def test_reminders_conditional_checkins_until_a_date_is_set(harness: Harness) -> None:
    _, uid = await harness.bind("TTYT", "Trần Văn Y")
    await harness.tick(local(2023, 6, 26, 8, 0))  # a Monday
    checkins = [m for m in harness.tg.messages_to(uid) if "VHXH23-06" in (m.text or "")]
    assert len(checkins) == 1
    assert checkins[0].callback_data == ["prog:VHXH23-06"]
    assert "UBND tỉnh ban hành kế hoạch" in (checkins[0].text or "")
    harness.clock.set(local(2023, 6, 28, 10, 0))
    await harness.set_task("VHXH23-06", deadline_kind=DeadlineKind.DATE, due_date=date(2023, 8, 15))
    plan = await harness.reminders.plan(task_code="VHXH23-06")
    pending = [p for p in plan if p.status == OutboxStatus.PENDING]
    assert {p.kind for p in pending} == {"reminder"}  # no more check-ins
    assert [p.due_at.date() for p in pending if p.kind == "reminder"] == [
        date(2023, 8, 8),
        date(2023, 8, 11),  # D-3 is Saturday 12/8
        date(2023, 8, 14),
        date(2023, 8, 15),
    ]
    harness.tg.sent.clear()
    await harness.tick(local(2023, 7, 3, 8, 0))
    assert [m for m in harness.tg.messages_to(uid) if "VHXH23-06" in (m.text or "")] == []


async def test_reminders_recurring_report_request(harness: Harness) -> None:
    _, uid = await harness.bind("LDTBXH", "Hoàng Văn Lâm")
    # VHXH23-08 "thường xuyên": a report request on the 25th (Tuesday 25/7/2023).
    await harness.tick(local(2023, 7, 25, 8, 0))
    requests = [m for m in harness.tg.messages_to(uid) if "VHXH23-08" in (m.text or "")]
    assert len(requests) == 1
    assert requests[0].callback_data == ["prog:VHXH23-08"]


async def test_reminders_newly_bound_officer_gets_the_future_ones(harness: Harness) -> None:
    assert (await harness.tick(local(2023, 6, 23, 8, 0))).sent == 0
    officer_id, uid = await harness.bind("GDDT", "Nguyễn Văn An")
    async with harness.ctx.sessionmaker() as session, session.begin():
        await harness.reminders.on_officer_changed(session, officer_id)
    rows = await harness.rows(officer_id=officer_id, status=OutboxStatus.PENDING)
    assert rows and rows[0].due_at == local(2023, 6, 23, 8, 0)  # today's, still within grace
    summary = await harness.tick(local(2023, 6, 23, 9, 0))
    assert summary.sent == 1 and len(harness.tg.messages_to(uid)) == 1


async def test_reminders_binding_is_noticed_without_being_told(harness: Harness) -> None:
    await harness.tick(local(2023, 6, 23, 8, 0))
    _, uid = await harness.bind("GDDT", "Nguyễn Văn An")  # no on_officer_changed call
    summary = await harness.tick(local(2023, 6, 23, 8, 30))
    assert summary.planned > 0 and summary.sent == 1
    assert len(harness.tg.messages_to(uid)) == 1


class RecordingSender:
    """A second platform, to show the outbox routes by channel and waits for missing ones."""

    def __init__(self, kind: ChannelKind) -> None:
        self.kind = kind
        self.limits = RateLimits(10.0, 1.0, 20.0)
        self.sent: list[tuple[Recipient, OutgoingMessage]] = []

    async def send(self, recipient: Recipient, message: OutgoingMessage) -> SendResult:
        self.sent.append((recipient, message))
        return SendResult((f"z{len(self.sent)}",))


async def test_reminders_wait_for_a_channel_nobody_registered(harness: Harness) -> None:
    officer_id, uid = await harness.bind("GDDT", "Nguyễn Văn An")
    async with harness.ctx.sessionmaker() as session, session.begin():
        session.add(
            ChannelAccount(
                officer_id=officer_id,
                channel="zalo",
                user_id="e4ea2cd5189df1c3a88c",
                chat_id="e4ea2cd5189df1c3a88c",
                bound_at=harness.clock.now(),
                active=True,
            )
        )
        await session.execute(
            update(Officer).where(Officer.id == officer_id).values(preferred_channel="both")
        )
        await harness.reminders.on_officer_changed(session, officer_id)
    summary = await harness.tick(local(2023, 6, 23, 8, 0))
    assert summary.sent == 1 and summary.waiting == 1  # Telegram sent, Zalo waits
    zalo = RecordingSender(ChannelKind.ZALO)
    harness.ctx.channels.register(zalo)
    later = await harness.tick(local(2023, 6, 23, 8, 5))
    assert later.sent == 1 and later.waiting == 0
    [(recipient, message)] = zalo.sent
    assert recipient.chat_id == "e4ea2cd5189df1c3a88c"
    assert "VHXH23-04" in message.text
    code = await harness.reminders.assignment_for_message("zalo", recipient.chat_id, "z1")
    assert code == "VHXH23-04"
    assert len(harness.tg.messages_to(uid)) == 1


async def test_reminders_enqueue_message_is_durable_and_deduplicated(
    harness: Harness, tmp_path: Path
) -> None:
    admin_id, admin_uid = await harness.bind("VP", "Lãnh đạo Văn phòng", role=Role.ADMIN)
    report = tmp_path / "bao-cao.pdf"
    report.write_bytes(b"%PDF-1.4 signed")
    message = OutgoingMessage(
        text="Phòng GD&ĐT báo cáo hoàn thành VHXH23-04 <ký số>",
        title="Báo cáo hoàn thành",
        buttons=((Button("Xác nhận", "ok:1"), Button("Trả lại", "back:1")),),
        files=(FileRef("bao-cao.pdf", str(report), "application/pdf"),),
    )
    harness.clock.set(local(2023, 6, 29, 21, 0))  # outside office hours: sent anyway
    for _ in range(2):
        async with harness.ctx.sessionmaker() as session, session.begin():
            await harness.reminders.enqueue_message(
                session, message=message, dedupe_key="report:1:review", officer_id=admin_id
            )
        harness.reminders.request_tick()
        await harness.reminders.wait_idle()
    sent = harness.tg.messages_to(admin_uid)
    assert [m.method for m in sent] == ["sendMessage", "sendDocument"]
    assert sent[0].callback_data == ["ok:1", "back:1"]
    assert "<ký số>" in (sent[0].text or "")  # escaped, shown as typed
    assert sent[1].document_name == "bao-cao.pdf"
    assert sent[1].document_bytes == b"%PDF-1.4 signed"


async def test_reminders_remind_now(harness: Harness) -> None:
    _, uid = await harness.bind("GDDT", "Nguyễn Văn An")
    harness.clock.set(local(2023, 6, 26, 19, 0))
    assert await harness.reminders.remind_now("vhxh23-04", actor="telegram:1") == 1
    await harness.reminders.wait_idle()
    [message] = harness.tg.messages_to(uid)
    assert "VHXH23-04" in (message.text or "") and len(message.callback_data) == 3
    with pytest.raises(UnknownTaskError):
        await harness.reminders.remind_now("KHONG-CO", actor="cli")
    await harness.set_task("VHXH23-05", status=AssignmentStatus.DONE)
    with pytest.raises(TaskClosedError):
        await harness.reminders.remind_now("VHXH23-05", actor="cli")


async def test_reminders_weekly_digest_to_groups(harness: Harness) -> None:
    office = await harness.add_group(-1001, "Lãnh đạo UBND huyện")
    await harness.add_group(-1002, "Phòng GD&ĐT", unit="GDDT")
    summary = await harness.tick(local(2023, 6, 26, 8, 0))  # Monday
    assert summary.digests == 2
    [whole] = harness.tg.messages_to(-1001)
    [unit] = harness.tg.messages_to(-1002)
    assert "Tổng hợp tuần" in (whole.text or "")
    assert "VHXH23-04" in (whole.text or "")  # due Friday 30/6
    assert "VHXH23-07" not in (unit.text or "") and "VHXH23-04" in (unit.text or "")
    assert (await harness.tick(local(2023, 6, 26, 8, 30))).digests == 0
    assert len(harness.tg.messages_to(-1001)) == 1
    async with harness.ctx.sessionmaker() as session:
        group = await session.get(GroupChat, office)
        assert group is not None and group.last_digest_at == local(2023, 6, 26, 8, 0)
    # Not on other days, and /digest sends one now.
    assert (await harness.tick(local(2023, 6, 27, 8, 0))).digests == 0
    harness.clock.set(local(2023, 6, 27, 20, 0))
    assert await harness.reminders.digest_now(actor="telegram:1", group_chat_id=office) == 1
    await harness.reminders.wait_idle()
    assert len(harness.tg.messages_to(-1001)) == 2


def test_reminders_digest_moves_off_a_holiday_monday(harness: Harness) -> None:
    digests = harness.reminders.digests
    assert digests.digest_day(date(2023, 6, 28)) == date(2023, 6, 26)
    assert digests.digest_day(date(2023, 5, 2)) == date(2023, 5, 4)  # 1/5–3/5 off
    assert digests.digest_day(date(2023, 9, 6)) == date(2023, 9, 5)  # 4/9 observed


async def test_reminders_overdue_escalation_and_admin_summary(harness: Harness) -> None:
    _, officer = await harness.bind("GDDT", "Nguyễn Văn An")
    _, head = await harness.bind("GDDT", "Trưởng phòng GD&ĐT", role=Role.UNIT_HEAD)
    _, admin = await harness.bind("VP", "Chánh Văn phòng", role=Role.ADMIN)
    for day in (23, 27, 29, 30):
        await harness.tick(local(2023, 6, day, 8, 0))
    harness.tg.sent.clear()
    await harness.tick(local(2023, 7, 3, 8, 0))  # the first working day overdue
    [notice] = harness.tg.messages_to(officer)
    assert "Quá hạn" in (notice.text or "") and "VHXH23-04" in (notice.text or "")
    [escalation] = harness.tg.messages_to(head)
    assert "của đơn vị đã quá hạn" in (escalation.text or "")
    assert harness.tg.messages_to(admin) == []
    await harness.tick(local(2023, 7, 3, 16, 0))  # the admins' daily summary
    [summary] = harness.tg.messages_to(admin)
    assert "VHXH23-04" in (summary.text or "") and "3/7/2023" in (summary.text or "")
    harness.tg.sent.clear()
    await harness.tick(local(2023, 7, 5, 8, 0))  # 3 working days overdue: the admins
    assert any("VHXH23-04" in (m.text or "") for m in harness.tg.messages_to(admin))
    assert len(harness.tg.messages_to(officer)) == 1  # the second overdue notice


async def test_reminders_plan_lists_recipients_and_times(harness: Harness) -> None:
    await harness.bind("GDDT", "Nguyễn Văn An")
    plan = await harness.reminders.plan(task_code="VHXH23-04")
    first = plan[0].to_json()
    assert first["task"] == "VHXH23-04"
    assert first["recipient"] == "Nguyễn Văn An" and first["unit"] == "GDDT"
    assert first["due_at"] == "2023-06-23T08:00:00+07:00"
    assert first["status"] == "pending" and first["channel"] == "telegram"
    with pytest.raises(UnknownTaskError):
        await harness.reminders.plan(task_code="NOPE")


async def test_reminders_inactive_officer_gets_nothing(harness: Harness) -> None:
    officer_id, uid = await harness.bind("GDDT", "Nguyễn Văn An")
    await harness.reminders.sweep(local(2023, 6, 23, 7, 0))
    async with harness.ctx.sessionmaker() as session, session.begin():
        await session.execute(update(Officer).where(Officer.id == officer_id).values(active=False))
        await harness.reminders.on_officer_changed(session, officer_id)
        left = await session.scalars(
            select(ChannelAccount.id).where(ChannelAccount.officer_id == officer_id)
        )
        assert list(left)
    summary = await harness.tick(local(2023, 6, 23, 8, 0))
    assert summary.sent == 0 and harness.tg.messages_to(uid) == []
