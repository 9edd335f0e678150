"""Deadlines as Vietnamese notices word them, read into a kind, a due date and the words.

A notice says "trước ngày 30/6/2023", "chậm nhất là ngày 15/7", "trong tháng 9/2023", "quý
III/2023", "trong năm 2023", "ngay sau khi UBND tỉnh ban hành kế hoạch", "thường xuyên" or
"định kỳ hằng quý". Reminders need a date, reviewers need the words as written, so a
`Deadline` keeps both. Matching runs on folded text (no diacritics, lower case), so a notice
typed without marks ("truoc ngay 30/6") reads the same.

Decisions worth knowing:
- A date without a year ("trước 15/7", "trong tháng 9") takes the reference's year (the
  notice's date), or the next year when that would put it more than 60 days before the
  reference: a notice of 27/12/2023 that says "trước 05/01" means 5/1/2024.
- Periods store their last calendar day: month, quarter, year. Half-years have no kind of
  their own; "6 tháng đầu năm 2023" is stored as the quarter that ends on 30/6/2023 and
  "6 tháng cuối năm 2023" as the year (both end on the same day as the half, which is what
  reminders aim at). "trước tháng 10/2023" / "trước quý IV" / "trước năm 2025" mean the end
  of the period before.
- "trong vòng 15 ngày kể từ ngày ký Thông báo này" counts from the reference date (a date);
  counted from anything else ("kể từ ngày nhận được hồ sơ") it is conditional. Working days
  skip Saturdays and Sundays only; holidays are the scheduler's business.
- "trước Tết (Nguyên đán)" is the first day of the next lunar new year (the `holidays`
  package knows it), read like "trước ngày X" = X; "đến hết mùng 6 Tết" is its sixth day;
  "trước Tết Dương lịch" is 1 January.
- "báo cáo tại phiên họp giao ban tháng 10/2023", "tại cuộc họp giao ban quý IV" are due
  in that month or quarter; a meeting already past on the reference date is a reminder
  of history, not a deadline.
- When a sentence holds several deadlines the most concrete wins (date > month > quarter >
  year > conditional > recurring), then the first written.
- Dates only count next to a deadline word ("trước", "chậm nhất", "xong", "trong ngày",
  "từ ... đến", "thời hạn:"): "Quyết định số 1300/QĐ-BYT ngày 09/3/2023" and "dịp Quốc khánh
  2/9" are not deadlines. `parse_deadline` reads a phrase known to be a deadline (a table's
  "Thời gian hoàn thành" cell) and also accepts bare dates and periods.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.enums import DeadlineKind

__all__ = [
    "NO_DEADLINE",
    "Deadline",
    "DeadlineMatch",
    "find_deadline",
    "find_deadlines",
    "fold_keep_length",
    "lunar_new_year",
    "parse_deadline",
]


@dataclass(frozen=True)
class Deadline:
    kind: DeadlineKind
    due: date | None = None
    text: str = ""  # as written, trimmed
    condition: str | None = None  # for conditional: what must happen first
    recurrence: str | None = None  # for recurring: continuous, daily, weekly, monthly, ...


NO_DEADLINE = Deadline(DeadlineKind.NONE)


@dataclass(frozen=True)
class DeadlineMatch:
    deadline: Deadline
    start: int  # span of the phrase in the searched text
    end: int


class _FoldTable(dict[int, str]):
    """str.translate table filled on first sight of each character: one in, one out."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        base = "d" if char in "đĐ" else unicodedata.normalize("NFD", char)[0].lower()
        folded = base if len(base) == 1 else char
        self[code] = folded
        return folded


_FOLD_TABLE = _FoldTable()


def fold_keep_length(text: str) -> str:
    """Like textnorm.fold, but one output character per input character.

    Matching runs on the folded text and reports spans into the original, so the two must
    line up; whitespace is not collapsed and NFC input is assumed.
    """
    return text.translate(_FOLD_TABLE)


# --- building blocks (folded text) ---------------------------------------------------------


def _date(p: str) -> str:
    """A day: 30/6/2023, 30-6, 30.6.23, 30 tháng 6 năm 2023; groups are prefixed by `p`."""
    numeric = (
        rf"(?P<{p}d>\d{{1,2}})\s*(?P<{p}sep>[/.\-])\s*(?P<{p}m>\d{{1,2}})"
        rf"(?:\s*(?P={p}sep)\s*(?P<{p}y>\d{{4}}|\d{{2}}))?(?![\d/])"
    )
    spelled = (
        rf"(?P<{p}dd>\d{{1,2}})\s+thang\s+(?P<{p}mm>\d{{1,2}})"
        rf"(?:\s*,?\s*nam\s+(?P<{p}yy>\d{{4}}))?(?!\d)"
    )
    return rf"(?:{numeric}|{spelled})"


_TIME = r"(?:\d{1,2}\s*(?:h|gio)(?:\s*\d{1,2}(?:\s*phut)?)?(?:\s*(?:sang|chieu|toi))?\s*,?\s*)"
_ROMAN_Q = r"(?P<q>iv|i{1,3}|[1-4])(?![\w])"
_YEAR_TAIL = r"(?:\s*(?:/|-|,?\s*nam)\s*(?P<y>\d{4}))?(?!\d)"
# Words that open a date: "trước", "chậm nhất (là) (vào|đến|trong)", "phấn đấu đến (hết)"
# (a target date; a bare "đến ngày" also counts figures "tính đến ngày 30/6"), "hạn chót",
# "đến hết",
# "xong trước", "thời hạn:", "thời gian (hoàn thành):"; "trong"/"vào" only before "ngày".
_BEFORE = (
    r"(?:xong\s+)?(?:truoc|cham\s+nhat(?:\s+la)?(?:\s+(?:den|vao|trong|truoc))?"
    r"|phan\s+dau\s+(?:den|toi)(?:\s+het)?"
    r"|muon\s+nhat(?:\s+la)?(?:\s+(?:vao|trong))?|han\s+chot(?:\s+la)?|den\s+het"
    r"|thoi\s+han(?:\s+(?:hoan\s+thanh|thuc\s+hien))?(?:\s+la)?\s*:?"
    r"|thoi\s+gian(?:\s+(?:hoan\s+thanh|thuc\s+hien))?(?:\s+la)?\s*:)"
)
_PERIOD_OPEN = (
    r"(?:xong\s+trong|xong|trong|truoc\s+het|cuoi|den\s+het|het|trong\s+thoi\s+gian"
    r"|thoi\s+han(?:\s+(?:hoan\s+thanh|thuc\s+hien))?(?:\s+la)?\s*:?"
    r"|thoi\s+gian(?:\s+(?:hoan\s+thanh|thuc\s+hien))?(?:\s+la)?\s*:|truoc)"
)

# "tại phiên họp giao ban tháng 10", "tại cuộc họp UBND huyện thường kỳ quý IV": a few
# words may name the meeting between its noun and its period.
_MEETING = (
    r"tai\s+(?:cuoc\s+hop|phien\s+hop|phien|buoi\s+hop|hoi\s+nghi|ky\s+hop)"
    r"(?:\s+(?!thang\s|quy\s)[a-z]+){0,5}\s+"
)
_CAN = r"(?:giap|at|binh|dinh|mau|ky|canh|tan|nham|quy)"
_CHI = r"(?:ty|suu|dan|mao|thin|ngo|mui|than|dau|tuat|hoi)"

_PRIORITY = {
    DeadlineKind.DATE: 0,
    DeadlineKind.MONTH: 1,
    DeadlineKind.QUARTER: 2,
    DeadlineKind.YEAR: 3,
    DeadlineKind.CONDITIONAL: 4,
    DeadlineKind.RECURRING: 5,
    DeadlineKind.NONE: 6,
}

_ROLLOVER = timedelta(days=60)


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    build: Callable[[re.Match[str], str, date], Deadline | None]


def _rule(pattern: str, build: Callable[[re.Match[str], str, date], Deadline | None]) -> _Rule:
    return _Rule(re.compile(pattern), build)


def _text(match: re.Match[str], original: str) -> str:
    return original[match.start() : match.end()].strip(" ,;:.")


def _day_from(match: re.Match[str], p: str, reference: date) -> date | None:
    day = match.group(f"{p}d") or match.group(f"{p}dd")
    month = match.group(f"{p}m") or match.group(f"{p}mm")
    year_text = match.group(f"{p}y") or match.group(f"{p}yy")
    if day is None or month is None:
        return None
    d, m = int(day), int(month)
    if year_text is None:
        return _roll(lambda y: _safe_date(y, m, d), reference)
    year = int(year_text) + (2000 if len(year_text) == 2 else 0)
    return _safe_date(year, m, d)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _roll(make: Callable[[int], date | None], reference: date) -> date | None:
    """The year of a yearless date: the reference's, or the next when it lies far behind."""
    candidate = make(reference.year)
    if candidate is not None and candidate < reference - _ROLLOVER:
        return make(reference.year + 1)
    return candidate


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _quarter_number(text: str) -> int:
    return {"i": 1, "ii": 2, "iii": 3, "iv": 4}.get(text) or int(text)


def _quarter_end(year: int, quarter: int) -> date:
    return _month_end(year, quarter * 3)


def _opened_by_truoc(match: re.Match[str]) -> bool:
    """ "trước tháng 10" ends with September; "trước hết" ("first of all") is not "before"."""
    opening = match.group(0).lstrip()
    return opening.startswith("truoc ") and not opening.startswith("truoc het")


# --- builders --------------------------------------------------------------------------------


def _build_date(p: str) -> Callable[[re.Match[str], str, date], Deadline | None]:
    def build(match: re.Match[str], original: str, reference: date) -> Deadline | None:
        due = _day_from(match, p, reference)
        if due is None:
            return None
        return Deadline(DeadlineKind.DATE, due, _text(match, original))

    return build


def _build_range(match: re.Match[str], original: str, reference: date) -> Deadline | None:
    due = _day_from(match, "b_", reference)
    if due is None:
        return None
    return Deadline(DeadlineKind.DATE, due, _text(match, original))


def _build_month(match: re.Match[str], original: str, reference: date) -> Deadline | None:
    month = int(match.group("m_end") or match.group("m"))
    if not 1 <= month <= 12:
        return None
    year_text = match.group("y")
    if year_text:
        due = _month_end(int(year_text), month)
    else:
        rolled = _roll(lambda y: _month_end(y, month), reference)
        if rolled is None:  # pragma: no cover - a month end always exists
            return None
        due = rolled
    if _opened_by_truoc(match):
        due = due.replace(day=1) - timedelta(days=1)
    return Deadline(DeadlineKind.MONTH, due, _text(match, original))


def _build_relative_month(match: re.Match[str], original: str, reference: date) -> Deadline:
    month, year = reference.month, reference.year
    if match.group("which") != "nay":
        month, year = (1, year + 1) if month == 12 else (month + 1, year)
    return Deadline(DeadlineKind.MONTH, _month_end(year, month), _text(match, original))


def _build_quarter(match: re.Match[str], original: str, reference: date) -> Deadline | None:
    quarter = _quarter_number(match.group("q_end") or match.group("q"))
    year_text = match.group("y")
    if year_text:
        due = _quarter_end(int(year_text), quarter)
    else:
        rolled = _roll(lambda y: _quarter_end(y, quarter), reference)
        if rolled is None:  # pragma: no cover
            return None
        due = rolled
    if _opened_by_truoc(match):
        due = date(due.year, due.month - 2, 1) - timedelta(days=1)
    return Deadline(DeadlineKind.QUARTER, due, _text(match, original))


def _build_this_quarter(match: re.Match[str], original: str, reference: date) -> Deadline:
    quarter = (reference.month - 1) // 3 + 1
    return Deadline(
        DeadlineKind.QUARTER, _quarter_end(reference.year, quarter), _text(match, original)
    )


def _build_year(match: re.Match[str], original: str, reference: date) -> Deadline:
    year_text = match.group("y")
    year = int(year_text) if year_text else reference.year
    if _opened_by_truoc(match) and year_text:
        year -= 1
    return Deadline(DeadlineKind.YEAR, date(year, 12, 31), _text(match, original))


def _build_half(match: re.Match[str], original: str, reference: date) -> Deadline:
    year_text = match.group("y")
    year = int(year_text) if year_text else reference.year
    if match.group("h") == "dau":
        return Deadline(DeadlineKind.QUARTER, date(year, 6, 30), _text(match, original))
    return Deadline(DeadlineKind.YEAR, date(year, 12, 31), _text(match, original))


def _future_only(
    build: Callable[[re.Match[str], str, date], Deadline | None],
) -> Callable[[re.Match[str], str, date], Deadline | None]:
    """A period named by the meeting it is due at counts only if that meeting is ahead."""

    def wrapped(match: re.Match[str], original: str, reference: date) -> Deadline | None:
        deadline = build(match, original, reference)
        if deadline is None or deadline.due is None or deadline.due < reference:
            return None
        return deadline

    return wrapped


def lunar_new_year(year: int) -> date | None:
    """Mùng 1 Tết of `year`, from the `holidays` package's Vietnamese calendar."""
    import holidays

    calendar_year = holidays.country_holidays("VN", years=year, language="en_US")
    return next((day for day, name in calendar_year.items() if name == "Lunar New Year"), None)


def _build_tet(match: re.Match[str], original: str, reference: date) -> Deadline | None:
    year_text = match.group("y")
    if match.group("solar"):
        year = int(year_text) if year_text else reference.year + 1
        return Deadline(DeadlineKind.DATE, date(year, 1, 1), _text(match, original))
    if year_text:
        due = lunar_new_year(int(year_text))
    else:
        due = lunar_new_year(reference.year)
        if due is not None and due < reference:
            due = lunar_new_year(reference.year + 1)
    if due is None:
        return None
    return Deadline(DeadlineKind.DATE, due, _text(match, original))


# Counted from the notice itself: its signing, issue or receipt ("kể từ ngày nhận được Thông
# báo này" - it reaches the units the day it is signed, so its date is the safe start).
def _build_tet_day(match: re.Match[str], original: str, reference: date) -> Deadline | None:
    """ "đến hết mùng 6 Tết": the sixth day of the next lunar new year."""
    day = int(match.group("n"))
    if not 1 <= day <= 15:
        return None
    first = lunar_new_year(reference.year)
    if first is not None and first < reference:
        first = lunar_new_year(reference.year + 1)
    if first is None:
        return None
    return Deadline(DeadlineKind.DATE, first + timedelta(days=day - 1), _text(match, original))


_NOTICE_ITSELF = re.compile(
    r"^(?:ky|ban\s+hanh|phat\s+hanh|nhan\s+duoc)\s+(?:thong\s+bao|van\s+ban|ket\s+luan)"
)


def _build_relative(match: re.Match[str], original: str, reference: date) -> Deadline:
    count = int(match.group("n"))
    unit = match.group("unit")
    condition_span = match.span("c")
    condition = original[condition_span[0] : condition_span[1]].strip(" ,;:.")
    text = _text(match, original)
    if _NOTICE_ITSELF.match(match.group("c").strip()):
        if unit.startswith("ngay") and match.group("wd"):
            due = _add_working_days(reference, count)
        elif unit.startswith("ngay"):
            due = reference + timedelta(days=count)
        elif unit == "tuan":
            due = reference + timedelta(weeks=count)
        else:
            due = _add_months(reference, count)
        return Deadline(DeadlineKind.DATE, due, text)
    return Deadline(DeadlineKind.CONDITIONAL, None, text, condition=condition)


def _add_working_days(start: date, count: int) -> date:
    day = start
    while count > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


def _add_months(start: date, count: int) -> date:
    month_index = start.month - 1 + count
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def _build_conditional(match: re.Match[str], original: str, reference: date) -> Deadline | None:
    start, end = match.span("c")
    condition = original[start:end].strip(" ,;:.")
    if len(condition) < 3:
        return None
    return Deadline(DeadlineKind.CONDITIONAL, None, _text(match, original), condition=condition)


def _recurring(kind: str) -> Callable[[re.Match[str], str, date], Deadline]:
    def build(match: re.Match[str], original: str, reference: date) -> Deadline:
        return Deadline(DeadlineKind.RECURRING, None, _text(match, original), recurrence=kind)

    return build


# --- rules -----------------------------------------------------------------------------------

_B = r"(?<![\w/])"  # a phrase starts at a word boundary


def _rules(strict: bool) -> tuple[_Rule, ...]:
    """The patterns; lenient ones (for a known deadline phrase) drop the opening word."""
    opt = "" if strict else "?"
    return (
        # -- recurring (longer forms before shorter) --
        _rule(
            _B + r"truoc\s+ngay\s+\d{1,2}\s+(?:hang|moi|cua\s+moi)\s+thang",
            _recurring("monthly"),
        ),
        _rule(_B + r"(?<!giao duc )thuong\s+xuyen(?:\s*,\s*lien\s+tuc)?", _recurring("continuous")),
        _rule(
            _B
            + r"(?:dinh\s+ky\s+)?(?:(?:6|sau)\s+thang\s+mot\s+lan|dinh\s+ky\s+(?:6|sau)\s+thang)",
            _recurring("semiannual"),
        ),
        _rule(_B + r"(?:dinh\s+ky\s+)?(?:hang|moi)\s+ngay", _recurring("daily")),
        _rule(
            _B + r"(?:(?:dinh\s+ky\s+)?(?:hang|moi)\s+tuan|dinh\s+ky\s+tuan|tuan\s+mot\s+lan)",
            _recurring("weekly"),
        ),
        _rule(
            _B + r"(?:(?:dinh\s+ky\s+)?(?:hang|moi)\s+thang|dinh\s+ky\s+thang|thang\s+mot\s+lan)",
            _recurring("monthly"),
        ),
        _rule(
            _B + r"(?:(?:dinh\s+ky\s+)?(?:hang|moi)\s+quy|dinh\s+ky\s+quy|quy\s+mot\s+lan)",
            _recurring("quarterly"),
        ),
        _rule(
            _B + r"(?:(?:dinh\s+ky\s+)?(?:hang|moi)\s+nam|dinh\s+ky\s+nam)(?!\s+(?:hoc|\d))",
            _recurring("yearly"),
        ),
        _rule(
            _B + r"dinh\s+ky(?!\s+(?:hang|moi|tuan|thang|quy|nam|6|sau))", _recurring("periodic")
        ),
        # -- dates --
        _rule(
            _B
            + rf"tu\s+(?:ngay\s+)?{_date('a_')}\s*(?:den|toi|-|–)\s*(?:het\s+)?(?:ngay\s+)?"
            + _date("b_"),
            _build_range,
        ),
        _rule(
            _B + rf"(?:{_BEFORE}\s*){opt}{_TIME}?(?:ngay\s+)?{_date('c_')}",
            _build_date("c_"),
        ),
        _rule(
            _B + rf"(?:xong\s+)?(?:trong|vao)\s+{_TIME}?ngay\s+{_date('e_')}",
            _build_date("e_"),
        ),
        _rule(
            _B
            + r"(?:xong\s+)?truoc\s+(?:ngay\s+)?[^()\d;.]{2,60}?"
            + rf"\(\s*(?:ngay\s+)?{_date('f_')}\s*\)",
            _build_date("f_"),
        ),
        _rule(
            _B + r"(?:xong\s+)?truoc\s+(?:ky\s+nghi\s+|dip\s+)?tet"
            r"(?!\s+(?:trung\s+thu|doan\s+ngo|han\s+thuc|thieu\s+nhi))"
            r"(?:\s+(?:nguyen\s+dan|am\s+lich|co\s+truyen|(?P<solar>duong\s+lich)))?"
            rf"(?:\s+{_CAN}\s+{_CHI})?(?:\s+(?:nam\s+)?(?P<y>\d{{4}}))?(?![\w/])",
            _build_tet,
        ),
        _rule(
            _B + r"(?:(?:xong\s+)?truoc|den\s+het|den|het)\s+(?:ngay\s+)?m(?:u|o)ng\s+"
            r"(?P<n>\d{1,2})\s+tet(?:\s+nguyen\s+dan)?(?![\w/])",
            _build_tet_day,
        ),
        # -- periods --
        _rule(
            _B + _MEETING + r"thang\s+(?P<m>\d{1,2})(?P<m_end>)"
            r"(?:\s*(?:/|-|,?\s*nam)\s*(?P<y>\d{4}))?(?![\d/])",
            _future_only(_build_month),
        ),
        _rule(
            _B + _MEETING + rf"quy\s+{_ROMAN_Q}(?P<q_end>)" + _YEAR_TAIL,
            _future_only(_build_quarter),
        ),
        _rule(_B + r"(?:xong\s+)?trong\s+thang\s+(?P<which>nay|toi|sau)", _build_relative_month),
        _rule(
            _B + rf"(?:{_PERIOD_OPEN}\s+){opt}thang\s+(?P<m>\d{{1,2}})"
            r"(?:\s*(?:va|den|-|–|,)\s*(?:thang\s+)?(?P<m_end>\d{1,2}))?"
            r"(?:\s*(?:/|-|,?\s*nam)\s*(?P<y>\d{4}))?(?![\d/])",
            _build_month,
        ),
        _rule(_B + r"(?:xong\s+)?trong\s+quy\s+nay", _build_this_quarter),
        _rule(
            _B + rf"(?:{_PERIOD_OPEN}\s+){opt}quy\s+{_ROMAN_Q}"
            r"(?:\s*(?:va|den|-|–|,)\s*(?:quy\s+)?(?P<q_end>iv|i{1,3}|[1-4])(?![\w]))?"
            + _YEAR_TAIL,
            _build_quarter,
        ),
        _rule(
            _B + rf"(?:(?:xong\s+)?trong\s+|cuoi\s+){opt}(?:6|sau)\s+thang\s+(?P<h>dau|cuoi)\s+nam"
            r"(?:\s+(?P<y>\d{4}))?",
            _build_half,
        ),
        _rule(
            _B + rf"(?:(?:xong\s+trong|xong|trong|cuoi|den\s+het|het|truoc)\s+){opt}"
            r"nam\s+(?P<y>\d{4})(?![\d/-])",
            _build_year,
        ),
        _rule(_B + r"(?:xong\s+)?trong\s+nam(?:\s+nay|(?=\s*(?:[.;,)]|$)))(?P<y>)", _build_year),
        # -- conditional --
        _rule(
            _B + r"(?:trong\s+(?:vong|thoi\s+han|thoi\s+gian)|trong|cham\s+nhat(?:\s+la)?|sau"
            r"|khong\s+qua)\s+(?P<n>\d{1,3})\s+(?P<unit>ngay(?P<wd>\s+lam\s+viec)?|tuan|thang)"
            r"\s*,?\s*(?:ke\s+tu|tinh\s+tu|sau\s+khi|tu\s+khi|tu)\s+(?:ngay\s+)?(?P<c>[^,;.()]+)",
            _build_relative,
        ),
        _rule(
            _B + r"(?:ngay\s+)?(?:sau\s+khi|ngay\s+khi|khi\s+(?=(?:co|duoc)\b))\s*(?P<c>[^,;.()]+)",
            _build_conditional,
        ),
    )


_STRICT = _rules(strict=True)
_LENIENT = _rules(strict=False)


def _candidates(
    original: str, rules: Sequence[_Rule], reference: date, ignore: Iterable[tuple[int, int]]
) -> list[DeadlineMatch]:
    folded = fold_keep_length(original)
    blocked = list(ignore)
    found: list[DeadlineMatch] = []
    for rule in rules:
        for match in rule.pattern.finditer(folded):
            start, end = match.span()
            if any(start < b_end and b_start < end for b_start, b_end in blocked):
                continue
            deadline = rule.build(match, original, reference)
            if deadline is None:
                continue
            text_start = start + (len(original[start:end]) - len(original[start:end].lstrip()))
            found.append(DeadlineMatch(deadline, text_start, end))
    # A phrase inside a longer one is part of it ("hằng tháng" in "trước ngày 20 hằng tháng").
    kept = [
        m
        for m in found
        if not any(
            o is not m
            and o.start <= m.start
            and m.end <= o.end
            and (o.end - o.start) > (m.end - m.start)
            for o in found
        )
    ]
    return sorted(kept, key=lambda m: (m.start, -m.end))


def find_deadlines(
    sentence: str, reference: date, *, ignore: Iterable[tuple[int, int]] = ()
) -> list[DeadlineMatch]:
    """Every deadline phrase in `sentence`, in reading order.

    `ignore` lists spans that cannot hold one, e.g. unit names ("Trung tâm Giáo dục nghề
    nghiệp - Giáo dục thường xuyên" is not "thường xuyên").
    """
    return _candidates(unicodedata.normalize("NFC", sentence), _STRICT, reference, ignore)


def find_deadline(
    sentence: str, reference: date, *, ignore: Iterable[tuple[int, int]] = ()
) -> DeadlineMatch | None:
    """The deadline that governs `sentence`: the most concrete one, then the first."""
    matches = find_deadlines(sentence, reference, ignore=ignore)
    if not matches:
        return None
    return min(matches, key=_rank)


def _rank(match: DeadlineMatch) -> tuple[float, int]:
    """Most concrete first. A bare "khi có ..." ("báo cáo kịp thời khi có dịch") describes
    when to act rather than a deadline, so it yields to a recurring one."""
    priority: float = _PRIORITY[match.deadline.kind]
    if match.deadline.kind is DeadlineKind.CONDITIONAL and fold_keep_length(
        match.deadline.text
    ).startswith("khi "):
        priority = _PRIORITY[DeadlineKind.RECURRING] + 0.5
    return priority, match.start


def parse_deadline(text: str, reference: date) -> Deadline:
    """Read a phrase known to be a deadline ("trước ngày 30/6/2023", "Quý IV/2023", "30/6").

    Unreadable text comes back as kind `none` with the words kept, so a reviewer sees them.
    """
    cleaned = unicodedata.normalize("NFC", text).strip()
    if not cleaned:
        return NO_DEADLINE
    found = find_deadline(cleaned, reference)
    if found is None:
        lenient = _candidates(cleaned, _LENIENT, reference, ())
        if lenient:
            found = min(lenient, key=_rank)
    if found is None:
        return Deadline(DeadlineKind.NONE, None, cleaned.strip(" ,;:."))
    return found.deadline
