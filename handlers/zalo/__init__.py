"""Zalo handlers: `ZaloDispatcher` routes each message of either Zalo app to a thin handler.

What aiogram's dispatcher and our middlewares do for Telegram happens here in a few lines:
who is talking (`ctx.conversation.identify`), in which language (their choice, else
BOT_LOCALE: Zalo tells no phone language), one message per chat at a time (a "1" and the
photo after it must be handled in that order), and a boundary that turns a refusal into
its polite message and a crash into an apology.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final

from bot.app import AppContext
from bot.channels.zalo_bot import choice_number
from bot.i18n import _
from bot.services.conversation import NotRegisteredError, resolve_locale
from bot.services.errors import ServiceError
from handlers.zalo.group import bind_group, explain_group, send_digest
from handlers.zalo.inbound import MessageKind, ZaloMessage, ZaloReplier
from handlers.zalo.officer import (
    Turn,
    answer_number,
    choose_channel,
    choose_language,
    explain_unreadable,
    explain_unsupported,
    link_other_app,
    list_tasks,
    receive_file,
    receive_text,
    show_help,
    show_task,
    start_bot,
    start_report,
    welcome_follower,
)
from handlers.zalo.serial import ChatQueue

__all__ = ["MessageKind", "ZaloDispatcher", "ZaloMessage", "ZaloReplier", "parse_command"]

log = logging.getLogger(__name__)

Command = Callable[[Turn, str], Awaitable[None]]


async def _tasks(turn: Turn, _args: str) -> None:
    await list_tasks(turn)


async def _help(turn: Turn, _args: str) -> None:
    await show_help(turn)


COMMANDS: Final[dict[str, Command]] = {
    "start": start_bot,
    "help": _help,
    "lang": choose_language,
    "kenh": choose_channel,
    "lienket": link_other_app,
    "link": link_other_app,
    "tasks": _tasks,
    "task": show_task,
    "report": start_report,
}
# Administrators' commands live on Telegram; on Zalo only the group ones exist.
TELEGRAM_ONLY = frozenset(
    {"overdue", "due", "units", "approve", "reject", "extend", "setdate", "assign", "remind"}
    | {"invite", "export", "cancel"}
)
MAX_CHOICE = 9  # larger bare numbers ("60") are progress, not a choice


def parse_command(text: str) -> tuple[str | None, str]:
    """("task", "VHXH23-04") for "/task VHXH23-04"; (None, text) when it is no command."""
    if not text.startswith("/"):
        return None, text
    head, _sep, args = text[1:].partition(" ")
    name = head.split("@", 1)[0].strip().lower()
    return (name or None), args.strip()


class ZaloDispatcher:
    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        self._chats = ChatQueue()

    async def handle(
        self,
        message: ZaloMessage,
        replier: ZaloReplier,
        *,
        prepare: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """Answer one message; messages of one chat are handled in arrival order.
        `prepare(user_id)` runs first, in that order too (the OA reopens a closed window)."""
        async with self._chats.turn((message.channel, message.chat_id)):
            if prepare is not None:
                await prepare(message.user_id)
            await self._handle(message, replier)

    async def _handle(self, message: ZaloMessage, replier: ZaloReplier) -> None:
        ctx = self._ctx
        actor = await ctx.conversation.identify(
            message.channel, message.user_id, message.chat_id, message.display_name
        )
        locale = resolve_locale(actor.officer, None, ctx.settings.bot_locale)
        with ctx.i18n.context(), ctx.i18n.use_locale(locale):
            turn = Turn(ctx, replier, message, actor, locale)
            try:
                await route(turn)
            except ServiceError as error:
                await _tell(turn, error.message())
            except Exception:
                log.exception(
                    "error while handling a Zalo %s message %s", message.channel, message.message_id
                )
                await _tell(turn, _("Sorry, something went wrong. Nothing was changed."))


async def _tell(turn: Turn, text: str) -> None:
    try:
        await turn.say(text)
    except Exception:  # the apology itself must never escape the boundary
        log.exception("could not answer Zalo chat %s", turn.message.chat_id)


async def route(turn: Turn) -> None:
    message = turn.message
    if message.kind is MessageKind.FOLLOW:
        await welcome_follower(turn)
    elif message.is_group:
        await route_group(turn)
    elif message.kind is MessageKind.TEXT:
        await route_text(turn)
    elif message.kind in (MessageKind.PHOTO, MessageKind.FILE):
        await receive_file(turn)
    elif message.kind is MessageKind.UNSUPPORTED:
        await explain_unsupported(turn)
    else:
        await explain_unreadable(turn)


async def route_text(turn: Turn) -> None:
    command, args = parse_command(turn.message.text)
    if command is not None:
        handler = COMMANDS.get(command)
        if handler is not None:
            await handler(turn, args)
        elif turn.actor.officer is None and not turn.actor.is_admin:
            raise NotRegisteredError()
        elif command in TELEGRAM_ONLY:
            await turn.say(
                _(
                    "This command works in the office's Telegram bot. On Zalo you can use "
                    "/tasks, /task, /report, /kenh, /lienket, /lang and /help."
                )
            )
        else:
            await turn.say(_("I do not know this command. Send /help to see the list."))
        return
    number = choice_number(turn.message.text) if turn.actor.officer is not None else None
    if number is not None and 1 <= number <= MAX_CHOICE:
        await answer_number(turn, number)
        return
    await receive_text(turn)


async def route_group(turn: Turn) -> None:
    command, args = parse_command(turn.message.text)
    if command == "bindgroup":
        await bind_group(turn, args)
    elif command == "digest":
        await send_digest(turn)
    else:
        await explain_group(turn)
