"""Officers on the Zalo Bot Platform, end to end against the fake Bot API (both backends):
binding, commands, reminders answered by number, free text, photos, what Zalo cannot carry."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from bot.domain.text import utf16_len
from tests.zalo_support import (
    ADMIN_ZALO,
    EIGHT_AM,
    GDDT_TASK,
    JPEG,
    ZaloHarness,
    number_for,
    zalo,
    zalo_id,
)

__all__ = ["zalo"]


async def _reports(h: ZaloHarness, code: str) -> list[object]:
    return list((await h.ctx.tasks.get_task(code)).reports)


async def test_zalo_bind_with_start_code_and_commands(zalo: ZaloHarness) -> None:
    user = zalo_id()
    welcome = await zalo.bind(user)
    assert "Phòng Giáo dục và Đào tạo" in welcome
    # Help is true to the Bot Platform: numbers, and photos only (no files, no buttons).
    assert "trả lời tin nhắc việc bằng số: 1" in welcome
    assert "ảnh chụp trang có chữ ký" in welcome and "tệp hoặc ảnh" not in welcome
    assert "Official Account" in welcome  # configured in this harness: where files go

    tasks = (await zalo.say(user, "/tasks")).text or ""
    assert GDDT_TASK in tasks and "VHXH23-05" in tasks
    assert "Các nhiệm vụ chưa hoàn thành" in tasks or "Phòng Giáo dục" in tasks

    detail = await zalo.say_all(user, f"/task {GDDT_TASK.lower()}")
    assert "30/6/2023" in detail[0] and "Chưa có báo cáo tiến độ" in detail[0]
    assert f"/report {GDDT_TASK}" in detail[0]

    help_text = (await zalo.say(user, "/help")).text or ""
    assert "Hướng dẫn" in help_text and "/kenh" in help_text
    assert "ảnh chụp trang có chữ ký" in help_text and "tệp hoặc ảnh" not in help_text

    assert "English" in ((await zalo.say(user, "/lang en")).text or "")
    english = (await zalo.say(user, "/tasks")).text or ""
    assert "Open tasks of" in english and "Deadline: 30/6/2023 (Friday)" in english
    bad_lang = (await zalo.say(user, "/lang fr")).text or ""
    assert "vi" in bad_lang and "en" in bad_lang

    unknown = (await zalo.say(user, "/overdue")).text or ""
    assert "Telegram" in unknown


async def test_zalo_bind_with_code_alone_refuses_wrong_and_used_codes(zalo: ZaloHarness) -> None:
    stranger = zalo_id()
    before = len(zalo.zb.messages_to(stranger))
    refused = (await zalo.say(stranger, "ABCDE-FGHJK")).text or ""
    assert "Mã mời" in refused or "mã mời" in refused
    assert await zalo.ctx.registry.identify("zalo", stranger) is None
    not_registered = (await zalo.say(stranger, "xong")).text or ""
    assert "chưa đăng ký" in not_registered
    assert len(zalo.zb.messages_to(stranger)) == before + 2

    code = await zalo.invite(name="Lê Thị Bình")
    officer = zalo_id()
    welcome = (await zalo.say(officer, code.lower())).text or ""
    assert "Chào mừng Lê Thị Bình" in welcome
    assert await zalo.ctx.registry.identify("zalo", officer) is not None

    # The same code again, from someone else: refused, nothing bound.
    other = zalo_id()
    used = (await zalo.say(other, f"/start {code}")).text or ""
    assert "đã được sử dụng" in used or "không hợp lệ" in used, used
    assert await zalo.ctx.registry.identify("zalo", other) is None


async def test_zalo_reminder_answered_by_number_then_photo(zalo: ZaloHarness) -> None:
    user = zalo_id()
    await zalo.bind(user)
    before = len(zalo.zb.messages_to(user))
    summary = await zalo.tick()
    assert summary.sent >= 1
    reminder = zalo.zb.texts_to(user)[before]
    assert GDDT_TASK in reminder and "30/6/2023" in reminder
    assert "Anh/chị trả lời bằng số:\n1 – ✅ Đã hoàn thành\n2 – 🔄 Đang thực hiện" in reminder
    assert "3 – ⏳ Xin gia hạn" in reminder
    assert "nút" not in reminder  # Zalo has no buttons
    assert "lựa chọn bên dưới" in reminder

    receipt = await zalo.say_all(user, "1")
    assert receipt[0].startswith("Đã ghi nhận kết quả") and GDDT_TASK in receipt[0]
    assert "Đề nghị anh/chị gửi thêm ảnh chụp văn bản đã ký tại đây." in receipt[0]

    url = zalo.zb.host_file(JPEG, "image/jpeg", "IMG_0001.jpg")
    before = len(zalo.zb.messages_to(user))
    await zalo.zb.user_sends_photo(user, url)
    photo_receipt = (await zalo.answers(user, before))[0]
    assert GDDT_TASK in photo_receipt and ".jpg" in photo_receipt
    assert zalo.zb.file_hits(url) == 1

    task = await zalo.ctx.tasks.get_task(GDDT_TASK)
    assert task.status == "awaiting_confirmation"
    files = [a for r in task.reports for a in r.attachments]
    assert [f.sha256 for f in files] == [hashlib.sha256(JPEG).hexdigest()]
    stored = zalo.ctx.attachments.path_of(files[0].storage_path)
    assert stored.read_bytes() == JPEG

    # A reported task reads by its report time, not "0 days left".
    listing = (await zalo.say(user, "/tasks")).text or ""
    line = next(part for part in listing.split("\n\n") if GDDT_TASK in part)
    assert "báo cáo trong hạn" in line and "còn 0 ngày" not in line


async def test_zalo_number_goes_to_latest_reminder_or_asks_which(zalo: ZaloHarness) -> None:
    user = zalo_id()
    await zalo.bind(user)
    # No reminder yet: a number explains itself and records nothing.
    text = (await zalo.say(user, "2")).text or ""
    assert "chưa có tin nhắc việc" in text
    assert await _reports(zalo, GDDT_TASK) == []

    # Two reminders together (the office's manual reminders, then one tick).
    await zalo.ctx.reminders.remind_now(GDDT_TASK, actor="test")
    await zalo.ctx.reminders.remind_now("VHXH23-05", actor="test")
    before = len(zalo.zb.messages_to(user))
    await zalo.tick()
    assert len(zalo.zb.messages_to(user)) >= before + 2

    question = (await zalo.say_all(user, "2"))[0]
    assert "nhiều tin nhắc việc cùng lúc" in question
    assert "Anh/chị trả lời bằng số:" in question
    pick = number_for(question, "VHXH23-05")
    out_of_range = (await zalo.say(user, "7")).text or ""
    assert "từ 1 đến 2" in out_of_range
    answers = await zalo.say_all(user, pick)
    assert "VHXH23-05" in answers[0] and "đang thực hiện" in answers[0]
    assert (await zalo.ctx.tasks.get_task("VHXH23-05")).status == "in_progress"
    assert await _reports(zalo, GDDT_TASK) == []

    # A single, later reminder: "3" asks for the extension date of that task.
    later = EIGHT_AM + timedelta(hours=2)
    zalo.clock.set(later)
    await zalo.ctx.reminders.remind_now(GDDT_TASK, actor="test")
    before = len(zalo.zb.messages_to(user))
    await zalo.tick(later)
    await zalo.zb.wait_for_sent(before + 1, chat_id=user)
    prompt = (await zalo.say_all(user, "3"))[0]
    assert GDDT_TASK in prompt and "20/7/2023" in prompt
    receipt = (await zalo.say_all(user, "15/7/2023 vì chờ số liệu của các xã"))[0]
    assert "Đã ghi nhận đề nghị gia hạn" in receipt and "15/7/2023" in receipt


FREE_TEXT = [
    ("VHXH23-05 đã được 60%", "VHXH23-05", "progress", 60),
    ("VHXH23-05 da duoc 70 phan tram", "VHXH23-05", "progress", 70),
    ("VHXH23-04 Đang chờ ý kiến của Sở", GDDT_TASK, "note", None),
    ("VHXH23-04 xin gia hạn đến 20/7/2023 vì chờ số liệu", GDDT_TASK, "extension", None),
    ("VHXH23-04 xin gia han den 20/7/2023 vi cho so lieu", GDDT_TASK, "extension", None),
    ("VHXH23-04 da xong", GDDT_TASK, "done", None),
    ("VHXH23-10 Đã hoàn thành", "VHXH23-10", "done", None),
]


async def test_zalo_free_text_understood_with_and_without_diacritics(zalo: ZaloHarness) -> None:
    user = zalo_id()
    await zalo.bind(user)
    for text, code, kind, percent in FREE_TEXT:
        receipt = (await zalo.say_all(user, text))[0]
        assert code in receipt, (text, receipt)
        report = (await zalo.ctx.tasks.get_task(code)).reports[-1]
        assert (report.kind, report.text) == (kind, text)
        if kind == "progress":
            assert report.percent == percent and f"{percent}%" in receipt
        if kind == "extension":
            assert str(report.proposed_due_date) == "2023-07-20" and "20/7/2023" in receipt
        if kind == "done":
            assert receipt.startswith("Đã ghi nhận kết quả")


async def test_zalo_free_text_without_task_asks_which(zalo: ZaloHarness) -> None:
    user = zalo_id()
    await zalo.bind(user)
    question = (await zalo.say_all(user, "da duoc 50%"))[0]
    assert "nhiệm vụ nào" in question and "Anh/chị trả lời bằng số:" in question
    receipt = (await zalo.say_all(user, number_for(question, "VHXH23-05")))[0]
    assert "VHXH23-05" in receipt and "50%" in receipt


@pytest.mark.parametrize("zalo", [{"zalo_photo_max_bytes": 2048}], indirect=True)
async def test_zalo_photo_too_large_is_refused(zalo: ZaloHarness) -> None:
    user = zalo_id()
    await zalo.bind(user)
    url = zalo.zb.host_file(JPEG, "image/jpeg", "big.jpg")  # 4 KB > 2 KB
    before = len(zalo.zb.messages_to(user))
    await zalo.zb.user_sends_photo(user, url, caption="VHXH23-04 xong")
    answer = (await zalo.answers(user, before))[0]
    assert "lớn hơn" in answer and "chưa được ghi nhận" in answer
    assert await _reports(zalo, GDDT_TASK) == []


async def test_zalo_photo_download_failure_is_explained(zalo: ZaloHarness) -> None:
    user = zalo_id()
    await zalo.bind(user)
    before = len(zalo.zb.messages_to(user))
    await zalo.zb.user_sends_photo(user, zalo.zb.base_url + "/files/missing/x.jpg")
    answer = (await zalo.answers(user, before))[0]
    assert "Không tải được tệp" in answer
    assert await _reports(zalo, GDDT_TASK) == []


async def test_zalo_unsupported_document_and_sticker_explained(zalo: ZaloHarness) -> None:
    user = zalo_id()
    await zalo.bind(user)
    before = len(zalo.zb.messages_to(user))
    await zalo.zb.user_sends_unsupported(user)
    answer = (await zalo.answers(user, before))[0]
    assert "Zalo không chuyển văn bản" in answer
    assert "ảnh chụp trang văn bản có chữ ký" in answer and "Official Account" in answer
    before = len(zalo.zb.messages_to(user))
    await zalo.zb.user_sends_sticker(user)
    sticker = (await zalo.answers(user, before))[0]
    assert "chỉ đọc được tin nhắn chữ và ảnh" in sticker
    for code in (GDDT_TASK, "VHXH23-05", "VHXH23-10"):
        assert await _reports(zalo, code) == []


async def test_zalo_long_text_split_cleanly(zalo: ZaloHarness) -> None:
    # The settings admin sees every open task: far more than Zalo's 2,000 characters.
    before = len(zalo.zb.messages_to(ADMIN_ZALO))
    parts = await zalo.say_all(ADMIN_ZALO, "/tasks")
    assert len(parts) >= 2
    assert all(1 <= utf16_len(part) <= 2000 for part in parts)
    whole = "\n".join(parts)
    tasks = await zalo.ctx.tasks.list_tasks(status="open")
    for task in tasks:
        assert whole.count(f"• {task.code} — ") == 1  # no task line cut in two
    assert all(not part.startswith((" ", "\n")) for part in parts)
    assert len(zalo.zb.messages_to(ADMIN_ZALO)) == before + len(parts)


async def test_zalo_group_only_mentions_reach_bot_and_digest_posted(zalo: ZaloHarness) -> None:
    group = zalo_id()
    member = zalo_id()
    await zalo.bind(member)
    # Without a mention Zalo does not deliver the message at all.
    assert await zalo.zb.group_sends_text(group, member, "xong", mentioned=False) is None
    # An officer mentioning the bot: told to report in private; nothing recorded.
    await zalo.zb.group_sends_text(group, member, "VHXH23-04 xong")
    told = (await zalo.reply(group)).text or ""
    assert "nhắn riêng" in told
    await zalo.settle()
    assert await _reports(zalo, GDDT_TASK) == []
    # Only an admin binds the group.
    await zalo.zb.group_sends_text(group, member, "/bindgroup GDDT")
    refused = (await zalo.reply(group, 1)).text or ""
    assert "quản trị" in refused

    await zalo.zb.group_sends_text(group, ADMIN_ZALO, "/bindgroup GDDT")
    bound = (await zalo.reply(group, 2)).text or ""
    assert "nhóm này" in bound.lower()
    await zalo.zb.group_sends_text(group, ADMIN_ZALO, "/digest")
    await zalo.reply(group, 3)
    await zalo.settle()
    await zalo.tick()
    digest = await zalo.zb.wait_for_sent(5, chat_id=group)
    texts = [m.text or "" for m in digest]
    digest_text = texts[-1]
    assert digest_text.startswith("Tổng hợp tuần") and "Phòng Giáo dục và Đào tạo" in digest_text
    assert "VHXH23-10" in digest_text
