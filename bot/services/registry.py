"""Registry use cases: units, officers, invites and binding chat accounts to officers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.domain import invites
from bot.domain.enums import Role, UnitKind
from bot.domain.textnorm import nfc
from bot.i18n import _
from bot.services.dto import InviteView, OfficerView, UnitView
from bot.services.errors import (
    DuplicateUnitError,
    InvalidValueError,
    InviteExpiredError,
    InviteNotFoundError,
    InviteUsedError,
    UnknownUnitError,
)
from bot.services.views import officer_view, unit_view
from storage.models import ChannelAccount, Invite, Officer, Unit
from storage.repositories import audit
from storage.repositories import registry as repo

DEFAULT_INVITE_TTL = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class BindResult:
    officer: OfficerView
    rebound: bool  # the account was bound to someone else before this invite


class RegistryService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        telegram_username: str | None = None,
        invite_ttl: timedelta = DEFAULT_INVITE_TTL,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._clock = clock
        self.telegram_username = telegram_username
        self._invite_ttl = invite_ttl

    async def list_units(self, *, include_inactive: bool = False) -> list[UnitView]:
        async with self._sessionmaker() as session:
            units = await repo.list_units(session, include_inactive=include_inactive)
            return [unit_view(unit) for unit in units]

    async def get_unit(self, code: str) -> UnitView:
        async with self._sessionmaker() as session:
            unit = await repo.unit_by_code(session, code.upper())
            if unit is None:
                raise UnknownUnitError(code)
            return unit_view(unit, with_officers=False)

    async def add_unit(
        self,
        *,
        code: str,
        name: str,
        kind: UnitKind,
        short_name: str = "",
        aliases: Sequence[str] = (),
        sectors: Sequence[str] = (),
        actor: str,
    ) -> UnitView:
        code = code.strip().upper()
        name = nfc(name.strip())
        if not code or len(code) > 32 or not name:
            raise InvalidValueError(_("A unit needs a code (up to 32 characters) and a name."))
        now = self._clock.now()
        async with self._sessionmaker() as session, session.begin():
            if await repo.unit_by_code(session, code) is not None:
                raise DuplicateUnitError(code)
            unit = Unit(
                code=code,
                name=name,
                short_name=nfc(short_name.strip()) or name,
                kind=kind.value,
                aliases=[nfc(a) for a in aliases],
                sectors=[nfc(s) for s in sectors],
                active=True,
                created_at=now,
                updated_at=now,
            )
            session.add(unit)
            await session.flush()
            audit.record(
                session,
                at=now,
                actor=actor,
                action="unit.add",
                entity="unit",
                entity_id=code,
                after={"code": code, "name": name, "kind": kind.value},
            )
            return unit_view(unit, with_officers=False)

    async def list_officers(self, unit_code: str | None = None) -> list[OfficerView]:
        async with self._sessionmaker() as session:
            if unit_code is not None and await repo.unit_by_code(session, unit_code) is None:
                raise UnknownUnitError(unit_code)
            return [officer_view(o) for o in await repo.list_officers(session, unit_code)]

    async def create_invite(
        self,
        *,
        unit_code: str,
        officer_name: str,
        role: Role = Role.OFFICER,
        actor: str,
        officer_id: int | None = None,
    ) -> InviteView:
        """A fresh single-use code; the plain code exists only in the returned view."""
        officer_name = nfc(" ".join(officer_name.split()))
        if not officer_name or len(officer_name) > 255:
            raise InvalidValueError(_("Please give the officer's full name."))
        now = self._clock.now()
        code = invites.new_code()
        async with self._sessionmaker() as session, session.begin():
            unit = await repo.unit_by_code(session, unit_code.strip().upper())
            if unit is None:
                raise UnknownUnitError(unit_code)
            invite = Invite(
                code_hash=invites.hash_code(code),
                unit_id=unit.id,
                officer_name=officer_name,
                role=role.value,
                officer_id=officer_id,
                created_by=actor,
                created_at=now,
                expires_at=now + self._invite_ttl,
            )
            session.add(invite)
            await session.flush()
            audit.record(
                session,
                at=now,
                actor=actor,
                action="invite.create",
                entity="invite",
                entity_id=invite.id,
                after={"unit": unit.code, "name": officer_name, "role": role.value},
            )
            return self.invite_view(code, unit.code, officer_name, role.value, invite.expires_at)

    def invite_view(
        self, code: str, unit_code: str | None, name: str, role: str, expires_at: datetime
    ) -> InviteView:
        link = (
            f"https://t.me/{self.telegram_username}?start={code}"
            if self.telegram_username
            else None
        )
        zalo_text = _("Send this message to the Nhắc việc bot on Zalo: /start {code}").format(
            code=code
        )
        return InviteView(
            code=code,
            unit_code=unit_code,
            officer_name=name,
            role=role,
            expires_at=expires_at,
            telegram_link=link,
            zalo_text=zalo_text,
        )

    async def redeem_invite(
        self,
        code: str,
        *,
        channel: str,
        user_id: str,
        chat_id: str,
        username: str | None = None,
        display_name: str | None = None,
        locale: str | None = None,
    ) -> BindResult:
        """Bind a chat account with a code; a wrong, used or expired code binds nothing."""
        now = self._clock.now()
        async with self._sessionmaker() as session, session.begin():
            invite = await repo.invite_by_hash(session, invites.hash_code(code))
            if invite is None:
                raise InviteNotFoundError()
            if invite.used_at is not None:
                raise InviteUsedError()
            if invite.expires_at <= now:
                raise InviteExpiredError()

            officer: Officer | None = None
            if invite.officer_id is not None:
                officer = await repo.officer_by_id(session, invite.officer_id)
            if officer is None:
                officer = Officer(
                    name=invite.officer_name,
                    unit_id=invite.unit_id,
                    role=invite.role,
                    locale=locale,
                    last_channel=channel,
                    active=True,
                    created_at=now,
                )
                session.add(officer)
                await session.flush()

            account = await repo.account_by_user(session, channel, user_id)
            rebound = False
            if account is None:
                account = ChannelAccount(
                    officer_id=officer.id,
                    channel=channel,
                    user_id=user_id,
                    chat_id=chat_id,
                    username=username,
                    display_name=display_name,
                    bound_at=now,
                    active=True,
                )
                session.add(account)
            else:
                rebound = account.officer_id != officer.id
                before = {"officer_id": account.officer_id, "active": account.active}
                account.officer_id = officer.id
                account.chat_id = chat_id
                account.username = username
                account.display_name = display_name
                account.bound_at = now
                account.active = True
                account.deactivated_at = None
                account.deactivated_reason = None
                audit.record(
                    session,
                    at=now,
                    actor=f"{channel}:{user_id}",
                    action="account.rebind",
                    entity="channel_account",
                    entity_id=account.id,
                    before=before,
                    after={"officer_id": officer.id},
                )
            officer.last_channel = channel
            await session.flush()
            invite.used_at = now
            invite.used_by_account_id = account.id
            audit.record(
                session,
                at=now,
                actor=f"{channel}:{user_id}",
                action="invite.redeem",
                entity="invite",
                entity_id=invite.id,
                after={"officer_id": officer.id, "channel": channel},
            )
            await session.flush()
            fresh = await repo.officer_by_id(session, officer.id)
            assert fresh is not None
            await session.refresh(fresh, ["accounts"])
            return BindResult(officer=officer_view(fresh), rebound=rebound)

    async def identify(self, channel: str, user_id: str) -> OfficerView | None:
        """The officer behind an active chat account, or None for strangers."""
        async with self._sessionmaker() as session:
            account = await repo.account_by_user(session, channel, user_id)
            if account is None or not account.active or not account.officer.active:
                return None
            return officer_view(account.officer)
