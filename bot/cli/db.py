"""`nhacviec db ...`: schema migrations."""

from __future__ import annotations

import typer

from bot.app import AppContext
from bot.cli.common import console, run_with_context
from bot.i18n import _
from storage import migrate

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Migrate the database to the latest schema."""

    async def action(ctx: AppContext) -> str | None:
        await migrate.upgrade(ctx.engine)
        return await migrate.current_revision(ctx.engine)

    revision = run_with_context(action, migrate=False)
    console.print(_("Database is at revision {revision}.").format(revision=revision), markup=False)


@app.command("current")
def current() -> None:
    """Show the schema revision the database is at."""

    async def action(ctx: AppContext) -> str | None:
        return await migrate.current_revision(ctx.engine)

    revision = run_with_context(action, migrate=False)
    console.print(revision or _("(empty database)"), markup=False)
