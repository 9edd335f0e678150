"""How tasks, timeliness and receipts read in chat, shared by every channel.

Plain text only (channels escape and mark up); the active locale of `bot.i18n` decides
the language, so callers wrap calls in `i18n.use_locale(...)` for the recipient.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.channels.base import OutgoingMessage
from bot.domain.enums import AssignmentStatus, ReportKind
from bot.domain.statuses import Timeliness, TimelinessView
from bot.i18n import _, get_i18n
from bot.presentation import deadline_label, long_date, role_label, status_label
from bot.services.dto import ReportView, TaskView, UnitView
from bot.services.reports import ReportReceipt, file_lines

if TYPE_CHECKING:
    from bot.services.admin import TaskLine


def locale() -> str:
    return get_i18n().current_locale


def local_time(at: datetime, tz: ZoneInfo) -> str:
    """09:15 23/6/2023: the time first, as officers say it."""
    value = at.astimezone(tz)
    return f"{value:%H:%M} {value.day}/{value.month}/{value.year}"


# Separate msgids rather than ngettext: Vietnamese has one form, English needs "1 day".
def days_left(days: int) -> str:
    return _("1 day left") if days == 1 else _("{n} days left").format(n=days)


def days_late(days: int) -> str:
    return _("1 day late") if days == 1 else _("{n} days late").format(n=days)


def timeliness_label(view: TimelinessView, status: str | None = None) -> str:
    """`status` matters for a result awaiting confirmation: its timeliness is judged on
    when it was reported (`assess` gives ON_TRACK with 0 days, or OVERDUE by the days
    late), so it reads "reported on time", never "on track (0 days left)"."""
    kind = view.timeliness
    days = view.days or 0
    # The office stopped the clock: a paused or cancelled task is neither on time nor late.
    if status == AssignmentStatus.PAUSED:
        return _("not counted while paused")
    if status == AssignmentStatus.CANCELLED:
        return _("not counted (cancelled)")
    if status == AssignmentStatus.AWAITING_CONFIRMATION:
        if kind is Timeliness.ON_TRACK:
            return _("reported on time")
        if kind is Timeliness.OVERDUE:
            return _("reported late") + f" ({days_late(days)})"
    if kind is Timeliness.ON_TRACK:
        if view.working_days_left is None and days == 0:
            return _("reported on time")  # a caller without the status (the CSV export)
        return _("on track") + (f" ({days_left(days)})" if view.days is not None else "")
    if kind is Timeliness.DUE_SOON:
        if days == 0:
            return _("due today")
        return _("due soon") + f" ({days_left(days)})"
    if kind is Timeliness.OVERDUE:
        return _("overdue") + f" ({days_late(days)})"
    if kind is Timeliness.DONE_ON_TIME:
        return _("done on time")
    if kind is Timeliness.DONE_LATE:
        return _("done late") + f" ({days_late(days)})"
    return _("no deadline")


def status_text(task: TaskView) -> str:
    label = status_label(task.status)
    if task.status == AssignmentStatus.IN_PROGRESS and task.percent is not None:
        return f"{label} {task.percent}%"
    return label


def task_line(task: TaskView, view: TimelinessView) -> str:
    """Two lines per task in a list: code and short title; deadline, timeliness, status."""
    deadline = deadline_label(task.deadline_kind, task.due_date, task.deadline_text, locale())
    return "\n".join(
        [
            f"• {task.code} — {task.title}",
            "   "
            + _("Deadline: {deadline}").format(deadline=deadline)
            + f" · {timeliness_label(view, task.status)} · {status_text(task)}",
        ]
    )


def report_kind_text(report: ReportView) -> str:
    kind = report.kind
    if kind == ReportKind.DONE:
        return _("result reported (done)")
    if kind == ReportKind.PROGRESS:
        if report.percent is not None:
            return _("progress {percent}%").format(percent=report.percent)
        return _("in progress")
    if kind == ReportKind.EXTENSION and report.proposed_due_date is not None:
        return _("extension requested to {date}").format(
            date=long_date(report.proposed_due_date, locale())
        )
    return _("note")


def report_line(report: ReportView, tz: ZoneInfo) -> str:
    parts = [f"{local_time(report.at, tz)} — {report.officer or '—'}: {report_kind_text(report)}"]
    if report.text:
        parts.append(f"   “{shorten(report.text, 300)}”")
    if report.attachments:
        parts.append("   " + file_lines(report.attachments))
    return "\n".join(parts)


def task_detail(task: TaskView, view: TimelinessView, tz: ZoneInfo) -> str:
    deadline = deadline_label(task.deadline_kind, task.due_date, task.deadline_text, locale())
    lines = [
        task.action,
        "",
        _("Deliverable: {deliverable}").format(deliverable=task.deliverable or "—"),
        _("Lead unit: {unit}").format(unit=task.lead_unit.name),
        _("Cooperating: {units}").format(
            units=", ".join(u.name for u in task.cooperating_units) or "—"
        ),
        _("Deadline: {deadline}").format(deadline=deadline),
    ]
    if task.deadline_condition:
        lines.append(_("Condition: {condition}").format(condition=task.deadline_condition))
    lines.append(_("Status: {status}").format(status=status_text(task)))
    if task.status_reason:  # why the office paused or cancelled it
        lines.append(_("Reason: {reason}").format(reason=task.status_reason))
    lines.append(
        _("Timeliness: {timeliness}").format(timeliness=timeliness_label(view, task.status))
    )
    lines.append("")
    if task.reports:
        lines.append(_("Progress log:"))
        lines.extend(report_line(r, tz) for r in task.reports)
    else:
        lines.append(_("No progress reported yet."))
    return "\n".join(lines)


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def receipt_text(
    receipt: ReportReceipt, tz: ZoneInfo, *, document_request: str | None = None
) -> str:
    """The receipt; `document_request` asks for the signed document the app's way."""
    report = receipt.report
    lines = [
        _("Task: {code} — {title}").format(code=receipt.task_code, title=receipt.task_title),
        _("Recorded: {what}").format(what=report_kind_text(report)),
    ]
    if report.kind == ReportKind.EXTENSION:
        lines.append(_("Reason: {reason}").format(reason=report.review_note or "—"))
    elif report.text:
        lines.append(_("Your words: “{text}”").format(text=shorten(report.text, 500)))
    lines.append(_("Time: {time}").format(time=local_time(report.at, tz)))
    lines.append(file_lines(report.attachments) if report.attachments else _("Files: none"))
    lines.append(_("Status now: {status}").format(status=status_label(receipt.status)))
    if report.kind == ReportKind.DONE:
        lines.append(_("The office will confirm the result; you will be told."))
    if report.kind == ReportKind.EXTENSION:
        lines.append(_("The office will decide on the new date; you will be told."))
    if receipt.adds_to_result:
        lines.append(_("The files were added to your reported result for the office's review."))
    if receipt.ask_for_document:
        lines.append("")
        lines.append(
            document_request
            or _(
                "Please also send the signed document (a file or a photo of it) as a reply to "
                "this message."
            )
        )
    return "\n".join(lines)


def task_list_message(title: str, lines: Sequence[TaskLine], empty: str) -> OutgoingMessage:
    """A titled list of tasks (overdue, due soon); `empty` when there is none."""
    if not lines:
        return OutgoingMessage(text=empty)
    body = "\n\n".join(
        f"{task_line(line.task, line.timeliness)}\n   "
        + _("Lead unit: {unit}").format(unit=line.task.lead_unit.short_name)
        for line in lines
    )
    return OutgoingMessage(title=f"{title} ({len(lines)})", text=body)


def units_message(units: Sequence[UnitView]) -> OutgoingMessage:
    """/units: each unit with its officers and whether they are registered in chat."""
    blocks = []
    for unit in units:
        officers = [
            f"   {'✅' if o.bound else '⏳'} {o.name} ({role_label(o.role)}"
            + (f", {', '.join(o.channels)}" if o.channels else "")
            + ")"
            for o in unit.officers
        ]
        bound = sum(1 for o in unit.officers if o.bound)
        head = f"• {unit.code} — {unit.name}: " + _("{bound}/{total} registered").format(
            bound=bound, total=len(unit.officers)
        )
        blocks.append("\n".join([head, *officers]) if officers else head)
    legend = _("✅ registered in chat · ⏳ invited, not yet registered")
    return OutgoingMessage(
        title=_("Units ({count})").format(count=len(units)),
        text="\n".join(blocks) + "\n\n" + legend,
    )
