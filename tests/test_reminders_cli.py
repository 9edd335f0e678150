"""The issue's done criterion, as an admin would check it: the seed loaded, an officer of
Phòng GD&ĐT bound on Telegram, then `nhacviec tick --now 2023-06-23T08:00:00+07:00` as a
real subprocess against the fake Telegram server sends the 30/6/2023 task's 7-day reminder
with its three buttons; the same tick again sends nothing."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.app import AppContext
from tests import reminder_support
from tests.fakes.telegram_api import FakeTelegramServer

ROOT = Path(__file__).resolve().parents[1]

# Fixtures, by the names the tests ask for.
tg_shared = reminder_support.tg_shared


async def _nhacviec(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run the CLI without blocking the loop, which also serves the fake Telegram API."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, out.decode(), err.decode()


def _json(result: tuple[int, str, str]) -> Any:
    code, out, err = result
    assert code == 0, err
    return json.loads(out)


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
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": db_url,
            "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
            "PYTHONPATH": str(ROOT),
            "BOT_LOCALE": "vi",
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE": tg.base_url,
        }
    )
    now = "2023-06-23T08:00:00+07:00"

    first = _json(await _nhacviec("tick", "--now", now, "--json", env=env, cwd=tmp_path))
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

    second = _json(await _nhacviec("tick", "--now", now, "--json", env=env, cwd=tmp_path))
    assert second["sent"] == 0 and second["planned"] == 0
    assert len(tg.messages_to(7001)) == 1

    plan = _json(
        await _nhacviec(
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
