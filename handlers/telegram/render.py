"""Sending channel-neutral `OutgoingMessage`s as direct Telegram replies.

Direct answers to an officer's own message (receipts, refusals, lists) go straight back
through the handler, not the outbox; they look exactly like outbox messages because both
use the Telegram sender's rendering (HTML, every user-supplied string escaped once there).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import Bot
from aiogram.types import FSInputFile, LinkPreviewOptions, Message, ReplyParameters

from bot.channels.base import OutgoingMessage
from bot.channels.telegram import keyboard, render_parts


async def send(
    bot: Bot, chat_id: int, messages: Sequence[OutgoingMessage], *, reply_to: int | None = None
) -> list[Message]:
    """Send each message (split if long; buttons on the last part, a quote on the first)."""
    sent: list[Message] = []
    for message in messages:
        quote = int(message.reply_to) if message.reply_to and message.reply_to.isdigit() else None
        quote = quote or reply_to
        parts = render_parts(message)
        for index, part in enumerate(parts):
            sent.append(
                await bot.send_message(
                    chat_id,
                    part,
                    reply_markup=keyboard(message) if index == len(parts) - 1 else None,
                    reply_parameters=(
                        ReplyParameters(message_id=quote, allow_sending_without_reply=True)
                        if quote and index == 0
                        else None
                    ),
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            )
        for ref in message.files:
            sent.append(
                await bot.send_document(chat_id, FSInputFile(ref.path, filename=ref.file_name))
            )
    return sent
