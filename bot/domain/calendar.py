"""Working days of a Vietnamese state office.

Monday to Friday, minus public holidays (the `holidays` package knows Vietnam's, lunar Tết
and the government's swapped days off included), plus the office's own changes: extra
days off (EXTRA_DAYS_OFF, e.g. a longer Tết the Prime Minister announces late) and make-up
working Saturdays (MAKEUP_WORKDAYS). Pure: no clock, no I/O, so rules test at any date.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from collections.abc import Iterable, Iterator
from datetime import date, timedelta

import holidays

_WEEKEND = frozenset({5, 6})  # Saturday, Sunday
# A generous bound for the loops below: Tết plus weekends never closes more than ~12 days.
_MAX_SEARCH_DAYS = 60


class WorkCalendar:
    """Which days are working days; cached per year, cheap to call in tight loops."""

    def __init__(
        self,
        extra_days_off: Iterable[date] = (),
        makeup_workdays: Iterable[date] = (),
        *,
        country: str = "VN",
    ) -> None:
        self._country = country
        self._extra_off = frozenset(extra_days_off)
        self._makeup = frozenset(makeup_workdays)
        self._years: dict[int, tuple[frozenset[date], frozenset[date]]] = {}
        self._cache: dict[date, bool] = {}

    def _year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        known = self._years.get(year)
        if known is None:
            table = holidays.country_holidays(self._country, years=year)
            days_off = frozenset(day for day in table if day.year == year)
            # Saturdays the government turned into working days to bridge a holiday.
            workdays = frozenset(
                day for day in getattr(table, "weekend_workdays", ()) if day.year == year
            )
            known = (days_off, workdays)
            self._years[year] = known
        return known

    def holiday_name(self, day: date) -> str | None:
        """The public holiday's name (in English, from the holidays package), if any."""
        table = holidays.country_holidays(self._country, years=day.year)
        name = table.get(day)
        return str(name) if name else None

    def is_working_day(self, day: date) -> bool:
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        if day in self._makeup:
            result = True
        elif day in self._extra_off:
            result = False
        else:
            days_off, workdays = self._year(day.year)
            if day in workdays:
                result = True
            else:
                result = day.weekday() not in _WEEKEND and day not in days_off
        self._cache[day] = result
        return result

    def previous_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the closest working day before it."""
        for _ in range(_MAX_SEARCH_DAYS):
            if self.is_working_day(day):
                return day
            day -= timedelta(days=1)
        raise ValueError("no working day found within 60 days")

    def next_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the closest working day after it."""
        for _ in range(_MAX_SEARCH_DAYS):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError("no working day found within 60 days")

    def add_working_days(self, day: date, count: int) -> date:
        """The `count`-th working day after `day` (before it for a negative count)."""
        step = timedelta(days=1 if count >= 0 else -1)
        remaining = abs(count)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many working days `end` is after `start`."""
        if end <= start:
            return 0
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def working_days(self, start: date, end: date) -> Iterator[date]:
        """Working days from `start` to `end`, both included."""
        day = start
        while day <= end:
            if self.is_working_day(day):
                yield day
            day += timedelta(days=1)

    def last_working_day_of_month(self, year: int, month: int) -> date:
        last = _stdlib_calendar.monthrange(year, month)[1]
        return self.previous_working_day(date(year, month, last))

    def first_working_day_of_week(self, day: date) -> date | None:
        """The first working day of `day`'s ISO week (Monday unless it is a holiday)."""
        monday = day - timedelta(days=day.weekday())
        for offset in range(7):
            candidate = monday + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        return None
