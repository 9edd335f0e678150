"""Units, officers, channel accounts, invites and group chats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from storage.models import ChannelAccount, GroupChat, Invite, Officer, Unit
from storage.repositories import audit


async def unit_by_code(session: AsyncSession, code: str) -> Unit | None:
    return await session.scalar(select(Unit).where(Unit.code == code))


async def units_by_codes(session: AsyncSession, codes: Sequence[str]) -> dict[str, Unit]:
    if not codes:
        return {}
    rows = await session.scalars(select(Unit).where(Unit.code.in_(list(codes))))
    return {unit.code: unit for unit in rows}


async def list_units(session: AsyncSession, *, include_inactive: bool = False) -> Sequence[Unit]:
    query = (
        select(Unit)
        .options(selectinload(Unit.officers).selectinload(Officer.accounts))
        .order_by(Unit.code)
    )
    if not include_inactive:
        query = query.where(Unit.active.is_(True))
    return (await session.scalars(query)).all()


async def list_officers(session: AsyncSession, unit_code: str | None = None) -> Sequence[Officer]:
    query = (
        select(Officer)
        .options(selectinload(Officer.accounts), selectinload(Officer.unit))
        .where(Officer.active.is_(True))
        .order_by(Officer.unit_id, Officer.name)
    )
    if unit_code is not None:
        query = query.join(Unit, Officer.unit_id == Unit.id).where(Unit.code == unit_code)
    return (await session.scalars(query)).all()


async def officer_by_id(session: AsyncSession, officer_id: int) -> Officer | None:
    return await session.scalar(
        select(Officer)
        .options(selectinload(Officer.accounts), selectinload(Officer.unit))
        .where(Officer.id == officer_id)
    )


async def account_by_user(
    session: AsyncSession, channel: str, user_id: str
) -> ChannelAccount | None:
    # One statement (officer, unit and the officer's few accounts joined): this runs for
    # every message whose sender is not in the identity cache.
    officer = joinedload(ChannelAccount.officer, innerjoin=True)
    rows = await session.scalars(
        select(ChannelAccount)
        .options(officer.joinedload(Officer.unit), officer.joinedload(Officer.accounts))
        .where(ChannelAccount.channel == channel, ChannelAccount.user_id == user_id)
    )
    return rows.unique().one_or_none()


async def invite_by_hash(session: AsyncSession, code_hash: str) -> Invite | None:
    return await session.scalar(select(Invite).where(Invite.code_hash == code_hash))


async def group_by_chat(session: AsyncSession, channel: str, chat_id: str) -> GroupChat | None:
    return await session.scalar(
        select(GroupChat).where(GroupChat.channel == channel, GroupChat.chat_id == chat_id)
    )


def switch_account_off(
    session: AsyncSession,
    account: ChannelAccount,
    *,
    now: datetime,
    actor: str,
    action: str,
    reason: str,
    after: dict[str, Any] | None = None,
) -> None:
    """Off, never deleted: the row keeps who it was and why it stopped, and the audit
    entry commits with the change. `after` overrides the logged state (default: the reason)."""
    account.active = False
    account.deactivated_at = now
    account.deactivated_reason = reason
    after = {"active": False, "reason": reason} if after is None else after
    _audit(session, account, now, actor, action, before={"active": True}, after=after)


def switch_account_on(
    session: AsyncSession, account: ChannelAccount, *, now: datetime, actor: str, action: str
) -> None:
    """The counterpart of `switch_account_off`, audited the same way."""
    _clear_off(account)
    _audit(session, account, now, actor, action, before={"active": False}, after={"active": True})


def bind_account(
    account: ChannelAccount,
    officer_id: int,
    *,
    chat_id: str,
    display_name: str | None,
    now: datetime,
) -> None:
    """(Re)bind an account to an officer; a bound account is a live one."""
    account.officer_id = officer_id
    account.chat_id = chat_id
    account.display_name = display_name
    account.bound_at = now
    _clear_off(account)


def _clear_off(account: ChannelAccount) -> None:
    # The off-reason goes too: a stale one would read as a closed OA window later.
    account.active = True
    account.deactivated_at = None
    account.deactivated_reason = None


def _audit(
    session: AsyncSession,
    account: ChannelAccount,
    now: datetime,
    actor: str,
    action: str,
    *,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    audit.record(
        session,
        at=now,
        actor=actor,
        action=action,
        entity="channel_account",
        entity_id=account.id,
        before=before,
        after=after,
    )
