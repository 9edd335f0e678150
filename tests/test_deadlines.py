"""Deadline phrases as notices write them, with and without diacritics."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.deadlines import (
    NO_DEADLINE,
    Deadline,
    find_deadline,
    find_deadlines,
    fold_keep_length,
    parse_deadline,
)
from bot.domain.enums import DeadlineKind as K

REF = date(2023, 6, 16)  # the seed notice's date


@pytest.mark.parametrize(
    ("phrase", "kind", "due", "text"),
    [
        # exact dates
        ("trước ngày 30/6/2023", K.DATE, date(2023, 6, 30), "trước ngày 30/6/2023"),
        ("hoàn thành trước ngày 30/6/2023", K.DATE, date(2023, 6, 30), "trước ngày 30/6/2023"),
        ("chậm nhất ngày 15/7/2023", K.DATE, date(2023, 7, 15), "chậm nhất ngày 15/7/2023"),
        ("chậm nhất là ngày 20/5/2024", K.DATE, date(2024, 5, 20), "chậm nhất là ngày 20/5/2024"),
        ("chậm nhất đến ngày 30/9/2023", K.DATE, date(2023, 9, 30), "chậm nhất đến ngày 30/9/2023"),
        ("xong trước ngày 25/11/2023", K.DATE, date(2023, 11, 25), "xong trước ngày 25/11/2023"),
        ("xong trước 20/4", K.DATE, date(2023, 4, 20), "xong trước 20/4"),  # within 60 days
        ("xong trước 20/3", K.DATE, date(2024, 3, 20), "xong trước 20/3"),  # rolls over
        ("trước 15/7", K.DATE, date(2023, 7, 15), "trước 15/7"),
        ("trước ngày 30 tháng 6 năm 2023", K.DATE, date(2023, 6, 30), None),
        ("trước ngày 30-6-2023", K.DATE, date(2023, 6, 30), None),
        ("trước ngày 30.6.2023", K.DATE, date(2023, 6, 30), None),
        ("trước ngày 05/01/24", K.DATE, date(2024, 1, 5), None),
        ("trước 16 giờ ngày 15/7/2023", K.DATE, date(2023, 7, 15), "trước 16 giờ ngày 15/7/2023"),
        ("hạn chót là ngày 10/8/2023", K.DATE, date(2023, 8, 10), None),
        ("thời hạn hoàn thành: 31/7/2023", K.DATE, date(2023, 7, 31), None),
        ("vào ngày 05/9/2023", K.DATE, date(2023, 9, 5), "vào ngày 05/9/2023"),
        ("từ ngày 25/10/2023 đến ngày 05/11/2023", K.DATE, date(2023, 11, 5), None),
        ("trước ngày khai giảng (05/9/2023)", K.DATE, date(2023, 9, 5), None),
        ("Chậm nhất 05/12/2023", K.DATE, date(2023, 12, 5), None),
        ("30/6/2023", K.DATE, date(2023, 6, 30), "30/6/2023"),
        # months
        ("trong tháng 9/2023", K.MONTH, date(2023, 9, 30), "trong tháng 9/2023"),
        ("trong tháng 9", K.MONTH, date(2023, 9, 30), "trong tháng 9"),
        ("trong tháng 02/2024", K.MONTH, date(2024, 2, 29), None),
        ("trong tháng 9 năm 2023", K.MONTH, date(2023, 9, 30), None),
        ("cuối tháng 11/2023", K.MONTH, date(2023, 11, 30), None),
        ("xong trong tháng 11/2023", K.MONTH, date(2023, 11, 30), "xong trong tháng 11/2023"),
        ("trong tháng 10 và tháng 11/2023", K.MONTH, date(2023, 11, 30), None),
        ("trước tháng 10/2023", K.MONTH, date(2023, 9, 30), None),
        ("trong tháng này", K.MONTH, date(2023, 6, 30), None),
        ("Tháng 12/2023", K.MONTH, date(2023, 12, 31), "Tháng 12/2023"),
        # quarters
        ("quý III/2023", K.QUARTER, date(2023, 9, 30), "quý III/2023"),
        ("trong quý IV/2023", K.QUARTER, date(2023, 12, 31), None),
        ("quý 3 năm 2023", K.QUARTER, date(2023, 9, 30), "quý 3 năm 2023"),
        ("trong quý 4 năm 2023", K.QUARTER, date(2023, 12, 31), None),
        ("trong quý I/2024", K.QUARTER, date(2024, 3, 31), None),
        ("trong quý II", K.QUARTER, date(2023, 6, 30), None),
        ("trước quý IV/2023", K.QUARTER, date(2023, 9, 30), None),
        ("Quý IV/2023", K.QUARTER, date(2023, 12, 31), None),
        # years and half-years
        ("trong năm 2023", K.YEAR, date(2023, 12, 31), "trong năm 2023"),
        ("cuối năm 2023", K.YEAR, date(2023, 12, 31), None),
        ("đến hết năm 2023", K.YEAR, date(2023, 12, 31), None),
        ("trong năm nay", K.YEAR, date(2023, 12, 31), None),
        ("trước năm 2025", K.YEAR, date(2024, 12, 31), None),
        ("trong 6 tháng cuối năm 2023", K.YEAR, date(2023, 12, 31), None),
        ("6 tháng đầu năm 2024", K.QUARTER, date(2024, 6, 30), None),
        # conditional
        (
            "ngay sau khi UBND tỉnh ban hành kế hoạch",
            K.CONDITIONAL,
            None,
            "ngay sau khi UBND tỉnh ban hành kế hoạch",
        ),
        ("sau khi Kế hoạch được phê duyệt", K.CONDITIONAL, None, None),
        ("ngay khi phương án được phê duyệt", K.CONDITIONAL, None, None),
        ("khi có hướng dẫn của Sở Y tế", K.CONDITIONAL, None, None),
        (
            "trong vòng 10 ngày làm việc kể từ ngày nhận được hồ sơ hợp lệ",
            K.CONDITIONAL,
            None,
            None,
        ),
        # recurring
        ("thường xuyên", K.RECURRING, None, "thường xuyên"),
        ("thường xuyên, liên tục", K.RECURRING, None, "thường xuyên, liên tục"),
        ("định kỳ hằng tháng", K.RECURRING, None, "định kỳ hằng tháng"),
        ("định kỳ hàng quý", K.RECURRING, None, None),
        ("hằng năm", K.RECURRING, None, None),
        ("hằng tuần", K.RECURRING, None, None),
        ("hằng ngày", K.RECURRING, None, None),
        ("định kỳ 6 tháng", K.RECURRING, None, None),
        ("trước ngày 20 hằng tháng", K.RECURRING, None, "trước ngày 20 hằng tháng"),
    ],
)
def test_parse_deadline(phrase: str, kind: K, due: date | None, text: str | None) -> None:
    deadline = parse_deadline(phrase, REF)
    assert deadline.kind is kind
    assert deadline.due == due
    if text is not None:
        assert deadline.text == text


@pytest.mark.parametrize(
    ("phrase", "kind", "due"),
    [
        ("truoc ngay 30/6/2023", K.DATE, date(2023, 6, 30)),
        ("cham nhat la ngay 15/7/2023", K.DATE, date(2023, 7, 15)),
        ("trong thang 9/2023", K.MONTH, date(2023, 9, 30)),
        ("quy III/2023", K.QUARTER, date(2023, 9, 30)),
        ("trong nam 2023", K.YEAR, date(2023, 12, 31)),
        ("ngay sau khi UBND tinh ban hanh ke hoach", K.CONDITIONAL, None),
        ("thuong xuyen", K.RECURRING, None),
        ("dinh ky hang quy", K.RECURRING, None),
        ("TRƯỚC NGÀY 30/6/2023", K.DATE, date(2023, 6, 30)),
    ],
)
def test_without_diacritics_or_in_capitals(phrase: str, kind: K, due: date | None) -> None:
    deadline = parse_deadline(phrase, REF)
    assert (deadline.kind, deadline.due) == (kind, due)


def test_conditional_keeps_its_condition() -> None:
    deadline = parse_deadline(
        "trình ban hành ngay sau khi UBND tỉnh ban hành kế hoạch, trong đó", REF
    )
    assert deadline.condition == "UBND tỉnh ban hành kế hoạch"
    relative = parse_deadline("trong vòng 10 ngày kể từ ngày nhận được hồ sơ hợp lệ", REF)
    assert relative.condition == "nhận được hồ sơ hợp lệ"


def test_recurrence_names() -> None:
    names = {
        "thường xuyên": "continuous",
        "hằng ngày": "daily",
        "hằng tuần": "weekly",
        "định kỳ hằng tháng": "monthly",
        "hằng quý": "quarterly",
        "định kỳ 6 tháng": "semiannual",
        "hằng năm": "yearly",
        "định kỳ": "periodic",
    }
    for phrase, recurrence in names.items():
        assert parse_deadline(phrase, REF).recurrence == recurrence, phrase


def test_days_counted_from_the_notice_become_a_date() -> None:
    deadline = parse_deadline("trong vòng 15 ngày kể từ ngày ký Thông báo này", date(2023, 6, 26))
    assert (deadline.kind, deadline.due) == (K.DATE, date(2023, 7, 11))
    working = parse_deadline("trong 5 ngày làm việc kể từ ngày ký thông báo", date(2023, 6, 30))
    assert working.due == date(2023, 7, 7)  # Fri + 5 working days, weekend skipped


def test_yearless_dates_roll_into_next_year_near_year_end() -> None:
    december = date(2023, 12, 27)
    assert parse_deadline("trước 05/01", december).due == date(2024, 1, 5)
    assert parse_deadline("trong tháng 1", december).due == date(2024, 1, 31)
    assert parse_deadline("trước 15/11", date(2023, 10, 12)).due == date(2023, 11, 15)


def test_impossible_dates_are_not_deadlines() -> None:
    assert parse_deadline("trước ngày 31/2/2023", REF).kind is K.NONE


def test_unreadable_phrase_keeps_its_words() -> None:
    assert parse_deadline("Theo kế hoạch", REF) == Deadline(K.NONE, None, "Theo kế hoạch")
    assert parse_deadline("   ", REF) is NO_DEADLINE


@pytest.mark.parametrize(
    "sentence",
    [
        "theo Quyết định số 1300/QĐ-BYT ngày 09/3/2023 của Bộ Y tế",
        "kỷ niệm 76 năm ngày Thương binh Liệt sĩ (27/7/1947 – 27/7/2023)",
        "Đề án phát triển du lịch huyện Cẩm Thủy đến năm 2030",
        "tổ chức trực ban 24/24 giờ trong mùa mưa bão",
        "bảo đảm an ninh dịp Quốc khánh 2/9",
        "Trung tâm Giáo dục nghề nghiệp - Giáo dục thường xuyên",
        "năm học 2023-2024",
        "đặc biệt trong dịp Tết Nguyên đán",
    ],
)
def test_not_a_deadline(sentence: str) -> None:
    assert find_deadline(sentence, REF) is None


def test_finder_locates_the_phrase_in_a_sentence() -> None:
    sentence = (
        "Yêu cầu hoàn thành dự thảo, trình Chủ tịch UBND huyện ký ban hành trước ngày 30/6/2023."
    )
    match = find_deadline(sentence, REF)
    assert match is not None
    assert sentence[match.start : match.end] == "trước ngày 30/6/2023"
    assert match.deadline.due == date(2023, 6, 30)


def test_most_concrete_deadline_wins() -> None:
    sentence = "thường xuyên theo dõi, báo cáo kết quả trong quý III/2023 và trước ngày 15/9/2023"
    matches = find_deadlines(sentence, REF)
    assert [m.deadline.kind for m in matches] == [K.RECURRING, K.QUARTER, K.DATE]
    best = find_deadline(sentence, REF)
    assert best is not None
    assert best.deadline.kind is K.DATE


def test_a_bare_when_yields_to_recurring() -> None:
    match = find_deadline("thường xuyên kiểm tra, báo cáo kịp thời khi có dịch bệnh xảy ra", REF)
    assert match is not None
    assert match.deadline.kind is K.RECURRING


def test_ignored_spans_hide_unit_names() -> None:
    sentence = "Trung tâm GDNN - Giáo dục thường xuyên huyện thường xuyên rà soát"
    name_end = sentence.index(" huyện")
    match = find_deadline(sentence, REF, ignore=[(0, name_end)])
    assert match is not None
    assert match.start > name_end


def test_fold_keeps_length() -> None:
    text = "Đề nghị Ủy ban nhân dân HUYỆN"
    folded = fold_keep_length(text)
    assert len(folded) == len(text)
    assert folded == "de nghi uy ban nhan dan huyen"


# --- phrases the blind notices brought in -------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "reference", "due"),
    [
        # Tết Giáp Thìn fell on 10/2/2024; "trước Tết" reads like "trước ngày X" = X.
        ("tặng quà xong trước Tết Nguyên đán Giáp Thìn.", date(2023, 12, 26), date(2024, 2, 10)),
        ("hoàn thành trước Tết", date(2023, 12, 26), date(2024, 2, 10)),
        ("hoan thanh truoc Tet Nguyen dan", date(2023, 12, 26), date(2024, 2, 10)),
        # After this year's Tết, "trước Tết" is next year's.
        ("hoàn thành trước Tết", date(2024, 3, 1), date(2025, 1, 29)),
        ("xong trước Tết Nguyên đán năm 2025", date(2023, 12, 26), date(2025, 1, 29)),
        ("trước Tết Dương lịch 2024", date(2023, 12, 1), date(2024, 1, 1)),
    ],
)
def test_before_tet_is_the_lunar_new_year(sentence: str, reference: date, due: date) -> None:
    found = find_deadline(sentence, reference)
    assert found is not None
    assert (found.deadline.kind, found.deadline.due) == (K.DATE, due)


def test_other_tet_and_the_tet_season_are_not_deadlines() -> None:
    assert find_deadline("tổ chức vui chơi trước Tết Trung thu", REF) is None
    assert find_deadline("bảo đảm an ninh trật tự trong dịp Tết", REF) is None


@pytest.mark.parametrize(
    ("sentence", "kind", "due"),
    [
        (
            "báo cáo Chủ tịch UBND huyện tại phiên giao ban tháng 10/2023",
            K.MONTH,
            date(2023, 10, 31),
        ),
        ("báo cáo Trưởng Ban tại cuộc họp giao ban quý IV.", K.QUARTER, date(2023, 12, 31)),
        ("trình tại phiên họp UBND huyện thường kỳ tháng 1/2024", K.MONTH, date(2024, 1, 31)),
    ],
)
def test_a_report_due_at_a_meeting_is_due_in_its_period(sentence: str, kind: K, due: date) -> None:
    found = find_deadline(sentence, date(2023, 9, 12))
    assert found is not None
    assert (found.deadline.kind, found.deadline.due) == (kind, due)


def test_a_meeting_already_held_is_not_a_deadline() -> None:
    assert (
        find_deadline("như đã kết luận tại Hội nghị giao ban tháng 8 năm 2023", date(2023, 9, 12))
        is None
    )


def test_a_target_date_to_strive_for() -> None:
    found = find_deadline("phấn đấu đến ngày 30/9/2023 giải ngân đạt trên 60%", date(2023, 8, 4))
    assert found is not None
    assert (found.deadline.kind, found.deadline.due) == (K.DATE, date(2023, 9, 30))
    # Figures "tính đến ngày ..." are a cut-off, not a deadline.
    assert find_deadline("báo cáo số liệu tính đến ngày 30/9/2023", date(2023, 8, 4)) is None


def test_lunar_days_of_tet() -> None:
    # Mùng 6 Tết Giáp Thìn was 15/02/2024.
    deadline = parse_deadline("Từ 28 tháng Chạp đến hết mùng 6 Tết", date(2023, 12, 20))
    assert (deadline.kind, deadline.due) == (K.DATE, date(2024, 2, 15))


def test_days_counted_from_receipt_of_the_notice_start_at_its_date() -> None:
    found = find_deadline(
        "trình thẩm định trong 07 ngày làm việc kể từ ngày nhận được Thông báo này.",
        date(2023, 11, 2),  # a Thursday
    )
    assert found is not None
    assert (found.deadline.kind, found.deadline.due) == (K.DATE, date(2023, 11, 13))
    other = find_deadline("trong 10 ngày kể từ ngày nhận được hồ sơ hợp lệ", date(2023, 11, 2))
    assert other is not None
    assert other.deadline.kind is K.CONDITIONAL
