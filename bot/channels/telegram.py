"""Telegram sender: the channel port over an aiogram `Bot`.

Renders a channel-neutral `OutgoingMessage` as Telegram shows it best: HTML with a bold
title (every user-supplied string escaped, since parse mode is HTML), an inline keyboard
for the buttons, files as documents, and texts over 4096 characters split where a person
would split them. aiogram's exceptions become the port's error classes, so the outbox can
tell "wait and retry" from "this person cannot be reached".
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)

from bot.channels.base import (
    BadMessageError,
    ChannelError,
    ChannelKind,
    OutgoingMessage,
    PermanentChannelError,
    RateLimitedError,
    RateLimits,
    Recipient,
    SendResult,
    TransientChannelError,
)
from bot.domain.text import split_text

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096  # after entity parsing, in UTF-16 code units
TELEGRAM_LIMITS = RateLimits(
    global_per_second=30.0, per_chat_per_second=1.0, per_group_per_minute=20.0
)

# Bad requests that mean the chat is gone for us, not that the message was wrong.
_UNREACHABLE = (
    "chat not found",
    "user is deactivated",
    "peer_id_invalid",
    "bot was blocked",
    "bot was kicked",
    "not enough rights to send",
    "have no rights to send",
    "group chat was deactivated",
)


def chat_ref(chat_id: str) -> int | str:
    """Telegram chat ids are integers (negative for groups); "@name" addresses a channel."""
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


def render_parts(message: OutgoingMessage) -> list[str]:
    """The message as HTML parts, each within Telegram's limit once parsed."""
    title = message.title.strip() if message.title else ""
    plain = f"{title}\n\n{message.text}" if title else message.text
    parts = split_text(plain, TEXT_LIMIT) or [title or "…"]
    rendered: list[str] = []
    for index, part in enumerate(parts):
        if index == 0 and title and part.startswith(title):
            rendered.append(f"<b>{html.escape(title)}</b>{html.escape(part[len(title) :])}")
        else:
            rendered.append(html.escape(part))
    return rendered


def keyboard(message: OutgoingMessage) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=button.label, callback_data=button.data) for button in row]
            for row in message.buttons
            if row
        ]
    )


def map_error(exc: Exception) -> ChannelError:
    """aiogram's exception → the port's class (the outbox decides what to do with it)."""
    if isinstance(exc, TelegramRetryAfter):
        return RateLimitedError(float(exc.retry_after), exc.message)
    if isinstance(exc, TelegramForbiddenError):
        return PermanentChannelError(exc.message)
    if isinstance(exc, TelegramMigrateToChat):
        # The group became a supergroup with a new id: the old chat is gone for good.
        return PermanentChannelError(f"group moved to {exc.migrate_to_chat_id}")
    if isinstance(exc, TelegramEntityTooLarge):
        return BadMessageError(exc.message)
    if isinstance(exc, TelegramBadRequest):
        text = exc.message.lower()
        if any(marker in text for marker in _UNREACHABLE):
            return PermanentChannelError(exc.message)
        return BadMessageError(exc.message)
    if isinstance(exc, TelegramUnauthorizedError):
        # Our token is wrong: nobody's account is at fault, so retry (and log loudly).
        log.error("Telegram refused the bot token (401); check TELEGRAM_BOT_TOKEN")
        return TransientChannelError("unauthorized: check TELEGRAM_BOT_TOKEN")
    if isinstance(exc, TelegramNetworkError | TelegramServerError):
        return TransientChannelError(exc.message)
    if isinstance(exc, TelegramAPIError):
        return TransientChannelError(exc.message)
    return TransientChannelError(f"{type(exc).__name__}")


class TelegramSender:
    """`ChannelSender` for Telegram. Owns nothing but the `Bot` it is given."""

    def __init__(self, bot: Bot, *, limits: RateLimits = TELEGRAM_LIMITS) -> None:
        self.bot = bot
        self.kind: ChannelKind = ChannelKind.TELEGRAM
        self.limits: RateLimits = limits

    async def send(self, recipient: Recipient, message: OutgoingMessage) -> SendResult:
        chat = chat_ref(recipient.chat_id)
        for ref in message.files:
            # A stat on local disk: cheap enough not to need a thread.
            if not Path(ref.path).is_file():  # noqa: ASYNC240
                raise BadMessageError(f"attachment missing: {ref.file_name}")
        parts = render_parts(message)
        markup = keyboard(message)
        sent: list[Message] = []
        try:
            for index, part in enumerate(parts):
                reply = (
                    ReplyParameters(
                        message_id=int(message.reply_to), allow_sending_without_reply=True
                    )
                    if index == 0 and message.reply_to and message.reply_to.isdigit()
                    else None
                )
                sent.append(
                    await self.bot.send_message(
                        chat_id=chat,
                        text=part,
                        reply_markup=markup if index == len(parts) - 1 else None,
                        reply_parameters=reply,
                        link_preview_options=LinkPreviewOptions(is_disabled=True),
                    )
                )
            for ref in message.files:
                sent.append(
                    await self.bot.send_document(
                        chat_id=chat, document=FSInputFile(ref.path, filename=ref.file_name)
                    )
                )
        except Exception as exc:
            error = map_error(exc)
            if sent:
                # Part of the message is out; a retry repeats those parts (at least once).
                log.warning(
                    "Telegram send to %s failed after %s of %s parts: %s",
                    recipient.chat_id,
                    len(sent),
                    len(parts) + len(message.files),
                    type(error).__name__,
                )
            raise error from exc
        return SendResult(message_ids=tuple(str(m.message_id) for m in sent))

    async def aclose(self) -> None:
        await self.bot.session.close()
