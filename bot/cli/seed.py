"""`nhacviec seed load`: the curated units and assignments of a notice."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.app import AppContext
from bot.cli.common import console, print_json, run_with_context
from bot.i18n import _
from bot.services.seed import SeedSummary

app = typer.Typer(help="Seed data.", no_args_is_help=True)


@app.command("load")
def load(
    path: Path | None = typer.Argument(
        None, help="Seed YAML (default: the bundled Cẩm Thủy notice)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Load a seed file in one transaction; loading it again changes nothing."""

    async def action(ctx: AppContext) -> SeedSummary:
        return await ctx.seed.load(path)

    summary = run_with_context(action)
    if as_json:
        print_json(
            {
                "changed": summary.changed,
                "notice_created": summary.notice_created,
                "units_created": summary.units_created,
                "units_updated": summary.units_updated,
                "assignments_created": summary.assignments_created,
                "assignments_updated": summary.assignments_updated,
            }
        )
        return
    if not summary.changed:
        console.print(_("Seed already loaded: nothing changed."), markup=False)
        return
    console.print(
        _(
            "Seed loaded: {units_new} units added, {units_changed} updated; "
            "{tasks_new} tasks added, {tasks_changed} updated."
        ).format(
            units_new=len(summary.units_created),
            units_changed=len(summary.units_updated),
            tasks_new=len(summary.assignments_created),
            tasks_changed=len(summary.assignments_updated),
        ),
        markup=False,
    )
