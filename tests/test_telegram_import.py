"""Issue 6 in Telegram: an admin imports a conclusion notice, reviews it, fixes it with the
buttons (or by typing), and confirms; end to end through aiogram and the fake Bot API, on
SQLite and PostgreSQL.

The registry is the Cẩm Thủy one without the seed's notice (loading the seed would make that
very file a live notice), and with the social-policy bank registered under another name and
code (PGDNH), so the import cannot resolve line 13 by itself and suggests PGDNH.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from sqlalchemy import func, select

from bot.app import build_context
from bot.clock import FrozenClock
from bot.domain.actions import DraftRef, Verb, parse_action
from bot.i18n import I18n
from bot.notice_import import load_unit_refs
from storage.models import Assignment, AuditEntry, Notice, OutboxMessage
from tests.fakes.telegram_api import FakeTelegramServer, SentMessage
from tests.telegram_support import (
    ADMIN_ID,
    Harness,
    harness_settings,
    polling,
    tg_bot,
    tg_server,
)

__all__ = ["tg_bot", "tg_server"]

ROOT = Path(__file__).resolve().parents[1]
SEED_NOTICE = ROOT / "seed" / "thong-bao-ket-luan-giao-ban-vhxh-6-thang-2023.txt"
SEED_YAML = ROOT / "seed" / "cam-thuy-vhxh-2023.yaml"
BANK_LINE = 13  # "Giao Ngân hàng chính sách xã hội huyện ... trước ngày 15/7/2023"
GDDT_LINE = 4  # Phòng GD&ĐT, "trước ngày 30/6/2023"
LINES = 20
OFFICER = 3001
UNIT_ADMIN = 3002
REVIEW_TIMEOUT = 30.0  # reading a notice takes a moment on a busy machine


def _load_render() -> Any:
    """The .docx renderer that lives beside the importer's test notices."""
    spec = importlib.util.spec_from_file_location(
        "notice_render", ROOT / "tests" / "data" / "notices" / "render.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def importer(
    tg_server: FakeTelegramServer,
    tg_bot: Bot,
    db_url: str,
    tmp_path: Path,
    clock: FrozenClock,
    i18n: I18n,
) -> AsyncIterator[Harness]:
    """The service over the Cẩm Thủy registry (the bank renamed), polling the fake."""
    await tg_server.reset()
    ctx = build_context(
        harness_settings(db_url, tmp_path, tg_server.base_url), clock=clock, i18n=i18n
    )
    with i18n.context(), i18n.use_locale("vi"):
        for ref in load_unit_refs(SEED_YAML):
            bank = ref.code == "NHCSXH"
            await ctx.registry.add_unit(
                code="PGDNH" if bank else ref.code,
                name="Phòng giao dịch Ngân hàng CSXH huyện" if bank else ref.name,
                kind=ref.kind,
                short_name="PGD NHCSXH" if bank else ref.short_name,
                aliases=() if bank else ref.aliases,
                sectors=ref.sectors,
                actor="test",
            )
        async with polling(tg_server, tg_bot, ctx, clock) as h:
            yield h


# --- helpers ----------------------------------------------------------------------------------


async def _review(h: Harness, chat_id: int = ADMIN_ID) -> list[SentMessage]:
    """The review's messages, up to the one with the buttons."""
    parts = []
    while True:
        sent = await h.tg.wait_for_sent(chat_id, timeout=REVIEW_TIMEOUT)
        parts.append(sent)
        if any(data.startswith("imp_ok:") for data in sent.callback_data):
            return parts


def _draft_id(part: SentMessage) -> int:
    action = parse_action(part.callback_data[0])
    assert action is not None and action.verb is Verb.IMPORT_CONFIRM
    return DraftRef.of(action).draft


def _text(parts: list[SentMessage]) -> str:
    return "\n".join(p.text or "" for p in parts)


def _shown(h: Harness, message: SentMessage) -> dict[str, Any]:
    """The message as the admin sees it now (after the bot's edits)."""
    current = h.tg.message(message.chat_id, message.message_id)
    assert current is not None
    return current


def _buttons(current: dict[str, Any]) -> list[str]:
    rows = (current.get("reply_markup") or {}).get("inline_keyboard") or []
    return [button["callback_data"] for row in rows for button in row]


def _line(text: str, no: int) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"{no}. "))


async def _pick_line(h: Harness, review: SentMessage, verb: Verb, line: int) -> None:
    """✏️ / 📅 / 🗑 on the review, then the line's button on the keyboard it becomes."""
    draft = _draft_id(review)
    choice = DraftRef(draft, line).payload(verb)
    h.tg.user_presses_button(ADMIN_ID, review.message_id, DraftRef(draft).payload(verb))
    await h.tg.wait_for_call(
        lambda c: (
            c.method == "editMessageReplyMarkup"
            and int(c.params["message_id"]) == review.message_id
            and choice in str(c.params.get("reply_markup"))
        )
    )
    h.tg.user_presses_button(ADMIN_ID, review.message_id, choice)


async def _edited(h: Harness, message: SentMessage, test: Callable[[str], bool]) -> str:
    """Wait for the bot to edit `message` into a text that passes `test`."""
    call = await h.tg.wait_for_call(
        lambda c: (
            c.method == "editMessageText"
            and int(c.params["message_id"]) == message.message_id
            and test(str(c.params["text"]))
        )
    )
    return str(call.params["text"])


async def _send_seed(h: Harness, user_id: int = ADMIN_ID, **kwargs: Any) -> None:
    h.tg.user_sends_document(
        user_id, SEED_NOTICE.name, SEED_NOTICE.read_bytes(), "text/plain", **kwargs
    )


async def _count(h: Harness, model: Any) -> int:
    async with h.ctx.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _audit(h: Harness) -> list[tuple[str, str]]:
    async with h.ctx.sessionmaker() as session:
        rows = await session.execute(select(AuditEntry.action, AuditEntry.actor))
        return [(action, actor) for action, actor in rows]


# --- the done criterion ----------------------------------------------------------------------


async def test_telegram_import_review_fix_unit_confirm(importer: Harness) -> None:
    h = importer
    await h.bind(OFFICER, "PGDNH", "Trần Thị Bình")  # the bank's officer gets the reminders
    await h.admin_hello()

    # A settings admin has no unit of their own: the notice file alone starts the import.
    await _send_seed(h)
    parts = await _review(h)
    review = parts[-1]
    draft = _draft_id(review)
    text = _text(parts)
    assert f"Bản nháp số {draft}: đọc được {LINES} nhiệm vụ" in (parts[0].text or "")
    assert all(len(p.text or "") <= 4096 for p in parts)
    for no in range(1, LINES + 1):
        assert _line(text, no)
    assert _line(text, GDDT_LINE).startswith(f"{GDDT_LINE}. [2.2] Phòng GD&ĐT — ")
    assert _line(text, GDDT_LINE).endswith("— 30/6/2023 (thứ Sáu)")
    bank = text.split(f"\n{BANK_LINE}. ", 1)[1]
    assert bank.startswith("[2.5] ⚠ chưa rõ đơn vị: «Ngân hàng chính sách xã hội huyện»")
    assert "gợi ý: PGDNH (PGD NHCSXH)" in bank.split(f"\n{BANK_LINE + 1}. ", 1)[0]
    assert "Dòng 13 chưa có đơn vị chủ trì" in (review.text or "")
    assert review.callback_data == [
        f"imp_ok:{draft}",
        f"imp_unit:{draft}",
        f"imp_due:{draft}",
        f"imp_drop:{draft}",
        f"imp_x:{draft}",
    ]
    assert await _count(h, Assignment) == 0  # nothing live before confirmation

    # ✏️ Sửa đơn vị → line 13 → the suggested unit.
    await _pick_line(h, review, Verb.IMPORT_UNIT, BANK_LINE)
    prompt = await h.tg.wait_for_sent(ADMIN_ID)
    assert "Dòng 13: đơn vị chủ trì" in (prompt.text or "")
    choice = DraftRef(draft, BANK_LINE, "PGDNH").payload(Verb.IMPORT_SET_UNIT)
    assert prompt.callback_data[0] == choice
    assert _buttons(_shown(h, review))[0] == f"imp_ok:{draft}"  # the review's buttons are back
    h.tg.user_presses_button(ADMIN_ID, prompt.message_id, choice)
    await _edited(h, prompt, lambda text: "Dòng 13 sau khi sửa" in text)
    answered = _shown(h, prompt)
    assert "Dòng 13 sau khi sửa" in answered["text"] and "PGD NHCSXH" in answered["text"]
    assert not _buttons(answered)
    # The review was edited in place: line 13 resolved, no more warning about it.
    refreshed = "\n".join(_shown(h, p)["text"] for p in parts)
    assert _line(refreshed, BANK_LINE).startswith("13. [2.5] PGD NHCSXH — ")
    assert "chưa rõ đơn vị" not in refreshed
    assert "bấm ✅ Xác nhận" in refreshed
    assert len(h.tg.messages_to(ADMIN_ID)) == len(parts) + 2  # the review, the prompt, /help

    # ✅ Xác nhận: the tasks are live, with their codes.
    h.tg.user_presses_button(ADMIN_ID, review.message_id, f"imp_ok:{draft}")
    summary = await h.tg.wait_for_sent(ADMIN_ID, timeout=REVIEW_TIMEOUT)
    assert f"Đã xác nhận thông báo: {LINES} nhiệm vụ đã được giao" in (summary.text or "")
    assert "TB0623-13 — PGD NHCSXH — " in (summary.text or "")
    assert not _buttons(_shown(h, review))  # nobody can confirm twice
    tasks = await h.ctx.tasks.list_tasks()
    assert len(tasks) == LINES and {t.status for t in tasks} == {"not_started"}
    bank_task = await h.ctx.tasks.get_task("TB0623-13")
    assert bank_task.lead_unit.code == "PGDNH" and str(bank_task.due_date) == "2023-07-15"
    gddt = await h.ctx.tasks.get_task(f"TB0623-{GDDT_LINE:02d}")
    assert gddt.lead_unit.code == "GDDT" and str(gddt.due_date) == "2023-06-30"
    async with h.ctx.sessionmaker() as session:
        planned = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.assignment_id == bank_task.id)
        )
    assert planned, "confirmation planned no reminder for the bank's officer"
    admin = await h.ctx.conversation.identify("telegram", str(ADMIN_ID), str(ADMIN_ID))
    audit = await _audit(h)
    for action in ("notice.import", "notice.set_unit", "notice.confirm"):
        assert (action, admin.audit_name) in audit


async def test_telegram_import_docx_with_caption_then_cancel(importer: Harness) -> None:
    h = importer
    # An admin who belongs to a unit: their files are evidence unless they say /import.
    await h.bind(UNIT_ADMIN, "VP", "Lê Văn Quản", role="admin")
    docx = _load_render().build_docx(SEED_NOTICE.read_text(encoding="utf-8"))
    h.tg.user_sends_document(UNIT_ADMIN, "thong-bao.docx", docx, caption="/import")
    parts = await _review(h, UNIT_ADMIN)
    text = _text(parts)
    assert f"đọc được {LINES} nhiệm vụ từ tệp thong-bao.docx" in (parts[0].text or "")
    assert _line(text, GDDT_LINE).endswith("— 30/6/2023 (thứ Sáu)")
    assert "chưa rõ đơn vị: «Ngân hàng chính sách xã hội huyện»" in text
    review = parts[-1]
    draft = _draft_id(review)

    h.tg.user_presses_button(UNIT_ADMIN, review.message_id, f"imp_x:{draft}")
    done = await h.tg.wait_for_sent(UNIT_ADMIN)
    assert f"Đã hủy bản nháp {draft}" in (done.text or "")
    assert not _buttons(_shown(h, review))
    assert await h.ctx.notices.list_drafts() == []
    assert await _count(h, Notice) == 0 and await _count(h, Assignment) == 0
    assert any(a == "notice.cancel" for a, _who in await _audit(h))


async def test_telegram_import_edit_deadline_by_typing(importer: Harness) -> None:
    h = importer
    await h.admin_hello()
    start = await h.say(ADMIN_ID, "/import")
    assert "dưới dạng tệp" in (start.text or "")
    reminder = await h.say(ADMIN_ID, "thông báo đây")
    assert "dưới dạng tệp" in (reminder.text or "")
    await _send_seed(h)
    parts = await _review(h)
    review = parts[-1]
    draft = _draft_id(review)

    await _pick_line(h, review, Verb.IMPORT_DEADLINE, GDDT_LINE)
    prompt = await h.tg.wait_for_sent(ADMIN_ID)
    assert "Dòng 4: thời hạn" in (prompt.text or "") and "trong tháng 9/2023" in (prompt.text or "")
    refused = await h.say(ADMIN_ID, "sớm nhất có thể")
    assert "30/6/2023" in (refused.text or "")  # what to write instead; still waiting
    ack = await h.say(ADMIN_ID, "15/7/2023")
    assert "Dòng 4 sau khi sửa" in (ack.text or "") and "15/7/2023 (thứ Bảy)" in (ack.text or "")
    refreshed = "\n".join(_shown(h, p)["text"] for p in parts)
    assert _line(refreshed, GDDT_LINE).endswith("— 15/7/2023 (thứ Bảy)")
    line = (await h.ctx.notices.get_draft(draft)).line(GDDT_LINE)
    assert line is not None and str(line.deadline.due_date) == "2023-07-15"

    # A phrase works too; the dialogue is over afterwards, so free text is no deadline.
    await _pick_line(h, review, Verb.IMPORT_DEADLINE, GDDT_LINE)
    await h.tg.wait_for_sent(ADMIN_ID)
    ack = await h.say(ADMIN_ID, "trong tháng 9/2023")
    assert "trong tháng 9/2023" in (ack.text or "")
    line = (await h.ctx.notices.get_draft(draft)).line(GDDT_LINE)
    assert line is not None and (line.deadline.kind, str(line.deadline.due_date)) == (
        "month",
        "2023-09-30",
    )
    edits = [e for e in h.tg.edits if e.method == "editMessageText"]
    assert edits and all(e.chat_id == ADMIN_ID for e in edits)
    audit = [a for a, _who in await _audit(h)]
    assert audit.count("notice.set_deadline") == 2


async def test_telegram_import_confirm_refused_while_a_lead_is_missing(importer: Harness) -> None:
    h = importer
    await h.admin_hello()
    await _send_seed(h)
    parts = await _review(h)
    review = parts[-1]
    draft = _draft_id(review)

    h.tg.user_presses_button(ADMIN_ID, review.message_id, f"imp_ok:{draft}")
    refused = await h.tg.wait_for_sent(ADMIN_ID)
    assert "Chưa xác nhận được: dòng 13 chưa có đơn vị chủ trì" in (refused.text or "")
    assert await _count(h, Assignment) == 0
    assert (await h.ctx.notices.get_draft(draft)).missing_leads == (BANK_LINE,)

    # A typed code: an unknown one is explained, a known one (any case) is taken.
    await _pick_line(h, review, Verb.IMPORT_UNIT, BANK_LINE)
    await h.tg.wait_for_sent(ADMIN_ID)
    unknown = await h.say(ADMIN_ID, "NHCSXH")
    assert "Không có đơn vị nào mang mã NHCSXH" in (unknown.text or "")
    ack = await h.say(ADMIN_ID, "pgdnh")
    assert "Dòng 13 sau khi sửa" in (ack.text or "")

    # 🗑 Bỏ dòng, then confirm: the dropped line is not a task.
    await _pick_line(h, review, Verb.IMPORT_DROP, 1)
    await _edited(h, parts[0], lambda text: "\n1. [" not in text)
    refreshed = "\n".join(_shown(h, p)["text"] for p in parts)
    assert not any(line.startswith("1. ") for line in refreshed.splitlines())
    assert _line(refreshed, 2)  # line numbers never move
    h.tg.user_presses_button(ADMIN_ID, review.message_id, f"imp_ok:{draft}")
    summary = await h.tg.wait_for_sent(ADMIN_ID, timeout=REVIEW_TIMEOUT)
    assert f"{LINES - 1} nhiệm vụ đã được giao" in (summary.text or "")
    assert len(await h.ctx.tasks.list_tasks()) == LINES - 1

    # The same file again: its notice is live, so nothing is stored twice.
    await _send_seed(h)
    again = await h.tg.wait_for_sent(ADMIN_ID, timeout=REVIEW_TIMEOUT)
    assert "đã được xác nhận" in (again.text or "")
    assert await _count(h, Notice) == 1


_UNITS = ("Phòng Giáo dục và Đào tạo", "Phòng Nội vụ", "Trung tâm Y tế huyện")


def _long_notice(count: int) -> bytes:
    """A notice with `count` dated assignments: a review too long for one message."""
    items = "\n\n".join(
        f"{i}. Giao {_UNITS[i % len(_UNITS)]} chủ trì, tham mưu kế hoạch kiểm tra số {i} của "
        "huyện năm 2024 trên địa bàn các xã, thị trấn, trình Chủ tịch UBND huyện ký ban hành "
        f"trước ngày {i % 28 + 1}/8/2024."
        for i in range(1, count + 1)
    )
    return (
        "UỶ BAN NHÂN DÂN\nHUYỆN CẨM THỦY\n\nSố: 77/TB-UBND\n\n"
        "Cẩm Thủy, ngày 20 tháng 6 năm 2024\n\nTHÔNG BÁO\n\n"
        "Kết luận của Chủ tịch UBND huyện tại cuộc họp giao ban tháng 6 năm 2024\n\n"
        f"{items}\n\nNơi nhận:\n- Các phòng, ban, đơn vị có liên quan;\n- Lưu: VT.\n"
    ).encode()


async def test_telegram_import_long_review_is_split_and_edited_in_place(
    importer: Harness,
) -> None:
    h = importer
    await h.admin_hello()
    h.tg.user_sends_document(ADMIN_ID, "tb-77.txt", _long_notice(40))
    parts = await _review(h)
    assert len(parts) >= 2
    assert "Bản nháp số" in (parts[0].text or "")
    assert all(not p.callback_data for p in parts[:-1])
    assert all(len((p.text or "").encode("utf-16-le")) // 2 <= 4000 for p in parts)
    numbers = [
        int(line.split(".", 1)[0])
        for p in parts
        for line in (p.text or "").splitlines()
        if line[:1].isdigit() and ". [" in line
    ]
    assert numbers == list(range(1, 41))  # every line whole, in order, none cut in two

    # A line of the last part changes: that part is edited, the first is left alone.
    review = parts[-1]
    await _pick_line(h, review, Verb.IMPORT_DEADLINE, 40)
    await h.tg.wait_for_sent(ADMIN_ID)
    await h.say(ADMIN_ID, "quý IV/2024")
    edited = {e.message_id for e in h.tg.edits if e.method == "editMessageText"}
    assert review.message_id in edited and parts[0].message_id not in edited
    assert "40. [40] Phòng Nội vụ — " in _shown(h, review)["text"]
    assert "trong quý 4/2024" in _line(_shown(h, review)["text"], 40)
    assert len(h.tg.messages_to(ADMIN_ID)) == len(parts) + 3  # /help, prompt, the ack


# --- who gets the import, and files it cannot read -------------------------------------------


async def test_telegram_import_non_admin_document_is_evidence(importer: Harness) -> None:
    h = importer
    await h.bind(OFFICER, "GDDT", "Nguyễn Văn An")
    await _send_seed(h, OFFICER)
    answer = await h.tg.wait_for_sent(OFFICER)
    assert "Bản nháp" not in (answer.text or "") and not answer.callback_data
    assert "không có nhiệm vụ nào cần báo cáo" in (answer.text or "")  # the officer flow
    refused = await h.say(OFFICER, "/import")
    assert "chỉ dành cho quản trị viên" in (refused.text or "")
    await _send_seed(h, OFFICER, caption="/import")
    refused = await h.tg.wait_for_sent(OFFICER)
    assert "chỉ dành cho quản trị viên" in (refused.text or "")

    # An admin with a unit, without /import: evidence too.
    await h.bind(UNIT_ADMIN, "VP", "Lê Văn Quản", role="admin")
    await _send_seed(h, UNIT_ADMIN)
    answer = await h.tg.wait_for_sent(UNIT_ADMIN)
    assert "Bản nháp" not in (answer.text or "")
    assert "không có nhiệm vụ nào cần báo cáo" in (answer.text or "")

    # A forged import button from the officer: refused with a notice, nothing done.
    h.tg.user_presses_button(OFFICER, refused.message_id, "imp_ok:1", check_keyboard=False)
    alert = await h.tg.wait_for_call(
        lambda c: c.method == "answerCallbackQuery" and "quản trị viên" in str(c.params)
    )
    assert alert.ok
    assert await _count(h, Notice) == 0


async def test_telegram_import_scanned_or_oversized_file_is_answered_politely(
    importer: Harness,
) -> None:
    from fpdf import FPDF

    h = importer
    await h.admin_hello()
    audit_before = len(await _audit(h))
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60, style="F")  # a page that is only a picture
    h.tg.user_sends_document(ADMIN_ID, "thong-bao-scan.pdf", bytes(pdf.output()))
    scanned = await h.tg.wait_for_sent(ADMIN_ID, timeout=REVIEW_TIMEOUT)
    assert "không có lớp chữ" in (scanned.text or "") and ".docx" in (scanned.text or "")

    files_before = len(h.tg.calls_to("getFile"))
    h.tg.user_sends_document(ADMIN_ID, "thong-bao.pdf", b"%PDF-1.4", size_override=25 * 1024 * 1024)
    big = await h.tg.wait_for_sent(ADMIN_ID)
    assert "quá lớn" in (big.text or "")
    assert len(h.tg.calls_to("getFile")) == files_before  # refused before getFile

    h.tg.user_sends_document(ADMIN_ID, "bang.xlsx", b"a,b\n1,2\n", caption="/import")
    other = await h.tg.wait_for_sent(ADMIN_ID)
    assert ".docx, .pdf hoặc .txt" in (other.text or "")
    assert await _count(h, Notice) == 0
    assert len(await _audit(h)) == audit_before


# --- button payloads -------------------------------------------------------------------------


def test_import_payloads_are_compact_and_strict() -> None:
    longest = DraftRef(999_999_999, 9999, "X" * 32).payload(Verb.IMPORT_SET_UNIT)
    assert len(longest.encode()) <= 64
    for data in ("imp_ok:12", "imp_unit:12", "imp_unit:12.4", "imp_set:12.4.NGANH-GD"):
        action = parse_action(data)
        assert action is not None and action.payload() == data
    ref = DraftRef.of(parse_action("imp_set:12.4.NGANH-GD"))  # type: ignore[arg-type]
    assert (ref.draft, ref.line, ref.unit) == (12, 4, "NGANH-GD")
    for forged in (
        "imp_ok:12.4",
        "imp_set:12.4",
        "imp_unit:12.4.GDDT",
        "imp_due:0",
        "imp_drop:12.x",
        "imp_set:12.4.GD.DT",
        "imp_x:",
    ):
        assert parse_action(forged) is None, forged
