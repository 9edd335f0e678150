"""`nhacviec tasks ...`: assignments and their progress."""

from __future__ import annotations

import getpass

import typer

from bot.app import AppContext
from bot.cli.common import console, fail, parse_date_option, print_json, run_with_context, table
from bot.config import get_settings
from bot.i18n import _
from bot.presentation import deadline_label, status_label
from bot.services.admin import StatusChangeView
from bot.services.dto import TaskView
from bot.services.reports import Actor

app = typer.Typer(help="Tasks (assignments) and their progress.", no_args_is_help=True)


@app.command("list")
def list_tasks(
    unit: str | None = typer.Option(None, "--unit", help="Tasks a unit leads or cooperates on."),
    status: str | None = typer.Option(None, "--status", help="A status, or 'open'."),
    due_before: str | None = typer.Option(
        None, "--due-before", help="Due before this date (30/6/2023)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List tasks, soonest deadline first."""
    before = parse_date_option(due_before)

    async def action(ctx: AppContext) -> list[TaskView]:
        return await ctx.tasks.list_tasks(unit_code=unit, status=status, due_before=before)

    tasks = run_with_context(action)
    if as_json:
        print_json([task.to_json() for task in tasks])
        return
    locale = get_settings().bot_locale
    rows = [
        [
            task.code,
            task.title,
            task.lead_unit.short_name,
            deadline_label(task.deadline_kind, task.due_date, task.deadline_text, locale),
            status_label(task.status),
        ]
        for task in tasks
    ]
    table(
        [_("Code"), _("Task"), _("Lead unit"), _("Deadline"), _("Status")], rows, title=_("Tasks")
    )


@app.command("show")
def show_task(
    code: str = typer.Argument(..., help="Task code, e.g. VHXH23-04."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """A task in full, with its progress log."""

    async def action(ctx: AppContext) -> TaskView:
        return await ctx.tasks.get_task(code)

    task = run_with_context(action)
    if as_json:
        print_json(task.to_json())
        return
    locale = get_settings().bot_locale
    lines = [
        f"{task.code} — {task.title}",
        _("Section: {section}").format(section=task.section or "—"),
        _("Action: {action}").format(action=task.action),
        _("Deliverable: {deliverable}").format(deliverable=task.deliverable or "—"),
        _("Lead unit: {unit}").format(unit=task.lead_unit.name),
        _("Cooperating: {units}").format(
            units=", ".join(u.name for u in task.cooperating_units) or "—"
        ),
        _("Deadline: {deadline}").format(
            deadline=deadline_label(task.deadline_kind, task.due_date, task.deadline_text, locale)
        ),
        _("Status: {status}").format(status=status_label(task.status)),
    ]
    if task.status_reason:
        lines.append(_("Reason: {reason}").format(reason=task.status_reason))
    for line in lines:
        console.print(line, markup=False)
    if not task.reports:
        console.print(_("No progress reported yet."), markup=False)
        return
    rows = [
        [
            report.at.astimezone(get_settings().tz).strftime("%H:%M %d/%m/%Y"),
            report.officer or "—",
            report.text or "—",
            f"{report.percent}%" if report.percent is not None else "",
            ", ".join(a.file_name for a in report.attachments),
        ]
        for report in task.reports
    ]
    table([_("When"), _("Officer"), _("Report"), "%", _("Files")], rows, title=_("Progress"))


def _cli_actor() -> Actor:
    """The person at the server's console acts as an administrator (named in the audit log)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers)
        user = "admin"
    return Actor(channel="cli", user_id=user, chat_id="", officer=None, is_admin=True)


def _print_change(change: StatusChangeView, text: str, as_json: bool) -> None:
    if as_json:
        print_json({**change.task.to_json(), "old_status": change.old_status, "told": change.told})
        return
    console.print(text, markup=False)
    if change.reason:
        console.print(_("Reason: {reason}").format(reason=change.reason), markup=False)
    unit = change.task.lead_unit.name
    told = (
        _("{count} officer(s) of {unit} have been told.").format(count=change.told, unit=unit)
        if change.told
        else _("No officer of {unit} is registered in chat yet.").format(unit=unit)
    )
    console.print(told, markup=False)


@app.command("pause")
def pause_task(
    code: str = typer.Argument(..., help="Task code, e.g. VHXH23-04."),
    reason: str = typer.Option("", "--reason", help="Why (the lead unit is told)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Pause a task (tạm dừng): no reminders or escalation until it is resumed."""

    async def action(ctx: AppContext) -> StatusChangeView:
        return await ctx.admin.pause(_cli_actor(), code, reason)

    change = run_with_context(action)
    text = _("Task {code} is paused; its reminders stop until it is resumed.").format(
        code=change.task.code
    )
    _print_change(change, text, as_json)


@app.command("resume")
def resume_task(
    code: str = typer.Argument(..., help="Task code, e.g. VHXH23-04."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Resume a paused task (tiếp tục): its future reminders come back."""

    async def action(ctx: AppContext) -> StatusChangeView:
        return await ctx.admin.resume(_cli_actor(), code)

    change = run_with_context(action)
    task = change.task
    locale = get_settings().bot_locale
    text = _(
        "Task {code} is resumed ({status}). Reminders follow its deadline again: {deadline}."
    ).format(
        code=task.code,
        status=status_label(task.status),
        deadline=deadline_label(task.deadline_kind, task.due_date, task.deadline_text, locale),
    )
    _print_change(change, text, as_json)


@app.command("cancel")
def cancel_task(
    code: str = typer.Argument(..., help="Task code, e.g. VHXH23-04."),
    reason: str = typer.Option("", "--reason", help="Why (required; the lead unit is told)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Cancel a task (hủy) for good: it leaves the lists and gets no more reminders."""
    if not reason.strip():
        fail(_('Please give the reason for cancelling with --reason "…", so the unit knows why.'))

    async def action(ctx: AppContext) -> StatusChangeView:
        return await ctx.admin.cancel(_cli_actor(), code, reason)

    change = run_with_context(action)
    text = _(
        "Task {code} is cancelled. It leaves the task lists and gets no more reminders."
    ).format(code=change.task.code)
    _print_change(change, text, as_json)
