"""Pacing sends under a platform's flood limits, so the outbox never earns a 429.

Telegram refuses more than ~30 messages/s overall, 1 message/s into one chat and 20
messages/minute into one group, and answers a burst with 429 and a wait. Rather than
bursting and backing off, the pacer keeps each limit as a sliding window counted from the
platform's answers (see `_Window`), a little wider than the ceiling (`margin`), so even a
strict sliding-window limiter never sees one message too many, whatever the latency.

Time here is transport time (a monotonic clock and a sleep), injected so tests and the
benchmark can run it on virtual time; business time (what is due) is the app's `Clock`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from bot.channels.base import ChannelKind, RateLimits
from bot.config import Settings


class Timer(Protocol):
    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class RealTimer:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class ChatKey:
    chat_id: str
    is_group: bool


_IN_FLIGHT = math.inf


class _Window:
    """At most `limit` sends in any `span` seconds, and at least `gap` between two starts.

    A send counts from its start until its *answer*: the platform stamps a request somewhere
    in between, so the next send allowed by the window starts `span` after the answer of
    the one `limit` sends back. No network delay can then squeeze `limit + 1` stamps into
    one window. And because it is a window, not a fixed spacing, a send that starts late
    (a busy event loop, a sleep that overshot) is caught up, not lost from the rate.
    """

    __slots__ = ("cells", "gap", "limit", "span")

    def __init__(self, limit: int, span: float, gap: float) -> None:
        self.limit = limit
        self.span = span
        self.gap = gap
        self.cells: deque[list[float]] = deque(maxlen=limit)  # [start, answered]

    def ready_at(self) -> float:
        if not self.cells:
            return 0.0
        ready = self.cells[-1][0] + self.gap
        if len(self.cells) == self.limit:
            ready = max(ready, self.cells[0][1] + self.span)
        return ready

    def take(self, now: float) -> list[float]:
        cell = [now, _IN_FLIGHT]
        self.cells.append(cell)
        return cell


def _window(rate: float, period: float, margin: float, *, gap: float) -> _Window:
    """`rate` messages per `period` seconds as a window of whole messages, `margin` wider."""
    limit = max(1, int(rate))
    return _Window(limit, period * limit / rate * (1.0 + margin), gap)


@dataclass(frozen=True, slots=True)
class Ticket:
    """A send in progress; `SendPacer.finish` it when the platform has answered."""

    cells: tuple[list[float], ...]


class SendPacer:
    """Earliest start times per chat and overall; one pacer per channel, per process."""

    def __init__(self, limits: RateLimits, *, margin: float = 0.02, timer: Timer | None = None):
        if not 0 <= margin < 1:
            raise ValueError("margin is a fraction in [0, 1)")
        self.limits = limits
        self.margin = margin
        self.timer: Timer = timer or RealTimer()
        self.global_interval = 1.0 / limits.global_per_second
        self.chat_gap = (1.0 + margin) / limits.per_chat_per_second
        # Catch-up runs at most at twice the average rate.
        self._global = _window(limits.global_per_second, 1.0, margin, gap=self.global_interval / 2)
        self._chats: dict[ChatKey, _Window] = {}
        self._paused_until = 0.0
        self._chat_paused: dict[ChatKey, float] = {}

    def _chat(self, chat: ChatKey) -> _Window:
        window = self._chats.get(chat)
        if window is None:
            if chat.is_group:
                window = _window(
                    self.limits.per_group_per_minute, 60.0, self.margin, gap=self.chat_gap
                )
            else:
                window = _Window(1, self.chat_gap, self.chat_gap)
            self._chats[chat] = window
        return window

    def chat_ready_at(self, chat: ChatKey) -> float:
        """When `chat` may get its next message (infinite while its last is unanswered)."""
        window = self._chats.get(chat)
        ready = window.ready_at() if window is not None else 0.0
        return max(ready, self._chat_paused.get(chat, 0.0))

    def chat_estimate(self, chat: ChatKey) -> float:
        """Like `chat_ready_at`, but guessing an instant answer for a send in flight: a
        finite time to look at this chat again (a queue keyed by it never stalls)."""
        window = self._chats.get(chat)
        if window is None or not window.cells:
            return self._chat_paused.get(chat, 0.0)
        last = window.cells[-1]
        estimate = last[0] + window.gap if last[1] == _IN_FLIGHT else window.ready_at()
        if len(window.cells) == window.limit and window.cells[0][1] != _IN_FLIGHT:
            estimate = max(estimate, window.cells[0][1] + window.span)
        return max(estimate, self._chat_paused.get(chat, 0.0))

    def global_ready_at(self) -> float:
        return max(self._global.ready_at(), self._paused_until)

    def ready_at(self, chat: ChatKey) -> float:
        """The earliest monotonic time a message to `chat` may start."""
        return max(self.global_ready_at(), self.chat_ready_at(chat))

    def take(self, chat: ChatKey) -> Ticket:
        """Record a send starting now; call only when `ready_at(chat)` has passed."""
        now = self.timer.monotonic()
        ticket = Ticket((self._global.take(now), self._chat(chat).take(now)))
        if len(self._chats) > 50_000:
            self._forget_idle(now)
        return ticket

    def finish(self, ticket: Ticket) -> None:
        """The platform answered (or the request failed): the window counts from now."""
        now = self.timer.monotonic()
        for cell in ticket.cells:
            cell[1] = now

    def pause(self, seconds: float, chat: ChatKey | None = None) -> None:
        """The platform said "retry after": hold that chat (or everything) that long."""
        until = self.timer.monotonic() + seconds
        if chat is None:
            self._paused_until = max(self._paused_until, until)
        else:
            self._chat_paused[chat] = max(self._chat_paused.get(chat, 0.0), until)

    def _forget_idle(self, now: float) -> None:
        self._chats = {key: w for key, w in self._chats.items() if w.ready_at() > now}
        self._chat_paused = {key: t for key, t in self._chat_paused.items() if t > now}


def limits_for(kind: ChannelKind | str, settings: Settings) -> RateLimits:
    """The configured ceilings of a platform (Telegram's published ones by default)."""
    if str(kind) == ChannelKind.TELEGRAM:
        return RateLimits(
            global_per_second=settings.telegram_rate_global_per_second,
            per_chat_per_second=settings.telegram_rate_per_chat_per_second,
            per_group_per_minute=settings.telegram_rate_group_per_minute,
        )
    return RateLimits(
        global_per_second=settings.zalo_rate_global_per_second,
        per_chat_per_second=settings.zalo_rate_per_chat_per_second,
        per_group_per_minute=settings.zalo_rate_group_per_minute,
    )
