"""Issue 4's done criterion, end to end against the fake Bot API:

an invited officer binds with /start CODE, receives the 30/6/2023 reminder from
`nhacviec tick --now 2023-06-23T08:00:00+07:00` (a real subprocess whose TELEGRAM_API_BASE
points at the fake), replies to it with "da xong" and a PDF, gets a receipt; `nhacviec tasks
list --json` shows the report with the file's sha256; the admin approves it and the task is
closed as done on time.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from tests.cli_support import run_beside
from tests.telegram_support import (
    ADMIN_ID,
    GDDT_TASK,
    PDF,
    TOKEN,
    Harness,
    harness,
    tg_bot,
    tg_server,
)

__all__ = ["harness", "tg_bot", "tg_server"]

OFFICER = 7001


async def _nhacviec(h: Harness, *args: str) -> str:
    """Run the CLI as an admin would, while this event loop keeps serving the fake."""
    result = await run_beside(
        h.ctx.settings, *args, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=h.tg.base_url
    )
    return result.stdout


async def test_telegram_done_criterion(harness: Harness) -> None:
    h = harness
    # 07:00 in Hà Nội: nothing is due yet, so the reminder can only come from the CLI's tick.
    h.clock.set(datetime(2023, 6, 23, 0, 0, tzinfo=UTC))
    await h.bind(OFFICER, "GDDT", "Nguyễn Văn An")
    await h.admin_hello()

    await _nhacviec(h, "tick", "--now", "2023-06-23T08:00:00+07:00")
    reminder = await h.tg.wait_for_sent(
        lambda s: s.chat_id == OFFICER and GDDT_TASK in (s.text or "") and bool(s.callback_data)
    )
    assert "30/6/2023" in (reminder.text or "")

    h.clock.set(datetime(2023, 6, 23, 1, 5, tzinfo=UTC))  # 08:05, the officer answers
    h.tg.user_sends_document(
        OFFICER,
        "Ke hoach tang cuong CSVC.pdf",
        PDF,
        "application/pdf",
        caption="da xong",
        reply_to_message_id=reminder.message_id,
    )
    receipt = await h.tg.wait_for_sent(
        lambda s: s.chat_id == OFFICER and "Đã ghi nhận kết quả" in (s.text or "")
    )
    assert GDDT_TASK in (receipt.text or "") and "Ke hoach tang cuong CSVC.pdf" in (
        receipt.text or ""
    )
    assert "08:05 23/6/2023" in (receipt.text or "")

    tasks = json.loads(await _nhacviec(h, "tasks", "list", "--json"))
    task = next(t for t in tasks if t["code"] == GDDT_TASK)
    report = task["reports"][-1]
    assert report["text"] == "da xong"
    assert report["attachments"][0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert report["attachments"][0]["file_name"] == "Ke hoach tang cuong CSVC.pdf"

    await h.deliver_outbox()
    request = await h.tg.wait_for_sent(
        lambda s: (
            s.chat_id == ADMIN_ID
            and "Báo cáo hoàn thành" in (s.text or "")
            and bool(s.callback_data)
        )
    )
    h.tg.user_presses_button(ADMIN_ID, request.message_id, request.callback_data[0])
    await h.tg.wait_for_sent(lambda s: s.chat_id == ADMIN_ID and "đúng hạn" in (s.text or ""))
    done = await h.ctx.tasks.get_task(GDDT_TASK)
    assert done.status == "done"
    assert h.ctx.reports.assess(done).timeliness.value == "done_on_time"
