"""Bad updates never crash the bot or block others, and change nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from storage.models import ProgressReport
from tests.telegram_support import GDDT_TASK, PDF, Harness, harness, tg_bot, tg_server

__all__ = ["harness", "tg_bot", "tg_server"]

OFFICER, OTHER = 4001, 4002


async def _reports(h: Harness) -> int:
    async with h.ctx.sessionmaker() as session:
        return int(await session.scalar(select(func.count(ProgressReport.id))) or 0)


async def _quiet_day(h: Harness) -> None:
    h.clock.set(datetime(2023, 6, 24, 2, 0, tzinfo=UTC))  # Saturday: no reminders going out
    await h.bind(OFFICER, "GDDT")


async def test_telegram_unknown_and_odd_updates_are_survived(harness: Harness) -> None:
    h = harness
    await _quiet_day(h)
    # A message kind we do not read (a dice), with fields from a future Bot API.
    h.tg.user_sends_raw_update(
        {
            "message": {
                "message_id": 999,
                "date": 1687482000,
                "chat": {"id": OFFICER, "type": "private", "first_name": "An"},
                "from": {"id": OFFICER, "is_bot": False, "first_name": "An"},
                "dice": {"emoji": "🎲", "value": 3},
                "some_future_field": {"x": 1},
            }
        }
    )
    assert "chỉ đọc được" in (await h.reply(OFFICER)).text
    # A forged button payload and one we never issued.
    h.tg.user_sends_raw_update(
        {
            "callback_query": {
                "id": "forged-1",
                "from": {"id": OFFICER, "is_bot": False, "first_name": "An"},
                "chat_instance": "1",
                "data": "pick:VHXH23-99",
            }
        }
    )
    h.tg.user_sends_raw_update(
        {
            "callback_query": {
                "id": "forged-2",
                "from": {"id": OFFICER, "is_bot": False, "first_name": "An"},
                "chat_instance": "1",
                "data": "rm -rf /",
            }
        }
    )
    still = await h.say(OFFICER, "/tasks")
    assert GDDT_TASK in still.text
    assert await _reports(h) == 0


async def test_telegram_huge_text_is_refused_and_records_nothing(harness: Harness) -> None:
    h = harness
    await _quiet_day(h)
    reply = await h.say(OFFICER, "xong " + "a" * 10_000)
    assert "quá dài" in reply.text
    assert await _reports(h) == 0


async def test_telegram_sticker_and_edit_get_an_explanation(harness: Harness) -> None:
    h = harness
    await _quiet_day(h)
    h.tg.user_sends_sticker(OFFICER)
    assert "chỉ đọc được" in (await h.reply(OFFICER)).text
    sent = h.tg.user_sends_text(OFFICER, f"/report {GDDT_TASK} được 30%")
    await h.reply(OFFICER)
    h.tg.user_edits_message(OFFICER, sent["message"]["message_id"], f"/report {GDDT_TASK} được 90%")
    assert "gửi một tin nhắn mới" in (await h.reply(OFFICER)).text
    task = await h.ctx.tasks.get_task(GDDT_TASK)
    assert task.percent == 30 and len(task.reports) == 1


async def test_telegram_document_over_20_mb_is_refused(harness: Harness) -> None:
    h = harness
    await _quiet_day(h)
    h.tg.user_sends_document(
        OFFICER,
        "scan-25MB.pdf",
        PDF,
        "application/pdf",
        caption=f"{GDDT_TASK} xong",
        size_override=25 * 1024 * 1024,
    )
    reply = await h.reply(OFFICER)
    assert "scan-25MB.pdf" in reply.text and "20 MB" in reply.text
    assert await _reports(h) == 0
    assert h.tg.calls_to("getFile") == []
    task = await h.ctx.tasks.get_task(GDDT_TASK)
    assert task.status == "not_started"


async def test_telegram_flood_is_throttled_and_others_are_served(harness: Harness) -> None:
    h = harness
    await _quiet_day(h)
    await h.bind(OTHER, "TTYT", "Lê Thị Hoa")
    burst = h.ctx.settings.telegram_throttle_burst
    for _ in range(burst + 30):
        h.tg.user_sends_text(OFFICER, "/help")
    answer = await h.say(OTHER, "/tasks")
    assert "VHXH23-06" in answer.text
    slow_down = await h.tg.wait_for_sent(lambda s: s.chat_id == OFFICER and "quá nhanh" in s.text)
    assert slow_down
    await h.ctx.reminders.drain()
    helps = [s for s in h.tg.messages_to(OFFICER) if "/tasks" in (s.text or "")]
    # the welcome, then at most `burst` answers (the bind's /start used one token)
    assert len(helps) <= burst + 1
    warnings = [s for s in h.tg.messages_to(OFFICER) if "quá nhanh" in (s.text or "")]
    assert len(warnings) == 1


async def test_telegram_user_text_is_escaped_in_html_replies(harness: Harness) -> None:
    h = harness
    await _quiet_day(h)
    note = "Đã gửi <b>dự thảo</b> & <script>x</script> cho Sở"
    reply = await h.say(OFFICER, f"/report {GDDT_TASK} {note}")
    assert note in reply.text  # shown literally: nothing the officer typed becomes markup
    assert reply.entities == [] or all(e["type"] == "bold" for e in reply.entities)
