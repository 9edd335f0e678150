"""What officers do in a private chat: lists, details, and progress reports with files.

Every report path ends in `ctx.conversation`: a reply to a reminder (the reminder engine
knows which task it was), a button, /report CODE, or a free message (the conversation asks
which task when the unit has several open ones).
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.app import AppContext
from bot.channels.base import OutgoingMessage
from bot.domain import invites
from bot.domain.actions import Verb, parse_action
from bot.i18n import _
from bot.services.attachments import StoredFile
from bot.services.conversation import Incoming
from bot.services.reports import Actor
from handlers.telegram.files import AlbumCollector, fetch
from handlers.telegram.render import send

_OFFICER_VERBS = {Verb.DONE.value, Verb.PROGRESS.value, Verb.EXTEND.value, Verb.PICK.value}


def build_officer_router(albums: AlbumCollector) -> Router:
    router = Router(name="officer")
    router.message.filter(F.chat.type == "private")
    router.message.register(list_tasks, Command("tasks"))
    router.message.register(show_task, Command("task"))
    router.message.register(start_report, Command("report"))
    router.callback_query.register(
        press_report_button, F.data.func(lambda d: d.split(":", 1)[0] in _OFFICER_VERBS)
    )

    async def receive_album(message: Message, bot: Bot, ctx: AppContext, actor: Actor) -> None:
        """A document or photo that is part of an album: one report for the whole album."""
        if actor.officer is None:
            await refuse_unregistered(message, bot, ctx)
            return
        album = await albums.collect(bot, ctx.attachments, message)
        if album is None:
            return
        if album.errors:
            raise album.errors[0]
        first = album.first
        await _report(
            bot,
            ctx,
            actor,
            first,
            text=album.caption,
            files=album.ordered_files(),
        )

    router.message.register(receive_album, F.media_group_id, F.document | F.photo)
    router.message.register(receive_file, F.document | F.photo)
    router.message.register(receive_text, F.text)
    return router


async def list_tasks(message: Message, bot: Bot, ctx: AppContext, actor: Actor) -> None:
    """/tasks: the officer's unit's open tasks with deadlines and days left or late."""
    await send(bot, message.chat.id, await ctx.conversation.list_tasks(actor))


async def show_task(
    message: Message, command: CommandObject, bot: Bot, ctx: AppContext, actor: Actor
) -> None:
    """/task CODE: one task in full, with its progress log."""
    if not command.args:
        await send(bot, message.chat.id, [OutgoingMessage(text=_("Usage: /task CODE"))])
        return
    code = command.args.split()[0]
    await send(bot, message.chat.id, await ctx.conversation.show_task(actor, code))


async def start_report(
    message: Message, command: CommandObject, bot: Bot, ctx: AppContext, actor: Actor
) -> None:
    """/report CODE [text]: report on a named task, now or with the next message."""
    if not command.args:
        await send(
            bot, message.chat.id, [OutgoingMessage(text=_("Usage: /report CODE [your report]"))]
        )
        return
    code, _sep, text = command.args.strip().partition(" ")
    replies = await ctx.conversation.begin_report(actor, code, text)
    await send(bot, message.chat.id, replies, reply_to=message.message_id)


async def press_report_button(
    query: CallbackQuery, bot: Bot, ctx: AppContext, actor: Actor
) -> None:
    """✅ Done / 🔄 In progress / ⏳ Extension under a reminder, or a "which task?" choice."""
    action = parse_action(query.data)
    await query.answer()
    if action is None or query.message is None:
        return
    replies = await ctx.conversation.press(actor, action, message_id=str(query.message.message_id))
    await send(bot, query.message.chat.id, replies)


def _incoming(message: Message, text: str, files: tuple[StoredFile, ...]) -> Incoming:
    reply = message.reply_to_message
    return Incoming(
        text=text,
        files=files,
        message_id=str(message.message_id),
        reply_to_message_id=str(reply.message_id) if reply is not None else None,
        reply_to_text=(reply.text or reply.caption) if reply is not None else None,
    )


async def _report(
    bot: Bot,
    ctx: AppContext,
    actor: Actor,
    message: Message,
    *,
    text: str,
    files: tuple[StoredFile, ...],
) -> None:
    replies = await ctx.conversation.report(actor, _incoming(message, text, files))
    await send(bot, message.chat.id, replies)


async def receive_file(message: Message, bot: Bot, ctx: AppContext, actor: Actor) -> None:
    """A document or photo (with or without a caption): evidence for a report."""
    if actor.officer is None:
        await refuse_unregistered(message, bot, ctx)
        return
    stored = await fetch(bot, ctx.attachments, message)
    files = (stored,) if stored is not None else ()
    await _report(bot, ctx, actor, message, text=message.caption or "", files=files)


async def receive_text(
    message: Message, bot: Bot, ctx: AppContext, actor: Actor, locale: str
) -> None:
    """Free text: a progress reply (or an invite code typed on its own)."""
    text = message.text or ""
    if actor.officer is None:
        if invites.looks_like_code(text):
            _bound, replies = await ctx.conversation.start(
                actor,
                text,
                username=message.from_user.username if message.from_user else None,
            )
            await send(bot, message.chat.id, replies)
            return
        await refuse_unregistered(message, bot, ctx)
        return
    if text.startswith("/"):
        await send(
            bot,
            message.chat.id,
            [OutgoingMessage(text=_("I do not know this command. Send /help to see the list."))],
        )
        return
    await _report(bot, ctx, actor, message, text=text, files=())


async def refuse_unregistered(message: Message, bot: Bot, ctx: AppContext) -> None:
    from bot.services.conversation import NotRegisteredError

    await send(bot, message.chat.id, [OutgoingMessage(text=NotRegisteredError().message())])
