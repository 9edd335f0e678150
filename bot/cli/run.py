"""`nhacviec run`: the long-running service."""

from __future__ import annotations

import asyncio

import typer

from bot.app import build_context
from bot.cli.common import fail, load_settings
from bot.i18n import _, build_i18n
from bot.logs import setup_logging
from bot.runtime import MissingTokenError, RunOptions, StartupError, serve


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        no_scheduler: bool = typer.Option(
            False, "--no-scheduler", help="Do not send reminders from this process."
        ),
    ) -> None:
        """Run the service: chat bots, web server and (unless told not to) the scheduler."""
        settings = load_settings()
        setup_logging(settings)

        async def main() -> None:
            ctx = build_context(settings)
            try:
                with ctx.i18n.context(), ctx.i18n.use_locale(settings.bot_locale):
                    await serve(ctx, RunOptions(scheduler=not no_scheduler))
            finally:
                await ctx.aclose()

        try:
            asyncio.run(main())
        except MissingTokenError:
            i18n = build_i18n(settings.bot_locale)
            with i18n.context():
                fail(
                    _(
                        "No chat bot is configured. Fill in TELEGRAM_BOT_TOKEN (Telegram), "
                        "ZALO_BOT_TOKEN (Zalo) or ZALO_OA_APP_ID and ZALO_OA_SECRET_KEY (Zalo "
                        "Official Account) in .env, then run again."
                    ),
                    code=2,
                )
        except StartupError as exc:
            # Already one translated line naming the setting (never its value).
            fail(str(exc), code=2)
        except OSError as exc:
            i18n = build_i18n(settings.bot_locale)
            with i18n.context():
                fail(_("Cannot reach the database: {error}").format(error=exc.strerror or exc))
