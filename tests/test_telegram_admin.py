"""Reminders with buttons, admin review (confirm, send back, extensions) and admin commands,
end to end through aiogram, the reminder engine's outbox and the fake Bot API."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import select

from storage.models import AuditEntry, DeadlineChange
from tests.fakes.telegram_api import SentMessage
from tests.telegram_support import (
    ADMIN_ID,
    GDDT_TASK,
    PDF,
    Harness,
    harness,
    tg_bot,
    tg_server,
)

__all__ = ["harness", "tg_bot", "tg_server"]

OFFICER = 2001


def _with(chat_id: int, *words: str, buttons: bool = False):  # type: ignore[no-untyped-def]
    def match(sent: SentMessage) -> bool:
        text = sent.text or ""
        return (
            sent.chat_id == chat_id
            and all(w in text for w in words)
            and (bool(sent.callback_data) or not buttons)
        )

    return match


async def _reminded(h: Harness) -> SentMessage:
    """Bind the GDDT officer and the admin, then let the engine send the 7-day reminder."""
    await h.bind(OFFICER, "GDDT", "Nguyễn Văn An")
    await h.admin_hello()
    await h.deliver_outbox()
    return await h.tg.wait_for_sent(_with(OFFICER, GDDT_TASK, buttons=True))


async def _audit_actions(h: Harness) -> list[str]:
    async with h.ctx.sessionmaker() as session:
        return [e.action for e in (await session.scalars(select(AuditEntry))).all()]


async def test_telegram_reminder_buttons_done_then_admin_confirms_on_time(harness: Harness) -> None:
    h = harness
    reminder = await _reminded(h)
    assert reminder.callback_data == [f"done:{GDDT_TASK}", f"prog:{GDDT_TASK}", f"ext:{GDDT_TASK}"]
    h.tg.user_presses_button(OFFICER, reminder.message_id, f"done:{GDDT_TASK}")
    receipt = await h.reply(OFFICER)
    assert "văn bản đã ký" in receipt.text  # done without a file: asked once
    # The signed document as a reply to the receipt.
    h.tg.user_sends_document(
        OFFICER, "ke-hoach-ky.pdf", PDF, "application/pdf", reply_to_message_id=receipt.message_id
    )
    assert "ke-hoach-ky.pdf" in (await h.reply(OFFICER)).text
    await h.deliver_outbox()
    request = await h.tg.wait_for_sent(_with(ADMIN_ID, "Báo cáo hoàn thành", buttons=True))
    assert GDDT_TASK in request.text and "Nguyễn Văn An" in request.text
    evidence = await h.tg.wait_for_sent(_with(ADMIN_ID, "Bổ sung tệp", buttons=True))
    document = await h.tg.wait_for_sent(
        lambda s: s.chat_id == ADMIN_ID and s.document_name == "ke-hoach-ky.pdf"
    )
    assert document.document_bytes == PDF
    confirm = evidence.callback_data[0]
    assert confirm.startswith("ok:")
    h.tg.user_presses_button(ADMIN_ID, evidence.message_id, confirm)
    decided = await h.reply(ADMIN_ID)
    assert "đúng hạn" in decided.text and "Đã thông báo cho Nguyễn Văn An" in decided.text
    await h.deliver_outbox()
    told = await h.tg.wait_for_sent(_with(OFFICER, "đã được xác nhận"))
    assert "đúng hạn" in told.text
    task = await h.ctx.tasks.get_task(GDDT_TASK)
    assert task.status == "done" and task.confirmed_at is not None
    # The other copy of the request cannot be decided twice.
    h.tg.user_presses_button(ADMIN_ID, request.message_id, request.callback_data[0])
    assert "đã được" in (await h.reply(ADMIN_ID)).text
    assert "report.confirmed" in await _audit_actions(h)


async def test_telegram_reply_to_reminder_late_then_approve_is_done_late(harness: Harness) -> None:
    h = harness
    reminder = await _reminded(h)
    h.clock.set(datetime(2023, 7, 4, 2, 0, tzinfo=UTC))  # Tuesday after the deadline
    h.tg.user_sends_document(
        OFFICER,
        "bao-cao.pdf",
        PDF,
        "application/pdf",
        caption="da hoan thanh",
        reply_to_message_id=reminder.message_id,
    )
    receipt = await h.reply(OFFICER)
    assert GDDT_TASK in receipt.text and "bao-cao.pdf" in receipt.text
    h.tg.user_sends_text(ADMIN_ID, f"/approve {GDDT_TASK}")
    approved = await h.tg.wait_for_sent(_with(ADMIN_ID, "đã được xác nhận"))
    assert "quá hạn" in approved.text
    task = await h.ctx.tasks.get_task(GDDT_TASK)
    assert task.status == "done"
    view = h.ctx.reports.assess(task)
    assert view.timeliness.value == "done_late" and view.days == 4


async def test_telegram_reject_with_reason_reopens_and_tells_officer(harness: Harness) -> None:
    h = harness
    reminder = await _reminded(h)
    h.tg.user_sends_text(OFFICER, "xong", reply_to_message_id=reminder.message_id)
    await h.reply(OFFICER)
    h.tg.user_sends_text(ADMIN_ID, f"/reject {GDDT_TASK}")
    assert await h.tg.wait_for_sent(_with(ADMIN_ID, "Cú pháp"))
    h.tg.user_sends_text(ADMIN_ID, f"/reject {GDDT_TASK} Thiếu chữ ký của lãnh đạo phòng")
    assert await h.tg.wait_for_sent(_with(ADMIN_ID, "bị trả lại"))
    await h.deliver_outbox()
    told = await h.tg.wait_for_sent(_with(OFFICER, "Thiếu chữ ký của lãnh đạo phòng"))
    assert "mở lại" in told.text
    task = await h.ctx.tasks.get_task(GDDT_TASK)
    assert task.status == "reopened"
    assert task.reports[-1].review_status == "sent_back"


async def test_telegram_send_back_button_asks_for_the_reason(harness: Harness) -> None:
    h = harness
    reminder = await _reminded(h)
    h.tg.user_sends_text(OFFICER, "đã hoàn thành", reply_to_message_id=reminder.message_id)
    await h.reply(OFFICER)
    await h.deliver_outbox()
    request = await h.tg.wait_for_sent(_with(ADMIN_ID, "Báo cáo hoàn thành", buttons=True))
    h.tg.user_presses_button(ADMIN_ID, request.message_id, request.callback_data[1])
    prompt = await h.reply(ADMIN_ID)
    assert "lý do" in prompt.text
    outcome = await h.say(ADMIN_ID, "Đề nghị bổ sung số liệu các trường")
    assert "bị trả lại" in outcome.text
    task = await h.ctx.tasks.get_task(GDDT_TASK)
    assert task.status == "reopened"


async def test_telegram_extension_approved_moves_deadline_and_keeps_history(
    harness: Harness,
) -> None:
    h = harness
    reminder = await _reminded(h)
    h.tg.user_presses_button(OFFICER, reminder.message_id, f"ext:{GDDT_TASK}")
    prompt = await h.reply(OFFICER)
    assert "ngày đề nghị gia hạn" in prompt.text
    receipt = await h.say(OFFICER, "20/7/2023 vì chờ số liệu của các trường")
    assert "20/7/2023" in receipt.text and "chờ số liệu của các trường" in receipt.text
    await h.deliver_outbox()
    request = await h.tg.wait_for_sent(_with(ADMIN_ID, "Đề nghị gia hạn", buttons=True))
    assert request.callback_data[0].startswith("xok:")
    h.tg.user_presses_button(ADMIN_ID, request.message_id, request.callback_data[0])
    decided = await h.reply(ADMIN_ID)
    assert "20/7/2023" in decided.text
    await h.deliver_outbox()
    told = await h.tg.wait_for_sent(_with(OFFICER, "Đã đồng ý gia hạn"))
    assert "20/7/2023 (thứ Năm)" in told.text
    task = await h.ctx.tasks.get_task(GDDT_TASK)
    assert str(task.due_date) == "2023-07-20"
    async with h.ctx.sessionmaker() as session:
        change = (await session.scalars(select(DeadlineChange))).one()
    assert str(change.old_due_date) == "2023-06-30" and str(change.new_due_date) == "2023-07-20"
    assert "report.approved" in await _audit_actions(h)
    # Reminders re-planned: the due-day reminder moved from 30/6 to 20/7.
    plan = await h.ctx.reminders.plan(task_code=GDDT_TASK)
    days = {item.due_at.astimezone(h.ctx.settings.tz).date().isoformat() for item in plan}
    assert "2023-07-20" in days and "2023-06-30" not in days


async def test_telegram_extension_refused_with_reason(harness: Harness) -> None:
    h = harness
    await _reminded(h)
    await h.say(OFFICER, f"/report {GDDT_TASK} xin gia hạn đến 15/7/2023 do thiếu kinh phí")
    await h.deliver_outbox()
    request = await h.tg.wait_for_sent(_with(ADMIN_ID, "Đề nghị gia hạn", buttons=True))
    h.tg.user_presses_button(ADMIN_ID, request.message_id, request.callback_data[1])
    await h.reply(ADMIN_ID)
    await h.say(ADMIN_ID, "Thời hạn theo chỉ đạo của UBND tỉnh")
    await h.deliver_outbox()
    told = await h.tg.wait_for_sent(_with(OFFICER, "Không đồng ý gia hạn"))
    assert "30/6/2023" in told.text and "UBND tỉnh" in told.text
    task = await h.ctx.tasks.get_task(GDDT_TASK)
    assert str(task.due_date) == "2023-06-30"


async def test_telegram_setdate_on_the_conditional_task(harness: Harness) -> None:
    h = harness
    await h.admin_hello()
    refused = await h.say(ADMIN_ID, f"/setdate {GDDT_TASK} 15/8/2023")
    assert "/extend" in refused.text  # already dated
    done = await h.say(ADMIN_ID, "/setdate VHXH23-06 15/8/2023")
    assert "15/8/2023" in done.text
    task = await h.ctx.tasks.get_task("VHXH23-06")
    assert task.deadline_kind == "date" and str(task.due_date) == "2023-08-15"
    async with h.ctx.sessionmaker() as session:
        change = (await session.scalars(select(DeadlineChange))).one()
    assert change.old_kind == "conditional" and change.old_due_date is None
    assert "assignment.set_date" in await _audit_actions(h)


async def test_telegram_extend_command_moves_deadline(harness: Harness) -> None:
    h = harness
    await h.bind(OFFICER, "GDDT")
    await h.admin_hello()
    moved = await h.say(ADMIN_ID, f"/extend {GDDT_TASK} 31/7/2023 Theo đề nghị của phòng")
    assert "31/7/2023" in moved.text
    await h.deliver_outbox()
    told = await h.tg.wait_for_sent(_with(OFFICER, "Thời hạn mới"))
    assert "30/6/2023" in told.text and "31/7/2023" in told.text
    bad = await h.say(ADMIN_ID, f"/extend {GDDT_TASK} 31/2/2023 x")
    assert "30/6/2023" in bad.text  # "write it as 30/6/2023"


async def test_telegram_assign_dialogue_creates_a_task(harness: Harness) -> None:
    h = harness
    await h.admin_hello()
    first = await h.say(ADMIN_ID, "/assign")
    assert "GDDT" in first.text
    wrong = await h.say(ADMIN_ID, "KHONGCO")
    assert "KHONGCO" in wrong.text
    await h.say(ADMIN_ID, "gddt")
    await h.say(ADMIN_ID, "Tổng hợp báo cáo sơ kết năm học 2022-2023, gửi Văn phòng")
    created = await h.say(ADMIN_ID, "15/8/2023")
    assert "VIEC23-01" in created.text
    task = await h.ctx.tasks.get_task("VIEC23-01")
    assert task.lead_unit.code == "GDDT" and str(task.due_date) == "2023-08-15"
    assert "assignment.create" in await _audit_actions(h)
    # A guided dialogue can be cancelled half-way.
    await h.say(ADMIN_ID, "/assign")
    cancelled = await h.say(ADMIN_ID, "/cancel")
    assert "Đã hủy" in cancelled.text


async def test_telegram_remind_now(harness: Harness) -> None:
    h = harness
    await h.bind(OFFICER, "GDDT")
    await h.admin_hello()
    answer = await h.say(ADMIN_ID, "/remind VHXH23-05")
    assert "VHXH23-05" in answer.text
    await h.deliver_outbox()
    reminder = await h.tg.wait_for_sent(_with(OFFICER, "VHXH23-05", buttons=True))
    assert "done:VHXH23-05" in reminder.callback_data


async def test_telegram_bindgroup_and_digest_reach_the_group(harness: Harness) -> None:
    h = harness
    group = -100200300
    await h.admin_hello()
    h.tg.add_group(group, "Giao ban VHXH")
    h.tg.user_sends_group_text(ADMIN_ID, group, "/bindgroup@nhacviec_test_bot")
    bound = await h.reply(group)
    assert "bản tổng hợp" in bound.text
    h.tg.add_user(2002, "Khách")
    h.tg.user_sends_group_text(2002, group, "/bindgroup")
    assert "quản trị viên" in (await h.reply(group)).text
    h.tg.user_sends_group_text(ADMIN_ID, group, "/digest")
    sent = await h.reply(group)
    assert "1" in sent.text
    await h.deliver_outbox()
    digest = await h.tg.wait_for_sent(_with(group, "Tổng hợp tuần"))
    assert "VHXH23-20" in digest.text
    assert "group.bind" in await _audit_actions(h)


async def test_telegram_export_sends_a_csv(harness: Harness) -> None:
    h = harness
    await h.bind(OFFICER, "GDDT")
    await h.say(OFFICER, f"/report {GDDT_TASK} được 70%")
    await h.admin_hello()
    h.tg.user_sends_text(ADMIN_ID, "/export")
    sent = await h.tg.wait_for_sent(lambda s: s.chat_id == ADMIN_ID and s.document_name)
    assert sent.document_name == "nhacviec-20230623.csv"
    assert sent.document_bytes is not None
    rows = list(csv.reader(io.StringIO(sent.document_bytes.decode("utf-8-sig"))))
    assert rows[0][0] == "Mã"
    row = next(r for r in rows if r[0] == GDDT_TASK)
    assert "70" in row and "đang thực hiện" in row
    assert len(rows) == 21
    assert "export.csv" in await _audit_actions(h)


async def test_telegram_overviews_overdue_due_units_invite(harness: Harness) -> None:
    h = harness
    await h.bind(OFFICER, "GDDT", "Nguyễn Văn An")
    await h.admin_hello()
    due = await h.say(ADMIN_ID, "/due 7")
    assert GDDT_TASK in due.text and "VHXH23-05" not in due.text
    none_overdue = await h.say(ADMIN_ID, "/overdue")
    assert "Không có nhiệm vụ nào quá hạn" in none_overdue.text
    h.clock.set(datetime(2023, 7, 3, 2, 0, tzinfo=UTC))
    overdue = await h.say(ADMIN_ID, "/overdue")
    assert GDDT_TASK in overdue.text and "chậm 3 ngày" in overdue.text
    units = await h.say(ADMIN_ID, "/units")
    assert "Nguyễn Văn An" in units.text and "GDDT" in units.text
    invite = await h.say(ADMIN_ID, "/invite TTYT Lê Thị Hoa")
    assert "https://t.me/nhacviec_test_bot?start=" in invite.text
    code = invite.text.split("start=")[1].split()[0]
    h.tg.add_user(2003, "Hoa")
    welcome = await h.say(2003, f"/start {code}")
    assert "Lê Thị Hoa" in welcome.text and "Trung tâm Y tế" in welcome.text
