"""NoticeImportService on a real database (SQLite and PostgreSQL): preview, draft, review,
confirm, cancel — and every refusal leaves the database as it was."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import AppContext
from bot.domain.enums import AssignmentStatus, NoticeStatus, Role
from bot.notice_import import (
    EmptyNoticeError,
    NoticeTooLargeError,
    UnsupportedFormatError,
    import_notice,
    load_unit_refs,
)
from bot.services.errors import InvalidValueError, UnknownUnitError
from bot.services.notice_import import (
    MAX_NOTICE_BYTES,
    DraftView,
    MissingLeadError,
    NoAssignmentsError,
    NoticeAlreadyLiveError,
    NoticeUnreadableError,
    UnknownDraftError,
    code_prefix,
)
from storage.models import Assignment, AuditEntry, Notice, OutboxMessage

ROOT = Path(__file__).resolve().parents[1]
SEED_NOTICE = ROOT / "seed" / "thong-bao-ket-luan-giao-ban-vhxh-6-thang-2023.txt"
SEED_YAML = ROOT / "seed" / "cam-thuy-vhxh-2023.yaml"

# A short notice in the usual shape: one line whose lead is not in the registry, one
# deadline without a year ("trước 15/7"), one period.
SMALL_NOTICE = """UỶ BAN NHÂN DÂN
HUYỆN CẨM THỦY

Số: 45/TB-UBND

Cẩm Thủy, ngày 20 tháng 6 năm 2024

THÔNG BÁO

Kết luận của Chủ tịch UBND huyện tại cuộc họp giao ban tháng 6 năm 2024

Ngày 18/6/2024, Chủ tịch UBND huyện chủ trì cuộc họp giao ban. Chủ tịch UBND huyện kết \
luận như sau:

1. Giao Phòng Giáo dục và Đào tạo chủ trì, phối hợp với Trung tâm Y tế huyện tham mưu kế \
hoạch y tế trường học năm học 2024-2025, trình Chủ tịch UBND huyện ký ban hành trước 15/7.

2. Giao Phòng Khoa học và Công nghệ huyện tham mưu báo cáo tình hình ứng dụng công nghệ \
thông tin, báo cáo UBND huyện trước ngày 30/7/2024.

3. Giao Bảo hiểm xã hội huyện chủ trì, phối hợp với Phòng Lao động - Thương binh và Xã hội \
rà soát đối tượng tham gia bảo hiểm y tế, hoàn thành trong tháng 9/2024.

Nơi nhận:
- Các phòng, ban, đơn vị có liên quan;
- Lưu: VT.
"""


def small_notice(**replace: str) -> bytes:
    text = SMALL_NOTICE
    for old, new in replace.items():
        text = text.replace(old, new)
    return text.encode("utf-8")


async def register_seed_units(ctx: AppContext) -> None:
    """The Cẩm Thủy registry without its notice (the seed would make that notice live)."""
    for ref in load_unit_refs(SEED_YAML):
        await ctx.registry.add_unit(
            code=ref.code,
            name=ref.name,
            kind=ref.kind,
            short_name=ref.short_name,
            aliases=ref.aliases,
            sectors=ref.sectors,
            actor="test",
        )


async def _count(ctx: AppContext, model: Any) -> int:
    async with ctx.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _snapshot(ctx: AppContext) -> tuple[Any, ...]:
    """Everything a refused call must leave alone."""
    async with ctx.sessionmaker() as session:
        notices = (
            await session.execute(
                select(Notice.id, Notice.status, Notice.draft).order_by(Notice.id)
            )
        ).all()
        assignments = (
            await session.scalars(select(Assignment.code).order_by(Assignment.code))
        ).all()
        audit = await session.scalar(select(func.count()).select_from(AuditEntry))
    return tuple(map(tuple, notices)), tuple(assignments), audit


def _line(draft: DraftView, no: int) -> Any:
    line = draft.line(no)
    assert line is not None
    return line


# --- preview ---------------------------------------------------------------------------------


async def test_preview_reads_against_the_registry_and_stores_nothing(ctx: AppContext) -> None:
    await register_seed_units(ctx)
    preview = await ctx.notices.preview(SEED_NOTICE.read_bytes(), SEED_NOTICE.name)

    # The same document the importer gives with the registry's units (aliases, sectors).
    expected = import_notice(SEED_NOTICE, units=load_unit_refs(SEED_YAML)).to_dict()
    assert preview.to_json() == expected
    assert [line.no for line in preview.lines] == list(range(1, len(preview.lines) + 1))
    assert preview.notice.issued_on == date(2023, 6, 16)
    gddt = [line for line in preview.lines if line.lead_unit and line.lead_unit.code == "GDDT"]
    assert gddt[0].lead_unit is not None and gddt[0].lead_unit.short_name == "Phòng GD&ĐT"
    assert await _count(ctx, Notice) == 0


async def test_preview_flags_unknown_units_with_named_suggestions(ctx: AppContext) -> None:
    await register_seed_units(ctx)
    preview = await ctx.notices.preview(small_notice(), "tb-45.txt")

    assert preview.notice.number == "45/TB-UBND"
    assert preview.missing_leads == (2,)
    unresolved = preview.lines[1].unresolved_lead
    assert unresolved is not None and "Khoa học" in unresolved.text
    assert unresolved.suggestions and all(s.name for s in unresolved.suggestions)
    assert "unresolved_units" in preview.warnings


async def test_preview_yearless_deadline_takes_the_notice_year(ctx: AppContext) -> None:
    await register_seed_units(ctx)
    dated = await ctx.notices.preview(small_notice(), "tb.txt")
    assert dated.lines[0].deadline.due_date == date(2024, 7, 15)  # the notice is of 2024

    # No date anywhere: the year is today's, from the injected clock (2023).
    undated = small_notice(
        **{
            "Cẩm Thủy, ngày 20 tháng 6 năm 2024": "",
            "Ngày 18/6/2024, ": "",
            "trước ngày 30/7/2024": "trước ngày 30/7",
            "tháng 9/2024": "tháng 9",
        }
    )
    preview = await ctx.notices.preview(undated, "tb.txt")
    assert preview.notice.issued_on is None
    assert preview.lines[0].deadline.due_date == date(2023, 7, 15)
    assert "no_notice_date" in preview.warnings


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"", "empty.txt", EmptyNoticeError.code),
        (b"PK\x03\x04 not really a zip", "broken.docx", None),
        (b"a,b,c\n1,2,3\n", "bang.xlsx", UnsupportedFormatError.code),
    ],
)
async def test_preview_refuses_unreadable_files(
    ctx: AppContext, data: bytes, name: str, code: str | None
) -> None:
    with pytest.raises(NoticeUnreadableError) as raised:
        await ctx.notices.preview(data, name)
    if code is not None:
        assert raised.value.code == code
    assert name in raised.value.message()


async def test_preview_refuses_a_huge_file_before_reading_it(ctx: AppContext) -> None:
    with pytest.raises(NoticeUnreadableError) as raised:
        await ctx.notices.preview(b"x" * (MAX_NOTICE_BYTES + 1), "big.txt")
    assert raised.value.code == NoticeTooLargeError.code and "big.txt" in raised.value.message()


# --- commit ----------------------------------------------------------------------------------


async def test_commit_stores_a_draft_once(ctx: AppContext) -> None:
    await register_seed_units(ctx)
    first = await ctx.notices.commit(small_notice(), "tb-45.txt", actor="test")
    again = await ctx.notices.commit(small_notice(), "tb-45-copy.txt", actor="test")

    assert first.created and not again.created
    assert again.id == first.id and again.to_json() | {"id": 0} == first.to_json() | {"id": 0}
    assert first.status == NoticeStatus.DRAFT.value and len(first.lines) == 3
    assert await _count(ctx, Notice) == 1
    assert await _count(ctx, Assignment) == 0  # assignments only on confirmation
    async with ctx.sessionmaker() as session:
        notice = await session.get(Notice, first.id)
        assert notice is not None
        assert notice.source_name == "tb-45.txt" and "Phòng Khoa học" in notice.source_text
        assert len(notice.source_sha256) == 64
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert actions.count("notice.import") == 1
    drafts = await ctx.notices.list_drafts()
    assert [(d.id, d.line_count, d.missing_leads) for d in drafts] == [(first.id, 3, (2,))]


async def test_commit_refuses_a_notice_already_live(ctx: AppContext, seed_path: Path) -> None:
    await ctx.seed.load(seed_path)  # the seed made this very file a live notice
    before = await _snapshot(ctx)
    with pytest.raises(NoticeAlreadyLiveError) as raised:
        await ctx.notices.commit(SEED_NOTICE.read_bytes(), SEED_NOTICE.name, actor="test")
    assert "đã được xác nhận" in raised.value.message()
    assert await _snapshot(ctx) == before


async def test_commit_refuses_a_file_without_assignments(ctx: AppContext) -> None:
    text = "THÔNG BÁO\n\nUBND huyện tiếp thu ý kiến của các đại biểu.\n".encode()
    with pytest.raises(NoAssignmentsError):
        await ctx.notices.commit(text, "tb.txt", actor="test")
    assert await _count(ctx, Notice) == 0


# --- review ----------------------------------------------------------------------------------


async def test_review_fixes_unit_cooperating_and_deadline(ctx: AppContext) -> None:
    await register_seed_units(ctx)
    draft = await ctx.notices.commit(small_notice(), "tb.txt", actor="test")

    draft = await ctx.notices.set_line_unit(draft.id, 2, "vp", actor="test")
    line = _line(draft, 2)
    assert line.lead_unit.code == "VP" and line.unresolved_lead is None
    assert draft.missing_leads == () and "unresolved_units" not in draft.warnings

    draft = await ctx.notices.set_line_cooperating(draft.id, 2, ["TCKH", "vp", "TCKH"], actor="t")
    assert [u.code for u in _line(draft, 2).cooperating_units] == ["TCKH"]  # lead left out

    draft = await ctx.notices.set_line_deadline(draft.id, 1, "30/6/2023", actor="test")
    deadline = _line(draft, 1).deadline
    assert (deadline.kind, deadline.due_date, deadline.text) == (
        "date",
        date(2023, 6, 30),
        "30/6/2023",
    )
    draft = await ctx.notices.set_line_deadline(draft.id, 1, "trước 10/8", actor="test")
    assert _line(draft, 1).deadline.due_date == date(2024, 8, 10)  # the notice's year
    draft = await ctx.notices.set_line_deadline(draft.id, 3, "quý IV/2024", actor="test")
    assert (_line(draft, 3).deadline.kind, _line(draft, 3).deadline.due_date) == (
        "quarter",
        date(2024, 12, 31),
    )
    draft = await ctx.notices.set_line_deadline(draft.id, 3, "không", actor="test")
    assert _line(draft, 3).deadline.kind == "none"

    stored = await ctx.notices.get_draft(draft.id)
    assert stored.to_json() == draft.to_json()
    async with ctx.sessionmaker() as session:
        actions = (
            await session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "notice"))
        ).all()
    assert actions.count("notice.set_deadline") == 4 and "notice.set_unit" in actions


async def test_review_refusals_change_nothing(ctx: AppContext) -> None:
    await register_seed_units(ctx)
    draft = await ctx.notices.commit(small_notice(), "tb.txt", actor="test")
    before = await _snapshot(ctx)

    with pytest.raises(UnknownUnitError):
        await ctx.notices.set_line_unit(draft.id, 2, "KHONG-CO", actor="test")
    with pytest.raises(UnknownUnitError):
        await ctx.notices.set_line_cooperating(draft.id, 1, ["TTYT", "KHONG-CO"], actor="test")
    with pytest.raises(InvalidValueError) as bad_deadline:
        await ctx.notices.set_line_deadline(draft.id, 1, "sớm nhất có thể", actor="test")
    assert "30/6/2023" in bad_deadline.value.message()
    with pytest.raises(InvalidValueError):
        await ctx.notices.set_line_deadline(draft.id, 1, "31/2/2024", actor="test")
    with pytest.raises(InvalidValueError) as bad_line:
        await ctx.notices.drop_line(draft.id, 9, actor="test")
    assert "9" in bad_line.value.message()
    with pytest.raises(UnknownDraftError):
        await ctx.notices.set_line_unit(draft.id + 100, 1, "VP", actor="test")
    with pytest.raises(MissingLeadError) as missing:
        await ctx.notices.confirm(draft.id, actor="test")
    assert missing.value.lines == (2,) and "2" in missing.value.message()

    assert await _snapshot(ctx) == before


# --- confirm and cancel ----------------------------------------------------------------------


async def test_confirm_makes_tasks_live_and_plans_reminders(ctx: AppContext) -> None:
    await register_seed_units(ctx)
    # An officer of the lead unit, bound on Telegram: confirmation must plan their reminders.
    invite = await ctx.registry.create_invite(
        unit_code="GDDT", officer_name="Nguyễn Văn An", role=Role.OFFICER, actor="test"
    )
    await ctx.registry.redeem_invite(
        invite.code, channel="telegram", user_id="501", chat_id="501", locale=None
    )
    draft = await ctx.notices.commit(small_notice(), "tb.txt", actor="test")
    await ctx.notices.drop_line(draft.id, 2, actor="test")

    tasks = await ctx.notices.confirm(draft.id, actor="admin")

    assert [t.code for t in tasks] == ["TB45-01", "TB45-02"]
    first, second = tasks
    assert (first.lead_unit.code, [u.code for u in first.cooperating_units]) == ("GDDT", ["TTYT"])
    assert (first.due_date, first.deadline_text) == (date(2024, 7, 15), "trước 15/7")
    assert (second.lead_unit.code, second.deadline_kind, second.due_date) == (
        "BHXH",
        "month",
        date(2024, 9, 30),
    )
    assert {t.status for t in tasks} == {AssignmentStatus.NOT_STARTED.value}
    assert first.notice_number == "45/TB-UBND"

    listed = await ctx.tasks.list_tasks()
    assert [t.code for t in listed] == ["TB45-01", "TB45-02"]
    async with ctx.sessionmaker() as session:
        notice = await session.get(Notice, draft.id)
        assert notice is not None and notice.status == "live" and notice.draft is None
        planned = (
            await session.scalars(
                select(OutboxMessage.assignment_id).where(OutboxMessage.assignment_id == first.id)
            )
        ).all()
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert planned, "confirmation planned no reminder for the lead unit's officer"
    assert actions.count("assignment.create") == 2 and "notice.confirm" in actions

    # Live now: no second confirmation, no edits, no cancel, no second import.
    for call in (
        ctx.notices.confirm(draft.id, actor="admin"),
        ctx.notices.set_line_unit(draft.id, 1, "VP", actor="admin"),
        ctx.notices.cancel(draft.id, actor="admin"),
        ctx.notices.commit(small_notice(), "tb.txt", actor="admin"),
    ):
        with pytest.raises(NoticeAlreadyLiveError):
            await call
    assert await ctx.notices.list_drafts() == []


async def test_confirm_codes_stay_unique_across_notices(ctx: AppContext) -> None:
    await register_seed_units(ctx)
    # The same notice in another file (another sha256) is another draft with the same number.
    for suffix in ("", "\n"):
        draft = await ctx.notices.commit(small_notice() + suffix.encode(), "tb.txt", actor="t")
        await ctx.notices.set_line_unit(draft.id, 2, "VP", actor="t")
        await ctx.notices.confirm(draft.id, actor="t")
    codes = sorted(t.code for t in await ctx.tasks.list_tasks())
    assert codes == ["TB45-01", "TB45-02", "TB45-03", "TB45B-01", "TB45B-02", "TB45B-03"]


async def test_cancel_throws_the_draft_away(ctx: AppContext) -> None:
    await register_seed_units(ctx)
    draft = await ctx.notices.commit(small_notice(), "tb.txt", actor="test")
    await ctx.notices.cancel(draft.id, actor="test")

    assert await ctx.notices.list_drafts() == []
    assert await _count(ctx, Notice) == 0
    with pytest.raises(UnknownDraftError):
        await ctx.notices.get_draft(draft.id)
    async with ctx.sessionmaker() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "notice.cancel"))
    assert entry is not None and entry.before is not None and len(entry.before["lines"]) == 3
    # The same file may be imported again afterwards.
    again = await ctx.notices.commit(small_notice(), "tb.txt", actor="test")
    assert again.created


def test_code_prefix_from_number_or_date() -> None:
    today = date(2023, 6, 23)
    assert code_prefix("123/TB-UBND", None, today) == "TB123"
    assert code_prefix("Số: 045/KL-UBND", None, today) == "KL45"
    assert code_prefix("/TB-UBND", date(2023, 6, 16), today) == "TB0623"
    assert code_prefix(None, None, date(2024, 1, 2)) == "TB0124"
