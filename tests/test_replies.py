"""Reply understanding: Vietnamese with and without diacritics, English, negations, dates."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.enums import ReportKind
from bot.domain.replies import understand_reply

TODAY = date(2023, 6, 23)


@pytest.mark.parametrize(
    "text",
    [
        "xong",
        "Xong",
        "đã xong",
        "ĐÃ  XONG",
        "da xong",
        "hoàn thành",
        "đã hoàn thành",
        "da hoan thanh",
        "Dạ, em đã hoàn thành rồi ạ",
        "đã hoàn tất",
        "done",
        "Done!",
        "finished",
        "completed",
        "hoàn thành 100%",
        "100%",
        "không có vướng mắc, đã xong",
        "Đã ban hành kế hoạch",
    ],
)
def test_replies_done(text: str) -> None:
    reply = understand_reply(text, today=TODAY)
    assert reply.kind is ReportKind.DONE, text


@pytest.mark.parametrize(
    "text",
    [
        "chưa xong",
        "chua xong",
        "chưa hoàn thành",
        "chua hoan thanh a",
        "vẫn chưa thực sự hoàn thành",
        "không hoàn thành được",
        "xong chưa?",
        "đã xong chưa",
        "not done",
        "not finished yet",
        "haven't finished",
        "done?",
    ],
)
def test_replies_negated_done_is_not_done(text: str) -> None:
    assert understand_reply(text, today=TODAY).kind is not ReportKind.DONE, text


@pytest.mark.parametrize(
    "text",
    ["sắp xong", "gần xong rồi", "sẽ hoàn thành trong tuần", "almost done", "đang thực hiện"],
)
def test_replies_hedged_done_is_progress(text: str) -> None:
    reply = understand_reply(text, today=TODAY)
    assert reply.kind is ReportKind.PROGRESS and reply.percent is None, text


@pytest.mark.parametrize(
    ("text", "percent"),
    [
        ("được 60%", 60),
        ("60%", 60),
        ("60 %", 60),
        ("duoc 60 phan tram", 60),
        ("60 phần trăm", 60),
        ("đạt khoảng 45,5%", 45),
        ("chưa xong, được 80%", 80),
        ("about 30 percent", 30),
        ("0%", 0),
    ],
)
def test_replies_percentage(text: str, percent: int) -> None:
    reply = understand_reply(text, today=TODAY)
    assert reply.kind is ReportKind.PROGRESS
    assert reply.percent == percent


def test_replies_impossible_percentage_is_a_note() -> None:
    assert understand_reply("450%", today=TODAY).kind is ReportKind.NOTE


@pytest.mark.parametrize(
    ("text", "proposed", "reason"),
    [
        ("xin gia hạn đến 20/7", date(2023, 7, 20), ""),
        ("xin gia han den 20/7/2023", date(2023, 7, 20), ""),
        (
            "Xin gia hạn đến ngày 20/7 vì chờ số liệu của các xã",
            date(2023, 7, 20),
            "chờ số liệu của các xã",
        ),
        ("xin gia han den 20-7-23 do cho so lieu", date(2023, 7, 20), "cho so lieu"),
        ("extend to 20/7", date(2023, 7, 20), ""),
        (
            "Please extend the deadline to 20/7/2023 because the data is late",
            date(2023, 7, 20),
            "the data is late",
        ),
        ("xin lùi hạn tới 5.8.2023: đang chờ ý kiến Sở", date(2023, 8, 5), "đang chờ ý kiến Sở"),
    ],
)
def test_replies_extension_request(text: str, proposed: date, reason: str) -> None:
    reply = understand_reply(text, today=TODAY)
    assert reply.kind is ReportKind.EXTENSION
    assert reply.proposed_date == proposed
    assert reply.reason == reason
    assert reply.text == " ".join(text.split())


def test_replies_extension_without_year_rolls_into_next_year() -> None:
    reply = understand_reply("xin gia hạn đến 5/1", today=date(2023, 12, 27))
    assert reply.proposed_date == date(2024, 1, 5)


def test_replies_extension_without_date_keeps_the_request() -> None:
    reply = understand_reply("xin gia hạn thêm ạ", today=TODAY)
    assert reply.kind is ReportKind.EXTENSION
    assert reply.proposed_date is None


def test_replies_no_need_to_extend_is_a_note() -> None:
    assert understand_reply("không cần gia hạn", today=TODAY).kind is ReportKind.NOTE


def test_replies_expectations_let_bare_values_count() -> None:
    progress = understand_reply("60", today=TODAY, expect=ReportKind.PROGRESS)
    assert (progress.kind, progress.percent) == (ReportKind.PROGRESS, 60)
    extension = understand_reply("20/7 vì chờ số liệu", today=TODAY, expect=ReportKind.EXTENSION)
    assert extension.kind is ReportKind.EXTENSION
    assert extension.proposed_date == date(2023, 7, 20)
    assert extension.reason == "chờ số liệu"
    assert understand_reply("60", today=TODAY).kind is ReportKind.NOTE


@pytest.mark.parametrize(
    "text",
    ["Đang chờ ý kiến của Sở", "đã gửi dự thảo lấy ý kiến", "ok", "Báo cáo số 12/BC-UBND"],
)
def test_replies_anything_else_is_a_note(text: str) -> None:
    reply = understand_reply(text, today=TODAY)
    assert reply.kind is ReportKind.NOTE
    assert reply.text == text


def test_replies_decomposed_unicode_reads_the_same() -> None:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "đã hoàn thành")
    assert understand_reply(decomposed, today=TODAY).kind is ReportKind.DONE
