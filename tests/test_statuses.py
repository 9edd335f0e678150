"""Completion transitions and timeliness at real dates of the 2023 calendar."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.calendar import WorkCalendar
from bot.domain.enums import AssignmentStatus as S
from bot.domain.statuses import (
    Event,
    Timeliness,
    TransitionError,
    accepts_reports,
    assess,
    next_status,
    working_days_until,
)

CAL = WorkCalendar()
DUE = date(2023, 6, 30)  # a Friday


@pytest.mark.parametrize(
    ("status", "event", "expected"),
    [
        (S.NOT_STARTED, Event.REPORT_PROGRESS, S.IN_PROGRESS),
        (S.NOT_STARTED, Event.REPORT_DONE, S.AWAITING_CONFIRMATION),
        (S.IN_PROGRESS, Event.REPORT_DONE, S.AWAITING_CONFIRMATION),
        (S.AWAITING_CONFIRMATION, Event.CONFIRM, S.DONE),
        (S.AWAITING_CONFIRMATION, Event.SEND_BACK, S.REOPENED),
        (S.AWAITING_CONFIRMATION, Event.REPORT_PROGRESS, S.IN_PROGRESS),
        (S.REOPENED, Event.REPORT_DONE, S.AWAITING_CONFIRMATION),
        (S.IN_PROGRESS, Event.PAUSE, S.PAUSED),
        (S.PAUSED, Event.RESUME, S.IN_PROGRESS),
        (S.PAUSED, Event.CANCEL, S.CANCELLED),
    ],
)
def test_statuses_transitions(status: S, event: Event, expected: S) -> None:
    assert next_status(status, event) is expected


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (S.NOT_STARTED, Event.CONFIRM),
        (S.IN_PROGRESS, Event.SEND_BACK),
        (S.DONE, Event.REPORT_DONE),
        (S.CANCELLED, Event.REPORT_PROGRESS),
        (S.DRAFT, Event.REPORT_DONE),
    ],
)
def test_statuses_impossible_transitions_are_refused(status: S, event: Event) -> None:
    with pytest.raises(TransitionError):
        next_status(status, event)


def test_statuses_reports_only_on_live_unfinished_tasks() -> None:
    assert accepts_reports("not_started") and accepts_reports("awaiting_confirmation")
    assert not any(accepts_reports(s) for s in ("done", "cancelled", "paused", "draft"))


def _assess(
    today: date,
    status: S = S.IN_PROGRESS,
    reported: date | None = None,
    kind: str = "date",
    due: date | None = DUE,
):  # type: ignore[no-untyped-def]
    return assess(
        status=status,
        deadline_kind=kind,
        due_date=due,
        today=today,
        reported_on=reported,
        calendar=CAL,
    )


def test_statuses_on_track_due_soon_overdue_by_working_days() -> None:
    assert _assess(date(2023, 6, 23)).timeliness is Timeliness.ON_TRACK  # 5 working days
    view = _assess(date(2023, 6, 27))  # Tue: Wed, Thu, Fri left
    assert view.timeliness is Timeliness.DUE_SOON and view.working_days_left == 3
    assert _assess(DUE).timeliness is Timeliness.DUE_SOON and _assess(DUE).days == 0
    late = _assess(date(2023, 7, 3))
    assert late.timeliness is Timeliness.OVERDUE and late.days == 3


def test_statuses_holidays_shorten_the_working_days_left() -> None:
    # Due Thursday 4/5/2023: 29/4–3/5 are the Reunification/Labour Day break.
    due = date(2023, 5, 4)
    assert working_days_until(date(2023, 4, 27), due, CAL) == 2  # 28/4 and 4/5
    view = _assess(date(2023, 4, 27), due=due)
    assert view.timeliness is Timeliness.DUE_SOON and view.days == 7


def test_statuses_no_deadline_kinds() -> None:
    for kind in ("conditional", "recurring", "none"):
        assert _assess(date(2023, 6, 23), kind=kind, due=None).timeliness is Timeliness.NO_DEADLINE


def test_statuses_done_on_time_or_late_by_the_report_date() -> None:
    on_time = _assess(date(2023, 7, 10), S.DONE, reported=DUE)
    assert on_time.timeliness is Timeliness.DONE_ON_TIME
    late = _assess(date(2023, 7, 10), S.DONE, reported=date(2023, 7, 4))
    assert late.timeliness is Timeliness.DONE_LATE and late.days == 4
    # Reported in time but confirmed after the deadline: the unit is not late.
    waiting = _assess(date(2023, 7, 5), S.AWAITING_CONFIRMATION, reported=date(2023, 6, 29))
    assert waiting.timeliness is Timeliness.ON_TRACK


def test_statuses_paused_and_cancelled_have_no_timeliness() -> None:
    assert _assess(date(2023, 7, 5), S.PAUSED).timeliness is Timeliness.NO_DEADLINE
    assert _assess(date(2023, 7, 5), S.CANCELLED).timeliness is Timeliness.NO_DEADLINE
