"""Dates the way Vietnamese officers write them: 30/6/2023, 30-6-2023, 30.6.2023, 30/6."""

from __future__ import annotations

import re
from datetime import date

_DATE = re.compile(r"(?<!\d)(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?:\s*[/.\-]\s*(\d{2,4}))?(?!\d)")


class DateParseError(ValueError):
    """Raised with a message that names the text that could not be read."""


def parse_vn_date(text: str, default_year: int | None = None) -> date:
    """Read the first D/M[/Y] in `text`; a missing year takes `default_year`.

    Two-digit years are 20xx. Raises `DateParseError` for text with no date or an
    impossible one (31/2/2023).
    """
    match = _DATE.search(text)
    if match is None:
        raise DateParseError(f"no date in {text!r}")
    day, month, year_text = int(match.group(1)), int(match.group(2)), match.group(3)
    if year_text is None:
        if default_year is None:
            raise DateParseError(f"no year in {text!r}")
        year = default_year
    else:
        year = int(year_text)
        if len(year_text) == 2:
            year += 2000
        elif len(year_text) != 4:
            raise DateParseError(f"bad year in {text!r}")
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise DateParseError(f"impossible date {match.group(0)!r}") from exc


def format_vn_date(value: date) -> str:
    """30/6/2023: day and month without leading zeros, as officers write them."""
    return f"{value.day}/{value.month}/{value.year}"
