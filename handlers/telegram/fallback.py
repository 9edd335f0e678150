"""Whatever no other router took: edits, stickers, voice notes, group chatter.

Officers get a short, polite explanation; groups get silence (a bot that answers every
message in a group is muted by its members)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import Message

from bot.channels.base import OutgoingMessage
from bot.i18n import _
from handlers.telegram.render import send


def build_fallback_router() -> Router:
    router = Router(name="fallback")
    router.edited_message.register(explain_edit, F.chat.type == "private")
    router.message.register(explain_unreadable, F.chat.type == "private")
    return router


async def explain_edit(edited_message: Message, bot: Bot) -> None:
    """An officer edited a message: reports are recorded once, as first sent."""
    await send(
        bot,
        edited_message.chat.id,
        [
            OutgoingMessage(
                text=_(
                    "I record each message as it was first sent, so the edit changed nothing. "
                    "To correct a report, please send a new message."
                )
            )
        ],
    )


async def explain_unreadable(message: Message, bot: Bot) -> None:
    """A sticker, voice note, location…: say what I can read instead."""
    await send(
        bot,
        message.chat.id,
        [
            OutgoingMessage(
                text=_(
                    "Sorry, I can only read text, documents and photos. Write “xong” when the "
                    "task is done, a percentage such as “60%”, or send the signed document."
                )
            )
        ],
        reply_to=message.message_id,
    )
