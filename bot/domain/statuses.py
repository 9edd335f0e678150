"""Completion and timeliness of a task, as Vietnamese task-tracking rules count them.

Two separate questions. *Completion* moves through chưa thực hiện → đang thực hiện → chờ
xác nhận → đã hoàn thành, or back to thực hiện lại when the office sends a result back;
tạm dừng and hủy are the admins' own moves. *Timeliness* is derived at any moment from the
deadline, the time the result was reported and the working calendar: trong hạn, sắp đến hạn
(≤ 3 working days left), quá hạn, không hạn; a confirmed task is done on time or done late
by the time its result was *reported*, not confirmed (the office's review time is not the
unit's delay).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Protocol

from bot.domain.enums import AssignmentStatus, DeadlineKind

__all__ = [
    "DUE_SOON_WORKING_DAYS",
    "Event",
    "Timeliness",
    "TimelinessView",
    "TransitionError",
    "WorkingCalendar",
    "accepts_reports",
    "assess",
    "next_status",
    "working_days_until",
]

DUE_SOON_WORKING_DAYS = 3

S = AssignmentStatus


class Event(StrEnum):
    REPORT_PROGRESS = "report_progress"  # a percentage or "đang thực hiện"
    REPORT_DONE = "report_done"  # the result is reported: awaits the office's confirmation
    CONFIRM = "confirm"  # Xác nhận
    SEND_BACK = "send_back"  # Trả lại: từ chối xác nhận → thực hiện lại
    PAUSE = "pause"  # tạm dừng (admins)
    RESUME = "resume"
    CANCEL = "cancel"  # hủy (admins)


_OPEN = (S.NOT_STARTED, S.IN_PROGRESS, S.REOPENED)
_TRANSITIONS: dict[tuple[AssignmentStatus, Event], AssignmentStatus] = {
    **{(s, Event.REPORT_PROGRESS): S.IN_PROGRESS for s in _OPEN},
    **{(s, Event.REPORT_DONE): S.AWAITING_CONFIRMATION for s in _OPEN},
    # An officer correcting a premature "done" with a percentage withdraws the result.
    (S.AWAITING_CONFIRMATION, Event.REPORT_PROGRESS): S.IN_PROGRESS,
    (S.AWAITING_CONFIRMATION, Event.CONFIRM): S.DONE,
    (S.AWAITING_CONFIRMATION, Event.SEND_BACK): S.REOPENED,
    **{(s, Event.PAUSE): S.PAUSED for s in (*_OPEN, S.AWAITING_CONFIRMATION)},
    (S.PAUSED, Event.RESUME): S.IN_PROGRESS,
    **{
        (s, Event.CANCEL): S.CANCELLED for s in (*_OPEN, S.AWAITING_CONFIRMATION, S.PAUSED, S.DRAFT)
    },
}


class TransitionError(ValueError):
    """The event makes no sense in the task's current status (e.g. confirming a new task)."""

    def __init__(self, status: AssignmentStatus, event: Event) -> None:
        super().__init__(f"{event.value} is not possible when the task is {status.value}")
        self.status = status
        self.event = event


def next_status(current: AssignmentStatus | str, event: Event) -> AssignmentStatus:
    status = AssignmentStatus(current)
    try:
        return _TRANSITIONS[(status, event)]
    except KeyError:
        raise TransitionError(status, event) from None


def accepts_reports(status: AssignmentStatus | str) -> bool:
    """Officers report only on live, unfinished tasks (not draft, done, paused, cancelled)."""
    return AssignmentStatus(status) in (*_OPEN, S.AWAITING_CONFIRMATION)


class WorkingCalendar(Protocol):
    """Working days: Monday–Friday minus public holidays, plus make-up days."""

    def is_working_day(self, day: date) -> bool: ...


class Timeliness(StrEnum):
    ON_TRACK = "on_track"  # trong hạn
    DUE_SOON = "due_soon"  # sắp đến hạn
    OVERDUE = "overdue"  # quá hạn
    NO_DEADLINE = "no_deadline"  # không hạn
    DONE_ON_TIME = "done_on_time"  # hoàn thành đúng hạn
    DONE_LATE = "done_late"  # hoàn thành quá hạn


@dataclass(frozen=True, slots=True)
class TimelinessView:
    """`days` is calendar days left (≥ 0) or late (> 0 for OVERDUE and DONE_LATE)."""

    timeliness: Timeliness
    days: int | None = None
    working_days_left: int | None = None


def working_days_until(today: date, due: date, calendar: WorkingCalendar) -> int:
    """Working days after `today` up to and including `due` (0 when due today or past)."""
    count = 0
    day = today + timedelta(days=1)
    while day <= due:
        if calendar.is_working_day(day):
            count += 1
        day += timedelta(days=1)
    return count


_DATED = frozenset({DeadlineKind.DATE, DeadlineKind.MONTH, DeadlineKind.QUARTER, DeadlineKind.YEAR})


def assess(
    *,
    status: AssignmentStatus | str,
    deadline_kind: DeadlineKind | str,
    due_date: date | None,
    today: date,
    reported_on: date | None,
    calendar: WorkingCalendar,
    due_soon_days: int = DUE_SOON_WORKING_DAYS,
) -> TimelinessView:
    """Timeliness now (`today`, local) of a task; `reported_on` is the local date its result
    was reported (for a task awaiting confirmation or done)."""
    status = AssignmentStatus(status)
    dated = due_date is not None and DeadlineKind(deadline_kind) in _DATED
    if status in (S.PAUSED, S.CANCELLED, S.DRAFT) or not dated:
        if status is S.DONE:
            return TimelinessView(Timeliness.DONE_ON_TIME)
        return TimelinessView(Timeliness.NO_DEADLINE)
    assert due_date is not None
    if status in (S.DONE, S.AWAITING_CONFIRMATION) and reported_on is not None:
        late = (reported_on - due_date).days
        if status is S.DONE:
            return TimelinessView(
                Timeliness.DONE_LATE if late > 0 else Timeliness.DONE_ON_TIME, max(late, 0)
            )
        # Reported in time: the office's review does not make the unit late.
        if late <= 0:
            return TimelinessView(Timeliness.ON_TRACK, 0)
        return TimelinessView(Timeliness.OVERDUE, late)
    if today > due_date:
        return TimelinessView(Timeliness.OVERDUE, (today - due_date).days)
    left = working_days_until(today, due_date, calendar)
    kind = Timeliness.DUE_SOON if left <= due_soon_days else Timeliness.ON_TRACK
    return TimelinessView(kind, (due_date - today).days, left)
