"""Router-level filters: who may reach a router's handlers."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import TelegramObject

from bot.services.reports import Actor


class IsAdmin(Filter):
    """ADMIN_TELEGRAM_IDS, or an officer invited with the admin role."""

    async def __call__(self, event: TelegramObject, actor: Actor | None = None) -> bool:
        return actor is not None and actor.is_admin


class IsNotAdmin(Filter):
    async def __call__(self, event: TelegramObject, actor: Actor | None = None) -> bool:
        return actor is None or not actor.is_admin
