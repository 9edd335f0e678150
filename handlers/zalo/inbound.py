"""One shape for what officers send on either Zalo app, and what the adapter needs back.

The Bot Platform (`message.*.received`) and the Official Account (`user_send_*`, `follow`)
describe the same acts differently; the handlers see only `ZaloMessage`, so an officer gets
the same answers on both. The runtime implements `ZaloReplier` per app.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.channels.base import ChannelKind, OutgoingMessage
from bot.channels.zalo_bot import ZaloEvent, ZaloInbound
from bot.channels.zalo_oa import OAEvent, ZaloOAInbound
from bot.domain.textnorm import fold, nfc


class MessageKind(StrEnum):
    TEXT = "text"
    PHOTO = "photo"
    FILE = "file"  # only the OA delivers files
    UNSUPPORTED = "unsupported"  # the Bot Platform withheld the content (a document…)
    OTHER = "other"  # sticker, voice, a bare link
    FOLLOW = "follow"  # someone followed the OA


@dataclass(frozen=True, slots=True)
class ZaloMessage:
    channel: str  # "zalo" (Bot Platform) or "zalo_oa"
    kind: MessageKind
    user_id: str
    chat_id: str
    display_name: str = ""
    message_id: str | None = None
    text: str = ""
    is_group: bool = False
    file_url: str | None = None
    file_name: str | None = None
    mime_type: str | None = None


class ZaloReplier(Protocol):
    """How the adapter answers and fetches files on one Zalo app."""

    async def reply(self, message: ZaloMessage, replies: Sequence[OutgoingMessage]) -> None: ...

    async def download(self, url: str, max_bytes: int) -> tuple[bytes, str, str]:
        """(bytes, content type, file name); raises `DownloadError` subclasses."""
        ...


def from_bot_update(update: ZaloInbound, bot_names: Sequence[str] = ()) -> ZaloMessage | None:
    """A Bot Platform update as a `ZaloMessage`; None for what needs no answer (reactions,
    other bots, a group message that does not mention the bot)."""
    if update.sender_id is None or update.chat_id is None or update.sender_is_bot:
        return None
    event = update.event_name
    text = update.text or update.caption or ""
    if update.is_group:
        if event != ZaloEvent.TEXT:
            return None  # in a group the bot only reads commands addressed to it
        stripped = strip_mention(text, bot_names)
        if stripped is None:
            return None
        text = stripped
    if event == ZaloEvent.IMAGE and update.photo_url:
        kind = MessageKind.PHOTO
    elif event == ZaloEvent.TEXT or (event == ZaloEvent.LINK and text):
        kind = MessageKind.TEXT
    elif event == ZaloEvent.UNSUPPORTED:
        kind = MessageKind.UNSUPPORTED
    elif event == ZaloEvent.REACTION:
        return None
    else:
        kind = MessageKind.OTHER
    return ZaloMessage(
        channel=ChannelKind.ZALO.value,
        kind=kind,
        user_id=update.sender_id,
        chat_id=update.chat_id,
        display_name=update.sender_name or "",
        message_id=update.message_id,
        text=text.strip(),
        is_group=update.is_group,
        file_url=update.photo_url if kind is MessageKind.PHOTO else None,
    )


def from_oa_event(event: ZaloOAInbound) -> ZaloMessage | None:
    """An OA webhook event as a `ZaloMessage` (None for attachments we cannot fetch)."""
    kind = {
        OAEvent.FOLLOW: MessageKind.FOLLOW,
        OAEvent.USER_SEND_TEXT: MessageKind.TEXT,
        OAEvent.USER_SEND_IMAGE: MessageKind.PHOTO,
        OAEvent.USER_SEND_FILE: MessageKind.FILE,
    }.get(event.event_name)
    if kind is None:
        return None
    item = None
    if kind in (MessageKind.PHOTO, MessageKind.FILE):
        wanted = "image" if kind is MessageKind.PHOTO else "file"
        usable = [a for a in event.attachments if a.url]
        item = next((a for a in usable if a.type == wanted), usable[0] if usable else None)
        if item is None:
            return None
    return ZaloMessage(
        channel=ChannelKind.ZALO_OA.value,
        kind=kind,
        user_id=event.user_id,
        chat_id=event.user_id,
        message_id=event.msg_id,
        text=(event.text or "").strip(),
        file_url=item.url if item else None,
        file_name=item.name if item else None,
        mime_type=item.mime if item else None,
    )


def strip_mention(text: str, bot_names: Sequence[str]) -> str | None:
    """The text without the bot's @mention; None when the bot is not mentioned. With no
    known name (getMe gave none) every group message counts: Zalo delivers only mentions."""
    names = sorted((name for name in bot_names if name), key=len, reverse=True)
    if not names:
        return text
    composed = nfc(text)
    for name in names:
        pattern = re.compile("@" + re.escape(nfc(name)), re.IGNORECASE)
        if pattern.search(composed):
            return " ".join(pattern.sub(" ", composed).split())
    # Typed without diacritics ("@Bot Nhac viec"): compare folded text.
    folded = fold(text)
    for name in names:
        mention = "@" + fold(name)
        if mention in folded:
            return " ".join(folded.replace(mention, " ").split())
    return None
