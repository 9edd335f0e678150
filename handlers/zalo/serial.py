"""One message per chat at a time, in arrival order, without holding other chats up.

Zalo updates are handled concurrently (a slow photo download must not stall everyone),
but within one chat order matters: "1" (done) and then the photo of the signed page must
be recorded in that order, or the photo would ask "which task?".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable


class ChatQueue:
    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, key: Hashable) -> AsyncIterator[None]:
        """Wait for the chat's earlier messages (asyncio.Lock wakes waiters first come,
        first served), then hold it; the lock is dropped when nobody waits for it."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
