"""Planning: which reminders an assignment should produce, for whom, on which day.

Pure functions over plain values (no clock, no database), so every rule is tested at real
dates. The planner is deterministic: the same facts give the same `Planned` items with the
same keys, which is what lets the outbox ignore a second planning of the same reminder and
cancel the ones a change made obsolete.

Rules (defaults; see `ReminderPolicy`):
- dated deadlines: the lead unit's officers 7, 3, 1 days before and on the day; the
  cooperating units' officers 7 days before and on the day. A day off moves a reminder to
  the previous working day; two reminders landing on the same day become one.
- month/quarter/year deadlines aim at the period's last working day.
- overdue: the lead unit the next working day after the deadline, then every 2 working
  days; the unit's head on the 1st working day overdue, admins and leaders on the 3rd.
- conditional: a weekly check-in to the lead unit until the date is set.
- recurring: a report request on the rule's days (default monthly on the 25th).
- none: nothing (the task appears in digests only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.calendar import WorkCalendar
from bot.domain.enums import DeadlineKind, Role
from bot.domain.policy import (
    REMINDABLE_STATUSES,
    Recurrence,
    ReminderKind,
    ReminderPolicy,
    infer_recurrence,
)

LEAD = "lead"
COOPERATING = "cooperating"
HEAD = "head"
ADMIN = "admin"

# When two messages about one task would reach one person on one day, only the strongest
# goes: an admin who is also in the lead unit gets the escalation, not the overdue notice too.
_PRIORITY = {
    ReminderKind.ESCALATE_ADMINS: 5,
    ReminderKind.ESCALATE_HEAD: 4,
    ReminderKind.OVERDUE: 3,
    ReminderKind.REMINDER: 2,
    ReminderKind.CHECKIN: 1,
    ReminderKind.REPORT_REQUEST: 1,
}


@dataclass(frozen=True, slots=True)
class Person:
    """An officer who can be reached: active, bound, with the apps to use."""

    officer_id: int
    unit_id: int | None
    role: str
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Audience:
    """Who may receive what: officers by unit, and the admins/leaders escalations go to."""

    by_unit: Mapping[int, Sequence[Person]] = field(default_factory=dict)
    escalation: Sequence[Person] = ()

    def unit(self, unit_id: int) -> Sequence[Person]:
        return self.by_unit.get(unit_id, ())


@dataclass(frozen=True, slots=True)
class TaskFacts:
    id: int
    deadline_kind: str
    due_date: date | None
    status: str
    lead_unit_id: int
    cooperating_unit_ids: tuple[int, ...] = ()
    deadline_text: str = ""
    recurrence: str | None = None
    policy: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Planned:
    assignment_id: int
    officer_id: int
    channel: str
    kind: ReminderKind
    role: str
    occurrence: str
    send_on: date
    due_at: datetime
    # The outbox's unique key: (assignment, recipient, kind, occurrence, channel).
    key: str


def reminder_key(
    kind: str, assignment_id: int, officer_id: int, occurrence: str, channel: str
) -> str:
    return f"{kind}:a{assignment_id}:o{officer_id}:{occurrence}:{channel}"


def effective_deadline(kind: str, due: date | None, calendar: WorkCalendar) -> date | None:
    """The day the work is due: the date itself, or a period's last working day.

    A dated deadline on a day off stays that date (that is what the notice says); only the
    reminders move.
    """
    if due is None:
        return None
    if kind == DeadlineKind.DATE:
        return due
    if kind in {DeadlineKind.MONTH, DeadlineKind.QUARTER, DeadlineKind.YEAR}:
        return calendar.previous_working_day(due)
    return None


def recurrence_for(task: TaskFacts, policy: ReminderPolicy) -> Recurrence:
    """The task's own rule, else one read from its wording, else the policy's default."""
    if task.recurrence:
        try:
            return Recurrence.parse(task.recurrence)
        except ValueError:
            pass
    return infer_recurrence(task.deadline_text) or Recurrence.parse(policy.recurrence)


@dataclass(frozen=True, slots=True)
class _Occurrence:
    kind: ReminderKind
    role: str
    occurrence: str
    send_on: date
    people: Sequence[Person]


class Planner:
    """Turns facts into `Planned` items; holds the calendar, time zone and default policy."""

    def __init__(self, calendar: WorkCalendar, tz: ZoneInfo, policy: ReminderPolicy) -> None:
        self.calendar = calendar
        self.tz = tz
        self.policy = policy
        self._templates: dict[tuple[Any, ...], tuple[tuple[ReminderKind, str, str, date], ...]] = {}

    def policy_for(self, task: TaskFacts) -> ReminderPolicy:
        return self.policy.with_overrides(task.policy)[0]

    def at(self, day: date, policy: ReminderPolicy) -> datetime:
        return datetime.combine(day, policy.send_time, self.tz).astimezone(UTC)

    def plan(
        self,
        task: TaskFacts,
        audience: Audience,
        *,
        since: datetime,
        until: date,
        finite_until: date | None = None,
    ) -> list[Planned]:
        """Everything `task` should send at or after `since`.

        Endless series (overdue notices, check-ins, report requests) are planned up to
        `until`; finite ones (before the deadline, escalations) in full, or up to
        `finite_until` when given (a sweep over every task plans a window and extends it
        each day; one task's re-plan plans all of it).
        """
        if task.status not in REMINDABLE_STATUSES:
            return []
        policy = self.policy_for(task)
        if not policy.enabled:
            return []
        since_day = since.astimezone(self.tz).date()
        occurrences = self._occurrences(task, audience, policy, since_day, until)
        best: dict[tuple[int, str, date], Planned] = {}
        times: dict[date, datetime] = {}
        for item in occurrences:
            if finite_until is not None and item.send_on > finite_until:
                continue
            due_at = times.get(item.send_on)
            if due_at is None:
                due_at = times[item.send_on] = self.at(item.send_on, policy)
            if due_at < since or not item.people:
                continue
            rank = _PRIORITY[item.kind]
            for person in item.people:
                for channel in person.channels:
                    slot = (person.officer_id, channel, item.send_on)
                    current = best.get(slot)
                    if current is not None and _PRIORITY[current.kind] >= rank:
                        continue
                    best[slot] = Planned(
                        assignment_id=task.id,
                        officer_id=person.officer_id,
                        channel=channel,
                        kind=item.kind,
                        role=item.role,
                        occurrence=item.occurrence,
                        send_on=item.send_on,
                        due_at=due_at,
                        key=reminder_key(
                            item.kind, task.id, person.officer_id, item.occurrence, channel
                        ),
                    )
        return sorted(best.values(), key=lambda p: (p.due_at, p.officer_id, p.channel))

    def may_send_by(self, task: TaskFacts, until: date) -> bool:
        """Cheap test: could this task have anything to send on or before `until`?

        Lets a sweep over many tasks skip the ones whose first reminder is months away.
        """
        if task.deadline_kind in {DeadlineKind.CONDITIONAL, DeadlineKind.RECURRING}:
            return True
        deadline = effective_deadline(task.deadline_kind, task.due_date, self.calendar)
        if deadline is None:
            return False
        policy = self.policy_for(task) if task.policy else self.policy
        longest = max((*policy.offsets, *policy.cooperating_offsets), default=0)
        # A run of days off (Tết) can move a reminder up to about two weeks earlier.
        return deadline - timedelta(days=longest + 16) <= until

    def _occurrences(
        self,
        task: TaskFacts,
        audience: Audience,
        policy: ReminderPolicy,
        since: date,
        until: date,
    ) -> list[_Occurrence]:
        """The task's occurrences with their recipients (dates come from `_template`)."""
        deadline = effective_deadline(task.deadline_kind, task.due_date, self.calendar)
        if deadline is not None:
            key: tuple[Any, ...] = (
                deadline,
                policy.offsets,
                policy.cooperating_offsets,
                policy.overdue_every,
                policy.escalate_head_after,
                policy.escalate_admins_after,
                since,
                until,
            )
        elif task.deadline_kind == DeadlineKind.CONDITIONAL:
            key = (DeadlineKind.CONDITIONAL, policy.checkin_weekday, since, until)
        elif task.deadline_kind == DeadlineKind.RECURRING:
            key = (DeadlineKind.RECURRING, str(recurrence_for(task, policy)), since, until)
        else:
            return []
        template = self._templates.get(key)
        if template is None:
            if len(self._templates) > 20_000:
                self._templates.clear()
            template = self._templates[key] = self._template(key, deadline, policy)
        lead = audience.unit(task.lead_unit_id)
        people: dict[str, Sequence[Person]] = {
            LEAD: lead,
            COOPERATING: [p for unit in task.cooperating_unit_ids for p in audience.unit(unit)],
            HEAD: [p for p in lead if p.role == Role.UNIT_HEAD],
            ADMIN: audience.escalation,
        }
        return [
            _Occurrence(kind, role, occurrence, day, people[role])
            for kind, role, occurrence, day in template
        ]

    def _template(
        self, key: tuple[Any, ...], deadline: date | None, policy: ReminderPolicy
    ) -> tuple[tuple[ReminderKind, str, str, date], ...]:
        """Kinds, roles, occurrences and days: the same for every task sharing `key`, so a
        sweep over thousands of tasks with the same deadline works the calendar once."""
        since, until = key[-2], key[-1]
        if deadline is not None:
            return tuple(self._dated(policy, deadline, since, until))
        if key[0] == DeadlineKind.CONDITIONAL:
            return tuple(
                (ReminderKind.CHECKIN, LEAD, _iso_week(day), day)
                for day in self._weekly(policy.checkin_weekday, since, until)
            )
        rule = Recurrence.parse(key[1])
        out = []
        for nominal in rule.dates(since, until + timedelta(days=7)):
            day = self.calendar.previous_working_day(nominal)
            if since <= day <= until:
                out.append((ReminderKind.REPORT_REQUEST, LEAD, nominal.isoformat(), day))
        return tuple(out)

    def _dated(
        self, policy: ReminderPolicy, deadline: date, since: date, until: date
    ) -> list[tuple[ReminderKind, str, str, date]]:
        cal = self.calendar
        out: list[tuple[ReminderKind, str, str, date]] = []
        stamp = deadline.isoformat()
        # Before and on the day: a day off moves the reminder earlier, never past the deadline.
        for offsets, role in ((policy.offsets, LEAD), (policy.cooperating_offsets, COOPERATING)):
            days = sorted({cal.previous_working_day(deadline - timedelta(days=n)) for n in offsets})
            out.extend(
                (ReminderKind.REMINDER, role, f"{stamp}@{day.isoformat()}", day) for day in days
            )
        # Overdue: the first working day after the deadline, then every N working days.
        first = cal.next_working_day(deadline + timedelta(days=1))
        day = first
        if day < since:
            # Jump to the series' first occurrence at or after `since`.
            elapsed = cal.working_days_between(first, cal.next_working_day(since))
            steps = -(-elapsed // policy.overdue_every)
            day = cal.add_working_days(first, steps * policy.overdue_every)
        while day <= until:
            out.append((ReminderKind.OVERDUE, LEAD, f"{stamp}@{day.isoformat()}", day))
            day = cal.add_working_days(day, policy.overdue_every)
        out.append(
            (
                ReminderKind.ESCALATE_HEAD,
                HEAD,
                stamp,
                cal.add_working_days(deadline, policy.escalate_head_after),
            )
        )
        out.append(
            (
                ReminderKind.ESCALATE_ADMINS,
                ADMIN,
                stamp,
                cal.add_working_days(deadline, policy.escalate_admins_after),
            )
        )
        return out

    def _weekly(self, weekday: int, since: date, until: date) -> list[date]:
        """That weekday each week (the next working day when it is a day off)."""
        out: list[date] = []
        nominal = since - timedelta(days=7)
        nominal += timedelta(days=(weekday - nominal.weekday()) % 7)
        while nominal <= until:
            day = self.calendar.next_working_day(nominal)
            if since <= day <= until and (not out or day != out[-1]):
                out.append(day)
            nominal += timedelta(days=7)
        return out


def _iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


# -- timeliness, for messages ---------------------------------------------------------------


def days_left(deadline: date, today: date) -> int:
    """Calendar days until the deadline (negative once late): what officers count."""
    return (deadline - today).days


def working_days_late(deadline: date, today: date, calendar: WorkCalendar) -> int:
    return calendar.working_days_between(deadline, today)
