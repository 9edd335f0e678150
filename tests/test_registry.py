"""Registry: units, invites and binding chat accounts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import AppContext
from bot.clock import FrozenClock
from bot.domain import invites
from bot.domain.enums import Role, UnitKind
from bot.services.errors import (
    DuplicateUnitError,
    InviteExpiredError,
    InviteNotFoundError,
    InviteUsedError,
    UnknownUnitError,
)
from storage.models import ChannelAccount, Officer


async def _accounts(ctx: AppContext) -> int:
    async with ctx.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(ChannelAccount)) or 0


def test_invite_codes_are_typeable_and_normalised() -> None:
    code = invites.new_code()
    assert len(code) == 11 and code[5] == "-"
    assert invites.hash_code(code.lower().replace("-", " ")) == invites.hash_code(code)
    assert invites.looks_like_code(code)
    assert not invites.looks_like_code("da xong")


async def test_registry_add_unit_and_refuse_duplicates(ctx: AppContext) -> None:
    unit = await ctx.registry.add_unit(
        code="gddt", name="Phòng Giáo dục và Đào tạo", kind=UnitKind.PHONG_BAN, actor="cli"
    )
    assert unit.code == "GDDT"
    with pytest.raises(DuplicateUnitError):
        await ctx.registry.add_unit(code="GDDT", name="X", kind=UnitKind.KHAC, actor="cli")
    assert [u.code for u in await ctx.registry.list_units()] == ["GDDT"]


async def test_registry_invite_binds_an_account(ctx: AppContext) -> None:
    await ctx.seed.load()
    invite = await ctx.registry.create_invite(
        unit_code="GDDT", officer_name="Nguyễn Văn An", role=Role.OFFICER, actor="cli"
    )
    result = await ctx.registry.redeem_invite(
        invite.code, channel="telegram", user_id="1001", chat_id="1001", username="an"
    )
    assert result.officer.name == "Nguyễn Văn An"
    assert result.officer.unit_code == "GDDT"
    assert result.officer.bound
    identified = await ctx.registry.identify("telegram", "1001")
    assert identified is not None and identified.id == result.officer.id
    units = {u.code: u for u in await ctx.registry.list_units()}
    assert units["GDDT"].to_json()["officers"] == [
        {
            "name": "Nguyễn Văn An",
            "role": "officer",
            "unit": "GDDT",
            "channel": "telegram",
            "channels": ["telegram"],
            "bound": True,
        }
    ]


async def test_registry_wrong_used_or_expired_invite_binds_nothing(
    ctx: AppContext, clock: FrozenClock
) -> None:
    await ctx.seed.load()
    with pytest.raises(InviteNotFoundError):
        await ctx.registry.redeem_invite(
            "AAAAA-BBBBB", channel="telegram", user_id="1", chat_id="1"
        )
    used = await ctx.registry.create_invite(unit_code="GDDT", officer_name="A", actor="cli")
    await ctx.registry.redeem_invite(used.code, channel="telegram", user_id="1", chat_id="1")
    with pytest.raises(InviteUsedError):
        await ctx.registry.redeem_invite(used.code, channel="telegram", user_id="2", chat_id="2")
    late = await ctx.registry.create_invite(unit_code="GDDT", officer_name="B", actor="cli")
    clock.advance(timedelta(days=8))
    with pytest.raises(InviteExpiredError):
        await ctx.registry.redeem_invite(late.code, channel="telegram", user_id="3", chat_id="3")
    assert await _accounts(ctx) == 1
    assert await ctx.registry.identify("telegram", "2") is None


async def test_registry_new_invite_rebinds_an_account(ctx: AppContext) -> None:
    await ctx.seed.load()
    first = await ctx.registry.create_invite(unit_code="GDDT", officer_name="A", actor="cli")
    await ctx.registry.redeem_invite(first.code, channel="telegram", user_id="7", chat_id="7")
    second = await ctx.registry.create_invite(unit_code="TTYT", officer_name="A", actor="cli")
    result = await ctx.registry.redeem_invite(
        second.code, channel="telegram", user_id="7", chat_id="7"
    )
    assert result.rebound
    assert result.officer.unit_code == "TTYT"
    assert await _accounts(ctx) == 1


async def test_registry_invite_for_unknown_unit_is_refused(ctx: AppContext) -> None:
    with pytest.raises(UnknownUnitError):
        await ctx.registry.create_invite(unit_code="NOPE", officer_name="A", actor="cli")
    async with ctx.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Officer)) == 0


async def test_registry_a_new_account_on_the_same_app_replaces_the_old(ctx: AppContext) -> None:
    """A new phone: the officer's link code binds the new Telegram account and the old one
    stops receiving reminders (one account per app and officer)."""
    await ctx.seed.load()
    first = await ctx.registry.create_invite(unit_code="GDDT", officer_name="A", actor="cli")
    bound = await ctx.registry.redeem_invite(
        first.code, channel="telegram", user_id="7", chat_id="7"
    )
    link = await ctx.registry.create_invite(officer_id=bound.officer.id, actor="telegram:7")
    await ctx.registry.redeem_invite(link.code, channel="telegram", user_id="8", chat_id="8")
    async with ctx.sessionmaker() as session:
        rows = (
            await session.execute(
                select(
                    ChannelAccount.user_id, ChannelAccount.active, ChannelAccount.officer_id
                ).order_by(ChannelAccount.user_id)
            )
        ).all()
    assert [(r.user_id, r.active) for r in rows] == [("7", False), ("8", True)]
    assert {r.officer_id for r in rows} == {bound.officer.id}
