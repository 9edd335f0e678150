"""Shared CLI plumbing: settings with friendly errors, the app context, output helpers."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, NoReturn, TypeVar

import typer
from babel.dates import format_date
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from bot.app import AppContext, build_context, prepare_database
from bot.config import Settings, describe_settings_error, get_settings
from bot.domain.dates import DateParseError, parse_vn_date
from bot.i18n import _, build_i18n
from bot.services.errors import ServiceError
from bot.services.seed import SeedError

T = TypeVar("T")

console = Console(highlight=False, soft_wrap=False)
err_console = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    # Not wrapped at the terminal's width: each line stays whole for the admin and for grep.
    err_console.print(message, markup=False, soft_wrap=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        i18n = build_i18n()
        with i18n.context():
            fail(
                _("Configuration error (check .env or the environment):")
                + "\n"
                + describe_settings_error(exc),
                code=2,
            )


def run_with_context(action: Callable[[AppContext], Awaitable[T]], *, migrate: bool = True) -> T:
    """Build the app context, run `action` in the configured locale, always clean up."""
    settings = load_settings()

    async def runner() -> T:
        ctx = build_context(settings)
        try:
            with ctx.i18n.context(), ctx.i18n.use_locale(settings.bot_locale):
                if migrate:
                    await prepare_database(ctx)
                return await action(ctx)
        finally:
            await ctx.aclose()

    try:
        return asyncio.run(runner())
    except ServiceError as exc:
        i18n = build_i18n(settings.bot_locale)
        with i18n.context():
            fail(exc.message())
    except SeedError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(_translated_db_error(settings, exc))


def _translated_db_error(settings: Settings, exc: OSError) -> str:
    i18n = build_i18n(settings.bot_locale)
    with i18n.context():
        return _("Cannot reach the database: {error}").format(error=exc.strerror or exc)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def table(columns: Sequence[str], rows: Sequence[Sequence[str]], title: str | None = None) -> None:
    grid = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(*row)
    console.print(grid)


def parse_date_option(value: str | None) -> date | None:
    """Dates on the command line: 30/6/2023 (as officers write) or 2023-06-30."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return parse_vn_date(value)
    except DateParseError:
        fail(_("Cannot read the date {value}. Write it as 30/6/2023.").format(value=value))


def vn_date(value: date | None, locale: str) -> str:
    if value is None:
        return "—"
    weekday = format_date(value, "EEEE", locale=locale)
    return f"{value.day}/{value.month}/{value.year} ({weekday})"


@contextmanager
def locale_context(settings: Settings) -> Iterator[None]:
    i18n = build_i18n(settings.bot_locale)
    with i18n.context(), i18n.use_locale(settings.bot_locale):
        yield
