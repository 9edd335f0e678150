"""Working days of a Vietnamese office at real dates: 30/4–1/5, 2/9, Tết, make-up days."""

from __future__ import annotations

from datetime import date

import pytest

from bot.config import Settings
from bot.domain.calendar import WorkCalendar

CAL = WorkCalendar()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2023, 4, 28), True),  # Friday before the long weekend
        (date(2023, 4, 29), False),  # Giỗ Tổ Hùng Vương on a Saturday
        (date(2023, 4, 30), False),
        (date(2023, 5, 1), False),
        (date(2023, 5, 2), False),  # observed
        (date(2023, 5, 3), False),  # observed
        (date(2023, 5, 4), True),
        (date(2023, 9, 1), False),  # Quốc khánh 2023: 1/9 and 2/9, observed 4/9
        (date(2023, 9, 4), False),
        (date(2023, 9, 5), True),
        (date(2024, 9, 2), False),
        (date(2024, 9, 3), False),
        (date(2025, 9, 1), False),
        (date(2025, 9, 2), False),
        (date(2024, 2, 7), True),  # the last working day before Tết Giáp Thìn
        (date(2024, 2, 8), False),
        (date(2024, 2, 14), False),
        (date(2024, 2, 15), True),
        (date(2025, 1, 24), True),  # the last working day before Tết Ất Tỵ
        (date(2025, 1, 27), False),
        (date(2025, 1, 31), False),
        (date(2025, 2, 3), True),
        (date(2024, 5, 4), True),  # make-up Saturday for the 29/4/2024 bridge
        (date(2025, 4, 26), True),  # make-up Saturday for the 2/5/2025 bridge
        (date(2023, 7, 30), False),  # a plain Sunday (the seed's 30/7/2023 deadline)
    ],
)
def test_calendar_working_days_at_real_dates(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


def test_calendar_moves_to_the_closest_working_day() -> None:
    assert CAL.previous_working_day(date(2023, 5, 1)) == date(2023, 4, 28)
    assert CAL.next_working_day(date(2023, 5, 1)) == date(2023, 5, 4)
    assert CAL.previous_working_day(date(2024, 2, 12)) == date(2024, 2, 7)
    assert CAL.next_working_day(date(2025, 1, 28)) == date(2025, 2, 3)
    assert CAL.previous_working_day(date(2023, 6, 30)) == date(2023, 6, 30)


def test_calendar_counts_working_days() -> None:
    assert CAL.add_working_days(date(2023, 4, 28), 1) == date(2023, 5, 4)
    assert CAL.add_working_days(date(2023, 6, 30), 3) == date(2023, 7, 5)
    assert CAL.add_working_days(date(2023, 5, 4), -1) == date(2023, 4, 28)
    assert CAL.working_days_between(date(2023, 4, 28), date(2023, 5, 5)) == 2
    assert CAL.working_days_between(date(2023, 6, 30), date(2023, 6, 30)) == 0


def test_calendar_last_working_day_of_a_month_and_first_of_a_week() -> None:
    assert CAL.last_working_day_of_month(2023, 9) == date(2023, 9, 29)  # 30/9 is a Saturday
    assert CAL.last_working_day_of_month(2023, 4) == date(2023, 4, 28)
    assert CAL.first_working_day_of_week(date(2023, 5, 3)) == date(2023, 5, 4)
    assert CAL.first_working_day_of_week(date(2023, 6, 28)) == date(2023, 6, 26)
    assert CAL.first_working_day_of_week(date(2024, 2, 12)) == date(2024, 2, 15)  # after Tết


def test_calendar_office_changes_from_settings() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, extra_days_off="3/7/2023", makeup_workdays="8/7/2023"
    )
    cal = WorkCalendar(settings.extra_days_off, settings.makeup_workdays)
    assert not cal.is_working_day(date(2023, 7, 3))
    assert cal.is_working_day(date(2023, 7, 8))  # a Saturday made a working day
    assert cal.next_working_day(date(2023, 7, 1)) == date(2023, 7, 4)
