"""`nhacviec tick` and `nhacviec reminders list`: the reminder engine by hand.

`tick --now 2023-06-23T08:00:00+07:00` runs once, at that instant, everything the service's
scheduler would: plan, queue digests, fold stale reminders, send what is due (through the
configured chat apps). Running it twice sends nothing the second time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

import typer

from bot.app import AppContext, build_context, prepare_database
from bot.channels.router import build_senders, close_senders
from bot.cli.common import console, fail, load_settings, print_json, table
from bot.clock import Clock, FrozenClock, SystemClock
from bot.i18n import _, build_i18n
from bot.services.errors import ServiceError
from bot.services.reminders import PlanItemView, TickSummary

T = TypeVar("T")

app = typer.Typer(help="Reminders: the plan and the outbox.", no_args_is_help=True)


def parse_instant(value: str | None) -> datetime | None:
    """ISO 8601 with a time zone (2023-06-23T08:00:00+07:00); naive means BOT_TIMEZONE."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(
            _("Cannot read the time {value}. Write it as 2023-06-23T08:00:00+07:00.").format(
                value=value
            )
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=load_settings().tz)
    return moment


def _run(action: Callable[[AppContext], Awaitable[T]], *, now: datetime | None, send: bool) -> T:
    """Like `run_with_context`, with the clock frozen at `now` and the senders registered."""
    settings = load_settings()

    async def runner() -> T:
        clock: Clock = FrozenClock(now) if now is not None else SystemClock()
        ctx = build_context(settings, clock=clock)
        senders = build_senders(settings) if send else []
        try:
            with ctx.i18n.context(), ctx.i18n.use_locale(settings.bot_locale):
                await prepare_database(ctx)
                for sender in senders:
                    ctx.channels.register(sender)
                return await action(ctx)
        finally:
            await close_senders(senders)
            await ctx.aclose()

    try:
        return asyncio.run(runner())
    except ServiceError as exc:
        with build_i18n(settings.bot_locale).context():
            fail(exc.message())
    except OSError as exc:
        with build_i18n(settings.bot_locale).context():
            fail(_("Cannot reach the database: {error}").format(error=exc.strerror or exc))


def register(root: typer.Typer) -> None:
    @root.command("tick")
    def tick(
        now: str | None = typer.Option(
            None,
            "--now",
            help="Act as if it were this instant (ISO 8601, e.g. 2023-06-23T08:00:00+07:00).",
        ),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """Plan and send, once, everything due now (or at --now)."""
        moment = parse_instant(now)

        async def action(ctx: AppContext) -> tuple[TickSummary, list[str]]:
            if not ctx.channels.kinds():
                console.print(
                    _("No chat app is configured (TELEGRAM_BOT_TOKEN): nothing will be sent."),
                    markup=False,
                )
            return await ctx.reminders.tick(moment), sorted(ctx.channels.kinds())

        summary, channels = _run(action, now=moment, send=True)
        if as_json:
            print_json({**summary.to_json(), "channels": channels})
            return
        console.print(
            _(
                "Tick at {at}: {planned} reminders planned, {sent} sent, {retried} to retry, "
                "{failed} failed, {waiting} waiting (outside office hours or no chat app)."
            ).format(
                at=summary.at.astimezone(load_settings().tz).strftime("%H:%M %d/%m/%Y"),
                planned=summary.planned,
                sent=summary.sent,
                retried=summary.retried + summary.rate_limited,
                failed=summary.failed,
                waiting=summary.waiting,
            ),
            markup=False,
        )
        if summary.coalesced:
            console.print(
                _("{n} stale reminders were folded into one message per person.").format(
                    n=summary.coalesced
                ),
                markup=False,
            )


@app.command("list")
def list_reminders(
    task: str | None = typer.Option(None, "--task", help="Only this task's reminders."),
    include_all: bool = typer.Option(
        False, "--all", help="Include cancelled and folded reminders."
    ),
    now: str | None = typer.Option(None, "--now", help="Plan as of this instant (ISO 8601)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """The reminder plan: what will be (and was) sent, to whom, when."""
    moment = parse_instant(now)

    async def action(ctx: AppContext) -> list[PlanItemView]:
        return await ctx.reminders.plan(task_code=task, now=moment, include_closed=include_all)

    items = _run(action, now=moment, send=False)
    if as_json:
        print_json([item.to_json() for item in items])
        return
    rows = [
        [
            item.due_at.strftime("%H:%M %d/%m/%Y"),
            item.task or "—",
            _kind_label(item.kind),
            f"{item.recipient} ({item.unit})" if item.unit else item.recipient,
            item.channel,
            _status_label(item.status),
        ]
        for item in items
    ]
    table(
        [_("When"), _("Task"), _("Kind"), _("To"), _("Chat app"), _("Status")],
        rows,
        title=_("Reminders"),
    )


def _kind_label(kind: str) -> str:
    labels = {
        "reminder": _("reminder"),
        "overdue": _("overdue notice"),
        "escalate_head": _("to the unit head"),
        "escalate_admins": _("to admins and leaders"),
        "checkin": _("check-in"),
        "report_request": _("report request"),
        "manual": _("sent by hand"),
        "digest": _("group digest"),
        "admin_summary": _("admin summary"),
        "catchup": _("catch-up"),
        "alert": _("alert"),
    }
    return labels.get(kind, kind)


def _status_label(status: str) -> str:
    labels = {
        "pending": _("planned"),
        "sending": _("sending"),
        "sent": _("sent"),
        "failed": _("failed"),
        "cancelled": _("cancelled"),
        "coalesced": _("folded"),
    }
    return labels.get(status, status)
