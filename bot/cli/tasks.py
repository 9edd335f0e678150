"""`nhacviec tasks ...`: assignments and their progress."""

from __future__ import annotations

import typer

from bot.app import AppContext
from bot.cli.common import console, parse_date_option, print_json, run_with_context, table
from bot.config import get_settings
from bot.i18n import _
from bot.presentation import deadline_label, status_label
from bot.services.dto import TaskView

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
