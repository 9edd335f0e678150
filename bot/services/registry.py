"""Registry use cases: units, officers, invites and binding chat accounts to officers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
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
    ServiceError,
    UnknownUnitError,
)
from bot.services.views import officer_view, unit_view
from storage.models import ChannelAccount, Invite, Officer, Unit
from storage.repositories import audit
from storage.repositories import registry as repo

DEFAULT_INVITE_TTL = timedelta(days=7)


_APP_NAMES = {"telegram": "Telegram", "zalo": "Zalo", "zalo_oa": "Zalo"}


class UnknownOfficerError(ServiceError):
    def __init__(self, officer_id: int) -> None:
        super().__init__(str(officer_id))
        self.officer_id = officer_id

    def message(self) -> str:
        return _("There is no active officer #{id}.").format(id=self.officer_id)


class OfficerUnitMismatchError(ServiceError):
    def __init__(self, officer_id: int, name: str, unit: str | None, wanted: str) -> None:
        super().__init__(f"{officer_id} {unit} {wanted}")
        self.officer_id, self.name, self.unit, self.wanted = officer_id, name, unit, wanted

    def message(self) -> str:
        return _(
            "Officer #{id} ({name}) belongs to {unit}, not {wanted}. No invite was created."
        ).format(id=self.officer_id, name=self.name, unit=self.unit or "—", wanted=self.wanted)


class LinkCodeUsedError(InviteUsedError):
    """A used code that was meant for an existing officer (a /lienket code)."""

    def message(self) -> str:
        return _(
            "This code has already been used. To get a new one, send /lienket in the app "
            "where you are already registered, or ask the office's administrator."
        )


class LinkCodeExpiredError(InviteExpiredError):
    """An expired (or replaced by a newer /lienket) code for an existing officer."""

    def message(self) -> str:
        return _(
            "This code has expired or has been replaced by a newer one. To get a new one, "
            "send /lienket in the app where you are already registered."
        )


class AlreadyLinkedError(ServiceError):
    """The code's officer is already the one behind this account: nothing to do, and the
    code stays valid for the other app."""

    def message(self) -> str:
        return _(
            "This account is already registered to you, so nothing was changed. Send the "
            "code in the other app (Telegram or Zalo) that you want to connect."
        )


class AccountBoundElsewhereError(ServiceError):
    """One chat account belongs to one officer: a link code never takes it from another."""

    def __init__(self, channel: str) -> None:
        super().__init__(channel)
        self.channel = channel

    def message(self) -> str:
        return _(
            "This {app} account is already registered to another officer, so it cannot be "
            "connected to you; nothing was changed. Please send the code from your own "
            "{app} account, or ask the office's administrator."
        ).format(app=_APP_NAMES.get(self.channel, self.channel))


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
        unit_code: str | None = None,
        officer_name: str = "",
        role: Role = Role.OFFICER,
        actor: str,
        officer_id: int | None = None,
    ) -> InviteView:
        """A fresh single-use code; the plain code exists only in the returned view.

        With `officer_id` the code binds one more chat account to that officer (their unit,
        name and role; `unit_code`, when given, must be theirs) and replaces the officer's
        earlier unused codes of this kind, so asking again never leaves several live codes.
        """
        now = self._clock.now()
        code = invites.new_code()
        async with self._sessionmaker() as session, session.begin():
            revoked: list[int] = []
            if officer_id is not None:
                officer = await repo.officer_by_id(session, officer_id)
                if officer is None or not officer.active:
                    raise UnknownOfficerError(officer_id)
                unit = officer.unit
                if unit_code is not None and unit_code.strip():
                    wanted = unit_code.strip().upper()
                    if unit is None or unit.code != wanted:
                        if await repo.unit_by_code(session, wanted) is None:
                            raise UnknownUnitError(unit_code)
                        raise OfficerUnitMismatchError(
                            officer.id, officer.name, unit.code if unit else None, wanted
                        )
                officer_name, role_value = officer.name, officer.role
                revoked = await _revoke_link_codes(session, officer.id, now)
            else:
                officer_name = nfc(" ".join(officer_name.split()))
                if not officer_name or len(officer_name) > 255:
                    raise InvalidValueError(_("Please give the officer's full name."))
                found = await repo.unit_by_code(session, (unit_code or "").strip().upper())
                if found is None:
                    raise UnknownUnitError(unit_code or "")
                unit, role_value = found, role.value
            invite = Invite(
                code_hash=invites.hash_code(code),
                unit_id=unit.id if unit is not None else None,
                officer_name=officer_name,
                role=role_value,
                officer_id=officer_id,
                created_by=actor,
                created_at=now,
                expires_at=now + self._invite_ttl,
            )
            session.add(invite)
            await session.flush()
            unit_code_out = unit.code if unit is not None else None
            after: dict[str, object] = {
                "unit": unit_code_out,
                "name": officer_name,
                "role": role_value,
            }
            if officer_id is not None:
                after |= {"officer_id": officer_id, "replaced": revoked}
            audit.record(
                session,
                at=now,
                actor=actor,
                action="invite.create",
                entity="invite",
                entity_id=invite.id,
                after=after,
            )
            return self.invite_view(
                code, unit_code_out, officer_name, role_value, invite.expires_at
            )

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

    @staticmethod
    async def _retire_older_accounts(
        session: AsyncSession, officer_id: int, newest: ChannelAccount, now: datetime
    ) -> None:
        """One account per app and officer: a newly bound one (a new phone, a new Zalo
        account) replaces the old, which would otherwise keep the reminders."""
        older = await session.scalars(
            select(ChannelAccount).where(
                ChannelAccount.officer_id == officer_id,
                ChannelAccount.channel == newest.channel,
                ChannelAccount.active.is_(True),
                ChannelAccount.id != newest.id,
            )
        )
        for account in older:
            repo.switch_account_off(
                session,
                account,
                now=now,
                actor="system",
                action="account.replaced",
                reason="replaced by a newer account",
                after={"active": False, "replaced_by": newest.id},
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
            linking = invite.officer_id is not None
            if invite.used_at is not None:
                raise LinkCodeUsedError() if linking else InviteUsedError()
            if invite.expires_at <= now:
                raise LinkCodeExpiredError() if linking else InviteExpiredError()

            account = await repo.account_by_user(session, channel, user_id)
            officer: Officer | None = None
            if invite.officer_id is not None:
                officer = await repo.officer_by_id(session, invite.officer_id)
                if officer is None or not officer.active:
                    raise InviteNotFoundError()
                # A code for an existing officer adds an app; it never moves an account
                # away from another officer (only an admin's new-officer invite rebinds).
                if account is not None:
                    if account.officer_id == officer.id:
                        if account.active:
                            raise AlreadyLinkedError()
                    elif account.officer.active:
                        raise AccountBoundElsewhereError(channel)
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
                repo.bind_account(
                    account, officer.id, chat_id=chat_id, display_name=display_name, now=now
                )
                account.username = username
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
            await self._retire_older_accounts(session, officer.id, account, now)
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


async def _revoke_link_codes(session: AsyncSession, officer_id: int, now: datetime) -> list[int]:
    """End the officer's unused, unexpired codes (they read as expired from now on)."""
    live = (
        Invite.officer_id == officer_id,
        Invite.used_at.is_(None),
        Invite.expires_at > now,
    )
    ids = list(await session.scalars(select(Invite.id).where(*live).order_by(Invite.id)))
    if ids:
        await session.execute(update(Invite).where(Invite.id.in_(ids)).values(expires_at=now))
    return ids
