"""Telegram handlers: `build_router()` assembles one fresh router tree per Dispatcher.

Routers are created inside the factory because aiogram refuses to attach a router twice
and every test (and the benchmark) builds its own Dispatcher.
"""

from __future__ import annotations

from aiogram import Router

from handlers.telegram.admin import build_admin_router, build_refusal_router
from handlers.telegram.assign import build_assign_router
from handlers.telegram.common import build_common_router
from handlers.telegram.fallback import build_fallback_router
from handlers.telegram.files import AlbumCollector
from handlers.telegram.notices import build_notice_router
from handlers.telegram.officer import build_officer_router
from handlers.telegram.review import build_review_router

__all__ = ["build_router"]


def build_router(*, album_wait: float = 1.0) -> Router:
    root = Router(name="telegram")
    # Order matters:
    # 1. dialogues waiting for an admin's free text (a review reason, /assign answers)
    #    come before anything that would read that text as a progress report;
    root.include_router(build_review_router())
    root.include_router(build_assign_router())
    #    The import review belongs here too: its typed unit codes and deadlines are such
    #    answers, and an admin's notice file must reach it before the officers' router
    #    would take the file as progress evidence (the rule: handlers/telegram/notices.py).
    root.include_router(build_notice_router())
    # 2. /start, /help, /lang, /cancel work for everyone;
    root.include_router(build_common_router())
    # 3. admin commands for admins, then a polite refusal of the same commands for others;
    root.include_router(build_admin_router())
    root.include_router(build_refusal_router())
    # 4. officers' commands, buttons, files and free-text reports (private chats);
    root.include_router(build_officer_router(AlbumCollector(album_wait)))
    # 5. whatever is left: edits, stickers and the like.
    root.include_router(build_fallback_router())
    return root
