"""`nhacviec import-notice FILE` and `nhacviec notices ...`: read a notice, review, confirm."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from bot.app import AppContext
from bot.cli.common import console, fail, print_json, run_with_context, table
from bot.config import get_settings
from bot.domain.enums import DeadlineKind
from bot.i18n import _
from bot.presentation import deadline_label, short_date, status_label
from bot.services.dto import TaskView
from bot.services.notice_import import (
    DraftLineView,
    DraftSummary,
    DraftView,
    ImportPreview,
    LineDeadline,
    NoticeMetaView,
    warning_label,
)

app = typer.Typer(help="Notices imported as drafts: review, fix, confirm.", no_args_is_help=True)

ACTOR = "cli"


def register(root: typer.Typer) -> None:
    root.command("import-notice")(import_notice)


def import_notice(
    path: Path = typer.Argument(..., help="The notice: .docx, .pdf (with text) or .txt."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    commit: bool = typer.Option(False, "--commit", help="Store it as a draft to confirm later."),
) -> None:
    """Read a conclusion notice and show its assignments for review."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        fail(_("Cannot read {file}: {reason}").format(file=path, reason=exc.strerror or exc))

    if commit:

        async def store(ctx: AppContext) -> DraftView:
            return await ctx.notices.commit(data, path.name, actor=ACTOR)

        draft = run_with_context(store)
        if as_json:
            print_json(draft.to_import_json())
            return
        _print_review(draft.notice, draft.lines, draft.warnings)
        _print_next_steps(draft, committed=True)
        return

    async def read(ctx: AppContext) -> ImportPreview:
        return await ctx.notices.preview(data, path.name)

    preview = run_with_context(read)
    if as_json:
        print_json(preview.to_json())
        return
    _print_review(preview.notice, preview.lines, preview.warnings)
    console.print(
        _("Nothing was stored. Add --commit to keep it as a draft for review."), markup=False
    )


@app.command("list")
def list_drafts(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Draft notices waiting for review."""

    async def action(ctx: AppContext) -> list[DraftSummary]:
        return await ctx.notices.list_drafts()

    drafts = run_with_context(action)
    if as_json:
        print_json([draft.to_json() for draft in drafts])
        return
    if not drafts:
        console.print(_("No draft notices."), markup=False)
        return
    rows = [
        [
            str(draft.id),
            _notice_heading(draft.notice),
            draft.file_name,
            str(draft.line_count),
            ", ".join(str(n) for n in draft.missing_leads) or "—",
        ]
        for draft in drafts
    ]
    table(
        [_("Draft"), _("Notice"), _("File"), _("Lines"), _("Lines without a lead unit")],
        rows,
        title=_("Draft notices"),
    )


@app.command("show")
def show_draft(
    draft_id: int = typer.Argument(..., help="Draft number (see `notices list`)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """A draft notice line by line, as it would become tasks."""

    async def action(ctx: AppContext) -> DraftView:
        return await ctx.notices.get_draft(draft_id)

    _show(run_with_context(action), as_json)


@app.command("set-unit")
def set_unit(
    draft_id: int = typer.Argument(..., help="Draft number."),
    line: int = typer.Argument(..., help="Line number in the review."),
    code: str = typer.Argument(..., help="The lead unit's code, e.g. GDDT."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Choose a line's lead unit."""

    async def action(ctx: AppContext) -> DraftView:
        return await ctx.notices.set_line_unit(draft_id, line, code, actor=ACTOR)

    _show(run_with_context(action), as_json)


@app.command("set-cooperating")
def set_cooperating(
    draft_id: int = typer.Argument(..., help="Draft number."),
    line: int = typer.Argument(..., help="Line number in the review."),
    codes: list[str] = typer.Argument(None, help="Cooperating units' codes (none clears them)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Replace a line's cooperating units."""

    async def action(ctx: AppContext) -> DraftView:
        return await ctx.notices.set_line_cooperating(draft_id, line, codes or [], actor=ACTOR)

    _show(run_with_context(action), as_json)


@app.command("set-deadline")
def set_deadline(
    draft_id: int = typer.Argument(..., help="Draft number."),
    line: int = typer.Argument(..., help="Line number in the review."),
    text: str = typer.Argument(..., help="E.g. 30/6/2023, 'trong tháng 9/2023', 'không'."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Set a line's deadline as you would write it."""

    async def action(ctx: AppContext) -> DraftView:
        return await ctx.notices.set_line_deadline(draft_id, line, text, actor=ACTOR)

    _show(run_with_context(action), as_json)


@app.command("drop")
def drop_line(
    draft_id: int = typer.Argument(..., help="Draft number."),
    line: int = typer.Argument(..., help="Line number in the review."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Leave a line out of the notice's tasks."""

    async def action(ctx: AppContext) -> DraftView:
        return await ctx.notices.drop_line(draft_id, line, actor=ACTOR)

    _show(run_with_context(action), as_json)


@app.command("confirm")
def confirm(
    draft_id: int = typer.Argument(..., help="Draft number."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Make the draft's lines live tasks; reminders start."""

    async def action(ctx: AppContext) -> list[TaskView]:
        return await ctx.notices.confirm(draft_id, actor=ACTOR)

    tasks = run_with_context(action)
    if as_json:
        print_json([task.to_json() for task in tasks])
        return
    locale = get_settings().bot_locale
    rows = [
        [
            task.code,
            task.lead_unit.short_name,
            task.title,
            deadline_label(task.deadline_kind, task.due_date, task.deadline_text, locale),
            status_label(task.status),
        ]
        for task in tasks
    ]
    table(
        [_("Code"), _("Lead unit"), _("Task"), _("Deadline"), _("Status")],
        rows,
        title=_("Tasks now live"),
    )
    console.print(
        _("{count} tasks are live; reminders will go out before their deadlines.").format(
            count=len(tasks)
        ),
        markup=False,
    )


@app.command("cancel")
def cancel(draft_id: int = typer.Argument(..., help="Draft number.")) -> None:
    """Throw a draft away (nothing went live)."""

    async def action(ctx: AppContext) -> None:
        await ctx.notices.cancel(draft_id, actor=ACTOR)

    run_with_context(action)
    console.print(_("Draft {id} was cancelled.").format(id=draft_id), markup=False)


# --- output ----------------------------------------------------------------------------------


def _show(draft: DraftView, as_json: bool) -> None:
    if as_json:
        print_json(draft.to_json())
        return
    _print_review(draft.notice, draft.lines, draft.warnings)
    _print_next_steps(draft)


def _notice_heading(notice: NoticeMetaView) -> str:
    parts = [notice.number or "", short_date(notice.issued_on) if notice.issued_on else ""]
    heading = " — ".join(p for p in parts if p)
    title = notice.title or ""
    return f"{heading}: {title}" if heading and title else heading or title or "—"


def _lead_cell(line: DraftLineView) -> str:
    if line.lead_unit is not None:
        cell = line.lead_unit.short_name or line.lead_unit.code
    else:
        unresolved = line.unresolved_lead
        written = unresolved.text if unresolved else "?"
        cell = "⚠ " + _("{text} (not in the registry)").format(text=written)
        if unresolved and unresolved.suggestions:
            cell += "\n" + _("suggestions: {codes}").format(
                codes=", ".join(unit.code for unit in unresolved.suggestions)
            )
    if line.cooperating_units:
        cell += "\n" + _("with: {units}").format(
            units=", ".join(unit.short_name or unit.code for unit in line.cooperating_units)
        )
    others = [u for u in line.unresolved if u.role != "lead"]
    if others:
        cell += "\n⚠ " + _("unknown: {units}").format(units="; ".join(u.text for u in others))
    return cell


def _deadline_cell(deadline: LineDeadline, locale: str) -> str:
    """As written, and what it was read as."""
    if deadline.kind == DeadlineKind.NONE.value:
        return deadline.text or "—"
    # Without the words, the label names the kind ("recurring") or the date it was read as.
    normalised = deadline_label(deadline.kind, deadline.due_date, "", locale)
    if not deadline.text:
        return normalised
    return f"{deadline.text}\n→ {normalised}"


def _print_review(
    notice: NoticeMetaView, lines: Sequence[DraftLineView], warnings: Sequence[str]
) -> None:
    locale = get_settings().bot_locale
    console.print(_notice_heading(notice), markup=False)
    for warning in warnings:
        console.print("⚠ " + warning_label(warning), markup=False)
    rows = [
        [
            str(line.no),
            line.section or "—",
            _lead_cell(line),
            line.title,
            _deadline_cell(line.deadline, locale),
        ]
        for line in lines
    ]
    table(
        [_("No."), _("Section"), _("Lead unit"), _("Action"), _("Deadline")],
        rows,
        title=_("Assignments read from the notice"),
    )


def _print_next_steps(draft: DraftView, *, committed: bool = False) -> None:
    if committed and draft.created:
        console.print(_("Stored as draft {id}.").format(id=draft.id), markup=False)
    elif committed:
        console.print(
            _("This file is already draft {id}; nothing new was stored.").format(id=draft.id),
            markup=False,
            soft_wrap=True,
        )
    if draft.missing_leads:
        console.print(
            _(
                "Lines without a lead unit: {lines}. Set one with "
                "`nhacviec notices set-unit {id} LINE CODE`, or drop the line with "
                "`nhacviec notices drop {id} LINE`."
            ).format(lines=", ".join(str(n) for n in draft.missing_leads), id=draft.id),
            markup=False,
            soft_wrap=True,
        )
    console.print(
        _("When it reads right: `nhacviec notices confirm {id}` (reminders start).").format(
            id=draft.id
        ),
        markup=False,
        soft_wrap=True,
    )
