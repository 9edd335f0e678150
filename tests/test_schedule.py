"""Planning rules at real dates, as pure functions (no database, no clock)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.config import Settings, describe_settings_error
from bot.domain.calendar import WorkCalendar
from bot.domain.enums import AssignmentStatus, DeadlineKind, Role
from bot.domain.policy import (
    OfficeHours,
    Recurrence,
    ReminderKind,
    ReminderPolicy,
    delivery_channels,
    infer_recurrence,
    parse_weekday,
)
from bot.domain.schedule import Audience, Person, Planned, Planner, TaskFacts

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkCalendar()
PLANNER = Planner(CAL, HCM, ReminderPolicy())

LEAD_UNIT, COOP_UNIT = 1, 2
OFFICER = Person(10, LEAD_UNIT, Role.OFFICER, ("telegram",))
HEAD = Person(11, LEAD_UNIT, Role.UNIT_HEAD, ("telegram",))
COOP = Person(20, COOP_UNIT, Role.OFFICER, ("zalo",))
ADMIN = Person(30, 9, Role.ADMIN, ("telegram",))
AUDIENCE = Audience(
    by_unit={LEAD_UNIT: [OFFICER, HEAD], COOP_UNIT: [COOP], 9: [ADMIN]}, escalation=[ADMIN]
)
SINCE = datetime(2023, 6, 1, tzinfo=UTC)
UNTIL = date(2023, 12, 31)


def task(
    due: date | None,
    kind: str = DeadlineKind.DATE,
    *,
    status: str = AssignmentStatus.NOT_STARTED,
    cooperating: tuple[int, ...] = (),
    text: str = "",
    recurrence: str | None = None,
    policy: dict[str, object] | None = None,
) -> TaskFacts:
    return TaskFacts(
        id=4,
        deadline_kind=kind,
        due_date=due,
        status=status,
        lead_unit_id=LEAD_UNIT,
        cooperating_unit_ids=cooperating,
        deadline_text=text,
        recurrence=recurrence,
        policy=policy,
    )


def plan(facts: TaskFacts, *, since: datetime = SINCE, until: date = UNTIL) -> list[Planned]:
    return PLANNER.plan(facts, AUDIENCE, since=since, until=until)


def days(items: list[Planned], kind: str, officer: Person = OFFICER) -> list[date]:
    return sorted(
        {p.send_on for p in items if p.kind == kind and p.officer_id == officer.officer_id}
    )


def test_schedule_seed_deadline_30_6_2023() -> None:
    items = plan(task(date(2023, 6, 30), cooperating=(COOP_UNIT,)))
    assert days(items, ReminderKind.REMINDER) == [
        date(2023, 6, 23),
        date(2023, 6, 27),
        date(2023, 6, 29),
        date(2023, 6, 30),
    ]
    # Cooperating units get the 7-day and due-day ones, on their own app, as "phối hợp".
    coop = [p for p in items if p.officer_id == COOP.officer_id]
    assert [(p.send_on, p.role, p.channel) for p in coop] == [
        (date(2023, 6, 23), "cooperating", "zalo"),
        (date(2023, 6, 30), "cooperating", "zalo"),
    ]
    first = next(p for p in items if p.officer_id == OFFICER.officer_id)
    assert first.due_at == datetime(2023, 6, 23, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
    assert first.key == "reminder:a4:o10:2023-06-30@2023-06-23:telegram"


def test_schedule_deadline_on_a_sunday_moves_reminders_earlier() -> None:
    # The seed's "trước ngày 30/7/2023" is a Sunday: D-7 (Sunday 23/7) → Friday 21/7;
    # D-1 (Saturday) and the day itself both land on Friday 28/7 and become one reminder.
    items = plan(task(date(2023, 7, 30)))
    assert days(items, ReminderKind.REMINDER) == [
        date(2023, 7, 21),
        date(2023, 7, 27),
        date(2023, 7, 28),
    ]
    # Overdue starts the next working day after the deadline.
    assert days(items, ReminderKind.OVERDUE)[:3] == [
        date(2023, 7, 31),
        date(2023, 8, 2),
        date(2023, 8, 4),
    ]
    assert days(items, ReminderKind.ESCALATE_HEAD, HEAD) == [date(2023, 7, 31)]


def test_schedule_around_30_4_and_1_5() -> None:
    # Deadline Tuesday 2/5/2023, itself a day off: D-3, D-1 and D-0 all fall in the long
    # weekend (29/4–3/5) and move back to Friday 28/4.
    items = plan(task(date(2023, 5, 2)), since=datetime(2023, 4, 1, tzinfo=UTC))
    assert days(items, ReminderKind.REMINDER) == [date(2023, 4, 25), date(2023, 4, 28)]
    # Due Friday 28/4: the first overdue day is Thursday 4/5, after the holidays.
    items = plan(task(date(2023, 4, 28)), since=datetime(2023, 4, 1, tzinfo=UTC))
    assert days(items, ReminderKind.OVERDUE)[:2] == [date(2023, 5, 4), date(2023, 5, 8)]
    assert days(items, ReminderKind.ESCALATE_HEAD, HEAD) == [date(2023, 5, 4)]
    assert days(items, ReminderKind.ESCALATE_ADMINS, ADMIN) == [date(2023, 5, 8)]


def test_schedule_around_2_9() -> None:
    items = plan(task(date(2023, 9, 5)))
    assert days(items, ReminderKind.REMINDER) == [
        date(2023, 8, 29),
        date(2023, 8, 31),  # D-3 (Saturday 2/9) and D-1 (Monday 4/9, observed)
        date(2023, 9, 5),
    ]


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        # Tết Giáp Thìn: 8/2–14/2/2024 off. D-7, D-3, D-1 fall in it → Wednesday 7/2.
        (date(2024, 2, 15), [date(2024, 2, 7), date(2024, 2, 15)]),
        # Tết Ất Tỵ: 27/1–1/2/2025 off. D-7, D-3, D-1 → Friday 24/1.
        (date(2025, 2, 3), [date(2025, 1, 24), date(2025, 2, 3)]),
    ],
)
def test_schedule_around_tet(due: date, expected: list[date]) -> None:
    since = datetime(due.year, 1, 1, tzinfo=UTC)
    assert days(plan(task(due), since=since, until=due), ReminderKind.REMINDER) == expected


def test_schedule_month_deadline_aims_at_the_last_working_day() -> None:
    # "Trong tháng 9/2023" is stored as 30/9 (a Saturday): due Friday 29/9.
    items = plan(task(date(2023, 9, 30), DeadlineKind.MONTH))
    assert days(items, ReminderKind.REMINDER) == [
        date(2023, 9, 22),
        date(2023, 9, 26),
        date(2023, 9, 28),
        date(2023, 9, 29),
    ]
    assert days(items, ReminderKind.OVERDUE)[0] == date(2023, 10, 2)


def test_schedule_overdue_every_two_working_days_and_escalation() -> None:
    items = plan(task(date(2023, 6, 30)), until=date(2023, 7, 12))
    assert days(items, ReminderKind.OVERDUE) == [
        date(2023, 7, 3),
        date(2023, 7, 5),
        date(2023, 7, 7),
        date(2023, 7, 11),
    ]
    # The head gets the escalation on the first overdue day instead of a second notice.
    assert days(items, ReminderKind.ESCALATE_HEAD, HEAD) == [date(2023, 7, 3)]
    assert date(2023, 7, 3) not in days(items, ReminderKind.OVERDUE, HEAD)
    assert days(items, ReminderKind.OVERDUE, HEAD) == [
        date(2023, 7, 5),
        date(2023, 7, 7),
        date(2023, 7, 11),
    ]
    assert days(items, ReminderKind.ESCALATE_ADMINS, ADMIN) == [date(2023, 7, 5)]
    # Endless series are planned only up to the horizon; later sweeps extend them.
    assert max(p.send_on for p in items) <= date(2023, 7, 12)


def test_schedule_overdue_series_resumes_in_step_after_a_gap() -> None:
    since = datetime(2023, 7, 6, 1, 0, tzinfo=UTC)
    items = plan(task(date(2023, 6, 30)), since=since, until=date(2023, 7, 12))
    assert days(items, ReminderKind.OVERDUE) == [date(2023, 7, 7), date(2023, 7, 11)]
    assert days(items, ReminderKind.ESCALATE_ADMINS, ADMIN) == []  # 5/7 is past


def test_schedule_extension_replans_with_new_keys() -> None:
    before = {p.key for p in plan(task(date(2023, 6, 30)))}
    extended = plan(task(date(2023, 7, 14)), since=datetime(2023, 6, 28, 3, 0, tzinfo=UTC))
    assert days(extended, ReminderKind.REMINDER) == [
        date(2023, 7, 7),
        date(2023, 7, 11),
        date(2023, 7, 13),
        date(2023, 7, 14),
    ]
    assert not before & {p.key for p in extended}


@pytest.mark.parametrize(
    "status",
    [
        AssignmentStatus.AWAITING_CONFIRMATION,
        AssignmentStatus.DONE,
        AssignmentStatus.CANCELLED,
        AssignmentStatus.PAUSED,
        AssignmentStatus.DRAFT,
    ],
)
def test_schedule_closed_tasks_get_nothing(status: str) -> None:
    assert plan(task(date(2023, 6, 30), status=status)) == []


def test_schedule_reopened_task_is_reminded_again() -> None:
    assert plan(task(date(2023, 6, 30), status=AssignmentStatus.REOPENED))


def test_schedule_conditional_checkins_until_the_date_is_set() -> None:
    waiting = plan(task(None, DeadlineKind.CONDITIONAL), until=date(2023, 7, 31))
    assert days(waiting, ReminderKind.CHECKIN) == [
        date(2023, 6, 5),
        date(2023, 6, 12),
        date(2023, 6, 19),
        date(2023, 6, 26),
        date(2023, 7, 3),
        date(2023, 7, 10),
        date(2023, 7, 17),
        date(2023, 7, 24),
        date(2023, 7, 31),
    ]
    assert {p.occurrence for p in waiting if p.officer_id == OFFICER.officer_id} >= {"2023-W26"}
    dated = plan(task(date(2023, 8, 15)), since=datetime(2023, 7, 20, tzinfo=UTC))
    assert days(dated, ReminderKind.CHECKIN) == []
    assert days(dated, ReminderKind.REMINDER)[-1] == date(2023, 8, 15)


def test_schedule_conditional_checkin_after_a_holiday_monday() -> None:
    items = plan(
        task(None, DeadlineKind.CONDITIONAL),
        since=datetime(2023, 8, 28, tzinfo=UTC),
        until=date(2023, 9, 10),
    )
    assert days(items, ReminderKind.CHECKIN) == [date(2023, 8, 28), date(2023, 9, 5)]


def test_schedule_recurring_defaults_to_the_25th() -> None:
    # The seed's "thường xuyên" carries no rule: a report request each month on the 25th,
    # on the working day before when the 25th is a day off (25/6/2023 is a Sunday).
    items = plan(task(None, DeadlineKind.RECURRING, text="thường xuyên"), until=date(2023, 8, 31))
    assert days(items, ReminderKind.REPORT_REQUEST) == [
        date(2023, 6, 23),
        date(2023, 7, 25),
        date(2023, 8, 25),
    ]


def test_schedule_recurring_rules() -> None:
    weekly = plan(
        task(None, DeadlineKind.RECURRING, recurrence="weekly:fri"), until=date(2023, 6, 20)
    )
    assert days(weekly, ReminderKind.REPORT_REQUEST) == [
        date(2023, 6, 2),
        date(2023, 6, 9),
        date(2023, 6, 16),
    ]
    quarterly = plan(
        task(None, DeadlineKind.RECURRING, text="định kỳ hằng quý"), until=date(2023, 12, 31)
    )
    assert days(quarterly, ReminderKind.REPORT_REQUEST) == [
        date(2023, 6, 20),
        date(2023, 9, 20),
        date(2023, 12, 20),
    ]
    assert infer_recurrence("Báo cáo định kỳ hàng tháng") == Recurrence("monthly", 25)
    assert infer_recurrence("thường xuyên") is None
    assert str(Recurrence.parse("monthly:last")) == "monthly:last"
    with pytest.raises(ValueError, match="day"):
        Recurrence.parse("monthly:32")


def test_schedule_no_deadline_means_digests_only() -> None:
    assert plan(task(None, DeadlineKind.NONE)) == []


def test_schedule_per_assignment_policy() -> None:
    items = plan(task(date(2023, 6, 30), policy={"offsets": [2, 0], "time": "07:45"}))
    assert days(items, ReminderKind.REMINDER) == [date(2023, 6, 28), date(2023, 6, 30)]
    assert all(p.due_at.astimezone(HCM).time() == time(7, 45) for p in items)
    assert plan(task(date(2023, 6, 30), policy={"enabled": False})) == []
    policy, problems = ReminderPolicy().with_overrides({"offsets": "x", "colour": "red"})
    assert policy == ReminderPolicy()
    assert len(problems) == 2


def test_schedule_since_skips_the_past_but_keeps_the_grace_window() -> None:
    # Planned at 11:00 on 27/6 with a 4-hour grace: today's 08:00 reminder is still sent.
    items = plan(task(date(2023, 6, 30)), since=datetime(2023, 6, 27, 0, 0, tzinfo=UTC))
    assert days(items, ReminderKind.REMINDER) == [
        date(2023, 6, 27),
        date(2023, 6, 29),
        date(2023, 6, 30),
    ]


def test_schedule_delivery_channels() -> None:
    both = ("telegram", "zalo")
    assert delivery_channels("both", None, both) == ("telegram", "zalo")
    assert delivery_channels("zalo", "telegram", both) == ("zalo",)
    assert delivery_channels(None, "zalo", both) == ("zalo",)
    assert delivery_channels(None, None, both) == ("telegram",)
    assert delivery_channels("zalo", None, ("telegram",)) == ("telegram",)  # fall back
    assert delivery_channels("both", None, ("zalo_oa", "zalo")) == ("zalo",)
    assert delivery_channels("telegram", None, ()) == ()


def test_schedule_policy_values_parse_like_officers_write_them() -> None:
    assert parse_weekday("thứ 2") == 0
    assert parse_weekday("Chủ nhật") == 6
    assert parse_weekday(5) == 4
    hours = OfficeHours.parse("7:30-17:00")
    assert hours.contains(time(7, 30)) and not hours.contains(time(17, 0))
    with pytest.raises(ValueError, match="ends before"):
        OfficeHours.parse("17:00-07:30")


def test_schedule_policy_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REMINDER_OFFSETS", "1, 7,3 ,0")
    monkeypatch.setenv("REMINDER_TIME", "7h30")
    monkeypatch.setenv("CONDITIONAL_CHECKIN_WEEKDAY", "thứ 6")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    policy = settings.reminder_policy()
    assert policy.offsets == (7, 3, 1, 0)
    assert policy.send_time == time(7, 30)
    assert policy.checkin_weekday == 4
    assert str(settings.office) == "07:30-17:00"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("OFFICE_HOURS", "17:00-07:30", "OFFICE_HOURS: '17:00-07:30' ends before it starts"),
        ("REMINDER_OFFSETS", "7,ba", "REMINDER_OFFSETS: days before the deadline, e.g. 7,3,1,0"),
        ("RECURRING_DEFAULT", "daily", "RECURRING_DEFAULT: 'daily': use monthly:DAY"),
    ],
)
def test_schedule_bad_settings_name_themselves(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert describe_settings_error(error.value).startswith(expected)
