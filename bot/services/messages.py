"""What the reminder engine says, as channel-neutral `OutgoingMessage`s.

Called inside the recipient's locale (`i18n.use_locale`), so every string goes through
`_()`; dates are written the way officers write them (30/6/2023, thứ Sáu). Texts are short
enough to read on a phone: the task, what is asked, the deadline, and what to do next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.channels.base import Button, OutgoingMessage
from bot.domain.actions import Action, Verb
from bot.domain.calendar import WorkCalendar
from bot.domain.policy import ReminderKind
from bot.domain.schedule import COOPERATING, effective_deadline, working_days_late
from bot.i18n import _, get_i18n, ngettext
from bot.presentation import deadline_label, long_date, short_date, status_label


@dataclass(frozen=True, slots=True)
class TaskBrief:
    """The facts a message about one task needs, read at send time (never stale)."""

    id: int
    code: str
    title: str
    action: str
    deliverable: str
    deadline_kind: str
    due_date: date | None
    deadline_text: str
    deadline_condition: str | None
    status: str
    lead_unit_code: str
    lead_unit_name: str
    completed_at: datetime | None = None
    confirmed_at: datetime | None = None


def _locale() -> str:
    return get_i18n().current_locale


def report_buttons(code: str, *, full: bool = True) -> tuple[tuple[Button, ...], ...]:
    """✅ Đã hoàn thành · 🔄 Đang thực hiện · ⏳ Xin gia hạn (progress only when not `full`)."""
    progress = Button(_("🔄 In progress"), Action(Verb.PROGRESS, code).payload())
    if not full:
        return ((progress,),)
    return (
        (
            Button(_("✅ Done"), Action(Verb.DONE, code).payload()),
            progress,
            Button(_("⏳ Ask for an extension"), Action(Verb.EXTEND, code).payload()),
        ),
    )


def deadline_of(task: TaskBrief) -> str:
    return deadline_label(task.deadline_kind, task.due_date, task.deadline_text, _locale())


def _task_lines(task: TaskBrief, *, with_unit: bool = True) -> list[str]:
    lines = [f"{task.code} — {task.title}" if task.title else task.code]
    if task.action:
        lines.append(_("Action: {action}").format(action=task.action))
    if task.deliverable:
        lines.append(_("Deliverable: {deliverable}").format(deliverable=task.deliverable))
    if with_unit:
        lines.append(_("Lead unit: {unit}").format(unit=task.lead_unit_name))
    lines.append(_("Deadline: {deadline}").format(deadline=deadline_of(task)))
    return lines


def _days(n: int) -> str:
    return ngettext("{n} day", "{n} days", n).format(n=n)


def _working_days(n: int) -> str:
    return ngettext("{n} working day", "{n} working days", n).format(n=n)


def task_message(
    kind: str, role: str | None, task: TaskBrief, *, today: date, calendar: WorkCalendar
) -> OutgoingMessage:
    """A reminder, overdue notice, escalation, check-in or report request about one task."""
    deadline = effective_deadline(task.deadline_kind, task.due_date, calendar)
    lines = _task_lines(task)
    buttons = report_buttons(task.code)
    if kind == ReminderKind.CHECKIN:
        title = _("Check-in: is task {code} ready to start?").format(code=task.code)
        if task.deadline_condition:
            lines.append(_("Condition: {condition}").format(condition=task.deadline_condition))
        lines.append(
            _(
                "Has this happened yet? If it has, please reply with the date, so the office "
                "can set the deadline."
            )
        )
        return OutgoingMessage("\n".join(lines), title, report_buttons(task.code, full=False))
    if kind == ReminderKind.REPORT_REQUEST:
        title = _("Periodic report: {code}").format(code=task.code)
        lines.append(
            _(
                "Please send this period's report on the task: reply to this message, "
                "attaching the document if there is one."
            )
        )
        return OutgoingMessage("\n".join(lines), title, report_buttons(task.code, full=False))
    if deadline is None:
        # A manual reminder on a task without a date.
        title = _("Reminder from the office: {code}").format(code=task.code)
        lines.append(_("Please report your progress with one of the choices below."))
        return OutgoingMessage("\n".join(lines), title, buttons)

    left = (deadline - today).days
    late_working = working_days_late(deadline, today, calendar)
    if kind == ReminderKind.ESCALATE_ADMINS:
        title = _("Overdue {days}: {code} ({unit})").format(
            days=_working_days(late_working), code=task.code, unit=task.lead_unit_name
        )
        lines.append(_("Status: {status}").format(status=status_label(task.status)))
        lines.append(_("The lead unit has not reported the result yet."))
        return OutgoingMessage("\n".join(lines), title)
    if kind == ReminderKind.ESCALATE_HEAD:
        title = _("Your unit's task {code} is overdue").format(code=task.code)
        lines.append(
            _(
                "It is {days} late. Please direct the responsible officers to finish it, "
                "or ask for an extension."
            ).format(days=_working_days(late_working))
        )
        return OutgoingMessage("\n".join(lines), title, buttons)
    if left < 0:
        title = _("Overdue: {code} is {days} late").format(code=task.code, days=_days(-left))
        lines.append(_("Please report the result, or ask for an extension if you need more time."))
        return OutgoingMessage("\n".join(lines), title, buttons)

    when = _("due today") if left == 0 else _("due in {days}").format(days=_days(left))
    if role == COOPERATING:
        title = _("Cooperation reminder: {code} is {when}").format(code=task.code, when=when)
        lines.append(
            _(
                "Your unit cooperates (phối hợp) on this task. Please work with the lead unit "
                "so that it is finished on time."
            )
        )
        return OutgoingMessage("\n".join(lines), title, report_buttons(task.code, full=False))
    if kind == ReminderKind.MANUAL:
        title = _("Reminder from the office: {code} is {when}").format(code=task.code, when=when)
    else:
        title = _("Reminder: {code} is {when}").format(code=task.code, when=when)
    lines.append(
        # Channel-neutral: Telegram shows the choices as buttons, Zalo as numbers.
        _(
            "Please report your progress with one of the choices below, or answer this "
            "message (you can attach the signed document)."
        )
    )
    return OutgoingMessage("\n".join(lines), title, buttons)


def _line(task: TaskBrief, extra: str) -> str:
    return f"• {task.code} — {task.title} ({task.lead_unit_name}): {extra}"


def timing(task: TaskBrief, *, today: date, calendar: WorkCalendar) -> str:
    """ "due 30/6/2023 (thứ Sáu), in 3 days" / "3 days late" / the deadline's wording."""
    deadline = effective_deadline(task.deadline_kind, task.due_date, calendar)
    if deadline is None:
        return deadline_of(task)
    left = (deadline - today).days
    if left < 0:
        return _("{days} late (due {date})").format(
            days=_days(-left), date=long_date(deadline, _locale())
        )
    if left == 0:
        return _("due today")
    return _("due {date}, in {days}").format(date=long_date(deadline, _locale()), days=_days(left))


def catchup_message(
    tasks: Sequence[TaskBrief], *, held: int, today: date, calendar: WorkCalendar
) -> OutgoingMessage:
    """One message instead of a burst after downtime."""
    title = ngettext(
        "You have {n} task that needs attention",
        "You have {n} tasks that need attention",
        len(tasks),
    ).format(n=len(tasks))
    lines = [
        ngettext(
            "{n} reminder could not be sent on time, so here is the picture as it is now:",
            "{n} reminders could not be sent on time, so here is the picture as it is now:",
            held,
        ).format(n=held)
    ]
    lines.extend(_line(task, timing(task, today=today, calendar=calendar)) for task in tasks)
    lines.append(
        _("Reply with a task's code (e.g. {code} xong) to report on it.").format(
            code=tasks[0].code if tasks else "VHXH23-04"
        )
    )
    return OutgoingMessage("\n".join(lines), title)


@dataclass(frozen=True, slots=True)
class DigestData:
    week_start: date
    scope: str | None  # the group's unit name, or None for the whole office
    due_this_week: Sequence[TaskBrief]
    overdue: Sequence[TaskBrief]
    done_since: Sequence[TaskBrief]
    since: date | None
    undated: Sequence[TaskBrief] = ()


def digest_message(data: DigestData, *, today: date, calendar: WorkCalendar) -> OutgoingMessage:
    title = _("Weekly summary, week of {date}").format(date=long_date(data.week_start, _locale()))
    lines: list[str] = []
    if data.scope:
        lines.append(_("Tasks of {unit}").format(unit=data.scope))
    lines.append(_("Due this week ({n}):").format(n=len(data.due_this_week)))
    lines.extend(
        _line(task, timing(task, today=today, calendar=calendar)) for task in data.due_this_week
    )
    if not data.due_this_week:
        lines.append(_("• nothing"))
    lines.append("")
    lines.append(_("Overdue ({n}):").format(n=len(data.overdue)))
    lines.extend(_line(task, timing(task, today=today, calendar=calendar)) for task in data.overdue)
    if not data.overdue:
        lines.append(_("• nothing"))
    lines.append("")
    if data.since is not None:
        header = _("Done since the summary of {date} ({n}):").format(
            date=short_date(data.since), n=len(data.done_since)
        )
    else:
        header = _("Done in the past week ({n}):").format(n=len(data.done_since))
    lines.append(header)
    lines.extend(_line(task, status_label(task.status)) for task in data.done_since)
    if not data.done_since:
        lines.append(_("• nothing"))
    if data.undated:
        lines.append("")
        lines.append(_("Ongoing, without a fixed date ({n}):").format(n=len(data.undated)))
        lines.extend(_line(task, deadline_of(task)) for task in data.undated)
    return OutgoingMessage("\n".join(lines), title)


def admin_summary_message(
    overdue: Sequence[TaskBrief],
    awaiting: Sequence[TaskBrief],
    *,
    today: date,
    calendar: WorkCalendar,
) -> OutgoingMessage:
    title = _("Overdue tasks on {date}: {n}").format(
        date=long_date(today, _locale()), n=len(overdue)
    )
    lines: list[str] = []
    for task in overdue:
        deadline = effective_deadline(task.deadline_kind, task.due_date, calendar)
        late = working_days_late(deadline, today, calendar) if deadline else 0
        lines.append(
            _line(
                task,
                _("{days} late, {status}").format(
                    days=_working_days(late), status=status_label(task.status)
                ),
            )
        )
    if awaiting:
        lines.append("")
        lines.append(_("Reported done, awaiting your confirmation ({n}):").format(n=len(awaiting)))
        lines.extend(_line(task, deadline_of(task)) for task in awaiting)
    return OutgoingMessage("\n".join(lines) or _("• nothing"), title)


def unreachable_alert(
    *, officer: str, unit: str | None, channel: str, reason: str
) -> OutgoingMessage:
    title = _("Cannot reach {name} on {channel}").format(name=officer, channel=_channel(channel))
    lines = [
        _("{name} ({unit}) can no longer receive messages on {channel}: {reason}.").format(
            name=officer, unit=unit or "—", channel=_channel(channel), reason=reason
        ),
        _(
            "Their account has been switched off in Nhắc việc. Please contact them and send a "
            "new invite so they can bind again."
        ),
    ]
    return OutgoingMessage("\n".join(lines), title)


def group_unreachable_alert(*, title: str, channel: str, reason: str) -> OutgoingMessage:
    heading = _("Cannot post to the group {title}").format(title=title or "—")
    text = _(
        "The group {title} on {channel} no longer accepts the bot's messages ({reason}); it "
        "will get no more digests. Add the bot again and bind the group to resume."
    ).format(title=title or "—", channel=_channel(channel), reason=reason)
    return OutgoingMessage(text, heading)


def unreachable_reason(error: str) -> str:
    """The platform's English error, as an admin would say it."""
    text = error.lower()
    if "blocked" in text:
        return _("they blocked the bot")
    if "kicked" in text or "not a member" in text or "moved to" in text:
        return _("the bot is no longer in the chat")
    if "deactivated" in text:
        return _("the account was deleted")
    if "not found" in text:
        return _("the chat no longer exists")
    return _("the app refuses our messages")


def _channel(channel: str) -> str:
    return {"telegram": "Telegram", "zalo": "Zalo", "zalo_oa": "Zalo OA"}.get(channel, channel)
