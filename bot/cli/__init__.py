"""`nhacviec` command line: one Typer app, sub-commands assembled from modules."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from bot.cli import db, notices, registry, reminders, run, seed, tasks
from bot.config import get_settings
from bot.i18n import build_i18n

app = typer.Typer(
    name="nhacviec",
    help="Nhắc việc: reminders and progress tracking for a government office's tasks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(seed.app, name="seed")
app.add_typer(registry.units_app, name="units")
app.add_typer(registry.officers_app, name="officers")
app.add_typer(registry.invite_app, name="invite")
app.add_typer(tasks.app, name="tasks")
app.add_typer(reminders.app, name="reminders")
app.add_typer(notices.app, name="notices")
run.register(app)
reminders.register(app)
notices.register(app)


def _configured_locale() -> str:
    """BOT_LOCALE if the settings load; commands report a bad configuration themselves."""
    try:
        return get_settings().bot_locale
    except ValidationError:
        return "vi"


def main() -> None:
    locale = _configured_locale()
    i18n = build_i18n(locale)
    with i18n.context(), i18n.use_locale(locale):
        app()
