"""Officers on Telegram, end to end through aiogram and the fake Bot API: binding, lists,
progress replies with files, receipts, language."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.models import Attachment, ProgressReport
from tests.fakes.telegram_api import AlbumItem
from tests.telegram_support import GDDT_TASK, PDF, Harness, harness, tg_bot, tg_server

__all__ = ["harness", "tg_bot", "tg_server"]


async def test_telegram_start_with_a_good_code_binds(harness: Harness) -> None:
    welcome = await harness.bind(1001, "GDDT", "Nguyễn Văn An")
    assert "Nguyễn Văn An" in welcome.text
    assert "Phòng Giáo dục và Đào tạo" in welcome.text
    officer = await harness.ctx.registry.identify("telegram", "1001")
    assert officer is not None and officer.unit_code == "GDDT"
    assert officer.locale is None  # BOT_LOCALE until they choose with /lang


async def test_telegram_start_deep_link_payload_and_bare_code(harness: Harness) -> None:
    invite = await harness.ctx.registry.create_invite(
        unit_code="TTYT", officer_name="Lê Thị Hoa", actor="test"
    )
    assert invite.telegram_link == f"https://t.me/nhacviec_test_bot?start={invite.code}"
    harness.tg.add_user(1002, "Hoa")
    # Typed by hand, lower case and without the dash: the same code.
    reply = await harness.say(1002, invite.code.replace("-", "").lower())
    assert "Lê Thị Hoa" in reply.text


async def test_telegram_start_refuses_wrong_used_and_expired_codes(harness: Harness) -> None:
    tg = harness.tg
    tg.add_user(1003, "Bình")
    wrong = await harness.say(1003, "/start ABCDE-FGHJK")
    assert "không hợp lệ" in wrong.text
    invite = await harness.ctx.registry.create_invite(
        unit_code="GDDT", officer_name="Trần Bình", actor="test"
    )
    await harness.bind(1004, "GDDT", "Người Khác")  # a different invite, for contrast
    tg.user_starts(1003, invite.code)
    assert "Trần Bình" in (await harness.reply(1003)).text
    tg.add_user(1005, "Cường")
    used = await harness.say(1005, f"/start {invite.code}")
    assert "đã được sử dụng" in used.text
    late = await harness.ctx.registry.create_invite(
        unit_code="GDDT", officer_name="Muộn", actor="test"
    )
    harness.clock.advance(timedelta(days=8))
    expired = await harness.say(1005, f"/start {late.code}")
    assert "hết hạn" in expired.text
    assert await harness.ctx.registry.identify("telegram", "1005") is None


async def test_telegram_start_without_code_explains_invites(harness: Harness) -> None:
    harness.tg.add_user(1006, "Dũng")
    reply = await harness.say(1006, "/start")
    assert "mã mời" in reply.text
    refused = await harness.say(1006, "/tasks")
    assert "chưa đăng ký" in refused.text


async def test_telegram_tasks_lists_the_units_open_tasks(harness: Harness) -> None:
    await harness.bind(1010, "GDDT")
    reply = await harness.say(1010, "/tasks")
    text = reply.text
    assert "VHXH23-04" in text and "VHXH23-05" in text and "VHXH23-10" in text
    assert "VHXH23-06" not in text  # Trung tâm Y tế's task
    assert "30/6/2023 (thứ Sáu)" in text
    assert "còn 7 ngày" in text


async def test_telegram_task_detail_and_refusal_for_other_units(harness: Harness) -> None:
    await harness.bind(1011, "GDDT")
    detail = await harness.say(1011, f"/task {GDDT_TASK}")
    assert "Phòng Giáo dục và Đào tạo" in detail.text
    assert "Chưa có báo cáo tiến độ" in detail.text or "chưa" in detail.text.lower()
    assert detail.callback_data == [f"done:{GDDT_TASK}", f"prog:{GDDT_TASK}", f"ext:{GDDT_TASK}"]
    other = await harness.say(1011, "/task VHXH23-06")
    assert "không được giao cho đơn vị" in other.text


async def test_telegram_done_with_a_document_gets_a_receipt(harness: Harness) -> None:
    await harness.bind(1020, "GDDT")
    harness.tg.user_sends_document(
        1020, "Ke hoach 123.pdf", PDF, "application/pdf", caption=f"{GDDT_TASK} da xong"
    )
    receipt = await harness.reply(1020)
    text = receipt.text
    assert GDDT_TASK in text
    assert "Ke hoach 123.pdf" in text
    assert "08:00 23/6/2023" in text
    assert "chờ xác nhận" in text
    assert "văn bản đã ký" not in text  # the document came with the report: no request
    task = await harness.ctx.tasks.get_task(GDDT_TASK)
    assert task.status == "awaiting_confirmation"
    files = task.reports[-1].attachments
    assert len(files) == 1 and files[0].file_name == "Ke hoach 123.pdf"
    stored = harness.ctx.attachments.path_of(files[0].storage_path)
    assert stored.read_bytes() == PDF


async def test_telegram_done_without_file_asks_once_for_the_document(harness: Harness) -> None:
    await harness.bind(1021, "TTYT", "Lê Hoa")
    # Trung tâm Y tế leads several tasks: name the task.
    receipt = await harness.say(1021, "/report VHXH23-07 đã hoàn thành")
    assert "văn bản đã ký" in receipt.text
    again = await harness.say(1021, "/report VHXH23-07 xong rồi")
    assert "đang chờ cơ quan xác nhận" in again.text
    assert "văn bản đã ký" not in again.text or "gửi" in again.text
    # The document, sent as a reply to the receipt, joins the reported result.
    harness.tg.user_sends_document(
        1021, "ban-ky.pdf", PDF, "application/pdf", reply_to_message_id=receipt.message_id
    )
    added = await harness.reply(1021)
    assert "ban-ky.pdf" in added.text
    assert "bổ sung" in added.text
    task = await harness.ctx.tasks.get_task("VHXH23-07")
    assert [r.kind for r in task.reports] == ["done", "note"]


async def test_telegram_percentage_and_note_from_free_text(harness: Harness) -> None:
    await harness.bind(1022, "NHCSXH", "Phạm Minh")  # leads exactly one task
    progress = await harness.say(1022, "được 60%")
    assert "VHXH23-13" in progress.text and "60%" in progress.text
    note = await harness.say(1022, "Đang chờ ý kiến của Sở")
    assert "ghi chú" in note.text.lower()
    task = await harness.ctx.tasks.get_task("VHXH23-13")
    assert task.status == "in_progress" and task.percent == 60


async def test_telegram_ambiguous_report_asks_which_task(harness: Harness) -> None:
    await harness.bind(1023, "GDDT")
    question = await harness.say(1023, "được 40%")
    assert "nhiệm vụ nào" in question.text
    choice = f"pick:{GDDT_TASK}"
    assert choice in question.callback_data
    harness.tg.user_presses_button(1023, question.message_id, choice)
    receipt = await harness.reply(1023)
    assert GDDT_TASK in receipt.text and "40%" in receipt.text
    assert harness.tg.callback_answers


async def test_telegram_album_is_one_report_with_every_file(harness: Harness) -> None:
    await harness.bind(1024, "NHCSXH", "Phạm Minh")
    harness.tg.user_sends_album(
        1024,
        [
            AlbumItem(b"\xff\xd8page-one\xff\xd9"),
            AlbumItem(b"\xff\xd8page-two\xff\xd9"),
            AlbumItem(PDF, kind="document", file_name="to-trinh.pdf"),
        ],
        caption="hoàn thành",
    )
    receipt = await harness.reply(1024)
    assert "to-trinh.pdf" in receipt.text
    assert receipt.text.count(".jpg") == 2
    async with harness.ctx.sessionmaker() as session:
        reports = (await session.scalars(select(ProgressReport))).all()
        files = (await session.scalars(select(Attachment))).all()
    assert len(reports) == 1 and reports[0].kind == "done"
    assert len(files) == 3


async def test_telegram_photo_is_stored_and_deduplicated(harness: Harness) -> None:
    await harness.bind(1025, "NHCSXH", "Phạm Minh")
    photo = b"\xff\xd8same-photo\xff\xd9"
    harness.tg.user_sends_photo(1025, photo, caption="ảnh hiện trường")
    first = await harness.reply(1025)
    harness.tg.user_sends_photo(1025, photo)
    second = await harness.reply(1025)
    assert ".jpg" in first.text and ".jpg" in second.text
    task = await harness.ctx.tasks.get_task("VHXH23-13")
    paths = {a.storage_path for r in task.reports for a in r.attachments}
    assert len(paths) == 1  # same bytes, stored once


async def test_telegram_extension_request_is_recorded(harness: Harness) -> None:
    await harness.bind(1026, "NHCSXH", "Phạm Minh")
    receipt = await harness.say(1026, "xin gia han den 20/7/2023 vi cho so lieu cac xa")
    assert "20/7/2023" in receipt.text
    assert "cho so lieu cac xa" in receipt.text
    task = await harness.ctx.tasks.get_task("VHXH23-13")
    report = task.reports[-1]
    assert report.kind == "extension" and report.review_status == "pending"
    assert str(report.proposed_due_date) == "2023-07-20"


async def test_telegram_lang_en_switches_everything(harness: Harness) -> None:
    await harness.bind(1030, "GDDT")
    switched = await harness.say(1030, "/lang en")
    assert "English" in switched.text
    listing = await harness.say(1030, "/tasks")
    assert "Open tasks" in listing.text and "30/6/2023 (Friday)" in listing.text
    refused = await harness.say(1030, "/task VHXH23-06")
    assert "not assigned to your unit" in refused.text
    back = await harness.say(1030, "/lang vi")
    assert "tiếng Việt" in back.text


async def test_telegram_english_phone_officer_reads_bot_locale_until_lang(
    harness: Harness,
) -> None:
    """A stranger is answered in their phone's language; an officer in BOT_LOCALE (vi)
    whatever their phone says, until they choose with /lang."""
    harness.tg.add_user(1031, "Anna", language_code="en")
    reply = await harness.say(1031, "/start")
    assert "invite" in reply.text
    welcome = await harness.bind(1032, language_code="en")
    assert "Chào mừng" in welcome.text
    listing = await harness.say(1032, "/tasks")
    assert "30/6/2023 (thứ Sáu)" in listing.text
    await harness.say(1032, "/lang en")
    listing = await harness.say(1032, "/tasks")
    assert "30/6/2023 (Friday)" in listing.text


async def test_telegram_command_menus_per_scope_and_language(harness: Harness) -> None:
    tg = harness.tg
    officer_vi = tg.commands_for("default", language_code="vi")
    officer_en = tg.commands_for("default", language_code="en")
    default = tg.commands_for("default")
    assert officer_vi and officer_en and default
    names = [c["command"] for c in officer_vi]
    assert "tasks" in names and "report" in names and "overdue" not in names
    assert "kenh" in names and "lienket" in names
    assert any("Nhiệm vụ" in c["description"] for c in officer_vi)
    assert any("open tasks" in c["description"] for c in officer_en)
    # An admin's own chat gets the admin menu once they open the bot.
    from tests.telegram_support import ADMIN_ID

    harness.tg.add_user(ADMIN_ID, "Quản trị")
    await harness.say(ADMIN_ID, "/start")
    admin = tg.commands_for("chat", chat_id=ADMIN_ID, language_code="vi")
    assert admin is not None and "overdue" in [c["command"] for c in admin]
