"""Administrators' commands. The router is reachable only by admins (router-level filter);
`build_refusal_router` answers everyone else politely, without any data."""

from __future__ import annotations

from datetime import date

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from bot.app import AppContext
from bot.channels.base import OutgoingMessage
from bot.domain.dates import DateParseError, parse_vn_date
from bot.i18n import _
from bot.presentation import deadline_label, long_date, status_label
from bot.services.admin import StatusChangeView
from bot.services.dto import TaskView
from bot.services.errors import InvalidValueError
from bot.services.reports import Actor, ReviewOutcome, outcome_text
from bot.services.wording import locale, task_list_message, units_message
from handlers.telegram.filters import IsAdmin, IsNotAdmin
from handlers.telegram.render import send

ADMIN_COMMANDS = (
    "overdue",
    "due",
    "units",
    "approve",
    "reject",
    "extend",
    "setdate",
    "assign",
    "remind",
    "invite",
    "bindgroup",
    "digest",
    "export",
    "pause",
    "resume",
    "huy",
    "canceltask",
)


def build_admin_router() -> Router:
    router = Router(name="admin")
    router.message.filter(IsAdmin())
    # Only these work in a group: the rest would show office data to the whole group.
    router.message.register(bind_group, Command("bindgroup"))
    router.message.register(send_digest, Command("digest"))
    private = Router(name="admin-private")
    private.message.filter(F.chat.type == "private")
    private.message.register(list_overdue, Command("overdue"))
    private.message.register(list_due, Command("due"))
    private.message.register(list_units, Command("units"))
    private.message.register(approve_report, Command("approve"))
    private.message.register(reject_report, Command("reject"))
    private.message.register(extend_deadline, Command("extend"))
    private.message.register(set_deadline_date, Command("setdate"))
    private.message.register(remind_now, Command("remind"))
    private.message.register(invite_officer, Command("invite"))
    private.message.register(export_report, Command("export"))
    private.message.register(pause_task, Command("pause"))
    private.message.register(resume_task, Command("resume"))
    # /cancel already leaves a guided dialogue, so cancelling a task is /huy (or /canceltask).
    private.message.register(cancel_task, Command("huy", "canceltask"))
    router.include_router(private)
    return router


def build_refusal_router() -> Router:
    router = Router(name="admin-refusal")
    router.message.filter(IsNotAdmin())
    router.message.register(refuse_admin_command, Command(*ADMIN_COMMANDS))
    return router


async def refuse_admin_command(message: Message, bot: Bot) -> None:
    """Any admin command from a non-admin: a polite refusal, no data."""
    await send(
        bot,
        message.chat.id,
        [OutgoingMessage(text=_("Sorry, this command is for the office's administrators."))],
    )


def _usage(text: str) -> InvalidValueError:
    return InvalidValueError(_("Usage: {usage}").format(usage=text))


def _date(text: str) -> date:
    try:
        return parse_vn_date(text)
    except DateParseError as exc:
        raise InvalidValueError(
            _("Cannot read the date {value}. Write it as 30/6/2023.").format(value=text)
        ) from exc


async def list_overdue(message: Message, bot: Bot, ctx: AppContext) -> None:
    """/overdue: open tasks past their deadline, longest late first."""
    lines = await ctx.admin.overdue()
    reply = task_list_message(_("Overdue tasks"), lines, _("No task is overdue."))
    await send(bot, message.chat.id, [reply])


async def list_due(message: Message, command: CommandObject, bot: Bot, ctx: AppContext) -> None:
    """/due [days]: open tasks due within N days (7 by default)."""
    arg = (command.args or "7").strip()
    if not arg.isdigit():
        raise _usage("/due 7")
    days = int(arg)
    lines = await ctx.admin.due_within(days)
    reply = task_list_message(
        _("Tasks due within {days} days").format(days=days),
        lines,
        _("No open task is due within {days} days.").format(days=days),
    )
    await send(bot, message.chat.id, [reply])


async def list_units(message: Message, bot: Bot, ctx: AppContext) -> None:
    """/units: every unit with its officers and who is registered."""
    await send(bot, message.chat.id, [units_message(await ctx.admin.units())])


def review_reply(outcome: ReviewOutcome) -> OutgoingMessage:
    """What the deciding admin sees after a decision."""
    title, text = outcome_text(outcome, locale())
    who = outcome.officer_name or "—"
    return OutgoingMessage(
        title=title, text=text + "\n" + _("{name} has been told.").format(name=who)
    )


async def approve_report(
    message: Message, command: CommandObject, bot: Bot, ctx: AppContext, actor: Actor
) -> None:
    """/approve CODE: confirm the reported result, or approve the extension request."""
    if not command.args:
        raise _usage("/approve CODE")
    outcome = await ctx.reports.approve(actor, command.args.split()[0])
    await send(bot, message.chat.id, [review_reply(outcome)])


async def reject_report(
    message: Message, command: CommandObject, bot: Bot, ctx: AppContext, actor: Actor
) -> None:
    """/reject CODE reason: send the result back, or refuse the extension request."""
    code, _sep, reason = (command.args or "").strip().partition(" ")
    if not code or not reason.strip():
        raise _usage(_("/reject CODE reason"))
    outcome = await ctx.reports.reject(actor, code, reason)
    await send(bot, message.chat.id, [review_reply(outcome)])


async def extend_deadline(
    message: Message, command: CommandObject, bot: Bot, ctx: AppContext, actor: Actor
) -> None:
    """/extend CODE DD/MM/YYYY reason: move a deadline (the history keeps the old one)."""
    parts = (command.args or "").split(maxsplit=2)
    if len(parts) < 2:
        raise _usage(_("/extend CODE DD/MM/YYYY reason"))
    reason = parts[2] if len(parts) > 2 else ""
    change = await ctx.admin.extend(actor, parts[0], _date(parts[1]), reason)
    await send(bot, message.chat.id, [_deadline_reply(change.task, change.old_due_date)])


async def set_deadline_date(
    message: Message, command: CommandObject, bot: Bot, ctx: AppContext, actor: Actor
) -> None:
    """/setdate CODE DD/MM/YYYY: the condition happened, the task now has a date."""
    parts = (command.args or "").split()
    if len(parts) != 2:
        raise _usage("/setdate CODE DD/MM/YYYY")
    change = await ctx.admin.set_date(actor, parts[0], _date(parts[1]))
    await send(bot, message.chat.id, [_deadline_reply(change.task, change.old_due_date)])


def _deadline_reply(task: TaskView, old_due: date | None) -> OutgoingMessage:
    deadline = deadline_label(task.deadline_kind, task.due_date, task.deadline_text, locale())
    return OutgoingMessage(
        title=_("Deadline changed: {code}").format(code=task.code),
        text="\n".join(
            [
                task.title,
                _("New deadline: {deadline}").format(deadline=deadline),
                _("The lead unit's officers have been told; reminders follow the new date."),
            ]
        ),
    )


async def remind_now(
    message: Message, command: CommandObject, bot: Bot, ctx: AppContext, actor: Actor
) -> None:
    """/remind CODE: send the task's reminder to its lead unit now."""
    if not command.args:
        raise _usage("/remind CODE")
    code = command.args.split()[0].upper()
    count = await ctx.reminders.remind_now(code, actor=actor.audit_name)
    await send(
        bot,
        message.chat.id,
        [
            OutgoingMessage(
                text=_("Reminder for {code} sent to {count} officer(s).").format(
                    code=code, count=count
                )
            )
        ],
    )


def _code_and_reason(command: CommandObject, usage: str) -> tuple[str, str]:
    code, _sep, reason = (command.args or "").strip().partition(" ")
    if not code:
        raise _usage(usage)
    return code, reason.strip()


async def pause_task(
    message: Message, command: CommandObject, bot: Bot, ctx: AppContext, actor: Actor
) -> None:
    """/pause CODE [reason]: tạm dừng — no reminders or escalation until /resume."""
    code, reason = _code_and_reason(command, _("/pause CODE [reason]"))
    change = await ctx.admin.pause(actor, code, reason)
    text = _("Task {code} is paused. Reminders and escalations stop until you send /resume {code}.")
    await _send_status(bot, message, change, text)


async def resume_task(
    message: Message, command: CommandObject, bot: Bot, ctx: AppContext, actor: Actor
) -> None:
    """/resume CODE: tiếp tục — the task is live again, with its future reminders."""
    code, _reason = _code_and_reason(command, "/resume CODE")
    change = await ctx.admin.resume(actor, code)
    text = _("Task {code} is resumed ({status}). Reminders follow its deadline again: {deadline}.")
    await _send_status(bot, message, change, text)


async def cancel_task(
    message: Message, command: CommandObject, bot: Bot, ctx: AppContext, actor: Actor
) -> None:
    """/huy CODE reason (or /canceltask): hủy — the task leaves every list for good."""
    code, reason = _code_and_reason(command, _("/huy CODE reason"))
    change = await ctx.admin.cancel(actor, code, reason)
    text = _("Task {code} is cancelled. It leaves the task lists and gets no more reminders.")
    await _send_status(bot, message, change, text)


async def _send_status(bot: Bot, message: Message, change: StatusChangeView, text: str) -> None:
    """One reply for /pause, /resume and /huy; `text` may name {code}, {status} and {deadline}."""
    task = change.task
    deadline = deadline_label(task.deadline_kind, task.due_date, task.deadline_text, locale())
    reply = text.format(code=task.code, status=status_label(task.status), deadline=deadline)
    lines = [task.title, reply]
    if change.reason:
        lines.append(_("Reason: {reason}").format(reason=change.reason))
    unit = task.lead_unit.name
    if change.told:
        lines.append(
            _("{count} officer(s) of {unit} have been told.").format(count=change.told, unit=unit)
        )
    else:
        lines.append(_("No officer of {unit} is registered in chat yet.").format(unit=unit))
    title = f"{task.code} — {status_label(task.status)}"
    await send(bot, message.chat.id, [OutgoingMessage(title=title, text="\n".join(lines))])


async def invite_officer(
    message: Message, command: CommandObject, bot: Bot, ctx: AppContext, actor: Actor
) -> None:
    """/invite UNIT Full name: a single-use code and link for a new officer.
    /invite [UNIT] #ID: a code that binds one more app to officer #ID (no second record)."""
    args = (command.args or "").split()
    target = _officer_ref(args[-1]) if args else None
    if target is not None and len(args) <= 2:
        invite = await ctx.registry.create_invite(
            unit_code=args[0] if len(args) == 2 else None,
            officer_id=target,
            actor=actor.audit_name,
        )
    else:
        unit, _sep, name = (command.args or "").strip().partition(" ")
        if not unit or not name.strip():
            raise _usage(_("/invite UNIT Full name") + "\n" + _("/invite #ID"))
        invite = await ctx.registry.create_invite(
            unit_code=unit, officer_name=name.strip(), actor=actor.audit_name
        )
    lines = [
        _("Invite for {name} ({unit}):").format(
            name=invite.officer_name, unit=invite.unit_code or "—"
        ),
        _("Code: {code}").format(code=invite.code),
    ]
    if invite.telegram_link:
        lines.append(_("Telegram link: {link}").format(link=invite.telegram_link))
    lines.append(invite.zalo_text)
    lines.append(
        _("Valid until {date}; it can be used once.").format(
            date=long_date(invite.expires_at.astimezone(ctx.settings.tz).date(), locale())
        )
    )
    if target is not None:
        lines.append(
            _(
                "It adds an app to this officer's registration; their earlier unused "
                "codes no longer work."
            )
        )
    await send(bot, message.chat.id, [OutgoingMessage(text="\n".join(lines))])


def _officer_ref(text: str) -> int | None:
    """#12 → 12: how /invite names an existing officer (ids: `nhacviec officers list`)."""
    if text.startswith("#") and text[1:].isdigit():
        return int(text[1:])
    return None


async def bind_group(
    message: Message, command: CommandObject, bot: Bot, ctx: AppContext, actor: Actor
) -> None:
    """/bindgroup [UNIT] in a group: this group receives the digests."""
    if message.chat.type not in ("group", "supergroup"):
        await send(
            bot,
            message.chat.id,
            [OutgoingMessage(text=_("Send /bindgroup in the group that should get the digests."))],
        )
        return
    unit = (command.args or "").strip() or None
    group = await ctx.admin.bind_group(
        actor,
        channel="telegram",
        chat_id=str(message.chat.id),
        title=message.chat.title or "",
        unit_code=unit,
    )
    text = (
        _("This group already receives the digests.")
        if group.already_bound
        else _("From now on this group receives the digests of what is due and overdue.")
    )
    await send(bot, message.chat.id, [OutgoingMessage(text=text)])


async def send_digest(message: Message, bot: Bot, ctx: AppContext, actor: Actor) -> None:
    """/digest: the digest now (to this group when sent in one, else to every bound group)."""
    group_id = None
    if message.chat.type in ("group", "supergroup"):
        group_id = await ctx.admin.group_id("telegram", str(message.chat.id))
        if group_id is None:
            await send(
                bot,
                message.chat.id,
                [OutgoingMessage(text=_("This group is not bound yet; send /bindgroup first."))],
            )
            return
    count = await ctx.reminders.digest_now(actor=actor.audit_name, group_chat_id=group_id)
    await send(
        bot,
        message.chat.id,
        [OutgoingMessage(text=_("Digest sent to {count} group(s).").format(count=count))],
    )


async def export_report(message: Message, bot: Bot, ctx: AppContext, actor: Actor) -> None:
    """/export: the progress of every task as a CSV file (opens in Excel)."""
    data = await ctx.admin.export_csv(actor)
    today = ctx.reports.today()
    name = f"nhacviec-{today:%Y%m%d}.csv"
    await bot.send_document(
        message.chat.id,
        BufferedInputFile(data, filename=name),
        caption=_("Progress of every task on {date}.").format(date=long_date(today, locale())),
    )
