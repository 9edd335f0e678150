"""The reminder policy: when, how often and to whom, as plain values.

Defaults come from settings; an assignment can override any of them in its
`reminder_policy` JSON (e.g. `{"offsets": [14, 7, 1, 0], "time": "07:45"}`). Parsing is
lenient on purpose: a bad override is reported and ignored, never a crash in the middle of
a planning sweep. Pure: no I/O.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, time, timedelta
from enum import StrEnum
from typing import Any

from bot.domain.enums import AssignmentStatus
from bot.domain.textnorm import fold


class ReminderKind(StrEnum):
    """What an outbox row is. Stored in the database: renaming a member is a migration."""

    REMINDER = "reminder"  # before the deadline and on the day
    OVERDUE = "overdue"
    ESCALATE_HEAD = "escalate_head"  # to the lead unit's head, first overdue day
    ESCALATE_ADMINS = "escalate_admins"  # to admins and leaders, N working days overdue
    CHECKIN = "checkin"  # conditional deadline: "has it happened yet?"
    REPORT_REQUEST = "report_request"  # recurring task: periodic report
    MANUAL = "manual"  # /remind CODE
    DIGEST = "digest"  # weekly group digest
    ADMIN_SUMMARY = "admin_summary"  # daily overdue summary to admins
    CATCHUP = "catchup"  # stale reminders folded into one message after downtime
    ALERT = "alert"  # to admins: an account could not be reached
    NOTICE = "notice"  # ad-hoc message from another service (enqueue_message)


# Rows the planner owns: a re-plan may cancel them when they are no longer wanted.
PLANNED_KINDS: frozenset[str] = frozenset(
    {
        ReminderKind.REMINDER,
        ReminderKind.OVERDUE,
        ReminderKind.ESCALATE_HEAD,
        ReminderKind.ESCALATE_ADMINS,
        ReminderKind.CHECKIN,
        ReminderKind.REPORT_REQUEST,
    }
)

# Messages about one task that an officer may answer by replying to them.
TASK_MESSAGE_KINDS: frozenset[str] = frozenset(
    {
        ReminderKind.REMINDER,
        ReminderKind.OVERDUE,
        ReminderKind.ESCALATE_HEAD,
        ReminderKind.CHECKIN,
        ReminderKind.REPORT_REQUEST,
        ReminderKind.MANUAL,
    }
)

# Officers get reminders only while the work is theirs to do. A task reported done and
# awaiting the office's confirmation is out of their hands (the admins have it), so it is
# not reminded; sent back (reopened) it is again.
REMINDABLE_STATUSES: frozenset[str] = frozenset(
    {AssignmentStatus.NOT_STARTED, AssignmentStatus.IN_PROGRESS, AssignmentStatus.REOPENED}
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_weekday(value: Any) -> int:
    """0 = Monday. Accepts "mon".."sun", "thu 2".."chu nhat" and 1..7 (1 = Monday)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 1 <= value <= 7:
            return value - 1
        raise ValueError(f"weekday {value} is not 1..7")
    text = fold(str(value)).strip().lower()
    # Vietnamese first: "thứ 2" folds to "thu 2", which starts like English "thu".
    vietnamese = {f"thu {n}": n - 2 for n in range(2, 8)} | {f"t{n}": n - 2 for n in range(2, 8)}
    if text in vietnamese:
        return vietnamese[text]
    if text in {"chu nhat", "cn"}:
        return 6
    if text[:3] in WEEKDAYS:
        return WEEKDAYS.index(text[:3])
    if text.isdigit():
        return parse_weekday(int(text))
    raise ValueError(f"unknown weekday {value!r}")


def parse_clock_time(value: Any) -> time:
    """ "08:00", "8:00", "8h", "8h30" or a `time`."""
    if isinstance(value, time):
        return value
    match = re.fullmatch(r"\s*(\d{1,2})\s*[:hH]\s*(\d{2})?\s*", str(value))
    if match is None:
        raise ValueError(f"{value!r} is not a time like 08:00")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"{value!r} is not a time of day")
    return time(hour, minute)


@dataclass(frozen=True, slots=True)
class OfficeHours:
    """When messages may be sent (local time); scheduled messages wait for the next opening."""

    start: time
    end: time

    @classmethod
    def parse(cls, value: str) -> OfficeHours:
        parts = value.split("-")
        if len(parts) != 2:
            raise ValueError(f"{value!r} is not a range like 07:30-17:00")
        start, end = parse_clock_time(parts[0]), parse_clock_time(parts[1])
        if end <= start:
            raise ValueError(f"{value!r} ends before it starts")
        return cls(start, end)

    def contains(self, moment: time) -> bool:
        return self.start <= moment < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A periodic report rule: monthly on a day ("monthly:25", "monthly:last"), weekly on a
    weekday ("weekly:mon") or quarterly on a day of the quarter's last month."""

    every: str  # "monthly" | "weekly" | "quarterly"
    day: int  # day of month (0 = last) or weekday (0 = Monday)

    @classmethod
    def parse(cls, rule: str) -> Recurrence:
        every, _, arg = rule.strip().lower().partition(":")
        if every in {"monthly", "quarterly"}:
            if arg in {"", "last"}:
                return cls(every, 0)
            if arg.isdigit() and 1 <= int(arg) <= 31:
                return cls(every, int(arg))
            raise ValueError(f"{rule!r}: the day must be 1..31 or 'last'")
        if every == "weekly":
            return cls(every, parse_weekday(arg or "mon"))
        raise ValueError(f"{rule!r}: use monthly:DAY, weekly:WEEKDAY or quarterly:DAY")

    def __str__(self) -> str:
        if self.every == "weekly":
            return f"weekly:{WEEKDAYS[self.day]}"
        return f"{self.every}:{self.day or 'last'}"

    def _month_day(self, year: int, month: int) -> date:
        last = _stdlib_calendar.monthrange(year, month)[1]
        return date(year, month, last if self.day == 0 else min(self.day, last))

    def dates(self, start: date, end: date) -> Iterator[date]:
        """Nominal dates in [start, end] (before any working-day shift)."""
        if self.every == "weekly":
            day = start + timedelta(days=(self.day - start.weekday()) % 7)
            while day <= end:
                yield day
                day += timedelta(days=7)
            return
        year, month = start.year, start.month
        while date(year, month, 1) <= end:
            if self.every == "monthly" or month % 3 == 0:
                nominal = self._month_day(year, month)
                if start <= nominal <= end:
                    yield nominal
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def infer_recurrence(deadline_text: str) -> Recurrence | None:
    """A rule from wording like "định kỳ hằng tháng" / "hàng quý"; None when it says none."""
    text = fold(deadline_text or "").lower()
    if re.search(r"\bhang tuan\b|weekly", text):
        return Recurrence("weekly", 0)
    if re.search(r"\bhang quy\b|quarterly", text):
        return Recurrence("quarterly", 20)
    if re.search(r"\bhang thang\b|monthly", text):
        return Recurrence("monthly", 25)
    return None


def _offsets(value: Any) -> tuple[int, ...]:
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise ValueError(f"{value!r} is not a list of days")
    out = sorted({int(item) for item in value}, reverse=True)
    if any(item < 0 or item > 366 for item in out):
        raise ValueError("offsets are days before the deadline, 0..366")
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    offsets: tuple[int, ...] = (7, 3, 1, 0)
    cooperating_offsets: tuple[int, ...] = (7, 0)
    send_time: time = time(8, 0)
    overdue_every: int = 2  # working days between overdue notices
    escalate_head_after: int = 1  # working days overdue
    escalate_admins_after: int = 3  # working days overdue
    checkin_weekday: int = 0  # conditional deadlines: Monday
    recurrence: str = "monthly:25"  # recurring tasks without a rule ("thường xuyên")
    enabled: bool = True

    def with_overrides(
        self, overrides: Mapping[str, Any] | None
    ) -> tuple[ReminderPolicy, list[str]]:
        """This policy with an assignment's overrides applied, and what was ignored and why."""
        if not overrides:
            return self, []
        policy = self
        problems: list[str] = []
        parsers: dict[str, tuple[str, Any]] = {
            "offsets": ("offsets", _offsets),
            "cooperating_offsets": ("cooperating_offsets", _offsets),
            "time": ("send_time", parse_clock_time),
            "overdue_every": ("overdue_every", _positive),
            "escalate_unit_head_after": ("escalate_head_after", _positive),
            "escalate_admins_after": ("escalate_admins_after", _positive),
            "checkin_weekday": ("checkin_weekday", parse_weekday),
            "recurrence": ("recurrence", lambda v: str(Recurrence.parse(str(v)))),
            "enabled": ("enabled", _boolean),
        }
        for key, value in overrides.items():
            entry = parsers.get(key)
            if entry is None:
                problems.append(f"unknown setting {key!r}")
                continue
            field_name, parse = entry
            try:
                policy = replace(policy, **{field_name: parse(value)})
            except (TypeError, ValueError) as exc:
                problems.append(f"{key}: {exc}")
        return policy, problems


def _positive(value: Any) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError("must be true or false")


# -- delivery channels ---------------------------------------------------------------------

_TELEGRAM = ("telegram",)
_ZALO = ("zalo", "zalo_oa")  # the Bot Platform first: it is the officer's own chat
_ORDER = (*_TELEGRAM, *_ZALO)


def _family(channel: str | None) -> tuple[str, ...]:
    if channel == "telegram":
        return _TELEGRAM
    if channel in _ZALO:
        return _ZALO
    return ()


def delivery_channels(
    preferred: str | None, last_channel: str | None, active: Iterable[str]
) -> tuple[str, ...]:
    """The chat apps an officer's messages go to.

    `preferred` is "telegram", "zalo", "both" or None (then the app they used last).
    A preference with no active account falls back to any bound app: reaching the officer
    somewhere beats not reaching them. One account per family ("zalo" before "zalo_oa").
    """
    bound = [channel for channel in _ORDER if channel in set(active)]
    if not bound:
        return ()

    def first_of(family: tuple[str, ...]) -> str | None:
        return next((channel for channel in family if channel in bound), None)

    if preferred == "both":
        picked = [first_of(_TELEGRAM), first_of(_ZALO)]
        return tuple(channel for channel in picked if channel)
    wanted = first_of(_family(preferred if preferred in {"telegram", "zalo"} else last_channel))
    if wanted is None:
        wanted = first_of(_family(last_channel)) or bound[0]
    return (wanted,)
