"""Admins pause, resume and cancel tasks (tạm dừng, tiếp tục, hủy) from Telegram, end to end:
the status, the audit log, the reminder plan, the lead unit's officers told through the
outbox, and what /tasks and /task show afterwards."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.domain.policy import PLANNED_KINDS
from storage.models import AuditEntry, OutboxMessage
from storage.models.outbox import OutboxStatus
from tests.cli_support import cli_env, run_cli
from tests.fakes.telegram_api import SentMessage
from tests.telegram_support import ADMIN_ID, GDDT_TASK, Harness, harness, tg_bot, tg_server

__all__ = ["cli_env", "harness", "tg_bot", "tg_server"]

OFFICER = 2101


def _to(chat_id: int, *words: str):  # type: ignore[no-untyped-def]
    def match(sent: SentMessage) -> bool:
        return sent.chat_id == chat_id and all(w in (sent.text or "") for w in words)

    return match


async def _setup(h: Harness) -> None:
    # Friday 23/6/2023 08:00: the 7-day reminder of GDDT_TASK (due 30/6) is due now.
    h.clock.set(datetime(2023, 6, 23, 1, 0, tzinfo=UTC))
    await h.bind(OFFICER, "GDDT", "Nguyễn Văn An")
    await h.admin_hello()


async def _pending_reminders(h: Harness, code: str) -> int:
    task = await h.ctx.tasks.get_task(code)
    async with h.ctx.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.assignment_id == task.id,
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.kind.in_(sorted(PLANNED_KINDS)),
            )
        )
    return int(count or 0)


async def _audit(h: Harness, action: str) -> list[AuditEntry]:
    async with h.ctx.sessionmaker() as session:
        rows = await session.scalars(select(AuditEntry).where(AuditEntry.action == action))
        return list(rows.all())


async def test_pause_stops_reminders_tells_the_unit_and_resume_brings_them_back(
    harness: Harness,
) -> None:
    h = harness
    await _setup(h)
    assert await _pending_reminders(h, GDDT_TASK) > 0
    reply = await h.say(ADMIN_ID, f"/pause {GDDT_TASK} chờ ý kiến của Sở")
    assert "Đã tạm dừng nhiệm vụ" in reply.text and f"/resume {GDDT_TASK}" in reply.text
    assert "chờ ý kiến của Sở" in reply.text and "Đã thông báo cho 1 cán bộ" in reply.text
    task = await h.ctx.tasks.get_task(GDDT_TASK)
    assert task.status == "paused" and task.status_reason == "chờ ý kiến của Sở"
    # Re-planned at once: nothing left to remind or escalate.
    assert await _pending_reminders(h, GDDT_TASK) == 0
    [entry] = await _audit(h, "assignment.pause")
    assert entry.entity_id == GDDT_TASK and entry.actor.startswith("officer:")
    assert entry.before == {"status": "not_started"}
    assert entry.after == {"status": "paused", "reason": "chờ ý kiến của Sở"}
    # The tick sends the lead unit's notice, and no reminder of the paused task.
    await h.deliver_outbox()
    told = await h.tg.wait_for_sent(_to(OFFICER, "Nhiệm vụ tạm dừng", GDDT_TASK))
    assert "chờ ý kiến của Sở" in told.text and "chưa cần báo cáo" in told.text
    assert not [
        s for s in h.tg.messages_to(OFFICER) if s.callback_data and GDDT_TASK in (s.text or "")
    ]
    # /tasks keeps the paused task, marked; /task shows the state and the reason.
    listed = await h.say(OFFICER, "/tasks")
    assert GDDT_TASK in listed.text and "tạm dừng" in listed.text
    detail = await h.say(OFFICER, f"/task {GDDT_TASK}")
    assert "Trạng thái: tạm dừng" in detail.text and "Lý do: chờ ý kiến của Sở" in detail.text
    assert "không tính trong thời gian tạm dừng" in detail.text and not detail.callback_data
    # Reports wait until the task resumes.
    refused = await h.say(OFFICER, f"/report {GDDT_TASK} được 50%")
    assert "tạm dừng" in refused.text
    assert (await h.ctx.tasks.get_task(GDDT_TASK)).reports == ()
    # Pausing twice changes nothing.
    again = await h.say(ADMIN_ID, f"/pause {GDDT_TASK}")
    assert "đang tạm dừng rồi" in again.text
    assert len(await _audit(h, "assignment.pause")) == 1

    resumed = await h.say(ADMIN_ID, f"/resume {GDDT_TASK}")
    assert "Đã tiếp tục nhiệm vụ" in resumed.text and "30/6/2023" in resumed.text
    task = await h.ctx.tasks.get_task(GDDT_TASK)
    assert task.status == "in_progress" and task.status_reason is None
    assert await _pending_reminders(h, GDDT_TASK) > 0
    [entry] = await _audit(h, "assignment.resume")
    assert entry.before == {"status": "paused"} and entry.after == {
        "status": "in_progress",
        "reason": None,
    }
    await h.deliver_outbox()
    await h.tg.wait_for_sent(_to(OFFICER, "Nhiệm vụ được tiếp tục", GDDT_TASK, "30/6/2023"))
    # Its reminders are back: the one due today goes out with buttons.
    reminder = await h.tg.wait_for_sent(
        lambda s: s.chat_id == OFFICER and bool(s.callback_data) and GDDT_TASK in (s.text or "")
    )
    assert reminder.callback_data[0] == f"done:{GDDT_TASK}"
    # Resuming a live task is refused.
    twice = await h.say(ADMIN_ID, f"/resume {GDDT_TASK}")
    assert "không ở trạng thái tạm dừng" in twice.text


async def test_cancel_needs_a_reason_and_drops_the_task_everywhere(harness: Harness) -> None:
    h = harness
    await _setup(h)
    missing = await h.say(ADMIN_ID, f"/huy {GDDT_TASK}")
    assert "Vui lòng nêu lý do hủy" in missing.text
    usage = await h.say(ADMIN_ID, "/huy")
    assert "Cú pháp" in usage.text and "/huy MÃ lý do" in usage.text
    unknown = await h.say(ADMIN_ID, "/huy KHONG-CO trùng nhiệm vụ")
    assert "Không có nhiệm vụ nào mang mã KHONG-CO" in unknown.text
    assert (await h.ctx.tasks.get_task(GDDT_TASK)).status == "not_started"
    assert await _audit(h, "assignment.cancel") == []

    reply = await h.say(ADMIN_ID, f"/huy {GDDT_TASK} trùng với nhiệm vụ của Văn phòng")
    assert "Đã hủy nhiệm vụ" in reply.text and "trùng với nhiệm vụ" in reply.text
    task = await h.ctx.tasks.get_task(GDDT_TASK)
    assert task.status == "cancelled"
    assert await _pending_reminders(h, GDDT_TASK) == 0
    [entry] = await _audit(h, "assignment.cancel")
    assert entry.before == {"status": "not_started"}
    assert entry.after == {"status": "cancelled", "reason": "trùng với nhiệm vụ của Văn phòng"}
    await h.deliver_outbox()
    told = await h.tg.wait_for_sent(_to(OFFICER, "Nhiệm vụ đã bị hủy", GDDT_TASK))
    assert "trùng với nhiệm vụ của Văn phòng" in told.text
    # Gone from /tasks; /task still explains it.
    listed = await h.say(OFFICER, "/tasks")
    assert GDDT_TASK not in listed.text
    detail = await h.say(OFFICER, f"/task {GDDT_TASK}")
    assert "Trạng thái: đã hủy" in detail.text and "Lý do: trùng với nhiệm vụ" in detail.text
    # Cancelling again, pausing or resuming a cancelled task: refused, nothing changes.
    again = await h.say(ADMIN_ID, f"/canceltask {GDDT_TASK} lần nữa")
    assert "đã bị hủy từ trước" in again.text
    paused = await h.say(ADMIN_ID, f"/pause {GDDT_TASK}")
    assert "không thể tạm dừng hay hủy" in paused.text
    resumed = await h.say(ADMIN_ID, f"/resume {GDDT_TASK}")
    assert "không ở trạng thái tạm dừng" in resumed.text
    assert len(await _audit(h, "assignment.cancel")) == 1
    assert (await h.ctx.tasks.get_task(GDDT_TASK)).status == "cancelled"
    # The English alias works too.
    other = await h.say(ADMIN_ID, "/canceltask VHXH23-05 không còn phù hợp")
    assert "Đã hủy nhiệm vụ VHXH23-05" in other.text


async def test_pause_keeps_a_reported_result_for_review_after_resume(harness: Harness) -> None:
    h = harness
    await _setup(h)
    receipt = await h.say(OFFICER, f"/report {GDDT_TASK} đã hoàn thành")
    assert GDDT_TASK in receipt.text
    assert (await h.ctx.tasks.get_task(GDDT_TASK)).status == "awaiting_confirmation"
    await h.deliver_outbox()
    await h.tg.wait_for_sent(_to(ADMIN_ID, "Báo cáo hoàn thành", GDDT_TASK))
    await h.say(ADMIN_ID, f"/pause {GDDT_TASK}")
    refused = await h.say(ADMIN_ID, f"/approve {GDDT_TASK}")
    assert f"gửi /resume {GDDT_TASK} trước" in refused.text
    assert (await h.ctx.tasks.get_task(GDDT_TASK)).status == "paused"
    resumed = await h.say(ADMIN_ID, f"/resume {GDDT_TASK}")
    assert "chờ xác nhận" in resumed.text
    approved = await h.say(ADMIN_ID, f"/approve {GDDT_TASK}")
    assert "đã được xác nhận" in approved.text
    assert (await h.ctx.tasks.get_task(GDDT_TASK)).status == "done"


async def test_cancel_answers_a_pending_report_and_done_tasks_stay_done(harness: Harness) -> None:
    h = harness
    await _setup(h)
    await h.say(OFFICER, f"/report {GDDT_TASK} xin gia hạn đến 20/7/2023 vì chờ số liệu")
    await h.deliver_outbox()
    await h.tg.wait_for_sent(_to(ADMIN_ID, GDDT_TASK, "20/7/2023"))
    await h.say(ADMIN_ID, f"/huy {GDDT_TASK} đã giao cho đơn vị khác")
    nothing = await h.say(ADMIN_ID, f"/approve {GDDT_TASK}")
    assert "không có báo cáo nào đang chờ" in nothing.text
    # A confirmed task can be neither paused nor cancelled.
    await h.say(OFFICER, "/report VHXH23-05 xong")
    await h.deliver_outbox()
    await h.tg.wait_for_sent(_to(ADMIN_ID, "Báo cáo hoàn thành", "VHXH23-05"))
    h.tg.user_sends_text(ADMIN_ID, "/approve VHXH23-05")
    await h.tg.wait_for_sent(_to(ADMIN_ID, "đã được xác nhận"))
    assert (await h.ctx.tasks.get_task("VHXH23-05")).status == "done"
    h.tg.user_sends_text(ADMIN_ID, "/huy VHXH23-05 nhầm")
    await h.tg.wait_for_sent(_to(ADMIN_ID, "không thể tạm dừng hay hủy"))
    assert (await h.ctx.tasks.get_task("VHXH23-05")).status == "done"


async def test_admin_help_lists_pause_resume_and_cancel(harness: Harness) -> None:
    h = harness
    await _setup(h)
    help_text = (await h.say(ADMIN_ID, "/help")).text
    for command in ("/pause MÃ", "/resume MÃ", "/huy MÃ lý do"):
        assert command in help_text
    officer_help = (await h.say(OFFICER, "/help")).text
    assert "/pause" not in officer_help


def test_cli_pause_resume_and_cancel(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert run_cli("seed", "load", env=cli_env, cwd=tmp_path).returncode == 0
    paused = run_cli(
        "tasks", "pause", GDDT_TASK, "--reason", "chờ ý kiến", env=cli_env, cwd=tmp_path
    )
    assert paused.returncode == 0, paused.stderr
    assert f"Đã tạm dừng nhiệm vụ {GDDT_TASK}" in paused.stdout and "chờ ý kiến" in paused.stdout
    shown = run_cli("tasks", "show", GDDT_TASK, env=cli_env, cwd=tmp_path)
    assert "tạm dừng" in shown.stdout and "Lý do: chờ ý kiến" in shown.stdout
    resumed = run_cli("tasks", "resume", GDDT_TASK, "--json", env=cli_env, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "in_progress"
    no_reason = run_cli("tasks", "cancel", GDDT_TASK, env=cli_env, cwd=tmp_path)
    assert no_reason.returncode == 1 and "--reason" in no_reason.stderr
    assert "Traceback" not in no_reason.stderr
    cancelled = run_cli(
        "tasks", "cancel", GDDT_TASK, "--reason", "trùng nhiệm vụ", env=cli_env, cwd=tmp_path
    )
    assert cancelled.returncode == 0 and "Đã hủy nhiệm vụ" in cancelled.stdout
    again = run_cli("tasks", "cancel", GDDT_TASK, "--reason", "lần nữa", env=cli_env, cwd=tmp_path)
    assert again.returncode == 1 and "đã bị hủy từ trước" in again.stderr
    active = run_cli("tasks", "list", "--status", "active", "--json", env=cli_env, cwd=tmp_path)
    assert GDDT_TASK not in {task["code"] for task in json.loads(active.stdout)}
