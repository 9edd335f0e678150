"""Which sender serves which platform.

The outbox asks the router for a channel's sender at send time. A platform nobody
registered (Zalo before its adapter is configured, Telegram without a token) is simply
absent: its messages wait in the outbox instead of crashing the dispatcher.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from bot.channels.base import ChannelKind, ChannelSender

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)


class ChannelRouter:
    def __init__(self) -> None:
        self._senders: dict[str, ChannelSender] = {}
        self._on_register: list[Callable[[ChannelSender], None]] = []

    def on_register(self, callback: Callable[[ChannelSender], None]) -> None:
        """Call `callback` with every sender registered from now on: the composition root
        hands senders built from settings alone the services they need (the Zalo OA keeps
        its tokens in the database)."""
        self._on_register.append(callback)

    def register(self, sender: ChannelSender) -> None:
        """Add (or replace) the sender for `sender.kind`."""
        kind = str(sender.kind)
        if kind in self._senders and self._senders[kind] is not sender:
            log.info("replacing the %s sender", kind)
        for callback in self._on_register:
            callback(sender)
        self._senders[kind] = sender

    def unregister(self, kind: ChannelKind | str) -> None:
        self._senders.pop(str(kind), None)

    def get(self, kind: ChannelKind | str) -> ChannelSender | None:
        """The sender for a platform, or None when that platform is not configured."""
        return self._senders.get(str(kind))

    def kinds(self) -> frozenset[str]:
        return frozenset(self._senders)

    def __contains__(self, kind: object) -> bool:
        return str(kind) in self._senders


def build_senders(settings: Settings) -> list[ChannelSender]:
    """The senders the settings configure (each platform adapter adds its own here; Zalo's
    Bot Platform and OA senders come with Zalo's configurable limits, ZALO_RATE_*).

    Telegram's module imports aiogram, which takes seconds: it is loaded only when a
    token is set, so commands that send nothing never pay for it.
    """
    senders: list[ChannelSender] = []
    if settings.telegram_bot_token is not None:
        from bot.channels.ratelimit import limits_for
        from bot.channels.telegram import TelegramSender
        from bot.channels.telegram_session import create_bot

        senders.append(
            TelegramSender(create_bot(settings), limits=limits_for(ChannelKind.TELEGRAM, settings))
        )
    if settings.zalo_bot_token is not None or settings.zalo_oa_enabled:
        from bot.channels.zalo_runtime import build_zalo_senders

        senders.extend(build_zalo_senders(settings))
    return senders


async def close_senders(senders: Iterable[ChannelSender]) -> None:
    """Close the HTTP sessions of senders that hold one."""
    for sender in senders:
        aclose = getattr(sender, "aclose", None)
        if aclose is None:
            continue
        try:
            await aclose()
        except Exception:  # closing one must not keep the others open
            log.exception("could not close the %s sender", sender.kind)
