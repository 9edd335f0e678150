"""Zalo's 7-day window for an Official Account, as a use case: when Zalo refuses to
deliver (-230) the officer's OA account is switched off and the admins are told once;
when the officer writes again it is switched back on. The OA channel calls it."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.channels.base import ChannelKind, OutgoingMessage
from bot.i18n import _
from storage.models import ChannelAccount, Officer
from storage.repositories import registry as registry_repo

if TYPE_CHECKING:
    from bot.app import AppContext

log = logging.getLogger(__name__)

# `channel_accounts.deactivated_reason` of an OA account whose 7-day window closed: the
# account wakes up by itself when the officer writes to the OA again.
OA_WINDOW_CLOSED = "zalo_oa: no interaction in 7 days (-230)"


def window_alert(name: str, unit: str | None) -> OutgoingMessage:
    """To the admins: an officer's OA window closed (Zalo error -230)."""
    return OutgoingMessage(
        title=_("{name} must write to the Official Account again").format(name=name),
        text=_(
            "{name} ({unit}) has not written to the office's Zalo Official Account for 7 days, "
            "so Zalo no longer lets the Official Account send them messages. Please ask them "
            "to send any message to the Official Account: their reminders resume there at "
            "once. Until then they go to their other app, if they have one."
        ).format(name=name, unit=unit or "—"),
    )


class OAWindow:
    """Zalo lets an OA write to a user only within 7 days of the user's last message.

    When Zalo refuses (-230), the officer's OA account is switched off with a reason that
    says why (so no reminder is retried into a closed window and the other app, if any,
    takes over), and the admins are told once, durably, through the outbox. The next
    message the officer sends to the OA opens the window and switches the account on.
    """

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx
        # Chats Zalo refused with -230, until they write again: the other rows already
        # claimed for them in this dispatch fail at once instead of asking Zalo again.
        self.closed_chats: set[str] = set()

    async def closed(self, user_id: str) -> None:
        self.closed_chats.add(user_id)
        ctx = self._ctx
        now = ctx.clock.now()
        async with ctx.reports.writing() as session:
            account = await session.scalar(
                select(ChannelAccount)
                .options(selectinload(ChannelAccount.officer).selectinload(Officer.unit))
                .where(
                    ChannelAccount.channel == ChannelKind.ZALO_OA.value,
                    ChannelAccount.chat_id == user_id,
                    ChannelAccount.active.is_(True),
                )
            )
            if account is None:
                return  # already closed by an earlier send
            officer = account.officer
            registry_repo.switch_account_off(
                session,
                account,
                now=now,
                actor="system",
                action="account.oa_window_closed",
                reason=OA_WINDOW_CLOSED,
            )
            await session.flush()
            await self._tell_admins(session, account.id, officer, now)
            await ctx.reminders.on_officer_changed(session, officer.id)
        log.warning("Zalo OA window of officer %s closed; admins told", officer.id)
        ctx.reminders.request_tick()

    async def _tell_admins(
        self, session: AsyncSession, account_id: int, officer: Officer, now: datetime
    ) -> None:
        from bot.services.digests import admin_condition

        ctx = self._ctx
        admins = await session.scalars(
            select(Officer)
            .where(
                Officer.active.is_(True),
                admin_condition(ctx.settings, leaders=False),
                Officer.id != officer.id,
            )
            .order_by(Officer.id)
        )
        unit = officer.unit.name if officer.unit is not None else None
        told = 0
        for admin in admins:
            with ctx.i18n.context(), ctx.i18n.use_locale(admin.locale or ctx.settings.bot_locale):
                message = window_alert(officer.name, unit)
            # One alert per closed window: the key is the moment it closed.
            await ctx.reminders.enqueue_message(
                session,
                message=message,
                dedupe_key=f"oa-window:acc{account_id}:{now:%Y%m%dT%H%M%S}",
                officer_id=admin.id,
                kind="oa_window",
            )
            told += 1
        if not told:
            log.warning("no admin to tell that officer %s must write to the OA", officer.id)

    async def reopen(self, user_id: str) -> None:
        """The officer wrote to the OA: if Zalo had closed their window, it is open again."""
        self.closed_chats.discard(user_id)
        ctx = self._ctx
        where = (
            ChannelAccount.channel == ChannelKind.ZALO_OA.value,
            ChannelAccount.user_id == user_id,
            ChannelAccount.active.is_(False),
            ChannelAccount.deactivated_reason == OA_WINDOW_CLOSED,
        )
        async with ctx.sessionmaker() as session:  # a cheap read: almost always nothing to do
            closed = await session.scalar(select(ChannelAccount.id).where(*where))
        if closed is None:
            return
        now = ctx.clock.now()
        async with ctx.reports.writing() as session:
            account = await session.scalar(select(ChannelAccount).where(*where))
            if account is None:
                return
            registry_repo.switch_account_on(
                session,
                account,
                now=now,
                actor=f"zalo_oa:{user_id}",
                action="account.oa_window_reopened",
            )
            await session.flush()
            await ctx.reminders.on_officer_changed(session, account.officer_id)
        log.info("Zalo OA window of officer %s open again", account.officer_id)
        ctx.reminders.request_tick()
