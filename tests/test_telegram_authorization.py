"""Who may do what: every command, for an unbound user, an officer of the lead unit, an
officer of another unit and an admin. Refusals are polite and carry no data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.telegram_support import ADMIN_ID, GDDT_TASK, Harness, harness, tg_bot, tg_server

__all__ = ["harness", "tg_bot", "tg_server"]

UNBOUND, LEAD, OTHER = 3001, 3002, 3003
NOT_REGISTERED = "chưa đăng ký"
ADMIN_ONLY = "chỉ dành cho quản trị viên"
NOT_YOURS = "không được giao cho đơn vị"
NO_UNIT = "Chỉ cán bộ của đơn vị"

# Officer commands: (command, unbound, lead officer, officer of another unit, admin).
# Each expectation is a phrase the answer must contain.
OFFICER_COMMANDS = [
    ("/tasks", NOT_REGISTERED, GDDT_TASK, "VHXH23-06", "Tất cả nhiệm vụ"),
    (f"/task {GDDT_TASK}", NOT_REGISTERED, "Phòng Giáo dục", NOT_YOURS, "Phòng Giáo dục"),
    (f"/report {GDDT_TASK} được 60%", NOT_REGISTERED, "tiến độ 60%", NOT_YOURS, NO_UNIT),
    ("/help", NOT_REGISTERED, "/tasks", "/tasks", "Dành cho quản trị viên"),
    ("/lang vi", NOT_REGISTERED, "tiếng Việt", "tiếng Việt", "tiếng Việt"),
]
# Admin commands: what an admin's answer contains (everyone else gets ADMIN_ONLY).
ADMIN_COMMANDS = [
    ("/overdue", "quá hạn"),
    ("/due 10", GDDT_TASK),
    ("/units", "GDDT"),
    (f"/approve {GDDT_TASK}", "không có báo cáo nào đang chờ"),
    (f"/reject {GDDT_TASK} chưa đạt", "không có báo cáo nào đang chờ"),
    ("/extend VHXH23-05 31/8/2023 theo đề nghị", "31/8/2023"),
    ("/setdate VHXH23-06 1/9/2023", "1/9/2023"),
    ("/assign", "Giao nhiệm vụ mới (1/3)"),
    ("/cancel", "Đã hủy"),
    ("/remind VHXH23-07", "VHXH23-07"),
    ("/invite GDDT Hoàng Văn Em", "Mã"),
    ("/bindgroup", "trong nhóm"),
    ("/digest", "bản tổng hợp"),
    ("/pause VHXH23-03 chờ ý kiến", "Đã tạm dừng"),
    ("/resume VHXH23-03", "Đã tiếp tục"),
    ("/huy VHXH23-03 trùng nhiệm vụ", "Đã hủy"),
    ("/canceltask VHXH23-03 trùng nhiệm vụ", "đã bị hủy từ trước"),
]


async def _people(h: Harness) -> None:
    # A Saturday: no reminder is due, so every message a user gets answers their command.
    h.clock.set(datetime(2023, 6, 24, 2, 0, tzinfo=UTC))
    h.tg.add_user(UNBOUND, "Lạ", language_code="vi")
    await h.bind(LEAD, "GDDT", "Nguyễn Văn An")
    await h.bind(OTHER, "TTYT", "Lê Thị Hoa")
    await h.admin_hello()


@pytest.mark.parametrize(("role", "user"), [("unbound", UNBOUND), ("lead", LEAD), ("other", OTHER)])
async def test_telegram_admin_commands_are_refused_to_non_admins(
    harness: Harness, role: str, user: int
) -> None:
    await _people(harness)
    for command, _expected in ADMIN_COMMANDS:
        if command == "/cancel":
            continue  # open to everyone: it only leaves a dialogue
        reply = await harness.say(user, command)
        assert ADMIN_ONLY in reply.text, (role, command, reply.text)
    export = await harness.say(user, "/export")
    assert ADMIN_ONLY in export.text
    assert not [s for s in harness.tg.sent if s.chat_id == user and s.document_name]
    # Nothing changed: no deadline moved, no task created.
    task = await harness.ctx.tasks.get_task("VHXH23-06")
    assert task.deadline_kind == "conditional"
    # No task paused or cancelled.
    assert (await harness.ctx.tasks.get_task("VHXH23-03")).status == "not_started"


async def test_telegram_admin_commands_work_for_the_admin(harness: Harness) -> None:
    await _people(harness)
    for command, expected in ADMIN_COMMANDS:
        reply = await harness.say(ADMIN_ID, command)
        assert expected.lower() in reply.text.lower(), (command, reply.text)
    harness.tg.user_sends_text(ADMIN_ID, "/export")
    document = await harness.tg.wait_for_sent(
        lambda s: s.chat_id == ADMIN_ID and s.document_name is not None
    )
    assert document.document_name is not None and document.document_name.endswith(".csv")


@pytest.mark.parametrize(
    ("index", "role", "user"),
    [(1, "unbound", UNBOUND), (2, "lead", LEAD), (3, "other", OTHER), (4, "admin", ADMIN_ID)],
)
async def test_telegram_officer_commands_by_role(
    harness: Harness, index: int, role: str, user: int
) -> None:
    await _people(harness)
    for row in OFFICER_COMMANDS:
        command, expected = row[0], row[index]
        reply = await harness.say(user, command)
        assert expected in reply.text, (role, command, reply.text)
    if role == "other":
        task = await harness.ctx.tasks.get_task(GDDT_TASK)
        assert task.reports == ()  # the refused report recorded nothing
