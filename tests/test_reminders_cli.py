"""The issue's done criterion, as an admin would check it: the seed loaded, an officer of
Phòng GD&ĐT bound on Telegram, then `nhacviec tick --now 2023-06-23T08:00:00+07:00` as a
real subprocess against the fake Telegram server sends the 30/6/2023 task's 7-day reminder
with its three buttons; the same tick again sends nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import AppContext
from tests import reminder_support
from tests.cli_support import cli_json, make_cli_env, run_cli_async
from tests.fakes.telegram_api import FakeTelegramServer

# Fixtures, by the names the tests ask for.
tg_shared = reminder_support.tg_shared


@pytest.mark.slow  # each `tick` subprocess imports aiogram, which takes seconds
async def test_reminders_cli_tick_sends_the_seed_reminder_once(
    ctx: AppContext,
    db_url: str,
    tmp_path: Path,
    tg_shared: FakeTelegramServer,
    clean_env: None,
) -> None:
    tg = tg_shared
    await tg.reset()
    await ctx.seed.load()
    invite = await ctx.registry.create_invite(
        unit_code="GDDT", officer_name="Nguyễn Văn An", actor="cli"
    )
    tg.add_user(7001, first_name="An", started=True)
    await ctx.registry.redeem_invite(
        invite.code, channel="telegram", user_id="7001", chat_id="7001"
    )
    env = make_cli_env(
        db_url,
        tmp_path / "attachments",
        TELEGRAM_BOT_TOKEN=tg.token,
        TELEGRAM_API_BASE=tg.base_url,
    )
    now = "2023-06-23T08:00:00+07:00"

    first = cli_json(await run_cli_async("tick", "--now", now, "--json", env=env, cwd=tmp_path))
    assert first["sent"] == 1 and first["channels"] == ["telegram"]
    [reminder] = tg.messages_to(7001)
    assert reminder.text is not None
    assert reminder.text.startswith("Nhắc việc: nhiệm vụ VHXH23-04 còn 7 ngày")
    assert "Thời hạn: 30/6/2023 (thứ Sáu)" in reminder.text
    assert [b["text"] for b in reminder.buttons] == [
        "✅ Đã hoàn thành",
        "🔄 Đang thực hiện",
        "⏳ Xin gia hạn",
    ]
    assert reminder.callback_data == ["done:VHXH23-04", "prog:VHXH23-04", "ext:VHXH23-04"]

    second = cli_json(await run_cli_async("tick", "--now", now, "--json", env=env, cwd=tmp_path))
    assert second["sent"] == 0 and second["planned"] == 0
    assert len(tg.messages_to(7001)) == 1

    plan = cli_json(
        await run_cli_async(
            "reminders",
            "list",
            "--task",
            "VHXH23-04",
            "--now",
            now,
            "--json",
            env=env,
            cwd=tmp_path,
        )
    )
    assert [(p["due_at"], p["status"]) for p in plan if p["kind"] == "reminder"] == [
        ("2023-06-23T08:00:00+07:00", "sent"),
        ("2023-06-27T08:00:00+07:00", "pending"),
        ("2023-06-29T08:00:00+07:00", "pending"),
        ("2023-06-30T08:00:00+07:00", "pending"),
    ]
    assert {p["recipient"] for p in plan} == {"Nguyễn Văn An"}
    assert {p["kind"] for p in plan} == {"reminder", "overdue"}  # overdue from 3/7 if not done
    # The reply to that message maps back to its task.
    assert (
        await ctx.reminders.assignment_for_message("telegram", "7001", str(reminder.message_id))
        == "VHXH23-04"
    )
