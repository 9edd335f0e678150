"""The channel port: what the core needs from a messaging platform, and nothing more.

Services build channel-neutral `OutgoingMessage`s; each platform renders them its own
way (Telegram: HTML and inline buttons; Zalo: plain text and numbered choices).
Errors are classified here so the outbox can decide between retrying, waiting and
deactivating an account without knowing any platform's error codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable


class ChannelKind(StrEnum):
    TELEGRAM = "telegram"
    ZALO = "zalo"
    ZALO_OA = "zalo_oa"


@dataclass(frozen=True, slots=True)
class Button:
    """An action the recipient can take; `data` comes back verbatim (≤ 64 bytes for Telegram)."""

    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Recipient:
    channel: ChannelKind
    chat_id: str
    is_group: bool = False


@dataclass(frozen=True, slots=True)
class FileRef:
    """A stored file to attach; read at send time, so the outbox stores a path, not bytes."""

    file_name: str
    path: str
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """Plain text (never markup: channels escape it) plus optional bold title and buttons.

    `buttons` is a list of rows. `reply_to` is a platform message id to quote, where the
    platform supports it. `files` are attached where the platform can carry files;
    channels that cannot (Zalo) name them in the text instead of failing.
    """

    text: str
    title: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    reply_to: str | None = None
    files: tuple[FileRef, ...] = ()


@dataclass(frozen=True, slots=True)
class SendResult:
    """Platform message ids, in order (a long text split in parts yields several)."""

    message_ids: tuple[str, ...] = field(default_factory=tuple)


class ChannelError(Exception):
    """Base for failures a channel reports to the outbox."""


class TransientChannelError(ChannelError):
    """Network trouble or a 5xx: try again later with backoff."""


class RateLimitedError(TransientChannelError):
    """The platform asked us to wait exactly `retry_after` seconds."""

    def __init__(self, retry_after: float, message: str = "rate limited") -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentChannelError(ChannelError):
    """The recipient cannot be reached (blocked the bot, chat not found): stop trying."""


class BadMessageError(ChannelError):
    """The platform refused this message itself (too long, bad markup): a bug on our side."""


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Sending ceilings a channel must respect (messages per window)."""

    global_per_second: float
    per_chat_per_second: float
    per_group_per_minute: float


@runtime_checkable
class ChannelSender(Protocol):
    """Sends one message to one recipient; raises a `ChannelError` subclass on failure."""

    kind: ChannelKind
    limits: RateLimits

    async def send(self, recipient: Recipient, message: OutgoingMessage) -> SendResult: ...
