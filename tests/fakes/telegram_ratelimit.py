"""Telegram's flood limits, so reminder fan-out is tested against the 429s production will see.

The Bot FAQ gives ~30 messages/s overall, ~1 message/s per chat with short bursts, and
20 messages/min per group. Default mode is forgiving like the real server (token buckets that
allow a burst); strict mode uses exact sliding windows so a benchmark can prove a sender never
exceeds the published numbers.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RateLimiter", "RateLimits"]


@dataclass(frozen=True)
class RateLimits:
    """Limits of the fake; `RateLimits.off()` disables them, `RateLimits.exact()` is strict."""

    enabled: bool = True
    strict: bool = False
    global_per_second: int = 30
    private_per_second: int = 1
    private_burst: int = 3  # ignored in strict mode: a sliding window allows no burst
    group_per_minute: int = 20

    @classmethod
    def off(cls) -> RateLimits:
        return cls(enabled=False)

    @classmethod
    def exact(cls) -> RateLimits:
        return cls(strict=True)


class _TokenBucket:
    def __init__(self, capacity: float, per_second: float, now: float) -> None:
        self.capacity = capacity
        self.rate = per_second
        self.tokens = capacity
        self.stamp = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self, cost: int, now: float) -> float:
        self._refill(now)
        missing = min(cost, self.capacity) - self.tokens
        return 0.0 if missing <= 1e-9 else missing / self.rate

    def take(self, cost: int) -> None:
        self.tokens = max(0.0, self.tokens - cost)


class _SlidingWindow:
    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self.stamps: deque[float] = deque()

    def wait(self, cost: int, now: float) -> float:
        while self.stamps and self.stamps[0] <= now - self.window:
            self.stamps.popleft()
        excess = len(self.stamps) + min(cost, self.limit) - self.limit
        if excess <= 0:
            return 0.0
        return self.stamps[excess - 1] + self.window - now

    def take(self, cost: int, now: float) -> None:
        self.stamps.extend([now] * cost)


class RateLimiter:
    """Decides whether a send is accepted; on refusal gives Telegram's retry_after."""

    def __init__(self, limits: RateLimits, monotonic: Callable[[], float]) -> None:
        self.limits = limits
        self._now = monotonic
        self._buckets: dict[tuple[str, int], _TokenBucket] = {}
        self._windows: dict[tuple[str, int], _SlidingWindow] = {}

    def _bucket(self, key: tuple[str, int], capacity: float, rate: float) -> _TokenBucket:
        if key not in self._buckets:
            self._buckets[key] = _TokenBucket(capacity, rate, self._now())
        return self._buckets[key]

    def _window(self, key: tuple[str, int], limit: int, window: float) -> _SlidingWindow:
        if key not in self._windows:
            self._windows[key] = _SlidingWindow(limit, window)
        return self._windows[key]

    def acquire(
        self, chat_id: int, *, is_group: bool, chat_cost: int = 1, global_cost: int = 1
    ) -> int | None:
        """Record the send and return None, or return retry_after seconds and record nothing."""
        limits = self.limits
        if not limits.enabled:
            return None
        now = self._now()
        if limits.strict:
            windows = [(self._window(("global", 0), limits.global_per_second, 1.0), global_cost)]
            if is_group:
                windows.append(
                    (self._window(("group", chat_id), limits.group_per_minute, 60.0), chat_cost)
                )
            else:
                windows.append(
                    (self._window(("private", chat_id), limits.private_per_second, 1.0), chat_cost)
                )
            wait = max(w.wait(cost, now) for w, cost in windows)
            if wait > 0:
                return max(1, math.ceil(wait))
            for w, cost in windows:
                w.take(cost, now)
            return None
        buckets = [
            (
                self._bucket(("global", 0), limits.global_per_second, limits.global_per_second),
                global_cost,
            )
        ]
        if is_group:
            per_second = limits.group_per_minute / 60.0
            buckets.append(
                (self._bucket(("group", chat_id), limits.group_per_minute, per_second), chat_cost)
            )
        else:
            buckets.append(
                (
                    self._bucket(
                        ("private", chat_id), limits.private_burst, limits.private_per_second
                    ),
                    chat_cost,
                )
            )
        wait = max(b.wait(cost, now) for b, cost in buckets)
        if wait > 0:
            return max(1, math.ceil(wait))
        for b, cost in buckets:
            b.take(cost)
        return None
